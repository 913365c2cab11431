//! The tier-1 scan, computed from [`SuffStats`] alone: SRM, average effects (raw and CUPED),
//! variance-ratio detection, per-dimension heterogeneity with small levels pooled, multiple
//! testing across each family, and the ranked findings.

use crate::collect::{collect_by_experiment, collect_part_by_experiment, ExperimentSpans, Progress};
use crate::config::{ScanConfig, Tables};
use crate::error::{Result, ScanError};
use crate::partition::{partition_by_experiment, EXPERIMENTS_PER_FILE};
use crate::results::*;
use crate::suffstats::{ExperimentStats, SuffStats};
use cateye_io::{quantile_edges, Layout, Source};
use cateye_stats::srm_test;
use cateye_stats::{adjust, hierarchical_adjust, Correction};
use cateye_stats::{cuped_theta, difference, mean_difference, relative_lift, with_mean_variances};
use cateye_stats::{heterogeneity, LevelEffect};
use cateye_stats::{variance_ratio_test, ArmSpread};
use cateye_stats::{JointMoments, Moments};
use rayon::prelude::*;
use std::sync::mpsc::sync_channel;

/// Label of the level small levels are pooled into.
pub const OTHER_LEVEL: &str = "other";

/// Levels listed per finding at most.
const FINDING_LEVELS: usize = 4;

/// Rows of one experiment, before multiple testing.
#[derive(Default)]
struct ExperimentRows {
    srm: Option<SrmRow>,
    effects: Vec<EffectRow>,
    detection: Vec<DetectionRow>,
    dimensions: Vec<DimensionRow>,
}

/// Run the scan on sufficient statistics; `source` names the input in the results and in
/// errors. Fails when a planned split does not give every arm of an experiment a positive weight.
pub fn scan(stats: &SuffStats, config: &ScanConfig, source: Option<String>) -> Result<ScanResult> {
    let input = source.as_deref().unwrap_or("statistics");
    for e in &stats.experiments {
        crate::collect::check_arms(e, input, &config.variant, &stats.control)?;
    }
    check_planned_splits(stats, config, input)?;
    let per_exp: Vec<ExperimentRows> =
        stats.experiments.par_iter().map(|e| scan_experiment(stats, e, config)).collect();
    let mut families = Families::default();
    for r in per_exp {
        families.push(r, Keep::All);
    }
    Ok(families.finish(stats, config, source, Vec::new(), Tables::Csv).0)
}

/// Receives the dimension rows of [`scan_by_experiment`] as each experiment is scanned (the
/// per-dimension and per-level tables of a sweep too large to hold), then their q-values.
pub trait DimensionSink {
    /// The dimension rows of one experiment, before the correction (`q_value` NaN, `flagged`
    /// false), in the order of the experiment's rows.
    fn rows(&mut self, rows: &[DimensionRow]) -> Result<()>;
    /// The q-value of every row received, in the order received, once all are in.
    fn q_values(&mut self, q_values: &[f64], alpha: f64) -> Result<()>;
}

