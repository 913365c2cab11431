//! Effects from outcomes released under label differential privacy: the Cluster-DP mechanism
//! of Javanmard, Mirrokni & Pouget-Abadie, "Improving the Variance of Differentially Private
//! Randomized Experiments through Clustering" (ICML 2025, PMLR 267:26946–26980; arXiv
//! 2308.00957), its special cases, the unbiased estimator that inverts it, its variance, the
//! privacy accounting and the cluster-quality measure.
//!
//! Algorithm, theorem and definition numbers below are those of arXiv v3 / the ICML version
//! (Algorithm 2: the mechanism; the estimator `τ̂_Q` with the routing matrices `Q_{c,a}`;
//! Theorem 3.1: privacy; Definition 3.4: cluster homogeneity `φ_a`; Theorem 3.5: the variance
//! gap). The derivations in these modules (the exact ε and δ, the conditional variance, the
//! closed-form variance, the floor that stays exact after renormalising) are our own and are
//! checked by the tests.
//!
//! # The mechanism in brief
//!
//! Outcomes are clipped to `[lo, hi]` and rounded onto a grid of `K` levels ([`OutcomeGrid`],
//! [`Rounding`]). For each cluster and arm the counts of the levels get discrete Laplace noise
//! (`P(k) ∝ e^{−|k|/σ}`, the integer form of the paper's `Laplace(σ/n_{a,c})` on the
//! probabilities, [`discrete_laplace_pmf`]), are clipped at 0, turned into proportions, floored
//! at `γ` and renormalised; each unit then
//! keeps its level with probability `1 − λ` and otherwise reports a level drawn from that
//! distribution ([`privatize`]). The released distributions are published with the outcomes
//! ([`ReleasedMechanism`]), and the estimator ([`dp_effect`]) inverts each cell's routing matrix
//! `Q = (1 − λ)I + λq̃1ᵀ` ([`RoutingMatrix`]) to debias every outcome. The release is
//! `ε = 2/σ + ln(1 + (1 − λ)/(λγ))` label-DP ([`MechanismParams::account`]), and
//! [`MechanismParams::for_epsilon`] gives the parameters of a target ε.
//!
//! | module | job |
//! |---|---|
//! | `grid` | the finite outcome space: clipping and rounding ([`OutcomeGrid`]) |
//! | `clusters` | the cluster column ([`Clusters`]) |
//! | `params` | parameters, special cases and the privacy accounting ([`MechanismParams`], [`PrivacyAccount`]) |
//! | `routing` | a cell's routing matrix, its inverse, exact ε and δ ([`RoutingMatrix`]) |
//! | `release` | the mechanism applied to a table ([`privatize`]) |
//! | `estimate` | the debiased effect with its variance and interval ([`dp_effect`]) |
//! | `quality` | the cluster-quality measure `φ_a` ([`ClusterQuality`]) |
//! | `variance` | the closed-form variance ([`variance_formula`]) |
//! | `error` | [`PrivacyError`]: what went wrong, naming the value |
#![deny(missing_docs)]

mod clusters;
mod error;
mod estimate;
mod grid;
mod params;
mod quality;
mod release;
mod routing;
mod variance;

pub use clusters::Clusters;
pub use error::{PrivacyError, Result};
pub use estimate::{dp_effect, ClusterEffect, DpEffect, EffectOptions, Weighting};
pub use grid::{OutcomeGrid, Rounding, MAX_LEVELS};
pub use params::{
    check_epsilon, lambda_for, response_epsilon, sigma_for, BudgetSplit, Mechanism, MechanismParams, PriorKind,
    PrivacyAccount,
};
pub use quality::{cluster_quality, ArmPair, ClusterQuality};
pub use release::{
    discrete_laplace_pmf, privatize, CellPrior, Release, ReleasedMechanism, BLOCK, PURPOSE_PRIOR, PURPOSE_RELEASE,
    PURPOSE_ROUND,
};
pub use routing::{floor_distribution, RoutingMatrix};
pub use variance::{conditional_mechanism_variance, variance_formula, VarianceFormula};
