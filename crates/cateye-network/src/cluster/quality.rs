//! How good a clustering is for graph cluster randomization: the share of edge weight it cuts
//! (the interference the design leaves between arms), its modularity, and the spread of its
//! cluster sizes (the variance the design adds).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{deterministic_sum, Clustering};
use crate::error::{NetworkError, Result};
use crate::graph::Graph;

/// The quality report of a clustering of a graph.
///
/// With `m` the total edge weight (the number of edges when unweighted), `W_C` the weight of the
/// edges inside cluster `C` and `K_C` the sum of the strengths (degrees) of its nodes:
/// `cut_fraction = 1 − Σ_C W_C / m` and `modularity = Σ_C [W_C/m − (K_C/2m)²]` (Newman & Girvan
/// 2004, eq. 5; resolution γ = 1, comparable with other tools). On a graph without edges both
/// are 0. Sizes count nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterQuality {
    /// Number of nodes.
    pub num_nodes: u64,
    /// Number of clusters.
    pub num_clusters: u64,
    /// Share of the total edge weight on edges between two clusters.
    pub cut_fraction: f64,
    /// Newman–Girvan modularity of the clustering.
    pub modularity: f64,
    /// Smallest cluster size.
    pub size_min: u64,
    /// Median cluster size (the mean of the two middle sizes when the count is even).
    pub size_median: f64,
    /// Largest cluster size.
    pub size_max: u64,
    /// Mean cluster size, `n / num_clusters`.
    pub size_mean: f64,
    /// Coefficient of variation of the cluster sizes: their standard deviation (over the
    /// clusters, dividing by their number) over their mean.
    pub size_cv: f64,
    /// Number of clusters of one node.
    pub singletons: u64,
}

impl ClusterQuality {
    /// The quality of `clustering` on `graph`; an error when the clustering has a different
    /// number of nodes than the graph.
    pub fn compute(graph: &Graph, clustering: &Clustering) -> Result<ClusterQuality> {
        let sums = ClusterSums::new(graph, clustering)?;
        let mut sizes = clustering.sizes();
        sizes.sort_unstable();
        let k = sizes.len();
        let n = clustering.num_nodes();
        let (size_mean, size_cv, size_median) = if k == 0 {
            (0.0, 0.0, 0.0)
        } else {
            let mean = n as f64 / k as f64;
            let var = sizes.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / k as f64;
            let median = if k % 2 == 1 { sizes[k / 2] as f64 } else { (sizes[k / 2 - 1] + sizes[k / 2]) as f64 / 2.0 };
            (mean, var.sqrt() / mean, median)
        };
        Ok(ClusterQuality {
            num_nodes: n as u64,
            num_clusters: k as u64,
            cut_fraction: sums.cut_fraction(),
            modularity: sums.modularity(1.0),
            size_min: sizes.first().copied().unwrap_or(0),
            size_median,
            size_max: sizes.last().copied().unwrap_or(0),
            size_mean,
            size_cv,
            singletons: sizes.iter().take_while(|&&s| s == 1).count() as u64,
        })
    }
}

/// Modularity at resolution γ of `clustering` on `graph`,
/// `Q_γ = Σ_C [W_C/m − γ·(K_C/2m)²]` (Newman & Girvan 2004 for γ = 1; Reichardt & Bornholdt
/// 2006 for the resolution), equal to `(1/2m) Σ_ij [A_ij − γ·k_i·k_j/2m]·δ(c_i, c_j)`; 0 on a
/// graph without edges. An error when the clustering has a different number of nodes than the
/// graph or γ is not finite.
pub fn modularity(graph: &Graph, clustering: &Clustering, resolution: f64) -> Result<f64> {
    if !resolution.is_finite() {
        return Err(NetworkError::invalid(format!("modularity resolution {resolution}: expected a finite value")));
    }
    Ok(ClusterSums::new(graph, clustering)?.modularity(resolution))
}

/// Per-cluster internal weight `W_C` and total strength `K_C`, and `2m`.
struct ClusterSums {
    internal: Vec<f64>,
    total: Vec<f64>,
    two_m: f64,
}

impl ClusterSums {
    fn new(graph: &Graph, clustering: &Clustering) -> Result<Self> {
        let n = graph.num_nodes();
        if clustering.num_nodes() != n {
            return Err(NetworkError::invalid(format!(
                "a clustering of {} nodes for a graph of {n} nodes: expected one cluster label per node",
                clustering.num_nodes()
            )));
        }
        let labels = clustering.labels();
        // Per node: (weight of its edges inside its cluster, its strength); each in node order.
        let per_node: Vec<(f64, f64)> = (0..n)
            .into_par_iter()
            .map(|v| {
                let c = labels[v];
                let neighbors = graph.neighbors(v);
                match graph.edge_weights(v) {
                    None => {
                        let inside = neighbors.iter().filter(|&&u| labels[u as usize] == c).count();
                        (inside as f64, neighbors.len() as f64)
                    }
                    Some(w) => {
                        let inside =
                            neighbors.iter().zip(w).filter(|(&u, _)| labels[u as usize] == c).map(|(_, &w)| w).sum();
                        (inside, w.iter().sum())
                    }
                }
            })
            .collect();
        let mut internal = vec![0.0; clustering.num_clusters()];
        let mut total = vec![0.0; clustering.num_clusters()];
        for (v, &(inside, strength)) in per_node.iter().enumerate() {
            internal[labels[v] as usize] += inside / 2.0;
            total[labels[v] as usize] += strength;
        }
        let two_m = deterministic_sum(n, |v| per_node[v].1);
        Ok(ClusterSums { internal, total, two_m })
    }

