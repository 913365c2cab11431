//! The Vega-Lite specifications the report draws with: four shapes cover every chart. Each is
//! a complete specification but for its data (the page adds the chart's numbers as
//! `data.values`), so a reader can lift it into a notebook (Altair, or any Vega-Lite renderer)
//! with the numbers table beside it.

use serde_json::{json, Value};

const SCHEMA: &str = "https://vega.github.io/schema/vega-lite/v6.json";
const WIDTH: u32 = 420;
const ESTIMATE: &str = "#1f5fa8";
const REFERENCE: &str = "#c0392b";

/// Point estimates with 95% intervals, one row per category (`y`, in data order): a forest plot.
/// `x = (estimate, lower, upper)` fields; `reference` names a field (the same on every row)
/// drawn as a dashed line, such as the average effect; with `zero`, zero is marked (and so in
/// the axis's range).
pub(crate) fn intervals(y: &str, x: [&str; 3], x_title: &str, reference: Option<&str>, zero: bool) -> Value {
    let [est, lo, hi] = x;
    let category = json!({ "field": y, "type": "nominal", "sort": null, "title": null,
                           "axis": { "labelLimit": 220 } });
    let quantitative = json!({ "type": "quantitative", "title": x_title, "scale": { "zero": false } });
    let with_field = |f: &str| {
        let mut q = quantitative.clone();
        q["field"] = f.into();
        q
    };
    let mut layers = vec![
        json!({ "mark": { "type": "rule", "color": ESTIMATE, "strokeWidth": 2 },
                "encoding": { "y": category, "x": with_field(lo), "x2": { "field": hi } } }),
        json!({ "mark": { "type": "point", "filled": true, "color": ESTIMATE, "size": 50 },
                "encoding": { "y": category, "x": with_field(est),
                              "tooltip": [{ "field": y, "type": "nominal" },
                                          { "field": est, "type": "quantitative", "format": ".4~g" },
                                          { "field": lo, "type": "quantitative", "format": ".4~g" },
                                          { "field": hi, "type": "quantitative", "format": ".4~g" }] } }),
    ];
    if zero {
        layers.insert(
            0,
            json!({ "mark": { "type": "rule", "color": "#888" },
                                 "encoding": { "x": { "datum": 0, "type": "quantitative" } } }),
        );
    }
    if let Some(r) = reference {
        layers.push(json!({ "mark": { "type": "rule", "color": REFERENCE, "strokeDash": [5, 3], "strokeWidth": 1.5 },
                            "encoding": { "x": { "aggregate": "mean", "field": r, "type": "quantitative" } } }));
    }
    json!({ "$schema": SCHEMA, "width": WIDTH, "height": { "step": 20 }, "layer": layers })
}

/// Horizontal bars of `x` per category `y` (in data order); with `rank`, each bar is labelled
/// "scan rank k" from that field (the deep dive's shares beside the scan's ranking).
pub(crate) fn bars(y: &str, x: &str, x_title: &str, rank: Option<&str>) -> Value {
    let category = json!({ "field": y, "type": "nominal", "sort": null, "title": null, "axis": { "labelLimit": 220 } });
    let bar = json!({
        "mark": { "type": "bar", "color": ESTIMATE },
        "encoding": {
            "y": category,
            "x": { "field": x, "type": "quantitative", "title": x_title },
            "tooltip": [{ "field": y, "type": "nominal" }, { "field": x, "type": "quantitative", "format": ".4~g" }]
        }
    });
    let Some(rank) = rank else {
        let mut spec = bar;
        spec["$schema"] = SCHEMA.into();
        spec["width"] = WIDTH.into();
        spec["height"] = json!({ "step": 20 });
        return spec;
    };
    let label = json!({
        "transform": [{ "calculate": format!("datum['{rank}'] == null ? 'not tested by the scan' : 'scan rank ' + datum['{rank}']"), "as": "scan_label" }],
        "mark": { "type": "text", "align": "left", "dx": 4, "color": "#5b6475" },
        "encoding": { "y": category, "x": { "field": x, "type": "quantitative" }, "text": { "field": "scan_label" } }
    });
    json!({ "$schema": SCHEMA, "width": WIDTH - 100, "height": { "step": 20 }, "layer": [bar, label] })
}

