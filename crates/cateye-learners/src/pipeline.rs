//! CATE estimation for one outcome and a treatment with any number of arms: every arm against
//! control, with cross-fitted nuisances, the requested learners, causal isotonic
//! cross-calibration, the held-out selection table and the chosen estimates.

use crate::base::forest::ForestLearner;
use crate::base::{BaseKind, BaseLearner};
use crate::calibrate::{cross_calibrate, fold_held_out_calibration};
use crate::data::LearnerData;
use crate::error::{check_finite, column_error, data_error, option_error, Result};
use crate::meta::{causal_forest_cate, meta_learner_cate, Learner, LearnerEstimates, MetaLearner, PairContext};
use crate::model::{ArmEstimator, ArmModel, CateModel};
use crate::nuisance::{NuisanceNeeds, Nuisances, Pair, PairPropensity, PropensitySummary};
use crate::select::{dr_loss_terms, r_loss_terms, rank, SelectionLoss, SelectionRow};
use cateye_forest::Propensity;
use cateye_hte::IsotonicFit;
use cateye_stats::Moments;
use cateye_stats::{Folds, Progress};
use serde::Serialize;
use std::time::Instant;

/// Random-stream purpose of the cross-fitting folds.
pub const PURPOSE_FOLDS: u64 = 0xF01D;

/// What to estimate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CateConfig {
    /// The learner whose estimates are reported (unless `select` picks another).
    pub method: Learner,
    /// Base learners; the first also fits the scoring nuisances of the selection table.
    pub bases: Vec<BaseKind>,
    /// Also calibrate every candidate (causal isotonic cross-calibration); the chosen method's
    /// calibrated estimates are reported.
    pub calibrate: bool,
    /// Run every learner with every base (and the causal forest) and report the best by `loss`.
    pub select: bool,
    /// Loss that ranks the selection table.
    pub loss: SelectionLoss,
    /// Number of cross-fitting folds.
    pub folds: usize,
    /// Trees of every forest (base learners and the causal forest).
    pub trees: usize,
    /// Estimated propensities are clipped to `[clip, 1 − clip]` (default 0.05: the adaptive
    /// nuisance forests estimate propensities near 0 or 1 from a few units, and at 0.01 their
    /// inverse weights made the DR-learner's pseudo-outcomes heavy-tailed; see
    /// [`crate::base::forest::ForestLearner::for_nuisances`]).
    pub clip: f64,
    /// Quantile bins per covariate for the forests and boosting.
    pub max_bins: usize,
    /// Seed of the folds and of every fit.
    pub seed: u64,
    /// The control value of the treatment column (`None`: the smallest value).
    pub control: Option<f64>,
    /// Per-unit intervals for the R- and DR-learners on the forest base: their final-stage
    /// forests are grown in little bags of two trees, `interval_trees` of them, and each estimate
    /// carries the forest's variance. Off by default: the variance needs many little bags to be
    /// calibrated (with 500 trees the DR-learner's intervals covered 98-99%), and growing them
    /// costs time. The causal forest candidate then grows its trees in little bags of two and
    /// carries its own variance.
    pub intervals: bool,
    /// Trees of the interval-bearing final-stage forests (see `intervals`).
    pub interval_trees: usize,
    /// Minimum node size of the forest base in final stages (grf's `min.node.size`; the
    /// nuisance forests keep 5). The DR-learner's PEHE on Nie & Wager's designs (n = 2,000)
    /// with 5 and 20: A 0.280 / 0.216, B 0.369 / 0.377, C 0.313 / 0.216, D 0.689 / 0.754; at
    /// n = 20,000 in A 0.150 / 0.117 (50: 0.104). Larger leaves smooth the pseudo-outcomes'
    /// noise and help where the effect is smooth, and cost where it has kinks (D): no value
    /// wins everywhere, so grf's 5 stays the default (`examples/pehe_gap.rs`).
    pub final_min_node_size: usize,
    /// Keep the models behind the reported estimates, so that the fit predicts new rows
    /// ([`CateReport::model`]). Without selection this costs memory only; with selection the
    /// chosen candidate's final stage (and its nuisance models, for the T- and X-learners) is
    /// fitted once more, keeping its models.
    pub keep_model: bool,
}

