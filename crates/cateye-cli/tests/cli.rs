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

/// The demo's folder and what it printed, made once for all tests (`cateye demo`).
fn demo_run() -> &'static (PathBuf, String) {
    static DEMO: OnceLock<(PathBuf, String)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = cateye_testkit::temp_dir("cli-demo");
        let out = ok(&["demo", "--out", dir.to_str().unwrap()]);
        assert!(out.contains("Sample ratio mismatch: 1 of 8"), "{out}");
        assert!(out.contains("Trial data: 4000 rows"), "{out}");
        (dir, out)
    })
}

fn demo() -> &'static Path {
    &demo_run().0
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", path.display()))
}

/// The bytes of every file in `dir`, by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default()))
        .collect();
    files.sort();
    files
}

/// Runs `cateye args` with files limited to `kib` KiB and SIGXFSZ ignored, so that a write
/// beyond the limit fails (EFBIG) as on a full disk.
fn cateye_on_a_full_disk(kib: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_cateye"))
        .args(args)
        .output()
        .expect("sh runs")
}

/// The scan that `cateye demo` runs, as it prints it.
fn demo_scan_command() -> Vec<String> {
    let printed = &demo_run().1;
    let line = printed
        .lines()
        .find(|l| l.trim_start().starts_with("cateye scan "))
        .unwrap_or_else(|| panic!("the demo prints its scan command:\n{printed}"));
    assert!(!line.contains('\''), "a temporary folder without spaces needs no quoting: {line}");
    line.split_whitespace().skip(1).map(str::to_string).collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `cateye scan DATA` of the demo's table with its roles, no deep dive, and `more` arguments.
fn demo_scan<'a>(data: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "scan",
        path(data),
        "--metrics",
        "revenue,sessions,converted",
        "--dimensions",
        "country,platform,tenure_days,is_subscriber",
        "--deep-dive",
        "none",
    ];
    args.extend_from_slice(more);
    args
}

