//! The scan report: the run's inputs and settings, sample-ratio alerts first, the findings ranked
//! by evidence with a forest plot of each finding's level effects, and every pair's average
//! effect, lift and CUPED interval; then the deep dive ([`crate::deep_dive`]).

use crate::charts;
use crate::doc::{ci95, col, num, Block, Chart, Document, Fact, Format, Section, Table};
use crate::json::{joined, Get};
use serde_json::Value;
use std::collections::HashMap;

/// The document of a scan's results (`scan.json`).
pub(crate) fn document(scan: &Value) -> Document {
    let source = scan.text("input.source");
    let mut doc = Document::new(
        format!("cateye scan: {}", if source.is_empty() { "statistics" } else { source }),
        format!(
            "{} experiments, {} metrics, {} dimensions, {} rows",
            scan.list("srm").len(),
            scan.list("input.metrics").len(),
            scan.list("input.dimensions").len(),
            scan.num("input.rows").unwrap_or(0.0)
        ),
    );
    let sections = vec![run_section(scan), srm_section(scan), findings_section(&mut doc, scan), effects_section(scan)];
    doc.sections = sections;
    if let Some(deep_dive) = scan.get("deep_dive").filter(|d| !d.is_null()) {
        let section = crate::deep_dive::section(&mut doc, deep_dive);
        doc.sections.push(section);
    }
    doc
}

/// What was read and how it was tested.
fn run_section(scan: &Value) -> Section {
    let mut s = Section::new("run", "Inputs and settings");
    let metrics: Vec<String> = scan
        .list("input.metrics")
        .iter()
        .map(|m| match m.at("pre").as_str() {
            Some(pre) => format!("{} (CUPED on {pre})", m.text("name")),
            None => m.text("name").to_string(),
        })
        .collect();
    let dimensions: Vec<String> = scan
        .list("input.dimensions")
        .iter()
        .map(|d| format!("{} ({}, {} levels)", d.text("name"), d.text("kind"), d.num("levels").unwrap_or(0.0)))
        .collect();
    let settings = scan.at("settings");
    s.blocks.push(Block::Facts {
        facts: vec![
            Fact::text("Source", scan.text("input.source")),
            Fact::new("Rows read", scan.at("input.rows").clone(), Format::Count),
            Fact::new("Rows skipped", scan.at("input.rows_skipped").clone(), Format::Count),
            Fact::new("Experiments", scan.at("input.experiments").clone(), Format::Count),
            Fact::text("Metrics", metrics.join(", ")),
            Fact::text("Dimensions", dimensions.join(", ")),
            Fact::new("Level α", settings.at("alpha").clone(), Format::Number),
            Fact::text("Multiple-testing correction", settings.text("correction")),
            Fact::new("Interval confidence", settings.at("confidence").clone(), Format::Percent),
            Fact::new("SRM alert at q ≤", settings.at("srm_alpha").clone(), Format::Number),
            Fact::new("Fewest units per arm and level", settings.at("min_units_per_arm").clone(), Format::Count),
        ],
    });
    for warning in scan.list("input.warnings") {
        s.blocks.push(Block::note(warning.as_str().unwrap_or_default()));
    }
    s
}

