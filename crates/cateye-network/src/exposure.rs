//! Exposure conditions and their exact probabilities under a design.
//!
//! Under interference a node's outcome depends on more than its own assignment, so the
//! estimators of the global effect (everyone treated against no one treated) only use nodes
//! whose *exposure* resembles one of the two global conditions (Ugander, Karrer, Backstrom &
//! Kleinberg 2013, §3; Eckles, Karrer & Ugander 2017, §2.2; Aronow & Samii 2017, §2):
//!
//! * [`Exposure::Full`], full neighbourhood exposure: node `i` is *exposed to treatment* when it
//!   and all its neighbours are treated, *exposed to control* when it and all its neighbours are
//!   in control;
//! * [`Exposure::Fractional`], fractional `q`-exposure: exposed to treatment when `i` is treated
//!   and at least `⌈q·d_i⌉` of its `d_i` neighbours are treated; exposed to control when `i` is
//!   in control and at least `⌈q·d_i⌉` of its neighbours are in control (`q·d_i` within 1e-9 of
//!   an integer counts as that integer);
//! * [`Exposure::Own`], the node's own assignment only (no interference).
//!
//! An isolated node is exposed to its own assignment under all three. Edge weights are not
//! used: the fractions count neighbours.
//!
//! **Exact probabilities** ([`ExposureModel`]). Let `S_i` be the set of clusters touching the
//! closed neighbourhood of `i` (its own cluster and its neighbours'; only its own cluster under
//! [`Exposure::Own`]). Under cluster Bernoulli(p) full neighbourhood exposure has
//! `π_i(1) = p^{|S_i|}` and `π_i(0) = (1−p)^{|S_i|}` (Ugander et al. 2013, §3.1). Under complete
//! randomization of `m_s` of `C_s` clusters within strata, the probability that `a_s` given
//! clusters of stratum `s` are all treated is hypergeometric, `(m_s)_{a_s}/(C_s)_{a_s}`
//! (falling factorials), so `π_i(1) = Π_s (m_s)_{a_s}/(C_s)_{a_s}` over the strata met by `S_i`.
//! Fractional exposure conditions on the node's own cluster and sums its other neighbours by
//! cluster: under Bernoulli a dynamic programme over the clusters of `S_i` gives the law of the
//! number of treated neighbours, `O(|S_i|·d_i)` (Ugander et al. 2013, §3.2); under complete
//! randomization the programme also tracks how many of the stratum's clusters are treated
//! (`O(Σ_s a_s²·d_i)`), mixing the uniform `t`-subsets with hypergeometric weights, and strata
//! are convolved. A node whose programme would exceed `4·10⁷` steps is simulated instead
//! (20,000 draws of its clusters) and its Monte Carlo standard error is reported: the
//! estimators then weight it by `1/π̂`, so they are only approximately unbiased for it, and a
//! simulated `π̂ = 0` (no draw exposed the node, though it may be exposable) leaves the node
//! out of any estimate in which it is exposed (counted in
//! [`EffectEstimate::excluded_unestimated_probability`](crate::EffectEstimate::excluded_unestimated_probability)).

use cateye_stats::stream;
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::design::{Assignment, Design, SchemeView, Strata};
use crate::error::{NetworkError, Result};
use crate::graph::Graph;

/// Stream purpose of the per-node Monte Carlo fallback of fractional exposure.
const PURPOSE_FALLBACK: u64 = 0xE790_5E00_0001;
/// Steps of the exact fractional programme above which a node is simulated instead.
const FRACTIONAL_BUDGET: f64 = 4e7;
/// Draws of the per-node Monte Carlo fallback.
const FALLBACK_DRAWS: usize = 20_000;
/// Nodes per parallel work item when building the cluster sets.
const CHUNK: usize = 8192;

/// An exposure condition: which nodes count as exposed to the global treatment or control.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exposure {
    /// The node's own assignment only: no interference assumed.
    Own,
    /// Full neighbourhood exposure: the node and all its neighbours share its assignment.
    Full,
    /// Fractional `q`-exposure: the node's assignment and at least a share `q` of its
    /// neighbours with the same assignment (`0 ≤ q ≤ 1`; `q = 1` is full exposure).
    Fractional {
        /// The share of neighbours that must share the node's assignment.
        q: f64,
    },
}

impl Exposure {
    fn check(self) -> Result<()> {
        if let Exposure::Fractional { q } = self {
            if !(0.0..=1.0).contains(&q) {
                return Err(NetworkError::invalid(format!(
                    "fractional exposure q = {q}: the share of neighbours must lie in [0, 1]"
                )));
            }
        }
        Ok(())
    }
}

/// The exposure condition of one node under one assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Condition {
    /// Exposed to the global control condition.
    Control = 0,
    /// Exposed to the global treatment condition.
    Treated = 1,
    /// Exposed to neither (mixed neighbourhood): not used by the estimators.
    Neither = 2,
}

