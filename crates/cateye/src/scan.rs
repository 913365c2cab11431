//! The scan pipeline: tier 1 on any [`Source`] of unit-level rows (or a statistics table), then
//! the deep dive of the flagged pairs on the same rows, then the outputs. The statistics live in
//! `cateye_scan` and `cateye_deepdive`; this module runs them in order and assembles the report.

use crate::config::Config;
use crate::error::Result;
use crate::export::ReportRef;
pub use crate::export::ScanOutputs;
use cateye_io::Source;
use serde::{Deserialize, Serialize};

pub use cateye_deepdive::{
    DeepDive, DeepDiveConfig, DeepDiveEvent, DeepDiveReport, FailedPair, SelectedPair, Selection, SelectionSummary,
};
pub use cateye_hte::{Component, VariationDecomposition};
pub use cateye_scan::{
    read_stats_table, stats_table, CovariateColumns, CupedEffect, DetectionRow, Dialect, DimensionCounts, DimensionRow,
    DimensionSummary, EffectRow, Finding, InputSummary, LevelDeviation, LevelEffectRow, MergeError, ScanConfig,
    ScanResult, Settings, SrmRow, StatsQuery, SuffStats, Tables, SCHEMA_VERSION,
};
pub use cateye_stats::Correction;

/// Everything a scan computes: the tier-1 results and, when it ran, the deep dive. Serialized,
/// it is the `scan.json` document (`docs/scan-schema.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScanReport {
    /// Tier 1: SRM, effects, detection, dimensions, findings.
    #[serde(flatten)]
    pub result: ScanResult,
    /// Tier 2: the deep dive of flagged pairs (absent when it was not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_dive: Option<DeepDiveReport>,
}

/// What a long scan reports as it goes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ScanEvent<'a> {
    /// Rows read so far by the tier-1 pass, and the total when known.
    Rows {
        /// Rows read.
        read: u64,
        /// Rows in all, when known in advance.
        total: Option<u64>,
    },
    /// Progress of the deep dive.
    DeepDive(DeepDiveEvent<'a>),
}

