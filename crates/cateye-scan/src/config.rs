//! Scan settings: column roles and statistical options, from CLI flags and/or a TOML file.
//!
//! ```toml
//! experiment = "experiment"     # column names (these are the defaults)
//! variant = "variant"
//! control = "control"
//! metrics = ["revenue", "sessions"]   # default: every float column not used otherwise
//! pre_prefix = "pre_"           # CUPED covariate of metric m is column pre_m when present
//! dimensions = ["country", "platform"] # default: every string/bool column not used otherwise
//! max_levels = 1000             # a categorical dimension with more levels is an error
//! bins = 5                      # quantile bins of float dimensions
//! min_units_per_arm = 100       # smaller levels are pooled into "other"
//! alpha = 0.05
//! correction = "bh"             # bh | by | holm | bonferroni | hierarchical
//! srm_alpha = 0.001            # SRM alert below this p-value (uncorrected, per experiment)
//! srm_warning = 0.05           # SRM warning below this one
//! tables = "csv"                # csv | parquet (per-dimension and per-level tables; see Tables)
//! [split]                       # planned allocation, default equal
//! control = 0.5
//! treatment = 0.5
//! [experiment_split.exp42]      # per-experiment override
//! control = 0.2
//! treatment = 0.8
//! ```

use crate::error::{Result, ScanError};
use cateye_io::ColumnRoles;
use cateye_stats::Correction;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the scan needs to know besides the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ScanConfig {
    /// Experiment id column.
    pub experiment: String,
    /// Unit id column (optional; only reported).
    pub unit: Option<String>,
    /// Arm label column.
    pub variant: String,
    /// Label of the control arm.
    pub control: String,
    /// Metric columns; `None` = every float column without another role.
    pub metrics: Option<Vec<String>>,
    /// Prefix of the pre-period (CUPED) column of each metric.
    pub pre_prefix: String,
    /// Dimension columns; `None` = every string or boolean column without another role
    /// (integer and float columns become dimensions only when named).
    pub dimensions: Option<Vec<String>>,
    /// Columns never used (e.g. true effects in simulated data).
    pub ignore: Vec<String>,
    /// Randomization cluster column: average effects get cluster-robust (CR1) standard errors;
    /// the detection and dimension tests still assume independent units (`input.warnings`).
    pub cluster: Option<String>,
    /// Number of quantile bins of float dimensions.
    pub bins: usize,
    /// Most levels a categorical dimension may have (guards against id columns).
    pub max_levels: usize,
    /// Levels with fewer units than this in any arm are pooled into `other`.
    pub min_units_per_arm: usize,
    /// Level of significance of the findings (after correction).
    pub alpha: f64,
    /// Confidence level of intervals.
    pub confidence: f64,
    /// Multiple-testing correction across each family.
    pub correction: Correction,
    /// p-value at or below which a sample ratio mismatch is an alert (the experiment's effects
    /// are not trustworthy). 0.001 is the convention of large experimentation platforms
    /// (Fabijan et al. 2019): SRM is checked once per experiment, and at thousands of
    /// experiments a threshold of 0.05 would flag 5% of healthy ones. The q-value across
    /// experiments is reported beside it.
    pub srm_alpha: f64,
    /// p-value at or below which (and above `srm_alpha`) a mismatch is reported as a warning: worth
    /// a look, not a verdict.
    pub srm_warning: f64,
    /// Planned allocation by arm label; empty = equal split.
    pub split: BTreeMap<String, f64>,
    /// Per-experiment planned allocation.
    pub experiment_split: BTreeMap<String, BTreeMap<String, f64>>,
    /// Rows per record batch (the unit of parallel work; fixed so results do not depend on threads).
    pub batch_rows: usize,
    /// How the per-dimension and per-level results are kept and written.
    pub tables: Tables,
}

