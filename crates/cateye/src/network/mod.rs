//! Experiments under network interference as jobs on tables (see [`cateye_network`]): before
//! the experiment, [`design`] reads the graph's edge list, clusters it (or grows cascade
//! territories from known seeds) and draws a seeded assignment; after it, [`network_effect`]
//! reads the same graph, the assignment and the outcomes and estimates the global average
//! treatment effect with Horvitz–Thompson and Hájek estimators under an exposure condition,
//! beside the difference in means that ignores interference.
//!
//! A design's output is a folder: `assignment.parquet` (unit id, cluster, treated: what the
//! platform serves) and `design.json` ([`DesignReport`]: the graph, the clustering and its
//! quality, the randomization). `network-effect` reads both back, so the estimator always uses
//! the design that drew the assignment.

mod demo;

pub use demo::{
    demo_model, network_demo, NetworkDemo, DEMO_BLOCKS, DEMO_BLOCK_SIZE, DEMO_REPLICATIONS, PRIVATE_EFFECT,
};

use crate::error::{Error, Result};
use arrow::array::{ArrayRef, RecordBatch, UInt32Array, UInt8Array};
use arrow::datatypes::{Field, Schema, SchemaRef};
use cateye_io::{read_numeric, Source};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use cateye_network::{
    cluster, load_graph, rows_to_nodes, simulate, size_strata, Assignment, CascadeDesign, Design, DesignCase,
    DesignSpec as SimulatedDesign, ExposureModel, LoadedGraph, NodeId, NodeIds, NodeList, OutcomeModel, Scenario,
};
pub use cateye_network::{
    CascadeOptions, CascadeSummary, ClusterMethod, ClusterQuality, DesignSummary, EdgeColumns, EdgeReport,
    EffectEstimate, Estimator, Exposure, LinearInMeans, LouvainConfig, Randomization, ReldgConfig, Remainder,
    SimulationRow, SimulationTable, UnitDraw,
};

/// Version of `design.json` and `effect.json`.
pub const NETWORK_SCHEMA_VERSION: u32 = 1;

/// Which units are randomized together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DesignPlan {
    /// Every unit on its own (the baseline interference biases).
    Unit,
    /// Graph cluster randomization (Ugander et al. 2013): clusters of the graph.
    Cluster {
        /// The clustering algorithm and its settings.
        method: ClusterMethod,
    },
    /// Cascade-based randomization: territories of known cascade seeds within `radius` hops.
    Cascade {
        /// The seed nodes' ids, as written in the edge list.
        seeds: Vec<String>,
        /// Hops over which a seed's arm propagates.
        radius: u32,
        /// What becomes of nodes beyond every seed's radius.
        remainder: Remainder,
    },
}

/// What [`design`] builds.
#[derive(Debug, Clone)]
pub struct DesignSpec {
    /// The edge list's columns.
    pub columns: EdgeColumns,
    /// The units randomized together.
    pub plan: DesignPlan,
    /// How the randomized groups are drawn.
    pub randomization: Randomization,
    /// Clusters per stratum of similar size (stratified randomization only).
    pub per_stratum: usize,
    /// Probability of treatment (the treated share under complete randomization).
    pub p: f64,
    /// Seed of the clustering's visiting order and of the draw.
    pub seed: u64,
}

/// The summary `design.json` holds: enough to rebuild the design exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DesignReport {
    /// What the edge list gave and what loading did to it (duplicates merged, isolated nodes).
    pub graph: GraphReport,
    /// The plan (clustering method, or cascade seeds).
    pub plan: DesignPlan,
    /// Randomization of the groups.
    pub randomization: Randomization,
    /// Clusters per stratum (stratified randomization).
    pub per_stratum: usize,
    /// The design: level, probability, number and sizes of clusters.
    pub design: DesignSummary,
    /// Quality of the clusters as a design (cut fraction, modularity, size spread).
    pub quality: ClusterQuality,
    /// The cascade territories (cascade plans).
    pub cascade: Option<CascadeSummary>,
    /// Units treated by the draw.
    pub treated_units: usize,
    /// The seed of the clustering's visiting order and of the draw: with the plan and the edge
    /// list it reproduces the assignment.
    pub seed: u64,
    /// Expected share of units fully exposed to treatment (the unit and all its neighbours
    /// treated) under the design: the mean exposure probability. A unit whose neighbourhood
    /// spans many clusters is rarely fully exposed, and the estimators see only exposed units.
    pub expected_exposed_treated: f64,
    /// Expected share of units fully exposed to control.
    pub expected_exposed_control: f64,
    /// Seconds taken: loading, clustering, drawing.
    pub seconds: Timings,
}

