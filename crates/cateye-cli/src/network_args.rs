//! Arguments of `cateye design` and `cateye network-effect`: randomized designs under network
//! interference and the effects estimated from them.

use crate::args::UnitFormat;
use cateye::network::{
    ClusterMethod, DesignPlan, DesignSpec, EdgeColumns, EffectSpec, Exposure, LinearInMeans, LouvainConfig,
    Randomization, ReldgConfig, Remainder, SimulateSpec,
};
use cateye::{Error, Result};
use clap::Args;
use std::path::PathBuf;

/// The edge list's file and columns, shared by both commands.
#[derive(Args)]
pub struct EdgeArgs {
    /// Edge list: Parquet, CSV or Arrow IPC, one row per undirected edge (integer or string
    /// node ids; duplicates are merged and counted, self-loops refused).
    #[arg(long)]
    pub edges: PathBuf,
    /// Column of the edges' first node.
    #[arg(long, default_value = "source")]
    pub source: String,
    /// Column of the edges' second node.
    #[arg(long, default_value = "target")]
    pub target: String,
    /// Column of edge weights (positive), used by the clustering [default: none: every edge weighs 1].
    #[arg(long)]
    pub weight: Option<String>,
}

impl EdgeArgs {
    /// The edge list's columns.
    pub fn columns(&self) -> EdgeColumns {
        EdgeColumns { source: self.source.clone(), target: self.target.clone(), weight: self.weight.clone() }
    }
}

/// The unit of randomization.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Method {
    /// Graph cluster randomization (Ugander et al. 2013): clusters of the graph.
    Cluster,
    /// Cascade-based randomization: the territories of known cascade seeds.
    Cascade,
    /// Every unit on its own (the baseline that interference biases).
    Unit,
}

/// The clustering algorithm of a cluster design.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Clusterer {
    /// Louvain modularity maximisation (Blondel et al. 2008), optionally with a size cap.
    Louvain,
    /// Restreaming linear deterministic greedy into --clusters balanced parts (Nishimura &
    /// Ugander 2013).
    Reldg,
}

