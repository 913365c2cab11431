//! `cateye bench report`: the HTML report of a sweep. Generates --experiments (default 100)
//! experiments of --rows units (default 2,000), --metrics (default 10) and --dimensions
//! (default 10) of --levels levels with heterogeneity planted in every third pair
//! (`cateye_sim::sweep_spec`), scans them (tier 1), then times rendering the report (best and
//! median of --repeat) and reports its size. With --dir the report stays there as report.html.

use crate::{io_error, Result};
use cateye::scan::{DeepDiveConfig, ScanConfig, Selection};
use cateye::{Config, Source};
use cateye_report::Results;
use std::path::Path;
use std::time::Instant;

/// The sweep's shape.
pub(crate) struct Sweep {
    pub experiments: usize,
    pub units: usize,
    pub metrics: usize,
    pub dims: usize,
    pub levels: usize,
}

pub(crate) fn run(dir: &Path, sweep: Sweep, repeat: usize) -> Result<()> {
    let Sweep { experiments, units, metrics, dims, levels } = sweep;
    let file = dir.join(format!("sweep_{experiments}x{units}x{metrics}x{dims}.parquet"));
    let spec = cateye_sim::sweep_spec(experiments, units, metrics, dims, levels, 7);
    cateye::demo::write_table(&spec, &file)?;
    let scan = ScanConfig::default().with(|c| {
        c.metrics = Some(spec.metric_columns());
        c.dimensions = Some(spec.dimension_columns());
    });
    let config = Config::new(scan, DeepDiveConfig::default().with(|c| c.pairs = Selection::None));
    let t = Instant::now();
    let (_, report) = cateye::scan::scan(&Source::open(&file)?, &config, &|_| {})?;
    let scan_seconds = t.elapsed().as_secs_f64();
    let result = &report.result;
    println!(
        "scanned {experiments} experiments x {metrics} metrics x {dims} dimensions ({levels} levels, {units} units \
         each) in {scan_seconds:.2} s: {} pairs, {} dimension tests, {} findings",
        result.effects.len(),
        result.dimension_counts.tested,
        result.findings.len()
    );
    let mut times = Vec::with_capacity(repeat.max(1));
    let mut html = String::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        html = cateye_report::render(&Results::scan(&report));
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let path = dir.join("report.html");
    let t = Instant::now();
    std::fs::write(&path, &html).map_err(io_error(path.display()))?;
    let write = t.elapsed().as_secs_f64();
    let mb = html.len() as f64 / 1e6;
    println!(
        "report: rendered in {:.3} s (best of {}; median {:.3} s), written in {write:.3} s: {mb:.2} MB \
         (targets: under 2 s and 5 MB) {}",
        times[0],
        times.len(),
        times[times.len() / 2],
        path.display()
    );
    Ok(())
}
