//! The terminal summary of a `cateye cate` job.

use cateye::cate::CateSummary;

/// The terminal summary: per arm, the AIPW effect, the chosen estimator and the selection table.
pub fn cate_summary(s: &CateSummary) -> String {
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
        let _ = writeln!(out, "  Per-unit 95% intervals: {}", arm.intervals);
        if arm.selection.len() > 1 {
            let _ = writeln!(out, "  {:<4} {:<44} {:>12} {:>12}", "rank", "candidate", "R-loss", "DR-loss");
            for r in &arm.selection {
                let _ = writeln!(out, "  {:<4} {:<44} {:>12.5} {:>12.4}", r.rank, r.candidate, r.r_loss, r.dr_loss);
            }
        }
    }
    out
}
