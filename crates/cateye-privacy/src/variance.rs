//! The closed-form variance of the debiased stratified estimator, for comparison with what a
//! release gives and for choosing parameters on planning data.
//!
//! For a design that assigns `n_{1,c}` of the `n_c` units of each cluster `c` to treatment
//! completely at random, with potential outcomes `y_i(0), y_i(1)` on the grid, weights
//! `w_c = n_c/n`, and a response distribution `q_{a,c}` per cell that does not depend on the
//! assignment,
//!
//! ```text
//! Var(τ̂_Q) = Σ_c w_c² [ S²_c(1)/n_{1,c} + S²_c(0)/n_{0,c} − S²_c(τ)/n_c ]              (design)
//!          + Σ_c w_c² Σ_a (1/n_{a,c}) · mean_{i∈c} [λ(1−λ)(y_i(a) − μ_{q,a,c})² + λ s²_{q,a,c}]/(1−λ)²
//! ```
//!
//! (the mechanism's part: each unit of cell `(a, c)` adds its conditional variance
//! ([`crate::RoutingMatrix::conditional_variance`]) with probability `n_{a,c}/n_c`). With the
//! uniform prior `q` is fixed and this is exact. With the cluster and cluster-free priors the
//! released `q̃` depends on the data through the empirical distribution, its Laplace noise and
//! the floor; the formula then plugs in the cluster's own distribution of `y(a)` floored at `γ`
//! (the noise-free limit). At `γ → 0` each cell's prior is then the cell's own distribution and
//! the mechanism's part is `(1/(1 − λ)² − 1)·Σ_c w_c² Σ_a ((n_c − 1)/n_c)·S²_c(a)/n_{a,c}`, the
//! clustering term `(1/(1 − λ)² − 1)·(φ_0 + φ_1)` of the paper's Theorem 3.5 up to the factor
//! `(n_c − 1)/n_c`; the bound's second term is the cost of the noise and the floor.
//! [`conditional_mechanism_variance`] gives the mechanism's part exactly for a given release.

use crate::clusters::Clusters;
use crate::error::{check_len, PrivacyError, Result};
use crate::estimate::{level_indices, routing_of_cells, Weighting};
use crate::params::{Mechanism, PriorKind};
use crate::quality::ArmPair;
use crate::release::{arm_name, ReleasedMechanism};
use crate::routing::{floor_distribution, RoutingMatrix};
use serde::{Deserialize, Serialize};

/// The variance of the stratified debiased estimator under a design (module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VarianceFormula {
    /// The finite-population average treatment effect on the grid, `mean(y(1) − y(0))`.
    pub ate: f64,
    /// The design's variance: that of the non-private stratified difference in means.
    pub design: f64,
    /// The mechanism's expected added variance (exact for the uniform prior; at the noise-free
    /// cluster distributions otherwise).
    pub mechanism: f64,
    /// `design + mechanism`.
    pub total: f64,
    /// `φ_a` of Definition 3.4 on the potential outcomes.
    pub phi: ArmPair,
    /// Theorem 3.5's clustering term, `(1/(1 − λ)² − 1)·(φ_0 + φ_1)`.
    pub penalty_first_term: f64,
}

