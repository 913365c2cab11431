//! Experiments that units do not run alone: randomized designs and estimators under network
//! interference.
//!
//! | module | job |
//! |---|---|
//! | `graph` | the undirected graph in compressed sparse rows ([`Graph`]) built from edge pairs |
//! | `error` | [`NetworkError`]: what went wrong, naming the value |
//! | `load` | the graph read from an edge list of integer or string ids ([`load_graph`]), the user's ids ([`NodeIds`]), outcome rows mapped to nodes ([`rows_to_nodes`]) |
//! | `generate` | seeded random graphs: stochastic block model ([`stochastic_block_model`]), Barabási–Albert ([`barabasi_albert`]), Watts–Strogatz ([`watts_strogatz`]) |
//! | `cascade` | cascade-based randomization (Fatemi, Pouget-Abadie & Zheleva 2024): seed territories, seeded assignment, exact probabilities, Horvitz–Thompson and Hájek estimates ([`CascadeDesign`]) |
//! | `cluster` | graph clustering for cluster randomization: Louvain modularity ([`louvain`]), balanced restreaming LDG ([`reldg`]), the [`ClusterQuality`] report |
//! | `design` | seeded unit- and cluster-level designs: Bernoulli, complete and stratified complete randomization ([`Design`], [`Assignment`], [`size_strata`]) |
//! | `exposure` | exposure conditions (own, full and fractional neighbourhood) and their exact probabilities under a design ([`ExposureModel`]) or by Monte Carlo ([`ExposureProbabilities::monte_carlo`]) |
//! | `estimate` | Horvitz–Thompson, Hájek and difference-in-means estimates of the global effect with Aronow–Samii variances ([`ExposureModel::estimate`], [`difference_in_means`], [`EffectEstimate`]) |
//! | `pairs` | the Aronow–Samii pair sums through subsets of cluster sets (Möbius identity), without visiting pairs |
//! | `blocks` | Young's bound on cluster totals for the unidentified covariance of the Aronow–Samii variance (cluster-level bound generalized to cluster sets) |
//! | `complete` | the exact Aronow–Samii pair sums under complete randomization of clusters (size-grouped baseline and subset corrections) |
//! | `simulate` | the interference simulator: linear-in-means, independent cascade and linear threshold outcomes ([`OutcomeModel`]), true global effects, bias/variance/RMSE/coverage/power of every design × estimator ([`simulate`], [`SimulationTable`]) |
#![deny(missing_docs)]

mod blocks;
mod cascade;
mod cluster;
mod complete;
mod design;
mod error;
mod estimate;
mod exposure;
mod generate;
mod graph;
mod load;
mod pairs;
mod simulate;

pub use cascade::{
    CascadeAssignment, CascadeDesign, CascadeEstimate, CascadeOptions, CascadeSummary, EffectInterval, Remainder,
    UnitDraw,
};
pub use cluster::{
    cluster, louvain, modularity, reldg, ClusterMethod, ClusterQuality, Clustering, LouvainConfig, ReldgConfig,
};
pub use design::{cluster_sizes, size_strata, Assignment, Design, DesignSummary, Level, Randomization};
pub use error::{NetworkError, Result};
pub use estimate::{
    difference_in_means, EffectEstimate, Estimator, VarianceMethod, VarianceParts, MIN_CLUSTERS_PER_ARM,
};
pub use exposure::{exposure_conditions, Condition, Exposure, ExposureModel, ExposureProbabilities, MonteCarloError};
pub use generate::{
    barabasi_albert, barabasi_albert_edges, stochastic_block_model, stochastic_block_model_edges,
    stochastic_block_model_expected_edges, watts_strogatz, watts_strogatz_edges, PlantedGraph,
};
pub use graph::{EdgeReport, Graph};
pub use load::{
    load_graph, load_graph_reporting, read_node_list, rows_to_nodes, EdgeColumns, IdKind, LoadedGraph, NodeId, NodeIds,
    NodeList, RowNodes, BATCH_ROWS,
};
pub use simulate::{
    random_seed_nodes, simulate, ByArm, DesignCase, DesignSpec, GeneratedGraph, IndependentCascade, LinearInMeans,
    LinearThreshold, OutcomeModel, Scenario, SimulationRow, SimulationTable, TrueEffect, SIMULATION_LEVEL,
};
