//! The routing (response randomization) matrix of one cell and its inverse.
//!
//! For a cell (cluster `c`, arm `a`) with released response distribution `q̃`, a unit whose
//! level is `y` reports `y'` with probability
//!
//! ```text
//! Q[y', y] = (1 − λ)·1{y' = y} + λ·q̃(y')        (the paper's matrix Q_{c,a})
//! ```
//!
//! so `Q = (1 − λ)I + λ q̃ 1ᵀ`, each column a distribution. Its inverse is, by Sherman–Morrison
//! (`1ᵀq̃ = 1`), `Q⁻¹ = (I − λ q̃ 1ᵀ)/(1 − λ)`, and the paper's debiased outcome of a unit that
//! reported level `j`, `vᵀQ⁻¹e_j`, is `(v_j − λ·μ_q)/(1 − λ)` with `μ_q = Σ_y v_y q̃(y)`: its
//! expectation given the true level `y` is `v_y` exactly. Its conditional variance is
//!
//! ```text
//! Var(ŷ | y) = [λ(1 − λ)(v_y − μ_q)² + λ·s_q²] / (1 − λ)²,   s_q² = Σ_y q̃(y)(v_y − μ_q)²,
//! ```
//!
//! which, when `q̃` is the cell's own distribution, averages to `(1/(1 − λ)² − 1)` times the
//! cell's variance: the clustering term of the paper's Theorem 3.5.

use crate::error::{PrivacyError, Result};
use nalgebra::DMatrix;

/// The routing matrix `Q = (1 − λ)I + λ q̃ 1ᵀ` of one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingMatrix {
    lambda: f64,
    prior: Vec<f64>,
}

impl RoutingMatrix {
    /// The matrix of resampling probability `lambda` (in `[0, 1)`) and response distribution
    /// `prior` (non-negative, summing to 1 within 1e-9, at least 2 levels).
    pub fn new(lambda: f64, prior: Vec<f64>) -> Result<Self> {
        if !(lambda.is_finite() && (0.0..1.0).contains(&lambda)) {
            return Err(PrivacyError::parameter("lambda", lambda, "the resampling probability must be in [0, 1)"));
        }
        if prior.len() < 2 {
            return Err(PrivacyError::Mechanism(format!(
                "a response distribution has {} levels, expected at least 2",
                prior.len()
            )));
        }
        if let Some(j) = prior.iter().position(|p| !(p.is_finite() && *p >= 0.0)) {
            return Err(PrivacyError::Mechanism(format!(
                "response distribution level {} has probability {}: expected a finite number ≥ 0",
                j + 1,
                prior[j]
            )));
        }
        let total: f64 = prior.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(PrivacyError::Mechanism(format!("a response distribution sums to {total}, expected 1")));
        }
        Ok(RoutingMatrix { lambda, prior })
    }

    /// The resampling probability `λ`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The response distribution `q̃`.
    pub fn prior(&self) -> &[f64] {
        &self.prior
    }

    /// The number of levels.
    pub fn k(&self) -> usize {
        self.prior.len()
    }

    /// `Q[released, truth]`: the exact probability of reporting level `released` when the true
    /// level is `truth`.
    pub fn probability(&self, released: usize, truth: usize) -> f64 {
        let stay = if released == truth { 1.0 - self.lambda } else { 0.0 };
        stay + self.lambda * self.prior[released]
    }

    /// The matrix `Q` (rows: released level, columns: true level).
    pub fn matrix(&self) -> DMatrix<f64> {
        DMatrix::from_fn(self.k(), self.k(), |r, t| self.probability(r, t))
    }

    /// `Q⁻¹ = (I − λ q̃ 1ᵀ)/(1 − λ)` (Sherman–Morrison).
    pub fn inverse(&self) -> DMatrix<f64> {
        let s = 1.0 / (1.0 - self.lambda);
        DMatrix::from_fn(self.k(), self.k(), |r, c| {
            let id = if r == c { 1.0 } else { 0.0 };
            (id - self.lambda * self.prior[r]) * s
        })
    }

    /// The debiased value of each released level for a function `f` of the level:
    /// `fᵀQ⁻¹e_j = (f_j − λ·E_q̃ f)/(1 − λ)`, whose expectation given the true level `y` is `f_y`.
    pub fn debias(&self, f: &[f64]) -> Vec<f64> {
        let mean: f64 = self.prior.iter().zip(f).map(|(q, v)| q * v).sum();
        let s = 1.0 / (1.0 - self.lambda);
        f.iter().map(|v| (v - self.lambda * mean) * s).collect()
    }

    /// The mean `μ_q` and variance `s_q²` of the levels under `q̃`.
    pub fn prior_moments(&self, levels: &[f64]) -> (f64, f64) {
        let mean: f64 = self.prior.iter().zip(levels).map(|(q, v)| q * v).sum();
        let var: f64 = self.prior.iter().zip(levels).map(|(q, v)| q * (v - mean) * (v - mean)).sum();
        (mean, var)
    }

    /// `Var(ŷ | true level)` of the debiased outcome (module documentation).
    pub fn conditional_variance(&self, levels: &[f64], truth: usize) -> f64 {
        let (mean, var) = self.prior_moments(levels);
        let l = self.lambda;
        let d = levels[truth] - mean;
        (l * (1.0 - l) * d * d + l * var) / ((1.0 - l) * (1.0 - l))
    }

    /// The exact ε of this release: `max over released y' and true y, y''` of
    /// `ln(Q[y', y]/Q[y', y''])`. A row of `Q` takes the value `1 − λ + λq̃(y')` on the diagonal
    /// and `λq̃(y')` elsewhere, so the maximum over `y, y''` is their ratio; infinite when a
    /// level can only be reported by itself (`λ = 0` or `q̃(y') = 0`).
    pub fn epsilon(&self) -> f64 {
        let mut worst = 0.0f64;
        for &q in &self.prior {
            let low = self.lambda * q;
            let high = 1.0 - self.lambda + low;
            if low <= 0.0 {
                return f64::INFINITY;
            }
            worst = worst.max((high / low).ln());
        }
        worst
    }

    /// The exact `δ` of this release at `epsilon`: the largest hockey-stick divergence
    /// `Σ_{y'} max(0, Q[y', y] − e^ε Q[y', y''])` over pairs of true levels. Only `y' = y` can
    /// contribute, so it is `max(0, (1 − λ) − (e^ε − 1)·λ·min q̃)`.
    pub fn delta(&self, epsilon: f64) -> f64 {
        let min_q = self.prior.iter().copied().fold(f64::INFINITY, f64::min);
        ((1.0 - self.lambda) - epsilon.max(0.0).exp_m1() * self.lambda * min_q).max(0.0)
    }
}

