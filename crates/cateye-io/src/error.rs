//! Errors of reading and writing tables. Every variant names the input (a file name, or a
//! label such as "in-memory table") or the output file and, where there is one, the column or
//! value at fault, and says what was expected.

use std::path::PathBuf;

/// The underlying cause of a read or write failure.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error the user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The input could not be opened or decoded.
    #[error("{input}: cannot read: {cause}")]
    Read {
        /// The input's label.
        input: String,
        /// What failed.
        #[source]
        cause: Cause,
    },
    /// A column's values could not be decoded or converted.
    #[error("{input}: cannot read column '{column}': {cause}")]
    Column {
        /// The input's label.
        input: String,
        /// The column.
        column: String,
        /// What failed.
        #[source]
        cause: Cause,
    },
    /// An output could not be written.
    #[error("{path}: cannot write: {cause}")]
    Write {
        /// The output file or folder.
        path: PathBuf,
        /// What failed.
        #[source]
        cause: Cause,
    },
    /// A file whose extension names no format cateye reads.
    #[error("{path}: unsupported file type: expected a .parquet, .csv or .arrow/.ipc/.feather file")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// No rows (or no columns) at all.
    #[error("{input}: the table has no rows")]
    Empty {
        /// The input's label.
        input: String,
    },
    /// Two columns with one name: every use of the second would read the first.
    #[error("{input}: column name '{column}' is used twice (columns {first} and {second}, counting from 1); every column needs its own name")]
    DuplicateColumn {
        /// The input's label.
        input: String,
        /// The repeated name.
        column: String,
        /// Position of the first column of that name (1-based).
        first: usize,
        /// Position of the second (1-based).
        second: usize,
    },
    /// A value whose powers overflow the moments computed from it.
    #[error(
        "{input}: column '{column}' ({role}): row {row} (1-based) is {value:e}; cateye computes fourth moments of \
         this column, and values beyond ±{limit:e} overflow them: rescale the column (e.g. to thousands or millions)"
    )]
    OutOfRange {
        /// The input's label.
        input: String,
        /// The column.
        column: String,
        /// Its role (metric, pre-period covariate).
        role: &'static str,
        /// The row (1-based).
        row: u64,
        /// The value.
        value: f64,
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// A column named by the user (or a default role) that the input does not have.
    #[error("{input}: column '{column}' ({role}) not found; the table has columns: {available}")]
    MissingColumn {
        /// The input's label.
        input: String,
        /// The column asked for.
        column: String,
        /// Its role (metric, dimension, outcome, ...).
        role: &'static str,
        /// The columns there are, comma separated.
        available: String,
    },
    /// A column whose type does not fit its role.
    #[error("{input}: column '{column}' ({role}) has type {found}; expected {expected}")]
    WrongType {
        /// The input's label.
        input: String,
        /// The column.
        column: String,
        /// Its role.
        role: &'static str,
        /// Its type.
        found: String,
        /// The types the role takes.
        expected: &'static str,
    },
    /// No metric column was named and none could be inferred.
    #[error("{input}: no metric columns: name them with --metrics (or `metrics` in the config); numeric columns found: {candidates}")]
    NoMetrics {
        /// The input's label.
        input: String,
        /// The numeric columns there are.
        candidates: String,
    },
    /// Input that cannot be used as it is (too many levels, a column in two roles, ...).
    #[error("{input}: {message}")]
    Invalid {
        /// The input's label.
        input: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

/// Result of reading and writing.
pub type Result<T> = std::result::Result<T, IoError>;

impl IoError {
    /// A read failure of `input`.
    pub fn read(input: &str, cause: impl Into<Cause>) -> Self {
        IoError::Read { input: input.to_string(), cause: cause.into() }
    }

    /// A failure to decode column `column` of `input`.
    pub fn column(input: &str, column: &str, cause: impl Into<Cause>) -> Self {
        IoError::Column { input: input.to_string(), column: column.to_string(), cause: cause.into() }
    }

    /// A write failure of `path`.
    pub fn write(path: impl Into<PathBuf>, cause: impl Into<Cause>) -> Self {
        IoError::Write { path: path.into(), cause: cause.into() }
    }

    /// Unusable input, with what is wrong.
    pub fn invalid(input: &str, message: impl Into<String>) -> Self {
        IoError::Invalid { input: input.to_string(), message: message.into() }
    }
}
