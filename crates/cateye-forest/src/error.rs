//! Errors of forest fitting and analysis: each names the input and says what was expected.

/// A forest input or option that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ForestError {
    /// An option out of its valid range.
    #[error("option {option}: {message}")]
    Option { option: &'static str, message: String },
    /// A data column that cannot be used (wrong length, non-finite value, constant, ...).
    #[error("column '{column}': {message}")]
    Column { column: String, message: String },
    /// The data as a whole cannot support the request (too few rows, no out-of-bag trees, ...).
    #[error("{0}")]
    Data(String),
}

pub type Result<T> = std::result::Result<T, ForestError>;

pub(crate) fn option_error(option: &'static str, message: impl Into<String>) -> ForestError {
    ForestError::Option { option, message: message.into() }
}

/// An error about a named input column.
pub fn column_error(column: impl Into<String>, message: impl Into<String>) -> ForestError {
    ForestError::Column { column: column.into(), message: message.into() }
}

/// Checks that a column has `n` finite values; names the first bad row.
pub fn check_finite(column: &str, values: &[f64], n: usize) -> Result<()> {
    if values.len() != n {
        return Err(column_error(column, format!("has {} values, expected {n} (one per row)", values.len())));
    }
    if let Some(row) = values.iter().position(|v| !v.is_finite()) {
        return Err(column_error(
            column,
            format!("row {row} is {} (missing or non-finite values are not allowed here)", values[row]),
        ));
    }
    Ok(())
}
