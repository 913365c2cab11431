//! A fitted tree: binary splits "code ≤ bin" on binned covariates, each sending missing values
//! to the side its search chose, and per-leaf sufficient statistics of the honest (estimation)
//! sample, `K` values per leaf.
//!
//! Leaves point to themselves (`left` = own index, a split bin no code exceeds), so a step of
//! the traversal is the same branch-free operation at every node, and several rows can walk
//! one tree in lock-step until none moves (`leaves_of`), which hides memory latency.

use crate::binning::{BinnedFeatures, MISSING};
use crate::error::ForestError;
use crate::prefetch::{prefetch, PREFETCH_AHEAD};
use serde::{Deserialize, Serialize};

/// One node: internal nodes send codes ≤ `split_bin` of their covariate to node `left`, others
/// to `left + 1`; missing values ([`MISSING`], above every code) go left when the node's
/// `MISSING_LEFT` bit is set. A leaf has `split_bin == LEAF_BIN` and `left` equal to its own
/// index. The bit shares the covariate's `u16` so that a node stays 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// The covariate, with `MISSING_LEFT` set when missing values go left.
    feature: u16,
    pub split_bin: u16,
    pub left: u32,
}

/// Split bin of leaves: no code is greater, so a leaf's step stays on the leaf.
const LEAF_BIN: u16 = u16::MAX;

/// The bit of `Node::feature` that sends missing values left.
const MISSING_LEFT: u16 = 1 << 15;

/// Split bin of the split "is the covariate missing?": every value present goes left, missing
/// values right.
pub(crate) const MISSING_SPLIT_BIN: u16 = MISSING - 1;

/// Covariates a tree can split on.
pub const MAX_FEATURES: usize = (MISSING_LEFT - 1) as usize;

/// Rows walked through a tree together.
const LANES: usize = 8;

/// Marks a node that is not a leaf in `Tree::leaf_slot`.
const NOT_A_LEAF: u32 = u32::MAX;

impl Node {
    pub fn leaf(own_index: u32) -> Self {
        Node { feature: 0, split_bin: LEAF_BIN, left: own_index }
    }
    pub fn split(feature: usize, bin: u16, missing_left: bool, left: u32) -> Self {
        debug_assert!(bin < LEAF_BIN && feature <= MAX_FEATURES);
        Node { feature: feature as u16 | if missing_left { MISSING_LEFT } else { 0 }, split_bin: bin, left }
    }
    /// The covariate split on.
    #[inline(always)]
    pub fn feature(&self) -> usize {
        (self.feature & !MISSING_LEFT) as usize
    }
    /// Whether missing values go left.
    #[inline(always)]
    pub fn missing_left(&self) -> bool {
        self.feature & MISSING_LEFT != 0
    }
    pub fn is_leaf(&self) -> bool {
        self.split_bin == LEAF_BIN
    }
    pub fn right(&self) -> u32 {
        self.left + 1
    }
    /// The node a row goes to next (itself at a leaf), without a branch.
    #[inline(always)]
    fn step(&self, row: &[u16]) -> u32 {
        let code = row[self.feature()];
        let right = (code > self.split_bin) & !((code == MISSING) & self.missing_left());
        self.left + right as u32
    }
}

/// Node indices reached by `rows`, appended to `out` in row order. `LANES` rows descend at
/// once (independent chains of loads that the processor overlaps); a lane whose row reaches its
/// leaf takes the next row at once, so that a deep path does not hold the other lanes back
/// (trees on categorical covariates are often lopsided: isolating one level per split).
fn walk(nodes: &[Node], rows: &[&[u16]], picked: &[u32], out: &mut Vec<u32>) {
    let start = out.len();
    out.resize(start + picked.len(), 0);
    let out = &mut out[start..];
    // `row[j]`: the position in `picked` of lane j's row.
    let mut row = [0usize; LANES];
    let mut at = [0u32; LANES];
    let lanes = picked.len().min(LANES);
    for (j, r) in row.iter_mut().enumerate().take(lanes) {
        *r = j;
    }
    let (mut next, mut busy) = (lanes, lanes);
    while busy > 0 {
        for j in 0..lanes {
            if row[j] == usize::MAX {
                continue;
            }
            let step = nodes[at[j] as usize].step(rows[picked[row[j]] as usize]);
            if step != at[j] {
                at[j] = step;
                continue;
            }
            out[row[j]] = step;
            at[j] = 0;
            if next < picked.len() {
                row[j] = next;
                if let Some(ahead) = picked.get(next + PREFETCH_AHEAD).and_then(|&a| rows[a as usize].first()) {
                    prefetch(ahead);
                }
                next += 1;
            } else {
                row[j] = usize::MAX;
                busy -= 1;
            }
        }
    }
}

