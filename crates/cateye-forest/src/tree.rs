//! A fitted tree: binary splits "code ≤ bin" on binned covariates, and per-leaf sufficient
//! statistics of the honest (estimation) sample, `K` values per leaf.

use crate::binning::BinnedFeatures;

/// One node: internal nodes send codes ≤ `split_bin` of `feature` to child `left`, others to
/// `left + 1`; leaves have `feature == LEAF` and `left` is the leaf index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub feature: u16,
    pub split_bin: u16,
    pub left: u32,
}

pub(crate) const LEAF: u16 = u16::MAX;

/// Covariates a tree can split on (one code is reserved for leaves).
pub const MAX_FEATURES: usize = LEAF as usize;

impl Node {
    pub fn leaf(index: u32) -> Self {
        Node { feature: LEAF, split_bin: 0, left: index }
    }
    pub fn split(feature: usize, bin: u16, left: u32) -> Self {
        Node { feature: feature as u16, split_bin: bin, left }
    }
    pub fn is_leaf(&self) -> bool {
        self.feature == LEAF
    }
    pub fn right(&self) -> u32 {
        self.left + 1
    }
}

/// A tree with `K` leaf statistics: the averages over the leaf's estimation units of
/// sample-weighted quantities (so that averaging them over trees gives the forest weights of
/// Athey, Tibshirani & Wager 2019, eq. 3, applied to those quantities).
#[derive(Clone, Debug)]
pub struct Tree<const K: usize> {
    pub(crate) nodes: Vec<Node>,
    pub(crate) leaves: Vec<[f64; K]>,
    /// Estimation units per leaf (0 marks an empty leaf, kept only without pruning).
    pub(crate) leaf_sizes: Vec<u32>,
}

impl<const K: usize> Tree<K> {
    /// Leaf reached by a row of codes.
    #[inline]
    pub(crate) fn leaf_of(&self, row: &[u16]) -> usize {
        let mut node = self.nodes[0];
        while !node.is_leaf() {
            node = self.nodes[(node.left + (row[node.feature as usize] > node.split_bin) as u32) as usize];
        }
        node.left as usize
    }

    /// Leaf statistics for a row, or `None` when its leaf has no estimation unit.
    #[cfg(test)]
    #[inline]
    pub(crate) fn values(&self, row: &[u16]) -> Option<&[f64; K]> {
        let leaf = self.leaf_of(row);
        (self.leaf_sizes[leaf] > 0).then(|| &self.leaves[leaf])
    }

    pub fn num_leaves(&self) -> usize {
        self.leaves.len()
    }

    /// Adds to `counts[depth][feature]` the splits of this tree at depths `0..counts.len()`.
    pub(crate) fn count_splits(&self, counts: &mut [Vec<u64>]) {
        let mut stack = vec![(0usize, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            let n = &self.nodes[node];
            if n.is_leaf() || depth >= counts.len() {
                continue;
            }
            counts[depth][n.feature as usize] += 1;
            stack.push((n.left as usize, depth + 1));
            stack.push((n.right() as usize, depth + 1));
        }
    }

    /// Fills the leaves of a grown tree with the estimation units (honesty): each leaf keeps the
    /// average over its units of `stat(unit)`. With `prune`, a node one of whose children holds
    /// no estimation unit is replaced by its other child (grf's `honesty.prune.leaves`), so
    /// every leaf of the result is non-empty (unless no unit was given at all).
    pub(crate) fn populate(
        grown: &[Node],
        num_leaves: usize,
        features: &BinnedFeatures,
        units: &[u32],
        stat: impl Fn(usize) -> [f64; K],
        prune: bool,
    ) -> Self {
        let mut sums = vec![[0.0; K]; num_leaves];
        let mut sizes = vec![0u32; num_leaves];
        let grown_tree = Tree::<K> { nodes: grown.to_vec(), leaves: Vec::new(), leaf_sizes: Vec::new() };
        for &u in units {
            let leaf = grown_tree.leaf_of(features.row(u as usize));
            let s = stat(u as usize);
            for (acc, v) in sums[leaf].iter_mut().zip(s) {
                *acc += v;
            }
            sizes[leaf] += 1;
        }
        let average = |leaf: usize| {
            let n = sizes[leaf].max(1) as f64;
            sums[leaf].map(|v| v / n)
        };
        if !prune {
            let leaves = (0..num_leaves).map(average).collect();
            return Tree { nodes: grown_tree.nodes, leaves, leaf_sizes: sizes };
        }
        // Units below each node: children are created after their parent, so a reverse pass sees them first.
        let mut below = vec![0u64; grown.len()];
        for (i, node) in grown.iter().enumerate().rev() {
            below[i] = if node.is_leaf() {
                sizes[node.left as usize] as u64
            } else {
                below[node.left as usize] + below[node.right() as usize]
            };
        }
        let resolve = |mut i: usize| {
            while !grown[i].is_leaf() {
                let n = grown[i];
                if below[n.left as usize] == 0 {
                    i = n.right() as usize;
                } else if below[n.right() as usize] == 0 {
                    i = n.left as usize;
                } else {
                    break;
                }
            }
            i
        };
        let mut tree = Tree { nodes: vec![Node::leaf(0)], leaves: Vec::new(), leaf_sizes: Vec::new() };
        let mut stack = vec![(resolve(0), 0usize)];
        while let Some((old, new)) = stack.pop() {
            let n = grown[old];
            if n.is_leaf() {
                tree.nodes[new].left = tree.leaves.len() as u32;
                tree.leaves.push(average(n.left as usize));
                tree.leaf_sizes.push(sizes[n.left as usize]);
            } else {
                let first = tree.nodes.len();
                tree.nodes.extend([Node::leaf(0), Node::leaf(0)]);
                tree.nodes[new] = Node::split(n.feature as usize, n.split_bin, first as u32);
                stack.push((resolve(n.right() as usize), first + 1));
                stack.push((resolve(n.left as usize), first));
            }
        }
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_replaces_a_node_by_its_non_empty_child() {
        // x in bins 0..3; root splits at bin 1, its right child at bin 2.
        let x = [0.0, 1.0, 2.0, 3.0];
        let features = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        let grown = vec![Node::split(0, 1, 1), Node::leaf(0), Node::split(0, 2, 3), Node::leaf(1), Node::leaf(2)];
        // Estimation units: 0 (left leaf) and 3 (bin 3 leaf); the bin-2 leaf is empty.
        let stat = |u: usize| [1.0, x[u]];
        let pruned = Tree::<2>::populate(&grown, 3, &features, &[0, 3], stat, true);
        assert_eq!(pruned.num_leaves(), 2);
        assert_eq!(pruned.values(features.row(2)).unwrap()[1], 3.0, "the empty leaf's units go to its sibling");
        assert_eq!(pruned.values(features.row(1)).unwrap()[1], 0.0);
        let kept = Tree::<2>::populate(&grown, 3, &features, &[0, 3], stat, false);
        assert!(kept.values(features.row(2)).is_none());
    }
}
