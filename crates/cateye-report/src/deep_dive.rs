//! The deep-dive section: per pair, the verdict and the tests behind it; the share of effect
//! variance by dimension beside the scan's rank; the variance decomposition with its
//! uncertainty; the distribution of estimated effects; the mixture by the top dimensions; the
//! TOC curve with its band; the subgroup rules with held-out effects.

use crate::charts;
use crate::doc::{ci95, col, num, Block, Document, Fact, Format, Section, Table};
use crate::json::{joined, Get};
use crate::parts::{histogram_chart, quantile_table, toc_chart};
use serde_json::Value;

/// The deep dive of a scan (`scan.json`'s `deep_dive`).
pub(crate) fn section(doc: &mut Document, deep_dive: &Value) -> Section {
    let mut s = Section::new("deep-dive", "Deep dive");
    let pairs = deep_dive.list("pairs");
    s.blocks.push(Block::text(format!(
        "{} pairs deep-dived with an honest causal forest (selection: {}; {} flagged by the scan). Each pair's \
         verdict combines the calibration test, RATE and the randomization test with Holm's correction.",
        pairs.len(),
        deep_dive.text("selection.setting"),
        deep_dive.num("selection.flagged").unwrap_or(0.0)
    )));
    for failed in deep_dive.list("failed") {
        s.blocks.push(Block::alert(format!(
            "Deep dive of {} / {} / {} failed: {}",
            failed.text("experiment"),
            failed.text("metric"),
            failed.text("arm"),
            failed.text("error")
        )));
    }
    for warning in deep_dive.list("warnings") {
        s.blocks.push(Block::note(warning.as_str().unwrap_or_default()));
    }
    for (i, pair) in pairs.iter().enumerate() {
        let title = format!(
            "{} / {} / {} — {}",
            pair.text("experiment"),
            pair.text("metric"),
            pair.text("arm"),
            if pair.at("detect.heterogeneous").as_bool() == Some(true) {
                "heterogeneous"
            } else {
                "no heterogeneity detected"
            }
        );
        s.blocks.push(Block::Group { title, open: i == 0, blocks: pair_blocks(doc, pair) });
    }
    s
}

fn pair_blocks(doc: &mut Document, pair: &Value) -> Vec<Block> {
    let mut blocks = vec![Block::Facts {
        facts: vec![
            Fact::text("Why selected", pair.text("reason")),
            Fact::new("Units (control / arm)", joined(pair.list("data.units"), " / "), Format::Text),
            Fact::new("Trees", pair.at("forest.trees").clone(), Format::Count),
            Fact::new("Average effect (AIPW)", pair.at("ate.estimate").clone(), Format::Number),
            Fact::new("95% CI low", pair.at("ate.ci_lower").clone(), Format::Number),
            Fact::new("95% CI high", pair.at("ate.ci_upper").clone(), Format::Number),
        ],
    }];
    blocks.push(Block::heading("Detect: does the effect vary?"));
    blocks.extend(verdict(doc, pair.at("detect")));
    blocks.push(Block::heading("Surface: which dimensions explain it?"));
    blocks.extend(surface(doc, pair.at("surface")));
    blocks.push(Block::heading("Characterize: how are the effects distributed?"));
    blocks.extend(distribution(doc, pair.at("characterize")));
    blocks.extend(subgroups(doc, pair.at("characterize")));
    blocks
}

/// The verdict, the tests behind it, and the TOC curve.
fn verdict(doc: &mut Document, detect: &Value) -> Vec<Block> {
    let heterogeneous = detect.at("heterogeneous").as_bool() == Some(true);
    let mut blocks = vec![Block::text(format!(
        "Verdict: {} (smallest Holm-adjusted p = {:.3e}; significant: {}).",
        if heterogeneous { "the effect varies" } else { "no variation detected" },
        detect.num("p_value").unwrap_or(f64::NAN),
        if detect.list("significant").is_empty() { "none".into() } else { joined(detect.list("significant"), ", ") }
    ))];
    let mut tests = Table::new(
        "Tests behind the verdict",
        vec![
            col("test", "Test", Format::Text),
            col("p_value", "p-value", Format::PValue),
            col("adjusted", "Holm-adjusted", Format::PValue),
        ],
    );
    for t in detect.list("tests") {
        tests.row(vec![t.at("test").clone(), t.at("p_value").clone(), t.at("adjusted_p_value").clone()]);
    }
    blocks.push(Block::Table(tests));
    let mut calibration = Table::new(
        "Calibration test (grf's test_calibration)",
        vec![
            col("term", "Term", Format::Text),
            col("estimate", "Estimate", Format::Number),
            col("se", "SE", Format::Number),
            col("p", "p (one-sided, > 0)", Format::PValue),
        ],
    );
    for key in ["mean_forest_prediction", "differential_forest_prediction"] {
        let c = detect.at(&format!("calibration.{key}"));
        calibration.row(vec![
            c.at("term").clone(),
            c.at("estimate").clone(),
            c.at("se").clone(),
            c.at("p_value_greater").clone(),
        ]);
    }
    blocks.push(Block::Table(calibration));
    let rate = detect.at("rate");
    blocks.push(Block::Facts {
        facts: vec![
            Fact::new("AUTOC", rate.at("autoc").clone(), Format::Number),
            Fact::new("AUTOC SE", rate.at("autoc_se").clone(), Format::Number),
            Fact::new("AUTOC p (> 0)", rate.at("autoc_p_value").clone(), Format::PValue),
            Fact::new("Qini", rate.at("qini").clone(), Format::Number),
            Fact::new("Qini SE", rate.at("qini_se").clone(), Format::Number),
        ],
    });
    if let Some(chart) = toc_chart(doc, rate.list("toc")) {
        blocks.push(Block::Chart(chart));
    }
    blocks
}

