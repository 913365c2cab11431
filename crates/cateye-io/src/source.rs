//! Where record batches come from: a file (Parquet, CSV, Arrow IPC file or stream), batches
//! already in memory, or any [`RecordBatchReader`] (what pyarrow's C stream interface and
//! Spark's `mapInArrow` hand over). Everything that reads rows — the scan, the deep dive, the
//! forest and CATE jobs — reads them from a [`Source`].
//!
//! Whatever the origin, [`Source::batches`] yields batches of exactly `batch_rows` rows (the last
//! one shorter), cut and joined from whatever sizes the origin had, because the batch is the
//! unit of parallel work and fixed batches make results independent of how the input was
//! chunked. A stream is read once: its batches are kept as they arrive (Arrow buffers are shared,
//! not copied) so that later passes (the deep dive, the bin edges of float dimensions) replay them.
//!
//! Parquet files are read column by column in parallel ([`ParquetColumns`]): decoding is most of
//! the cost of reading, and a single reader decodes on one thread.

use crate::error::{IoError, Result};
use arrow::array::{ArrayRef, RecordBatch, RecordBatchReader};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// File formats cateye reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// Comma-separated values with a header row (the schema is inferred).
    Csv,
    /// Arrow IPC, file (`ARROW1` magic) or stream format.
    Ipc,
}

impl Format {
    /// The format a file's extension names (`.parquet`/`.pq`, `.csv`, `.arrow`/`.ipc`/`.feather`/`.arrows`).
    pub fn of_path(path: &Path) -> Option<Format> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "arrow" | "ipc" | "feather" | "arrows" => Some(Format::Ipc),
            _ => None,
        }
    }
}

/// Rows a CSV schema is inferred from.
const CSV_INFER_ROWS: usize = 10_000;

/// The label of batches handed over in memory, unless the caller names them.
pub const IN_MEMORY_LABEL: &str = "in-memory table";

/// The label of a record batch stream, unless the caller names it.
pub const STREAM_LABEL: &str = "record batch stream";

/// A stream of record batches.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// A table to read in record batches: its label (for messages), schema and origin.
#[derive(Clone)]
pub struct Source {
    label: String,
    schema: SchemaRef,
    num_rows: Option<u64>,
    origin: Origin,
}

#[derive(Clone)]
enum Origin {
    File { path: PathBuf, format: Format },
    Memory(Arc<[RecordBatch]>),
    Stream(Arc<Mutex<Tee>>),
}

/// A stream read once: the batches read so far, and the rest of the stream.
struct Tee {
    kept: Vec<RecordBatch>,
    rest: Option<Box<dyn RecordBatchReader + Send>>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = match &self.origin {
            Origin::File { path, format } => format!("{format:?} file {}", path.display()),
            Origin::Memory(b) => format!("{} batches in memory", b.len()),
            Origin::Stream(_) => "record batch stream".to_string(),
        };
        f.debug_struct("Source").field("label", &self.label).field("origin", &origin).finish()
    }
}

fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| IoError::read(&path.display().to_string(), e))
}