/// The number of same-arm neighbours that fractional `q`-exposure requires of a node of
/// degree `degree`: `⌈q·degree⌉`, with `q·degree` within 1e-9 of an integer taken as it.
pub(crate) fn threshold(q: f64, degree: usize) -> usize {
    let x = q * degree as f64;
    let r = x.round();
    if (x - r).abs() <= 1e-9 * x.max(1.0) {
        r as usize
    } else {
        x.ceil() as usize
    }
}

/// The exposure condition of every node under the node assignment `nodes` (0 control,
/// 1 treated), as defined in the module documentation.
pub fn exposure_conditions(graph: &Graph, exposure: Exposure, nodes: &[u8]) -> Result<Vec<Condition>> {
    exposure.check()?;
    if nodes.len() != graph.num_nodes() {
        return Err(NetworkError::invalid(format!(
            "{} node assignments for a graph of {} nodes",
            nodes.len(),
            graph.num_nodes()
        )));
    }
    if let Some((i, z)) = nodes.iter().enumerate().find(|(_, &z)| z > 1) {
        return Err(NetworkError::invalid(format!("node {i} has assignment {z}: expected 0 or 1")));
    }
    Ok(conditions_unchecked(graph, exposure, nodes))
}

fn conditions_unchecked(graph: &Graph, exposure: Exposure, z: &[u8]) -> Vec<Condition> {
    let arm = |zi: u8| if zi == 1 { Condition::Treated } else { Condition::Control };
    (0..z.len())
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| {
            let zi = z[i];
            match exposure {
                Exposure::Own => arm(zi),
                Exposure::Full => {
                    if graph.neighbors(i).iter().all(|&j| z[j as usize] == zi) {
                        arm(zi)
                    } else {
                        Condition::Neither
                    }
                }
                Exposure::Fractional { q } => {
                    let nb = graph.neighbors(i);
                    let same = nb.iter().filter(|&&j| z[j as usize] == zi).count();
                    if same >= threshold(q, nb.len()) {
                        arm(zi)
                    } else {
                        Condition::Neither
                    }
                }
            }
        })
        .collect()
}

/// The probabilities `π_i(1)` and `π_i(0)` that every node is exposed to treatment and to
/// control under a design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExposureProbabilities {
    /// `π_i(1)` of every node.
    pub treated: Vec<f64>,
    /// `π_i(0)` of every node.
    pub control: Vec<f64>,
    /// Present when some probabilities were simulated: their Monte Carlo standard errors.
    /// (Boxed: it is large and usually absent.)
    pub monte_carlo: Option<Box<MonteCarloError>>,
}

/// The Monte Carlo error of simulated exposure probabilities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MonteCarloError {
    /// Draws of the design behind each simulated probability.
    pub draws: usize,
    /// Number of nodes whose probabilities were simulated (the others are exact, with
    /// standard error 0).
    pub simulated_nodes: usize,
    /// The simulated nodes, ascending. A simulated probability of 0 only says that no draw
    /// exposed the node (its standard error is then 0 too): the node may still be exposed, and
    /// the estimators leave it out when it is
    /// ([`EffectEstimate::excluded_unestimated_probability`](crate::EffectEstimate::excluded_unestimated_probability)).
    #[serde(default)]
    pub simulated: Vec<u32>,
    /// Standard error `√(π̂(1−π̂)/draws)` of every `π_i(1)` (0 where exact).
    pub treated_se: Vec<f64>,
    /// Standard error of every `π_i(0)` (0 where exact).
    pub control_se: Vec<f64>,
    /// The largest of these standard errors.
    pub max_se: f64,
}

impl ExposureProbabilities {
    /// Monte Carlo exposure probabilities for any design: `draw(r)` returns the node assignment
    /// (0/1) of draw `r = 0..draws`; `π̂_i(t)` is the share of draws in which node `i` is
    /// exposed to `t`, reported with its standard error `√(π̂(1−π̂)/draws)`.
    pub fn monte_carlo<F>(graph: &Graph, exposure: Exposure, draws: usize, draw: F) -> Result<ExposureProbabilities>
    where
        F: Fn(u64) -> Vec<u8>,
    {
        exposure.check()?;
        if draws == 0 {
            return Err(NetworkError::invalid("0 Monte Carlo draws: at least 1 is needed"));
        }
        let n = graph.num_nodes();
        let mut treated = vec![0u32; n];
        let mut control = vec![0u32; n];
        for r in 0..draws {
            let z = draw(r as u64);
            let cond = exposure_conditions(graph, exposure, &z)?;
            treated.par_iter_mut().zip(control.par_iter_mut()).zip(cond.par_iter()).for_each(|((t, c), k)| match k {
                Condition::Treated => *t += 1,
                Condition::Control => *c += 1,
                Condition::Neither => {}
            });
        }
        let share = |k: &u32| f64::from(*k) / draws as f64;
        let se = |p: &f64| (p * (1.0 - p) / draws as f64).sqrt();
        let treated: Vec<f64> = treated.iter().map(share).collect();
        let control: Vec<f64> = control.iter().map(share).collect();
        let treated_se: Vec<f64> = treated.iter().map(se).collect();
        let control_se: Vec<f64> = control.iter().map(se).collect();
        let max_se = treated_se.iter().chain(&control_se).fold(0.0f64, |a, &b| a.max(b));
        Ok(ExposureProbabilities {
            treated,
            control,
            monte_carlo: Some(Box::new(MonteCarloError {
                draws,
                simulated_nodes: n,
                simulated: (0..n as u32).collect(),
                treated_se,
                control_se,
                max_se,
            })),
        })
    }

