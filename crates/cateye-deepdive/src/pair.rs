//! The deep dive of one (experiment, metric, treatment arm) pair: its rows become forest
//! features, a causal forest with the known assignment probability is fitted, and the pair's
//! heterogeneity is detected, surfaced and characterized (see the module doc of
//! [`crate`]).

use crate::config::DeepDiveConfig;
use crate::error::PairError;
use crate::result::*;
use crate::rows::{ExperimentRows, LoadedRows};
use crate::select::SelectedPair;
use cateye_forest::{
    fit_causal_forest_reporting, variable_importance, CausalInput, ForestData, ForestOptions, Propensity,
};
use cateye_hte::{
    average_treatment_effect, best_linear_projection_on_levels, doubly_robust_scores, explained_share,
    rank_average_treatment_effect, test_calibration, DecompositionOptions, LevelColumn, RateOptions, TargetSample,
    VariationFit,
};
use cateye_hte::{
    cross_fitted_predictions, effect_distribution, mixture_by_level, subgroup_rules, Histogram, RuleFeature,
    ScoreCalibration, SubgroupOptions,
};
use cateye_io::DimensionKind;
use cateye_scan::{ScanConfig, ScanResult};
use cateye_stats::normal_sf;
use cateye_stats::{adjust, Correction};
use cateye_stats::{randomization_test_reporting, RandomizationOptions};
use std::time::Instant;

/// Folds of the cross-fitted outcome model.
const OUTCOME_FOLDS: usize = 5;

/// A dimension restricted to the pair's units, with compact level codes.
pub(crate) struct PairDimension {
    pub name: String,
    pub kind: DimensionKind,
    pub codes: Vec<u32>,
    pub labels: Vec<String>,
}

