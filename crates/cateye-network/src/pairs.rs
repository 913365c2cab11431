//! The pair sums of the Aronow–Samii variance estimator without visiting pairs.
//!
//! Under cluster Bernoulli randomization two nodes exposed to the same arm `t` have
//! `π_ij(t,t) = Π_{c ∈ S_i ∪ S_j} k_c` (`k_c` the probability that cluster `c` has assignment
//! `t`), so the Aronow–Samii weight of the pair is
//! `(π_ij − π_iπ_j)/π_ij = 1 − Π_{c ∈ S_i ∩ S_j} k_c`, zero unless the cluster sets meet. With the
//! Möbius identity `1 − Π_{c∈K} k_c = Σ_{∅≠T⊆K} (−1)^{|T|+1} Π_{c∈T}(1 − k_c)` the sum over all
//! ordered pairs (diagonal included) becomes
//!
//! `Σ_{i,j} (1 − Π_{c∈S_i∩S_j} k_c) b_i b_j = Σ_{∅≠T} (−1)^{|T|+1} Π_{c∈T}(1−k_c) · B(T)²`,
//! `B(T) = Σ_{i: T ⊆ S_i} b_i`,
//!
//! over the subsets `T` of the exposed nodes' cluster sets. The subsets live in a prefix tree:
//! a singleton `{c}` has id `c`, and `T ∪ {c}` (`c` above every cluster of `T`) is the child of
//! `T` found in a hash map keyed by `(id(T), c)`, so keys are exact. The same tree counts, for
//! every exposed node, the nodes whose cluster set meets its own,
//! `#{j : S_j ∩ S_i ≠ ∅} = Σ_{∅≠T⊆S_i} (−1)^{|T|+1} #{j : T ⊆ S_j}`: every node `j` walks the
//! subsets of `S_j` present in the tree (the tree holds all subsets of its sets, so a missing
//! prefix ends the walk).
//!
//! Cost: `O(Σ_{i exposed} 2^{|S_i|})` to build, `O(Σ_j w_j)` to count where `w_j` is the number
//! of probes of the walk of `j` (at most `|S_j|` per present subset of `S_j`). Exposed nodes with
//! more than `max_subset` clusters (20; they are rarely exposed, with probability `≤ p^{21}` under
//! full exposure) are handled directly: their overlap count is the union of the node lists
//! `U_c = {j : c ∈ S_j}` of their clusters, marked in a bitset (`O(Σ_{c∈S_i} |U_c|)`), and their
//! pairs are the exposed nodes of those lists (`O(Σ_{c∈S_i} |U_c ∩ E|·|S|)`). When the walk
//! would cost more than the direct route for every exposed node (many clusters per set, as on a
//! graph whose clustering cuts many edges: on a million nodes with ~9 clusters per set the walk
//! makes ~10⁸ hash probes where the lists hold ~10⁹ cache-friendly steps), every exposed node is
//! handled directly; a cost model picks the route, and both give the same sums. The tree is
//! capped at 2·10⁷ subsets. All sums run in a fixed order, so results do not depend on the
//! thread count.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::error::{NetworkError, Result};
use crate::exposure::ClusterSets;

/// Largest cluster set expanded into subsets; larger ones are summed directly.
pub(crate) const MAX_SUBSET: usize = 20;
/// The parent id of singletons.
const ROOT: u32 = u32::MAX;

