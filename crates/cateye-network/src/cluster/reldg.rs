//! Balanced partition into `k` parts by restreaming linear deterministic greedy (ReLDG).
//!
//! Linear deterministic greedy (LDG; Stanton & Kliot 2012, "Streaming graph partitioning for
//! large distributed graphs", KDD) streams the nodes once and puts node `v` in the part
//!
//! `argmax_i  |N(v) ∩ P_i| · (1 − |P_i| / C)`
//!
//! where `N(v)` are the neighbours of `v` (edge weights summed when weighted), `P_i` the nodes
//! already in part `i` and `C` the capacity of a part: the first factor keeps neighbours
//! together, the second fills the parts evenly. Restreaming (Nishimura & Ugander 2013,
//! "Restreaming graph partitioning: simple versatile algorithms for advanced balancing", KDD,
//! section 3) streams the same order again, counting the neighbours in the parts of the previous
//! pass, `|N(v) ∩ P_i^{t−1}|`, and the sizes in the current pass, `|P_i^t|`; a few passes bring
//! the cut close to that of offline partitioners. Ugander, Karrer, Backstrom & Kleinberg (2013)
//! use this partitioner for graph cluster randomization, where clusters of equal size keep the
//! variance of the estimators down.
//!
//! Here a part at capacity takes no more nodes (a hard cap, so every part holds at most `C`
//! nodes), ties go to the smaller part and then to the lower index, and a node with no
//! neighbour in a part that can take it goes to the smallest part. Everything is sequential and
//! deterministic.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Clustering;
use crate::error::{NetworkError, Result};
use crate::graph::Graph;

/// Settings of [`reldg`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReldgConfig {
    /// Number of parts `k`, between 1 and the number of nodes.
    pub num_clusters: usize,
    /// Passes over the stream (1: plain LDG); the partition stops early when a pass changes
    /// nothing.
    #[serde(default = "default_passes")]
    pub passes: usize,
    /// Balance slack ε ≥ 0: a part holds at most `C = max(⌈n/k⌉, ⌊(1 + ε)·n/k⌋)` nodes.
    #[serde(default = "default_slack")]
    pub slack: f64,
    /// Stream order: `None` streams the nodes by index, `Some(seed)` in a permutation drawn from
    /// the seed (ChaCha8); every pass streams the same order.
    #[serde(default)]
    pub seed: Option<u64>,
    /// From the second pass on, count a neighbour already streamed in the current pass in its
    /// new part rather than in its part of the previous pass (a Gauss–Seidel variant of the
    /// restreaming update, not the paper's; it converges in fewer passes). `false`: the paper's
    /// `|N(v) ∩ P_i^{t−1}|`.
    #[serde(default)]
    pub latest_labels: bool,
}

fn default_passes() -> usize {
    10
}

fn default_slack() -> f64 {
    0.05
}

impl ReldgConfig {
    /// `k` parts, 10 passes, slack 0.05, streamed by node index, the paper's update.
    pub fn new(num_clusters: usize) -> Self {
        ReldgConfig { num_clusters, passes: default_passes(), slack: default_slack(), seed: None, latest_labels: false }
    }

    /// Checks the settings against a graph of `num_nodes` nodes, naming the value at fault.
    pub fn validate(&self, num_nodes: usize) -> Result<()> {
        let k = self.num_clusters;
        if k == 0 {
            return Err(NetworkError::invalid("ReLDG num_clusters (k) = 0: expected at least 1 cluster"));
        }
        if k > num_nodes {
            return Err(NetworkError::invalid(format!(
                "ReLDG num_clusters (k) = {k} for a graph of {num_nodes} nodes: expected at most one cluster per node"
            )));
        }
        if k > u32::MAX as usize {
            return Err(NetworkError::invalid(format!(
                "ReLDG num_clusters (k) = {k}: at most {} are supported",
                u32::MAX
            )));
        }
        if self.passes == 0 {
            return Err(NetworkError::invalid("ReLDG passes = 0: expected at least 1 pass"));
        }
        if !(self.slack.is_finite() && self.slack >= 0.0) {
            return Err(NetworkError::invalid(format!(
                "ReLDG slack {}: expected a finite value of 0 or more",
                self.slack
            )));
        }
        Ok(())
    }