/// How the per-dimension and per-level results of a scan are kept and written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tables {
    /// In memory: every dimension row (with its levels) in `scan.json`, and `dimensions.csv` and
    /// `levels.csv`. Memory grows with the sweep.
    #[default]
    Csv,
    /// Streamed by experiment: each experiment is tested as soon as its rows are read, its
    /// dimension and level rows go to `dimensions.parquet` and `levels.parquet`, and `scan.json`
    /// keeps the flagged dimension rows. Memory is set by the few experiments being read (input
    /// not grouped by experiment is first partitioned by experiment into temporary files), plus
    /// a p-value per dimension test: for sweeps of thousands of experiments.
    Parquet,
}

impl std::fmt::Display for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tables::Csv => "csv",
            Tables::Parquet => "parquet",
        })
    }
}

impl std::str::FromStr for Tables {
    type Err = cateye_stats::UnknownChoice;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Tables::Csv),
            "parquet" => Ok(Tables::Parquet),
            _ => Err(cateye_stats::UnknownChoice::new("table format", s, "csv or parquet")),
        }
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            experiment: "experiment".into(),
            unit: None,
            variant: "variant".into(),
            control: "control".into(),
            metrics: None,
            pre_prefix: "pre_".into(),
            dimensions: None,
            ignore: Vec::new(),
            cluster: None,
            bins: 5,
            max_levels: 1000,
            min_units_per_arm: 100,
            alpha: 0.05,
            confidence: 0.95,
            correction: Correction::Bh,
            srm_alpha: 0.001,
            srm_warning: 0.05,
            split: BTreeMap::new(),
            experiment_split: BTreeMap::new(),
            batch_rows: 65_536,
            tables: Tables::Csv,
        }
    }
}

impl ScanConfig {
    /// The column roles, as the readers take them.
    pub fn roles(&self) -> ColumnRoles {
        ColumnRoles::default().with(|c| {
            c.experiment = self.experiment.clone();
            c.unit = self.unit.clone();
            c.variant = self.variant.clone();
            c.metrics = self.metrics.clone();
            c.pre_prefix = self.pre_prefix.clone();
            c.dimensions = self.dimensions.clone();
            c.ignore = self.ignore.clone();
            c.cluster = self.cluster.clone();
        })
    }

    /// Check the numeric options; `origin` (a file name, or "command line") names where they
    /// came from in errors.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |message: String| Err(ScanError::Config { origin: origin.to_string(), message });
        if self.bins < 2 {
            return bad(format!("--bins {} (bins in a config file): expected at least 2", self.bins));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad(format!("--alpha {} (alpha in a config file): expected a number in (0, 1)", self.alpha));
        }
        if !(self.srm_alpha > 0.0 && self.srm_alpha < 1.0) {
            return bad(format!(
                "--srm-alpha {} (srm_alpha in a config file): expected a number in (0, 1)",
                self.srm_alpha
            ));
        }
        if !(self.srm_warning > 0.0 && self.srm_warning < 1.0) || self.srm_warning < self.srm_alpha {
            return bad(format!(
                "--srm-warning {} (srm_warning in a config file): expected a number in (0, 1), at least --srm-alpha ({})",
                self.srm_warning, self.srm_alpha
            ));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return bad(format!("confidence = {}: expected a number in (0, 1)", self.confidence));
        }
        if self.batch_rows == 0 {
            return bad("batch_rows = 0: expected a positive number".into());
        }
        Ok(())
    }

    /// Planned allocation weight of `arm` in `experiment` (`None` = equal split).
    pub fn planned_weight(&self, experiment: &str, arm: &str) -> Option<f64> {
        self.experiment_split
            .get(experiment)
            .or(Some(&self.split))
            .filter(|m| !m.is_empty())
            .and_then(|m| m.get(arm).copied())
    }

    /// Whether a planned split is configured for `experiment`.
    pub fn has_planned_split(&self, experiment: &str) -> bool {
        self.experiment_split.contains_key(experiment) || !self.split.is_empty()
    }
}

cateye_stats::settings_with!(ScanConfig);
