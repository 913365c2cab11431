//! Any table, however degenerate, read from Parquet or CSV, scans to a result or an error (never
//! a panic), and any result serialises and renders to the terminal.

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use cateye::scan::{scan, ScanConfig, Selection};
use cateye::{Config, Source};
use cateye_cli::render::scan_summary;
use proptest::prelude::*;
use std::sync::Arc;

/// Columns of a random table: experiment, variant, dimension, metric, pre-period metric.
type Table = (Vec<Option<String>>, Vec<Option<String>>, Vec<Option<String>>, Vec<Option<f64>>, Vec<Option<f64>>);

fn table_strategy() -> impl Strategy<Value = Table> {
    (0usize..120).prop_flat_map(|n| {
        let label = |choices: &'static [&'static str]| {
            proptest::option::weighted(0.95, proptest::sample::select(choices).prop_map(String::from))
        };
        let value = proptest::option::weighted(
            0.9,
            prop_oneof![any::<f64>(), -1e12f64..1e12, Just(f64::NAN), Just(f64::INFINITY), Just(0.0), Just(1.0)],
        );
        (
            proptest::collection::vec(label(&["a", "b", "c"]), n),
            proptest::collection::vec(label(&["control", "treatment", "t2"]), n),
            proptest::collection::vec(label(&["x", "y", "z", ""]), n),
            proptest::collection::vec(value.clone(), n),
            proptest::collection::vec(value, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_tables_scan_and_render_without_panic((exp, var, dim, y, x) in table_strategy(), min_units in 0usize..5, parquet in any::<bool>()) {
        let dir = cateye_testkit::temp_dir("prop");
        let schema = Arc::new(Schema::new(vec![
            Field::new("experiment", DataType::Utf8, true),
            Field::new("variant", DataType::Utf8, true),
            Field::new("dim", DataType::Utf8, true),
            Field::new("y", DataType::Float64, true),
            Field::new("pre_y", DataType::Float64, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(exp)),
            Arc::new(StringArray::from(var)),
            Arc::new(StringArray::from(dim)),
            Arc::new(Float64Array::from(y)),
            Arc::new(Float64Array::from(x)),
        ];
        let batch = RecordBatch::try_new(schema, cols).unwrap();
        let path = dir.join(if parquet { "t.parquet" } else { "t.csv" });
        if parquet {
            cateye_testkit::write_parquet(&path, &batch);
        } else {
            arrow::csv::Writer::new(std::fs::File::create(&path).unwrap()).write(&batch).unwrap();
        }
        let Ok(source) = Source::open(&path) else { return Ok(()) };
        let mut config = Config::default();
        config.scan = ScanConfig::default().with(|c| c.min_units_per_arm = min_units);
        config.deep_dive.pairs = Selection::None;
        if let Ok((_, report)) = scan(&source, &config, &|_| {}) {
            // Whatever was computed must serialise and render.
            serde_json::to_string(&report).unwrap();
            scan_summary(&report);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
