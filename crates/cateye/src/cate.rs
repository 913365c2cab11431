//! The CATE learners job: unit-level rows (any [`Source`]) → the learners of
//! `cateye_learners` (every treatment arm against control) → per-unit estimates, the AIPW
//! effect and the selection table. All statistics live in `cateye_learners`; this module reads,
//! validates and assembles.

use crate::columns::JobColumns;
use crate::error::{Error, Result};
use crate::forest::{PROFILE_BINS, PROFILE_POINTS};
use crate::model::LearnerModel;
use crate::propensity::PropensitySpec;
use crate::units::UnitTable;
use cateye_hte::{cate_profile, CateProfile};
use cateye_io::{OutputDir, Source};
use cateye_stats::{Progress, Z_975};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

use cateye_learners::Sampling;
pub use cateye_learners::{ArmReport, BaseKind, CateConfig, CateReport, Learner};
pub use cateye_learners::{SelectionLoss, SelectionRow};

/// What to estimate: the columns' roles and the learners' settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CateSpec {
    /// Outcome column.
    pub outcome: String,
    /// Treatment column: 0/1, boolean, or numeric arm codes.
    pub treatment: String,
    /// Covariate columns; `None` = every other numeric column.
    pub covariates: Option<Vec<String>>,
    /// Where the propensity comes from (default: the design).
    pub propensity: PropensitySpec,
    /// Sample-weight column: every fit and the AIPW effect are weighted.
    pub weights: Option<String>,
    /// Cluster column: cross-fitting keeps clusters whole, the AIPW SE is cluster-robust.
    pub cluster: Option<String>,
    /// Learners, base learners, folds, calibration, selection.
    pub config: CateConfig,
}

impl CateSpec {
    /// The learners' defaults (the DR-learner on forests, design propensity) for `outcome` on
    /// `treatment`.
    pub fn new(outcome: impl Into<String>, treatment: impl Into<String>) -> Self {
        CateSpec {
            outcome: outcome.into(),
            treatment: treatment.into(),
            covariates: None,
            propensity: PropensitySpec::Design,
            weights: None,
            cluster: None,
            config: CateConfig::default(),
        }
    }
}

/// The summary of a CATE fit (written as `cate.json`).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CateSummary {
    /// The input's label (its file name).
    pub file: String,
    /// Outcome column.
    pub outcome: String,
    /// Treatment column.
    pub treatment: String,
    /// The learner reported (unless selection chose another).
    pub method: String,
    /// Base learners.
    pub bases: Vec<String>,
    /// Whether estimates were calibrated.
    pub calibrate: bool,
    /// Whether the selection table chose the estimates.
    pub select: bool,
    /// The loss ranking the selection table.
    pub selection_loss: String,
    /// Trees of every forest.
    pub trees: usize,
    /// Seed.
    pub seed: u64,
    /// Per arm: AIPW effect, propensity summary, reported candidate, selection table.
    #[serde(flatten)]
    pub report: CateReport,
    /// Per arm, in the order of `arms`: histogram and quantiles of the reported estimates, and
    /// 100 units at evenly spaced ranks (the learners give no per-unit intervals).
    pub cate_profiles: Vec<CateProfile>,
    /// Seconds reading the columns.
    pub load_seconds: f64,
    /// Seconds fitting.
    pub fit_seconds: f64,
    /// Files written.
    pub outputs: Vec<String>,
}

/// A fitted CATE job: its summary and the per-unit estimates.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CateRun {
    /// The summary (`cate.json`).
    pub summary: CateSummary,
    /// Per unit: `treatment`, and per arm (suffixed `_<arm>` with several arms) `cate`,
    /// `dr_score`, `mu0`, `mu1`, `propensity`.
    pub units: UnitTable,
    /// The fitted learner, which predicts new rows (when `config.keep_model` was set).
    pub model: Option<LearnerModel>,
}

impl CateRun {
    /// Writes the per-unit estimates as `units_file` (Parquet, or CSV by its extension) and the
    /// summary as `cate.json` into `out`, replacing an earlier run's files there all together
    /// (see [`OutputDir`]); records both in the summary's outputs.
    pub fn write(&mut self, out: &mut OutputDir, units_file: &str) -> Result<Vec<PathBuf>> {
        self.units.stage(out, units_file)?;
        self.summary.outputs = [units_file, "cate.json"].map(|f| out.dir().join(f).display().to_string()).to_vec();
        let summary = out.stage("cate.json", crate::JOB_SCHEMA_VERSION)?;
        cateye_io::write_json(&summary, &self.summary)?;
        Ok(out.commit()?)
    }
}

