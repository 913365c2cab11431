//! The `cateye` command line: argument parsing, progress and output on top of the library.
//! No statistics live here.

mod bench;
mod bench_cate;
mod bench_deep_dive;
mod bench_forest;

use cateye_scan::deep_dive::{DeepDiveEvent, Selection};
use cateye_scan::report::{summary, write_outputs};
use cateye_scan::{ScanConfig, ScanError};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(name = "cateye", version, about = "Find who an online experiment helps and who it hurts")]
struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the built-in demo experiments, scan them and print the findings.
    Demo {
        /// Folder for the demo data and results.
        #[arg(long, default_value = "cateye-demo")]
        out: PathBuf,
        #[arg(long, default_value_t = 3)]
        seed: u64,
    },
    /// Scan every experiment × metric × dimension of a unit-level table.
    Scan(Box<ScanArgs>),
    /// Fit an honest causal forest to one experiment's unit-level rows: per-unit CATE with 95%
    /// intervals, AIPW average effects, calibration test, RATE and variable importance.
    Forest(Box<ForestArgs>),
    /// CATE learners (S, T, X, R, DR, causal forest) with cross-fitting on one experiment's
    /// unit-level rows, every arm against control: per-unit CATE, AIPW effect, optional causal
    /// isotonic calibration and a held-out model-selection table.
    Cate(Box<CateArgs>),
    /// Benchmarks: aggregation throughput, load rate, peak memory, causal forest, CATE learners.
    Bench(bench::BenchArgs),
}

