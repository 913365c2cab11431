//! A scan of record batches already in memory (no file): the built-in demo's eight experiments,
//! tier 1 only, then the findings.
//!
//! `cargo run --release -p cateye --example scan_in_memory`

use cateye::scan::{scan, Selection};
use cateye::{Config, Source};

fn main() -> cateye::Result<()> {
    let spec = cateye::demo::demo_spec(3);
    // Any Vec<RecordBatch> (or a RecordBatchReader, with Source::from_reader) will do.
    let source = Source::from_batches(spec.batches())?.with_label("demo table");
    let mut config = Config::default();
    config.scan = cateye::demo::scan_config(&spec);
    config.deep_dive.pairs = Selection::None;
    let (_stats, report) = scan(&source, &config, &|_| {})?;
    println!(
        "{}: {} experiments, {} dimension tests, {} findings",
        source.label(),
        report.result.input.experiments,
        report.result.dimensions.len(),
        report.result.findings.len()
    );
    for f in &report.result.findings {
        println!(
            "  {} / {} / {}: {} (q = {:.2e})",
            f.experiment,
            f.metric,
            f.arm,
            f.dimension.as_deref().map_or("no dimension explains it".to_string(), |d| format!("varies by {d}")),
            f.q_value
        );
    }
    Ok(())
}
