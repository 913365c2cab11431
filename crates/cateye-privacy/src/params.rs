//! The mechanism's parameters and its privacy accounting.
//!
//! The Cluster-DP mechanism (the paper's Algorithm 2, "Cluster-DP") has three parameters:
//!
//! * `λ` (`lambda`), the probability that a unit's outcome is *resampled* from its cluster's
//!   response distribution rather than reported as is;
//! * `γ` (`gamma`), the floor every level's probability in that distribution is held at,
//!   `0 < γ ≤ 1/K`;
//! * `σ` (`sigma`), the scale of the noise on the cluster's empirical distribution. The paper
//!   adds independent `Laplace(σ/n_{a,c})` noise to each of the `K` probabilities of the cell of
//!   cluster `c` and arm `a` (with `n_{a,c}` units), i.e. `Laplace(σ)` on each count; this crate
//!   adds its integer form, discrete Laplace noise `P(k) ∝ e^{−|k|/σ}` on each count
//!   ([`crate::discrete_laplace_pmf`]), so that the published distributions carry no
//!   floating-point side channel (see [`crate::privatize`]).
//!
//! # Privacy (label differential privacy, the paper's Theorem 3.1)
//!
//! Neighbouring data sets differ in one unit's outcome; arms and clusters are public. The
//! mechanism runs in two steps, and ε adds up over them (basic composition):
//!
//! * **the response distributions**: changing one outcome moves one unit between two levels of
//!   one cell's counts, an L1 change of 2 (of `2/n_{a,c}` on the proportions); discrete Laplace
//!   noise with `P(k) ∝ e^{−|k|/σ}` makes that release `ε_prior = 2/σ`-DP (the likelihood ratio
//!   is `e^{(Σ_y |Ñ_y − N'_y| − |Ñ_y − N_y|)/σ} ≤ e^{2/σ}`, attained with probability above 1/4,
//!   so the bound is exact; continuous `Laplace(σ)` noise would give the same value). Clipping,
//!   flooring and renormalisation are post-processing. With the uniform prior (`γ = 1/K`)
//!   nothing is computed from the data and `ε_prior = 0`.
//! * **the per-unit release**: given the released distribution `q̃`, the unit reports level `y'`
//!   with probability `Q[y', y] = (1 − λ)·1{y' = y} + λ·q̃(y')` when its level is `y`. The largest
//!   likelihood ratio of a released value between two true levels is
//!   `Q[y', y']/Q[y', y''] = 1 + (1 − λ)/(λ·q̃(y'))`, largest where `q̃` is smallest; `q̃ ≥ γ` by
//!   construction and `q̃(y') = γ` is reached (for a level no unit of the cell has, whenever the
//!   noise does not lift it), so `ε_response = ln(1 + (1 − λ)/(λγ))` exactly — the pure-DP value
//!   of `ε̃` in Theorem 3.1.
//!
//! The total is `ε = ε_prior + ε_response`. Theorem 3.1 also allows a smaller `ε̃` for the
//! release step at a `δ > 0`, with `δ = 0` exactly at `ε̃ = ln(1 + (1 − λ)/(λγ))`;
//! [`PrivacyAccount::response_delta`] gives the exact `δ` of the release step at any `ε̃`
//! (`δ = max(0, (1 − λ) − (e^ε̃ − 1)·λ·γ)`, the hockey-stick divergence at the worst `q̃`; our
//! derivation). This crate's guarantees and [`MechanismParams::for_epsilon`] are pure ε.
//!
//! ## What we could and could not check against the paper
//!
//! The full text (arXiv 2308.00957v3) was not readable here: the stored copies of its page
//! stop within the introduction. The mechanism and theorem numbers above come from a
//! third-party summary of it, which states Theorem 3.1 as `(ε, δ)`-label DP with
//! `ε = min(1/σ, 2/γ) + ε̃` and `δ = 0` at `ε̃ = ln(1 + (1 − λ)/(λγ))`. We keep `2/σ` for the
//! distributions: releasing them is a Laplace mechanism of L1 sensitivity 2 on the counts, and
//! the ratio `e^{2/σ}` is attained (the tests check it), so `1/σ` would under-count unless the
//! paper's neighbouring relation or noise scale differs from the summary's; and no bound in
//! `γ` alone can cover a published distribution (at `σ = 0` it reveals the exact counts).
//!
//! # The special cases
//!
//! * [`PriorKind::ClusterFree`]: one distribution per arm over all units (the paper's
//!   "Cluster-Free-DP", Cluster-DP with a single cluster);
//! * [`PriorKind::Uniform`]: the uniform distribution on the levels, `γ = 1/K`, no noise and no
//!   `ε_prior` (the paper's "Uniform-Prior-DP", generalising Kancharla & Kang 2021); this is
//!   K-ary randomized response: a unit keeps its level with probability `e^ε/(e^ε + K − 1)`.
//!
//! A note on the choice of `γ` under *pure* ε: for a fixed `ε_response`, lowering `γ = g/K` below
//! `1/K` forces `λ` up (`λ = 1/(1 + γ(e^ε − 1))`). The floor alone gives every redraw a mass `γ`
//! on each level, so a variance of order `g` times the uniform prior's whatever the clusters;
//! in the high-privacy regime `1/(1 − λ)²` grows like `1/g²`, so the estimator's variance grows
//! like `1/g`, and at large ε the two cancel to first order (`λ·E_q̃[(y' − y)²] ≈
//! K·mean_ℓ (ℓ − y)²/e^ε` for every `g`), so homogeneous clusters cannot buy back the floor nor
//! the budget spent on the distributions. Measured with the exact conditional variance of
//! actual releases (noise included, 10 releases each) on the simulation population of the
//! crate's tests (8 clusters, `K = 11`), the best cluster prior over prior shares 0.02–0.5 and
//! `γK` 0.02–0.99 was always the most uniform one tried (share 0.02, `γK = 0.99`) and still 7–9%
//! above the uniform prior at ε = 0.2, 1 and 3 and 13% at ε = 6, with the within-cluster spread
//! 0.8, 0.3 or 0 (every cluster constant). The cluster prior's gain is over the cluster-free
//! prior at equal parameters (Theorem 3.5); the paper's favourable comparisons at equal budget
//! must rest on another accounting (its `(ε̃, δ)` form, or equal `λ`), which we could not read.
//! Compare designs with [`crate::variance_formula`] before choosing.

