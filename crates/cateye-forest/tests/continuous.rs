//! A causal forest on one continuous treatment (grf's `causal_forest` with a numeric W): the
//! forest estimates the partial effect τ(x) = ∂E[Y | X = x, W = w]/∂w of a model linear in w,
//! with intervals; the AIPW tools, which need two potential outcomes, refuse it by name.

mod common;

use cateye_forest::{fit_causal_forest, CausalInput, ForestData, ForestOptions, Propensity};
use cateye_hte::{average_treatment_effect, best_linear_projection, TargetSample};
use cateye_stats::{stream, Z_975};
use rand::RngExt;
use rand_distr::StandardNormal;

#[test]
fn a_continuous_treatment_gets_partial_effects_with_intervals_and_aipw_refuses_it() {
    // x ~ U[0, 1]^4; the dose depends on x2 (confounding): w = x2 + N(0, 1); the outcome is
    // y = 2 x2 + x3 + (1 + x1) w + N(0, 1): the partial effect is τ(x) = 1 + x1.
    let (n, reps) = (4000, 3);
    let (mut covered, mut total, mut squared) = (0usize, 0usize, 0.0);
    for rep in 0..reps {
        let mut rng = stream(21, rep, 0);
        let x: Vec<Vec<f64>> = (0..4).map(|_| (0..n).map(|_| rng.random::<f64>()).collect()).collect();
        let w: Vec<f64> = (0..n).map(|i| x[1][i] + rng.sample::<f64, _>(StandardNormal)).collect();
        let tau: Vec<f64> = (0..n).map(|i| 1.0 + x[0][i]).collect();
        let y: Vec<f64> =
            (0..n).map(|i| 2.0 * x[1][i] + x[2][i] + tau[i] * w[i] + rng.sample::<f64, _>(StandardNormal)).collect();
        let columns: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
        let names: Vec<String> = (1..=4).map(|j| format!("x{j}")).collect();
        let data = ForestData::new(&columns, &names, 256).unwrap();
        let input = CausalInput {
            y: &y,
            w: &w,
            outcome: "y",
            treatment: "dose",
            propensity: Propensity::Estimate,
            y_hat: None,
        };
        let mut options = ForestOptions::default();
        options.num_trees = 1000;
        options.seed = rep;
        let fit = fit_causal_forest(&data, input, &options).unwrap();
        for ((&estimate, &variance), &truth) in fit.oob.tau.iter().zip(&fit.oob.variance).zip(&tau) {
            total += 1;
            covered += usize::from((estimate - truth).abs() <= Z_975 * variance.sqrt());
            squared += (estimate - truth).powi(2);
        }
        let effects = fit.effects();
        let refused = average_treatment_effect(&effects, TargetSample::All).unwrap_err().to_string();
        assert!(refused.contains("binary (0/1) treatment") && refused.contains("AIPW"), "{refused}");
        let named = [("x1", x[0].as_slice())];
        assert!(best_linear_projection(&effects, &named).unwrap_err().to_string().contains("binary (0/1) treatment"));
    }
    let (coverage, rmse) = (covered as f64 / total as f64, (squared / total as f64).sqrt());
    eprintln!("continuous treatment: RMSE of the partial effect {rmse:.4} (SD of τ 0.289), 95% coverage {coverage:.3}");
    assert!(rmse < 0.15, "RMSE {rmse}");
    assert!((0.88..=0.99).contains(&coverage), "coverage {coverage}");
}
