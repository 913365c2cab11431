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
//! through `y_i y_i'/π_ii'(t,t)` over the exposed pairs, and `Σ_i (D_i − N_i) y_i²` through
//! `y_i²/π_i`. Within a cluster the exposed nodes are grouped by their cluster set (nodes with
//! the same set have `π_ii' = π_i`), so the cost is `O(Σ_{i exposed} |S_i|·log)` plus the pairs of
//! distinct sets within each cluster.
//!
//! **Same-arm pairs that are never exposed together.** Under complete or stratified
//! randomization two nodes of `U_c` can each be exposed to `t` while `π_ii'(t,t) = 0`: their union
//! `S_i ∪ S_i'` needs more clusters of some stratum in arm `t` than the design draws (`S_i = {c,d}`,
//! `S_i' = {c,e}` with `c, d, e` in a stratum of which only 2 clusters are treated). Their term
//! `y_i y_i'` of `T_t(c)²` is never observed, so the sum over exposed pairs misses it. Young's
//! inequality is applied to those pairs too: for the set `Z_t` of such (ordered) pairs,
//!
//! `Σ_c T_t(c)² ≤ Σ_{(i,i')∉Z_t} |S_i∩S_i'| y_i y_i' + Σ_i z_i y_i²`, `z_i = Σ_{i' : (i,i')∈Z_t} |S_i ∩ S_i'|`
//!
//! (`2ab ≤ a² + b²` per pair and shared cluster), which keeps the bound valid with the extra slack
//! `Σ_{{i,i'}∈Z_t} |S_i∩S_i'| (y_i − y_i')²`, and `Σ_i z_i y_i²` is estimated through `y_i²/π_i`.
//! The pairs `Z_t` are a property of the design, found before looking at the draw
//! ([`zero_pair_counts`]): a pair can only be in `Z_t` through a stratum `s` in which
//! `k_s(i) + k_s(i') − |S_i∩S_i'∩s| > d_t(s)` (`k_s(i) = |S_i ∩ s|`, `d_t(s)` the clusters the
//! design draws into arm `t` in `s`), so only the nodes of a cluster whose count in some stratum
//! can reach that are paired, stratum by stratum and largest counts first, and each candidate
//! pair is checked exactly. Under Bernoulli, and when every set is at most half of every
//! stratum's draw (complete randomization of many clusters), no such pair exists and nothing is
//! paired. When the candidate pairs exceed a budget the caller uses the pairwise bound.

use rustc_hash::FxHashMap;

use crate::design::Strata;
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
    /// The strata of complete randomization (`None` under Bernoulli, where every same-arm pair
    /// has a positive joint probability).
    pub strata: Option<&'a Strata>,
}

/// Most distinct-set pairs of one cluster evaluated before giving up (the caller then uses the
/// pairwise bound).
const PAIR_BUDGET: u64 = 200_000_000;

/// Most candidate pairs examined by [`zero_pair_counts`] before giving up (the caller then uses
/// the pairwise bound).
const ZERO_PAIR_BUDGET: u64 = 50_000_000;

/// The estimate of the cluster-total Young bound (times `N²`), or `None` when the distinct sets
/// (or the candidate pairs that cannot be exposed together) are too many. `all_in_arm(t, X)` is
/// the design's probability that every cluster of the sorted set `X` has assignment `t`.
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
        // Young's terms z_i y_i² of the same-arm pairs of a cluster never exposed together.
        if let Some(strata) = input.strata {
            let zero = zero_pair_counts(sets, strata, arm, input.pi[arm], all_in_arm)?;
            if !zero.is_empty() {
                for &(i, b) in input.exposed[arm] {
                    if let Some(&z) = zero.get(sets.get(i as usize)) {
                        total += z as f64 * b * b * input.pi[arm][i as usize];
                    }
                }
            }
        }
        // Σ_c T_t(c)² through the distinct sets of each cluster (the pairs never exposed
        // together are never both exposed, so only pairs with π_ii' > 0 enter).
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
                                // Two nodes exposed together have a positive joint probability:
                                // the assignment is not a draw of this design.
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

