//! The terminal summary of a scan: input, SRM alerts, then the findings ranked by evidence,
//! then the deep dive's section.

use super::{plural, sig};
use cateye::scan::ScanReport;
use std::fmt::Write as _;

/// Findings printed at most; all are in `scan.json`.
const SHOWN_FINDINGS: usize = 50;

/// The terminal summary: input, SRM alerts, then the findings ranked by evidence.
pub fn scan_summary(report: &ScanReport) -> String {
    let result = &report.result;
    let mut s = String::new();
    let i = &result.input;
    let counts = &result.dimension_counts;
    let tests = counts.tested;
    let _ = writeln!(
        s,
        "cateye scan: {}, {}, {}, {}; {} ({} correction, alpha {})",
        plural(i.rows as usize, "row"),
        plural(i.experiments, "experiment"),
        plural(i.metrics.len(), "metric"),
        plural(i.dimensions.len(), "dimension"),
        plural(tests, "dimension test"),
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
        let _ = writeln!(s, "  {} skipped: null experiment or variant", plural(i.rows_skipped as usize, "row"));
    }
    if counts.pooled > 0 {
        let _ = writeln!(
            s,
            "  small levels (< {} units in an arm) pooled into 'other' in {} of {} dimension tests; see dimensions.{}",
            result.settings.min_units_per_arm, counts.pooled, counts.rows, result.settings.tables
        );
    }
    let settings = &result.settings;
    let alerts = result.srm.iter().filter(|r| r.mismatch).count();
    let warnings = result.srm.iter().filter(|r| r.warning).count();
    let _ = writeln!(
        s,
        "\nSample ratio mismatch: {} of {} (p ≤ {}), {} (p ≤ {})",
        alerts,
        plural(result.srm.len(), "experiment"),
        settings.srm_alpha,
        plural(warnings, "warning"),
        settings.srm_warning
    );
    for r in result.srm.iter().filter(|r| r.mismatch || r.warning) {
        let counts: Vec<String> = r.arms.iter().zip(&r.units).map(|(a, n)| format!("{a} {n}")).collect();
        let (mark, verdict) = if r.mismatch {
            ("!!", "its effects are not trustworthy")
        } else {
            ("? ", "a warning: check the assignment before trusting its effects")
        };
        let _ = writeln!(
            s,
            "  {mark} {}: {} (planned {}), p = {}, q = {} — {verdict}",
            r.experiment,
            counts.join(" / "),
            r.planned.iter().map(|p| format!("{:.0}%", p * 100.0)).collect::<Vec<_>>().join("/"),
            sig(r.test.as_ref().map_or(f64::NAN, |t| t.p_value)),
            sig(r.q_value)
        );
    }
    let z = result.settings.z();
    let _ = writeln!(s, "\nHeterogeneity findings, strongest evidence first: {}", result.findings.len());
    for f in result.findings.iter().take(SHOWN_FINDINGS) {
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
    if result.findings.len() > SHOWN_FINDINGS {
        let _ = writeln!(s, "  ... and {} more in scan.json (findings)", result.findings.len() - SHOWN_FINDINGS);
    }
    let sig_effects = result.effects.iter().filter(|e| e.q_value <= result.settings.alpha).count();
    let _ = writeln!(s, "\nAverage effects significant after correction: {} of {}", sig_effects, result.effects.len());
    if let Some(dd) = &report.deep_dive {
        s.push_str(&super::deep_dive::deep_dive_summary(dd));
    }
    s
}
