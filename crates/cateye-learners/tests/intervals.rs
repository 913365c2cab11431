//! Per-unit intervals of the learners that report them (the R- and DR-learners with the forest
//! base, and the causal forest): 95% coverage of the true CATE in simulation (release mode).

use cateye_learners::{estimate_cate, BaseKind, CateConfig, Learner, Propensity};
use cateye_sim::{nie_wager, randomized_trial, Setup, Simulated};
use cateye_stats::Z_975;

/// Share of (unit, replication) pairs whose 95% interval covers the true CATE, and the mean
/// interval half-width, for `learner` over `reps` draws of `simulate(seed)`.
fn coverage(
    learner: Learner,
    reps: u64,
    propensity: fn() -> Propensity<'static>,
    simulate: fn(u64) -> Simulated,
) -> (f64, f64) {
    let (mut covered, mut total, mut width) = (0usize, 0usize, 0.0);
    for rep in 0..reps {
        let sim = simulate(rep);
        let config = CateConfig::default().with(|c| {
            c.method = learner;
            c.bases = vec![BaseKind::Forest];
            c.trees = 500;
            c.intervals = true;
            c.seed = rep;
        });
        let report =
            estimate_cate(sim.x.clone(), &sim.names(), &sim.y, &sim.w, "y", "w", propensity(), &config).unwrap();
        let arm = &report.arms[0];
        let variance = arm.cate_variance.as_ref().expect("this learner reports intervals");
        for ((&t, &v), &truth) in arm.cate.iter().zip(variance).zip(&sim.tau) {
            total += 1;
            covered += usize::from((t - truth).abs() <= Z_975 * v.sqrt());
            width += Z_975 * v.sqrt();
        }
    }
    (covered as f64 / total as f64, width / total as f64)
}

fn trial(seed: u64) -> Simulated {
    randomized_trial(2000, 5, 0.5, 1.0, 1.0, 300 + seed)
}

fn setup_a(seed: u64) -> Simulated {
    nie_wager(Setup::A, 2000, 6, 1.0, 400 + seed)
}

/// Measured (4 replications of 2,000 units; nuisances with 500 trees, the interval-bearing
/// final stages with 2,000 in little bags of two, the default of `intervals`): in the trial DR
/// 0.946, R 0.946, causal forest 0.937; in setup A DR 0.974, R 0.952, causal forest 0.930. With
/// 500 final-stage trees the DR-learner covered 0.981 and 0.992: its pseudo-outcomes carry
/// 1/(ê(1 − ê)) weights, and with few little bags the objective-Bayes debiasing of the
/// between-bag variance errs upwards; hence 2,000.
#[test]
fn r_and_dr_learners_and_the_causal_forest_cover_the_true_effect() {
    let nominal = 0.90..=0.98;
    let mut failures = Vec::new();
    for learner in [Learner::Dr, Learner::R, Learner::Forest] {
        let (covered, width) = coverage(learner, 4, || Propensity::Known(0.5), trial);
        eprintln!("trial, known propensity: {learner:?} 95% coverage {covered:.3}, mean half-width {width:.3}");
        if !nominal.contains(&covered) {
            failures.push(format!("{learner:?} in the trial: {covered}"));
        }
        let (covered, width) = coverage(learner, 4, || Propensity::Estimate, setup_a);
        eprintln!("setup A, estimated propensity: {learner:?} 95% coverage {covered:.3}, mean half-width {width:.3}");
        if !nominal.contains(&covered) {
            failures.push(format!("{learner:?} in setup A: {covered}"));
        }
    }
    assert!(failures.is_empty(), "coverage outside [0.90, 0.98]: {failures:?}");
}

#[test]
fn learners_without_intervals_say_why() {
    let sim = trial(0);
    for (learner, base, calibrate) in [
        (Learner::X, BaseKind::Forest, false),
        (Learner::Dr, BaseKind::Linear, false),
        (Learner::Dr, BaseKind::Forest, true),
        (Learner::R, BaseKind::Forest, false),
    ] {
        let config = CateConfig::default().with(|c| {
            c.method = learner;
            c.bases = vec![base];
            c.calibrate = calibrate;
            c.intervals = learner != Learner::R;
            c.trees = 50;
        });
        let report =
            estimate_cate(sim.x.clone(), &sim.names(), &sim.y, &sim.w, "y", "w", Propensity::Known(0.5), &config)
                .unwrap();
        let arm = &report.arms[0];
        assert!(arm.cate_variance.is_none(), "{learner:?}/{base:?}");
        assert!(arm.intervals.starts_with("none: "), "{}", arm.intervals);
    }
}
