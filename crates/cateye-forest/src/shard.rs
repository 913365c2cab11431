//! A forest grown in shards: its little bags split over several machines (Spark executors), each
//! returning per-row sums that add up to the single-machine forest's predictions.
//!
//! Every little bag draws from its own random stream (seed, purpose, bag index), so shard k of m
//! grows exactly the bags `[k·G/m, (k+1)·G/m)` of the whole forest's G bags. What a prediction
//! adds over trees (the leaf statistics of the trees that predict a row; the little-bag terms of
//! the variance) is kept as [`Compensated`] sums, which the single-machine forest uses too: sums
//! over the shards, merged in any order, round to the same doubles as the sum over all trees, so
//! the distributed forest's estimates are those of the single machine.
//!
//! The protocol (driven by `cateye.spark.causal_forest`):
//! 1. each shard grows its bags of the two nuisance forests and returns their out-of-bag
//!    [`RegressionPartial`]s; the driver merges them into `ŷ` and `ŵ` ([`finish_regression`]);
//! 2. each shard grows its bags of the causal forest on the centered outcome and treatment and
//!    returns [`PointPartial`]s; the driver merges them and solves each row's point
//!    ([`solve_points`]: τ̂ and the intercept);
//! 3. each shard grows the same bags again (deterministic) and returns the [`VariancePartial`]s of
//!    its little bags at those points (a bag is whole on one shard, so the bootstrap of little
//!    bags is unchanged); the driver merges them into the variances ([`finish_causal`]).

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Shard `index` of `count`: which little bags of a forest it grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Position from 0.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole forest, on one machine.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The bags of this shard among `bags` bags: an even split, in order.
    pub fn bags(&self, bags: usize) -> Range<usize> {
        bags * self.index / self.count..bags * (self.index + 1) / self.count
    }

    /// An error unless `index < count`.
    pub fn check(&self) -> crate::Result<()> {
        if self.count == 0 || self.index >= self.count {
            return Err(crate::error::option_error(
                "shard",
                format!("{} of {}: expected an index from 0 below the number of shards", self.index, self.count),
            ));
        }
        Ok(())
    }
}

/// A sum kept as an unevaluated pair `hi + lo` (double-double): each addition's rounding error
/// is carried in `lo` by Knuth's TwoSum, as in Ogita, Rump & Oishi (2005), "Accurate sum and dot
/// product", SIAM J. Sci. Comput. 26(6), algorithm 4.4 (Sum2). The result is as accurate as if
/// computed in twice the working precision, so sums of the same terms in another order or
/// grouping (shards merged on a driver) round to the same double.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Compensated {
    /// The running sum, rounded.
    pub hi: f64,
    /// The accumulated rounding errors.
    pub lo: f64,
}

impl Compensated {
    /// Adds `x`.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        let s = self.hi + x;
        let v = s - self.hi;
        self.lo += (self.hi - (s - v)) + (x - v);
        self.hi = s;
    }

    /// Adds another compensated sum.
    #[inline]
    pub fn merge(&mut self, other: &Compensated) {
        self.add(other.hi);
        self.lo += other.lo;
    }

    /// The sum, rounded to a double.
    #[inline]
    pub fn value(&self) -> f64 {
        self.hi + self.lo
    }
}

/// Per row, over the trees that predict it: the sums of the leaves' `[Σω, Σωy]` (a regression
/// forest's prediction is their ratio).
pub type RegressionPartial = [Compensated; 2];

/// Adds `b` into `a`, row by row.
pub fn merge_regression(a: &mut [RegressionPartial], b: &[RegressionPartial]) {
    for (x, y) in a.iter_mut().zip(b) {
        x[0].merge(&y[0]);
        x[1].merge(&y[1]);
    }
}

/// The prediction of one row from its merged partial: `Σωy / Σω`, NaN when no tree predicts it.
pub fn finish_regression(p: &RegressionPartial) -> f64 {
    let weight = p[0].value();
    if weight > 0.0 {
        p[1].value() / weight
    } else {
        f64::NAN
    }
}

/// Per row, over the trees of a causal forest that predict it: the sums of their leaves'
/// statistics `[ω, ωy, ωz, ωzy, ωz²]` and the number of trees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointPartial {
    /// Sums of the leaf averages.
    pub sums: [Compensated; 5],
    /// Trees that predict the row.
    pub used: u32,
}

impl PointPartial {
    /// Adds another shard's partial of the same row.
    pub fn merge(&mut self, other: &PointPartial) {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            a.merge(b);
        }
        self.used += other.used;
    }
}

/// Per row, over the complete little bags of a causal forest (every tree of the bag predicts
/// the row): their number, `Σ_bags Σ_trees ψ²` and `Σ_bags ψ̄²` (ψ̄ the bag's mean ψ).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VariancePartial {
    /// Complete bags.
    pub good: u32,
    /// Sum of the trees' squared ψ.
    pub psi_squared: Compensated,
    /// Sum of the bags' squared mean ψ.
    pub bag_psi_squared: Compensated,
}

impl VariancePartial {
    /// Adds another shard's partial of the same row.
    pub fn merge(&mut self, other: &VariancePartial) {
        self.good += other.good;
        self.psi_squared.merge(&other.psi_squared);
        self.bag_psi_squared.merge(&other.bag_psi_squared);
    }
}

pub use crate::causal::{finish_causal, solve_points, RowPoint};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sums_do_not_depend_on_order_or_grouping() {
        // Terms of wildly different sizes, whose plain sum depends on the order.
        let terms: Vec<f64> =
            (0..10_000).map(|i| ((i * 7919 % 1000) as f64 - 500.0) * 10f64.powi(i % 17 - 8)).collect();
        let plain: f64 = terms.iter().sum();
        let plain_backwards: f64 = terms.iter().rev().sum();
        assert_ne!(plain, plain_backwards, "the test needs terms whose plain sum depends on the order");
        let sum = |xs: &[f64]| {
            let mut c = Compensated::default();
            xs.iter().for_each(|&x| c.add(x));
            c
        };
        let whole = sum(&terms).value();
        let reversed: Vec<f64> = terms.iter().rev().copied().collect();
        assert_eq!(sum(&reversed).value(), whole);
        for shards in [2, 3, 7, 64] {
            let mut merged = Compensated::default();
            for k in (0..shards).rev() {
                let part = Shard { index: k, count: shards }.bags(terms.len());
                merged.merge(&sum(&terms[part]));
            }
            assert_eq!(merged.value(), whole, "{shards} shards");
        }
    }

    #[test]
    fn shards_split_the_bags_evenly_and_in_order() {
        let ranges: Vec<_> = (0..3).map(|k| Shard { index: k, count: 3 }.bags(1000)).collect();
        assert_eq!(ranges, vec![0..333, 333..666, 666..1000]);
        assert_eq!(Shard::WHOLE.bags(17), 0..17);
        assert!(Shard { index: 3, count: 3 }.check().is_err());
        assert!(Shard { index: 0, count: 0 }.check().is_err());
    }
}
