//! The fit of any CATE estimator as the analysis tools take it: outcomes, treatment, the
//! nuisance estimates `Ŷ = E[Y | X]` and `Ŵ = E[W | X]`, the estimated effects `τ̂` (out of bag
//! or out of fold: never fitted on the unit's own outcome), optional sample weights and
//! clusters. A causal forest, a meta-learner or a user's own model all reduce to this.

use cateye_stats::{check_finite, column_error, InputError};

/// A borrowed view of one estimator's fit on `n` units.
#[derive(Clone, Copy, Debug)]
pub struct CateFit<'a> {
    /// Outcomes.
    pub y: &'a [f64],
    /// Treatment (0/1 for the AIPW-based tools).
    pub w: &'a [f64],
    /// `E[Y | X]` per unit (marginalising over the treatment).
    pub y_hat: &'a [f64],
    /// `E[W | X]` per unit: the propensity for a binary treatment.
    pub w_hat: &'a [f64],
    /// Estimated conditional effect per unit, out of bag or out of fold.
    pub tau: &'a [f64],
    /// Sample weights, if any.
    pub weights: Option<&'a [f64]>,
    /// Cluster of each unit (dense codes `0..G`), if units were randomized or sampled in clusters.
    pub clusters: Option<&'a [u32]>,
    binary_treatment: bool,
}

impl<'a> CateFit<'a> {
    /// A fit of `y.len()` units; every column must have one finite value per unit.
    pub fn new(
        y: &'a [f64],
        w: &'a [f64],
        y_hat: &'a [f64],
        w_hat: &'a [f64],
        tau: &'a [f64],
    ) -> Result<Self, InputError> {
        let n = y.len();
        for (name, values) in [("outcome", y), ("treatment", w), ("y_hat", y_hat), ("w_hat", w_hat), ("tau", tau)] {
            check_finite(name, values, n)?;
        }
        let binary_treatment = w.iter().all(|&v| v == 0.0 || v == 1.0);
        Ok(CateFit { y, w, y_hat, w_hat, tau, weights: None, clusters: None, binary_treatment })
    }

    /// The same fit with sample weights (one per unit).
    pub fn with_weights(mut self, weights: Option<&'a [f64]>) -> Result<Self, InputError> {
        if let Some(w) = weights {
            check_finite("weights", w, self.len())?;
        }
        self.weights = weights;
        Ok(self)
    }

    /// The same fit with cluster codes (one per unit, dense from 0).
    pub fn with_clusters(mut self, clusters: Option<&'a [u32]>) -> Result<Self, InputError> {
        if let Some(c) = clusters {
            if c.len() != self.len() {
                return Err(column_error("clusters", format!("has {} values, expected {}", c.len(), self.len())));
            }
        }
        self.clusters = clusters;
        Ok(self)
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Whether the treatment takes only the values 0 and 1 (needed by the AIPW-based tools).
    pub fn binary_treatment(&self) -> bool {
        self.binary_treatment
    }

    /// Weight of unit `i` (1 without sample weights).
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i])
    }
}
