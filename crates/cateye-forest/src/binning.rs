//! Binning of covariates, done once per fit, at two resolutions:
//!
//! - **fine codes**: one code per distinct value (quantile bins beyond 65,535 distinct values).
//!   Trees store their splits as fine codes, route rows by them, and small nodes search their
//!   splits on them: there the search is exact.
//! - **coarse bins**: at most `max_bins` quantile bins, each a run of fine codes. Large nodes
//!   search their splits on per-node histograms over these bins: a split at coarse bin `b` is
//!   the fine split "code ≤ last fine code of b".
//!
//! Fine code `c` holds the values in `(edge[c-1], edge[c]]`, so the split "code ≤ c" is the split
//! "x ≤ edge[c]" on raw values, and new data is binned with the same edges.
//!
//! Missing values (NaN; nulls are read as NaN) get the fine code [`MISSING`], above every real
//! code, and a coarse bin of their own after the covariate's last one, so that the split search
//! can send them to either side (Missing Incorporated in Attributes, Twala, Jones & Hand 2008).
//! Infinite values are an error.

use crate::error::{check_not_infinite, column_error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Most fine codes per covariate. A new value above the last edge gets the code past the last
/// bin, capped at `MISSING − 1` (with 65,535 bins: the last bin's own code, which no split
/// threshold reaches, so it still goes right at every split).
pub const MAX_FINE_BINS: usize = 65_535;

/// The fine code of a missing value.
pub const MISSING: u16 = u16::MAX;

/// How raw covariate values become fine codes: the covariates' names and the upper edges of
/// their fine bins. A fitted forest keeps it to bin new rows exactly as its training rows were.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    names: Vec<String>,
    edges: Vec<Vec<f64>>,
}

impl Binning {
    /// Covariate names, in column order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of covariates.
    pub fn num_features(&self) -> usize {
        self.edges.len()
    }

    /// The fine code a raw value `x` of covariate `f` gets.
    pub fn code_of(&self, f: usize, x: f64) -> u16 {
        bin_of(&self.edges[f], x)
    }

    /// Row-major codes of new rows given by column (one slice per covariate, in the binning's
    /// order). Values above the last edge get a code past every bin, so they go right at every
    /// split, as their raw values would; missing values (NaN) get [`MISSING`]. Infinite values
    /// are an error naming the column and row.
    pub fn bin_rows(&self, columns: &[&[f64]]) -> Result<Vec<u16>> {
        let p = self.num_features();
        if columns.len() != p {
            return Err(column_error(
                "covariates",
                format!("{} columns given for prediction, the forest was fitted on {p}", columns.len()),
            ));
        }
        let n = columns.first().map_or(0, |c| c.len());
        for (column, name) in columns.iter().zip(&self.names) {
            check_not_infinite(name, column, n)?;
        }
        let mut rows = vec![0u16; n * p];
        rows.par_chunks_mut(p.max(1)).enumerate().for_each(|(i, row)| {
            for (f, code) in row.iter_mut().enumerate() {
                *code = bin_of(&self.edges[f], columns[f][i]);
            }
        });
        Ok(rows)
    }
}

/// Values (rows × covariates) from which the coarse bins are also kept by rows, for the
/// histograms of large nodes (`grow::row_histograms`): below, the coarse columns (2 bytes per
/// value) stay in the processor's cache and one column at a time is as fast (measured at
/// n = 20,000, p = 10: 2% slower by rows; at n = 200,000: 4% faster).
pub(crate) const COARSE_ROWS_FROM: usize = 1 << 20;

/// Binned covariates: fine codes by column (split search) and by row (tree traversal), coarse
/// bins by column (histograms) and, on large data, by row too. A covariate with missing values has one coarse slot more than
/// coarse bins: the missing values' own, last.
#[derive(Clone, Debug)]
pub struct BinnedFeatures {
    n: usize,
    p: usize,
    by_column: Vec<u16>,
    by_row: Vec<u16>,
    coarse: Vec<u16>,
    /// `coarse` row-major, for data of at least `COARSE_ROWS_FROM` values: the histograms of a
    /// large node then read one row per unit (see `grow::row_histograms`).
    coarse_by_row: Option<Vec<u16>>,
    binning: Binning,
    /// Last fine code of each coarse bin, per covariate.
    coarse_last: Vec<Vec<u16>>,
    /// Rows missing each covariate.
    missing: Vec<usize>,
    max_bins: usize,
}

