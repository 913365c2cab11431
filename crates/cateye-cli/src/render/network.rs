//! Terminal summaries of `cateye design` and `cateye network-effect`.

use super::sig;
use cateye::network::{DesignReport, NetworkEffect};
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
        "Design: {:?} randomization of {} groups, p = {}; {} units treated; {:.1}% of units can be fully exposed to either arm",
        d.randomization,
        d.clusters,
        sig(d.p),
        report.treated_units,
        100.0 * report.full_exposure_possible
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
        let _ = writeln!(
            s,
            "  {:<20} {} (se {}, {:.0}% CI [{}, {}]); exposed: {} treated, {} control",
            format!("{:?}", e.estimator),
            sig(e.estimate),
            sig(e.se),
            e.level * 100.0,
            sig(e.ci[0]),
            sig(e.ci[1]),
            e.exposed_treated,
            e.exposed_control
        );
    }
    let _ = writeln!(s, "(the difference in means ignores interference: biased when units affect each other)");
    s
}
