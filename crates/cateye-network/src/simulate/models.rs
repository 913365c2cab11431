//! Outcome models with direct and spillover effects, for checking designs before running them.
//!
//! * [`LinearInMeans`]: `Y_i = α_i + τ·Z_i + γ·S_i + ε_i`, with `S_i` the share of `i`'s
//!   neighbours treated (weighted by edge weight when the graph has weights), the model of the
//!   simulations of Eckles, Karrer & Ugander (2017, J. Causal Inference, §5). The global effect
//!   is exact: `τ + γ·(share of nodes with a neighbour)`.
//! * [`IndependentCascade`]: the independent cascade of Kempe, Kleinberg & Tardos (2003,
//!   "Maximizing the spread of influence through a social network", KDD, §2): known seed nodes
//!   adopt first; every node that adopts gets one chance to make each neighbour adopt. Treatment
//!   makes a node more likely to adopt: a seed adopts with probability `seed_adoption` of its
//!   arm and a neighbour is won with probability `transmission` of the neighbour's arm. The
//!   outcome is adoption (0 or 1); the global effect is found by Monte Carlo.
//! * [`LinearThreshold`]: the linear threshold model of the same paper (§2): node `v` draws a
//!   threshold `θ_v ~ U(0, 1)` and adopts once the adopting neighbours' weight
//!   `λ_arm · Σ_{u adopting} b_uv` reaches it, with `b_uv = w_uv / Σ_u w_uv` (`1/deg v`
//!   unweighted) and `λ` the arm's susceptibility (`λ_treated > λ_control` makes treated nodes
//!   adopt more easily).
//!
//! Every random draw comes from a stream the caller passes, so a simulation is reproducible.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{NetworkError, Result};
use crate::graph::Graph;

/// A probability for each arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ByArm {
    /// The value for a treated node.
    pub treated: f64,
    /// The value for a control node.
    pub control: f64,
}

impl ByArm {
    /// The value of the arm given (`true` = treated).
    pub fn get(&self, treated: bool) -> f64 {
        if treated {
            self.treated
        } else {
            self.control
        }
    }
}

/// Linear-in-means outcomes: `Y_i = α_i + τ·Z_i + γ·S_i + ε_i`.
///
/// `α_i` is fixed per node (drawn once per simulation as `baseline_mean + baseline_sd·N(0,1)`),
/// `ε_i ~ N(0, noise_sd²)` is drawn afresh for every experiment, `S_i` is the treated share of
/// `i`'s neighbours (0 for a node without neighbours). `spillover = 0` is no interference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearInMeans {
    /// Mean of the node baselines `α_i`.
    pub baseline_mean: f64,
    /// Standard deviation of the node baselines.
    pub baseline_sd: f64,
    /// Direct effect `τ` of a node's own treatment.
    pub direct: f64,
    /// Spillover `γ`: the effect of having every neighbour treated.
    pub spillover: f64,
    /// Standard deviation of the noise `ε_i`.
    pub noise_sd: f64,
}

/// The independent cascade of Kempe, Kleinberg & Tardos (2003) with arm-dependent adoption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndependentCascade {
    /// The cascade seed nodes (known to the experimenter).
    pub seeds: Vec<u32>,
    /// Probability that a seed adopts, by the seed's arm.
    pub seed_adoption: ByArm,
    /// Probability that an adopting node wins a neighbour, by the neighbour's arm. On a weighted
    /// graph an edge of weight `w` counts as `w` independent contacts: `1 − (1 − q)^w`.
    pub transmission: ByArm,
}

/// The linear threshold model of Kempe, Kleinberg & Tardos (2003) with arm-dependent
/// susceptibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearThreshold {
    /// The cascade seed nodes.
    pub seeds: Vec<u32>,
    /// Probability that a seed adopts, by the seed's arm.
    pub seed_adoption: ByArm,
    /// Susceptibility `λ` by the node's arm: the node adopts when `λ · Σ b_uv ≥ θ_v` over its
    /// adopting neighbours `u`.
    pub susceptibility: ByArm,
}

/// An outcome model with direct and spillover effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeModel {
    /// Linear-in-means outcomes.
    LinearInMeans(LinearInMeans),
    /// Adoption by independent cascade.
    IndependentCascade(IndependentCascade),
    /// Adoption by linear threshold.
    LinearThreshold(LinearThreshold),
}

