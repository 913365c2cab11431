//! Young's bound at the level of cluster totals for the unidentified covariance of the
//! Aronow–Samii variance estimator (own and full neighbourhood exposure).
//!
//! The unidentified part of `N²·Var(τ̂)` is `2·Σ_{(i,j)∈M} y_i(1) y_j(0)`, `M` the pairs of nodes
//! that can be exposed to treatment (`i`) and control (`j`) but whose cluster sets `S_i`, `S_j`
//! meet, so that `π_ij(1,0) = 0`. The pairwise bound of Aronow & Samii (2017, §4)
//! `2ab ≤ a² + b²` applied to every pair multiplies each squared value by the number of its
//! partners and leaves a slack of `Σ_M (y_i(1) − y_j(0))²`. Applied instead to the totals over
//! the nodes whose sets contain a cluster, as in the cluster-level (Neyman) variance of
//! cluster-randomized experiments (Middleton & Aronow 2015; Aronow, Samii & Assenova 2015;
//! Aronow & Samii 2017, §5, on bounds over blocks of dependent units), with
//! `U_c = {i : c ∈ S_i}`, `T_t(c) = Σ_{i∈U_c} y_i(t)` (over the nodes that can be exposed to `t`):
//!
//! `Σ_c T_1(c) T_0(c) = Σ_{i,j} |S_i ∩ S_j| y_i(1) y_j(0) = Σ_M y_i(1) y_j(0) + Σ_{i,j} E_ij y_i(1) y_j(0)`,
//! `E_ij = (|S_i ∩ S_j| − 1)₊ ≥ 0`,
//!
//! because every pair of `M` shares at least one cluster. Young's inequality on the cluster
//! totals (`2 T_1 T_0 ≤ T_1² + T_0²`) and on the pairs of `E` (`−2ab ≤ a² + b²`) gives the
//! valid upper bound
//!
//! `2·Σ_M y_i(1) y_j(0) ≤ Σ_c (T_1(c)² + T_0(c)²) + Σ_i (D_i − N_i) y_i(1)² + Σ_j (D_j − N_j) y_j(0)²`,
//!
//! `D_i = Σ_{c∈S_i} |U_c|` and `N_i = #{j : S_j ∩ S_i ≠ ∅}` (partners that can be exposed to the
//! other arm), since `Σ_j E_ij = D_i − N_i`. Its slack is
//! `Σ_c (T_1(c) − T_0(c))² + Σ_{i,j} E_ij (y_i(1) + y_j(0))²`: the first part is the classic
//! cluster-level slack, zero for the Hájek residuals under a constant effect, never larger than
//! the pairwise slack of the pairs of a cluster (Cauchy–Schwarz:
//! `(T_1 − T_0)² ≤ Σ_{i,j∈U_c} (y_i(1) − y_j(0))²`); the second involves only the pairs of
//! boundary nodes that share two or more clusters. Under own exposure `E = 0` and the bound is
//! the cluster-level one exactly.
//!
//! Every term is estimated without bias by Horvitz–Thompson: `T_t(c)² = Σ_{i,i'∈U_c} y_i y_i'`
//! through `y_i y_i'/π_ii'(t,t)` over the exposed pairs (identified when every `π_ii'(t,t) > 0`;
//! the caller falls back to the pairwise bound otherwise), and `Σ_i (D_i − N_i) y_i²` through
//! `y_i²/π_i`. Within a cluster the exposed nodes are grouped by their cluster set (nodes with
//! the same set have `π_ii' = π_i`), so the cost is `O(Σ_{i exposed} |S_i|·log)` plus the pairs of
//! distinct sets within each cluster.

use rustc_hash::FxHashMap;

use crate::exposure::ClusterSets;

