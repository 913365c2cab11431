//! Charts and tables that several reports draw: a histogram of estimated effects, their
//! quantiles, and the TOC curve with its band (the deep dive's pairs and the forest fit).

use crate::charts;
use crate::doc::{ci95, col, num, Chart, Document, Format, Table};
use crate::json::Get;
use serde_json::Value;

/// The TOC curve with its 95% band, from `{q, toc, se}` points.
pub(crate) fn toc_chart(doc: &mut Document, points: &[Value]) -> Option<Chart> {
    if points.is_empty() {
        return None;
    }
    let mut t = Table::new(
        "TOC curve",
        vec![
            col("q", "Share treated (q)", Format::Number),
            col("toc", "TOC(q)", Format::Number),
            col("lower", "95% band low", Format::Number),
            col("upper", "95% band high", Format::Number),
        ],
    );
    for p in points {
        let (toc, se) = (p.num("toc").unwrap_or(f64::NAN), p.num("se").unwrap_or(f64::NAN));
        let [low, high] = ci95(toc, se);
        t.row(vec![p.at("q").clone(), num(toc), low, high]);
    }
    let spec = charts::band("q", "share treated, highest estimated effect first", ["toc", "lower", "upper"], "TOC");
    Some(doc.chart(
        "Targeting operator characteristic: effect among the top q minus the average, with 95% band",
        spec,
        t,
    ))
}

/// A histogram `{edges, counts}` as a chart.
pub(crate) fn histogram_chart(doc: &mut Document, title: &str, histogram: &Value) -> Chart {
    let mut t = Table::new(
        title,
        vec![
            col("from", "From", Format::Number),
            col("to", "To", Format::Number),
            col("units", "Units", Format::Count),
        ],
    );
    let edges = histogram.list("edges");
    for (k, count) in histogram.list("counts").iter().enumerate() {
        t.row(vec![edges[k].clone(), edges[k + 1].clone(), count.clone()]);
    }
    let spec = charts::histogram("from", "to", "units", "estimated effect", None);
    doc.chart(title, spec, t)
}

/// `(level in percent, value)` pairs as a table.
pub(crate) fn quantile_table(quantiles: &[Value]) -> Table {
    let mut t = Table::new(
        "Quantiles of the estimated effects",
        vec![col("level", "Quantile (%)", Format::Number), col("value", "Estimated effect", Format::Number)],
    );
    for q in quantiles {
        t.row(vec![q.at("0").clone(), q.at("1").clone()]);
    }
    t
}