    /// Number of nodes that can never be exposed to treatment (`π_i(1) = 0`).
    pub fn zero_treated(&self) -> usize {
        self.treated.iter().filter(|&&p| p == 0.0).count()
    }

    /// Number of nodes that can never be exposed to control (`π_i(0) = 0`).
    pub fn zero_control(&self) -> usize {
        self.control.iter().filter(|&&p| p == 0.0).count()
    }
}

/// The clusters `S_i` touching every node's closed neighbourhood, in compressed rows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ClusterSets {
    offsets: Vec<u64>,
    items: Vec<u32>,
}

impl ClusterSets {
    /// `S_i`, sorted ascending.
    pub(crate) fn get(&self, i: usize) -> &[u32] {
        &self.items[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn build(graph: &Graph, labels: &[u32], own_only: bool) -> ClusterSets {
        let n = graph.num_nodes();
        if own_only {
            return ClusterSets { offsets: (0..=n as u64).collect(), items: labels.to_vec() };
        }
        let parts: Vec<(Vec<u32>, Vec<u32>)> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|k| {
                let (lo, hi) = (k * CHUNK, ((k + 1) * CHUNK).min(n));
                let mut lens = Vec::with_capacity(hi - lo);
                let mut items = Vec::new();
                for i in lo..hi {
                    let start = items.len();
                    items.push(labels[i]);
                    items.extend(graph.neighbors(i).iter().map(|&j| labels[j as usize]));
                    let row = &mut items[start..];
                    row.sort_unstable();
                    let mut kept = 0usize;
                    for r in 0..row.len() {
                        if kept == 0 || row[r] != row[kept - 1] {
                            row[kept] = row[r];
                            kept += 1;
                        }
                    }
                    items.truncate(start + kept);
                    lens.push(kept as u32);
                }
                (lens, items)
            })
            .collect();
        let total: usize = parts.iter().map(|p| p.1.len()).sum();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut items = Vec::with_capacity(total);
        offsets.push(0u64);
        for (lens, part) in parts {
            for l in lens {
                offsets.push(offsets.last().copied().unwrap_or(0) + u64::from(l));
            }
            items.extend_from_slice(&part);
        }
        ClusterSets { offsets, items }
    }
}

/// A graph, a design and an exposure condition, with the exact exposure probabilities of every
/// node and the cluster sets `S_i` the variance estimators need.
#[derive(Clone, Debug)]
pub struct ExposureModel<'a> {
    graph: &'a Graph,
    design: &'a Design,
    exposure: Exposure,
    sets: ClusterSets,
    probabilities: ExposureProbabilities,
}

