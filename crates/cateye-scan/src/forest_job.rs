//! The `cateye forest` job: read one experiment's unit-level rows, fit the honest causal forest
//! (`cateye_forest`), run its analyses and write per-unit effects and a JSON summary.
//! All statistics live in `cateye_forest`; this module only loads, validates and writes.

use crate::data::columns::{pick_covariates, read_ids, read_numeric};
use crate::data::unit_table::write_unit_table;
use crate::data::Source;
use crate::error::{Result, ScanError};
use cateye_forest::analysis::{
    average_treatment_effect, doubly_robust_scores, rank_average_treatment_effect, test_calibration,
    variable_importance, AteEstimate, CalibrationTest, Rate, RateOptions, TargetSample,
};
use cateye_forest::{fit_causal_forest, CausalInput, ForestData, ForestOptions, Propensity};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the propensity comes from.
#[derive(Clone, Debug)]
pub enum PropensitySpec {
    /// Estimate it with a regression forest (observational data).
    Estimate,
    /// The known assignment probability of a randomized experiment.
    Value(f64),
    /// A column with one probability per unit.
    Column(String),
}

impl PropensitySpec {
    /// A number in (0, 1) is a value; anything else names a column.
    pub fn parse(text: &str) -> Self {
        match text.parse::<f64>() {
            Ok(v) => PropensitySpec::Value(v),
            Err(_) => PropensitySpec::Column(text.to_string()),
        }
    }
}

/// What to fit and where to write it.
#[derive(Clone, Debug)]
pub struct ForestJob {
    pub file: PathBuf,
    pub outcome: String,
    pub treatment: String,
    /// Covariate columns; `None` = every other numeric column.
    pub covariates: Option<Vec<String>>,
    pub propensity: PropensitySpec,
    pub weights: Option<String>,
    pub cluster: Option<String>,
    pub options: ForestOptions,
    pub max_bins: usize,
    /// Per-unit output file (.parquet or .csv).
    pub output: PathBuf,
    /// JSON summary file.
    pub summary: PathBuf,
}

/// Variable importance of one covariate.
#[derive(Clone, Debug, Serialize)]
pub struct Importance {
    pub covariate: String,
    pub importance: f64,
}

/// Wall-clock seconds per stage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct JobTimings {
    pub load: f64,
    pub binning: f64,
    pub nuisance: f64,
    pub forest: f64,
    pub oob_predictions: f64,
    pub analysis: f64,
    pub write: f64,
    pub total: f64,
}

/// The JSON summary of a forest job.
#[derive(Clone, Debug, Serialize)]
pub struct ForestSummary {
    pub file: String,
    pub rows: usize,
    pub outcome: String,
    pub treatment: String,
    pub covariates: Vec<String>,
    pub propensity: String,
    pub propensity_min: f64,
    pub propensity_max: f64,
    /// Rows whose propensity was clipped to [0.001, 0.999] in the doubly robust scores.
    pub propensity_clipped: usize,
    pub options: ForestOptions,
    pub trees: usize,
    pub average_treatment_effect: Vec<AteEstimate>,
    pub calibration: CalibrationTest,
    /// RATE with the out-of-bag CATE as priority (in-sample: optimistic; use held-out data for a formal test).
    pub rate: Rate,
    pub variable_importance: Vec<Importance>,
    pub cate_mean: f64,
    pub cate_sd: f64,
    /// Share of units whose 95% CI lies above zero / below zero.
    pub share_ci_above_zero: f64,
    pub share_ci_below_zero: f64,
    pub timings: JobTimings,
    pub outputs: Vec<String>,
}

fn invalid(file: &Path, message: impl Into<String>) -> ScanError {
    ScanError::Invalid { file: file.into(), message: message.into() }
}

fn forest_error(file: &Path, e: cateye_forest::ForestError) -> ScanError {
    invalid(file, e.to_string())
}

