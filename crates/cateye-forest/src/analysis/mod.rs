//! Analyses of a fitted causal forest (grf's `average_treatment_effect`, `get_scores`,
//! `test_calibration`, `best_linear_projection`, `rank_average_treatment_effect`,
//! `variable_importance`). All use the out-of-bag estimates, sample weights and clusters of the fit,
//! except `subgroups`, which takes doubly robust scores and discrete features directly and finds
//! shallow subgroup rules (policy-tree style exhaustive search, held-out re-estimation).

pub mod ate;
pub mod blp;
pub mod calibration;
pub mod distribution;
pub mod importance;
pub mod rate;
pub mod scores;
pub mod subgroups;
pub mod variation;

pub use ate::{average_treatment_effect, AteEstimate, TargetSample};
pub use blp::{best_linear_projection, best_linear_projection_on_levels};
pub use calibration::{test_calibration, CalibrationTest};
pub use importance::variable_importance;
pub use rate::{rank_average_treatment_effect, Rate, RateOptions};
pub use scores::{doubly_robust_scores, DoublyRobustScores};
pub use subgroups::{subgroup_rules, Condition, RuleFeature, Subgroup, SubgroupOptions, SubgroupRules};
pub use variation::{decompose_variation, explained_share, LevelColumn, VariationDecomposition};

use crate::causal::CausalForestFit;
use crate::ols::Vcov;

/// The robust covariance matching the fit: cluster-robust with clusters, HC3 otherwise.
pub(crate) fn vcov_of(fit: &CausalForestFit) -> Vcov<'_> {
    fit.clusters.as_deref().map_or(Vcov::Hc3, Vcov::Cluster)
}

/// Weight of row i (1 without sample weights).
pub(crate) fn weight(fit: &CausalForestFit, i: usize) -> f64 {
    fit.weights.as_ref().map_or(1.0, |w| w[i])
}

/// Standard error of a weighted mean from per-row influence terms `φ_i` (Σφ = 0): with clusters,
/// `sqrt(G/(G−1) Σ_g (Σ_{i∈g} φ_i)²)`, otherwise `sqrt(n/(n−1) Σ φ_i²)`.
pub(crate) fn influence_se(fit: &CausalForestFit, phi: &[f64]) -> f64 {
    match &fit.clusters {
        Some(cluster) => {
            let g = cluster.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
            let mut sums = vec![0.0; g];
            for (&c, &p) in cluster.iter().zip(phi) {
                sums[c as usize] += p;
            }
            let used = crate::ols::clusters_present(cluster, g) as f64;
            (used / (used - 1.0) * sums.iter().map(|s| s * s).sum::<f64>()).sqrt()
        }
        None => {
            let n = phi.len() as f64;
            (n / (n - 1.0) * phi.iter().map(|p| p * p).sum::<f64>()).sqrt()
        }
    }
}
