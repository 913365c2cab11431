//! Design-based simulations of the designs and estimators of issue 18, in release mode:
//!
//! `cargo test --release -p cateye-network --test coverage -- --nocapture`
//!
//! (debug builds skip them). The potential outcomes are fixed; every replication re-draws the
//! design, so bias, spread and coverage are over the randomization only. The graphs are
//! stochastic block models of 100 communities of 20 nodes whose blocks are the clusters.
//!
//! Current state (issue 18, cluster-total bound): `no_interference_designs_are_unbiased_and_cover`
//! runs every design × exposure (own, full) × estimator in an iid-outcome setting and a
//! community-effect setting and asserts bias within 3 MC SEs and coverage in 93–97% (2000
//! replications each). Young's inequality is now applied to cluster totals (`blocks.rs`), which
//! removed the over-coverage of Hájek with iid outcomes (se/sd 3.3–3.8 → 0.96–1.0); own exposure
//! under complete and stratified randomization uses Neyman's cluster-total variance (HT se/sd
//! 2.4 and 45 → 1.0); HT under complete/stratified randomization with full exposure reports no
//! interval. The history below describes the pairwise bound used before.
//!
//! What the simulations found about the Aronow–Samii variance (Young's bound). For the pairs of
//! nodes exposed to opposite arms whose cluster sets meet, `π_ij(1,0) = 0` and the estimator adds
//! `Y_i(1)² + Y_j(0)²` for the unidentified `2Y_i(1)Y_j(0)`: a slack of `(Y_i(1) − Y_j(0))²` per
//! pair. For Horvitz–Thompson under cluster Bernoulli that slack is small against the variance
//! whenever the outcome's level is large against the effect and the spread: se/sd 1.02, coverage
//! 95.3–96.2% in every setting below. For Hájek the estimator is applied to the residuals
//! `Y_i − μ̂_t`, so the slack is the spread of the residuals over every meeting pair, which is
//! every pair of a cluster: with unit-level noise and no community effect (iid outcomes, sd 1)
//! the identified variance is small and se/sd was 3.3–3.8, coverage 100%, for every cluster
//! design (own exposure too). With a community effect (sd 1) and small unit noise (sd 0.1) the
//! slack comes from the pairs across communities, so it grows with the cut: with 36% of the
//! nodes on a community boundary Hájek covered 97.5% (Bernoulli) and 98.1% (complete), with 18%
//! 96.4% and 96.7%, with 7% 95.3% and 95.2% (2000 replications each; `young_bound_settings`
//! prints the table). The intervals are then honest: conservative by the stated bound, tight
//! when outcomes are homogeneous over the neighbourhoods that meet. The tests below use the 7%
//! setting with the community outcome, where the bound is tight for every estimator, and assert
//! the 93–97% window as given. Two more findings from that table: Horvitz–Thompson under
//! complete randomization is unbiased and so is its exact variance estimate (identified part),
//! but that estimate is a difference of terms of the size of the outcome's level, so it is
//! unstable and its interval covered only 79–90%: use Hájek there; under stratified
//! randomization the independent-cluster variance is right for Hájek (95.3% at 7%) and very
//! conservative for Horvitz–Thompson (se/sd 9). Fractional exposure (q = 0.75) with the
//! dependence bound covered 95.7–99.5% with the community outcome and 100% with iid outcomes.

use cateye_network::{
    cluster_sizes, difference_in_means, size_strata, stochastic_block_model, stochastic_block_model_edges, Assignment,
    Condition, Design, Estimator, Exposure, ExposureModel, Graph, PlantedGraph,
};
use cateye_stats::stream;
use rand::RngExt;
use rand_distr::StandardNormal;
use std::time::Instant;

/// Replications per design and estimator without interference.
const REPS: usize = 2_000;
/// Replications per design with spillovers (the bias check is at 2 Monte Carlo SEs).
const REPS_SPILLOVER: usize = 20_000;

/// What the replications of one design × estimator gave.
struct Outcome {
    mean: f64,
    sd: f64,
    mean_se: f64,
    coverage: f64,
    young_share: f64,
    reps: usize,
}

