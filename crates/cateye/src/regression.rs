//! The regression forest job: one table's rows (any [`Source`]) → grf's honest regression
//! forest (`cateye_forest`) → out-of-bag estimates of `E[Y | X]` and a model that predicts new
//! rows. The statistics live in `cateye_forest`; this module reads, validates and assembles.

use crate::columns::JobColumns;
use crate::error::{Error, Result};
use crate::forest::Importance;
use crate::model::RegressionModel;
use cateye_forest::{variable_importance, RegressionForest, RegressionForestModel};
use cateye_io::Source;
use cateye_stats::Progress;
use serde::{Deserialize, Serialize};

pub use cateye_forest::ForestOptions;

/// What to fit: the outcome, covariates, weights, clusters and the forest's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegressionSpec {
    /// Outcome column.
    pub outcome: String,
    /// Covariate columns; `None` = every other numeric column.
    pub covariates: Option<Vec<String>>,
    /// Sample-weight column.
    pub weights: Option<String>,
    /// Sampling-cluster column: trees sample whole clusters.
    pub cluster: Option<String>,
    /// Forest settings (grf's defaults; `ci_group_size` is not used).
    pub options: ForestOptions,
}

impl RegressionSpec {
    /// A regression forest of `outcome` with grf's defaults.
    pub fn new(outcome: impl Into<String>) -> Self {
        RegressionSpec {
            outcome: outcome.into(),
            covariates: None,
            weights: None,
            cluster: None,
            options: ForestOptions::default(),
        }
    }
}

/// The summary of a regression forest fit.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegressionSummary {
    /// The input's label.
    pub file: String,
    /// Rows fitted.
    pub rows: usize,
    /// Outcome column.
    pub outcome: String,
    /// Covariate columns.
    pub covariates: Vec<String>,
    /// The forest's settings.
    pub options: ForestOptions,
    /// Mean squared error of the out-of-bag estimates (over the rows that have one).
    pub oob_mse: f64,
    /// Split-frequency importance of each covariate.
    pub variable_importance: Vec<Importance>,
    /// Seconds in all.
    pub seconds: f64,
}

/// A fitted regression forest: its summary, the out-of-bag estimates and the model.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegressionRun {
    /// The summary.
    pub summary: RegressionSummary,
    /// Out-of-bag estimate of `E[Y | X]` per row (NaN for a row in bag in every tree).
    pub oob: Vec<f64>,
    /// The fitted forest, which predicts new rows.
    pub model: RegressionModel,
}

/// Fits the regression forest of `spec` to the rows of `source`, reporting the trees grown to
/// `progress` ("reading" rows, then "regression forest" trees).
pub fn fit_regression_forest(source: &Source, spec: &RegressionSpec, progress: Progress<'_>) -> Result<RegressionRun> {
    let start = std::time::Instant::now();
    let input = source.label();
    let mut roles: Vec<(&str, &'static str)> = vec![(&spec.outcome, "outcome")];
    if let Some(w) = &spec.weights {
        roles.push((w, "weights"));
    }
    let columns = JobColumns::read(source, &roles, spec.covariates.as_deref(), spec.cluster.as_deref(), progress)?;
    let data = columns.forest_data(input, spec.options.max_bins, spec.weights.as_deref(), spec.cluster.as_deref())?;
    let y = columns.role(&spec.outcome);
    let fail = |e: cateye_forest::ForestError| Error::fit(input, e);
    let forest = RegressionForest::fit_reporting(&data, y, &spec.outcome, &spec.options, progress).map_err(fail)?;
    let oob = forest.predict_oob(&data).map_err(fail)?;
    let errors: Vec<f64> = oob.iter().zip(y).filter(|(p, _)| !p.is_nan()).map(|(p, y)| (p - y).powi(2)).collect();
    let importance = variable_importance(forest.trees(), columns.covariates.len(), 2.0, 4);
    let summary = RegressionSummary {
        file: input.to_string(),
        rows: y.len(),
        outcome: spec.outcome.clone(),
        covariates: columns.covariates.clone(),
        options: spec.options.clone(),
        oob_mse: errors.iter().sum::<f64>() / errors.len().max(1) as f64,
        variable_importance: columns
            .covariates
            .iter()
            .zip(importance)
            .map(|(c, v)| Importance { covariate: c.clone(), importance: v })
            .collect(),
        seconds: start.elapsed().as_secs_f64(),
    };
    let forest = RegressionForestModel::new(forest, data.binning().clone(), spec.options.clone());
    let model = RegressionModel { outcome: spec.outcome.clone(), forest };
    Ok(RegressionRun { summary, oob, model })
}