impl Source {
    /// Open `path`, choosing the reader by extension, and read its schema.
    pub fn open(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let format = Format::of_path(path).ok_or_else(|| IoError::UnsupportedFormat { path: path.into() })?;
        let read = |e: ArrowError| IoError::read(&label, e);
        let file = open_file(path)?;
        let (schema, num_rows) = match format {
            Format::Parquet => {
                let b = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| IoError::read(&label, e))?;
                (b.schema().clone(), Some(b.metadata().file_metadata().num_rows().max(0) as u64))
            }
            Format::Csv => {
                let (schema, _) = arrow::csv::reader::Format::default()
                    .with_header(true)
                    .infer_schema(BufReader::new(file), Some(CSV_INFER_ROWS))
                    .map_err(read)?;
                (Arc::new(schema), None)
            }
            Format::Ipc => {
                if is_ipc_file(path)? {
                    (arrow::ipc::reader::FileReader::try_new(BufReader::new(file), None).map_err(read)?.schema(), None)
                } else {
                    (
                        arrow::ipc::reader::StreamReader::try_new(BufReader::new(file), None).map_err(read)?.schema(),
                        None,
                    )
                }
            }
        };
        if schema.fields().is_empty() {
            return Err(IoError::Empty { input: label });
        }
        check_unique_names(&schema, &label)?;
        Ok(Self { label, schema, num_rows, origin: Origin::File { path: path.into(), format } })
    }

    /// Batches already in memory, all of one schema (they are shared, not copied). Fails on an
    /// empty list, which has no schema: use [`Self::from_batches_with_schema`] for that.
    pub fn from_batches(batches: Vec<RecordBatch>) -> Result<Self> {
        let schema = batches
            .first()
            .map(RecordBatch::schema)
            .ok_or_else(|| IoError::Empty { input: IN_MEMORY_LABEL.to_string() })?;
        Self::from_batches_with_schema(schema, batches)
    }

    /// Batches already in memory with the given schema (every batch must have its fields).
    pub fn from_batches_with_schema(schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Self> {
        let label = IN_MEMORY_LABEL.to_string();
        if schema.fields().is_empty() {
            return Err(IoError::Empty { input: label });
        }
        check_unique_names(&schema, &label)?;
        if let Some(k) = batches.iter().position(|b| b.schema().fields() != schema.fields()) {
            return Err(IoError::invalid(
                &label,
                format!(
                    "batch {k} has columns ({}), the first has ({})",
                    field_list(&batches[k].schema()),
                    field_list(&schema)
                ),
            ));
        }
        let num_rows = Some(batches.iter().map(|b| b.num_rows() as u64).sum());
        Ok(Self { label, schema, num_rows, origin: Origin::Memory(batches.into()) })
    }

    /// A stream of batches, read once (see the module documentation).
    pub fn from_reader(reader: Box<dyn RecordBatchReader + Send>) -> Result<Self> {
        let schema = reader.schema();
        let label = STREAM_LABEL.to_string();
        if schema.fields().is_empty() {
            return Err(IoError::Empty { input: label });
        }
        check_unique_names(&schema, &label)?;
        let tee = Tee { kept: Vec::new(), rest: Some(reader) };
        Ok(Self { label, schema, num_rows: None, origin: Origin::Stream(Arc::new(Mutex::new(tee))) })
    }

    /// The same source under another label (used in every message about it).
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// What messages call this source: the file name, or a label such as "in-memory table".
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The file read, for file sources.
    pub fn path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::File { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The Arrow schema of the table.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Number of rows when known in advance (Parquet files, batches in memory).
    pub fn num_rows(&self) -> Option<u64> {
        self.num_rows
    }

    /// Column names, comma separated (for error messages).
    pub fn column_list(&self) -> String {
        field_list(&self.schema)
    }

    /// Read the columns `projection` (indices into [`Self::schema`], ascending) in batches of
    /// exactly `batch_rows` rows (the last one shorter), in file order. Of a Parquet file only
    /// those columns are read, decoded in parallel column by column (in the rayon pool of the
    /// thread that iterates; the batches do not depend on the number of threads), and string
    /// columns come dictionary-encoded when the file stores them so, which saves materializing
    /// and hashing a string per row.
    pub fn batches(&self, projection: &[usize], batch_rows: usize) -> Result<Batches> {
        let label = self.label.clone();
        let projected = Arc::new(self.schema.project(projection).map_err(|e| IoError::read(&label, e))?);
        let raw: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send> = match &self.origin {
            Origin::File { path, format } => file_batches(path, *format, &self.schema, projection, batch_rows, &label)?,
            Origin::Memory(batches) => {
                let batches = batches.clone();
                let projection = projection.to_vec();
                Box::new((0..batches.len()).map(move |k| batches[k].project(&projection)))
            }
            Origin::Stream(tee) => {
                let projection = projection.to_vec();
                let replay = Replay { tee: tee.clone(), next: 0 };
                Box::new(replay.map(move |b| b.and_then(|b| b.project(&projection))))
            }
        };
        let read = move |e: ArrowError| IoError::read(&label, e);
        Ok(Box::new(Rechunk::new(raw, projected, batch_rows.max(1)).map(move |b| b.map_err(&read))))
    }
}

/// Refuses a schema in which two columns share a name.
fn check_unique_names(schema: &Schema, label: &str) -> Result<()> {
    let fields = schema.fields();
    for (j, f) in fields.iter().enumerate() {
        if let Some(i) = fields[..j].iter().position(|g| g.name() == f.name()) {
            return Err(IoError::DuplicateColumn {
                input: label.to_string(),
                column: f.name().clone(),
                first: i + 1,
                second: j + 1,
            });
        }
    }
    Ok(())
}

fn field_list(schema: &Schema) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

type ArrowBatches = Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>;

/// The projected batches of a file, through the arrow-rs readers.
fn file_batches(
    path: &Path,
    format: Format,
    schema: &Schema,
    projection: &[usize],
    batch_rows: usize,
    label: &str,
) -> Result<ArrowBatches> {
    let file = open_file(path)?;
    let read = |e: ArrowError| IoError::read(label, e);
    Ok(match format {
        Format::Parquet => Box::new(ParquetColumns::open(path, file, schema, projection, batch_rows, label)?),
        Format::Csv => Box::new(
            arrow::csv::ReaderBuilder::new(Arc::new(schema.clone()))
                .with_header(true)
                .with_batch_size(batch_rows)
                .with_projection(projection.to_vec())
                .build(BufReader::new(file))
                .map_err(read)?,
        ),
        Format::Ipc => {
            let projection = Some(projection.to_vec());
            if is_ipc_file(path)? {
                Box::new(arrow::ipc::reader::FileReader::try_new(BufReader::new(file), projection).map_err(read)?)
            } else {
                Box::new(arrow::ipc::reader::StreamReader::try_new(BufReader::new(file), projection).map_err(read)?)
            }
        }
    })
}

/// Most Parquet readers (each with its own file handle) one pass over a file opens.
const MAX_LANES: usize = 64;

/// The projected columns of a Parquet file, decoded in parallel, column by column.
///
/// The columns are dealt to *lanes* (one column each, up to [`MAX_LANES`] lanes; beyond, column
/// `i` of the projection to lane `i mod MAX_LANES`). A lane is a reader of its columns alone,
/// with its own file handle (the footer metadata is read once and shared), which decodes their
/// pages in file order, `batch_rows` rows at a time, across row groups. Batch `k` is the `k`-th
/// batch of every lane, its columns put back in the projection's order: the lanes decode it in
/// parallel (rayon, in the pool of the thread that asks for the batch), so the batches, their
/// rows and their order are those one reader of all the columns gives, whatever the number of
/// threads.
///
/// Columns, not row groups, are the unit of parallel work: row groups are large (a million rows
/// by default) and a file may have a single one, and decoding several row groups at once would
/// hold them all decoded before the first could be handed on in file order. A scan reads many
/// columns (every metric, its pre-period column, every dimension), each decoded page by page as
/// before: memory holds a page and a batch per lane, not a row group.
///
/// Only the projected columns are read, and string columns are asked for as dictionaries
/// ([`dictionary_hint`]): a dictionary-encoded column comes back as its keys and its dictionary,
/// without a string per row.
struct ParquetColumns {
    lanes: Vec<Lane>,
    /// The batches' schema: the projected columns, string columns as dictionaries.
    schema: SchemaRef,
    done: bool,
}

/// A reader of some of the projected columns, and where its columns go in the batch.
struct Lane {
    reader: ParquetRecordBatchReader,
    /// The batch position of each of the reader's columns, in the reader's (the file's) order.
    positions: Vec<usize>,
}

impl ParquetColumns {
    fn open(
        path: &Path,
        file: File,
        schema: &Schema,
        projection: &[usize],
        batch_rows: usize,
        label: &str,
    ) -> Result<Self> {
        let parquet = |e: ParquetError| IoError::read(label, e);
        let hint = Arc::new(dictionary_hint(schema));
        let options = ArrowReaderOptions::new().with_schema(hint.clone());
        let metadata = ArrowReaderMetadata::load(&file, options).map_err(parquet)?;
        // Each lane's columns as (file column, batch position), in the file's order; one lane of
        // no column (batches of a row count alone) for no column.
        let lanes = projection.len().clamp(1, MAX_LANES);
        let mut columns: Vec<Vec<(usize, usize)>> = vec![Vec::new(); lanes];
        for (position, &column) in projection.iter().enumerate() {
            columns[position % lanes].push((column, position));
        }
        let mut files = std::iter::once(Ok(file)).chain(std::iter::repeat_with(|| open_file(path)));
        let lanes = columns
            .into_iter()
            .map(|mut columns| {
                columns.sort_unstable();
                let file = files.next().expect("an endless iterator")?;
                let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone());
                let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().map(|c| c.0));
                let reader = builder.with_projection(mask).with_batch_size(batch_rows).build().map_err(parquet)?;
                Ok(Lane { reader, positions: columns.iter().map(|c| c.1).collect() })
            })
            .collect::<Result<Vec<_>>>()?;
        let schema = Arc::new(hint.project(projection).map_err(|e| IoError::read(label, e))?);
        Ok(Self { lanes, schema, done: false })
    }

    /// The next batch of every lane, put together.
    fn next_batch(&mut self) -> Option<std::result::Result<RecordBatch, ArrowError>> {
        if let [lane] = &mut self.lanes[..] {
            return lane.reader.next();
        }
        let parts: Vec<Option<std::result::Result<RecordBatch, ArrowError>>> =
            self.lanes.par_iter_mut().map(|lane| lane.reader.next()).collect();
        let mismatch = || ArrowError::ParquetError("the columns of the file have different numbers of rows".into());
        let mut columns: Vec<Option<ArrayRef>> = vec![None; self.schema.fields().len()];
        let (mut rows, mut ended) = (None, 0);
        for (lane, part) in self.lanes.iter().zip(parts) {
            match part {
                None => ended += 1,
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(batch)) => {
                    if *rows.get_or_insert(batch.num_rows()) != batch.num_rows() {
                        return Some(Err(mismatch()));
                    }
                    for (&position, column) in lane.positions.iter().zip(batch.columns()) {
                        columns[position] = Some(column.clone());
                    }
                }
            }
        }
        // The lanes read the same rows: they end together.
        match ended {
            0 => Some(RecordBatch::try_new(self.schema.clone(), columns.into_iter().flatten().collect())),
            n if n == self.lanes.len() => None,
            _ => Some(Err(mismatch())),
        }
    }
}

