//! The distribution of estimated individual effects: quantiles, a histogram, the share of units
//! with a negative effect (with a band from doubly robust scores), and the overall distribution
//! written as the mixture of its components in the levels of a dimension.
//!
//! **Share negative.** The share of units whose forest estimate `τ̂_i` is negative says nothing
//! about how sure we are that those units lose: a forest shrinks, and its estimates are noisy. So
//! the band comes from doubly robust scores `Γ_i` (whose mean over any group is an unbiased
//! estimate of the group's average effect): the linear calibration `Γ_i = a + b (τ̂_i − τ̄) + ε_i`
//! (OLS with HC3 covariance; the doubly robust analogue of grf's `test_calibration`, Chernozhukov
//! et al. 2018's best linear predictor) maps each estimate to a calibrated effect
//! `a + b (τ̂_i − τ̄)`. The share of units with a negative calibrated effect is reported, with a
//! band: the 2.5% and 97.5% quantiles of that share over draws of `(a, b)` from their estimated
//! normal distribution. When the effect is certainly positive and does not vary, the band is at 0;
//! when the data cannot tell whether the predictions order the effects (`b` uncertain), it is wide.

use crate::Result;
use cateye_stats::stream;
use cateye_stats::InputError;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Quantile levels reported (percent).
pub const QUANTILE_LEVELS: [f64; 5] = [5.0, 25.0, 50.0, 75.0, 95.0];

/// Stream purpose of the calibration draws.
const PURPOSE_BAND: u64 = 0x5EA_0001;

/// A histogram on fixed edges: `counts[k]` units in `[edges[k], edges[k + 1])` (the last bin
/// closed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Histogram {
    /// Bin edges, ascending (one more than the bins).
    pub edges: Vec<f64>,
    /// Number of units in each bin.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Counts of `values` on `edges` (values outside go to the first or last bin).
    pub fn of(values: &[f64], edges: &[f64]) -> Self {
        let bins = edges.len() - 1;
        let mut counts = vec![0u64; bins];
        let (lo, width) = (edges[0], (edges[bins] - edges[0]) / bins as f64);
        for &v in values {
            let k = if width > 0.0 { ((v - lo) / width).floor() } else { 0.0 };
            counts[(k.max(0.0) as usize).min(bins - 1)] += 1;
        }
        Self { edges: edges.to_vec(), counts }
    }

    /// Evenly spaced edges spanning `[min, max]` of `values` (a tiny span around a constant).
    pub fn edges_for(values: &[f64], bins: usize) -> Vec<f64> {
        let (mut lo, mut hi) =
            values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        if hi.is_nan() || hi <= lo {
            let pad = 1e-9 * lo.abs().max(1.0);
            (lo, hi) = (lo - pad, hi + pad);
        }
        (0..=bins).map(|k| lo + (hi - lo) * k as f64 / bins as f64).collect()
    }

    /// The `p`-quantile (`p` in [0, 1]) read off the histogram, interpolating linearly within
    /// the bin (weights may be fractional: see [`mixture_histogram`]).
    pub fn quantile_of(edges: &[f64], mass: &[f64], p: f64) -> f64 {
        let total: f64 = mass.iter().sum();
        let target = p * total;
        // Masses are sums of fractions: allow for their rounding when the target falls exactly
        // on a bin edge.
        let slack = 1e-12 * total;
        let mut below = 0.0;
        for (k, &m) in mass.iter().enumerate() {
            if below + m >= target - slack && m > 0.0 {
                let within = ((target - below) / m).clamp(0.0, 1.0);
                return edges[k] + within * (edges[k + 1] - edges[k]);
            }
            below += m;
        }
        edges[edges.len() - 1]
    }
}

/// Summary of a set of estimated effects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EffectDistribution {
    /// Number of estimates.
    pub units: usize,
    /// Mean of the estimates.
    pub mean: f64,
    /// Sample standard deviation of the estimates (divisor `n − 1`).
    pub sd: f64,
    /// `(level in percent, value)` for [`QUANTILE_LEVELS`] (type-7 sample quantiles).
    pub quantiles: Vec<(f64, f64)>,
    /// Histogram of the estimates on the given edges.
    pub histogram: Histogram,
    /// Share of units whose forest estimate is negative.
    pub share_negative_estimate: f64,
    /// Share whose calibrated effect (see the module doc) is negative.
    pub share_negative: f64,
    /// 95% band of `share_negative`: its 2.5% and 97.5% quantiles over draws of `(a, b)`.
    pub share_negative_band: [f64; 2],
}

