//! The interference simulator: checks designs and estimators before an experiment is run.
//!
//! A [`Scenario`] holds an outcome model with direct and spillover effects ([`OutcomeModel`]:
//! linear-in-means, independent cascade, linear threshold), the designs to compare
//! ([`DesignSpec`]) and a number of replications `R`. [`simulate`] finds the true global effect
//! (exact for linear-in-means, by Monte Carlo with its standard error for the diffusions), then
//! runs `R` experiments per design: draw an assignment, draw the outcomes the model gives under
//! it, estimate. Each design is paired with its estimators:
//!
//! * [`DesignSpec::Unit`] (unit randomization): the difference in means with Neyman's variance,
//!   what an analysis that ignores interference reports;
//! * [`DesignSpec::Cluster`] (graph cluster randomization, Ugander et al. 2013): the
//!   Horvitz–Thompson and Hájek estimators under an exposure condition, with exact exposure
//!   probabilities and Aronow–Samii variances;
//! * [`DesignSpec::Cascade`] (cascade-based randomization, Fatemi, Pouget-Abadie & Zheleva
//!   2024): the design's Horvitz–Thompson and Hájek estimators ([`CascadeDesign::estimate`]).
//!
//! The [`SimulationTable`] reports, per design × estimator, the bias (with its Monte Carlo
//! standard error), the variance and RMSE of the estimates, the coverage of the 95% interval and
//! the power (the share of replications whose interval excludes 0, at the model's effect: set
//! the effect size through the model's parameters). It serializes with serde.
//!
//! **Reproducibility.** Replication `r` draws design `k`'s assignment from a seed taken from
//! `cateye_stats::stream(seed, PURPOSE_DRAW, r·D + k)` and the model's randomness from
//! `stream(seed, PURPOSE_OUTCOME, r)` (the same outcome stream for every design: common random
//! numbers sharpen the comparison). Replications run in parallel with rayon and are summed in
//! replication order, so a seed gives the same table on any number of threads.

mod models;

use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cascade::{CascadeDesign, EffectInterval};
use crate::design::Design;
use crate::error::{NetworkError, Result};
use crate::estimate::{difference_in_means, Estimator};
use crate::exposure::{Exposure, ExposureModel};
use crate::generate::{barabasi_albert, stochastic_block_model, watts_strogatz};
use crate::graph::Graph;

pub use models::{ByArm, IndependentCascade, LinearInMeans, LinearThreshold, OutcomeModel, TrueEffect};

const PURPOSE_DRAW: u64 = 0x51A1_0000_0001;
const PURPOSE_OUTCOME: u64 = 0x51A1_0000_0002;
const PURPOSE_BASELINE: u64 = 0x51A1_0000_0003;
const PURPOSE_TRUTH: u64 = 0x51A1_0000_0004;
const PURPOSE_SEEDS: u64 = 0x51A1_0000_0005;

/// The confidence level of the intervals whose coverage and power the table reports.
pub const SIMULATION_LEVEL: f64 = 0.95;

/// A design to check, with the estimators that go with it.
#[derive(Debug, Clone, PartialEq)]
pub enum DesignSpec {
    /// Unit randomization (a [`Design`] of level unit; a cluster design is accepted too) analysed
    /// by the difference in means of the nodes' own arms.
    Unit(Design),
    /// Cluster randomization analysed by Horvitz–Thompson and Hájek under `exposure`.
    Cluster {
        /// The design.
        design: Design,
        /// The exposure condition defining which nodes reveal a global potential outcome.
        exposure: Exposure,
    },
    /// The cascade-based design with its Horvitz–Thompson and Hájek estimators.
    Cascade(CascadeDesign),
}

impl DesignSpec {
    /// `"unit"`, `"cluster"` or `"cascade"`.
    pub fn kind(&self) -> &'static str {
        match self {
            DesignSpec::Unit(_) => "unit",
            DesignSpec::Cluster { .. } => "cluster",
            DesignSpec::Cascade(_) => "cascade",
        }
    }

    /// The estimators the simulator runs for this design, in table order.
    pub fn estimators(&self) -> &'static [Estimator] {
        match self {
            DesignSpec::Unit(_) => &[Estimator::DifferenceInMeans],
            DesignSpec::Cluster { .. } | DesignSpec::Cascade(_) => &[Estimator::HorvitzThompson, Estimator::Hajek],
        }
    }

    fn num_nodes(&self) -> usize {
        match self {
            DesignSpec::Unit(d) | DesignSpec::Cluster { design: d, .. } => d.num_nodes(),
            DesignSpec::Cascade(d) => d.num_nodes(),
        }
    }
}

