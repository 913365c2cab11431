//! Whole columns by name, for jobs that need the unit-level rows in memory (the causal forest):
//! numeric and boolean columns as f64 (nulls as NaN, for the caller to reject by row), and
//! id columns of any type as dense integer ids.

use crate::error::{IoError, Result};
use crate::source::Source;
use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use std::collections::HashMap;

/// Index of `name` in the file, or an error listing the columns there are.
pub fn column_index(source: &Source, name: &str, role: &'static str) -> Result<usize> {
    source.schema().index_of(name).map_err(|_| IoError::MissingColumn {
        input: source.label().to_string(),
        column: name.into(),
        role,
        available: source.column_list(),
    })
}

/// Whether a column type can be read as numbers.
pub fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric() || matches!(data_type, DataType::Boolean)
}

/// Index of `name`, which must be a numeric or boolean column (errors name the column).
pub fn numeric_column_index(source: &Source, name: &str, role: &'static str) -> Result<usize> {
    let index = column_index(source, name, role)?;
    let data_type = source.schema().field(index).data_type();
    if !is_numeric(data_type) {
        return Err(IoError::WrongType {
            input: source.label().to_string(),
            column: name.into(),
            role,
            found: data_type.to_string(),
            expected: "a numeric or boolean column",
        });
    }
    Ok(index)
}

/// The covariates of a unit-level job: `given`, or every numeric column not in `taken`. Errors
/// when there are none, or when a given covariate also plays another role.
pub fn pick_covariates(source: &Source, given: Option<&[String]>, taken: &[&str]) -> Result<Vec<String>> {
    let invalid = |message: String| IoError::invalid(source.label(), message);
    let covariates: Vec<String> = match given {
        Some(c) => c.to_vec(),
        None => source
            .schema()
            .fields()
            .iter()
            .filter(|f| is_numeric(f.data_type()) && !taken.contains(&f.name().as_str()))
            .map(|f| f.name().clone())
            .collect(),
    };
    if covariates.is_empty() {
        return Err(invalid(format!("no covariates: name them with --covariates; columns: {}", source.column_list())));
    }
    if let Some(c) = covariates.iter().find(|c| taken.contains(&c.as_str())) {
        return Err(invalid(format!("column '{c}' is both a covariate and another role")));
    }
    Ok(covariates)
}

/// Reads the named numeric (or boolean: 0/1) columns; nulls become NaN.
pub fn read_numeric(source: &Source, columns: &[(&str, &'static str)]) -> Result<Vec<Vec<f64>>> {
    read_numeric_reporting(source, columns, &cateye_stats::silent)
}

/// [`read_numeric`], reporting the rows read to `progress` (stage "reading"; the total is 0
/// when the source does not know its row count in advance).
pub fn read_numeric_reporting(
    source: &Source,
    columns: &[(&str, &'static str)],
    progress: cateye_stats::Progress<'_>,
) -> Result<Vec<Vec<f64>>> {
    let projection =
        columns.iter().map(|&(name, role)| numeric_column_index(source, name, role)).collect::<Result<Vec<_>>>()?;
    let total = source.num_rows().unwrap_or(0);
    let mut out = vec![Vec::with_capacity(total as usize); columns.len()];
    let mut read = 0u64;
    progress("reading", 0, total);
    for batch in source.batches(&projection, 65_536)? {
        let batch = batch?;
        read += batch.num_rows() as u64;
        progress("reading", read, total.max(read));
        for (k, &(name, _)) in columns.iter().enumerate() {
            let array = batch.column_by_name(name).expect("projected column");
            let floats = cast(array, &DataType::Float64).map_err(|e| IoError::column(source.label(), name, e))?;
            let floats = floats.as_primitive::<Float64Type>();
            out[k].extend((0..floats.len()).map(|i| if floats.is_null(i) { f64::NAN } else { floats.value(i) }));
        }
    }
    Ok(out)
}

/// Reads a column of any type as dense ids (in order of first appearance; null is an id too).
pub fn read_ids(source: &Source, name: &str, role: &'static str) -> Result<Vec<u64>> {
    let labels = dictionary(source, name, role, Some("\u{0}null"))?;
    Ok(labels.codes.into_iter().map(u64::from).collect())
}

/// A column of labels (any type, written as text): the distinct labels in order of first
/// appearance and each row's code into them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// The distinct labels, in order of first appearance.
    pub names: Vec<String>,
    /// Each row's index into `names`.
    pub codes: Vec<u32>,
}

/// Reads a column of any type as [`Labels`]; a null is an error naming the row (1-based), since
/// a label that is not there cannot be grouped on.
pub fn read_labels(source: &Source, name: &str, role: &'static str) -> Result<Labels> {
    dictionary(source, name, role, None)
}

/// A column of any type, cast to text, as its distinct values in order of first appearance and
/// each row's code; a null is the label `null_label`, or an error naming the row without one.
fn dictionary(source: &Source, name: &str, role: &'static str, null_label: Option<&str>) -> Result<Labels> {
    let index = column_index(source, name, role)?;
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut labels = Labels { names: Vec::new(), codes: Vec::with_capacity(source.num_rows().unwrap_or(0) as usize) };
    for batch in source.batches(&[index], 65_536)? {
        let batch = batch?;
        let text = cast(batch.column(0), &DataType::Utf8).map_err(|e| IoError::column(source.label(), name, e))?;
        let text = text.as_string::<i32>();
        for i in 0..text.len() {
            let value = match (text.is_null(i), null_label) {
                (false, _) => text.value(i),
                (true, Some(label)) => label,
                (true, None) => {
                    let row = labels.codes.len() + 1;
                    return Err(IoError::invalid(
                        source.label(),
                        format!("column '{name}' ({role}): row {row} (1-based) is null; expected a label"),
                    ));
                }
            };
            let code = match seen.get(value) {
                Some(&code) => code,
                None => {
                    let code = labels.names.len() as u32;
                    seen.insert(value.to_string(), code);
                    labels.names.push(value.to_string());
                    code
                }
            };
            labels.codes.push(code);
        }
    }
    Ok(labels)
}