/// The graph as loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GraphReport {
    /// Nodes.
    pub nodes: usize,
    /// Distinct undirected edges kept.
    pub edges: u64,
    /// The loading report.
    pub edge_report: EdgeReport,
}

/// Seconds per stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    /// Reading the edge list and building the graph.
    pub load: f64,
    /// Clustering (or growing the cascade territories).
    pub cluster: f64,
    /// Exposure probabilities and the draw.
    pub draw: f64,
}

/// A drawn design: the assignment table and its summary.
#[derive(Debug)]
pub struct DesignRun {
    /// The table `assignment.parquet`: unit id, cluster, treated (0/1).
    pub assignment: RecordBatch,
    /// The summary `design.json`.
    pub report: DesignReport,
}

/// The design of `plan` randomized by `randomization` over cluster `labels`.
fn design_of(
    plan: &DesignPlan,
    randomization: Randomization,
    per_stratum: usize,
    p: f64,
    labels: &[u32],
) -> cateye_network::Result<Design> {
    match (plan, randomization) {
        (DesignPlan::Unit, Randomization::Bernoulli) => Design::unit_bernoulli(labels.len(), p),
        (DesignPlan::Unit, Randomization::Complete) => Design::unit_complete(labels.len(), p),
        (DesignPlan::Unit, Randomization::Stratified) => Err(cateye_network::NetworkError::invalid(
            "stratified randomization strata clusters by size; a unit design has none: use bernoulli or complete",
        )),
        (_, Randomization::Bernoulli) => Design::cluster_bernoulli(labels, p),
        (_, Randomization::Complete) => Design::cluster_complete(labels, p),
        (_, Randomization::Stratified) => {
            let sizes = cateye_network::cluster_sizes(labels)?;
            Design::cluster_stratified(labels, &size_strata(&sizes, per_stratum)?, p)
        }
    }
}