/// For the nodes that can be exposed to `arm` (`π_i > 0`) under complete randomization within
/// `strata`: `z_i = Σ_{i'} |S_i ∩ S_i'|` over the nodes `i'` that can be exposed to `arm` too, whose
/// set meets `S_i`, and with which `i` is never exposed together (`π_ii'(t,t) = 0`), keyed by the
/// set `S_i` (only nonzero counts). `None` when the candidate pairs exceed the budget.
///
/// A pair sharing cluster `c` (stratum `s₀`) is never exposed together when some stratum `s` has
/// `|(S_i ∪ S_i') ∩ s| > d_s`, `d_s` the clusters drawn into the arm in `s`; with
/// `k_s(i) = |S_i ∩ s| ≤ d_s`, that needs `k_s(i) + k_s(i') − [s = s₀] > d_s`. Every node of the pair
/// therefore has `k_s + a_s − [s = s₀] > d_s` with `a_s` the largest count of stratum `s` among the
/// nodes of `c` (a screen), and the pairs are enumerated per cluster and stratum over the
/// screened distinct sets by decreasing `k_s`, stopping where the sum of counts cannot exceed
/// `d_s`. Each candidate is then checked exactly by `all_in_arm`.
pub(crate) fn zero_pair_counts<'s>(
    sets: &'s ClusterSets,
    strata: &Strata,
    arm: usize,
    pi: &[f64],
    all_in_arm: &dyn Fn(usize, &[u32]) -> f64,
) -> Option<FxHashMap<&'s [u32], u64>> {
    let mut out = FxHashMap::default();
    let num_strata = strata.clusters.len();
    let drawn: Vec<u32> = (0..num_strata)
        .map(|s| if arm == 1 { strata.treated[s] } else { strata.clusters[s] - strata.treated[s] })
        .collect();
    let eligible = |i: usize| pi[i] > 0.0;
    // Quick exit: no pair can exceed a stratum's draw when every set is at most half of it.
    let max_len = (0..sets.len()).filter(|&i| eligible(i)).map(|i| sets.get(i).len()).max().unwrap_or(0);
    let min_drawn = drawn.iter().copied().filter(|&d| d > 0).min().unwrap_or(0) as usize;
    if 2 * max_len <= min_drawn {
        return Some(out);
    }
    let stratum = |c: u32| strata.of_cluster[c as usize];
    // The distinct sets of the eligible nodes with their multiplicities and stratum counts.
    let mut ids: FxHashMap<&[u32], u32> = FxHashMap::default();
    let mut groups: Vec<(&[u32], u64)> = Vec::new();
    for i in (0..sets.len()).filter(|&i| eligible(i)) {
        let s = sets.get(i);
        let next = groups.len() as u32;
        let id = *ids.entry(s).or_insert(next);
        if id == next {
            groups.push((s, 0));
        }
        groups[id as usize].1 += 1;
    }
    drop(ids);
    // Stratum profiles (stratum, count) of every distinct set, in compressed rows.
    let mut prof_off = Vec::with_capacity(groups.len() + 1);
    let mut profiles: Vec<(u32, u32)> = Vec::new();
    let mut keys: Vec<u32> = Vec::new();
    let mut global_max = vec![0u32; num_strata];
    prof_off.push(0usize);
    for &(s, _) in &groups {
        keys.clear();
        keys.extend(s.iter().map(|&c| stratum(c)));
        keys.sort_unstable();
        for run in keys.chunk_by(|a, b| a == b) {
            let k = run.len() as u32;
            profiles.push((run[0], k));
            let m = &mut global_max[run[0] as usize];
            *m = (*m).max(k);
        }
        prof_off.push(profiles.len());
    }
    let profile = |g: usize| &profiles[prof_off[g]..prof_off[g + 1]];
    // Global screen (the own stratum of the shared cluster is unknown here: no −1).
    let candidate = |g: usize| profile(g).iter().any(|&(s, k)| k + global_max[s as usize] > drawn[s as usize]);
    let mut records: Vec<(u32, u32)> = Vec::new();
    for g in (0..groups.len()).filter(|&g| candidate(g)) {
        records.extend(groups[g].0.iter().map(|&c| (c, g as u32)));
    }
    if records.is_empty() {
        return Some(out);
    }
    records.sort_unstable();
    let mut local_max = vec![0u32; num_strata];
    let mut buckets: Vec<(u32, u32, u32)> = Vec::new();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut union: Vec<u32> = Vec::new();
    let mut z = vec![0u64; groups.len()];
    let mut work = 0u64;
    for run in records.chunk_by(|x, y| x.0 == y.0) {
        let s0 = stratum(run[0].0);
        for &(_, g) in run {
            for &(s, k) in profile(g as usize) {
                let m = &mut local_max[s as usize];
                *m = (*m).max(k);
            }
        }
        // (stratum, count, group) of the screened groups, by stratum and decreasing count.
        buckets.clear();
        for &(_, g) in run {
            for &(s, k) in profile(g as usize) {
                let own = u32::from(s == s0);
                if k + local_max[s as usize] > drawn[s as usize] + own {
                    buckets.push((s, u32::MAX - k, g));
                }
            }
        }
        for &(_, g) in run {
            for &(s, _) in profile(g as usize) {
                local_max[s as usize] = 0;
            }
        }
        buckets.sort_unstable();
        pairs.clear();
        for bucket in buckets.chunk_by(|x, y| x.0 == y.0) {
            let s = bucket[0].0;
            let limit = drawn[s as usize] + u32::from(s == s0);
            for (a, &(_, ka, g)) in bucket.iter().enumerate() {
                let ka = u32::MAX - ka;
                for &(_, kb, h) in &bucket[a + 1..] {
                    if ka + (u32::MAX - kb) <= limit {
                        break;
                    }
                    pairs.push((g.min(h), g.max(h)));
                }
            }
        }
        work += pairs.len() as u64;
        if work > ZERO_PAIR_BUDGET {
            return None;
        }
        pairs.sort_unstable();
        pairs.dedup();
        for &(g, h) in &pairs {
            merge(groups[g as usize].0, groups[h as usize].0, &mut union);
            if all_in_arm(arm, &union) <= 0.0 {
                z[g as usize] += groups[h as usize].1;
                z[h as usize] += groups[g as usize].1;
            }
        }
    }
    for (g, &count) in z.iter().enumerate() {
        if count > 0 {
            out.insert(groups[g].0, count);
        }
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::{Design, SchemeView};
    use crate::exposure::{Condition, Exposure, ExposureModel};
    use crate::graph::Graph;
    use cateye_stats::stream;
    use rand::RngExt;

    #[test]
    fn zero_pair_counts_match_the_pairs() {
        let mut found = 0;
        for seed in 0..6u64 {
            let mut rng = stream(seed, 0xB10C, 0);
            let n = 120u32;
            let labels: Vec<u32> = (0..n).map(|i| i / 4).collect();
            let mut edges = Vec::new();
            for a in 0..n {
                for b in a + 1..n {
                    let p = if a / 4 == b / 4 { 0.5 } else { 0.012 };
                    if rng.random::<f64>() < p {
                        edges.push((a, b));
                    }
                }
            }
            let (g, _) = Graph::from_edges(n as usize, &edges, None).unwrap();
            // 30 clusters in strata of 3, 4 and 5 clusters.
            let strata: Vec<u32> =
                (0..30u32).map(|c| [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2][c as usize % 12] + 3 * (c / 12)).collect();
            for (p, arm) in [(0.5, 0), (0.5, 1), (0.3, 0), (0.3, 1)] {
                let design = Design::cluster_stratified(&labels, &strata, p).unwrap();
                let model = ExposureModel::new(&g, &design, Exposure::Full).unwrap();
                let SchemeView::Complete(st) = design.scheme() else { unreachable!() };
                let sets = model.sets();
                let probs = model.probabilities();
                let pi = if arm == 1 { &probs.treated } else { &probs.control };
                let cond = if arm == 1 { Condition::Treated } else { Condition::Control };
                let all_in_arm = |t: usize, set: &[u32]| {
                    // Positive or 0 is all the counts need.
                    let mut by: Vec<u32> = set.iter().map(|&c| st.of_cluster[c as usize]).collect();
                    by.sort_unstable();
                    let mut p = 1.0;
                    for run in by.chunk_by(|a, b| a == b) {
                        let s = run[0] as usize;
                        let d = if t == 1 { st.treated[s] } else { st.clusters[s] - st.treated[s] };
                        if run.len() as u32 > d {
                            p = 0.0;
                        }
                    }
                    p
                };
                let z = zero_pair_counts(sets, st, arm, pi, &all_in_arm).unwrap();
                for i in (0..n as usize).filter(|&i| pi[i] > 0.0) {
                    let mut expect = 0u64;
                    for j in (0..n as usize).filter(|&j| pi[j] > 0.0 && j != i) {
                        let shared = sets.get(i).iter().filter(|c| sets.get(j).contains(c)).count() as u64;
                        if shared > 0 && model.joint_probability(i, cond, j, cond) == Some(0.0) {
                            expect += shared;
                        }
                    }
                    found += expect;
                    assert_eq!(
                        z.get(sets.get(i)).copied().unwrap_or(0),
                        expect,
                        "seed {seed} p {p} arm {arm} node {i}"
                    );
                }
            }
        }
        assert!(found > 100, "{found}");
    }
}
