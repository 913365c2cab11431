//! `tables = "parquet"`: the scan streamed by experiment writes `dimensions.parquet` and
//! `levels.parquet` with the rows and q-values the scan in memory gives, `scan.json` keeps the
//! flagged dimension rows, and the deep dive runs on top as before.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};
use cateye::scan::{scan_into, DimensionRow, ScanOutputs, ScanReport, Selection, Tables};
use cateye::{Config, Source};
use cateye_testkit::{fixture, temp_dir, AB_DIMENSIONS, AB_METRICS};
use std::path::Path;

fn config(tables: Tables) -> Config {
    let mut config = Config::default();
    let s = &mut config.scan;
    s.metrics = Some(AB_METRICS.iter().map(|m| m.to_string()).collect());
    s.dimensions = Some(AB_DIMENSIONS.iter().map(|d| d.to_string()).collect());
    s.tables = tables;
    // Batches of four experiments (8,000 rows each) in both modes: the same sums, bit for bit.
    s.batch_rows = 32_000;
    config.deep_dive.pairs = Selection::Top(1);
    config.deep_dive.trees = 200;
    config.deep_dive.permutations = 100;
    config
}

fn run(path: &Path, tables: Tables, out: &Path) -> ScanReport {
    let mut outputs = ScanOutputs::prepare(out, vec!["test".into()], &[]).unwrap();
    scan_into(&Source::open(path).unwrap(), &config(tables), &|_| {}, &mut outputs).unwrap().1
}

fn table(path: &Path) -> RecordBatch {
    let source = Source::open(path).unwrap();
    let all: Vec<usize> = (0..source.schema().fields().len()).collect();
    let batches: Vec<RecordBatch> = source.batches(&all, 1 << 20).unwrap().map(Result::unwrap).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn floats(t: &RecordBatch, column: &str) -> Vec<f64> {
    let c = t.column_by_name(column).unwrap();
    (0..c.len()).map(|i| if c.is_null(i) { f64::NAN } else { c.as_primitive::<Float64Type>().value(i) }).collect()
}

fn strings(t: &RecordBatch, column: &str) -> Vec<String> {
    let c = arrow::compute::cast(t.column_by_name(column).unwrap(), &DataType::Utf8).unwrap();
    c.as_string::<i32>().iter().map(|s| s.unwrap().to_string()).collect()
}

fn key(r: &DimensionRow) -> String {
    format!("{}/{}/{}/{}", r.experiment, r.metric, r.arm, r.dimension)
}

fn same_bits(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()), "{x} vs {y}");
    }
}

#[test]
fn parquet_tables_hold_what_the_scan_in_memory_gives() {
    let Some(path) = fixture("ab_scan_12x8000.parquet") else { return };
    let dir = temp_dir("parquet_tables");
    let memory = run(&path, Tables::Csv, &dir.join("csv"));
    let streamed = run(&path, Tables::Parquet, &dir.join("parquet"));
    let out = dir.join("parquet");
    for absent in ["dimensions.csv", "levels.csv"] {
        assert!(!out.join(absent).exists(), "{absent} written with tables = parquet");
    }
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("dimensions.parquet") && manifest.contains("levels.parquet"), "{manifest}");

    // Every dimension row, in input order of experiments, with the in-memory p- and q-values.
    let mut rows = memory.result.dimensions.clone();
    let dims = table(&out.join("dimensions.parquet"));
    assert_eq!(dims.num_rows(), rows.len());
    let keys: Vec<String> = (0..dims.num_rows())
        .map(|i| {
            let s = |c: &str| strings(&dims, c)[i].clone();
            format!("{}/{}/{}/{}", s("experiment"), s("metric"), s("arm"), s("dimension"))
        })
        .collect();
    rows.sort_by_key(|r| keys.iter().position(|k| *k == key(r)).expect("row in dimensions.parquet"));
    same_bits(
        &floats(&dims, "p_value"),
        &rows.iter().map(|r| r.test.map_or(f64::NAN, |t| t.p_value)).collect::<Vec<_>>(),
    );
    same_bits(&floats(&dims, "q_value"), &rows.iter().map(|r| r.q_value).collect::<Vec<_>>());
    let flagged = dims.column_by_name("flagged").unwrap().as_boolean().iter().filter(|f| *f == Some(true)).count();
    assert_eq!(flagged, rows.iter().filter(|r| r.flagged).count());

    // One row per level effect.
    let levels = table(&out.join("levels.parquet"));
    let effects: Vec<f64> = rows.iter().flat_map(|r| r.levels.iter().map(|l| l.effect)).collect();
    same_bits(&floats(&levels, "effect"), &effects);

    // scan.json: the flagged rows, the counts over all rows, the same findings and deep dive.
    let r = &streamed.result;
    assert_eq!(r.settings.tables, Tables::Parquet);
    assert_eq!(r.dimensions.len(), flagged);
    assert!(r.dimensions.iter().all(|d| d.flagged));
    assert_eq!(r.dimension_counts.rows, rows.len());
    assert_eq!(r.dimension_counts.flagged, flagged);
    let json = |v: &ScanReport| serde_json::to_value(&v.result.findings).unwrap();
    assert_eq!(json(&streamed), json(&memory));
    let (a, b) = (streamed.deep_dive.as_ref().unwrap(), memory.deep_dive.as_ref().unwrap());
    assert_eq!(a.selection, b.selection);
    assert_eq!(a.pairs.len(), 1);
    // The same deep dive, but for the scan's rank and q-value of the dimensions the scan did not
    // flag, which scan.json no longer holds (they are in dimensions.parquet).
    let (mut a, b) = (serde_json::to_value(&a.pairs).unwrap(), serde_json::to_value(&b.pairs).unwrap());
    let mut restored = 0;
    for (da, db) in a[0]["surface"]["dimensions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(b[0]["surface"]["dimensions"].as_array().unwrap())
    {
        for field in ["scan_rank", "scan_q_value"] {
            if da[field].is_null() && !db[field].is_null() {
                assert!(db["scan_q_value"].as_f64().unwrap() > 0.05, "a flagged dimension lost its scan rank");
                da[field] = db[field].clone();
                restored += 1;
            }
        }
    }
    assert!(restored > 0);
    // Wall-clock timings aside.
    let mut b = b;
    a[0]["seconds"] = serde_json::Value::Null;
    b[0]["seconds"] = serde_json::Value::Null;
    assert!(a == b, "the deep dives differ");
}
