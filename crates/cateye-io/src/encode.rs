//! Turning record batches into integer codes and float columns: the columnar form the
//! aggregation loop consumes.
//!
//! Labels (experiments, arms, categorical levels) get dense codes in order of first appearance
//! in the file, through dictionaries that persist across batches; dictionary-encoded Arrow
//! columns are mapped once per batch dictionary, not once per row.

use crate::binning::{as_f64, bin_labels, bin_of, BinEdges};
use crate::error::{IoError, Result};
use crate::layout::Layout;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use rustc_hash::FxHashMap;

/// Code of a row whose experiment or variant is null: the row is skipped (and counted).
pub const NULL_CODE: u32 = u32::MAX;

/// The largest magnitude of a metric or pre-period value: the scan sums fourth powers of
/// deviations, and beyond this a sum over a billion rows could overflow (`(2·10⁷⁰)⁴·10⁹` is far
/// below `f64::MAX` ≈ 1.8·10³⁰⁸; `(10⁸⁰)⁴` is not). Values beyond it are an error naming them.
pub const MAX_METRIC_MAGNITUDE: f64 = 1e70;

/// Label of the level of rows whose dimension value is null.
pub const NULL_LEVEL: &str = "(null)";

/// Dense codes for string labels, in order of first appearance.
#[derive(Clone, Debug, Default)]
pub struct Dictionary {
    index: FxHashMap<String, u32>,
    labels: Vec<String>,
}

impl Dictionary {
    /// A dictionary pre-filled with `labels` (codes 0, 1, ...).
    pub fn with_labels(labels: impl IntoIterator<Item = String>) -> Self {
        let mut d = Self::default();
        for l in labels {
            d.code(&l);
        }
        d
    }

    /// Code of `label`, added if new.
    pub fn code(&mut self, label: &str) -> u32 {
        if let Some(&c) = self.index.get(label) {
            return c;
        }
        let c = self.labels.len() as u32;
        self.index.insert(label.to_string(), c);
        self.labels.push(label.to_string());
        c
    }

    /// Code of `label` if known.
    pub fn get(&self, label: &str) -> Option<u32> {
        self.index.get(label).copied()
    }

    /// The labels, indexed by code.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of distinct labels (the next code to be given).
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether no label has been coded yet.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Codes of the values of a label column; nulls get `null_code`.
    pub fn encode(
        &mut self,
        array: &dyn Array,
        null_code: u32,
        out: &mut Vec<u32>,
    ) -> std::result::Result<(), arrow::error::ArrowError> {
        out.clear();
        if let Some(dict) = array.as_any_dictionary_opt() {
            let mut value_codes = Vec::new();
            self.encode(dict.values().as_ref(), null_code, &mut value_codes)?;
            let keys = dict.normalized_keys();
            out.extend((0..array.len()).map(|i| if array.is_null(i) { null_code } else { value_codes[keys[i]] }));
            return Ok(());
        }
        match array.data_type() {
            DataType::Utf8 => self.encode_strings(array.as_string::<i32>().iter(), null_code, out),
            DataType::LargeUtf8 => self.encode_strings(array.as_string::<i64>().iter(), null_code, out),
            DataType::Utf8View => self.encode_strings(array.as_string_view().iter(), null_code, out),
            _ => {
                let s = cast(array, &DataType::Utf8)?;
                self.encode_strings(s.as_string::<i32>().iter(), null_code, out)
            }
        }
        Ok(())
    }

    fn encode_strings<'a>(
        &mut self,
        values: impl Iterator<Item = Option<&'a str>>,
        null_code: u32,
        out: &mut Vec<u32>,
    ) {
        // Runs of equal labels are common (sorted files): skip the hash lookup for them.
        let mut last: Option<(&str, u32)> = None;
        for v in values {
            let code = match v {
                None => null_code,
                Some(s) => match last {
                    Some((l, c)) if l == s => c,
                    _ => {
                        let c = self.code(s);
                        last = Some((s, c));
                        c
                    }
                },
            };
            out.push(code);
        }
    }
}

/// One record batch in columnar, coded form.
#[derive(Clone, Debug, Default)]
pub struct EncodedBatch {
    /// Number of rows of the batch.
    pub rows: usize,
    /// Experiment code per row ([`NULL_CODE`]: skip).
    pub experiment: Vec<u32>,
    /// Arm code per row ([`NULL_CODE`]: skip).
    pub arm: Vec<u32>,
    /// Level code per dimension per row.
    pub levels: Vec<Vec<u32>>,
    /// Metric values per metric per row (NaN = missing).
    pub metrics: Vec<Vec<f64>>,
    /// Pre-period values per metric per row, when the metric has a pre-period column.
    pub pre: Vec<Option<Vec<f64>>>,
    /// Randomization cluster code per row (a null cluster is a cluster of its own label).
    pub cluster: Option<Vec<u32>>,
}

impl EncodedBatch {
    /// Rows whose experiment or variant is null: skipped.
    pub fn skipped_rows(&self) -> usize {
        self.experiment.iter().zip(&self.arm).filter(|(e, a)| **e == NULL_CODE || **a == NULL_CODE).count()
    }
}

