//! The propensity as users give it, parsed in one place for every job and front end.

use cateye_forest::Propensity;
use std::fmt;
use std::str::FromStr;

/// Where a job's propensity `P(W = 1 | X)` comes from, as the user names it: `design` (the
/// treated share, for randomized experiments), `estimate` (fitted from the covariates), a known
/// probability such as `0.5`, or the name of a column of per-unit probabilities.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PropensitySpec {
    /// The design of a randomized experiment (the treated share of each pair of arms).
    Design,
    /// Estimated from the covariates.
    Estimate,
    /// A known assignment probability.
    Known(f64),
    /// A column with one probability per unit.
    Column(String),
}

impl FromStr for PropensitySpec {
    type Err = std::convert::Infallible;

    /// `design`, `estimate`, a number, or else a column name.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "design" => PropensitySpec::Design,
            "estimate" => PropensitySpec::Estimate,
            other => {
                other.parse::<f64>().map_or_else(|_| PropensitySpec::Column(other.to_string()), PropensitySpec::Known)
            }
        })
    }
}

impl fmt::Display for PropensitySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropensitySpec::Design => f.write_str("design"),
            PropensitySpec::Estimate => f.write_str("estimate"),
            PropensitySpec::Known(v) => write!(f, "{v}"),
            PropensitySpec::Column(c) => f.write_str(c),
        }
    }
}

impl PropensitySpec {
    /// The column this spec reads, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            PropensitySpec::Column(c) => Some(c),
            _ => None,
        }
    }

    /// The estimator-level propensity, with the values of [`Self::column`] when it names one.
    pub(crate) fn resolve<'a>(&'a self, values: Option<&'a [f64]>) -> Propensity<'a> {
        match self {
            PropensitySpec::Design => Propensity::Design,
            PropensitySpec::Estimate => Propensity::Estimate,
            PropensitySpec::Known(v) => Propensity::Known(*v),
            PropensitySpec::Column(c) => {
                Propensity::PerUnit { values: values.expect("the propensity column was read"), column: c }
            }
        }
    }

    /// How summaries describe it.
    pub(crate) fn describe(&self, estimator: &str) -> String {
        match self {
            PropensitySpec::Design => "design (treated share)".to_string(),
            PropensitySpec::Estimate => format!("estimated ({estimator})"),
            PropensitySpec::Known(v) => format!("known: {v}"),
            PropensitySpec::Column(c) => format!("column '{c}'"),
        }
    }
}
