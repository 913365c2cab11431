//! Simulation tests of the causal forest's inference (run in release mode: `cargo test --release`).
//! Randomized trials with known propensity 0.5, X ~ U[0,1]^5, y = x2 + x3 + (w − 0.5) τ(x) + N(0, 1).

use cateye_forest::analysis::{average_treatment_effect, test_calibration, TargetSample};
use cateye_forest::simulate::randomized_trial;
use cateye_forest::{fit_causal_forest, CausalForestFit, CausalInput, ForestData, ForestOptions, Propensity};
use rayon::prelude::*;

fn fit_trial(n: usize, ate: f64, slope: f64, seed: u64, trees: usize) -> CausalForestFit {
    let sim = randomized_trial(n, 5, ate, slope, 1.0, seed);
    let data = ForestData::new(&sim.columns(), &sim.names(), 256).unwrap();
    let input = CausalInput {
        y: &sim.y,
        w: &sim.w,
        outcome: "y",
        treatment: "w",
        propensity: Propensity::Known(0.5),
        y_hat: None,
    };
    let options = ForestOptions { num_trees: trees, seed, ..ForestOptions::default() };
    fit_causal_forest(&data, input, &options).unwrap()
}

/// Share of `reps` replications for which `event` holds.
fn rate(reps: u64, event: impl Fn(u64) -> bool + Sync) -> f64 {
    (0..reps).into_par_iter().filter(|&r| event(r)).count() as f64 / reps as f64
}

#[test]
fn aipw_ate_interval_covers_the_true_ate() {
    // τ = 1 + (x1 − 0.5): population ATE 1. 1,000 replications: Monte Carlo SD of the coverage 0.007.
    let coverage = rate(1000, |r| {
        let fit = fit_trial(600, 1.0, 1.0, 10_000 + r, 100);
        let a = average_treatment_effect(&fit, TargetSample::All).unwrap();
        a.ci_lower <= 1.0 && 1.0 <= a.ci_upper
    });
    println!("AIPW ATE 95% CI coverage over 1000 replications: {coverage:.3}");
    assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
}

#[test]
fn calibration_test_keeps_its_size_under_a_constant_effect() {
    let rejections = rate(500, |r| {
        let fit = fit_trial(600, 1.0, 0.0, 20_000 + r, 200);
        test_calibration(&fit).unwrap().differential_forest_prediction.p_value_greater < 0.05
    });
    println!("calibration test size at 0.05 over 500 replications (constant effect): {rejections:.3}");
    assert!(rejections <= 0.07, "rejection rate {rejections}");
}

#[test]
fn calibration_test_detects_a_strong_heterogeneous_effect() {
    // τ = 1 + 2 (x1 − 0.5): effect SD 0.58, half the noise SD, at n = 600.
    let power = rate(300, |r| {
        let fit = fit_trial(600, 1.0, 2.0, 30_000 + r, 200);
        test_calibration(&fit).unwrap().differential_forest_prediction.p_value_greater < 0.05
    });
    println!("calibration test power at 0.05 over 300 replications (strong heterogeneity): {power:.3}");
    assert!(power >= 0.9, "power {power}");
}