/// The linear calibration of forest estimates against doubly robust scores (module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoreCalibration {
    /// Mean forest estimate `τ̄`.
    pub center: f64,
    /// Intercept `a`: the mean of the scores, the average effect.
    pub intercept: f64,
    /// Slope `b` of the scores on `τ̂ − τ̄`.
    pub slope: f64,
    /// HC3 standard error of `a`.
    pub intercept_se: f64,
    /// HC3 standard error of `b`.
    pub slope_se: f64,
    /// HC3 covariance of intercept and slope.
    pub covariance: f64,
    /// Draws of the threshold `t` such that the calibrated effect is negative exactly when
    /// `τ̂ < t` (`slope > 0`) or `τ̂ > t` (`slope < 0`); `(t, slope sign)` per draw.
    #[serde(skip)]
    draws: Vec<(f64, f64)>,
}

impl ScoreCalibration {
    /// Fit `Γ = a + b (τ̂ − τ̄)` by OLS with the HC3 covariance of `(a, b)` and draw `draws`
    /// samples of `(a, b)` from the normal distribution with that covariance (seeded). With the
    /// regressor centred, `(X'X)⁻¹ = diag(1/n, 1/S)` with `S = Σ(τ̂ − τ̄)²`, the leverage is
    /// `1/n + (τ̂_i − τ̄)²/S`, and the sandwich is written out.
    pub fn fit(tau: &[f64], scores: &[f64], draws: usize, seed: u64) -> Result<Self> {
        let n = tau.len();
        if n != scores.len() || n < 3 {
            return Err(InputError::Data(format!(
                "score calibration needs as many scores as estimates (at least 3); got {} and {}",
                n,
                scores.len()
            )));
        }
        let nf = n as f64;
        let center = tau.iter().sum::<f64>() / nf;
        let a = scores.iter().sum::<f64>() / nf;
        let sxx: f64 = tau.iter().map(|t| (t - center).powi(2)).sum();
        let b = if sxx > 0.0 { tau.iter().zip(scores).map(|(t, g)| (t - center) * g).sum::<f64>() / sxx } else { 0.0 };
        let (mut m00, mut m01, mut m11) = (0.0, 0.0, 0.0);
        for (&t, &g) in tau.iter().zip(scores) {
            let x = t - center;
            let h = 1.0 / nf + if sxx > 0.0 { x * x / sxx } else { 0.0 };
            let u = (g - a - b * x) / (1.0 - h).max(f64::EPSILON);
            let u2 = u * u;
            m00 += u2;
            m01 += u2 * x;
            m11 += u2 * x * x;
        }
        let (v_aa, v_ab, v_bb) = if sxx > 0.0 {
            (m00 / (nf * nf), m01 / (nf * sxx), m11 / (sxx * sxx))
        } else {
            (m00 / (nf * nf), 0.0, 0.0)
        };
        // Cholesky factor of the 2×2 covariance.
        let l00 = v_aa.sqrt();
        let l10 = if l00 > 0.0 { v_ab / l00 } else { 0.0 };
        let l11 = (v_bb - l10 * l10).max(0.0).sqrt();
        let mut rng = stream(seed, PURPOSE_BAND, 0);
        let draws = (0..draws)
            .map(|_| {
                let z1: f64 = StandardNormal.sample(&mut rng);
                let z2: f64 = StandardNormal.sample(&mut rng);
                let (a, b) = (a + l00 * z1, b + l10 * z1 + l11 * z2);
                (center - a / b, b.signum())
            })
            .collect();
        Ok(Self {
            center,
            intercept: a,
            slope: b,
            intercept_se: v_aa.sqrt(),
            slope_se: v_bb.sqrt(),
            covariance: v_ab,
            draws,
        })
    }

    /// Share of `sorted` (ascending estimates) with a negative calibrated effect at `(a, b)`.
    fn share_at(sorted: &[f64], threshold: f64, sign: f64) -> f64 {
        let n = sorted.len() as f64;
        let below = sorted.partition_point(|&t| t < threshold) as f64;
        let above = sorted.len() as f64 - sorted.partition_point(|&t| t <= threshold) as f64;
        if sign > 0.0 {
            below / n
        } else if sign < 0.0 {
            above / n
        } else {
            0.0
        }
    }

