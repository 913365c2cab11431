//! Writing a [`ScanReport`]: the JSON document and the CSV tables, replaced all together in
//! their folder (see [`cateye_io::OutputDir`]).

use crate::error::Result;
use crate::scan::{CupedEffect, DeepDiveReport, ScanReport, ScanResult};
use crate::tables::{ParquetTables, DIMENSION_COLUMNS, LEVEL_COLUMNS};
use cateye_io::{IoError, Manifest, OutputDir};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Files written by [`write_scan_outputs`].
pub const OUTPUT_FILES: [&str; 6] =
    ["scan.json", "srm.csv", "effects.csv", "detection.csv", "dimensions.csv", "levels.csv"];

/// Version of the CSV tables' columns (recorded in the manifest).
pub const CSV_VERSION: u32 = 2;

/// A scan report by reference, serialized exactly as [`ScanReport`] (`scan.json`).
#[derive(Serialize)]
pub(crate) struct ReportRef<'a> {
    #[serde(flatten)]
    pub result: &'a ScanResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deep_dive: Option<&'a DeepDiveReport>,
}

impl<'a> From<&'a ScanReport> for ReportRef<'a> {
    fn from(report: &'a ScanReport) -> Self {
        ReportRef { result: &report.result, deep_dive: report.deep_dive.as_ref() }
    }
}

/// The output folder of a scan. Checked for writing when prepared, before any computing; the
/// tier-1 results are written as soon as they exist ([`Self::write`]) and, by
/// [`scan_into`](crate::scan::scan_into), `scan.json` again after every deep-dived pair; every
/// write replaces the files all together and records them in `manifest.json`.
#[derive(Debug)]
pub struct ScanOutputs {
    dir: OutputDir,
    /// Whether the per-dimension and per-level tables are Parquet files streamed by
    /// [`Self::parquet_tables`] (instead of CSV written from the result).
    parquet_tables: bool,
}

impl ScanOutputs {
    /// Prepares `dir` (created if needed); `command` and `inputs` (file paths or sources'
    /// labels) are recorded in the manifest.
    pub fn prepare(dir: &Path, command: Vec<String>, inputs: &[String]) -> Result<Self> {
        Ok(ScanOutputs { dir: OutputDir::prepare(dir, command, inputs)?, parquet_tables: false })
    }

    /// Writes `scan.json` and the CSV tables of `report`. Returns the paths.
    pub fn write(&mut self, report: &ScanReport) -> Result<Vec<PathBuf>> {
        self.write_ref(report.into())
    }

    pub(crate) fn write_ref(&mut self, report: ReportRef<'_>) -> Result<Vec<PathBuf>> {
        self.stage_json(&report)?;
        let dimension_tables = !self.parquet_tables;
        write_tables(report.result, dimension_tables, |name| self.dir.stage(name, CSV_VERSION).map_err(Into::into))?;
        Ok(self.dir.commit()?)
    }

    /// The sink that streams `dimensions.parquet` and `levels.parquet` into this folder (they
    /// move in with the next write, in place of `dimensions.csv` and `levels.csv`).
    pub fn parquet_tables(&mut self) -> Result<ParquetTables> {
        self.parquet_tables = true;
        let dimensions = self.dir.stage("dimensions.parquet", CSV_VERSION)?;
        let levels = self.dir.stage("levels.parquet", CSV_VERSION)?;
        ParquetTables::create(&dimensions, &levels)
    }

    /// Rewrites `scan.json` alone (the deep dive adds to it pair by pair; the CSV tables hold
    /// tier 1 only).
    pub(crate) fn update_report(&mut self, report: ReportRef<'_>) -> Result<()> {
        self.stage_json(&report)?;
        self.dir.commit()?;
        Ok(())
    }

    fn stage_json(&mut self, report: &ReportRef<'_>) -> Result<()> {
        let json = self.dir.stage("scan.json", cateye_scan::SCHEMA_VERSION)?;
        Ok(cateye_io::write_json_compact(&json, report)?)
    }

    /// What has been written so far.
    pub fn manifest(&self) -> &Manifest {
        self.dir.manifest()
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.dir.dir()
    }
}

fn io(path: &Path, e: impl Into<cateye_io::Cause>) -> crate::Error {
    IoError::write(path, e).into()
}

/// Format a float for CSV: empty for NaN.
fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

/// Format a p- or q-value for CSV: scientific notation (`3.2e-12`), so that small values keep
/// their digits in a spreadsheet; empty for NaN.
fn pnum(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v:e}")
    }
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(path).map_err(|e| io(path, e))
}

fn write_rows(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(header).map_err(|e| io(path, e))?;
    for r in rows {
        w.write_record(&r).map_err(|e| io(path, e))?;
    }
    w.flush().map_err(|e| io(path, e))
}

/// Write `scan.json` and the CSV tables into `dir` (created if needed), replacing an earlier
/// run's files all together (see [`ScanOutputs`]). Returns the paths.
pub fn write_scan_outputs(report: &ScanReport, dir: &Path) -> Result<Vec<PathBuf>> {
    ScanOutputs::prepare(dir, vec!["cateye::write_scan_outputs".into()], &[])?.write(report)
}

