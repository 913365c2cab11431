//! Shared helpers of the forest integration tests.
#![allow(dead_code)]

use cateye_forest::{fit_causal_forest, CausalForestFit, CausalInput, ForestData, ForestOptions, Propensity};
use cateye_hte::{average_treatment_effect, TargetSample};
use cateye_sim::Simulated;
use cateye_stats::Z_975;
#[allow(unused_imports)]
pub use cateye_testkit::{nie_wager_fixture as load, NieWagerFixture as Fixture};

/// The simulated covariates binned for a forest.
pub fn data_of(sim: &Simulated) -> ForestData {
    ForestData::new(&sim.columns(), &sim.names(), 256).unwrap()
}

/// Outcome `y` and treatment `w` of `sim` as causal forest input with the given propensity.
pub fn input_of<'a>(sim: &'a Simulated, propensity: Propensity<'a>) -> CausalInput<'a> {
    CausalInput { y: &sim.y, w: &sim.w, outcome: "y", treatment: "w", propensity, y_hat: None }
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
    let z = Z_975;
    let covered = (0..tau.len()).filter(|&i| (fit.oob.tau[i] - tau[i]).abs() <= z * fit.oob.variance[i].sqrt()).count()
        as f64
        / n;
    let mean_se = fit.oob.variance.iter().map(|v| v.sqrt()).sum::<f64>() / n;
    (rmse, covered, mean_se)
}

pub fn ate(fit: &CausalForestFit) -> (f64, f64) {
    let a = average_treatment_effect(&fit.effects(), TargetSample::All).unwrap();
    (a.estimate, a.se)
}
