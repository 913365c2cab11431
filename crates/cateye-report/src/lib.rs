//! cateye's HTML report: one self-contained page of a scan (with its deep dive), a causal
//! forest fit or a CATE fit, to open from disk, mail and archive.
//!
//! The page carries everything it needs: the results as a JSON document of sections, tables and
//! charts (`doc.rs`); the charts as Vega-Lite specifications (`charts.rs`) drawn by vega,
//! vega-lite and vega-embed, inlined from their pinned npm releases with their licenses
//! (`assets/vendor`, refreshed by `scripts/vendor-vega`); and a small script
//! (`assets/report.js`) that lays the document out, filters the long tables and draws each chart
//! when it scrolls into view. No request leaves the page. Every chart has its numbers in a
//! collapsed table beside it, and the chart is drawn from that table.
//!
//! Vega-Lite, not SVG drawn in Rust: it is the grammar the field's notebooks already speak
//! (Altair in Python, vega-embed in JavaScript), so any chart's specification can be lifted
//! into a notebook, and the page stays interactive (tooltips, export as SVG or PNG).
//!
//! The report renders results as the library writes them (`scan.json`, `forest.json`,
//! `cate.json`), read as JSON: a report of an older file shows a dash where a field is missing.
//! Every name from the data reaches the page as a JSON string and the page as text, never as
//! markup.
//!
//! ```no_run
//! let results = cateye_report::Results::read(std::path::Path::new("out/scan.json"))?;
//! cateye_report::write(&results, std::path::Path::new("out/report.html"))?;
//! # Ok::<(), cateye_report::ReportError>(())
//! ```
#![deny(missing_docs)]

mod charts;
mod deep_dive;
mod doc;
mod json;
mod models;
mod page;
mod parts;
mod scan;

use cateye::cate::CateSummary;
use cateye::forest::ForestSummary;
use cateye::scan::ScanReport;
use json::Get;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The results file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The results are not JSON.
    #[error("{path}: not JSON: {source}")]
    Json {
        /// The file.
        path: String,
        /// The parser's complaint, with line and column.
        source: serde_json::Error,
    },
    /// The JSON is not one of cateye's results.
    #[error(
        "{path}: not cateye results: expected a scan's scan.json, a forest's forest.json or a CATE fit's \
         cate.json ({found})"
    )]
    NotResults {
        /// The file.
        path: String,
        /// What was found instead.
        found: String,
    },
    /// The report could not be written.
    #[error(transparent)]
    Write(#[from] cateye::IoError),
}

/// Results a report can show, as JSON (the library's own serialization of them).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Results {
    /// A scan's `scan.json`, with the deep dive when it ran.
    Scan(Value),
    /// A causal forest fit's `forest.json`.
    Forest(Value),
    /// A CATE fit's `cate.json`.
    Cate(Value),
}

impl Results {
    /// The results of a scan.
    pub fn scan(report: &ScanReport) -> Self {
        Results::Scan(serde_json::to_value(report).expect("a scan report serializes"))
    }

    /// The results of a forest fit.
    pub fn forest(summary: &ForestSummary) -> Self {
        Results::Forest(serde_json::to_value(summary).expect("a forest summary serializes"))
    }

    /// The results of a CATE fit.
    pub fn cate(summary: &CateSummary) -> Self {
        Results::Cate(serde_json::to_value(summary).expect("a CATE summary serializes"))
    }

    /// Results from their JSON text; `label` names them in errors. The kind is recognised by
    /// its fields.
    pub fn from_json_str(text: &str, label: &str) -> Result<Self, ReportError> {
        let value: Value =
            serde_json::from_str(text).map_err(|source| ReportError::Json { path: label.to_string(), source })?;
        Self::from_json(value, label)
    }

    /// Results from a parsed JSON document; `label` names them in errors.
    pub fn from_json(value: Value, label: &str) -> Result<Self, ReportError> {
        let has = |key: &str| !value.at(key).is_null();
        if has("srm") && has("effects") && has("findings") {
            return Ok(Results::Scan(value));
        }
        if has("average_treatment_effect") && has("calibration") {
            return Ok(Results::Forest(value));
        }
        if has("arms") && has("bases") {
            return Ok(Results::Cate(value));
        }
        let found = match &value {
            Value::Object(map) => {
                let keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
                format!("found the fields {}", keys.join(", "))
            }
            other => format!("found a JSON {}", json_kind(other)),
        };
        Err(ReportError::NotResults { path: label.to_string(), found })
    }

    /// Reads results from a file (`scan.json`, `forest.json` or `cate.json`).
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ReportError::Read { path: path.to_path_buf(), source })?;
        Self::from_json_str(&text, &path.display().to_string())
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The report of `results` as one self-contained HTML page.
pub fn render(results: &Results) -> String {
    let document = match results {
        Results::Scan(v) => scan::document(v),
        Results::Forest(v) => models::forest_document(v),
        Results::Cate(v) => models::cate_document(v),
    };
    page::html(&document)
}

/// Writes the report of `results` to `path` (atomically: a failed write leaves no partial file).
pub fn write(results: &Results, path: &Path) -> Result<(), ReportError> {
    let html = render(results);
    cateye::write_atomically(path, |tmp| std::fs::write(tmp, &html).map_err(|e| cateye::IoError::write(tmp, e)))?;
    Ok(())
}
