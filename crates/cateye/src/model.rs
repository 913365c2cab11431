//! Fitted models that predict new rows, and their files.
//!
//! A [`Model`] is a causal forest (from [`crate::forest::fit_forest`]: CATE with a variance and
//! 95% interval per row), a CATE learner (from [`crate::cate::fit_cate`] with `keep_model`:
//! every arm's CATE against control) or a regression forest (from
//! [`crate::regression::fit_regression_forest`]: `E[Y | X]`). All save to one versioned file format
//! (`cateye_io`'s model container) and load back to predict bit-identically; [`Model::to_bytes`]
//! and [`Model::from_bytes`] give the same bytes without a file (Python's pickling uses them).
//!
//! ```
//! use cateye::demo::{nie_wager, trial_table, Setup};
//! use cateye::forest::{fit_forest, ForestOptions, ForestSpec};
//! use cateye::model::Model;
//! use cateye::Source;
//!
//! let trial = Source::from_batches(vec![trial_table(&nie_wager(Setup::A, 800, 5, 1.0, 1))])?;
//! let spec = ForestSpec::new("y", "w")
//!     .covariates((1..=5).map(|j| format!("x{j}")).collect())
//!     .options(ForestOptions::default().with(|o| o.num_trees = 100));
//! let model = Model::CausalForest(fit_forest(&trial, &spec)?.model);
//! let loaded = Model::from_bytes(&model.to_bytes()?, "in memory")?;
//! assert_eq!(loaded.predict(&trial)?, model.predict(&trial)?);
//! # Ok::<(), cateye::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::units::UnitTable;
use cateye_io::{read_numeric_reporting, Source};
use cateye_stats::Z_975;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use cateye_forest::{CausalForestModel, RegressionForestModel};
pub use cateye_learners::CateModel;

/// Kind and format version of a causal forest model file.
const FOREST_KIND: (&str, u32) = ("causal_forest", 1);
/// Kind and format version of a CATE learner model file.
const CATE_KIND: (&str, u32) = ("cate_learner", 1);
/// Kind and format version of a regression forest model file.
const REGRESSION_KIND: (&str, u32) = ("regression_forest", 1);

/// A causal forest with the names of the outcome and treatment it was fitted on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForestModel {
    /// The outcome column of the fit.
    pub outcome: String,
    /// The treatment column of the fit.
    pub treatment: String,
    /// The trees and the covariates' binning.
    pub forest: CausalForestModel,
}

/// A CATE learner with the names of the outcome and treatment it was fitted on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LearnerModel {
    /// The outcome column of the fit.
    pub outcome: String,
    /// The treatment column of the fit.
    pub treatment: String,
    /// The reported candidate of every arm, with its models.
    pub learner: CateModel,
}

/// A regression forest with the name of the outcome it was fitted on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegressionModel {
    /// The outcome column of the fit.
    pub outcome: String,
    /// The trees and the covariates' binning.
    pub forest: RegressionForestModel,
}

/// A fitted model that predicts new rows.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Model {
    /// An honest causal forest (`cateye forest`).
    CausalForest(ForestModel),
    /// A CATE learner (`cateye cate`).
    Cate(LearnerModel),
    /// A regression forest of `E[Y | X]` (the library's and Python's `RegressionForest`).
    RegressionForest(RegressionModel),
}

impl Model {
    /// The covariates a new row must have (by name), in the model's order.
    pub fn covariates(&self) -> &[String] {
        match self {
            Model::CausalForest(m) => m.forest.covariates(),
            Model::Cate(m) => m.learner.covariates(),
            Model::RegressionForest(m) => m.forest.covariates(),
        }
    }

