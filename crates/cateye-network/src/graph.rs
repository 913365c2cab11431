//! The undirected graph of an experiment's units in compressed sparse rows.
//!
//! Nodes are `0..n` (the loader maps user ids to these indices). Every undirected edge `{a, b}`
//! is stored twice, as `b` in row `a` and `a` in row `b`, so the neighbours of a node are one
//! contiguous sorted slice. Indices are `u32` (graphs up to 4·10⁹ nodes) and row offsets `u64`,
//! so 20 million edges take 160 MB of neighbour indices and 8 MB of offsets per million nodes.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{NetworkError, Result};

/// An undirected graph in compressed sparse rows, optionally weighted.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    offsets: Vec<u64>,
    neighbors: Vec<u32>,
    weights: Option<Vec<f64>>,
}

/// What building the graph did to the edges it was given: nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeReport {
    /// Edges given (rows of the edge list).
    pub edges_given: u64,
    /// Edges given more than once (in either direction) and merged into one; merged weights add.
    pub duplicates_merged: u64,
    /// Distinct undirected edges kept.
    pub edges: u64,
    /// Nodes with no edge.
    pub isolated_nodes: u64,
}

impl Graph {
    /// Builds the graph on nodes `0..num_nodes` from undirected edge pairs.
    ///
    /// Duplicate edges (`{a, b}` given twice, in either order) are merged and counted in the
    /// report; their weights add. A self-loop or a node index `>= num_nodes` is an error naming
    /// the edge. `weights`, when given, has one finite positive weight per edge.
    pub fn from_edges(num_nodes: usize, edges: &[(u32, u32)], weights: Option<&[f64]>) -> Result<(Graph, EdgeReport)> {
        if num_nodes > u32::MAX as usize {
            return Err(NetworkError::invalid(format!("{num_nodes} nodes: at most {} are supported", u32::MAX)));
        }
        if let Some(w) = weights {
            if w.len() != edges.len() {
                return Err(NetworkError::invalid(format!(
                    "{} weights for {} edges: expected one weight per edge",
                    w.len(),
                    edges.len()
                )));
            }
            if let Some((k, v)) = w.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
                return Err(NetworkError::invalid(format!(
                    "edge {k} has weight {v}: expected a finite weight above 0"
                )));
            }
        }
        let mut degree = vec![0u64; num_nodes + 1];
        for (k, &(a, b)) in edges.iter().enumerate() {
            if a == b {
                return Err(NetworkError::invalid(format!(
                    "edge {k} joins node {a} to itself: self-loops are not allowed in an interference graph"
                )));
            }
            if a as usize >= num_nodes || b as usize >= num_nodes {
                return Err(NetworkError::invalid(format!("edge {k} ({a}, {b}) names a node outside 0..{num_nodes}")));
            }
            degree[a as usize + 1] += 1;
            degree[b as usize + 1] += 1;
        }
        for i in 0..num_nodes {
            degree[i + 1] += degree[i];
        }
        let offsets = degree;
        let total = offsets[num_nodes] as usize;
        let mut fill: Vec<u64> = offsets[..num_nodes].to_vec();
        let mut neighbors = vec![0u32; total];
        let mut edge_weights = weights.map(|_| vec![0f64; total]);
        for (k, &(a, b)) in edges.iter().enumerate() {
            for (from, to) in [(a, b), (b, a)] {
                let slot = fill[from as usize] as usize;
                neighbors[slot] = to;
                if let (Some(ew), Some(w)) = (edge_weights.as_mut(), weights) {
                    ew[slot] = w[k];
                }
                fill[from as usize] += 1;
            }
        }
        // Sort every row and merge duplicates in place; rows are independent.
        let kept: Vec<u64> = {
            let mut rows = split_rows(&offsets, &mut neighbors);
            match edge_weights.as_mut() {
                None => rows.par_iter_mut().map(|row| dedup_row(row)).collect(),
                Some(ew) => {
                    let mut wrows = split_rows(&offsets, ew);
                    rows.par_iter_mut()
                        .zip(wrows.par_iter_mut())
                        .map_init(Vec::new, |pairs, (row, w)| dedup_weighted_row(row, w, pairs))
                        .collect()
                }
            }
        };
        // Compact the rows.
        let mut new_offsets = Vec::with_capacity(num_nodes + 1);
        new_offsets.push(0u64);
        let mut write = 0usize;
        for i in 0..num_nodes {
            let start = offsets[i] as usize;
            let len = kept[i] as usize;
            neighbors.copy_within(start..start + len, write);
            if let Some(ew) = edge_weights.as_mut() {
                ew.copy_within(start..start + len, write);
            }
            write += len;
            new_offsets.push(write as u64);
        }
        neighbors.truncate(write);
        neighbors.shrink_to_fit();
        if let Some(ew) = edge_weights.as_mut() {
            ew.truncate(write);
            ew.shrink_to_fit();
        }
        let distinct = write as u64 / 2;
        let isolated = (0..num_nodes).filter(|&i| new_offsets[i] == new_offsets[i + 1]).count() as u64;
        let report = EdgeReport {
            edges_given: edges.len() as u64,
            duplicates_merged: edges.len() as u64 - distinct,
            edges: distinct,
            isolated_nodes: isolated,
        };
        Ok((Graph { offsets: new_offsets, neighbors, weights: edge_weights }, report))
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of distinct undirected edges.
    pub fn num_edges(&self) -> u64 {
        self.neighbors.len() as u64 / 2
    }

