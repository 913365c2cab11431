//! Subsampling of units or clusters for each tree: half-samples for the little bags, the tree's
//! subsample within it, and the honest split into a growing and an estimation part
//! (Athey, Tibshirani & Wager 2019, Algorithm 1; Sexton & Laake 2009 for little bags).

use crate::error::{column_error, Result};
pub use cateye_stats::stream;
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Units grouped into sampling clusters (every unit its own cluster when there are none).
#[derive(Clone, Debug)]
pub struct Clusters {
    of_unit: Vec<u32>,
    offsets: Vec<usize>,
    members: Vec<u32>,
}

impl Clusters {
    /// Each of `n` units is its own cluster.
    pub fn units(n: usize) -> Self {
        Clusters { of_unit: (0..n as u32).collect(), offsets: (0..=n).collect(), members: (0..n as u32).collect() }
    }

    /// Clusters from one id per unit; ids are numbered in order of first appearance.
    pub fn from_ids(ids: &[u64], column: &str) -> Result<Self> {
        if ids.len() >= u32::MAX as usize {
            return Err(column_error(column, "more than 4 billion rows"));
        }
        let mut index: HashMap<u64, u32> = HashMap::new();
        let of_unit: Vec<u32> = ids
            .iter()
            .map(|id| {
                let next = index.len() as u32;
                *index.entry(*id).or_insert(next)
            })
            .collect();
        let g = index.len();
        let mut offsets = vec![0usize; g + 1];
        for &c in &of_unit {
            offsets[c as usize + 1] += 1;
        }
        for k in 0..g {
            offsets[k + 1] += offsets[k];
        }
        let mut fill = offsets.clone();
        let mut members = vec![0u32; ids.len()];
        for (i, &c) in of_unit.iter().enumerate() {
            members[fill[c as usize]] = i as u32;
            fill[c as usize] += 1;
        }
        Ok(Clusters { of_unit, offsets, members })
    }