impl<'a> ExposureModel<'a> {
    /// Computes the cluster sets and the exact exposure probabilities of every node (see the
    /// module documentation for the formulas); the design must cover the graph's nodes.
    pub fn new(graph: &'a Graph, design: &'a Design, exposure: Exposure) -> Result<ExposureModel<'a>> {
        exposure.check()?;
        if design.num_nodes() != graph.num_nodes() {
            return Err(NetworkError::invalid(format!(
                "the design labels {} nodes but the graph has {}",
                design.num_nodes(),
                graph.num_nodes()
            )));
        }
        let sets = ClusterSets::build(graph, design.labels(), exposure == Exposure::Own);
        let probabilities = exact_probabilities(graph, design, exposure, &sets);
        Ok(ExposureModel { graph, design, exposure, sets, probabilities })
    }

    /// The graph.
    pub fn graph(&self) -> &'a Graph {
        self.graph
    }

    /// The design.
    pub fn design(&self) -> &'a Design {
        self.design
    }

    /// The exposure condition.
    pub fn exposure(&self) -> Exposure {
        self.exposure
    }

    /// The exposure probabilities of every node.
    pub fn probabilities(&self) -> &ExposureProbabilities {
        &self.probabilities
    }

    /// The clusters `S_i` whose assignment node `node`'s exposure depends on, ascending: its own
    /// cluster and its neighbours' (its own cluster only under [`Exposure::Own`]).
    pub fn cluster_set(&self, node: usize) -> &[u32] {
        self.sets.get(node)
    }

    pub(crate) fn sets(&self) -> &ClusterSets {
        &self.sets
    }

    /// The exposure condition of every node under `assignment` (a draw of this model's design).
    pub fn conditions(&self, assignment: &Assignment) -> Result<Vec<Condition>> {
        if assignment.nodes().len() != self.graph.num_nodes() {
            return Err(NetworkError::invalid(format!(
                "an assignment of {} nodes for a graph of {}",
                assignment.nodes().len(),
                self.graph.num_nodes()
            )));
        }
        Ok(conditions_unchecked(self.graph, self.exposure, assignment.nodes()))
    }

    /// The exact joint probability `π_ij(a, b)` that node `i` is exposed to `a` and node `j` to
    /// `b` (`i = j` allowed), for own and full neighbourhood exposure: the clusters of `S_i`
    /// must all have assignment `a` and those of `S_j` assignment `b`, so it is 0 when `a ≠ b`
    /// and the sets meet, `p^{#treated}(1−p)^{#control}` over the required clusters under
    /// Bernoulli, and `Π_s (m_s)_{t_s}(C_s−m_s)_{c_s}/(C_s)_{t_s+c_s}` under complete
    /// randomization (`t_s`, `c_s` the required treated and control clusters of stratum `s`).
    /// `None` for fractional exposure or [`Condition::Neither`].
    pub fn joint_probability(&self, i: usize, a: Condition, j: usize, b: Condition) -> Option<f64> {
        if matches!(self.exposure, Exposure::Fractional { .. }) || a == Condition::Neither || b == Condition::Neither {
            return None;
        }
        let (si, sj) = (self.sets.get(i), self.sets.get(j));
        let mut required: Vec<(u32, bool)> = si.iter().map(|&c| (c, a == Condition::Treated)).collect();
        required.extend(sj.iter().map(|&c| (c, b == Condition::Treated)));
        required.sort_unstable();
        required.dedup();
        if required.windows(2).any(|w| w[0].0 == w[1].0) {
            return Some(0.0);
        }
        let treated = required.iter().filter(|r| r.1).count();
        let control = required.len() - treated;
        Some(match self.design.scheme() {
            SchemeView::Bernoulli(p) => p.powi(treated as i32) * (1.0 - p).powi(control as i32),
            SchemeView::Complete(strata) => {
                let mut by_stratum: Vec<(u32, bool)> =
                    required.iter().map(|&(c, t)| (strata.of_cluster[c as usize], t)).collect();
                by_stratum.sort_unstable();
                let mut prob = 1.0;
                let mut k = 0;
                while k < by_stratum.len() {
                    let s = by_stratum[k].0;
                    let mut e = k;
                    while e < by_stratum.len() && by_stratum[e].0 == s {
                        e += 1;
                    }
                    let t = by_stratum[k..e].iter().filter(|r| r.1).count() as u32;
                    let c = (e - k) as u32 - t;
                    let (cs, ms) = (strata.clusters[s as usize], strata.treated[s as usize]);
                    if t > ms || c > cs - ms {
                        return Some(0.0);
                    }
                    prob *= falling_ratio(ms, t, cs) * falling_ratio(cs - ms, c, cs - t);
                    k = e;
                }
                prob
            }
        })
    }
}

/// `(m)_k / (c)_k`: the probability that `k` given clusters are all among `m` drawn of `c`.
fn falling_ratio(m: u32, k: u32, c: u32) -> f64 {
    if k > m {
        return 0.0;
    }
    (0..k).map(|j| f64::from(m - j) / f64::from(c - j)).product()
}

/// Per-thread scratch space of the probability computations.
#[derive(Default)]
struct Scratch {
    keys: Vec<u32>,
    groups: Vec<(u32, u32)>,
    dp: Vec<f64>,
    dist: Vec<f64>,
    acc: Vec<f64>,
    tmp: Vec<f64>,
    hyp: Vec<f64>,
}