use crate::error::{float_or_inf, PrivacyError, Result};
use crate::grid::{OutcomeGrid, Rounding};
use serde::{Deserialize, Serialize};

/// Which response distribution a resampled outcome is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorKind {
    /// The noisy empirical distribution of the unit's cluster and arm (Cluster-DP).
    Cluster,
    /// The noisy empirical distribution of the unit's arm over all clusters (Cluster-Free-DP).
    ClusterFree,
    /// The uniform distribution on the levels (Uniform-Prior-DP).
    Uniform,
}

impl std::str::FromStr for PriorKind {
    type Err = cateye_stats::UnknownChoice;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "cluster" => Ok(PriorKind::Cluster),
            "cluster-free" => Ok(PriorKind::ClusterFree),
            "uniform" => Ok(PriorKind::Uniform),
            _ => Err(cateye_stats::UnknownChoice::new("prior", s, "cluster, cluster-free or uniform")),
        }
    }
}

/// The mechanism's parameters (see the module documentation for their meaning).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MechanismParams {
    /// The response distribution resampled outcomes come from.
    pub prior: PriorKind,
    /// The resampling probability `λ`, in `[0, 1)`; `0` releases the outcomes unchanged (no
    /// privacy).
    pub lambda: f64,
    /// The floor `γ` of the response distribution, in `(0, 1/K]`; `1/K` makes it uniform.
    pub gamma: f64,
    /// The noise scale `σ ≥ 0`: discrete Laplace noise `P(k) ∝ e^{−|k|/σ}` on each count of the
    /// cell of cluster `c` and arm `a` (the paper's `Laplace(σ/n_{a,c})` on each probability, in
    /// integer form); `0` adds none (no privacy for the distributions unless they are uniform).
    /// Unused by the uniform prior.
    pub sigma: f64,
}