/// The exposed nodes of both arms and what their pair sums need.
pub(crate) struct PairInput<'a> {
    /// The cluster sets `S_i` of all nodes.
    pub sets: &'a ClusterSets,
    /// Number of clusters.
    pub num_clusters: usize,
    /// The exposed nodes of each arm (`[control, treated]`) with their values `b_i`.
    pub exposed: [&'a [(u32, f64)]; 2],
    /// Per arm and cluster, the probability `k_c` that the cluster has the arm's assignment.
    pub keep: [&'a [f64]; 2],
    /// Per arm, the nodes counted as partners of that arm's exposed nodes (`None`: all).
    pub eligible: [Option<&'a [bool]>; 2],
    /// Largest cluster set expanded into subsets.
    pub max_subset: usize,
    /// Whether the pair sums are wanted (otherwise only the overlap counts).
    pub want_pairs: bool,
}

/// The pair sums and overlap counts of both arms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PairSums {
    /// `Σ_{i,j∈E_t} (1 − Π_{c∈S_i∩S_j} k_c) b_i b_j`, diagonal included, per arm.
    pub pairs: [f64; 2],
    /// Per arm, aligned with its exposed nodes: `#{eligible j : S_j ∩ S_i ≠ ∅}` (`j = i` counts).
    pub overlaps: [Vec<u64>; 2],
}

pub(crate) struct SubsetTree {
    clusters: usize,
    present: Vec<bool>,
    map: FxHashMap<u64, u32>,
    depth: Vec<u8>,
    /// `Π_{c∈T}(1 − k_c)` per arm, for the ids above the singletons.
    prod: [Vec<f64>; 2],
    /// `B(T)` per arm, for all ids.
    acc: [Vec<f64>; 2],
}

fn key(parent: u32, c: u32) -> u64 {
    (u64::from(parent) << 32) | u64::from(c)
}

impl SubsetTree {
    pub(crate) fn new(clusters: usize) -> SubsetTree {
        SubsetTree {
            clusters,
            present: vec![false; clusters],
            map: FxHashMap::default(),
            depth: Vec::new(),
            prod: [Vec::new(), Vec::new()],
            acc: [vec![0.0; clusters], vec![0.0; clusters]],
        }
    }

    fn len(&self) -> usize {
        self.clusters + self.depth.len()
    }

    fn child(&self, parent: u32, c: u32) -> Option<u32> {
        if parent == ROOT {
            self.present[c as usize].then_some(c)
        } else {
            self.map.get(&key(parent, c)).copied()
        }
    }

    fn prod_of(&self, id: u32, arm: usize, keep: &[&[f64]; 2]) -> f64 {
        let id = id as usize;
        if id < self.clusters {
            1.0 - keep[arm][id]
        } else {
            self.prod[arm][id - self.clusters]
        }
    }

    pub(crate) fn depth_of(&self, id: u32) -> u8 {
        let id = id as usize;
        if id < self.clusters {
            1
        } else {
            self.depth[id - self.clusters]
        }
    }

    fn child_insert(&mut self, parent: u32, c: u32, keep: &[&[f64]; 2]) -> Result<u32> {
        if parent == ROOT {
            self.present[c as usize] = true;
            return Ok(c);
        }
        if let Some(&id) = self.map.get(&key(parent, c)) {
            return Ok(id);
        }
        let id = self.len();
        if id >= ROOT as usize {
            return Err(NetworkError::invalid(format!(
                "the variance estimator would index more than {} cluster subsets: too many exposed nodes meet \
                 many clusters",
                ROOT
            )));
        }
        let id = id as u32;
        let d = self.depth_of(parent) + 1;
        let (p1, p2) = if keep[0].is_empty() {
            (0.0, 0.0)
        } else {
            (
                self.prod_of(parent, 0, keep) * (1.0 - keep[0][c as usize]),
                self.prod_of(parent, 1, keep) * (1.0 - keep[1][c as usize]),
            )
        };
        self.map.insert(key(parent, c), id);
        self.depth.push(d);
        self.prod[0].push(p1);
        self.prod[1].push(p2);
        self.acc[0].push(0.0);
        self.acc[1].push(0.0);
        Ok(id)
    }

    /// Adds `b` to `B(T)` of arm `arm` for every nonempty subset `T` of `set[start..]` joined
    /// to the subset `parent`.
    fn insert(&mut self, set: &[u32], parent: u32, start: usize, arm: usize, b: f64, keep: &[&[f64]; 2]) -> Result<()> {
        for j in start..set.len() {
            let id = self.child_insert(parent, set[j], keep)?;
            self.acc[arm][id as usize] += b;
            self.insert(set, id, j + 1, arm, b, keep)?;
        }
        Ok(())
    }

    /// Inserts every nonempty subset of `set[start..]` joined to `parent` and appends its id to
    /// `ids` (depth first).
    pub(crate) fn insert_ids(&mut self, set: &[u32], parent: u32, start: usize, ids: &mut Vec<u32>) -> Result<()> {
        let none: [&[f64]; 2] = [&[], &[]];
        for j in start..set.len() {
            let id = self.child_insert(parent, set[j], &none)?;
            ids.push(id);
            self.insert_ids(set, id, j + 1, ids)?;
        }
        Ok(())
    }

    /// Adds 1 to the count of every subset of `set[start..]` (joined to `parent`) in the tree.
    fn count(&self, set: &[u32], parent: u32, start: usize, counts: &mut [u32]) {
        for j in start..set.len() {
            if let Some(id) = self.child(parent, set[j]) {
                counts[id as usize] += 1;
                self.count(set, id, j + 1, counts);
            }
        }
    }

    /// `Σ_{∅≠T⊆set} (−1)^{|T|+1} counts(T)` (every subset of `set` is in the tree).
    fn signed(&self, set: &[u32], parent: u32, start: usize, sign: i64, counts: &[u32]) -> i64 {
        let mut total = 0i64;
        for j in start..set.len() {
            if let Some(id) = self.child(parent, set[j]) {
                total += sign * i64::from(counts[id as usize]);
                total += self.signed(set, id, j + 1, -sign, counts);
            }
        }
        total
    }
}

/// Counts, for every subset in the tree, the eligible nodes whose cluster sets contain it.
fn subset_counts(tree: &SubsetTree, sets: &ClusterSets, eligible: Option<&[bool]>) -> Vec<u32> {
    let n = sets.len();
    let parts = (rayon::current_num_threads() * 4).max(1);
    let step = n.div_ceil(parts).max(1);
    (0..n.div_ceil(step))
        .into_par_iter()
        .map(|k| {
            let mut counts = vec![0u32; tree.len()];
            for j in k * step..((k + 1) * step).min(n) {
                if eligible.is_none_or(|e| e[j]) {
                    tree.count(sets.get(j), ROOT, 0, &mut counts);
                }
            }
            counts
        })
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                *x += y;
            }
            a
        })
        .unwrap_or_default()
}

