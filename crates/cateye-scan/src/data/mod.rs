//! Data loading: reading files in batches, resolving column roles, binning float dimensions and
//! encoding batches into the columnar form the aggregation consumes.

pub mod binning;
pub mod columns;
pub mod encode;
pub mod layout;
pub mod source;
pub mod unit_table;

pub use encode::{Dictionary, EncodedBatch, Encoder};
pub use layout::{DimensionColumn, DimensionKind, Layout, MetricColumn};
pub use source::{Format, Source};
