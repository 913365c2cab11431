//! Exact Aronow–Samii pair sums under complete randomization of `m` of `C` clusters.
//!
//! Under complete randomization (one stratum) the probability that `n` given clusters are all
//! treated is `h₁(n) = (m)_n/(C)_n`, all in control `h₀(n) = (C−m)_n/(C)_n` (falling factorials),
//! so for nodes with cluster sets of sizes `a = |S_i|`, `b = |S_j|` meeting in `o` clusters the
//! Aronow–Samii weights depend on `(a, b, o)` only:
//!
//! * same arm `t`: `w_t(a,b,o) = 1 − h_t(a)h_t(b)/h_t(a+b−o)`, nonzero (negative) even for
//!   disjoint sets, which is how the fixed number of treated clusters enters the variance;
//! * opposite arms, disjoint sets: `π_ij(1,0) = (m)_a(C−m)_b/(C)_{a+b}`, so
//!   `w₁₀(a,b) = 1 − (C)_{a+b}/((C)_a(C)_b)` (it does not depend on `m`); meeting sets have
//!   `π_ij(1,0) = 0` and go to Young's bound as under Bernoulli.
//!
//! The sums over all pairs are split into a disjoint baseline and an overlap correction. The
//! baseline `Σ_{a,b} w_t(a,b,0) B_a B_b` groups the exposed nodes by set size (`B_a` the sum of
//! `b_i` over nodes with `|S_i| = a`). The correction `w_t(a,b,o) − w_t(a,b,0)` is written as
//! `Σ_{∅≠T⊆S_i∩S_j} φ_{t,a,b}(|T|)` with the binomial inversion
//! `φ(k) = Σ_{j=1}^k (−1)^{k−j} C(k,j) (w(a,b,j) − w(a,b,0))`, summed over the subsets `T` of the
//! exposed nodes' sets grouped by `(T, size)` in the subset tree of `pairs.rs`. Opposite-arm
//! pairs subtract their meeting pairs from the baseline with the Möbius sign `(−1)^{|T|+1}`.
//! Nodes with more than `max_subset` clusters are corrected directly through the nodes of their
//! clusters.
//!
//! This is exact when no two nodes that could be exposed to the same arm need more clusters in
//! that arm than the design has (`a_i + a_j − o > m_t` would make `π_ij = 0`); the caller falls
//! back to the independent-cluster approximation when the sizes cannot rule that out.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::exposure::ClusterSets;
use rayon::prelude::*;

use crate::pairs::{transpose_nodes, SubsetTree, TREE_BUDGET};

/// The exposed nodes and the design's `C` and `m`.
pub(crate) struct CompleteInput<'a> {
    /// The cluster sets `S_i` of all nodes.
    pub sets: &'a ClusterSets,
    /// Number of clusters `C` (the design's only stratum).
    pub num_clusters: usize,
    /// The exposed nodes of each arm (`[control, treated]`) with their values `b_i`.
    pub exposed: [&'a [(u32, f64)]; 2],
    /// Number of treated clusters `m`.
    pub treated: u32,
    /// Largest cluster set expanded into subsets.
    pub max_subset: usize,
}

/// The exact pair sums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CompleteSums {
    /// `Σ_{i,j∈E_t} w_t b_i b_j` per arm, diagonal included.
    pub same: [f64; 2],
    /// `Σ_{i∈E1, j∈E0, S_i∩S_j=∅} w₁₀ b_i b_j`.
    pub cross: f64,
}

/// Log falling factorials of `C`, `C−m` and `m`.
struct Weights {
    lf_all: Vec<f64>,
    lf_arm: [Vec<f64>; 2],
}

fn ln_falling(x: u32, kmax: usize) -> Vec<f64> {
    let mut out = vec![0.0; kmax + 1];
    for k in 0..kmax {
        out[k + 1] = if (k as u32) < x { out[k] + f64::from(x - k as u32).ln() } else { f64::NEG_INFINITY };
    }
    out
}

impl Weights {
    fn new(c: u32, m: u32, kmax: usize) -> Weights {
        Weights { lf_all: ln_falling(c, kmax), lf_arm: [ln_falling(c - m, kmax), ln_falling(m, kmax)] }
    }

