//! The average treatment effect from released outcomes (the paper's estimator `τ̂_Q`): each released outcome is debiased by the inverse of its cell's routing matrix,
//! `ŷ_i = vᵀQ⁻¹_{c,a} e_{ỹ_i} = (ṽ_i − λμ_q)/(1 − λ)` ([`crate::routing`]), and the effect is the
//! difference in means of the debiased outcomes,
//!
//! ```text
//! τ̂_Q = Σ_c (n_c/n)·( mean_{i∈c, treated} ŷ_i − mean_{i∈c, control} ŷ_i )      (stratified)
//! ```
//!
//! or, with [`Weighting::Pooled`], the plain difference of the arms' means. Given the
//! assignment and the released distributions, `E[ŷ_i] = y_i`, so `τ̂_Q` is unbiased for the
//! non-private estimator computed on the (rounded) outcomes, whatever the clustering.
//!
//! **Variance.** By the law of total variance,
//! `Var(τ̂_Q) = Var_z(τ̂_no-DP) + E[Σ_c w_c² Σ_a Σ_{i∈(c,a)} Var(ŷ_i | y_i, q̃)/n_{a,c}²]`
//! (the design's variance plus the mechanism's). The Neyman estimator
//! `Σ_c w_c² (s²_{1,c}/n_{1,c} + s²_{0,c}/n_{0,c})` with `s²` the sample variance of the debiased
//! outcomes of a cell estimates both at once: the spread of `ŷ` is that of `y` plus the
//! mechanism's noise (conservative for the design part as usual, exact for the mechanism's).
//! The mechanism's part is also estimated on its own (`variance_mechanism`) from unbiased
//! estimates of each cell's `mean (v_y − μ_q)²`. The interval is normal.

use crate::clusters::Clusters;
use crate::error::{check_len, float_or_inf, PrivacyError, Result};
use crate::params::PriorKind;
use crate::quality::ClusterQuality;
use crate::release::{arm_name, ReleasedMechanism};
use crate::routing::RoutingMatrix;
use cateye_stats::Estimate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How the clusters' differences are combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weighting {
    /// `Σ_c (n_c/n)·(difference within cluster c)`: the paper's `τ̂_Q`, for designs randomized
    /// within clusters. Every cluster needs 2 units in each arm.
    #[default]
    Stratified,
    /// The difference of the arms' means over all units, for a design randomized over all
    /// units at once.
    Pooled,
}

impl std::str::FromStr for Weighting {
    type Err = cateye_stats::UnknownChoice;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "stratified" => Ok(Weighting::Stratified),
            "pooled" => Ok(Weighting::Pooled),
            _ => Err(cateye_stats::UnknownChoice::new("weighting", s, "stratified or pooled")),
        }
    }
}

/// Options of [`dp_effect`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectOptions {
    /// How clusters are combined.
    pub weighting: Weighting,
    /// The confidence level of the interval, in `(0, 1)`.
    pub level: f64,
}

impl Default for EffectOptions {
    /// Stratified, 95%.
    fn default() -> Self {
        EffectOptions { weighting: Weighting::Stratified, level: 0.95 }
    }
}

/// One cluster's contribution to the stratified estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterEffect {
    /// The cluster's label.
    pub cluster: String,
    /// Its control units.
    pub n_control: usize,
    /// Its treated units.
    pub n_treated: usize,
    /// Its weight `n_c/n`.
    pub weight: f64,
    /// The difference of the debiased means within the cluster.
    pub effect: f64,
    /// That difference's estimated variance.
    pub variance: f64,
}

/// The effect estimated from released outcomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DpEffect {
    /// The average treatment effect with its standard error, interval and p-value.
    pub effect: Estimate,
    /// How clusters were combined.
    pub weighting: Weighting,
    /// Control units.
    pub n_control: usize,
    /// Treated units.
    pub n_treated: usize,
    /// The control arm's debiased mean (cluster-weighted when stratified).
    pub mean_control: f64,
    /// The treated arm's debiased mean (cluster-weighted when stratified).
    pub mean_treated: f64,
    /// The estimated variance of the effect (`se²`).
    pub variance: f64,
    /// The part of it due to the mechanism (estimated; the rest is the design's).
    pub variance_mechanism: f64,
    /// The cluster-quality measure estimated from the released outcomes (`None` when a
    /// cluster has fewer than 2 units in an arm). Each within-cluster variance is estimated
    /// without bias from debiased first and second moments, so `φ_a` is unbiased; with strong
    /// noise and homogeneous clusters an estimate can fall below 0.
    pub quality: Option<ClusterQuality>,
    /// Each cluster's difference (stratified weighting only).
    pub clusters: Vec<ClusterEffect>,
    /// The release's ε.
    #[serde(with = "float_or_inf")]
    pub epsilon: f64,
    /// Remarks on the data against the release (e.g. cell sizes that differ from the
    /// release's, as after filtering rows).
    pub warnings: Vec<String>,
}

