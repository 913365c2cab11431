//! The report of real results: every finding listed in order, every chart drawn from a table
//! that carries the fields its specification encodes, the size of a 100 × 10 × 10 sweep, names
//! that cannot become markup, and clear errors for files that are not results. (The page in a
//! real browser is tested in python/tests/test_report.py.)

use cateye::cate::CateSpec;
use cateye::forest::ForestSpec;
use cateye::scan::{DeepDiveConfig, ScanConfig, ScanReport, Selection};
use cateye::{Config, Source};
use cateye_report::{render, Results};
use serde_json::Value;

/// The document embedded in a page (its JSON is valid as it stands: the escapes are JSON's).
fn embedded(html: &str) -> Value {
    let start = html.find(r#"<script type="application/json" id="cateye-data">"#).expect("the data element");
    let json = &html[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    serde_json::from_str(json).expect("the embedded document is JSON")
}

/// Every value of `key` in a Vega-Lite specification (`field`: the fields it encodes; `as`:
/// those its transforms compute).
fn values_of(spec: &Value, key: &str, out: &mut Vec<String>) {
    match spec {
        Value::Object(map) => map.iter().for_each(|(k, v)| match v {
            Value::String(s) if k == key => out.push(s.clone()),
            _ => values_of(v, key, out),
        }),
        Value::Array(items) => items.iter().for_each(|v| values_of(v, key, out)),
        _ => {}
    }
}

/// Every chart of the document (in blocks, groups and table details).
fn charts(doc: &Value) -> Vec<&Value> {
    fn walk<'a>(block: &'a Value, out: &mut Vec<&'a Value>) {
        match block["type"].as_str() {
            Some("chart") => out.push(block),
            Some("group") => block["blocks"].as_array().unwrap().iter().for_each(|b| walk(b, out)),
            Some("table") => {
                if let Some(details) = block["details"].as_array() {
                    out.extend(details.iter().filter(|d| !d.is_null()));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for section in doc["sections"].as_array().unwrap() {
        section["blocks"].as_array().unwrap().iter().for_each(|b| walk(b, &mut out));
    }
    out
}

/// Each chart's table has a column for every field its specification encodes (but those its
/// transforms compute), and rows.
fn assert_charts_drawable(doc: &Value) -> usize {
    let all = charts(doc);
    for chart in &all {
        let spec = &doc["specs"][chart["spec"].as_u64().unwrap() as usize];
        let (mut fields, mut computed) = (Vec::new(), Vec::new());
        values_of(spec, "field", &mut fields);
        values_of(spec, "as", &mut computed);
        let columns: Vec<&str> =
            chart["table"]["columns"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
        for f in fields.iter().filter(|f| !computed.contains(f)) {
            assert!(
                columns.contains(&f.as_str()),
                "chart '{}' encodes '{f}', not a column of its table",
                chart["title"]
            );
        }
        assert!(!chart["table"]["rows"].as_array().unwrap().is_empty(), "chart '{}' has no numbers", chart["title"]);
    }
    all.len()
}

fn section<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["sections"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no section {id}"))
}

fn scan_of(spec: &cateye::demo::TableSpec, deep_dive: Selection) -> ScanReport {
    let scan = ScanConfig::default().with(|c| {
        c.metrics = Some(spec.metric_columns());
        c.dimensions = Some(spec.dimension_columns());
    });
    let config = Config::new(scan, DeepDiveConfig::default().with(|c| c.pairs = deep_dive));
    let source = Source::from_batches(spec.batches()).unwrap();
    cateye::scan::scan(&source, &config, &|_| {}).unwrap().1
}

#[test]
fn the_demo_report_lists_every_finding_in_order_with_its_numbers() {
    let spec = cateye::demo::demo_spec(3);
    let report = scan_of(&spec, Selection::None);
    let doc = embedded(&render(&Results::scan(&report)));
    let table = section(&doc, "findings")["blocks"].as_array().unwrap().iter().find(|b| b["id"] == "findings").unwrap();
    let columns: Vec<&str> =
        table["columns"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), report.result.findings.len());
    assert!(rows.len() >= 4, "the demo plants four dimension findings");
    for (row, finding) in rows.iter().zip(&report.result.findings) {
        assert_eq!(row[at("experiment")], finding.experiment.as_str());
        assert_eq!(row[at("metric")], finding.metric.as_str());
        assert_eq!(row[at("arm")], finding.arm.as_str());
        assert_eq!(row[at("dimension")].as_str(), finding.dimension.as_deref());
        assert_eq!(row[at("q_value")].as_f64(), Some(finding.q_value));
        let effect = report.result.effects.iter().find(|e| {
            (e.experiment.as_str(), e.metric.as_str(), e.arm.as_str())
                == (finding.experiment.as_str(), finding.metric.as_str(), finding.arm.as_str())
        });
        let effect = effect.unwrap();
        let headline = effect.cuped.as_ref().map_or(&effect.ate, |c| &c.ate);
        assert_eq!(row[at("effect")].as_f64(), Some(headline.estimate));
        assert_eq!(row[at("ci_low")].as_f64(), Some(headline.ci_low));
        assert_eq!(row[at("ci_high")].as_f64(), Some(headline.ci_high));
    }
    // Each dimension finding opens to the forest plot of all its dimension's levels.
    let details = table["details"].as_array().unwrap();
    for (finding, detail) in report.result.findings.iter().zip(details) {
        assert_eq!(detail.is_null(), finding.dimension.is_none());
    }
    assert_eq!(section(&doc, "srm")["blocks"][0]["tone"], "alert", "the planted SRM is the first thing said");
    assert!(assert_charts_drawable(&doc) >= 4);
}

#[test]
fn the_deep_dive_forest_and_learner_reports_draw_every_chart() {
    let spec = cateye::demo::demo_spec(3);
    let report = scan_of(&spec, Selection::Top(1));
    let doc = embedded(&render(&Results::scan(&report)));
    let deep = section(&doc, "deep-dive");
    assert_eq!(deep["blocks"].as_array().unwrap().iter().filter(|b| b["type"] == "group").count(), 1);
    // Forest plots, TOC, shares, decomposition, histogram, mixtures, subgroups.
    assert!(assert_charts_drawable(&doc) >= 8);

    let sim = cateye::demo::nie_wager(cateye::demo::Setup::A, 800, 5, 1.0, 1);
    let source = Source::from_batches(vec![cateye::demo::trial_table(&sim)]).unwrap();
    let covariates: Vec<String> = (1..=5).map(|i| format!("x{i}")).collect();
    let mut forest = ForestSpec::new("y", "w").covariates(covariates.clone());
    forest.options.num_trees = 100;
    let run = cateye::forest::fit_forest(&source, &forest).unwrap();
    let doc = embedded(&render(&Results::forest(&run.summary)));
    for id in ["fit", "average", "individual", "calibration", "rate", "importance", "blp"] {
        section(&doc, id);
    }
    // Histogram, ranked intervals, TOC, importance, best linear projection.
    assert_eq!(assert_charts_drawable(&doc), 5);

    let mut cate = CateSpec::new("y", "w");
    cate.covariates = Some(covariates);
    cate.config.trees = 50;
    cate.config.select = true;
    let run = cateye::cate::fit_cate(&source, &cate).unwrap();
    let doc = embedded(&render(&Results::cate(&run.summary)));
    section(&doc, "arm-0");
    // The histogram and the selection table.
    assert_eq!(assert_charts_drawable(&doc), 2);
}

#[test]
fn a_sweep_of_100_experiments_by_10_metrics_by_10_dimensions_reports_in_a_few_megabytes() {
    let spec = cateye::demo::sweep_spec(100, 2000, 10, 10, 8, 7);
    let report = scan_of(&spec, Selection::None);
    assert_eq!(report.result.effects.len(), 1000);
    assert!(report.result.findings.len() > 200, "{} findings", report.result.findings.len());
    let html = render(&Results::scan(&report));
    assert!(html.len() < 5_000_000, "{} bytes", html.len());
    // A thousand forest plots share one specification.
    let doc = embedded(&html);
    assert!(doc["specs"].as_array().unwrap().len() <= 2);
}

#[test]
fn names_from_the_data_never_become_markup() {
    let hostile = r#"</script><script>window.x=1</script><img src=x onerror=alert(1)> "' & 🐈‍⬛"#;
    let json = serde_json::json!({
        "schema_version": 2,
        "input": { "source": hostile, "rows": 1, "metrics": [{ "name": hostile, "pre": null }], "dimensions": [] },
        "settings": {}, "srm": [{ "experiment": hostile, "arms": [hostile], "units": [1.0], "mismatch": true }],
        "effects": [], "detection": [], "dimensions": [], "findings": [
            { "kind": "dimension", "experiment": hostile, "metric": hostile, "arm": hostile, "dimension": hostile,
              "q_value": 0.01, "p_value": 0.001, "levels": [] }]
    });
    let html = render(&Results::from_json(json, "hostile").unwrap());
    // The only markup is the page's own: five scripts, the title escaped.
    assert_eq!(html.matches("<script").count(), 5);
    assert!(!html.contains(hostile) && !html.contains("<img src=x"));
    assert!(html.contains("<title>cateye scan: &lt;/script&gt;&lt;script&gt;"));
    let doc = embedded(&html);
    assert_eq!(section(&doc, "findings")["blocks"][1]["rows"][0][2], hostile);
}

#[test]
fn files_that_are_not_results_get_a_clear_error() {
    let err = Results::from_json_str(r#"{"files": [], "manifest_version": 1}"#, "out/manifest.json").unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("out/manifest.json: not cateye results"), "{message}");
    assert!(message.contains("files, manifest_version"), "{message}");
    let err = Results::from_json_str("[1, 2]", "a.json").unwrap_err().to_string();
    assert!(err.contains("found a JSON array"), "{err}");
    let err = Results::from_json_str("{oops", "b.json").unwrap_err().to_string();
    assert!(err.starts_with("b.json: not JSON: "), "{err}");
    let err = Results::read(std::path::Path::new("/nonexistent/scan.json")).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/scan.json: cannot read"), "{err}");
}