/// The tier-1 scan of the unit-level rows of `source`, experiment by experiment: each
/// experiment is tested as soon as its last row is read and its statistics released (see
/// [`collect_by_experiment`]), its dimension rows go to `sink`, and the correction runs on the
/// p-values of all of them at the end. Memory holds the experiments being read, one p-value per
/// dimension test, and the rows of tests with `p ≤ alpha` (candidate findings); the result's
/// `dimensions` keeps the flagged rows only. Results equal [`scan`]'s on the same rows (the
/// flagged rows, their q-values, the findings) in any order of experiments in the file: bit for
/// bit when both read the same batches, to rounding otherwise (this reads batches of about four
/// experiments, [`ExperimentSpans::batch_rows`], and sums in another order).
pub fn scan_by_experiment(
    source: &Source,
    config: &ScanConfig,
    sink: &mut (dyn DimensionSink + Send),
    progress: Progress<'_>,
) -> Result<(SuffStats, ScanResult)> {
    let spans = ExperimentSpans::read(source, config)?;
    let mut families = Families::default();
    let alpha = config.alpha;
    let mut warnings = Vec::new();
    // The sink writes on its own thread while the next experiments are read and tested.
    let stats = std::thread::scope(|scope| -> Result<SuffStats> {
        let (tx, rx) = sync_channel::<Vec<DimensionRow>>(2);
        let sink = &mut *sink;
        let writer = scope.spawn(move || -> Result<()> {
            for rows in rx {
                sink.rows(&rows)?;
            }
            Ok(())
        });
        let on_experiments = |done: Vec<SuffStats>| -> Result<()> {
            for one in &done {
                check_planned_splits(one, config, source.label())?;
            }
            let scanned: Vec<ExperimentRows> =
                done.par_iter().map(|one| scan_experiment(one, &one.experiments[0], config)).collect();
            for rows in scanned {
                let rows = families.push(rows, Keep::UpTo(alpha));
                if tx.send(rows).is_err() {
                    break; // the writer failed: its error is returned below
                }
            }
            Ok(())
        };
        let read = if spans.max_interleaved > EXPERIMENTS_PER_FILE {
            read_partitioned(source, config, &spans, progress, on_experiments).map(|(stats, files)| {
                warnings.push(format!(
                    "the rows are not grouped by experiment (up to {} experiments interleave): they were partitioned \
                     by experiment into {files} temporary files first (two passes); input grouped by experiment is \
                     read once",
                    spans.max_interleaved
                ));
                stats
            })
        } else {
            // Batches of a few experiments, so that few experiments' statistics are held at once.
            let reading = ScanConfig { batch_rows: spans.batch_rows(config.batch_rows), ..config.clone() };
            collect_by_experiment(source, &reading, &spans, progress, on_experiments)
        };
        drop(tx);
        let written = writer.join().expect("the table writer does not panic");
        let stats = read?;
        written?;
        Ok(stats)
    })?;
    let (result, q) = families.finish(&stats, config, Some(source.label().to_string()), warnings, Tables::Parquet);
    sink.q_values(&q, alpha)?;
    Ok((stats, result))
}

/// The scan by experiment of input not grouped by experiment: its rows partitioned by
/// experiment into temporary files ([`partition_by_experiment`]), read one after the other with
/// the whole input's bin edges. Returns the statistics without experiments and the number of
/// files.
fn read_partitioned(
    source: &Source,
    config: &ScanConfig,
    spans: &ExperimentSpans,
    progress: Progress<'_>,
    mut on_experiments: impl FnMut(Vec<SuffStats>) -> Result<()>,
) -> Result<(SuffStats, usize)> {
    let layout = Layout::resolve(source, &config.roles())?;
    let edges = quantile_edges(source, &layout, config.bins, config.batch_rows)?;
    let partition = partition_by_experiment(source, &layout, spans.experiments(), config.batch_rows)?;
    // The parts hold the resolved columns alone: name the roles.
    let part_config = ScanConfig {
        unit: None,
        metrics: Some(layout.metrics.iter().map(|m| m.name.clone()).collect()),
        dimensions: Some(layout.dimensions.iter().map(|d| d.name.clone()).collect()),
        ignore: Vec::new(),
        ..config.clone()
    };
    let files = partition.files.len();
    let mut stats: Option<SuffStats> = None;
    // Rows of the parts read before this one: progress counts over the whole input.
    let mut before = 0u64;
    for (k, file) in partition.files.iter().enumerate() {
        let label = format!("{} (part {} of {files}, partitioned by experiment)", source.label(), k + 1);
        let part = Source::open(file)?.with_label(label);
        let part_spans = ExperimentSpans::read(&part, &part_config)?;
        let reading = ScanConfig { batch_rows: part_spans.batch_rows(config.batch_rows), ..part_config.clone() };
        let part_progress = |rows: u64, _: Option<u64>| progress(before + rows, Some(spans.rows_read()));
        let read = collect_part_by_experiment(
            &part,
            &reading,
            &part_spans,
            Some(edges.clone()),
            &part_progress,
            &mut on_experiments,
        )?;
        before += read.rows;
        match &mut stats {
            None => stats = Some(read),
            Some(stats) => stats.merge(&read).expect("parts of one input have the same metrics and dimensions"),
        }
    }
    Ok((stats.expect("at least one part"), files))
}

