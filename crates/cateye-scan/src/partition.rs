//! The two-pass strategy for input that is not grouped by experiment: the rows are partitioned
//! by experiment into temporary Arrow IPC files of a few experiments each (first pass), and
//! the scan by experiment reads the files one after the other (second pass). Memory is then set
//! by the experiments of one file, not by the sweep, at the cost of writing the scanned columns
//! once to the temporary folder (`std::env::temp_dir()`, removed afterwards).
//!
//! Rows keep their relative order within an experiment, so each experiment's statistics are
//! those of the grouped input up to the order of summation.

use crate::error::Result;
use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::writer::FileWriter;
use cateye_io::{Dictionary, IoError, Layout, Source, NULL_CODE};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Experiments per temporary file: those of one file are read at once.
pub(crate) const EXPERIMENTS_PER_FILE: usize = 8;

/// Temporary files holding the input's rows partitioned by experiment; removed when dropped.
pub(crate) struct Partition {
    dir: PathBuf,
    /// The files, in order of the first appearance of their experiments.
    pub files: Vec<PathBuf>,
}

impl Drop for Partition {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Dictionary columns as their plain value type: an IPC file may not replace a dictionary from
/// batch to batch, as the batches of a Parquet file do.
fn plain(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, value) => f.as_ref().clone().with_data_type(value.as_ref().clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Partition the columns `layout.projection` of `source` into files of
/// [`EXPERIMENTS_PER_FILE`] experiments (in order of first appearance; rows with a null
/// experiment go to the first file, where they are counted as skipped).
pub(crate) fn partition_by_experiment(
    source: &Source,
    layout: &Layout,
    experiments: usize,
    batch_rows: usize,
) -> Result<Partition> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cateye-partition-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| IoError::write(&dir, e))?;
    let n_files = experiments.div_ceil(EXPERIMENTS_PER_FILE).max(1);
    let mut partition =
        Partition { files: (0..n_files).map(|k| dir.join(format!("part-{k:05}.arrow"))).collect(), dir };
    let projected =
        Arc::new(source.schema().project(&layout.projection).map_err(|e| IoError::read(source.label(), e))?);
    let schema = plain(&projected);
    let mut writers: Vec<Option<FileWriter<BufWriter<File>>>> = (0..n_files).map(|_| None).collect();
    let experiment = projected.index_of(&layout.experiment).map_err(|e| IoError::read(source.label(), e))?;
    let mut dictionary = Dictionary::default();
    let (mut codes, mut rows_of): (Vec<u32>, Vec<Vec<u32>>) = (Vec::new(), vec![Vec::new(); n_files]);
    for batch in source.batches(&layout.projection, batch_rows)? {
        let batch = plain_batch(&batch?, &schema).map_err(|e| IoError::read(source.label(), e))?;
        dictionary
            .encode(batch.column(experiment).as_ref(), NULL_CODE, &mut codes)
            .map_err(|e| IoError::column(source.label(), &layout.experiment, e))?;
        rows_of.iter_mut().for_each(Vec::clear);
        for (row, &code) in codes.iter().enumerate() {
            let file = if code == NULL_CODE { 0 } else { (code as usize / EXPERIMENTS_PER_FILE).min(n_files - 1) };
            rows_of[file].push(row as u32);
        }
        for (file, rows) in rows_of.iter().enumerate().filter(|(_, rows)| !rows.is_empty()) {
            let part = take_record_batch(&batch, &UInt32Array::from(rows.clone()))
                .map_err(|e| IoError::write(&partition.files[file], e))?;
            let writer = match &mut writers[file] {
                Some(w) => w,
                slot => slot.insert(open(&partition.files[file], &schema)?),
            };
            writer.write(&part).map_err(|e| IoError::write(&partition.files[file], e))?;
        }
    }
    for (file, writer) in writers.into_iter().enumerate() {
        match writer {
            Some(mut w) => w.finish().map_err(|e| IoError::write(&partition.files[file], e))?,
            None => partition.files[file].clear(),
        }
    }
    partition.files.retain(|f| !f.as_os_str().is_empty());
    Ok(partition)
}

fn open(path: &Path, schema: &SchemaRef) -> Result<FileWriter<BufWriter<File>>> {
    let file = File::create(path).map_err(|e| IoError::write(path, e))?;
    Ok(FileWriter::try_new(BufWriter::new(file), schema).map_err(|e| IoError::write(path, e))?)
}

/// `batch` with its dictionary columns decoded to `schema`'s plain types.
fn plain_batch(batch: &RecordBatch, schema: &SchemaRef) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { cast(c, f.data_type()) })
        .collect::<std::result::Result<_, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}
