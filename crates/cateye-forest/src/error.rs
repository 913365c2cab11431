//! Errors of forest fitting and prediction: each names the input and says what was expected.

pub use cateye_stats::InputError;

/// A forest input, option or request that cannot be served.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ForestError {
    /// An option out of range, a column that cannot be used, or data too poor for the request.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Some training row was held in bag by every tree.
    #[error(
        "row {} (1-based) has no out-of-bag estimate: with {trees} trees some rows are in bag in every tree; use more trees", .row + 1
    )]
    NoOutOfBag {
        /// The first such row (0-based).
        row: usize,
        /// Trees grown.
        trees: usize,
    },
    /// Some training row was held in bag by every tree of a nuisance forest.
    #[error("row {} (1-based) has no out-of-bag prediction of {target}: use more trees ({trees} nuisance trees were grown)", .row + 1)]
    NoOutOfBagNuisance {
        /// The first such row (0-based).
        row: usize,
        /// The nuisance's target column.
        target: String,
        /// Trees grown.
        trees: usize,
    },
    /// Too few rows for a causal split.
    #[error(
        "too few rows ({rows}): each tree grows on about {per_tree} of them, and a causal split needs at least \
         4 × min_node_size = {needed} (treated and control on both sides); lower min_node_size or add rows"
    )]
    TooFewRows {
        /// Rows given.
        rows: usize,
        /// Rows each tree splits on.
        per_tree: usize,
        /// Rows a causal split needs.
        needed: usize,
    },
    /// Too few treated or control units.
    #[error(
        "column '{column}': {arm} units: {units}; a causal forest needs at least {needed} treated and {needed} control \
         units (max(10, 2 × min_node_size))"
    )]
    TooFewInArm {
        /// `treated` or `control`.
        arm: &'static str,
        /// Units of that arm.
        units: usize,
        /// Units needed.
        needed: usize,
        /// The treatment column.
        column: String,
    },
    /// Out-of-bag predictions were asked of a forest that no longer knows its trees' samples
    /// (a model loaded from a file keeps the trees, not the in-bag sets).
    #[error("out-of-bag predictions need the trees' in-bag samples, which a saved model does not keep: predict the rows as new rows, or refit")]
    NoInBagSamples,
    /// A model read from a file whose trees do not fit together (a damaged or foreign file).
    #[error("the model's trees are malformed: {reason}")]
    InvalidModel {
        /// What is wrong.
        reason: String,
    },
}

/// Result of the forest crate.
pub type Result<T> = std::result::Result<T, ForestError>;

pub(crate) fn option_error(option: &'static str, message: impl Into<String>) -> ForestError {
    cateye_stats::option_error(option, message).into()
}

pub(crate) fn column_error(column: impl Into<String>, message: impl Into<String>) -> ForestError {
    cateye_stats::column_error(column, message).into()
}

pub(crate) fn check_finite(column: &str, values: &[f64], n: usize) -> Result<()> {
    Ok(cateye_stats::check_finite(column, values, n)?)
}

/// Like `check_finite`, but NaN (a missing covariate value) is allowed: only infinite values
/// are an error.
pub(crate) fn check_not_infinite(column: &str, values: &[f64], n: usize) -> Result<()> {
    if values.len() != n {
        return Err(column_error(column, format!("has {} values, expected {n} (one per row)", values.len())));
    }
    if let Some(row) = values.iter().position(|v| v.is_infinite()) {
        return Err(column_error(
            column,
            format!("row {} (1-based) is {} (infinite values are not allowed; missing ones are)", row + 1, values[row]),
        ));
    }
    Ok(())
}
