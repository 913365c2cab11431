//! Experiments that units do not run alone: randomized designs and estimators under network
//! interference.
//!
//! | module | job |
//! |---|---|
//! | `graph` | the undirected graph in compressed sparse rows ([`Graph`]) built from edge pairs |
//! | `error` | [`NetworkError`]: what went wrong, naming the value |
#![deny(missing_docs)]

mod error;
mod graph;

pub use error::{NetworkError, Result};
pub use graph::{EdgeReport, Graph};