fn exact_probabilities(
    graph: &Graph,
    design: &Design,
    exposure: Exposure,
    sets: &ClusterSets,
) -> ExposureProbabilities {
    let n = graph.num_nodes();
    let labels = design.labels();
    let scheme = design.scheme();
    let mut treated = vec![0.0; n];
    let mut control = vec![0.0; n];
    // Standard errors of the nodes simulated by the fractional fallback (NaN when exact).
    let mut se = vec![(f64::NAN, f64::NAN); n];
    treated
        .par_iter_mut()
        .zip(control.par_iter_mut())
        .zip(se.par_iter_mut())
        .enumerate()
        .with_min_len(256)
        .for_each_init(Scratch::default, |scratch, (i, ((t, c), e))| {
            let own = labels[i] as usize;
            match (exposure, &scheme) {
                (Exposure::Own, SchemeView::Bernoulli(p)) => (*t, *c) = (*p, 1.0 - p),
                (Exposure::Own, SchemeView::Complete(strata)) => {
                    let s = strata.of_cluster[own] as usize;
                    let (cs, ms) = (f64::from(strata.clusters[s]), f64::from(strata.treated[s]));
                    (*t, *c) = (ms / cs, (cs - ms) / cs);
                }
                (Exposure::Full, SchemeView::Bernoulli(p)) => {
                    let k = sets.get(i).len() as i32;
                    (*t, *c) = (p.powi(k), (1.0 - p).powi(k));
                }
                (Exposure::Full, SchemeView::Complete(strata)) => {
                    scratch.keys.clear();
                    scratch.keys.extend(sets.get(i).iter().map(|&c| strata.of_cluster[c as usize]));
                    scratch.keys.sort_unstable();
                    let (mut pt, mut pc) = (1.0, 1.0);
                    for run in scratch.keys.chunk_by(|a, b| a == b) {
                        let s = run[0] as usize;
                        let (cs, ms, a) = (strata.clusters[s], strata.treated[s], run.len() as u32);
                        pt *= falling_ratio(ms, a, cs);
                        pc *= falling_ratio(cs - ms, a, cs);
                    }
                    (*t, *c) = (pt, pc);
                }
                (Exposure::Fractional { q }, _) => {
                    let (pt, pc, err) = fractional(graph, labels, &scheme, i, q, scratch);
                    (*t, *c) = (pt, pc);
                    if let Some(err) = err {
                        *e = err;
                    }
                }
            }
        });
    let simulated = se.iter().filter(|e| !e.0.is_nan()).count();
    let monte_carlo = (simulated > 0).then(|| {
        let treated_se: Vec<f64> = se.iter().map(|e| if e.0.is_nan() { 0.0 } else { e.0 }).collect();
        let control_se: Vec<f64> = se.iter().map(|e| if e.1.is_nan() { 0.0 } else { e.1 }).collect();
        let max_se = treated_se.iter().chain(&control_se).fold(0.0f64, |a, &b| a.max(b));
        let nodes: Vec<u32> = (0..n as u32).filter(|&i| !se[i as usize].0.is_nan()).collect();
        Box::new(MonteCarloError {
            draws: FALLBACK_DRAWS,
            simulated_nodes: simulated,
            simulated: nodes,
            treated_se,
            control_se,
            max_se,
        })
    });
    ExposureProbabilities { treated, control, monte_carlo }
}

/// Fractional exposure probabilities of node `i`: `(π_i(1), π_i(0), Monte Carlo errors when
/// simulated)`.
fn fractional(
    graph: &Graph,
    labels: &[u32],
    scheme: &SchemeView<'_>,
    i: usize,
    q: f64,
    scratch: &mut Scratch,
) -> (f64, f64, Option<(f64, f64)>) {
    let own = labels[i];
    let nb = graph.neighbors(i);
    let thr = threshold(q, nb.len());
    // Neighbours by cluster: (cluster, count), the own cluster apart.
    scratch.keys.clear();
    scratch.keys.extend(nb.iter().map(|&j| labels[j as usize]));
    scratch.keys.sort_unstable();
    let mut own_count = 0usize;
    scratch.groups.clear();
    for run in scratch.keys.chunk_by(|a, b| a == b) {
        if run[0] == own {
            own_count = run.len();
        } else {
            scratch.groups.push((run[0], run.len() as u32));
        }
    }
    let need = thr.saturating_sub(own_count);
    match scheme {
        SchemeView::Bernoulli(p) => {
            let pt = p * bernoulli_tail(&scratch.groups, *p, need, &mut scratch.dp);
            let pc = (1.0 - p) * bernoulli_tail(&scratch.groups, 1.0 - p, need, &mut scratch.dp);
            (pt, pc, None)
        }
        SchemeView::Complete(strata) => {
            // (stratum, weight), sorted by stratum.
            for g in scratch.groups.iter_mut() {
                g.0 = strata.of_cluster[g.0 as usize];
            }
            scratch.groups.sort_unstable();
            let s0 = strata.of_cluster[own as usize] as usize;
            let mut work = 0.0;
            for run in scratch.groups.chunk_by(|a, b| a.0 == b.0) {
                let a = run.len() as f64;
                work += a * a * (need + 1) as f64 + ((need + 1) * (need + 1)) as f64;
            }
            if work > FRACTIONAL_BUDGET {
                let (pt, pc, st, sc) = fractional_simulated(strata, s0, &scratch.groups, need, i as u64);
                return (pt, pc, Some((st, sc)));
            }
            let groups = std::mem::take(&mut scratch.groups);
            let mut out = [0.0; 2];
            for (arm, slot) in out.iter_mut().enumerate() {
                // arm 1: clusters that must be treated; arm 0: clusters that must be in control.
                let drawn = |s: usize| {
                    let m = strata.treated[s];
                    if arm == 1 {
                        m
                    } else {
                        strata.clusters[s] - m
                    }
                };
                let (c0, m0) = (strata.clusters[s0], drawn(s0));
                let p_own = f64::from(m0) / f64::from(c0);
                if m0 == 0 {
                    continue;
                }
                let tail = complete_tail(strata, s0, &drawn, &groups, need, scratch);
                *slot = p_own * tail;
            }
            scratch.groups = groups;
            (out[1], out[0], None)
        }
    }
}

