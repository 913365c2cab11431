//! The sufficient statistics of a scan: per (experiment, metric, dimension level, variant) the
//! mergeable [`Moments`], per (experiment, metric, variant) the [`JointMoments`], and the unit
//! counts. The whole tier-1 scan is computed from a [`SuffStats`] alone, so a warehouse or a
//! Spark job can aggregate partitions anywhere, and cateye finishes the analysis.
//!
//! Two statistics are merged by the names of their experiments, arms and levels
//! ([`SuffStats::merge`]); merge(a, b) equals the statistics of the union of the rows to
//! rounding, in any order.

use cateye_io::DimensionKind;
use cateye_stats::ClusterMoments;
use cateye_stats::{JointMoments, Moments};
use serde::{Deserialize, Serialize};

/// A metric and the name of its pre-period covariate column, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    /// Name of the metric column.
    pub name: String,
    /// Name of its pre-period (CUPED) covariate column, if any.
    pub pre: Option<String>,
}

/// A breakdown dimension and its levels (in output order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DimensionInfo {
    /// Name of the dimension column.
    pub name: String,
    /// Categorical (one level per value) or binned (quantile bins of a float column).
    pub kind: DimensionKind,
    /// Bin edges of a binned dimension.
    pub edges: Option<Vec<f64>>,
    /// Level labels, indexed by level code.
    pub levels: Vec<String>,
}

/// Statistics of one metric in one experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    /// Units with a missing (null, NaN or infinite) value, per arm: excluded for this metric.
    pub missing: Vec<f64>,
    /// Units whose pre-period value is missing, per arm: their covariate is imputed with a
    /// constant (the experiment's reference value), which keeps CUPED unbiased.
    pub pre_imputed: Vec<f64>,
    /// Joint moments of (metric, pre-period covariate) per arm. Without a covariate, `x ≡ 0`.
    pub overall: Vec<JointMoments>,
    /// Whether the mixed moments of `overall` are available (false when a warehouse supplied
    /// only the marginal sums); the residual kurtosis then falls back to the outcome's.
    pub joint: bool,
    /// Moments per dimension, level and arm: `levels[d][l][a]`.
    pub levels: Vec<Vec<Vec<Moments>>>,
    /// Per arm, sums over randomization clusters for cluster-robust standard errors (present
    /// when a cluster column was given). Dropped by [`SuffStats::merge`]: a cluster split
    /// between two partial statistics could not be reassembled.
    #[serde(default)]
    pub clustered: Option<Vec<ClusterMoments>>,
}

/// Statistics of one experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentStats {
    /// Experiment id.
    pub name: String,
    /// Arm labels; the control arm first.
    pub arms: Vec<String>,
    /// Units (rows) per arm.
    pub units: Vec<f64>,
    /// Units per dimension, level and arm: `level_units[d][l][a]`.
    pub level_units: Vec<Vec<Vec<f64>>>,
    /// Per metric, in the order of [`SuffStats::metrics`].
    pub metrics: Vec<MetricStats>,
}

/// The sufficient statistics of a whole scan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuffStats {
    /// Label of the control arm in every experiment.
    pub control: String,
    /// Metrics, in the order of [`MetricStats`] within each experiment.
    pub metrics: Vec<MetricInfo>,
    /// Dimensions, in the order of the `levels[d]` tables.
    pub dimensions: Vec<DimensionInfo>,
    /// Sorted by name.
    pub experiments: Vec<ExperimentStats>,
    /// Rows read from the input.
    pub rows: u64,
    /// Rows skipped because their experiment or variant is null.
    pub rows_skipped: u64,
}

/// `levels[d]` empty per-arm tables for each dimension `d`.
fn empty_tables<T: Clone>(levels: &[usize]) -> Vec<Vec<Vec<T>>> {
    levels.iter().map(|&l| vec![Vec::new(); l]).collect()
}

