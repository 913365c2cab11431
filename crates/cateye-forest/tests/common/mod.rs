//! Shared helpers of the forest integration tests.
#![allow(dead_code)]

use cateye_forest::analysis::{average_treatment_effect, TargetSample};
use cateye_forest::{fit_causal_forest, CausalForestFit, CausalInput, ForestData, ForestOptions, Propensity};
use std::path::PathBuf;

/// A Nie & Wager fixture: covariates, w, y, tau, e.
pub struct Fixture {
    pub x: Vec<Vec<f64>>,
    pub names: Vec<String>,
    pub w: Vec<f64>,
    pub y: Vec<f64>,
    pub tau: Vec<f64>,
    pub e: Vec<f64>,
    pub grf: serde_json::Value,
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

/// Loads `name` (.csv and .grf.json) or returns None with a message when the fixtures are absent.
pub fn load(name: &str) -> Option<Fixture> {
    let csv = fixtures_dir().join(format!("{name}.csv"));
    let Ok(text) = std::fs::read_to_string(&csv) else {
        eprintln!("skipping: fixture {} not found", csv.display());
        return None;
    };
    let grf = std::fs::read_to_string(fixtures_dir().join(format!("{name}.grf.json"))).expect("grf.json beside csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    let mut columns = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.is_empty()) {
        for (c, v) in columns.iter_mut().zip(line.split(',')) {
            c.push(v.parse::<f64>().unwrap());
        }
    }
    let col = |name: &str| columns[header.iter().position(|h| h == name).unwrap()].clone();
    let names: Vec<String> = header.iter().filter(|h| h.starts_with('x')).cloned().collect();
    Some(Fixture {
        x: names.iter().map(|n| col(n)).collect(),
        names,
        w: col("w"),
        y: col("y"),
        tau: col("tau"),
        e: col("e"),
        grf: serde_json::from_str(&grf).unwrap(),
    })
}

pub fn fit(
    x: &[Vec<f64>],
    names: &[String],
    y: &[f64],
    w: &[f64],
    options: &ForestOptions,
    max_bins: usize,
) -> CausalForestFit {
    let columns: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
    let data = ForestData::new(&columns, names, max_bins).unwrap();
    let input = CausalInput { y, w, outcome: "y", treatment: "w", propensity: Propensity::Estimate, y_hat: None };
    fit_causal_forest(&data, input, options).unwrap()
}

/// RMSE of the OOB estimates against the truth, and the 95% CI coverage.
pub fn accuracy(fit: &CausalForestFit, tau: &[f64]) -> (f64, f64, f64) {
    let n = tau.len() as f64;
    let rmse = (fit.oob.tau.iter().zip(tau).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n).sqrt();
    let z = 1.959_963_984_540_054;
    let covered = (0..tau.len()).filter(|&i| (fit.oob.tau[i] - tau[i]).abs() <= z * fit.oob.variance[i].sqrt()).count()
        as f64
        / n;
    let mean_se = fit.oob.variance.iter().map(|v| v.sqrt()).sum::<f64>() / n;
    (rmse, covered, mean_se)
}

pub fn ate(fit: &CausalForestFit) -> (f64, f64) {
    let a = average_treatment_effect(fit, TargetSample::All).unwrap();
    (a.estimate, a.se)
}