/// Sample ratio mismatches first: an experiment whose arms did not get their planned shares
/// has effects that cannot be trusted.
fn srm_section(scan: &Value) -> Section {
    let mut s = Section::new("srm", "Sample ratio");
    let rows = scan.list("srm");
    let mut alerts = 0;
    for r in rows {
        let status = if r.at("mismatch").as_bool() == Some(true) {
            "Sample ratio mismatch"
        } else if r.at("warning").as_bool() == Some(true) {
            "Possible sample ratio mismatch"
        } else {
            continue;
        };
        alerts += 1;
        let text = format!(
            "{status}: experiment {} has {} units in arms {} where {} was planned (χ² p = {:.3e}, q = {:.3e}). \
             Its effects are not trustworthy until the assignment is explained.",
            r.text("experiment"),
            joined(r.list("units"), " / "),
            joined(r.list("arms"), " / "),
            joined(r.list("planned"), " / "),
            r.num("test.p_value").unwrap_or(f64::NAN),
            r.num("q_value").unwrap_or(f64::NAN)
        );
        s.blocks.push(if status.starts_with("Sample") { Block::alert(text) } else { Block::note(text) });
    }
    if alerts == 0 {
        s.blocks.push(Block::text(format!("No sample ratio mismatch among {} experiments.", rows.len())));
    }
    let mut t = Table::new(
        "Sample ratio test per experiment",
        vec![
            col("experiment", "Experiment", Format::Text),
            col("arms", "Arms", Format::Text),
            col("units", "Units", Format::Text),
            col("planned", "Planned shares", Format::Text),
            col("chi2", "χ²", Format::Number),
            col("p_value", "p-value", Format::PValue),
            col("q_value", "q-value", Format::PValue),
            col("status", "Status", Format::Text),
        ],
    );
    for r in rows {
        let status = match (r.at("mismatch").as_bool(), r.at("warning").as_bool()) {
            (Some(true), _) => "mismatch",
            (_, Some(true)) => "warning",
            _ => "ok",
        };
        t.row(vec![
            r.at("experiment").clone(),
            joined(r.list("arms"), " / ").into(),
            joined(r.list("units"), " / ").into(),
            joined(r.list("planned"), " / ").into(),
            r.at("test.chi2").clone(),
            r.at("test.p_value").clone(),
            r.at("q_value").clone(),
            status.into(),
        ]);
    }
    t.filters = vec!["experiment", "status"];
    t.page = Some(25);
    s.blocks.push(Block::Table(t));
    s
}

/// `(experiment, metric, arm)`.
type PairKey<'a> = (&'a str, &'a str, &'a str);

fn pair_key(v: &Value) -> PairKey<'_> {
    (v.text("experiment"), v.text("metric"), v.text("arm"))
}

/// The effect a reader acts on: CUPED's when the metric has a pre-period, else the plain one.
fn headline_effect(effect: &Value) -> &Value {
    let cuped = effect.at("cuped.ate");
    if cuped.is_null() {
        effect.at("ate")
    } else {
        cuped
    }
}

