//! Split search on per-node histograms over coarse bins: dense histograms of per-unit sums
//! (lanes of partial histograms to avoid store-to-load stalls; on large data the many-bin ones
//! filled together by rows), moment histograms for the subtraction path, and the left-to-right
//! scan of the bins.

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

/// The best split of the node over a random subset of covariates.
pub(crate) fn best_split<O: Objective>(
    rule: &SplitRule,
    count: &rand_distr::Poisson<f64>,
    features: &BinnedFeatures,
    targets: Targets,
    units: &[u32],
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace<O::Sums, O::Moments>,
) -> Option<Split> {
    let node = O::prepare(rule, targets, units, &mut ws.unit)?;
    let mut candidates = std::mem::take(&mut ws.candidates);
    split_candidates(rng, features.num_features(), count, &mut candidates);
    let sorted = |f: usize| units.len() * 2 < features.num_coarse_bins(f);
    let large_data = features.has_coarse_rows();
    let by_rows = |f: usize| large_data && !sorted(f) && features.num_coarse_slots(f) > LANE_BINS;
    row_histograms(features, units, candidates.iter().copied().filter(|&f| by_rows(f)), ws);
    let mut best = Best::default();
    let mut by_rows_seen = 0;
    for &f in &candidates {
        // A dense histogram over the coarse bins, whose splits are translated to fine codes; with
        // more coarse bins than twice the node's units (max_bins > 256), sorting the node's
        // units by fine code is cheaper. Either way each unit is added once.
        let found = if sorted(f) {
            scan_sorted::<O>(rule, &node, features, f, units, &ws.unit, &mut ws.sort)
        } else {
            let hist = if by_rows(f) {
                let (_, offset) = ws.row_features[by_rows_seen];
                by_rows_seen += 1;
                &ws.row_hist[offset..offset + features.num_coarse_slots(f)]
            } else {
                histogram(features, f, units, ws);
                &ws.hist[..]
            };
            let bins = features.num_coarse_bins(f);
            let missing = if features.has_missing(f) { hist[bins] } else { O::Sums::default() };
            let dense = hist[..bins].iter().enumerate().filter(|(_, b)| b.units() > 0);
            scan_with_missing::<O>(rule, &node, dense.map(|(c, b)| (c as u16, *b)), &missing)
                .map(|c| c.to_fine(|coarse| features.coarse_last(f, coarse)))
        };
        best.consider(f, found);
    }
    ws.candidates = candidates;
    best.split()
}

/// The histograms of the covariates `candidates` over the node's units, filled in one pass that
/// reads each unit's row of coarse bins (`BinnedFeatures::coarse_row`: one or two cache lines,
/// prefetched) instead of one column entry per covariate: on large data, each column entry is
/// a cache miss. Needs the coarse bins by rows (`BinnedFeatures::has_coarse_rows`).
/// Each histogram adds its units in the same order as `histogram` does, so the sums are the
/// same to the bit. Covariate `candidates[k]`'s histogram is `ws.row_hist[offset..]` with
/// `(_, offset) = ws.row_features[k]`.
pub(crate) fn row_histograms<S: Sums, M>(
    features: &BinnedFeatures,
    units: &[u32],
    candidates: impl Iterator<Item = usize>,
    ws: &mut Workspace<S, M>,
) {
    let Workspace { unit, row_hist, row_features, .. } = ws;
    row_features.clear();
    let mut slots = 0;
    for f in candidates {
        row_features.push((f, slots));
        slots += features.num_coarse_slots(f);
    }
    row_hist.clear();
    row_hist.resize(slots, S::default());
    if row_features.is_empty() {
        return;
    }
    for (k, (sums, &u)) in unit.iter().zip(units).enumerate() {
        if let Some(&ahead) = units.get(k + PREFETCH_AHEAD) {
            let row = features.coarse_row(ahead as usize);
            prefetch(&row[0]);
            prefetch(&row[row.len() - 1]);
        }
        let row = features.coarse_row(u as usize);
        for &(f, offset) in row_features.iter() {
            row_hist[offset + row[f] as usize].add(sums);
        }
    }
}

