//! The PEHE of the DR-learner on Nie & Wager's setup A under variants of its nuisance and
//! final stages, on the rows `cateye bench cate` uses (n = 20,000 by default, p = 10): the
//! experiment behind the DR-learner's defaults (issue 16: EconML's ForestDRLearner reached a
//! lower PEHE at equal trees; which stage made the difference?).
//!
//! `cargo run --release -p cateye-learners --example pehe_gap [ROWS]`

use cateye_forest::{ForestData, ForestOptions, RegressionForest};
use cateye_learners::{
    meta_learner_cate, pehe, BaseLearner, ForestLearner, Learner, LearnerData, NuisanceNeeds, Nuisances, Pair,
    PairContext, PairPropensity, PURPOSE_FOLDS,
};
use cateye_sim::{nie_wager, Setup};
use cateye_stats::Folds;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|v| v.parse()).transpose()?.unwrap_or(20_000);
    let (trees, seed) = (500, 3);
    let sim = nie_wager(Setup::A, n, 10, 1.0, 11);
    let data = LearnerData::new(sim.x.clone(), &sim.names(), 256)?;
    let member = vec![true; n];
    let pair = Pair { y: &sim.y, w: &sim.w, member: &member, weights: None };
    let folds = Folds::stratified(&sim.w, 5, seed, PURPOSE_FOLDS)?;
    let ctx =
        PairContext { data: &data, pair, folds: &folds, clusters: None, interval_trees: None, max_bins: 256, seed };
    let needs = NuisanceNeeds::default();
    let adaptive = ForestLearner::for_nuisances(trees);
    let honest = ForestLearner::with_trees(trees);
    let final_with = |change: &dyn Fn(&mut ForestOptions)| {
        let mut learner = ForestLearner::with_trees(trees);
        change(&mut learner.options);
        learner
    };
    println!("DR-learner, setup A, n = {n}, p = 10, {trees} trees per forest, 5 folds; PEHE against the true CATE");
    let mut fitted: Vec<(&str, Nuisances)> = Vec::new();
    for (name, base, clip) in [
        ("adaptive nuisances, clip 0.05 (default)", &adaptive, 0.05),
        ("adaptive nuisances, clip 0.01", &adaptive, 0.01),
        ("honest nuisances, clip 0.05", &honest, 0.05),
        ("honest nuisances, clip 0.01 (before 2e0ed1b)", &honest, 0.01),
    ] {
        let start = Instant::now();
        let nuisances = Nuisances::fit(
            &data,
            pair,
            &folds,
            base as &dyn BaseLearner,
            PairPropensity::Estimate { clip },
            needs,
            seed,
        )?;
        let dr = meta_learner_cate(Learner::Dr, &ctx, &final_with(&|_| {}), &nuisances, false)?;
        println!("  {name:<48} PEHE {:.4}  ({:.1} s)", pehe(&dr.cate, &sim.tau), start.elapsed().as_secs_f64());
        fitted.push((name, nuisances));
    }
    let nuisances = &fitted[0].1;
    type Change<'a> = &'a dyn Fn(&mut ForestOptions);
    let variants: [(&str, Change); 5] = [
        ("final stage adaptive (no honesty)", &|o| o.honesty = false),
        ("final stage min node size 20", &|o| o.min_node_size = 20),
        ("final stage min node size 50", &|o| o.min_node_size = 50),
        ("final stage sample fraction 0.45 (EconML's max_samples)", &|o| o.sample_fraction = 0.45),
        ("final stage 2,000 trees", &|o| o.num_trees = 2000),
    ];
    for (name, change) in variants {
        let start = Instant::now();
        let dr = meta_learner_cate(Learner::Dr, &ctx, &final_with(change), nuisances, false)?;
        println!("  {name:<48} PEHE {:.4}  ({:.1} s)", pehe(&dr.cate, &sim.tau), start.elapsed().as_secs_f64());
    }
    // EconML fits its final stage once on every row's (cross-fitted) pseudo-outcome and reports
    // effect(X) of the training rows with all trees; cateye predicts fold k with a forest fitted
    // without fold k. Both, from the default nuisances.
    let start = Instant::now();
    let scores: Vec<f64> = (0..n).map(|i| nuisances.dr_score(None, i, sim.y[i], sim.w[i])).collect();
    let columns: Vec<&[f64]> = sim.x.iter().map(Vec::as_slice).collect();
    let binned = ForestData::new(&columns, &sim.names(), 256)?;
    let options = ForestLearner::with_trees(trees).options.with(|c| c.seed = seed);
    let forest = RegressionForest::fit(&binned, &scores, "pseudo-outcome", &options)?;
    let rows: Vec<u16> = (0..n).flat_map(|i| binned.features().row(i).to_vec()).collect();
    let in_sample = forest.predict(&rows, 10);
    let oob = forest.predict_oob(&binned)?;
    println!(
        "  {:<48} PEHE {:.4} with all trees (EconML's effect(X)), {:.4} out of bag  ({:.1} s)",
        "final stage on all rows",
        pehe(&in_sample, &sim.tau),
        pehe(&oob, &sim.tau),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
