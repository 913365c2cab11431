//! The per-dimension and per-level results of a scan as Arrow tables, and the sink that streams
//! them to Parquet while a sweep is scanned experiment by experiment
//! ([`cateye_scan::scan_by_experiment`], `tables = "parquet"`).
//!
//! The columns are those of `dimensions.csv` and `levels.csv` ([`DIMENSION_COLUMNS`],
//! [`LEVEL_COLUMNS`]), typed: strings, booleans, unsigned counts and floats (NaN where a test or
//! estimate does not exist). `docs/scan-schema.md` documents them.

use crate::scan::DimensionRow;
use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use cateye_io::{IoError, Source, TableWriter};
use cateye_scan::{DimensionSink, ScanError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Columns of the per-dimension table, in order.
pub const DIMENSION_COLUMNS: [&str; 16] = [
    "experiment",
    "metric",
    "arm",
    "dimension",
    "cuped",
    "levels",
    "pooled",
    "excluded",
    "q",
    "df",
    "p_value",
    "q_value",
    "explained_variance",
    "explained_sd",
    "rank",
    "flagged",
];

/// Columns of the per-level table, in order.
pub const LEVEL_COLUMNS: [&str; 10] =
    ["experiment", "metric", "arm", "dimension", "level", "pooled_from", "n_treatment", "n_control", "effect", "se"];

/// Columns with Parquet statistics: row groups hold experiments in input order, so a reader
/// filtering on the experiment skips the others.
const KEYS: [&str; 1] = ["experiment"];

fn column_types(names: &[&str], types: &[DataType]) -> SchemaRef {
    Arc::new(Schema::new(names.iter().zip(types).map(|(n, t)| Field::new(*n, t.clone(), false)).collect::<Vec<_>>()))
}

/// Schema of the per-dimension table; without the last two columns (`q_value`'s place is kept
/// for the q-values once known), the table as streamed before the correction.
fn dimension_schema(with_q: bool) -> SchemaRef {
    use DataType::{Boolean as B, Float64 as F, UInt32 as U, Utf8 as S};
    let types = [S, S, S, S, B, U, S, S, F, F, F, F, F, F, U, B];
    let schema = column_types(&DIMENSION_COLUMNS, &types);
    if with_q {
        return schema;
    }
    let keep: Vec<usize> =
        (0..DIMENSION_COLUMNS.len()).filter(|&i| !matches!(DIMENSION_COLUMNS[i], "q_value" | "flagged")).collect();
    Arc::new(schema.project(&keep).expect("columns of the schema"))
}

fn level_schema() -> SchemaRef {
    use DataType::{Float64 as F, Utf8 as S};
    column_types(&LEVEL_COLUMNS, &[S, S, S, S, S, S, F, F, F, F])
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn floats(values: impl Iterator<Item = f64>) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(values))
}

/// The streamed columns of the per-dimension table completed with `q_value` (in its place) and
/// `flagged` (last).
fn with_q_values(
    mut columns: Vec<ArrayRef>,
    q: impl Iterator<Item = f64>,
    flagged: impl Iterator<Item = bool>,
) -> RecordBatch {
    let at = DIMENSION_COLUMNS.iter().position(|c| *c == "q_value").expect("a q_value column");
    columns.insert(at, floats(q));
    columns.push(Arc::new(BooleanArray::from_iter(flagged.map(Some))));
    RecordBatch::try_new(dimension_schema(true), columns).expect("columns match the schema")
}

/// Every column but `q_value` and `flagged`.
fn dimension_columns(rows: &[DimensionRow]) -> Vec<ArrayRef> {
    let test = |f: fn(&cateye_stats::Heterogeneity) -> f64| {
        floats(rows.iter().map(move |r| r.test.as_ref().map_or(f64::NAN, f)))
    };
    vec![
        strings(rows.iter().map(|r| r.experiment.as_str())),
        strings(rows.iter().map(|r| r.metric.as_str())),
        strings(rows.iter().map(|r| r.arm.as_str())),
        strings(rows.iter().map(|r| r.dimension.as_str())),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.cuped)))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.levels.len() as u32))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.pooled.join(";")))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.excluded.join(";")))),
        test(|t| t.q),
        test(|t| t.df),
        test(|t| t.p_value),
        test(|t| t.explained_variance),
        floats(rows.iter().map(|r| r.explained_sd)),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.rank as u32))),
    ]
}

/// The per-dimension table of scanned rows (with their q-values): what `dimensions.parquet`
/// holds for them.
pub fn dimension_table(rows: &[DimensionRow]) -> RecordBatch {
    with_q_values(dimension_columns(rows), rows.iter().map(|r| r.q_value), rows.iter().map(|r| r.flagged))
}