/// A histogram from bins `[from, to)` and their `count`; with `color`, bars of the same bin are
/// stacked by that field (a mixture's components).
pub(crate) fn histogram(from: &str, to: &str, count: &str, x_title: &str, color: Option<&str>) -> Value {
    let mut encoding = json!({
        "x": { "field": from, "type": "quantitative", "title": x_title, "bin": { "binned": true } },
        "x2": { "field": to },
        "y": { "field": count, "type": "quantitative", "title": "units", "stack": color.is_some() },
        "tooltip": [{ "field": from, "type": "quantitative", "format": ".4~g" },
                    { "field": to, "type": "quantitative", "format": ".4~g" },
                    { "field": count, "type": "quantitative", "format": ".4~g" }]
    });
    if let Some(c) = color {
        encoding["color"] = json!({ "field": c, "type": "nominal", "sort": null, "legend": { "labelLimit": 200 } });
        encoding["tooltip"].as_array_mut().expect("an array").insert(0, json!({ "field": c, "type": "nominal" }));
    }
    json!({
        "$schema": SCHEMA, "width": WIDTH, "height": 180,
        "mark": { "type": "bar", "color": ESTIMATE, "binSpacing": 0 },
        "encoding": encoding
    })
}

/// A curve `y(x)` with its 95% band `[lower, upper]` and a line at zero: a TOC curve, or ranked
/// estimates with their intervals.
pub(crate) fn band(x: &str, x_title: &str, y: [&str; 3], y_title: &str) -> Value {
    let [est, lo, hi] = y;
    json!({
        "$schema": SCHEMA, "width": WIDTH, "height": 200,
        "encoding": { "x": { "field": x, "type": "quantitative", "title": x_title } },
        "layer": [
            { "mark": { "type": "area", "color": ESTIMATE, "opacity": 0.2 },
              "encoding": { "y": { "field": lo, "type": "quantitative", "title": y_title }, "y2": { "field": hi } } },
            { "mark": { "type": "line", "color": ESTIMATE },
              "encoding": { "y": { "field": est, "type": "quantitative" },
                            "tooltip": [{ "field": x, "type": "quantitative", "format": ".3~g" },
                                        { "field": est, "type": "quantitative", "format": ".4~g" },
                                        { "field": lo, "type": "quantitative", "format": ".4~g" },
                                        { "field": hi, "type": "quantitative", "format": ".4~g" }] } },
            { "mark": { "type": "rule", "color": "#888" }, "encoding": { "y": { "datum": 0, "type": "quantitative" } } }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field a specification encodes, so a test can check the table carries them.
    fn fields(spec: &Value, out: &mut Vec<String>) {
        match spec {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("field", Value::String(s)) => out.push(s.clone()),
                        _ => fields(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| fields(v, out)),
            _ => {}
        }
    }

    #[test]
    fn specifications_encode_only_the_fields_they_are_given() {
        let mut seen = Vec::new();
        fields(&intervals("level", ["effect", "ci_low", "ci_high"], "effect", Some("average"), true), &mut seen);
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["average", "ci_high", "ci_low", "effect", "level"]);
        let mut seen = Vec::new();
        fields(&histogram("from", "to", "units", "effect", Some("level")), &mut seen);
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["from", "level", "to", "units"]);
        assert_eq!(band("q", "q", ["toc", "lo", "hi"], "toc")["$schema"], SCHEMA);
        assert!(bars("d", "share", "share", None)["encoding"]["x"]["field"] == "share");
        let mut seen = Vec::new();
        fields(&bars("d", "share", "share", Some("scan_rank")), &mut seen);
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["d", "scan_label", "share"], "the label is calculated from the rank field");
    }
}
