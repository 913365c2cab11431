//! Fitted models predict new rows and persist: a model read back from its bytes predicts the
//! training rows bit for bit as the fitted one; a causal forest's predictions of new rows of
//! Nie & Wager's setup A are as accurate as its out-of-bag estimates; every CATE learner keeps a
//! model; damaged or foreign files are refused with a message naming them.

use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use cateye::cate::{fit_cate, BaseKind, CateSpec, Learner};
use cateye::forest::{fit_forest, ForestOptions, ForestSpec};
use cateye::model::Model;
use cateye::{PropensitySpec, Source};
use cateye_sim::{nie_wager, Setup, Simulated};
use std::sync::Arc;

/// The simulated rows as an in-memory table: x1..xp, w, y.
fn source(sim: &Simulated) -> Source {
    let mut fields: Vec<Field> = sim.names().iter().map(|n| Field::new(n, DataType::Float64, false)).collect();
    let mut columns: Vec<ArrayRef> =
        sim.x.iter().map(|c| Arc::new(Float64Array::from(c.clone())) as ArrayRef).collect();
    fields.extend([Field::new("w", DataType::Float64, false), Field::new("y", DataType::Float64, false)]);
    columns
        .extend([Arc::new(Float64Array::from(sim.w.clone())) as ArrayRef, Arc::new(Float64Array::from(sim.y.clone()))]);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    Source::from_batches(vec![batch]).unwrap()
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Every column of two prediction tables, bit for bit.
fn assert_same(a: &cateye::UnitTable, b: &cateye::UnitTable) {
    assert_eq!(a.columns().len(), b.columns().len());
    for ((na, va), (nb, vb)) in a.columns().iter().zip(b.columns()) {
        assert_eq!(na, nb);
        assert_eq!(bits(va), bits(vb), "column {na}");
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical test: run with --release")]
fn a_saved_forest_predicts_bit_for_bit_and_new_rows_as_well_as_out_of_bag() {
    let train = nie_wager(Setup::A, 4000, 6, 1.0, 21);
    let spec = ForestSpec::new("y", "w").covariates(train.names()).options(ForestOptions::default().with(|c| {
        c.num_trees = 1000;
        c.seed = 5;
    }));
    let run = fit_forest(&source(&train), &spec).unwrap();
    let oob = rmse(run.units.column("cate").unwrap(), &train.tau);

    let model = Model::CausalForest(run.model);
    assert_eq!(model.covariates(), train.names().as_slice());
    let bytes = model.to_bytes().unwrap();
    let loaded = Model::from_bytes(&bytes, "forest.model").unwrap();
    let fitted = model.predict(&source(&train)).unwrap();
    assert_same(&fitted, &loaded.predict(&source(&train)).unwrap());
    assert_eq!(loaded.to_bytes().unwrap(), bytes, "saving a loaded model gives the same bytes");

    let new = nie_wager(Setup::A, 4000, 6, 1.0, 22);
    let predicted = loaded.predict(&source(&new)).unwrap();
    let new_rmse = rmse(predicted.column("cate").unwrap(), &new.tau);
    eprintln!("setup A, n = 4000, 1000 trees: OOB RMSE {oob:.4}, RMSE on 4000 new rows {new_rmse:.4}");
    assert!((new_rmse / oob - 1.0).abs() <= 0.05, "new-row RMSE {new_rmse} vs OOB RMSE {oob}");
    // Intervals of new rows: the variance is there, and the interval holds the estimate.
    let (lo, hi, tau) = (
        predicted.column("ci_lower").unwrap(),
        predicted.column("ci_upper").unwrap(),
        predicted.column("cate").unwrap(),
    );
    assert!((0..new.y.len()).all(|i| lo[i] < tau[i] && tau[i] < hi[i]));
}

#[test]
fn every_learner_keeps_a_model_that_round_trips() {
    let train = nie_wager(Setup::A, 600, 5, 1.0, 3);
    let new = nie_wager(Setup::A, 200, 5, 1.0, 4);
    for (method, propensity) in [
        (Learner::S, PropensitySpec::Design),
        (Learner::T, PropensitySpec::Design),
        (Learner::X, PropensitySpec::Estimate),
        (Learner::X, PropensitySpec::Known(0.5)),
        (Learner::R, PropensitySpec::Estimate),
        (Learner::Dr, PropensitySpec::Design),
        (Learner::Forest, PropensitySpec::Design),
    ] {
        for base in [BaseKind::Linear, BaseKind::Boost, BaseKind::Forest] {
            if method == Learner::Forest && base != BaseKind::Forest {
                continue;
            }
            let mut spec = CateSpec::new("y", "w");
            spec.propensity = propensity.clone();
            spec.config.method = method;
            spec.config.bases = vec![base];
            spec.config.trees = 20;
            spec.config.calibrate = method == Learner::Dr;
            spec.config.keep_model = true;
            let run = fit_cate(&source(&train), &spec).unwrap();
            let model = Model::Cate(run.model.expect("kept"));
            let loaded = Model::from_bytes(&model.to_bytes().unwrap(), "cate.model").unwrap();
            let fitted = model.predict(&source(&new)).unwrap();
            assert_same(&fitted, &loaded.predict(&source(&new)).unwrap());
            let cate = fitted.column("cate").unwrap();
            assert!(cate.iter().all(|v| v.is_finite()), "{method:?}/{base:?}");
            // A model of the training rows is close to (not equal to) the out-of-fold estimates.
            let train_prediction = model.predict(&source(&train)).unwrap();
            let oof = run.units.column("cate").unwrap();
            let gap = rmse(train_prediction.column("cate").unwrap(), oof);
            let spread = rmse(oof, &vec![oof.iter().sum::<f64>() / oof.len() as f64; oof.len()]);
            assert!(gap < 2.0 * spread.max(0.05), "{method:?}/{base:?}: model vs out-of-fold {gap}, spread {spread}");
        }
    }
}

#[test]
fn a_selected_model_is_the_chosen_candidate() {
    let train = nie_wager(Setup::A, 600, 5, 1.0, 5);
    let mut spec = CateSpec::new("y", "w");
    spec.config.bases = vec![BaseKind::Linear, BaseKind::Boost];
    spec.config.select = true;
    spec.config.calibrate = true;
    spec.config.keep_model = true;
    spec.config.trees = 20;
    let run = fit_cate(&source(&train), &spec).unwrap();
    let chosen = run.summary.report.arms[0].chosen.clone();
    let model = run.model.expect("kept");
    assert_eq!(model.learner.arms()[0].candidate, chosen);
    assert_eq!(model.learner.arms()[0].calibration.is_some(), chosen.ends_with("+ calibration"));
}

#[test]
fn damaged_and_foreign_model_files_are_refused_by_name() {
    let train = nie_wager(Setup::A, 400, 5, 1.0, 6);
    let spec = ForestSpec::new("y", "w").options(ForestOptions::default().with(|c| c.num_trees = 20));
    let run = fit_forest(&source(&train), &spec).unwrap();
    let bytes = Model::CausalForest(run.model).to_bytes().unwrap();
    let err = |b: &[u8]| Model::from_bytes(b, "my.model").unwrap_err().to_string();
    assert!(err(&bytes[..bytes.len() / 2]).contains("my.model"));
    assert!(err(b"PAR1 not a model").contains("my.model: not a cateye model file"));
    let mut foreign = bytes.clone();
    foreign[8..].fill(0);
    assert!(err(&foreign).contains("my.model"));
    // A model asked to predict rows without its covariates names the missing column.
    let loaded = Model::from_bytes(&bytes, "my.model").unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x1", DataType::Float64, false)])),
        vec![Arc::new(Float64Array::from(vec![0.5; 3]))],
    )
    .unwrap();
    let e = loaded.predict(&Source::from_batches(vec![batch]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("'x2'") && e.contains("covariate"), "{e}");
}
