//! Cluster-robust variance of an arm mean when units are randomized in clusters.
//!
//! With clusters `c` of `n_c` units, per-cluster sums `S_c = Σ y` and `T_c = Σ x`, the
//! cluster-robust (CR1, Liang & Zeger 1986) variance of the mean of the residual `y − θx` in one
//! arm of `n` units and `G` clusters is
//! `G/(G−1) · Σ_c (S_c − θT_c − n_c (ȳ − θx̄))² / n²`,
//! which expands into sums over clusters of `n_c²`, `S_c²`, `T_c²`, `S_c T_c`, `n_c S_c` and
//! `n_c T_c`: a fixed-size summary, accumulated once all clusters are complete.

use serde::{Deserialize, Serialize};

/// Sums over the clusters of one arm (values relative to the arm's shifts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterMoments {
    /// Number of clusters.
    pub g: f64,
    /// `Σ n_c`: number of units.
    pub n: f64,
    /// `Σ S_c`: sum of `y` over units.
    pub s: f64,
    /// `Σ T_c`: sum of `x` over units.
    pub t: f64,
    /// `Σ n_c²`.
    pub nn: f64,
    /// `Σ S_c²`.
    pub ss: f64,
    /// `Σ T_c²`.
    pub tt: f64,
    /// `Σ S_c T_c`.
    pub st: f64,
    /// `Σ n_c S_c`.
    pub ns: f64,
    /// `Σ n_c T_c`.
    pub nt: f64,
}

impl ClusterMoments {
    /// Add one cluster with `n_c` units and sums `S_c`, `T_c`.
    pub fn push(&mut self, n_c: f64, s_c: f64, t_c: f64) {
        if n_c == 0.0 {
            return;
        }
        self.g += 1.0;
        self.n += n_c;
        self.s += s_c;
        self.t += t_c;
        self.nn += n_c * n_c;
        self.ss += s_c * s_c;
        self.tt += t_c * t_c;
        self.st += s_c * t_c;
        self.ns += n_c * s_c;
        self.nt += n_c * t_c;
    }

    /// CR1 variance of the arm mean of `y − θx` (NaN with fewer than two clusters).
    pub fn mean_variance(&self, theta: f64) -> f64 {
        if self.g < 2.0 || self.n == 0.0 {
            return f64::NAN;
        }
        let (yb, xb) = (self.s / self.n, self.t / self.n);
        // Σ (S_c − n_c ȳ)², Σ (T_c − n_c x̄)², Σ (S_c − n_c ȳ)(T_c − n_c x̄)
        let a = self.ss - 2.0 * yb * self.ns + yb * yb * self.nn;
        let c = self.tt - 2.0 * xb * self.nt + xb * xb * self.nn;
        let b = self.st - xb * self.ns - yb * self.nt + yb * xb * self.nn;
        let sum = (a - 2.0 * theta * b + theta * theta * c).max(0.0);
        self.g / (self.g - 1.0) * sum / (self.n * self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_direct_cr1_formula() {
        // Clusters of (y, x) values.
        let clusters: Vec<Vec<(f64, f64)>> = vec![
            vec![(1.0, 0.5), (2.0, 1.0), (0.5, 0.2)],
            vec![(3.0, 2.0)],
            vec![(1.5, 1.0), (2.5, 0.7)],
            vec![(0.0, -1.0), (1.0, 0.0), (2.0, 1.5), (0.7, 0.1)],
        ];
        let theta = 0.6;
        let mut m = ClusterMoments::default();
        for c in &clusters {
            m.push(c.len() as f64, c.iter().map(|v| v.0).sum(), c.iter().map(|v| v.1).sum());
        }
        let all: Vec<(f64, f64)> = clusters.iter().flatten().copied().collect();
        let n = all.len() as f64;
        let rbar = all.iter().map(|(y, x)| y - theta * x).sum::<f64>() / n;
        let direct: f64 =
            clusters.iter().map(|c| c.iter().map(|(y, x)| y - theta * x - rbar).sum::<f64>().powi(2)).sum::<f64>()
                * 4.0
                / 3.0
                / (n * n);
        assert!((m.mean_variance(theta) - direct).abs() < 1e-12 * direct);
        // Clusters of one unit: CR1 is (n/(n−1)) · Σ (r − r̄)² / n², the plug-in variance of the mean.
        let mut single = ClusterMoments::default();
        for (y, _) in &all {
            single.push(1.0, *y, 0.0);
        }
        let ybar = all.iter().map(|v| v.0).sum::<f64>() / n;
        let v = all.iter().map(|v| (v.0 - ybar).powi(2)).sum::<f64>() / (n - 1.0) / n;
        assert!((single.mean_variance(0.0) - v).abs() < 1e-12 * v);
    }
}