    /// Point share and 95% band for a set of estimates sorted ascending.
    pub fn share_negative(&self, sorted: &[f64]) -> (f64, [f64; 2]) {
        let point = if self.slope != 0.0 {
            Self::share_at(sorted, self.center - self.intercept / self.slope, self.slope.signum())
        } else {
            (self.intercept < 0.0) as u8 as f64
        };
        if self.draws.is_empty() {
            return (point, [point, point]);
        }
        let mut shares: Vec<f64> = self.draws.iter().map(|&(t, s)| Self::share_at(sorted, t, s)).collect();
        shares.sort_by(f64::total_cmp);
        let q = |p: f64| shares[((p * (shares.len() - 1) as f64).round() as usize).min(shares.len() - 1)];
        (point, [q(0.025), q(0.975)])
    }
}

/// The smallest value whose empirical distribution function reaches `p` (type-1 quantile).
pub fn inverse_ecdf(sorted: &[f64], p: f64) -> f64 {
    // `p · n` a hair above an integer (0.05 · 100) must not skip to the next value.
    let k = ((p * sorted.len() as f64 - 1e-9).ceil() as usize).clamp(1, sorted.len());
    sorted[k - 1]
}

/// Type-7 (linear interpolation) quantile of ascending `sorted` values at `p` in [0, 1].
pub fn sample_quantile(sorted: &[f64], p: f64) -> f64 {
    let h = p * (sorted.len() - 1) as f64;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// Summarise `tau` (any order; must be non-empty) on histogram `edges`.
pub fn effect_distribution(tau: &[f64], edges: &[f64], calibration: &ScoreCalibration) -> EffectDistribution {
    let n = tau.len();
    let mut sorted = tau.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = tau.iter().sum::<f64>() / n as f64;
    let sd = (tau.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64).sqrt();
    let (share_negative, share_negative_band) = calibration.share_negative(&sorted);
    EffectDistribution {
        units: n,
        mean,
        sd,
        quantiles: QUANTILE_LEVELS.iter().map(|&q| (q, sample_quantile(&sorted, q / 100.0))).collect(),
        histogram: Histogram::of(tau, edges),
        share_negative_estimate: sorted.partition_point(|&t| t < 0.0) as f64 / n as f64,
        share_negative,
        share_negative_band,
    }
}

/// One level's part of the overall distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MixtureComponent {
    /// Label of the level.
    pub level: String,
    /// Share of all units in this level: the mixture weight.
    pub weight: f64,
    /// Distribution of the level's estimates, on the overall histogram's edges.
    pub distribution: EffectDistribution,
}

/// The overall distribution as `Σ_l weight_l · component_l`, on the overall histogram's edges,
/// and how well the mixture reproduces the overall quantiles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Mixture {
    /// Name of the dimension.
    pub dimension: String,
    /// One component per level with units, in level-code order.
    pub components: Vec<MixtureComponent>,
    /// Quantiles read off the mixture histogram `Σ_l weight_l · histogram_l`.
    pub mixture_quantiles: Vec<(f64, f64)>,
    /// Largest |mixture quantile − overall inverse-ECDF quantile|.
    /// The mixture's distribution function equals the overall empirical one at every bin edge,
    /// so each mixture quantile lies in the bin of the overall one: the error is at most a bin.
    pub max_quantile_error: f64,
    /// Width of the histogram's bins, the bound on `max_quantile_error`.
    pub bin_width: f64,
}

/// Split `tau` by the level `codes` (`codes[i] < labels.len()`) of one dimension and write the
/// overall distribution as the mixture of the per-level ones. Levels without units are left out.
pub fn mixture_by_level(
    dimension: &str,
    tau: &[f64],
    codes: &[u32],
    labels: &[String],
    overall: &EffectDistribution,
    calibration: &ScoreCalibration,
) -> Mixture {
    let edges = &overall.histogram.edges;
    let mut by_level: Vec<Vec<f64>> = vec![Vec::new(); labels.len()];
    for (&t, &c) in tau.iter().zip(codes) {
        by_level[c as usize].push(t);
    }
    let n = tau.len() as f64;
    let components: Vec<MixtureComponent> = by_level
        .iter()
        .zip(labels)
        .filter(|(v, _)| !v.is_empty())
        .map(|(v, label)| MixtureComponent {
            level: label.clone(),
            weight: v.len() as f64 / n,
            distribution: effect_distribution(v, edges, calibration),
        })
        .collect();
    let mass = mixture_histogram(&components, edges.len() - 1);
    let mixture_quantiles: Vec<(f64, f64)> =
        QUANTILE_LEVELS.iter().map(|&q| (q, Histogram::quantile_of(edges, &mass, q / 100.0))).collect();
    let mut sorted = tau.to_vec();
    sorted.sort_by(f64::total_cmp);
    let max_quantile_error =
        mixture_quantiles.iter().map(|(q, m)| (m - inverse_ecdf(&sorted, q / 100.0)).abs()).fold(0.0, f64::max);
    Mixture {
        dimension: dimension.into(),
        components,
        mixture_quantiles,
        max_quantile_error,
        bin_width: edges[1] - edges[0],
    }
}

