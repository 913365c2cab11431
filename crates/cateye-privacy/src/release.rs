//! The release: the Cluster-DP mechanism applied to a table (the paper's Algorithm 2).
//!
//! For every cell (cluster `c`, arm `a`, with `n_{a,c}` units):
//!
//! 1. the empirical distribution `p̂_{a,c}` of the cell's levels (outcomes clipped and rounded
//!    onto the grid, [`crate::grid`]);
//! 2. noise on the cell's integer *counts* `N_{a,c}(y) = n_{a,c}·p̂_{a,c}(y)`: independent discrete
//!    Laplace (two-sided geometric) noise per level, `Ñ(y) = N(y) + Z_y` with
//!    `P(Z = k) = ((1 − p)/(1 + p))·p^{|k|}`, `p = e^{−1/σ}` ([`discrete_laplace_pmf`]);
//! 3. clipping at 0, division by `n_{a,c}`, truncation at the floor `γ` and renormalisation,
//!    keeping the floor exact ([`floor_distribution`]), which gives the released distribution
//!    `q̃_{a,c}`;
//! 4. each unit keeps its level with probability `1 − λ`, and with probability `λ` reports a
//!    level drawn from `q̃_{a,c}`.
//!
//! Step 2 is the integer analogue of the paper's `Laplace(σ/n_{a,c})` noise on the probabilities
//! (which is `Laplace(σ)` on the counts, divided by `n_{a,c}`). Moving one unit between two levels
//! changes the count vector by 2 in L1, and the discrete Laplace mechanism's likelihood ratio
//! is `p^{(|k − N'| − |k − N|)} ≤ e^{2/σ}` summed over the levels: the same `ε_prior = 2/σ`, attained.
//! Integer noise is used because the distributions are published at full `f64` precision: a
//! floating-point Laplace sample leaks its input through the pattern of its low-order bits
//! (Mironov, "On significance of the least significant bits for differential privacy", CCS
//! 2012), while here everything published is a deterministic function of the noisy integer
//! counts and the public cell sizes. The sampler ([`discrete_laplace`]) is the difference of
//! two geometric draws `⌊σE⌋`, `E` exponential; see its documentation for how exact it is.
//!
//! The cluster-free prior uses one cell per arm; the uniform prior skips steps 1–3. The
//! released distributions are part of the output ([`ReleasedMechanism`]): they are
//! differentially private and the estimator needs them to invert the routing matrix. The
//! seed must stay secret: with it, anyone could replay the draws and undo the randomization.
//!
//! Randomness comes from `cateye_stats::stream(seed, purpose, index)` with one stream per block
//! of 4096 rows (rounding, release) and per cell (noise), so the release is bit-identical
//! whatever the number of threads.

use crate::clusters::Clusters;
use crate::error::{check_len, float_or_inf, PrivacyError, Result};
use crate::params::{Mechanism, PriorKind, PrivacyAccount};
use crate::routing::{floor_distribution, RoutingMatrix};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The random-stream purpose of stochastic rounding.
pub const PURPOSE_ROUND: u64 = 0xC1D9_0001;
/// The random-stream purpose of the discrete Laplace noise on the response distributions.
pub const PURPOSE_PRIOR: u64 = 0xC1D9_0002;
/// The random-stream purpose of the per-unit release.
pub const PURPOSE_RELEASE: u64 = 0xC1D9_0003;
/// Rows per random stream in the row-wise steps.
pub const BLOCK: usize = 4096;

/// The released response distribution of one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellPrior {
    /// The cluster's label (`None` for the cluster-free and uniform priors, one per arm).
    pub cluster: Option<String>,
    /// The arm: treated (`true`) or control.
    pub treated: bool,
    /// The number of units of the cell.
    pub units: usize,
    /// The released distribution `q̃` over the grid's levels.
    pub prior: Vec<f64>,
    /// The realized per-unit ε of this cell, `ln(1 + (1 − λ)/(λ·min q̃))`, at most the
    /// account's `epsilon_response`.
    #[serde(with = "float_or_inf")]
    pub epsilon_response: f64,
}

