//! `cateye bench`: throughput of the aggregation, Parquet load rate and peak memory of a scan,
//! on generated data. Figures go to stdout.

use cateye_scan::collect::{aggregate_encoded, encode_all};
use cateye_scan::data::Source;
use cateye_scan::demo::synthetic_spec;
use cateye_scan::{ScanConfig, ScanError};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Which {
    /// Load rate and aggregation throughput (updates per second), and end-to-end scan time.
    Scan,
    /// Peak resident memory of a scan of a large file, measured in a child process.
    Memory,
    /// Causal forest end to end (nuisance forests, forest, OOB estimates with variance) on
    /// Nie & Wager setup A: time, peak memory, accuracy against the true effects.
    Forest,
    /// `forest` at 10k, 100k and 1M rows (or --rows), each in a child process.
    ForestScaling,
    /// The deep dive of one pair: --rows units (default 100,000), --dimensions (default 20)
    /// categorical dimensions of --levels levels, a CUPED covariate, --trees trees.
    DeepDive,
    /// `cateye scan` with `--deep-dive 20` on --experiments (default 100) experiments of --rows
    /// units (default 100,000), --metrics (default 10) and --dimensions (default 20).
    DeepDiveScan,
    /// The DR-learner, 5-fold cross-fitting, forest base learners (--trees, default 500), on
    /// Nie & Wager setup A with --rows (default 100,000) and --covariates (default 10).
    Cate,
    /// The selection table (5 learners × forest and boost bases, plus the causal forest, each
    /// also calibrated) on setup A with --rows (default 20,000).
    CateSelect,
}

#[derive(Args)]
pub struct BenchArgs {
    #[arg(value_enum, default_value = "scan")]
    which: Which,
    /// Rows to generate (default: 2,000,000 for scan, 10,000,000 for memory).
    #[arg(long)]
    rows: Option<usize>,
    /// Metrics (each with a pre-period column).
    #[arg(long)]
    metrics: Option<usize>,
    /// Categorical dimensions.
    #[arg(long)]
    dimensions: Option<usize>,
    /// Levels per dimension.
    #[arg(long, default_value_t = 8)]
    levels: usize,
    /// Experiments the rows are spread over (default 20; deep-dive-scan: 100 of --rows each).
    #[arg(long)]
    experiments: Option<usize>,
    /// Repetitions of the timed aggregation (best and median are reported).
    #[arg(long, default_value_t = 10)]
    repeat: usize,
    /// Folder for the generated file (default: a temporary folder, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Forest benchmarks: covariates.
    #[arg(long, default_value_t = 10)]
    covariates: usize,
    /// Forest benchmarks: trees of the causal forest (default 2,000; cate: 500 per forest).
    #[arg(long)]
    trees: Option<usize>,
    /// cate, cate-select: also write the generated data as CSV here (for the EconML comparison).
    #[arg(long)]
    write_csv: Option<PathBuf>,
}

pub(crate) fn io(path: &Path, e: impl std::fmt::Display) -> ScanError {
    ScanError::Io { file: path.into(), message: e.to_string() }
}

fn causal_trees(args: &BenchArgs) -> usize {
    args.trees.unwrap_or(2000)
}

