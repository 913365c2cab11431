//! The deep dive's section of the terminal summary: per pair, is the effect heterogeneous,
//! which dimensions explain it and how much, who gains and who loses.

use super::sig;
use cateye::scan::{Component, DeepDive, DeepDiveReport, VariationDecomposition};
use cateye::Z_975;
use std::fmt::Write;

fn pct(v: f64) -> String {
    format!("{:.0}%", 100.0 * v)
}

/// The whole section.
pub fn deep_dive_summary(report: &DeepDiveReport) -> String {
    let mut s = String::new();
    let sel = &report.selection;
    let requested = sel.selected.iter().filter(|p| p.reason == "requested").count();
    let _ = writeln!(
        s,
        "\nDeep dive: {} of {} flagged pairs (setting: {}){}",
        sel.selected.len() - requested,
        sel.flagged,
        sel.setting,
        if requested > 0 { format!(", plus {requested} requested") } else { String::new() }
    );
    if !sel.not_selected.is_empty() {
        let _ = writeln!(
            s,
            "  {} flagged pairs beyond the cap were not analysed (raise --deep-dive or use 'all')",
            sel.not_selected.len()
        );
    }
    for w in &report.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    for d in &report.pairs {
        pair_section(&mut s, d);
    }
    for f in &report.failed {
        let _ = writeln!(s, "  {} / {} / {}: not analysed: {}", f.experiment, f.metric, f.arm, f.error);
    }
    s
}

fn pair_section(s: &mut String, d: &DeepDive) {
    let det = &d.detect;
    let _ = writeln!(
        s,
        "  {} / {} / {} ({}{}), {} + {} units{}",
        d.experiment,
        d.metric,
        d.arm,
        d.reason,
        if d.flagged_by.is_empty() { String::new() } else { format!(" by {}", d.flagged_by.join(", ")) },
        d.data.units[0],
        d.data.units[1],
        d.data.subsampled_from.map_or(String::new(), |[t, c]| format!(
            " (a seeded random subsample of {t} + {c}: --deep-dive-max-units)"
        ))
    );
    let _ = writeln!(
        s,
        "    heterogeneous: {} (Holm-adjusted p = {}; calibration p = {}, RATE AUTOC {} ± {} p = {}, randomization p = {})",
        if det.heterogeneous { "yes" } else { "no" },
        sig(det.p_value),
        sig(det.calibration.differential_forest_prediction.p_value_greater),
        sig(det.rate.autoc),
        sig(det.rate.autoc_se),
        sig(det.rate.autoc_p_value),
        det.randomization.as_ref().map_or("n/a (two-valued metric)".into(), |r| sig(r.p_value))
    );
    let dims: Vec<String> = d
        .surface
        .dimensions
        .iter()
        .take(3)
        .map(|x| {
            format!(
                "{} {}{}",
                x.dimension,
                pct(x.share_of_cate_variance),
                x.scan_rank.map_or(String::new(), |r| format!(" (scan rank {r})"))
            )
        })
        .collect();
    let _ = writeln!(s, "    share of estimated-effect variance by dimension: {}", dims.join(", "));
    match (&d.surface.decomposition, &d.surface.decomposition_error) {
        (Some(v), _) => decomposition_lines(s, v, det.randomization_status == "uninformative_two_valued"),
        (None, error) => {
            let _ = writeln!(s, "    effect variance: not decomposed ({})", error.as_deref().unwrap_or("unknown"));
        }
    }
    let o = &d.characterize.overall;
    let q = |level: f64| o.quantiles.iter().find(|(l, _)| *l == level).map_or(f64::NAN, |(_, v)| *v);
    let _ = writeln!(
        s,
        "    estimated effects: median {} (5%–95%: {} to {}); negative for {} (95% band {}–{})",
        sig(q(50.0)),
        sig(q(5.0)),
        sig(q(95.0)),
        pct(o.share_negative),
        pct(o.share_negative_band[0]),
        pct(o.share_negative_band[1])
    );
    match (&d.characterize.subgroups, &d.characterize.subgroups_error) {
        (Some(rules), _) if !d.characterize.rules_hold_out => {
            let test = rules
                .holdout_test
                .as_ref()
                .map_or("a single leaf".into(), |t| format!("held-out test p = {}", sig(t.p_value)));
            let why = if det.heterogeneous { test } else { format!("the effect is not shown to vary; {test}") };
            let _ = writeln!(s, "    who gains and who loses: no rule beats the average effect ({why})");
        }
        (Some(rules), _) => {
            let leaves: Vec<String> = rules
                .leaves
                .iter()
                .map(|l| {
                    format!("{}: {} ± {} (n {})", l.rule, sig(l.effect_holdout), sig(Z_975 * l.se_holdout), l.n_holdout)
                })
                .collect();
            let _ = writeln!(
                s,
                "    who gains and who loses (held-out effects, test p = {}): {}",
                sig(rules.holdout_test.as_ref().map_or(f64::NAN, |t| t.p_value)),
                leaves.join(" | ")
            );
        }
        (None, error) => {
            let _ = writeln!(s, "    subgroups: not searched ({})", error.as_deref().unwrap_or("unknown"));
        }
    }
}

/// `estimate (lo–hi)` of a variance component.
fn with_interval(c: &Component) -> String {
    format!("{} ({}–{})", sig(c.estimate), sig(c.ci_lower), sig(c.ci_upper))
}

/// The variance decomposition: components with intervals, the share explained, and what the
/// intervals allow one to conclude about variation beyond the dimensions.
fn decomposition_lines(s: &mut String, v: &VariationDecomposition, two_valued: bool) {
    let level = format!("{:.0}%", 100.0 * v.confidence);
    let test = v.idiosyncratic_test.as_ref().map(|t| t.p_value);
    let _ = writeln!(
        s,
        "    effect variance {} ({} CI {}–{}; assumes idiosyncratic effects uncorrelated with the control outcome; \
         bounds without that assumption {}–{})",
        sig(v.total.estimate),
        level,
        sig(v.total.ci_lower),
        sig(v.total.ci_upper),
        sig(v.total_bounds[0]),
        sig(v.total_bounds[1])
    );
    let _ = writeln!(
        s,
        "      systematic (dimensions) {}, covariates {}, idiosyncratic {}{}",
        with_interval(&v.systematic),
        with_interval(&v.covariates),
        with_interval(&v.idiosyncratic),
        test.map_or(String::new(), |p| format!(", test of zero p = {}", sig(p)))
    );
    let share = &v.share_explained;
    let beyond_by_test = test.is_some_and(|p| p <= 1.0 - v.confidence);
    let conclusion = match (share.ci_lower > 0.0, v.dimensions_may_explain_all() && !beyond_by_test) {
        // Individual effects on a two-valued metric are 0 or ±(the difference of its values):
        // they vary whenever the average effect is not 0, so the rest says nothing new.
        (true, _) if two_valued => {
            "on a two-valued metric individual effects vary whenever the average does not vanish"
        }
        (false, _) if two_valued => {
            "no evidence that they explain any of it (on a two-valued metric individual effects vary whenever the \
             average does not vanish)"
        }
        (true, true) => "no evidence of variation beyond them",
        (true, false) => "there is variation beyond them",
        (false, true) => "the data cannot tell how much they explain",
        (false, false) => "no evidence that they explain any of it; there is variation beyond them",
    };
    let _ = writeln!(
        s,
        "      dimensions explain {} ({level} CI {}–{}); {conclusion}",
        pct(share.estimate),
        pct(share.ci_lower),
        pct(share.ci_upper)
    );
}
