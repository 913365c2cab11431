//! Reading unit-level tables in record batches: Parquet, CSV and Arrow IPC (file or stream),
//! through the arrow-rs readers, with column projection.

use crate::error::{Result, ScanError};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File formats cateye reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
    /// Arrow IPC, file (`ARROW1` magic) or stream format.
    Ipc,
}

/// Rows a CSV schema is inferred from.
const CSV_INFER_ROWS: usize = 10_000;

/// A table on disk: its path, format and Arrow schema.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub format: Format,
    pub schema: SchemaRef,
    /// Number of rows when the format records it (Parquet, IPC file).
    pub num_rows: Option<u64>,
}

/// A stream of record batches.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

fn io_err(path: &Path, e: impl std::fmt::Display) -> ScanError {
    ScanError::Io { file: path.to_path_buf(), message: e.to_string() }
}

fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| io_err(path, e))
}

impl Source {
    /// Open `path`, choosing the reader by extension, and read its schema.
    pub fn open(path: &Path) -> Result<Self> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let format = match ext.as_str() {
            "parquet" | "pq" => Format::Parquet,
            "csv" => Format::Csv,
            "arrow" | "ipc" | "feather" | "arrows" => Format::Ipc,
            _ => return Err(ScanError::UnsupportedFormat { file: path.into() }),
        };
        let file = open_file(path)?;
        let (schema, num_rows) = match format {
            Format::Parquet => {
                let b = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| io_err(path, e))?;
                (b.schema().clone(), Some(b.metadata().file_metadata().num_rows().max(0) as u64))
            }
            Format::Csv => {
                let (schema, _) = arrow::csv::reader::Format::default()
                    .with_header(true)
                    .infer_schema(BufReader::new(file), Some(CSV_INFER_ROWS))
                    .map_err(|e| io_err(path, e))?;
                (Arc::new(schema), None)
            }
            Format::Ipc => {
                if is_ipc_file(path)? {
                    let r = arrow::ipc::reader::FileReader::try_new(BufReader::new(file), None)
                        .map_err(|e| io_err(path, e))?;
                    (r.schema(), None)
                } else {
                    let r = arrow::ipc::reader::StreamReader::try_new(BufReader::new(file), None)
                        .map_err(|e| io_err(path, e))?;
                    (r.schema(), None)
                }
            }
        };
        if schema.fields().is_empty() {
            return Err(ScanError::Empty { file: path.into() });
        }
        Ok(Self { path: path.into(), format, schema, num_rows })
    }

    /// Column names, comma separated (for error messages).
    pub fn column_list(&self) -> String {
        self.schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Read the columns `projection` (indices into [`Source::schema`], ascending) in batches of
    /// `batch_rows` rows. String columns of Parquet files are read dictionary-encoded when the
    /// file stores them so, which saves hashing every row.
    pub fn batches(&self, projection: &[usize], batch_rows: usize) -> Result<Batches> {
        let path = self.path.clone();
        let file = open_file(&self.path)?;
        let map_err = move |e: arrow::error::ArrowError| io_err(&path, e);
        match self.format {
            Format::Parquet => {
                let hint = Arc::new(dictionary_hint(&self.schema));
                let options = ArrowReaderOptions::new().with_schema(hint);
                let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
                    .map_err(|e| io_err(&self.path, e))?;
                let mask = ProjectionMask::roots(builder.parquet_schema(), projection.iter().copied());
                let reader = builder
                    .with_projection(mask)
                    .with_batch_size(batch_rows)
                    .build()
                    .map_err(|e| io_err(&self.path, e))?;
                Ok(Box::new(reader.map(move |b| b.map_err(&map_err))))
            }
            Format::Csv => {
                let reader = arrow::csv::ReaderBuilder::new(self.schema.clone())
                    .with_header(true)
                    .with_batch_size(batch_rows)
                    .with_projection(projection.to_vec())
                    .build(BufReader::new(file))
                    .map_err(|e| io_err(&self.path, e))?;
                Ok(Box::new(reader.map(move |b| b.map_err(&map_err))))
            }
            Format::Ipc => {
                let proj = Some(projection.to_vec());
                if is_ipc_file(&self.path)? {
                    let r = arrow::ipc::reader::FileReader::try_new(BufReader::new(file), proj)
                        .map_err(|e| io_err(&self.path, e))?;
                    Ok(Box::new(r.map(move |b| b.map_err(&map_err))))
                } else {
                    let r = arrow::ipc::reader::StreamReader::try_new(BufReader::new(file), proj)
                        .map_err(|e| io_err(&self.path, e))?;
                    Ok(Box::new(r.map(move |b| b.map_err(&map_err))))
                }
            }
        }
    }
}

/// The file schema with every string column asked for as a dictionary.
fn dictionary_hint(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => f
                .as_ref()
                .clone()
                .with_data_type(DataType::Dictionary(Box::new(DataType::Int32), Box::new(f.data_type().clone()))),
            _ => f.as_ref().clone(),
        })
        .collect();
    Schema::new(fields)
}

/// Whether an IPC file starts with the `ARROW1` magic of the file format (else: stream format).
fn is_ipc_file(path: &Path) -> Result<bool> {
    let mut f = open_file(path)?;
    let mut magic = [0u8; 6];
    let n = f.read(&mut magic).map_err(|e| io_err(path, e))?;
    f.seek(SeekFrom::Start(0)).map_err(|e| io_err(path, e))?;
    Ok(n == 6 && &magic == b"ARROW1")
}