    /// What the model is, for messages: "causal forest" or "CATE learner".
    pub fn kind(&self) -> &'static str {
        match self {
            Model::CausalForest(_) => "causal forest",
            Model::Cate(_) => "CATE learner",
            Model::RegressionForest(_) => "regression forest",
        }
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(match self {
            Model::CausalForest(m) => cateye_io::encode_model(FOREST_KIND.0, FOREST_KIND.1, m)?,
            Model::Cate(m) => cateye_io::encode_model(CATE_KIND.0, CATE_KIND.1, m)?,
            Model::RegressionForest(m) => cateye_io::encode_model(REGRESSION_KIND.0, REGRESSION_KIND.1, m)?,
        })
    }

    /// A model from a model file's bytes (`label` names them in errors); its trees are checked.
    pub fn from_bytes(bytes: &[u8], label: &str) -> Result<Self> {
        let (header, _) = cateye_io::read_header(bytes, label)?;
        let model = if header.kind == FOREST_KIND.0 {
            let m: ForestModel = cateye_io::decode_model(bytes, label, FOREST_KIND.0, FOREST_KIND.1)?;
            m.forest.check().map_err(|e| Error::fit(label, e))?;
            Model::CausalForest(m)
        } else if header.kind == CATE_KIND.0 {
            let m: LearnerModel = cateye_io::decode_model(bytes, label, CATE_KIND.0, CATE_KIND.1)?;
            m.learner.check().map_err(|e| Error::fit(label, e))?;
            Model::Cate(m)
        } else if header.kind == REGRESSION_KIND.0 {
            let m: RegressionModel = cateye_io::decode_model(bytes, label, REGRESSION_KIND.0, REGRESSION_KIND.1)?;
            m.forest.check().map_err(|e| Error::fit(label, e))?;
            Model::RegressionForest(m)
        } else {
            return Err(Error::invalid(
                label,
                format!(
                    "holds a '{}' model; cateye reads causal_forest, cate_learner and regression_forest models",
                    header.kind
                ),
            ));
        };
        Ok(model)
    }

    /// Writes the model to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        Ok(cateye_io::write_atomically(path, |tmp| {
            std::fs::write(tmp, &bytes).map_err(|e| cateye_io::IoError::write(path, e))
        })?)
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = cateye_io::read_model_bytes(path)?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Predictions for new rows given by column, in the order of [`Self::covariates`]:
    /// for a causal forest `cate`, `se`, `ci_lower`, `ci_upper` (95%); for a CATE learner `cate`
    /// (suffixed `_<arm>` with several arms); for a regression forest `prediction`. `label`
    /// names the rows in errors.
    pub fn predict_columns(&self, columns: Vec<Vec<f64>>, label: &str) -> Result<UnitTable> {
        Ok(match self {
            Model::CausalForest(m) => {
                let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
                let estimates = m.forest.predict(&refs).map_err(|e| Error::fit(label, e))?;
                let se: Vec<f64> = estimates.variance.iter().map(|v| v.sqrt()).collect();
                let tau = estimates.tau;
                let lower = tau.iter().zip(&se).map(|(t, s)| t - Z_975 * s).collect();
                let upper = tau.iter().zip(&se).map(|(t, s)| t + Z_975 * s).collect();
                UnitTable::new(vec![
                    ("cate".into(), tau),
                    ("se".into(), se),
                    ("ci_lower".into(), lower),
                    ("ci_upper".into(), upper),
                ])
            }
            Model::RegressionForest(m) => {
                let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
                let prediction = m.forest.predict(&refs).map_err(|e| Error::fit(label, e))?;
                UnitTable::new(vec![("prediction".into(), prediction)])
            }
            Model::Cate(m) => {
                let arms = m.learner.predict(columns).map_err(|e| Error::fit(label, e))?;
                let binary = arms.len() == 1;
                UnitTable::new(
                    arms.into_iter()
                        .map(|a| {
                            let name = if binary { "cate".to_string() } else { format!("cate_{}", a.arm) };
                            (name, a.cate)
                        })
                        .collect(),
                )
            }
        })
    }

    /// Predictions for the rows of `source`, whose covariate columns are found by name.
    pub fn predict(&self, source: &Source) -> Result<UnitTable> {
        self.predict_reporting(source, &cateye_stats::silent)
    }

    /// [`Self::predict`], reporting "reading" (rows) and then "predicting" (no count) to
    /// `progress`.
    pub fn predict_reporting(&self, source: &Source, progress: cateye_stats::Progress<'_>) -> Result<UnitTable> {
        let wanted: Vec<(&str, &'static str)> = self.covariates().iter().map(|c| (c.as_str(), "covariate")).collect();
        let columns = read_numeric_reporting(source, &wanted, progress)?;
        progress("predicting", 0, 0);
        self.predict_columns(columns, source.label())
    }
}