    fn ln_h(&self, arm: usize, n: usize) -> f64 {
        self.lf_arm[arm][n] - self.lf_all[n]
    }

    fn same(&self, arm: usize, a: usize, b: usize, o: usize) -> f64 {
        -(self.ln_h(arm, a) + self.ln_h(arm, b) - self.ln_h(arm, a + b - o)).exp_m1()
    }

    fn cross(&self, a: usize, b: usize) -> f64 {
        -(self.lf_all[a + b] - self.lf_all[a] - self.lf_all[b]).exp_m1()
    }
}

/// The exact pair sums, or `None` when some same-arm pair might have joint probability 0.
pub(crate) fn complete_pair_sums(input: &CompleteInput<'_>, auto: bool) -> Result<Option<CompleteSums>> {
    let sets = input.sets;
    let n = sets.len();
    let c = input.num_clusters as u32;
    let arm_clusters = [c - input.treated, input.treated];
    let size = |i: u32| sets.get(i as usize).len();
    for (arm, &limit) in arm_clusters.iter().enumerate() {
        let limit = limit as usize;
        let Some(max_exposed) = input.exposed[arm].iter().map(|e| size(e.0)).max() else { continue };
        let max_any = (0..n).map(|j| sets.get(j).len()).filter(|&a| a <= limit).max().unwrap_or(0);
        if max_exposed + max_any > limit {
            return Ok(None);
        }
    }
    let max_subset = if auto { choose_max_subset(input) } else { input.max_subset };
    let largest = input.exposed.iter().flat_map(|e| e.iter()).map(|e| size(e.0)).max().unwrap_or(0);
    let w = Weights::new(c, input.treated, 2 * largest + 1);
    let mut same = [0.0f64; 2];
    let mut cross = 0.0f64;

    // Baseline over all pairs, grouped by set size.
    let by_size: [BTreeMap<usize, f64>; 2] = [0, 1].map(|arm| {
        let mut m = BTreeMap::new();
        for &(i, b) in input.exposed[arm] {
            *m.entry(size(i)).or_insert(0.0) += b;
        }
        m
    });
    for (arm, total) in same.iter_mut().enumerate() {
        for (&a, &ba) in &by_size[arm] {
            for (&b, &bb) in &by_size[arm] {
                *total += w.same(arm, a, b, 0) * ba * bb;
            }
        }
    }
    for (&a, &ba) in &by_size[1] {
        for (&b, &bb) in &by_size[0] {
            cross += w.cross(a, b) * ba * bb;
        }
    }

    let is_big = |i: u32| size(i) > max_subset;
    // Overlap corrections of the small nodes through their subsets, grouped by (subset, size).
    let small_max =
        input.exposed.iter().flat_map(|e| e.iter()).map(|e| size(e.0)).filter(|&a| a <= max_subset).max().unwrap_or(0);
    let s1 = small_max + 1;
    let phi: [Vec<f64>; 2] = [0, 1].map(|arm| {
        let mut table = vec![f64::NAN; s1 * s1 * s1];
        for a in 1..s1 {
            for b in 1..s1 {
                if a + b > arm_clusters[arm] as usize {
                    continue;
                }
                let base = w.same(arm, a, b, 0);
                for k in 1..=a.min(b) {
                    let mut binom = 1.0;
                    let mut total = 0.0;
                    for j in 0..=k {
                        if j > 0 {
                            binom = binom * (k - j + 1) as f64 / j as f64;
                            let sign = if (k - j) % 2 == 0 { 1.0 } else { -1.0 };
                            total += sign * binom * (w.same(arm, a, b, j) - base);
                        }
                    }
                    table[(a * s1 + b) * s1 + k] = total;
                }
            }
        }
        table
    });
    let mut tree = SubsetTree::new(input.num_clusters);
    let mut records: Vec<(u32, u8, u8, f64)> = Vec::new();
    let mut ids = Vec::new();
    for arm in 0..2 {
        for &(i, b) in input.exposed[arm].iter().filter(|e| size(e.0) <= max_subset) {
            ids.clear();
            tree.insert_ids(sets.get(i as usize), u32::MAX, 0, &mut ids)?;
            let a = size(i) as u8;
            records.extend(ids.iter().map(|&id| (id, arm as u8, a, b)));
        }
    }
    records.sort_by_key(|r| (r.0, r.1, r.2));
    let mut groups: [Vec<(usize, f64)>; 2] = [Vec::new(), Vec::new()];
    for run in records.chunk_by(|x, y| x.0 == y.0) {
        groups[0].clear();
        groups[1].clear();
        for part in run.chunk_by(|x, y| x.1 == y.1 && x.2 == y.2) {
            let total: f64 = part.iter().map(|r| r.3).sum();
            groups[part[0].1 as usize].push((part[0].2 as usize, total));
        }
        let k = tree.depth_of(run[0].0) as usize;
        for (arm, total) in same.iter_mut().enumerate() {
            for &(a, ba) in &groups[arm] {
                for &(b, bb) in &groups[arm] {
                    *total += phi[arm][(a * s1 + b) * s1 + k] * ba * bb;
                }
            }
        }
        let sign = if k % 2 == 1 { 1.0 } else { -1.0 };
        for &(a, ba) in &groups[1] {
            for &(b, bb) in &groups[0] {
                cross -= sign * w.cross(a, b) * ba * bb;
            }
        }
    }

    // The other exposed nodes directly, through the exposed nodes of their clusters.
    let big: Vec<(usize, u32, f64)> = (0..2)
        .flat_map(|arm| input.exposed[arm].iter().map(move |&(i, b)| (arm, i, b)))
        .filter(|&(_, i, _)| is_big(i))
        .collect();
    if !big.is_empty() {
        let nodes: Vec<u32> = input.exposed.iter().flat_map(|e| e.iter()).map(|e| e.0).collect();
        let (offsets, members) = transpose_nodes(sets, &nodes, input.num_clusters);
        let mut b_of = [vec![f64::NAN; n], vec![f64::NAN; n]];
        for (arm, slots) in b_of.iter_mut().enumerate() {
            for &(i, b) in input.exposed[arm] {
                slots[i as usize] = b;
            }
        }
        let rows: Vec<(f64, f64)> = big
            .par_iter()
            .map_init(
                || (vec![0u32; n], 0u32),
                |(stamp, current), &(arm, i, bi)| {
                    *current += 1;
                    let si = sets.get(i as usize);
                    let a = si.len();
                    let (mut same_row, mut cross_row) = (0.0f64, 0.0f64);
                    for &cl in si {
                        for &j in &members[offsets[cl as usize] as usize..offsets[cl as usize + 1] as usize] {
                            let ju = j as usize;
                            if stamp[ju] == *current {
                                continue;
                            }
                            stamp[ju] = *current;
                            let sj = sets.get(ju);
                            let b = sj.len();
                            let bj = b_of[arm][ju];
                            if j != i && !bj.is_nan() {
                                let o = shared(si, sj);
                                let twice = if is_big(j) { 1.0 } else { 2.0 };
                                same_row += twice * (w.same(arm, a, b, o) - w.same(arm, a, b, 0)) * bi * bj;
                            }
                            let other = b_of[1 - arm][ju];
                            if !other.is_nan() {
                                // A meeting opposite-arm pair leaves the disjoint baseline; a pair
                                // of two such nodes is removed once, from the treated side.
                                if arm == 1 {
                                    cross_row -= w.cross(a, b) * bi * other;
                                } else if !is_big(j) {
                                    cross_row -= w.cross(b, a) * other * bi;
                                }
                            }
                        }
                    }
                    same_row += (w.same(arm, a, a, a) - w.same(arm, a, a, 0)) * bi * bi;
                    (same_row, cross_row)
                },
            )
            .collect();
        for (&(arm, _, _), &(same_row, cross_row)) in big.iter().zip(&rows) {
            same[arm] += same_row;
            cross += cross_row;
        }
    }
    Ok(Some(CompleteSums { same, cross }))
}

