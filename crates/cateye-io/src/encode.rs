//! Turning record batches into integer codes and float columns: the columnar form the
//! aggregation loop consumes.
//!
//! Labels (experiments, arms, categorical levels) get dense codes in order of first appearance
//! in the file, through dictionaries that persist across batches; dictionary-encoded Arrow
//! columns are mapped once per batch dictionary, not once per row.

use crate::binning::{as_f64, bin_labels, bin_of, BinEdges};
use crate::error::{IoError, Result};
use crate::layout::{Layout, MetricColumn};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::buffer::ScalarBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int32Type};
use rayon::prelude::*;
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
        if let Some(dict) = array.as_dictionary_opt::<Int32Type>() {
            // What the Parquet reader gives for a string column: map the dictionary once, then
            // each row's key (null rows have no meaningful key).
            let mut value_codes = Vec::new();
            self.encode(dict.values().as_ref(), null_code, &mut value_codes)?;
            let keys = dict.keys().values();
            let code = |k: i32| usize::try_from(k).ok().and_then(|k| value_codes.get(k).copied());
            match dict.nulls().filter(|n| n.null_count() > 0) {
                None => {
                    // Every key in range (one pass without branches; a negative key is a large
                    // `u32`), then a lookup per row.
                    let largest = keys.iter().fold(0u32, |m, &k| m.max(k as u32));
                    if largest as usize >= value_codes.len() && !keys.is_empty() {
                        return Err(bad_key(largest as i32));
                    }
                    out.extend(keys.iter().map(|&k| value_codes[k as u32 as usize]));
                }
                Some(nulls) => {
                    for (i, &k) in keys.iter().enumerate() {
                        out.push(if nulls.is_null(i) { null_code } else { code(k).ok_or_else(|| bad_key(k))? });
                    }
                }
            }
            return Ok(());
        }
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

fn bad_key(key: i32) -> arrow::error::ArrowError {
    arrow::error::ArrowError::InvalidArgumentError(format!("dictionary key {key} out of the dictionary's range"))
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
    /// Metric values per metric per row (NaN = missing): the batch's own buffer when the column
    /// is `Float64` without nulls (shared, not copied).
    pub metrics: Vec<ScalarBuffer<f64>>,
    /// Pre-period values per metric per row, when the metric has a pre-period column.
    pub pre: Vec<Option<ScalarBuffer<f64>>>,
    /// Randomization cluster code per row (a null cluster is a cluster of its own label).
    pub cluster: Option<Vec<u32>>,
}

impl EncodedBatch {
    /// Rows whose experiment or variant is null: skipped.
    pub fn skipped_rows(&self) -> usize {
        self.experiment.iter().zip(&self.arm).filter(|(e, a)| **e == NULL_CODE || **a == NULL_CODE).count()
    }
}