fn seconds(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Reads the graph, clusters it per `spec` and draws the assignment. `nodes`, when given, is a
/// table and its column of the experiment's units: every unit is a node (units without an edge
/// are kept, randomized as clusters of their own, and counted in the report), and an edge
/// naming a unit not in it is an error. Without it the units are the nodes of the edge list.
pub fn design(edges: &Source, nodes: Option<(&Source, &str)>, spec: &DesignSpec) -> Result<DesignRun> {
    let input = edges.label();
    let net = |e| Error::fit(input, e);
    let t = std::time::Instant::now();
    let list = nodes.map(|(table, column)| NodeList { table, column });
    let LoadedGraph { graph, ids, report: edge_report } = load_graph(edges, &spec.columns, list).map_err(net)?;
    let load = seconds(t);
    let t = std::time::Instant::now();
    let mut cascade = None;
    let labels: Vec<u32> = match &spec.plan {
        DesignPlan::Unit => (0..graph.num_nodes() as u32).collect(),
        DesignPlan::Cluster { method } => cluster(&graph, method).map_err(net)?.into_labels(),
        DesignPlan::Cascade { seeds, radius, remainder } => {
            let nodes = seed_nodes(&ids, seeds).map_err(|m| Error::invalid(input, m))?;
            let options = CascadeOptions {
                radius: *radius,
                treated_fraction: spec.p,
                draw: if spec.randomization == Randomization::Bernoulli {
                    UnitDraw::Bernoulli
                } else {
                    UnitDraw::Complete
                },
                remainder: remainder.clone(),
                ..CascadeOptions::new(*radius)
            };
            let design = CascadeDesign::new(&graph, &nodes, &options).map_err(net)?;
            cascade = Some(design.summary());
            design.units().to_vec()
        }
    };
    let cluster_seconds = seconds(t);
    let t = std::time::Instant::now();
    let built = design_of(&spec.plan, spec.randomization, spec.per_stratum, spec.p, &labels).map_err(net)?;
    let assignment = built.draw(spec.seed);
    let model = ExposureModel::new(&graph, &built, Exposure::Full).map_err(net)?;
    let probabilities = model.probabilities();
    let mean = |p: &[f64]| p.iter().sum::<f64>() / p.len().max(1) as f64;
    let quality =
        ClusterQuality::compute(&graph, &cateye_network::Clustering::from_labels(labels.clone())).map_err(net)?;
    let report = DesignReport {
        graph: GraphReport { nodes: graph.num_nodes(), edges: graph.num_edges(), edge_report },
        plan: spec.plan.clone(),
        randomization: spec.randomization,
        per_stratum: spec.per_stratum,
        design: built.summary(),
        quality,
        cascade,
        treated_units: assignment.treated_nodes(),
        seed: spec.seed,
        expected_exposed_treated: mean(&probabilities.treated),
        expected_exposed_control: mean(&probabilities.control),
        seconds: Timings { load, cluster: cluster_seconds, draw: seconds(t) },
    };
    let table = assignment_table(&ids, built.labels(), assignment.nodes()).map_err(|m| Error::invalid(input, m))?;
    Ok(DesignRun { assignment: table, report })
}

/// The node indices of the seeds' ids, naming an id that is not in the graph or given twice.
fn seed_nodes(ids: &NodeIds, seeds: &[String]) -> std::result::Result<Vec<u32>, String> {
    let mut nodes = Vec::with_capacity(seeds.len());
    for s in seeds {
        let id = match ids.as_ints() {
            Some(_) => {
                NodeId::Int(s.parse::<i64>().map_err(|_| format!("cascade seed '{s}': the node ids are integers"))?)
            }
            None => NodeId::Str(s),
        };
        let node = ids.index_of(id).ok_or_else(|| format!("cascade seed '{s}' is not a node of the edge list"))?;
        if nodes.contains(&node) {
            return Err(format!("cascade seed '{s}' is given twice"));
        }
        nodes.push(node);
    }
    Ok(nodes)
}

/// The schema of `assignment.parquet` for node ids like `ids`.
fn assignment_table(ids: &NodeIds, labels: &[u32], treated: &[u8]) -> std::result::Result<RecordBatch, String> {
    let id = ids.to_array();
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("unit", id.data_type().clone(), false),
        Field::new("cluster", arrow::datatypes::DataType::UInt32, false),
        Field::new("treated", arrow::datatypes::DataType::UInt8, false),
    ]));
    let columns: Vec<ArrayRef> =
        vec![id, Arc::new(UInt32Array::from(labels.to_vec())), Arc::new(UInt8Array::from(treated.to_vec()))];
    RecordBatch::try_new(schema, columns).map_err(|e| e.to_string())
}

impl DesignRun {
    /// Writes `assignment.parquet` (or `.csv` by `table`'s extension) and `design.json` into
    /// `out`, replacing an earlier run's files all together.
    pub fn write(&self, out: &mut cateye_io::OutputDir, table: &str) -> Result<Vec<std::path::PathBuf>> {
        let path = out.stage(table, NETWORK_SCHEMA_VERSION)?;
        cateye_io::write_batches(&path, self.assignment.schema(), [self.assignment.clone()])?;
        let path = out.stage("design.json", NETWORK_SCHEMA_VERSION)?;
        cateye_io::write_json(&path, &self.report)?;
        Ok(out.commit()?)
    }
}

/// What [`network_effect`] reads.
#[derive(Debug, Clone)]
pub struct EffectSpec {
    /// The edge list's columns (the design's graph).
    pub columns: EdgeColumns,
    /// The unit id column of the outcome table.
    pub unit: String,
    /// The outcome column.
    pub outcome: String,
    /// The exposure condition that counts as "under treatment" and "under control".
    pub exposure: Exposure,
    /// Level of the intervals.
    pub level: f64,
}

