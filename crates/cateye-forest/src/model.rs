//! Fitted forests that predict new rows and persist: the trees together with the binning of
//! the covariates they were grown on, so that a new row is binned exactly as the training rows
//! were and reaches the same leaves. A model read back from a file predicts bit-identically
//! (the leaf statistics are stored as exact `f64` values); it does not keep the trees' in-bag
//! samples, so out-of-bag predictions of the training rows need the original fit.

use crate::binning::Binning;
use crate::causal::{CateEstimates, CausalForest};
use crate::error::Result;
use crate::options::ForestOptions;
use crate::regression::RegressionForest;
use serde::{Deserialize, Serialize};

/// A fitted causal forest with its covariates' binning: predicts the CATE and its variance for
/// new rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CausalForestModel {
    binning: Binning,
    forest: CausalForest,
    options: ForestOptions,
}

impl CausalForestModel {
    /// A model of `forest`, grown on covariates binned by `binning` with `options`.
    pub fn new(forest: CausalForest, binning: Binning, options: ForestOptions) -> Self {
        CausalForestModel { binning, forest, options }
    }

    /// The covariates a new row must have, in this order.
    pub fn covariates(&self) -> &[String] {
        self.binning.names()
    }

    /// The options the forest was grown with.
    pub fn options(&self) -> &ForestOptions {
        &self.options
    }

    /// The trees.
    pub fn forest(&self) -> &CausalForest {
        &self.forest
    }

    /// CATE estimates (and variances, when the forest was grown in little bags of at least two
    /// trees; NaN otherwise) for new rows given by column, in the order of [`Self::covariates`].
    pub fn predict(&self, columns: &[&[f64]]) -> Result<CateEstimates> {
        let rows = self.binning.bin_rows(columns)?;
        Ok(self.forest.predict(&rows, self.binning.num_features()))
    }

    /// Checks a model read from a file: every tree's structure against the covariates.
    pub fn check(&self) -> Result<()> {
        self.forest.check(self.binning.num_features())
    }
}

/// A fitted regression forest with its covariates' binning: predicts `E[Y | X]` for new rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegressionForestModel {
    binning: Binning,
    forest: RegressionForest,
    options: ForestOptions,
}

impl RegressionForestModel {
    /// A model of `forest`, grown on covariates binned by `binning` with `options`.
    pub fn new(forest: RegressionForest, binning: Binning, options: ForestOptions) -> Self {
        RegressionForestModel { binning, forest, options }
    }

    /// The covariates a new row must have, in this order.
    pub fn covariates(&self) -> &[String] {
        self.binning.names()
    }

    /// Predictions for new rows given by column, in the order of [`Self::covariates`] (NaN for
    /// a row that reaches only empty leaves).
    pub fn predict(&self, columns: &[&[f64]]) -> Result<Vec<f64>> {
        let rows = self.binning.bin_rows(columns)?;
        Ok(self.forest.predict(&rows, self.binning.num_features()))
    }

    /// Checks a model read from a file: every tree's structure against the covariates.
    pub fn check(&self) -> Result<()> {
        self.forest.check(self.binning.num_features())
    }
}