/// The exposed nodes and what the cluster-total bound needs.
pub(crate) struct BlockInput<'a> {
    /// The cluster sets `S_i` of all nodes.
    pub sets: &'a ClusterSets,
    /// Number of clusters.
    pub num_clusters: usize,
    /// The exposed nodes of each arm (`[control, treated]`) with their values `b_i = y_i/π_i`.
    pub exposed: [&'a [(u32, f64)]; 2],
    /// Per arm, aligned with its exposed nodes, `N_i` (partners that can be exposed to the other
    /// arm whose sets meet `S_i`, `i` included when eligible).
    pub overlaps: [&'a [u64]; 2],
    /// Per arm, the nodes counted as partners of that arm's exposed nodes (`None`: all).
    pub eligible: [Option<&'a [bool]>; 2],
    /// Per arm, the exposure probability `π_i(t)` of every node.
    pub pi: [&'a [f64]; 2],
}

/// Most distinct-set pairs of one cluster evaluated before giving up (the caller then uses the
/// pairwise bound).
const PAIR_BUDGET: u64 = 200_000_000;

/// The estimate of the cluster-total Young bound (times `N²`), or `None` when some pair of
/// same-arm nodes of a cluster cannot be exposed together (`π_ii'(t,t) = 0`) or the distinct sets
/// are too many. `all_in_arm(t, X)` is the design's probability that every cluster of the sorted
/// set `X` has assignment `t`.
pub(crate) fn cluster_total_bound(input: &BlockInput<'_>, all_in_arm: &dyn Fn(usize, &[u32]) -> f64) -> Option<f64> {
    let sets = input.sets;
    let mut total = 0.0f64;
    for arm in 0..2 {
        // D_i − N_i: partner counts per cluster.
        let mut u_count = vec![0u64; input.num_clusters];
        for j in 0..sets.len() {
            if input.eligible[arm].is_none_or(|e| e[j]) {
                for &c in sets.get(j) {
                    u_count[c as usize] += 1;
                }
            }
        }
        for (&(i, b), &n_i) in input.exposed[arm].iter().zip(input.overlaps[arm]) {
            let d: u64 = sets.get(i as usize).iter().map(|&c| u_count[c as usize]).sum();
            total += d.saturating_sub(n_i) as f64 * b * b * input.pi[arm][i as usize];
        }
        // Σ_c T_t(c)² through the distinct sets of each cluster.
        let mut ids: FxHashMap<&[u32], u32> = FxHashMap::default();
        let mut reps: Vec<(u32, f64)> = Vec::new();
        let mut records: Vec<(u32, u32, f64)> = Vec::new();
        for &(i, b) in input.exposed[arm] {
            let s = sets.get(i as usize);
            let next = reps.len() as u32;
            let id = *ids.entry(s).or_insert(next);
            if id == next {
                reps.push((i, input.pi[arm][i as usize]));
            }
            records.extend(s.iter().map(|&c| (c, id, b)));
        }
        records.sort_unstable_by_key(|r| (r.0, r.1));
        let mut weights: FxHashMap<(u32, u32), f64> = FxHashMap::default();
        let mut groups: Vec<(u32, f64)> = Vec::new();
        let mut union: Vec<u32> = Vec::new();
        let mut work = 0u64;
        for run in records.chunk_by(|x, y| x.0 == y.0) {
            groups.clear();
            for part in run.chunk_by(|x, y| x.1 == y.1) {
                groups.push((part[0].1, part.iter().map(|r| r.2).sum()));
            }
            work += (groups.len() * groups.len()) as u64;
            if work > PAIR_BUDGET {
                return None;
            }
            for (k, &(g, bg)) in groups.iter().enumerate() {
                total += reps[g as usize].1 * bg * bg;
                for &(h, bh) in &groups[k + 1..] {
                    let w = match weights.get(&(g, h)) {
                        Some(&w) => w,
                        None => {
                            let (sg, sh) =
                                (sets.get(reps[g as usize].0 as usize), sets.get(reps[h as usize].0 as usize));
                            merge(sg, sh, &mut union);
                            let joint = all_in_arm(arm, &union);
                            if joint <= 0.0 {
                                return None;
                            }
                            let w = reps[g as usize].1 * reps[h as usize].1 / joint;
                            weights.insert((g, h), w);
                            w
                        }
                    };
                    total += 2.0 * w * bg * bh;
                }
            }
        }
    }
    Some(total)
}

/// The sorted union of two sorted sets.
fn merge(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let (mut x, mut y) = (0, 0);
    while x < a.len() || y < b.len() {
        if y == b.len() || (x < a.len() && a[x] < b[y]) {
            out.push(a[x]);
            x += 1;
        } else if x == a.len() || b[y] < a[x] {
            out.push(b[y]);
            y += 1;
        } else {
            out.push(a[x]);
            x += 1;
            y += 1;
        }
    }
}