/// Whether to expand subsets (`max_subset`) or correct every exposed node directly (0), by cost:
/// the subsets' records against the exposed nodes met through each exposed node's clusters.
fn choose_max_subset(input: &CompleteInput<'_>) -> usize {
    let sets = input.sets;
    let exposed = || input.exposed.iter().flat_map(|e| e.iter()).map(|e| sets.get(e.0 as usize));
    let mut per_cluster = vec![0f64; input.num_clusters];
    for s in exposed() {
        for &c in s {
            per_cluster[c as usize] += 1.0;
        }
    }
    let direct: f64 = exposed().map(|s| s.iter().map(|&c| per_cluster[c as usize]).sum::<f64>()).sum();
    let tree: f64 = exposed().filter(|s| s.len() <= input.max_subset).map(|s| (s.len() as f64).exp2()).sum();
    if tree > TREE_BUDGET || direct < 6.0 * tree {
        0
    } else {
        input.max_subset
    }
}

/// Number of clusters two sorted cluster sets share.
fn shared(a: &[u32], b: &[u32]) -> usize {
    crate::pairs::common(a, b).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::Design;
    use crate::exposure::{Exposure, ExposureModel};
    use crate::graph::Graph;
    use cateye_stats::stream;
    use rand::RngExt;

    #[test]
    fn grouped_sums_equal_the_direct_pair_sums() {
        let mut checked = 0;
        for seed in 0..4u64 {
            let mut rng = stream(seed, 3, 0);
            let n = 100u32;
            let labels: Vec<u32> = (0..n).map(|i| i / 2).collect();
            let mut edges = Vec::new();
            for a in 0..n {
                for b in a + 1..n {
                    if rng.random::<f64>() < 0.04 {
                        edges.push((a, b));
                    }
                }
            }
            let (g, _) = Graph::from_edges(n as usize, &edges, None).unwrap();
            let design = Design::cluster_complete(&labels, 0.5).unwrap();
            let model = ExposureModel::new(&g, &design, Exposure::Full).unwrap();
            let sets = model.sets();
            let (c, m) = (50u32, 25u32);
            // Exposed sets small enough for the exact path.
            let e: [Vec<(u32, f64)>; 2] = [0, 1].map(|_| {
                let mut side = Vec::new();
                for i in 0..n {
                    if sets.get(i as usize).len() <= 5 && rng.random::<f64>() < 0.5 {
                        side.push((i, rng.random::<f64>() * 3.0 - 1.0));
                    }
                }
                side
            });
            let w = Weights::new(c, m, 200);
            let mut direct_same = [0.0; 2];
            let mut direct_cross = 0.0;
            for arm in 0..2 {
                for &(i, bi) in &e[arm] {
                    for &(j, bj) in &e[arm] {
                        let (si, sj) = (sets.get(i as usize), sets.get(j as usize));
                        direct_same[arm] += w.same(arm, si.len(), sj.len(), shared(si, sj)) * bi * bj;
                    }
                }
            }
            for &(i, bi) in &e[1] {
                for &(j, bj) in &e[0] {
                    let (si, sj) = (sets.get(i as usize), sets.get(j as usize));
                    if shared(si, sj) == 0 {
                        direct_cross += w.cross(si.len(), sj.len()) * bi * bj;
                    }
                }
            }
            for max_subset in [20, 2, 1, 0] {
                let got = complete_pair_sums(
                    &CompleteInput { sets, num_clusters: 50, exposed: [&e[0], &e[1]], treated: m, max_subset },
                    max_subset == 1,
                )
                .unwrap();
                let Some(got) = got else {
                    // The largest set of the graph could meet an exposed set beyond m clusters.
                    continue;
                };
                checked += 1;
                for (arm, &direct) in direct_same.iter().enumerate() {
                    assert!(
                        (got.same[arm] - direct).abs() < 1e-9 * direct.abs().max(1.0),
                        "seed {seed} max {max_subset} arm {arm}: {} vs {direct}",
                        got.same[arm]
                    );
                }
                assert!(
                    (got.cross - direct_cross).abs() < 1e-9 * direct_cross.abs().max(1.0),
                    "seed {seed} max {max_subset}: {} vs {direct_cross}",
                    got.cross
                );
            }
        }
        assert_eq!(checked, 16, "every case takes the exact path");
    }
}
