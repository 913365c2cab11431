//! Terminal summaries of `cateye design` and `cateye network-effect`.

use super::sig;
use cateye::network::{DesignReport, NetworkDemo, NetworkEffect, SimulationTable};
use std::fmt::Write;

/// The graph, the clusters and the draw.
pub fn design_summary(report: &DesignReport, files: &[String]) -> String {
    let g = &report.graph;
    let q = &report.quality;
    let d = &report.design;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Graph: {} nodes, {} edges ({} duplicate rows merged, {} isolated nodes)",
        g.nodes, g.edges, g.edge_report.duplicates_merged, g.edge_report.isolated_nodes
    );
    let _ = writeln!(
        s,
        "Clusters: {} (sizes {}–{}, median {}, cv {}), cut fraction {}, modularity {}",
        q.num_clusters,
        q.size_min,
        q.size_max,
        sig(q.size_median),
        sig(q.size_cv),
        sig(q.cut_fraction),
        sig(q.modularity)
    );
    if let Some(c) = &report.cascade {
        let _ = writeln!(s, "Cascade: {} seeds, radius {}", c.seeds, c.radius);
    }
    let _ = writeln!(
        s,
        "Design: {:?} randomization of {} groups, p = {}; {} units treated",
        d.randomization,
        d.clusters,
        sig(d.p),
        report.treated_units
    );
    let _ = writeln!(
        s,
        "Expected share of units fully exposed (unit and all neighbours in one arm): {:.1}% to treatment, {:.1}% to control",
        100.0 * report.expected_exposed_treated,
        100.0 * report.expected_exposed_control
    );
    let t = &report.seconds;
    let _ = writeln!(s, "Took {} s to load, {} s to cluster, {} s to draw", sig(t.load), sig(t.cluster), sig(t.draw));
    let _ = writeln!(s, "Wrote {}", files.join(" and "));
    s
}

/// The estimates, one line each.
pub fn network_effect_summary(effect: &NetworkEffect) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Global average treatment effect, exposure {:?}, {} units:", effect.exposure, effect.units);
    for e in &effect.estimates {
        let interval = match &e.refused {
            Some(why) => why.clone(),
            None => format!("se {}, {:.0}% CI [{}, {}]", sig(e.se), e.level * 100.0, sig(e.ci[0]), sig(e.ci[1])),
        };
        let _ = writeln!(
            s,
            "  {:<20} {} ({interval}); exposed: {} treated, {} control",
            format!("{:?}", e.estimator),
            sig(e.estimate),
            e.exposed_treated,
            e.exposed_control
        );
    }
    for note in &effect.not_reported {
        let _ = writeln!(s, "  not reported: {note}");
    }
    let _ = writeln!(s, "(the difference in means ignores interference: biased when units affect each other)");
    s
}

/// The demo: its files, the one experiment against the truth, the simulation table.
pub fn network_demo_summary(demo: &NetworkDemo) -> String {
    let mut s = String::new();
    let files =
        [demo.edges.display().to_string(), demo.design_dir.display().to_string(), demo.outcomes.display().to_string()];
    let _ = writeln!(
        s,
        "Generated {} (edges), {} (design), {} (outcomes) and {} (a unit-randomized experiment for privatize)\n",
        files[0],
        files[1],
        files[2],
        demo.private.display()
    );
    s.push_str(
        &design_summary(&demo.design, &[])
            .lines()
            .filter(|l| !l.starts_with("Wrote"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    let _ = writeln!(s, "\nOne experiment (true global effect {}):", sig(demo.truth));
    s.push_str(&network_effect_summary(&demo.effect));
    s.push('\n');
    s.push_str(&simulation_summary(&demo.simulation));
    s
}

/// The simulator's table: one row per design × estimator.
pub fn simulation_summary(t: &SimulationTable) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "The designs over {} replications (true effect {}):", t.replications, sig(t.truth.effect));
    let _ = writeln!(
        s,
        "  {:<12} {:<18} {:>8} {:>8} {:>8} {:>9} {:>6}",
        "design", "estimator", "bias", "sd", "rmse", "coverage", "power"
    );
    for r in &t.rows {
        let _ = writeln!(
            s,
            "  {:<12} {:<18} {:>8} {:>8} {:>8} {:>9} {:>6}",
            r.design,
            format!("{:?}", r.estimator),
            sig(r.bias),
            sig(r.variance.sqrt()),
            sig(r.rmse),
            percent(r.coverage, 1),
            percent(r.power, 0)
        );
    }
    s
}

/// A share as a percentage, `n/a` when there is none.
fn percent(share: f64, decimals: usize) -> String {
    if share.is_finite() {
        format!("{:.*}%", decimals, 100.0 * share)
    } else {
        "n/a".into()
    }
}
