//! The regression forest job: out-of-bag estimates near the true `E[Y | X]`, and a model that
//! saves, loads and predicts bit-identically.

use cateye::demo::{nie_wager, trial_table, Setup};
use cateye::model::Model;
use cateye::regression::{fit_regression_forest, ForestOptions, RegressionSpec};
use cateye::Source;

/// `E[Y | X]` of Nie & Wager's setup A: `b(x) + (e(x) − 0.5) τ(x)`.
fn conditional_mean(x: &[Vec<f64>], e: &[f64], tau: &[f64], i: usize) -> f64 {
    let s = (std::f64::consts::PI * x[0][i] * x[1][i]).sin();
    let b = s + 2.0 * (x[2][i] - 0.5).powi(2) + x[3][i] + 0.5 * x[4][i];
    b + (e[i] - 0.5) * tau[i]
}

#[test]
fn out_of_bag_estimates_recover_the_conditional_mean_and_the_model_predicts() {
    let n = 3000;
    let sim = nie_wager(Setup::A, n, 6, 0.5, 11);
    let source = Source::from_batches(vec![trial_table(&sim)]).unwrap();
    let mut spec = RegressionSpec::new("y");
    spec.covariates = Some((1..=6).map(|j| format!("x{j}")).collect());
    spec.options = ForestOptions::default().with(|o| o.num_trees = 300);
    let run = fit_regression_forest(&source, &spec, &cateye::silent).unwrap();
    let truth: Vec<f64> = (0..n).map(|i| conditional_mean(&sim.x, &sim.e, &sim.tau, i)).collect();
    let rmse = |p: &[f64]| (p.iter().zip(&truth).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n as f64).sqrt();
    let mean = truth.iter().sum::<f64>() / n as f64;
    let spread = rmse(&vec![mean; n]);
    // The conditional mean's SD is about 0.5; the forest recovers most of it through noise of SD 0.5.
    assert!(rmse(&run.oob) < 0.4 * spread, "OOB RMSE {} against the mean's SD {spread}", rmse(&run.oob));
    assert!(run.summary.oob_mse > 0.2 && run.summary.oob_mse < 0.4, "{}", run.summary.oob_mse);
    let top = run.summary.variable_importance.iter().max_by(|a, b| a.importance.total_cmp(&b.importance)).unwrap();
    assert!(["x1", "x2", "x4"].contains(&top.covariate.as_str()), "{top:?}");

    let model = Model::RegressionForest(run.model);
    let predicted = model.predict(&source).unwrap();
    let prediction = predicted.column("prediction").unwrap();
    assert!(rmse(prediction) < 0.4 * spread);
    let loaded = Model::from_bytes(&model.to_bytes().unwrap(), "in memory").unwrap();
    assert_eq!(loaded.kind(), "regression forest");
    assert_eq!(loaded.predict(&source).unwrap(), predicted);
}