/// Values of a numeric array as `f64`, nulls as NaN: the array's own buffer, shared, when it is
/// `Float64` without nulls (a scan's metrics usually are), a new one otherwise.
fn f64_values(array: &dyn Array) -> std::result::Result<ScalarBuffer<f64>, arrow::error::ArrowError> {
    match array.as_primitive_opt::<Float64Type>() {
        Some(p) if p.null_count() == 0 => Ok(p.values().clone()),
        _ => as_f64(array).map(ScalarBuffer::from),
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

    /// Encode one batch of `input` (the label errors name), whose columns are those of the
    /// layout's projection.
    ///
    /// Columns are encoded in parallel (rayon): every label column has a dictionary of its own
    /// (experiments, arms, each dimension's levels, clusters), and a column's codes depend on its
    /// dictionary and values alone, so they are those of one column after the other, whatever
    /// the number of threads. An error is that of the first failing column in the layout's order
    /// (experiment, variant, dimensions, cluster, metrics).
    pub fn encode(&mut self, batch: &RecordBatch, input: &str) -> Result<EncodedBatch> {
        let err = |column: &str, e: arrow::error::ArrowError| IoError::column(input, column, e);
        let col = |name: &str| batch.column_by_name(name).expect("column of the projection");
        let l = &self.layout;
        let (max_levels, rows_seen) = (self.max_levels, self.rows_seen);
        let (experiments, arms, clusters) = (&mut self.experiments, &mut self.arms, &mut self.clusters);
        let labels = |dictionary: &mut Dictionary, name: &str| -> Result<Vec<u32>> {
            let mut codes = Vec::with_capacity(batch.num_rows());
            dictionary.encode(col(name).as_ref(), NULL_CODE, &mut codes).map_err(|e| err(name, e))?;
            Ok(codes)
        };
        let dimension = |(d, dictionary): (usize, &mut Dictionary)| -> Result<Vec<u32>> {
            let dim = &l.dimensions[d];
            match &self.edges[d] {
                None => {
                    let mut codes = labels(dictionary, &dim.name)?;
                    // Nulls (in the values or, for dictionary arrays, in the dictionary) form a level.
                    if codes.contains(&NULL_CODE) {
                        let null = dictionary.code(NULL_LEVEL);
                        codes.iter_mut().filter(|c| **c == NULL_CODE).for_each(|c| *c = null);
                    }
                    if dictionary.len() > max_levels {
                        return Err(IoError::Invalid {
                            input: input.to_string(),
                            message: format!(
                                "dimension '{}' has more than {max_levels} levels (is it an id?): name the dimensions \
                                 with --dimensions, or raise --max-levels (max_levels in a config file)",
                                dim.name
                            ),
                        });
                    }
                    Ok(codes)
                }
                Some(edges) => {
                    let values = as_f64(col(&dim.name).as_ref()).map_err(|e| err(&dim.name, e))?;
                    let mut null = None;
                    Ok(values
                        .into_iter()
                        .map(|v| match v.is_nan() {
                            true => *null.get_or_insert_with(|| dictionary.code(NULL_LEVEL)),
                            false => bin_of(edges, v) as u32,
                        })
                        .collect())
                }
            }
        };
        let cluster = |clusters: &mut Dictionary| -> Result<Option<Vec<u32>>> {
            let Some(c) = &l.cluster else { return Ok(None) };
            let mut codes = labels(clusters, c)?;
            if codes.contains(&NULL_CODE) {
                let null = clusters.code(NULL_LEVEL);
                codes.iter_mut().filter(|k| **k == NULL_CODE).for_each(|k| *k = null);
            }
            Ok(Some(codes))
        };
        let values = |name: &str, role: &'static str| -> Result<ScalarBuffer<f64>> {
            let values = f64_values(col(name).as_ref()).map_err(|e| err(name, e))?;
            check_range(&values, name, role, input, rows_seen)?;
            Ok(values)
        };
        let metric = |m: &MetricColumn| -> Result<(ScalarBuffer<f64>, Option<ScalarBuffer<f64>>)> {
            let pre = m.pre.as_ref().map(|p| values(p, "pre-period covariate"));
            Ok((values(&m.name, "metric")?, pre.transpose()?))
        };
        let ((experiment, arm), ((levels, cluster), metrics)) = rayon::join(
            || rayon::join(|| labels(experiments, &l.experiment), || labels(arms, &l.variant)),
            || {
                rayon::join(
                    || {
                        rayon::join(
                            || self.levels.par_iter_mut().enumerate().map(dimension).collect::<Vec<_>>(),
                            || cluster(clusters),
                        )
                    },
                    || l.metrics.par_iter().map(metric).collect::<Vec<_>>(),
                )
            },
        );
        let (experiment, arm) = (experiment?, arm?);
        let levels = levels.into_iter().collect::<Result<Vec<_>>>()?;
        let cluster = cluster?;
        let (metrics, pre) = metrics.into_iter().collect::<Result<(Vec<_>, Vec<_>)>>()?;
        self.rows_seen += batch.num_rows() as u64;
        Ok(EncodedBatch { rows: batch.num_rows(), experiment, arm, levels, metrics, pre, cluster })
    }
}