/// The pair's units in the form the estimators take.
pub(crate) struct PairRows {
    pub y: Vec<f64>,
    pub w: Vec<f64>,
    pub treated: Vec<bool>,
    pub dims: Vec<PairDimension>,
    /// Numeric covariates (the CUPED column first when there is one), missing values imputed.
    pub covariates: Vec<(String, Vec<f64>, &'static str)>,
    pub missing_outcome: [usize; 2],
    pub imputed: Vec<(String, usize)>,
    /// Units with a value before subsampling (treated, control), when the pair was subsampled.
    pub subsampled_from: Option<[usize; 2]>,
}

/// Random-stream purpose of the subsample of a large pair.
const PURPOSE_SUBSAMPLE: u64 = 0x5_0B5A_4D1E;

/// A stable number for a pair's names (FNV-1a), so that its subsample does not depend on where
/// it stands in the selection.
fn pair_key(pair: &SelectedPair) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in pair.experiment.bytes().chain([0]).chain(pair.metric.bytes()).chain([0]).chain(pair.arm.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Keeps at most `max` of the rows `keep` (ascending), the same share of each arm (treated rows
/// are those `is_treated` says), drawn at random with the pair's own stream; the rows stay in
/// their order. Returns the rows per arm before subsampling when it subsampled.
fn subsample(
    keep: &mut Vec<usize>,
    is_treated: impl Fn(usize) -> bool,
    max: usize,
    seed: u64,
    pair: &SelectedPair,
) -> Option<[usize; 2]> {
    use rand::seq::SliceRandom;
    if keep.len() <= max {
        return None;
    }
    let (mut treated, mut control): (Vec<usize>, Vec<usize>) = keep.iter().partition(|&&i| is_treated(i));
    let before = [treated.len(), control.len()];
    let share = max as f64 / keep.len() as f64;
    let mut rng = cateye_stats::stream(seed, PURPOSE_SUBSAMPLE, pair_key(pair));
    let mut kept = Vec::with_capacity(max);
    for arm in [&mut treated, &mut control] {
        let k = ((arm.len() as f64 * share).round() as usize).min(arm.len());
        arm.shuffle(&mut rng);
        kept.extend_from_slice(&arm[..k]);
    }
    kept.sort_unstable();
    *keep = kept;
    Some(before)
}

/// Extract the pair's units: treated arm `arm` and control `control` with a value of `metric`,
/// at most `dd.max_units` of them (see [`DeepDiveConfig::max_units`]).
pub(crate) fn pair_rows(
    loaded: &LoadedRows,
    rows: &ExperimentRows,
    metric: usize,
    arm: u32,
    control: u32,
    pair: &SelectedPair,
    dd: &DeepDiveConfig,
) -> Result<PairRows, PairError> {
    let values = rows.metrics[metric].as_ref().ok_or(PairError::NotLoaded("metric"))?;
    let mut keep = Vec::with_capacity(values.len());
    let mut missing_outcome = [0usize; 2];
    for (i, (&a, &y)) in rows.arm.iter().zip(values).enumerate() {
        if a != arm && a != control {
            continue;
        }
        if y.is_finite() {
            keep.push(i);
        } else {
            missing_outcome[(a == control) as usize] += 1;
        }
    }
    let subsampled_from = subsample(&mut keep, |i| rows.arm[i] == arm, dd.max_units, dd.seed, pair);
    let y: Vec<f64> = keep.iter().map(|&i| values[i]).collect();
    let treated: Vec<bool> = keep.iter().map(|&i| rows.arm[i] == arm).collect();
    let w: Vec<f64> = treated.iter().map(|&t| t as u8 as f64).collect();
    let dims = loaded
        .layout
        .dimensions
        .iter()
        .enumerate()
        .map(|(d, dim)| {
            // Compact codes in the order of the global codes (bin order for binned dimensions).
            let global = &rows.levels[d];
            let mut map = vec![u32::MAX; loaded.levels[d].len()];
            for &i in &keep {
                map[global[i] as usize] = 0;
            }
            let mut labels = Vec::new();
            for (g, slot) in map.iter_mut().enumerate() {
                if *slot == 0 {
                    *slot = labels.len() as u32;
                    labels.push(loaded.levels[d][g].clone());
                }
            }
            let codes = keep.iter().map(|&i| map[global[i] as usize]).collect();
            PairDimension { name: dim.name.clone(), kind: dim.kind, codes, labels }
        })
        .collect();
    let mut covariates = Vec::new();
    let mut imputed = Vec::new();
    let mut add = |name: &str, column: &[f64], encoding: &'static str| {
        if covariates.iter().any(|(n, _, _): &(String, Vec<f64>, &str)| n == name) {
            return;
        }
        let mut v: Vec<f64> = keep.iter().map(|&i| column[i]).collect();
        let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        let mean = if finite.is_empty() { 0.0 } else { finite.iter().sum::<f64>() / finite.len() as f64 };
        let missing = v.len() - finite.len();
        if missing > 0 {
            v.iter_mut().filter(|x| !x.is_finite()).for_each(|x| *x = mean);
            imputed.push((name.to_string(), missing));
        }
        covariates.push((name.to_string(), v, encoding));
    };
    if let (Some(pre), Some(name)) = (&rows.pre[metric], &loaded.layout.metrics[metric].pre) {
        add(name, pre, "cuped_covariate");
    }
    for (name, column) in loaded.covariates.iter().zip(&rows.covariates) {
        add(name, column, "covariate");
    }
    Ok(PairRows { y, w, treated, dims, covariates, missing_outcome, imputed, subsampled_from })
}

/// Feature values of a dimension: categorical levels ranked by the pair's mean outcome over
/// both arms (pooled), binned ones in bin order.
///
/// Why pooled: a level's pooled mean carries the effect (`μ₀ + e·τ`), which is signal, but its
/// noise `Σε/n` is uncorrelated with the noise of the level's effect estimate `ε̄₁ − ε̄₀`
/// (covariance `σ²/n − σ²/n = 0`), so ranking by it does not leak noise into the honest
/// estimates. Ranking by the control mean would: levels whose control units happen to do well
/// would be split off with an effect estimate biased down. On the A/B fixture that version made
/// the calibration test reject 6 of 32 constant-effect pairs at 0.05 (pooled: 1 of 32).
fn dimension_feature(dim: &PairDimension, y: &[f64]) -> (Vec<f64>, &'static str) {
    match dim.kind {
        DimensionKind::Binned => (dim.codes.iter().map(|&c| c as f64).collect(), "dimension_ordered"),
        DimensionKind::Categorical => {
            let l = dim.labels.len();
            let (mut sum, mut count) = (vec![0.0; l], vec![0.0; l]);
            for (&c, &v) in dim.codes.iter().zip(y) {
                sum[c as usize] += v;
                count[c as usize] += 1.0;
            }
            let mut order: Vec<usize> = (0..l).collect();
            order.sort_by(|&a, &b| (sum[a] / count[a]).total_cmp(&(sum[b] / count[b])).then(a.cmp(&b)));
            let mut rank = vec![0.0; l];
            for (r, &level) in order.iter().enumerate() {
                rank[level] = r as f64;
            }
            (dim.codes.iter().map(|&c| rank[c as usize]).collect(), "dimension_by_mean_outcome")
        }
    }
}

/// Whether `y` takes at most two distinct values.
fn at_most_two_values(y: &[f64]) -> bool {
    let first = y[0];
    let Some(&second) = y.iter().find(|&&v| v != first) else { return true };
    y.iter().all(|&v| v == first || v == second)
}

/// The most common level of a dimension (ties: the first), the reference of its projection.
fn most_common_level(dim: &PairDimension) -> usize {
    let mut count = vec![0usize; dim.labels.len()];
    for &c in &dim.codes {
        count[c as usize] += 1;
    }
    (0..count.len()).max_by_key(|&l| (count[l], usize::MAX - l)).unwrap_or(0)
}

/// Everything about one pair; `scan_config` gives the control arm's label and the level `alpha`.
pub(crate) fn analyze_pair(
    pair: &SelectedPair,
    rows: &PairRows,
    propensity: f64,
    scan: &ScanResult,
    scan_config: &ScanConfig,
    config: &DeepDiveConfig,
    progress: cateye_stats::Progress<'_>,
) -> Result<DeepDive, PairError> {
    let (control, alpha) = (scan_config.control.as_str(), scan_config.alpha);
    let start = Instant::now();
    let n = rows.y.len();
    let units = [rows.treated.iter().filter(|&&t| t).count(), rows.treated.iter().filter(|&&t| !t).count()];
    let (sample_fraction, min_node_size) = config.forest_size(n, propensity);
    let min_units = 2 * min_node_size.max(config.rule_min_leaf) + 2;
    if units.iter().any(|&u| u < min_units) {
        return Err(PairError::TooFewUnits { treated: units[0], control: units[1], needed: min_units });
    }
    // Forest features: dimensions, then the covariates.
    let mut features: Vec<(String, Vec<f64>)> = Vec::new();
    let mut info = Vec::new();
    for dim in &rows.dims {
        let (values, encoding) = dimension_feature(dim, &rows.y);
        features.push((dim.name.clone(), values));
        info.push(FeatureInfo { name: dim.name.clone(), encoding: encoding.into(), levels: Some(dim.labels.len()) });
    }
    for (name, values, encoding) in &rows.covariates {
        features.push((name.clone(), values.clone()));
        info.push(FeatureInfo { name: name.clone(), encoding: (*encoding).into(), levels: None });
    }
    if features.is_empty() {
        return Err(PairError::NoFeatures);
    }
    let names: Vec<String> = features.iter().map(|(n, _)| n.clone()).collect();
    let columns: Vec<&[f64]> = features.iter().map(|(_, v)| v.as_slice()).collect();
    let data = ForestData::new(&columns, &names, cateye_forest::DEFAULT_MAX_BINS)?;

    // The outcome model: cross-fitted OLS on the level indicators and covariates.
    let level_columns: Vec<LevelColumn> =
        rows.dims.iter().map(|d| LevelColumn { name: &d.name, codes: &d.codes, levels: d.labels.len() }).collect();
    let numeric: Vec<&[f64]> = rows.covariates.iter().map(|(_, v, _)| v.as_slice()).collect();
    let y_hat = cross_fitted_predictions(&rows.y, &level_columns, &numeric, OUTCOME_FOLDS, config.seed)?;
    let options = ForestOptions::default().with(|c| {
        c.num_trees = config.trees;
        c.min_node_size = min_node_size;
        c.sample_fraction = sample_fraction;
        c.seed = config.seed;
        // The deep dive uses the point estimates only: no little bags for per-unit variances.
        c.ci_group_size = 1;
    });
    let input = CausalInput {
        y: &rows.y,
        w: &rows.w,
        outcome: &pair.metric,
        treatment: "assignment",
        propensity: Propensity::Known(propensity),
        y_hat: Some(&y_hat),
    };
    let fit = fit_causal_forest_reporting(&data, input, &options, progress)?;
    let forest_seconds = start.elapsed().as_secs_f64();

    // Detect.
    let start = Instant::now();
    let effects = fit.effects();
    let calibration = test_calibration(&effects)?;
    let rate = rank_average_treatment_effect(
        &effects,
        &fit.oob.tau,
        &RateOptions::default().with(|c| {
            c.bootstrap = config.rate_bootstrap;
            c.toc_points = 20;
            c.seed = config.seed;
        }),
    )?;
    // A constant additive effect is impossible on a two-valued (e.g. binary) metric unless it
    // is zero, so the null of the randomization test is uninformative there.
    let two_valued = at_most_two_values(&rows.y);
    let randomization_options = RandomizationOptions::default().with(|c| {
        c.permutations = config.permutations;
        c.gamma = config.gamma;
        c.grid = config.grid;
        c.seed = config.seed;
    });
    let randomization = if two_valued {
        None
    } else {
        Some(randomization_test_reporting(&rows.y, &rows.treated, &numeric, &randomization_options, progress)?)
    };
    let tests_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let autoc_p = if rate.autoc.se > 0.0 { normal_sf(rate.autoc.estimate / rate.autoc.se) } else { 1.0 };
    let mut p_values =
        vec![("calibration", calibration.differential_forest_prediction.p_value_greater), ("rate", autoc_p)];
    if let Some(r) = &randomization {
        p_values.push(("randomization", r.p_value));
    }
    // "Heterogeneous" when any test rejects after Holm's correction over the tests run.
    let adjusted = adjust(&p_values.iter().map(|(_, p)| *p).collect::<Vec<_>>(), Correction::Holm);
    let tests: Vec<VerdictTest> = p_values
        .iter()
        .zip(&adjusted)
        .map(|((test, p), &q)| VerdictTest { test: test.to_string(), p_value: *p, adjusted_p_value: q })
        .collect();
    let verdict_p = adjusted.iter().copied().fold(1.0, f64::min);
    let detect = Detect {
        heterogeneous: verdict_p <= alpha,
        p_value: verdict_p,
        significant: tests.iter().filter(|t| t.adjusted_p_value <= alpha).map(|t| t.test.clone()).collect(),
        tests,
        randomization_status: if two_valued { "uninformative_two_valued" } else { "tested" }.into(),
        calibration,
        rate: RateSummary {
            autoc: rate.autoc.estimate,
            autoc_se: rate.autoc.se,
            autoc_p_value: autoc_p,
            qini: rate.qini.estimate,
            qini_se: rate.qini.se,
            toc: rate.toc,
        },
        randomization,
    };

    // Surface.
    let tau = &fit.oob.tau;
    let importance = variable_importance(fit.forest.trees(), features.len(), 2.0, 4);
    let scan_rows: Vec<_> = scan
        .dimensions
        .iter()
        .filter(|r| r.experiment == pair.experiment && r.metric == pair.metric && r.arm == pair.arm)
        .collect();
    let mut dimensions = Vec::with_capacity(rows.dims.len());
    for (d, dim) in rows.dims.iter().enumerate() {
        let reference = most_common_level(dim);
        let (blp, blp_error) = match best_linear_projection_on_levels(&effects, &dim.codes, &dim.labels, reference) {
            Ok(b) => (b, None),
            Err(err) => (Vec::new(), Some(err.to_string())),
        };
        let scan_row = scan_rows.iter().find(|r| r.dimension == dim.name);
        dimensions.push(DimensionEvidence {
            dimension: dim.name.clone(),
            rank: 0,
            share_of_cate_variance: explained_share(tau, &dim.codes, dim.labels.len()),
            importance: importance[d],
            scan_rank: scan_row.filter(|r| r.test.is_some()).map(|r| r.rank),
            scan_q_value: scan_row.filter(|r| r.test.is_some()).map(|r| r.q_value),
            reference_level: dim.labels[reference].clone(),
            blp,
            blp_error,
        });
    }
    dimensions.sort_by(|a, b| b.share_of_cate_variance.total_cmp(&a.share_of_cate_variance));
    for (r, d) in dimensions.iter_mut().enumerate() {
        d.rank = r + 1;
    }
    let covariate_importance = rows
        .covariates
        .iter()
        .enumerate()
        .map(|(j, (name, _, _))| (name.clone(), importance[rows.dims.len() + j]))
        .collect();
    let covariate_terms: Vec<(&str, &[f64])> =
        rows.covariates.iter().map(|(n, v, _)| (n.as_str(), v.as_slice())).collect();
    let decomposition = VariationFit::new(&rows.y, &rows.treated, &level_columns, &covariate_terms).and_then(|fit| {
        let mut d = fit.decompose(&DecompositionOptions::default().with(|c| {
            c.bootstrap = config.variance_bootstrap;
            c.confidence = 1.0 - alpha;
            c.seed = config.seed;
        }))?;
        // The test that nothing varies beyond the dimensions; uninformative on a two-valued
        // metric, as the constant-effect test is. A failure leaves the decomposition standing.
        if !two_valued {
            match fit.idiosyncratic_test(&randomization_options, progress) {
                Ok(test) => d.idiosyncratic_test = Some(test),
                Err(e) => d.idiosyncratic_test_error = Some(e.to_string()),
            }
        }
        Ok(d)
    });
    let scan_top = scan_rows.iter().filter(|r| r.test.is_some()).min_by_key(|r| r.rank).map(|r| r.dimension.clone());
    let top_agrees_with_scan = scan_top.zip(dimensions.first()).map(|(s, d)| s == d.dimension);

    // Characterize.
    let scores = doubly_robust_scores(&effects)?.scores;
    let score_calibration = ScoreCalibration::fit(tau, &scores, 2000, config.seed)?;
    let edges = Histogram::edges_for(tau, config.histogram_bins);
    let overall = effect_distribution(tau, &edges, &score_calibration);
    let by_dimension = dimensions
        .iter()
        .take(config.top_dimensions)
        .map(|d| {
            let dim = rows.dims.iter().find(|x| x.name == d.dimension).expect("dimension of the pair");
            mixture_by_level(&dim.name, tau, &dim.codes, &dim.labels, &overall, &score_calibration)
        })
        .collect();
    let rule_features: Vec<RuleFeature> = rows
        .dims
        .iter()
        .map(|d| RuleFeature {
            name: &d.name,
            codes: &d.codes,
            labels: &d.labels,
            ordered: d.kind == DimensionKind::Binned,
        })
        .collect();
    let subgroups = subgroup_rules(
        &scores,
        &rule_features,
        &SubgroupOptions::default().with(|c| {
            c.depth = config.rule_depth;
            c.min_leaf = config.rule_min_leaf;
            c.holdout_fraction = 0.5;
            c.seed = config.seed;
            c.split_alpha = config.rule_alpha;
            c.holdout_alpha = alpha;
        }),
    );
    let rules_hold_out = detect.heterogeneous && subgroups.as_ref().is_ok_and(|r| r.supported);
    let ate = average_treatment_effect(&effects, TargetSample::All)?;
    debug_assert_eq!(n, tau.len());
    Ok(DeepDive {
        experiment: pair.experiment.clone(),
        metric: pair.metric.clone(),
        arm: pair.arm.clone(),
        control: control.into(),
        reason: pair.reason.clone(),
        flagged_by: pair.flagged_by.clone(),
        evidence_q: pair.evidence_q,
        data: PairData {
            units,
            missing_outcome: rows.missing_outcome,
            subsampled_from: rows.subsampled_from,
            propensity,
            features: info,
            imputed: rows.imputed.clone(),
        },
        forest: ForestSettings {
            trees: config.trees,
            min_node_size,
            sample_fraction,
            seed: config.seed,
            outcome_model: format!(
                "{OUTCOME_FOLDS}-fold cross-fitted OLS on the dimensions' level indicators and the covariates"
            ),
        },
        ate,
        detect,
        surface: Surface {
            dimensions,
            covariates: covariate_importance,
            decomposition_error: decomposition.as_ref().err().map(|e| e.to_string()),
            decomposition: decomposition.ok(),
            top_agrees_with_scan,
        },
        characterize: Characterize {
            overall,
            calibration: score_calibration,
            by_dimension,
            subgroups_error: subgroups.as_ref().err().map(|e| e.to_string()),
            subgroups: subgroups.ok(),
            rules_hold_out,
        },
        seconds: Timings { forest: forest_seconds, tests: tests_seconds, rest: start.elapsed().as_secs_f64() },
    })
}