    /// The neighbours of `node`, sorted ascending.
    pub fn neighbors(&self, node: usize) -> &[u32] {
        &self.neighbors[self.offsets[node] as usize..self.offsets[node + 1] as usize]
    }

    /// The weights of `node`'s edges, aligned with [`Graph::neighbors`]; `None` when unweighted.
    pub fn edge_weights(&self, node: usize) -> Option<&[f64]> {
        self.weights.as_ref().map(|w| &w[self.offsets[node] as usize..self.offsets[node + 1] as usize])
    }

    /// Whether the edges carry weights.
    pub fn is_weighted(&self) -> bool {
        self.weights.is_some()
    }

    /// Number of neighbours of `node`.
    pub fn degree(&self, node: usize) -> usize {
        (self.offsets[node + 1] - self.offsets[node]) as usize
    }

    /// Sum of the weights of `node`'s edges (its degree when unweighted).
    pub fn strength(&self, node: usize) -> f64 {
        match self.edge_weights(node) {
            Some(w) => w.iter().sum(),
            None => self.degree(node) as f64,
        }
    }

    /// Total edge weight `m` (number of edges when unweighted), each undirected edge once.
    pub fn total_weight(&self) -> f64 {
        match &self.weights {
            Some(w) => w.iter().sum::<f64>() / 2.0,
            None => self.num_edges() as f64,
        }
    }

    /// The row offsets (`num_nodes + 1` of them) and the concatenated neighbour rows.
    pub fn csr(&self) -> (&[u64], &[u32]) {
        (&self.offsets, &self.neighbors)
    }
}

/// Splits a CSR value array into its rows, as disjoint mutable slices.
fn split_rows<'a, T>(offsets: &[u64], mut values: &'a mut [T]) -> Vec<&'a mut [T]> {
    let mut rows = Vec::with_capacity(offsets.len().saturating_sub(1));
    for w in offsets.windows(2) {
        let (row, rest) = values.split_at_mut((w[1] - w[0]) as usize);
        rows.push(row);
        values = rest;
    }
    rows
}

/// Sorts a row and merges repeated neighbours; returns the number of distinct neighbours,
/// moved to the front of the row.
fn dedup_row(row: &mut [u32]) -> u64 {
    row.sort_unstable();
    let mut kept = 0usize;
    for k in 0..row.len() {
        if kept == 0 || row[k] != row[kept - 1] {
            row[kept] = row[k];
            kept += 1;
        }
    }
    kept as u64
}

/// [`dedup_row`] with the weights alongside (repeated neighbours' weights add); `pairs` is a
/// buffer reused across the rows of one worker.
fn dedup_weighted_row(row: &mut [u32], weights: &mut [f64], pairs: &mut Vec<(u32, f64)>) -> u64 {
    pairs.clear();
    pairs.extend(row.iter().copied().zip(weights.iter().copied()));
    // A stable sort: the weights of a repeated edge add in edge-list order in both rows, so
    // the weight of a–b is the weight of b–a to the last bit.
    pairs.sort_by_key(|p| p.0);
    let mut kept = 0usize;
    for &(node, weight) in pairs.iter() {
        if kept > 0 && node == row[kept - 1] {
            weights[kept - 1] += weight;
        } else {
            row[kept] = node;
            weights[kept] = weight;
            kept += 1;
        }
    }
    kept as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_edges_are_merged_and_counted() {
        let (g, report) = Graph::from_edges(4, &[(0, 1), (1, 0), (1, 2), (0, 1)], None).unwrap();
        assert_eq!(g.neighbors(0), &[1]);
        assert_eq!(g.neighbors(1), &[0, 2]);
        assert_eq!(g.num_edges(), 2);
        assert_eq!(report.duplicates_merged, 2);
        assert_eq!(report.isolated_nodes, 1);
    }

    #[test]
    fn merged_weights_add() {
        let (g, _) = Graph::from_edges(3, &[(0, 1), (1, 0), (1, 2)], Some(&[1.0, 2.5, 4.0])).unwrap();
        assert_eq!(g.edge_weights(1).unwrap(), &[3.5, 4.0]);
        assert_eq!(g.total_weight(), 7.5);
    }

    #[test]
    fn self_loops_are_named() {
        let err = Graph::from_edges(3, &[(0, 1), (2, 2)], None).unwrap_err().to_string();
        assert!(err.contains("edge 1 joins node 2 to itself"), "{err}");
    }
}
