//! The reports of one experiment's model fits: the causal forest (`forest.json`) and the CATE
//! learners (`cate.json`). A forest gives per-unit intervals, the calibration test, the TOC
//! with RATE, variable importance and the best linear projection; the learners give their
//! estimates' distribution and the selection table of the candidates they compared.

use crate::charts;
use crate::doc::{ci95, col, num, Block, Document, Fact, Format, Section, Table};
use crate::json::{joined, Get};
use crate::parts::{histogram_chart, quantile_table, toc_chart};
use serde_json::Value;

/// The document of a one-experiment fit (`what`: "causal forest", ...) and the facts every fit
/// states first: its data, rows, outcome, treatment and covariates.
fn fit_document(what: &str, fit: &Value) -> (Document, Vec<Fact>) {
    let doc = Document::new(
        format!("cateye {what}: {}", fit.text("file")),
        format!("effect of {} on {}", fit.text("treatment"), fit.text("outcome")),
    );
    let facts = vec![
        Fact::text("Data", fit.text("file")),
        Fact::new("Rows", fit.at("rows").clone(), Format::Count),
        Fact::text("Outcome", fit.text("outcome")),
        Fact::text("Treatment", fit.text("treatment")),
        Fact::text("Covariates", joined(fit.list("covariates"), ", ")),
    ];
    (doc, facts)
}

/// The document of a forest fit's summary (`forest.json`).
pub(crate) fn forest_document(forest: &Value) -> Document {
    let (mut doc, mut facts) = fit_document("causal forest", forest);
    let mut fit = Section::new("fit", "Inputs and settings");
    facts.extend([
        Fact::new("Trees", forest.at("trees").clone(), Format::Count),
        Fact::new("Smallest leaf", forest.at("options.min_node_size").clone(), Format::Count),
        Fact::new("Sample fraction", forest.at("options.sample_fraction").clone(), Format::Number),
        Fact::new("Seed", forest.at("options.seed").clone(), Format::Count),
        Fact::text("Propensity", forest.text("propensity")),
        Fact::new("Smallest propensity", forest.at("propensity_min").clone(), Format::Number),
        Fact::new("Largest propensity", forest.at("propensity_max").clone(), Format::Number),
    ]);
    fit.blocks.push(Block::Facts { facts });
    for warning in forest.list("warnings") {
        fit.blocks.push(Block::note(warning.as_str().unwrap_or_default()));
    }
    doc.sections.push(fit);

    let mut ate = Section::new("average", "Average effects (AIPW)");
    let mut t = Table::new(
        "Average treatment effects (doubly robust)",
        vec![
            col("target", "Target sample", Format::Text),
            col("estimate", "Effect", Format::Number),
            col("se", "SE", Format::Number),
            col("ci_lower", "95% CI low", Format::Number),
            col("ci_upper", "95% CI high", Format::Number),
        ],
    );
    for a in forest.list("average_treatment_effect") {
        t.row(vec![
            a.at("target").clone(),
            a.at("estimate").clone(),
            a.at("se").clone(),
            a.at("ci_lower").clone(),
            a.at("ci_upper").clone(),
        ]);
    }
    ate.blocks.push(Block::Table(t));
    doc.sections.push(ate);

    let mut individual = Section::new("individual", "Individual effects");
    individual.blocks.push(Block::Facts {
        facts: vec![
            Fact::new("Mean out-of-bag CATE", forest.at("cate_mean").clone(), Format::Number),
            Fact::new("SD of the CATE estimates", forest.at("cate_sd").clone(), Format::Number),
            Fact::new("Share whose 95% CI is above zero", forest.at("share_ci_above_zero").clone(), Format::Percent),
            Fact::new("Share whose 95% CI is below zero", forest.at("share_ci_below_zero").clone(), Format::Percent),
        ],
    });
    profile_blocks(&mut doc, &mut individual, forest.at("cate_profile"));
    doc.sections.push(individual);

    let mut calibration = Section::new("calibration", "Calibration test");
    calibration.blocks.push(Block::text(
        "grf's test_calibration: a coefficient of 1 on the mean forest prediction says the average is right; a \
         positive coefficient on the differential prediction says the forest's heterogeneity is real (1: well \
         calibrated).",
    ));
    let mut t = coefficient_table("Calibration regression");
    for key in ["mean_forest_prediction", "differential_forest_prediction"] {
        coefficient_row(&mut t, forest.at(&format!("calibration.{key}")));
    }
    calibration.blocks.push(Block::Table(t));
    doc.sections.push(calibration);

    let mut rate = Section::new("rate", "Targeting: TOC and RATE");
    rate.blocks.push(Block::Facts {
        facts: vec![
            Fact::new("AUTOC", forest.at("rate.autoc.estimate").clone(), Format::Number),
            Fact::new("AUTOC SE", forest.at("rate.autoc.se").clone(), Format::Number),
            Fact::new("Qini", forest.at("rate.qini.estimate").clone(), Format::Number),
            Fact::new("Qini SE", forest.at("rate.qini.se").clone(), Format::Number),
        ],
    });
    rate.blocks.push(Block::note(
        "Prioritised by the out-of-bag CATE of the same units: optimistic; hold out data for a formal test.",
    ));
    if let Some(chart) = toc_chart(&mut doc, forest.list("rate.toc")) {
        rate.blocks.push(Block::Chart(chart));
    }
    doc.sections.push(rate);

    let mut importance = Section::new("importance", "Variable importance");
    let mut t = Table::new(
        "Split-frequency importance",
        vec![col("covariate", "Covariate", Format::Text), col("importance", "Importance", Format::Number)],
    );
    let mut rows: Vec<&Value> = forest.list("variable_importance").iter().collect();
    rows.sort_by(|a, b| b.num("importance").unwrap_or(0.0).total_cmp(&a.num("importance").unwrap_or(0.0)));
    for r in rows {
        t.row(vec![r.at("covariate").clone(), r.at("importance").clone()]);
    }
    let spec = charts::bars("covariate", "importance", "depth-weighted split frequency", None);
    importance.blocks.push(Block::Chart(doc.chart("Variable importance", spec, t)));
    doc.sections.push(importance);

    let mut blp = Section::new("blp", "Best linear projection");
    let coefficients = forest.list("best_linear_projection");
    if coefficients.is_empty() {
        blp.blocks.push(Block::note("This summary has no best linear projection (see the warnings above)."));
    } else {
        blp.blocks.push(Block::text(
            "The CATE's best linear projection on the covariates (grf's best_linear_projection: OLS of the doubly \
             robust scores, HC3 standard errors).",
        ));
        let mut t = coefficient_table("Best linear projection");
        for c in coefficients {
            coefficient_row(&mut t, c);
        }
        let spec =
            charts::intervals("term", ["estimate", "ci_low", "ci_high"], "coefficient with 95% interval", None, true);
        blp.blocks.push(Block::Chart(doc.chart("Best linear projection of the CATE", spec, t)));
    }
    doc.sections.push(blp);
    doc
}