/// Runs the job; returns the summary (also written to `job.summary`).
pub fn run_forest_job(job: &ForestJob) -> Result<ForestSummary> {
    let start = Instant::now();
    let mut timings = JobTimings::default();
    let source = Source::open(&job.file)?;
    let file = &job.file;

    let mut roles: Vec<(&str, &'static str)> = vec![(&job.outcome, "outcome"), (&job.treatment, "treatment")];
    if let PropensitySpec::Column(c) = &job.propensity {
        roles.push((c, "propensity"));
    }
    if let Some(w) = &job.weights {
        roles.push((w, "weights"));
    }
    let taken: Vec<&str> = roles.iter().map(|(n, _)| *n).chain(job.cluster.as_deref()).collect();
    let covariates = pick_covariates(&source, job.covariates.as_deref(), &taken)?;
    let mut wanted = roles.clone();
    wanted.extend(covariates.iter().map(|c| (c.as_str(), "covariate")));
    let mut columns = read_numeric(&source, &wanted)?;
    let x: Vec<Vec<f64>> = columns.split_off(roles.len());
    let mut named = roles.iter().map(|(n, _)| n.to_string()).zip(columns);
    let (_, y) = named.next().expect("outcome");
    let (_, w) = named.next().expect("treatment");
    let rest: Vec<(String, Vec<f64>)> = named.collect();
    let find = |name: &str| rest.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice()).expect("read above");
    let clusters = job.cluster.as_ref().map(|c| read_ids(&source, c, "cluster")).transpose()?;
    timings.load = start.elapsed().as_secs_f64();
    let n = y.len();
    if n == 0 {
        return Err(ScanError::Empty { file: file.clone() });
    }
    // Missing values in the outcome, covariates, weights or propensity are refused by
    // cateye_forest (naming column and row); a missing treatment fails the 0/1 check here.
    let fail = |e| forest_error(file, e);
    if let Some(row) = w.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(invalid(
            file,
            format!("column '{}' (treatment): row {row} is {}; expected 0/1 (control/treated)", job.treatment, w[row]),
        ));
    }

    let t = Instant::now();
    let column_refs: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
    let mut data = ForestData::new(&column_refs, &covariates, job.max_bins).map_err(fail)?;
    if let Some(weights) = &job.weights {
        data = data.with_weights(find(weights).to_vec(), weights).map_err(fail)?;
    }
    if let (Some(ids), Some(name)) = (&clusters, &job.cluster) {
        data = data.with_clusters(ids, name).map_err(fail)?;
    }
    timings.binning = t.elapsed().as_secs_f64();

    let (propensity, propensity_label) = match &job.propensity {
        PropensitySpec::Estimate => (Propensity::Estimate, "estimated (regression forest)".to_string()),
        PropensitySpec::Value(v) => (Propensity::Known(*v), format!("known: {v}")),
        PropensitySpec::Column(c) => (Propensity::PerUnit { values: find(c), column: c }, format!("column '{c}'")),
    };
    let input = CausalInput { y: &y, w: &w, outcome: &job.outcome, treatment: &job.treatment, propensity, y_hat: None };
    let fit = fit_causal_forest(&data, input, &job.options).map_err(fail)?;
    timings.nuisance = fit.timings.nuisance;
    timings.forest = fit.timings.forest;
    timings.oob_predictions = fit.timings.oob_predictions;

    let t = Instant::now();
    let ate = TargetSample::ALL
        .iter()
        .map(|&t| average_treatment_effect(&fit, t))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(fail)?;
    let calibration = test_calibration(&fit).map_err(fail)?;
    let rate_options = RateOptions { seed: job.options.seed, ..RateOptions::default() };
    let rate = rank_average_treatment_effect(&fit, &fit.oob.tau, &rate_options).map_err(fail)?;
    let scores = doubly_robust_scores(&fit).map_err(fail)?;
    let importance = variable_importance(fit.forest.trees(), covariates.len(), 2.0, 4);
    let tau = &fit.oob.tau;
    let cate_mean = tau.iter().sum::<f64>() / n as f64;
    let cate_sd = (tau.iter().map(|t| (t - cate_mean).powi(2)).sum::<f64>() / (n as f64 - 1.0).max(1.0)).sqrt();
    let z = 1.959_963_984_540_054;
    let se: Vec<f64> = fit.oob.variance.iter().map(|v| v.sqrt()).collect();
    let above = (0..n).filter(|&i| tau[i] - z * se[i] > 0.0).count() as f64 / n as f64;
    let below = (0..n).filter(|&i| tau[i] + z * se[i] < 0.0).count() as f64 / n as f64;
    timings.analysis = t.elapsed().as_secs_f64();

    let t = Instant::now();
    write_units(&job.output, tau, &se, &fit.y_hat, &fit.w_hat, &scores.scores)?;
    let mut summary = ForestSummary {
        file: file.display().to_string(),
        rows: n,
        outcome: job.outcome.clone(),
        treatment: job.treatment.clone(),
        covariates: covariates.clone(),
        propensity: propensity_label,
        propensity_min: scores.propensity_min,
        propensity_max: scores.propensity_max,
        propensity_clipped: scores.propensity_clipped,
        options: job.options.clone(),
        trees: fit.forest.trees().len(),
        average_treatment_effect: ate,
        calibration,
        rate,
        variable_importance: covariates
            .iter()
            .zip(importance)
            .map(|(c, v)| Importance { covariate: c.clone(), importance: v })
            .collect(),
        cate_mean,
        cate_sd,
        share_ci_above_zero: above,
        share_ci_below_zero: below,
        timings,
        outputs: vec![job.output.display().to_string(), job.summary.display().to_string()],
    };
    summary.timings.write = t.elapsed().as_secs_f64();
    summary.timings.total = start.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&summary).expect("serializable");
    std::fs::write(&job.summary, json)
        .map_err(|e| ScanError::Io { file: job.summary.clone(), message: e.to_string() })?;
    Ok(summary)
}

/// Per-unit estimates: row, cate, se, 95% CI, the nuisance estimates and the doubly robust score.
fn write_units(path: &Path, tau: &[f64], se: &[f64], y_hat: &[f64], w_hat: &[f64], scores: &[f64]) -> Result<()> {
    let z = 1.959_963_984_540_054;
    write_unit_table(
        path,
        vec![
            ("cate".into(), tau.to_vec()),
            ("se".into(), se.to_vec()),
            ("ci_lower".into(), tau.iter().zip(se).map(|(t, s)| t - z * s).collect()),
            ("ci_upper".into(), tau.iter().zip(se).map(|(t, s)| t + z * s).collect()),
            ("y_hat".into(), y_hat.to_vec()),
            ("w_hat".into(), w_hat.to_vec()),
            ("dr_score".into(), scores.to_vec()),
        ],
    )
}