impl BinnedFeatures {
    /// Bins `columns` (one slice per covariate, all of equal length): fine codes, and at most
    /// `max_bins` coarse quantile bins each; missing values (NaN) are coded [`MISSING`]. `names`
    /// are used in errors.
    pub fn new(columns: &[&[f64]], names: &[String], max_bins: usize) -> Result<Self> {
        let n = columns.first().map_or(0, |c| c.len());
        for (column, name) in columns.iter().zip(names) {
            check_not_infinite(name, column, n)?;
        }
        let edges: Vec<Vec<f64>> = columns.par_iter().map(|c| quantile_edges(c, MAX_FINE_BINS)).collect();
        let p = columns.len();
        let mut by_column = vec![0u16; n * p];
        by_column.par_chunks_mut(n.max(1)).zip(columns.par_iter()).zip(edges.par_iter()).for_each(
            |((codes, column), edges)| {
                for (code, &x) in codes.iter_mut().zip(column.iter()) {
                    *code = bin_of(edges, x);
                }
            },
        );
        Ok(Self::from_fine_codes(by_column, n, Binning { names: names.to_vec(), edges }, max_bins))
    }

    /// Coarse bins and the row-major copy for column-major fine codes `by_column` of `n` rows.
    fn from_fine_codes(by_column: Vec<u16>, n: usize, binning: Binning, max_bins: usize) -> Self {
        let p = binning.edges.len();
        let coarse_last: Vec<Vec<u16>> =
            by_column.par_chunks(n.max(1)).map(|codes| coarse_runs(codes, max_bins)).collect();
        let mut coarse = vec![0u16; n * p];
        // A missing code is above every last fine code: its coarse bin is the slot after the last.
        coarse.par_chunks_mut(n.max(1)).zip(by_column.par_chunks(n.max(1))).zip(coarse_last.par_iter()).for_each(
            |((coarse, fine), last)| {
                for (c, &f) in coarse.iter_mut().zip(fine) {
                    *c = last.partition_point(|&l| l < f) as u16;
                }
            },
        );
        let missing =
            by_column.par_chunks(n.max(1)).map(|codes| codes.iter().filter(|&&c| c == MISSING).count()).collect();
        let by_row = transpose(&by_column, n, p);
        let coarse_by_row = (n * p >= COARSE_ROWS_FROM).then(|| transpose(&coarse, n, p));
        BinnedFeatures { n, p, by_column, by_row, coarse, coarse_by_row, binning, coarse_last, missing, max_bins }
    }

    /// New rows (one slice per covariate) coded with an existing `binning`, so that trees grown
    /// on the binning's training rows route them; coarse bins are the new rows' own quantiles.
    pub fn with_binning(binning: &Binning, columns: &[&[f64]], max_bins: usize) -> Result<Self> {
        let n = columns.first().map_or(0, |c| c.len());
        let rows = binning.bin_rows(columns)?;
        let p = binning.num_features();
        let by_column = transpose(&rows, p, n);
        Ok(Self::from_fine_codes(by_column, n, binning.clone(), max_bins))
    }

    /// The rows `rows` (in that order) with this binning's fine codes and edges, so that trees
    /// grown on the subset route every row of the full data; coarse bins are the subset's own
    /// quantiles. Used to fit base learners on cross-fitting folds without binning again.
    pub fn subset(&self, rows: &[usize]) -> Self {
        let m = rows.len();
        let mut by_column = vec![0u16; m * self.p];
        by_column.par_chunks_mut(m.max(1)).enumerate().for_each(|(f, codes)| {
            let column = self.column(f);
            for (code, &i) in codes.iter_mut().zip(rows) {
                *code = column[i];
            }
        });
        Self::from_fine_codes(by_column, m, self.binning.clone(), self.max_bins)
    }

    /// The binning of raw values into fine codes.
    pub fn binning(&self) -> &Binning {
        &self.binning
    }

    /// The fine code a raw value `x` of covariate `f` gets (as in [`Binning::bin_rows`]).
    pub fn code_of(&self, f: usize, x: f64) -> u16 {
        self.binning.code_of(f, x)
    }

    /// Number of rows binned.
    pub fn num_rows(&self) -> usize {
        self.n
    }

    /// Number of covariates.
    pub fn num_features(&self) -> usize {
        self.p
    }