/// Running sums of one cell (cluster × arm) of the data.
#[derive(Clone, Copy, Default)]
struct Cell {
    m: usize,
    sum_w: f64,
    sum_g: f64,
    sum_h: f64,
    dev2: f64,
    /// `λ` and the variance `s_q²` of the cell's released distribution.
    lambda: f64,
    s2q: f64,
}

impl Cell {
    fn mean(&self) -> f64 {
        self.sum_w / self.m as f64
    }

    fn sample_var(&self) -> f64 {
        self.dev2 / (self.m as f64 - 1.0)
    }

    /// Estimated mean conditional variance `D̂` of the cell's debiased outcomes.
    fn mech(&self) -> f64 {
        let l = self.lambda;
        (l * (1.0 - l) * (self.sum_h / self.m as f64) + l * self.s2q) / ((1.0 - l) * (1.0 - l))
    }

    /// Unbiased estimate of the finite-population variance `S²` of the cell's true outcomes
    /// (not clipped at 0: clipping would bias it upward when the mechanism's noise dominates).
    fn outcome_var(&self) -> f64 {
        let mf = self.m as f64;
        let mean = self.mean();
        let sigma2 = self.sum_g / mf - mean * mean + self.mech() / mf;
        sigma2 * mf / (mf - 1.0)
    }
}

/// Per-level tables of a routing matrix: the debiased value `w`, the debiased square `g` and
/// the debiased `(v − μ_q)²` `h`, and `s_q²`.
struct Tables {
    w: Vec<f64>,
    g: Vec<f64>,
    h: Vec<f64>,
    s2q: f64,
}

fn tables(r: &RoutingMatrix, levels: &[f64]) -> Tables {
    let (mu, s2q) = r.prior_moments(levels);
    let squares: Vec<f64> = levels.iter().map(|v| v * v).collect();
    let centred: Vec<f64> = levels.iter().map(|v| (v - mu) * (v - mu)).collect();
    Tables { w: r.debias(levels), g: r.debias(&squares), h: r.debias(&centred), s2q }
}

/// Maps released values to level indices, naming the first value that is not a level.
pub(crate) fn level_indices(
    column: &'static str,
    values: &[f64],
    grid: &crate::grid::OutcomeGrid,
) -> Result<Vec<usize>> {
    values
        .iter()
        .enumerate()
        .map(|(row, &v)| {
            grid.index_of(v).ok_or_else(|| PrivacyError::Value {
                column,
                row: row + 1,
                value: v,
                message: format!(
                    "not a level of the release's grid ({} levels from {} to {})",
                    grid.k(),
                    grid.lo(),
                    grid.hi()
                ),
            })
        })
        .collect()
}

/// For each (cluster code, arm) of the data, the index of its released distribution.
pub(crate) fn routing_of_cells(
    released: &ReleasedMechanism,
    clusters: &Clusters,
    present: &[[usize; 2]],
) -> Result<Vec<[Option<usize>; 2]>> {
    let clustered = released.mechanism.params.prior == PriorKind::Cluster;
    let mut by_key: HashMap<(Option<&str>, bool), usize> = HashMap::new();
    for (i, c) in released.priors.iter().enumerate() {
        by_key.insert((c.cluster.as_deref(), c.treated), i);
    }
    let mut out = vec![[None, None]; clusters.count()];
    for (code, label) in clusters.labels().iter().enumerate() {
        for a in 0..2 {
            if present[code][a] == 0 {
                continue;
            }
            let key = (clustered.then_some(label.as_str()), a == 1);
            match by_key.get(&key) {
                Some(&i) => out[code][a] = Some(i),
                None => {
                    return Err(PrivacyError::cluster(
                        label.clone(),
                        format!(
                            "has {} {} rows but the release has no response distribution for them \
                             (was the table released with other clusters or arms?)",
                            present[code][a],
                            arm_name(a == 1)
                        ),
                    ))
                }
            }
        }
    }
    Ok(out)
}

