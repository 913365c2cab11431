//! Causal isotonic calibration on a hold-out half (release mode: forests are fitted): it repairs
//! a mis-scaled predictor. (Issue 5 also wants a well-calibrated predictor to lose at most 10%;
//! plain isotonic calibration on 2,000 hold-out scores does not do that yet — the forest's own
//! estimates go from PEHE 0.128 to 0.186 in setup A — so that figure is printed, not asserted,
//! until cross-calibration lands.)

mod common;

use cateye_forest::{fit_causal_forest, ForestOptions, Propensity};
use cateye_hte::causal_isotonic_calibration;
use cateye_hte::doubly_robust_scores;
use cateye_sim::{nie_wager, Setup};

fn pehe(predicted: &[f64], truth: &[f64]) -> f64 {
    (predicted.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum::<f64>() / truth.len() as f64).sqrt()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "fits forests: run with --release")]
fn calibration_repairs_a_mis_scaled_predictor() {
    for (setup, seed) in [(Setup::A, 1), (Setup::B, 2)] {
        let sim = nie_wager(setup, 4000, 6, 1.0, seed);
        let data = common::data_of(&sim);
        let options = ForestOptions::default().with(|c| {
            c.num_trees = 500;
            c.seed = seed;
        });
        let fit = fit_causal_forest(&data, common::input_of(&sim, Propensity::Estimate), &options).unwrap();
        let scores = doubly_robust_scores(&fit.effects()).unwrap().scores;
        // Calibrate on the even rows, evaluate on the odd ones.
        let half = |v: &[f64], parity: usize| -> Vec<f64> { v.iter().skip(parity).step_by(2).copied().collect() };
        let check = |predictor: &[f64]| {
            let calibration = causal_isotonic_calibration(&half(predictor, 0), &half(&scores, 0), 1).unwrap();
            let calibrated: Vec<f64> = half(predictor, 1).iter().map(|&p| calibration.predict(p)).collect();
            let truth = half(&sim.tau, 1);
            (pehe(&half(predictor, 1), &truth), pehe(&calibrated, &truth))
        };
        let mis_scaled: Vec<f64> = sim.tau.iter().map(|t| 2.0 * t + 0.5).collect();
        let (before, after) = check(&mis_scaled);
        eprintln!("{setup:?}: PEHE of 2τ + 0.5: {before:.3} → {after:.3} calibrated");
        assert!(after <= 0.5 * before, "{setup:?}: calibration halves the PEHE of 2τ + 0.5 ({before} → {after})");
        let (before, after) = check(&fit.oob.tau);
        eprintln!("{setup:?}: PEHE of the forest's estimates: {before:.3} → {after:.3} calibrated (not asserted yet)");
    }
}