/// Which dimensions explain the variation, and the variance decomposition.
fn surface(doc: &mut Document, surface: &Value) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut shares = Table::new(
        "Share of effect variance by dimension",
        vec![
            col("dimension", "Dimension", Format::Text),
            col("share", "Share of CATE variance", Format::Percent),
            col("importance", "Split importance", Format::Number),
            col("rank", "Rank", Format::Count),
            col("scan_rank", "Scan's rank", Format::Count),
            col("scan_q", "Scan's q-value", Format::PValue),
        ],
    );
    for d in surface.list("dimensions") {
        shares.row(vec![
            d.at("dimension").clone(),
            d.at("share_of_cate_variance").clone(),
            d.at("importance").clone(),
            d.at("rank").clone(),
            d.at("scan_rank").clone(),
            d.at("scan_q_value").clone(),
        ]);
    }
    if !shares.rows.is_empty() {
        let spec = charts::bars("dimension", "share", "share of the CATE variance", Some("scan_rank"));
        blocks.push(Block::Chart(doc.chart(
            "Share of the estimated effects' variance by dimension, beside the scan's rank",
            spec,
            shares,
        )));
    }
    let decomposition = surface.at("decomposition");
    if decomposition.is_null() {
        blocks.push(Block::note(format!("No variance decomposition: {}", surface.text("decomposition_error"))));
        return blocks;
    }
    let mut t = Table::new(
        "Variance decomposition of the effect",
        vec![
            col("component", "Component", Format::Text),
            col("estimate", "Variance", Format::Number),
            col("ci_lower", "95% CI low", Format::Number),
            col("ci_upper", "95% CI high", Format::Number),
        ],
    );
    for (key, label) in [
        ("systematic", "dimensions (beyond covariates)"),
        ("covariates", "covariates"),
        ("idiosyncratic", "unexplained (idiosyncratic)"),
        ("total", "total"),
    ] {
        let c = decomposition.at(key);
        t.row(vec![label.into(), c.at("estimate").clone(), c.at("ci_lower").clone(), c.at("ci_upper").clone()]);
    }
    let spec =
        charts::intervals("component", ["estimate", "ci_lower", "ci_upper"], "variance of the effect", None, true);
    blocks.push(Block::Chart(doc.chart("Variance of the effect by source, with 95% intervals", spec, t)));
    blocks.push(Block::Facts {
        facts: vec![
            Fact::new(
                "Share explained by the dimensions",
                decomposition.at("share_explained.estimate").clone(),
                Format::Percent,
            ),
            Fact::new(
                "Share explained: 95% CI low",
                decomposition.at("share_explained.ci_lower").clone(),
                Format::Percent,
            ),
            Fact::new(
                "Share explained: 95% CI high",
                decomposition.at("share_explained.ci_upper").clone(),
                Format::Percent,
            ),
        ],
    });
    blocks.push(Block::note(format!(
        "Method: {}. Assumption: {}.",
        decomposition.text("method"),
        decomposition.text("assumption")
    )));
    blocks
}