/// Why two statistics cannot be merged.
/// Why two sets of sufficient statistics cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// They hold different metrics (or pre-period covariates).
    #[error("cannot merge sufficient statistics: the two statistics have different metrics")]
    Metrics,
    /// They were computed with different control labels.
    #[error("cannot merge sufficient statistics: control labels differ: '{0}' and '{1}'")]
    Control(String, String),
    /// They have different dimensions, kinds or bin edges.
    #[error("cannot merge sufficient statistics: the two statistics have different dimensions or bin edges")]
    Dimensions,
}

fn pos_or_push(v: &mut Vec<String>, s: &str) -> (usize, bool) {
    match v.iter().position(|x| x == s) {
        Some(i) => (i, false),
        None => {
            v.push(s.to_string());
            (v.len() - 1, true)
        }
    }
}

impl ExperimentStats {
    /// Index of the control arm (always 0 once canonical).
    pub fn control_index(&self, control: &str) -> Option<usize> {
        self.arms.iter().position(|a| a == control)
    }

    /// Keep the arms `order` (indices into the current arms), in that order, in every table.
    pub fn select_arms(&mut self, order: &[usize]) {
        let pick = |v: &Vec<f64>| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        self.arms = order.iter().map(|&i| self.arms[i].clone()).collect();
        self.units = pick(&self.units);
        for lu in &mut self.level_units {
            for l in lu.iter_mut() {
                *l = pick(l);
            }
        }
        for m in &mut self.metrics {
            m.missing = pick(&m.missing);
            m.pre_imputed = pick(&m.pre_imputed);
            m.overall = order.iter().map(|&i| m.overall[i]).collect();
            if let Some(c) = &m.clustered {
                m.clustered = Some(order.iter().map(|&i| c[i]).collect());
            }
            for lv in &mut m.levels {
                for l in lv.iter_mut() {
                    *l = order.iter().map(|&i| l[i]).collect();
                }
            }
        }
    }

    /// Add an arm with zero counts at the end of every table.
    fn push_arm(&mut self, label: &str, dims: &[DimensionInfo]) {
        self.arms.push(label.to_string());
        self.units.push(0.0);
        for (d, lu) in self.level_units.iter_mut().enumerate() {
            lu.resize(dims[d].levels.len(), Vec::new());
            for l in lu.iter_mut() {
                l.push(0.0);
            }
        }
        for m in &mut self.metrics {
            m.clustered = None;
            m.missing.push(0.0);
            m.pre_imputed.push(0.0);
            m.overall.push(JointMoments::default());
            for lv in &mut m.levels {
                for l in lv.iter_mut() {
                    l.push(Moments::default());
                }
            }
        }
    }

    /// An experiment with no arms, with `levels[d]` (empty) levels in dimension `d` and
    /// `n_metrics` metrics.
    pub fn empty(name: &str, levels: &[usize], n_metrics: usize) -> Self {
        Self {
            name: name.to_string(),
            arms: Vec::new(),
            units: Vec::new(),
            level_units: empty_tables(levels),
            metrics: (0..n_metrics)
                .map(|_| MetricStats {
                    missing: Vec::new(),
                    pre_imputed: Vec::new(),
                    overall: Vec::new(),
                    joint: true,
                    levels: empty_tables(levels),
                    clustered: None,
                })
                .collect(),
        }
    }
}