/// A tree with `K` leaf statistics: the averages over the leaf's estimation units of
/// sample-weighted quantities (so that averaging them over trees gives the forest weights of
/// Athey, Tibshirani & Wager 2019, eq. 3, applied to those quantities).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tree<const K: usize> {
    pub(crate) nodes: Vec<Node>,
    /// Leaf index of each node (`NOT_A_LEAF` for internal nodes).
    leaf_slot: Vec<u32>,
    #[serde(with = "flat_leaves")]
    pub(crate) leaves: Vec<[f64; K]>,
    /// Estimation units per leaf (0 marks an empty leaf, kept only without pruning).
    pub(crate) leaf_sizes: Vec<u32>,
}

impl<const K: usize> Tree<K> {
    /// Appends to `out` the leaf index each row `rows[picked[k]]` reaches.
    pub(crate) fn leaves_of(&self, rows: &[&[u16]], picked: &[u32], out: &mut Vec<u32>) {
        let start = out.len();
        walk(&self.nodes, rows, picked, out);
        for leaf in &mut out[start..] {
            *leaf = self.leaf_slot[*leaf as usize];
        }
    }

    /// Leaf statistics for a row, or `None` when its leaf has no estimation unit.
    #[cfg(test)]
    pub(crate) fn values(&self, row: &[u16]) -> Option<&[f64; K]> {
        let mut leaf = Vec::new();
        self.leaves_of(&[row], &[0], &mut leaf);
        let leaf = leaf[0] as usize;
        (self.leaf_sizes[leaf] > 0).then(|| &self.leaves[leaf])
    }

    /// Number of leaves (empty ones included when leaves were not pruned).
    pub fn num_leaves(&self) -> usize {
        self.leaves.len()
    }

    /// Checks the structure of a tree read from a file against `p` covariates: every split
    /// points at two nodes after it and names a covariate below `p`, every leaf points at
    /// itself and at a leaf slot, so that a traversal cannot leave the tree.
    pub(crate) fn check(&self, p: usize) -> Result<(), ForestError> {
        let bad = |reason: String| Err(ForestError::InvalidModel { reason });
        let n = self.nodes.len();
        if n == 0 || self.leaf_slot.len() != n || self.leaf_sizes.len() != self.leaves.len() {
            return bad(format!(
                "{n} nodes, {} leaf slots, {} leaves, {} leaf sizes",
                self.leaf_slot.len(),
                self.leaves.len(),
                self.leaf_sizes.len()
            ));
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.is_leaf() {
                let slot = self.leaf_slot[i] as usize;
                if node.left as usize != i || slot >= self.leaves.len() {
                    return bad(format!("leaf {i} points at node {} and leaf slot {slot}", node.left));
                }
            } else if node.left as usize <= i || node.right() as usize >= n || node.feature() >= p {
                return bad(format!(
                    "node {i} splits covariate {} into nodes {} and {}",
                    node.feature(),
                    node.left,
                    node.right()
                ));
            }
        }
        Ok(())
    }

