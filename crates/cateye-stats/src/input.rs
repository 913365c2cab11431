//! Errors about the inputs of an estimator (forests, learners, the analysis tools): an option
//! out of range, a column that cannot be used, or data that cannot support the request. Each
//! names the option or column and says what was expected.

/// An estimator input or option that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// An option out of its valid range.
    #[error("option {option}: {message}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A data column that cannot be used (wrong length, non-finite value, constant, ...).
    #[error("column '{column}': {message}")]
    Column {
        /// The column's name.
        column: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The data as a whole cannot support the request (too few rows, singular design, ...).
    #[error("{0}")]
    Data(String),
}

/// An error about option `option`.
pub fn option_error(option: &'static str, message: impl Into<String>) -> InputError {
    InputError::Option { option, message: message.into() }
}

/// An error about a named input column.
pub fn column_error(column: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError::Column { column: column.into(), message: message.into() }
}

/// Checks a column of sample weights: `n` finite values, none negative, not all zero.
pub fn check_weights(column: &str, weights: &[f64], n: usize) -> Result<(), InputError> {
    check_finite(column, weights, n)?;
    if let Some(row) = weights.iter().position(|&w| w < 0.0) {
        return Err(column_error(
            column,
            format!("row {} (1-based) is {}: weights must be >= 0", row + 1, weights[row]),
        ));
    }
    if weights.iter().all(|&w| w == 0.0) {
        return Err(column_error(column, "all weights are zero"));
    }
    Ok(())
}

/// Checks that a column has `n` finite values; names the first bad row.
pub fn check_finite(column: &str, values: &[f64], n: usize) -> Result<(), InputError> {
    if values.len() != n {
        return Err(column_error(column, format!("has {} values, expected {n} (one per row)", values.len())));
    }
    if let Some(row) = values.iter().position(|v| !v.is_finite()) {
        return Err(column_error(
            column,
            format!("row {} (1-based) is {} (missing or non-finite values are not allowed here)", row + 1, values[row]),
        ));
    }
    Ok(())
}