/// `P(Σ_c k_c Z_c ≥ need)` for independent `Z_c ~ Bernoulli(p)`, by a dynamic programme over
/// the clusters on sums truncated at `need`.
fn bernoulli_tail(groups: &[(u32, u32)], p: f64, need: usize, dp: &mut Vec<f64>) -> f64 {
    if need == 0 {
        return 1.0;
    }
    if groups.iter().map(|g| g.1 as usize).sum::<usize>() < need {
        return 0.0;
    }
    dp.clear();
    dp.resize(need + 1, 0.0);
    dp[0] = 1.0;
    for &(_, k) in groups {
        let k = k as usize;
        // Descending so that dp[s] is still the old value when read.
        for s in (0..=need).rev() {
            let v = dp[s];
            if v == 0.0 {
                continue;
            }
            let to = (s + k).min(need);
            if s == need {
                // Absorbing: once at least `need`, stays.
                continue;
            }
            dp[s] = v * (1.0 - p);
            dp[to] += v * p;
        }
    }
    dp[need]
}

/// `P(Σ_c k_c Z_c ≥ need | own cluster in the arm)` under stratified complete randomization,
/// where `drawn(s)` clusters of stratum `s` are in the arm and the own cluster (stratum `s0`) is
/// one of them. `groups` is `(stratum, k_c)` sorted by stratum.
fn complete_tail(
    strata: &Strata,
    s0: usize,
    drawn: &dyn Fn(usize) -> u32,
    groups: &[(u32, u32)],
    need: usize,
    scratch: &mut Scratch,
) -> f64 {
    if need == 0 {
        return 1.0;
    }
    if groups.iter().map(|g| g.1 as usize).sum::<usize>() < need {
        return 0.0;
    }
    let width = need + 1;
    // Law of the total, truncated at `need`, convolved over strata.
    scratch.acc.clear();
    scratch.acc.resize(width, 0.0);
    scratch.acc[0] = 1.0;
    for run in groups.chunk_by(|a, b| a.0 == b.0) {
        let s = run[0].0 as usize;
        let (mut cs, mut ms) = (strata.clusters[s], drawn(s));
        if s == s0 {
            cs -= 1;
            ms -= 1;
        }
        let a = run.len();
        // dp[t][v]: among the uniform t-subsets of the clusters seen so far, the share whose
        // weights sum to v (truncated).
        let dp = &mut scratch.dp;
        dp.clear();
        dp.resize((a + 1) * width, 0.0);
        dp[0] = 1.0;
        for (j, &(_, k)) in run.iter().enumerate() {
            let k = k as usize;
            let jn = (j + 1) as f64;
            for t in (1..=j + 1).rev() {
                let (lo, hi) = dp.split_at_mut(t * width);
                let prev = &lo[(t - 1) * width..];
                let row = &mut hi[..width];
                let keep = (jn - t as f64) / jn;
                let add = t as f64 / jn;
                for v in row.iter_mut() {
                    *v *= keep;
                }
                for (v, &x) in prev.iter().enumerate() {
                    if x != 0.0 {
                        row[(v + k).min(need)] += add * x;
                    }
                }
            }
            // t = 0: the empty subset keeps sum 0 with share 1.
        }
        // Mix over the hypergeometric number of these clusters in the arm.
        hypergeometric(a as u32, ms, cs, &mut scratch.hyp);
        scratch.dist.clear();
        scratch.dist.resize(width, 0.0);
        for (t, &w) in scratch.hyp.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            for v in 0..width {
                scratch.dist[v] += w * dp[t * width + v];
            }
        }
        // Convolve with the running law.
        scratch.tmp.clear();
        scratch.tmp.resize(width, 0.0);
        for (u, &x) in scratch.acc.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            for (v, &y) in scratch.dist.iter().enumerate() {
                scratch.tmp[(u + v).min(need)] += x * y;
            }
        }
        std::mem::swap(&mut scratch.acc, &mut scratch.tmp);
    }
    scratch.acc[need].min(1.0)
}

/// The law of the number of `a` given clusters among `m` drawn of `c` (hypergeometric), as
/// weights indexed `0..=a` written to `out`, from the ratios of consecutive terms in logs.
fn hypergeometric(a: u32, m: u32, c: u32, out: &mut Vec<f64>) {
    let lo = a.saturating_sub(c - m);
    let hi = a.min(m);
    out.clear();
    out.resize(a as usize + 1, f64::NEG_INFINITY);
    out[lo as usize] = 0.0;
    for t in lo..hi {
        let (t, a, m, c) = (f64::from(t), f64::from(a), f64::from(m), f64::from(c));
        let ratio = ((a - t) * (m - t)) / ((t + 1.0) * (c - m - a + t + 1.0));
        out[t as usize + 1] = out[t as usize] + ratio.ln();
    }
    let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for x in out.iter_mut() {
        *x = (*x - max).exp();
    }
    let total: f64 = out.iter().sum();
    for x in out.iter_mut() {
        *x /= total;
    }
}