/// Arguments of `cateye design`.
#[derive(Args)]
pub struct DesignArgs {
    /// The edge list.
    #[command(flatten)]
    pub edges: EdgeArgs,
    /// Table of the experiment's units (Parquet, CSV or Arrow IPC): units without an edge are
    /// kept (each randomized on its own) and an edge naming a unit not in it is an error
    /// [default: none: the units are the edge list's nodes].
    #[arg(long)]
    pub nodes: Option<PathBuf>,
    /// Unit id column of --nodes.
    #[arg(long, default_value = "unit")]
    pub node_column: String,
    /// The randomized unit: cluster, cascade or unit.
    #[arg(long, value_enum, default_value_t = Method::Cluster)]
    pub method: Method,
    /// Clustering of a cluster design.
    #[arg(long, value_enum, default_value_t = Clusterer::Louvain)]
    pub clustering: Clusterer,
    /// Number of balanced clusters (reldg, where it is required) [default: none].
    #[arg(long)]
    pub clusters: Option<usize>,
    /// Louvain resolution (above 1: smaller clusters).
    #[arg(long, default_value_t = 1.0)]
    pub resolution: f64,
    /// Largest cluster Louvain may form [default: no cap].
    #[arg(long)]
    pub max_cluster_size: Option<u64>,
    /// Cascade seed node ids, comma separated (cascade design, where they are required)
    /// [default: none].
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<String>>,
    /// Hops over which a cascade seed's arm propagates (cascade design).
    #[arg(long, default_value_t = 2)]
    pub radius: u32,
    /// Nodes beyond every seed's radius join their nearest seed's territory (else each is
    /// randomized on its own).
    #[arg(long)]
    pub nearest: bool,
    /// Randomization of the clusters (or units): bernoulli (each independently), complete (a
    /// fixed number treated) or stratified (complete within strata of clusters of similar size).
    #[arg(long, default_value = "complete", value_parser = parse_randomization)]
    pub randomization: Randomization,
    /// Clusters per stratum of similar size (stratified randomization).
    #[arg(long, default_value_t = 4)]
    pub per_stratum: usize,
    /// Probability of treatment (the treated share under complete randomization).
    #[arg(long, default_value_t = 0.5)]
    pub p: f64,
    /// Seed of the clustering's visiting order and of the draw.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder: assignment.parquet (unit, cluster, treated), design.json, manifest.json.
    #[arg(long, default_value = "cateye-design-out")]
    pub out: PathBuf,
    /// Assignment table format.
    #[arg(long, value_enum, default_value_t = UnitFormat::Parquet)]
    pub format: UnitFormat,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_randomization(s: &str) -> std::result::Result<Randomization, String> {
    match s {
        "bernoulli" => Ok(Randomization::Bernoulli),
        "complete" => Ok(Randomization::Complete),
        "stratified" => Ok(Randomization::Stratified),
        _ => Err(format!("'{s}': expected bernoulli, complete or stratified")),
    }
}

impl DesignArgs {
    /// The design these arguments describe.
    pub fn spec(&self) -> Result<DesignSpec> {
        let bad = |message: String| Error::Config { origin: "command line".into(), message };
        // Options of another method or algorithm are refused rather than ignored.
        let cascade = matches!(self.method, Method::Cascade);
        let louvain = matches!(self.method, Method::Cluster) && matches!(self.clustering, Clusterer::Louvain);
        let reldg = matches!(self.method, Method::Cluster) && matches!(self.clustering, Clusterer::Reldg);
        for (given, flag, applies) in [
            (self.seeds.is_some(), "--seeds", cascade),
            (self.nearest, "--nearest", cascade),
            (self.clusters.is_some(), "--clusters", reldg),
            (self.max_cluster_size.is_some(), "--max-cluster-size", louvain),
        ] {
            if given && !applies {
                let to = match flag {
                    "--seeds" | "--nearest" => "--method cascade",
                    "--clusters" => "--method cluster --clustering reldg",
                    _ => "--method cluster --clustering louvain",
                };
                return Err(bad(format!("{flag} applies to {to} only")));
            }
        }
        let plan = match self.method {
            Method::Unit => DesignPlan::Unit,
            Method::Cluster => DesignPlan::Cluster {
                method: match self.clustering {
                    Clusterer::Louvain => ClusterMethod::Louvain(LouvainConfig {
                        resolution: self.resolution,
                        max_cluster_size: self.max_cluster_size,
                        seed: Some(self.seed),
                        ..LouvainConfig::default()
                    }),
                    Clusterer::Reldg => {
                        let k = self
                            .clusters
                            .ok_or_else(|| bad("--clustering reldg needs --clusters K, the number of parts".into()))?;
                        ClusterMethod::Reldg(ReldgConfig {
                            seed: Some(self.seed),
                            latest_labels: true,
                            ..ReldgConfig::new(k)
                        })
                    }
                },
            },
            Method::Cascade => DesignPlan::Cascade {
                seeds: self
                    .seeds
                    .clone()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| bad("--method cascade needs --seeds, the cascade seed node ids".into()))?,
                radius: self.radius,
                remainder: if self.nearest { Remainder::Nearest } else { Remainder::Individual },
            },
        };
        Ok(DesignSpec {
            columns: self.edges.columns(),
            plan,
            randomization: self.randomization,
            per_stratum: self.per_stratum,
            p: self.p,
            seed: self.seed,
        })
    }
}