impl SuffStats {
    /// Merge `other` into `self`: experiments, arms and levels are matched by name; new ones are
    /// added. Metrics and dimensions (with their bin edges) must be the same.
    pub fn merge(&mut self, other: &SuffStats) -> Result<(), MergeError> {
        if self.metrics != other.metrics {
            return Err(MergeError::Metrics);
        }
        if self.control != other.control {
            return Err(MergeError::Control(self.control.clone(), other.control.clone()));
        }
        if self.dimensions.len() != other.dimensions.len()
            || self
                .dimensions
                .iter()
                .zip(&other.dimensions)
                .any(|(a, b)| a.name != b.name || a.kind != b.kind || a.edges != b.edges)
        {
            return Err(MergeError::Dimensions);
        }
        // Level maps from `other` into `self`, adding new levels.
        let mut level_map: Vec<Vec<usize>> = Vec::new();
        for (d, od) in other.dimensions.iter().enumerate() {
            let mut map = Vec::new();
            for l in &od.levels {
                let (i, _) = pos_or_push(&mut self.dimensions[d].levels, l);
                map.push(i);
            }
            level_map.push(map);
        }
        let dims = self.dimensions.clone();
        let level_counts: Vec<usize> = dims.iter().map(|d| d.levels.len()).collect();
        // Grow existing experiments' level tables to the new level counts.
        for e in &mut self.experiments {
            let arms = e.arms.len();
            for (d, lu) in e.level_units.iter_mut().enumerate() {
                lu.resize(dims[d].levels.len(), vec![0.0; arms]);
            }
            for m in &mut e.metrics {
                for (d, lv) in m.levels.iter_mut().enumerate() {
                    lv.resize(dims[d].levels.len(), vec![Moments::default(); arms]);
                }
            }
        }
        for oe in &other.experiments {
            let ei = match self.experiments.iter().position(|e| e.name == oe.name) {
                Some(i) => i,
                None => {
                    self.experiments.push(ExperimentStats::empty(&oe.name, &level_counts, self.metrics.len()));
                    self.experiments.len() - 1
                }
            };
            let e = &mut self.experiments[ei];
            let arm_map: Vec<usize> = oe
                .arms
                .iter()
                .map(|a| match e.arms.iter().position(|x| x == a) {
                    Some(i) => i,
                    None => {
                        e.push_arm(a, &dims);
                        e.arms.len() - 1
                    }
                })
                .collect();
            for (oa, &a) in arm_map.iter().enumerate() {
                e.units[a] += oe.units[oa];
                for (d, lu) in oe.level_units.iter().enumerate() {
                    for (ol, counts) in lu.iter().enumerate() {
                        e.level_units[d][level_map[d][ol]][a] += counts[oa];
                    }
                }
                for (m, om) in e.metrics.iter_mut().zip(&oe.metrics) {
                    m.missing[a] += om.missing[oa];
                    m.pre_imputed[a] += om.pre_imputed[oa];
                    m.overall[a].merge(&om.overall[oa]);
                    for (d, lv) in om.levels.iter().enumerate() {
                        for (ol, cells) in lv.iter().enumerate() {
                            m.levels[d][level_map[d][ol]][a].merge(&cells[oa]);
                        }
                    }
                }
            }
            for (m, om) in e.metrics.iter_mut().zip(&oe.metrics) {
                m.joint &= om.joint;
                m.clustered = None;
            }
        }
        self.rows += other.rows;
        self.rows_skipped += other.rows_skipped;
        self.canonicalize();
        Ok(())
    }

    /// Put experiments, arms and categorical levels in canonical order: experiments and levels
    /// sorted by name (the null level last, bins in bin order), the control arm first and the
    /// other arms sorted. Two statistics of the same rows are then equal up to rounding.
    pub fn canonicalize(&mut self) {
        self.experiments.sort_by(|a, b| a.name.cmp(&b.name));
        for d in 0..self.dimensions.len() {
            if self.dimensions[d].kind == DimensionKind::Binned {
                continue;
            }
            let levels = &self.dimensions[d].levels;
            let mut order: Vec<usize> = (0..levels.len()).collect();
            let key = |i: &usize| (levels[*i] == cateye_io::NULL_LEVEL, levels[*i].clone());
            order.sort_by_key(key);
            self.dimensions[d].levels = order.iter().map(|&i| levels[i].clone()).collect();
            for e in &mut self.experiments {
                e.level_units[d] = order.iter().map(|&i| e.level_units[d][i].clone()).collect();
                for m in &mut e.metrics {
                    m.levels[d] = order.iter().map(|&i| m.levels[d][i].clone()).collect();
                }
            }
        }
        let control = self.control.clone();
        for e in &mut self.experiments {
            let mut order: Vec<usize> = (0..e.arms.len()).collect();
            order.sort_by_key(|&i| (e.arms[i] != control, e.arms[i].clone()));
            if order.iter().enumerate().all(|(k, &i)| k == i) {
                continue;
            }
            e.select_arms(&order);
        }
    }
}
