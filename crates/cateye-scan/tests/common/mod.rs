//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared fixtures folder, or `None` (with a message) when it is absent.
pub fn fixture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: fixture {} not found (expected ../shared/fixtures beside the repository)", p.display());
        None
    }
}

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
pub fn write_parquet(path: &std::path::Path, batch: &arrow::array::RecordBatch) {
    let file = std::fs::File::create(path).expect("create file");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("parquet writer");
    w.write(batch).expect("write batch");
    w.close().expect("close file");
}
