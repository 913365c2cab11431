//! The terminal summary of a `cateye forest` job.

/// Terminal summary of a `cateye forest` job.
pub fn forest_summary(s: &cateye::forest::ForestSummary) -> String {
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
    for w in &s.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
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