/// Encodes batches of one file with dictionaries that persist across batches.
#[derive(Clone, Debug)]
pub struct Encoder {
    /// Column roles of the file.
    pub layout: Layout,
    /// Bin edges of each dimension of the layout (`None` for categorical ones).
    pub edges: BinEdges,
    /// Experiment labels.
    pub experiments: Dictionary,
    /// Arm (variant) labels.
    pub arms: Dictionary,
    /// Level dictionary of each dimension (bins in order for binned ones).
    pub levels: Vec<Dictionary>,
    /// Most levels a categorical dimension may have.
    pub max_levels: usize,
    /// Cluster labels.
    pub clusters: Dictionary,
    /// Rows encoded so far (to name rows of later batches, 1-based, in errors).
    pub rows_seen: u64,
}

impl Encoder {
    /// An encoder with empty dictionaries, except those of binned dimensions, pre-filled with
    /// their bin labels in order.
    pub fn new(layout: Layout, edges: BinEdges, max_levels: usize) -> Self {
        let levels = edges
            .iter()
            .map(|e| match e {
                Some(e) => Dictionary::with_labels(bin_labels(e)),
                None => Dictionary::default(),
            })
            .collect();
        Self {
            layout,
            edges,
            experiments: Dictionary::default(),
            arms: Dictionary::default(),
            levels,
            max_levels,
            clusters: Dictionary::default(),
            rows_seen: 0,
        }
    }

    /// Encode one batch (whose columns are those of the layout's projection).
    /// Encode one batch of `input` (the label errors name).
    pub fn encode(&mut self, batch: &RecordBatch, input: &str) -> Result<EncodedBatch> {
        let err = |column: &str, e: arrow::error::ArrowError| IoError::column(input, column, e);
        let col = |name: &str| batch.column_by_name(name).expect("column of the projection");
        let mut out = EncodedBatch { rows: batch.num_rows(), ..Default::default() };
        let l = &self.layout;
        self.experiments
            .encode(col(&l.experiment).as_ref(), NULL_CODE, &mut out.experiment)
            .map_err(|e| err(&l.experiment, e))?;
        self.arms.encode(col(&l.variant).as_ref(), NULL_CODE, &mut out.arm).map_err(|e| err(&l.variant, e))?;
        for (d, dim) in l.dimensions.iter().enumerate() {
            let array = col(&dim.name);
            let mut codes = Vec::with_capacity(batch.num_rows());
            match &self.edges[d] {
                None => {
                    self.levels[d].encode(array.as_ref(), NULL_CODE, &mut codes).map_err(|e| err(&dim.name, e))?;
                    // Nulls (in the values or, for dictionary arrays, in the dictionary) form a level.
                    if codes.contains(&NULL_CODE) {
                        let null = self.levels[d].code(NULL_LEVEL);
                        codes.iter_mut().filter(|c| **c == NULL_CODE).for_each(|c| *c = null);
                    }
                    if self.levels[d].len() > self.max_levels {
                        return Err(IoError::Invalid {
                            input: input.to_string(),
                            message: format!(
                                "dimension '{}' has more than {} levels (is it an id?): name the dimensions with \
                                 --dimensions, or raise --max-levels (max_levels in a config file)",
                                dim.name, self.max_levels
                            ),
                        });
                    }
                }
                Some(edges) => {
                    let values = as_f64(array.as_ref()).map_err(|e| err(&dim.name, e))?;
                    let mut null = None;
                    for v in values {
                        codes.push(if v.is_nan() {
                            *null.get_or_insert_with(|| self.levels[d].code(NULL_LEVEL))
                        } else {
                            bin_of(edges, v) as u32
                        });
                    }
                }
            }
            out.levels.push(codes);
        }
        if let Some(c) = &l.cluster {
            let mut codes = Vec::with_capacity(batch.num_rows());
            self.clusters.encode(col(c).as_ref(), NULL_CODE, &mut codes).map_err(|e| err(c, e))?;
            if codes.contains(&NULL_CODE) {
                let null = self.clusters.code(NULL_LEVEL);
                codes.iter_mut().filter(|k| **k == NULL_CODE).for_each(|k| *k = null);
            }
            out.cluster = Some(codes);
        }
        for m in &l.metrics {
            let values = as_f64(col(&m.name).as_ref()).map_err(|e| err(&m.name, e))?;
            self.check_range(&values, &m.name, "metric", input)?;
            out.metrics.push(values);
            out.pre.push(match &m.pre {
                Some(p) => {
                    let values = as_f64(col(p).as_ref()).map_err(|e| err(p, e))?;
                    self.check_range(&values, p, "pre-period covariate", input)?;
                    Some(values)
                }
                None => None,
            });
        }
        self.rows_seen += batch.num_rows() as u64;
        Ok(out)
    }

    /// Refuses a finite value beyond [`MAX_METRIC_MAGNITUDE`] (infinite ones are missing values).
    fn check_range(&self, values: &[f64], column: &str, role: &'static str, input: &str) -> Result<()> {
        match values.iter().position(|v| v.is_finite() && v.abs() > MAX_METRIC_MAGNITUDE) {
            None => Ok(()),
            Some(i) => Err(IoError::OutOfRange {
                input: input.to_string(),
                column: column.to_string(),
                role,
                row: self.rows_seen + i as u64 + 1,
                value: values[i],
                limit: MAX_METRIC_MAGNITUDE,
            }),
        }
    }
}