/// The per-level table of scanned rows (one row per level): what `levels.parquet` holds.
pub fn level_table(rows: &[DimensionRow]) -> RecordBatch {
    let levels = || rows.iter().flat_map(|r| r.levels.iter().map(move |l| (r, l)));
    let columns = vec![
        strings(levels().map(|(r, _)| r.experiment.as_str())),
        strings(levels().map(|(r, _)| r.metric.as_str())),
        strings(levels().map(|(r, _)| r.arm.as_str())),
        strings(levels().map(|(r, _)| r.dimension.as_str())),
        strings(levels().map(|(_, l)| l.level.as_str())),
        Arc::new(StringArray::from_iter_values(levels().map(|(_, l)| l.pooled_from.join(";")))) as ArrayRef,
        floats(levels().map(|(_, l)| l.n[0])),
        floats(levels().map(|(_, l)| l.n[1])),
        floats(levels().map(|(_, l)| l.effect)),
        floats(levels().map(|(_, l)| l.se)),
    ];
    RecordBatch::try_new(level_schema(), columns).expect("columns match the schema")
}

/// Streams the dimension and level rows of a scan by experiment to `dimensions.parquet` and
/// `levels.parquet`. The dimension rows wait in a temporary Parquet file until the correction
/// gives their q-values; then the final table is written from it, batch by batch.
pub struct ParquetTables {
    dimensions: PathBuf,
    pending: PathBuf,
    pending_writer: Option<TableWriter>,
    levels: Option<TableWriter>,
}

fn to_scan(e: IoError) -> ScanError {
    e.into()
}

impl ParquetTables {
    /// Tables at `dimensions` and `levels` (Parquet files), the pending rows beside the first.
    pub fn create(dimensions: &Path, levels: &Path) -> crate::Result<Self> {
        let pending = dimensions.with_extension("pending.parquet");
        Ok(Self {
            pending_writer: Some(TableWriter::create_keyed(&pending, dimension_schema(false), Some(&[]))?),
            levels: Some(TableWriter::create_keyed(levels, level_schema(), Some(&KEYS))?),
            dimensions: dimensions.to_path_buf(),
            pending,
        })
    }
}

impl DimensionSink for ParquetTables {
    fn rows(&mut self, rows: &[DimensionRow]) -> cateye_scan::Result<()> {
        let (Some(pending), Some(levels)) = (self.pending_writer.as_mut(), self.levels.as_mut()) else {
            return Err(to_scan(IoError::write(&self.dimensions, "rows after the tables were finished")));
        };
        if rows.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(dimension_schema(false), dimension_columns(rows)).expect("schema");
        pending.write(&batch).map_err(to_scan)?;
        levels.write(&level_table(rows)).map_err(to_scan)?;
        Ok(())
    }

    fn q_values(&mut self, q_values: &[f64], alpha: f64) -> cateye_scan::Result<()> {
        if let Some(w) = self.levels.take() {
            w.close().map_err(to_scan)?;
        }
        if let Some(w) = self.pending_writer.take() {
            w.close().map_err(to_scan)?;
        }
        let pending = Source::open(&self.pending).map_err(to_scan)?;
        let all: Vec<usize> = (0..pending.schema().fields().len()).collect();
        let mut out =
            TableWriter::create_keyed(&self.dimensions, dimension_schema(true), Some(&KEYS)).map_err(to_scan)?;
        let streamed = dimension_schema(false);
        let mut offset = 0usize;
        for batch in pending.batches(&all, 64 * 1024).map_err(to_scan)? {
            let batch = batch.map_err(to_scan)?;
            let Some(q) = q_values.get(offset..offset + batch.num_rows()) else {
                return Err(to_scan(IoError::write(
                    &self.dimensions,
                    format!("more dimension rows written than the {} q-values", q_values.len()),
                )));
            };
            offset += batch.num_rows();
            // Strings come back dictionary-encoded: cast to the table's plain types.
            let columns = batch
                .columns()
                .iter()
                .zip(streamed.fields())
                .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| to_scan(IoError::read(&self.pending.display().to_string(), e)))?;
            out.write(&with_q_values(columns, q.iter().copied(), q.iter().map(|&q| q <= alpha))).map_err(to_scan)?;
        }
        out.close().map_err(to_scan)?;
        if offset != q_values.len() {
            return Err(to_scan(IoError::write(
                &self.dimensions,
                format!("{} dimension rows written but {} q-values", offset, q_values.len()),
            )));
        }
        std::fs::remove_file(&self.pending).map_err(|e| to_scan(IoError::write(&self.pending, e)))?;
        Ok(())
    }
}