fn coefficient_table(caption: &str) -> Table {
    Table::new(
        caption,
        vec![
            col("term", "Term", Format::Text),
            col("estimate", "Estimate", Format::Number),
            col("se", "SE", Format::Number),
            col("ci_low", "95% CI low", Format::Number),
            col("ci_high", "95% CI high", Format::Number),
            col("p_value", "p-value", Format::PValue),
        ],
    )
}

fn coefficient_row(t: &mut Table, c: &Value) {
    let (estimate, se) = (c.num("estimate").unwrap_or(f64::NAN), c.num("se").unwrap_or(f64::NAN));
    let [low, high] = ci95(estimate, se);
    t.row(vec![c.at("term").clone(), num(estimate), num(se), low, high, c.at("p_value").clone()]);
}

/// The histogram, quantiles and (when the estimator gives intervals) the ranked units of a
/// `CateProfile`.
fn profile_blocks(doc: &mut Document, section: &mut Section, profile: &Value) {
    if profile.is_null() {
        section
            .blocks
            .push(Block::note("This summary has no distribution of the estimates (written by an older cateye)."));
        return;
    }
    section.blocks.push(Block::Chart(histogram_chart(
        doc,
        "Distribution of the estimated effects",
        profile.at("histogram"),
    )));
    let ranked = profile.list("ranked");
    if ranked.iter().any(|r| r.num("ci_lower").is_some()) {
        let mut t = Table::new(
            "Units at evenly spaced ranks",
            vec![
                col("rank", "Rank (share of units)", Format::Number),
                col("estimate", "Estimated effect", Format::Number),
                col("ci_lower", "95% CI low", Format::Number),
                col("ci_upper", "95% CI high", Format::Number),
            ],
        );
        for r in ranked {
            t.row(vec![
                r.at("rank").clone(),
                r.at("estimate").clone(),
                r.at("ci_lower").clone(),
                r.at("ci_upper").clone(),
            ]);
        }
        let spec =
            charts::band("rank", "units ranked by estimated effect", ["estimate", "ci_lower", "ci_upper"], "effect");
        section.blocks.push(Block::Chart(doc.chart("Estimated effects, ranked, with their 95% intervals", spec, t)));
    }
    section.blocks.push(Block::Table(quantile_table(profile.list("quantiles"))));
}