/// The global (total) treatment effect of a model on a graph: the mean outcome with every node
/// treated minus that with every node in control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrueEffect {
    /// The effect.
    pub effect: f64,
    /// Its Monte Carlo standard error (0 when exact).
    pub mc_se: f64,
    /// Mean outcome with every node treated.
    pub all_treated: f64,
    /// Mean outcome with every node in control.
    pub all_control: f64,
    /// Monte Carlo runs per world (0 when exact).
    pub runs: u64,
}

impl OutcomeModel {
    /// Checks the model against the graph: probabilities in [0, 1], finite parameters, seeds in
    /// the graph and not repeated. Errors name the value.
    pub fn validate(&self, graph: &Graph) -> Result<()> {
        let n = graph.num_nodes();
        let check_seeds = |seeds: &[u32]| -> Result<()> {
            if seeds.is_empty() {
                return Err(NetworkError::invalid("a diffusion model needs at least one seed node"));
            }
            let mut seen = vec![false; n];
            for &s in seeds {
                if s as usize >= n {
                    return Err(NetworkError::invalid(format!(
                        "diffusion seed {s} is not a node of the graph (nodes 0..{n})"
                    )));
                }
                if std::mem::replace(&mut seen[s as usize], true) {
                    return Err(NetworkError::invalid(format!("diffusion seed {s} is given twice")));
                }
            }
            Ok(())
        };
        let check_probability = |name: &str, v: ByArm| -> Result<()> {
            for (arm, x) in [("treated", v.treated), ("control", v.control)] {
                if !(0.0..=1.0).contains(&x) {
                    return Err(NetworkError::invalid(format!(
                        "{name} for {arm} nodes is {x}: expected a probability"
                    )));
                }
            }
            Ok(())
        };
        match self {
            OutcomeModel::LinearInMeans(m) => {
                for (name, v) in [
                    ("baseline_mean", m.baseline_mean),
                    ("baseline_sd", m.baseline_sd),
                    ("direct", m.direct),
                    ("spillover", m.spillover),
                    ("noise_sd", m.noise_sd),
                ] {
                    if !v.is_finite() {
                        return Err(NetworkError::invalid(format!(
                            "linear-in-means {name} is {v}: expected a finite number"
                        )));
                    }
                }
                if m.baseline_sd < 0.0 || m.noise_sd < 0.0 {
                    return Err(NetworkError::invalid("linear-in-means standard deviations must be 0 or more"));
                }
                Ok(())
            }
            OutcomeModel::IndependentCascade(m) => {
                check_seeds(&m.seeds)?;
                check_probability("seed_adoption", m.seed_adoption)?;
                check_probability("transmission", m.transmission)
            }
            OutcomeModel::LinearThreshold(m) => {
                check_seeds(&m.seeds)?;
                check_probability("seed_adoption", m.seed_adoption)?;
                for (arm, x) in [("treated", m.susceptibility.treated), ("control", m.susceptibility.control)] {
                    if !(x.is_finite() && x >= 0.0) {
                        return Err(NetworkError::invalid(format!(
                            "susceptibility for {arm} nodes is {x}: expected a finite number, 0 or more"
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    /// The per-node baselines `α_i` of a linear-in-means model (empty for the diffusions), drawn
    /// from `rng`.
    pub fn baselines(&self, num_nodes: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        match self {
            OutcomeModel::LinearInMeans(m) => (0..num_nodes)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    m.baseline_mean + m.baseline_sd * z
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// One experiment's outcomes for the arms given (`baselines` from
    /// [`OutcomeModel::baselines`]; missing baselines count as `baseline_mean`), with the
    /// model's randomness drawn from `rng`. Errors: arms that are not one per node, a seed
    /// outside the graph.
    pub fn outcomes(
        &self,
        graph: &Graph,
        treated: &[bool],
        baselines: &[f64],
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<f64>> {
        let n = graph.num_nodes();
        if treated.len() != n {
            return Err(NetworkError::invalid(format!(
                "{} arms for a graph of {n} nodes: expected one per node",
                treated.len()
            )));
        }
        let seeds = match self {
            OutcomeModel::LinearInMeans(_) => &[][..],
            OutcomeModel::IndependentCascade(m) => &m.seeds[..],
            OutcomeModel::LinearThreshold(m) => &m.seeds[..],
        };
        if let Some(s) = seeds.iter().find(|&&s| s as usize >= n) {
            return Err(NetworkError::invalid(format!("diffusion seed {s} is not a node of the graph (nodes 0..{n})")));
        }
        Ok(self.outcomes_unchecked(graph, treated, baselines, rng))
    }

    /// [`OutcomeModel::outcomes`] for arms and seeds already checked.
    pub(crate) fn outcomes_unchecked(
        &self,
        graph: &Graph,
        treated: &[bool],
        baselines: &[f64],
        rng: &mut ChaCha8Rng,
    ) -> Vec<f64> {
        match self {
            OutcomeModel::LinearInMeans(m) => linear_in_means(graph, m, treated, baselines, rng),
            OutcomeModel::IndependentCascade(m) => independent_cascade(graph, m, treated, rng),
            OutcomeModel::LinearThreshold(m) => linear_threshold(graph, m, treated, rng),
        }
    }

    /// The global effect on `graph`: exact for linear-in-means; for the diffusions the mean
    /// adoption share over `runs` independent cascades with every node treated minus that over
    /// `runs` with every node in control, run `r` of each world drawing from
    /// `cateye_stats::stream(seed, purpose, 2r)` and `(…, 2r + 1)`; the standard error is that
    /// of a difference of two independent means.
    pub fn true_effect(&self, graph: &Graph, runs: usize, seed: u64, purpose: u64) -> Result<TrueEffect> {
        use rayon::prelude::*;
        self.validate(graph)?;
        let n = graph.num_nodes();
        if n == 0 {
            return Err(NetworkError::invalid("the graph has no nodes"));
        }
        if let OutcomeModel::LinearInMeans(m) = self {
            let connected = (0..n).filter(|&i| graph.degree(i) > 0).count() as f64 / n as f64;
            let all_control = m.baseline_mean;
            let all_treated = m.baseline_mean + m.direct + m.spillover * connected;
            return Ok(TrueEffect { effect: all_treated - all_control, mc_se: 0.0, all_treated, all_control, runs: 0 });
        }
        if runs < 2 {
            return Err(NetworkError::invalid(format!(
                "{runs} Monte Carlo runs for the true effect of a diffusion: expected at least 2"
            )));
        }
        let worlds = [vec![true; n], vec![false; n]];
        let shares: Vec<[f64; 2]> = (0..runs)
            .into_par_iter()
            .map(|r| {
                let mut share = [0.0; 2];
                for (w, arms) in worlds.iter().enumerate() {
                    let mut rng = cateye_stats::stream(seed, purpose, 2 * r as u64 + w as u64);
                    let y = self.outcomes_unchecked(graph, arms, &[], &mut rng);
                    share[w] = y.iter().sum::<f64>() / n as f64;
                }
                share
            })
            .collect();
        let stats = |w: usize| {
            let k = runs as f64;
            let mean = shares.iter().map(|s| s[w]).sum::<f64>() / k;
            let var = shares.iter().map(|s| (s[w] - mean).powi(2)).sum::<f64>() / (k - 1.0);
            (mean, var / k)
        };
        let (t, vt) = stats(0);
        let (c, vc) = stats(1);
        Ok(TrueEffect { effect: t - c, mc_se: (vt + vc).sqrt(), all_treated: t, all_control: c, runs: runs as u64 })
    }
}

/// The treated share of a node's neighbours (by weight on a weighted graph); 0 without
/// neighbours.
fn treated_share(graph: &Graph, i: usize, treated: &[bool]) -> f64 {
    let neighbors = graph.neighbors(i);
    if neighbors.is_empty() {
        return 0.0;
    }
    match graph.edge_weights(i) {
        None => neighbors.iter().filter(|&&j| treated[j as usize]).count() as f64 / neighbors.len() as f64,
        Some(w) => {
            let on: f64 = neighbors.iter().zip(w).filter(|(j, _)| treated[**j as usize]).map(|(_, w)| *w).sum();
            on / w.iter().sum::<f64>()
        }
    }
}

fn linear_in_means(
    graph: &Graph,
    m: &LinearInMeans,
    treated: &[bool],
    baselines: &[f64],
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    (0..graph.num_nodes())
        .map(|i| {
            let z = if treated[i] { 1.0 } else { 0.0 };
            let alpha = baselines.get(i).copied().unwrap_or(m.baseline_mean);
            let noise: f64 = if m.noise_sd > 0.0 { StandardNormal.sample(rng) } else { 0.0 };
            alpha + m.direct * z + m.spillover * treated_share(graph, i, treated) + m.noise_sd * noise
        })
        .collect()
}

/// Seeds adopt by their own arm; returns the adoption flags and the queue of adopters.
fn seed_adopters(
    seeds: &[u32],
    adoption: ByArm,
    treated: &[bool],
    n: usize,
    rng: &mut ChaCha8Rng,
) -> (Vec<bool>, Vec<u32>) {
    let mut active = vec![false; n];
    let mut queue = Vec::new();
    for &s in seeds {
        if rng.random::<f64>() < adoption.get(treated[s as usize]) {
            active[s as usize] = true;
            queue.push(s);
        }
    }
    (active, queue)
}

fn independent_cascade(graph: &Graph, m: &IndependentCascade, treated: &[bool], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n = graph.num_nodes();
    let (mut active, mut queue) = seed_adopters(&m.seeds, m.seed_adoption, treated, n, rng);
    let mut head = 0;
    while head < queue.len() {
        let u = queue[head] as usize;
        head += 1;
        let weights = graph.edge_weights(u);
        for (k, &v) in graph.neighbors(u).iter().enumerate() {
            let v = v as usize;
            if active[v] {
                continue;
            }
            let q = m.transmission.get(treated[v]);
            let q = match weights {
                Some(w) => 1.0 - (1.0 - q).powf(w[k]),
                None => q,
            };
            // One try per (adopter, neighbour) edge: u is dequeued once.
            if rng.random::<f64>() < q {
                active[v] = true;
                queue.push(v as u32);
            }
        }
    }
    active.into_iter().map(|a| if a { 1.0 } else { 0.0 }).collect()
}

fn linear_threshold(graph: &Graph, m: &LinearThreshold, treated: &[bool], rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n = graph.num_nodes();
    let (mut active, mut queue) = seed_adopters(&m.seeds, m.seed_adoption, treated, n, rng);
    // Thresholds drawn for every node in node order, so the draws do not depend on the cascade.
    let threshold: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let mut pressure = vec![0.0f64; n];
    let mut head = 0;
    while head < queue.len() {
        let u = queue[head] as usize;
        head += 1;
        let weights = graph.edge_weights(u);
        for (k, &v) in graph.neighbors(u).iter().enumerate() {
            let v = v as usize;
            if active[v] {
                continue;
            }
            // b_uv = w_uv / strength(v): the weight of u among v's neighbours.
            let b = match weights {
                Some(w) => w[k] / graph.strength(v),
                None => 1.0 / graph.degree(v) as f64,
            };
            pressure[v] += b;
            if m.susceptibility.get(treated[v]) * pressure[v] >= threshold[v] {
                active[v] = true;
                queue.push(v as u32);
            }
        }
    }
    active.into_iter().map(|a| if a { 1.0 } else { 0.0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(n: u32) -> Graph {
        let edges: Vec<(u32, u32)> = (1..n).map(|i| (i - 1, i)).collect();
        Graph::from_edges(n as usize, &edges, None).unwrap().0
    }

    /// Adoption frequency of every node over `runs` cascades with every node in arm `arm`.
    fn frequencies(graph: &Graph, model: &OutcomeModel, arm: bool, runs: u64) -> Vec<f64> {
        let n = graph.num_nodes();
        let arms = vec![arm; n];
        let mut f = vec![0.0; n];
        for r in 0..runs {
            let mut rng = cateye_stats::stream(5, 77, r);
            for (fi, y) in f.iter_mut().zip(model.outcomes(graph, &arms, &[], &mut rng).unwrap()) {
                *fi += y;
            }
        }
        f.iter().map(|c| c / runs as f64).collect()
    }

    /// Within 4.5 binomial standard errors.
    fn close(freq: f64, p: f64, runs: u64) -> bool {
        (freq - p).abs() <= 4.5 * (p * (1.0 - p) / runs as f64).sqrt() + 1e-12
    }

    #[test]
    fn independent_cascade_on_a_path_matches_a_times_q_to_the_distance() {
        // Seed 0 on a path: node d adopts iff the seed adopts and the d edges fire, a·q^d.
        let g = path(6);
        let model = OutcomeModel::IndependentCascade(IndependentCascade {
            seeds: vec![0],
            seed_adoption: ByArm { treated: 0.9, control: 0.6 },
            transmission: ByArm { treated: 0.7, control: 0.3 },
        });
        let runs = 40_000;
        for (arm, a, q) in [(true, 0.9f64, 0.7f64), (false, 0.6, 0.3)] {
            let f = frequencies(&g, &model, arm, runs);
            for (d, &fd) in f.iter().enumerate() {
                let p = a * q.powi(d as i32);
                assert!(close(fd, p, runs), "arm {arm} node {d}: {fd} vs {p}");
            }
        }
    }

    #[test]
    fn independent_cascade_on_a_triangle_counts_both_paths() {
        // Seed 0 adopts; node 1 is won directly (q) or through node 2 ((1 − q)·q·q).
        let (g, _) = Graph::from_edges(3, &[(0, 1), (1, 2), (0, 2)], None).unwrap();
        let q = 0.4;
        let model = OutcomeModel::IndependentCascade(IndependentCascade {
            seeds: vec![0],
            seed_adoption: ByArm { treated: 1.0, control: 1.0 },
            transmission: ByArm { treated: q, control: q },
        });
        let runs = 40_000;
        let f = frequencies(&g, &model, true, runs);
        let p = q + (1.0 - q) * q * q;
        assert!(close(f[1], p, runs) && close(f[2], p, runs), "{f:?} vs {p}");
        assert_eq!(f[0], 1.0);
    }

    #[test]
    fn linear_threshold_on_a_path_matches_the_closed_form() {
        // Interior nodes have two neighbours: with the predecessor adopting, node d adopts iff
        // θ_d ≤ λ/2; the last node has one neighbour and adopts iff θ ≤ min(1, λ).
        let g = path(5);
        let model = OutcomeModel::LinearThreshold(LinearThreshold {
            seeds: vec![0],
            seed_adoption: ByArm { treated: 0.8, control: 0.8 },
            susceptibility: ByArm { treated: 1.6, control: 1.0 },
        });
        let runs = 40_000;
        for (arm, lambda) in [(true, 1.6f64), (false, 1.0)] {
            let f = frequencies(&g, &model, arm, runs);
            let step = (lambda / 2.0).min(1.0);
            for (d, &fd) in f.iter().enumerate() {
                let interior = d.min(3) as i32;
                let p = 0.8 * step.powi(interior) * if d == 4 { lambda.min(1.0) } else { 1.0 };
                assert!(close(fd, p, runs), "arm {arm} node {d}: {fd} vs {p}");
            }
        }
    }

    #[test]
    fn linear_in_means_effect_is_exact_and_outcomes_follow_the_formula() {
        // Star: centre 0 with leaves 1..=3, and isolated node 4.
        let (g, _) = Graph::from_edges(5, &[(0, 1), (0, 2), (0, 3)], None).unwrap();
        let lim = LinearInMeans { baseline_mean: 2.0, baseline_sd: 0.0, direct: 1.0, spillover: 0.5, noise_sd: 0.0 };
        let model = OutcomeModel::LinearInMeans(lim);
        let t = model.true_effect(&g, 0, 1, 2).unwrap();
        assert!((t.effect - (1.0 + 0.5 * 0.8)).abs() < 1e-15);
        let mut rng = cateye_stats::stream(1, 2, 3);
        let base = model.baselines(5, &mut rng);
        let y = model.outcomes(&g, &[false, true, true, false, true], &base, &mut rng).unwrap();
        assert!(model.outcomes(&g, &[true], &base, &mut rng).unwrap_err().to_string().contains("1 arms"));
        // Centre: control, 2 of 3 leaves treated. Leaf 1: treated, centre in control.
        assert!((y[0] - (2.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
        assert!((y[1] - 3.0).abs() < 1e-12);
        assert!((y[4] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn true_effect_of_a_cascade_is_near_the_closed_form() {
        let g = path(4);
        let model = OutcomeModel::IndependentCascade(IndependentCascade {
            seeds: vec![0],
            seed_adoption: ByArm { treated: 1.0, control: 1.0 },
            transmission: ByArm { treated: 0.5, control: 0.2 },
        });
        let t = model.true_effect(&g, 20_000, 9, 10).unwrap();
        let mean = |q: f64| (1.0 + q + q * q + q * q * q) / 4.0;
        let exact = mean(0.5) - mean(0.2);
        assert!((t.effect - exact).abs() < 4.0 * t.mc_se, "{} ± {} vs {exact}", t.effect, t.mc_se);
        assert!(t.mc_se > 0.0 && t.mc_se < 0.01);
    }

    #[test]
    fn bad_models_are_named() {
        let g = path(3);
        let ic = |seeds: Vec<u32>, q: f64| {
            OutcomeModel::IndependentCascade(IndependentCascade {
                seeds,
                seed_adoption: ByArm { treated: 1.0, control: 1.0 },
                transmission: ByArm { treated: q, control: 0.1 },
            })
        };
        assert!(ic(vec![5], 0.1).validate(&g).unwrap_err().to_string().contains("seed 5"));
        assert!(ic(vec![1, 1], 0.1).validate(&g).unwrap_err().to_string().contains("twice"));
        assert!(ic(vec![], 0.1).validate(&g).unwrap_err().to_string().contains("at least one seed"));
        assert!(ic(vec![0], 1.5)
            .validate(&g)
            .unwrap_err()
            .to_string()
            .contains("transmission for treated nodes is 1.5"));
    }
}