/// Refuses a finite value beyond [`MAX_METRIC_MAGNITUDE`] (infinite ones are missing values) in
/// `column`, whose first value is row `rows_seen + 1` of the input.
fn check_range(values: &[f64], column: &str, role: &'static str, input: &str, rows_seen: u64) -> Result<()> {
    // First whether there is one, in a pass without branches over the bits (|v| is finite and
    // beyond the limit when its bits without the sign lie strictly between those of the limit
    // and of infinity), which the compiler vectorizes; then where.
    const SIGN: u64 = 1 << 63;
    let (limit, infinity) = (MAX_METRIC_MAGNITUDE.to_bits(), f64::INFINITY.to_bits());
    let beyond = |v: &f64| {
        let bits = v.to_bits() & !SIGN;
        u64::from(bits > limit) & u64::from(bits < infinity)
    };
    if values.iter().map(beyond).sum::<u64>() == 0 {
        return Ok(());
    }
    let i = values.iter().position(|v| beyond(v) == 1).expect("one is beyond");
    Err(IoError::OutOfRange {
        input: input.to_string(),
        column: column.to_string(),
        role,
        row: rows_seen + i as u64 + 1,
        value: values[i],
        limit: MAX_METRIC_MAGNITUDE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ColumnRoles;
    use crate::source::Source;
    use arrow::array::{DictionaryArray, Float64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    /// Rows of two experiments; `country` has levels a, b, c, and `y` one value of 1e80 at
    /// row 6 (1-based).
    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("experiment", DataType::Utf8, true),
            Field::new("variant", DataType::Utf8, false),
            Field::new("country", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), true),
            Field::new("y", DataType::Float64, true),
        ]));
        let country: DictionaryArray<Int32Type> =
            vec![Some("b"), Some("a"), None, Some("c"), Some("a"), Some("b"), Some("c"), None].into_iter().collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("e1"),
                    Some("e1"),
                    None,
                    Some("e2"),
                    Some("e2"),
                    Some("e1"),
                    Some("e2"),
                    Some("e1"),
                ])),
                Arc::new(StringArray::from(vec!["t", "control", "t", "control", "t", "t", "control", "control"])),
                Arc::new(country),
                Arc::new(Float64Array::from(vec![
                    Some(1.0),
                    None,
                    Some(f64::INFINITY),
                    Some(2.0),
                    Some(3.0),
                    Some(1e80),
                    Some(4.0),
                    Some(f64::NAN),
                ])),
            ],
        )
        .unwrap()
    }

    fn encoder(max_levels: usize) -> Encoder {
        let source = Source::from_batches(vec![batch()]).unwrap();
        let roles = ColumnRoles { dimensions: Some(vec!["country".into()]), ..ColumnRoles::default() };
        let layout = Layout::resolve(&source, &roles).unwrap();
        Encoder::new(layout, vec![None], max_levels)
    }

    #[test]
    fn columns_encoded_in_parallel_get_codes_in_order_of_first_appearance_whatever_the_threads() {
        let rows = batch().slice(0, 5);
        for threads in [1, 4] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut enc = encoder(10);
            let e = pool.install(|| enc.encode(&rows, "t")).unwrap();
            assert_eq!(e.experiment, [0, 0, NULL_CODE, 1, 1]);
            assert_eq!(e.arm, [0, 1, 0, 1, 0]);
            // The null level takes the next code after the batch's values.
            assert_eq!(e.levels, [vec![0, 1, 3, 2, 1]]);
            assert_eq!(enc.levels[0].labels(), ["b", "a", "c", NULL_LEVEL]);
            let y: Vec<u64> = e.metrics[0].iter().map(|v| v.to_bits()).collect();
            let want: Vec<u64> = [1.0, f64::NAN, f64::INFINITY, 2.0, 3.0].iter().map(|v| v.to_bits()).collect();
            assert_eq!(y, want, "missing values are NaN, infinite ones kept (missing for the scan)");
            assert_eq!(enc.rows_seen, 5);
            // A slice without nulls (the keys' fast path) continues the same dictionaries.
            let e = pool.install(|| enc.encode(&batch().slice(3, 2), "t")).unwrap();
            assert_eq!((e.experiment, e.levels), (vec![1, 1], vec![vec![2, 1]]));
            assert_eq!(enc.rows_seen, 7);
        }
    }

    #[test]
    fn the_error_is_that_of_the_first_failing_column_in_the_layout_order() {
        // Both the dimension (4 levels, 3 allowed) and the metric (1e80) fail: the dimension
        // comes first in the layout.
        let err = encoder(3).encode(&batch(), "t.parquet").unwrap_err().to_string();
        assert!(err.contains("'country' has more than 3 levels"), "{err}");
        let err = encoder(10).encode(&batch(), "t.parquet").unwrap_err().to_string();
        assert!(err.contains("'y'") && err.contains("row 6") && err.contains("1e80"), "{err}");
    }
}
