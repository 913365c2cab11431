//! Data with known truth: the one home of cateye's simulators.
//!
//! - `tables`: unit-level experiment tables (many experiments, metrics with pre-period columns,
//!   breakdown dimensions) with planted heterogeneity and sample ratio mismatches: the built-in
//!   demo ([`demo_spec`]), benchmark tables ([`synthetic_spec`]) and simulation-test data.
//! - `trials`: single experiments with known conditional effects: the four designs of Nie &
//!   Wager (2021, §6) ([`nie_wager`]) and simple randomized trials ([`randomized_trial`]).
//!
//! Every generator is seeded and draws from per-work-item streams
//! ([`cateye_stats::stream`]), so the data do not depend on the number of threads.
#![deny(missing_docs)]

mod tables;
mod trials;

pub use tables::{
    demo_spec, sweep_spec, synthetic_spec, DimensionSpec, ExperimentSpec, Heterogeneity, MetricKind, MetricSpec,
    TableSpec,
};
pub use trials::{nie_wager, randomized_trial, Setup, Simulated};
