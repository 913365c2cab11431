//! Simulation benchmark on the four designs of Nie & Wager (2021, §6), n = 2,000, p = 6, noise
//! SD 1, estimated propensities, 10 replications each (release mode): the PEHE of every
//! learner with forest and boosting bases, calibrated or not, and model selection by R-loss.
//!
//! Asserted (forest base, the default): the R- and DR-learners beat the S- and T-learners in
//! setup A (Nie & Wager's Table 2 ordering); in setup C (constant effect 1) the learners built
//! for confounding (R, DR, X, causal forest) have PEHE below 0.5. Not met: the S- and
//! T-learners do not recover C's constant effect (PEHE 0.79, 0.80, mean estimates 0.25 and
//! 0.42: they difference outcome models fitted where one arm is rare), and with forest
//! nuisances at n = 2,000 the mean doubly robust score is 0.74, not 1 (the causal forest's
//! mean estimate is 0.93, the R-learner's 0.86). The
//! R-loss picks a candidate within 10% of the best PEHE in most replications of setups A, B
//! and D. In setup C it does not: the causal forest is 2–3× better than every other candidate,
//! but where the propensity is extreme the R-loss weights errors by (W − ê)², which is tiny.

use cateye_forest::simulate::{nie_wager, Setup};
use cateye_learners::pipeline::CandidateEstimates;
use cateye_learners::select::SelectionLoss;
use cateye_learners::{estimate_cate, pehe, BaseKind, CateConfig, Learner, PropensitySource};
use std::collections::BTreeMap;

const REPS: u64 = 10;

struct Rep {
    /// PEHE per candidate.
    pehe: BTreeMap<String, f64>,
    /// Mean estimate per candidate.
    mean: BTreeMap<String, f64>,
    /// The candidate with the smallest R-loss and the one with the smallest DR-loss.
    chosen_r: String,
    chosen_dr: String,
}

fn run(setup: Setup, seed: u64) -> Rep {
    let sim = nie_wager(setup, 2000, 6, 1.0, seed);
    let config = CateConfig {
        method: Learner::Dr,
        bases: vec![BaseKind::Forest, BaseKind::Boost, BaseKind::Linear],
        calibrate: true,
        select: true,
        loss: SelectionLoss::R,
        trees: 300,
        seed,
        ..CateConfig::default()
    };
    let report =
        estimate_cate(sim.x.clone(), &sim.names(), &sim.y, &sim.w, "y", "w", PropensitySource::Estimate, &config)
            .expect("fit");
    let arm = &report.arms[0];
    let pehe =
        arm.candidates.iter().map(|c: &CandidateEstimates| (c.candidate.clone(), pehe(&c.cate, &sim.tau))).collect();
    let mean = arm
        .candidates
        .iter()
        .map(|c| (c.candidate.clone(), c.cate.iter().sum::<f64>() / c.cate.len() as f64))
        .collect();
    let best_dr = arm.selection.iter().min_by(|a, b| a.dr_loss.total_cmp(&b.dr_loss)).expect("rows");
    Rep { pehe, mean, chosen_r: arm.chosen.clone(), chosen_dr: best_dr.candidate.clone() }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "fits hundreds of forests: run with --release")]
fn learners_on_the_nie_wager_designs() {
    for setup in [Setup::A, Setup::B, Setup::C, Setup::D] {
        let reps: Vec<Rep> = (0..REPS).map(|r| run(setup, 100 + r)).collect();
        let mean = |name: &str| reps.iter().map(|r| r.pehe[name]).sum::<f64>() / REPS as f64;
        let names: Vec<String> = reps[0].pehe.keys().cloned().collect();
        eprintln!("setup {setup:?}: mean PEHE over {REPS} replications");
        for name in &names {
            let average = reps.iter().map(|r| r.mean[name]).sum::<f64>() / REPS as f64;
            eprintln!("  {name:<40} PEHE {:.3}  mean estimate {average:.3}", mean(name));
        }
        match setup {
            Setup::A => {
                for better in ["R-learner/forest", "DR-learner/forest"] {
                    for worse in ["S-learner/forest", "T-learner/forest"] {
                        assert!(mean(better) < mean(worse), "A: {better} {} vs {worse} {}", mean(better), mean(worse));
                    }
                }
            }
            Setup::C => {
                for name in ["R-learner/forest", "DR-learner/forest", "X-learner/forest", "causal forest"] {
                    assert!(mean(name) < 0.5, "C: {name} PEHE {}", mean(name));
                }
            }
            _ => {}
        }
        for loss in ["R", "DR"] {
            let pick = |r: &Rep| if loss == "R" { r.chosen_r.clone() } else { r.chosen_dr.clone() };
            let good_picks = reps
                .iter()
                .filter(|r| {
                    let best = r.pehe.values().copied().fold(f64::INFINITY, f64::min);
                    r.pehe[&pick(r)] <= 1.1 * best
                })
                .count();
            let chosen: Vec<String> = reps.iter().map(pick).collect();
            eprintln!("  selection ({loss}-loss) within 10% of the best PEHE in {good_picks}/{REPS}: {chosen:?}");
            if loss == "R" && setup != Setup::C {
                assert!(2 * good_picks > REPS as usize, "{setup:?}: selection good in {good_picks}/{REPS}");
            }
        }
    }
}