/// Monte Carlo fallback of the fractional probabilities under complete randomization: the
/// clusters of the node's neighbourhood (and its own) are drawn sequentially within each
/// stratum, `m_left / C_left` at a time, which is their exact joint law.
fn fractional_simulated(
    strata: &Strata,
    s0: usize,
    groups: &[(u32, u32)],
    need: usize,
    node: u64,
) -> (f64, f64, f64, f64) {
    let mut rng = stream(0, PURPOSE_FALLBACK, node);
    let (mut hit_t, mut hit_c) = (0u64, 0u64);
    let total: u64 = groups.iter().map(|g| u64::from(g.1)).sum();
    for _ in 0..FALLBACK_DRAWS {
        // The own cluster first, then the others stratum by stratum.
        let (c0, m0) = (strata.clusters[s0], strata.treated[s0]);
        let own_treated = rng.random_range(0..c0) < m0;
        let mut treated_weight = 0u64;
        for run in groups.chunk_by(|a, b| a.0 == b.0) {
            let s = run[0].0 as usize;
            let (mut cl, mut ml) = (strata.clusters[s], strata.treated[s]);
            if s == s0 {
                cl -= 1;
                ml -= u32::from(own_treated);
            }
            for &(_, k) in run {
                if rng.random_range(0..cl) < ml {
                    ml -= 1;
                    treated_weight += u64::from(k);
                }
                cl -= 1;
            }
        }
        if own_treated && treated_weight >= need as u64 {
            hit_t += 1;
        }
        if !own_treated && total - treated_weight >= need as u64 {
            hit_c += 1;
        }
    }
    let r = FALLBACK_DRAWS as f64;
    let (pt, pc) = (hit_t as f64 / r, hit_c as f64 / r);
    (pt, pc, (pt * (1.0 - pt) / r).sqrt(), (pc * (1.0 - pc) / r).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small graph with clusters of uneven sizes, an isolated node and cross-cluster edges.
    fn small() -> (Graph, Vec<u32>) {
        let edges =
            [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3), (5, 6), (6, 7), (7, 8), (8, 6), (1, 7), (0, 9)];
        let (g, _) = Graph::from_edges(11, &edges, None).unwrap();
        (g, vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
    }

    fn designs(labels: &[u32]) -> Vec<Design> {
        vec![
            Design::cluster_bernoulli(labels, 0.4).unwrap(),
            Design::cluster_complete(labels, 0.5).unwrap(),
            Design::cluster_stratified(labels, &[0, 0, 1, 1], 0.5).unwrap(),
            Design::unit_bernoulli(labels.len(), 0.6).unwrap(),
            Design::unit_complete(labels.len(), 0.4).unwrap(),
        ]
    }

    #[test]
    fn exact_probabilities_match_monte_carlo() {
        let (g, labels) = small();
        for design in designs(&labels) {
            for exposure in
                [Exposure::Own, Exposure::Full, Exposure::Fractional { q: 0.5 }, Exposure::Fractional { q: 0.75 }]
            {
                let model = ExposureModel::new(&g, &design, exposure).unwrap();
                assert!(model.probabilities().monte_carlo.is_none());
                let mc = ExposureProbabilities::monte_carlo(&g, exposure, 10_000, |r| design.draw(r).nodes().to_vec())
                    .unwrap();
                let err = mc.monte_carlo.as_ref().unwrap();
                for i in 0..g.num_nodes() {
                    for (exact, sim, se) in [
                        (model.probabilities().treated[i], mc.treated[i], err.treated_se[i]),
                        (model.probabilities().control[i], mc.control[i], err.control_se[i]),
                    ] {
                        let tol = 4.5 * se.max(1.0 / 10_000.0);
                        assert!(
                            (exact - sim).abs() <= tol,
                            "{:?} {exposure:?} node {i}: exact {exact} simulated {sim} ± {se}",
                            design.summary()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn exact_probabilities_by_enumeration() {
        // Every cluster assignment of the tiny graph, weighted by its probability.
        let (g, labels) = small();
        let design = Design::cluster_bernoulli(&labels, 0.3).unwrap();
        for exposure in [Exposure::Full, Exposure::Fractional { q: 0.6 }] {
            let model = ExposureModel::new(&g, &design, exposure).unwrap();
            let mut t = [0.0; 11];
            let mut c = [0.0; 11];
            for mask in 0u32..16 {
                let z: Vec<u8> = (0..4).map(|k| ((mask >> k) & 1) as u8).collect();
                let k = z.iter().filter(|&&v| v == 1).count() as i32;
                let w = 0.3f64.powi(k) * 0.7f64.powi(4 - k);
                let a = Assignment::from_clusters(&design, z).unwrap();
                for (i, cond) in model.conditions(&a).unwrap().into_iter().enumerate() {
                    match cond {
                        Condition::Treated => t[i] += w,
                        Condition::Control => c[i] += w,
                        Condition::Neither => {}
                    }
                }
            }
            for i in 0..11 {
                assert!((t[i] - model.probabilities().treated[i]).abs() < 1e-14, "{exposure:?} {i}");
                assert!((c[i] - model.probabilities().control[i]).abs() < 1e-14, "{exposure:?} {i}");
            }
        }
    }

    #[test]
    fn complete_randomization_probabilities_by_enumeration() {
        // All 6 ways to treat 2 of 4 clusters, and the 4 ways of the stratified design.
        let (g, labels) = small();
        for (design, strata) in [
            (Design::cluster_complete(&labels, 0.5).unwrap(), vec![0u32, 0, 0, 0]),
            (Design::cluster_stratified(&labels, &[0, 1, 0, 1], 0.5).unwrap(), vec![0, 1, 0, 1]),
        ] {
            for exposure in [Exposure::Own, Exposure::Full, Exposure::Fractional { q: 0.5 }] {
                let model = ExposureModel::new(&g, &design, exposure).unwrap();
                let mut draws = Vec::new();
                for mask in 0u32..16 {
                    let z: Vec<u8> = (0..4).map(|k| ((mask >> k) & 1) as u8).collect();
                    let ok = (0..2).all(|s| {
                        let m = (0..4).filter(|&c| strata[c] == s).map(|c| u32::from(z[c])).sum::<u32>();
                        let size = strata.iter().filter(|&&x| x == s).count() as u32;
                        size == 0 || 2 * m == size
                    });
                    if ok {
                        draws.push(Assignment::from_clusters(&design, z).unwrap());
                    }
                }
                let w = 1.0 / draws.len() as f64;
                let mut t = [0.0; 11];
                let mut c = [0.0; 11];
                let mut joint = vec![[0.0f64; 4]; 121];
                for a in &draws {
                    let cond = model.conditions(a).unwrap();
                    for (i, k) in cond.iter().enumerate() {
                        match k {
                            Condition::Treated => t[i] += w,
                            Condition::Control => c[i] += w,
                            Condition::Neither => {}
                        }
                        for (j, l) in cond.iter().enumerate() {
                            if *k != Condition::Neither && *l != Condition::Neither {
                                joint[i * 11 + j][(*k as usize) * 2 + *l as usize] += w;
                            }
                        }
                    }
                }
                for i in 0..11 {
                    assert!((t[i] - model.probabilities().treated[i]).abs() < 1e-14, "{exposure:?} {i}");
                    assert!((c[i] - model.probabilities().control[i]).abs() < 1e-14, "{exposure:?} {i}");
                    for j in 0..11 {
                        for (a, b) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                            let ca = if a == 1 { Condition::Treated } else { Condition::Control };
                            let cb = if b == 1 { Condition::Treated } else { Condition::Control };
                            if let Some(p) = model.joint_probability(i, ca, j, cb) {
                                let e = joint[i * 11 + j][a * 2 + b];
                                assert!((p - e).abs() < 1e-14, "{exposure:?} ({i},{a}) ({j},{b}): {p} vs {e}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn simulated_fallback_agrees_with_the_programme() {
        let (g, labels) = small();
        let design = Design::cluster_stratified(&labels, &[0, 1, 0, 1], 0.5).unwrap();
        let SchemeView::Complete(strata) = design.scheme() else { unreachable!() };
        let mut scratch = Scratch::default();
        for i in 0..11 {
            let (pt, pc, _) = fractional(&g, &labels, &design.scheme(), i, 0.5, &mut scratch);
            // Rebuild the groups as `fractional` does and simulate.
            let own = labels[i];
            let mut groups: Vec<(u32, u32)> = Vec::new();
            let mut keys: Vec<u32> = g.neighbors(i).iter().map(|&j| labels[j as usize]).collect();
            keys.sort_unstable();
            let mut own_count = 0;
            for run in keys.chunk_by(|a, b| a == b) {
                if run[0] == own {
                    own_count = run.len();
                } else {
                    groups.push((strata.of_cluster[run[0] as usize], run.len() as u32));
                }
            }
            groups.sort_unstable();
            let need = threshold(0.5, g.degree(i)).saturating_sub(own_count);
            let s0 = strata.of_cluster[own as usize] as usize;
            let (st, sc, et, ec) = fractional_simulated(strata, s0, &groups, need, i as u64);
            assert!((st - pt).abs() <= 4.5 * et.max(1e-4), "{i}: {st} {pt}");
            assert!((sc - pc).abs() <= 4.5 * ec.max(1e-4), "{i}: {sc} {pc}");
        }
    }

    #[test]
    fn threshold_is_robust_to_rounding() {
        assert_eq!(threshold(0.3, 10), 3);
        assert_eq!(threshold(0.7, 10), 7);
        assert_eq!(threshold(0.5, 3), 2);
        assert_eq!(threshold(1.0, 7), 7);
        assert_eq!(threshold(0.0, 7), 0);
    }

    #[test]
    fn isolated_nodes_follow_their_own_cluster() {
        let (g, labels) = small();
        let design = Design::cluster_bernoulli(&labels, 0.25).unwrap();
        let model = ExposureModel::new(&g, &design, Exposure::Full).unwrap();
        assert_eq!(model.cluster_set(10), &[3]);
        assert_eq!(model.probabilities().treated[10], 0.25);
        let e = ExposureModel::new(&g, &design, Exposure::Fractional { q: 1.5 }).unwrap_err().to_string();
        assert!(e.contains("q = 1.5"), "{e}");
    }
}
