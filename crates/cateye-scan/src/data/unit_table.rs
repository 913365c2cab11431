//! Per-unit output tables (Parquet, or CSV by extension): a `row` index and float columns.
//! NaN values are written as nulls (a quantity that does not apply to the row).

use crate::error::{Result, ScanError};
use arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use std::path::Path;
use std::sync::Arc;

/// Writes `row` (0-based input row) and the named columns, all of the same length.
pub fn write_unit_table(path: &Path, columns: Vec<(String, Vec<f64>)>) -> Result<()> {
    let io = |e: &dyn std::fmt::Display| ScanError::Io { file: path.into(), message: e.to_string() };
    let n = columns.first().map_or(0, |c| c.1.len());
    let mut fields = vec![Field::new("row", DataType::UInt64, false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(0..n as u64))];
    for (name, values) in columns {
        let nullable = values.iter().any(|v| v.is_nan());
        fields.push(Field::new(name, DataType::Float64, nullable));
        arrays.push(Arc::new(Float64Array::from_iter(values.into_iter().map(|v| (!v.is_nan()).then_some(v)))));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| io(&e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
    }
    let file = std::fs::File::create(path).map_err(|e| io(&e))?;
    let is_csv = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(file);
        writer.write(&batch).map_err(|e| io(&e))?;
    } else {
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).map_err(|e| io(&e))?;
        writer.write(&batch).map_err(|e| io(&e))?;
        writer.close().map_err(|e| io(&e))?;
    }
    Ok(())
}