impl Default for CateConfig {
    fn default() -> Self {
        CateConfig {
            method: Learner::Dr,
            bases: vec![BaseKind::Forest],
            calibrate: false,
            select: false,
            loss: SelectionLoss::R,
            folds: 5,
            trees: 500,
            clip: 0.05,
            max_bins: cateye_forest::DEFAULT_MAX_BINS,
            seed: 42,
            control: None,
            intervals: false,
            interval_trees: 2000,
            final_min_node_size: 5,
            keep_model: false,
        }
    }
}

/// Sample weights and clusters of a CATE fit, both optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sampling<'a> {
    /// Sample weights (finite, ≥ 0, not all zero) and the column they came from (for errors):
    /// every nuisance and final-stage fit is weighted, and so is the AIPW average effect. The
    /// selection losses and the calibration maps stay unweighted.
    pub weights: Option<(&'a [f64], &'a str)>,
    /// Cluster codes (from 0), one per row: cross-fitting keeps each cluster in one fold
    /// ([`Folds::clustered`]), the AIPW standard error is cluster-robust (CR1) and the causal
    /// forest samples whole clusters.
    pub clusters: Option<&'a [u32]>,
}

/// One candidate's out-of-fold estimates for every row.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CandidateEstimates {
    /// Display name, e.g. `DR-learner/forest + calibration`.
    pub candidate: String,
    /// The learner and its base learner.
    pub meta: MetaLearner,
    /// Whether the estimates are cross-calibrated.
    pub calibrated: bool,
    /// CATE estimate per row of the data (cross-calibrated when `calibrated`).
    pub cate: Vec<f64>,
    /// Variance of each estimate, for a candidate that has one (the R- and DR-learners on the
    /// forest base, and the causal forest; never a calibrated candidate, whose isotonic map's
    /// own uncertainty is not estimated).
    pub variance: Option<Vec<f64>>,
    /// The calibration map of a calibrated candidate.
    pub calibration: Option<IsotonicFit>,
}

/// Wall-clock seconds of a stage.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct StageTime {
    /// The stage, e.g. `nuisances/forest` or a candidate's label.
    pub stage: String,
    /// Wall-clock seconds it took.
    pub seconds: f64,
}

/// The result for one arm against control.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ArmReport {
    /// Treatment value of the arm.
    pub arm: f64,
    /// Treatment value of control.
    pub control: f64,
    /// Rows in the arm.
    pub treated_rows: usize,
    /// Rows in control.
    pub control_rows: usize,
    /// Summary of the propensities of the scoring nuisances.
    pub propensity: PropensitySummary,
    /// AIPW average effect (mean of the doubly robust scores) and its standard error.
    pub ate: f64,
    /// Standard error of `ate`.
    pub ate_se: f64,
    /// The candidate whose estimates are reported.
    pub chosen: String,
    /// Mean of the reported estimates over the pair's rows.
    pub cate_mean: f64,
    /// Sample standard deviation of the reported estimates over the pair's rows.
    pub cate_sd: f64,
    /// Every candidate's held-out losses, best first (a single row without `select`).
    pub selection: Vec<SelectionRow>,
    /// Wall-clock seconds per stage, in the order run.
    pub timings: Vec<StageTime>,
    /// How the reported estimates' intervals are computed, or why there are none.
    pub intervals: String,
    /// The chosen estimates, out of fold, for every row of the data.
    #[serde(skip)]
    pub cate: Vec<f64>,
    /// The variance of each chosen estimate, when the chosen candidate has one.
    #[serde(skip)]
    pub cate_variance: Option<Vec<f64>>,
    /// Every candidate's estimates (raw, and calibrated when asked for).
    #[serde(skip)]
    pub candidates: Vec<CandidateEstimates>,
    /// Doubly robust scores (scoring nuisances) of the pair's rows; NaN elsewhere.
    #[serde(skip)]
    pub dr_scores: Vec<f64>,
    /// The scoring nuisances: the first base learner's, for every row.
    #[serde(skip)]
    pub nuisances: Nuisances,
    /// The models behind the reported estimates, when the config asked to keep them.
    #[serde(skip)]
    pub model: Option<ArmModel>,
}