/// The distribution of estimated effects, and its mixture by the top dimensions.
fn distribution(doc: &mut Document, characterize: &Value) -> Vec<Block> {
    let overall = characterize.at("overall");
    if overall.is_null() {
        return Vec::new();
    }
    let mut blocks = vec![Block::Facts {
        facts: vec![
            Fact::new("Units", overall.at("units").clone(), Format::Count),
            Fact::new("Mean estimated effect", overall.at("mean").clone(), Format::Number),
            Fact::new("SD of estimated effects", overall.at("sd").clone(), Format::Number),
            Fact::new("Share with a negative estimate", overall.at("share_negative_estimate").clone(), Format::Percent),
            Fact::new("Share negative (calibrated)", overall.at("share_negative").clone(), Format::Percent),
            Fact::new("Share negative: 95% band low", overall.at("share_negative_band.0").clone(), Format::Percent),
            Fact::new("Share negative: 95% band high", overall.at("share_negative_band.1").clone(), Format::Percent),
        ],
    }];
    blocks.push(Block::Chart(histogram_chart(doc, "Distribution of the estimated effects", overall.at("histogram"))));
    blocks.push(Block::Table(quantile_table(overall.list("quantiles"))));
    for mixture in characterize.list("by_dimension") {
        let mut t = Table::new(
            format!("Estimated effects by level of {}", mixture.text("dimension")),
            vec![
                col("level", "Level", Format::Text),
                col("from", "From", Format::Number),
                col("to", "To", Format::Number),
                col("units", "Units", Format::Count),
            ],
        );
        for (label, edges, counts) in mixture_layers(mixture.list("components")) {
            for (k, count) in counts.iter().enumerate() {
                if *count > 0.0 {
                    t.row(vec![label.clone().into(), edges[k].clone(), edges[k + 1].clone(), num(*count)]);
                }
            }
        }
        let spec = charts::histogram("from", "to", "units", "estimated effect", Some("level"));
        let title = format!("The distribution as a mixture of the levels of {}", mixture.text("dimension"));
        blocks.push(Block::Chart(doc.chart(title, spec, t)));
    }
    blocks
}

/// Levels a mixture chart colours apart; the others are stacked as one layer (ten colours is as
/// many as a categorical palette tells apart).
const MIXTURE_COLOURS: usize = 10;

/// The layers of a mixture chart, `(label, bin edges, counts)`: the largest levels by weight,
/// then the rest summed bin by bin as "other levels".
fn mixture_layers(components: &[Value]) -> Vec<(String, &[Value], Vec<f64>)> {
    let mut order: Vec<&Value> = components.iter().collect();
    order.sort_by(|a, b| b.num("weight").unwrap_or(0.0).total_cmp(&a.num("weight").unwrap_or(0.0)));
    let counts = |c: &Value| -> Vec<f64> {
        c.list("distribution.histogram.counts").iter().map(|v| v.as_f64().unwrap_or(0.0)).collect()
    };
    fn edges(c: &Value) -> &[Value] {
        c.list("distribution.histogram.edges")
    }
    let keep = if order.len() > MIXTURE_COLOURS { MIXTURE_COLOURS - 1 } else { order.len() };
    let mut layers: Vec<(String, &[Value], Vec<f64>)> =
        order[..keep].iter().map(|c| (c.text("level").to_string(), edges(c), counts(c))).collect();
    if let Some(first) = order.get(keep) {
        let mut sum = vec![0.0; counts(first).len()];
        for c in &order[keep..] {
            sum.iter_mut().zip(counts(c)).for_each(|(s, v)| *s += v);
        }
        layers.push((format!("other {} levels", order.len() - keep), edges(first), sum));
    }
    layers
}

/// The subgroup rules with their held-out effects.
fn subgroups(doc: &mut Document, characterize: &Value) -> Vec<Block> {
    let rules = characterize.at("subgroups");
    if rules.is_null() {
        let why = characterize.text("subgroups_error");
        return if why.is_empty() { Vec::new() } else { vec![Block::note(format!("No subgroup rules: {why}"))] };
    }
    let mut t = Table::new(
        "Subgroup rules (found on one half, estimated on the other)",
        vec![
            col("rule", "Rule", Format::Text),
            col("n_holdout", "Held-out units", Format::Count),
            col("effect", "Held-out effect", Format::Number),
            col("ci_low", "95% CI low", Format::Number),
            col("ci_high", "95% CI high", Format::Number),
            col("difference", "Difference from the rest", Format::Number),
            col("p", "p (difference)", Format::PValue),
        ],
    );
    for leaf in rules.list("leaves") {
        let (effect, se) = (leaf.num("effect_holdout").unwrap_or(f64::NAN), leaf.num("se_holdout").unwrap_or(f64::NAN));
        let [low, high] = ci95(effect, se);
        t.row(vec![
            leaf.at("rule").clone(),
            leaf.at("n_holdout").clone(),
            num(effect),
            low,
            high,
            leaf.at("difference_holdout").clone(),
            leaf.at("difference_p_value").clone(),
        ]);
    }
    let supported = rules.at("supported").as_bool() == Some(true);
    let mut blocks = vec![Block::text(format!(
        "Subgroup rules: the held-out test of a difference between the rules {} (p = {:.3e}).",
        if supported { "supports them" } else { "does not support them: read them as exploratory" },
        rules.num("holdout_test.p_value").unwrap_or(f64::NAN)
    ))];
    if !t.rows.is_empty() {
        let spec =
            charts::intervals("rule", ["effect", "ci_low", "ci_high"], "held-out effect with 95% interval", None, true);
        blocks.push(Block::Chart(doc.chart("Held-out effect of each subgroup rule", spec, t)));
    }
    blocks
}
