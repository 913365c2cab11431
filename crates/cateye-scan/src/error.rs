//! Errors of the tier-1 scan. Every variant names the input (a file name, or a label such as
//! "in-memory table") and, where there is one, the column, experiment or value at fault, and
//! says what was expected.

pub use cateye_io::IoError;

/// An error the user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The input could not be read, or its columns do not fit their roles.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The control label occurs nowhere in the variant column.
    #[error("{input}: control label '{control}' does not occur in column '{column}'; labels found: {found}")]
    UnknownControl {
        /// The input's label.
        input: String,
        /// The variant column.
        column: String,
        /// The control label configured.
        control: String,
        /// The labels there are.
        found: String,
    },
    /// An experiment without a control arm.
    #[error(
        "{input}: experiment '{experiment}' has no control arm '{control}' in column '{column}'; its arms: {arms}"
    )]
    NoControlArm {
        /// The input's label.
        input: String,
        /// The variant column.
        column: String,
        /// The experiment.
        experiment: String,
        /// The control label configured.
        control: String,
        /// The experiment's arms.
        arms: String,
    },
    /// An experiment with a single arm.
    #[error("{input}: experiment '{experiment}' has only one arm ('{arm}') in column '{column}'; a comparison needs at least two")]
    SingleArm {
        /// The input's label.
        input: String,
        /// The variant column.
        column: String,
        /// The experiment.
        experiment: String,
        /// Its only arm.
        arm: String,
    },
    /// A planned split that does not cover the experiment's arms.
    #[error("{input}: planned split for experiment '{experiment}': {message}")]
    BadSplit {
        /// The input's label.
        input: String,
        /// The experiment.
        experiment: String,
        /// What is wrong.
        message: String,
    },
    /// A setting out of range, in a config file or on the command line.
    #[error("config {origin}: {message}")]
    Config {
        /// Where the setting came from (a file name, or "command line").
        origin: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A statistics table whose rows cannot be used.
    #[error("{input}: {message}")]
    Invalid {
        /// The input's label.
        input: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, ScanError>;
