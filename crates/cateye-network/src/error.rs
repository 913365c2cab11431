//! The error of every fallible function of the crate: it names the file, column, node or value
//! at fault and says what was expected.

use thiserror::Error;

/// What went wrong, in words a user can act on.
#[derive(Debug, Error)]
pub enum NetworkError {
    /// Reading a table failed (file, column, type).
    #[error(transparent)]
    Io(#[from] cateye_io::IoError),
    /// The input is well-formed but not acceptable (a self-loop, an unknown node id, an ε ≤ 0...).
    #[error("{0}")]
    Invalid(String),
}

impl NetworkError {
    /// An [`NetworkError::Invalid`] with the message given.
    pub fn invalid(message: impl Into<String>) -> Self {
        NetworkError::Invalid(message.into())
    }
}

/// The result of the crate's fallible functions.
pub type Result<T> = std::result::Result<T, NetworkError>;
