//! The covariates of a CATE fit, held once in both forms the base learners use: raw columns
//! (linear models) and the forest's binning (forests, boosting). Fits select rows by index, so
//! cross-fitting never copies the data.

use crate::error::Result;
use cateye_forest::{Binning, ForestData};

/// Covariates by column, with names, binned once.
#[derive(Clone, Debug)]
pub struct LearnerData {
    columns: Vec<Vec<f64>>,
    binned: ForestData,
}

impl LearnerData {
    /// Bins `columns` (named `names`) into at most `max_bins` quantile bins each; non-finite
    /// values are an error naming the column and row.
    pub fn new(columns: Vec<Vec<f64>>, names: &[String], max_bins: usize) -> Result<Self> {
        let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let binned = ForestData::new(&refs, names, max_bins)?;
        Ok(LearnerData { columns, binned })
    }

    /// New rows (`columns`, in the binning's covariate order) coded with the `binning` of the
    /// data a model was fitted on, so that the model predicts them as it would its own rows.
    pub fn with_binning(binning: &Binning, columns: Vec<Vec<f64>>, max_bins: usize) -> Result<Self> {
        let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let binned = ForestData::with_binning(binning, &refs, max_bins)?;
        Ok(LearnerData { columns, binned })
    }

    /// The binning of the covariates (what a model keeps to code new rows).
    pub fn binning(&self) -> &Binning {
        self.binned.binning()
    }

    /// The same covariates plus one more column (the S-learner's treatment indicator).
    pub fn with_column(&self, column: Vec<f64>, name: &str, max_bins: usize) -> Result<Self> {
        let mut columns = self.columns.clone();
        columns.push(column);
        let mut names = self.names().to_vec();
        names.push(name.to_string());
        LearnerData::new(columns, &names, max_bins)
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.binned.num_rows()
    }

    /// Number of covariates.
    pub fn num_features(&self) -> usize {
        self.columns.len()
    }

    /// Covariate names, in column order.
    pub fn names(&self) -> &[String] {
        self.binned.names()
    }

    /// Raw values of covariate `f`, one per row.
    pub fn column(&self, f: usize) -> &[f64] {
        &self.columns[f]
    }

    /// The binned covariates (unit weights, no clusters) that forests and boosting read.
    pub fn binned(&self) -> &ForestData {
        &self.binned
    }

    /// Row-major fine codes of `rows`, with covariate `set.0` replaced by the code of value
    /// `set.1` when given (counterfactual treatment for the S-learner).
    pub fn codes(&self, rows: &[usize], set: Option<(usize, f64)>) -> Vec<u16> {
        let features = self.binned.features();
        let p = self.num_features();
        let mut out = Vec::with_capacity(rows.len() * p);
        let replacement = set.map(|(f, v)| (f, features.code_of(f, v)));
        for &i in rows {
            let start = out.len();
            out.extend_from_slice(features.row(i));
            if let Some((f, code)) = replacement {
                out[start + f] = code;
            }
        }
        out
    }

    /// Covariate `f` of row `i`, or the value `set.1` where `set.0 == f`.
    pub fn value(&self, i: usize, f: usize, set: Option<(usize, f64)>) -> f64 {
        match set {
            Some((g, v)) if g == f => v,
            _ => self.columns[f][i],
        }
    }
}
