//! The cluster-quality measure that predicts the variance penalty (the paper's Definition 3.4
//! and Theorem 3.5).
//!
//! For arm `a`, with `n` units, `n_c` in cluster `c` and `n_{a,c}` of them in arm `a`,
//!
//! ```text
//! φ_a = Σ_c (n_c/n)² · S²_c(a) / n_{a,c}
//! ```
//!
//! where `S²_c(a)` is the variance of the outcomes `y(a)` within cluster `c`: the within-cluster
//! part of the stratified estimator's variance. Theorem 3.5 bounds the variance the mechanism
//! adds by `(1/(1 − λ)² − 1)·(φ_0 + φ_1)` plus a term that does not depend on the clustering
//! (the cost of the noise and the floor on the distributions); with one cluster `φ_a` is
//! `S²(a)/n_a`, the cluster-free value. The ratio `(φ_0 + φ_1)/(φ_0^free + φ_1^free)` therefore
//! predicts the ratio of the Cluster-DP penalty to the cluster-free one: homogeneous clusters
//! (small within-cluster variance) give a small ratio. In super-population terms `S²_c(a)`
//! averages to `Var(y(a)) − Var(E[y(a) | c])`, reported as `within_share`, the within-cluster
//! share of the outcome variance.

use crate::clusters::Clusters;
use crate::error::{check_len, PrivacyError, Result};
use crate::release::arm_name;
use serde::{Deserialize, Serialize};

/// A value for each arm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmPair {
    /// The control arm's value.
    pub control: f64,
    /// The treated arm's value.
    pub treated: f64,
}

impl ArmPair {
    /// `control + treated`.
    pub fn sum(&self) -> f64 {
        self.control + self.treated
    }

    pub(crate) fn from_fn(mut f: impl FnMut(usize) -> f64) -> Self {
        ArmPair { control: f(0), treated: f(1) }
    }
}

/// The cluster-quality measure of a clustering (module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterQuality {
    /// `φ_a` of Definition 3.4, per arm.
    pub phi: ArmPair,
    /// `φ_a` with a single cluster, `S²(a)/n_a`.
    pub phi_cluster_free: ArmPair,
    /// `(φ_0 + φ_1)/(φ_0^free + φ_1^free)`: the predicted ratio of the variance the Cluster-DP
    /// mechanism adds to what the cluster-free one adds (below 1 for homogeneous clusters).
    pub penalty_ratio: f64,
    /// The within-cluster share of each arm's outcome variance,
    /// `Σ_c (n_{a,c} − 1)S²_c(a) / ((n_a − 1)S²(a))`.
    pub within_share: ArmPair,
    /// The number of clusters.
    pub clusters: usize,
}

impl ClusterQuality {
    /// The clustering term of Theorem 3.5's bound, `(1/(1 − λ)² − 1)·(φ_0 + φ_1)`.
    pub fn penalty_first_term(&self, lambda: f64) -> f64 {
        (1.0 / ((1.0 - lambda) * (1.0 - lambda)) - 1.0) * self.phi.sum()
    }

    /// The same term with a single cluster.
    pub fn penalty_first_term_cluster_free(&self, lambda: f64) -> f64 {
        (1.0 / ((1.0 - lambda) * (1.0 - lambda)) - 1.0) * self.phi_cluster_free.sum()
    }

    /// The measure from per-cell sizes and within-cell variances (`cells[c][a] = (n_{a,c},
    /// S²_c(a))`) and each arm's overall variance.
    pub(crate) fn from_cells(cells: &[[(usize, f64); 2]], arm_var: [f64; 2]) -> Self {
        let n: usize = cells.iter().map(|c| c[0].0 + c[1].0).sum();
        let nf = n as f64;
        let n_arm = [0, 1].map(|a| cells.iter().map(|c| c[a].0).sum::<usize>());
        let phi = ArmPair::from_fn(|a| {
            cells
                .iter()
                .map(|c| {
                    let w = (c[0].0 + c[1].0) as f64 / nf;
                    w * w * c[a].1 / c[a].0 as f64
                })
                .sum()
        });
        let phi_free = ArmPair::from_fn(|a| arm_var[a] / n_arm[a] as f64);
        let within = ArmPair::from_fn(|a| {
            let inside: f64 = cells.iter().map(|c| (c[a].0 as f64 - 1.0) * c[a].1).sum();
            inside / ((n_arm[a] as f64 - 1.0) * arm_var[a])
        });
        ClusterQuality {
            phi,
            phi_cluster_free: phi_free,
            penalty_ratio: phi.sum() / phi_free.sum(),
            within_share: within,
            clusters: cells.len(),
        }
    }
}