/// Which dimension rows [`Families::push`] keeps.
enum Keep {
    /// Every row (moved in).
    All,
    /// The rows with `p ≤ alpha`, the only ones a correction can flag (`q ≥ p`), copied in; the
    /// rows go back to the caller.
    UpTo(f64),
}

/// The rows of the scanned experiments, gathered for the corrections across experiments.
#[derive(Default)]
struct Families {
    srm: Vec<SrmRow>,
    effects: Vec<EffectRow>,
    detection: Vec<DetectionRow>,
    /// The dimension rows kept (all of them, or the candidate findings).
    dimensions: Vec<DimensionRow>,
    /// Index of each kept row among all dimension rows.
    kept: Vec<usize>,
    /// p-value of every dimension row (NaN without a test), and its experiment and
    /// (experiment, metric, arm) pair, numbered in order of appearance: the hierarchy of the
    /// hierarchical correction.
    p: Vec<f64>,
    experiment_of: Vec<u32>,
    pair_of: Vec<u32>,
    counts: DimensionCounts,
}

impl Families {
    /// Add one experiment's rows, keeping the dimension rows `keep` accepts.
    fn push(&mut self, rows: ExperimentRows, keep: Keep) -> Vec<DimensionRow> {
        let experiment = self.srm.len() as u32;
        self.srm.extend(rows.srm);
        self.effects.extend(rows.effects);
        self.detection.extend(rows.detection);
        let mut pair = self.pair_of.last().map_or(0, |&p| p + 1);
        let mut previous: Option<(&str, &str)> = None;
        for r in &rows.dimensions {
            let key = (r.metric.as_str(), r.arm.as_str());
            if previous.is_some_and(|p| p != key) {
                pair += 1;
            }
            previous = Some(key);
            self.counts.rows += 1;
            self.counts.tested += usize::from(r.test.is_some());
            self.counts.pooled += usize::from(!r.pooled.is_empty());
            self.p.push(r.test.map_or(f64::NAN, |t| t.p_value));
            self.experiment_of.push(experiment);
            self.pair_of.push(pair);
        }
        let first = self.p.len() - rows.dimensions.len();
        match keep {
            Keep::All => {
                self.kept.extend(first..self.p.len());
                self.dimensions.extend(rows.dimensions);
                Vec::new()
            }
            Keep::UpTo(alpha) => {
                for (k, r) in rows.dimensions.iter().enumerate() {
                    if r.test.is_some_and(|t| t.p_value <= alpha) {
                        self.kept.push(first + k);
                        self.dimensions.push(r.clone());
                    }
                }
                rows.dimensions
            }
        }
    }