/// Runs the learners of `spec` on the rows of `source`.
pub fn fit_cate(source: &Source, spec: &CateSpec) -> Result<CateRun> {
    fit_cate_reporting(source, spec, &cateye_stats::silent)
}

/// [`fit_cate`], reporting its stages to `progress`: "reading" (rows), then each base's
/// nuisances and each candidate learner (counted in stages).
pub fn fit_cate_reporting(source: &Source, spec: &CateSpec, progress: Progress<'_>) -> Result<CateRun> {
    let start = Instant::now();
    let input = source.label();
    crate::forest::check_distinct_roles(input, &spec.outcome, &spec.treatment)?;
    let mut roles: Vec<(&str, &'static str)> = vec![(&spec.outcome, "outcome"), (&spec.treatment, "treatment")];
    if let Some(c) = spec.propensity.column() {
        roles.push((c, "propensity"));
    }
    if let Some(c) = &spec.weights {
        roles.push((c, "weights"));
    }
    let mut columns = JobColumns::read(source, &roles, spec.covariates.as_deref(), spec.cluster.as_deref(), progress)?;
    let x = columns.take_covariates();
    let (y, w) = (columns.role(&spec.outcome), columns.role(&spec.treatment));
    let load_seconds = start.elapsed().as_secs_f64();

    let t = Instant::now();
    let propensity = spec.propensity.resolve(spec.propensity.column().map(|c| columns.role(c)));
    // Missing outcomes, treatments, weights or propensities are refused by cateye_learners,
    // naming column and row; missing covariate values are incorporated in the fits.
    let clusters: Option<Vec<u32>> = columns.cluster_codes();
    let sampling =
        Sampling { weights: spec.weights.as_deref().map(|c| (columns.role(c), c)), clusters: clusters.as_deref() };
    let mut report = cateye_learners::estimate_cate_sampled(
        x,
        &columns.covariates,
        y,
        w,
        &spec.outcome,
        &spec.treatment,
        propensity,
        sampling,
        &spec.config,
        progress,
    )
    .map_err(|e| Error::fit(input, e))?;
    let model = report.model.take().map(|learner| LearnerModel {
        outcome: spec.outcome.clone(),
        treatment: spec.treatment.clone(),
        learner,
    });
    let fit_seconds = t.elapsed().as_secs_f64();

    let binary = report.arms.len() == 1;
    let mut out: Vec<(String, Vec<f64>)> = vec![("treatment".into(), w.to_vec())];
    for arm in &report.arms {
        let suffix = if binary { String::new() } else { format!("_{}", arm.arm) };
        out.push((format!("cate{suffix}"), arm.cate.clone()));
        if let Some(variance) = &arm.cate_variance {
            let se: Vec<f64> = variance.iter().map(|v| v.sqrt()).collect();
            let bound = |sign: f64| arm.cate.iter().zip(&se).map(|(t, s)| t + sign * Z_975 * s).collect();
            let (lower, upper) = (bound(-1.0), bound(1.0));
            out.push((format!("se{suffix}"), se));
            out.push((format!("ci_lower{suffix}"), lower));
            out.push((format!("ci_upper{suffix}"), upper));
        }
        out.push((format!("dr_score{suffix}"), arm.dr_scores.clone()));
        out.push((format!("mu0{suffix}"), arm.nuisances.mu0.oof.clone()));
        out.push((format!("mu1{suffix}"), arm.nuisances.mu1.oof.clone()));
        out.push((format!("propensity{suffix}"), arm.nuisances.e.oof.clone()));
    }
    let config = &spec.config;
    let cate_profiles = report
        .arms
        .iter()
        .map(|arm| {
            let (finite, se): (Vec<f64>, Vec<f64>) = match &arm.cate_variance {
                Some(variance) => {
                    arm.cate.iter().zip(variance).filter(|(t, _)| t.is_finite()).map(|(t, v)| (*t, v.sqrt())).unzip()
                }
                None => (arm.cate.iter().copied().filter(|v| v.is_finite()).collect(), Vec::new()),
            };
            cate_profile(&finite, arm.cate_variance.as_ref().map(|_| se.as_slice()), PROFILE_BINS, PROFILE_POINTS)
        })
        .collect();
    let summary = CateSummary {
        file: input.to_string(),
        outcome: spec.outcome.clone(),
        treatment: spec.treatment.clone(),
        method: config.method.name().to_string(),
        bases: config.bases.iter().map(|b| b.name().to_string()).collect(),
        calibrate: config.calibrate,
        select: config.select,
        selection_loss: format!("{:?}", config.loss).to_lowercase(),
        trees: config.trees,
        seed: config.seed,
        report,
        cate_profiles,
        load_seconds,
        fit_seconds,
        outputs: Vec::new(),
    };
    Ok(CateRun { summary, units: UnitTable::new(out), model })
}
