//! Agreement with grf 2.6.1 on the Nie & Wager fixtures (../shared/fixtures/nw_*_n4000_p6):
//! 2,000 trees, averaged over seeds. Skips with a message when the fixtures are absent.

mod common;

use cateye_forest::analysis::{
    best_linear_projection, rank_average_treatment_effect, test_calibration, variable_importance, RateOptions,
};
use cateye_forest::ForestOptions;
use common::*;

const SEEDS: [u64; 3] = [1, 2, 3];

fn report(name: &str) {
    let Some(fx) = load(name) else { return };
    let g = &fx.grf;
    for seed in SEEDS {
        let options = ForestOptions { seed, ..ForestOptions::default() };
        let t = std::time::Instant::now();
        let f = fit(&fx.x, &fx.names, &fx.y, &fx.w, &options, 256);
        let secs = t.elapsed().as_secs_f64();
        let (rmse, cov, se) = accuracy(&f, &fx.tau);
        let (a, ase) = ate(&f);
        let cal = test_calibration(&f).unwrap();
        let imp = variable_importance(f.forest.trees(), 6, 2.0, 4);
        let rate = rank_average_treatment_effect(&f, &f.oob.tau, &RateOptions::default()).unwrap();
        let blp = best_linear_projection(&f, &[("x1", &fx.x[0]), ("x2", &fx.x[1])]).unwrap();
        println!("{name} seed {seed}: {secs:.2}s rmse {rmse:.4} (grf {}) cov {cov:.4} (grf {}) se {se:.4} (grf {}) ate {a:.4}±{ase:.4} (grf {}±{}) calib {:.3}±{:.3} {:.3}±{:.3} (grf {} {}) autoc {:.4}±{:.4} (grf {}) blp {:.3} {:.3} (grf {} {}) imp {:?}",
            g["rmse_oob"], g["coverage95"], g["mean_se"], g["ate"], g["ate_se"],
            cal.mean_forest_prediction.estimate, cal.mean_forest_prediction.se, cal.differential_forest_prediction.estimate, cal.differential_forest_prediction.se,
            g["calib_mean"], g["calib_diff"], rate.autoc.estimate, rate.autoc.se, g["autoc"], blp[1].estimate, blp[2].estimate, g["blp_x1"], g["blp_x2"],
            imp.iter().map(|v| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>());
    }
}

#[test]
fn setup_a() {
    report("nw_a_n4000_p6");
}

#[test]
fn setup_b() {
    report("nw_b_n4000_p6");
}