#[test]
fn demo_and_scan_of_its_data() {
    let dir = demo();
    assert!(dir.join("results/scan.json").exists() && dir.join("trial.parquet").exists());
    let out = dir.join("scan-again");
    let stats = dir.join("stats.parquet");
    let data = dir.join("demo.parquet");
    let printed = ok(&demo_scan(&data, &["--export-stats", path(&stats), "--out", path(&out)]));
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
fn the_demo_writes_its_report_and_report_refuses_what_is_not_results() {
    let dir = demo();
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains(r#"id="cateye-data""#));
    assert!(demo_run().1.contains("--report"), "the demo prints the scan command with its report");
    let err = fails(&["report", path(&dir.join("results/manifest.json")), "-o", path(&dir.join("x.html"))], 1);
    assert!(err.contains("manifest.json: not cateye results"), "{err}");
    let err = fails(&["report", path(&dir.join("missing.json"))], 1);
    assert!(err.contains("missing.json: cannot read"), "{err}");
    // An unwritable report (its folder would be a file) fails before the scan runs.
    let data = dir.join("demo.parquet");
    let report = data.join("r.html");
    let err = fails(&demo_scan(&data, &["--report", path(&report), "--out", path(&dir.join("r"))]), 1);
    assert!(err.contains("demo.parquet"), "{err}");
    assert!(!dir.join("r/scan.json").exists());
}

#[test]
fn tables_parquet_streams_the_dimension_and_level_tables() {
    let dir = demo();
    let data = dir.join("demo.parquet");
    let (csv, parquet) = (dir.join("tables-csv"), dir.join("tables-parquet"));
    let scan = |out: &Path, tables: &str, correction: &str| {
        ok(&demo_scan(&data, &["--tables", tables, "--correction", correction, "--out", path(out), "--quiet"]))
    };
    scan(&csv, "csv", "bh");
    scan(&parquet, "parquet", "bh");
    assert!(parquet.join("dimensions.parquet").exists() && parquet.join("levels.parquet").exists());
    assert!(!parquet.join("dimensions.csv").exists());
    let (a, b) = (json(&csv.join("scan.json")), json(&parquet.join("scan.json")));
    assert_eq!(b["settings"]["tables"], "parquet");
    assert_eq!(a["dimension_counts"]["rows"], b["dimension_counts"]["rows"]);
    assert_eq!(a["findings"].as_array().unwrap().len(), b["findings"].as_array().unwrap().len());
    let flagged = a["dimensions"].as_array().unwrap().iter().filter(|d| d["flagged"] == true).count();
    assert_eq!(b["dimensions"].as_array().unwrap().len(), flagged);
    // The hierarchical correction is a choice of the command line.
    let tree = dir.join("tables-tree");
    scan(&tree, "parquet", "hierarchical");
    assert_eq!(json(&tree.join("scan.json"))["settings"]["correction"], "hierarchical");
    let err = fails(&["scan", path(&data), "--tables", "xlsx"], 2);
    assert!(err.contains("xlsx") && err.contains("csv or parquet"), "{err}");
}

/// The lines of the demo's deep dive about `pair` (`experiment / metric / arm`), up to the next pair.
fn deep_dive_lines(pair: &str) -> String {
    let printed = &demo_run().1;
    let mut lines = printed.lines().skip_while(|l| !l.starts_with(&format!("  {pair} (")));
    let first = lines.next().unwrap_or_else(|| panic!("no deep dive of {pair}: {printed}"));
    let body: Vec<&str> = lines.take_while(|l| l.starts_with("    ")).collect();
    format!("{first}\n{}", body.join("\n"))
}

#[test]
fn the_deep_dive_words_its_conclusions_by_their_intervals() {
    // The platform effect: dimensions explain all of it as far as the data can tell.
    let platform = deep_dive_lines("checkout_redesign / revenue / treatment");
    assert!(platform.contains("heterogeneous: yes (Holm-adjusted p = "), "{platform}");
    assert!(
        platform.contains("% (95% CI ") && platform.contains("–100%); no evidence of variation beyond them"),
        "{platform}"
    );
    assert!(platform.contains("who gains and who loses (held-out effects, test p = "), "{platform}");
    assert!(platform.contains("bounds without that assumption"), "{platform}");
    // Variation along no dimension: none explained, no rule shown.
    let unobserved = deep_dive_lines("ranking_model / revenue / treatment");
    assert!(
        unobserved.contains("no evidence that they explain any of it; there is variation beyond them"),
        "{unobserved}"
    );
    assert!(unobserved.contains("no rule beats the average effect"), "{unobserved}");
    // scan.json carries every component with its interval and the verdict's adjusted p-value.
    let json = json(&demo().join("results/scan.json"));
    let pair = &json["deep_dive"]["pairs"][0];
    for component in ["systematic", "covariates", "idiosyncratic", "total", "share_explained"] {
        let c = &pair["surface"]["decomposition"][component];
        for key in ["estimate", "se", "ci_lower", "ci_upper"] {
            assert!(c.get(key).is_some(), "{component}.{key} in {c}");
        }
    }
    assert!(pair["detect"]["p_value"].as_f64().is_some());
    assert!(pair["detect"]["tests"][0]["adjusted_p_value"].as_f64().is_some());
    assert!(pair["characterize"]["rules_hold_out"].is_boolean());
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
        "--report",
        path(&dir.join("forest.html")),
    ]);
    assert!(printed.contains("Average treatment effect (AIPW)"), "{printed}");
    assert!(printed.contains(&format!("Report: {}", dir.join("forest.html").display())), "{printed}");
    // The report of the saved summary is the page the fit wrote.
    ok(&["report", path(&dir.join("forest/forest.json")), "-o", path(&dir.join("forest-again.html"))]);
    assert_eq!(std::fs::read(dir.join("forest.html")).unwrap(), std::fs::read(dir.join("forest-again.html")).unwrap());
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
        "--report",
        path(&dir.join("cate.html")),
    ]);
    assert!(printed.contains("Average effect (AIPW)"), "{printed}");
    ok(&["report", path(&dir.join("cate/cate.json")), "-o", path(&dir.join("cate-again.html"))]);
    assert_eq!(std::fs::read(dir.join("cate.html")).unwrap(), std::fs::read(dir.join("cate-again.html")).unwrap());
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
fn the_demo_prints_the_scan_that_reproduces_it() {
    let dir = demo();
    let mut args = demo_scan_command();
    let out = args.iter().position(|a| a == "--out").expect("the command names its --out");
    assert_eq!(Path::new(&args[out + 1]), dir.join("results"));
    let again = dir.join("demo-again");
    args[out + 1] = path(&again).to_string();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&args);
    let (demo, rerun) = (json(&dir.join("results/scan.json")), json(&again.join("scan.json")));
    assert!(!demo["findings"].as_array().unwrap().is_empty());
    for key in ["findings", "srm", "effects", "dimensions"] {
        assert_eq!(demo[key], rerun[key], "{key} of the demo and of its printed command");
    }
    let pairs = |v: &serde_json::Value| v["deep_dive"]["pairs"].as_array().unwrap().clone();
    assert_eq!(pairs(&demo).len(), pairs(&rerun).len());
    // The demo's pairs (about 20,000 units) are below the deep dive's cap: analysed whole.
    assert!(pairs(&demo).iter().all(|p| p["data"]["subsampled_from"].is_null()));
    for (a, b) in pairs(&demo).iter().zip(pairs(&rerun).iter()) {
        assert_eq!((&a["experiment"], &a["metric"], &a["ate"]), (&b["experiment"], &b["metric"], &b["ate"]));
    }
}