    /// Multiple testing, one family each, the findings, and the result; with the q-value of
    /// every dimension row (kept or not) in the order pushed. Tables are put in experiment order.
    fn finish(
        mut self,
        stats: &SuffStats,
        config: &ScanConfig,
        source: Option<String>,
        mut warnings: Vec<String>,
        tables: Tables,
    ) -> (ScanResult, Vec<f64>) {
        let c = config.correction;
        let (srm, effects, detection) = (&mut self.srm, &mut self.effects, &mut self.detection);
        let q = adjust(&srm.iter().map(|r| r.test.as_ref().map_or(f64::NAN, |t| t.p_value)).collect::<Vec<_>>(), c);
        for (r, q) in srm.iter_mut().zip(q) {
            r.q_value = q;
            let p = r.test.as_ref().map_or(f64::NAN, |t| t.p_value);
            r.mismatch = p <= config.srm_alpha;
            r.warning = !r.mismatch && p <= config.srm_warning;
        }
        let q = adjust(
            &effects.iter().map(|r| r.cuped.as_ref().map_or(r.ate.p_value, |c| c.ate.p_value)).collect::<Vec<_>>(),
            c,
        );
        effects.iter_mut().zip(q).for_each(|(r, q)| r.q_value = q);
        let q = adjust(&detection.iter().map(|r| r.test.map_or(f64::NAN, |t| t.p_value)).collect::<Vec<_>>(), c);
        detection.iter_mut().zip(q).for_each(|(r, q)| r.q_value = q);
        let q = dimension_q_values(&self.p, &self.experiment_of, &self.pair_of, c);
        self.counts.flagged = q.iter().filter(|&&q| q <= config.alpha).count();
        for (r, &i) in self.dimensions.iter_mut().zip(&self.kept) {
            r.q_value = q[i];
            r.flagged = q[i] <= config.alpha;
        }
        if tables == Tables::Parquet {
            // Only candidates were kept: the result lists the flagged ones.
            self.dimensions.retain(|r| r.flagged);
        }
        // In experiment order, whatever the order in which experiments were read.
        let by_name = |a: &String, b: &String| a.cmp(b);
        self.srm.sort_by(|a, b| by_name(&a.experiment, &b.experiment));
        self.effects.sort_by(|a, b| by_name(&a.experiment, &b.experiment));
        self.detection.sort_by(|a, b| by_name(&a.experiment, &b.experiment));
        self.dimensions.sort_by(|a, b| by_name(&a.experiment, &b.experiment));

        let findings = findings(&self.dimensions, &self.detection, config.alpha);
        if let Some(c) = &config.cluster {
            if !self.effects.is_empty() && self.effects.iter().all(|e| e.cluster_robust) {
                warnings.push(format!(
                    "average effects have cluster-robust (CR1) standard errors on column '{c}'; the variance-ratio \
                     and dimension tests still assume independently randomized units"
                ));
            } else {
                warnings.push(format!(
                    "cluster column '{c}' given, but these statistics carry no cluster sums (merged or read from a \
                     table): every standard error assumes independently randomized units"
                ));
            }
        }
        let result = ScanResult {
            schema_version: SCHEMA_VERSION,
            input: InputSummary {
                source,
                rows: stats.rows,
                rows_skipped: stats.rows_skipped,
                experiments: self.srm.len(),
                metrics: stats.metrics.clone(),
                dimensions: stats
                    .dimensions
                    .iter()
                    .map(|d| DimensionSummary {
                        name: d.name.clone(),
                        kind: d.kind,
                        levels: d.levels.len(),
                        edges: d.edges.clone(),
                    })
                    .collect(),
                warnings,
            },
            settings: Settings {
                alpha: config.alpha,
                confidence: config.confidence,
                correction: config.correction,
                srm_alpha: config.srm_alpha,
                srm_warning: config.srm_warning,
                min_units_per_arm: config.min_units_per_arm,
                tables,
            },
            srm: self.srm,
            effects: self.effects,
            detection: self.detection,
            dimensions: self.dimensions,
            dimension_counts: self.counts,
            findings,
        };
        (result, q)
    }
}

/// q-values of the dimension tests under `correction`: across all of them, or, for the
/// hierarchical correction (Yekutieli 2008), in the tree experiment → (metric, arm) pair →
/// dimension, scaled so that `q ≤ alpha` keeps the FDR of the flagged dimensions at `alpha`.
fn dimension_q_values(p: &[f64], experiment_of: &[u32], pair_of: &[u32], correction: Correction) -> Vec<f64> {
    match correction {
        Correction::Hierarchical => {
            hierarchical_adjust(p, &[experiment_of, pair_of]).expect("pairs are numbered within their experiment")
        }
        _ => adjust(p, correction),
    }
}

/// Every arm of an experiment with a configured split must have a positive weight.
fn check_planned_splits(stats: &SuffStats, config: &ScanConfig, input: &str) -> Result<()> {
    for e in stats.experiments.iter().filter(|e| config.has_planned_split(&e.name)) {
        for arm in &e.arms {
            match config.planned_weight(&e.name, arm) {
                Some(w) if w.is_finite() && w > 0.0 => {}
                other => {
                    return Err(ScanError::BadSplit {
                        input: input.to_string(),
                        experiment: e.name.clone(),
                        message: format!(
                            "arm '{arm}' has weight {other:?}; expected a positive weight for every arm ({})",
                            e.arms.join(", ")
                        ),
                    })
                }
            }
        }
    }
    Ok(())
}

