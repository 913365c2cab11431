//! The error of the library API: whichever layer failed, with its message (which names the
//! input, column, row, experiment or value at fault) and its chain of causes intact.

/// Why a cateye call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a table, a JSON document or a model file.
    #[error(transparent)]
    Io(#[from] cateye_io::IoError),
    /// The tier-1 scan.
    #[error(transparent)]
    Scan(#[from] cateye_scan::ScanError),
    /// The deep dive.
    #[error(transparent)]
    DeepDive(#[from] cateye_deepdive::DeepDiveError),
    /// A setting in a config file or an argument.
    #[error("{origin}: {message}")]
    Config {
        /// Where the setting came from: a config file, or "command line".
        origin: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// An estimator (a forest, a learner, an analysis tool) refused the data of `input`.
    #[error("{input}: {cause}")]
    Fit {
        /// The input's label.
        input: String,
        /// The estimator's error (it names the column, row or option).
        #[source]
        cause: FitError,
    },
    /// A config file that is not valid TOML or has an unknown key or a value of the wrong type.
    #[error("{origin}: {source}")]
    ConfigFile {
        /// The config file (or "command line").
        origin: String,
        /// What the TOML reader found.
        source: toml::de::Error,
    },
    /// Input that cannot be used (names the input and says what was expected).
    #[error("{input}: {message}")]
    Invalid {
        /// The input's label.
        input: String,
        /// What is wrong.
        message: String,
    },
}

/// The error of an estimator fitted by a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    /// A forest.
    #[error(transparent)]
    Forest(#[from] cateye_forest::ForestError),
    /// A CATE learner.
    #[error(transparent)]
    Learner(#[from] cateye_learners::LearnerError),
    /// An analysis tool.
    #[error(transparent)]
    Input(#[from] cateye_stats::InputError),
    /// A network design or estimator (boxed: it is larger than the others).
    #[error(transparent)]
    Network(Box<cateye_network::NetworkError>),
    /// The label-DP mechanism or its estimator (boxed: it is larger than the others).
    #[error(transparent)]
    Privacy(Box<cateye_privacy::PrivacyError>),
}

impl From<cateye_network::NetworkError> for FitError {
    fn from(e: cateye_network::NetworkError) -> Self {
        FitError::Network(Box::new(e))
    }
}

impl From<cateye_privacy::PrivacyError> for FitError {
    fn from(e: cateye_privacy::PrivacyError) -> Self {
        FitError::Privacy(Box::new(e))
    }
}

/// Result of the library API.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An estimator's error about the data of `input`.
    pub(crate) fn fit(input: &str, cause: impl Into<FitError>) -> Self {
        Error::Fit { input: input.to_string(), cause: cause.into() }
    }

    /// Input that cannot be used: `input` names it.
    pub(crate) fn invalid(input: &str, message: impl Into<String>) -> Self {
        Error::Invalid { input: input.to_string(), message: message.into() }
    }
}
