//! Quantile bins of float dimensions.
//!
//! Bin edges are the sample quantiles `k / bins`, `k = 1..bins−1` (R's type 7), of a seeded
//! reservoir sample of at most [`SAMPLE_SIZE`] values per column taken in one pass over the
//! file, so that the bins are the same whatever the number of threads. Tied edges are merged,
//! so a dimension may have fewer bins than asked.

use crate::error::{IoError, Result};
use crate::layout::{DimensionKind, Layout};
use crate::source::Source;
use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Values sampled per float dimension to place the bin edges.
pub const SAMPLE_SIZE: usize = 100_000;

/// Upper edges of the bins of each dimension (`None` for categorical ones).
pub type BinEdges = Vec<Option<Vec<f64>>>;

/// Values of a numeric array as `f64`, nulls as NaN.
pub fn as_f64(array: &dyn Array) -> std::result::Result<Vec<f64>, arrow::error::ArrowError> {
    let a = cast(array, &DataType::Float64)?;
    let p = a.as_primitive::<Float64Type>();
    if p.null_count() == 0 {
        return Ok(p.values().to_vec());
    }
    Ok(p.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Quantile edges of every binned dimension of `layout`.
pub fn quantile_edges(source: &Source, layout: &Layout, bins: usize, batch_rows: usize) -> Result<BinEdges> {
    let binned: Vec<usize> =
        (0..layout.dimensions.len()).filter(|&d| layout.dimensions[d].kind == DimensionKind::Binned).collect();
    let mut edges: BinEdges = vec![None; layout.dimensions.len()];
    if binned.is_empty() {
        return Ok(edges);
    }
    let mut projection: Vec<usize> =
        binned.iter().map(|&d| source.schema().index_of(&layout.dimensions[d].name).expect("resolved")).collect();
    projection.sort_unstable();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); binned.len()];
    let mut seen = vec![0u64; binned.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_b1e5);
    for batch in source.batches(&projection, batch_rows)? {
        let batch = batch?;
        for (k, &d) in binned.iter().enumerate() {
            let name = &layout.dimensions[d].name;
            let col = batch.column_by_name(name).expect("projected");
            let values = as_f64(col.as_ref()).map_err(|e| IoError::column(source.label(), name, e))?;
            for v in values.into_iter().filter(|v| v.is_finite()) {
                seen[k] += 1;
                if samples[k].len() < SAMPLE_SIZE {
                    samples[k].push(v);
                } else {
                    let j = rng.random_range(0..seen[k]);
                    if (j as usize) < SAMPLE_SIZE {
                        samples[k][j as usize] = v;
                    }
                }
            }
        }
    }
    for (k, &d) in binned.iter().enumerate() {
        edges[d] = Some(edges_of(&mut samples[k], bins));
    }
    Ok(edges)
}

/// Inner quantile edges of `sample` for `bins` equal-probability bins, ties merged.
pub fn edges_of(sample: &mut [f64], bins: usize) -> Vec<f64> {
    sample.sort_unstable_by(f64::total_cmp);
    let n = sample.len();
    let mut out: Vec<f64> = Vec::with_capacity(bins);
    if n == 0 {
        return out;
    }
    for k in 1..bins {
        let h = (n - 1) as f64 * k as f64 / bins as f64;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let q = sample[lo] + (h - lo as f64) * (sample[hi] - sample[lo]);
        // An edge equal to the minimum would leave the first bin empty.
        if q > sample[0] && out.last().is_none_or(|&last| q > last) {
            out.push(q);
        }
    }
    out
}

/// Bin index of `v`: the number of edges at or below it (bins are `[e_{k−1}, e_k)`).
#[inline]
pub fn bin_of(edges: &[f64], v: f64) -> usize {
    edges.partition_point(|&e| e <= v)
}

/// Human-readable labels of the bins defined by `edges`.
pub fn bin_labels(edges: &[f64]) -> Vec<String> {
    if edges.is_empty() {
        return vec!["all".into()];
    }
    let f = |v: f64| {
        // Three significant digits, more where needed to tell neighbouring edges apart.
        let mut digits = 3;
        loop {
            let mag = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
            let decimals = (digits - 1 - mag).max(0) as usize;
            let text = format!("{v:.decimals$}");
            let distinct = edges.iter().filter(|&&e| e != v).all(|e| format!("{e:.decimals$}") != text);
            if distinct || digits >= 12 {
                return text;
            }
            digits += 1;
        }
    };
    let mut labels = vec![format!("< {}", f(edges[0]))];
    for w in edges.windows(2) {
        labels.push(format!("[{}, {})", f(w[0]), f(w[1])));
    }
    labels.push(format!(">= {}", f(*edges.last().expect("non-empty"))));
    // Edges closer than 12 significant digits could print alike: keep every label distinct.
    for k in 0..labels.len() {
        if labels[..k].contains(&labels[k]) || labels[k + 1..].contains(&labels[k]) {
            labels[k] = format!("{} (bin {})", labels[k], k + 1);
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_of_uniform_grid() {
        let mut v: Vec<f64> = (0..101).map(f64::from).collect();
        let e = edges_of(&mut v, 5);
        assert_eq!(e, vec![20.0, 40.0, 60.0, 80.0]);
        assert_eq!(bin_of(&e, 0.0), 0);
        assert_eq!(bin_of(&e, 20.0), 1);
        assert_eq!(bin_of(&e, 100.0), 4);
        assert_eq!(bin_labels(&e), ["< 20.0", "[20.0, 40.0)", "[40.0, 60.0)", "[60.0, 80.0)", ">= 80.0"]);
        assert_eq!(bin_labels(&[6.92561, 29.8145, 1000.1]), ["< 6.93", "[6.93, 29.8)", "[29.8, 1000)", ">= 1000"]);
        assert_eq!(bin_labels(&[1.0001, 1.0002]), ["< 1.0001", "[1.0001, 1.0002)", ">= 1.0002"]);
        let close = [1.0, 1.0 + 1e-14, 1.0 + 2e-14];
        let labels = bin_labels(&close);
        assert_eq!(labels.len(), 4);
        assert!(labels.iter().enumerate().all(|(i, l)| !labels[i + 1..].contains(l)), "{labels:?}");
    }

    #[test]
    fn ties_are_merged() {
        let mut v = vec![0.0; 90];
        v.extend((0..10).map(f64::from));
        let e = edges_of(&mut v, 5);
        assert!(e.is_empty() || e.windows(2).all(|w| w[0] < w[1]));
        let mut b = vec![1.0, 1.0, 2.0, 2.0];
        assert_eq!(edges_of(&mut b, 2), vec![1.5]);
    }
}