/// Relative cost of one probe of the subset tree's hash map against one step through a
/// cluster's node list (measured: a probe is a cache miss, a list step is sequential).
const PROBE_COST: f64 = 20.0;
/// Most subsets the tree may hold (about 70 bytes each).
pub(crate) const TREE_BUDGET: f64 = 2e7;

/// `|U_c|`, the number of nodes whose cluster sets contain each cluster.
pub(crate) fn cluster_counts(sets: &ClusterSets, clusters: usize) -> Vec<u64> {
    let mut counts = vec![0u64; clusters];
    for j in 0..sets.len() {
        for &c in sets.get(j) {
            counts[c as usize] += 1;
        }
    }
    counts
}

/// Whether to expand subsets (`max_subset`) or enumerate every exposed node's pairs directly
/// (0), whichever the cost model finds cheaper: the subset route costs its tree and, for the
/// overlap counts, a walk of every node's set; the direct route costs the node lists of the
/// exposed nodes' clusters.
fn choose_max_subset(input: &PairInput<'_>, u_count: &[u64]) -> usize {
    let sets = input.sets;
    let exposed = || input.exposed.iter().flat_map(|e| e.iter()).map(|e| sets.get(e.0 as usize));
    let direct: f64 = exposed().map(|s| s.iter().map(|&c| u_count[c as usize] as f64).sum::<f64>()).sum();
    let (mut tree, mut big, mut kmax) = (0.0f64, 0.0f64, 0usize);
    for s in exposed() {
        if s.len() <= input.max_subset {
            tree += (s.len() as f64).exp2();
            kmax = kmax.max(s.len());
        } else {
            big += s.iter().map(|&c| u_count[c as usize] as f64).sum::<f64>();
        }
    }
    if tree > TREE_BUDGET {
        return 0;
    }
    // Subsets of size ≤ kmax of every node's set bound the probes of the counting walk.
    let mut walk = 0.0f64;
    let mut by_size: FxHashMap<usize, f64> = FxHashMap::default();
    for j in 0..sets.len() {
        let s = sets.get(j).len();
        walk += *by_size.entry(s).or_insert_with(|| {
            let mut total = 0.0;
            let mut binom = 1.0f64;
            for k in 1..=kmax.min(s) {
                binom = binom * (s - k + 1) as f64 / k as f64;
                total += binom;
            }
            total
        });
    }
    let subsets = 4.0 * tree + PROBE_COST * walk + big;
    if subsets <= direct {
        input.max_subset
    } else {
        0
    }
}