/// What a release publishes besides the outcomes: the mechanism, its privacy and the
/// released response distributions. Written to a file by `cateye privatize`, read back by
/// the estimator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReleasedMechanism {
    /// Grid, rounding and parameters.
    pub mechanism: Mechanism,
    /// The privacy of the release.
    pub account: PrivacyAccount,
    /// One released distribution per non-empty cell, in the order (cluster, control before
    /// treated).
    pub priors: Vec<CellPrior>,
}

/// The released outcomes and what is needed to analyse them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// One released outcome per row: a level of the grid.
    pub outcomes: Vec<f64>,
    /// The mechanism and released distributions.
    pub mechanism: ReleasedMechanism,
}

impl ReleasedMechanism {
    /// Checks a mechanism read back from a file: valid parameters, one distribution of `K`
    /// probabilities per cell, no (cluster, arm) cell listed twice, cluster labels exactly for
    /// the cluster prior, and an account that matches the parameters.
    pub fn validate(&self) -> Result<()> {
        let k = self.mechanism.grid.k();
        let account = self.mechanism.account()?;
        let same = |a: f64, b: f64| (a.is_infinite() && b.is_infinite()) || (a - b).abs() <= 1e-9 * a.abs().max(1.0);
        if !same(account.epsilon, self.account.epsilon) {
            return Err(PrivacyError::Mechanism(format!(
                "the account says ε = {} but the parameters give ε = {}",
                self.account.epsilon, account.epsilon
            )));
        }
        let clustered = self.mechanism.params.prior == PriorKind::Cluster;
        let mut seen = std::collections::HashSet::with_capacity(self.priors.len());
        for cell in &self.priors {
            let name = cell.cluster.as_deref().unwrap_or("(all)");
            if !seen.insert((cell.cluster.as_deref(), cell.treated)) {
                return Err(PrivacyError::Mechanism(format!(
                    "the cell of cluster '{name}' ({}) is listed twice: each (cluster, arm) has one released \
                     distribution",
                    arm_name(cell.treated)
                )));
            }
            if cell.prior.len() != k {
                return Err(PrivacyError::Mechanism(format!(
                    "cell of cluster '{name}' ({}) has {} probabilities for {k} levels",
                    arm_name(cell.treated),
                    cell.prior.len()
                )));
            }
            if cell.cluster.is_some() != clustered {
                return Err(PrivacyError::Mechanism(format!(
                    "cell of cluster '{name}': the {:?} prior has {} per cell",
                    self.mechanism.params.prior,
                    if clustered { "a cluster label" } else { "no cluster label" }
                )));
            }
            RoutingMatrix::new(self.mechanism.params.lambda, cell.prior.clone()).map_err(|e| {
                PrivacyError::Mechanism(format!("cell of cluster '{name}' ({}): {e}", arm_name(cell.treated)))
            })?;
        }
        Ok(())
    }

    /// The routing matrix of the cell of `cluster` (ignored unless the prior is the cluster
    /// prior) and arm `treated`, if the release has that cell.
    pub fn routing(&self, cluster: &str, treated: bool) -> Option<RoutingMatrix> {
        let clustered = self.mechanism.params.prior == PriorKind::Cluster;
        self.priors
            .iter()
            .find(|c| c.treated == treated && (!clustered || c.cluster.as_deref() == Some(cluster)))
            .and_then(|c| RoutingMatrix::new(self.mechanism.params.lambda, c.prior.clone()).ok())
    }

    /// The largest realized per-unit ε over the cells (at most `account.epsilon_response`).
    pub fn realized_epsilon_response(&self) -> f64 {
        self.priors.iter().map(|c| c.epsilon_response).fold(0.0, f64::max)
    }
}

pub(crate) fn arm_name(treated: bool) -> &'static str {
    if treated {
        "treated"
    } else {
        "control"
    }
}