/// Arms, units and planned shares for the SRM test of `e`: the configured split (arms it names
/// that have no unit are included with zero units, so that a missing arm is a mismatch), or an
/// equal split of the arms present.
fn srm_arms(e: &ExperimentStats, config: &ScanConfig) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    let (mut arms, mut units) = (e.arms.clone(), e.units.clone());
    if !config.has_planned_split(&e.name) {
        let k = arms.len() as f64;
        return (arms, units, vec![1.0 / k; e.arms.len()]);
    }
    let planned_arms = config.experiment_split.get(&e.name).unwrap_or(&config.split);
    for arm in planned_arms.keys() {
        if !arms.contains(arm) {
            arms.push(arm.clone());
            units.push(0.0);
        }
    }
    let w: Vec<f64> = arms.iter().map(|a| config.planned_weight(&e.name, a).unwrap_or(f64::NAN)).collect();
    let s: f64 = w.iter().sum();
    (arms, units, w.iter().map(|x| x / s).collect())
}

fn scan_experiment(stats: &SuffStats, e: &ExperimentStats, config: &ScanConfig) -> ExperimentRows {
    let mut rows = ExperimentRows::default();
    let (arms, units, planned) = srm_arms(e, config);
    rows.srm = Some(SrmRow {
        experiment: e.name.clone(),
        test: srm_test(&units, &planned),
        arms,
        units,
        planned,
        q_value: f64::NAN,
        mismatch: false,
        warning: false,
    });
    let Some(ci) = e.control_index(&stats.control) else { return rows };
    for (mi, metric) in stats.metrics.iter().enumerate() {
        let first_row = rows.dimensions.len();
        let ms = &e.metrics[mi];
        let marginals: Vec<Moments> = ms.overall.iter().map(JointMoments::marginal).collect();
        let theta = metric.pre.as_ref().and_then(|_| cuped_theta(&marginals));
        let x_bar = pooled_x_mean(&marginals);
        for ai in (0..e.arms.len()).filter(|&a| a != ci) {
            let (t, c) = (&marginals[ai], &marginals[ci]);
            let pooled = t.merged(c);
            let binary = pooled.y_is_binary();
            let two_valued = pooled.y_is_two_valued();
            let level = config.confidence;
            // Cluster-robust (CR1) variances of the arm means when the statistics carry clusters.
            let clusters = ms.clustered.as_ref().map(|cl| (cl[ai], cl[ci]));
            let estimates = |theta: f64| match clusters {
                Some((ct, cc)) => with_mean_variances(
                    t,
                    c,
                    theta,
                    x_bar,
                    (ct.mean_variance(theta), cc.mean_variance(theta)),
                    ct.g + cc.g - 2.0,
                    level,
                ),
                None => (difference(t, c, theta, level), relative_lift(t, c, theta, x_bar, level)),
            };
            let (ate, lift) = estimates(0.0);
            let cuped = theta.zip(metric.pre.as_ref()).map(|(theta, cov)| {
                let (adj, adj_lift) = estimates(theta);
                CupedEffect {
                    covariate: cov.clone(),
                    theta,
                    pre_imputed: [ms.pre_imputed[ai], ms.pre_imputed[ci]],
                    lift: adj_lift,
                    variance_reduction: 1.0 - (adj.se / ate.se).powi(2),
                    ate: adj,
                }
            });
            rows.effects.push(EffectRow {
                experiment: e.name.clone(),
                metric: metric.name.clone(),
                arm: e.arms[ai].clone(),
                control: e.arms[ci].clone(),
                n: [t.n, c.n],
                missing: [ms.missing[ai], ms.missing[ci]],
                mean: [t.y_mean(), c.y_mean()],
                binary,
                lift,
                ate,
                cuped,
                cluster_robust: clusters.is_some(),
                clusters: clusters.map(|(ct, cc)| [ct.g, cc.g]),
                q_value: f64::NAN,
            });
            rows.detection.push(detect(e, mi, ai, ci, theta, two_valued, &stats.metrics[mi].name));
            for d in 0..stats.dimensions.len() {
                rows.dimensions.push(dimension_row(stats, e, mi, ai, ci, d, theta.unwrap_or(0.0), config));
            }
        }
        rank_dimensions(&mut rows.dimensions[first_row..]);
    }
    rows
}