/// `Σ_l weight_l · counts_l / units_l`: the mixture's probability mass per bin.
pub fn mixture_histogram(components: &[MixtureComponent], bins: usize) -> Vec<f64> {
    let mut mass = vec![0.0; bins];
    for c in components {
        let units = c.distribution.units as f64;
        for (m, &k) in mass.iter_mut().zip(&c.distribution.histogram.counts) {
            *m += c.weight * k as f64 / units;
        }
    }
    mass
}

/// One unit of a [`CateProfile`]'s ranked sample: its estimate and 95% interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RankedEstimate {
    /// The unit's rank among all estimates, as a share in (0, 1).
    pub rank: f64,
    /// Its estimate.
    pub estimate: f64,
    /// Lower end of its 95% interval (absent when the estimator gives none).
    pub ci_lower: Option<f64>,
    /// Upper end of its 95% interval.
    pub ci_upper: Option<f64>,
}

/// What a report draws of a set of per-unit estimates: their histogram, quantiles and, for
/// estimators with standard errors, a ranked sample of units with their intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CateProfile {
    /// Histogram of the estimates on evenly spaced edges over their range.
    pub histogram: Histogram,
    /// `(level in percent, value)` for [`QUANTILE_LEVELS`] (type-7 sample quantiles).
    pub quantiles: Vec<(f64, f64)>,
    /// Units at evenly spaced ranks (the `(k + ½)/points` quantiles of the estimates), lowest
    /// first, each with its 95% interval `estimate ± z₀.₉₇₅·se` when `se` was given.
    pub ranked: Vec<RankedEstimate>,
}

