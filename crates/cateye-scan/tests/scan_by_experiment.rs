//! The scan streamed by experiment ([`scan_by_experiment`]) against the scan in memory, on the
//! shared A/B fixture: the same results (every dimension row, the flagged ones, the findings,
//! SRM, effects, detection), whether the file is grouped by experiment, in another order of
//! experiments, or not grouped at all; and the hierarchical correction down the tree
//! experiment → pair → dimension.

mod common;

use arrow::array::{RecordBatch, StringArray, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use cateye_io::Source;
use cateye_scan::{scan_by_experiment, DimensionRow, DimensionSink, ScanConfig, ScanResult};
use cateye_stats::{hierarchical_adjust, Correction};
use cateye_testkit::{AB_DIMENSIONS as DIMS, AB_METRICS as METRICS};
use common::{fixture, scan_file, temp_dir};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn config() -> ScanConfig {
    ScanConfig::default().with(|c| {
        c.metrics = Some(METRICS.iter().map(|s| s.to_string()).collect());
        c.dimensions = Some(DIMS.iter().map(|s| s.to_string()).collect());
    })
}

/// Collects what the streamed scan hands out.
#[derive(Default)]
struct Collect {
    rows: Vec<DimensionRow>,
    q: Vec<f64>,
}

impl DimensionSink for Collect {
    fn rows(&mut self, rows: &[DimensionRow]) -> cateye_scan::Result<()> {
        self.rows.extend_from_slice(rows);
        Ok(())
    }
    fn q_values(&mut self, q: &[f64], _alpha: f64) -> cateye_scan::Result<()> {
        self.q = q.to_vec();
        Ok(())
    }
}

/// The streamed scan of `path`: its result, and every dimension row with its q-value, in the
/// order streamed.
fn streamed_in_order(path: &Path, config: &ScanConfig) -> (ScanResult, Vec<DimensionRow>) {
    let mut sink = Collect::default();
    let (_, result) = scan_by_experiment(&Source::open(path).unwrap(), config, &mut sink, &|_, _| {}).unwrap();
    assert_eq!(sink.rows.len(), sink.q.len());
    let rows = sink
        .rows
        .into_iter()
        .zip(sink.q)
        .map(|(mut r, q)| {
            r.q_value = q;
            r.flagged = q <= config.alpha;
            r
        })
        .collect();
    (result, rows)
}

/// The same, rows sorted by key.
fn streamed(path: &Path, config: &ScanConfig) -> (ScanResult, Vec<DimensionRow>) {
    let (result, rows) = streamed_in_order(path, config);
    (result, sorted(rows))
}

fn sorted(mut rows: Vec<DimensionRow>) -> Vec<DimensionRow> {
    rows.sort_by(|a, b| {
        (&a.experiment, &a.metric, &a.arm, &a.dimension).cmp(&(&b.experiment, &b.metric, &b.arm, &b.dimension))
    });
    rows
}

/// `a` and `b` equal, numbers to `tol` relative (NaN equal to NaN and to null).
fn same(a: &Value, b: &Value, tol: f64, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= tol * x.abs().max(y.abs()), "{at}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                same(x, y, tol, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{at}: keys");
            for (k, v) in x {
                same(v, &y[k], tol, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// Everything but the dimension rows and the input summary (whose warnings may differ).
fn same_result(a: &ScanResult, b: &ScanResult, tol: f64) {
    for field in ["srm", "effects", "detection", "findings", "settings", "dimension_counts"] {
        let (mut x, mut y) = (json(a)[field].clone(), json(b)[field].clone());
        if field == "settings" {
            x["tables"] = Value::Null;
            y["tables"] = Value::Null;
        }
        same(&x, &y, tol, field);
    }
}

/// The fixture's rows reordered by `order` (row indices), written to a Parquet file.
fn reordered(path: &Path, name: &str, order: impl FnOnce(&RecordBatch) -> Vec<u32>) -> PathBuf {
    let source = Source::open(path).unwrap();
    let all: Vec<usize> = (0..source.schema().fields().len()).collect();
    let batches: Vec<RecordBatch> = source.batches(&all, 1 << 16).unwrap().map(Result::unwrap).collect();
    let table = concat_batches(&batches[0].schema(), &batches).unwrap();
    let indices = UInt32Array::from(order(&table));
    let out = temp_dir(name).join(name);
    cateye_io::write_batches(&out, table.schema(), [take_record_batch(&table, &indices).unwrap()]).unwrap();
    out
}

fn experiment_labels(table: &RecordBatch) -> Vec<String> {
    let column = arrow::compute::cast(table.column_by_name("experiment").unwrap(), &arrow::datatypes::DataType::Utf8);
    let column = column.unwrap();
    let strings = column.as_any().downcast_ref::<StringArray>().unwrap();
    strings.iter().map(|s| s.unwrap_or_default().to_string()).collect()
}

/// The streamed scan reads batches of about four experiments (8,000 rows each here), the scan
/// in memory batches of `batch_rows`: with `batch_rows` at 32,000 the two sum the same rows in
/// the same order and agree bit for bit; with the default (65,536) they agree to rounding.
#[test]
fn streamed_scan_equals_the_scan_in_memory() {
    let Some(path) = fixture("ab_scan_12x8000.parquet") else { return };
    for (batch_rows, tol) in [(32_000, 0.0), (65_536, 1e-9)] {
        let config = config().with(|c| c.batch_rows = batch_rows);
        let (_, memory) = scan_file(&path, &config, &|_, _| {}).unwrap();
        let (result, rows) = streamed(&path, &config);
        // Every dimension row, with its q-value; the result lists the flagged ones.
        same(&json(&rows), &json(&sorted(memory.dimensions.clone())), tol, "dimensions");
        let flagged: Vec<DimensionRow> = memory.dimensions.iter().filter(|r| r.flagged).cloned().collect();
        assert!(!flagged.is_empty());
        same(&json(&result.dimensions), &json(&flagged), tol, "flagged dimensions");
        same_result(&result, &memory, tol);
        assert_eq!(result.dimension_counts.rows, memory.dimensions.len());
        assert!(result.input.warnings.is_empty(), "{:?}", result.input.warnings);
    }
}

#[test]
fn streamed_scan_finds_what_the_fixture_plants() {
    let Some(path) = fixture("ab_scan_12x8000.parquet") else { return };
    let config = config();
    let (_, memory) = scan_file(&path, &config, &|_, _| {}).unwrap();
    let (result, _) = streamed(&path, &config);
    let keys = |r: &ScanResult| -> Vec<(String, String, Option<String>)> {
        r.findings.iter().map(|f| (f.experiment.clone(), f.metric.clone(), f.dimension.clone())).collect()
    };
    assert_eq!(keys(&result), keys(&memory));
    assert_eq!(result.dimension_counts.rows, memory.dimensions.len());
    assert!(result.input.warnings.is_empty(), "{:?}", result.input.warnings);
}

#[test]
fn order_of_experiments_and_grouping_do_not_change_the_results() {
    let Some(path) = fixture("ab_scan_12x8000.parquet") else { return };
    let config = config();
    let (base, base_rows) = streamed(&path, &config);
    // Experiments in reverse order, each still contiguous.
    let reversed = reordered(&path, "reversed.parquet", |t| {
        let labels = experiment_labels(t);
        let mut idx: Vec<u32> = (0..t.num_rows() as u32).collect();
        idx.sort_by(|&a, &b| labels[b as usize].cmp(&labels[a as usize]));
        idx
    });
    // Rows shuffled: every experiment interleaves with every other (read in two passes).
    let shuffled = reordered(&path, "shuffled.parquet", |t| {
        let mut idx: Vec<u32> = (0..t.num_rows() as u32).collect();
        idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(7));
        idx
    });
    for (file, grouped) in [(reversed, true), (shuffled, false)] {
        let (result, rows) = streamed(&file, &config);
        // Sums are taken in another order: equal to rounding.
        same(&json(&rows), &json(&base_rows), 1e-9, "dimensions");
        same(&json(&result.dimensions), &json(&base.dimensions), 1e-9, "flagged dimensions");
        same_result(&result, &base, 1e-9);
        // Shuffled rows are partitioned by experiment into temporary files of eight
        // experiments: two for the fixture's twelve.
        let warned =
            result.input.warnings.iter().any(|w| w.contains("partitioned by experiment into 2 temporary files"));
        assert_eq!(warned, !grouped, "{:?}", result.input.warnings);
    }
}

#[test]
fn the_streamed_rows_do_not_depend_on_the_number_of_threads() {
    let Some(path) = fixture("ab_scan_12x8000.parquet") else { return };
    // Which experiments a window completes together sets the order in which their rows are
    // streamed. Here experiments come in pairs, the second inside the first (A's first half, B,
    // A's second half): B ends before A, in the same window as A or in an earlier one depending
    // on the window's size.
    let nested = reordered(&path, "threads.parquet", |t| {
        let labels = experiment_labels(t);
        let mut names: Vec<&String> = labels.iter().collect();
        names.sort();
        names.dedup();
        let rows_of =
            |name: &String| (0..t.num_rows() as u32).filter(|&i| &labels[i as usize] == name).collect::<Vec<_>>();
        let mut idx = Vec::new();
        for pair in names.chunks(2) {
            let a = rows_of(pair[0]);
            let b = pair.get(1).map(|n| rows_of(n)).unwrap_or_default();
            idx.extend_from_slice(&a[..a.len() / 2]);
            idx.extend_from_slice(&b);
            idx.extend_from_slice(&a[a.len() / 2..]);
        }
        idx
    });
    let config = config().with(|c| c.batch_rows = 4096);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| streamed_in_order(&nested, &config))
    };
    let ((a, rows_a), (b, rows_b)) = (run(1), run(3));
    same(&json(&rows_a), &json(&rows_b), 0.0, "streamed rows");
    same_result(&a, &b, 0.0);
}