/// `−ln u` is drawn only on `u ≥ e^{−EXP_SPLIT}`; the rest of the exponential's tail is
/// reached through its memorylessness (see [`exponential`]).
const EXP_SPLIT: f64 = 8.0;

/// A standard exponential draw. A 53-bit uniform `u` on `(0, 1]` gives `−ln u`; to keep the
/// resolution of `u` fine relative to `u` itself (spacing `2^{-53}` against `u ≥ e^{−8}`, a
/// relative `3·10^{-13}`) and the support unbounded, a draw beyond `EXP_SPLIT` is replaced by
/// `EXP_SPLIT` plus a fresh exponential: `P(E ≥ s + x | E ≥ s) = e^{−x}`.
fn exponential(rng: &mut ChaCha8Rng) -> f64 {
    let threshold = (-EXP_SPLIT).exp();
    let mut base = 0.0;
    loop {
        // `random::<f64>()` is a multiple of 2^-53 in [0, 1); `1 − r` is in (0, 1].
        let u = 1.0 - rng.random::<f64>();
        if u >= threshold {
            return base - u.ln();
        }
        base += EXP_SPLIT;
    }
}

/// A geometric draw on `{0, 1, 2, …}` with `P(G ≥ k) = e^{−k/σ}`: `⌊σE⌋` for a standard
/// exponential `E`, since `P(⌊σE⌋ ≥ k) = P(E ≥ k/σ)`.
fn geometric(rng: &mut ChaCha8Rng, sigma: f64) -> i64 {
    let g = (sigma * exponential(rng)).floor();
    // Far beyond any count: `P(G ≥ 2^62) = e^{−2^62/σ}`.
    if g >= 4.0e18 {
        i64::MAX / 2
    } else {
        g as i64
    }
}

/// A discrete Laplace (two-sided geometric) draw with `P(Z = k) ∝ e^{−|k|/σ}`: the difference of
/// two independent geometric draws ([`discrete_laplace_pmf`] gives the law). It is exact up to
/// the `f64` evaluation of `σ·(−ln u)` for a 53-bit `u`: each probability is off by a relative
/// error of order `σ·10^{-12}`, not by a structural leak, and the support is all of ℤ.
pub(crate) fn discrete_laplace(rng: &mut ChaCha8Rng, sigma: f64) -> i64 {
    geometric(rng, sigma) - geometric(rng, sigma)
}

/// `P(Z = k) = ((1 − p)/(1 + p))·p^{|k|}` with `p = e^{−1/σ}`: the law of the noise added to each
/// count of a cell (module documentation). For neighbouring counts `N, N'` (one unit moved
/// between two levels) the ratio `Π_y P(Ñ_y − N_y)/P(Ñ_y − N'_y) = e^{(Σ_y |Ñ_y − N'_y| − |Ñ_y − N_y|)/σ}`
/// is at most `e^{2/σ}`, with equality exactly when the noisy count of the level the unit left is
/// at least its count there and that of the level it joined is at most its count there.
pub fn discrete_laplace_pmf(k: i64, sigma: f64) -> f64 {
    let p = (-1.0 / sigma).exp();
    (1.0 - p) / (1.0 + p) * p.powf(k.unsigned_abs() as f64)
}

/// The cell of each row: `2·cluster + arm` for the cluster prior, the arm otherwise.
pub(crate) fn cell_index(prior: PriorKind, code: u32, treated: bool) -> usize {
    let arm = usize::from(treated);
    match prior {
        PriorKind::Cluster => 2 * code as usize + arm,
        PriorKind::ClusterFree | PriorKind::Uniform => arm,
    }
}

