//! Rank-weighted average treatment effects (Yadlowsky, Fleming, Shah, Brunskill & Wager 2021;
//! grf's `rank_average_treatment_effect`). Units are ranked by a priority score (highest first);
//! the targeting operator characteristic `TOC(q)` is the mean doubly robust score of the top q
//! share minus the overall mean. AUTOC is the area under TOC, `Σ_j ω_j TOC(j) / Σω`, and Qini
//! weights it by the share treated, `Σ_j ω_j q_j TOC(j) / Σω`. Ties in the priority share the mean
//! score of their group. Standard errors come from a half-sample bootstrap over units (or
//! clusters): the half-sample statistic without replacement has about the full-sample variance.

use crate::fit::CateFit;
use crate::scores::doubly_robust_scores;
use crate::Result;
use cateye_stats::stream;
use cateye_stats::{check_finite, InputError};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Settings of [`rank_average_treatment_effect`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RateOptions {
    /// Bootstrap replicates (grf: 200).
    pub bootstrap: usize,
    /// Points of the reported TOC curve (q = 1/points, 2/points, ..., 1).
    pub toc_points: usize,
    /// Seed of the half-sample bootstrap; replicate `r` draws from stream `r` of this seed.
    pub seed: u64,
}

impl Default for RateOptions {
    /// 200 bootstrap replicates, 100 TOC points, seed 42.
    fn default() -> Self {
        RateOptions { bootstrap: 200, toc_points: 100, seed: 42 }
    }
}

/// A RATE with its half-sample bootstrap standard error.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateEstimate {
    /// Point estimate on all units, in the outcome's units.
    pub estimate: f64,
    /// Standard deviation of the estimate over the bootstrap half-samples.
    pub se: f64,
}

/// One point of the targeting operator characteristic curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TocPoint {
    /// Share `q` of units treated, highest priority first.
    pub q: f64,
    /// `TOC(q)`: mean doubly robust score of the top `q` share minus the overall mean.
    pub toc: f64,
    /// Half-sample bootstrap standard error of `TOC(q)`.
    pub se: f64,
}

/// Rank-weighted average treatment effects of one priority ranking.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rate {
    /// Area under the TOC curve, `Σ_j ω_j TOC(j) / Σω`.
    pub autoc: RateEstimate,
    /// Qini coefficient, `Σ_j ω_j q_j TOC(j) / Σω`.
    pub qini: RateEstimate,
    /// The TOC curve at `q = 1/points, 2/points, …, 1`.
    pub toc: Vec<TocPoint>,
}

/// AUTOC, Qini and the TOC curve for `priorities` (one per unit), with bootstrap SEs.
pub fn rank_average_treatment_effect(fit: &CateFit<'_>, priorities: &[f64], options: &RateOptions) -> Result<Rate> {
    let n = fit.y.len();
    check_finite("priorities", priorities, n)?;
    if options.bootstrap < 2 || options.toc_points == 0 {
        return Err(InputError::Data("RATE needs at least 2 bootstrap replicates and 1 TOC point".into()));
    }
    let scores = doubly_robust_scores(fit)?.scores;
    let weights: Vec<f64> = fit.weights.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
    // Units sorted by priority, highest first (ties by row, then averaged).
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by(|&a, &b| priorities[b as usize].total_cmp(&priorities[a as usize]).then(a.cmp(&b)));
    let full = statistics(&order, priorities, &scores, &weights, options.toc_points);

    // Half-sample bootstrap over clusters (units without clusters).
    let units_of: Vec<Vec<u32>> = match &fit.clusters {
        Some(cluster) => {
            let g = cluster.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
            let mut members = vec![Vec::new(); g];
            for &i in &order {
                members[cluster[i as usize] as usize].push(i);
            }
            members
        }
        None => Vec::new(),
    };
    let num_clusters = if units_of.is_empty() { n } else { units_of.len() };
    let replicates: Vec<Vec<f64>> = (0..options.bootstrap)
        .into_par_iter()
        .map(|r| {
            let mut rng = stream(options.seed, 0x4a7e, r as u64);
            let mut ids: Vec<u32> = (0..num_clusters as u32).collect();
            ids.shuffle(&mut rng);
            let mut keep = vec![false; n];
            for &c in &ids[..num_clusters / 2] {
                if units_of.is_empty() {
                    keep[c as usize] = true;
                } else {
                    for &i in &units_of[c as usize] {
                        keep[i as usize] = true;
                    }
                }
            }
            let half: Vec<u32> = order.iter().copied().filter(|&i| keep[i as usize]).collect();
            statistics(&half, priorities, &scores, &weights, options.toc_points)
        })
        .collect();
    let sd = |k: usize| {
        let values: Vec<f64> = replicates.iter().map(|r| r[k]).filter(|v| v.is_finite()).collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() as f64 - 1.0)).sqrt()
    };
    let toc = (0..options.toc_points)
        .map(|k| TocPoint { q: (k + 1) as f64 / options.toc_points as f64, toc: full[2 + k], se: sd(2 + k) })
        .collect();
    Ok(Rate {
        autoc: RateEstimate { estimate: full[0], se: sd(0) },
        qini: RateEstimate { estimate: full[1], se: sd(1) },
        toc,
    })
}

