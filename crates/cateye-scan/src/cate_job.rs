//! The `cateye cate` job: read unit-level rows, run the CATE learners of `cateye_learners`
//! (every treatment arm against control), and write per-unit estimates and a JSON summary with
//! the selection table. All statistics live in `cateye_learners`; this module loads, validates
//! and writes.

use crate::data::columns::{pick_covariates, read_numeric};
use crate::data::unit_table::write_unit_table;
use crate::data::Source;
use crate::error::{Result, ScanError};
use crate::forest_job::PropensitySpec;
use cateye_learners::{estimate_cate, CateConfig, CateReport, PropensitySource};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to estimate and where to write it.
#[derive(Clone, Debug)]
pub struct CateJob {
    pub file: PathBuf,
    pub outcome: String,
    pub treatment: String,
    /// Covariate columns; `None` = every other numeric column.
    pub covariates: Option<Vec<String>>,
    /// `None`: the design (each arm's share of its pair, for randomised experiments).
    pub propensity: Option<PropensitySpec>,
    pub config: CateConfig,
    /// Per-unit output file (.parquet or .csv).
    pub output: PathBuf,
    /// JSON summary file.
    pub summary: PathBuf,
}

/// The JSON summary of a CATE job.
#[derive(Clone, Debug, Serialize)]
pub struct CateSummary {
    pub file: String,
    pub outcome: String,
    pub treatment: String,
    pub method: String,
    pub bases: Vec<String>,
    pub calibrate: bool,
    pub select: bool,
    pub selection_loss: String,
    pub trees: usize,
    pub seed: u64,
    #[serde(flatten)]
    pub report: CateReport,
    pub load_seconds: f64,
    pub fit_seconds: f64,
    pub outputs: Vec<String>,
}

fn invalid(file: &Path, message: impl Into<String>) -> ScanError {
    ScanError::Invalid { file: file.into(), message: message.into() }
}

/// Runs the job; returns the summary (also written to `job.summary`).
pub fn run_cate_job(job: &CateJob) -> Result<CateSummary> {
    let start = Instant::now();
    let source = Source::open(&job.file)?;
    let file = &job.file;
    let mut roles: Vec<(&str, &'static str)> = vec![(&job.outcome, "outcome"), (&job.treatment, "treatment")];
    if let Some(PropensitySpec::Column(c)) = &job.propensity {
        roles.push((c, "propensity"));
    }
    let taken: Vec<&str> = roles.iter().map(|(n, _)| *n).collect();
    let covariates = pick_covariates(&source, job.covariates.as_deref(), &taken)?;
    let mut wanted = roles.clone();
    wanted.extend(covariates.iter().map(|c| (c.as_str(), "covariate")));
    let mut columns = read_numeric(&source, &wanted)?;
    let x = columns.split_off(roles.len());
    let mut columns = columns.into_iter();
    let (y, w) = (columns.next().expect("outcome"), columns.next().expect("treatment"));
    let propensity_column = columns.next();
    if y.is_empty() {
        return Err(ScanError::Empty { file: file.clone() });
    }
    let load_seconds = start.elapsed().as_secs_f64();

    let t = Instant::now();
    let propensity = match &job.propensity {
        None => PropensitySource::Design,
        Some(PropensitySpec::Estimate) => PropensitySource::Estimate,
        Some(PropensitySpec::Value(v)) => PropensitySource::Known(*v),
        Some(PropensitySpec::Column(c)) => {
            PropensitySource::PerUnit { values: propensity_column.as_deref().expect("read above"), column: c }
        }
    };
    // Missing values in any column are refused by cateye_learners, naming column and row.
    let report = estimate_cate(x, &covariates, &y, &w, &job.outcome, &job.treatment, propensity, &job.config)
        .map_err(|e| invalid(file, e.to_string()))?;
    let fit_seconds = t.elapsed().as_secs_f64();

    let binary = report.arms.len() == 1;
    let mut out: Vec<(String, Vec<f64>)> = vec![("treatment".into(), w.clone())];
    for arm in &report.arms {
        let suffix = if binary { String::new() } else { format!("_{}", arm.arm) };
        out.push((format!("cate{suffix}"), arm.cate.clone()));
        out.push((format!("dr_score{suffix}"), arm.dr_scores.clone()));
        out.push((format!("mu0{suffix}"), arm.nuisances.mu0.oof.clone()));
        out.push((format!("mu1{suffix}"), arm.nuisances.mu1.oof.clone()));
        out.push((format!("propensity{suffix}"), arm.nuisances.e.oof.clone()));
    }
    write_unit_table(&job.output, out)?;
    let config = &job.config;
    let summary = CateSummary {
        file: file.display().to_string(),
        outcome: job.outcome.clone(),
        treatment: job.treatment.clone(),
        method: config.method.name().to_string(),
        bases: config.bases.iter().map(|b| b.name().to_string()).collect(),
        calibrate: config.calibrate,
        select: config.select,
        selection_loss: format!("{:?}", config.loss).to_lowercase(),
        trees: config.trees,
        seed: config.seed,
        report,
        load_seconds,
        fit_seconds,
        outputs: vec![job.output.display().to_string(), job.summary.display().to_string()],
    };
    let json = serde_json::to_string_pretty(&summary).expect("serializable");
    std::fs::write(&job.summary, json)
        .map_err(|e| ScanError::Io { file: job.summary.clone(), message: e.to_string() })?;
    Ok(summary)
}

/// The terminal summary: per arm, the AIPW effect, the chosen estimator and the selection table.
pub fn cate_summary_text(s: &CateSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "CATE of '{}' by '{}' on {} rows, {} covariates, {}-fold cross-fitting.",
        s.outcome,
        s.treatment,
        s.report.rows,
        s.report.covariates.len(),
        s.report.folds
    );
    for arm in &s.report.arms {
        let p = &arm.propensity;
        let _ = writeln!(
            out,
            "\nArm {} vs control {} ({} vs {} rows); propensity {} (range {:.3}..{:.3}{})",
            arm.arm,
            arm.control,
            arm.treated_rows,
            arm.control_rows,
            p.source,
            p.min,
            p.max,
            if p.clipped > 0 { format!(", {} clipped", p.clipped) } else { String::new() }
        );
        let _ = writeln!(out, "  Average effect (AIPW): {:.4} (SE {:.4})", arm.ate, arm.ate_se);
        let _ = writeln!(out, "  Reported: {}; CATE mean {:.4}, SD {:.4}", arm.chosen, arm.cate_mean, arm.cate_sd);
        if arm.selection.len() > 1 {
            let _ = writeln!(out, "  {:<4} {:<44} {:>12} {:>12}", "rank", "candidate", "R-loss", "DR-loss");
            for r in &arm.selection {
                let _ = writeln!(out, "  {:<4} {:<44} {:>12.5} {:>12.4}", r.rank, r.candidate, r.r_loss, r.dr_loss);
            }
        }
    }
    out
}
