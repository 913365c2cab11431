//! Isotonic (monotone non-decreasing) least-squares regression by pool-adjacent-violators
//! (Ayer et al. 1955; Barlow et al. 1972): the building block of causal isotonic calibration
//! (van der Laan, Ulloa-Pérez, Carone & Luedtke 2023), which regresses doubly robust
//! pseudo-outcomes on a CATE predictor's values under a monotonicity constraint.

use crate::Result;
use cateye_stats::InputError;
use serde::{Deserialize, Serialize};

/// A fitted non-decreasing step function: `values[k]` on `[lower[k], lower[k + 1])`, the first
/// value below `lower[0]` and the last one above the last block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsotonicFit {
    /// Smallest `x` of each block, ascending.
    pub lower: Vec<f64>,
    /// Fitted value of each block, non-decreasing.
    pub values: Vec<f64>,
}

impl IsotonicFit {
    /// The fitted value at `x` (constant within and between blocks: the value of the last block
    /// starting at or below `x`, the first block's below the data).
    pub fn predict(&self, x: f64) -> f64 {
        let k = self.lower.partition_point(|&l| l <= x);
        self.values[k.saturating_sub(1)]
    }
}

/// Weighted isotonic regression of `y` on `x` (`weights` default 1): the non-decreasing function
/// of `x` minimising `Σ w_i (y_i − f(x_i))²`. Equal `x` values share one fitted value. `O(n log n)`
/// for the sort, `O(n)` for the pooling.
pub fn isotonic_regression(x: &[f64], y: &[f64], weights: Option<&[f64]>) -> Result<IsotonicFit> {
    let n = x.len();
    if n == 0 || y.len() != n || weights.is_some_and(|w| w.len() != n) {
        return Err(InputError::Data(format!(
            "isotonic regression needs equally many x, y (and weights), at least one: got {n}, {}{}",
            y.len(),
            weights.map_or(String::new(), |w| format!(", {}", w.len()))
        )));
    }
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    if let Some(i) = (0..n).find(|&i| !(x[i].is_finite() && y[i].is_finite() && weight(i) > 0.0)) {
        return Err(InputError::Data(format!(
            "isotonic regression: row {} (1-based) has x = {}, y = {}, weight = {}; expected finite values and a positive weight",
            i + 1,
            x[i],
            y[i],
            weight(i)
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    // Points with equal x are averaged first (they must share one value, and pooling them one
    // at a time could merge blocks their average would not).
    let mut groups: Vec<(f64, f64, f64)> = Vec::with_capacity(n);
    for &i in &order {
        let (xi, wi, yi) = (x[i], weight(i), y[i]);
        match groups.last_mut() {
            Some(last) if last.0 == xi => {
                let w = last.1 + wi;
                last.2 += (yi - last.2) * wi / w;
                last.1 = w;
            }
            _ => groups.push((xi, wi, yi)),
        }
    }
    // Blocks as (smallest x, total weight, weighted mean), pooled while out of order.
    let mut blocks: Vec<(f64, f64, f64)> = Vec::with_capacity(groups.len());
    for group in groups {
        blocks.push(group);
        while blocks.len() >= 2 && blocks[blocks.len() - 2].2 > blocks[blocks.len() - 1].2 {
            let (_, w2, m2) = blocks.pop().expect("two blocks");
            let last = blocks.last_mut().expect("one block");
            let w = last.1 + w2;
            last.2 += (m2 - last.2) * w2 / w;
            last.1 = w;
        }
    }
    Ok(IsotonicFit { lower: blocks.iter().map(|b| b.0).collect(), values: blocks.iter().map(|b| b.2).collect() })
}

/// Merges blocks of `fit` (fitted on points with total weight per block `block_weights`)
/// until every block holds at least `min_weight`: each light block joins the neighbour with the
/// closer value, the merged value is the weighted mean, so the function stays non-decreasing.
/// This bounds the variance of every step — the end blocks of plain isotonic regression are
/// often a few points and swing to the extremes of noisy pseudo-outcomes (the "spiking" of
/// isotonic regression at the boundary; van der Laan et al. 2023 fit their calibrator with a
/// minimum leaf weight for the same reason).
pub fn merge_small_blocks(fit: &IsotonicFit, block_weights: &[f64], min_weight: f64) -> IsotonicFit {
    let mut blocks: Vec<(f64, f64, f64)> =
        fit.lower.iter().zip(&fit.values).zip(block_weights).map(|((&l, &v), &w)| (l, w, v)).collect();
    while blocks.len() > 1 {
        let Some(k) = (0..blocks.len())
            .filter(|&k| blocks[k].1 < min_weight)
            .min_by(|&a, &b| blocks[a].1.total_cmp(&blocks[b].1).then(a.cmp(&b)))
        else {
            break;
        };
        // The neighbour with the closer value (the left one at the last block or on ties).
        let with = if k == 0 {
            1
        } else if k + 1 == blocks.len() || blocks[k].2 - blocks[k - 1].2 <= blocks[k + 1].2 - blocks[k].2 {
            k - 1
        } else {
            k + 1
        };
        let (first, second) = (k.min(with), k.max(with));
        let (l, w1, v1) = blocks[first];
        let (_, w2, v2) = blocks.remove(second);
        blocks[first] = (l, w1 + w2, (w1 * v1 + w2 * v2) / (w1 + w2));
    }
    IsotonicFit { lower: blocks.iter().map(|b| b.0).collect(), values: blocks.iter().map(|b| b.2).collect() }
}

/// Causal isotonic calibration of a CATE predictor (van der Laan, Ulloa-Pérez, Carone &
/// Luedtke 2023, Algorithm 1): the isotonic regression of doubly robust pseudo-outcomes
/// `scores` (computed with nuisances fitted away from these units) on the predictor's values
/// `predictions`. The calibrated predictor is `fit.predict(τ̂(x))`: monotone in `τ̂`, and its
/// average over every level set equals the average doubly robust score there.
///
/// Blocks are merged until each holds at least `min_block` units (see [`merge_small_blocks`]);
/// 1 gives the plain isotonic fit.
pub fn causal_isotonic_calibration(predictions: &[f64], scores: &[f64], min_block: usize) -> Result<IsotonicFit> {
    let fit = isotonic_regression(predictions, scores, None)?;
    if min_block <= 1 {
        return Ok(fit);
    }
    // Unit weights: a block's weight is the number of predictions in its range.
    let mut sorted = predictions.to_vec();
    sorted.sort_by(f64::total_cmp);
    let bounds: Vec<usize> =
        fit.lower.iter().map(|&l| sorted.partition_point(|&x| x < l)).chain([sorted.len()]).collect();
    let weights: Vec<f64> = bounds.windows(2).map(|b| (b[1] - b[0]) as f64).collect();
    Ok(merge_small_blocks(&fit, &weights, min_block as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cateye_stats::stream;
    use rand::RngExt;

    /// The min–max formula of isotonic regression at the i-th distinct x (ascending):
    /// `max_{j ≤ i} min_{k ≥ i}` of the weighted mean of the points with x between the j-th
    /// and k-th distinct values (Barlow et al. 1972, Theorem 1.4), in O(m³).
    fn brute_force(x: &[f64], y: &[f64], w: &[f64]) -> Vec<(f64, f64)> {
        let mut distinct: Vec<f64> = x.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let m = distinct.len();
        let mean = |j: usize, k: usize| {
            let (mut sw, mut swy) = (0.0, 0.0);
            for i in 0..x.len() {
                if x[i] >= distinct[j] && x[i] <= distinct[k] {
                    sw += w[i];
                    swy += w[i] * y[i];
                }
            }
            swy / sw
        };
        (0..m)
            .map(|i| {
                let value = (0..=i)
                    .map(|j| (i..m).map(|k| mean(j, k)).fold(f64::INFINITY, f64::min))
                    .fold(f64::NEG_INFINITY, f64::max);
                (distinct[i], value)
            })
            .collect()
    }

    #[test]
    fn pool_adjacent_violators_matches_the_min_max_formula() {
        for case in 0..200u64 {
            let mut rng = stream(case, 0, 0);
            let n = rng.random_range(1..40usize);
            // Few distinct x in some cases, to exercise ties.
            let levels = if case % 3 == 0 { 5 } else { 1000 };
            let x: Vec<f64> = (0..n).map(|_| rng.random_range(0..levels) as f64 / 7.0).collect();
            let y: Vec<f64> = x.iter().map(|&v| 0.3 * v + rng.random::<f64>() * 2.0 - 1.0).collect();
            let w: Vec<f64> = (0..n).map(|_| if case % 2 == 0 { 1.0 } else { 0.1 + rng.random::<f64>() }).collect();
            let fit = isotonic_regression(&x, &y, Some(&w)).unwrap();
            assert!(fit.values.windows(2).all(|v| v[0] <= v[1]), "non-decreasing");
            for (xv, expected) in brute_force(&x, &y, &w) {
                let got = fit.predict(xv);
                assert!(
                    (got - expected).abs() < 1e-9 * expected.abs().max(1.0),
                    "case {case}: f({xv}) = {got}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn merging_small_blocks_keeps_the_fit_monotone_and_every_block_heavy() {
        for case in 0..100u64 {
            let mut rng = stream(case, 1, 0);
            let n = rng.random_range(2..300usize);
            let x: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
            let y: Vec<f64> = x.iter().map(|&v| v + 3.0 * (rng.random::<f64>() - 0.5)).collect();
            let min_block = rng.random_range(1..40usize);
            let fit = causal_isotonic_calibration(&x, &y, min_block).unwrap();
            assert!(fit.values.windows(2).all(|v| v[0] <= v[1]), "case {case}: non-decreasing");
            // Every block holds at least min_block points (unless one block holds them all), and
            // the weighted mean of the fitted values equals the mean of y (merging keeps sums).
            let mut sorted = x.clone();
            sorted.sort_by(f64::total_cmp);
            let starts: Vec<usize> = fit.lower.iter().map(|&l| sorted.partition_point(|&v| v < l)).chain([n]).collect();
            if fit.lower.len() > 1 {
                assert!(starts.windows(2).all(|s| s[1] - s[0] >= min_block), "case {case}: {starts:?} < {min_block}");
            }
            let fitted: Vec<f64> = x.iter().map(|&v| fit.predict(v)).collect();
            let (mean_fit, mean_y) = (fitted.iter().sum::<f64>() / n as f64, y.iter().sum::<f64>() / n as f64);
            assert!((mean_fit - mean_y).abs() < 1e-9, "case {case}");
        }
    }

    #[test]
    fn monotone_data_is_left_alone_and_bad_input_is_refused() {
        let fit = isotonic_regression(&[3.0, 1.0, 2.0], &[30.0, 10.0, 20.0], None).unwrap();
        assert_eq!(fit.values, vec![10.0, 20.0, 30.0]);
        assert_eq!((fit.predict(0.0), fit.predict(2.5), fit.predict(9.0)), (10.0, 20.0, 30.0));
        let fit = isotonic_regression(&[1.0, 2.0], &[5.0, 1.0], None).unwrap();
        assert_eq!(fit.values, vec![3.0]);
        assert!(isotonic_regression(&[1.0, f64::NAN], &[1.0, 2.0], None)
            .unwrap_err()
            .to_string()
            .contains("row 2 (1-based)"));
        assert!(isotonic_regression(&[1.0], &[1.0, 2.0], None).is_err());
        assert!(isotonic_regression(&[1.0, 2.0], &[1.0, 2.0], Some(&[1.0, 0.0])).is_err());
    }
}
