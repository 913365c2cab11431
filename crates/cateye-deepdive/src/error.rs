//! Errors of the deep dive: of the run as a whole (its input, its settings, the pairs asked
//! for), and of one pair (recorded with the pair in the report; the other pairs go on).

use cateye_forest::ForestError;
use cateye_io::IoError;
use cateye_stats::InputError;
use cateye_stats::RandomizationError;

/// Why the deep dive as a whole could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeepDiveError {
    /// The unit-level rows could not be read.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A setting out of range.
    #[error("deep dive settings: {0}")]
    Config(String),
    /// A pair named with `--deep-dive-pair` that the scan does not know, or that is malformed.
    #[error("deep-dive pair '{request}': {problem}")]
    Request {
        /// The pair as given.
        request: String,
        /// What is wrong.
        problem: String,
    },
}

/// Why one pair's deep dive could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairError {
    /// Too few units in an arm for the forest and the subgroup search.
    #[error(
        "too few units with a value of the metric (treated {treated}, control {control}): the deep dive needs at \
         least {needed} per arm"
    )]
    TooFewUnits {
        /// Treated units with a value.
        treated: usize,
        /// Control units with a value.
        control: usize,
        /// Units needed in each arm.
        needed: usize,
    },
    /// The pair has neither dimensions nor covariates.
    #[error("no dimensions and no covariates: the forest has nothing to split on")]
    NoFeatures,
    /// The pair's experiment, metric or arm is not among the rows read.
    #[error("{0} not found in the rows read")]
    NotLoaded(&'static str),
    /// The causal forest could not be fitted.
    #[error(transparent)]
    Forest(#[from] ForestError),
    /// An analysis of the fit could not be computed.
    #[error(transparent)]
    Analysis(#[from] InputError),
    /// The randomization test could not be run.
    #[error(transparent)]
    Randomization(#[from] RandomizationError),
}

/// Result of the deep dive.
pub type Result<T> = std::result::Result<T, DeepDiveError>;
