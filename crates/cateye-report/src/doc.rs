//! The report as a document: sections of blocks (text, facts, tables, charts) that the page's
//! script lays out. Numbers travel as JSON numbers with a display [`Format`]: the page shows
//! them rounded and keeps the exact value in the cell's `data-value` attribute. A chart is drawn
//! from its own numbers table, so what is plotted is exactly what the table beside it lists.

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// The whole report.
#[derive(Debug, Serialize)]
pub(crate) struct Document {
    pub title: String,
    pub subtitle: String,
    pub sections: Vec<Section>,
    /// Vega-Lite specifications without data, shared by every chart that draws the same way
    /// (a sweep's thousand forest plots carry one specification).
    pub specs: Vec<Value>,
    #[serde(skip)]
    spec_ids: HashMap<String, usize>,
}

impl Document {
    pub fn new(title: impl Into<String>, subtitle: impl Into<String>) -> Self {
        Document {
            title: title.into(),
            subtitle: subtitle.into(),
            sections: Vec::new(),
            specs: Vec::new(),
            spec_ids: HashMap::new(),
        }
    }

    /// A chart of `table` drawn by `spec`, which is stored once however many charts use it.
    pub fn chart(&mut self, title: impl Into<String>, spec: Value, table: Table) -> Chart {
        let key = spec.to_string();
        let next = self.specs.len();
        let id = *self.spec_ids.entry(key).or_insert(next);
        if id == next {
            self.specs.push(spec);
        }
        Chart { title: title.into(), spec: id, table }
    }
}

/// A top-level part of the report, with its own entry in the page's navigation.
#[derive(Debug, Serialize)]
pub(crate) struct Section {
    pub id: String,
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(id: &str, title: impl Into<String>) -> Self {
        Section { id: id.into(), title: title.into(), blocks: Vec::new() }
    }
}

/// One piece of a section.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Block {
    /// A heading within a section or group.
    Heading { text: String },
    /// A paragraph; `tone` colours alerts and notes.
    Text { text: String, tone: Tone },
    /// Label–value pairs.
    Facts { facts: Vec<Fact> },
    /// A table of numbers.
    Table(Table),
    /// A chart with its numbers table (collapsed) beside it.
    Chart(Chart),
    /// A collapsible group of blocks (a deep-dived pair, an arm).
    Group { title: String, open: bool, blocks: Vec<Block> },
}

impl Block {
    pub fn heading(text: impl Into<String>) -> Self {
        Block::Heading { text: text.into() }
    }

    pub fn text(text: impl Into<String>) -> Self {
        Block::Text { text: text.into(), tone: Tone::Plain }
    }

    pub fn alert(text: impl Into<String>) -> Self {
        Block::Text { text: text.into(), tone: Tone::Alert }
    }

    pub fn note(text: impl Into<String>) -> Self {
        Block::Text { text: text.into(), tone: Tone::Note }
    }
}

/// How a paragraph is coloured.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Tone {
    Plain,
    Note,
    Alert,
}

/// A labelled value.
#[derive(Debug, Serialize)]
pub(crate) struct Fact {
    pub label: String,
    pub value: Value,
    pub format: Format,
}

impl Fact {
    pub fn new(label: impl Into<String>, value: impl Into<Value>, format: Format) -> Self {
        Fact { label: label.into(), value: value.into(), format }
    }

    pub fn text(label: impl Into<String>, value: impl Into<String>) -> Self {
        Fact::new(label, value.into(), Format::Text)
    }
}

/// How the page shows a number.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Format {
    /// As given.
    Text,
    /// Four significant digits (scientific when tiny or huge).
    Number,
    /// A p- or q-value: two significant digits, scientific below 0.001.
    PValue,
    /// A share, as a percentage with one decimal.
    Percent,
    /// A whole number with thousands separators.
    Count,
}

/// A column: its heading, the field name a chart reads it by, and its format.
#[derive(Debug, Serialize)]
pub(crate) struct Column {
    pub label: String,
    pub field: &'static str,
    pub format: Format,
}

/// `Column` from a `(field, label, format)` triple.
pub(crate) fn col(field: &'static str, label: &str, format: Format) -> Column {
    Column { label: label.into(), field, format }
}

/// A table. With `filters` the page offers a control per named field (a choice of values for
/// text, an upper bound for numbers); with `page` it shows that many rows at a time; with
/// `details` a row opens to its chart, the first `expanded` rows open from the start.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Table {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'static str>,
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<Option<Chart>>>,
    #[serde(skip_serializing_if = "is_zero")]
    pub expanded: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Table {
    pub fn new(caption: impl Into<String>, columns: Vec<Column>) -> Self {
        Table { caption: caption.into(), columns, ..Table::default() }
    }

    /// Appends a row; one value per column.
    pub fn row(&mut self, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns.len(), "a row of '{}'", self.caption);
        self.rows.push(values);
    }
}

/// A chart: the index of its Vega-Lite specification in [`Document::specs`] and the numbers
/// table it draws (each row a datum whose fields are the columns' `field` names).
#[derive(Debug, Serialize)]
pub(crate) struct Chart {
    pub title: String,
    pub spec: usize,
    pub table: Table,
}

/// The 95% normal interval `estimate ± z₀.₉₇₅·se` as two JSON numbers (null when not finite).
pub(crate) fn ci95(estimate: f64, se: f64) -> [Value; 2] {
    [num(estimate - cateye::Z_975 * se), num(estimate + cateye::Z_975 * se)]
}

/// A JSON number, or null for a missing or non-finite value (JSON has no NaN).
pub(crate) fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}