#[test]
fn a_failed_write_leaves_the_previous_results_byte_identical() {
    let dir = demo();
    let data = dir.join("demo.parquet");
    let out = dir.join("full-disk-scan");
    let scan = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = demo_scan_command();
        let at = args.iter().position(|a| a == "--out").unwrap();
        args[at + 1] = path(&out).to_string();
        args[1] = path(&data).to_string();
        args.extend(["--deep-dive", "none", "--quiet"].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let first = scan(&[]);
    ok(&first.iter().map(String::as_str).collect::<Vec<_>>());
    let before = snapshot(&out);
    assert!(
        before.iter().any(|(f, _)| f == "manifest.json") && before.len() == 7,
        "{:?}",
        before.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    // scan.json (hundreds of KiB) cannot be written within 64 blocks.
    let second = scan(&["--alpha", "0.1"]);
    let o = cateye_on_a_full_disk(64, &second.iter().map(String::as_str).collect::<Vec<_>>());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write") && !err.contains("panicked"), "{err}");
    assert_eq!(snapshot(&out), before, "the previous scan's files are untouched, and nothing else is left");

    // forest: a Parquet run, then a CSV run that fails, then one that succeeds.
    let trial = dir.join("trial.parquet");
    let out = dir.join("full-disk-forest");
    let forest = |format: &str| -> Vec<String> {
        [
            "forest",
            path(&trial),
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--trees",
            "100",
            "--quiet",
            "--format",
            format,
            "--out",
            path(&out),
        ]
        .map(String::from)
        .to_vec()
    };
    ok(&forest("parquet").iter().map(String::as_str).collect::<Vec<_>>());
    let before = snapshot(&out);
    let o = cateye_on_a_full_disk(64, &forest("csv").iter().map(String::as_str).collect::<Vec<_>>());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert_eq!(snapshot(&out), before);
    // The CSV run that succeeds replaces the Parquet file it owns.
    ok(&forest("csv").iter().map(String::as_str).collect::<Vec<_>>());
    let names: Vec<String> = snapshot(&out).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["cate.csv", "forest.json", "manifest.json"]);
    let manifest = json(&out.join("manifest.json"));
    let files: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["cate.csv", "forest.json"]);
    assert_eq!(manifest["inputs"][0]["bytes"].as_u64(), Some(std::fs::metadata(&trial).unwrap().len()));
    assert_eq!(manifest["command"][1], "forest");
}