pub fn run(args: &BenchArgs) -> Result<(), ScanError> {
    match args.which {
        Which::Forest => {
            return crate::bench_forest::forest(args.rows.unwrap_or(20_000), args.covariates, causal_trees(args))
        }
        Which::ForestScaling => {
            let rows = args.rows.map_or(vec![10_000, 100_000, 1_000_000], |r| vec![r]);
            return crate::bench_forest::scaling(&rows, args.covariates, causal_trees(args));
        }
        Which::Cate | Which::CateSelect => {
            let select = matches!(args.which, Which::CateSelect);
            let rows = args.rows.unwrap_or(if select { 20_000 } else { 100_000 });
            let options = crate::bench_cate::Options {
                rows,
                covariates: args.covariates,
                trees: args.trees.unwrap_or(500),
                select,
                write_csv: args.write_csv.clone(),
            };
            return crate::bench_cate::run(&options);
        }
        Which::DeepDive | Which::DeepDiveScan => return deep_dive(args),
        Which::Scan | Which::Memory => {}
    }
    let (rows, metrics, dims) = match args.which {
        Which::Scan => (args.rows.unwrap_or(2_000_000), args.metrics.unwrap_or(10), args.dimensions.unwrap_or(10)),
        _ => (args.rows.unwrap_or(10_000_000), args.metrics.unwrap_or(5), args.dimensions.unwrap_or(5)),
    };
    let dir =
        args.dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("cateye-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let file = dir.join(format!("bench_{rows}x{metrics}x{dims}.parquet"));
    let spec = synthetic_spec(
        args.experiments.unwrap_or(20),
        rows.div_ceil(args.experiments.unwrap_or(20)),
        metrics,
        dims,
        args.levels,
        1,
    );
    let t = Instant::now();
    spec.write_parquet(&file).map_err(|e| io(&file, e))?;
    let size = std::fs::metadata(&file).map_err(|e| io(&file, e))?.len();
    println!(
        "generated {} rows x {metrics} metrics (+ pre-period) x {dims} dimensions ({} levels) in {:.1} s: {} ({:.0} MB)",
        spec.experiments.iter().map(|e| e.units).sum::<usize>(),
        args.levels,
        t.elapsed().as_secs_f64(),
        file.display(),
        size as f64 / 1e6
    );
    let threads = rayon::current_num_threads();
    let config = ScanConfig {
        metrics: Some((0..metrics).map(|m| format!("m{m}")).collect()),
        dimensions: Some((0..dims).map(|d| format!("d{d}")).collect()),
        ..ScanConfig::default()
    };
    let outcome = match args.which {
        Which::Scan => bench_scan(&file, &config, args.repeat, threads),
        _ => bench_memory(&file, metrics, dims),
    };
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

fn deep_dive(args: &BenchArgs) -> Result<(), ScanError> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("cateye-bench-dd-{}", std::process::id())));
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let (units, dims) = (args.rows.unwrap_or(100_000), args.dimensions.unwrap_or(20));
    let outcome = match args.which {
        Which::DeepDive => crate::bench_deep_dive::pair(&dir, units, dims, args.levels, causal_trees(args)),
        _ => crate::bench_deep_dive::scan(
            &dir,
            args.experiments.unwrap_or(100),
            units,
            args.metrics.unwrap_or(10),
            dims,
            args.levels,
            causal_trees(args),
            20,
        ),
    };
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

fn bench_scan(file: &Path, config: &ScanConfig, repeat: usize, threads: usize) -> Result<(), ScanError> {
    let source = Source::open(file)?;
    let t = Instant::now();
    let table = encode_all(&source, config)?;
    let load = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(file).map_err(|e| io(file, e))?.len() as f64;
    println!(
        "load (Parquet decode + encode, 1 thread): {:.2} s = {:.2} M rows/s, {:.0} MB/s",
        load,
        table.rows as f64 / load / 1e6,
        size / load / 1e6
    );
    let l = &table.encoder.layout;
    let updates = table.rows as f64 * l.metrics.len() as f64 * l.dimensions.len() as f64;
    let mut times: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(aggregate_encoded(&table));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "aggregation after loading ({threads} threads, {} runs): best {best:.3} s, median {median:.3} s for {updates:.2e} \
         unit x metric x dimension updates = {:.2} billion updates/s (median {:.2})",
        times.len(),
        updates / best / 1e9,
        updates / median / 1e9
    );
    let t = Instant::now();
    let (_, result) = cateye_scan::scan_file(file, config, &|_, _| {})?;
    println!(
        "end-to-end scan (read, bin, encode, aggregate, test, correct): {:.2} s, {} dimension tests, peak RSS {}",
        t.elapsed().as_secs_f64(),
        result.dimensions.len(),
        crate::peak_rss_bytes().map_or("n/a".into(), |b| format!("{:.0} MB", b as f64 / 1e6))
    );
    Ok(())
}

fn bench_memory(file: &Path, metrics: usize, dims: usize) -> Result<(), ScanError> {
    let exe = std::env::current_exe().map_err(|e| io(file, e))?;
    let out = file.with_extension("results");
    let metric_list = (0..metrics).map(|m| format!("m{m}")).collect::<Vec<_>>().join(",");
    let dim_list = (0..dims).map(|d| format!("d{d}")).collect::<Vec<_>>().join(",");
    let child = std::process::Command::new(exe)
        .arg("scan")
        .arg(file)
        .args(["--metrics", &metric_list, "--dimensions", &dim_list, "--quiet", "--timings", "--out"])
        .arg(&out)
        .output()
        .map_err(|e| io(file, e))?;
    let text = String::from_utf8_lossy(&child.stdout);
    if !child.status.success() {
        return Err(io(file, format!("scan failed: {}", String::from_utf8_lossy(&child.stderr))));
    }
    println!("scan of {} in a child process: {}", file.display(), text.trim());
    Ok(())
}
