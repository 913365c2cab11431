//! The network demo: an experiment on a generated social graph with spillovers, run through
//! the whole life cycle (graph → design → outcomes → estimates) and the simulator, with the
//! truth known.
//!
//! The graph is a stochastic block model of 40 communities of 50 units (edge probability 0.2
//! within a community, 0.001 between). Outcomes follow a linear-in-means model,
//! `Y_i = α_i + τ·Z_i + γ·(share of i's neighbours treated) + ε_i` with `τ = 1` and `γ = 0.5`,
//! so the global effect (everyone treated against no one) is `τ + γ = 1.5`, while a difference
//! in means under unit randomization sees about `τ` only.

use super::{design, network_effect, DesignPlan, DesignReport, DesignSpec, EffectSpec, NetworkEffect};
use crate::error::{Error, Result};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, UInt32Array, UInt8Array};
use arrow::datatypes::{DataType, Field, Schema};
use cateye_io::{OutputDir, Source};
use cateye_network::{
    load_graph, simulate, stochastic_block_model, ClusterMethod, Design, DesignCase, DesignSpec as SimulatedDesign,
    EdgeColumns, Exposure, Graph, LinearInMeans, LoadedGraph, LouvainConfig, OutcomeModel, Randomization, Scenario,
    SimulationTable,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Communities of the demo graph.
pub const DEMO_BLOCKS: usize = 40;
/// Units per community.
pub const DEMO_BLOCK_SIZE: usize = 50;
/// Replications of the demo's simulation of designs.
pub const DEMO_REPLICATIONS: usize = 500;

/// The outcome model of the demo.
pub fn demo_model() -> LinearInMeans {
    LinearInMeans { baseline_mean: 10.0, baseline_sd: 1.0, direct: 1.0, spillover: 0.5, noise_sd: 0.3 }
}

/// What the demo did: its files, the design, the estimates and the simulation of designs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkDemo {
    /// The edge list written (`source`, `target`: integer ids).
    pub edges: PathBuf,
    /// The design's output folder.
    pub design_dir: PathBuf,
    /// The outcome table written (`unit`, `y`, and the design's `treated` and `cluster`).
    pub outcomes: PathBuf,
    /// A unit-randomized experiment on the same units without interference, for the label-DP
    /// jobs: `unit`, `community` (the graph's planted community: a non-sensitive cluster),
    /// `treated`, `y` (effect [`PRIVATE_EFFECT`]).
    pub private: PathBuf,
    /// The true global effect.
    pub truth: f64,
    /// The design drawn.
    pub design: DesignReport,
    /// The estimates from the one experiment.
    pub effect: NetworkEffect,
    /// Unit and cluster randomization compared over replications of the design.
    pub simulation: SimulationTable,
}

/// The effect of treatment in the demo's `private.parquet`.
pub const PRIVATE_EFFECT: f64 = 1.0;

/// Writes `private.parquet`: every unit randomized on its own with probability 1/2, outcome
/// `10 + c_b + 1·Z + ε` with a community effect `c_b ~ N(0, 1)` and noise `ε ~ N(0, 0.3²)`, so
/// communities are homogeneous clusters (the setting where Cluster-DP beats its cluster-free
/// version).
fn write_private_table(path: &Path, blocks: &[u32], seed: u64) -> Result<()> {
    use rand::RngExt;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = cateye_stats::stream(seed, 0x6E65_7470_7269_7600, 0);
    let communities = blocks.iter().copied().max().map_or(0, |b| b as usize + 1);
    let effects: Vec<f64> = (0..communities).map(|_| StandardNormal.sample(&mut rng)).collect();
    let treated: Vec<u8> = blocks.iter().map(|_| u8::from(rng.random::<f64>() < 0.5)).collect();
    let y: Vec<f64> = blocks
        .iter()
        .zip(&treated)
        .map(|(&b, &z)| {
            let noise: f64 = StandardNormal.sample(&mut rng);
            10.0 + effects[b as usize] + PRIVATE_EFFECT * f64::from(z) + 0.3 * noise
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("unit", DataType::Int64, false),
        Field::new("community", DataType::UInt32, false),
        Field::new("treated", DataType::UInt8, false),
        Field::new("y", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..blocks.len() as i64)),
        Arc::new(UInt32Array::from(blocks.to_vec())),
        Arc::new(UInt8Array::from(treated)),
        Arc::new(Float64Array::from(y)),
    ];
    let table =
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::invalid("demo table", e.to_string()))?;
    cateye_io::write_batches(path, schema, [table])?;
    Ok(())
}

/// The edge list of `graph` as a table of integer ids.
fn edge_table(graph: &Graph) -> Result<RecordBatch> {
    let (mut source, mut target) = (Vec::new(), Vec::new());
    for i in 0..graph.num_nodes() {
        for &j in graph.neighbors(i).iter().filter(|&&j| j as usize > i) {
            source.push(i as i64);
            target.push(j as i64);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Int64, false),
        Field::new("target", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(source)), Arc::new(Int64Array::from(target))];
    RecordBatch::try_new(schema, columns).map_err(|e| Error::invalid("demo edges", e.to_string()))
}