#[test]
fn hierarchical_correction_runs_down_experiment_pair_dimension() {
    let Some(path) = fixture("ab_scan_12x8000.parquet") else { return };
    let config = config().with(|c| {
        c.correction = Correction::Hierarchical;
        c.batch_rows = 32_000;
    });
    let (_, memory) = scan_file(&path, &config, &|_, _| {}).unwrap();
    let (result, rows) = streamed(&path, &config);
    same(&json(&rows), &json(&sorted(memory.dimensions.clone())), 0.0, "dimensions");
    same_result(&result, &memory, 0.0);
    // The q-values are Yekutieli's, with the tree numbered here from the rows' names.
    let rows = &memory.dimensions;
    let id = |key: &dyn Fn(&DimensionRow) -> String| -> Vec<u32> {
        let mut names: Vec<String> = rows.iter().map(key).collect();
        names.sort();
        names.dedup();
        rows.iter().map(|r| names.binary_search(&key(r)).unwrap() as u32).collect()
    };
    let experiment = id(&|r| r.experiment.clone());
    let pair = id(&|r| format!("{}\u{1}{}\u{1}{}", r.experiment, r.metric, r.arm));
    let p: Vec<f64> = rows.iter().map(|r| r.test.map_or(f64::NAN, |t| t.p_value)).collect();
    let q = hierarchical_adjust(&p, &[&experiment, &pair]).unwrap();
    for (r, q) in rows.iter().zip(q) {
        assert!(r.q_value.to_bits() == q.to_bits() || (r.q_value.is_nan() && q.is_nan()), "{} vs {q}", r.q_value);
        assert_eq!(r.flagged, q <= config.alpha);
    }
    // The fixture's planted dimensions are found under the tree too.
    assert!(rows.iter().filter(|r| r.flagged).count() >= 3);
}
