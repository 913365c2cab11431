//! Causal isotonic calibration of any CATE predictor (van der Laan, Ulloa-Pérez, Carone &
//! Luedtke 2023): the isotonic regression of doubly robust pseudo-outcomes on the predictor's
//! values. Two uses:
//!
//! - **cross-calibration** (their Algorithm 2): one calibration map fitted on the pooled
//!   out-of-fold predictions and the (cross-fitted) pseudo-outcomes of all rows, applied to each
//!   row's out-of-fold prediction. No hold-out set is spent.
//! - **fold-held-out calibration**, for model selection: the map applied to fold k is fitted on
//!   the other folds only, so a held-out loss of the calibrated predictor does not reward the
//!   calibration for fitting the very pseudo-outcomes it is scored on.

use crate::error::Result;
use cateye_hte::{causal_isotonic_calibration, IsotonicFit};
use cateye_stats::Folds;

/// The smallest calibration block for `n` calibration units: `max(20, √n)`. Plain isotonic
/// regression of noisy doubly robust scores ends in blocks of a few units that swing to the
/// extremes; a block of √n units has a standard error of `σ_Γ / n^{1/4}`, and the number of
/// blocks stays below √n, far above the `n^{1/3}` steps an isotonic fit needs.
pub fn default_min_block(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).max(20)
}

/// Cross-calibration: fits the map on `rows` (pooled out-of-fold `predictions`, pseudo-outcomes
/// `scores`) and returns it with the calibrated value of every row.
pub fn cross_calibrate(predictions: &[f64], scores: &[f64], rows: &[usize]) -> Result<(IsotonicFit, Vec<f64>)> {
    let x: Vec<f64> = rows.iter().map(|&i| predictions[i]).collect();
    let y: Vec<f64> = rows.iter().map(|&i| scores[i]).collect();
    let map = causal_isotonic_calibration(&x, &y, default_min_block(x.len()))?;
    let calibrated = predictions.iter().map(|&p| map.predict(p)).collect();
    Ok((map, calibrated))
}

/// Calibrated values where each fold's map is fitted on the `rows` outside that fold.
pub fn fold_held_out_calibration(
    predictions: &[f64],
    scores: &[f64],
    rows: &[usize],
    folds: &Folds,
) -> Result<Vec<f64>> {
    let mut out = vec![f64::NAN; predictions.len()];
    for k in 0..folds.k() {
        let training: Vec<usize> = rows.iter().copied().filter(|&i| folds.fold_of(i) != k).collect();
        let x: Vec<f64> = training.iter().map(|&i| predictions[i]).collect();
        let y: Vec<f64> = training.iter().map(|&i| scores[i]).collect();
        let map = causal_isotonic_calibration(&x, &y, default_min_block(x.len()))?;
        for i in (0..predictions.len()).filter(|&i| folds.fold_of(i) == k) {
            out[i] = map.predict(predictions[i]);
        }
    }
    Ok(out)
}