impl Outcome {
    fn bias(&self, truth: f64) -> f64 {
        self.mean - truth
    }

    fn mc_se(&self) -> f64 {
        self.sd / (self.reps as f64).sqrt()
    }

    fn report(&self, name: &str, truth: f64) {
        eprintln!(
            "{name:<40} bias {:+.4} ({:+.2} MC SE)  sd {:.4}  mean se {:.4}  coverage {:.4}  Young share {:.2}",
            self.bias(truth),
            self.bias(truth) / self.mc_se(),
            self.sd,
            self.mean_se,
            self.coverage,
            self.young_share,
        );
    }
}

/// Re-draws `design` `reps` times, observes the outcomes and estimates.
#[allow(clippy::too_many_arguments)]
fn replicate(
    graph: &Graph,
    design: &Design,
    exposure: Exposure,
    estimator: Estimator,
    observe: &dyn Fn(&Assignment) -> Vec<f64>,
    truth: f64,
    reps: usize,
    seed: u64,
) -> Option<Outcome> {
    let model = ExposureModel::new(graph, design, exposure).unwrap();
    let mut estimates = Vec::with_capacity(reps);
    let (mut covered, mut se_sum, mut young) = (0usize, 0.0, 0.0);
    for r in 0..reps {
        let a = design.draw(seed.wrapping_mul(1_000_003).wrapping_add(r as u64));
        let y = observe(&a);
        let e = match estimator {
            Estimator::DifferenceInMeans => difference_in_means(a.nodes(), &y, 0.95),
            _ => model.estimate(&a, &y, estimator, 0.95),
        };
        let e = e.unwrap();
        if e.refused.is_some() {
            assert!(e.se.is_nan() && e.ci.iter().all(|x| x.is_nan()), "a refused interval is NaN");
            return None;
        }
        estimates.push(e.estimate);
        se_sum += e.se;
        if e.variance > 0.0 {
            young += e.variance_parts.young / e.variance;
        }
        if e.ci[0] <= truth && truth <= e.ci[1] {
            covered += 1;
        }
    }
    let k = reps as f64;
    let mean = estimates.iter().sum::<f64>() / k;
    let sd = (estimates.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    Some(Outcome { mean, sd, mean_se: se_sum / k, coverage: covered as f64 / k, young_share: young / k, reps })
}

/// 100 communities of 20 nodes, within-community edge probability 0.3, and the given
/// between-community probability.
fn communities(p_out: f64) -> PlantedGraph {
    stochastic_block_model(&[20; 100], 0.3, p_out, 7).unwrap()
}

/// Outcomes under control: `level + community effect (sd 1) + unit noise (sd unit_sd)`.
fn control_outcomes(labels: &[u32], level: f64, community_sd: f64, unit_sd: f64, seed: u64) -> Vec<f64> {
    let mut rng = stream(seed, 0x0C07, 0);
    let communities = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let u: Vec<f64> = (0..communities).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
    labels
        .iter()
        .map(|&c| level + community_sd * u[c as usize] + unit_sd * rng.sample::<f64, _>(StandardNormal))
        .collect()
}

/// Under no interference every design's estimator is unbiased (within 3 Monte Carlo standard
/// errors) and its 95% interval covers the true effect in 93–97% of the replications, with iid
/// unit-level outcomes and with a community effect.
#[test]
#[cfg_attr(debug_assertions, ignore = "simulation: run with cargo test --release")]
fn no_interference_designs_are_unbiased_and_cover() {
    let planted = communities(4e-5);
    let (g, labels) = (&planted.graph, &planted.blocks);
    let n = g.num_nodes();
    let unit = Design::unit_bernoulli(n, 0.5).unwrap();
    let bernoulli = Design::cluster_bernoulli(labels, 0.5).unwrap();
    let complete = Design::cluster_complete(labels, 0.5).unwrap();
    let strata = size_strata(&cluster_sizes(labels).unwrap(), 10).unwrap();
    let stratified = Design::cluster_stratified(labels, &strata, 0.5).unwrap();
    let t = Instant::now();
    let mut failures = Vec::new();
    let mut runs = 0;
    for (setting, community_sd, unit_sd) in [("iid unit sd 1", 0.0, 1.0), ("community sd 1, unit sd 0.1", 1.0, 0.1)] {
        let y0 = control_outcomes(labels, 10.0, community_sd, unit_sd, 1);
        let y1: Vec<f64> = y0.iter().map(|y| y + 1.0).collect();
        let truth = (y1.iter().sum::<f64>() - y0.iter().sum::<f64>()) / n as f64;
        let observe = |a: &Assignment| -> Vec<f64> {
            a.nodes().iter().enumerate().map(|(i, &z)| if z == 1 { y1[i] } else { y0[i] }).collect()
        };
        eprintln!("--- level 10, {setting}");
        for (name, design, exposure, estimator) in CASES(&unit, &bernoulli, &complete, &stratified) {
            let Some(o) = replicate(g, design, exposure, estimator, &observe, truth, REPS, 11) else {
                eprintln!("{name:<40} no interval (refused)");
                continue;
            };
            runs += 1;
            o.report(name, truth);
            if o.bias(truth).abs() > 3.0 * o.mc_se() || !(0.93..=0.97).contains(&o.coverage) {
                failures.push(format!(
                    "{setting}, {name}: bias {:+.2} MC SE, coverage {}",
                    o.bias(truth) / o.mc_se(),
                    o.coverage
                ));
            }
        }
    }
    eprintln!("{REPS} replications of {runs} design × estimator × setting in {:.1} s", t.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every design × exposure × estimator of the coverage table.
#[allow(non_snake_case)]
fn CASES<'a>(
    unit: &'a Design,
    bernoulli: &'a Design,
    complete: &'a Design,
    stratified: &'a Design,
) -> Vec<(&'static str, &'a Design, Exposure, Estimator)> {
    use Estimator::{Hajek, HorvitzThompson as Ht};
    use Exposure::{Full, Own};
    vec![
        ("unit Bernoulli, difference in means", unit, Own, Estimator::DifferenceInMeans),
        ("cluster Bernoulli, HT, own", bernoulli, Own, Ht),
        ("cluster Bernoulli, Hájek, own", bernoulli, Own, Hajek),
        ("cluster Bernoulli, HT, full", bernoulli, Full, Ht),
        ("cluster Bernoulli, Hájek, full", bernoulli, Full, Hajek),
        ("cluster complete, HT, own", complete, Own, Ht),
        ("cluster complete, Hájek, own", complete, Own, Hajek),
        ("cluster complete, HT, full", complete, Full, Ht),
        ("cluster complete, Hájek, full", complete, Full, Hajek),
        ("cluster stratified, HT, own", stratified, Own, Ht),
        ("cluster stratified, Hájek, own", stratified, Own, Hajek),
        ("cluster stratified, HT, full", stratified, Full, Ht),
        ("cluster stratified, Hájek, full", stratified, Full, Hajek),
    ]
}

/// With spillovers (linear in means: `Y_i = a_i + τ·Z_i + γ·(share of treated neighbours)`) the
/// global effect is `τ + γ` (`τ` for isolated nodes); unit randomization's difference in means
/// estimates `τ` only, while the cluster design's Horvitz–Thompson estimator under full
/// neighbourhood exposure is unbiased (within 2 Monte Carlo standard errors).
#[test]
#[cfg_attr(debug_assertions, ignore = "simulation: run with cargo test --release")]
fn spillovers_bias_unit_randomization_but_not_the_cluster_design() {
    let planted = communities(1e-4);
    let (g, labels) = (&planted.graph, &planted.blocks);
    let n = g.num_nodes();
    let (tau, gamma) = (1.0, 0.5);
    let base = control_outcomes(labels, 1.0, 1.0, 0.1, 2);
    let isolated = (0..n).filter(|&i| g.degree(i) == 0).count();
    let truth = tau + gamma * (n - isolated) as f64 / n as f64;
    let observe = |a: &Assignment| -> Vec<f64> {
        let z = a.nodes();
        (0..n)
            .map(|i| {
                let nb = g.neighbors(i);
                let share = if nb.is_empty() {
                    0.0
                } else {
                    nb.iter().filter(|&&j| z[j as usize] == 1).count() as f64 / nb.len() as f64
                };
                base[i] + tau * f64::from(z[i]) + gamma * share
            })
            .collect()
    };
    let unit = Design::unit_bernoulli(n, 0.5).unwrap();
    let bernoulli = Design::cluster_bernoulli(labels, 0.5).unwrap();
    // Full neighbourhood exposure captures this interference: a node exposed to an arm shows
    // its outcome under that global condition, which is why Horvitz–Thompson is unbiased.
    let all = |z: u8| observe(&Assignment::from_nodes(&unit, &vec![z; n]).unwrap());
    let (global1, global0) = (all(1), all(0));
    let model = ExposureModel::new(g, &bernoulli, Exposure::Full).unwrap();
    for r in 0..200 {
        let a = bernoulli.draw(r);
        let y = observe(&a);
        for (i, c) in model.conditions(&a).unwrap().iter().enumerate() {
            match c {
                Condition::Treated => assert!((y[i] - global1[i]).abs() < 1e-12),
                Condition::Control => assert!((y[i] - global0[i]).abs() < 1e-12),
                Condition::Neither => {}
            }
        }
    }
    let t = Instant::now();
    let reps = REPS_SPILLOVER;
    let dim = replicate(g, &unit, Exposure::Own, Estimator::DifferenceInMeans, &observe, truth, reps, 21).unwrap();
    dim.report("unit Bernoulli, difference in means", truth);
    let ht = replicate(g, &bernoulli, Exposure::Full, Estimator::HorvitzThompson, &observe, truth, reps, 22).unwrap();
    ht.report("cluster Bernoulli, HT, full", truth);
    let hajek = replicate(g, &bernoulli, Exposure::Full, Estimator::Hajek, &observe, truth, reps, 23).unwrap();
    hajek.report("cluster Bernoulli, Hájek, full", truth);
    eprintln!("{reps} replications of 3 designs in {:.1} s", t.elapsed().as_secs_f64());
    eprintln!("true global effect {truth:.4} (τ = {tau}, γ = {gamma}, {isolated} isolated nodes)");
    // The difference in means misses the spillover: its bias is about −γ and far outside noise.
    assert!(dim.bias(truth).abs() > 20.0 * dim.mc_se(), "DiM bias {} MC SE {}", dim.bias(truth), dim.mc_se());
    assert!((dim.bias(truth) + gamma).abs() < 0.05, "DiM bias {}", dim.bias(truth));
    assert!(ht.bias(truth).abs() <= 2.0 * ht.mc_se(), "HT bias {} MC SE {}", ht.bias(truth), ht.mc_se());
}

/// How conservative Young's bound makes the intervals, by cut size and outcome model: the table
/// behind the module documentation.
/// `cargo test --release -p cateye-network --test coverage -- --ignored --nocapture young`
#[test]
#[ignore]
fn young_bound_settings() {
    for p_out in [2.5e-4, 1e-4, 4e-5] {
        let planted = communities(p_out);
        let (g, labels) = (&planted.graph, &planted.blocks);
        let n = g.num_nodes();
        let bernoulli = Design::cluster_bernoulli(labels, 0.5).unwrap();
        let complete = Design::cluster_complete(labels, 0.5).unwrap();
        let strata = size_strata(&cluster_sizes(labels).unwrap(), 10).unwrap();
        let stratified = Design::cluster_stratified(labels, &strata, 0.5).unwrap();
        let model = ExposureModel::new(g, &bernoulli, Exposure::Full).unwrap();
        let boundary = (0..n).filter(|&i| model.cluster_set(i).len() > 1).count();
        eprintln!("=== between-community p {p_out}: {} edges, {boundary} of {n} nodes on a boundary", g.num_edges());
        for (name, level, community_sd, unit_sd) in
            [("level 10, community sd 1, unit sd 0.1", 10.0, 1.0, 0.1), ("level 10, iid unit sd 1", 10.0, 0.0, 1.0)]
        {
            let y0 = control_outcomes(labels, level, community_sd, unit_sd, 1);
            let y1: Vec<f64> = y0.iter().map(|y| y + 1.0).collect();
            let observe = |a: &Assignment| -> Vec<f64> {
                a.nodes().iter().enumerate().map(|(i, &z)| if z == 1 { y1[i] } else { y0[i] }).collect()
            };
            eprintln!("--- {name}");
            for (dn, d, ex, est) in [
                ("cluster Bernoulli, HT, full", &bernoulli, Exposure::Full, Estimator::HorvitzThompson),
                ("cluster Bernoulli, Hájek, full", &bernoulli, Exposure::Full, Estimator::Hajek),
                ("cluster Bernoulli, Hájek, own", &bernoulli, Exposure::Own, Estimator::Hajek),
                ("cluster complete, Hájek, full", &complete, Exposure::Full, Estimator::Hajek),
                ("cluster complete, HT, full", &complete, Exposure::Full, Estimator::HorvitzThompson),
                ("stratified (10 strata), Hájek, full", &stratified, Exposure::Full, Estimator::Hajek),
                ("stratified (10 strata), HT, full", &stratified, Exposure::Full, Estimator::HorvitzThompson),
                ("cluster Bernoulli, Hájek, q=0.75", &bernoulli, Exposure::Fractional { q: 0.75 }, Estimator::Hajek),
            ] {
                if let Some(o) = replicate(g, d, ex, est, &observe, 1.0, 2000, 1) {
                    o.report(dn, 1.0)
                }
            }
        }
    }
}

/// Exposure probabilities and estimates on a million nodes, twenty million edges and a thousand
/// clusters (the planted blocks).
/// `cargo test --release -p cateye-network --test coverage -- --ignored --nocapture million`
#[test]
#[ignore]
fn a_million_nodes() {
    let t = Instant::now();
    let edges = stochastic_block_model_edges(&[1_000; 1_000], 0.032, 8e-6, 1).unwrap();
    let (g, _) = Graph::from_edges(1_000_000, &edges, None).unwrap();
    drop(edges);
    let labels: Vec<u32> = (0..1_000_000u32).map(|i| i / 1_000).collect();
    eprintln!(
        "graph: {} nodes, {} edges in {:.1} s on {} threads",
        g.num_nodes(),
        g.num_edges(),
        t.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    let y: Vec<f64> = (0..1_000_000).map(|i| 10.0 + (i % 97) as f64 * 0.01).collect();
    for (name, design) in [
        ("cluster Bernoulli", Design::cluster_bernoulli(&labels, 0.5).unwrap()),
        ("cluster complete", Design::cluster_complete(&labels, 0.5).unwrap()),
    ] {
        for exposure in [Exposure::Full, Exposure::Own, Exposure::Fractional { q: 0.75 }] {
            let t = Instant::now();
            let model = ExposureModel::new(&g, &design, exposure).unwrap();
            let t_model = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let a = design.draw(5);
            let t_draw = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let ht = model.estimate(&a, &y, Estimator::HorvitzThompson, 0.95).unwrap();
            let t_ht = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let hajek = model.estimate(&a, &y, Estimator::Hajek, 0.95).unwrap();
            let t_hajek = t.elapsed().as_secs_f64();
            eprintln!(
                "{name}, {exposure:?}: probabilities {t_model:.2} s; draw {t_draw:.3} s; HT {t_ht:.2} s ({:?}, exposed {}+{}, τ̂ {:.3} ± {:.3}); \
                 Hájek {t_hajek:.2} s (τ̂ {:.4} ± {:.4})",
                ht.variance_method,
                ht.exposed_treated,
                ht.exposed_control,
                ht.estimate,
                ht.se,
                hajek.estimate,
                hajek.se
            );
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
        eprintln!("peak memory: {line}");
    }
}
