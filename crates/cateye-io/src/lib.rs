//! Reading and writing for cateye: record batches from files, memory or streams ([`Source`]),
//! column roles resolved against a schema ([`Layout`]), quantile bins of float dimensions,
//! the encoding of batches into the integer codes and float columns the scan aggregates, whole
//! columns for the unit-level jobs, and the writers (per-unit tables, batches, JSON, models).
//!
//! | module | job |
//! |---|---|
//! | `source` | files (Parquet, CSV, Arrow IPC), batches in memory, streams; fixed-size batches |
//! | `layout` | column roles ([`ColumnRoles`]) resolved and type-checked against a schema |
//! | `binning` | seeded quantile bins of float dimensions, and their labels |
//! | `encode` | dictionaries of labels, batches to codes ([`Encoder`]) |
//! | `columns` | whole numeric or id columns by name, for the forest and CATE jobs |
//! | `write` | per-unit tables, batches to Parquet/CSV, JSON |
//! | `model_file` | the versioned container of fitted models |
//! | `output` | output folders replaced all together, with a manifest; atomic single files |
#![deny(missing_docs)]

mod binning;
mod columns;
mod encode;
mod error;
mod layout;
mod model_file;
mod output;
mod source;
mod write;

pub use binning::{as_f64, bin_labels, bin_of, edges_of, quantile_edges, BinEdges, SAMPLE_SIZE};
pub use columns::{
    column_index, is_numeric, numeric_column_index, pick_covariates, read_ids, read_labels, read_numeric,
    read_numeric_reporting, Labels,
};
pub use encode::{Dictionary, EncodedBatch, Encoder, MAX_METRIC_MAGNITUDE, NULL_CODE, NULL_LEVEL};
pub use error::{Cause, IoError, Result};
pub use layout::{ColumnRoles, DimensionColumn, DimensionKind, Layout, MetricColumn};
pub use model_file::{decode_model, encode_model, read_header, read_model_bytes, save_model, ModelHeader, MAGIC};
pub use output::{check_writable, write_atomically, Manifest, ManifestFile, ManifestInput, OutputDir, MANIFEST};
pub use source::{Batches, Format, Source, IN_MEMORY_LABEL, STREAM_LABEL};
pub use write::{read_json, write_batches, write_json, write_json_compact, write_unit_table, TableWriter};
