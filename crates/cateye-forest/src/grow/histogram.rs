//! Split search on per-node histograms over coarse bins: dense histograms of per-unit sums
//! (lanes of partial histograms to avoid store-to-load stalls), moment histograms for the
//! subtraction path, and the left-to-right scan of the bins.

use super::*;

/// Histograms of the moments of `units` over the coarse bins of every covariate, in one buffer
/// (covariate `f` at `ws.offsets[f]..ws.offsets[f + 1]`). Few-bin covariates use `LANES`
/// interleaved partial histograms (see `histogram`).
pub(crate) fn moment_histograms<O: Objective>(
    features: &BinnedFeatures,
    targets: Targets,
    cut: f64,
    units: &[u32],
    ws: &mut Workspace<O::Sums, O::Moments>,
) -> Vec<O::Moments> {
    let mut hist = ws.pool.pop().unwrap_or_default();
    hist.clear();
    hist.resize(*ws.offsets.last().expect("offsets"), O::Moments::default());
    let Workspace { moments, moment_lanes, offsets, .. } = ws;
    moments.clear();
    moments.extend(units.iter().map(|&u| O::unit_moments(targets, cut, u as usize)));
    for f in 0..features.num_features() {
        let codes = features.coarse_column(f);
        let out = &mut hist[offsets[f]..offsets[f + 1]];
        add_by_bin(codes, units, moments, out, moment_lanes);
    }
    hist
}

/// `out[codes[u]] += sums` over the units; with few bins through `LANES` partial histograms.
pub(crate) fn add_by_bin<M: Sums>(codes: &[u16], units: &[u32], sums: &[M], out: &mut [M], lanes: &mut Vec<M>) {
    let bins = out.len();
    if bins > LANE_BINS || units.len() < 4 * LANES * bins {
        for (m, &u) in sums.iter().zip(units) {
            out[codes[u as usize] as usize].add(m);
        }
        return;
    }
    lanes.clear();
    lanes.resize(LANES * bins, M::default());
    let (l0, rest) = lanes.split_at_mut(bins);
    let (l1, rest) = rest.split_at_mut(bins);
    let (l2, l3) = rest.split_at_mut(bins);
    let mut chunks = sums.chunks_exact(LANES);
    let mut ids = units.chunks_exact(LANES);
    for (m, u) in (&mut chunks).zip(&mut ids) {
        l0[codes[u[0] as usize] as usize].add(&m[0]);
        l1[codes[u[1] as usize] as usize].add(&m[1]);
        l2[codes[u[2] as usize] as usize].add(&m[2]);
        l3[codes[u[3] as usize] as usize].add(&m[3]);
    }
    for (m, &u) in chunks.remainder().iter().zip(ids.remainder()) {
        l0[codes[u as usize] as usize].add(m);
    }
    for (b, h) in out.iter_mut().enumerate() {
        *h = l0[b];
        h.add(&l1[b]);
        h.add(&l2[b]);
        h.add(&l3[b]);
    }
}

/// The best split of the node over a random subset of covariates: (covariate, bin).
pub(crate) fn best_split<O: Objective>(
    rule: &SplitRule,
    count: &rand_distr::Poisson<f64>,
    features: &BinnedFeatures,
    targets: Targets,
    units: &[u32],
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace<O::Sums, O::Moments>,
) -> Option<(usize, u16)> {
    let node = O::prepare(rule, targets, units, &mut ws.unit)?;
    let mut candidates = std::mem::take(&mut ws.candidates);
    split_candidates(rng, features.num_features(), count, &mut candidates);
    let mut best: Option<(usize, u16)> = None;
    let mut best_criterion = 0.0;
    for &f in &candidates {
        // A dense histogram over the coarse bins, whose splits are translated to fine codes; with
        // more coarse bins than twice the node's units (max_bins > 256), sorting the node's
        // units by fine code is cheaper. Either way each unit is added once.
        let found = if units.len() * 2 < features.num_coarse_bins(f) {
            scan_sorted::<O>(rule, &node, features, f, units, &ws.unit, &mut ws.sort)
        } else {
            histogram(features, f, units, ws);
            let dense = ws.hist.iter().enumerate().filter(|(_, b)| b.units() > 0);
            scan::<O>(rule, &node, dense.map(|(c, b)| (c as u16, *b)))
                .map(|(coarse, criterion)| (features.coarse_last(f, coarse), criterion))
        };
        if let Some((bin, criterion)) = found {
            if criterion > best_criterion {
                best_criterion = criterion;
                best = Some((f, bin));
            }
        }
    }
    ws.candidates = candidates;
    best
}

/// Covariates with at most this many coarse bins are summed into `LANES` interleaved histograms.
pub(crate) const LANE_BINS: usize = 64;
/// Interleaved partial histograms of few-bin covariates.
pub(crate) const LANES: usize = 4;

/// The node's per-unit sums added up per coarse bin of covariate `f`, into `ws.hist`.
///
/// With few bins (a categorical dimension), consecutive units often fall in the same bin, and
/// each addition would wait for the previous store to the same bin; `LANES` partial histograms,
/// filled round-robin and merged at the end, break those chains.
pub(crate) fn histogram<S: Sums, M>(features: &BinnedFeatures, f: usize, units: &[u32], ws: &mut Workspace<S, M>) {
    let Workspace { unit, hist, lanes, .. } = ws;
    hist.clear();
    hist.resize(features.num_coarse_bins(f), S::default());
    add_by_bin(features.coarse_column(f), units, unit, hist, lanes);
}

/// Scans sums in ascending code order (several items may share a code) and judges the split
/// after each code; returns the best admissible split point and its criterion.
pub(crate) fn scan<O: Objective>(
    rule: &SplitRule,
    node: &NodeLimits<O::Sums>,
    items: impl Iterator<Item = (u16, O::Sums)>,
) -> Option<(u16, f64)> {
    let mut left = O::Sums::default();
    let mut current: Option<u16> = None;
    let mut best: Option<(u16, f64)> = None;
    for (code, sums) in items {
        if let Some(previous) = current.filter(|&p| p != code) {
            match O::judge(rule, node, &left, &node.total.minus(&left)) {
                Step::Skip => {}
                Step::Stop => return best,
                Step::Criterion(c) => {
                    if best.is_none_or(|(_, d)| c > d) {
                        best = Some((previous, c));
                    }
                }
            }
        }
        left.add(&sums);
        current = Some(code);
    }
    best
}
