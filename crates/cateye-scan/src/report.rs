//! Writing a [`ScanResult`]: the JSON document, CSV tables and the terminal summary.

use crate::results::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Files written by [`write_outputs`].
pub const OUTPUT_FILES: [&str; 6] =
    ["scan.json", "srm.csv", "effects.csv", "detection.csv", "dimensions.csv", "levels.csv"];

fn io(path: &Path, e: impl std::fmt::Display) -> crate::ScanError {
    crate::ScanError::Io { file: path.to_path_buf(), message: e.to_string() }
}

/// Format a float for CSV: empty for NaN.
fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

fn csv_writer(path: &Path) -> crate::Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(path).map_err(|e| io(path, e))
}

fn write_rows(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> crate::Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(header).map_err(|e| io(path, e))?;
    for r in rows {
        w.write_record(&r).map_err(|e| io(path, e))?;
    }
    w.flush().map_err(|e| io(path, e))
}

/// Write `scan.json` and the CSV tables into `dir` (created if needed). Returns the paths.
pub fn write_outputs(result: &ScanResult, dir: &Path) -> crate::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let p = |name: &str| dir.join(name);
    let json = serde_json::to_string_pretty(result).map_err(|e| io(&p("scan.json"), e))?;
    std::fs::write(p("scan.json"), json).map_err(|e| io(&p("scan.json"), e))?;

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
            let t = |f: fn(&cateye_stats::variance_ratio::VarianceRatioTest) -> f64| {
                num(r.test.as_ref().map_or(f64::NAN, f))
            };
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
            let t =
                |f: fn(&cateye_stats::heterogeneity::Heterogeneity) -> f64| num(r.test.as_ref().map_or(f64::NAN, f));
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