/// The estimates `effect.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkEffect {
    /// The exposure condition.
    pub exposure: Exposure,
    /// The design the assignment was drawn from.
    pub design: DesignSummary,
    /// Hájek, Horvitz–Thompson and (ignoring interference, for comparison) the difference in
    /// means.
    pub estimates: Vec<EffectEstimate>,
    /// Estimators that gave no estimate here, with the reason (for example Horvitz–Thompson
    /// under a design without a valid variance estimator for it).
    pub not_reported: Vec<String>,
    /// Units of the graph and rows of the outcome table.
    pub units: usize,
}

/// A design read back: the graph (numbered as the assignment table lists the units), the
/// design rebuilt from `design.json` and the cluster labels, and the drawn assignment.
struct DrawnDesign {
    graph: cateye_network::Graph,
    ids: NodeIds,
    design: Design,
    drawn: Assignment,
}

fn net_error(label: &str) -> impl Fn(cateye_network::NetworkError) -> Error + '_ {
    move |e| Error::fit(label, e)
}

/// An error when `rows` leaves a node of the graph without a row of `table`.
fn check_every_node(rows: &cateye_network::RowNodes, ids: &NodeIds, table: &Source) -> Result<()> {
    if let Some(node) = rows.row_of_node.iter().position(Option::is_none) {
        let id = ids.get(node).map(|id| id.to_string()).unwrap_or_default();
        return Err(Error::invalid(
            table.label(),
            format!(
                "{} units of the graph have no row (the first: '{id}'); expected one row per unit",
                rows.nodes_without_row()
            ),
        ));
    }
    Ok(())
}

/// Reads the design `report` drew: the edge list, with the assignment table's units as the
/// node list (so isolated units keep their place), checked against the graph the design read.
fn read_design(
    edges: &Source,
    columns: &EdgeColumns,
    assignment: &Source,
    report: &DesignReport,
) -> Result<DrawnDesign> {
    let units = NodeList { table: assignment, column: "unit" };
    let LoadedGraph { graph, ids, .. } = load_graph(edges, columns, Some(units)).map_err(net_error(edges.label()))?;
    if graph.num_nodes() != report.graph.nodes || graph.num_edges() != report.graph.edges {
        return Err(Error::invalid(
            edges.label(),
            format!(
                "{} nodes and {} edges, but the design was drawn on a graph of {} nodes and {} edges: \
                 give the edge list the design read",
                graph.num_nodes(),
                graph.num_edges(),
                report.graph.nodes,
                report.graph.edges
            ),
        ));
    }
    let n = graph.num_nodes();
    let rows = rows_to_nodes(&ids, assignment, "unit").map_err(net_error(assignment.label()))?;
    check_every_node(&rows, &ids, assignment)?;
    let columns = read_numeric(assignment, &[("cluster", "cluster"), ("treated", "treatment")])?;
    crate::columns::check_binary(assignment.label(), "treated", "treatment", &columns[1])?;
    let mut labels = vec![0u32; n];
    let mut treated = vec![0u8; n];
    for (row, &node) in rows.node_of_row.iter().enumerate() {
        let (cluster, arm) = (columns[0][row], columns[1][row]);
        if !(cluster >= 0.0 && cluster <= u32::MAX as f64 && cluster.fract() == 0.0) {
            return Err(Error::invalid(
                assignment.label(),
                format!("column 'cluster': row {} (1-based) is {cluster}; expected a cluster number", row + 1),
            ));
        }
        labels[node as usize] = cluster as u32;
        treated[node as usize] = arm as u8;
    }
    let design = design_of(&report.plan, report.randomization, report.per_stratum, report.design.p, &labels)
        .map_err(net_error(assignment.label()))?;
    let drawn = Assignment::from_nodes(&design, &treated).map_err(net_error(assignment.label()))?;
    Ok(DrawnDesign { graph, ids, design, drawn })
}

