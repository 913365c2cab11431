//! Size and power of the Ding–Feller–Miratrix randomization test of effect variation, and a
//! timing of the 100k-unit case (`cargo test -p cateye-stats --release -- --ignored bench`).

use cateye_stats::{randomization_test, RandomizationOptions};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::time::Instant;

/// `y = beta x + ε + W τ_i`, `τ_i = 1 + sd_tau N(0, 1)`, half of `n` units treated.
fn simulate(n: usize, sd_tau: f64, beta: f64, seed: u64) -> (Vec<f64>, Vec<bool>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut treated: Vec<bool> = (0..n).map(|i| i < n / 2).collect();
    treated.shuffle(&mut rng);
    let mut normal = || rng.sample::<f64, _>(StandardNormal);
    let x: Vec<f64> = (0..n).map(|_| normal()).collect();
    let y = (0..n)
        .map(|i| {
            let tau = 1.0 + sd_tau * normal();
            beta * x[i] + normal() + if treated[i] { tau } else { 0.0 }
        })
        .collect();
    (y, treated, x)
}

/// Share of `reps` simulated experiments rejected at 0.05.
fn rejection_rate(reps: u64, sd_tau: f64, beta: f64, adjust: bool, permutations: usize) -> f64 {
    let start = Instant::now();
    let rejected = (0..reps)
        .filter(|&rep| {
            let (y, w, x) = simulate(4000, sd_tau, beta, 1000 + rep);
            let options = RandomizationOptions::default().with(|c| {
                c.permutations = permutations;
                c.grid = 11;
                c.seed = rep;
            });
            let covariates: Vec<&[f64]> = if adjust { vec![&x] } else { vec![] };
            randomization_test(&y, &w, &covariates, &options).unwrap().p_value <= 0.05
        })
        .count();
    let rate = rejected as f64 / reps as f64;
    eprintln!(
        "sd_tau = {sd_tau}, beta_x = {beta}, adjusted = {adjust}: rejection rate {rate:.4} \
         ({reps} replications, B = {permutations}, G = 11, {:.1} s)",
        start.elapsed().as_secs_f64()
    );
    rate
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical simulation: run with --release")]
fn size_under_constant_effect() {
    // The γ-corrected test is conservative by construction: expect well below 0.05.
    assert!(rejection_rate(400, 0.0, 0.0, false, 200) <= 0.06);
    assert!(rejection_rate(300, 0.0, 2.0, true, 200) <= 0.06);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical simulation: run with --release")]
fn power_against_effect_variation() {
    assert!(rejection_rate(300, 0.5, 0.0, false, 1000) >= 0.8);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical simulation: run with --release")]
fn covariate_adjustment_restores_power() {
    assert!(rejection_rate(300, 0.5, 2.0, true, 1000) >= 0.8);
    // The covariate's variance (4) dilutes the effect variation without adjustment.
    assert!(rejection_rate(100, 0.5, 2.0, false, 1000) < 0.5);
}

#[test]
#[ignore = "timing: n = 100,000, B = 1,000, G = 21"]
fn bench_randomization_100k() {
    let (y, w, x) = simulate(100_000, 0.0, 1.0, 9);
    for covariates in [vec![], vec![x.as_slice()]] {
        let start = Instant::now();
        let result = randomization_test(&y, &w, &covariates, &RandomizationOptions::default()).unwrap();
        eprintln!(
            "n = 100,000, B = 1,000, G = 21, {} covariates: {:.3} s (p = {:.4}, statistic = {:.5})",
            covariates.len(),
            start.elapsed().as_secs_f64(),
            result.p_value,
            result.statistic
        );
    }
}