/// All arms.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CateReport {
    /// Rows of the data.
    pub rows: usize,
    /// Covariate names, in column order.
    pub covariates: Vec<String>,
    /// Number of cross-fitting folds.
    pub folds: usize,
    /// One report per arm against control, in ascending order of the arm's treatment value.
    pub arms: Vec<ArmReport>,
    /// Every arm's model, when the config asked to keep them: predicts new rows.
    #[serde(skip)]
    pub model: Option<CateModel>,
}

/// Estimates the CATE of every arm of `w` against control from covariate `columns` (named
/// `names`) and outcome `y`. `outcome` and `treatment` name the columns in errors.
#[allow(clippy::too_many_arguments)]
pub fn estimate_cate(
    columns: Vec<Vec<f64>>,
    names: &[String],
    y: &[f64],
    w: &[f64],
    outcome: &str,
    treatment: &str,
    propensity: Propensity,
    config: &CateConfig,
) -> Result<CateReport> {
    estimate_cate_reporting(columns, names, y, w, outcome, treatment, propensity, config, &cateye_stats::silent)
}

/// [`estimate_cate`], telling `progress` which stage (a base's cross-fitted nuisances, a
/// candidate learner, the chosen candidate's model) starts, with the stages done and in all.
#[allow(clippy::too_many_arguments)]
pub fn estimate_cate_reporting(
    columns: Vec<Vec<f64>>,
    names: &[String],
    y: &[f64],
    w: &[f64],
    outcome: &str,
    treatment: &str,
    propensity: Propensity,
    config: &CateConfig,
    progress: Progress<'_>,
) -> Result<CateReport> {
    let sampling = Sampling::default();
    estimate_cate_sampled(columns, names, y, w, outcome, treatment, propensity, sampling, config, progress)
}

/// [`estimate_cate_reporting`] with sample weights and clusters ([`Sampling`]).
#[allow(clippy::too_many_arguments)]
pub fn estimate_cate_sampled(
    columns: Vec<Vec<f64>>,
    names: &[String],
    y: &[f64],
    w: &[f64],
    outcome: &str,
    treatment: &str,
    propensity: Propensity,
    sampling: Sampling,
    config: &CateConfig,
    progress: Progress<'_>,
) -> Result<CateReport> {
    let n = y.len();
    check_finite(outcome, y, n)?;
    if let Some((weights, column)) = sampling.weights {
        cateye_stats::check_weights(column, weights, n)?;
    }
    if let Some(clusters) = sampling.clusters {
        if clusters.len() != n {
            return Err(column_error("cluster", format!("has {} values, expected {n}", clusters.len())));
        }
    }
    check_finite(treatment, w, n)?;
    if config.bases.is_empty() {
        return Err(data_error("no base learner given"));
    }
    if !(config.clip > 0.0 && config.clip < 0.5) {
        return Err(option_error("clip", format!("{} is not in (0, 0.5)", config.clip)));
    }
    let mut levels: Vec<f64> = w.to_vec();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    let control = config.control.unwrap_or(levels[0]);
    if !levels.contains(&control) {
        return Err(column_error(
            treatment,
            format!("has no row with the control value {control}; values: {levels:?}"),
        ));
    }
    let arms: Vec<f64> = levels.iter().copied().filter(|&v| v != control).collect();
    if arms.is_empty() {
        return Err(column_error(treatment, format!("is constant ({control}): there is no treatment contrast")));
    }
    if arms.len() > 1 && matches!(propensity, Propensity::Known(_) | Propensity::PerUnit { .. }) {
        return Err(column_error(
            treatment,
            format!("has {} arms: a single known propensity applies to 0/1 treatments only; use the design shares or estimate", arms.len()),
        ));
    }
    let data = LearnerData::new(columns, names, config.max_bins)?;
    let folds = match sampling.clusters {
        Some(clusters) => Folds::clustered(w, clusters, config.folds, config.seed, PURPOSE_FOLDS)?,
        None => Folds::stratified(w, config.folds, config.seed, PURPOSE_FOLDS)?,
    };
    let mut stages = Stages { progress, done: 0, total: (arms.len() * stages_per_arm(config)) as u64 };
    let mut arms = arms
        .into_iter()
        .map(|arm| {
            estimate_arm(&data, y, w, treatment, arm, control, propensity, sampling, &folds, config, &mut stages)
        })
        .collect::<Result<Vec<_>>>()?;
    progress("done", stages.total, stages.total);
    let model = config.keep_model.then(|| {
        let models = arms.iter_mut().map(|a| a.model.take().expect("kept with keep_model")).collect();
        CateModel::new(data.binning().clone(), config.max_bins, control, models)
    });
    Ok(CateReport { rows: n, covariates: names.to_vec(), folds: config.folds, arms, model })
}