/// The cluster-quality measure of a clustering computed on outcomes in the clear.
///
/// **Not private**: for planning on historical, simulated or public data before a release.
/// The estimator ([`crate::dp_effect`]) reports the same measure estimated from released
/// outcomes. Every cluster needs at least 2 units in each arm.
pub fn cluster_quality(outcomes: &[f64], treated: &[bool], clusters: &Clusters) -> Result<ClusterQuality> {
    let n = outcomes.len();
    check_len("treated", treated.len(), n)?;
    check_len("cluster", clusters.len(), n)?;
    if let Some(row) = outcomes.iter().position(|v| !v.is_finite()) {
        return Err(PrivacyError::Value {
            column: "outcome",
            row: row + 1,
            value: outcomes[row],
            message: "missing or non-finite outcomes are not allowed".into(),
        });
    }
    let c = clusters.count();
    let mut sums = vec![[(0usize, 0.0f64); 2]; c];
    for ((&y, &t), &code) in outcomes.iter().zip(treated).zip(clusters.codes()) {
        let s = &mut sums[code as usize][usize::from(t)];
        s.0 += 1;
        s.1 += y;
    }
    let mut dev = vec![[0.0f64; 2]; c];
    for ((&y, &t), &code) in outcomes.iter().zip(treated).zip(clusters.codes()) {
        let (m, s) = sums[code as usize][usize::from(t)];
        let d = y - s / m as f64;
        dev[code as usize][usize::from(t)] += d * d;
    }
    let mut cells = Vec::with_capacity(c);
    for (code, s) in sums.iter().enumerate() {
        for (a, &(m, _)) in s.iter().enumerate() {
            if m < 2 {
                return Err(PrivacyError::cluster(
                    clusters.labels()[code].clone(),
                    format!("has {m} {} rows; the within-cluster variance needs at least 2 per arm", arm_name(a == 1)),
                ));
            }
        }
        cells.push([0, 1].map(|a| (s[a].0, dev[code][a] / (s[a].0 as f64 - 1.0))));
    }
    let arm_var = [false, true].map(|arm| {
        let ys: Vec<f64> = outcomes.iter().zip(treated).filter(|(_, &t)| t == arm).map(|(&y, _)| y).collect();
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        ys.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / (ys.len() as f64 - 1.0)
    });
    Ok(ClusterQuality::from_cells(&cells, arm_var))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homogeneous_clusters_have_a_small_ratio() {
        // Two clusters far apart, little spread inside.
        let mut y = Vec::new();
        let mut t = Vec::new();
        let mut c = Vec::new();
        for i in 0..200 {
            let cl = i % 2;
            y.push(cl as f64 * 10.0 + (i % 5) as f64 * 0.1);
            t.push(i % 4 < 2);
            c.push(if cl == 0 { "a" } else { "b" });
        }
        let q = cluster_quality(&y, &t, &Clusters::from_labels(&c).unwrap()).unwrap();
        assert!(q.penalty_ratio < 0.01, "{q:?}");
        assert!(q.within_share.control < 0.01);
        // One cluster: ratio 1, share 1.
        let q1 = cluster_quality(&y, &t, &Clusters::single(200)).unwrap();
        assert!((q1.penalty_ratio - 1.0).abs() < 1e-12 && (q1.within_share.treated - 1.0).abs() < 1e-12);
        assert!(q.penalty_first_term(0.5) < q.penalty_first_term_cluster_free(0.5));
    }

    #[test]
    fn a_cluster_with_one_unit_in_an_arm_is_named() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        let t = [true, false, false, true, true];
        let c = Clusters::from_labels(&["x", "x", "x", "y", "y"]).unwrap();
        let e = cluster_quality(&y, &t, &c).unwrap_err().to_string();
        assert!(e.contains("cluster 'x'") && e.contains("1 treated"), "{e}");
    }
}
