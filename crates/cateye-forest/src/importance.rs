//! Split-frequency variable importance (grf's `variable_importance`): the share of splits on
//! each covariate at each depth 1..max_depth, averaged with weights depth^(−decay).

use crate::forest::Trees;

/// Importance per covariate (sums to 1 when the forest splits at all); grf uses decay 2, depth 4.
pub fn variable_importance<const K: usize>(
    trees: &Trees<K>,
    num_features: usize,
    decay_exponent: f64,
    max_depth: usize,
) -> Vec<f64> {
    let counts = trees.split_frequencies(max_depth, num_features);
    let depth_weight: Vec<f64> = (1..=max_depth).map(|d| (d as f64).powf(-decay_exponent)).collect();
    let total_weight: f64 = depth_weight.iter().sum();
    (0..num_features)
        .map(|f| {
            counts
                .iter()
                .zip(&depth_weight)
                .map(|(row, w)| row[f] as f64 / row.iter().sum::<u64>().max(1) as f64 * w)
                .sum::<f64>()
                / total_weight
        })
        .collect()
}
