//! Seeded K-fold assignment for cross-fitting (Chernozhukov et al. 2018), optionally stratified
//! by a label (the treatment arm) so that every fold holds every stratum in proportion. The one
//! fold assignment of cateye: the CATE learners' cross-fitting and the deep dive's cross-fitted
//! outcome model both use it.

use crate::rng::stream;
use rand::seq::SliceRandom;

/// Errors of the fold assignment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FoldsError {
    /// Fewer than two folds were asked for.
    #[error("cross-fitting needs at least 2 folds, got {0}")]
    TooFewFolds(usize),
    /// Fewer clusters than folds: some fold would be empty.
    #[error("cross-fitting in {folds} folds keeps clusters whole and needs at least {folds} clusters, got {clusters}")]
    TooFewClusters {
        /// Clusters in the data.
        clusters: usize,
        /// Folds asked for.
        folds: usize,
    },
}

/// The fold of every row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folds {
    fold: Vec<u32>,
    k: usize,
}

impl Folds {
    /// Rows are grouped by `strata` value, shuffled (the stream `(seed, purpose, 0)`) and dealt
    /// to the `k` folds in turn.
    pub fn stratified(strata: &[f64], k: usize, seed: u64, purpose: u64) -> Result<Self, FoldsError> {
        if k < 2 {
            return Err(FoldsError::TooFewFolds(k));
        }
        let mut order: Vec<usize> = (0..strata.len()).collect();
        order.shuffle(&mut stream(seed, purpose, 0));
        // Stable sort by stratum keeps the shuffled order within each stratum.
        order.sort_by(|&a, &b| strata[a].total_cmp(&strata[b]));
        let mut fold = vec![0u32; strata.len()];
        for (position, &i) in order.iter().enumerate() {
            fold[i] = (position % k) as u32;
        }
        Ok(Folds { fold, k })
    }

    /// Whole clusters dealt to folds: the clusters (`clusters[i]`, codes from 0) are grouped by
    /// the stratum of their first row, shuffled and dealt to the `k` folds in turn as in
    /// [`Self::stratified`], and every row lands in its cluster's fold, so that no model is fitted
    /// on part of a cluster and evaluated on the rest (Chernozhukov et al. 2018, §4 on dependent
    /// data; under cluster randomization a cluster's rows share the arm).
    pub fn clustered(strata: &[f64], clusters: &[u32], k: usize, seed: u64, purpose: u64) -> Result<Self, FoldsError> {
        if k < 2 {
            return Err(FoldsError::TooFewFolds(k));
        }
        let count = clusters.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        let mut index = vec![u32::MAX; count];
        let mut keys = Vec::new();
        for (&c, &stratum) in clusters.iter().zip(strata) {
            if index[c as usize] == u32::MAX {
                index[c as usize] = keys.len() as u32;
                keys.push(stratum);
            }
        }
        if keys.len() < k {
            return Err(FoldsError::TooFewClusters { clusters: keys.len(), folds: k });
        }
        let by_cluster = Self::stratified(&keys, k, seed, purpose)?;
        let fold = clusters.iter().map(|&c| by_cluster.fold[index[c as usize] as usize]).collect();
        Ok(Folds { fold, k })
    }

    /// `n` rows shuffled and dealt to `k` folds in turn (one stratum).
    pub fn random(n: usize, k: usize, seed: u64, purpose: u64) -> Result<Self, FoldsError> {
        Self::stratified(&vec![0.0; n], k, seed, purpose)
    }

    /// Number of folds.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.fold.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.fold.is_empty()
    }

    /// The fold of row `i`.
    pub fn fold_of(&self, i: usize) -> usize {
        self.fold[i] as usize
    }

    /// Rows of fold `k`, ascending.
    pub fn held_out(&self, k: usize) -> Vec<usize> {
        (0..self.fold.len()).filter(|&i| self.fold[i] as usize == k).collect()
    }

    /// Rows outside folds `a` and `b` that `keep` accepts.
    pub fn training_without(&self, a: usize, b: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        (0..self.fold.len()).filter(|&i| self.fold[i] as usize != a && self.fold[i] as usize != b && keep(i)).collect()
    }

    /// Rows of folds `a` or `b`.
    pub fn held_out_pair(&self, a: usize, b: usize) -> Vec<usize> {
        (0..self.fold.len()).filter(|&i| self.fold[i] as usize == a || self.fold[i] as usize == b).collect()
    }

    /// Rows outside fold `k` that `keep` accepts.
    pub fn training(&self, k: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        (0..self.fold.len()).filter(|&i| self.fold[i] as usize != k && keep(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PURPOSE: u64 = 0xF01D;

    #[test]
    fn folds_are_balanced_within_each_stratum_and_seeded() {
        let strata: Vec<f64> = (0..1003).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let folds = Folds::stratified(&strata, 5, 7, PURPOSE).unwrap();
        for k in 0..5 {
            let rows = folds.held_out(k);
            let treated = rows.iter().filter(|&&i| strata[i] == 1.0).count();
            assert!((66..=68).contains(&treated), "fold {k}: {treated} treated");
            assert!((199..=202).contains(&rows.len()));
        }
        let again = Folds::stratified(&strata, 5, 7, PURPOSE).unwrap();
        assert_eq!(folds.fold, again.fold);
        assert_ne!(folds.fold, Folds::stratified(&strata, 5, 8, PURPOSE).unwrap().fold);
        assert!(Folds::stratified(&strata, 1, 7, PURPOSE).is_err());
    }

    #[test]
    fn clustered_folds_keep_clusters_whole_and_balance_strata() {
        // 60 clusters of 1 to 5 rows, half of them treated as wholes.
        let clusters: Vec<u32> = (0..60u32).flat_map(|c| std::iter::repeat_n(c, 1 + c as usize % 5)).collect();
        let strata: Vec<f64> = clusters.iter().map(|&c| (c % 2) as f64).collect();
        let folds = Folds::clustered(&strata, &clusters, 5, 3, PURPOSE).unwrap();
        for (i, &c) in clusters.iter().enumerate() {
            let first = clusters.iter().position(|&d| d == c).unwrap();
            assert_eq!(folds.fold_of(i), folds.fold_of(first), "cluster {c} split");
        }
        for k in 0..5 {
            let treated: std::collections::BTreeSet<u32> =
                folds.held_out(k).iter().map(|&i| clusters[i]).filter(|c| c % 2 == 1).collect();
            assert_eq!(treated.len(), 6, "fold {k}: 6 of the 30 treated clusters");
        }
        assert_eq!(
            Folds::clustered(&strata[..3], &clusters[..3], 5, 3, PURPOSE),
            Err(FoldsError::TooFewClusters { clusters: 2, folds: 5 })
        );
    }

    #[test]
    fn random_folds_are_the_shuffle_dealt_in_turn() {
        let folds = Folds::random(103, 4, 3, 9).unwrap();
        let mut order: Vec<usize> = (0..103).collect();
        order.shuffle(&mut stream(3, 9, 0));
        for (rank, &i) in order.iter().enumerate() {
            assert_eq!(folds.fold_of(i), rank % 4);
        }
    }
}
