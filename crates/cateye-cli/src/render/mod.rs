//! Terminal rendering of the results: plain text for a terminal or a log, nothing computed.

mod cate;
mod deep_dive;
mod forest;
mod network;
mod privacy;
mod scan;

pub use cate::cate_summary;
pub use deep_dive::deep_dive_summary;
pub use forest::forest_summary;
pub use network::{design_summary, network_demo_summary, network_effect_summary, simulation_summary};
pub use privacy::{dp_effect_summary, privatize_summary};
pub use scan::scan_summary;

/// "1 metric", "3 metrics": a count with its noun.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Significant digits for the terminal.
pub fn sig(v: f64) -> String {
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
