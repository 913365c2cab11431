//! Simulation tests of the causal forest's inference (run in release mode: `cargo test --release`).
//! Randomized trials with known propensity 0.5, X ~ U[0,1]^5, y = x2 + x3 + (w − 0.5) τ(x) + N(0, 1).

mod common;

use cateye_forest::{fit_causal_forest, CausalForestFit, CausalInput, ForestData, ForestOptions, Propensity};
use cateye_hte::{average_treatment_effect, test_calibration, TargetSample};
use cateye_sim::randomized_trial;
use rayon::prelude::*;

fn fit_trial(n: usize, ate: f64, slope: f64, seed: u64, trees: usize) -> CausalForestFit {
    let sim = randomized_trial(n, 5, ate, slope, 1.0, seed);
    let data = common::data_of(&sim);
    let input = common::input_of(&sim, Propensity::Known(0.5));
    let options = ForestOptions::default().with(|c| {
        c.num_trees = trees;
        c.seed = seed;
    });
    fit_causal_forest(&data, input, &options).unwrap()
}

/// Share of `reps` replications for which `event` holds.
fn rate(reps: u64, event: impl Fn(u64) -> bool + Sync) -> f64 {
    (0..reps).into_par_iter().filter(|&r| event(r)).count() as f64 / reps as f64
}

#[test]
fn aipw_ate_interval_covers_the_true_ate() {
    // τ = 1 + (x1 − 0.5) with X independent of W: the average effect on all, the treated, the
    // controls and the overlap-weighted population is 1. 1,000 replications: Monte Carlo SD of
    // a coverage near 0.95 is 0.007.
    let reps = 1000;
    let covered: Vec<[bool; 4]> = (0..reps)
        .into_par_iter()
        .map(|r| {
            let fit = fit_trial(600, 1.0, 1.0, 10_000 + r, 100);
            TargetSample::ALL.map(|t| {
                let a = average_treatment_effect(&fit.effects(), t).unwrap();
                a.ci_lower <= 1.0 && 1.0 <= a.ci_upper
            })
        })
        .collect();
    for (k, target) in TargetSample::ALL.iter().enumerate() {
        let coverage = covered.iter().filter(|c| c[k]).count() as f64 / reps as f64;
        println!("AIPW {target:?} 95% CI coverage over {reps} replications: {coverage:.3}");
        assert!((0.93..=0.97).contains(&coverage), "{target:?} coverage {coverage}");
    }
}

#[test]
fn calibration_test_keeps_its_size_under_a_constant_effect() {
    let rejections = rate(500, |r| {
        let fit = fit_trial(600, 1.0, 0.0, 20_000 + r, 200);
        test_calibration(&fit.effects()).unwrap().differential_forest_prediction.p_value_greater < 0.05
    });
    println!("calibration test size at 0.05 over 500 replications (constant effect): {rejections:.3}");
    assert!(rejections <= 0.07, "rejection rate {rejections}");
}

#[test]
fn calibration_test_detects_a_strong_heterogeneous_effect() {
    // τ = 1 + 2 (x1 − 0.5): effect SD 0.58, half the noise SD, at n = 600.
    let power = rate(300, |r| {
        let fit = fit_trial(600, 1.0, 2.0, 30_000 + r, 200);
        test_calibration(&fit.effects()).unwrap().differential_forest_prediction.p_value_greater < 0.05
    });
    println!("calibration test power at 0.05 over 300 replications (strong heterogeneity): {power:.3}");
    assert!(power >= 0.9, "power {power}");
}

/// Cluster-randomized trial: 60 clusters of 10 units, treatment and a random effect per cluster.
fn clustered_trial(seed: u64) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, Vec<u64>) {
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (clusters, size) = (60, 10);
    let mut x = vec![Vec::new(); 3];
    let (mut w, mut y, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..clusters {
        let treated = (c % 2) as f64;
        let shock: f64 = rng.sample::<f64, _>(StandardNormal);
        for _ in 0..size {
            let row: Vec<f64> = (0..3).map(|_| rng.random::<f64>()).collect();
            for (column, v) in x.iter_mut().zip(&row) {
                column.push(*v);
            }
            let noise: f64 = rng.sample(StandardNormal);
            w.push(treated);
            y.push(row[1] + treated * (1.0 + (row[0] - 0.5)) + shock + noise);
            ids.push(c as u64);
        }
    }
    (x, w, y, ids)
}

#[test]
fn cluster_robust_ate_covers_under_cluster_randomization() {
    // ICC 0.5 with whole clusters treated: unit-level SEs are far too small; cluster sampling
    // and cluster-robust scores restore the coverage.
    let cover = |clustered: bool| {
        rate(300, |r| {
            let (x, w, y, ids) = clustered_trial(40_000 + r);
            let columns: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
            let names = vec!["x1".to_string(), "x2".to_string(), "x3".to_string()];
            let mut data = ForestData::new(&columns, &names, 256).unwrap();
            if clustered {
                data = data.with_clusters(&ids, "cluster").unwrap();
            }
            let input = CausalInput {
                y: &y,
                w: &w,
                outcome: "y",
                treatment: "w",
                propensity: Propensity::Known(0.5),
                y_hat: None,
            };
            let options = ForestOptions::default().with(|c| {
                c.num_trees = 100;
                c.seed = r;
            });
            let fit = fit_causal_forest(&data, input, &options).unwrap();
            let a = average_treatment_effect(&fit.effects(), TargetSample::All).unwrap();
            a.ci_lower <= 1.0 && 1.0 <= a.ci_upper
        })
    };
    let (naive, robust) = (cover(false), cover(true));
    println!(
        "ATE 95% CI coverage under cluster randomization: clusters ignored {naive:.3}, cluster-robust {robust:.3}"
    );
    assert!(naive < 0.8, "ignoring clusters should undercover: {naive}");
    assert!((0.92..=0.98).contains(&robust), "cluster-robust coverage {robust}");
}

#[test]
fn uniform_sample_weights_change_nothing() {
    let sim = randomized_trial(800, 4, 1.0, 2.0, 1.0, 77);
    let data = common::data_of(&sim);
    // Weight 2 scales every weighted sum exactly, so every split decision is the same.
    let weighted = data.clone().with_weights(vec![2.0; 800], "w2").unwrap();
    let input = common::input_of(&sim, Propensity::Known(0.5));
    let options = ForestOptions::default().with(|c| {
        c.num_trees = 100;
        c.seed = 5;
    });
    let plain = fit_causal_forest(&data, input, &options).unwrap();
    let scaled = fit_causal_forest(&weighted, input, &options).unwrap();
    for (a, b) in plain.oob.tau.iter().zip(&scaled.oob.tau) {
        assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{a} vs {b}");
    }
    let (a, b) = (
        average_treatment_effect(&plain.effects(), TargetSample::All).unwrap(),
        average_treatment_effect(&scaled.effects(), TargetSample::All).unwrap(),
    );
    assert!((a.estimate - b.estimate).abs() < 1e-9 && (a.se - b.se).abs() < 1e-9);
}