/// Counts the stages of [`estimate_cate_reporting`] for its progress.
struct Stages<'a> {
    progress: Progress<'a>,
    done: u64,
    total: u64,
}

impl Stages<'_> {
    /// Stage `label` starts.
    fn start(&mut self, label: &str) {
        (self.progress)(label, self.done.min(self.total), self.total);
        self.done += 1;
    }
}

/// The bases whose nuisances are fitted: the first (it scores the candidates) and any other a
/// candidate uses.
fn bases_in_use(config: &CateConfig, wanted: &[MetaLearner]) -> Vec<BaseKind> {
    config
        .bases
        .iter()
        .copied()
        .filter(|&base| base == config.bases[0] || wanted.iter().any(|c| c.base == Some(base)))
        .collect()
}

/// Stages per arm: nuisances per base in use, each candidate, and the refit of the chosen one.
fn stages_per_arm(config: &CateConfig) -> usize {
    let wanted = candidates(config);
    bases_in_use(config, &wanted).len() + wanted.len() + usize::from(config.keep_model && config.select)
}

/// The candidates to run: every learner with every base plus the causal forest when selecting,
/// else the chosen method with the first base.
fn candidates(config: &CateConfig) -> Vec<MetaLearner> {
    let single =
        |learner: Learner| MetaLearner { learner, base: (learner != Learner::Forest).then_some(config.bases[0]) };
    if !config.select {
        return vec![single(config.method)];
    }
    let mut all: Vec<MetaLearner> = config
        .bases
        .iter()
        .flat_map(|&b| Learner::META.into_iter().map(move |learner| MetaLearner { learner, base: Some(b) }))
        .collect();
    all.push(MetaLearner { learner: Learner::Forest, base: None });
    all
}