/// The [`CateProfile`] of `tau` (non-empty; any order) with `bins` histogram bins and `points`
/// ranked units; `se` (one per unit) adds their intervals.
pub fn cate_profile(tau: &[f64], se: Option<&[f64]>, bins: usize, points: usize) -> CateProfile {
    let n = tau.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| tau[a].total_cmp(&tau[b]).then(a.cmp(&b)));
    let sorted: Vec<f64> = order.iter().map(|&i| tau[i]).collect();
    let ranked = (0..points.min(n))
        .map(|k| {
            let rank = (k as f64 + 0.5) / points.min(n) as f64;
            let i = order[((rank * n as f64) as usize).min(n - 1)];
            let half = se.map(|s| cateye_stats::Z_975 * s[i]);
            RankedEstimate {
                rank,
                estimate: tau[i],
                ci_lower: half.map(|h| tau[i] - h),
                ci_upper: half.map(|h| tau[i] + h),
            }
        })
        .collect();
    CateProfile {
        histogram: Histogram::of(tau, &Histogram::edges_for(tau, bins)),
        quantiles: QUANTILE_LEVELS.iter().map(|&q| (q, sample_quantile(&sorted, q / 100.0))).collect(),
        ranked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn calibration(tau: &[f64]) -> ScoreCalibration {
        ScoreCalibration::fit(tau, tau, 0, 1).unwrap()
    }

    #[test]
    fn quantiles_match_a_closed_form() {
        let tau: Vec<f64> = (0..101).map(|i| i as f64).collect();
        let d = effect_distribution(&tau, &Histogram::edges_for(&tau, 10), &calibration(&tau));
        assert_eq!(d.quantiles, vec![(5.0, 5.0), (25.0, 25.0), (50.0, 50.0), (75.0, 75.0), (95.0, 95.0)]);
        assert_eq!(d.histogram.counts.iter().sum::<u64>(), 101);
        assert!((d.mean - 50.0).abs() < 1e-12);
    }

    #[test]
    fn mixture_reproduces_overall_quantiles_within_a_bin() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let labels: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let codes: Vec<u32> = (0..20_000).map(|_| rng.random_range(0..4u32)).collect();
        let tau: Vec<f64> = codes
            .iter()
            .map(|&c| c as f64 * 0.7 + rng.sample::<f64, _>(StandardNormal) * (0.2 + 0.1 * c as f64))
            .collect();
        let cal = calibration(&tau);
        let overall = effect_distribution(&tau, &Histogram::edges_for(&tau, 50), &cal);
        let m = mixture_by_level("d", &tau, &codes, &labels, &overall, &cal);
        assert!((m.components.iter().map(|c| c.weight).sum::<f64>() - 1.0).abs() < 1e-12);
        // The mixture of the level histograms is exactly the overall histogram.
        let mass = mixture_histogram(&m.components, 50);
        for (m, &c) in mass.iter().zip(&overall.histogram.counts) {
            assert!((m * tau.len() as f64 - c as f64).abs() < 1e-6);
        }
        assert!(m.max_quantile_error <= m.bin_width, "{} > {}", m.max_quantile_error, m.bin_width);
        // Point masses at the ends of a wide gap: still within one bin of the inverse ECDF.
        let tau: Vec<f64> = (0..100).map(|i| if i < 5 { 0.0 } else { 10.0 }).collect();
        let codes: Vec<u32> = (0..100).map(|i| (i % 2) as u32).collect();
        let cal = calibration(&tau);
        let overall = effect_distribution(&tau, &Histogram::edges_for(&tau, 40), &cal);
        let m = mixture_by_level("d", &tau, &codes, &labels[..2], &overall, &cal);
        assert!(
            m.max_quantile_error <= m.bin_width,
            "{} > {}: {:?}",
            m.max_quantile_error,
            m.bin_width,
            m.mixture_quantiles
        );
    }

    #[test]
    fn negative_share_band_from_scores() {
        // Estimates equal to the truth, scores = truth + noise: the calibrated share is the true
        // share and the band covers it.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let tau: Vec<f64> = (0..10_000).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
        let scores: Vec<f64> = tau.iter().map(|t| t + 2.0 * rng.sample::<f64, _>(StandardNormal)).collect();
        let cal = ScoreCalibration::fit(&tau, &scores, 2000, 1).unwrap();
        let d = effect_distribution(&tau, &Histogram::edges_for(&tau, 20), &cal);
        assert!((d.share_negative_estimate - 0.5).abs() < 0.02);
        let [lo, hi] = d.share_negative_band;
        assert!(lo < 0.5 && 0.5 < hi && hi - lo < 0.1, "{lo} {hi}");
        // Pure-noise estimates of a positive constant effect: no unit is confidently negative.
        let noise: Vec<f64> = (0..10_000).map(|_| 1.0 + 0.3 * rng.sample::<f64, _>(StandardNormal)).collect();
        let scores: Vec<f64> = (0..10_000).map(|_| 1.0 + 2.0 * rng.sample::<f64, _>(StandardNormal)).collect();
        let cal = ScoreCalibration::fit(&noise, &scores, 2000, 1).unwrap();
        let d = effect_distribution(&noise, &Histogram::edges_for(&noise, 20), &cal);
        assert!(d.share_negative_estimate < 0.01);
        assert!(d.share_negative_band[1] < 0.05, "{:?}", d.share_negative_band);
    }

    #[test]
    fn profile_ranks_units_and_carries_their_intervals() {
        // 1..=100 shuffled: the ranked sample at (k + ½)/10 is the value 10k + 6.
        let tau: Vec<f64> = (0..100).map(|i| ((i * 37) % 100 + 1) as f64).collect();
        let se = vec![0.5; 100];
        let p = cate_profile(&tau, Some(&se), 10, 10);
        let picked: Vec<f64> = p.ranked.iter().map(|r| r.estimate).collect();
        assert_eq!(picked, (0..10).map(|k| (10 * k + 6) as f64).collect::<Vec<_>>());
        let first = &p.ranked[0];
        assert!((first.ci_upper.unwrap() - first.ci_lower.unwrap() - 2.0 * cateye_stats::Z_975 * 0.5).abs() < 1e-12);
        assert_eq!(p.histogram.counts, vec![10; 10]);
        assert_eq!(p.quantiles[2], (50.0, 50.5));
        assert!(cate_profile(&tau, None, 10, 10).ranked.iter().all(|r| r.ci_lower.is_none()));
    }
}