/// The findings, ranked by the evidence of their test, each opening to a forest plot of the
/// level effects of its dimension against the average effect.
fn findings_section(doc: &mut Document, scan: &Value) -> Section {
    let mut s = Section::new("findings", "Findings");
    let findings = scan.list("findings");
    let counts = scan.at("dimension_counts");
    s.blocks.push(Block::text(format!(
        "{} findings, ranked by the q-value of their test: {} dimensions flagged of {} tested ({} pooled); \
         “unexplained” means the variance test finds heterogeneity that no dimension explains. Open a \
         finding for its level effects with 95% intervals against the average effect (dashed).",
        findings.len(),
        counts.num("flagged").unwrap_or(0.0),
        counts.num("tested").unwrap_or(0.0),
        counts.num("pooled").unwrap_or(0.0),
    )));
    let effects: HashMap<PairKey<'_>, &Value> = scan.list("effects").iter().map(|e| (pair_key(e), e)).collect();
    let dimensions: HashMap<(PairKey<'_>, &str), &Value> =
        scan.list("dimensions").iter().map(|d| ((pair_key(d), d.text("dimension")), d)).collect();
    let mut t = Table::new(
        "Findings",
        vec![
            col("rank", "#", Format::Count),
            col("kind", "Kind", Format::Text),
            col("experiment", "Experiment", Format::Text),
            col("metric", "Metric", Format::Text),
            col("arm", "Arm", Format::Text),
            col("dimension", "Dimension", Format::Text),
            col("q_value", "q-value", Format::PValue),
            col("explained_sd", "Explained SD", Format::Number),
            col("effect", "Effect (CUPED when available)", Format::Number),
            col("ci_low", "95% CI low", Format::Number),
            col("ci_high", "95% CI high", Format::Number),
        ],
    );
    t.id = Some("findings");
    let mut details = Vec::with_capacity(findings.len());
    for (i, f) in findings.iter().enumerate() {
        let key = pair_key(f);
        let effect = effects.get(&key).map_or(&Value::Null, |e| headline_effect(e));
        t.row(vec![
            (i + 1).into(),
            f.at("kind").clone(),
            f.at("experiment").clone(),
            f.at("metric").clone(),
            f.at("arm").clone(),
            f.at("dimension").clone(),
            f.at("q_value").clone(),
            f.at("explained_sd").clone(),
            effect.at("estimate").clone(),
            effect.at("ci_low").clone(),
            effect.at("ci_high").clone(),
        ]);
        let dimension = f.text("dimension");
        details.push(dimensions.get(&(key, dimension)).map(|d| level_chart(doc, f, d)));
    }
    t.filters = vec!["experiment", "metric", "dimension", "q_value"];
    t.page = Some(50);
    t.details = Some(details);
    t.expanded = 5;
    s.blocks.push(Block::Table(t));
    s
}

/// The forest plot of one dimension's level effects (95% intervals) and the finding's average.
fn level_chart(doc: &mut Document, finding: &Value, dimension: &Value) -> Chart {
    let mut t = Table::new(
        format!("Level effects of {}", finding.text("dimension")),
        vec![
            col("level", "Level", Format::Text),
            col("units", "Units", Format::Count),
            col("effect", "Effect", Format::Number),
            col("ci_low", "95% CI low", Format::Number),
            col("ci_high", "95% CI high", Format::Number),
            col("average", "Average effect", Format::Number),
        ],
    );
    let average = finding.at("average_effect");
    for level in dimension.list("levels") {
        let (effect, se) = (level.num("effect").unwrap_or(f64::NAN), level.num("se").unwrap_or(f64::NAN));
        let units = level.list("n").iter().filter_map(Value::as_f64).sum::<f64>();
        let [low, high] = ci95(effect, se);
        t.row(vec![level.at("level").clone(), num(units), num(effect), low, high, average.clone()]);
    }
    let spec =
        charts::intervals("level", ["effect", "ci_low", "ci_high"], "effect with 95% interval", Some("average"), true);
    doc.chart(
        format!(
            "{} / {} / {}: effect by {}",
            finding.text("experiment"),
            finding.text("metric"),
            finding.text("arm"),
            finding.text("dimension")
        ),
        spec,
        t,
    )
}

/// Every pair's average effect, lift and CUPED interval.
fn effects_section(scan: &Value) -> Section {
    let mut s = Section::new("effects", "Average effects");
    s.blocks.push(Block::text(
        "Per experiment, metric and arm against control: the difference in means with its Welch interval, \
         the relative lift (delta method), and the CUPED-adjusted effect where the metric has a pre-period.",
    ));
    let mut t = Table::new(
        "Average effects",
        vec![
            col("experiment", "Experiment", Format::Text),
            col("metric", "Metric", Format::Text),
            col("arm", "Arm", Format::Text),
            col("units", "Units (control / arm)", Format::Text),
            col("effect", "Effect", Format::Number),
            col("ci_low", "95% CI low", Format::Number),
            col("ci_high", "95% CI high", Format::Number),
            col("lift", "Lift", Format::Percent),
            col("lift_low", "Lift CI low", Format::Percent),
            col("lift_high", "Lift CI high", Format::Percent),
            col("cuped", "CUPED effect", Format::Number),
            col("cuped_low", "CUPED CI low", Format::Number),
            col("cuped_high", "CUPED CI high", Format::Number),
            col("variance_reduction", "CUPED variance reduction", Format::Percent),
            col("q_value", "q-value", Format::PValue),
        ],
    );
    for e in scan.list("effects") {
        t.row(vec![
            e.at("experiment").clone(),
            e.at("metric").clone(),
            e.at("arm").clone(),
            joined(e.list("n"), " / ").into(),
            e.at("ate.estimate").clone(),
            e.at("ate.ci_low").clone(),
            e.at("ate.ci_high").clone(),
            e.at("lift.estimate").clone(),
            e.at("lift.ci_low").clone(),
            e.at("lift.ci_high").clone(),
            e.at("cuped.ate.estimate").clone(),
            e.at("cuped.ate.ci_low").clone(),
            e.at("cuped.ate.ci_high").clone(),
            e.at("cuped.variance_reduction").clone(),
            e.at("q_value").clone(),
        ]);
    }
    t.filters = vec!["experiment", "metric", "q_value"];
    t.page = Some(50);
    s.blocks.push(Block::Table(t));
    s
}
