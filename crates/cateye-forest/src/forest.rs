//! Growing a forest of honest trees in parallel, and the out-of-bag bookkeeping shared by the
//! regression and causal forests. Every little bag draws from its own random stream (seed,
//! purpose, bag index), so a fit is bit-identical whatever the number of threads.

use crate::data::ForestData;
use crate::grow::{grow, SplitRule, Targets, Workspace};
use crate::options::ForestOptions;
use crate::sampling::{little_bag, stream, BitSet};
use crate::tree::Tree;
use rayon::prelude::*;

/// Trees with their in-bag clusters, grouped in little bags of `group_size` consecutive trees.
#[derive(Clone, Debug)]
pub struct Trees<const K: usize> {
    pub(crate) trees: Vec<Tree<K>>,
    pub(crate) in_bag: Vec<BitSet>,
    pub(crate) group_size: usize,
}

/// Grows `options.trees_grown()` trees. `stat(unit)` gives the K leaf statistics of a unit.
pub(crate) fn grow_trees<const K: usize>(
    data: &ForestData,
    targets: Targets,
    rule: SplitRule,
    options: &ForestOptions,
    purpose: u64,
    stat: impl Fn(usize) -> [f64; K] + Sync,
) -> Trees<K> {
    let group_size = options.ci_group_size;
    let groups = options.trees_grown() / group_size;
    let honesty = options.honesty.then_some(options.honesty_fraction);
    let bags: Vec<Vec<(Tree<K>, BitSet)>> = (0..groups)
        .into_par_iter()
        .map_init(Workspace::default, |ws, g| {
            let mut rng = stream(options.seed, purpose, g as u64);
            little_bag(&mut rng, &data.clusters, group_size, options.sample_fraction, honesty)
                .into_iter()
                .map(|mut sample| {
                    let (nodes, leaves) = grow(&rule, &data.features, targets, &mut sample.growing, &mut rng, ws);
                    let tree = Tree::populate(
                        &nodes,
                        leaves,
                        &data.features,
                        &sample.estimation,
                        &stat,
                        options.honesty && options.honesty_prune_leaves,
                    );
                    (tree, sample.in_bag)
                })
                .collect()
        })
        .collect();
    let (trees, in_bag) = bags.into_iter().flatten().unzip();
    Trees { trees, in_bag, group_size }
}

impl<const K: usize> Trees<K> {
    pub fn len(&self) -> usize {
        self.trees.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    /// Leaf statistics of each tree for a row (`None` for trees that hold the row's cluster in
    /// bag when `oob_cluster` is given, and for empty leaves), in tree order.
    pub(crate) fn leaf_values<'a>(
        &'a self,
        row: &'a [u16],
        oob_cluster: Option<usize>,
    ) -> impl Iterator<Item = Option<&'a [f64; K]>> + 'a {
        self.trees.iter().zip(&self.in_bag).map(move |(tree, in_bag)| match oob_cluster {
            Some(c) if in_bag.contains(c) => None,
            _ => tree.values(row),
        })
    }

    /// Split counts by depth (root = depth 0) and covariate, over all trees.
    pub fn split_frequencies(&self, max_depth: usize, num_features: usize) -> Vec<Vec<u64>> {
        let mut counts = vec![vec![0u64; num_features]; max_depth];
        for tree in &self.trees {
            tree.count_splits(&mut counts);
        }
        counts
    }

    /// Total number of leaves (a measure of the forest's size).
    pub fn num_leaves(&self) -> usize {
        self.trees.iter().map(|t| t.num_leaves()).sum()
    }
}
