//! The tier-1 heterogeneity scan of cateye: load unit-level experiment tables, reduce them to
//! mergeable sufficient statistics, and test every experiment × metric × dimension.
//!
//! | module | job |
//! |---|---|
//! | [`config`] | column roles and statistical settings (CLI flags / TOML) |
//! | [`data`] | reading Parquet/CSV/Arrow IPC in batches, roles, binning, encoding |
//! | [`aggregate`] | the hot loop: batches → shifted power sums → moments |
//! | [`kernel`] | the vectorised scatter-add at the bottom of the hot loop |
//! | [`collect`] | the file → [`SuffStats`] driver (parallel, deterministic) |
//! | [`suffstats`] | the sufficient statistics and their exact merge |
//! | [`stats_table`] | sufficient statistics as a flat table (warehouse / Spark input and output) |
//! | [`scan`] | SRM, ATE/CUPED, detection, per-dimension heterogeneity, FDR, findings |
//! | [`results`] | the result types (JSON schema) |
//! | [`report`] | JSON, CSV tables, terminal summary |
//! | [`demo`] | seeded generator of realistic experiments with planted heterogeneity |
//! | [`deep_dive`] | tier 2: forest-based detect → surface → characterize of flagged pairs |
//! | [`forest_job`] | the `cateye forest` job: rows → causal forest (`cateye_forest`) → per-unit effects + summary |

pub mod aggregate;
pub mod cate_job;
pub mod collect;
pub mod config;
pub mod data;
pub mod deep_dive;
pub mod demo;
pub mod error;
pub mod forest_job;
pub mod kernel;
pub mod report;
pub mod results;
pub mod scan;
pub mod stats_table;
pub mod suffstats;

pub use config::ScanConfig;
pub use error::{Result, ScanError};
pub use results::ScanResult;
pub use suffstats::SuffStats;

/// Read `path` and scan it: the whole tier-1 pipeline.
pub fn scan_file(
    path: &std::path::Path,
    config: &ScanConfig,
    progress: collect::Progress,
) -> Result<(SuffStats, ScanResult)> {
    let source = data::Source::open(path)?;
    let stats = collect::collect(&source, config, progress)?;
    check_planned_splits(&stats, config, path)?;
    let result = scan::scan(&stats, config, Some(path.display().to_string()));
    Ok((stats, result))
}

/// Scan a table of sufficient statistics (see [`stats_table`]) instead of unit-level rows.
pub fn scan_stats_file(path: &std::path::Path, config: &ScanConfig) -> Result<(SuffStats, ScanResult)> {
    let stats = stats_table::read_stats_table(path, &config.control)?;
    check_planned_splits(&stats, config, path)?;
    let result = scan::scan(&stats, config, Some(path.display().to_string()));
    Ok((stats, result))
}

/// Every arm of an experiment with a configured split must have a positive weight.
fn check_planned_splits(stats: &SuffStats, config: &ScanConfig, path: &std::path::Path) -> Result<()> {
    for e in stats.experiments.iter().filter(|e| config.has_planned_split(&e.name)) {
        for arm in &e.arms {
            match config.planned_weight(&e.name, arm) {
                Some(w) if w.is_finite() && w > 0.0 => {}
                other => {
                    return Err(ScanError::BadSplit {
                        file: path.into(),
                        experiment: e.name.clone(),
                        message: format!(
                            "arm '{arm}' has weight {other:?}; expected a positive weight for every arm ({})",
                            e.arms.join(", ")
                        ),
                    })
                }
            }
        }
    }
    Ok(())
}
