//! The training data of a forest: binned covariates, sample weights and sampling clusters.

use crate::binning::{BinnedFeatures, Binning};
use crate::error::{column_error, Result};
use crate::sampling::Clusters;

/// Default number of quantile bins per covariate.
pub const DEFAULT_MAX_BINS: usize = 256;

/// Covariates (binned once), optional sample weights and optional clusters.
#[derive(Clone, Debug)]
pub struct ForestData {
    pub(crate) features: BinnedFeatures,
    pub(crate) weights: Vec<f64>,
    weighted: bool,
    pub(crate) clusters: Clusters,
}

impl ForestData {
    /// Bins the covariate `columns` (named `names`) into at most `max_bins` quantile bins each.
    /// Missing (NaN) or infinite covariate values are an error naming the column and row.
    pub fn new(columns: &[&[f64]], names: &[String], max_bins: usize) -> Result<Self> {
        if columns.is_empty() {
            return Err(column_error("covariates", "none given: a forest needs at least one covariate"));
        }
        if columns.len() != names.len() {
            return Err(column_error("covariates", format!("{} columns but {} names", columns.len(), names.len())));
        }
        if columns.len() > crate::tree::MAX_FEATURES {
            return Err(column_error(
                "covariates",
                format!("{} given, at most {} are supported", columns.len(), crate::tree::MAX_FEATURES),
            ));
        }
        if !(2..=65_535).contains(&max_bins) {
            return Err(crate::error::option_error("max_bins", format!("{max_bins} is not in [2, 65535]")));
        }
        let features = BinnedFeatures::new(columns, names, max_bins)?;
        let n = features.num_rows();
        Ok(ForestData { features, weights: vec![1.0; n], weighted: false, clusters: Clusters::units(n) })
    }

    /// New rows (covariates in the binning's order) coded with the `binning` of a fitted model,
    /// without weights or clusters: what a model's predictions of new rows need.
    pub fn with_binning(binning: &Binning, columns: &[&[f64]], max_bins: usize) -> Result<Self> {
        let features = BinnedFeatures::with_binning(binning, columns, max_bins)?;
        let n = features.num_rows();
        Ok(ForestData { features, weights: vec![1.0; n], weighted: false, clusters: Clusters::units(n) })
    }

    /// Sample weights (finite, non-negative, not all zero), used in splits, leaves and analyses.
    pub fn with_weights(mut self, weights: Vec<f64>, column: &str) -> Result<Self> {
        cateye_stats::check_weights(column, &weights, self.num_rows())?;
        self.weights = weights;
        self.weighted = true;
        Ok(self)
    }

    /// Sampling clusters, one id per row: trees sample whole clusters, out-of-bag means the
    /// unit's cluster was not drawn, and analysis standard errors become cluster-robust.
    pub fn with_clusters(mut self, ids: &[u64], column: &str) -> Result<Self> {
        if ids.len() != self.num_rows() {
            return Err(column_error(column, format!("has {} values, expected {}", ids.len(), self.num_rows())));
        }
        let clusters = Clusters::from_ids(ids, column)?;
        if clusters.num_clusters() < 2 {
            return Err(column_error(column, "holds a single cluster: sampling needs at least 2"));
        }
        self.clusters = clusters;
        Ok(self)
    }

    /// The rows `rows` with this data's binning (see [`BinnedFeatures::subset`]), unit weights
    /// or `weights` (one per subset row), and no clusters: a cross-fitting fold's training data.
    pub fn subset(&self, rows: &[usize], weights: Option<(&[f64], &str)>) -> Result<Self> {
        let features = self.features.subset(rows);
        let data = ForestData {
            features,
            weights: vec![1.0; rows.len()],
            weighted: false,
            clusters: Clusters::units(rows.len()),
        };
        match weights {
            Some((w, column)) => data.with_weights(w.to_vec(), column),
            None => Ok(data),
        }
    }

    /// Number of rows (units).
    pub fn num_rows(&self) -> usize {
        self.features.num_rows()
    }

    /// Number of covariates.
    pub fn num_features(&self) -> usize {
        self.features.num_features()
    }

    /// Covariate names, in column order.
    pub fn names(&self) -> &[String] {
        self.features.binning().names()
    }

    /// The binned covariates.
    pub fn features(&self) -> &BinnedFeatures {
        &self.features
    }

    /// The sample weights, or `None` when none were given (every unit weighs 1).
    pub fn weights(&self) -> Option<&[f64]> {
        self.weighted.then_some(&self.weights[..])
    }

    /// The sampling clusters, or `None` when every unit is its own cluster.
    pub fn clusters(&self) -> Option<&Clusters> {
        (!self.clusters.is_trivial()).then_some(&self.clusters)
    }

    /// Codes of new rows (covariates in the same order) for prediction.
    pub fn bin_new_rows(&self, columns: &[&[f64]]) -> Result<Vec<u16>> {
        self.features.binning().bin_rows(columns)
    }

    /// How raw values become codes: what a fitted model keeps to predict new rows.
    pub fn binning(&self) -> &Binning {
        self.features.binning()
    }
}