    /// Number of clusters.
    pub fn num_clusters(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of units.
    pub fn num_units(&self) -> usize {
        self.of_unit.len()
    }

    /// Index of the cluster of `unit` (clusters are numbered by first appearance).
    pub fn cluster_of(&self, unit: usize) -> usize {
        self.of_unit[unit] as usize
    }

    /// The units of `cluster`, in ascending order.
    pub fn members(&self, cluster: usize) -> &[u32] {
        &self.members[self.offsets[cluster]..self.offsets[cluster + 1]]
    }

    /// Whether every unit is its own cluster.
    pub fn is_trivial(&self) -> bool {
        self.num_clusters() == self.num_units()
    }

    /// The units of `clusters`, in ascending order (so that trees read the data front to back).
    fn expand(&self, clusters: &[u32]) -> Vec<u32> {
        let mut marked = BitSet::new(self.num_units());
        let mut count = 0;
        for &c in clusters {
            for &u in self.members(c as usize) {
                marked.insert(u as usize);
                count += 1;
            }
        }
        let mut units = Vec::with_capacity(count);
        for (w, &word) in marked.0.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                units.push((w * 64) as u32 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
        units
    }
}

/// A fixed-size set of cluster indices.
#[derive(Clone, Debug)]
pub struct BitSet(Vec<u64>);

impl BitSet {
    pub fn new(len: usize) -> Self {
        BitSet(vec![0; len.div_ceil(64)])
    }
    pub fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    pub fn contains(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
}

/// The units one tree sees.
pub(crate) struct TreeSample {
    /// Units that choose the splits.
    pub growing: Vec<u32>,
    /// Units that fill the leaves (the same as `growing` without honesty).
    pub estimation: Vec<u32>,
    /// Clusters drawn for this tree (growing and estimation): everything else is out of bag.
    pub in_bag: BitSet,
}

/// The first `ceil(len · fraction)` of a shuffled copy of `pool` (at least one, at most all).
fn draw(rng: &mut ChaCha8Rng, pool: &[u32], fraction: f64) -> (Vec<u32>, Vec<u32>) {
    let mut shuffled = pool.to_vec();
    shuffled.shuffle(rng);
    let k = ((pool.len() as f64 * fraction).ceil() as usize).clamp(1.min(pool.len()), pool.len());
    let rest = shuffled.split_off(k);
    (shuffled, rest)
}

/// Samples for the `group_size` trees of one little bag. With `group_size > 1` the bag first
/// draws half of the clusters, and each tree draws `2 · sample_fraction` of that half;
/// otherwise each tree draws `sample_fraction` of all clusters. Honesty then splits each tree's
/// clusters into `honesty_fraction` for growing and the rest for estimation.
pub(crate) fn little_bag(
    rng: &mut ChaCha8Rng,
    clusters: &Clusters,
    group_size: usize,
    sample_fraction: f64,
    honesty: Option<f64>,
) -> Vec<TreeSample> {
    let all: Vec<u32> = (0..clusters.num_clusters() as u32).collect();
    let (pool, fraction) = if group_size > 1 {
        (draw(rng, &all, 0.5).0, (2.0 * sample_fraction).min(1.0))
    } else {
        (all, sample_fraction)
    };
    (0..group_size)
        .map(|_| {
            let (drawn, _) = draw(rng, &pool, fraction);
            let mut in_bag = BitSet::new(clusters.num_clusters());
            for &c in &drawn {
                in_bag.insert(c as usize);
            }
            let (growing, estimation) = match honesty {
                Some(h) if drawn.len() > 1 => {
                    let (g, e) = draw(rng, &drawn, h);
                    (clusters.expand(&g), clusters.expand(&e))
                }
                _ => {
                    let units = clusters.expand(&drawn);
                    (units.clone(), units)
                }
            };
            TreeSample { growing, estimation, in_bag }
        })
        .collect()
}

/// The distribution of the number of split candidates: Poisson with mean `mtry` (≥ 1).
pub(crate) fn candidate_count(mtry: usize) -> rand_distr::Poisson<f64> {
    rand_distr::Poisson::new(mtry.max(1) as f64).expect("a positive mean")
}

/// Draws max(1, Poisson(mtry)) of `p` variables (at most p) without replacement, as grf does;
/// `count` is `candidate_count(mtry)`.
pub(crate) fn split_candidates(rng: &mut ChaCha8Rng, p: usize, count: &rand_distr::Poisson<f64>, out: &mut Vec<usize>) {
    let draws = if p <= 1 {
        p
    } else {
        let k: f64 = rng.sample(count);
        (k as usize).clamp(1, p)
    };
    out.clear();
    out.extend(0..p);
    for i in 0..draws {
        let j = rng.random_range(i..p);
        out.swap(i, j);
    }
    out.truncate(draws);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_bags_share_a_half_and_honesty_splits_it() {
        let clusters = Clusters::units(1000);
        let mut rng = stream(1, 2, 3);
        let bag = little_bag(&mut rng, &clusters, 2, 0.5, Some(0.5));
        assert_eq!(bag.len(), 2);
        for tree in &bag {
            assert_eq!(tree.growing.len(), 250);
            assert_eq!(tree.estimation.len(), 250);
            let mut all: Vec<u32> = tree.growing.iter().chain(&tree.estimation).copied().collect();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 500);
            assert!(all.iter().all(|&u| tree.in_bag.contains(u as usize)));
        }
        let in_both = (0..1000).filter(|&u| bag[0].in_bag.contains(u) && bag[1].in_bag.contains(u)).count();
        assert_eq!(in_both, 500, "sample_fraction 0.5 with groups of 2: both trees use the whole half");
    }

    #[test]
    fn clusters_are_sampled_whole() {
        let ids: Vec<u64> = (0..300).map(|i| (i % 30) as u64 * 17).collect();
        let clusters = Clusters::from_ids(&ids, "c").unwrap();
        assert_eq!(clusters.num_clusters(), 30);
        let mut rng = stream(5, 0, 0);
        let bag = little_bag(&mut rng, &clusters, 1, 0.5, Some(0.5));
        for &u in &bag[0].growing {
            let c = clusters.cluster_of(u as usize);
            assert!(clusters.members(c).iter().all(|m| bag[0].growing.contains(m)));
            assert!(!bag[0].estimation.iter().any(|m| clusters.cluster_of(*m as usize) == c));
        }
    }

    #[test]
    fn split_candidates_are_distinct_and_poisson_sized() {
        let mut rng = stream(9, 9, 9);
        let mut out = Vec::new();
        let mut total = 0;
        for _ in 0..2000 {
            split_candidates(&mut rng, 30, &candidate_count(4), &mut out);
            let mut s = out.clone();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), out.len());
            total += out.len();
        }
        let mean = total as f64 / 2000.0;
        assert!((mean - 4.0).abs() < 0.2, "mean draws {mean}");
    }
}
