//! Fit an honest causal forest on one trial in memory, save the model, load it back and predict
//! the effects of new units; the predictions of the loaded model equal the fitted one's.
//!
//! `cargo run --release -p cateye --example forest_save_predict`

use cateye::demo::{nie_wager, trial_table, Setup};
use cateye::forest::{fit_forest, ForestOptions, ForestSpec};
use cateye::model::Model;
use cateye::{PropensitySpec, Source};

fn main() -> cateye::Result<()> {
    let train = nie_wager(Setup::B, 4000, 6, 1.0, 1);
    let spec = ForestSpec::new("y", "w")
        .covariates(train.names())
        .propensity(PropensitySpec::Known(0.5))
        .options(ForestOptions::default().with(|c| c.num_trees = 500));
    let run = fit_forest(&Source::from_batches(vec![trial_table(&train)])?, &spec)?;
    println!("AIPW average effect: {:.3}", run.summary.average_treatment_effect[0].estimate);

    let path = std::env::temp_dir().join("cateye-example-forest.model");
    let model = Model::CausalForest(run.model);
    model.save(&path)?;
    let loaded = Model::load(&path)?;

    let new = Source::from_batches(vec![trial_table(&nie_wager(Setup::B, 5, 6, 1.0, 2))])?;
    let predicted = loaded.predict(&new)?;
    assert_eq!(predicted, model.predict(&new)?, "a loaded model predicts as the fitted one");
    let (cate, lower, upper) = (
        predicted.column("cate").unwrap(),
        predicted.column("ci_lower").unwrap(),
        predicted.column("ci_upper").unwrap(),
    );
    for i in 0..cate.len() {
        println!("new unit {i}: CATE {:.3}, 95% CI [{:.3}, {:.3}]", cate[i], lower[i], upper[i]);
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}
