//! cateye finds out **who** an online experiment helps and who it hurts: across many
//! experiments, metrics and breakdown dimensions it detects whether an effect varies, surfaces
//! the dimensions that explain the variation, and characterizes the distribution of individual
//! effects (Cai & Wang's detect → surface → characterize), with honest causal forests (grf's
//! generalized random forests) and debiased CATE learners underneath.
//!
//! This crate is the one API that the command line, the Python package and the Spark
//! integration call. Data comes in as a [`Source`]: a Parquet, CSV or Arrow IPC file, record
//! batches in memory, or any Arrow `RecordBatchReader`.
//!
//! | module | job |
//! |---|---|
//! | [`analysis`] | AIPW effects, calibration test, RATE and best linear projection of any CATE fit |
//! | [`scan`] | tier 1 (SRM, effects, detection, dimension tests, FDR) and the deep dive of flagged pairs |
//! | [`forest`] | an honest causal forest on one experiment, its analyses and its model |
//! | [`regression`] | an honest regression forest of `E[Y \| X]` and its model |
//! | [`cate`] | the CATE learners (S, T, X, R, DR, causal forest), calibration, model selection |
//! | [`tables`] | the per-dimension and per-level results as Arrow tables, streamed to Parquet |
//! | [`model`] | fitted models: save, load, predict new rows |
//! | [`network`] | designs and effects under network interference: graphs, clusters, exposure, HT/Hájek |
//! | [`privacy`] | outcomes released under label differential privacy (Cluster-DP) and their effects |
//! | [`demo`] | data with known truth and the roles that scan it |
//!
//! ```
//! use cateye::scan::scan;
//! use cateye::{Config, Source};
//!
//! // Two hundred units of one experiment, in memory.
//! let spec = cateye::demo::synthetic_spec(1, 200, 1, 1, 2, 7);
//! let source = Source::from_batches(spec.batches())?;
//! let mut config = Config::default();
//! config.scan = cateye::demo::scan_config(&spec);
//! config.deep_dive.pairs = cateye::scan::Selection::None;
//! let (_stats, report) = scan(&source, &config, &|_| {})?;
//! assert_eq!(report.result.srm.len(), 1);
//! # Ok::<(), cateye::Error>(())
//! ```
#![deny(missing_docs)]

pub mod cate;
mod columns;
mod config;

/// The analysis tools of a CATE fit, as grf has them: AIPW average effects, the calibration
/// test, RATE and the best linear projection, on any estimator's out-of-bag or out-of-fold
/// estimates with its nuisances ([`analysis::CateFit`]).
pub mod analysis {
    pub use cateye_hte::{
        average_treatment_effect, best_linear_projection, rank_average_treatment_effect, test_calibration, AteEstimate,
        CalibrationTest, CateFit, Coefficient, InputError, Rate, RateOptions, TargetSample,
    };
}
pub mod demo;
mod error;
mod export;
pub mod forest;
pub mod model;
pub mod network;
pub mod privacy;
mod propensity;
pub mod regression;
pub mod scan;
pub mod tables;
mod units;

pub use cateye_io::{
    check_writable, read_json, write_atomically, write_batches, write_json, Format, IoError, Manifest, OutputDir,
    Source,
};
pub use config::Config;
pub use error::{Error, FitError, Result};
pub use export::{write_scan_outputs, CSV_VERSION, OUTPUT_FILES};

/// Version of the `forest.json` and `cate.json` summaries and the per-unit tables (recorded in
/// an output folder's manifest).
pub const JOB_SCHEMA_VERSION: u32 = 1;
pub use propensity::PropensitySpec;
pub use units::UnitTable;

/// A receiver of progress reports `(stage, done, total)` of the `*_reporting` functions, and
/// one that ignores them.
pub use cateye_stats::{silent, Progress};

/// The 0.975 quantile of the standard normal: a 95% interval is an estimate ± `Z_975` standard
/// errors.
pub use cateye_stats::Z_975;
