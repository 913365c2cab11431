//! Seeded K-fold assignment for cross-fitting (Chernozhukov et al. 2018), stratified by a label
//! (the treatment arm) so that every fold holds every arm in proportion.

use cateye_forest::sampling::stream;
use cateye_forest::{ForestError, Result};
use rand::seq::SliceRandom;

/// The fold of every row.
#[derive(Clone, Debug)]
pub struct Folds {
    fold: Vec<u32>,
    k: usize,
}

const PURPOSE_FOLDS: u64 = 0xF01D;

impl Folds {
    /// Rows are grouped by `strata` value, shuffled (seeded) and dealt to the `k` folds in turn.
    pub fn stratified(strata: &[f64], k: usize, seed: u64) -> Result<Self> {
        if k < 2 {
            return Err(ForestError::Data(format!("cross-fitting needs at least 2 folds, got {k}")));
        }
        let mut order: Vec<usize> = (0..strata.len()).collect();
        order.shuffle(&mut stream(seed, PURPOSE_FOLDS, 0));
        // Stable sort by stratum keeps the shuffled order within each stratum.
        order.sort_by(|&a, &b| strata[a].total_cmp(&strata[b]));
        let mut fold = vec![0u32; strata.len()];
        for (position, &i) in order.iter().enumerate() {
            fold[i] = (position % k) as u32;
        }
        Ok(Folds { fold, k })
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn fold_of(&self, i: usize) -> usize {
        self.fold[i] as usize
    }

    /// Rows of fold `k`.
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

    #[test]
    fn folds_are_balanced_within_each_stratum_and_seeded() {
        let strata: Vec<f64> = (0..1003).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let folds = Folds::stratified(&strata, 5, 7).unwrap();
        for k in 0..5 {
            let rows = folds.held_out(k);
            let treated = rows.iter().filter(|&&i| strata[i] == 1.0).count();
            assert!((66..=68).contains(&treated), "fold {k}: {treated} treated");
            assert!((199..=202).contains(&rows.len()));
        }
        let again = Folds::stratified(&strata, 5, 7).unwrap();
        assert_eq!(folds.fold, again.fold);
        assert_ne!(folds.fold, Folds::stratified(&strata, 5, 8).unwrap().fold);
        assert!(Folds::stratified(&strata, 1, 7).is_err());
    }
}