/// The average treatment effect from released outcomes (module documentation): `released`
/// holds each row's released outcome (a level of the release's grid), `treated` its arm and
/// `clusters` its cluster, as at release time; `mechanism` is the release's
/// [`ReleasedMechanism`].
pub fn dp_effect(
    released: &[f64],
    treated: &[bool],
    clusters: &Clusters,
    mechanism: &ReleasedMechanism,
    options: &EffectOptions,
) -> Result<DpEffect> {
    mechanism.validate()?;
    let n = released.len();
    check_len("treated", treated.len(), n)?;
    check_len("cluster", clusters.len(), n)?;
    if !(options.level > 0.0 && options.level < 1.0) {
        return Err(PrivacyError::parameter("level", options.level, "the confidence level must be in (0, 1)"));
    }
    let grid = &mechanism.mechanism.grid;
    let levels = grid.levels();
    let idx = level_indices("released outcome", released, grid)?;
    let c = clusters.count();
    let mut present = vec![[0usize; 2]; c];
    for (&t, &code) in treated.iter().zip(clusters.codes()) {
        present[code as usize][usize::from(t)] += 1;
    }
    let routes = routing_of_cells(mechanism, clusters, &present)?;
    let lambda = mechanism.mechanism.params.lambda;
    let table: Vec<Tables> = mechanism
        .priors
        .iter()
        .map(|p| tables(&RoutingMatrix::new(lambda, p.prior.clone()).expect("validated"), levels))
        .collect();

    // First pass: sums per cell of the data.
    let mut cells = vec![[Cell::default(); 2]; c];
    for ((&j, &t), &code) in idx.iter().zip(treated).zip(clusters.codes()) {
        let a = usize::from(t);
        let r = routes[code as usize][a].expect("present cells have a route");
        let cell = &mut cells[code as usize][a];
        cell.m += 1;
        cell.sum_w += table[r].w[j];
        cell.sum_g += table[r].g[j];
        cell.sum_h += table[r].h[j];
        cell.lambda = lambda;
        cell.s2q = table[r].s2q;
    }
    // Second pass: squared deviations from the cell's and the arm's means.
    let arm_n = [0, 1].map(|a| cells.iter().map(|x| x[a].m).sum::<usize>());
    let arm_mean = [0, 1].map(|a| cells.iter().map(|x| x[a].sum_w).sum::<f64>() / arm_n[a] as f64);
    let mut arm_dev2 = [0.0f64; 2];
    for ((&j, &t), &code) in idx.iter().zip(treated).zip(clusters.codes()) {
        let a = usize::from(t);
        let r = routes[code as usize][a].expect("present cells have a route");
        let w = table[r].w[j];
        let cell = &mut cells[code as usize][a];
        let d = w - cell.mean();
        cell.dev2 += d * d;
        arm_dev2[a] += (w - arm_mean[a]) * (w - arm_mean[a]);
    }

    let mut warnings = Vec::new();
    let clustered = mechanism.mechanism.params.prior == PriorKind::Cluster;
    for p in &mechanism.priors {
        let rows = match (&p.cluster, clustered) {
            (Some(label), true) => {
                clusters.code_of(label).map(|code| present[code][usize::from(p.treated)]).unwrap_or(0)
            }
            _ => arm_n[usize::from(p.treated)],
        };
        if rows != p.units {
            warnings.push(format!(
                "cell {} ({}) has {rows} rows here but {} at release",
                p.cluster.as_deref().unwrap_or("(all)"),
                arm_name(p.treated),
                p.units
            ));
        }
    }

    let nf = n as f64;
    let (estimate, variance, variance_mechanism, means, per_cluster) = match options.weighting {
        Weighting::Stratified => {
            let mut tau = 0.0;
            let mut var = 0.0;
            let mut mech = 0.0;
            let mut means = [0.0f64; 2];
            let mut per = Vec::with_capacity(c);
            for (code, cell) in cells.iter().enumerate() {
                let label = &clusters.labels()[code];
                if cell[0].m < 2 || cell[1].m < 2 {
                    return Err(PrivacyError::cluster(
                        label.clone(),
                        format!(
                            "has {} treated and {} control rows; the stratified estimator needs at least 2 in each \
                             arm (merge the cluster with another, or use the pooled weighting)",
                            cell[1].m, cell[0].m
                        ),
                    ));
                }
                let w = (cell[0].m + cell[1].m) as f64 / nf;
                let effect = cell[1].mean() - cell[0].mean();
                let v = cell[1].sample_var() / cell[1].m as f64 + cell[0].sample_var() / cell[0].m as f64;
                tau += w * effect;
                var += w * w * v;
                mech += w * w * (cell[1].mech() / cell[1].m as f64 + cell[0].mech() / cell[0].m as f64);
                means[0] += w * cell[0].mean();
                means[1] += w * cell[1].mean();
                per.push(ClusterEffect {
                    cluster: label.clone(),
                    n_control: cell[0].m,
                    n_treated: cell[1].m,
                    weight: w,
                    effect,
                    variance: v,
                });
            }
            (tau, var, mech, means, per)
        }
        Weighting::Pooled => {
            for (a, &rows) in arm_n.iter().enumerate() {
                if rows < 2 {
                    return Err(PrivacyError::Data(format!(
                        "the {} arm has {rows} rows; at least 2 per arm are needed",
                        arm_name(a == 1)
                    )));
                }
            }
            let var = [0, 1].map(|a| arm_dev2[a] / (arm_n[a] as f64 - 1.0) / arm_n[a] as f64);
            let mech = [0, 1].map(|a| {
                cells.iter().map(|x| if x[a].m > 0 { x[a].m as f64 * x[a].mech() } else { 0.0 }).sum::<f64>()
                    / (arm_n[a] as f64 * arm_n[a] as f64)
            });
            (arm_mean[1] - arm_mean[0], var[0] + var[1], mech[0] + mech[1], arm_mean, Vec::new())
        }
    };

    let quality = if cells.iter().all(|x| x[0].m >= 2 && x[1].m >= 2) {
        let arm_var = [0, 1].map(|a| {
            let nfa = arm_n[a] as f64;
            let mean_g = cells.iter().map(|x| x[a].sum_g).sum::<f64>() / nfa;
            let mech: f64 = cells.iter().map(|x| x[a].m as f64 * x[a].mech()).sum::<f64>() / (nfa * nfa);
            (mean_g - arm_mean[a] * arm_mean[a] + mech) * nfa / (nfa - 1.0)
        });
        let per: Vec<[(usize, f64); 2]> =
            cells.iter().map(|x| [(x[0].m, x[0].outcome_var()), (x[1].m, x[1].outcome_var())]).collect();
        Some(ClusterQuality::from_cells(&per, arm_var))
    } else {
        None
    };

    let se = variance.max(0.0).sqrt();
    Ok(DpEffect {
        effect: Estimate::with_normal(estimate, se, options.level),
        weighting: options.weighting,
        n_control: arm_n[0],
        n_treated: arm_n[1],
        mean_control: means[0],
        mean_treated: means[1],
        variance,
        variance_mechanism: variance_mechanism.max(0.0),
        quality,
        clusters: per_cluster,
        epsilon: mechanism.account.epsilon,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{OutcomeGrid, Rounding};
    use crate::params::{Mechanism, MechanismParams};
    use crate::release::privatize;

    fn data(n: usize) -> (Vec<f64>, Vec<bool>, Clusters) {
        let y: Vec<f64> = (0..n).map(|i| ((i * 7919) % 11) as f64 + if i % 2 == 0 { 1.0 } else { 0.0 }).collect();
        let t: Vec<bool> = (0..n).map(|i| (i / 3) % 2 == 0).collect();
        let c: Vec<String> = (0..n).map(|i| format!("c{}", i % 3)).collect();
        (y.iter().map(|v| v.min(10.0)).collect(), t, Clusters::from_labels(&c).unwrap())
    }

    /// The stratified difference in means on outcomes in the clear.
    fn plain(y: &[f64], t: &[bool], clusters: &Clusters) -> f64 {
        let mut s = vec![[0.0f64; 2]; clusters.count()];
        let mut m = vec![[0usize; 2]; clusters.count()];
        for ((&v, &tt), &c) in y.iter().zip(t).zip(clusters.codes()) {
            s[c as usize][usize::from(tt)] += v;
            m[c as usize][usize::from(tt)] += 1;
        }
        let n = y.len() as f64;
        (0..clusters.count())
            .map(|c| (m[c][0] + m[c][1]) as f64 / n * (s[c][1] / m[c][1] as f64 - s[c][0] / m[c][0] as f64))
            .sum()
    }

    #[test]
    fn without_resampling_the_estimate_is_the_non_private_one() {
        let (y, t, clusters) = data(600);
        let grid = OutcomeGrid::uniform(0.0, 10.0, 11).unwrap();
        let m = Mechanism::new(grid, Rounding::Nearest, MechanismParams::cluster(0.0, 0.05, 1.0)).unwrap();
        let r = privatize(&y, &t, &clusters, &m, 1).unwrap();
        let e = dp_effect(&r.outcomes, &t, &clusters, &r.mechanism, &EffectOptions::default()).unwrap();
        assert!((e.effect.estimate - plain(&y, &t, &clusters)).abs() < 1e-12);
        assert_eq!(e.variance_mechanism, 0.0);
        assert!(e.warnings.is_empty());
        assert_eq!(e.clusters.len(), 3);
        let q = e.quality.unwrap();
        let direct = crate::quality::cluster_quality(&y, &t, &clusters).unwrap();
        assert!((q.phi.control - direct.phi.control).abs() < 1e-12 * direct.phi.control.max(1.0));
        assert!((q.penalty_ratio - direct.penalty_ratio).abs() < 1e-9);
        // Pooled weighting: the plain difference of the arms' means.
        let p = dp_effect(
            &r.outcomes,
            &t,
            &clusters,
            &r.mechanism,
            &EffectOptions { weighting: Weighting::Pooled, level: 0.9 },
        )
        .unwrap();
        let mean = |arm: bool| {
            let v: Vec<f64> = y.iter().zip(&t).filter(|(_, &x)| x == arm).map(|(&v, _)| v).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!((p.effect.estimate - (mean(true) - mean(false))).abs() < 1e-12);
        assert!(p.clusters.is_empty());
    }

    #[test]
    fn errors_name_the_row_the_value_and_the_cluster() {
        let (y, t, clusters) = data(60);
        let grid = OutcomeGrid::uniform(0.0, 10.0, 11).unwrap();
        let m = Mechanism::new(grid, Rounding::Nearest, MechanismParams::uniform(0.5, 11)).unwrap();
        let r = privatize(&y, &t, &clusters, &m, 1).unwrap();
        let mut bad = r.outcomes.clone();
        bad[4] = 2.5;
        let e = dp_effect(&bad, &t, &clusters, &r.mechanism, &EffectOptions::default()).unwrap_err().to_string();
        assert!(e.contains("row 5") && e.contains("2.5"), "{e}");
        // A cluster with a single treated unit.
        let mut t2 = t.clone();
        for (i, c) in clusters.codes().iter().enumerate() {
            if *c == 1 {
                t2[i] = false;
            }
        }
        let first = clusters.codes().iter().position(|&c| c == 1).unwrap();
        t2[first] = true;
        let e =
            dp_effect(&r.outcomes, &t2, &clusters, &r.mechanism, &EffectOptions::default()).unwrap_err().to_string();
        assert!(e.contains("cluster 'c1'") && e.contains("1 treated"), "{e}");
        // A cluster the release does not know (cluster prior).
        let mc = Mechanism::new(
            OutcomeGrid::uniform(0.0, 10.0, 11).unwrap(),
            Rounding::Nearest,
            MechanismParams::cluster(0.5, 0.05, 1.0),
        )
        .unwrap();
        let r2 = privatize(&y, &t, &clusters, &mc, 1).unwrap();
        let other = Clusters::from_labels(&(0..60).map(|i| format!("d{}", i % 3)).collect::<Vec<_>>()).unwrap();
        let e = dp_effect(&r2.outcomes, &t, &other, &r2.mechanism, &EffectOptions::default()).unwrap_err().to_string();
        assert!(e.contains("cluster 'd0'") && e.contains("no response distribution"), "{e}");
        let e =
            dp_effect(&r.outcomes, &t, &clusters, &r.mechanism, &EffectOptions { level: 1.0, ..Default::default() })
                .unwrap_err()
                .to_string();
        assert!(e.starts_with("level = 1"), "{e}");
        // Filtering rows is allowed, with a warning.
        let keep = 45;
        let f = dp_effect(
            &r.outcomes[..keep],
            &t[..keep],
            &Clusters::from_labels(&(0..keep).map(|i| format!("c{}", i % 3)).collect::<Vec<_>>()).unwrap(),
            &r.mechanism,
            &EffectOptions::default(),
        )
        .unwrap();
        assert!(!f.warnings.is_empty());
    }
}