/// `[AUTOC, Qini, TOC(q_1), ..., TOC(q_points)]` for units listed in priority order.
fn statistics(order: &[u32], priorities: &[f64], scores: &[f64], weights: &[f64], points: usize) -> Vec<f64> {
    // Tie groups share their weighted mean score.
    let mut sorted_scores = Vec::with_capacity(order.len());
    let mut start = 0;
    while start < order.len() {
        let p = priorities[order[start] as usize];
        let mut end = start;
        let (mut sw, mut s) = (0.0, 0.0);
        while end < order.len() && priorities[order[end] as usize] == p {
            let i = order[end] as usize;
            sw += weights[i];
            s += weights[i] * scores[i];
            end += 1;
        }
        let mean = if sw > 0.0 { s / sw } else { 0.0 };
        sorted_scores.extend(std::iter::repeat_n(mean, end - start));
        start = end;
    }
    let total_weight: f64 = order.iter().map(|&i| weights[i as usize]).sum();
    let ate = order.iter().zip(&sorted_scores).map(|(&i, s)| weights[i as usize] * s).sum::<f64>() / total_weight;
    let mut out = vec![0.0; 2 + points];
    let (mut cum_w, mut cum_s) = (0.0, 0.0);
    let mut next_point = 0;
    for (&i, &s) in order.iter().zip(&sorted_scores) {
        let w = weights[i as usize];
        cum_w += w;
        cum_s += w * s;
        let toc = cum_s / cum_w - ate;
        out[0] += w * toc;
        out[1] += w * (cum_w / total_weight) * toc;
        while next_point < points && cum_w >= (next_point + 1) as f64 / points as f64 * total_weight * (1.0 - 1e-12) {
            out[2 + next_point] = toc;
            next_point += 1;
        }
    }
    out[0] /= total_weight;
    out[1] /= total_weight;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autoc_and_qini_of_a_known_ranking() {
        // Scores 3, 1, 0, 0 in priority order: ATE 1; TOC = 2, 1, 1/3, 0.
        let order = [0u32, 1, 2, 3];
        let priorities = [4.0, 3.0, 2.0, 1.0];
        let s = statistics(&order, &priorities, &[3.0, 1.0, 0.0, 0.0], &[1.0; 4], 4);
        assert!((s[0] - (2.0 + 1.0 + 1.0 / 3.0) / 4.0).abs() < 1e-12);
        assert!((s[1] - (2.0 * 0.25 + 1.0 * 0.5 + 1.0 / 3.0 * 0.75) / 4.0).abs() < 1e-12);
        for (got, want) in s[2..].iter().zip([2.0, 1.0, 1.0 / 3.0, 0.0]) {
            assert!((got - want).abs() < 1e-12, "{s:?}");
        }
        // All tied: every TOC is 0.
        let tied = statistics(&order, &[1.0; 4], &[3.0, 1.0, 0.0, 0.0], &[1.0; 4], 4);
        assert!(tied.iter().all(|v| v.abs() < 1e-12), "{tied:?}");
    }
}

cateye_stats::settings_with!(RateOptions);