/// Significant digits for the terminal.
pub(crate) fn sig(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

/// The terminal summary: input, SRM alerts, then the findings ranked by evidence.
pub fn summary(result: &ScanResult) -> String {
    let mut s = String::new();
    let i = &result.input;
    let tests = result.dimensions.iter().filter(|d| d.test.is_some()).count();
    let _ = writeln!(
        s,
        "cateye scan: {} rows, {} experiments, {} metrics, {} dimensions; {} dimension tests ({} correction, alpha {})",
        i.rows,
        i.experiments,
        i.metrics.len(),
        i.dimensions.len(),
        tests,
        result.settings.correction,
        result.settings.alpha
    );
    let metrics: Vec<String> = i
        .metrics
        .iter()
        .map(|m| match &m.pre {
            Some(p) => format!("{} (CUPED on {p})", m.name),
            None => m.name.clone(),
        })
        .collect();
    let dims: Vec<String> = i.dimensions.iter().map(|d| format!("{} ({} levels)", d.name, d.levels)).collect();
    let _ = writeln!(s, "  metrics: {}\n  dimensions: {}", metrics.join(", "), dims.join(", "));
    for w in &i.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    if i.rows_skipped > 0 {
        let _ = writeln!(s, "  {} rows skipped: null experiment or variant", i.rows_skipped);
    }
    let pooled: usize = result.dimensions.iter().filter(|d| !d.pooled.is_empty()).count();
    if pooled > 0 {
        let _ = writeln!(
            s,
            "  small levels (< {} units in an arm) pooled into 'other' in {} of {} dimension tests; see dimensions.csv",
            result.settings.min_units_per_arm,
            pooled,
            result.dimensions.len()
        );
    }
    let alerts: Vec<&SrmRow> = result.srm.iter().filter(|r| r.mismatch).collect();
    let _ = writeln!(s, "\nSample ratio mismatch: {} of {} experiments", alerts.len(), result.srm.len());
    for r in alerts {
        let counts: Vec<String> = r.arms.iter().zip(&r.units).map(|(a, n)| format!("{a} {n}")).collect();
        let _ = writeln!(
            s,
            "  !! {}: {} (planned {}), p = {}, q = {} — its effects are not trustworthy",
            r.experiment,
            counts.join(" / "),
            r.planned.iter().map(|p| format!("{:.0}%", p * 100.0)).collect::<Vec<_>>().join("/"),
            sig(r.test.as_ref().map_or(f64::NAN, |t| t.p_value)),
            sig(r.q_value)
        );
    }
    let z = cateye_stats::dist::normal_quantile(0.5 + result.settings.confidence / 2.0);
    let _ = writeln!(s, "\nHeterogeneity findings, strongest evidence first: {}", result.findings.len());
    for f in &result.findings {
        if result.srm.iter().any(|r| r.mismatch && r.experiment == f.experiment) {
            let _ = writeln!(s, "  (sample ratio mismatch in {}: treat the next finding with suspicion)", f.experiment);
        }
        match &f.dimension {
            Some(d) => {
                let _ = writeln!(
                    s,
                    "  {} / {} / {}: effect varies by {} (q = {}), sd across levels {} around {}",
                    f.experiment,
                    f.metric,
                    f.arm,
                    d,
                    sig(f.q_value),
                    sig(f.explained_sd.unwrap_or(f64::NAN)),
                    sig(f.average_effect)
                );
                for l in &f.levels {
                    let _ = writeln!(
                        s,
                        "      {:<14} effect {} ± {} ({}{} vs average)",
                        l.level,
                        sig(l.effect),
                        sig(z * l.se),
                        if l.deviation >= 0.0 { "+" } else { "" },
                        sig(l.deviation)
                    );
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "  {} / {} / {}: effect varies (variance-ratio q = {}) but no dimension explains it",
                    f.experiment,
                    f.metric,
                    f.arm,
                    sig(f.q_value)
                );
            }
        }
    }
    let sig_effects = result.effects.iter().filter(|e| e.q_value <= result.settings.alpha).count();
    let _ = writeln!(s, "\nAverage effects significant after correction: {} of {}", sig_effects, result.effects.len());
    if let Some(dd) = &result.deep_dive {
        s.push_str(&crate::deep_dive::deep_dive_summary(dd));
    }
    s
}

/// Terminal summary of a `cateye forest` job.
pub fn forest_summary(s: &crate::forest_job::ForestSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Causal forest on {} rows, {} covariates, {} trees; propensity {} (range {:.3}..{:.3}{}).",
        s.rows,
        s.covariates.len(),
        s.trees,
        s.propensity,
        s.propensity_min,
        s.propensity_max,
        if s.propensity_clipped > 0 { format!(", {} clipped", s.propensity_clipped) } else { String::new() }
    );
    let _ = writeln!(out, "\nAverage treatment effect (AIPW):");
    for a in &s.average_treatment_effect {
        let _ = writeln!(
            out,
            "  {:<8} {:>10.4}  SE {:.4}  95% CI [{:.4}, {:.4}]",
            format!("{:?}", a.target).to_lowercase(),
            a.estimate,
            a.se,
            a.ci_lower,
            a.ci_upper
        );
    }
    let (m, d) = (&s.calibration.mean_forest_prediction, &s.calibration.differential_forest_prediction);
    let _ = writeln!(
        out,
        "\nCalibration test: mean prediction {:.3} (SE {:.3}), differential prediction {:.3} (SE {:.3}, one-sided p = {:.3e}){}",
        m.estimate,
        m.se,
        d.estimate,
        d.se,
        d.p_value_greater,
        if d.p_value_greater < 0.05 { ": the effect is heterogeneous" } else { ": no evidence of heterogeneity" }
    );
    let _ = writeln!(
        out,
        "RATE with the forest's own ranking: AUTOC {:.4} (SE {:.4}), Qini {:.4} (SE {:.4})",
        s.rate.autoc.estimate, s.rate.autoc.se, s.rate.qini.estimate, s.rate.qini.se
    );
    let _ = writeln!(
        out,
        "CATE: mean {:.4}, SD {:.4}; {:.1}% of units with a 95% CI above zero, {:.1}% below.",
        s.cate_mean,
        s.cate_sd,
        100.0 * s.share_ci_above_zero,
        100.0 * s.share_ci_below_zero
    );
    let mut importance = s.variable_importance.clone();
    importance.sort_by(|a, b| b.importance.total_cmp(&a.importance));
    let top: Vec<String> = importance.iter().take(5).map(|i| format!("{} {:.3}", i.covariate, i.importance)).collect();
    let _ = writeln!(out, "Variable importance: {}", top.join(", "));
    let _ = writeln!(
        out,
        "\nTimings: {:.2} s (load {:.2}, nuisance {:.2}, forest {:.2}, OOB {:.2}, analysis {:.2}). Outputs: {}",
        s.timings.total,
        s.timings.load,
        s.timings.nuisance,
        s.timings.forest,
        s.timings.oob_predictions,
        s.timings.analysis,
        s.outputs.join(", ")
    );
    out
}
