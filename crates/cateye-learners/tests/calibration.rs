//! Causal isotonic cross-calibration on simulated data with known effects (n = 2,000, 10
//! replications, release mode): it repairs a mis-scaled predictor (asserted in setups A and B)
//! and costs a well-calibrated one at most 10% where the predictor's own error dominates
//! (asserted in setup B; see the comment on setup A).

use cateye_learners::cross_calibrate;
use cateye_learners::{estimate_cate, pehe, CateConfig, Learner, Propensity};
use cateye_sim::{nie_wager, Setup};

/// Doubly robust scores of every row from cross-fitted forest nuisances (T-learner run).
fn scores(setup: Setup, seed: u64) -> (cateye_sim::Simulated, Vec<f64>) {
    let sim = nie_wager(setup, 2000, 6, 1.0, seed);
    let config = CateConfig::default().with(|c| {
        c.method = Learner::T;
        c.trees = 300;
        c.seed = seed;
    });
    let report =
        estimate_cate(sim.x.clone(), &sim.names(), &sim.y, &sim.w, "y", "w", Propensity::Estimate, &config).unwrap();
    let scores = report.arms[0].dr_scores.clone();
    (sim, scores)
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "fits forests: run with --release")]
fn cross_calibration_repairs_mis_scaled_and_keeps_calibrated_predictors() {
    let reps = 10;
    let rows: Vec<usize> = (0..2000).collect();
    let mut results = Vec::new();
    for setup in [Setup::A, Setup::B] {
        let (mut mis_before, mut mis_after, mut good_before, mut good_after) = (0.0, 0.0, 0.0, 0.0);
        for r in 0..reps {
            let (sim, scores) = scores(setup, 500 + r);
            let mis_scaled: Vec<f64> = sim.tau.iter().map(|t| 2.0 * t + 0.5).collect();
            let (_, calibrated) = cross_calibrate(&mis_scaled, &scores, &rows).unwrap();
            mis_before += pehe(&mis_scaled, &sim.tau) / reps as f64;
            mis_after += pehe(&calibrated, &sim.tau) / reps as f64;
            // A well-calibrated but imperfect predictor: E[τ | x1] (E[τ | τ̂] = τ̂ exactly).
            // A: τ = (x1 + x2)/2 with x2 ~ U[0, 1]; B: τ = x1 + softplus(x2) with x2 ~ N(0, 1).
            let good: Vec<f64> = match setup {
                Setup::A => sim.x[0].iter().map(|x1| x1 / 2.0 + 0.25).collect(),
                _ => {
                    let mean_softplus = sim.x[1].iter().map(|&x| softplus(x)).sum::<f64>() / 2000.0;
                    sim.x[0].iter().map(|x1| x1 + mean_softplus).collect()
                }
            };
            let (_, calibrated) = cross_calibrate(&good, &scores, &rows).unwrap();
            good_before += pehe(&good, &sim.tau) / reps as f64;
            good_after += pehe(&calibrated, &sim.tau) / reps as f64;
        }
        eprintln!(
            "{setup:?}: 2τ + 0.5: PEHE {mis_before:.3} → {mis_after:.3}; E[τ | x1]: {good_before:.3} → {good_after:.3} ({:+.1}%)",
            100.0 * (good_after / good_before - 1.0)
        );
        results.push((setup, mis_before, mis_after, good_before, good_after));
    }
    for (setup, mis_before, mis_after, good_before, good_after) in results {
        assert!(mis_after <= 0.5 * mis_before, "{setup:?}: calibration halves the PEHE of 2τ + 0.5");
        // The bound (+10%) holds where the predictor's error dominates the calibration's
        // own: in setup B (randomised; E[τ | x1] has PEHE 0.52) it costs 8.7%. In setup A the
        // same predictor has PEHE 0.145 and calibrating on 2,000 doubly robust scores (weights
        // up to 1/0.1) adds an error of about 0.16 of its own: +50%, printed, not asserted.
        if setup == Setup::B {
            assert!(good_after <= 1.1 * good_before, "{setup:?}: a calibrated predictor loses at most 10%");
        }
    }
}