/// Generates the demo graph into `dir`, designs the experiment (Louvain clusters, complete
/// randomization of half of them), simulates its outcomes under the drawn assignment, estimates
/// the effect, and compares unit with cluster randomization over [`DEMO_REPLICATIONS`]
/// replications. Writes `edges.parquet`, `design/`, `outcomes.parquet`, `effect.json` and
/// `simulation.json`.
pub fn network_demo(dir: &Path, seed: u64) -> Result<NetworkDemo> {
    let net = |e| Error::fit("network demo", e);
    std::fs::create_dir_all(dir).map_err(|e| cateye_io::IoError::write(dir, e))?;
    let planted = stochastic_block_model(&[DEMO_BLOCK_SIZE; DEMO_BLOCKS], 0.2, 0.001, seed).map_err(net)?;
    let blocks = planted.blocks;
    let graph = planted.graph;
    let edges_path = dir.join("edges.parquet");
    let edges = edge_table(&graph)?;
    cateye_io::write_batches(&edges_path, edges.schema(), [edges])?;

    let edges_source = Source::open(&edges_path)?;
    let method = ClusterMethod::Louvain(LouvainConfig { seed: Some(seed), ..LouvainConfig::default() });
    let spec = DesignSpec {
        columns: EdgeColumns::default(),
        plan: DesignPlan::Cluster { method },
        randomization: Randomization::Complete,
        per_stratum: 4,
        p: 0.5,
        seed,
    };
    let run = design(&edges_source, None, &spec)?;
    let design_dir = dir.join("design");
    run.write(
        &mut OutputDir::prepare(&design_dir, vec!["cateye".into(), "network-demo".into()], &[])?,
        "assignment.parquet",
    )?;

    // The units are the nodes of the edge list (an isolated node of the generated graph is not
    // one), in the order the design's graph numbers them: the assignment table's rows.
    let LoadedGraph { graph, ids, .. } = load_graph(&edges_source, &EdgeColumns::default(), None).map_err(net)?;
    let drawn = run.assignment.column(2).as_any().downcast_ref::<UInt8Array>().expect("0/1 column");
    let treated: Vec<bool> = (0..drawn.len()).map(|row| drawn.value(row) == 1).collect();
    let model = OutcomeModel::LinearInMeans(demo_model());
    let mut rng = cateye_stats::stream(seed, 0x6E65_7464_656D_6F00, 0);
    let baselines = model.baselines(graph.num_nodes(), &mut rng);
    let y = model.outcomes(&graph, &treated, &baselines, &mut rng).map_err(net)?;
    let outcomes_path = dir.join("outcomes.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("unit", DataType::Int64, false),
        Field::new("y", DataType::Float64, false),
        Field::new("treated", DataType::UInt8, false),
        Field::new("cluster", DataType::UInt32, false),
    ]));
    let table = RecordBatch::try_new(
        schema.clone(),
        vec![
            ids.to_array(),
            Arc::new(Float64Array::from(y)),
            run.assignment.column(2).clone(),
            run.assignment.column(1).clone(),
        ],
    )
    .map_err(|e| Error::invalid("demo outcomes", e.to_string()))?;
    cateye_io::write_batches(&outcomes_path, schema, [table])?;

    let effect = network_effect(
        &edges_source,
        &Source::open(&design_dir.join("assignment.parquet"))?,
        &run.report,
        &Source::open(&outcomes_path)?,
        &EffectSpec {
            columns: EdgeColumns::default(),
            unit: "unit".into(),
            outcome: "y".into(),
            exposure: Exposure::Full,
            level: 0.95,
        },
    )?;
    cateye_io::write_json(&dir.join("effect.json"), &effect)?;

    // The simulator: the same graph and model, the designs re-drawn in every replication.
    let labels =
        run.assignment.column(1).as_any().downcast_ref::<UInt32Array>().expect("cluster column").values().to_vec();
    let scenario = Scenario {
        model,
        designs: vec![
            DesignCase::new("unit", SimulatedDesign::Unit(Design::unit_complete(graph.num_nodes(), 0.5).map_err(net)?)),
            DesignCase::new(
                "cluster",
                SimulatedDesign::Cluster {
                    design: Design::cluster_complete(&labels, 0.5).map_err(net)?,
                    exposure: Exposure::Full,
                },
            ),
        ],
        replications: DEMO_REPLICATIONS,
        truth_runs: 2,
        seed,
    };
    let simulation = simulate(&graph, &scenario).map_err(net)?;
    cateye_io::write_json(&dir.join("simulation.json"), &simulation)?;
    let private = dir.join("private.parquet");
    write_private_table(&private, &blocks, seed)?;
    let m = demo_model();
    Ok(NetworkDemo {
        private,
        edges: edges_path,
        design_dir,
        outcomes: outcomes_path,
        truth: m.direct + m.spillover,
        design: run.report,
        effect,
        simulation,
    })
}
