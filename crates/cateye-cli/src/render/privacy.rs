//! Terminal summaries of `cateye privatize` and `cateye dp-effect`.

use super::sig;
use cateye::privacy::{DpEffect, ReleasedMechanism};
use std::fmt::Write;

/// What a release spent and published.
pub fn privatize_summary(mechanism: &ReleasedMechanism, rows: usize, files: &[String]) -> String {
    let a = &mechanism.account;
    let p = &a.params;
    let mut s = String::new();
    let _ = writeln!(s, "Released {rows} outcomes on a grid of {} levels, prior {:?}", a.k, p.prior);
    let _ = writeln!(
        s,
        "ε = {} (distributions {} + per-unit release {}); λ = {}, γ = {}",
        sig(a.epsilon),
        sig(a.epsilon_prior),
        sig(a.epsilon_response),
        sig(p.lambda),
        sig(p.gamma)
    );
    let _ = writeln!(s, "{} released distributions (cluster × arm)", mechanism.priors.len());
    let _ = writeln!(s, "Wrote {} (publish both; the seed is kept nowhere)", files.join(" and "));
    s
}

/// The effect estimated from released outcomes.
pub fn dp_effect_summary(effect: &DpEffect, level: f64) -> String {
    let e = &effect.effect;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Average treatment effect {} (se {}, {:.0}% CI [{}, {}], p = {})",
        sig(e.estimate),
        sig(e.se),
        level * 100.0,
        sig(e.ci_low),
        sig(e.ci_high),
        sig(e.p_value)
    );
    let share = if effect.variance > 0.0 {
        format!("{:.0}%", 100.0 * effect.variance_mechanism / effect.variance)
    } else {
        "n/a".to_string()
    };
    let _ = writeln!(
        s,
        "{} control, {} treated units; released under ε = {}; mechanism's share of the variance {share}",
        effect.n_control,
        effect.n_treated,
        sig(effect.epsilon)
    );
    for w in &effect.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
