//! The `cateye` binary end to end: every subcommand's happy path on the demo's own files, and
//! bad input that must end in a clear message (naming the file, column or value) and exit code
//! 1 (2 for unusable arguments), never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn cateye(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cateye")).args(args).output().expect("the cateye binary runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Runs `args`, which must succeed; returns stdout.
fn ok(args: &[&str]) -> String {
    let o = cateye(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "cateye {args:?} failed: {err}\n{out}");
    out
}

/// Runs `args`, which must fail with `code`; returns stderr, which must not be a panic.
fn fails(args: &[&str], code: i32) -> String {
    let o = cateye(args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(code), "cateye {args:?}: {err}");
    assert!(!err.contains("panicked"), "cateye {args:?} panicked: {err}");
    err
}

/// The demo's folder, made once for all tests (`cateye demo`, deep dive of 2 pairs only).
fn demo() -> &'static Path {
    static DEMO: OnceLock<PathBuf> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = cateye_testkit::temp_dir("cli-demo");
        let out = ok(&["demo", "--out", dir.to_str().unwrap()]);
        assert!(out.contains("Sample ratio mismatch: 1 of 8"), "{out}");
        assert!(out.contains("Trial data: 4000 rows"), "{out}");
        dir
    })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn demo_and_scan_of_its_data() {
    let dir = demo();
    assert!(dir.join("results/scan.json").exists() && dir.join("trial.parquet").exists());
    let out = dir.join("scan-again");
    let stats = dir.join("stats.parquet");
    let data = dir.join("demo.parquet");
    let printed = ok(&[
        "scan",
        path(&data),
        "--metrics",
        "revenue,sessions,converted",
        "--dimensions",
        "country,platform,tenure_days,is_subscriber",
        "--deep-dive",
        "none",
        "--export-stats",
        path(&stats),
        "--out",
        path(&out),
    ]);
    assert!(printed.contains("Heterogeneity findings"), "{printed}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("scan.json")).unwrap()).unwrap();
    assert!(!json["findings"].as_array().unwrap().is_empty());
    // The exported statistics scan to the same findings.
    let from_stats = dir.join("scan-stats");
    ok(&["scan", path(&stats), "--stats", "--out", path(&from_stats), "--quiet"]);
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(from_stats.join("scan.json")).unwrap()).unwrap();
    assert_eq!(again["findings"].as_array().unwrap().len(), json["findings"].as_array().unwrap().len());
}

#[test]
fn forest_and_cate_save_models_that_predict() {
    let dir = demo();
    let trial = dir.join("trial.parquet");
    let covariates = "x1,x2,x3,x4,x5,x6";
    let forest_model = dir.join("forest.model");
    let printed = ok(&[
        "forest",
        path(&trial),
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        covariates,
        "--trees",
        "100",
        "--save-model",
        path(&forest_model),
        "--out",
        path(&dir.join("forest")),
    ]);
    assert!(printed.contains("Average treatment effect (AIPW)"), "{printed}");
    assert!(dir.join("forest/forest.json").exists() && dir.join("forest/cate.parquet").exists());
    let predicted = ok(&["predict", path(&forest_model), path(&trial), "--out", path(&dir.join("predict-forest"))]);
    assert!(predicted.contains("Predicted 4000 rows") && predicted.contains("causal forest"), "{predicted}");
    assert!(dir.join("predict-forest/predictions.parquet").exists());

    let cate_model = dir.join("cate.model");
    let printed = ok(&[
        "cate",
        path(&trial),
        "--outcome",
        "y",
        "--treatment",
        "w",
        "--covariates",
        covariates,
        "--method",
        "dr",
        "--trees",
        "20",
        "--calibrate",
        "--save-model",
        path(&cate_model),
        "--format",
        "csv",
        "--out",
        path(&dir.join("cate")),
    ]);
    assert!(printed.contains("Average effect (AIPW)"), "{printed}");
    assert!(dir.join("cate/cate.csv").exists() && dir.join("cate/cate.json").exists());
    let predicted =
        ok(&["predict", path(&cate_model), path(&trial), "--format", "csv", "--out", path(&dir.join("predict-cate"))]);
    assert!(predicted.contains("CATE learner"), "{predicted}");
    let csv = std::fs::read_to_string(dir.join("predict-cate/predictions.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("row,cate"));
    assert_eq!(csv.lines().count(), 4001);
}

#[test]
fn bench_runs_small() {
    let out = ok(&["bench", "forest", "--rows", "1000", "--trees", "100"]);
    assert!(out.contains("RMSE"), "{out}");
}

#[test]
fn bad_input_is_named_never_a_panic() {
    let dir = demo();
    let trial = dir.join("trial.parquet");
    let e = fails(&["scan", "/nonexistent/rows.parquet"], 1);
    assert!(e.contains("/nonexistent/rows.parquet"), "{e}");
    let e = fails(&["scan", path(&dir.join("demo.parquet")), "--metrics", "clicks", "--out", path(&dir.join("x"))], 1);
    assert!(e.contains("'clicks'") && e.contains("metric"), "{e}");
    let e = fails(&["forest", path(&trial), "--outcome", "income", "--treatment", "w"], 1);
    assert!(e.contains("trial.parquet") && e.contains("'income'"), "{e}");
    let e = fails(&["predict", path(&trial), path(&trial)], 1);
    assert!(e.contains("not a cateye model file"), "{e}");
    let e = fails(&["scan", path(&trial), "--alpha", "2", "--out", path(&dir.join("y"))], 1);
    assert!(e.contains("alpha"), "{e}");
    let e = fails(&["scan", path(&trial), "--correction", "fisher"], 2);
    assert!(e.contains("fisher"), "{e}");
    let e = fails(&["cate", path(&trial), "--outcome", "y", "--treatment", "w", "--method", "z"], 2);
    assert!(e.contains("'z'"), "{e}");
}

#[test]
fn a_thread_count_beyond_the_machine_is_capped_with_a_warning() {
    let o = cateye(&["--threads", "100000", "bench", "forest", "--rows", "1000", "--trees", "100"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("--threads 100000") && err.contains("using"), "{err}");
    assert!(out.contains("threads="), "{out}");
}
