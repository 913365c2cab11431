//! The tier-1 heterogeneity scan of cateye, on record batches: reduce unit-level experiment
//! tables (any [`cateye_io::Source`]) to mergeable sufficient statistics, and test every
//! experiment × metric × dimension from them.
//!
//! | module | job |
//! |---|---|
//! | `config` | column roles and statistical settings ([`ScanConfig`]) |
//! | `aggregate` | the hot loop: encoded batches → shifted power sums → moments |
//! | `kernel` | the vectorised scatter-add at the bottom of the hot loop |
//! | `collect` | the source → [`SuffStats`] driver (parallel, deterministic), whole or experiment by experiment |
//! | `partition` | input not grouped by experiment, partitioned by experiment into temporary files |
//! | `suffstats` | the sufficient statistics and their exact merge |
//! | `stats_table` | sufficient statistics as a flat table (warehouse / Spark input and output) |
//! | `stats_sql` | the SQL (Spark or ANSI) that computes that table from unit-level rows in a warehouse |
//! | `scan` | SRM, ATE/CUPED, detection, per-dimension heterogeneity, FDR, findings; in memory or streamed by experiment |
//! | `results` | the result types (the JSON schema of `docs/scan-schema.md`) |
//!
//! The scan itself ([`scan()`]) reads nothing but [`SuffStats`]: statistics aggregated in a
//! warehouse or on Spark and merged with [`SuffStats::merge`] give the same results.
#![deny(missing_docs)]

mod aggregate;
mod collect;
mod config;
mod error;
mod kernel;
mod partition;
mod results;
mod scan;
mod stats_sql;
mod stats_table;
mod suffstats;

pub use aggregate::Accumulator;
pub use collect::{
    aggregate_encoded, collect, collect_by_experiment, collect_partial, encode_all, EncodedTable, ExperimentSpans,
    Progress,
};
pub use config::{ScanConfig, Tables};
pub use error::{Result, ScanError};
pub use results::{
    CupedEffect, DetectionRow, DimensionCounts, DimensionRow, DimensionSummary, EffectRow, Finding, InputSummary,
    LevelDeviation, LevelEffectRow, ScanResult, Settings, SrmRow, SCHEMA_VERSION,
};
pub use scan::{scan, scan_by_experiment, DimensionSink, OTHER_LEVEL};
pub use stats_sql::{CovariateColumns, Dialect, StatsQuery};
pub use stats_table::{read_stats_table, stats_table};
pub use suffstats::{DimensionInfo, ExperimentStats, MergeError, MetricInfo, MetricStats, SuffStats};

use cateye_io::Source;

/// The whole tier-1 pipeline on unit-level rows: read `source` into sufficient statistics and
/// scan them.
pub fn scan_source(source: &Source, config: &ScanConfig, progress: Progress<'_>) -> Result<(SuffStats, ScanResult)> {
    let stats = collect(source, config, progress)?;
    let result = scan(&stats, config, Some(source.label().to_string()))?;
    Ok((stats, result))
}

/// Scan a table of sufficient statistics (see [`read_stats_table`]) instead of unit-level rows.
pub fn scan_stats_source(source: &Source, config: &ScanConfig) -> Result<(SuffStats, ScanResult)> {
    let stats = read_stats_table(source, &config.control)?;
    let result = scan(&stats, config, Some(source.label().to_string()))?;
    Ok((stats, result))
}
