//! Analysis of any CATE estimator's fit (see [`CateFit`]): the tools of grf's analysis layer
//! and of the deep dive, written once for the causal forest, the meta-learners and any model a
//! user brings.
//!
//! | module | computes |
//! |---|---|
//! | `fit` | [`CateFit`]: outcomes, treatment, nuisances and out-of-sample effects of one fit |
//! | `scores` | the doubly robust (AIPW) score, with its one clipping policy |
//! | `ate` | AIPW average effects (all, treated, control) and the overlap-weighted effect |
//! | `calibration` | the omnibus calibration test (best linear predictor) |
//! | `blp` | best linear projection of the effect on covariates, and on a dimension's levels |
//! | `rate` | rank-weighted average treatment effects (AUTOC, Qini) and the TOC curve |
//! | `distribution` | the distribution of estimated effects, its mixture over levels, the share negative |
//! | `variation` | systematic vs idiosyncratic effect variation (Ding, Feller & Miratrix 2019) |
//! | `subgroups` | depth ≤ 2 subgroup rules on doubly robust scores, re-estimated on held-out units |
//! | `isotonic` | weighted pool-adjacent-violators and causal isotonic calibration |
//! | `ols` | weighted least squares with HC3 or cluster-robust standard errors |
//! | `linear` | least squares on sparse level-indicator designs, cross-fitted predictions |
#![deny(missing_docs)]

mod ate;
mod blp;
mod calibration;
mod distribution;
mod fit;
mod isotonic;
mod linear;
mod ols;
mod rate;
mod scores;
mod subgroups;
mod variation;

pub use ate::{average_treatment_effect, AteEstimate, TargetSample};
pub use blp::{best_linear_projection, best_linear_projection_on_levels};
pub use calibration::{test_calibration, CalibrationTest};
pub use distribution::{
    cate_profile, effect_distribution, inverse_ecdf, mixture_by_level, mixture_histogram, sample_quantile, CateProfile,
    EffectDistribution, Histogram, Mixture, MixtureComponent, RankedEstimate, ScoreCalibration, QUANTILE_LEVELS,
};
pub use fit::CateFit;
pub use isotonic::{causal_isotonic_calibration, isotonic_regression, merge_small_blocks, IsotonicFit};
pub use linear::{cross_fitted_predictions, LevelColumn};
pub use ols::{weighted_ols, Coefficient, Vcov};
pub use rate::{rank_average_treatment_effect, Rate, RateEstimate, RateOptions, TocPoint};
pub use scores::{aipw_score, doubly_robust_scores, DoublyRobustScores, PROPENSITY_FLOOR};
pub use subgroups::{subgroup_rules, Condition, HoldoutTest, RuleFeature, Subgroup, SubgroupOptions, SubgroupRules};
pub use variation::{
    decompose_variation, explained_share, idiosyncratic_variation_test, Component, DecompositionOptions,
    VariationDecomposition, VariationFit,
};

pub use cateye_stats::InputError;

/// Result of the analysis tools.
pub type Result<T> = std::result::Result<T, InputError>;

/// The robust covariance matching the fit: cluster-robust with clusters, HC3 otherwise.
pub(crate) fn vcov_of<'a>(fit: &CateFit<'a>) -> Vcov<'a> {
    fit.clusters.map_or(Vcov::Hc3, Vcov::Cluster)
}

/// Standard error of a weighted mean from per-row influence terms `φ_i` (Σφ = 0): with clusters,
/// `sqrt(G/(G−1) Σ_g (Σ_{i∈g} φ_i)²)`, otherwise `sqrt(n/(n−1) Σ φ_i²)`.
pub(crate) fn influence_se(fit: &CateFit<'_>, phi: &[f64]) -> f64 {
    match fit.clusters {
        Some(cluster) => {
            let g = cluster.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
            let mut sums = vec![0.0; g];
            for (&c, &p) in cluster.iter().zip(phi) {
                sums[c as usize] += p;
            }
            let used = ols::clusters_present(cluster, g) as f64;
            (used / (used - 1.0) * sums.iter().map(|s| s * s).sum::<f64>()).sqrt()
        }
        None => {
            let n = phi.len() as f64;
            (n / (n - 1.0) * phi.iter().map(|p| p * p).sum::<f64>()).sqrt()
        }
    }
}