/// How [`MechanismParams::for_epsilon`] spends a budget on the cluster and cluster-free priors.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetSplit {
    /// The share of ε spent on the response distributions, in `(0, 1)`; `σ = 2/(share·ε)`.
    pub prior_share: f64,
    /// `γ` as a fraction of `1/K`, in `(0, 1]`; 1 makes the prior uniform (then all of ε goes to
    /// the release step).
    pub gamma_fraction: f64,
}

impl Default for BudgetSplit {
    /// A quarter of the budget on the distributions, `γ = 1/(2K)`.
    fn default() -> Self {
        BudgetSplit { prior_share: 0.25, gamma_fraction: 0.5 }
    }
}

/// The privacy of a mechanism: `ε = ε_prior + ε_response` (module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivacyAccount {
    /// The total label-DP ε (infinite when `λ = 0`, or `σ = 0` with a data-dependent prior).
    #[serde(with = "float_or_inf")]
    pub epsilon: f64,
    /// ε of releasing the response distributions: `2/σ`, or 0 for the uniform prior.
    #[serde(with = "float_or_inf")]
    pub epsilon_prior: f64,
    /// ε of the per-unit release, `ln(1 + (1 − λ)/(λγ))`: the largest log likelihood ratio of a
    /// released value between two true outcomes, attained.
    #[serde(with = "float_or_inf")]
    pub epsilon_response: f64,
    /// The number of levels `K`.
    pub k: usize,
    /// The parameters accounted for.
    pub params: MechanismParams,
}

impl PrivacyAccount {
    /// Whether the mechanism is private at all (finite ε).
    pub fn is_private(&self) -> bool {
        self.epsilon.is_finite()
    }

    /// The exact `δ` of the per-unit release at a smaller `ε̃ ≥ 0` (the `(ε̃, δ)` form of
    /// Theorem 3.1): `max(0, (1 − λ) − (e^ε̃ − 1)·λ·γ)`, zero from `ε̃ = epsilon_response` on.
    pub fn response_delta(&self, epsilon_tilde: f64) -> f64 {
        let MechanismParams { lambda, gamma, .. } = self.params;
        if epsilon_tilde.is_nan() {
            return f64::NAN;
        }
        ((1.0 - lambda) - epsilon_tilde.max(0.0).exp_m1() * lambda * gamma).max(0.0)
    }
}

/// Relative tolerance on `γ·K = 1` for the uniform prior.
const UNIFORM_TOL: f64 = 1e-9;

impl MechanismParams {
    /// Cluster-DP with the parameters given.
    pub fn cluster(lambda: f64, gamma: f64, sigma: f64) -> Self {
        MechanismParams { prior: PriorKind::Cluster, lambda, gamma, sigma }
    }

    /// Cluster-Free-DP with the parameters given.
    pub fn cluster_free(lambda: f64, gamma: f64, sigma: f64) -> Self {
        MechanismParams { prior: PriorKind::ClusterFree, lambda, gamma, sigma }
    }

    /// Uniform-Prior-DP on `k` levels (`γ = 1/k`, no noise).
    pub fn uniform(lambda: f64, k: usize) -> Self {
        MechanismParams { prior: PriorKind::Uniform, lambda, gamma: 1.0 / k.max(1) as f64, sigma: 0.0 }
    }

    /// Whether the response distribution does not depend on the data: the uniform prior, or
    /// `γ = 1/K`, which floors every level at `1/K`.
    pub fn prior_is_uniform(&self, k: usize) -> bool {
        self.prior == PriorKind::Uniform || self.gamma * k as f64 >= 1.0 - UNIFORM_TOL
    }

