//! Errors of the CATE learners: a bad input or option (naming it), or an error of the forests
//! or of the fold assignment they use.

use cateye_forest::ForestError;
use cateye_stats::FoldsError;
pub use cateye_stats::InputError;

/// Why a CATE fit or prediction could not be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LearnerError {
    /// An option out of range, a column that cannot be used, or data too poor for the request.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A forest (base learner or causal forest) could not be fitted.
    #[error(transparent)]
    Forest(#[from] ForestError),
    /// The cross-fitting folds could not be assigned.
    #[error(transparent)]
    Folds(#[from] FoldsError),
}

/// Result of the learners.
pub type Result<T> = std::result::Result<T, LearnerError>;

pub(crate) fn data_error(message: impl Into<String>) -> LearnerError {
    InputError::Data(message.into()).into()
}

pub(crate) fn option_error(option: &'static str, message: impl Into<String>) -> LearnerError {
    cateye_stats::option_error(option, message).into()
}

pub(crate) fn column_error(column: impl Into<String>, message: impl Into<String>) -> LearnerError {
    cateye_stats::column_error(column, message).into()
}

pub(crate) fn check_finite(column: &str, values: &[f64], n: usize) -> Result<()> {
    Ok(cateye_stats::check_finite(column, values, n)?)
}