/// A named design of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignCase {
    /// The name the table gives the design's rows.
    pub name: String,
    /// The design and its estimators.
    pub spec: DesignSpec,
}

impl DesignCase {
    /// A named design.
    pub fn new(name: impl Into<String>, spec: DesignSpec) -> DesignCase {
        DesignCase { name: name.into(), spec }
    }
}

/// What to simulate: a model, the designs, how many replications.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The outcome model.
    pub model: OutcomeModel,
    /// The designs to compare.
    pub designs: Vec<DesignCase>,
    /// Replications `R` (at least 2).
    pub replications: usize,
    /// Monte Carlo runs per world for the true effect of a diffusion (at least 2; unused for
    /// linear-in-means, whose effect is exact).
    pub truth_runs: usize,
    /// The seed of every random draw.
    pub seed: u64,
}

/// The performance of one design × estimator over the replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationRow {
    /// The design's name.
    pub design: String,
    /// `"unit"`, `"cluster"` or `"cascade"`.
    pub kind: String,
    /// The estimator.
    pub estimator: Estimator,
    /// Replications in which the estimate was defined (the statistics below are over these).
    pub replications: u64,
    /// Replications in which the estimator failed (for example no node exposed to an arm, or
    /// fewer than two units in an arm).
    pub failures: u64,
    /// The true global effect.
    pub truth: f64,
    /// Mean estimate.
    pub mean_estimate: f64,
    /// Mean estimate minus the truth.
    pub bias: f64,
    /// Monte Carlo standard error of the bias: `√(variance/R + truth_se²)`.
    pub bias_mc_se: f64,
    /// Variance of the estimates across replications.
    pub variance: f64,
    /// Root mean squared error against the truth.
    pub rmse: f64,
    /// Mean estimated standard error.
    pub mean_se: f64,
    /// Share of replications whose 95% interval contains the truth (among those with an
    /// interval; NaN, written `null`, when the estimator refuses intervals under the design).
    pub coverage: f64,
    /// Monte Carlo standard error of the coverage, `√(c(1−c)/R)`.
    pub coverage_mc_se: f64,
    /// Share of replications whose 95% interval excludes 0 (power at the model's effect; the
    /// type I error rate when the effect is 0).
    pub power: f64,
}

/// The simulator's report: the truth and one row per design × estimator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationTable {
    /// The outcome model.
    pub model: OutcomeModel,
    /// The true global effect.
    pub truth: TrueEffect,
    /// Replications run.
    pub replications: u64,
    /// The seed.
    pub seed: u64,
    /// The confidence level of the intervals (0.95).
    pub level: f64,
    /// One row per design × estimator, in the order of the scenario's designs.
    pub rows: Vec<SimulationRow>,
}

impl SimulationTable {
    /// The row of design `design` and estimator `estimator`, if present.
    pub fn row(&self, design: &str, estimator: Estimator) -> Option<&SimulationRow> {
        self.rows.iter().find(|r| r.design == design && r.estimator == estimator)
    }
}

/// A seeded generated graph, as a scenario file can name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeneratedGraph {
    /// Stochastic block model ([`stochastic_block_model`]).
    StochasticBlockModel {
        /// Nodes per block.
        block_sizes: Vec<usize>,
        /// Edge probability within a block.
        p_in: f64,
        /// Edge probability between blocks.
        p_out: f64,
        /// The seed.
        seed: u64,
    },
    /// Barabási–Albert preferential attachment ([`barabasi_albert`]).
    BarabasiAlbert {
        /// Nodes.
        n: usize,
        /// Edges per new node.
        m: usize,
        /// The seed.
        seed: u64,
    },
    /// Watts–Strogatz small world ([`watts_strogatz`]).
    WattsStrogatz {
        /// Nodes.
        n: usize,
        /// Ring neighbours per node.
        k: usize,
        /// Rewiring probability.
        beta: f64,
        /// The seed.
        seed: u64,
    },
}

