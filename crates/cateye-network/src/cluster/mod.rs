//! Clustering of the interference graph for graph cluster randomization.
//!
//! Graph cluster randomization (Ugander, Karrer, Backstrom & Kleinberg 2013, "Graph cluster
//! randomization: network exposure to multiple universes", KDD; Eckles, Karrer & Ugander 2017,
//! "Design and analysis of experiments in networks: reducing bias from interference", J. Causal
//! Inference) assigns treatment to whole clusters of the graph, so that a unit and most of its
//! neighbours share an arm. The bias it removes grows with the share of edges kept inside
//! clusters, and the variance it adds grows with the size and the spread of sizes of the
//! clusters; so a clustering for a design is judged by its cut fraction and its size spread
//! ([`ClusterQuality`]).
//!
//! Two algorithms are offered:
//!
//! * [`louvain`]: modularity maximisation by the Louvain method (Blondel, Guillaume, Lambiotte &
//!   Lefebvre 2008), with a resolution γ and an optional cap on cluster size (a move that would
//!   make a cluster exceed the cap is refused), deterministic for any thread count;
//! * [`reldg`]: a balanced partition into exactly `k` parts by restreaming linear deterministic
//!   greedy (Nishimura & Ugander 2013, "Restreaming graph partitioning: simple versatile
//!   algorithms for advanced balancing", KDD), the partitioner Ugander et al. use for balanced
//!   cluster randomization.
//!
//! [`cluster`] runs either from a serializable [`ClusterMethod`], for a design summary.

mod louvain;
mod quality;
mod reldg;

pub use louvain::{louvain, LouvainConfig};
pub use quality::{modularity, ClusterQuality};
pub use reldg::{reldg, ReldgConfig};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::graph::Graph;

/// A partition of the nodes `0..n` of a graph into clusters `0..num_clusters`.
///
/// Labels are canonical: clusters are numbered in the order of their smallest node, so node 0 is
/// in cluster 0 and two clusterings that group the nodes alike have equal labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustering {
    labels: Vec<u32>,
    num_clusters: usize,
}

impl Clustering {
    /// The clustering that puts together the nodes with equal labels (any `u32` values),
    /// renumbered canonically (clusters in the order of their smallest node).
    pub fn from_labels(labels: Vec<u32>) -> Clustering {
        let mut labels = labels;
        let num_clusters = canonicalize(&mut labels);
        Clustering { labels, num_clusters }
    }

    /// The cluster of every node.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The labels, consuming the clustering.
    pub fn into_labels(self) -> Vec<u32> {
        self.labels
    }

    /// Number of clusters.
    pub fn num_clusters(&self) -> usize {
        self.num_clusters
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.labels.len()
    }

    /// Number of nodes of every cluster.
    pub fn sizes(&self) -> Vec<u64> {
        let mut sizes = vec![0u64; self.num_clusters];
        for &c in &self.labels {
            sizes[c as usize] += 1;
        }
        sizes
    }

    /// The nodes of every cluster: offsets (`num_clusters + 1` of them) into a list of nodes
    /// grouped by cluster, ascending within each cluster.
    pub fn members(&self) -> (Vec<usize>, Vec<u32>) {
        group_members(&self.labels, self.num_clusters)
    }
}

/// The nodes of every cluster of `labels` (values `0..count`): offsets into the nodes grouped by
/// cluster, ascending within each cluster (a counting sort).
fn group_members(labels: &[u32], count: usize) -> (Vec<usize>, Vec<u32>) {
    let mut offsets = vec![0usize; count + 1];
    for &c in labels {
        offsets[c as usize + 1] += 1;
    }
    for c in 0..count {
        offsets[c + 1] += offsets[c];
    }
    let mut fill = offsets[..count].to_vec();
    let mut nodes = vec![0u32; labels.len()];
    for (v, &c) in labels.iter().enumerate() {
        nodes[fill[c as usize]] = v as u32;
        fill[c as usize] += 1;
    }
    (offsets, nodes)
}

/// A clustering algorithm and its settings, as written in a design summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ClusterMethod {
    /// Louvain modularity maximisation ([`louvain`]).
    Louvain(LouvainConfig),
    /// Restreaming linear deterministic greedy into `k` balanced parts ([`reldg`]).
    Reldg(ReldgConfig),
}

