//! Agreement with grf 2.6.1 on the Nie & Wager fixtures (../shared/fixtures/nw_{a,b}_n4000_p6):
//! 2,000 trees, figures averaged over three seeds, compared with what grf gave (`*.grf.json`).
//! Skips with a message when the fixtures are absent.

mod common;

use cateye_forest::variable_importance;
use cateye_forest::{CausalForestFit, ForestOptions};
use cateye_hte::{best_linear_projection, rank_average_treatment_effect, test_calibration, RateOptions};
use common::*;

const SEEDS: [u64; 3] = [1, 2, 3];

/// Figures of one fit, in the fixture's vocabulary.
struct Figures {
    rmse: f64,
    coverage: f64,
    ate: f64,
    calib_mean: f64,
    calib_diff: f64,
    autoc: f64,
    blp: [f64; 2],
    importance: Vec<f64>,
}

fn figures(fx: &Fixture, fit: &CausalForestFit) -> Figures {
    let (rmse, coverage, _) = accuracy(fit, &fx.tau);
    let calibration = test_calibration(&fit.effects()).unwrap();
    let rate = rank_average_treatment_effect(&fit.effects(), &fit.oob.tau, &RateOptions::default()).unwrap();
    let blp = best_linear_projection(&fit.effects(), &[("x1", &fx.x[0]), ("x2", &fx.x[1])]).unwrap();
    Figures {
        rmse,
        coverage,
        ate: ate(fit).0,
        calib_mean: calibration.mean_forest_prediction.estimate,
        calib_diff: calibration.differential_forest_prediction.estimate,
        autoc: rate.autoc.estimate,
        blp: [blp[1].estimate, blp[2].estimate],
        importance: variable_importance(fit.forest.trees(), fx.x.len(), 2.0, 4),
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

fn top_two(importance: &[f64]) -> [usize; 2] {
    let mut order: Vec<usize> = (0..importance.len()).collect();
    order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]));
    let mut top = [order[0], order[1]];
    top.sort_unstable();
    top
}

fn check_against_grf(name: &str) {
    let Some(fx) = load(name) else { return };
    let g = |key: &str| fx.grf[key].as_f64().unwrap();
    let runs: Vec<Figures> = SEEDS
        .iter()
        .map(|&seed| {
            let fit = fit(&fx.x, &fx.names, &fx.y, &fx.w, &ForestOptions::default().with(|c| c.seed = seed), 256);
            figures(&fx, &fit)
        })
        .collect();
    let avg = |f: fn(&Figures) -> f64| mean(runs.iter().map(f));
    let (rmse, coverage, ate) = (avg(|f| f.rmse), avg(|f| f.coverage), avg(|f| f.ate));
    let (calib_mean, calib_diff, autoc) = (avg(|f| f.calib_mean), avg(|f| f.calib_diff), avg(|f| f.autoc));
    let blp = [avg(|f| f.blp[0]), avg(|f| f.blp[1])];
    let importance: Vec<f64> = (0..fx.x.len()).map(|j| mean(runs.iter().map(|f| f.importance[j]))).collect();
    println!(
        "{name}: RMSE {rmse:.4} (grf {}), coverage {coverage:.4} (grf {}), ATE {ate:.4} (grf {} ± {}), \
         calibration {calib_mean:.3} / {calib_diff:.3} (grf {} / {}), AUTOC {autoc:.4} (grf {}), \
         BLP {:.3} / {:.3} (grf {} / {}), importance {importance:.3?}",
        g("rmse_oob"),
        g("coverage95"),
        g("ate"),
        g("ate_se"),
        g("calib_mean"),
        g("calib_diff"),
        g("autoc"),
        blp[0],
        blp[1],
        g("blp_x1"),
        g("blp_x2"),
    );
    assert!(rmse <= 1.1 * g("rmse_oob"), "RMSE {rmse} vs grf {}", g("rmse_oob"));
    assert!(coverage >= g("coverage95") - 0.03, "coverage {coverage} vs grf {}", g("coverage95"));
    let within = |ours: f64, key: &str| (ours - g(key)).abs() <= 2.0 * g(&format!("{key}_se"));
    assert!(within(ate, "ate"), "ATE {ate} vs grf {} ± {}", g("ate"), g("ate_se"));
    assert!(within(calib_mean, "calib_mean"), "calibration mean {calib_mean}");
    assert!(within(calib_diff, "calib_diff"), "calibration differential {calib_diff}");
    assert!(within(autoc, "autoc"), "AUTOC {autoc}");
    assert!(within(blp[0], "blp_x1") && within(blp[1], "blp_x2"), "BLP {blp:?}");
    let grf_importance: Vec<f64> = fx.grf["varimp"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(top_two(&importance), top_two(&grf_importance), "importance {importance:?} vs grf {grf_importance:?}");
}

#[test]
fn setup_a_matches_grf() {
    check_against_grf("nw_a_n4000_p6");
}

#[test]
fn setup_b_matches_grf() {
    check_against_grf("nw_b_n4000_p6");
}

/// 256 quantile bins against exact splits (one bin per distinct value: 4,000 per covariate).
#[test]
fn binning_costs_no_accuracy() {
    for name in ["nw_a_n4000_p6", "nw_b_n4000_p6"] {
        let Some(fx) = load(name) else { return };
        let rmse = |bins: usize| {
            mean(SEEDS.iter().map(|&seed| {
                let options = ForestOptions::default().with(|c| c.seed = seed);
                accuracy(&fit(&fx.x, &fx.names, &fx.y, &fx.w, &options, bins), &fx.tau).0
            }))
        };
        let (binned, exact) = (rmse(256), rmse(65_535));
        println!("{name}: OOB RMSE with 256 bins {binned:.4}, with exact splits {exact:.4}");
        assert!(binned <= exact * 1.03, "binning costs accuracy: {binned} vs exact {exact}");
    }
}