/// The pair sums and overlap counts described in the module documentation. With `auto`, the
/// exposed nodes are all handled directly when the cost model finds that cheaper.
pub(crate) fn pair_sums(input: &PairInput<'_>, auto: bool) -> Result<PairSums> {
    let sets = input.sets;
    let n = sets.len();
    let u_count = cluster_counts(sets, input.num_clusters);
    let max_subset = if auto { choose_max_subset(input, &u_count) } else { input.max_subset };
    let small = |i: u32| sets.get(i as usize).len() <= max_subset;
    let mut tree = SubsetTree::new(input.num_clusters);
    for arm in 0..2 {
        for &(i, b) in input.exposed[arm].iter().filter(|e| small(e.0)) {
            tree.insert(sets.get(i as usize), ROOT, 0, arm, b, &input.keep)?;
        }
    }
    let mut pairs = [0.0f64; 2];
    if input.want_pairs {
        for (arm, pair) in pairs.iter_mut().enumerate() {
            for id in 0..tree.len() as u32 {
                let b = tree.acc[arm][id as usize];
                if b != 0.0 {
                    let sign = if tree.depth_of(id) % 2 == 1 { 1.0 } else { -1.0 };
                    *pair += sign * tree.prod_of(id, arm, &input.keep) * b * b;
                }
            }
        }
    }
    // Overlap counts of the small exposed nodes through the tree.
    let mut overlaps: [Vec<u64>; 2] = [0, 1].map(|arm| vec![0u64; input.exposed[arm].len()]);
    if input.exposed.iter().flat_map(|e| e.iter()).any(|e| small(e.0)) {
        let counts0 = subset_counts(&tree, sets, input.eligible[0]);
        let counts1 = if input.eligible[0] == input.eligible[1] {
            None
        } else {
            Some(subset_counts(&tree, sets, input.eligible[1]))
        };
        for (arm, out) in overlaps.iter_mut().enumerate() {
            let counts = if arm == 1 { counts1.as_ref().unwrap_or(&counts0) } else { &counts0 };
            *out = input.exposed[arm]
                .par_iter()
                .map(|&(i, _)| if small(i) { tree.signed(sets.get(i as usize), ROOT, 0, 1, counts) as u64 } else { 0 })
                .collect();
        }
    }
    // The other exposed nodes directly, through the nodes of their clusters.
    let big: Vec<(usize, usize)> = (0..2)
        .flat_map(|arm| (0..input.exposed[arm].len()).map(move |k| (arm, k)))
        .filter(|&(arm, k)| !small(input.exposed[arm][k].0))
        .collect();
    if !big.is_empty() {
        // Overlap counts: the union of the node lists of the node's clusters, marked in a bitset
        // that stays in cache.
        let (offsets, members) = transpose(sets, input.num_clusters);
        let list = |c: u32| &members[offsets[c as usize] as usize..offsets[c as usize + 1] as usize];
        let words = n.div_ceil(64);
        let counts: Vec<u64> = big
            .par_iter()
            .map_init(
                || vec![0u64; words],
                |seen, &(arm, k)| {
                    let si = sets.get(input.exposed[arm][k].0 as usize);
                    let (mut overlap, mut visited) = (0u64, 0usize);
                    for &c in si {
                        visited += list(c).len();
                        for &j in list(c) {
                            let (w, bit) = ((j >> 6) as usize, 1u64 << (j & 63));
                            if seen[w] & bit == 0 {
                                seen[w] |= bit;
                                if input.eligible[arm].is_none_or(|e| e[j as usize]) {
                                    overlap += 1;
                                }
                            }
                        }
                    }
                    if visited < words {
                        for &c in si {
                            for &j in list(c) {
                                seen[(j >> 6) as usize] = 0;
                            }
                        }
                    } else {
                        seen.fill(0);
                    }
                    overlap
                },
            )
            .collect();
        for (&(arm, k), &overlap) in big.iter().zip(&counts) {
            overlaps[arm][k] = overlap;
        }
        // Pair sums: the exposed nodes of the same arm met through the node's clusters.
        if input.want_pairs {
            let index: [(Vec<u64>, Vec<u32>); 2] = [0, 1].map(|arm| {
                let nodes: Vec<u32> = input.exposed[arm].iter().map(|e| e.0).collect();
                transpose_nodes(sets, &nodes, input.num_clusters)
            });
            let mut b_of = [vec![f64::NAN; n], vec![f64::NAN; n]];
            for (arm, slots) in b_of.iter_mut().enumerate() {
                for &(i, b) in input.exposed[arm] {
                    slots[i as usize] = b;
                }
            }
            let rows: Vec<f64> = big
                .par_iter()
                .map_init(
                    || (vec![0u32; n], 0u32),
                    |(stamp, current), &(arm, k)| {
                        let (i, bi) = input.exposed[arm][k];
                        let si = sets.get(i as usize);
                        let keep = input.keep[arm];
                        let (offsets, members) = &index[arm];
                        *current += 1;
                        let mut row = 0.0f64;
                        for &c in si {
                            for &j in &members[offsets[c as usize] as usize..offsets[c as usize + 1] as usize] {
                                let j = j as usize;
                                if stamp[j] == *current || j == i as usize {
                                    continue;
                                }
                                stamp[j] = *current;
                                let w = 1.0 - shared_product(si, sets.get(j), keep);
                                let twice = if small(j as u32) { 2.0 } else { 1.0 };
                                row += twice * bi * b_of[arm][j] * w;
                            }
                        }
                        let all: f64 = si.iter().map(|&c| keep[c as usize]).product();
                        row + (1.0 - all) * bi * bi
                    },
                )
                .collect();
            for (&(arm, _), &row) in big.iter().zip(&rows) {
                pairs[arm] += row;
            }
        }
    }
    Ok(PairSums { pairs, overlaps })
}