    fn cut_fraction(&self) -> f64 {
        if self.two_m <= 0.0 {
            return 0.0;
        }
        let inside: f64 = self.internal.iter().sum();
        (1.0 - 2.0 * inside / self.two_m).max(0.0)
    }

    fn modularity(&self, resolution: f64) -> f64 {
        if self.two_m <= 0.0 {
            return 0.0;
        }
        let m = self.two_m / 2.0;
        self.internal.iter().zip(&self.total).map(|(&w, &k)| w / m - resolution * (k / self.two_m).powi(2)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_graphs::{cliques, sbm};
    use super::*;

    /// `(1/2m) Σ_ij [A_ij − γ·k_i·k_j/2m]·δ(c_i, c_j)` over all ordered pairs, from a dense
    /// adjacency matrix.
    fn direct_modularity(graph: &Graph, labels: &[u32], resolution: f64) -> f64 {
        let n = graph.num_nodes();
        let mut a = vec![vec![0.0; n]; n];
        for (i, row) in a.iter_mut().enumerate() {
            let w = graph.edge_weights(i);
            for (j, &u) in graph.neighbors(i).iter().enumerate() {
                row[u as usize] = w.map_or(1.0, |w| w[j]);
            }
        }
        let k: Vec<f64> = a.iter().map(|row| row.iter().sum()).collect();
        let two_m: f64 = k.iter().sum();
        let mut q = 0.0;
        for i in 0..n {
            for j in 0..n {
                if labels[i] == labels[j] {
                    q += a[i][j] - resolution * k[i] * k[j] / two_m;
                }
            }
        }
        q / two_m
    }

    #[test]
    fn modularity_equals_the_direct_formula() {
        let (g, truth) = sbm(3, 8, 0.6, 0.1, 4);
        let labellings: Vec<Vec<u32>> = vec![
            truth.clone(),
            (0..24).map(|v| v % 5).collect(),
            vec![0; 24],
            (0..24).collect(),
            (0..24).map(|v| (v / 6) as u32).collect(),
        ];
        for labels in &labellings {
            let c = Clustering::from_labels(labels.clone());
            for gamma in [1.0, 0.5, 2.0] {
                let q = modularity(&g, &c, gamma).unwrap();
                let direct = direct_modularity(&g, labels, gamma);
                assert!((q - direct).abs() < 1e-12, "γ {gamma}: {q} vs {direct}");
            }
        }
        // Weighted.
        let edges = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (3, 4)];
        let (g, _) = Graph::from_edges(5, &edges, Some(&[2.0, 0.5, 3.0, 1.0, 1.5, 0.25])).unwrap();
        let labels = vec![0, 0, 1, 1, 1];
        let q = modularity(&g, &Clustering::from_labels(labels.clone()), 1.0).unwrap();
        assert!((q - direct_modularity(&g, &labels, 1.0)).abs() < 1e-12);
    }

    #[test]
    fn report_of_two_cliques() {
        // Two 4-cliques and one edge between them: m = 13, one edge cut.
        let g = cliques(2, 4);
        let c = Clustering::from_labels(vec![0, 0, 0, 0, 1, 1, 1, 1]);
        let q = ClusterQuality::compute(&g, &c).unwrap();
        assert_eq!(q.num_clusters, 2);
        assert!((q.cut_fraction - 1.0 / 13.0).abs() < 1e-15);
        // W = 6 each, K = 13 each: Q = 12/13 − 2·(13/26)² = 12/13 − 1/2.
        assert!((q.modularity - (12.0 / 13.0 - 0.5)).abs() < 1e-15);
        assert_eq!((q.size_min, q.size_max, q.size_median, q.size_mean, q.size_cv), (4, 4, 4.0, 4.0, 0.0));
        assert_eq!(q.singletons, 0);
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.contains("\"cut_fraction\":0.0769"), "{json}");
    }

    #[test]
    fn size_spread() {
        let (g, _) = Graph::from_edges(7, &[(0, 1)], None).unwrap();
        // Sizes 1, 2, 4.
        let c = Clustering::from_labels(vec![0, 1, 1, 2, 2, 2, 2]);
        let q = ClusterQuality::compute(&g, &c).unwrap();
        assert_eq!((q.size_min, q.size_median, q.size_max, q.singletons), (1, 2.0, 4, 1));
        let mean = 7.0 / 3.0;
        let sd =
            (((1.0 - mean) * (1.0f64 - mean) + (2.0 - mean) * (2.0 - mean) + (4.0 - mean) * (4.0 - mean)) / 3.0).sqrt();
        assert!((q.size_cv - sd / mean).abs() < 1e-15);
        assert_eq!(q.cut_fraction, 1.0);
        // Even count: the median of 1, 1, 2, 3 is 1.5.
        let c = Clustering::from_labels(vec![0, 1, 2, 2, 2, 3, 3]);
        let q = ClusterQuality::compute(&g, &c).unwrap();
        assert_eq!(q.size_median, 1.5);
        assert_eq!(q.cut_fraction, 1.0);
    }

    #[test]
    fn edgeless_graph_and_wrong_length() {
        let (g, _) = Graph::from_edges(3, &[], None).unwrap();
        let q = ClusterQuality::compute(&g, &Clustering::from_labels(vec![0, 0, 1])).unwrap();
        assert_eq!((q.cut_fraction, q.modularity), (0.0, 0.0));
        let e = ClusterQuality::compute(&g, &Clustering::from_labels(vec![0, 0])).unwrap_err().to_string();
        assert_eq!(e, "a clustering of 2 nodes for a graph of 3 nodes: expected one cluster label per node");
        let e = modularity(&g, &Clustering::from_labels(vec![0, 0, 0]), f64::INFINITY).unwrap_err().to_string();
        assert!(e.contains("resolution inf"), "{e}");
    }
}