/// Relative slack of the floor test in [`floor_distribution`].
const FLOOR_SLACK: f64 = 1e-12;

/// The released response distribution from non-negative weights (the noisy empirical
/// distribution): `q̃(y) = max(γ, c·w⁺(y))` with `w⁺ = max(w, 0)` and `c ≥ 0` chosen so that
/// `Σ q̃ = 1`. This is the paper's truncation of the noisy probabilities to `[γ, 1]` followed by
/// renormalisation, done so that the floor stays exactly `γ` after renormalising (scaling only
/// the levels above the floor); that keeps the per-unit ε at exactly `ln(1 + (1 − λ)/(λγ))`.
/// `γ ≥ 1/K`, or weights all zero, give the uniform distribution.
pub fn floor_distribution(weights: &[f64], gamma: f64) -> Vec<f64> {
    let k = weights.len();
    let kf = k as f64;
    let w: Vec<f64> = weights.iter().map(|&x| if x > 0.0 { x } else { 0.0 }).collect();
    let total: f64 = w.iter().sum();
    if gamma * kf >= 1.0 - 1e-12 || total <= 0.0 || !total.is_finite() {
        return vec![1.0 / kf; k];
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
    // m levels above the floor: c = (1 − (K − m)γ)/S_m, consistent when the m-th largest
    // weight is lifted to at least γ and the next one is not above it.
    let mut prefix = 0.0;
    let mut chosen = None;
    for m in 1..=k {
        prefix += w[order[m - 1]];
        if prefix <= 0.0 {
            continue;
        }
        let c = (1.0 - (k - m) as f64 * gamma) / prefix;
        // A relative slack for the boundary case `c·w = γ` (the level is exactly at the
        // floor, and both `m − 1` and `m` are solutions): proportions of integer counts reach it
        // exactly, and rounding would otherwise reject both.
        let lifted = c * w[order[m - 1]] >= gamma * (1.0 - FLOOR_SLACK);
        let next_below = m == k || c * w[order[m]] <= gamma * (1.0 + FLOOR_SLACK);
        if lifted && next_below {
            chosen = Some(c);
            break;
        }
    }
    let c = chosen.unwrap_or_else(|| (1.0 - (k - 1) as f64 * gamma) / w[order[0]]);
    w.iter().map(|&x| (c * x).max(gamma)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_the_inverse() {
        let r = RoutingMatrix::new(0.7, vec![0.1, 0.2, 0.3, 0.4]).unwrap();
        let q = r.matrix();
        let closed = r.inverse();
        let numeric = q.clone().try_inverse().unwrap();
        assert!((closed.clone() - numeric).amax() < 1e-12);
        assert!((q * closed - DMatrix::identity(4, 4)).amax() < 1e-12);
        // Columns of Q are distributions.
        for t in 0..4 {
            let s: f64 = (0..4).map(|j| r.probability(j, t)).sum();
            assert!((s - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn debiased_values_are_unbiased_and_variance_is_exact() {
        let levels = [0.0, 1.0, 2.5, 4.0];
        let r = RoutingMatrix::new(0.6, vec![0.4, 0.3, 0.2, 0.1]).unwrap();
        let w = r.debias(&levels);
        // v^T Q^{-1} e_j equals the closed form.
        let inv = r.inverse();
        for j in 0..4 {
            let via_matrix: f64 = (0..4).map(|i| levels[i] * inv[(i, j)]).sum();
            assert!((via_matrix - w[j]).abs() < 1e-12);
        }
        for t in 0..4 {
            let mean: f64 = (0..4).map(|j| r.probability(j, t) * w[j]).sum();
            let second: f64 = (0..4).map(|j| r.probability(j, t) * w[j] * w[j]).sum();
            assert!((mean - levels[t]).abs() < 1e-12);
            assert!((second - mean * mean - r.conditional_variance(&levels, t)).abs() < 1e-10);
        }
    }

    #[test]
    fn epsilon_is_the_largest_likelihood_ratio() {
        let r = RoutingMatrix::new(0.4, vec![0.05, 0.15, 0.3, 0.5]).unwrap();
        let mut brute = 0.0f64;
        for out in 0..4 {
            for a in 0..4 {
                for b in 0..4 {
                    brute = brute.max((r.probability(out, a) / r.probability(out, b)).ln());
                }
            }
        }
        assert!((brute - r.epsilon()).abs() < 1e-14);
        assert!((r.epsilon() - (1.0f64 + 0.6 / (0.4 * 0.05)).ln()).abs() < 1e-14);
        assert_eq!(r.delta(r.epsilon() + 1e-12), 0.0);
        assert!((r.delta(0.0) - 0.6).abs() < 1e-12);
        // The closed form against the hockey-stick divergence summed over released values.
        for eps in [0.0, 0.5, 1.5, 2.5, 3.0] {
            let e = f64::exp(eps);
            let mut brute = 0.0f64;
            for a in 0..4 {
                for b in 0..4 {
                    if a != b {
                        let d: f64 = (0..4).map(|o| (r.probability(o, a) - e * r.probability(o, b)).max(0.0)).sum();
                        brute = brute.max(d);
                    }
                }
            }
            assert!((brute - r.delta(eps)).abs() < 1e-14, "{eps}: {brute} vs {}", r.delta(eps));
        }
        assert!(RoutingMatrix::new(0.0, vec![0.5, 0.5]).unwrap().epsilon().is_infinite());
    }

    #[test]
    fn floor_keeps_gamma_exactly() {
        let q = floor_distribution(&[0.7, 0.0, -0.1, 0.3, 0.01], 0.05);
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(q[1], 0.05);
        assert_eq!(q[2], 0.05);
        assert_eq!(q[4], 0.05);
        assert!((q[0] / q[3] - 0.7 / 0.3).abs() < 1e-12);
        assert_eq!(floor_distribution(&[0.3, 0.7], 0.5), vec![0.5, 0.5]);
        assert_eq!(floor_distribution(&[-1.0, -2.0, 0.0], 0.1), vec![1.0 / 3.0; 3]);
        // Already above the floor everywhere: proportional.
        let q = floor_distribution(&[0.2, 0.3, 0.5], 0.1);
        assert!((q[0] - 0.2).abs() < 1e-15 && (q[2] - 0.5).abs() < 1e-15);
        // A bin lifted to the floor changes the scale of the others.
        let q = floor_distribution(&[0.96, 0.04, 0.0], 0.05);
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(q[1], 0.05);
        assert_eq!(q[2], 0.05);
        assert!((q[0] - 0.9).abs() < 1e-15);
        // A level exactly at the floor after scaling (integer counts reach it): here
        // c = (1 − 5γ)/1.36 and c·0.08 = γ = 1/22 exactly, so both 5 and 6 lifted levels solve it.
        let counts = [20.0, 7.0, 5.0, 37.0, 3.0, 41.0, 10.0, 12.0, 3.0, 50.0, 0.0];
        let w: Vec<f64> = counts.iter().map(|c| c / 125.0).collect();
        let q = floor_distribution(&w, 0.5 / 11.0);
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{q:?}");
        assert!(q.iter().all(|&x| x >= 0.5 / 11.0));
        assert!((q[9] / q[5] - 50.0 / 41.0).abs() < 1e-12);
        // Random integer counts, scaled by a cell size they do not sum to (noisy counts).
        let mut s = 12345u64;
        for _ in 0..20_000 {
            let w: Vec<f64> = (0..11)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s % 60) as f64 / 125.0
                })
                .collect();
            let q = floor_distribution(&w, 0.5 / 11.0);
            assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{w:?} -> {q:?}");
        }
    }

    #[test]
    fn bad_routing_inputs() {
        assert!(RoutingMatrix::new(1.0, vec![0.5, 0.5]).unwrap_err().to_string().starts_with("lambda = 1"));
        assert!(RoutingMatrix::new(0.5, vec![0.5, 0.6]).is_err());
        assert!(RoutingMatrix::new(0.5, vec![1.0]).is_err());
    }
}