#[derive(Args)]
struct CateArgs {
    /// Parquet, CSV or Arrow IPC file, one row per unit.
    file: PathBuf,
    /// Outcome column.
    #[arg(long)]
    outcome: String,
    /// Treatment column: 0/1, boolean, or numeric arm codes (the smallest is control unless --control).
    #[arg(long)]
    treatment: String,
    /// The learner whose estimates are written: forest (grf's causal forest), s, t, x, r or dr.
    #[arg(long, default_value = "dr")]
    method: cateye_learners::Learner,
    /// Base learners, comma separated (forest, linear, boost); the first also fits the
    /// nuisances that score the selection table. Default: forest (with --select: forest,linear,boost).
    #[arg(long, value_delimiter = ',')]
    base: Option<Vec<cateye_learners::BaseKind>>,
    /// Calibrate the estimates (causal isotonic cross-calibration).
    #[arg(long)]
    calibrate: bool,
    /// Run every learner with every base learner (and the causal forest), rank them by held-out
    /// loss and write the best one's estimates.
    #[arg(long)]
    select: bool,
    /// Loss that ranks the selection table: r (R-loss) or dr (doubly robust pseudo-outcome loss).
    #[arg(long, default_value = "r")]
    loss: cateye_learners::select::SelectionLoss,
    /// Covariate columns, comma separated (default: every other numeric column).
    #[arg(long, value_delimiter = ',')]
    covariates: Option<Vec<String>>,
    /// Propensity: "design" (each arm's share, for randomised experiments), "estimate"
    /// (cross-fitted classifier, clipped), a known probability (e.g. 0.5) or a column.
    #[arg(long, default_value = "design")]
    propensity: String,
    /// Estimated propensities are clipped to [clip, 1 - clip].
    #[arg(long, default_value_t = 0.05)]
    clip: f64,
    /// The control value of the treatment column (default: its smallest value).
    #[arg(long)]
    control: Option<f64>,
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Trees of every forest.
    #[arg(long, default_value_t = 500)]
    trees: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output folder: cate.parquet (or .csv with --format csv) and cate.json.
    #[arg(long, default_value = "cateye-cate-out")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = UnitFormat::Parquet)]
    format: UnitFormat,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct ForestArgs {
    /// Parquet, CSV or Arrow IPC file, one row per unit.
    file: PathBuf,
    /// Outcome column.
    #[arg(long)]
    outcome: String,
    /// Treatment column (0/1 or boolean).
    #[arg(long)]
    treatment: String,
    /// Covariate columns, comma separated (default: every other numeric column).
    #[arg(long, value_delimiter = ',')]
    covariates: Option<Vec<String>>,
    /// Known assignment probability (a number, e.g. 0.5) or a column of per-unit propensities
    /// (default: estimated by a regression forest).
    #[arg(long)]
    propensity: Option<String>,
    /// Sample-weight column.
    #[arg(long)]
    weights: Option<String>,
    /// Sampling-cluster column: trees sample whole clusters, SEs become cluster-robust.
    #[arg(long)]
    cluster: Option<String>,
    #[arg(long, default_value_t = 2000)]
    trees: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Minimum node size (treated and control per child).
    #[arg(long, default_value_t = 5)]
    min_node_size: usize,
    /// Quantile bins per covariate for the split search.
    #[arg(long, default_value_t = cateye_forest::DEFAULT_MAX_BINS)]
    max_bins: usize,
    /// Folder for the outputs.
    #[arg(long, default_value = "cateye-forest-out")]
    out: PathBuf,
    /// Per-unit output format.
    #[arg(long, value_enum, default_value = "parquet")]
    format: UnitFormat,
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum UnitFormat {
    Parquet,
    Csv,
}

#[derive(Args)]
struct ScanArgs {
    /// Parquet, CSV or Arrow IPC file, one row per (experiment, unit).
    file: PathBuf,
    /// TOML config with column roles and settings (flags override it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Folder for scan.json and the CSV tables.
    #[arg(long, default_value = "cateye-out")]
    out: PathBuf,
    #[arg(long)]
    experiment: Option<String>,
    #[arg(long)]
    variant: Option<String>,
    /// Label of the control arm.
    #[arg(long)]
    control: Option<String>,
    /// Metric columns, comma separated (default: float columns without another role).
    #[arg(long, value_delimiter = ',')]
    metrics: Option<Vec<String>>,
    /// Dimension columns, comma separated (default: string/boolean/integer columns).
    #[arg(long, value_delimiter = ',')]
    dimensions: Option<Vec<String>>,
    /// Randomization cluster column: ATE standard errors become cluster-robust (CR1).
    #[arg(long)]
    cluster: Option<String>,
    /// Columns to ignore, comma separated.
    #[arg(long, value_delimiter = ',')]
    ignore: Option<Vec<String>>,
    /// Prefix of pre-period (CUPED) columns.
    #[arg(long)]
    pre_prefix: Option<String>,
    /// Quantile bins of float dimensions.
    #[arg(long)]
    bins: Option<usize>,
    /// Most levels a categorical dimension may have (default 1000).
    #[arg(long)]
    max_levels: Option<usize>,
    /// Levels with fewer units per arm are pooled into 'other'.
    #[arg(long)]
    min_units: Option<usize>,
    #[arg(long)]
    alpha: Option<f64>,
    /// bh (default), by, holm or bonferroni.
    #[arg(long)]
    correction: Option<cateye_stats::Correction>,
    #[arg(long)]
    srm_alpha: Option<f64>,
    /// Planned split, e.g. control=0.5,treatment=0.5 (default: equal).
    #[arg(long, value_delimiter = ',')]
    split: Option<Vec<String>>,
    /// FILE is a table of sufficient statistics (from a warehouse, Spark or --export-stats)
    /// instead of unit-level rows.
    #[arg(long)]
    stats: bool,
    /// Also write the sufficient statistics to this file (.parquet or .csv).
    #[arg(long)]
    export_stats: Option<PathBuf>,
    /// Deep dive (causal forest, tests, subgroups) of flagged pairs: all, none or the N with
    /// the strongest evidence (default 20).
    #[arg(long, value_name = "all|none|N")]
    deep_dive: Option<cateye_scan::deep_dive::Selection>,
    /// Pairs to deep-dive whether flagged or not: experiment:metric[:arm], comma separated.
    #[arg(long, value_delimiter = ',')]
    deep_dive_pair: Option<Vec<String>>,
    /// Numeric columns added as deep-dive forest covariates, comma separated.
    #[arg(long, value_delimiter = ',')]
    deep_dive_covariates: Option<Vec<String>>,
    /// Trees of the deep-dive forests (default 2000).
    #[arg(long)]
    deep_dive_trees: Option<usize>,
    /// Permutations of the deep dive's randomization test (default 1000).
    #[arg(long)]
    deep_dive_permutations: Option<usize>,
    /// Seed of the deep dive (forests, permutations, subgroup halves).
    #[arg(long)]
    deep_dive_seed: Option<u64>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Print elapsed time and peak memory at the end.
    #[arg(long)]
    timings: bool,
}

impl ScanArgs {
    fn config(&self) -> Result<ScanConfig, ScanError> {
        let mut c = match &self.config {
            Some(p) => ScanConfig::from_toml_file(p)?,
            None => ScanConfig::default(),
        };
        macro_rules! set {
            ($($f:ident => $g:ident),*) => { $( if let Some(v) = &self.$f { c.$g = v.clone(); } )* };
        }
        set!(experiment => experiment, variant => variant, control => control, pre_prefix => pre_prefix,
             bins => bins, max_levels => max_levels, min_units => min_units_per_arm, alpha => alpha, correction => correction,
             srm_alpha => srm_alpha, ignore => ignore);
        if self.cluster.is_some() {
            c.cluster = self.cluster.clone();
        }
        if self.metrics.is_some() {
            c.metrics = self.metrics.clone();
        }
        if self.dimensions.is_some() {
            c.dimensions = self.dimensions.clone();
        }
        let dd = &mut c.deep_dive;
        if let Some(v) = self.deep_dive {
            dd.pairs = v;
        }
        if let Some(v) = &self.deep_dive_pair {
            dd.requested = v.clone();
        }
        if let Some(v) = &self.deep_dive_covariates {
            dd.covariates = v.clone();
        }
        if let Some(v) = self.deep_dive_trees {
            dd.trees = v;
        }
        if let Some(v) = self.deep_dive_permutations {
            dd.permutations = v;
        }
        if let Some(v) = self.deep_dive_seed {
            dd.seed = v;
        }
        if let Some(split) = &self.split {
            c.split.clear();
            for kv in split {
                let (k, v) = kv.split_once('=').ok_or_else(|| bad_flag("--split", kv, "arm=weight"))?;
                let w: f64 = v.parse().map_err(|_| bad_flag("--split", kv, "arm=weight with a number"))?;
                c.split.insert(k.to_string(), w);
            }
        }
        c.validate(Path::new("command line"))?;
        Ok(c)
    }
}

fn bad_flag(flag: &str, value: &str, expected: &str) -> ScanError {
    ScanError::Config { file: "command line".into(), message: format!("{flag} {value}: expected {expected}") }
}

/// Peak resident memory of this process in bytes (Linux), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let pb = ProgressBar::new(0);
    if quiet || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {human_pos}/{human_len} rows ({per_sec})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message("scanning");
    pb
}

/// What `run_scan` reads and writes besides the results.
#[derive(Default)]
struct ScanIo<'a> {
    stats_input: bool,
    export_stats: Option<&'a Path>,
    quiet: bool,
    timings: bool,
}

