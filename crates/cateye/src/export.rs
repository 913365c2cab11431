//! Writing a [`ScanReport`]: the JSON document and the CSV tables.

use crate::error::Result;
use crate::scan::{CupedEffect, ScanReport};
use cateye_io::IoError;
use std::path::{Path, PathBuf};

/// Files written by [`write_scan_outputs`].
pub const OUTPUT_FILES: [&str; 6] =
    ["scan.json", "srm.csv", "effects.csv", "detection.csv", "dimensions.csv", "levels.csv"];

fn io(path: &Path, e: impl Into<cateye_io::Cause>) -> crate::Error {
    IoError::write(path, e).into()
}

/// Format a float for CSV: empty for NaN.
fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(path).map_err(|e| io(path, e))
}

fn write_rows(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(header).map_err(|e| io(path, e))?;
    for r in rows {
        w.write_record(&r).map_err(|e| io(path, e))?;
    }
    w.flush().map_err(|e| io(path, e))
}

/// Write `scan.json` and the CSV tables into `dir` (created if needed). Returns the paths.
pub fn write_scan_outputs(report: &ScanReport, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let p = |name: &str| dir.join(name);
    cateye_io::write_json(&p("scan.json"), report)?;
    let result = &report.result;

    write_rows(
        &p("srm.csv"),
        &["experiment", "arms", "units", "planned", "chi2", "p_value", "q_value", "mismatch"],
        result.srm.iter().map(|r| {
            let join = |v: &[f64]| v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(";");
            vec![
                r.experiment.clone(),
                r.arms.join(";"),
                join(&r.units),
                join(&r.planned),
                num(r.test.as_ref().map_or(f64::NAN, |t| t.chi2)),
                num(r.test.as_ref().map_or(f64::NAN, |t| t.p_value)),
                num(r.q_value),
                r.mismatch.to_string(),
            ]
        }),
    )?;
    write_rows(
        &p("effects.csv"),
        &[
            "experiment",
            "metric",
            "arm",
            "control",
            "n_treatment",
            "n_control",
            "missing_treatment",
            "missing_control",
            "mean_treatment",
            "mean_control",
            "binary",
            "ate",
            "ate_se",
            "ate_ci_low",
            "ate_ci_high",
            "ate_p_value",
            "lift",
            "lift_ci_low",
            "lift_ci_high",
            "cuped_theta",
            "cuped_ate",
            "cuped_se",
            "cuped_ci_low",
            "cuped_ci_high",
            "cuped_p_value",
            "cuped_lift",
            "cuped_variance_reduction",
            "q_value",
        ],
        result.effects.iter().map(|r| {
            let c = r.cuped.as_ref();
            let cf = |f: fn(&CupedEffect) -> f64| num(c.map_or(f64::NAN, f));
            vec![
                r.experiment.clone(),
                r.metric.clone(),
                r.arm.clone(),
                r.control.clone(),
                num(r.n[0]),
                num(r.n[1]),
                num(r.missing[0]),
                num(r.missing[1]),
                num(r.mean[0]),
                num(r.mean[1]),
                r.binary.to_string(),
                num(r.ate.estimate),
                num(r.ate.se),
                num(r.ate.ci_low),
                num(r.ate.ci_high),
                num(r.ate.p_value),
                num(r.lift.estimate),
                num(r.lift.ci_low),
                num(r.lift.ci_high),
                cf(|c| c.theta),
                cf(|c| c.ate.estimate),
                cf(|c| c.ate.se),
                cf(|c| c.ate.ci_low),
                cf(|c| c.ate.ci_high),
                cf(|c| c.ate.p_value),
                cf(|c| c.lift.estimate),
                cf(|c| c.variance_reduction),
                num(r.q_value),
            ]
        }),
    )?;
    write_rows(
        &p("detection.csv"),
        &[
            "experiment",
            "metric",
            "arm",
            "status",
            "on",
            "variance_ratio",
            "log_ratio_se",
            "kurtosis",
            "p_value",
            "q_value",
        ],
        result.detection.iter().map(|r| {
            let t = |f: fn(&cateye_stats::VarianceRatioTest) -> f64| num(r.test.as_ref().map_or(f64::NAN, f));
            vec![
                r.experiment.clone(),
                r.metric.clone(),
                r.arm.clone(),
                r.status.clone(),
                r.on.clone(),
                t(|t| t.ratio),
                t(|t| t.se),
                t(|t| t.kurtosis),
                t(|t| t.p_value),
                num(r.q_value),
            ]
        }),
    )?;
    write_rows(
        &p("dimensions.csv"),
        &[
            "experiment",
            "metric",
            "arm",
            "dimension",
            "cuped",
            "levels",
            "pooled",
            "excluded",
            "q",
            "df",
            "p_value",
            "q_value",
            "explained_variance",
            "explained_sd",
            "rank",
            "flagged",
        ],
        result.dimensions.iter().map(|r| {
            let t = |f: fn(&cateye_stats::Heterogeneity) -> f64| num(r.test.as_ref().map_or(f64::NAN, f));
            vec![
                r.experiment.clone(),
                r.metric.clone(),
                r.arm.clone(),
                r.dimension.clone(),
                r.cuped.to_string(),
                r.levels.len().to_string(),
                r.pooled.join(";"),
                r.excluded.join(";"),
                t(|t| t.q),
                t(|t| t.df),
                t(|t| t.p_value),
                num(r.q_value),
                t(|t| t.explained_variance),
                num(r.explained_sd),
                r.rank.to_string(),
                r.flagged.to_string(),
            ]
        }),
    )?;
    write_rows(
        &p("levels.csv"),
        &[
            "experiment",
            "metric",
            "arm",
            "dimension",
            "level",
            "pooled_from",
            "n_treatment",
            "n_control",
            "effect",
            "se",
        ],
        result.dimensions.iter().flat_map(|r| {
            r.levels.iter().map(move |l| {
                vec![
                    r.experiment.clone(),
                    r.metric.clone(),
                    r.arm.clone(),
                    r.dimension.clone(),
                    l.level.clone(),
                    l.pooled_from.join(";"),
                    num(l.n[0]),
                    num(l.n[1]),
                    num(l.effect),
                    num(l.se),
                ]
            })
        }),
    )?;
    Ok(OUTPUT_FILES.iter().map(|f| p(f)).collect())
}