/// Checks and rounds the outcomes onto the grid (one level index per row).
pub(crate) fn discretize_column(outcomes: &[f64], mechanism: &Mechanism, seed: u64) -> Result<Vec<u32>> {
    if let Some(row) = outcomes.iter().position(|v| !v.is_finite()) {
        return Err(PrivacyError::Value {
            column: "outcome",
            row: row + 1,
            value: outcomes[row],
            message: "missing or non-finite outcomes cannot be released".into(),
        });
    }
    let grid = &mechanism.grid;
    let mut levels = vec![0u32; outcomes.len()];
    levels.par_chunks_mut(BLOCK).zip(outcomes.par_chunks(BLOCK)).enumerate().for_each(|(b, (out, x))| {
        let mut rng = cateye_stats::stream(seed, PURPOSE_ROUND, b as u64);
        for (o, &v) in out.iter_mut().zip(x) {
            let u = match mechanism.rounding {
                crate::grid::Rounding::Stochastic => rng.random::<f64>(),
                crate::grid::Rounding::Nearest => 0.0,
            };
            *o = grid.discretize(v, mechanism.rounding, u) as u32;
        }
    });
    Ok(levels)
}

/// Releases `outcomes` under the Cluster-DP mechanism (module documentation): one row per unit
/// with its arm (`treated`) and cluster. Returns the released outcomes (grid levels) and the
/// released mechanism. Keep `seed` secret.
pub fn privatize(
    outcomes: &[f64],
    treated: &[bool],
    clusters: &Clusters,
    mechanism: &Mechanism,
    seed: u64,
) -> Result<Release> {
    let n = outcomes.len();
    check_len("treated", treated.len(), n)?;
    check_len("cluster", clusters.len(), n)?;
    if n == 0 {
        return Err(PrivacyError::Data("no rows to release".into()));
    }
    let account = mechanism.account()?;
    let params = mechanism.params;
    let grid = &mechanism.grid;
    let k = grid.k();
    let levels = discretize_column(outcomes, mechanism, seed)?;

    // A per-unit id passed as the cluster: every cell would hold one or two units (each
    // distribution drowned in noise) and the counts below would take 2·C·K cells.
    if params.prior == PriorKind::Cluster && 2 * clusters.count() > n {
        return Err(PrivacyError::Data(format!(
            "the cluster column has {} clusters for {n} rows (more than half the rows; is it a unit id?): the \
             cluster prior needs clusters of several units per arm; use the cluster-free or uniform prior, or a \
             coarser cluster column",
            clusters.count()
        )));
    }

    // Steps 1–3: the released distribution of every cell.
    let n_cells = match params.prior {
        PriorKind::Cluster => 2 * clusters.count(),
        PriorKind::ClusterFree | PriorKind::Uniform => 2,
    };
    let mut counts = vec![0u64; n_cells * k];
    let mut units = vec![0usize; n_cells];
    for ((&level, &t), &code) in levels.iter().zip(treated).zip(clusters.codes()) {
        let cell = cell_index(params.prior, code, t);
        counts[cell * k + level as usize] += 1;
        units[cell] += 1;
    }
    let uniform = params.prior_is_uniform(k);
    let priors: Vec<Option<Vec<f64>>> = (0..n_cells)
        .into_par_iter()
        .map(|cell| {
            let m = units[cell];
            if m == 0 {
                return None;
            }
            if uniform {
                return Some(vec![1.0 / k as f64; k]);
            }
            // Integer counts plus discrete Laplace noise, clipped at 0; then proportions.
            let mut noisy: Vec<i64> = counts[cell * k..(cell + 1) * k].iter().map(|&c| c as i64).collect();
            if params.sigma > 0.0 {
                let mut rng = cateye_stats::stream(seed, PURPOSE_PRIOR, cell as u64);
                for c in noisy.iter_mut() {
                    *c = c.saturating_add(discrete_laplace(&mut rng, params.sigma));
                }
            }
            let mf = m as f64;
            let w: Vec<f64> = noisy.iter().map(|&c| c.max(0) as f64 / mf).collect();
            Some(floor_distribution(&w, params.gamma))
        })
        .collect();

    // Step 4: the per-unit release.
    let cdfs: Vec<Option<Vec<f64>>> = priors
        .iter()
        .map(|p| {
            p.as_ref().map(|q| {
                let mut acc = 0.0;
                q.iter()
                    .map(|&x| {
                        acc += x;
                        acc
                    })
                    .collect()
            })
        })
        .collect();
    let lambda = params.lambda;
    let values = grid.levels();
    let codes = clusters.codes();
    let mut released = vec![0.0f64; n];
    released.par_chunks_mut(BLOCK).enumerate().for_each(|(b, out)| {
        let mut rng = cateye_stats::stream(seed, PURPOSE_RELEASE, b as u64);
        let start = b * BLOCK;
        for (i, o) in out.iter_mut().enumerate() {
            let row = start + i;
            let mut level = levels[row] as usize;
            if rng.random::<f64>() < lambda {
                let cell = cell_index(params.prior, codes[row], treated[row]);
                let cdf = cdfs[cell].as_ref().expect("a row's cell has at least that row");
                let u: f64 = rng.random::<f64>();
                level = cdf.partition_point(|&c| c <= u).min(k - 1);
            }
            *o = values[level];
        }
    });

    let cells = priors
        .into_iter()
        .enumerate()
        .filter_map(|(cell, prior)| {
            prior.map(|prior| {
                let epsilon_response =
                    RoutingMatrix::new(lambda, prior.clone()).map(|r| r.epsilon()).unwrap_or(f64::NAN);
                CellPrior {
                    cluster: (params.prior == PriorKind::Cluster).then(|| clusters.labels()[cell / 2].clone()),
                    treated: cell % 2 == 1,
                    units: units[cell],
                    prior,
                    epsilon_response,
                }
            })
        })
        .collect();
    Ok(Release {
        outcomes: released,
        mechanism: ReleasedMechanism { mechanism: mechanism.clone(), account, priors: cells },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{OutcomeGrid, Rounding};
    use crate::params::MechanismParams;

    fn data(n: usize) -> (Vec<f64>, Vec<bool>, Vec<String>) {
        let y = (0..n).map(|i| ((i * 7919) % 13) as f64 * 0.5 + (i % 3) as f64 * 0.01).collect();
        let t = (0..n).map(|i| (i * 31) % 5 < 2).collect();
        let c = (0..n).map(|i| format!("c{}", i % 4)).collect();
        (y, t, c)
    }

    #[test]
    fn no_resampling_releases_the_rounded_outcomes() {
        let (y, t, c) = data(500);
        let clusters = Clusters::from_labels(&c).unwrap();
        let grid = OutcomeGrid::uniform(0.0, 6.0, 13).unwrap();
        let m = Mechanism::new(grid.clone(), Rounding::Nearest, MechanismParams::cluster(0.0, 0.01, 1.0)).unwrap();
        let r = privatize(&y, &t, &clusters, &m, 3).unwrap();
        for (x, out) in y.iter().zip(&r.outcomes) {
            assert_eq!(*out, grid.levels()[grid.discretize(*x, Rounding::Nearest, 0.0)]);
        }
        assert!(!r.mechanism.account.is_private());
    }

    #[test]
    fn special_cases_reduce_exactly() {
        let (y, t, _) = data(3000);
        let grid = OutcomeGrid::uniform(0.0, 6.0, 13).unwrap();
        let one = Clusters::single(y.len());
        let cl = Mechanism::new(grid.clone(), Rounding::Stochastic, MechanismParams::cluster(0.6, 0.02, 2.0)).unwrap();
        let free =
            Mechanism::new(grid.clone(), Rounding::Stochastic, MechanismParams::cluster_free(0.6, 0.02, 2.0)).unwrap();
        // Cluster-DP with one cluster is Cluster-Free-DP.
        let a = privatize(&y, &t, &one, &cl, 11).unwrap();
        let b = privatize(&y, &t, &one, &free, 11).unwrap();
        assert_eq!(a.outcomes, b.outcomes);
        assert_eq!(a.mechanism.priors[0].prior, b.mechanism.priors[0].prior);
        // Cluster-DP with gamma = 1/K is Uniform-Prior-DP.
        let (_, _, c) = data(3000);
        let clusters = Clusters::from_labels(&c).unwrap();
        let k = grid.k();
        let flat =
            Mechanism::new(grid.clone(), Rounding::Stochastic, MechanismParams::cluster(0.6, 1.0 / k as f64, 2.0))
                .unwrap();
        let uni = Mechanism::new(grid, Rounding::Stochastic, MechanismParams::uniform(0.6, k)).unwrap();
        let a = privatize(&y, &t, &clusters, &flat, 5).unwrap();
        let b = privatize(&y, &t, &clusters, &uni, 5).unwrap();
        assert_eq!(a.outcomes, b.outcomes);
        assert!(a.mechanism.priors.iter().all(|p| p.prior.iter().all(|&q| q == 1.0 / k as f64)));
        assert_eq!(a.mechanism.account.epsilon, b.mechanism.account.epsilon);
        assert_eq!(a.mechanism.account.epsilon_prior, 0.0);
    }

    #[test]
    fn realized_epsilon_never_exceeds_the_account() {
        let (y, t, c) = data(2000);
        let clusters = Clusters::from_labels(&c).unwrap();
        // Levels 6.5 and 7 hold no unit: the noise leaves them at the floor half of the time.
        let grid = OutcomeGrid::uniform(0.0, 7.0, 15).unwrap();
        let m = Mechanism::new(grid, Rounding::Stochastic, MechanismParams::cluster(0.7, 0.01, 0.5)).unwrap();
        let r = privatize(&y, &t, &clusters, &m, 9).unwrap();
        assert_eq!(r.mechanism.priors.len(), 8);
        for cell in &r.mechanism.priors {
            assert!(cell.prior.iter().all(|&q| q >= 0.01));
            assert!(cell.epsilon_response <= r.mechanism.account.epsilon_response + 1e-12);
        }
        // A floored level attains the account.
        assert!((r.mechanism.realized_epsilon_response() - r.mechanism.account.epsilon_response).abs() < 1e-12);
        let json = serde_json::to_string(&r.mechanism).unwrap();
        let back: ReleasedMechanism = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r.mechanism);
        back.validate().unwrap();
    }

    #[test]
    fn discrete_laplace_has_its_law() {
        // Frequencies of each value against the pmf, and the pmf's ratio between neighbours.
        for &sigma in &[0.7f64, 2.5, 8.0] {
            let mut rng = cateye_stats::stream(17, PURPOSE_PRIOR, 0);
            let draws = 400_000usize;
            let mut freq = std::collections::HashMap::<i64, usize>::new();
            let mut sum = 0i64;
            for _ in 0..draws {
                let z = discrete_laplace(&mut rng, sigma);
                sum += z;
                *freq.entry(z).or_default() += 1;
            }
            let total: f64 = (-2000..=2000).map(|k| discrete_laplace_pmf(k, sigma)).sum();
            assert!((total - 1.0).abs() < 1e-12, "pmf sums to {total}");
            let mut chi2 = 0.0;
            let mut bins = 0;
            for k in -6i64..=6 {
                let e = discrete_laplace_pmf(k, sigma) * draws as f64;
                if e < 50.0 {
                    continue;
                }
                let o = *freq.get(&k).unwrap_or(&0) as f64;
                chi2 += (o - e).powi(2) / e;
                bins += 1;
            }
            // χ² with at most 13 bins: far below its 99.99% quantile (≈ 39 at 12 degrees of freedom).
            assert!(chi2 < 39.0, "σ = {sigma}: χ² = {chi2} over {bins} bins");
            let mean = sum as f64 / draws as f64;
            assert!(mean.abs() < 6.0 * (2.0 * sigma * sigma + 1.0).sqrt() / (draws as f64).sqrt(), "{mean}");
            for k in -5i64..5 {
                let r = discrete_laplace_pmf(k, sigma) / discrete_laplace_pmf(k + 1, sigma);
                let want = if k < 0 { (-1.0 / sigma).exp() } else { (1.0 / sigma).exp() };
                assert!((r / want - 1.0).abs() < 1e-12, "σ = {sigma}, k = {k}: {r} vs {want}");
            }
        }
        // The tail is unbounded: far draws happen at their rate.
        let mut rng = cateye_stats::stream(18, PURPOSE_PRIOR, 0);
        let far = (0..200_000).filter(|_| discrete_laplace(&mut rng, 1.0) >= 9).count() as f64;
        let want = 200_000.0 * (-9.0f64).exp() / (1.0 + (-1.0f64).exp());
        assert!((far - want).abs() < 5.0 * want.sqrt(), "{far} draws ≥ 9, expected {want}");
    }

    #[test]
    fn duplicate_cells_are_refused() {
        let (y, t, c) = data(600);
        let clusters = Clusters::from_labels(&c).unwrap();
        let grid = OutcomeGrid::uniform(0.0, 6.0, 13).unwrap();
        let m = Mechanism::new(grid, Rounding::Nearest, MechanismParams::cluster(0.5, 0.02, 2.0)).unwrap();
        let r = privatize(&y, &t, &clusters, &m, 4).unwrap();
        r.mechanism.validate().unwrap();
        let mut twice = r.mechanism.clone();
        let mut copy = twice.priors[3].clone();
        copy.prior = vec![1.0 / 13.0; 13];
        twice.priors.push(copy);
        let e = twice.validate().unwrap_err().to_string();
        assert!(e.contains("listed twice") && e.contains("cluster 'c1'") && e.contains("treated"), "{e}");
        // The same for the one-cell-per-arm priors.
        let free = Mechanism::new(m.grid.clone(), Rounding::Nearest, MechanismParams::uniform(0.5, 13)).unwrap();
        let mut r = privatize(&y, &t, &Clusters::single(600), &free, 4).unwrap().mechanism;
        r.priors.push(r.priors[0].clone());
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("listed twice") && e.contains("(all)") && e.contains("control"), "{e}");
    }

    #[test]
    fn a_unit_id_as_cluster_is_refused() {
        let (y, t, _) = data(100);
        let ids: Vec<String> = (0..100).map(|i| format!("u{}", i % 51)).collect();
        let clusters = Clusters::from_labels(&ids).unwrap();
        let grid = OutcomeGrid::uniform(0.0, 6.0, 13).unwrap();
        let m = Mechanism::new(grid.clone(), Rounding::Nearest, MechanismParams::cluster(0.5, 0.02, 2.0)).unwrap();
        let e = privatize(&y, &t, &clusters, &m, 1).unwrap_err().to_string();
        assert!(e.contains("51 clusters for 100 rows"), "{e}");
        // Half the rows is still accepted, and the other priors ignore the clusters.
        let ids: Vec<String> = (0..100).map(|i| format!("u{}", i % 50)).collect();
        privatize(&y, &t, &Clusters::from_labels(&ids).unwrap(), &m, 1).unwrap();
        let free = Mechanism::new(grid, Rounding::Nearest, MechanismParams::cluster_free(0.5, 0.02, 2.0)).unwrap();
        privatize(&y, &t, &clusters, &free, 1).unwrap();
    }

    #[test]
    fn bad_inputs_are_named() {
        let clusters = Clusters::single(3);
        let grid = OutcomeGrid::uniform(0.0, 1.0, 2).unwrap();
        let m = Mechanism::new(grid, Rounding::Nearest, MechanismParams::uniform(0.5, 2)).unwrap();
        let e = privatize(&[0.0, f64::NAN, 1.0], &[true, false, true], &clusters, &m, 1).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("NaN"), "{e}");
        let e = privatize(&[0.0, 1.0, 1.0], &[true, false], &clusters, &m, 1).unwrap_err().to_string();
        assert!(e.contains("'treated' has 2 values, expected 3"), "{e}");
        let mut bad = m.clone();
        bad.params.lambda = 1.5;
        let e = privatize(&[0.0, 1.0, 1.0], &[true, false, true], &clusters, &bad, 1).unwrap_err().to_string();
        assert!(e.starts_with("lambda = 1.5"), "{e}");
    }
}