    /// Number of fine codes of covariate `f`.
    pub fn num_bins(&self, f: usize) -> usize {
        self.binning.edges[f].len()
    }

    /// Number of coarse bins of covariate `f` (of its values, missing ones aside).
    pub fn num_coarse_bins(&self, f: usize) -> usize {
        self.coarse_last[f].len()
    }

    /// Histogram slots of covariate `f`: its coarse bins, and one for missing values if it has any
    /// (their coarse bin is `num_coarse_bins(f)`).
    pub fn num_coarse_slots(&self, f: usize) -> usize {
        self.coarse_last[f].len() + usize::from(self.has_missing(f))
    }

    /// Whether any row misses covariate `f`.
    pub fn has_missing(&self, f: usize) -> bool {
        self.missing[f] > 0
    }

    /// Rows missing covariate `f`.
    pub fn missing_count(&self, f: usize) -> usize {
        self.missing[f]
    }

    /// Fine codes of covariate `f`, one per row.
    pub fn column(&self, f: usize) -> &[u16] {
        &self.by_column[f * self.n..(f + 1) * self.n]
    }

    /// Coarse bins of covariate `f`, one per row.
    pub fn coarse_column(&self, f: usize) -> &[u16] {
        &self.coarse[f * self.n..(f + 1) * self.n]
    }

    /// The last fine code of coarse bin `b` of covariate `f`.
    pub fn coarse_last(&self, f: usize, b: u16) -> u16 {
        self.coarse_last[f][b as usize]
    }

    /// Coarse bins of row `i`, one per covariate, when the data is large enough to keep them by
    /// rows (see [`Self::has_coarse_rows`]).
    pub(crate) fn coarse_row(&self, i: usize) -> &[u16] {
        let rows = self.coarse_by_row.as_deref().expect("coarse bins by rows");
        &rows[i * self.p..(i + 1) * self.p]
    }

    /// Whether the coarse bins are also kept by rows (data of at least `COARSE_ROWS_FROM`
    /// values).
    pub(crate) fn has_coarse_rows(&self) -> bool {
        self.coarse_by_row.is_some()
    }

    /// The same codes with the coarse bins kept by rows whatever the size (for tests).
    #[cfg(test)]
    pub(crate) fn with_coarse_rows(mut self) -> Self {
        self.coarse_by_row = Some(transpose(&self.coarse, self.n, self.p));
        self
    }

    /// Codes of row `i`, one per covariate.
    pub fn row(&self, i: usize) -> &[u16] {
        &self.by_row[i * self.p..(i + 1) * self.p]
    }

    /// Upper edge of bin `b` of covariate `f`: the raw threshold of the split "code ≤ b".
    pub fn threshold(&self, f: usize, b: u16) -> f64 {
        self.binning.edges[f][b as usize]
    }
}

/// First bin whose upper edge is ≥ x (at most `MISSING − 1`); [`MISSING`] for NaN.
fn bin_of(edges: &[f64], x: f64) -> u16 {
    if x.is_nan() {
        return MISSING;
    }
    edges.partition_point(|&e| e < x).min(usize::from(MISSING - 1)) as u16
}

/// Coarse bins as runs of fine codes: the last fine code of each, at ranks k·n/max_bins of the
/// sorted codes of the values present (deduplicated; the largest code always ends a bin).
fn coarse_runs(fine: &[u16], max_bins: usize) -> Vec<u16> {
    let mut counts = vec![0usize; MAX_FINE_BINS + 1];
    let mut n = 0;
    for &c in fine.iter().filter(|&&c| c != MISSING) {
        counts[c as usize] += 1;
        n += 1;
    }
    let mut last = Vec::new();
    if n == 0 {
        return last;
    }
    let (mut code, mut below) = (0usize, counts[0]);
    for k in 1..=max_bins {
        let rank = (k * n / max_bins).max(1); // the rank-th smallest code (1-based) ends bin k
        while below < rank {
            code += 1;
            below += counts[code];
        }
        if last.last() != Some(&(code as u16)) {
            last.push(code as u16);
        }
    }
    last
}