/// A covariate's best split point: split after `code` (`None`: the split "is the value
/// missing?"), with missing values on the side `missing_left` says (`None`: the node has no
/// missing value of the covariate), and its criterion.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub(crate) code: Option<u16>,
    pub(crate) missing_left: Option<bool>,
    pub(crate) criterion: f64,
}

impl Candidate {
    /// The same candidate with its code mapped by `fine` (coarse bin → last fine code).
    pub(crate) fn to_fine(self, fine: impl Fn(u16) -> u16) -> Self {
        Candidate { code: self.code.map(fine), ..self }
    }
}

/// The best candidate over the covariates searched so far (positive criteria only).
#[derive(Default)]
pub(crate) struct Best(Option<(usize, Candidate)>);

impl Best {
    /// Keeps covariate `f`'s candidate if it beats the best so far.
    #[inline]
    pub(crate) fn consider(&mut self, f: usize, found: Option<Candidate>) {
        if let Some(c) = found {
            if c.criterion > self.0.map_or(0.0, |(_, b)| b.criterion) {
                self.0 = Some((f, c));
            }
        }
    }

    /// The split of the best candidate.
    pub(crate) fn split(self) -> Option<Split> {
        self.0.map(|(feature, c)| match c.code {
            Some(bin) => Split { feature, bin, missing_left: c.missing_left },
            None => Split { feature, bin: MISSING_SPLIT_BIN, missing_left: Some(false) },
        })
    }
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
    hist.resize(features.num_coarse_slots(f), S::default());
    add_by_bin(features.coarse_column(f), units, unit, hist, lanes);
}

/// Scans sums in ascending code order (several items may share a code) and judges the split
/// after each code; returns the best admissible split point and its criterion.
pub(crate) fn scan<O: Objective>(
    rule: &SplitRule,
    node: &NodeLimits<O::Sums>,
    items: impl Iterator<Item = (u16, O::Sums)>,
) -> Option<(u16, f64)> {
    scan_from::<O>(rule, node, O::Sums::default(), items)
}

/// `scan` with `start` on the left of every split point (missing values sent left).
fn scan_from<O: Objective>(
    rule: &SplitRule,
    node: &NodeLimits<O::Sums>,
    start: O::Sums,
    items: impl Iterator<Item = (u16, O::Sums)>,
) -> Option<(u16, f64)> {
    let mut left = start;
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

/// The best split of one covariate with missing values incorporated in the attribute (MIA;
/// Twala, Jones & Hand 2008, as grf does): `items` are the sums of the values present in
/// ascending code order, `missing` those of the node's units missing the covariate (included
/// in the node's total). With missing units, each split point is judged with them on the left
/// and on the right, and "missing against present" is a candidate of its own.
pub(crate) fn scan_with_missing<O: Objective>(
    rule: &SplitRule,
    node: &NodeLimits<O::Sums>,
    items: impl Iterator<Item = (u16, O::Sums)> + Clone,
    missing: &O::Sums,
) -> Option<Candidate> {
    let found = |scanned: Option<(u16, f64)>, missing_left| {
        scanned.map(|(code, criterion)| Candidate { code: Some(code), missing_left, criterion })
    };
    if missing.units() == 0 {
        return found(scan::<O>(rule, node, items), None);
    }
    // Missing right: the node's total holds them, so they are on the right of every point.
    let mut best = found(scan::<O>(rule, node, items.clone()), Some(false));
    let mut consider = |c: Option<Candidate>| {
        if let Some(c) = c.filter(|c| best.is_none_or(|b| c.criterion > b.criterion)) {
            best = Some(c);
        }
    };
    if let Step::Criterion(criterion) = O::judge(rule, node, &node.total.minus(missing), missing) {
        consider(Some(Candidate { code: None, missing_left: Some(false), criterion }));
    }
    consider(found(scan_from::<O>(rule, node, *missing, items), Some(true)));
    best
}