    /// The capacity `C = max(⌈n/k⌉, ⌊(1 + ε)·n/k⌋)` of a part for `num_nodes` nodes.
    pub fn capacity(&self, num_nodes: usize) -> usize {
        let k = self.num_clusters.max(1);
        let even = num_nodes.div_ceil(k);
        let slack = ((1.0 + self.slack) * num_nodes as f64 / k as f64).floor();
        if slack >= num_nodes as f64 {
            num_nodes.max(even)
        } else {
            even.max(slack as usize)
        }
    }
}

/// Partitions `graph` into at most `k` balanced parts by restreaming linear deterministic
/// greedy (see the module documentation): every part holds at most
/// `max(⌈n/k⌉, ⌊(1 + ε)·n/k⌋)` nodes. A part that the stream leaves empty is dropped, so the
/// clustering can have fewer than `k` clusters when the slack is positive.
pub fn reldg(graph: &Graph, config: &ReldgConfig) -> Result<Clustering> {
    let n = graph.num_nodes();
    config.validate(n)?;
    let k = config.num_clusters;
    let capacity = config.capacity(n);
    let mut order: Vec<u32> = (0..n as u32).collect();
    if let Some(seed) = config.seed {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    let mut previous: Vec<u32> = vec![UNASSIGNED; n];
    let mut current: Vec<u32> = vec![UNASSIGNED; n];
    let mut weight_to: Vec<f64> = vec![0.0; k];
    let mut touched: Vec<u32> = Vec::with_capacity(256);
    let mut sizes = SizeOrder::new(k, capacity);
    let latest = config.latest_labels;
    for pass in 0..config.passes {
        sizes.reset();
        if latest && pass > 0 {
            current.copy_from_slice(&previous);
        }
        for &v in &order {
            let v = v as usize;
            // Pass 1 counts the neighbours placed so far; later passes, the previous pass (or,
            // with `latest_labels`, this pass for the neighbours streamed already).
            let source: &[u32] = if pass == 0 || latest { &current } else { &previous };
            let neighbors = graph.neighbors(v);
            match graph.edge_weights(v) {
                None => {
                    for &u in neighbors {
                        let p = source[u as usize];
                        if p != UNASSIGNED {
                            if weight_to[p as usize] == 0.0 {
                                touched.push(p);
                            }
                            weight_to[p as usize] += 1.0;
                        }
                    }
                }
                Some(w) => {
                    for (&u, &w) in neighbors.iter().zip(w) {
                        let p = source[u as usize];
                        if p != UNASSIGNED {
                            if weight_to[p as usize] == 0.0 {
                                touched.push(p);
                            }
                            weight_to[p as usize] += w;
                        }
                    }
                }
            }
            let mut best: Option<(f64, usize, u32)> = None;
            for &p in &touched {
                let size = sizes.size(p);
                if size >= capacity {
                    continue;
                }
                let score = weight_to[p as usize] * (1.0 - size as f64 / capacity as f64);
                let better = match best {
                    None => true,
                    Some((s, z, q)) => score > s || (score == s && (size < z || (size == z && p < q))),
                };
                if better {
                    best = Some((score, size, p));
                }
            }
            for &p in &touched {
                weight_to[p as usize] = 0.0;
            }
            touched.clear();
            let part = match best {
                Some((_, _, p)) => p,
                None => sizes.smallest(),
            };
            current[v] = part;
            sizes.add_one(part);
        }
        let stable = pass > 0 && current == previous;
        std::mem::swap(&mut previous, &mut current);
        if stable {
            break;
        }
    }
    Ok(Clustering::from_labels(previous))
}

/// Label of a node not yet placed in the current pass.
const UNASSIGNED: u32 = u32::MAX;

/// The sizes of the parts, with the parts kept sorted by size so that the smallest is found in
/// O(1): sizes only grow by one, and a part growing from `s` to `s + 1` swaps with the last part
/// of size `s` (a bucket structure).
struct SizeOrder {
    size: Vec<usize>,
    /// Parts by increasing size.
    sorted: Vec<u32>,
    /// Position of every part in `sorted`.
    position: Vec<usize>,
    /// `first[s]`: the first position in `sorted` of a part of size `s` or more.
    first: Vec<usize>,
}

impl SizeOrder {
    fn new(k: usize, capacity: usize) -> Self {
        SizeOrder {
            size: vec![0; k],
            sorted: (0..k as u32).collect(),
            position: (0..k).collect(),
            first: vec![0; capacity + 2],
        }
    }

    fn reset(&mut self) {
        let k = self.size.len();
        self.size.fill(0);
        for (i, s) in self.sorted.iter_mut().enumerate() {
            *s = i as u32;
        }
        for (i, p) in self.position.iter_mut().enumerate() {
            *p = i;
        }
        self.first.fill(k);
        self.first[0] = 0;
    }

    fn size(&self, part: u32) -> usize {
        self.size[part as usize]
    }

    fn smallest(&self) -> u32 {
        self.sorted[0]
    }

    fn add_one(&mut self, part: u32) {
        let s = self.size[part as usize];
        let last = self.first[s + 1] - 1;
        let here = self.position[part as usize];
        let other = self.sorted[last];
        self.sorted.swap(here, last);
        self.position[other as usize] = here;
        self.position[part as usize] = last;
        self.first[s + 1] -= 1;
        self.size[part as usize] = s + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_graphs::{adjusted_rand_index, cliques, sbm, shuffled_sbm};
    use super::*;
    use crate::cluster::ClusterQuality;
    use rand::RngExt;

    #[test]
    fn size_order_tracks_the_smallest_part() {
        let mut s = SizeOrder::new(3, 4);
        s.reset();
        s.add_one(0);
        s.add_one(0);
        s.add_one(2);
        assert_eq!(s.smallest(), 1);
        s.add_one(1);
        s.add_one(1);
        assert_eq!(s.smallest(), 2);
        assert_eq!((s.size(0), s.size(1), s.size(2)), (2, 2, 1));
        for (i, &p) in s.sorted.iter().enumerate() {
            assert_eq!(s.position[p as usize], i);
        }
        assert!(s.sorted.windows(2).all(|w| s.size(w[0]) <= s.size(w[1])));
    }

    #[test]
    fn balanced_and_lower_cut_than_random() {
        let (g, _) = shuffled_sbm(10, 50, 0.3, 0.01, 21);
        let n = g.num_nodes();
        for (k, slack, latest_labels) in
            [(10usize, 0.0, false), (10, 0.1, false), (7, 0.05, true), (3, 0.2, false), (10, 0.0, true)]
        {
            let config = ReldgConfig { slack, seed: Some(4), latest_labels, ..ReldgConfig::new(k) };
            let c = reldg(&g, &config).unwrap();
            let largest = c.sizes().into_iter().max().unwrap() as f64;
            let bound = ((1.0 + slack) * n as f64 / k as f64).max((n as f64 / k as f64).ceil());
            assert!(largest <= bound, "k {k} slack {slack}: largest part {largest} > {bound}");
            assert!(c.num_clusters() <= k);
            let cut = ClusterQuality::compute(&g, &c).unwrap().cut_fraction;
            let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
            let random = Clustering::from_labels((0..n).map(|_| rng.random_range(0..k as u32)).collect());
            let random_cut = ClusterQuality::compute(&g, &random).unwrap().cut_fraction;
            assert!(cut < 0.5 * random_cut, "k {k}: cut {cut} vs random {random_cut}");
        }
    }

    #[test]
    fn recovers_planted_blocks_with_k_equal_to_the_blocks() {
        let (g, truth) = shuffled_sbm(8, 60, 0.3, 0.005, 7);
        let c = reldg(&g, &ReldgConfig { slack: 0.0, seed: Some(1), ..ReldgConfig::new(8) }).unwrap();
        assert_eq!(c.sizes(), vec![60; 8]);
        let ari = adjusted_rand_index(c.labels(), &truth);
        assert!(ari > 0.95, "ARI {ari}");
    }

    #[test]
    fn restreaming_does_not_cut_more_than_one_pass() {
        let (g, _) = shuffled_sbm(20, 40, 0.2, 0.01, 2);
        let cut = |passes, latest_labels| {
            let c = reldg(&g, &ReldgConfig { passes, seed: Some(5), latest_labels, ..ReldgConfig::new(20) }).unwrap();
            ClusterQuality::compute(&g, &c).unwrap().cut_fraction
        };
        let (one, ten) = (cut(1, false), cut(10, false));
        assert!(ten <= one, "10 passes cut {ten}, 1 pass {one}");
        let latest = cut(10, true);
        assert!(latest <= one, "10 passes (latest labels) cut {latest}, 1 pass {one}");
    }

    #[test]
    fn two_cliques_split_in_two() {
        // Capacity 6 for 10 nodes: room for the restream to move the bridge node back.
        let g = cliques(2, 5);
        for seed in [None, Some(3)] {
            let c = reldg(&g, &ReldgConfig { slack: 0.2, seed, ..ReldgConfig::new(2) }).unwrap();
            assert_eq!(c.labels(), &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "seed {seed:?}");
        }
    }

    #[test]
    fn a_full_part_refuses_a_node_even_against_its_neighbours() {
        // Capacity exactly 5: a stream that filled part 0 with {0..3, 5} cannot take node 4
        // back, whatever its neighbours say; the cap is hard.
        let g = cliques(2, 5);
        let c = reldg(&g, &ReldgConfig { slack: 0.0, ..ReldgConfig::new(2) }).unwrap();
        assert_eq!(c.sizes(), vec![5, 5]);
    }

    #[test]
    fn isolated_nodes_fill_the_smallest_parts() {
        let (g, _) = Graph::from_edges(9, &[], None).unwrap();
        let c = reldg(&g, &ReldgConfig { slack: 0.0, ..ReldgConfig::new(3) }).unwrap();
        assert_eq!(c.sizes(), vec![3, 3, 3]);
        let c = reldg(&g, &ReldgConfig::new(9)).unwrap();
        assert_eq!(c.num_clusters(), 9);
    }

    #[test]
    fn bad_k_is_named() {
        let (g, _) = sbm(2, 5, 0.5, 0.1, 1);
        let e = reldg(&g, &ReldgConfig::new(0)).unwrap_err().to_string();
        assert_eq!(e, "ReLDG num_clusters (k) = 0: expected at least 1 cluster");
        let e = reldg(&g, &ReldgConfig::new(11)).unwrap_err().to_string();
        assert_eq!(e, "ReLDG num_clusters (k) = 11 for a graph of 10 nodes: expected at most one cluster per node");
        let e = reldg(&g, &ReldgConfig { passes: 0, ..ReldgConfig::new(2) }).unwrap_err().to_string();
        assert!(e.contains("passes = 0"), "{e}");
        let e = reldg(&g, &ReldgConfig { slack: -0.1, ..ReldgConfig::new(2) }).unwrap_err().to_string();
        assert!(e.contains("slack -0.1"), "{e}");
        let (empty, _) = Graph::from_edges(0, &[], None).unwrap();
        let e = reldg(&empty, &ReldgConfig::new(1)).unwrap_err().to_string();
        assert!(e.contains("graph of 0 nodes"), "{e}");
    }

    #[test]
    fn same_partition_for_one_and_two_threads() {
        let (g, _) = shuffled_sbm(30, 40, 0.2, 0.01, 3);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for latest_labels in [false, true] {
            let config = ReldgConfig { seed: Some(8), latest_labels, ..ReldgConfig::new(25) };
            let a = one.install(|| reldg(&g, &config)).unwrap();
            let b = two.install(|| reldg(&g, &config)).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn capacity_formula() {
        assert_eq!(ReldgConfig { slack: 0.0, ..ReldgConfig::new(3) }.capacity(10), 4);
        assert_eq!(ReldgConfig { slack: 0.5, ..ReldgConfig::new(3) }.capacity(10), 5);
        assert_eq!(ReldgConfig { slack: 1e9, ..ReldgConfig::new(3) }.capacity(10), 10);
    }
}