fn pooled_x_mean(arms: &[Moments]) -> f64 {
    let n: f64 = arms.iter().map(|m| m.n).sum();
    if n == 0.0 {
        return 0.0;
    }
    arms.iter().map(|m| m.n * m.x_mean()).sum::<f64>() / n
}

/// Variance-ratio test of arm `ai` against control on CUPED residuals when available; not run
/// for a metric with at most two values, whose variance is a function of its mean.
fn detect(
    e: &ExperimentStats,
    mi: usize,
    ai: usize,
    ci: usize,
    theta: Option<f64>,
    two_valued: bool,
    metric: &str,
) -> DetectionRow {
    let ms = &e.metrics[mi];
    let on_residual = theta.is_some() && ms.joint;
    let spread = |a: usize| {
        let j = &ms.overall[a];
        let (m2, m4) = if on_residual { j.residual_m2_m4(theta.unwrap_or(0.0)) } else { (j.m[2][0], j.m[4][0]) };
        ArmSpread { n: j.n(), m2, m4 }
    };
    let test = if two_valued { None } else { variance_ratio_test(spread(ai), spread(ci)) };
    DetectionRow {
        experiment: e.name.clone(),
        metric: metric.to_string(),
        arm: e.arms[ai].clone(),
        status: if two_valued {
            "uninformative_two_valued".into()
        } else if test.is_some() {
            "tested".into()
        } else {
            "insufficient_data".into()
        },
        on: if on_residual { "cuped_residual".into() } else { "outcome".into() },
        test,
        q_value: f64::NAN,
    }
}

/// Per-level effects of arm `ai` in dimension `d`, with small levels pooled, and the
/// heterogeneity test across them.
#[allow(clippy::too_many_arguments)]
fn dimension_row(
    stats: &SuffStats,
    e: &ExperimentStats,
    mi: usize,
    ai: usize,
    ci: usize,
    d: usize,
    theta: f64,
    config: &ScanConfig,
) -> DimensionRow {
    let dim = &stats.dimensions[d];
    let units = &e.level_units[d];
    let cells = &e.metrics[mi].levels[d];
    let min = config.min_units_per_arm as f64;
    let mut groups: Vec<(String, Vec<String>, Moments, Moments)> = Vec::new();
    let mut other: (Vec<String>, Moments, Moments) = (Vec::new(), Moments::default(), Moments::default());
    for (l, label) in dim.levels.iter().enumerate() {
        // Only the two arms compared matter; a level is small when either has fewer than
        // `min` units with a value of this metric.
        if units[l][ai] == 0.0 && units[l][ci] == 0.0 {
            continue;
        }
        let small = cells[l][ai].n < min || cells[l][ci].n < min;
        if small {
            other.0.push(label.clone());
            other.1.merge(&cells[l][ai]);
            other.2.merge(&cells[l][ci]);
        } else {
            groups.push((label.clone(), Vec::new(), cells[l][ai], cells[l][ci]));
        }
    }
    let pooled = other.0.clone();
    if !other.0.is_empty() {
        groups.push((OTHER_LEVEL.to_string(), other.0, other.1, other.2));
    }
    let total_n: f64 = groups.iter().map(|g| g.2.n + g.3.n).sum();
    let mut levels = Vec::new();
    let mut excluded = Vec::new();
    let mut inputs = Vec::new();
    for (label, members, t, c) in groups {
        if t.n < 2.0 || c.n < 2.0 {
            excluded.push(label);
            continue;
        }
        let (effect, se, df) = mean_difference(&t, &c, theta);
        if !(effect.is_finite() && se.is_finite() && se > 0.0) {
            // No variation in the level (e.g. a metric constant there): no test information.
            excluded.push(label);
            continue;
        }
        inputs.push(LevelEffect { estimate: effect, variance: se * se, df, share: (t.n + c.n) / total_n });
        levels.push(LevelEffectRow { level: label, pooled_from: members, n: [t.n, c.n], effect, se });
    }
    let test = heterogeneity(&inputs);
    DimensionRow {
        experiment: e.name.clone(),
        metric: stats.metrics[mi].name.clone(),
        arm: e.arms[ai].clone(),
        dimension: dim.name.clone(),
        cuped: theta != 0.0,
        levels,
        pooled,
        excluded,
        explained_sd: test.map_or(f64::NAN, |t| t.explained_sd()),
        test,
        q_value: f64::NAN,
        rank: 0,
        flagged: false,
    }
}

