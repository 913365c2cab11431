//! The columns a model-fitting job reads from its source: the ones with a role (outcome,
//! treatment, weights, propensity, ...), the covariates and the cluster ids, in one pass.

use crate::error::{Error, Result};
use cateye_forest::ForestData;
use cateye_io::{pick_covariates, read_ids, read_numeric_reporting, IoError, Source};
use cateye_stats::Progress;

/// The columns of a forest or learner job, read in one pass: the columns with a role (outcome,
/// treatment, weights, ...), the covariates (those named, or every other numeric column) and the
/// cluster ids.
pub(crate) struct JobColumns {
    roles: Vec<(String, Vec<f64>)>,
    /// The covariates, in the order of `x`.
    pub(crate) covariates: Vec<String>,
    x: Vec<Vec<f64>>,
    clusters: Option<Vec<u64>>,
}

impl JobColumns {
    /// Reads the `roles` columns `(name, role)`, the covariates and the `cluster` column of
    /// `source`; an empty input is an error.
    pub(crate) fn read(
        source: &Source,
        roles: &[(&str, &'static str)],
        covariates: Option<&[String]>,
        cluster: Option<&str>,
        progress: Progress<'_>,
    ) -> Result<Self> {
        let taken: Vec<&str> = roles.iter().map(|(n, _)| *n).chain(cluster).collect();
        let covariates = pick_covariates(source, covariates, &taken)?;
        let mut wanted = roles.to_vec();
        wanted.extend(covariates.iter().map(|c| (c.as_str(), "covariate")));
        let mut columns = read_numeric_reporting(source, &wanted, progress)?;
        let x = columns.split_off(roles.len());
        // Every job reads its outcome with a role.
        if columns.first().is_none_or(Vec::is_empty) {
            return Err(IoError::Empty { input: source.label().to_string() }.into());
        }
        let roles = roles.iter().map(|(n, _)| n.to_string()).zip(columns).collect();
        let clusters = cluster.map(|c| read_ids(source, c, "cluster")).transpose()?;
        Ok(JobColumns { roles, covariates, x, clusters })
    }

    /// The covariate columns, moved out (a job that hands them over by value).
    pub(crate) fn take_covariates(&mut self) -> Vec<Vec<f64>> {
        std::mem::take(&mut self.x)
    }

    /// The `k`-th covariate column.
    pub(crate) fn covariate(&self, k: usize) -> &[f64] {
        &self.x[k]
    }

    /// The column read for the role of `name`.
    pub(crate) fn role(&self, name: &str) -> &[f64] {
        self.roles.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice()).expect("a column read with a role")
    }

    /// The cluster ids as dense `u32` codes, when a cluster column was read.
    pub(crate) fn cluster_codes(&self) -> Option<Vec<u32>> {
        self.clusters.as_ref().map(|ids| ids.iter().map(|&id| id as u32).collect())
    }

    /// The binned covariates, with the `weights` column (read with a role) and the clusters.
    pub(crate) fn forest_data(
        &self,
        input: &str,
        max_bins: usize,
        weights: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<ForestData> {
        let fail = |e: cateye_forest::ForestError| Error::fit(input, e);
        let column_refs: Vec<&[f64]> = self.x.iter().map(Vec::as_slice).collect();
        let mut data = ForestData::new(&column_refs, &self.covariates, max_bins).map_err(fail)?;
        if let Some(weights) = weights {
            data = data.with_weights(self.role(weights).to_vec(), weights).map_err(fail)?;
        }
        if let (Some(ids), Some(name)) = (&self.clusters, cluster) {
            data = data.with_clusters(ids, name).map_err(fail)?;
        }
        Ok(data)
    }
}

/// An error naming the first row of `values` (column `column`, role `role`, of input `input`)
/// that is neither 0 nor 1: the check of every treatment column of a job.
pub(crate) fn check_binary(input: &str, column: &str, role: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|&v| v != 0.0 && v != 1.0) {
        None => Ok(()),
        Some(row) => Err(Error::invalid(
            input,
            format!(
                "column '{column}' ({role}): row {} (1-based) is {}; expected 0/1 (control/treated)",
                row + 1,
                values[row]
            ),
        )),
    }
}