    /// Checks the parameters for a grid of `k` levels; each error names the parameter.
    pub fn validate(&self, k: usize) -> Result<()> {
        if k < 2 {
            return Err(PrivacyError::parameter("levels", k as f64, "at least 2 outcome levels are needed"));
        }
        if !(self.lambda.is_finite() && (0.0..1.0).contains(&self.lambda)) {
            return Err(PrivacyError::parameter(
                "lambda",
                self.lambda,
                "the resampling probability must be in [0, 1) (1 would release no information)",
            ));
        }
        let kf = k as f64;
        if !(self.gamma.is_finite() && self.gamma > 0.0 && self.gamma * kf <= 1.0 + UNIFORM_TOL) {
            return Err(PrivacyError::parameter(
                "gamma",
                self.gamma,
                format!("the floor of the response distribution must be in (0, 1/K] = (0, {}]", 1.0 / kf),
            ));
        }
        if self.prior == PriorKind::Uniform && (self.gamma * kf - 1.0).abs() > UNIFORM_TOL {
            return Err(PrivacyError::parameter(
                "gamma",
                self.gamma,
                format!("the uniform prior has gamma = 1/K = {}", 1.0 / kf),
            ));
        }
        if !(self.sigma.is_finite() && self.sigma >= 0.0) {
            return Err(PrivacyError::parameter("sigma", self.sigma, "the noise multiplier must be finite and ≥ 0"));
        }
        Ok(())
    }

    /// The privacy of these parameters on `k` levels (module documentation).
    pub fn account(&self, k: usize) -> Result<PrivacyAccount> {
        self.validate(k)?;
        let epsilon_prior = if self.prior_is_uniform(k) {
            0.0
        } else if self.sigma == 0.0 {
            f64::INFINITY
        } else {
            2.0 / self.sigma
        };
        let gamma = if self.prior_is_uniform(k) { 1.0 / k as f64 } else { self.gamma };
        let epsilon_response = response_epsilon(self.lambda, gamma);
        Ok(PrivacyAccount {
            epsilon: epsilon_prior + epsilon_response,
            epsilon_prior,
            epsilon_response,
            k,
            params: *self,
        })
    }

    /// The parameters spending exactly `epsilon` on `k` levels with the prior given: for the
    /// uniform prior all of it on the release step; otherwise `split.prior_share·ε` on the
    /// distributions (`σ = 2/(share·ε)`) and the rest on the release step, with
    /// `γ = split.gamma_fraction/K`; then `λ = 1/(1 + γ·(e^{ε_response} − 1))` inverts
    /// `ε_response = ln(1 + (1 − λ)/(λγ))`.
    pub fn for_epsilon(epsilon: f64, k: usize, prior: PriorKind, split: &BudgetSplit) -> Result<Self> {
        check_epsilon(epsilon)?;
        if k < 2 {
            return Err(PrivacyError::parameter("levels", k as f64, "at least 2 outcome levels are needed"));
        }
        let kf = k as f64;
        let params = match prior {
            PriorKind::Uniform => MechanismParams::uniform(lambda_for(epsilon, 1.0 / kf)?, k),
            PriorKind::Cluster | PriorKind::ClusterFree => {
                let f = split.gamma_fraction;
                if !(f.is_finite() && f > 0.0 && f <= 1.0) {
                    return Err(PrivacyError::parameter("gamma_fraction", f, "must be in (0, 1]"));
                }
                let gamma = if f == 1.0 { 1.0 / kf } else { f / kf };
                if f == 1.0 {
                    MechanismParams { prior, lambda: lambda_for(epsilon, gamma)?, gamma, sigma: 0.0 }
                } else {
                    let s = split.prior_share;
                    if !(s.is_finite() && s > 0.0 && s < 1.0) {
                        return Err(PrivacyError::parameter("prior_share", s, "must be in (0, 1)"));
                    }
                    let epsilon_prior = s * epsilon;
                    let sigma = sigma_for(epsilon_prior)?;
                    let lambda = lambda_for(epsilon - epsilon_prior, gamma)?;
                    MechanismParams { prior, lambda, gamma, sigma }
                }
            }
        };
        params.validate(k)?;
        Ok(params)
    }
}