#[test]
fn an_unwritable_output_is_refused_before_any_work() {
    let dir = demo();
    let not_a_folder = dir.join("a-file");
    std::fs::write(&not_a_folder, "x").unwrap();
    // The input does not even exist: the output is checked first.
    let e = fails(&["scan", "/nonexistent/rows.parquet", "--out", path(&not_a_folder)], 1);
    assert!(e.contains("cannot write") && e.contains("a-file"), "{e}");
    let trial = dir.join("trial.parquet");
    let model = not_a_folder.join("forest.model");
    let e = fails(
        &[
            "forest",
            path(&trial),
            "--outcome",
            "y",
            "--treatment",
            "w",
            "--save-model",
            path(&model),
            "--out",
            path(&dir.join("f")),
        ],
        1,
    );
    assert!(e.contains("cannot write") && e.contains("forest.model"), "{e}");
    assert!(!dir.join("f").exists(), "a folder made for a run that wrote nothing is removed");
}

#[test]
fn a_scan_interrupted_in_its_deep_dive_keeps_tier_one_and_the_finished_pairs() {
    use std::io::BufRead;
    let dir = demo();
    let out = dir.join("interrupted");
    let mut args = demo_scan_command();
    let at = args.iter().position(|a| a == "--out").unwrap();
    args[at + 1] = path(&out).to_string();
    args.extend(["--deep-dive", "all"].map(String::from));
    let mut child = Command::new(env!("CARGO_BIN_EXE_cateye"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("deep dive 1/") && line.contains(" in ") {
            // The shell's own `kill`: a clean machine may not have procps' /bin/kill.
            let kill = Command::new("sh").arg("-c").arg(format!("kill -INT {}", child.id())).status().unwrap();
            assert!(kill.success());
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the scan was interrupted: {seen:?}");
    let report = json(&out.join("scan.json"));
    assert!(!report["findings"].as_array().unwrap().is_empty(), "tier 1 is complete");
    let dd = &report["deep_dive"];
    let finished = dd["pairs"].as_array().unwrap().len() + dd["failed"].as_array().unwrap().len();
    let selected = dd["selection"]["selected"].as_array().unwrap().len();
    assert!(finished >= 1, "the finished pair is saved");
    assert!(selected >= 3 && finished < selected, "interrupted before the end ({finished} of {selected})");
    assert_eq!(dd["remaining"].as_u64(), Some((selected - finished) as u64));
    for table in ["srm.csv", "effects.csv", "detection.csv", "dimensions.csv", "levels.csv"] {
        let csv = std::fs::read_to_string(out.join(table)).unwrap();
        assert!(csv.lines().count() > 1, "{table} is complete");
    }
    let manifest = json(&out.join("manifest.json"));
    for f in manifest["files"].as_array().unwrap() {
        let size = std::fs::metadata(out.join(f["file"].as_str().unwrap())).unwrap().len();
        assert_eq!(f["bytes"].as_u64(), Some(size), "{f}");
    }
    // The next run into the folder clears what the killed one left half-staged.
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut quick = args[..args.len() - 2].to_vec();
    quick.extend(["--deep-dive", "none", "--quiet"]);
    ok(&quick);
    let leftovers: Vec<String> = snapshot(&out).into_iter().map(|f| f.0).filter(|f| f.starts_with('.')).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(json(&out.join("scan.json"))["deep_dive"]["remaining"].is_null());
}

#[test]
fn a_thread_count_beyond_the_machine_is_capped_with_a_warning() {
    let o = cateye(&["--threads", "100000", "bench", "forest", "--rows", "1000", "--trees", "100"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("--threads 100000") && err.contains("using"), "{err}");
    assert!(out.contains("threads="), "{out}");
}

/// `stats-sql` prints the library's query for the flags or the config file given, and refuses
/// what SQL cannot do (no metrics, binning, an unknown dialect) with the reason.
#[test]
fn stats_sql_prints_the_query_of_its_flags_or_config_and_refuses_what_sql_cannot_do() {
    use cateye::scan::{CovariateColumns, Dialect, ScanConfig, StatsQuery};
    let spark = ok(&[
        "stats-sql",
        "db.events",
        "--metrics",
        "revenue,sessions",
        "--dimensions",
        "country,platform",
        "--pre",
        "revenue=rev_before",
        "--dialect",
        "spark",
    ]);
    let mut config = ScanConfig::default();
    config.metrics = Some(vec!["revenue".into(), "sessions".into()]);
    config.dimensions = Some(vec!["country".into(), "platform".into()]);
    let covariates = CovariateColumns { all: false, listed: vec![("revenue".into(), Some("rev_before".into()))] };
    let query = StatsQuery::from_config("db.events", &config, &covariates).unwrap();
    assert_eq!(spark, query.sql(Dialect::Spark).unwrap(), "the CLI prints the library's query");
    assert!(spark.contains("FROM db.events") && spark.contains("`rev_before`") && spark.contains("GROUPING SETS"));

    // The config file's column roles, with --cuped: every covariate is pre_prefix + metric.
    let dir = cateye_testkit::temp_dir("stats-sql");
    let toml = dir.join("roles.toml");
    std::fs::write(
        &toml,
        "experiment = \"exp id\"\nvariant = \"arm\"\nmetrics = [\"m0\"]\ndimensions = [\"d\"]\npre_prefix = \"before_\"\nalpha = 0.01\n",
    )
    .unwrap();
    let ansi = ok(&["stats-sql", "t", "--config", path(&toml), "--cuped"]);
    assert!(ansi.contains("CAST(\"exp id\" AS VARCHAR)") && ansi.contains("\"before_m0\""), "{ansi}");
    let flags = ok(&[
        "stats-sql",
        "t",
        "--experiment",
        "exp id",
        "--variant",
        "arm",
        "--metrics",
        "m0",
        "--dimensions",
        "d",
        "--pre",
        "m0",
        "--pre-prefix",
        "before_",
        "--dialect",
        "ansi",
    ]);
    assert_eq!(ansi, flags, "the config file and the flags describe the same query");

    let e = fails(&["stats-sql", "t"], 1);
    assert!(e.contains("--metrics") && e.contains("cannot look up"), "{e}");
    let e = fails(&["stats-sql", "t", "--metrics", "m", "--bins", "5"], 1);
    assert!(e.contains("--bins") && e.contains("cannot bin"), "{e}");
    let e = fails(&["stats-sql", "t", "--metrics", "m", "--pre", "z"], 1);
    assert!(e.contains("'z', which is not a metric"), "{e}");
    let e = fails(&["stats-sql", "t", "--metrics", "m", "--dialect", "mysql"], 2);
    assert!(e.contains("mysql") && e.contains("spark or ansi"), "{e}");
}

/// A CSV of 4,000 units in 8 regions, half treated by a fixed pattern, outcome
/// `1 + 0.5·region + 1·treated` plus a deterministic wobble: the true effect is 1.
fn dp_table(dir: &Path) -> PathBuf {
    let path = dir.join("units.csv");
    let mut text = String::from("unit,region,treated,spend\n");
    for i in 0..4000u64 {
        let region = i % 8;
        let treated = (i / 8) % 2;
        let wobble = ((i * 7919) % 101) as f64 / 100.0 - 0.5;
        let y = 1.0 + 0.5 * region as f64 + treated as f64 + wobble;
        text.push_str(&format!("u{i},r{region},{treated},{y:.4}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn privatize_then_dp_effect_recovers_the_effect_and_keeps_the_seed_secret() {
    let dir = cateye_testkit::temp_dir("cli-dp");
    let data = dp_table(&dir);
    let released = dir.join("released");
    let release = |out: &Path, threads: &str| {
        ok(&[
            "--threads",
            threads,
            "privatize",
            path(&data),
            "--outcome",
            "spend",
            "--treatment",
            "treated",
            "--cluster",
            "region",
            "--keep",
            "unit",
            "--epsilon",
            "6",
            "--lo",
            "0",
            "--hi",
            "6",
            "--levels",
            "25",
            "--seed",
            "987654321",
            "--out",
            path(out),
        ])
    };
    let printed = release(&released, "2");
    assert!(printed.contains("ε = 6.000") && printed.contains("prior Uniform"), "{printed}");
    let manifest = std::fs::read_to_string(released.join("manifest.json")).unwrap();
    assert!(!manifest.contains("987654321") && manifest.contains("<secret>"), "{manifest}");
    let again = dir.join("again");
    release(&again, "1");
    assert_eq!(
        std::fs::read(released.join("released.parquet")).unwrap(),
        std::fs::read(again.join("released.parquet")).unwrap(),
        "same seed, same release, whatever the threads"
    );

    let effect_dir = dir.join("effect");
    ok(&[
        "dp-effect",
        path(&released.join("released.parquet")),
        "--mechanism",
        path(&released.join("mechanism.json")),
        "--outcome",
        "spend",
        "--treatment",
        "treated",
        "--cluster",
        "region",
        "--out",
        path(&effect_dir),
    ]);
    let effect = json(&effect_dir.join("effect.json"));
    let (estimate, se) = (effect["effect"]["estimate"].as_f64().unwrap(), effect["effect"]["se"].as_f64().unwrap());
    // One release: the estimate lies within 4 standard errors of the truth (a failure rate of
    // 6e-5 if the standard error is right), and the mechanism costs precision but not all of it.
    assert!((estimate - 1.0).abs() < 4.0 * se, "estimate {estimate} ± {se}, truth 1");
    assert!(se > 0.0 && se < 0.5, "se {se}");

    let e = fails(
        &[
            "privatize",
            path(&data),
            "--outcome",
            "spend",
            "--treatment",
            "treated",
            "--epsilon",
            "0",
            "--lo",
            "0",
            "--hi",
            "6",
        ],
        1,
    );
    assert!(e.contains("ε = 0") && e.contains("units.csv"), "{e}");
    let e = fails(
        &[
            "privatize",
            path(&data),
            "--outcome",
            "spend",
            "--treatment",
            "treated",
            "--keep",
            "spend",
            "--epsilon",
            "1",
            "--lo",
            "0",
            "--hi",
            "6",
        ],
        1,
    );
    assert!(e.contains("'spend' is the outcome"), "{e}");
    let e = fails(
        &[
            "privatize",
            path(&data),
            "--outcome",
            "spend",
            "--treatment",
            "treated",
            "--cluster",
            "spend",
            "--epsilon",
            "1",
            "--lo",
            "0",
            "--hi",
            "6",
        ],
        1,
    );
    assert!(e.contains("both the outcome and the cluster"), "{e}");
    let inputs = json(&released.join("manifest.json"))["inputs"].clone();
    assert!(inputs.as_array().is_none_or(Vec::is_empty), "no checksum of the clear input: {inputs}");
    let e = fails(
        &[
            "dp-effect",
            path(&released.join("released.parquet")),
            "--mechanism",
            path(&data),
            "--outcome",
            "spend",
            "--treatment",
            "treated",
        ],
        1,
    );
    assert!(e.contains("units.csv"), "{e}");
}

#[test]
fn network_demo_design_and_network_effect_end_to_end() {
    let dir = cateye_testkit::temp_dir("cli-network");
    let demo = dir.join("demo");
    let printed = ok(&["network-demo", "--out", path(&demo)]);
    assert!(printed.contains("true global effect 1.500"), "{printed}");
    // The simulator's table: unit randomization misses the spillover (0.5), the cluster design's
    // Hájek estimator does not (within 3 Monte Carlo standard errors).
    let simulation = json(&demo.join("simulation.json"));
    let rows = simulation["rows"].as_array().unwrap();
    let row = |design: &str, estimator: &str| {
        rows.iter()
            .find(|r| r["design"] == design && r["estimator"] == estimator)
            .unwrap_or_else(|| panic!("{design} {estimator}"))
    };
    let (unit, hajek) = (row("unit", "difference_in_means"), row("cluster", "hajek"));
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap();
    assert!((f(unit, "bias") + 0.5).abs() < 4.0 * f(unit, "bias_mc_se") + 0.05, "{unit}");
    assert!(f(hajek, "bias").abs() < 3.0 * f(hajek, "bias_mc_se"), "{hajek}");

    // A design of its own on the demo's edges, the same whatever the threads.
    let edges = demo.join("edges.parquet");
    let design = |out: &Path, threads: &str| {
        ok(&[
            "--threads",
            threads,
            "design",
            "--edges",
            path(&edges),
            "--clustering",
            "reldg",
            "--clusters",
            "40",
            "--randomization",
            "stratified",
            "--seed",
            "5",
            "--out",
            path(out),
        ])
    };
    let printed = design(&dir.join("d1"), "1");
    assert!(printed.contains("Clusters: 40") && printed.contains("Stratified randomization"), "{printed}");
    design(&dir.join("d2"), "2");
    assert_eq!(
        std::fs::read(dir.join("d1/assignment.parquet")).unwrap(),
        std::fs::read(dir.join("d2/assignment.parquet")).unwrap()
    );
    let report = json(&dir.join("d1/design.json"));
    assert_eq!(report["graph"]["nodes"], 2000);
    assert!(report["quality"]["cut_fraction"].as_f64().unwrap() < 0.3, "{}", report["quality"]);

    // The demo's own design and outcomes.
    let effect_dir = dir.join("effect");
    let outcomes = demo.join("outcomes.parquet");
    let design_dir = demo.join("design");
    let printed = ok(&[
        "network-effect",
        path(&outcomes),
        "--edges",
        path(&edges),
        "--design",
        path(&design_dir),
        "--outcome",
        "y",
        "--out",
        path(&effect_dir),
    ]);
    assert!(printed.contains("Hajek"), "{printed}");
    let effect = json(&effect_dir.join("effect.json"));
    assert_eq!(effect["estimates"][0]["estimator"], "hajek");

    // Checking the demo's design before running it: the simulator on the design's own graph.
    let printed = ok(&[
        "simulate-design",
        "--edges",
        path(&edges),
        "--design",
        path(&design_dir),
        "--baseline-mean",
        "10",
        "--noise-sd",
        "0.3",
        "--replications",
        "200",
        "--out",
        path(&dir.join("sim")),
    ]);
    assert!(printed.contains("true effect 1.500"), "{printed}");
    let table = json(&dir.join("sim/simulation.json"));
    assert_eq!(table["rows"].as_array().unwrap().len(), 3, "unit DiM, cluster HT and Hájek");

    // Units without an edge, from a node list: kept, counted, randomized on their own.
    let nodes = dir.join("units.csv");
    let mut list = String::from("unit\n");
    for id in (0..2000).chain([5000, 5001]) {
        list.push_str(&format!("{id}\n"));
    }
    std::fs::write(&nodes, list).unwrap();
    let printed = ok(&["design", "--edges", path(&edges), "--nodes", path(&nodes), "--out", path(&dir.join("d3"))]);
    assert!(printed.contains("2002 nodes") && printed.contains("2 isolated nodes"), "{printed}");
    let e = fails(
        &[
            "network-effect",
            path(&outcomes),
            "--edges",
            path(&edges),
            "--design",
            path(&dir.join("d3")),
            "--outcome",
            "y",
        ],
        1,
    );
    assert!(e.contains("2 units of the graph have no row") && e.contains("'5000'"), "{e}");

    // Bad input: clear messages naming the value.
    let e = fails(&["design", "--edges", path(&edges), "--method", "cascade"], 1);
    assert!(e.contains("--seeds"), "{e}");
    let e = fails(&["design", "--edges", path(&edges), "--method", "cascade", "--seeds", "3,999999"], 1);
    assert!(e.contains("'999999' is not a node"), "{e}");
    let e = fails(&["design", "--edges", path(&edges), "--clustering", "reldg"], 1);
    assert!(e.contains("--clusters"), "{e}");
    let e = fails(&["design", "--edges", path(&edges), "--clusters", "40"], 1);
    assert!(e.contains("--clusters applies to --method cluster --clustering reldg only"), "{e}");
    let e = fails(&["design", "--edges", path(&edges), "--method", "unit", "--randomization", "stratified"], 1);
    assert!(e.contains("a unit design has none"), "{e}");
    let e = fails(&["design", "--edges", path(&edges), "--p", "1.5"], 1);
    assert!(e.contains("1.5"), "{e}");
    let e = fails(
        &["network-effect", path(&edges), "--edges", path(&edges), "--design", path(&design_dir), "--outcome", "y"],
        1,
    );
    assert!(e.contains("edges.parquet"), "{e}");
    let e = fails(
        &[
            "network-effect",
            path(&outcomes),
            "--edges",
            path(&edges),
            "--design",
            path(&design_dir),
            "--outcome",
            "y",
            "--exposure",
            "most",
        ],
        2,
    );
    assert!(e.contains("'most'"), "{e}");
    // A self-loop names the id.
    let looped = dir.join("loop.csv");
    std::fs::write(&looped, "source,target\n1,2\n3,3\n").unwrap();
    let e = fails(&["design", "--edges", path(&looped)], 1);
    assert!(e.contains("loop.csv") && e.contains("'3'") || e.contains("3 is joined"), "{e}");
}

/// A CSV trial of 2,000 units whose effect is 1 where x1 > 0.5, else 0; x1 is empty (missing)
/// on every fifth row, and `y` too on row `missing_outcome` when given.
fn trial_with_missing(dir: &Path, missing_outcome: Option<u64>) -> PathBuf {
    let path = dir.join(format!("missing-{}.csv", missing_outcome.is_some()));
    let mut text = String::from("x1,x2,w,y\n");
    for i in 0..2000u64 {
        let x1 = ((i * 7919) % 1000) as f64 / 1000.0;
        let x2 = ((i * 104_729) % 997) as f64 / 997.0;
        let w = (i / 3) % 2;
        let wobble = ((i * 31) % 17) as f64 / 17.0 - 0.5;
        let y = x2 + w as f64 * f64::from(u8::from(x1 > 0.5)) + wobble;
        let x1 = if i % 5 == 0 { String::new() } else { format!("{x1}") };
        let y = if missing_outcome == Some(i) { String::new() } else { format!("{y:.4}") };
        text.push_str(&format!("{x1},{x2},{w},{y}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn covariates_with_missing_values_are_fitted_and_predicted_an_outcome_missing_is_named() {
    let dir = demo().join("missing");
    std::fs::create_dir_all(&dir).unwrap();
    let table = trial_with_missing(&dir, None);
    let model = dir.join("forest.model");
    let (forest_out, cate_out, broken_out) = (dir.join("forest"), dir.join("cate"), dir.join("broken"));
    let common = ["--outcome", "y", "--treatment", "w", "--covariates", "x1,x2", "--trees", "200"];
    let mut args = vec!["forest", path(&table)];
    args.extend(common);
    args.extend(["--save-model", path(&model), "--out", path(&forest_out)]);
    let printed = ok(&args);
    assert!(!printed.contains("warning"), "{printed}");
    let summary = json(&dir.join("forest/forest.json"));
    let terms: Vec<&str> =
        summary["best_linear_projection"].as_array().unwrap().iter().map(|c| c["term"].as_str().unwrap()).collect();
    assert_eq!(terms, ["(intercept)", "x1", "x1 (missing)", "x2"]);
    let predicted = ok(&["predict", path(&model), path(&table), "--out", path(&dir.join("predict"))]);
    assert!(predicted.contains("Predicted 2000 rows"), "{predicted}");
    let mut args = vec!["cate", path(&table)];
    args.extend(common);
    args.extend(["--method", "dr", "--base", "boost", "--out", path(&cate_out)]);
    ok(&args);

    let broken = trial_with_missing(&dir, Some(41));
    let mut args = vec!["forest", path(&broken)];
    args.extend(common);
    args.extend(["--out", path(&broken_out)]);
    let e = fails(&args, 1);
    assert!(e.contains("missing-true.csv") && e.contains("'y'") && e.contains("row 42"), "{e}");
}
