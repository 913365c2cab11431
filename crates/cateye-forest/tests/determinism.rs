//! The same seed gives bit-identical estimates whatever the number of threads.

mod common;

use cateye_forest::{fit_causal_forest, ForestOptions, Propensity};
use cateye_sim::{nie_wager, Setup};

fn fit_with_threads(threads: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let sim = nie_wager(Setup::A, 1500, 6, 1.0, 5);
        let data = common::data_of(&sim);
        let input = common::input_of(&sim, Propensity::Estimate);
        let fit = fit_causal_forest(
            &data,
            input,
            &ForestOptions::default().with(|c| {
                c.num_trees = 300;
                c.seed = seed;
            }),
        )
        .unwrap();
        let new_rows = data.bin_new_rows(&sim.columns()).unwrap();
        let predicted = fit.forest.predict(&new_rows, sim.x.len());
        (fit.oob.tau, fit.oob.variance, fit.y_hat, predicted.tau)
    })
}

#[test]
fn one_and_two_threads_give_identical_fits() {
    let one = fit_with_threads(1, 11);
    let two = fit_with_threads(2, 11);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.0), bits(&two.0), "OOB CATE");
    assert_eq!(bits(&one.1), bits(&two.1), "OOB variance");
    assert_eq!(bits(&one.2), bits(&two.2), "nuisance Y.hat");
    assert_eq!(bits(&one.3), bits(&two.3), "predictions on new rows");
    let other_seed = fit_with_threads(2, 12);
    assert_ne!(bits(&one.0), bits(&other_seed.0), "a different seed gives a different forest");
}