/// `ln(1 + (1 − λ)/(λγ))`: the exact ε of the per-unit release with floor `γ` (infinite at
/// `λ = 0`).
pub fn response_epsilon(lambda: f64, gamma: f64) -> f64 {
    if lambda <= 0.0 {
        return f64::INFINITY;
    }
    ((1.0 - lambda) / (lambda * gamma)).ln_1p()
}

/// The resampling probability `λ = 1/(1 + γ(e^ε − 1))` whose release step is exactly
/// `epsilon_response`-DP with floor `γ`.
pub fn lambda_for(epsilon_response: f64, gamma: f64) -> Result<f64> {
    check_epsilon(epsilon_response)?;
    if !(gamma.is_finite() && gamma > 0.0 && gamma <= 1.0) {
        return Err(PrivacyError::parameter("gamma", gamma, "must be in (0, 1]"));
    }
    let lambda = 1.0 / (1.0 + gamma * epsilon_response.exp_m1());
    if !(lambda > 0.0 && lambda < 1.0) {
        return Err(PrivacyError::parameter(
            "lambda",
            lambda,
            format!(
                "ε = {epsilon_response} with gamma = {gamma} needs a resampling probability that rounds to {lambda} in \
                 double precision; choose a budget further from 0 and from infinity"
            ),
        ));
    }
    Ok(lambda)
}

/// The noise multiplier `σ = 2/ε` that makes the release of the response distributions
/// exactly `epsilon_prior`-DP.
pub fn sigma_for(epsilon_prior: f64) -> Result<f64> {
    check_epsilon(epsilon_prior)?;
    Ok(2.0 / epsilon_prior)
}

/// Refuses an ε that is not a finite number above 0, naming it.
pub fn check_epsilon(epsilon: f64) -> Result<()> {
    if epsilon.is_finite() && epsilon > 0.0 {
        Ok(())
    } else {
        Err(PrivacyError::Epsilon { value: epsilon })
    }
}

/// Everything that defines a release: the outcome grid, how outcomes are rounded onto it, and
/// the mechanism's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mechanism {
    /// The levels outcomes are clipped and rounded to.
    pub grid: OutcomeGrid,
    /// How an outcome between two levels becomes one.
    pub rounding: Rounding,
    /// `λ`, `γ`, `σ` and the prior.
    pub params: MechanismParams,
}

impl Mechanism {
    /// A mechanism from its parts, checked.
    pub fn new(grid: OutcomeGrid, rounding: Rounding, params: MechanismParams) -> Result<Self> {
        params.validate(grid.k())?;
        Ok(Mechanism { grid, rounding, params })
    }

    /// The mechanism spending exactly `epsilon` (see [`MechanismParams::for_epsilon`]).
    pub fn for_epsilon(
        grid: OutcomeGrid,
        rounding: Rounding,
        epsilon: f64,
        prior: PriorKind,
        split: &BudgetSplit,
    ) -> Result<Self> {
        let params = MechanismParams::for_epsilon(epsilon, grid.k(), prior, split)?;
        Ok(Mechanism { grid, rounding, params })
    }

