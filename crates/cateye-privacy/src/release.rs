//! The release: the Cluster-DP mechanism applied to a table (the paper's Algorithm 2).
//!
//! For every cell (cluster `c`, arm `a`, with `n_{a,c}` units):
//!
//! 1. the empirical distribution `p̂_{a,c}` of the cell's levels (outcomes clipped and rounded
//!    onto the grid, [`crate::grid`]);
//! 2. Laplace noise: `q(y) = p̂_{a,c}(y) + Laplace(σ/n_{a,c})`, independently per level;
//! 3. truncation at the floor `γ` and renormalisation, keeping the floor exact
//!    ([`floor_distribution`]), which gives the released distribution `q̃_{a,c}`;
//! 4. each unit keeps its level with probability `1 − λ`, and with probability `λ` reports a
//!    level drawn from `q̃_{a,c}`.
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
/// The random-stream purpose of the Laplace noise on the response distributions.
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
    /// probabilities per cell, cluster labels exactly for the cluster prior, and an account
    /// that matches the parameters.
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
        for cell in &self.priors {
            let name = cell.cluster.as_deref().unwrap_or("(all)");
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

/// A Laplace draw of scale `scale` by inversion.
fn laplace(rng: &mut ChaCha8Rng, scale: f64) -> f64 {
    loop {
        let u: f64 = rng.random::<f64>();
        if u > 0.0 {
            return if u < 0.5 { scale * (2.0 * u).ln() } else { -scale * (2.0 * (1.0 - u)).ln() };
        }
    }
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
            let mf = m as f64;
            let mut w: Vec<f64> = counts[cell * k..(cell + 1) * k].iter().map(|&c| c as f64 / mf).collect();
            if params.sigma > 0.0 {
                let mut rng = cateye_stats::stream(seed, PURPOSE_PRIOR, cell as u64);
                let scale = params.sigma / mf;
                for p in w.iter_mut() {
                    *p += laplace(&mut rng, scale);
                }
            }
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
