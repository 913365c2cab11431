//! The error of every fallible function of the crate. Each variant names the value, column,
//! row or cluster at fault and says what was expected, so that a command line can print it as is.

use thiserror::Error;

/// What went wrong, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PrivacyError {
    /// A privacy budget ε that is not a finite number above zero.
    #[error("ε = {value}: the privacy budget must be a finite number above 0 (ε ≤ 0, NaN and infinity are refused)")]
    Epsilon {
        /// The ε given.
        value: f64,
    },
    /// A mechanism or estimator parameter out of its range.
    #[error("{name} = {value}: {expected}")]
    Parameter {
        /// The parameter's name (`lambda`, `gamma`, `sigma`, `level`, ...).
        name: &'static str,
        /// The value given.
        value: f64,
        /// What was expected.
        expected: String,
    },
    /// A column whose length differs from the others.
    #[error("column '{column}' has {len} values, expected {expected} (one per row)")]
    Length {
        /// The column's name.
        column: &'static str,
        /// Its number of values.
        len: usize,
        /// The number of rows expected.
        expected: usize,
    },
    /// A value in a column that cannot be used.
    #[error("column '{column}', row {row} (1-based): value {value}: {message}")]
    Value {
        /// The column's name.
        column: &'static str,
        /// The row, 1-based.
        row: usize,
        /// The value found.
        value: f64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A cluster whose rows cannot support the request.
    #[error("cluster '{cluster}': {message}")]
    Cluster {
        /// The cluster's label.
        cluster: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// An outcome grid that cannot be used.
    #[error("outcome grid: {0}")]
    Grid(String),
    /// A released mechanism (read back from a file) that does not fit the data or is malformed.
    #[error("released mechanism: {0}")]
    Mechanism(String),
    /// The data as a whole cannot support the request.
    #[error("{0}")]
    Data(String),
}

impl PrivacyError {
    /// A [`PrivacyError::Parameter`] error.
    pub fn parameter(name: &'static str, value: f64, expected: impl Into<String>) -> Self {
        PrivacyError::Parameter { name, value, expected: expected.into() }
    }

    /// A [`PrivacyError::Cluster`] error.
    pub fn cluster(cluster: impl Into<String>, message: impl Into<String>) -> Self {
        PrivacyError::Cluster { cluster: cluster.into(), message: message.into() }
    }
}

/// The result of the crate's fallible functions.
pub type Result<T> = std::result::Result<T, PrivacyError>;

/// Checks that a column has `expected` values.
pub(crate) fn check_len(column: &'static str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        Ok(())
    } else {
        Err(PrivacyError::Length { column, len, expected })
    }
}

/// Serde for an `f64` that may be infinite (an ε of a mechanism without privacy): JSON has no
/// infinity, so non-finite values are written as the strings `"inf"`, `"-inf"` or `"nan"` and
/// read back from either a number or one of those strings.
pub(crate) mod float_or_inf {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else if value.is_nan() {
            serializer.serialize_str("nan")
        } else if *value > 0.0 {
            serializer.serialize_str("inf")
        } else {
            serializer.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        match Repr::deserialize(deserializer)? {
            Repr::Number(v) => Ok(v),
            Repr::Text(s) => match s.as_str() {
                "inf" | "+inf" | "infinity" => Ok(f64::INFINITY),
                "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
                "nan" | "NaN" => Ok(f64::NAN),
                other => Err(serde::de::Error::custom(format!("expected a number or \"inf\", found \"{other}\""))),
            },
        }
    }
}
