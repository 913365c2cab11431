//! The arguments of `cateye bench` and the dispatch to each benchmark.

use crate::{io_error, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Which benchmark to run.
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
    /// The paradigm's shape: `cateye scan --deep-dive none` end to end on --experiments
    /// (default 40) experiments of --rows units (default 1,000 each), --metrics (default 100)
    /// and --dimensions (default 100) of --levels levels, with 36 planted triples.
    Wide,
    /// The HTML report of a sweep: --experiments (default 100) x --metrics (default 10) x
    /// --dimensions (default 10) with --rows units each (default 2,000), heterogeneity planted
    /// in every third pair; render time (best and median of --repeat) and size.
    Report,
}

/// The arguments of `cateye bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// The benchmark.
    #[arg(value_enum, default_value = "scan")]
    pub(crate) which: Which,
    /// Rows to generate [default: scan 2,000,000; memory 10,000,000; forest 20,000; cate
    /// 100,000; cate-select 20,000; deep-dive and deep-dive-scan 100,000 per experiment; wide
    /// 1,000 per experiment].
    #[arg(long)]
    pub(crate) rows: Option<usize>,
    /// Metrics, each with a pre-period column [default: scan 10; memory 5; deep-dive-scan 10;
    /// wide 100].
    #[arg(long)]
    pub(crate) metrics: Option<usize>,
    /// Categorical dimensions [default: scan 10; memory 5; deep-dive and deep-dive-scan 20;
    /// wide 100].
    #[arg(long)]
    pub(crate) dimensions: Option<usize>,
    /// Levels per dimension [default: 8; wide 10].
    #[arg(long)]
    pub(crate) levels: Option<usize>,
    /// Experiments the rows are spread over [default: 20; deep-dive-scan: 100 of --rows each;
    /// wide 40 of --rows each].
    #[arg(long)]
    pub(crate) experiments: Option<usize>,
    /// Repetitions of the timed aggregation (best and median are reported).
    #[arg(long, default_value_t = 10)]
    pub(crate) repeat: usize,
    /// Folder for the generated file [default: a temporary folder, removed afterwards].
    #[arg(long)]
    pub(crate) dir: Option<PathBuf>,
    /// Forest benchmarks: covariates.
    #[arg(long, default_value_t = 10)]
    pub(crate) covariates: usize,
    /// Forest benchmarks: trees of the causal forest [default: 2000; cate: 500 per forest].
    #[arg(long)]
    pub(crate) trees: Option<usize>,
    /// wide: per-dimension and per-level tables, csv (in memory) or parquet (streamed by
    /// experiment) [default: parquet].
    #[arg(long)]
    pub(crate) tables: Option<cateye::scan::Tables>,
    /// wide: multiple-testing correction [default: bh].
    #[arg(long)]
    pub(crate) correction: Option<cateye::scan::Correction>,
    /// wide: interleave the experiments' rows (round robin) instead of grouping them, the case
    /// the scan reads in two passes.
    #[arg(long)]
    pub(crate) interleaved: bool,
    /// cate, cate-select: also write the generated data as CSV here, for the EconML comparison
    /// [default: none].
    #[arg(long)]
    pub(crate) write_csv: Option<PathBuf>,
}

/// Levels per dimension of every benchmark but `wide`.
pub(crate) fn levels(args: &BenchArgs) -> usize {
    args.levels.unwrap_or(8)
}

pub(crate) fn causal_trees(args: &BenchArgs) -> usize {
    args.trees.unwrap_or(2000)
}

/// Runs the benchmark `args` names.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    match args.which {
        Which::Forest => {
            return crate::forest::forest(args.rows.unwrap_or(20_000), args.covariates, causal_trees(args))
        }
        Which::ForestScaling => {
            let rows = args.rows.map_or(vec![10_000, 100_000, 1_000_000], |r| vec![r]);
            return crate::forest::scaling(&rows, args.covariates, causal_trees(args));
        }
        Which::Cate | Which::CateSelect => {
            let select = matches!(args.which, Which::CateSelect);
            let rows = args.rows.unwrap_or(if select { 20_000 } else { 100_000 });
            let options = crate::cate::Options {
                rows,
                covariates: args.covariates,
                trees: args.trees.unwrap_or(500),
                select,
                write_csv: args.write_csv.clone(),
            };
            return crate::cate::run(&options);
        }
        Which::DeepDive | Which::DeepDiveScan => return deep_dive(args),
        Which::Wide => return wide(args),
        Which::Report => {
            let sweep = crate::report::Sweep {
                experiments: args.experiments.unwrap_or(100),
                units: args.rows.unwrap_or(2000),
                metrics: args.metrics.unwrap_or(10),
                dims: args.dimensions.unwrap_or(10),
                levels: levels(args),
            };
            return in_work_dir(args, "report", |dir| crate::report::run(dir, sweep, args.repeat));
        }
        Which::Scan | Which::Memory => {}
    }
    crate::scan::run(args)
}

/// Runs `bench` in `--dir`, or in a temporary folder removed afterwards (named with `tag`).
fn in_work_dir(args: &BenchArgs, tag: &str, bench: impl FnOnce(&std::path::Path) -> Result<()>) -> Result<()> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("cateye-bench-{tag}-{}", std::process::id())));
    std::fs::create_dir_all(&dir).map_err(io_error(dir.display()))?;
    let outcome = bench(&dir);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

fn wide(args: &BenchArgs) -> Result<()> {
    in_work_dir(args, "wide", |dir| {
        let shape = crate::wide::Shape {
            experiments: args.experiments.unwrap_or(40),
            units: args.rows.unwrap_or(1000),
            metrics: args.metrics.unwrap_or(100),
            dims: args.dimensions.unwrap_or(100),
            levels: args.levels.unwrap_or(10),
        };
        let how = crate::wide::Run {
            tables: args.tables.unwrap_or(cateye::scan::Tables::Parquet),
            correction: args.correction.unwrap_or_default(),
            interleaved: args.interleaved,
        };
        crate::wide::run(dir, shape, how)
    })
}

fn deep_dive(args: &BenchArgs) -> Result<()> {
    let (units, dims) = (args.rows.unwrap_or(100_000), args.dimensions.unwrap_or(20));
    in_work_dir(args, "dd", |dir| match args.which {
        Which::DeepDive => crate::deep_dive::pair(dir, units, dims, levels(args), causal_trees(args)),
        _ => crate::deep_dive::scan(
            dir,
            args.experiments.unwrap_or(100),
            units,
            args.metrics.unwrap_or(10),
            dims,
            levels(args),
            causal_trees(args),
            20,
        ),
    })
}