#[allow(clippy::too_many_arguments)]
fn estimate_arm(
    data: &LearnerData,
    y: &[f64],
    w_all: &[f64],
    treatment: &str,
    arm: f64,
    control: f64,
    propensity: Propensity,
    sampling: Sampling,
    folds: &Folds,
    config: &CateConfig,
    stages: &mut Stages<'_>,
) -> Result<ArmReport> {
    let n = y.len();
    let member: Vec<bool> = w_all.iter().map(|&v| v == arm || v == control).collect();
    let w: Vec<f64> = w_all.iter().map(|&v| (v == arm) as u8 as f64).collect();
    let (treated_rows, control_rows) =
        (w_all.iter().filter(|&&v| v == arm).count(), w_all.iter().filter(|&&v| v == control).count());
    let needed = 2 * config.folds;
    if treated_rows < needed || control_rows < needed {
        return Err(column_error(
            treatment,
            format!(
                "arm {arm} has {treated_rows} rows and control {control} has {control_rows}: cross-fitting with {} folds needs at least {needed} of each",
                config.folds
            ),
        ));
    }
    let pair = Pair { y, w: &w, member: &member, weights: sampling.weights.map(|(w, _)| w) };
    let rows = pair.rows();
    let pair_propensity = match propensity {
        Propensity::Design => PairPropensity::Constant(treated_rows as f64 / (treated_rows + control_rows) as f64),
        Propensity::Known(e) => {
            if !(e > 0.0 && e < 1.0) {
                return Err(option_error("propensity", format!("{e} is not in (0, 1)")));
            }
            PairPropensity::Constant(e)
        }
        Propensity::PerUnit { values, column: name } => {
            check_finite(name, values, n)?;
            if let Some(row) = values.iter().position(|&e| !(e > 0.0 && e < 1.0)) {
                return Err(column_error(
                    name,
                    format!("row {} (1-based) is {}: a propensity must be in (0, 1)", row + 1, values[row]),
                ));
            }
            PairPropensity::PerUnit(values)
        }
        Propensity::Estimate => PairPropensity::Estimate { clip: config.clip },
    };
    let ctx = PairContext {
        data,
        pair,
        folds,
        clusters: sampling.clusters,
        interval_trees: config.intervals.then_some(config.interval_trees),
        max_bins: config.max_bins,
        seed: config.seed,
    };
    let mut timings = Vec::new();
    // Without selection the one candidate keeps its models as it is fitted; with selection the
    // chosen one is fitted again at the end, keeping them.
    let keep_now = config.keep_model && !config.select;

    // Cross-fitted nuisances for every base in use; the first base's score the candidates.
    let wanted = candidates(config);
    let mut nuisances: Vec<(BaseKind, Nuisances)> = Vec::new();
    for base in bases_in_use(config, &wanted) {
        stages.start(&format!("nuisances/{}", base.name()));
        let start = Instant::now();
        let learner = base.nuisance_learner(config.trees);
        // m(x) is needed by the R-learner and, for the first base, by the R-loss of the table.
        let with_m = wanted.iter().any(|c| c.learner == Learner::R && c.base == Some(base))
            || (base == config.bases[0] && (config.select || config.calibrate));
        let keep = if keep_now && base == config.bases[0] { nuisance_keep(config.method) } else { (false, false) };
        let needs = NuisanceNeeds { m: with_m, keep_outcomes: keep.0, keep_propensity: keep.1 };
        let fitted = Nuisances::fit(data, pair, folds, learner.as_ref(), pair_propensity, needs, config.seed)?;
        nuisances.push((base, fitted));
        timings.push(StageTime { stage: format!("nuisances/{}", base.name()), seconds: start.elapsed().as_secs_f64() });
    }
    let scoring = &nuisances[0].1;
    let mut scores = vec![f64::NAN; n];
    for &i in &rows {
        scores[i] = scoring.dr_score(None, i, y[i], w[i]);
    }
    let (ate, ate_se) = aipw_mean_and_se(&scores, &rows, &pair, sampling.clusters);

    let mut estimates: Vec<CandidateEstimates> = Vec::new();
    let mut table: Vec<SelectionRow> = Vec::new();
    let mut estimator = None;
    for meta in wanted {
        stages.start(&meta.label());
        let start = Instant::now();
        let fitted = fit_candidate(meta, &ctx, &nuisances, pair_propensity, config, keep_now)?;
        if fitted.estimator.is_some() {
            estimator = fitted.estimator;
        }
        timings.push(StageTime { stage: meta.label(), seconds: start.elapsed().as_secs_f64() });
        let cate = fitted.cate;
        let mut versions = vec![(false, cate.clone(), cate, fitted.variance, None)];
        if config.calibrate {
            let raw = &versions[0].1;
            let held_out = fold_held_out_calibration(raw, &scores, &rows, folds)?;
            let (map, calibrated) = cross_calibrate(raw, &scores, &rows)?;
            versions.push((true, held_out, calibrated, None, Some(map)));
        }
        for (calibrated, scored, reported, variance, calibration) in versions {
            let candidate = format!("{}{}", meta.label(), if calibrated { " + calibration" } else { "" });
            let (r_loss, r_loss_se) = match &scoring.m {
                Some(m) => Moments::of(r_loss_terms(&scored, y, &w, &m.oof, &scoring.e.oof, &rows)).y_mean_and_se(),
                None => (f64::NAN, f64::NAN),
            };
            let (dr_loss, dr_loss_se) = Moments::of(dr_loss_terms(&scored, &scores, &rows)).y_mean_and_se();
            table.push(SelectionRow {
                candidate: candidate.clone(),
                learner: meta.learner.name().to_string(),
                base: meta.base.map(|b| b.name().to_string()),
                calibrated,
                r_loss,
                r_loss_se,
                dr_loss,
                dr_loss_se,
                rank: 0,
            });
            estimates.push(CandidateEstimates { candidate, meta, calibrated, cate: reported, variance, calibration });
        }
    }
    rank(&mut table, config.loss);
    let chosen = if config.select {
        table[0].candidate.clone()
    } else {
        estimates.iter().find(|c| c.calibrated == config.calibrate).expect("one candidate").candidate.clone()
    };
    let reported = estimates.iter().find(|c| c.candidate == chosen).expect("chosen candidate");
    let cate = reported.cate.clone();
    let cate_variance = reported.variance.clone();
    let intervals = interval_statement(reported, sampling.clusters.is_some());
    let cate_moments = Moments::of(rows.iter().map(|&i| cate[i]));
    let model = if config.keep_model {
        if config.select {
            stages.start("model of the chosen candidate");
        }
        let start = Instant::now();
        let estimator = match estimator {
            Some(e) => e,
            None => refit_kept(reported.meta, &ctx, &mut nuisances, pair_propensity, config)?,
        };
        if config.select {
            timings.push(StageTime {
                stage: "model of the chosen candidate".into(),
                seconds: start.elapsed().as_secs_f64(),
            });
        }
        Some(ArmModel { arm, candidate: chosen.clone(), estimator, calibration: reported.calibration.clone() })
    } else {
        None
    };
    let scoring = nuisances.swap_remove(0).1;
    Ok(ArmReport {
        arm,
        control,
        treated_rows,
        control_rows,
        propensity: scoring.propensity.clone(),
        ate,
        ate_se,
        chosen,
        cate_mean: cate_moments.y_mean(),
        cate_sd: cate_moments.y_sd(),
        selection: table,
        timings,
        intervals,
        cate,
        cate_variance,
        candidates: estimates,
        dr_scores: scores,
        nuisances: scoring,
        model,
    })
}