/// A receiver of [`ScanEvent`]s (it may be called from worker threads).
pub type ScanEvents<'a> = &'a (dyn Fn(ScanEvent<'_>) + Sync);

/// The sufficient statistics of the unit-level rows of `source`: what a partition of a large
/// table reduces to; merge partitions with [`SuffStats::merge`] and scan them with
/// [`scan_suff_stats`]. A partition may hold only some arms of an experiment (none of the
/// control's): the scan of the merged statistics checks that every experiment has its control
/// and another arm.
pub fn suff_stats(source: &Source, config: &ScanConfig) -> Result<SuffStats> {
    Ok(cateye_scan::collect_partial(source, config, &|_, _| {})?)
}

/// Scans statistics computed elsewhere (merged partitions, a warehouse table); `label` names
/// them in the report and in errors.
pub fn scan_suff_stats(stats: &SuffStats, config: &ScanConfig, label: &str) -> Result<ScanReport> {
    let result = cateye_scan::scan(stats, config, Some(label.to_string()))?;
    Ok(ScanReport { result, deep_dive: None })
}

/// The whole scan of the unit-level rows of `source`: tier 1, then the deep dive of the
/// flagged pairs (as `config.deep_dive` selects them) on the same rows.
pub fn scan(source: &Source, config: &Config, events: ScanEvents<'_>) -> Result<(SuffStats, ScanReport)> {
    run(source, config, events, None)
}

/// [`scan`], writing the results into `out` as they come: the tier-1 results (`scan.json`
/// and the CSV tables) as soon as tier 1 is done, then `scan.json` again after every
/// deep-dived pair (with `deep_dive.remaining` counting the pairs still to come). A run
/// interrupted during the deep dive leaves complete tier-1 results and every finished pair.
pub fn scan_into(
    source: &Source,
    config: &Config,
    events: ScanEvents<'_>,
    out: &mut ScanOutputs,
) -> Result<(SuffStats, ScanReport)> {
    run(source, config, events, Some(out))
}

fn run(
    source: &Source,
    config: &Config,
    events: ScanEvents<'_>,
    mut out: Option<&mut ScanOutputs>,
) -> Result<(SuffStats, ScanReport)> {
    let rows = |read: u64, total: Option<u64>| events(ScanEvent::Rows { read, total });
    let (stats, result) = match out.as_deref_mut() {
        // Streamed by experiment: the tables go to Parquet as the experiments are tested.
        Some(out) if config.scan.tables == Tables::Parquet => {
            let mut tables = out.parquet_tables()?;
            cateye_scan::scan_by_experiment(source, &config.scan, &mut tables, &rows)?
        }
        _ => cateye_scan::scan_source(source, &config.scan, &rows)?,
    };
    let mut tier1_written = false;
    let save = |deep_dive: &DeepDiveReport| -> Result<()> {
        let Some(out) = out.as_deref_mut() else { return Ok(()) };
        let report = ReportRef { result: &result, deep_dive: Some(deep_dive) };
        if tier1_written {
            out.update_report(report)
        } else {
            tier1_written = true;
            out.write_ref(report).map(drop)
        }
    };
    let deep_dive = cateye_deepdive::run_deep_dive_saving(
        source,
        &config.scan,
        &config.deep_dive,
        &stats,
        &result,
        &|e| events(ScanEvent::DeepDive(e)),
        save,
    )?;
    Ok((stats, ScanReport { result, deep_dive: Some(deep_dive) }))
}

/// The scan of a statistics table (see [`read_stats_table`]). There are no unit-level rows,
/// so a requested deep dive is skipped with a warning in the report.
pub fn scan_stats(source: &Source, config: &Config) -> Result<(SuffStats, ScanReport)> {
    let (stats, mut result) = cateye_scan::scan_stats_source(source, &config.scan)?;
    let dd = &config.deep_dive;
    if dd.pairs != Selection::None || !dd.requested.is_empty() {
        result.input.warnings.push("no deep dive: it needs the unit-level rows, not sufficient statistics".into());
    }
    Ok((stats, ScanReport { result, deep_dive: None }))
}

/// Writes `stats` as a statistics table (Parquet, or CSV by extension) that
/// [`scan_stats`] reads back.
pub fn write_stats_table(stats: &SuffStats, path: &std::path::Path) -> Result<()> {
    let batch = stats_table(stats);
    Ok(cateye_io::write_atomically(path, |tmp| cateye_io::write_batches(tmp, batch.schema(), [batch]))?)
}

/// Kind and format version of serialized statistics ([`stats_to_bytes`]).
const STATS_KIND: (&str, u32) = ("suff-stats", 1);

/// `stats` as bytes (the model file's header, then postcard: floats as their exact bits), so
/// partial statistics travel between processes (a Spark executor and its driver) unchanged.
pub fn stats_to_bytes(stats: &SuffStats) -> Result<Vec<u8>> {
    Ok(cateye_io::encode_model(STATS_KIND.0, STATS_KIND.1, stats)?)
}

/// Statistics written by [`stats_to_bytes`]; `label` names them in errors.
pub fn stats_from_bytes(bytes: &[u8], label: &str) -> Result<SuffStats> {
    Ok(cateye_io::decode_model(bytes, label, STATS_KIND.0, STATS_KIND.1)?)
}

/// The deep dive of one pair, run apart from the others (see [`deep_dive_experiment`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PairOutcome {
    /// Position of the pair in the selection (`DeepDiveReport::selection.selected`).
    pub index: usize,
    /// Its analysis, or why it failed.
    pub outcome: std::result::Result<DeepDive, FailedPair>,
}

/// The scan of merged statistics with its deep dive planned but not run: the report's
/// `deep_dive` holds the selection and the warnings, no pair (`remaining` counts them all).
/// With [`deep_dive_experiment`] run where each selected experiment's rows are, and the outcomes
/// put in selection order, this is [`scan`] split by experiment: what `cateye.spark` does.
pub fn plan_deep_dive(stats: &SuffStats, config: &Config, label: &str) -> Result<ScanReport> {
    let result = cateye_scan::scan(stats, &config.scan, Some(label.to_string()))?;
    let plan = cateye_deepdive::plan_deep_dive(&config.scan, &config.deep_dive, stats, &result)?;
    Ok(ScanReport { result, deep_dive: Some(plan.report) })
}

/// The deep dive of the selected pairs of `experiment` (selected on the merged statistics
/// `stats`, as [`plan_deep_dive`] selects them) on `source`, which holds that experiment's rows
/// in the order the single-machine scan would read them (other experiments' rows are ignored).
/// Each pair's analysis is seeded by the pair alone, so the outcomes are those of [`scan`].
pub fn deep_dive_experiment(
    source: &Source,
    config: &Config,
    stats: &SuffStats,
    experiment: &str,
    progress: cateye_stats::Progress<'_>,
) -> Result<Vec<PairOutcome>> {
    let result = cateye_scan::scan(stats, &config.scan, None)?;
    let (scan, dd) = (&config.scan, &config.deep_dive);
    let mut plan = cateye_deepdive::plan_deep_dive(scan, dd, stats, &result)?;
    let mine: Vec<usize> = (0..plan.report.selection.selected.len())
        .filter(|&i| plan.report.selection.selected[i].experiment == experiment)
        .collect();
    if mine.is_empty() {
        return Ok(Vec::new());
    }
    let loaded = cateye_deepdive::load_pairs(source, scan, dd, stats, &plan)?;
    let mut outcomes = Vec::with_capacity(mine.len());
    for index in mine {
        let outcome = if cateye_deepdive::run_pair(&mut plan, index, &loaded, scan, dd, &result, progress) {
            Ok(plan.report.pairs.pop().expect("run_pair recorded the pair"))
        } else {
            Err(plan.report.failed.pop().expect("run_pair recorded the failure"))
        };
        outcomes.push(PairOutcome { index, outcome });
    }
    Ok(outcomes)
}