/// Clusters `graph` with the algorithm `method` names.
pub fn cluster(graph: &Graph, method: &ClusterMethod) -> Result<Clustering> {
    match method {
        ClusterMethod::Louvain(config) => louvain(graph, config),
        ClusterMethod::Reldg(config) => reldg(graph, config),
    }
}

/// Renumbers labels in place in the order of first appearance; returns the number of clusters.
/// Labels up to a few times the number of nodes use a dense table; larger ones (hashed ids,
/// say) a hash map, so that memory stays proportional to the number of nodes.
fn canonicalize(labels: &mut [u32]) -> usize {
    let max = labels.par_iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut next = 0u32;
    if max <= 4 * labels.len() + 1024 {
        let mut map = vec![u32::MAX; max];
        for l in labels.iter_mut() {
            let slot = &mut map[*l as usize];
            if *slot == u32::MAX {
                *slot = next;
                next += 1;
            }
            *l = *slot;
        }
    } else {
        let mut map: FxHashMap<u32, u32> = FxHashMap::default();
        for l in labels.iter_mut() {
            *l = *map.entry(*l).or_insert_with(|| {
                next += 1;
                next - 1
            });
        }
    }
    next as usize
}

/// Rows of an adjacency: the neighbours of a node and, when weighted, the edge weights.
trait Adjacency: Sync {
    /// Number of nodes.
    fn num_nodes(&self) -> usize;
    /// Neighbours of `node` (never `node` itself) and their weights (`None`: all 1).
    fn row(&self, node: usize) -> (&[u32], Option<&[f64]>);
}

impl Adjacency for Graph {
    fn num_nodes(&self) -> usize {
        Graph::num_nodes(self)
    }

    #[inline]
    fn row(&self, node: usize) -> (&[u32], Option<&[f64]>) {
        (self.neighbors(node), self.edge_weights(node))
    }
}

/// Length of the fixed chunks of the deterministic parallel sums: the summation order depends
/// on this constant only, never on the number of threads (small in tests, so that they split).
const SUM_CHUNK: usize = if cfg!(test) { 64 } else { 1 << 14 };

/// `Σ f(i)` over `0..n` in parallel, in an order that does not depend on the thread count:
/// fixed chunks summed sequentially, then the chunk sums in order.
fn deterministic_sum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    let chunks = n.div_ceil(SUM_CHUNK);
    let partial: Vec<f64> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let end = ((c + 1) * SUM_CHUNK).min(n);
            (c * SUM_CHUNK..end).map(&f).sum::<f64>()
        })
        .collect();
    partial.iter().sum()
}