    /// Adds to `counts[depth][feature]` the splits of this tree at depths `0..counts.len()`.
    pub(crate) fn count_splits(&self, counts: &mut [Vec<u64>]) {
        let mut stack = vec![(0usize, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            let n = &self.nodes[node];
            if n.is_leaf() || depth >= counts.len() {
                continue;
            }
            counts[depth][n.feature()] += 1;
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
        features: &BinnedFeatures,
        units: &[u32],
        stat: impl Fn(usize) -> [f64; K],
        prune: bool,
    ) -> Self {
        let mut sums = vec![[0.0; K]; grown.len()];
        let mut sizes = vec![0u32; grown.len()];
        let mut reached = Vec::with_capacity(units.len());
        let mut rows: Vec<&[u16]> = Vec::with_capacity(LANES * 64);
        let all: Vec<u32> = (0..(LANES * 64) as u32).collect();
        for block in units.chunks(LANES * 64) {
            rows.clear();
            rows.extend(block.iter().map(|&u| features.row(u as usize)));
            reached.clear();
            walk(grown, &rows, &all[..block.len()], &mut reached);
            for (&u, &node) in block.iter().zip(&reached) {
                for (acc, v) in sums[node as usize].iter_mut().zip(stat(u as usize)) {
                    *acc += v;
                }
                sizes[node as usize] += 1;
            }
        }
        // Units below each node: children are created after their parent, so a reverse pass sees them first.
        let mut below = vec![0u64; grown.len()];
        for (i, node) in grown.iter().enumerate().rev() {
            below[i] =
                if node.is_leaf() { sizes[i] as u64 } else { below[node.left as usize] + below[node.right() as usize] };
        }
        let resolve = |mut i: usize| {
            while prune && !grown[i].is_leaf() {
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
        let mut tree = Tree {
            nodes: vec![Node::leaf(0)],
            leaf_slot: vec![NOT_A_LEAF],
            leaves: Vec::new(),
            leaf_sizes: Vec::new(),
        };
        let mut stack = vec![(resolve(0), 0usize)];
        while let Some((old, new)) = stack.pop() {
            let n = grown[old];
            if n.is_leaf() {
                tree.nodes[new] = Node::leaf(new as u32);
                tree.leaf_slot[new] = tree.leaves.len() as u32;
                let count = sizes[old];
                tree.leaves.push(sums[old].map(|v| v / count.max(1) as f64));
                tree.leaf_sizes.push(count);
            } else {
                let first = tree.nodes.len();
                tree.nodes.extend([Node::leaf(0), Node::leaf(0)]);
                tree.leaf_slot.extend([NOT_A_LEAF, NOT_A_LEAF]);
                tree.nodes[new] = Node::split(n.feature(), n.split_bin, n.missing_left(), first as u32);
                stack.push((resolve(n.right() as usize), first + 1));
                stack.push((resolve(n.left as usize), first));
            }
        }
        // A forest keeps thousands of trees: no spare capacity from the pushes above (up to
        // half of each vector).
        tree.nodes.shrink_to_fit();
        tree.leaf_slot.shrink_to_fit();
        tree.leaves.shrink_to_fit();
        tree.leaf_sizes.shrink_to_fit();
        tree
    }
}

/// Serde for leaf statistics as one flat sequence of `K`-value records (serde's array impls
/// do not cover a generic `K`).
mod flat_leaves {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const K: usize>(leaves: &[[f64; K]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(leaves.iter().flatten())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const K: usize>(d: D) -> Result<Vec<[f64; K]>, D::Error> {
        let flat = Vec::<f64>::deserialize(d)?;
        if flat.len() % K != 0 {
            return Err(D::Error::custom(format!("{} leaf values are not records of {K}", flat.len())));
        }
        Ok(flat.chunks_exact(K).map(|c| c.try_into().expect("chunks of K")).collect())
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
        let grown =
            vec![Node::split(0, 1, false, 1), Node::leaf(1), Node::split(0, 2, false, 3), Node::leaf(3), Node::leaf(4)];
        // Estimation units: 0 (left leaf) and 3 (bin 3 leaf); the bin-2 leaf is empty.
        let stat = |u: usize| [1.0, x[u]];
        let pruned = Tree::<2>::populate(&grown, &features, &[0, 3], stat, true);
        assert_eq!(pruned.num_leaves(), 2);
        assert_eq!(pruned.values(features.row(2)).unwrap()[1], 3.0, "the empty leaf's units go to its sibling");
        assert_eq!(pruned.values(features.row(1)).unwrap()[1], 0.0);
        let kept = Tree::<2>::populate(&grown, &features, &[0, 3], stat, false);
        assert!(kept.values(features.row(2)).is_none());
    }

    #[test]
    fn missing_values_follow_the_node_bit_and_present_values_the_threshold() {
        let x = [0.0, 1.0, 2.0, f64::NAN];
        let features = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        let stat = |u: usize| [(u * u) as f64];
        for missing_left in [false, true] {
            let grown = vec![Node::split(0, 0, missing_left, 1), Node::leaf(1), Node::leaf(2)];
            let tree = Tree::<1>::populate(&grown, &features, &[0, 1, 2, 3], stat, false);
            // Left holds x = 0 (and the missing row 3 with the bit set), right x = 1, 2.
            let (left, right) = if missing_left { (4.5, 2.5) } else { (0.0, 14.0 / 3.0) };
            assert_eq!(tree.values(features.row(0)).unwrap()[0], left);
            assert_eq!(tree.values(features.row(2)).unwrap()[0], right);
            assert_eq!(tree.values(features.row(3)).unwrap()[0], if missing_left { left } else { right });
        }
        let is_missing = vec![Node::split(0, MISSING_SPLIT_BIN, false, 1), Node::leaf(1), Node::leaf(2)];
        let tree = Tree::<1>::populate(&is_missing, &features, &[0, 1, 2, 3], stat, false);
        assert_eq!(tree.values(features.row(3)).unwrap()[0], 9.0);
        let new_row = features.binning().bin_rows(&[&[1e9]]).unwrap();
        assert_eq!(tree.values(&new_row).unwrap()[0], 5.0 / 3.0, "values beyond the training range are present values");
    }
}