/// `Π_{c ∈ a ∩ b} keep_c` over two sorted sets.
fn shared_product(a: &[u32], b: &[u32], keep: &[f64]) -> f64 {
    common(a, b).map(|c| keep[c as usize]).product()
}

/// The clusters two sorted cluster sets share, ascending.
pub(crate) fn common<'a>(a: &'a [u32], b: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    let (mut x, mut y) = (0, 0);
    std::iter::from_fn(move || {
        while x < a.len() && y < b.len() {
            match a[x].cmp(&b[y]) {
                std::cmp::Ordering::Less => x += 1,
                std::cmp::Ordering::Greater => y += 1,
                std::cmp::Ordering::Equal => {
                    x += 1;
                    y += 1;
                    return Some(a[x - 1]);
                }
            }
        }
        None
    })
}

/// The given nodes whose cluster sets contain each cluster, in compressed rows.
pub(crate) fn transpose_nodes(sets: &ClusterSets, nodes: &[u32], clusters: usize) -> (Vec<u64>, Vec<u32>) {
    let mut offsets = vec![0u64; clusters + 1];
    for &i in nodes {
        for &c in sets.get(i as usize) {
            offsets[c as usize + 1] += 1;
        }
    }
    for c in 0..clusters {
        offsets[c + 1] += offsets[c];
    }
    let mut fill: Vec<u64> = offsets[..clusters].to_vec();
    let mut members = vec![0u32; offsets[clusters] as usize];
    for &i in nodes {
        for &c in sets.get(i as usize) {
            members[fill[c as usize] as usize] = i;
            fill[c as usize] += 1;
        }
    }
    (offsets, members)
}

