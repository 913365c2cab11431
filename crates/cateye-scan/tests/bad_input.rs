//! Bad input gets a clear error naming the file and the column (or experiment, or value),
//! never a panic.

mod common;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema};
use cateye_scan::{ScanConfig, ScanError};
use common::scan_file;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const GOOD: &str = "experiment,variant,country,revenue,pre_revenue\n\
e1,control,US,1.0,0.5\ne1,treatment,US,2.0,0.7\ne1,control,DE,1.5,0.2\ne1,treatment,DE,2.5,1.1\n\
e1,control,US,0.5,0.1\ne1,treatment,DE,3.0,1.0\n";

fn csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(path: &Path, config: ScanConfig) -> Result<(), ScanError> {
    scan_file(path, &config, &|_, _| {}).map(|_| ())
}

fn assert_names(err: ScanError, parts: &[&str]) {
    let msg = err.to_string();
    for p in parts {
        assert!(msg.contains(p), "error '{msg}' does not name '{p}'");
    }
}

#[test]
fn the_good_file_scans() {
    let dir = common::temp_dir("good");
    run(&csv(&dir, "good.csv", GOOD), ScanConfig::default().with(|c| c.min_units_per_arm = 1)).unwrap();
}

#[test]
fn missing_column() {
    let dir = common::temp_dir("missing");
    let p = csv(&dir, "nov.csv", &GOOD.replace("variant", "arm"));
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["nov.csv", "'variant'", "arm"]);
    let p = csv(&dir, "good.csv", GOOD);
    let cfg = ScanConfig::default().with(|c| c.metrics = Some(vec!["clicks".into()]));
    assert_names(run(&p, cfg).unwrap_err(), &["good.csv", "'clicks'", "metric"]);
    let cfg = ScanConfig::default().with(|c| c.dimensions = Some(vec!["os".into()]));
    assert_names(run(&p, cfg).unwrap_err(), &["good.csv", "'os'", "dimension"]);
}

#[test]
fn metric_that_is_not_numeric() {
    let dir = common::temp_dir("nonnumeric");
    let p = csv(&dir, "good.csv", GOOD);
    let cfg = ScanConfig::default().with(|c| c.metrics = Some(vec!["country".into()]));
    assert_names(run(&p, cfg).unwrap_err(), &["good.csv", "'country'", "metric", "numeric"]);
    let p = csv(&dir, "badpre.csv", &GOOD.replace(",0.5\n", ",n/a\n"));
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["badpre.csv", "'pre_revenue'"]);
}

#[test]
fn experiment_with_one_arm() {
    let dir = common::temp_dir("onearm");
    let p = csv(&dir, "onearm.csv", &format!("{GOOD}e2,control,US,1.0,0.3\ne2,control,DE,1.2,0.3\n"));
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["onearm.csv", "'e2'", "'variant'", "one arm"]);
}

#[test]
fn experiment_without_control_and_unknown_control_label() {
    let dir = common::temp_dir("control");
    let p = csv(&dir, "good.csv", GOOD);
    let cfg = ScanConfig::default().with(|c| c.control = "baseline".into());
    assert_names(run(&p, cfg).unwrap_err(), &["good.csv", "'baseline'", "'variant'", "control, treatment"]);
    let p = csv(&dir, "nocontrol.csv", &format!("{GOOD}e2,a,US,1.0,0.3\ne2,b,DE,1.2,0.3\n"));
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["nocontrol.csv", "'e2'", "'control'"]);
}

#[test]
fn empty_files() {
    let dir = common::temp_dir("empty");
    let p = csv(&dir, "header_only.csv", "experiment,variant,revenue\n");
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["header_only.csv"]);
    let p = csv(&dir, "nothing.csv", "");
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["nothing.csv"]);
    // A Parquet file with a schema and no rows.
    let schema = Arc::new(Schema::new(vec![
        Field::new("experiment", DataType::Utf8, false),
        Field::new("variant", DataType::Utf8, false),
        Field::new("revenue", DataType::Float64, true),
    ]));
    let p = dir.join("empty.parquet");
    let w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), schema, None).unwrap();
    w.close().unwrap();
    assert!(matches!(run(&p, ScanConfig::default()).unwrap_err(), ScanError::Io(cateye_io::IoError::Empty { .. })));
}

