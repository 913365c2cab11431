//! Tables across the boundary, both ways, through the Arrow C stream interface and its
//! PyCapsule protocol (`__arrow_c_stream__`, <https://arrow.apache.org/docs/format/CDataInterface/PyCapsuleInterface.html>).
//!
//! In: any object that exports a stream (a pyarrow Table or RecordBatchReader, a polars
//! DataFrame, a pandas DataFrame from pandas 2.2) becomes a [`Source`] whose arrays point at the
//! exporter's buffers: no column is copied. Out: [`ArrowStream`] hands record batches to
//! `pyarrow.table(...)`, `polars.from_arrow(...)` or anything else that imports the protocol.
//!
//! This module holds the package's only unsafe code: taking the stream out of its capsule.

use arrow::array::{RecordBatch, RecordBatchIterator};
use arrow::datatypes::SchemaRef;
use arrow::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use cateye::Source;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use std::ffi::CStr;
use std::path::PathBuf;

/// The capsule name the protocol requires.
const STREAM: &CStr = c"arrow_array_stream";

/// The data a Python caller passed: a path to a Parquet, CSV or Arrow IPC file, or an object
/// with `__arrow_c_stream__`. `label` names it in errors and in the report.
pub fn source(data: &Bound<'_, PyAny>, label: &str) -> PyResult<Source> {
    if let Ok(path) = data.extract::<PathBuf>() {
        return Source::open(&path).map_err(crate::error);
    }
    if !data.hasattr("__arrow_c_stream__")? {
        let kind = data.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "cannot read a {kind}: expected a path, or a table with the Arrow C stream interface \
             (pyarrow Table or RecordBatchReader, polars or pandas DataFrame)"
        )));
    }
    let capsule = data.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>().map_err(PyErr::from)?;
    let pointer = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: the protocol guarantees that a capsule named "arrow_array_stream" points at an
    // `ArrowArrayStream`; `from_raw` moves it out and leaves a released (empty) stream in the
    // capsule, so the exporter's capsule destructor does not release it a second time.
    #[allow(unsafe_code)]
    let reader = unsafe { RecordBatchStreamReader::from_raw(pointer.as_ptr().cast::<FFI_ArrowArrayStream>()) }
        .map_err(|e| crate::CateyeError::new_err(format!("{label}: cannot import the Arrow stream: {e}")))?;
    Ok(Source::from_reader(Box::new(reader)).map_err(crate::error)?.with_label(label))
}

/// Record batches that Python imports through `__arrow_c_stream__`, as many times as asked.
#[pyclass(module = "cateye._cateye", frozen)]
pub struct ArrowStream {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl ArrowStream {
    /// One batch.
    pub fn of(batch: RecordBatch) -> Self {
        ArrowStream { schema: batch.schema(), batches: vec![batch] }
    }
}

#[pymethods]
impl ArrowStream {
    /// A capsule holding a C stream of the batches (the arrays are shared, not copied).
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is the one the results have; a requested schema is a hint the protocol
        // lets an exporter ignore.
        let _ = requested_schema;
        let batches = self.batches.clone().into_iter().map(Ok);
        let reader = RecordBatchIterator::new(batches, self.schema.clone());
        PyCapsule::new_with_value(py, FFI_ArrowArrayStream::new(Box::new(reader)), STREAM)
    }

    /// Rows in all.
    fn __len__(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}