/// Graphs with a known partition for the tests of the clustering algorithms.
#[cfg(test)]
pub(crate) mod test_graphs {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A stochastic block model with `blocks` blocks of `block_size` nodes (block `b` holds
    /// nodes `b·block_size..(b+1)·block_size`): each pair inside a block is an edge with
    /// probability `p_in`, each other pair with probability `p_out`. Returns the graph and the
    /// planted block of every node.
    pub(crate) fn sbm(blocks: usize, block_size: usize, p_in: f64, p_out: f64, seed: u64) -> (Graph, Vec<u32>) {
        let n = blocks * block_size;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut edges = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                let p = if a / block_size == b / block_size { p_in } else { p_out };
                if rng.random::<f64>() < p {
                    edges.push((a as u32, b as u32));
                }
            }
        }
        let truth = (0..n).map(|v| (v / block_size) as u32).collect();
        (Graph::from_edges(n, &edges, None).unwrap().0, truth)
    }

    /// The same SBM with its nodes relabelled by a seeded permutation, so that blocks are not
    /// contiguous in node order.
    pub(crate) fn shuffled_sbm(
        blocks: usize,
        block_size: usize,
        p_in: f64,
        p_out: f64,
        seed: u64,
    ) -> (Graph, Vec<u32>) {
        use rand::seq::SliceRandom;
        let (g, truth) = sbm(blocks, block_size, p_in, p_out, seed);
        let n = g.num_nodes();
        let mut perm: Vec<u32> = (0..n as u32).collect();
        perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
        let mut edges = Vec::new();
        for a in 0..n {
            for &b in g.neighbors(a) {
                if (a as u32) < b {
                    edges.push((perm[a], perm[b as usize]));
                }
            }
        }
        let mut new_truth = vec![0u32; n];
        for v in 0..n {
            new_truth[perm[v] as usize] = truth[v];
        }
        (Graph::from_edges(n, &edges, None).unwrap().0, new_truth)
    }

    /// `k` cliques of `size` nodes, clique `c` joined to clique `c + 1` by one edge.
    pub(crate) fn cliques(k: usize, size: usize) -> Graph {
        let mut edges = Vec::new();
        for c in 0..k {
            let base = c * size;
            for a in 0..size {
                for b in a + 1..size {
                    edges.push(((base + a) as u32, (base + b) as u32));
                }
            }
            if c + 1 < k {
                edges.push(((base + size - 1) as u32, (base + size) as u32));
            }
        }
        Graph::from_edges(k * size, &edges, None).unwrap().0
    }

    /// The adjusted Rand index of two labelings (Hubert & Arabie 1985): 1 for identical
    /// partitions, about 0 for independent ones.
    pub(crate) fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
        use std::collections::HashMap;
        let n = a.len() as f64;
        let mut joint: HashMap<(u32, u32), f64> = HashMap::new();
        let mut ra: HashMap<u32, f64> = HashMap::new();
        let mut rb: HashMap<u32, f64> = HashMap::new();
        for (&x, &y) in a.iter().zip(b) {
            *joint.entry((x, y)).or_default() += 1.0;
            *ra.entry(x).or_default() += 1.0;
            *rb.entry(y).or_default() += 1.0;
        }
        let pairs = |x: f64| x * (x - 1.0) / 2.0;
        let index: f64 = joint.values().map(|&x| pairs(x)).sum();
        let sa: f64 = ra.values().map(|&x| pairs(x)).sum();
        let sb: f64 = rb.values().map(|&x| pairs(x)).sum();
        let expected = sa * sb / pairs(n);
        let max = (sa + sb) / 2.0;
        if max == expected {
            return 1.0;
        }
        (index - expected) / (max - expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_renumbered_in_order_of_first_node() {
        let c = Clustering::from_labels(vec![7, 7, 3, 9, 3]);
        assert_eq!(c.labels(), &[0, 0, 1, 2, 1]);
        assert_eq!(c.num_clusters(), 3);
        assert_eq!(c.sizes(), vec![2, 2, 1]);
        let (offsets, nodes) = c.members();
        assert_eq!(offsets, vec![0, 2, 4, 5]);
        assert_eq!(nodes, vec![0, 1, 2, 4, 3]);
        // Sparse labels (hashed ids) take the hash map.
        let c = Clustering::from_labels(vec![u32::MAX, 5, u32::MAX, 4_000_000_000]);
        assert_eq!(c.labels(), &[0, 1, 0, 2]);
        assert_eq!(c.num_clusters(), 3);
    }

    #[test]
    fn cluster_dispatches_from_a_serialized_method() {
        let g = test_graphs::cliques(2, 5);
        let method: ClusterMethod = serde_json::from_str(r#"{"method":"reldg","num_clusters":2,"slack":0.2}"#).unwrap();
        let c = cluster(&g, &method).unwrap();
        assert_eq!(c.labels(), &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        let method: ClusterMethod = serde_json::from_str(r#"{"method":"louvain"}"#).unwrap();
        assert_eq!(cluster(&g, &method).unwrap().num_clusters(), 2);
        let text = serde_json::to_string(&ClusterMethod::Louvain(LouvainConfig::default())).unwrap();
        assert!(text.starts_with(r#"{"method":"louvain","resolution":1.0"#), "{text}");
    }

    #[test]
    fn deterministic_sum_does_not_depend_on_threads() {
        let f = |i: usize| 1.0 / (i as f64 + 1.0).powf(1.3);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let a = one.install(|| deterministic_sum(100_000, f));
        let b = two.install(|| deterministic_sum(100_000, f));
        assert_eq!(a.to_bits(), b.to_bits());
    }
}