/// Arguments of `cateye network-effect`.
#[derive(Args)]
pub struct NetworkEffectArgs {
    /// Outcome table: Parquet, CSV or Arrow IPC, one row per unit of the graph.
    pub file: PathBuf,
    /// The edge list the design read.
    #[command(flatten)]
    pub edges: EdgeArgs,
    /// The design's output folder (assignment.parquet or .csv, and design.json).
    #[arg(long)]
    pub design: PathBuf,
    /// Unit id column of the outcome table (ids as in the edge list).
    #[arg(long, default_value = "unit")]
    pub unit: String,
    /// Outcome column.
    #[arg(long)]
    pub outcome: String,
    /// Exposure condition: full (the unit and all its neighbours in one arm), own (no
    /// interference assumed) or a share q in [0, 1] (the unit and at least q of its neighbours).
    #[arg(long, default_value = "full", value_parser = parse_exposure)]
    pub exposure: Exposure,
    /// Level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Output folder: effect.json and manifest.json.
    #[arg(long, default_value = "cateye-network-effect-out")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_exposure(s: &str) -> std::result::Result<Exposure, String> {
    match s {
        "full" => Ok(Exposure::Full),
        "own" => Ok(Exposure::Own),
        q => match q.parse::<f64>() {
            Ok(q) if (0.0..=1.0).contains(&q) => Ok(Exposure::Fractional { q }),
            _ => Err(format!("'{s}': expected full, own or a share q in [0, 1]")),
        },
    }
}

impl NetworkEffectArgs {
    /// The estimation these arguments describe.
    pub fn spec(&self) -> EffectSpec {
        EffectSpec {
            columns: self.edges.columns(),
            unit: self.unit.clone(),
            outcome: self.outcome.clone(),
            exposure: self.exposure,
            level: self.level,
        }
    }

    /// The design's assignment table: assignment.parquet, else assignment.csv.
    pub fn assignment(&self) -> PathBuf {
        assignment_file(&self.design)
    }
}

/// Arguments of `cateye simulate-design`.
#[derive(Args)]
pub struct SimulateDesignArgs {
    /// The edge list the design read.
    #[command(flatten)]
    pub edges: EdgeArgs,
    /// The design's output folder (assignment.parquet or .csv, and design.json).
    #[arg(long)]
    pub design: PathBuf,
    /// Direct effect τ of a unit's own treatment in the simulated outcomes.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub direct: f64,
    /// Spillover γ: the effect of having every neighbour treated (the global effect is τ + γ).
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub spillover: f64,
    /// Mean of the units' baseline outcomes.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub baseline_mean: f64,
    /// Standard deviation of the units' baseline outcomes.
    #[arg(long, default_value_t = 1.0)]
    pub baseline_sd: f64,
    /// Standard deviation of the outcomes' noise.
    #[arg(long, default_value_t = 1.0)]
    pub noise_sd: f64,
    /// Exposure condition of the design's estimators: full, own or a share q in [0, 1].
    #[arg(long, default_value = "full", value_parser = parse_exposure)]
    pub exposure: Exposure,
    /// Re-draws of each design.
    #[arg(long, default_value_t = 500)]
    pub replications: usize,
    /// Seed of the simulated outcomes and the re-drawn designs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder: simulation.json and manifest.json.
    #[arg(long, default_value = "cateye-simulate-out")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl SimulateDesignArgs {
    /// The simulation these arguments describe.
    pub fn spec(&self) -> SimulateSpec {
        SimulateSpec {
            columns: self.edges.columns(),
            model: LinearInMeans {
                baseline_mean: self.baseline_mean,
                baseline_sd: self.baseline_sd,
                direct: self.direct,
                spillover: self.spillover,
                noise_sd: self.noise_sd,
            },
            exposure: self.exposure,
            replications: self.replications,
            seed: self.seed,
        }
    }

    /// The design's assignment table: assignment.parquet, else assignment.csv.
    pub fn assignment(&self) -> PathBuf {
        assignment_file(&self.design)
    }
}

/// The assignment table of a design folder: assignment.parquet, else assignment.csv.
fn assignment_file(dir: &std::path::Path) -> PathBuf {
    let parquet = dir.join("assignment.parquet");
    if parquet.exists() {
        parquet
    } else {
        dir.join("assignment.csv")
    }
}