/// The document of a CATE fit's summary (`cate.json`).
pub(crate) fn cate_document(cate: &Value) -> Document {
    let (mut doc, mut facts) = fit_document("CATE learners", cate);
    let mut fit = Section::new("fit", "Inputs and settings");
    facts.extend([
        Fact::text("Learner", cate.text("method")),
        Fact::text("Base learners", joined(cate.list("bases"), ", ")),
        Fact::new("Calibrated", cate.at("calibrate").clone(), Format::Text),
        Fact::new("Selected by held-out loss", cate.at("select").clone(), Format::Text),
        Fact::text("Selection loss", cate.text("selection_loss")),
        Fact::new("Cross-fitting folds", cate.at("folds").clone(), Format::Count),
        Fact::new("Trees per forest", cate.at("trees").clone(), Format::Count),
        Fact::new("Seed", cate.at("seed").clone(), Format::Count),
    ]);
    fit.blocks.push(Block::Facts { facts });
    fit.blocks.push(Block::note(
        "Per-unit intervals come from the R- and DR-learners on the forest base and from the causal forest; \
         for other learners the charts show the spread of the estimates, not their precision.",
    ));
    doc.sections.push(fit);
    let loss = if cate.text("selection_loss") == "dr" { "dr_loss" } else { "r_loss" };
    for (i, arm) in cate.list("arms").iter().enumerate() {
        let mut s = Section::new(&format!("arm-{i}"), format!("Arm {} against {}", arm.at("arm"), arm.at("control")));
        s.blocks.push(Block::Facts {
            facts: vec![
                Fact::new("Units in the arm", arm.at("treated_rows").clone(), Format::Count),
                Fact::new("Units in control", arm.at("control_rows").clone(), Format::Count),
                Fact::new("Average effect (AIPW)", arm.at("ate").clone(), Format::Number),
                Fact::new("SE", arm.at("ate_se").clone(), Format::Number),
                Fact::text("Estimates reported", arm.text("chosen")),
                Fact::text("Per-unit 95% intervals", arm.text("intervals")),
                Fact::new("Mean estimate", arm.at("cate_mean").clone(), Format::Number),
                Fact::new("SD of the estimates", arm.at("cate_sd").clone(), Format::Number),
                Fact::text("Propensity", arm.text("propensity.source")),
                Fact::new("Propensity range low", arm.at("propensity.min").clone(), Format::Number),
                Fact::new("Propensity range high", arm.at("propensity.max").clone(), Format::Number),
            ],
        });
        profile_blocks(&mut doc, &mut s, cate.at(&format!("cate_profiles.{i}")));
        let mut t = Table::new(
            "Selection table: held-out losses of the candidates (lower is better)",
            vec![
                col("candidate", "Candidate", Format::Text),
                col("rank", "Rank", Format::Count),
                col("loss", "Loss ranked by", Format::Number),
                col("ci_low", "95% CI low", Format::Number),
                col("ci_high", "95% CI high", Format::Number),
                col("r_loss", "R-loss", Format::Number),
                col("dr_loss", "DR-loss", Format::Number),
            ],
        );
        for row in arm.list("selection") {
            let (l, se) = (row.num(loss).unwrap_or(f64::NAN), row.num(&format!("{loss}_se")).unwrap_or(f64::NAN));
            let [low, high] = ci95(l, se);
            t.row(vec![
                row.at("candidate").clone(),
                row.at("rank").clone(),
                num(l),
                low,
                high,
                row.at("r_loss").clone(),
                row.at("dr_loss").clone(),
            ]);
        }
        if t.rows.iter().any(|row| row[2].is_number()) {
            let spec = charts::intervals(
                "candidate",
                ["loss", "ci_low", "ci_high"],
                "held-out loss with 95% interval",
                None,
                false,
            );
            s.blocks.push(Block::Chart(doc.chart("Selection table", spec, t)));
        } else {
            s.blocks.push(Block::note("No selection table: the candidates were not compared (fit with select)."));
            s.blocks.push(Block::Table(t));
        }
        doc.sections.push(s);
    }
    doc
}