/// Upper bin edges of the values present: the distinct values when there are at most `max_bins`
/// of them, otherwise the values at ranks k·n/max_bins (k = 1..max_bins), deduplicated; the
/// maximum is always an edge.
fn quantile_edges(column: &[f64], max_bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = column.iter().copied().filter(|x| !x.is_nan()).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    if distinct.len() <= max_bins {
        return distinct;
    }
    let n = sorted.len();
    let mut edges: Vec<f64> = (1..=max_bins).map(|k| sorted[(k * n / max_bins).max(1) - 1]).collect();
    edges.dedup();
    edges
}

fn transpose(by_column: &[u16], n: usize, p: usize) -> Vec<u16> {
    let mut by_row = vec![0u16; n * p];
    by_row.par_chunks_mut(p.max(1) * 1024).enumerate().for_each(|(chunk, out)| {
        let first = chunk * 1024;
        for (r, row) in out.chunks_mut(p.max(1)).enumerate() {
            for (f, code) in row.iter_mut().enumerate() {
                *code = by_column[f * n + first + r];
            }
        }
    });
    by_row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each_and_splits_match_raw_thresholds() {
        let x = [3.0, 1.0, 2.0, 2.0, 5.0];
        let b = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        assert_eq!(b.num_bins(0), 4);
        assert_eq!(b.column(0), &[2, 0, 1, 1, 3]);
        let new = b.binning().bin_rows(&[&[0.5, 2.0, 2.5, 9.0]]).unwrap();
        for (&raw, &code) in [0.5, 2.0, 2.5, 9.0].iter().zip(&new) {
            for bin in 0..4u16 {
                assert_eq!(code <= bin, raw <= b.threshold(0, bin), "x = {raw}, bin {bin}");
            }
        }
    }

    #[test]
    fn coarse_bins_are_equal_count_runs_of_fine_codes() {
        let x: Vec<f64> = (0..10_000).map(|i| ((i * 7919) % 10_000) as f64).collect();
        let b = BinnedFeatures::new(&[&x], &["x".into()], 100).unwrap();
        assert_eq!(b.num_bins(0), 10_000, "fine codes are exact");
        assert_eq!(b.num_coarse_bins(0), 100);
        let mut counts = vec![0; 100];
        for (&coarse, &fine) in b.coarse_column(0).iter().zip(b.column(0)) {
            counts[coarse as usize] += 1;
            assert!(fine <= b.coarse_last(0, coarse));
            assert!(coarse == 0 || fine > b.coarse_last(0, coarse - 1));
        }
        assert!(counts.iter().all(|&c| c == 100), "{counts:?}");
        assert_eq!(b.row(3)[0], b.column(0)[3]);
    }

    #[test]
    fn more_distinct_values_than_fine_codes_get_quantile_codes() {
        let x: Vec<f64> = (0..200_000).map(|i| i as f64).collect();
        let b = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        assert_eq!(b.num_bins(0), MAX_FINE_BINS);
        assert_eq!(b.num_coarse_bins(0), 256);
        // Beyond the range: the last bin's code, below the missing code.
        assert_eq!(b.binning().bin_rows(&[&[1e12, f64::NAN]]).unwrap(), vec![MISSING - 1, MISSING]);
    }

    #[test]
    fn infinite_values_are_named() {
        let err = BinnedFeatures::new(&[&[1.0, f64::INFINITY]], &["age".into()], 256).unwrap_err();
        assert!(err.to_string().contains("age") && err.to_string().contains("row 2 (1-based)"), "{err}");
    }

    #[test]
    fn missing_values_get_their_own_code_and_coarse_slot() {
        let x = [3.0, f64::NAN, 1.0, 2.0, f64::NAN];
        let b = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        assert_eq!(b.column(0), &[2, MISSING, 0, 1, MISSING]);
        assert_eq!((b.num_bins(0), b.num_coarse_bins(0), b.num_coarse_slots(0)), (3, 3, 4));
        assert_eq!(b.coarse_column(0), &[2, 3, 0, 1, 3], "missing values fill the slot after the last bin");
        assert_eq!(b.missing_count(0), 2);
        assert_eq!(b.binning().bin_rows(&[&[f64::NAN, 9.0]]).unwrap(), vec![MISSING, 3]);
        let all_missing = BinnedFeatures::new(&[&[f64::NAN, f64::NAN]], &["x".into()], 256).unwrap();
        assert_eq!((all_missing.num_coarse_bins(0), all_missing.num_coarse_slots(0)), (0, 1));
        assert_eq!(all_missing.coarse_column(0), &[0, 0]);
    }
}