/// The AIPW average effect over `rows` (the weighted mean of the doubly robust scores) and its
/// standard error: with clusters the CR1 sandwich `√(C/(C − 1) Σ_c (Σ_{i∈c} ω_i(Γ_i − τ̂))²) / Σω`
/// (Cameron & Miller 2015, eq. 12), else `√(n/(n − 1) Σ ω_i²(Γ_i − τ̂)²) / Σω`, which without
/// weights is the usual `sd/√n`.
fn aipw_mean_and_se(scores: &[f64], rows: &[usize], pair: &Pair, clusters: Option<&[u32]>) -> (f64, f64) {
    if pair.weights.is_none() && clusters.is_none() {
        return Moments::of(rows.iter().map(|&i| scores[i])).y_mean_and_se();
    }
    let total: f64 = rows.iter().map(|&i| pair.weight(i)).sum();
    let mean = rows.iter().map(|&i| pair.weight(i) * scores[i]).sum::<f64>() / total;
    let term = |i: usize| pair.weight(i) * (scores[i] - mean);
    // The squared residual sums of the independent groups: clusters, or rows.
    let squares: Vec<f64> = match clusters {
        Some(clusters) => {
            let mut sums = std::collections::BTreeMap::<u32, f64>::new();
            for &i in rows {
                *sums.entry(clusters[i]).or_default() += term(i);
            }
            sums.values().map(|s| s * s).collect()
        }
        None => rows.iter().map(|&i| term(i).powi(2)).collect(),
    };
    // Fewer than two groups leave no spread to estimate: no standard error.
    let groups = squares.len() as f64;
    let se =
        if groups < 2.0 { f64::NAN } else { (squares.iter().sum::<f64>() * groups / (groups - 1.0)).sqrt() / total };
    (mean, se)
}

