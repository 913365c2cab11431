//! Errors of loading and scanning. Every variant names the file and, where there is one, the
//! column, experiment or value at fault, and says what was expected.

use std::path::PathBuf;

/// An error the user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{file}: cannot read: {message}")]
    Io { file: PathBuf, message: String },
    #[error("{file}: unsupported file type: expected a .parquet, .csv or .arrow/.ipc/.feather file")]
    UnsupportedFormat { file: PathBuf },
    #[error("{file}: the file has no rows")]
    Empty { file: PathBuf },
    #[error("{file}: column '{column}' ({role}) not found; the file has columns: {available}")]
    MissingColumn { file: PathBuf, column: String, role: &'static str, available: String },
    #[error("{file}: column '{column}' ({role}) has type {found}; expected {expected}")]
    WrongType { file: PathBuf, column: String, role: &'static str, found: String, expected: &'static str },
    #[error("{file}: no metric columns: name them with --metrics (or `metrics` in the config); numeric columns found: {candidates}")]
    NoMetrics { file: PathBuf, candidates: String },
    #[error("{file}: control label '{control}' does not occur in column '{column}'; labels found: {found}")]
    UnknownControl { file: PathBuf, column: String, control: String, found: String },
    #[error("{file}: experiment '{experiment}' has no control arm '{control}' in column '{column}'; its arms: {arms}")]
    NoControlArm { file: PathBuf, column: String, experiment: String, control: String, arms: String },
    #[error("{file}: experiment '{experiment}' has only one arm ('{arm}') in column '{column}'; a comparison needs at least two")]
    SingleArm { file: PathBuf, column: String, experiment: String, arm: String },
    #[error("{file}: planned split for experiment '{experiment}': {message}")]
    BadSplit { file: PathBuf, experiment: String, message: String },
    #[error("config {file}: {message}")]
    Config { file: PathBuf, message: String },
    #[error("{file}: {message}")]
    Invalid { file: PathBuf, message: String },
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, ScanError>;
