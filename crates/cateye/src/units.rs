//! Per-unit results (one value per input row and quantity) as the jobs return them.

use crate::error::Result;
use cateye_io::OutputDir;
use std::path::{Path, PathBuf};

/// Named per-unit columns of equal length, in input row order (NaN where a quantity does not
/// apply to a row).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitTable {
    columns: Vec<(String, Vec<f64>)>,
}

impl UnitTable {
    /// A table of the given columns (all of the same length).
    pub fn new(columns: Vec<(String, Vec<f64>)>) -> Self {
        debug_assert!(columns.windows(2).all(|w| w[0].1.len() == w[1].1.len()));
        UnitTable { columns }
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[(String, Vec<f64>)] {
        &self.columns
    }

    /// The column `name`, if there is one.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.1.len())
    }

    /// Writes a `row` index and the columns to `path` (Parquet, or CSV by extension); an
    /// existing file is replaced only once the new one is complete.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(cateye_io::write_atomically(path, |tmp| cateye_io::write_unit_table(tmp, self.columns.clone()))?)
    }

    /// Writes the table as `name` (Parquet, or CSV by its extension) into `out`'s staging area;
    /// it moves into place at the next [`OutputDir::commit`].
    pub fn stage(&self, out: &mut OutputDir, name: &str) -> Result<PathBuf> {
        let path = out.stage(name, crate::JOB_SCHEMA_VERSION)?;
        cateye_io::write_unit_table(&path, self.columns.clone())?;
        Ok(path)
    }
}
