//! Writers: per-unit tables (Parquet, or CSV by extension), record batches to Parquet or CSV,
//! and JSON documents. Every failure names the file.

use crate::error::{IoError, Result};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::path::Path;
use std::sync::Arc;

fn is_csv(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn create(path: &Path) -> Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| IoError::write(dir, e))?;
    }
    std::fs::File::create(path).map_err(|e| IoError::write(path, e))
}

/// A table written batch by batch: CSV when the path's extension is `.csv`, Parquet (Snappy)
/// otherwise. Memory holds one Parquet row group at most, whatever the number of batches.
pub struct TableWriter {
    path: std::path::PathBuf,
    inner: Inner,
}

enum Inner {
    Csv(arrow::csv::Writer<std::fs::File>),
    Parquet(parquet::arrow::ArrowWriter<std::fs::File>),
}

/// Rows per Parquet row group of a [`TableWriter`]: small enough to bound the writer's buffer,
/// large enough for readers to skip by statistics.
const ROW_GROUP_ROWS: usize = 256 * 1024;

impl TableWriter {
    /// Creates `path` (and its folder) for batches of `schema`.
    pub fn create(path: &Path, schema: SchemaRef) -> Result<Self> {
        Self::create_keyed(path, schema, None)
    }

    /// [`Self::create`] for a long result table (when `keys` is given): row groups of 256 Ki
    /// rows, so that the writer's buffer stays small, and min/max statistics only for the
    /// columns `keys`: readers skip row groups by the keys, and the statistics of every string
    /// column cost more to compute than they save.
    pub fn create_keyed(path: &Path, schema: SchemaRef, keys: Option<&[&str]>) -> Result<Self> {
        use parquet::file::properties::EnabledStatistics;
        use parquet::schema::types::ColumnPath;
        let file = create(path)?;
        let inner = if is_csv(path) {
            Inner::Csv(arrow::csv::WriterBuilder::new().with_header(true).build(file))
        } else {
            let mut props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY);
            if let Some(keys) = keys {
                props = props.set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
                props = props.set_statistics_enabled(EnabledStatistics::None);
                for key in keys {
                    props = props.set_column_statistics_enabled(ColumnPath::from(*key), EnabledStatistics::Chunk);
                }
            }
            let props = props.build();
            let writer =
                parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| IoError::write(path, e))?;
            Inner::Parquet(writer)
        };
        Ok(Self { path: path.to_path_buf(), inner })
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match &mut self.inner {
            Inner::Csv(w) => w.write(batch).map_err(|e| IoError::write(&self.path, e)),
            Inner::Parquet(w) => w.write(batch).map_err(|e| IoError::write(&self.path, e)),
        }
    }

    /// Finishes the file (the Parquet footer).
    pub fn close(self) -> Result<()> {
        match self.inner {
            Inner::Csv(w) => drop(w),
            Inner::Parquet(w) => {
                w.close().map_err(|e| IoError::write(&self.path, e))?;
            }
        }
        Ok(())
    }
}

/// Writes the batches of `batches` (all of `schema`) to `path`: CSV when its extension is
/// `.csv`, Parquet (Snappy) otherwise. Batches are written as they come, so a long stream
/// needs no more memory than one row group.
pub fn write_batches(path: &Path, schema: SchemaRef, batches: impl IntoIterator<Item = RecordBatch>) -> Result<()> {
    let mut writer = TableWriter::create(path, schema)?;
    for batch in batches {
        writer.write(&batch)?;
    }
    writer.close()
}

/// Writes `row` (0-based input row) and the named float columns, all of the same length, as
/// one table (Parquet, or CSV by extension). NaN values are written as nulls (a quantity that
/// does not apply to the row).
pub fn write_unit_table(path: &Path, columns: Vec<(String, Vec<f64>)>) -> Result<()> {
    let n = columns.first().map_or(0, |c| c.1.len());
    let mut fields = vec![Field::new("row", DataType::UInt64, false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(0..n as u64))];
    for (name, values) in columns {
        let nullable = values.iter().any(|v| v.is_nan());
        fields.push(Field::new(name, DataType::Float64, nullable));
        arrays.push(Arc::new(Float64Array::from_iter(values.into_iter().map(|v| (!v.is_nan()).then_some(v)))));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| IoError::write(path, e))?;
    if is_csv(path) {
        let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(create(path)?);
        writer.write(&batch).map_err(|e| IoError::write(path, e))
    } else {
        // Unit tables keep parquet's default (uncompressed) settings, as before.
        let fail = |e: parquet::errors::ParquetError| IoError::write(path, e);
        let mut writer = parquet::arrow::ArrowWriter::try_new(create(path)?, schema, None).map_err(fail)?;
        writer.write(&batch).map_err(fail)?;
        writer.close().map_err(fail).map(|_| ())
    }
}

/// Writes `value` as pretty-printed JSON, streamed to the file as it is serialized.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    stream_json(path, |w| serde_json::to_writer_pretty(w, value))
}

/// Writes `value` as compact JSON (no indentation), streamed to the file as it is serialized:
/// a sweep's `scan.json` runs to gigabytes, half of them indentation when pretty-printed, and
/// is never held in memory as one string.
pub fn write_json_compact<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    stream_json(path, |w| serde_json::to_writer(w, value))
}

/// Reads a JSON document written by [`write_json`] (a mechanism file, a design summary); the
/// error names the file and says what the reader found.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let label = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| IoError::read(&label, e))?;
    serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| IoError::read(&label, e))
}

fn stream_json(
    path: &Path,
    serialize: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> serde_json::Result<()>,
) -> Result<()> {
    use std::io::Write;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, create(path)?);
    serialize(&mut writer).map_err(|e| IoError::write(path, e))?;
    writer.flush().map_err(|e| IoError::write(path, e))
}