    /// The privacy of this mechanism.
    pub fn account(&self) -> Result<PrivacyAccount> {
        self.params.account(self.grid.k())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_epsilon_round_trips() {
        for &eps in &[0.05, 0.5, 1.0, 3.0, 10.0, 30.0] {
            for &k in &[2usize, 5, 12, 100] {
                for prior in [PriorKind::Uniform, PriorKind::Cluster, PriorKind::ClusterFree] {
                    for split in [
                        BudgetSplit::default(),
                        BudgetSplit { prior_share: 0.1, gamma_fraction: 0.1 },
                        BudgetSplit { prior_share: 0.5, gamma_fraction: 1.0 },
                    ] {
                        let p = MechanismParams::for_epsilon(eps, k, prior, &split).unwrap();
                        let a = p.account(k).unwrap();
                        assert!((a.epsilon - eps).abs() <= 1e-12 * eps.max(1.0), "{eps} {k} {prior:?} {a:?}");
                        assert!(a.response_delta(a.epsilon_response) < 1e-14);
                    }
                }
            }
        }
    }

    #[test]
    fn uniform_is_k_ary_randomized_response() {
        let (eps, k) = (1.3f64, 7usize);
        let p = MechanismParams::for_epsilon(eps, k, PriorKind::Uniform, &BudgetSplit::default()).unwrap();
        let keep = 1.0 - p.lambda + p.lambda / k as f64;
        assert!((keep - eps.exp() / (eps.exp() + k as f64 - 1.0)).abs() < 1e-14);
    }

    #[test]
    fn bad_epsilon_is_named() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = MechanismParams::for_epsilon(bad, 5, PriorKind::Cluster, &BudgetSplit::default()).unwrap_err();
            assert!(matches!(e, PrivacyError::Epsilon { .. }));
            let text = e.to_string();
            assert!(text.contains(&format!("ε = {bad}")), "{text}");
        }
        let e = lambda_for(-0.5, 0.1).unwrap_err().to_string();
        assert!(e.contains("ε = -0.5"), "{e}");
        let e = sigma_for(f64::NAN).unwrap_err().to_string();
        assert!(e.contains("ε = NaN"), "{e}");
    }

    #[test]
    fn parameters_are_checked() {
        let e = MechanismParams::cluster(1.0, 0.1, 1.0).validate(5).unwrap_err().to_string();
        assert!(e.starts_with("lambda = 1"), "{e}");
        let e = MechanismParams::cluster(0.5, 0.3, 1.0).validate(5).unwrap_err().to_string();
        assert!(e.starts_with("gamma = 0.3"), "{e}");
        let e = MechanismParams::cluster(0.5, 0.1, -1.0).validate(5).unwrap_err().to_string();
        assert!(e.starts_with("sigma = -1"), "{e}");
        let e = MechanismParams { gamma: 0.1, ..MechanismParams::uniform(0.5, 5) }.validate(5).unwrap_err();
        assert!(e.to_string().contains("1/K"), "{e}");
    }

    #[test]
    fn accounting_special_values() {
        // No resampling: no privacy.
        let a = MechanismParams::cluster(0.0, 0.1, 2.0).account(5).unwrap();
        assert!(a.epsilon_response.is_infinite() && !a.is_private());
        // No noise on a data-dependent prior: the distributions are not private.
        let a = MechanismParams::cluster(0.5, 0.1, 0.0).account(5).unwrap();
        assert!(a.epsilon_prior.is_infinite());
        // gamma = 1/K: the prior is uniform whatever sigma, and costs nothing.
        let a = MechanismParams::cluster(0.5, 0.2, 0.0).account(5).unwrap();
        assert_eq!(a.epsilon_prior, 0.0);
        assert!((a.epsilon - (1.0f64 + 0.5 * 5.0 / 0.5).ln()).abs() < 1e-14);
        // The account serializes infinities as text and reads them back.
        let a = MechanismParams::cluster(0.0, 0.1, 0.0).account(5).unwrap();
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains(r#""epsilon":"inf""#), "{json}");
        let back: PrivacyAccount = serde_json::from_str(&json).unwrap();
        assert!(back.epsilon.is_infinite());
    }

    #[test]
    fn delta_of_the_approximate_form() {
        let p = MechanismParams::cluster(0.9, 0.01, 4.0);
        let a = p.account(10).unwrap();
        assert!((a.response_delta(0.0) - 0.1).abs() < 1e-15);
        let mid = a.response_delta(a.epsilon_response / 2.0);
        assert!(mid > 0.0 && mid < 0.1);
        assert_eq!(a.response_delta(a.epsilon_response * 1.0000001), 0.0);
    }
}