/// How a candidate's per-unit intervals are computed, or why it has none (`clustered`: the
/// units are clustered).
fn interval_statement(candidate: &CandidateEstimates, clustered: bool) -> String {
    const WHO_HAS_THEM: &str = "the R- and DR-learners with the forest base, and the causal forest, give intervals";
    let meta = candidate.meta;
    match (candidate.variance.is_some(), meta.learner) {
        (true, Learner::Forest) if clustered => "the causal forest's bootstrap of little bags of whole clusters".into(),
        (true, Learner::Forest) => "the causal forest's bootstrap of little bags".into(),
        (true, _) => format!(
            "the honest final-stage forest's bootstrap of little bags ({}-learner pseudo-outcomes taken as given)",
            meta.learner.name().to_uppercase()
        ),
        (false, _) if candidate.calibrated => {
            "none: the isotonic calibration map's uncertainty is not estimated (report the raw estimates for intervals)"
                .into()
        }
        (false, Learner::R | Learner::Dr) if clustered && meta.base == Some(BaseKind::Forest) => {
            "none: with clusters the final-stage forest samples units, and its little-bag variance would treat a \
             cluster's units as independent (the causal forest, which samples whole clusters, gives intervals)"
                .into()
        }
        (false, Learner::R | Learner::Dr | Learner::Forest) if matches!(meta.base, Some(BaseKind::Forest) | None) => {
            "none: not asked for (`intervals`, --intervals on the command line)".into()
        }
        (false, Learner::R | Learner::Dr) => format!(
            "none: the {} base has no variance; the R- and DR-learners carry one with the forest base",
            meta.base.map_or("", |b| b.name())
        ),
        (false, Learner::S) => format!(
            "none: the S-learner differences one model's predictions at w = 1 and w = 0, whose covariance is not \
             estimated ({WHO_HAS_THEM})"
        ),
        (false, Learner::T) => format!(
            "none: the T-learner differences two separately fitted outcome models whose joint variance is not \
             estimated ({WHO_HAS_THEM})"
        ),
        (false, _) => format!(
            "none: the X-learner mixes two final-stage models by the propensity, and their joint variance is not \
             estimated ({WHO_HAS_THEM})"
        ),
    }
}

/// Which nuisance models a learner's model needs: (the outcome models, the propensity model).
fn nuisance_keep(learner: Learner) -> (bool, bool) {
    match learner {
        Learner::T => (true, false),
        Learner::X => (false, true),
        _ => (false, false),
    }
}

/// One candidate's out-of-fold estimates (with their variances when it has them) and, with
/// `keep`, its model.
fn fit_candidate(
    meta: MetaLearner,
    ctx: &PairContext,
    nuisances: &[(BaseKind, Nuisances)],
    propensity: PairPropensity,
    config: &CateConfig,
    keep: bool,
) -> Result<LearnerEstimates> {
    match meta.base {
        Some(base) => {
            let fitted = &nuisances.iter().find(|(b, _)| *b == base).expect("fitted above").1;
            let learner: Box<dyn BaseLearner> = match base {
                BaseKind::Forest => {
                    Box::new(ForestLearner::with_trees(config.trees).with_min_node_size(config.final_min_node_size))
                }
                other => other.learner(config.trees),
            };
            meta_learner_cate(meta.learner, ctx, learner.as_ref(), fitted, keep)
        }
        None => causal_forest_cate(ctx, propensity, config.trees, keep),
    }
}

/// The model of the chosen candidate `meta`, fitted again with its models kept (the same seeds
/// give the same models as in the selection run); nuisance models it needs are refitted too.
fn refit_kept(
    meta: MetaLearner,
    ctx: &PairContext,
    nuisances: &mut [(BaseKind, Nuisances)],
    propensity: PairPropensity,
    config: &CateConfig,
) -> Result<ArmEstimator> {
    if let Some(base) = meta.base {
        let keep = nuisance_keep(meta.learner);
        if keep != (false, false) {
            let slot = nuisances.iter_mut().find(|(b, _)| *b == base).expect("fitted above");
            let with_m = slot.1.m.is_some();
            let learner = base.nuisance_learner(config.trees);
            let needs = NuisanceNeeds { m: with_m, keep_outcomes: keep.0, keep_propensity: keep.1 };
            slot.1 = Nuisances::fit(ctx.data, ctx.pair, ctx.folds, learner.as_ref(), propensity, needs, config.seed)?;
        }
    }
    Ok(fit_candidate(meta, ctx, nuisances, propensity, config, true)?.estimator.expect("kept"))
}

cateye_stats::settings_with!(CateConfig);
