//! Simulation benchmark on the four designs of Nie & Wager (2021, §6), n = 2,000, p = 6, noise
//! SD 1, estimated propensities, 10 replications each (release mode): the PEHE of every
//! learner with forest, boosting and linear bases, calibrated or not, the AIPW average effect,
//! and model selection by R-loss and DR-loss.
//!
//! Asserted: the mean doubly robust score is within 0.1 of the true average effect in every
//! setup; the R- and DR-learners (forest base, the default) beat the S- and T-learners in
//! setup A (Nie & Wager's Table 2 ordering); in setup C (constant effect 1) the R-, DR- and
//! X-learners, the causal forest and the linear S- and R-learners have PEHE below 0.5; the
//! R-loss over the table (5 learners × forest and boost, plus the causal forest, each
//! also calibrated) picks a candidate within 10% of the best PEHE in most replications of
//! setups A, B and D.
//!
//! Not met, printed: the forest S- and T-learners and the linear T- and X-learners do not
//! recover C's constant effect (PEHE 0.67-0.87: they difference outcome models fitted where
//! one arm is rare, or a linear model of a convex outcome surface extrapolated). Selection in
//! C is good in about half the replications, and with the linear base added to the table it
//! drops in A (2 of 10): a dozen candidates then lie within 25% of the best PEHE, closer than
//! the R-loss can tell apart on 2,000 units.

use cateye_learners::CandidateEstimates;
use cateye_learners::SelectionLoss;
use cateye_learners::{estimate_cate, pehe, BaseKind, CateConfig, Learner, Propensity};
use cateye_sim::{nie_wager, Setup};
use std::collections::BTreeMap;

const REPS: u64 = 10;

struct Rep {
    /// PEHE per candidate.
    pehe: BTreeMap<String, f64>,
    /// Mean estimate per candidate.
    mean: BTreeMap<String, f64>,
    /// The selection table: candidate, base, R-loss, DR-loss.
    table: Vec<(String, Option<String>, f64, f64)>,
    /// AIPW average effect (mean doubly robust score) and the sample's true average effect.
    ate: f64,
    true_ate: f64,
}

impl Rep {
    /// The candidate with the smallest `loss` among those whose base `bases` accepts (the
    /// causal forest, with no base, always competes). A candidate's held-out losses do not
    /// depend on the other candidates, so this is the choice of a table with those bases only.
    fn chosen(&self, loss: &str, bases: &[&str]) -> String {
        let value = |row: &(String, Option<String>, f64, f64)| if loss == "R" { row.2 } else { row.3 };
        self.table
            .iter()
            .filter(|row| row.1.as_deref().is_none_or(|b| bases.contains(&b)))
            .min_by(|a, b| value(a).total_cmp(&value(b)))
            .expect("rows")
            .0
            .clone()
    }

    /// The smallest PEHE among the same candidates.
    fn best(&self, bases: &[&str]) -> f64 {
        self.pehe
            .iter()
            .filter(|(name, _)| !name.contains('/') || bases.iter().any(|b| name.contains(&format!("/{b}"))))
            .map(|(_, &p)| p)
            .fold(f64::INFINITY, f64::min)
    }
}

fn run(setup: Setup, seed: u64) -> Rep {
    let sim = nie_wager(setup, 2000, 6, 1.0, seed);
    let config = CateConfig::default().with(|c| {
        c.method = Learner::Dr;
        c.bases = vec![BaseKind::Forest, BaseKind::Boost, BaseKind::Linear];
        c.calibrate = true;
        c.select = true;
        c.loss = SelectionLoss::R;
        c.trees = 300;
        c.seed = seed;
    });
    let report = estimate_cate(sim.x.clone(), &sim.names(), &sim.y, &sim.w, "y", "w", Propensity::Estimate, &config)
        .expect("fit");
    let arm = &report.arms[0];
    let pehe =
        arm.candidates.iter().map(|c: &CandidateEstimates| (c.candidate.clone(), pehe(&c.cate, &sim.tau))).collect();
    let mean = arm
        .candidates
        .iter()
        .map(|c| (c.candidate.clone(), c.cate.iter().sum::<f64>() / c.cate.len() as f64))
        .collect();
    let table = arm.selection.iter().map(|r| (r.candidate.clone(), r.base.clone(), r.r_loss, r.dr_loss)).collect();
    let true_ate = sim.tau.iter().sum::<f64>() / sim.tau.len() as f64;
    Rep { pehe, mean, table, ate: arm.ate, true_ate }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "fits hundreds of forests: run with --release")]