impl Iterator for ParquetColumns {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_batch();
        self.done = !matches!(next, Some(Ok(_)));
        next
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
    let read = |e: std::io::Error| IoError::read(&path.display().to_string(), e);
    let mut f = open_file(path)?;
    let mut magic = [0u8; 6];
    let n = f.read(&mut magic).map_err(read)?;
    f.seek(SeekFrom::Start(0)).map_err(read)?;
    Ok(n == 6 && &magic == b"ARROW1")
}

/// One pass over a stream source: the batches kept so far, then the rest of the stream (each
/// batch read is kept for the next pass).
struct Replay {
    tee: Arc<Mutex<Tee>>,
    next: usize,
}

fn lock(tee: &Mutex<Tee>) -> MutexGuard<'_, Tee> {
    tee.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Iterator for Replay {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut tee = lock(&self.tee);
        if let Some(batch) = tee.kept.get(self.next) {
            self.next += 1;
            return Some(Ok(batch.clone()));
        }
        match tee.rest.as_mut()?.next() {
            Some(Ok(batch)) => {
                tee.kept.push(batch.clone());
                self.next += 1;
                Some(Ok(batch))
            }
            Some(Err(e)) => Some(Err(e)),
            None => {
                tee.rest = None;
                None
            }
        }
    }
}

