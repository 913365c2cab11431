//! Criterion benches of the hot loops, on small generated inputs so that a run takes seconds:
//!
//! - `aggregate`: the scan's aggregation of encoded batches into sufficient statistics (the
//!   scatter-add of shifted power sums per cell), 200,000 rows × 4 metrics × 4 dimensions;
//! - `encode`: decoding and encoding the same rows from an in-memory source;
//! - `causal_forest`: growing 100 honest causal trees on 4,000 rows of Nie & Wager's setup A;
//! - `forest_predict`: the forest's predictions (point and variance) of 4,000 new rows;
//! - `cate_dr`: the DR-learner with linear bases and 5-fold cross-fitting on 4,000 rows.
//!
//! `cargo bench -p cateye-bench` runs them; the end-to-end figures of the README come from the
//! `cateye bench` subcommands instead.

use cateye::Source;
use cateye_forest::{fit_causal_forest, CausalForestModel, CausalInput, ForestData, ForestOptions, Propensity};
use cateye_learners::{estimate_cate, BaseKind, CateConfig, Learner};
use cateye_scan::{aggregate_encoded, encode_all, ScanConfig};
use cateye_sim::{nie_wager, synthetic_spec, Setup};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn scan_loops(c: &mut Criterion) {
    let spec = synthetic_spec(4, 50_000, 4, 4, 8, 1);
    let source = Source::from_batches(spec.batches()).expect("generated batches");
    let config = ScanConfig::default().with(|c| {
        c.metrics = Some(spec.metric_columns());
        c.dimensions = Some(spec.dimension_columns());
    });
    let table = encode_all(&source, &config).expect("encodes");
    let mut group = c.benchmark_group("scan");
    group.sample_size(20);
    group.bench_function("aggregate", |b| b.iter(|| black_box(aggregate_encoded(&table))));
    group.bench_function("encode", |b| b.iter(|| black_box(encode_all(&source, &config).expect("encodes"))));
    group.finish();
}

fn forest_loops(c: &mut Criterion) {
    let sim = nie_wager(Setup::A, 4000, 6, 1.0, 1);
    let data = ForestData::new(&sim.columns(), &sim.names(), 256).expect("binned");
    let input = CausalInput {
        y: &sim.y,
        w: &sim.w,
        outcome: "y",
        treatment: "w",
        propensity: Propensity::Known(0.5),
        y_hat: None,
    };
    let options = ForestOptions::default().with(|c| {
        c.num_trees = 100;
        c.seed = 3;
    });
    let mut group = c.benchmark_group("forest");
    group.sample_size(10);
    group.bench_function("causal_forest", |b| {
        b.iter(|| black_box(fit_causal_forest(&data, input, &options).expect("fits")))
    });
    let fit = fit_causal_forest(&data, input, &options).expect("fits");
    let model = CausalForestModel::new(fit.forest, data.binning().clone(), options.clone());
    let new = nie_wager(Setup::A, 4000, 6, 1.0, 2);
    group.bench_function("forest_predict", |b| b.iter(|| black_box(model.predict(&new.columns()).expect("predicts"))));
    group.finish();
}

fn learner_loops(c: &mut Criterion) {
    let sim = nie_wager(Setup::A, 4000, 6, 1.0, 4);
    let config = CateConfig::default().with(|c| {
        c.method = Learner::Dr;
        c.bases = vec![BaseKind::Linear];
    });
    let mut group = c.benchmark_group("learners");
    group.sample_size(10);
    group.bench_function("cate_dr", |b| {
        b.iter(|| {
            black_box(
                estimate_cate(sim.x.clone(), &sim.names(), &sim.y, &sim.w, "y", "w", Propensity::Design, &config)
                    .expect("estimates"),
            )
        })
    });
    group.finish();
}

criterion_group!(hot_loops, scan_loops, forest_loops, learner_loops);
criterion_main!(hot_loops);