fn learners_on_the_nie_wager_designs() {
    // Failures are collected so that every setup's figures are printed before the test fails.
    let mut failures: Vec<String> = Vec::new();
    let mut check = |ok: bool, message: String| {
        if !ok {
            eprintln!("  FAILED: {message}");
            failures.push(message);
        }
    };
    for setup in [Setup::A, Setup::B, Setup::C, Setup::D] {
        let reps: Vec<Rep> = (0..REPS).map(|r| run(setup, 100 + r)).collect();
        let mean = |name: &str| reps.iter().map(|r| r.pehe[name]).sum::<f64>() / REPS as f64;
        let names: Vec<String> = reps[0].pehe.keys().cloned().collect();
        eprintln!("setup {setup:?}: mean PEHE over {REPS} replications");
        for name in &names {
            let average = reps.iter().map(|r| r.mean[name]).sum::<f64>() / REPS as f64;
            eprintln!("  {name:<40} PEHE {:.3}  mean estimate {average:.3}", mean(name));
        }
        // The doubly robust scores behind the AIPW effect, calibration and the DR-loss: their
        // mean must be close to the true average effect (the Monte Carlo SE of a 10-replication
        // mean is about 0.02-0.03 here; honest nuisance forests were 0.13 and 0.26 off in A, C).
        let ate = reps.iter().map(|r| r.ate).sum::<f64>() / REPS as f64;
        let true_ate = reps.iter().map(|r| r.true_ate).sum::<f64>() / REPS as f64;
        eprintln!("  AIPW average effect {ate:.3} (true {true_ate:.3})");
        check((ate - true_ate).abs() < 0.1, format!("{setup:?}: AIPW effect {ate} against {true_ate}"));
        match setup {
            Setup::A => {
                for better in ["R-learner/forest", "DR-learner/forest"] {
                    for worse in ["S-learner/forest", "T-learner/forest"] {
                        check(
                            mean(better) < mean(worse),
                            format!("A: {better} {} vs {worse} {}", mean(better), mean(worse)),
                        );
                    }
                }
            }
            Setup::C => {
                for name in [
                    "R-learner/forest",
                    "DR-learner/forest",
                    "X-learner/forest",
                    "causal forest",
                    "S-learner/linear",
                    "R-learner/linear",
                ] {
                    check(mean(name) < 0.5, format!("C: {name} PEHE {}", mean(name)));
                }
            }
            _ => {}
        }
        // The table (5 learners x forest and boost, plus the causal forest) is asserted;
        // with the linear base added the figures are printed.
        for bases in [&["forest", "boost"][..], &["forest", "boost", "linear"][..]] {
            for loss in ["R", "DR"] {
                let good_picks = reps.iter().filter(|r| r.pehe[&r.chosen(loss, bases)] <= 1.1 * r.best(bases)).count();
                let chosen: Vec<String> = reps.iter().map(|r| r.chosen(loss, bases)).collect();
                eprintln!(
                    "  selection ({loss}-loss, bases {bases:?}) within 10% of the best PEHE in {good_picks}/{REPS}: {chosen:?}"
                );
                if loss == "R" && bases.len() == 2 && setup != Setup::C {
                    check(2 * good_picks > REPS as usize, format!("{setup:?}: selection good in {good_picks}/{REPS}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} checks failed: {failures:#?}", failures.len());
}