/// Cuts and joins batches of any sizes into batches of exactly `rows` rows (the last one
/// shorter). Batches of the right size pass through; larger ones are sliced without copying;
/// only rows that straddle two input batches are copied.
struct Rechunk<I> {
    inner: I,
    schema: SchemaRef,
    rows: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    done: bool,
}

impl<I> Rechunk<I> {
    fn new(inner: I, schema: SchemaRef, rows: usize) -> Self {
        Rechunk { inner, schema, rows, pending: Vec::new(), pending_rows: 0, done: false }
    }

    /// Takes `want` rows from the front of `pending`.
    fn take(&mut self, want: usize) -> std::result::Result<RecordBatch, ArrowError> {
        let mut parts = Vec::new();
        let mut got = 0;
        while got < want {
            let first = self.pending.remove(0);
            let n = first.num_rows();
            if got + n <= want {
                got += n;
                parts.push(first);
            } else {
                let k = want - got;
                parts.push(first.slice(0, k));
                self.pending.insert(0, first.slice(k, n - k));
                got = want;
            }
        }
        self.pending_rows -= want;
        match parts.len() {
            1 => Ok(parts.pop().expect("one part")),
            _ => arrow::compute::concat_batches(&self.schema, &parts),
        }
    }
}

impl<I: Iterator<Item = std::result::Result<RecordBatch, ArrowError>>> Iterator for Rechunk<I> {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done && self.pending_rows < self.rows {
            match self.inner.next() {
                Some(Ok(batch)) if batch.num_rows() == 0 => {}
                Some(Ok(batch)) => {
                    // The common case: a batch of the right size, nothing pending.
                    if self.pending.is_empty() && batch.num_rows() == self.rows {
                        return Some(Ok(batch));
                    }
                    self.pending_rows += batch.num_rows();
                    self.pending.push(batch);
                }
                Some(Err(e)) => return Some(Err(e)),
                None => self.done = true,
            }
        }
        match self.pending_rows {
            0 => None,
            n => Some(self.take(n.min(self.rows))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Float64Array, Int64Array, StringArray};

    fn table(n: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("label", DataType::Utf8, false),
            Field::new("y", DataType::Float64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
                Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("l{}", i % 7)))),
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 * 0.5))),
            ],
        )
        .unwrap()
    }

    /// The table cut into `pieces` batches of uneven sizes.
    fn pieces(all: &RecordBatch, pieces: usize) -> Vec<RecordBatch> {
        let n = all.num_rows();
        let mut cuts: Vec<usize> = (1..pieces).map(|k| (k * k * 7919) % n).collect();
        cuts.extend([0, n]);
        cuts.sort_unstable();
        cuts.windows(2).map(|w| all.slice(w[0], w[1] - w[0])).collect()
    }

    fn read_all(source: &Source, projection: &[usize], rows: usize) -> Vec<RecordBatch> {
        source.batches(projection, rows).unwrap().map(|b| b.unwrap()).collect()
    }

    #[test]
    fn batches_have_the_fixed_size_whatever_the_input_chunking() {
        let all = table(1000);
        let whole = read_all(&Source::from_batches(vec![all.clone()]).unwrap(), &[0, 2], 64);
        assert_eq!(whole.len(), 16);
        assert!(whole[..15].iter().all(|b| b.num_rows() == 64) && whole[15].num_rows() == 1000 - 15 * 64);
        assert_eq!(whole[0].schema().fields().len(), 2);
        for k in [1, 7, 13, 1000] {
            let source = Source::from_batches(pieces(&all, k)).unwrap();
            assert_eq!(source.num_rows(), Some(1000));
            assert_eq!(read_all(&source, &[0, 2], 64), whole, "{k} pieces");
        }
    }

    /// A Parquet file of `copies` times the columns of `table(n)` (`id0, label0, y0, id1, ...`)
    /// with nulls in the labels and `y`, in row groups of 300 rows and pages of 50.
    fn parquet_file(test: &str, n: usize, copies: usize) -> (PathBuf, RecordBatch) {
        let t = table(n);
        let label: StringArray =
            t.column(1).as_string::<i32>().iter().enumerate().map(|(i, v)| v.filter(|_| i % 11 != 3)).collect();
        let y: Float64Array = t
            .column(2)
            .as_primitive::<arrow::datatypes::Float64Type>()
            .iter()
            .enumerate()
            .map(|(i, v)| v.filter(|_| i % 13 != 5))
            .collect();
        let (mut fields, mut columns) = (Vec::new(), Vec::<ArrayRef>::new());
        for k in 0..copies {
            fields.push(Field::new(format!("id{k}"), DataType::Int64, false));
            fields.push(Field::new(format!("label{k}"), DataType::Utf8, true));
            fields.push(Field::new(format!("y{k}"), DataType::Float64, true));
            columns.extend([t.column(0).clone(), Arc::new(label.clone()), Arc::new(y.clone())]);
        }
        let t = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let path = cateye_testkit::temp_dir(test).join("t.parquet");
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(300))
            .set_data_page_row_count_limit(50)
            .set_write_batch_size(50)
            .build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(File::create(&path).unwrap(), t.schema(), Some(props)).unwrap();
        w.write(&t).unwrap();
        w.close().unwrap();
        (path, t)
    }

    /// The batches of `projection` one reader of all the projected columns gives (the reading
    /// before lanes).
    fn one_reader(path: &Path, schema: &Schema, projection: &[usize], rows: usize) -> Vec<RecordBatch> {
        let options = ArrowReaderOptions::new().with_schema(Arc::new(dictionary_hint(schema)));
        let builder =
            ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(path).unwrap(), options).unwrap();
        let mask = ProjectionMask::roots(builder.parquet_schema(), projection.iter().copied());
        builder.with_projection(mask).with_batch_size(rows).build().unwrap().map(|b| b.unwrap()).collect()
    }

    #[test]
    fn parquet_columns_decoded_in_parallel_are_those_one_reader_gives_in_order() {
        let (path, t) = parquet_file("lanes", 1000, 1);
        let (wide_path, wide) = parquet_file("lanes-wide", 1000, 30);
        let source = Source::open(&path).unwrap();
        let wide_source = Source::open(&wide_path).unwrap();
        let metadata = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        assert_eq!(metadata.metadata().num_row_groups(), 4);
        let every_column: Vec<usize> = (0..90).collect();
        let some_columns: Vec<usize> = (0..90).filter(|c| c % 7 != 2).collect();
        let cases = [
            (&source, &t, vec![0, 1, 2]),
            (&source, &t, vec![1, 2]),
            (&source, &t, vec![2]),
            (&source, &t, vec![]),
            // More columns than lanes: lanes of several columns.
            (&wide_source, &wide, every_column),
            (&wide_source, &wide, some_columns),
        ];
        for (source, table, projection) in cases {
            let path = source.path().unwrap();
            let one = one_reader(path, &table.schema(), &projection, 64);
            assert_eq!(one.iter().map(RecordBatch::num_rows).sum::<usize>(), 1000);
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let lanes = pool.install(|| read_all(source, &projection, 64));
                assert_eq!(lanes.len(), one.len(), "{projection:?}, {threads} threads");
                for (a, b) in lanes.iter().zip(&one) {
                    assert_eq!(a.num_rows(), b.num_rows());
                    assert_eq!(a.columns(), b.columns(), "{projection:?}, {threads} threads");
                    assert_eq!(a.schema().fields(), b.schema().fields());
                }
            }
        }
        // String columns come as dictionaries, in file order, nulls kept.
        let read = read_all(&source, &[1, 2], 64);
        assert!(matches!(read[0].column(0).data_type(), DataType::Dictionary(..)));
        let labels = arrow::compute::concat(&read.iter().map(|b| b.column(0).as_ref()).collect::<Vec<_>>()).unwrap();
        let labels = arrow::compute::cast(&labels, &DataType::Utf8).unwrap();
        assert_eq!(labels.as_ref(), t.column(1).as_ref());
    }

    #[test]
    fn a_stream_is_read_once_and_replayed() {
        let all = table(300);
        let batches = pieces(&all, 9);
        let reader = arrow::array::RecordBatchIterator::new(batches.clone().into_iter().map(Ok), all.schema());
        let source = Source::from_reader(Box::new(reader)).unwrap();
        assert_eq!(source.label(), STREAM_LABEL);
        let first = read_all(&source, &[1], 50);
        let second = read_all(&source, &[0, 1, 2], 50);
        assert_eq!(first.iter().map(|b| b.num_rows()).sum::<usize>(), 300);
        assert_eq!(second, read_all(&Source::from_batches(batches).unwrap(), &[0, 1, 2], 50));
        // A pass abandoned halfway leaves the rest for the next one.
        let reader = arrow::array::RecordBatchIterator::new(pieces(&all, 5).into_iter().map(Ok), all.schema());
        let source = Source::from_reader(Box::new(reader)).unwrap();
        let partial: Vec<_> = source.batches(&[0], 100).unwrap().take(1).collect();
        assert_eq!(partial.len(), 1);
        assert_eq!(read_all(&source, &[0], 100).iter().map(|b| b.num_rows()).sum::<usize>(), 300);
    }

    #[test]
    fn duplicated_column_names_are_refused_naming_both_positions() {
        let a = table(4);
        let schema = Arc::new(Schema::new(vec![
            Field::new("y", DataType::Int64, false),
            Field::new("label", DataType::Utf8, false),
            Field::new("y", DataType::Float64, false),
        ]));
        let b = RecordBatch::try_new(schema, a.columns().to_vec()).unwrap();
        let err = Source::from_batches(vec![b]).unwrap_err().to_string();
        assert!(err.contains("'y'") && err.contains("columns 1 and 3"), "{err}");
    }

    #[test]
    fn mismatched_batches_and_empty_lists_are_refused_with_the_label() {
        let a = table(10);
        let b = a.project(&[0, 1]).unwrap();
        let err = Source::from_batches(vec![a, b]).unwrap_err().to_string();
        assert!(err.contains(IN_MEMORY_LABEL) && err.contains("batch 1"), "{err}");
        assert!(Source::from_batches(Vec::new()).unwrap_err().to_string().contains("no rows"));
        let renamed = Source::from_batches(vec![table(3)]).unwrap().with_label("pandas DataFrame");
        assert_eq!(renamed.label(), "pandas DataFrame");
    }
}