#[test]
fn unsupported_and_corrupt_files() {
    let dir = common::temp_dir("corrupt");
    let p = csv(&dir, "data.xlsx", GOOD);
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["data.xlsx", "unsupported"]);
    let p = csv(&dir, "broken.parquet", "this is not parquet at all");
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["broken.parquet"]);
    let p = dir.join("absent.csv");
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["absent.csv"]);
}

#[test]
fn missing_metric_values_are_excluded_and_counted() {
    let dir = common::temp_dir("missingvalues");
    let p = csv(&dir, "m.csv", &format!("{GOOD}e1,control,US,,0.5\ne1,treatment,US,NaN,0.5\ne1,treatment,DE,1.0,\n"));
    let (_, r) = scan_file(&p, &ScanConfig::default().with(|c| c.min_units_per_arm = 1), &|_, _| {}).unwrap();
    let e = &r.effects[0];
    assert_eq!(e.missing, [1.0, 1.0]);
    assert_eq!(e.n, [4.0, 3.0]);
    assert_eq!(e.cuped.as_ref().unwrap().pre_imputed, [1.0, 0.0]);
}

#[test]
fn arrow_ipc_file_and_stream_scan_like_csv() {
    let dir = common::temp_dir("ipc");
    let csv_path = csv(&dir, "good.csv", GOOD);
    let cfg = ScanConfig::default().with(|c| c.min_units_per_arm = 1);
    let (_, want) = scan_file(&csv_path, &cfg, &|_, _| {}).unwrap();
    let source = cateye_io::Source::open(&csv_path).unwrap();
    let batches: Vec<RecordBatch> = source.batches(&[0, 1, 2, 3, 4], 1024).unwrap().map(|b| b.unwrap()).collect();
    let file = dir.join("good.arrow");
    let mut w =
        arrow::ipc::writer::FileWriter::try_new(std::fs::File::create(&file).unwrap(), source.schema()).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    let stream = dir.join("good.arrows");
    let mut w =
        arrow::ipc::writer::StreamWriter::try_new(std::fs::File::create(&stream).unwrap(), source.schema()).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    for p in [file, stream] {
        let (_, got) = scan_file(&p, &cfg, &|_, _| {}).unwrap();
        assert_eq!(serde_json::to_value(&got.effects).unwrap(), serde_json::to_value(&want.effects).unwrap());
    }
}

#[test]
fn planned_split_must_cover_every_arm() {
    let dir = common::temp_dir("split");
    let p = csv(&dir, "good.csv", GOOD);
    let mut cfg = ScanConfig::default().with(|c| c.min_units_per_arm = 1);
    cfg.split.insert("control".into(), 0.5);
    assert_names(run(&p, cfg).unwrap_err(), &["good.csv", "'e1'", "'treatment'"]);
}

#[test]
fn duplicated_column_names_are_an_error_naming_both_positions() {
    let dir = common::temp_dir("duplicated");
    let p = csv(&dir, "dup.csv", &GOOD.replacen("pre_revenue", "revenue", 1));
    assert_names(run(&p, ScanConfig::default()).unwrap_err(), &["dup.csv", "'revenue'", "columns 4 and 5"]);
}

#[test]
fn values_whose_fourth_powers_overflow_are_an_error_naming_row_and_value() {
    let dir = common::temp_dir("overflow");
    let cfg = ScanConfig::default().with(|c| c.min_units_per_arm = 1);
    // A value near the largest double in a metric, and one of 1e80 in a pre-period column: their
    // fourth powers overflow (the kurtosis behind detection), so they are refused, not scanned.
    let p = csv(&dir, "big.csv", &GOOD.replacen("2.0,0.7", "1.7e308,0.7", 1));
    assert_names(run(&p, cfg.clone()).unwrap_err(), &["big.csv", "'revenue'", "row 2 (1-based)", "1.7e308", "rescale"]);
    let p = csv(&dir, "pre.csv", &GOOD.replacen("1.5,0.2", "1.5,1e80", 1));
    assert_names(run(&p, cfg).unwrap_err(), &["pre.csv", "'pre_revenue'", "row 3 (1-based)", "1e80"]);
}