/// The closed-form variance of the stratified debiased estimator (module documentation).
/// `y0` and `y1` are every unit's potential outcomes, on the grid of `mechanism`; `treated` is
/// one assignment, whose count of treated units per cluster defines the design.
pub fn variance_formula(
    y0: &[f64],
    y1: &[f64],
    treated: &[bool],
    clusters: &Clusters,
    mechanism: &Mechanism,
) -> Result<VarianceFormula> {
    let n = y0.len();
    check_len("y1", y1.len(), n)?;
    check_len("treated", treated.len(), n)?;
    check_len("cluster", clusters.len(), n)?;
    mechanism.params.validate(mechanism.grid.k())?;
    let grid = &mechanism.grid;
    let levels = grid.levels();
    let k = grid.k();
    let i0 = level_indices("y0", y0, grid)?;
    let i1 = level_indices("y1", y1, grid)?;
    let pot = [&i0, &i1];
    let c = clusters.count();
    let codes = clusters.codes();
    let lambda = mechanism.params.lambda;

    let mut n_c = vec![0usize; c];
    let mut n_ac = vec![[0usize; 2]; c];
    for (&t, &code) in treated.iter().zip(codes) {
        n_c[code as usize] += 1;
        n_ac[code as usize][usize::from(t)] += 1;
    }
    for (code, s) in n_ac.iter().enumerate() {
        if s[0] == 0 || s[1] == 0 || n_c[code] < 2 {
            return Err(PrivacyError::cluster(
                clusters.labels()[code].clone(),
                format!("has {} treated and {} control units; the design needs both arms in every cluster", s[1], s[0]),
            ));
        }
    }

    // Potential-outcome distributions per cluster and overall, for the priors.
    let mut hist = vec![[vec![0.0f64; k], vec![0.0f64; k]]; c];
    let mut all = [vec![0.0f64; k], vec![0.0f64; k]];
    for i in 0..n {
        for a in 0..2 {
            hist[codes[i] as usize][a][pot[a][i]] += 1.0;
            all[a][pot[a][i]] += 1.0;
        }
    }
    let params = mechanism.params;
    let prior_of = |counts: &[f64]| -> Vec<f64> {
        if params.prior_is_uniform(k) {
            vec![1.0 / k as f64; k]
        } else {
            let total: f64 = counts.iter().sum();
            floor_distribution(&counts.iter().map(|x| x / total).collect::<Vec<_>>(), params.gamma)
        }
    };
    let free = [prior_of(&all[0]), prior_of(&all[1])];

    let nf = n as f64;
    let mut design = 0.0;
    let mut mech = 0.0;
    let mut phi = [0.0f64; 2];
    let mut ate = 0.0;
    for i in 0..n {
        ate += levels[i1[i]] - levels[i0[i]];
    }
    ate /= nf;
    // Within-cluster moments of y(0), y(1) and τ.
    let mut sum = vec![[0.0f64; 3]; c];
    for i in 0..n {
        let s = &mut sum[codes[i] as usize];
        s[0] += levels[i0[i]];
        s[1] += levels[i1[i]];
        s[2] += levels[i1[i]] - levels[i0[i]];
    }
    let mut dev = vec![[0.0f64; 3]; c];
    for i in 0..n {
        let code = codes[i] as usize;
        let m = n_c[code] as f64;
        let vals = [levels[i0[i]], levels[i1[i]], levels[i1[i]] - levels[i0[i]]];
        for j in 0..3 {
            let d = vals[j] - sum[code][j] / m;
            dev[code][j] += d * d;
        }
    }
    let routes: Vec<[RoutingMatrix; 2]> = (0..c)
        .map(|code| {
            [0, 1].map(|a| {
                let q = match params.prior {
                    PriorKind::Cluster => prior_of(&hist[code][a]),
                    PriorKind::ClusterFree | PriorKind::Uniform => free[a].clone(),
                };
                RoutingMatrix::new(lambda, q).expect("a floored distribution")
            })
        })
        .collect();
    let mut cond = vec![[0.0f64; 2]; c];
    for i in 0..n {
        let code = codes[i] as usize;
        for a in 0..2 {
            cond[code][a] += routes[code][a].conditional_variance(levels, pot[a][i]);
        }
    }
    for code in 0..c {
        let m = n_c[code] as f64;
        let w = m / nf;
        let s2 = dev[code].map(|d| d / (m - 1.0));
        let [n0, n1] = n_ac[code].map(|x| x as f64);
        design += w * w * (s2[1] / n1 + s2[0] / n0 - s2[2] / m);
        mech += w * w * (cond[code][0] / m / n0 + cond[code][1] / m / n1);
        phi[0] += w * w * s2[0] / n0;
        phi[1] += w * w * s2[1] / n1;
    }
    let phi = ArmPair { control: phi[0], treated: phi[1] };
    Ok(VarianceFormula {
        ate,
        design,
        mechanism: mech,
        total: design + mech,
        phi,
        penalty_first_term: (1.0 / ((1.0 - lambda) * (1.0 - lambda)) - 1.0) * phi.sum(),
    })
}

/// The variance the mechanism adds to the estimator given the assignment and a release's
/// distributions, exactly: `Σ_cells weight² · Σ_{i∈cell} Var(ŷ_i | y_i, q̃)/n_cell²` with the
/// stratified or pooled weights. `outcomes` are the true outcomes on the release's grid (after
/// rounding). Averaged over releases, it is the mechanism's share of the variance.
pub fn conditional_mechanism_variance(
    outcomes: &[f64],
    treated: &[bool],
    clusters: &Clusters,
    released: &ReleasedMechanism,
    weighting: Weighting,
) -> Result<f64> {
    let n = outcomes.len();
    check_len("treated", treated.len(), n)?;
    check_len("cluster", clusters.len(), n)?;
    released.validate()?;
    let grid = &released.mechanism.grid;
    let idx = level_indices("outcome", outcomes, grid)?;
    let c = clusters.count();
    let mut present = vec![[0usize; 2]; c];
    for (&t, &code) in treated.iter().zip(clusters.codes()) {
        present[code as usize][usize::from(t)] += 1;
    }
    let routes = routing_of_cells(released, clusters, &present)?;
    let lambda = released.mechanism.params.lambda;
    let matrices: Vec<RoutingMatrix> =
        released.priors.iter().map(|p| RoutingMatrix::new(lambda, p.prior.clone()).expect("validated")).collect();
    let mut sums = vec![[0.0f64; 2]; c];
    for ((&j, &t), &code) in idx.iter().zip(treated).zip(clusters.codes()) {
        let a = usize::from(t);
        let r = routes[code as usize][a].expect("present cells have a route");
        sums[code as usize][a] += matrices[r].conditional_variance(grid.levels(), j);
    }
    let nf = n as f64;
    match weighting {
        Weighting::Stratified => {
            let mut total = 0.0;
            for code in 0..c {
                let m = present[code];
                if m[0] == 0 || m[1] == 0 {
                    return Err(PrivacyError::cluster(
                        clusters.labels()[code].clone(),
                        format!("has no {} rows; the stratified estimator needs both arms", arm_name(m[0] > 0)),
                    ));
                }
                let w = (m[0] + m[1]) as f64 / nf;
                total += w * w * (sums[code][0] / (m[0] * m[0]) as f64 + sums[code][1] / (m[1] * m[1]) as f64);
            }
            Ok(total)
        }
        Weighting::Pooled => {
            let n_arm = [0, 1].map(|a| present.iter().map(|m| m[a]).sum::<usize>() as f64);
            Ok((0..2).map(|a| sums.iter().map(|s| s[a]).sum::<f64>() / (n_arm[a] * n_arm[a])).sum())
        }
    }
}