fn run_scan(file: &Path, config: &ScanConfig, out: &Path, io: ScanIo) -> Result<(), ScanError> {
    let (quiet, timings) = (io.quiet, io.timings);
    let start = Instant::now();
    let pb = progress_bar(quiet);
    let progress = |rows: u64, total: Option<u64>| {
        if let Some(t) = total {
            pb.set_length(t);
        }
        pb.set_position(rows);
    };
    let (stats, mut result) = if io.stats_input {
        cateye_scan::scan_stats_file(file, config)?
    } else {
        cateye_scan::scan_file(file, config, &progress)?
    };
    pb.finish_and_clear();
    if io.stats_input {
        if config.deep_dive.pairs != Selection::None || !config.deep_dive.requested.is_empty() {
            result.input.warnings.push("no deep dive: it needs the unit-level rows, not sufficient statistics".into());
        }
    } else {
        let report = cateye_scan::deep_dive::run_deep_dive(file, config, &stats, &result, &|event| {
            if !quiet {
                deep_dive_progress(event)
            }
        })?;
        result.deep_dive = Some(report);
    }
    if let Some(path) = io.export_stats {
        cateye_scan::stats_table::write_stats_table(&stats, path)?;
    }
    let files = write_outputs(&result, out)?;
    if !quiet {
        print!("{}", summary(&result));
        println!("\nResults: {}", files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    if timings {
        println!(
            "timings: {:.3} s, peak RSS {} MB",
            start.elapsed().as_secs_f64(),
            peak_rss_bytes().map_or("n/a".into(), |b| format!("{:.1}", b as f64 / 1e6))
        );
    }
    Ok(())
}

/// One line per deep-dived pair on stderr.
fn deep_dive_progress(event: DeepDiveEvent) {
    match event {
        DeepDiveEvent::Loading { experiments } => {
            eprintln!("deep dive: reading the rows of {experiments} experiments")
        }
        DeepDiveEvent::Started { index, total, pair } => {
            eprint!("deep dive {}/{total}: {} / {} / {} ... ", index + 1, pair.experiment, pair.metric, pair.arm)
        }
        DeepDiveEvent::Finished { seconds, ok, .. } => {
            eprintln!("{} in {seconds:.1} s", if ok { "done" } else { "failed" })
        }
    }
}

fn main() {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
            eprintln!("error: --threads {n}: {e}");
            std::process::exit(2);
        }
    }
    let outcome = match cli.command {
        Command::Demo { out, seed } => demo(&out, seed),
        Command::Scan(args) => args.config().and_then(|c| {
            let io = ScanIo {
                stats_input: args.stats,
                export_stats: args.export_stats.as_deref(),
                quiet: args.quiet,
                timings: args.timings,
            };
            run_scan(&args.file, &c, &args.out, io)
        }),
        Command::Forest(args) => forest(&args),
        Command::Cate(args) => cate(&args),
        Command::Bench(args) => bench::run(&args),
    };
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn forest(args: &ForestArgs) -> Result<(), ScanError> {
    use cateye_scan::forest_job::{run_forest_job, ForestJob, PropensitySpec};
    let extension = match args.format {
        UnitFormat::Parquet => "parquet",
        UnitFormat::Csv => "csv",
    };
    let job = ForestJob {
        file: args.file.clone(),
        outcome: args.outcome.clone(),
        treatment: args.treatment.clone(),
        covariates: args.covariates.clone(),
        propensity: args.propensity.as_deref().map_or(PropensitySpec::Estimate, PropensitySpec::parse),
        weights: args.weights.clone(),
        cluster: args.cluster.clone(),
        options: cateye_forest::ForestOptions {
            num_trees: args.trees,
            seed: args.seed,
            min_node_size: args.min_node_size,
            ..cateye_forest::ForestOptions::default()
        },
        max_bins: args.max_bins,
        output: args.out.join(format!("cate.{extension}")),
        summary: args.out.join("forest.json"),
    };
    let s = run_forest_job(&job)?;
    if !args.quiet {
        print!("{}", cateye_scan::report::forest_summary(&s));
    }
    Ok(())
}

fn cate(args: &CateArgs) -> Result<(), ScanError> {
    use cateye_learners::{BaseKind, CateConfig};
    use cateye_scan::cate_job::{cate_summary_text, run_cate_job, CateJob};
    use cateye_scan::forest_job::PropensitySpec;
    let extension = match args.format {
        UnitFormat::Parquet => "parquet",
        UnitFormat::Csv => "csv",
    };
    let propensity = match args.propensity.as_str() {
        "design" => None,
        "estimate" => Some(PropensitySpec::Estimate),
        other => Some(PropensitySpec::parse(other)),
    };
    let default_bases = if args.select { BaseKind::ALL.to_vec() } else { vec![BaseKind::Forest] };
    let job = CateJob {
        file: args.file.clone(),
        outcome: args.outcome.clone(),
        treatment: args.treatment.clone(),
        covariates: args.covariates.clone(),
        propensity,
        config: CateConfig {
            method: args.method,
            bases: args.base.clone().unwrap_or(default_bases),
            calibrate: args.calibrate,
            select: args.select,
            loss: args.loss,
            folds: args.folds,
            trees: args.trees,
            clip: args.clip,
            seed: args.seed,
            control: args.control,
            ..CateConfig::default()
        },
        output: args.out.join(format!("cate.{extension}")),
        summary: args.out.join("cate.json"),
    };
    let s = run_cate_job(&job)?;
    if !args.quiet {
        print!("{}", cate_summary_text(&s));
        println!("\nWrote {}", s.outputs.join(" and "));
    }
    Ok(())
}

fn demo(out: &Path, seed: u64) -> Result<(), ScanError> {
    std::fs::create_dir_all(out).map_err(|e| ScanError::Io { file: out.into(), message: e.to_string() })?;
    let data = out.join("demo.parquet");
    let spec = cateye_scan::demo::demo_spec(seed);
    spec.write_parquet(&data).map_err(|e| ScanError::Io { file: data.clone(), message: e.to_string() })?;
    println!("Demo data: {} experiments written to {}\n", spec.experiments.len(), data.display());
    run_scan(
        &data,
        &cateye_scan::demo::demo_config(),
        &out.join("results"),
        ScanIo { timings: true, ..ScanIo::default() },
    )?;
    println!("\nPlanted in the demo data (effect shifts in units of the metric's noise scale; every other effect is constant):");
    for line in spec.truth() {
        println!("  {line}");
    }
    Ok(())
}