/// Rank the dimensions of each arm of one metric by explained variance (1 = most); `rows` are
/// the metric's rows, arm after arm.
fn rank_dimensions(rows: &mut [DimensionRow]) {
    let key = |r: &DimensionRow| r.test.map_or(-1.0, |t| t.explained_variance);
    let mut start = 0;
    while start < rows.len() {
        let end = start + rows[start..].iter().take_while(|r| r.arm == rows[start].arm).count();
        let arm = &mut rows[start..end];
        let mut idx: Vec<usize> = (0..arm.len()).collect();
        idx.sort_by(|&a, &b| key(&arm[b]).total_cmp(&key(&arm[a])).then(a.cmp(&b)));
        for (rank, &i) in idx.iter().enumerate() {
            arm[i].rank = rank + 1;
        }
        start = end;
    }
}

/// Flagged dimensions and unexplained detections, strongest evidence first.
fn findings(dimensions: &[DimensionRow], detection: &[DetectionRow], alpha: f64) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for r in dimensions.iter().filter(|r| r.flagged) {
        let t = r.test.expect("flagged rows have a test");
        let mut levels: Vec<LevelDeviation> = r
            .levels
            .iter()
            .map(|l| LevelDeviation {
                level: l.level.clone(),
                effect: l.effect,
                se: l.se,
                deviation: l.effect - t.population_mean,
            })
            .collect();
        levels.sort_by(|a, b| (b.deviation.abs() / b.se).total_cmp(&(a.deviation.abs() / a.se)));
        levels.truncate(FINDING_LEVELS);
        out.push(Finding {
            kind: "dimension".into(),
            experiment: r.experiment.clone(),
            metric: r.metric.clone(),
            arm: r.arm.clone(),
            dimension: Some(r.dimension.clone()),
            q_value: r.q_value,
            p_value: t.p_value,
            explained_sd: Some(r.explained_sd),
            average_effect: t.population_mean,
            levels,
        });
    }
    // Pairs with a flagged dimension, looked up by key (linear in the number of tests).
    let explained: std::collections::HashSet<(&str, &str, &str)> = dimensions
        .iter()
        .filter(|d| d.flagged)
        .map(|d| (d.experiment.as_str(), d.metric.as_str(), d.arm.as_str()))
        .collect();
    for r in detection.iter().filter(|r| r.q_value <= alpha) {
        if explained.contains(&(r.experiment.as_str(), r.metric.as_str(), r.arm.as_str())) {
            continue;
        }
        let t = r.test.expect("tested rows have a test");
        out.push(Finding {
            kind: "unexplained".into(),
            experiment: r.experiment.clone(),
            metric: r.metric.clone(),
            arm: r.arm.clone(),
            dimension: None,
            q_value: r.q_value,
            p_value: t.p_value,
            explained_sd: None,
            average_effect: f64::NAN,
            levels: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.q_value.total_cmp(&b.q_value).then(a.p_value.total_cmp(&b.p_value)));
    out
}