/// The nodes whose cluster sets contain each cluster, in compressed rows.
fn transpose(sets: &ClusterSets, clusters: usize) -> (Vec<u64>, Vec<u32>) {
    let all: Vec<u32> = (0..sets.len() as u32).collect();
    transpose_nodes(sets, &all, clusters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::Design;
    use crate::exposure::{Exposure, ExposureModel};
    use crate::graph::Graph;
    use cateye_stats::stream;
    use rand::RngExt;

    /// A random graph with 60 nodes in 12 clusters, some hubs reaching many clusters.
    fn random_model_graph(seed: u64) -> (Graph, Vec<u32>) {
        let mut rng = stream(seed, 1, 0);
        let n = 60u32;
        let labels: Vec<u32> = (0..n).map(|i| i / 5).collect();
        let mut edges = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                let same = labels[a as usize] == labels[b as usize];
                let hub = a < 3;
                let p = if same {
                    0.5
                } else if hub {
                    0.4
                } else {
                    0.03
                };
                if rng.random::<f64>() < p {
                    edges.push((a, b));
                }
            }
        }
        (Graph::from_edges(n as usize, &edges, None).unwrap().0, labels)
    }

    #[test]
    fn mobius_pair_sum_equals_the_direct_sum() {
        for seed in 0..4 {
            let (g, labels) = random_model_graph(seed);
            let design = Design::cluster_bernoulli(&labels, 0.35).unwrap();
            let model = ExposureModel::new(&g, &design, Exposure::Full).unwrap();
            let sets = model.sets();
            let mut rng = stream(seed, 2, 0);
            // Arbitrary exposed sets and values (the identity does not need real exposures).
            let e: [Vec<(u32, f64)>; 2] = [0, 1].map(|_| {
                let mut side = Vec::new();
                for i in 0..60u32 {
                    if rng.random::<f64>() < 0.5 {
                        side.push((i, rng.random::<f64>() * 4.0 - 1.0));
                    }
                }
                side
            });
            let keep1: Vec<f64> = (0..12).map(|_| 0.2 + 0.6 * rng.random::<f64>()).collect();
            let keep0: Vec<f64> = keep1.iter().map(|k| 1.0 - k).collect();
            let eligible: Vec<bool> = (0..60).map(|_| rng.random::<f64>() < 0.8).collect();
            for (max_subset, auto) in [(MAX_SUBSET, false), (3, false), (0, false), (MAX_SUBSET, true)] {
                let input = PairInput {
                    sets,
                    num_clusters: 12,
                    exposed: [&e[0], &e[1]],
                    keep: [&keep0, &keep1],
                    eligible: [None, Some(&eligible)],
                    max_subset,
                    want_pairs: true,
                };
                let got = pair_sums(&input, auto).unwrap();
                for (arm, side) in e.iter().enumerate() {
                    let keep = if arm == 1 { &keep1 } else { &keep0 };
                    let mut direct = 0.0;
                    for &(i, bi) in side {
                        for &(j, bj) in side {
                            let w = 1.0 - shared_product(sets.get(i as usize), sets.get(j as usize), keep);
                            direct += w * bi * bj;
                        }
                    }
                    assert!(
                        (got.pairs[arm] - direct).abs() <= 1e-10 * direct.abs().max(1.0),
                        "seed {seed} max {max_subset} arm {arm}: {} vs {direct}",
                        got.pairs[arm]
                    );
                    for (k, &(i, _)) in side.iter().enumerate() {
                        let si = sets.get(i as usize);
                        let expect = (0..60)
                            .filter(|&j| arm == 0 || eligible[j])
                            .filter(|&j| sets.get(j).iter().any(|c| si.contains(c)))
                            .count() as u64;
                        assert_eq!(got.overlaps[arm][k], expect, "seed {seed} max {max_subset} arm {arm} node {i}");
                    }
                }
            }
        }
    }
}
