//! Helpers shared by cateye's integration tests: the shared fixtures (`../shared/fixtures`
//! beside the repository), fresh temporary folders and relative tolerances.
//!
//! A test that needs a fixture calls [`fixture`]: when the fixtures are absent it skips with a
//! message, except under CI (the `CI` environment variable set), where a missing fixture is a
//! failure: CI must never pass by skipping the comparisons with the reference.
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

/// The shared fixtures folder (it may not exist).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// The path of fixture `name`, or `None` (with a message) when it is absent. Under CI a missing
/// fixture panics instead.
pub fn fixture(name: &str) -> Option<PathBuf> {
    let p = fixtures_dir().join(name);
    if p.exists() {
        return Some(p);
    }
    let message = format!("fixture {} not found (expected ../shared/fixtures beside the repository)", p.display());
    if std::env::var_os("CI").is_some() {
        panic!("{message}; CI is set, so a missing fixture fails the test instead of skipping it");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// The metric columns of the shared A/B fixture `ab_scan_12x8000.parquet`.
pub const AB_METRICS: [&str; 3] = ["m0", "m1", "m2"];

/// The dimension columns of the shared A/B fixture.
pub const AB_DIMENSIONS: [&str; 4] = ["country", "platform", "tenure", "region"];

/// A fresh temporary folder for one test.
pub fn temp_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cateye-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Relative difference scaled by `scale` (or by the larger magnitude when `scale` is 0).
pub fn rel(a: f64, b: f64, scale: f64) -> f64 {
    let s = if scale > 0.0 { scale } else { a.abs().max(b.abs()).max(f64::MIN_POSITIVE) };
    (a - b).abs() / s
}

/// Write one batch to a Parquet file.
pub fn write_parquet(path: &Path, batch: &arrow::array::RecordBatch) {
    let file = std::fs::File::create(path).expect("create file");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("parquet writer");
    w.write(batch).expect("write batch");
    w.close().expect("close file");
}

/// A Nie & Wager fixture (`nw_*.csv` and the grf figures beside it in `.grf.json`).
pub struct NieWagerFixture {
    /// Covariates by column.
    pub x: Vec<Vec<f64>>,
    /// Covariate names (`x1`, `x2`, ...).
    pub names: Vec<String>,
    /// Treatment (0/1).
    pub w: Vec<f64>,
    /// Outcome.
    pub y: Vec<f64>,
    /// True conditional effect.
    pub tau: Vec<f64>,
    /// True propensity.
    pub e: Vec<f64>,
    /// What grf 2.6.1 gave on the same file.
    pub grf: serde_json::Value,
}

/// Loads fixture `name` (`name.csv` and `name.grf.json`), or `None` when the fixtures are
/// absent (see [`fixture`]).
pub fn nie_wager_fixture(name: &str) -> Option<NieWagerFixture> {
    let csv = fixture(&format!("{name}.csv"))?;
    let text = std::fs::read_to_string(&csv).expect("fixture csv");
    let grf = std::fs::read_to_string(csv.with_extension("grf.json")).expect("grf.json beside csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("header").split(',').map(str::to_string).collect();
    let mut columns = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.is_empty()) {
        for (c, v) in columns.iter_mut().zip(line.split(',')) {
            c.push(v.parse::<f64>().expect("number"));
        }
    }
    let col = |name: &str| columns[header.iter().position(|h| h == name).expect("column")].clone();
    let names: Vec<String> = header.iter().filter(|h| h.starts_with('x')).cloned().collect();
    Some(NieWagerFixture {
        x: names.iter().map(|n| col(n)).collect(),
        names,
        w: col("w"),
        y: col("y"),
        tau: col("tau"),
        e: col("e"),
        grf: serde_json::from_str(&grf).expect("grf json"),
    })
}