impl GeneratedGraph {
    /// Generates the graph.
    pub fn build(&self) -> Result<Graph> {
        match self {
            GeneratedGraph::StochasticBlockModel { block_sizes, p_in, p_out, seed } => {
                Ok(stochastic_block_model(block_sizes, *p_in, *p_out, *seed)?.graph)
            }
            GeneratedGraph::BarabasiAlbert { n, m, seed } => barabasi_albert(*n, *m, *seed),
            GeneratedGraph::WattsStrogatz { n, k, beta, seed } => watts_strogatz(*n, *k, *beta, *seed),
        }
    }
}

/// `count` distinct nodes of `0..num_nodes` drawn uniformly at random from
/// `cateye_stats::stream(seed, PURPOSE_SEEDS, 0)`, in the order drawn: cascade seed nodes for a
/// simulation when the real ones are not at hand.
pub fn random_seed_nodes(num_nodes: usize, count: usize, seed: u64) -> Result<Vec<u32>> {
    if count == 0 || count > num_nodes || num_nodes > u32::MAX as usize {
        return Err(NetworkError::invalid(format!(
            "{count} seed nodes out of {num_nodes}: expected between 1 and the number of nodes"
        )));
    }
    let mut rng = cateye_stats::stream(seed, PURPOSE_SEEDS, 0);
    let mut nodes: Vec<u32> = (0..num_nodes as u32).collect();
    for i in 0..count {
        let j = rng.random_range(i..num_nodes);
        nodes.swap(i, j);
    }
    nodes.truncate(count);
    Ok(nodes)
}

