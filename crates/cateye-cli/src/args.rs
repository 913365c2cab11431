//! The command line's arguments (clap) and their translation into the library's settings.

use cateye::cate::{BaseKind, CateConfig, CateSpec, Learner, SelectionLoss};
use cateye::forest::{ForestOptions, ForestSpec, DEFAULT_MAX_BINS};
use cateye::scan::{Correction, CovariateColumns, Dialect, Selection, StatsQuery, Tables};
use cateye::{Config, Error, Result};

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The command line: global options and a subcommand.
#[derive(Parser)]
#[command(name = "cateye", version, about = "Find who an online experiment helps and who it hurts")]
pub struct Cli {
    /// Worker threads; more than the machine's cores are capped to them [default: all cores].
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Generate the built-in demo experiments, scan them and print the findings.
    Demo {
        /// Folder for the demo data and results.
        #[arg(long, default_value = "cateye-demo")]
        out: PathBuf,
        /// Seed of the simulated data.
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
    /// Predict the CATE of new rows with a model saved by `forest --save-model` or
    /// `cate --save-model`.
    Predict(Box<PredictArgs>),
    /// Render saved results (a scan's scan.json, a forest's forest.json or a CATE fit's
    /// cate.json) as one self-contained HTML report.
    Report {
        /// The results file.
        results: PathBuf,
        /// The HTML file to write.
        #[arg(short, long, default_value = "report.html")]
        out: PathBuf,
    },
    /// Print the SQL (Spark or ANSI) that turns a unit-level table in a warehouse into the
    /// statistics table `scan --stats` reads: one query, a GROUP BY over the table.
    StatsSql(Box<StatsSqlArgs>),
    /// Generate a social graph with spillovers, design an experiment on it, estimate its effect
    /// and compare unit with cluster randomization by simulation, with the truth known.
    NetworkDemo {
        /// Folder for the demo's graph, design, outcomes and results.
        #[arg(long, default_value = "cateye-network-demo")]
        out: PathBuf,
        /// Seed of the graph, the design and the outcomes.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Design an experiment on a network: cluster the graph (or grow cascade territories from
    /// known seeds) and draw a seeded assignment of whole clusters.
    Design(Box<crate::network_args::DesignArgs>),
    /// Estimate the global average treatment effect of an experiment on a network from the
    /// design, the graph and the outcomes (Horvitz–Thompson and Hájek under an exposure
    /// condition).
    NetworkEffect(Box<crate::network_args::NetworkEffectArgs>),
    /// Check a design before it runs: simulate outcomes with spillovers on the design's graph,
    /// re-draw the design and unit randomization many times, and report bias, RMSE, coverage
    /// and power of each estimator.
    SimulateDesign(Box<crate::network_args::SimulateDesignArgs>),
    /// Release a table's outcomes under label differential privacy (Cluster-DP): each unit's
    /// outcome is kept or redrawn from its cluster's noisy distribution, spending a budget ε.
    Privatize(Box<crate::privacy_args::PrivatizeArgs>),
    /// Estimate the average treatment effect from outcomes released by `privatize`: the
    /// mechanism is inverted, with its variance in the standard error.
    DpEffect(Box<crate::privacy_args::DpEffectArgs>),
    /// Benchmarks: aggregation throughput, load rate, peak memory, causal forest, CATE learners.
    Bench(cateye_bench::BenchArgs),
}

/// Arguments of `cateye stats-sql`. Column roles come from the flags or the config file's keys
/// (`experiment`, `variant`, `metrics`, `dimensions`, `pre_prefix`); its other keys concern the
/// scan of the table, not the query.
#[derive(Args)]
pub struct StatsSqlArgs {
    /// The unit-level table, one row per (experiment, unit), as the query names it: inserted as
    /// written, so a name (events, db.events) or a table expression of the dialect (DuckDB:
    /// "read_parquet('rows.parquet')").
    pub table: String,
    /// SQL dialect: spark (Spark SQL: backtick identifiers) or ansi (double-quoted identifiers;
    /// runs in DuckDB).
    #[arg(long, default_value = "ansi", value_name = "spark|ansi")]
    pub dialect: Dialect,
    /// TOML config with column roles (the scan's config file); the flags given override it
    /// [default: none].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Experiment id column [default: experiment].
    #[arg(long)]
    pub experiment: Option<String>,
    /// Arm label column [default: variant].
    #[arg(long)]
    pub variant: Option<String>,
    /// Metric columns, comma separated; required, here or as metrics in --config (the query
    /// cannot look up the table's columns) [default: the config file's].
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Dimension columns, comma separated; categorical only, one level per value (SQL cannot
    /// bin a float column without its quantile edges) [default: none: SRM and average effects only].
    #[arg(long, value_delimiter = ',')]
    pub dimensions: Option<Vec<String>>,
    /// Every metric has a pre-period (CUPED) covariate column, --pre-prefix followed by the
    /// metric's name.
    #[arg(long)]
    pub cuped: bool,
    /// Metrics with a pre-period covariate, comma separated: METRIC (the column --pre-prefix
    /// METRIC) or METRIC=COLUMN; they take precedence over --cuped [default: none].
    #[arg(long, value_delimiter = ',', value_name = "METRIC[=COLUMN]")]
    pub pre: Option<Vec<String>>,
    /// Prefix of the pre-period (CUPED) column of a metric [default: pre_].
    #[arg(long)]
    pub pre_prefix: Option<String>,
    /// Not available: refused with the reason (SQL cannot bin dimensions).
    #[arg(long, hide = true)]
    pub bins: Option<String>,
}

/// Arguments of `cateye cate`.
#[derive(Args)]
pub struct CateArgs {
    /// Parquet, CSV or Arrow IPC file, one row per unit.
    pub file: PathBuf,
    /// Outcome column.
    #[arg(long)]
    pub outcome: String,
    /// Treatment column: 0/1, boolean, or numeric arm codes (the smallest is control unless --control).
    #[arg(long)]
    pub treatment: String,
    /// The learner whose estimates are written: forest (grf's causal forest), s, t, x, r or dr.
    #[arg(long, default_value = "dr")]
    pub method: Learner,
    /// Base learners, comma separated (forest, linear, boost); the first also fits the
    /// nuisances that score the selection table [default: forest; with --select: forest,linear,boost].
    #[arg(long, value_delimiter = ',')]
    pub base: Option<Vec<BaseKind>>,
    /// Calibrate the estimates (causal isotonic cross-calibration).
    #[arg(long)]
    pub calibrate: bool,
    /// Per-unit 95% intervals for the R- and DR-learners on the forest base: their final-stage
    /// forests grow --interval-trees trees in little bags of two (the causal forest, grown in
    /// little bags, gives its own; other learners have none and cate.json says why).
    #[arg(long)]
    pub intervals: bool,
    /// Trees of the final-stage forests with --intervals.
    #[arg(long, default_value_t = 2000)]
    pub interval_trees: usize,
    /// Minimum node size of the forest base in final stages (larger: smoother estimates; the
    /// nuisance forests keep 5).
    #[arg(long, default_value_t = 5)]
    pub final_min_node_size: usize,
    /// Run every learner with every base learner (and the causal forest), rank them by held-out
    /// loss and write the best one's estimates.
    #[arg(long)]
    pub select: bool,
    /// Loss that ranks the selection table: r (R-loss) or dr (doubly robust pseudo-outcome loss).
    #[arg(long, default_value = "r")]
    pub loss: SelectionLoss,
    /// Covariate columns, comma separated [default: every other numeric column].
    #[arg(long, value_delimiter = ',')]
    pub covariates: Option<Vec<String>>,
    /// Propensity: "design" (each arm's share, for randomised experiments), "estimate"
    /// (cross-fitted classifier, clipped), a known probability (e.g. 0.5) or a column.
    #[arg(long, default_value = "design")]
    pub propensity: String,
    /// Estimated propensities are clipped to [clip, 1 - clip].
    #[arg(long, default_value_t = 0.05)]
    pub clip: f64,
    /// Sample-weight column: every fit and the AIPW effect are weighted [default: none, every
    /// unit weighs 1].
    #[arg(long)]
    pub weights: Option<String>,
    /// Cluster column: cross-fitting keeps clusters in one fold, the AIPW SE is cluster-robust
    /// (CR1) and the causal forest samples whole clusters [default: none].
    #[arg(long)]
    pub cluster: Option<String>,
    /// The control value of the treatment column [default: its smallest value].
    #[arg(long)]
    pub control: Option<f64>,
    /// Cross-fitting folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Trees of every forest.
    #[arg(long, default_value_t = 500)]
    pub trees: usize,
    /// Seed of the folds and of every fit.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also save the fitted learner (the reported candidate of every arm) to this file, for
    /// `cateye predict` [default: none].
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Also write the HTML report (one self-contained page) to this file [default: none].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Output folder: cate.parquet (or .csv with --format csv), cate.json and manifest.json.
    #[arg(long, default_value = "cateye-cate-out")]
    pub out: PathBuf,
    /// Per-unit output format.
    #[arg(long, value_enum, default_value_t = UnitFormat::Parquet)]
    pub format: UnitFormat,
    /// Print nothing but errors (no summary, no progress).
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `cateye forest`.
#[derive(Args)]
pub struct ForestArgs {
    /// Parquet, CSV or Arrow IPC file, one row per unit.
    pub file: PathBuf,
    /// Outcome column.
    #[arg(long)]
    pub outcome: String,
    /// Treatment column (0/1 or boolean).
    #[arg(long)]
    pub treatment: String,
    /// Covariate columns, comma separated [default: every other numeric column].
    #[arg(long, value_delimiter = ',')]
    pub covariates: Option<Vec<String>>,
    /// Known assignment probability (a number, e.g. 0.5) or a column of per-unit propensities
    /// [default: estimated by a regression forest].
    #[arg(long)]
    pub propensity: Option<String>,
    /// Sample-weight column [default: none, every unit weighs 1].
    #[arg(long)]
    pub weights: Option<String>,
    /// Sampling-cluster column: trees sample whole clusters, SEs become cluster-robust
    /// [default: none].
    #[arg(long)]
    pub cluster: Option<String>,
    /// Trees of the causal forest (its nuisance forests grow a quarter as many, at least 50).
    #[arg(long, default_value_t = 2000)]
    pub trees: usize,
    /// Seed of the forests.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Minimum node size (treated and control per child).
    #[arg(long, default_value_t = 5)]
    pub min_node_size: usize,
    /// Quantile bins per covariate for the split search.
    #[arg(long, default_value_t = DEFAULT_MAX_BINS)]
    pub max_bins: usize,
    /// Also save the fitted forest to this file, for `cateye predict` [default: none].
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Also write the HTML report (one self-contained page) to this file [default: none].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Output folder: cate.parquet (or .csv with --format csv), forest.json and manifest.json.
    #[arg(long, default_value = "cateye-forest-out")]
    pub out: PathBuf,
    /// Per-unit output format.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: UnitFormat,
    /// Print nothing but errors (no summary, no progress).
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `cateye predict`.
#[derive(Args)]
pub struct PredictArgs {
    /// A model file written by `forest --save-model` or `cate --save-model`.
    pub model: PathBuf,
    /// Parquet, CSV or Arrow IPC file with the model's covariate columns (by name), one row per unit.
    pub file: PathBuf,
    /// Output folder: predictions.parquet (or .csv with --format csv) and manifest.json.
    #[arg(long, default_value = "cateye-predict-out")]
    pub out: PathBuf,
    /// Per-unit output format.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: UnitFormat,
    /// Print nothing but errors (no summary, no progress).
    #[arg(long)]
    pub quiet: bool,
}

/// File format of the per-unit outputs.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum UnitFormat {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values.
    Csv,
}

/// Arguments of `cateye scan`. Options without a clap default take theirs from the config
/// file (`--config`) or, without one, from the library's defaults, stated as `[default: X]` in
/// the help (a test checks them against the library).
#[derive(Args)]
pub struct ScanArgs {
    /// Parquet, CSV or Arrow IPC file, one row per (experiment, unit).
    pub file: PathBuf,
    /// TOML config with column roles and settings; the flags given override it [default: none].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Folder for scan.json, the CSV tables and manifest.json.
    #[arg(long, default_value = "cateye-out")]
    pub out: PathBuf,
    /// Also write the HTML report (one self-contained page) to this file [default: none].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Experiment id column [default: experiment].
    #[arg(long)]
    pub experiment: Option<String>,
    /// Arm label column [default: variant].
    #[arg(long)]
    pub variant: Option<String>,
    /// Label of the control arm [default: control].
    #[arg(long)]
    pub control: Option<String>,
    /// Metric columns, comma separated [default: every float column without another role].
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Dimension columns, comma separated; integer and float columns are dimensions only when
    /// named here [default: every string or boolean column without another role].
    #[arg(long, value_delimiter = ',')]
    pub dimensions: Option<Vec<String>>,
    /// Randomization cluster column: ATE standard errors become cluster-robust (CR1)
    /// [default: none].
    #[arg(long)]
    pub cluster: Option<String>,
    /// Columns to ignore, comma separated [default: none].
    #[arg(long, value_delimiter = ',')]
    pub ignore: Option<Vec<String>>,
    /// Prefix of the pre-period (CUPED) column of a metric [default: pre_].
    #[arg(long)]
    pub pre_prefix: Option<String>,
    /// Quantile bins of a float dimension [default: 5].
    #[arg(long)]
    pub bins: Option<usize>,
    /// Most levels a categorical dimension may have; more is an error [default: 1000].
    #[arg(long)]
    pub max_levels: Option<usize>,
    /// Levels with fewer units than this in some arm are pooled into 'other' [default: 100].
    #[arg(long)]
    pub min_units: Option<usize>,
    /// Significance level of the findings, after the correction [default: 0.05].
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Multiple-testing correction: bh, by, holm, bonferroni, or hierarchical (Yekutieli's BH down
    /// the tree experiment → metric × arm → dimension for the dimension tests, BH elsewhere)
    /// [default: bh].
    #[arg(long)]
    pub correction: Option<Correction>,
    /// p-value at or below which a sample ratio mismatch is an alert: the experiment's effects
    /// are not trustworthy [default: 0.001].
    #[arg(long)]
    pub srm_alpha: Option<f64>,
    /// p-value at or below which (above --srm-alpha) a sample ratio mismatch is a warning
    /// [default: 0.05].
    #[arg(long)]
    pub srm_warning: Option<f64>,
    /// Planned split, e.g. control=0.5,treatment=0.5 [default: equal].
    #[arg(long, value_delimiter = ',')]
    pub split: Option<Vec<String>>,
    /// Per-dimension and per-level tables: csv (every row also in scan.json) or parquet
    /// (streamed experiment by experiment, for sweeps of thousands of experiments: memory set by
    /// the experiments being read; scan.json keeps the flagged rows) [default: csv].
    #[arg(long)]
    pub tables: Option<Tables>,
    /// FILE is a table of sufficient statistics (from a warehouse, Spark or --export-stats)
    /// instead of unit-level rows.
    #[arg(long)]
    pub stats: bool,
    /// Also write the sufficient statistics to this file (.parquet or .csv) [default: none].
    #[arg(long)]
    pub export_stats: Option<PathBuf>,
    /// Deep dive (causal forest, tests, subgroups) of flagged pairs: all, none or the N with
    /// the strongest evidence [default: 20].
    #[arg(long, value_name = "all|none|N")]
    pub deep_dive: Option<Selection>,
    /// Pairs to deep-dive whether flagged or not: experiment:metric or experiment:metric:arm, comma
    /// separated [default: none].
    #[arg(long, value_delimiter = ',')]
    pub deep_dive_pair: Option<Vec<String>>,
    /// Numeric columns added as deep-dive forest covariates, comma separated [default: none].
    #[arg(long, value_delimiter = ',')]
    pub deep_dive_covariates: Option<Vec<String>>,
    /// Trees of the deep-dive forests [default: 2000].
    #[arg(long)]
    pub deep_dive_trees: Option<usize>,
    /// Permutations of the deep dive's randomization test [default: 1000].
    #[arg(long)]
    pub deep_dive_permutations: Option<usize>,
    /// Most units a pair is deep-dived on: a larger pair is analysed on a seeded random
    /// subsample of this many, stratified by arm, and the report says so [default: 200000].
    #[arg(long)]
    pub deep_dive_max_units: Option<usize>,
    /// Seed of the deep dive (forests, permutations, subsamples, subgroup halves) [default: 0].
    #[arg(long)]
    pub deep_dive_seed: Option<u64>,
    /// Print nothing but errors (no summary, no progress).
    #[arg(long)]
    pub quiet: bool,
    /// Print elapsed time and peak memory at the end.
    #[arg(long)]
    pub timings: bool,
}

impl ScanArgs {
    /// The settings: the config file's, overridden by the flags given.
    pub fn config(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(p) => Config::from_toml_file(p)?,
            None => Config::default(),
        };
        let c = &mut config.scan;
        macro_rules! set {
            ($($f:ident => $g:ident),*) => { $( if let Some(v) = &self.$f { c.$g = v.clone(); } )* };
        }
        set!(experiment => experiment, variant => variant, control => control, pre_prefix => pre_prefix,
             bins => bins, max_levels => max_levels, min_units => min_units_per_arm, alpha => alpha, correction => correction,
             srm_alpha => srm_alpha, srm_warning => srm_warning, ignore => ignore, tables => tables);
        if self.cluster.is_some() {
            c.cluster = self.cluster.clone();
        }
        if self.metrics.is_some() {
            c.metrics = self.metrics.clone();
        }
        if self.dimensions.is_some() {
            c.dimensions = self.dimensions.clone();
        }
        let dd = &mut config.deep_dive;
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
        if let Some(v) = self.deep_dive_max_units {
            dd.max_units = v;
        }
        let c = &mut config.scan;
        if let Some(split) = &self.split {
            c.split.clear();
            for kv in split {
                let (k, v) = kv.split_once('=').ok_or_else(|| bad_flag("--split", kv, "arm=weight"))?;
                let w: f64 = v.parse().map_err(|_| bad_flag("--split", kv, "arm=weight with a number"))?;
                c.split.insert(k.to_string(), w);
            }
        }
        config.validate("command line")?;
        Ok(config)
    }
}

impl StatsSqlArgs {
    /// The query these arguments describe: the config file's column roles, overridden by the
    /// flags given.
    pub fn query(&self) -> Result<StatsQuery> {
        if self.bins.is_some() {
            return Err(StatsQuery::binning_refused("--bins").into());
        }
        let mut config = match &self.config {
            Some(p) => Config::from_toml_file(p)?,
            None => Config::default(),
        };
        let c = &mut config.scan;
        for (flag, value) in [
            (&self.experiment, &mut c.experiment),
            (&self.variant, &mut c.variant),
            (&self.pre_prefix, &mut c.pre_prefix),
        ] {
            if let Some(v) = flag {
                *value = v.clone();
            }
        }
        if self.metrics.is_some() {
            c.metrics = self.metrics.clone();
        }
        if self.dimensions.is_some() {
            c.dimensions = self.dimensions.clone();
        }
        let listed = self
            .pre
            .iter()
            .flatten()
            .map(|entry| match entry.split_once('=') {
                Some((metric, column)) => (metric.to_string(), Some(column.to_string())),
                None => (entry.clone(), None),
            })
            .collect();
        let covariates = CovariateColumns { all: self.cuped, listed };
        Ok(StatsQuery::from_config(&self.table, &config.scan, &covariates)?)
    }
}

fn bad_flag(flag: &str, value: &str, expected: &str) -> Error {
    Error::Config { origin: "command line".into(), message: format!("{flag} {value}: expected {expected}") }
}

impl UnitFormat {
    /// The file extension of the per-unit table.
    pub fn extension(self) -> &'static str {
        match self {
            UnitFormat::Parquet => "parquet",
            UnitFormat::Csv => "csv",
        }
    }
}

impl ForestArgs {
    /// The forest job these arguments describe.
    pub fn spec(&self) -> ForestSpec {
        let mut spec = ForestSpec::new(&self.outcome, &self.treatment);
        spec.covariates = self.covariates.clone();
        if let Some(p) = &self.propensity {
            spec.propensity = p.parse().unwrap_or_else(|never| match never {});
        }
        spec.weights = self.weights.clone();
        spec.cluster = self.cluster.clone();
        spec.options = ForestOptions::default().with(|c| {
            c.num_trees = self.trees;
            c.seed = self.seed;
            c.min_node_size = self.min_node_size;
            c.max_bins = self.max_bins;
        });
        spec
    }
}

impl CateArgs {
    /// The CATE job these arguments describe.
    pub fn spec(&self) -> CateSpec {
        let mut spec = CateSpec::new(&self.outcome, &self.treatment);
        spec.covariates = self.covariates.clone();
        spec.weights = self.weights.clone();
        spec.cluster = self.cluster.clone();
        spec.propensity = self.propensity.parse().unwrap_or_else(|never| match never {});
        let default_bases = if self.select { BaseKind::ALL.to_vec() } else { vec![BaseKind::Forest] };
        spec.config = CateConfig::default().with(|c| {
            c.method = self.method;
            c.bases = self.base.clone().unwrap_or(default_bases);
            c.calibrate = self.calibrate;
            c.intervals = self.intervals;
            c.interval_trees = self.interval_trees;
            c.final_min_node_size = self.final_min_node_size;
            c.select = self.select;
            c.loss = self.loss;
            c.folds = self.folds;
            c.trees = self.trees;
            c.clip = self.clip;
            c.seed = self.seed;
            c.control = self.control;
            c.keep_model = self.save_model.is_some();
        });
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::options;

    /// The `[default: X]` that `scan --help` states for a setting taken from the config is the
    /// library's default.
    #[test]
    fn scan_defaults_in_the_help_are_the_library_defaults() {
        let c = Config::default();
        let (s, d) = (&c.scan, &c.deep_dive);
        let expected: [(&str, String); 17] = [
            ("--experiment", s.experiment.clone()),
            ("--variant", s.variant.clone()),
            ("--control", s.control.clone()),
            ("--pre-prefix", s.pre_prefix.clone()),
            ("--bins", s.bins.to_string()),
            ("--max-levels", s.max_levels.to_string()),
            ("--min-units", s.min_units_per_arm.to_string()),
            ("--alpha", s.alpha.to_string()),
            ("--correction", s.correction.to_string()),
            ("--srm-alpha", s.srm_alpha.to_string()),
            ("--srm-warning", s.srm_warning.to_string()),
            ("--tables", s.tables.to_string()),
            ("--deep-dive", d.pairs.to_string()),
            ("--deep-dive-trees", d.trees.to_string()),
            ("--deep-dive-permutations", d.permutations.to_string()),
            ("--deep-dive-max-units", d.max_units.to_string()),
            ("--deep-dive-seed", d.seed.to_string()),
        ];
        let docs = options("scan");
        for (flag, value) in expected {
            let doc = docs.iter().find(|o| o.name == flag).unwrap_or_else(|| panic!("scan has {flag}"));
            assert_eq!(doc.default.as_deref(), Some(value.as_str()), "scan {flag}");
        }
        for (flag, empty) in [("--metrics", s.metrics.is_none()), ("--dimensions", s.dimensions.is_none())] {
            assert!(empty, "{flag}: the library default picks columns by type, as the help says");
        }
    }

    /// Every scan flag reaches the setting it names.
    #[test]
    fn scan_flags_set_their_settings() {
        let cli = Cli::try_parse_from([
            "cateye",
            "scan",
            "rows.parquet",
            "--bins",
            "7",
            "--max-levels",
            "50",
            "--min-units",
            "3",
            "--deep-dive",
            "none",
            "--deep-dive-max-units",
            "5000",
            "--deep-dive-seed",
            "9",
        ])
        .unwrap();
        let Command::Scan(args) = cli.command else { panic!("scan") };
        let c = args.config().unwrap();
        assert_eq!((c.scan.bins, c.scan.max_levels, c.scan.min_units_per_arm), (7, 50, 3));
        assert_eq!((c.deep_dive.pairs, c.deep_dive.max_units, c.deep_dive.seed), (Selection::None, 5000, 9));
    }
}