/// Writes the CSV tables of `result`, each at the path `path` gives for its name; the
/// per-dimension and per-level ones only with `dimension_tables`.
fn write_tables(
    result: &ScanResult,
    dimension_tables: bool,
    mut path: impl FnMut(&str) -> Result<PathBuf>,
) -> Result<()> {
    let mut p = |name: &str| path(name);

    write_rows(
        &p("srm.csv")?,
        &["experiment", "arms", "units", "planned", "chi2", "p_value", "q_value", "mismatch", "warning"],
        result.srm.iter().map(|r| {
            let join = |v: &[f64]| v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(";");
            vec![
                r.experiment.clone(),
                r.arms.join(";"),
                join(&r.units),
                join(&r.planned),
                num(r.test.as_ref().map_or(f64::NAN, |t| t.chi2)),
                pnum(r.test.as_ref().map_or(f64::NAN, |t| t.p_value)),
                pnum(r.q_value),
                r.mismatch.to_string(),
                r.warning.to_string(),
            ]
        }),
    )?;
    write_rows(
        &p("effects.csv")?,
        &[
            "experiment",
            "metric",
            "arm",
            "control",
            "n_treatment",
            "n_control",
            "missing_treatment",
            "missing_control",
            "mean_treatment",
            "mean_control",
            "binary",
            "ate",
            "ate_se",
            "ate_ci_low",
            "ate_ci_high",
            "ate_p_value",
            "lift",
            "lift_ci_low",
            "lift_ci_high",
            "cuped_theta",
            "cuped_ate",
            "cuped_se",
            "cuped_ci_low",
            "cuped_ci_high",
            "cuped_p_value",
            "cuped_lift",
            "cuped_variance_reduction",
            "q_value",
        ],
        result.effects.iter().map(|r| {
            let c = r.cuped.as_ref();
            let cf = |f: fn(&CupedEffect) -> f64| num(c.map_or(f64::NAN, f));
            vec![
                r.experiment.clone(),
                r.metric.clone(),
                r.arm.clone(),
                r.control.clone(),
                num(r.n[0]),
                num(r.n[1]),
                num(r.missing[0]),
                num(r.missing[1]),
                num(r.mean[0]),
                num(r.mean[1]),
                r.binary.to_string(),
                num(r.ate.estimate),
                num(r.ate.se),
                num(r.ate.ci_low),
                num(r.ate.ci_high),
                pnum(r.ate.p_value),
                num(r.lift.estimate),
                num(r.lift.ci_low),
                num(r.lift.ci_high),
                cf(|c| c.theta),
                cf(|c| c.ate.estimate),
                cf(|c| c.ate.se),
                cf(|c| c.ate.ci_low),
                cf(|c| c.ate.ci_high),
                pnum(c.map_or(f64::NAN, |c| c.ate.p_value)),
                cf(|c| c.lift.estimate),
                cf(|c| c.variance_reduction),
                pnum(r.q_value),
            ]
        }),
    )?;
    write_rows(
        &p("detection.csv")?,
        &[
            "experiment",
            "metric",
            "arm",
            "status",
            "on",
            "variance_ratio",
            "log_ratio_se",
            "kurtosis",
            "p_value",
            "q_value",
        ],
        result.detection.iter().map(|r| {
            let t = |f: fn(&cateye_stats::VarianceRatioTest) -> f64| num(r.test.as_ref().map_or(f64::NAN, f));
            vec![
                r.experiment.clone(),
                r.metric.clone(),
                r.arm.clone(),
                r.status.clone(),
                r.on.clone(),
                t(|t| t.ratio),
                t(|t| t.se),
                t(|t| t.kurtosis),
                pnum(r.test.as_ref().map_or(f64::NAN, |t| t.p_value)),
                pnum(r.q_value),
            ]
        }),
    )?;
    if !dimension_tables {
        return Ok(());
    }
    write_rows(
        &p("dimensions.csv")?,
        &DIMENSION_COLUMNS,
        result.dimensions.iter().map(|r| {
            let t = |f: fn(&cateye_stats::Heterogeneity) -> f64| num(r.test.as_ref().map_or(f64::NAN, f));
            vec![
                r.experiment.clone(),
                r.metric.clone(),
                r.arm.clone(),
                r.dimension.clone(),
                r.cuped.to_string(),
                r.levels.len().to_string(),
                r.pooled.join(";"),
                r.excluded.join(";"),
                t(|t| t.q),
                t(|t| t.df),
                pnum(r.test.as_ref().map_or(f64::NAN, |t| t.p_value)),
                pnum(r.q_value),
                t(|t| t.explained_variance),
                num(r.explained_sd),
                r.rank.to_string(),
                r.flagged.to_string(),
            ]
        }),
    )?;
    write_rows(
        &p("levels.csv")?,
        &LEVEL_COLUMNS,
        result.dimensions.iter().flat_map(|r| {
            r.levels.iter().map(move |l| {
                vec![
                    r.experiment.clone(),
                    r.metric.clone(),
                    r.arm.clone(),
                    r.dimension.clone(),
                    l.level.clone(),
                    l.pooled_from.join(";"),
                    num(l.n[0]),
                    num(l.n[1]),
                    num(l.effect),
                    num(l.se),
                ]
            })
        }),
    )?;
    Ok(())
}