/// A design prepared for the replications (exposure probabilities computed once).
enum Prepared<'a> {
    Unit(&'a Design),
    Cluster(ExposureModel<'a>),
    Cascade(&'a CascadeDesign),
}

/// One estimate of one replication: estimate, standard error, interval.
#[derive(Clone, Copy)]
struct Draw {
    estimate: f64,
    se: f64,
    lower: f64,
    upper: f64,
}

impl From<EffectInterval> for Draw {
    fn from(e: EffectInterval) -> Draw {
        Draw { estimate: e.estimate, se: e.se, lower: e.lower, upper: e.upper }
    }
}

/// Runs the scenario on `graph` (see the module documentation).
///
/// Errors: fewer than 2 replications, no designs, a design or model that does not fit the
/// graph (node counts, seeds), fewer than 2 truth runs for a diffusion, or an exposure model
/// that cannot be built.
pub fn simulate(graph: &Graph, scenario: &Scenario) -> Result<SimulationTable> {
    let n = graph.num_nodes();
    if scenario.replications < 2 {
        return Err(NetworkError::invalid(format!(
            "{} replications: the simulator needs at least 2",
            scenario.replications
        )));
    }
    if scenario.designs.is_empty() {
        return Err(NetworkError::invalid("no designs to simulate"));
    }
    for case in &scenario.designs {
        if case.spec.num_nodes() != n {
            return Err(NetworkError::invalid(format!(
                "design {:?} has {} nodes but the graph has {n}",
                case.name,
                case.spec.num_nodes()
            )));
        }
    }
    scenario.model.validate(graph)?;
    let truth = scenario.model.true_effect(graph, scenario.truth_runs, scenario.seed, PURPOSE_TRUTH)?;
    let baselines = scenario.model.baselines(n, &mut cateye_stats::stream(scenario.seed, PURPOSE_BASELINE, 0));

    let prepared: Vec<Prepared<'_>> = scenario
        .designs
        .iter()
        .map(|case| {
            Ok(match &case.spec {
                DesignSpec::Unit(d) => Prepared::Unit(d),
                DesignSpec::Cluster { design, exposure } => {
                    Prepared::Cluster(ExposureModel::new(graph, design, *exposure)?)
                }
                DesignSpec::Cascade(d) => Prepared::Cascade(d),
            })
        })
        .collect::<Result<_>>()?;
    let num_designs = prepared.len() as u64;

    // draws[r][k][e]: replication r, design k, estimator e (None when the estimator failed).
    let draws: Vec<Vec<Vec<Option<Draw>>>> = (0..scenario.replications as u64)
        .into_par_iter()
        .map(|r| {
            prepared
                .iter()
                .zip(&scenario.designs)
                .enumerate()
                .map(|(k, (prep, case))| {
                    let draw_seed =
                        cateye_stats::stream(scenario.seed, PURPOSE_DRAW, r * num_designs + k as u64).random::<u64>();
                    let mut outcome_rng = cateye_stats::stream(scenario.seed, PURPOSE_OUTCOME, r);
                    replicate(graph, &scenario.model, &baselines, prep, &case.spec, draw_seed, &mut outcome_rng)
                })
                .collect()
        })
        .collect();

    let mut rows = Vec::new();
    for (k, case) in scenario.designs.iter().enumerate() {
        for (e, &estimator) in case.spec.estimators().iter().enumerate() {
            let values: Vec<Draw> = draws.iter().filter_map(|rep| rep[k][e]).collect();
            rows.push(summarize(case, estimator, &values, scenario.replications, &truth));
        }
    }
    Ok(SimulationTable {
        model: scenario.model.clone(),
        truth,
        replications: scenario.replications as u64,
        seed: scenario.seed,
        level: SIMULATION_LEVEL,
        rows,
    })
}

/// One replication of one design: its estimators' draws, in [`DesignSpec::estimators`] order.
fn replicate(
    graph: &Graph,
    model: &OutcomeModel,
    baselines: &[f64],
    prep: &Prepared<'_>,
    spec: &DesignSpec,
    draw_seed: u64,
    outcome_rng: &mut rand_chacha::ChaCha8Rng,
) -> Vec<Option<Draw>> {
    let from_estimate =
        |e: crate::estimate::EffectEstimate| Draw { estimate: e.estimate, se: e.se, lower: e.ci[0], upper: e.ci[1] };
    match prep {
        Prepared::Unit(design) => {
            let assignment = design.draw(draw_seed);
            let treated: Vec<bool> = assignment.nodes().iter().map(|&z| z == 1).collect();
            let y = model.outcomes_unchecked(graph, &treated, baselines, outcome_rng);
            vec![difference_in_means(assignment.nodes(), &y, SIMULATION_LEVEL).ok().map(from_estimate)]
        }
        Prepared::Cluster(exposure) => {
            let assignment = exposure.design().draw(draw_seed);
            let treated: Vec<bool> = assignment.nodes().iter().map(|&z| z == 1).collect();
            let y = model.outcomes_unchecked(graph, &treated, baselines, outcome_rng);
            spec.estimators()
                .iter()
                .map(|&est| exposure.estimate(&assignment, &y, est, SIMULATION_LEVEL).ok().map(from_estimate))
                .collect()
        }
        Prepared::Cascade(design) => {
            let assignment = design.assign(draw_seed, 0);
            let y = model.outcomes_unchecked(graph, &assignment.treated, baselines, outcome_rng);
            match design.estimate(&assignment.treated, &y) {
                Ok(e) => vec![Some(e.horvitz_thompson.into()), Some(e.hajek.into())],
                Err(_) => vec![None, None],
            }
        }
    }
}

fn summarize(
    case: &DesignCase,
    estimator: Estimator,
    values: &[Draw],
    replications: usize,
    truth: &TrueEffect,
) -> SimulationRow {
    let k = values.len() as f64;
    let mean = values.iter().map(|d| d.estimate).sum::<f64>() / k;
    let variance = if values.len() > 1 {
        values.iter().map(|d| (d.estimate - mean).powi(2)).sum::<f64>() / (k - 1.0)
    } else {
        f64::NAN
    };
    let mse = values.iter().map(|d| (d.estimate - truth.effect).powi(2)).sum::<f64>() / k;
    // An estimator that refuses intervals (no valid variance under the design) has no coverage
    // or power: NaN, not 0.
    let with_interval = values.iter().filter(|d| d.lower.is_finite() && d.upper.is_finite()).count();
    let share = |hit: usize| if with_interval == 0 { f64::NAN } else { hit as f64 / with_interval as f64 };
    let coverage = share(values.iter().filter(|d| d.lower <= truth.effect && truth.effect <= d.upper).count());
    let power = share(values.iter().filter(|d| d.lower > 0.0 || d.upper < 0.0).count());
    SimulationRow {
        design: case.name.clone(),
        kind: case.spec.kind().to_string(),
        estimator,
        replications: values.len() as u64,
        failures: (replications - values.len()) as u64,
        truth: truth.effect,
        mean_estimate: mean,
        bias: mean - truth.effect,
        bias_mc_se: (variance / k + truth.mc_se * truth.mc_se).sqrt(),
        variance,
        rmse: mse.sqrt(),
        mean_se: values.iter().map(|d| d.se).sum::<f64>() / k,
        coverage,
        coverage_mc_se: (coverage * (1.0 - coverage) / with_interval as f64).sqrt(),
        power,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cascade::CascadeOptions;

    fn small_world() -> Graph {
        GeneratedGraph::WattsStrogatz { n: 400, k: 4, beta: 0.1, seed: 2 }.build().unwrap()
    }

    fn threshold_model(seeds: Vec<u32>) -> OutcomeModel {
        OutcomeModel::LinearThreshold(LinearThreshold {
            seeds,
            seed_adoption: ByArm { treated: 0.9, control: 0.6 },
            susceptibility: ByArm { treated: 1.5, control: 0.8 },
        })
    }

    #[test]
    fn a_threshold_scenario_runs_every_design() {
        let g = small_world();
        let seeds = random_seed_nodes(400, 12, 1).unwrap();
        let labels: Vec<u32> = (0..400u32).map(|i| i / 20).collect();
        let scenario = Scenario {
            model: threshold_model(seeds.clone()),
            designs: vec![
                DesignCase::new("unit", DesignSpec::Unit(Design::unit_bernoulli(400, 0.5).unwrap())),
                DesignCase::new(
                    "cluster",
                    DesignSpec::Cluster {
                        design: Design::cluster_complete(&labels, 0.5).unwrap(),
                        exposure: Exposure::Fractional { q: 0.75 },
                    },
                ),
                DesignCase::new(
                    "cascade",
                    DesignSpec::Cascade(CascadeDesign::new(&g, &seeds, &CascadeOptions::new(2)).unwrap()),
                ),
            ],
            replications: 40,
            truth_runs: 100,
            seed: 5,
        };
        let t = simulate(&g, &scenario).unwrap();
        assert_eq!(t.rows.len(), 5);
        assert!(t.truth.effect > 0.0 && t.truth.mc_se > 0.0);
        for r in &t.rows {
            assert_eq!(r.replications + r.failures, 40);
            assert!(r.rmse.is_finite() && r.rmse >= r.bias.abs() - 1e-15, "{r:?}");
            assert!(r.coverage.is_nan() || (0.0..=1.0).contains(&r.coverage) && (0.0..=1.0).contains(&r.power));
        }
        assert!(t.row("cascade", Estimator::Hajek).is_some());
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"linear_threshold\""), "{json}");
    }

    #[test]
    fn bad_scenarios_are_named() {
        let g = small_world();
        let mut scenario = Scenario {
            model: threshold_model(vec![3]),
            designs: vec![DesignCase::new("unit", DesignSpec::Unit(Design::unit_bernoulli(400, 0.5).unwrap()))],
            replications: 1,
            truth_runs: 10,
            seed: 0,
        };
        let err = |s: &Scenario| simulate(&g, s).unwrap_err().to_string();
        assert!(err(&scenario).contains("1 replications"));
        scenario.replications = 10;
        scenario.designs = vec![DesignCase::new("small", DesignSpec::Unit(Design::unit_bernoulli(300, 0.5).unwrap()))];
        assert!(err(&scenario).contains("design \"small\" has 300 nodes"));
        scenario.designs = vec![DesignCase::new("unit", DesignSpec::Unit(Design::unit_bernoulli(400, 0.5).unwrap()))];
        scenario.truth_runs = 1;
        assert!(err(&scenario).contains("1 Monte Carlo runs"));
        scenario.model = threshold_model(vec![400]);
        assert!(err(&scenario).contains("seed 400"));
        scenario.designs.clear();
        assert!(err(&scenario).contains("no designs"));
        assert!(random_seed_nodes(5, 6, 0).is_err());
        assert!(random_seed_nodes(5, 0, 0).is_err());
        let s = random_seed_nodes(50, 50, 3).unwrap();
        let mut sorted = s.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<u32>>());
    }
}