/// Estimates the global average treatment effect from the graph (`edges`), the design's
/// assignment table and report, and the outcomes (one row per unit of the graph).
pub fn network_effect(
    edges: &Source,
    assignment: &Source,
    report: &DesignReport,
    outcomes: &Source,
    spec: &EffectSpec,
) -> Result<NetworkEffect> {
    let DrawnDesign { graph, ids, design, drawn } = read_design(edges, &spec.columns, assignment, report)?;
    let n = graph.num_nodes();
    // The outcomes: one row per node.
    let rows = rows_to_nodes(&ids, outcomes, &spec.unit).map_err(net_error(outcomes.label()))?;
    check_every_node(&rows, &ids, outcomes)?;
    let y_rows = read_numeric(outcomes, &[(&spec.outcome, "outcome")])?.remove(0);
    let mut y = vec![0.0; n];
    for (row, &node) in rows.node_of_row.iter().enumerate() {
        let v = y_rows[row];
        if !v.is_finite() {
            return Err(Error::invalid(
                outcomes.label(),
                format!(
                    "column '{}' (outcome): row {} (1-based) is {v}; expected a finite number",
                    spec.outcome,
                    row + 1
                ),
            ));
        }
        y[node as usize] = v;
    }
    let model = ExposureModel::new(&graph, &design, spec.exposure).map_err(net_error(edges.label()))?;
    // Hájek is the primary estimate: its failure is the job's. Horvitz–Thompson may have no
    // valid variance under some designs; its refusal is reported beside the others.
    let mut estimates =
        vec![model.estimate(&drawn, &y, Estimator::Hajek, spec.level).map_err(net_error(outcomes.label()))?];
    let mut not_reported = Vec::new();
    for estimator in [Estimator::HorvitzThompson, Estimator::DifferenceInMeans] {
        match model.estimate(&drawn, &y, estimator, spec.level) {
            Ok(e) => estimates.push(e),
            Err(e) => not_reported.push(format!("{estimator:?}: {e}")),
        }
    }
    Ok(NetworkEffect { exposure: spec.exposure, design: design.summary(), estimates, not_reported, units: n })
}

/// What [`simulate_design`] simulates.
#[derive(Debug, Clone)]
pub struct SimulateSpec {
    /// The edge list's columns (the design's graph).
    pub columns: EdgeColumns,
    /// The outcome model: direct effect, spillover, baseline and noise spread.
    pub model: LinearInMeans,
    /// The exposure condition of the design's estimators.
    pub exposure: Exposure,
    /// Replications of each design.
    pub replications: usize,
    /// Seed of the outcomes and the re-drawn designs.
    pub seed: u64,
}

/// Checks a design before it runs: on the design's own graph, with linear-in-means outcomes
/// (`spec.model`), re-draws the design and a unit-randomized design of the same probability
/// `spec.replications` times each and reports, per design × estimator, bias, variance, RMSE,
/// coverage of the 95% interval and power at the model's effect ([`cateye_network::simulate`]).
pub fn simulate_design(
    edges: &Source,
    assignment: &Source,
    report: &DesignReport,
    spec: &SimulateSpec,
) -> Result<SimulationTable> {
    let DrawnDesign { graph, design, .. } = read_design(edges, &spec.columns, assignment, report)?;
    let net = net_error(edges.label());
    let p = report.design.p;
    let unit = match report.randomization {
        Randomization::Bernoulli => Design::unit_bernoulli(graph.num_nodes(), p),
        _ => Design::unit_complete(graph.num_nodes(), p),
    }
    .map_err(&net)?;
    let name = match &report.plan {
        DesignPlan::Unit => "this design",
        DesignPlan::Cluster { .. } => "cluster",
        DesignPlan::Cascade { .. } => "cascade",
    };
    let scenario = Scenario {
        model: OutcomeModel::LinearInMeans(spec.model.clone()),
        designs: vec![
            DesignCase::new("unit", SimulatedDesign::Unit(unit)),
            DesignCase::new(name, SimulatedDesign::Cluster { design, exposure: spec.exposure }),
        ],
        replications: spec.replications,
        truth_runs: 2,
        seed: spec.seed,
    };
    simulate(&graph, &scenario).map_err(net)
}
