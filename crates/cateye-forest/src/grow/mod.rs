//! Growing one tree: depth-first node splitting. The submodules hold the seams: `objective`
//! (what a split optimises, per forest kind), `histogram` (search over coarse bins), `exact`
//! (sorted search in small subtrees), `partition` (moving units to their child).
//!
//! At each node a random subset of covariates is drawn (`sampling::split_candidates`) and the
//! node's units are summarised once into per-unit sums (`Objective::prepare`). Then:
//!
//! - nodes of `SMALL_NODE` units or more add those sums up per coarse bin of each candidate
//!   (a dense histogram; on large data the many-bin ones are filled together, reading each
//!   unit's row of coarse bins once, `row_histograms`) and scan the bins left to right
//!   (`best_split`);
//! - a subtree below `SMALL_NODE` units searches exactly, on units in exact (fine) code order
//!   (`grow_small`): a covariate's units are sorted at the first node of a branch that draws it
//!   and kept sorted below through stable partitions, so each node scans its units in code
//!   order without sorting again; nodes too small for any admissible split are not searched.
//!
//! At a million rows a large node's units are spread over the whole data; the gathers by unit
//! index are prefetched ahead (`crate::prefetch`).
//!
//! With a two-valued treatment (a trial with a known propensity) and for regression forests, on
//! covariates with few bins on average (categorical ones), `grow_by_subtraction` replaces both: histograms hold node-independent moments
//! (`Objective::Moments`), so only the smaller child's are summed and the larger child's are its
//! parent's minus its sibling's, down to 32 units; below 128 units, covariates with more exact
//! codes than coarse bins are searched on sorted units, so splits stay exact.
//!
//! Partitions are branch-free (both sides written, one cursor advanced): which side a unit goes
//! to is unpredictable, and mispredicted branches cost more than the extra stores.
//!
//! Missing covariate values (MIA, Twala, Jones & Hand 2008): a covariate's missing units sit in
//! a histogram slot of their own (or sort last), every split point is judged with them on
//! either side, and "missing against present" is a candidate too (`scan_with_missing`). A node
//! without missing units of the chosen covariate sends them, at prediction, to its larger child.
//!
//! - `Regression` maximises `S_L²/W_L + S_R²/W_R` (weighted outcome sums `S`, weights `W`), each
//!   child holding at least `max(1, ceil(alpha · n))` units (grf's regression splitting rule).
//! - `Causal` uses gradient-based relabeling (Athey, Tibshirani & Wager 2019, eq. 5–6, with the
//!   instrument equal to the centered treatment as in grf's causal forest): in the node, with
//!   centered outcome `y` and treatment `z`, `τ_P = Σω(z−z̄)(y−ȳ) / Σω(z−z̄)²` and the pseudo-outcome
//!   `ρ_i = (z_i − z̄)((y_i − ȳ) − τ_P (z_i − z̄))`; splits maximise the same criterion on `ρ`.
//!   Each child must hold at least `min_node_size` units on each side of the node's mean `z`
//!   (treated and control in a trial) and at least `alpha` of the node's `Σω(z−z̄)²`; the optional
//!   imbalance penalty subtracts `λ (1/V_L + 1/V_R)` with `V` the children's treatment variation.

mod exact;
mod histogram;
mod objective;
mod partition;

use crate::binning::{BinnedFeatures, MISSING};
pub(crate) use crate::prefetch::{prefetch, PREFETCH_AHEAD};
use crate::sampling::{candidate_count, split_candidates};
use crate::tree::{Node, MISSING_SPLIT_BIN};
pub(crate) use exact::*;
pub(crate) use histogram::*;
pub(crate) use objective::*;
pub(crate) use partition::*;
use rand_chacha::ChaCha8Rng;

/// What a tree's splits optimise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Regression,
    Causal,
}

/// Split-search settings of one forest.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SplitRule {
    pub kind: Kind,
    pub mtry: usize,
    pub min_node_size: usize,
    pub alpha: f64,
    pub imbalance_penalty: f64,
}

impl SplitRule {
    /// The rule of `kind` with the options' settings for `p` covariates.
    pub fn new(kind: Kind, options: &crate::options::ForestOptions, p: usize) -> Self {
        SplitRule {
            kind,
            mtry: options.mtry_for(p),
            min_node_size: options.min_node_size,
            alpha: options.alpha,
            imbalance_penalty: options.imbalance_penalty,
        }
    }
}

/// A chosen split: values of `feature` with fine code ≤ `bin` go left; missing values go left
/// when `missing_left` (`None`: the node has none, so they follow the larger child).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Split {
    pub feature: usize,
    pub bin: u16,
    pub missing_left: Option<bool>,
}

/// Per-unit training targets: the (centered) outcome, the centered treatment (causal only) and weights.
#[derive(Clone, Copy)]
pub(crate) struct Targets<'a> {
    pub y: &'a [f64],
    pub z: &'a [f64],
    pub weight: &'a [f64],
}

/// Buffers reused across the nodes of a tree (and the trees of a worker).
pub(crate) struct Workspace<S, M = S> {
    unit: Vec<S>,
    hist: Vec<S>,
    /// Histograms filled together by `row_histograms`, and each one's covariate and offset.
    row_hist: Vec<S>,
    row_features: Vec<(usize, usize)>,
    lanes: Vec<S>,
    /// Moments of the units being summed, their partial histograms, free node histograms and
    /// the offset of each covariate in a node histogram (see `grow_by_subtraction`).
    moments: Vec<M>,
    moment_lanes: Vec<M>,
    pool: Vec<Vec<M>>,
    offsets: Vec<usize>,
    pending: Vec<(u32, usize, usize, Option<Vec<M>>)>,
    sort: SortBuffers,
    right_units: Vec<u32>,
    candidates: Vec<usize>,
    stack: Vec<(u32, usize, usize)>,
    small: SmallLists<S>,
}

/// Per-covariate sorted lists of a small subtree's units (see `grow_small`).
pub(crate) struct SmallLists<S> {
    /// `code << 16 | local id` of the units (fine code, subtree-local id), sorted within each
    /// node's range inside the covariate's `valid` range; covariate f occupies
    /// `[f · m, (f + 1) · m)`. One word per entry: a partition moves each entry once.
    entries: Vec<u32>,
    /// The range of the subtree's `units` within which each covariate's list is sorted (empty
    /// until a node draws the covariate).
    valid: Vec<(usize, usize)>,
    /// Local id of each entry of the subtree's `units`.
    unit_ids: Vec<u16>,
    /// Per-unit sums of the current node by local id.
    by_id: Vec<S>,
    goes_left: Vec<bool>,
    scratch_entries: Vec<u32>,
    scratch_ids: Vec<u16>,
    stack: Vec<(u32, usize, usize)>,
}

impl<S> Default for SmallLists<S> {
    fn default() -> Self {
        SmallLists {
            entries: Vec::new(),
            valid: Vec::new(),
            unit_ids: Vec::new(),
            by_id: Vec::new(),
            goes_left: Vec::new(),
            scratch_entries: Vec::new(),
            scratch_ids: Vec::new(),
            stack: Vec::new(),
        }
    }
}

impl<S, M> Default for Workspace<S, M> {
    fn default() -> Self {
        Workspace {
            unit: Vec::new(),
            hist: Vec::new(),
            row_hist: Vec::new(),
            row_features: Vec::new(),
            lanes: Vec::new(),
            moments: Vec::new(),
            moment_lanes: Vec::new(),
            pool: Vec::new(),
            offsets: Vec::new(),
            pending: Vec::new(),
            sort: SortBuffers::default(),
            right_units: Vec::new(),
            candidates: Vec::new(),
            stack: Vec::new(),
            small: SmallLists::default(),
        }
    }
}

/// `grow_by_subtraction` is used when covariates have at most this many coarse bins on average
/// (mostly categorical ones): a subtraction per bin and split is then cheap. With 256-bin
/// continuous covariates it costs more than it saves (measured: regression nuisance forests,
/// n = 20,000, p = 10: 3.35 s with it, 2.8 s without).
pub(crate) const MAX_MEAN_SUBTRACTION_BINS: usize = 64;

/// Nodes with fewer units are grown by `grow_small`.
pub(crate) const SMALL_NODE: usize = 128;
/// The same threshold in `grow_by_subtraction`, where a histogram costs one subtraction per bin
/// and a pass over the smaller child's units: cheaper than sorted lists down to smaller nodes.
/// Between this and `SMALL_NODE` units, covariates with more exact codes than coarse bins are
/// searched exactly on sorted units, so the splits stay exact.
pub(crate) const SMALL_NODE_SUBTRACTION: usize = 32;

/// Grows a tree on `units` (ascending; reordered in place) and returns its nodes (children of
/// a node at `left` and `left + 1`).
pub(crate) fn grow<O: Objective>(
    rule: &SplitRule,
    features: &BinnedFeatures,
    targets: Targets,
    units: &mut [u32],
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace<O::Sums, O::Moments>,
) -> Vec<Node> {
    debug_assert!(units.is_sorted());
    let count = candidate_count(rule.mtry);
    let total_bins: usize = (0..features.num_features()).map(|f| features.num_coarse_bins(f)).sum();
    let few_bins = total_bins <= MAX_MEAN_SUBTRACTION_BINS * features.num_features();
    if let Some(cut) = O::moments_supported(targets).filter(|_| few_bins) {
        return grow_by_subtraction::<O>(rule, &count, features, targets, cut, units, rng, ws);
    }
    grow_direct::<O>(rule, &count, features, targets, units, rng, ws)
}

/// `grow` summing every large node's units per candidate covariate.
pub(crate) fn grow_direct<O: Objective>(
    rule: &SplitRule,
    count: &rand_distr::Poisson<f64>,
    features: &BinnedFeatures,
    targets: Targets,
    units: &mut [u32],
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace<O::Sums, O::Moments>,
) -> Vec<Node> {
    let mut nodes = vec![Node::leaf(0)];
    ws.stack.clear();
    ws.stack.push((0, 0, units.len()));
    while let Some((id, start, end)) = ws.stack.pop() {
        if end - start < SMALL_NODE {
            if end - start > rule.min_node_size {
                grow_small::<O>(rule, count, features, targets, &mut units[start..end], id, &mut nodes, rng, ws);
            }
            continue;
        }
        let split = best_split::<O>(rule, count, features, targets, &units[start..end], rng, ws);
        if let Some(split) = split {
            let mid = start + partition_by_split(&mut units[start..end], features, &split, &mut ws.right_units);
            debug_assert!(mid > start && mid < end);
            let left = split_node(&mut nodes, id, &split, mid - start, end - mid);
            ws.stack.push((left + 1, mid, end));
            ws.stack.push((left, start, mid));
        }
    }
    nodes
}

/// `grow` with histograms of node-independent moments (`Objective::Moments`): the histograms of
/// every covariate are built once for the root; at each split only the smaller child's are
/// built from its units, and the larger child's are its parent's minus the smaller's. A node's
/// split sums come from its moment histograms, so large nodes never pass over their units
/// except to partition them. Nodes too small for any admissible split are left as leaves at once.
/// The splits are those of `grow_direct` (up to rounding) as long as those small nodes are below
/// 32 units (`min_node_size` ≤ 8 for the causal rule): the same candidates are drawn and the
/// same criterion is evaluated on the same bins; with larger nodes left alone, fewer candidate
/// draws are made and the random streams of the two paths part.
#[allow(clippy::too_many_arguments)]
pub(crate) fn grow_by_subtraction<O: Objective>(
    rule: &SplitRule,
    count: &rand_distr::Poisson<f64>,
    features: &BinnedFeatures,
    targets: Targets,
    cut: f64,
    units: &mut [u32],
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace<O::Sums, O::Moments>,
) -> Vec<Node> {
    let p = features.num_features();
    let small_node = SMALL_NODE_SUBTRACTION;
    // Nodes smaller than `min_split` are leaves: no histogram, no candidates, no sorted lists.
    let min_split = O::min_units_to_split(rule);
    let needs_histogram = |len: usize| len >= small_node.max(min_split);
    ws.offsets.clear();
    ws.offsets.push(0);
    for f in 0..p {
        let next = ws.offsets[f] + features.num_coarse_slots(f);
        ws.offsets.push(next);
    }
    let mut nodes = vec![Node::leaf(0)];
    let mut pending = std::mem::take(&mut ws.pending);
    pending.clear();
    let root = needs_histogram(units.len()).then(|| moment_histograms::<O>(features, targets, cut, units, ws));
    pending.push((0, 0, units.len(), root));
    let mut candidates = std::mem::take(&mut ws.candidates);
    while let Some((id, start, end, hist)) = pending.pop() {
        let Some(mut hist) = hist else {
            if end - start > rule.min_node_size {
                grow_small::<O>(rule, count, features, targets, &mut units[start..end], id, &mut nodes, rng, ws);
            }
            continue;
        };
        let mut total = O::Moments::default();
        for bin in &hist[..ws.offsets[1]] {
            total.add(bin);
        }
        let node_units = &units[start..end];
        let split = O::limits_from_moments(rule, &total).and_then(|(node, context)| {
            split_candidates(rng, p, count, &mut candidates);
            let mut best = Best::default();
            let mut unit_sums_ready = false;
            for &f in &candidates {
                // Below `SMALL_NODE` units, a covariate whose coarse bins merge exact codes is
                // searched exactly, on the node's units sorted by code (as `grow_small` would).
                let found = if node_units.len() < SMALL_NODE && features.num_coarse_bins(f) != features.num_bins(f) {
                    if !unit_sums_ready {
                        ws.unit.clear();
                        ws.unit.extend(
                            node_units
                                .iter()
                                .map(|&u| O::sums_from_moments(&context, &O::unit_moments(targets, cut, u as usize))),
                        );
                        unit_sums_ready = true;
                    }
                    scan_sorted::<O>(rule, &node, features, f, node_units, &ws.unit, &mut ws.sort)
                } else {
                    let slots = &hist[ws.offsets[f]..ws.offsets[f + 1]];
                    let bins = features.num_coarse_bins(f);
                    let missing = if features.has_missing(f) {
                        O::sums_from_moments(&context, &slots[bins])
                    } else {
                        O::Sums::default()
                    };
                    let dense = slots[..bins].iter().enumerate().filter(|(_, b)| b.units() > 0);
                    let sums = dense.map(|(c, b)| (c as u16, O::sums_from_moments(&context, b)));
                    scan_with_missing::<O>(rule, &node, sums, &missing)
                        .map(|c| c.to_fine(|coarse| features.coarse_last(f, coarse)))
                };
                best.consider(f, found);
            }
            best.split()
        });
        let Some(split) = split else {
            ws.pool.push(hist);
            continue;
        };
        let mid = start + partition_by_split(&mut units[start..end], features, &split, &mut ws.right_units);
        debug_assert!(mid > start && mid < end);
        let left = split_node(&mut nodes, id, &split, mid - start, end - mid);
        let (left_len, right_len) = (mid - start, end - mid);
        let left_small = left_len <= right_len;
        let (small_range, large_len) = if left_small { (start..mid, right_len) } else { (mid..end, left_len) };
        // The smaller child's histograms are built when it or its sibling needs them.
        let (small_hist, large_hist) = if !needs_histogram(large_len) {
            ws.pool.push(hist);
            (None, None)
        } else {
            let small = moment_histograms::<O>(features, targets, cut, &units[small_range.clone()], ws);
            for (h, s) in hist.iter_mut().zip(&small) {
                *h = h.minus(s);
            }
            if needs_histogram(small_range.len()) {
                (Some(small), Some(hist))
            } else {
                ws.pool.push(small);
                (None, Some(hist))
            }
        };
        let (left_hist, right_hist) = if left_small { (small_hist, large_hist) } else { (large_hist, small_hist) };
        if right_len >= min_split {
            pending.push((left + 1, mid, end, right_hist));
        }
        if left_len >= min_split {
            pending.push((left, start, mid, left_hist));
        }
    }
    ws.candidates = candidates;
    ws.pending = pending;
    nodes
}

/// Grows the subtree below node `root` on fewer than `SMALL_NODE` units with an exact search on
/// units in code order.
///
/// A covariate's units are sorted by fine code at the first node of a branch that draws it as a
/// candidate; every later split in that node's subtree partitions the sorted list stably, so
/// the node's descendants scan it without sorting again. Covariates never drawn in a branch are
/// never sorted there, and only the lists sorted so far are partitioned: the work per split
/// follows mtry, not p (at p = 58 and mtry 28, half the covariates are not drawn at a node).
///
/// Nodes are visited depth first, left child first, so a list sorted at node v is valid within
/// v's range of `units` (less the part of a node whose children read no list) until the search
/// leaves v's subtree, never to return: every node still to come starts at or after the end of
/// the current one, unless it descends from it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn grow_small<O: Objective>(
    rule: &SplitRule,
    count: &rand_distr::Poisson<f64>,
    features: &BinnedFeatures,
    targets: Targets,
    units: &mut [u32],
    root: u32,
    nodes: &mut Vec<Node>,
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace<O::Sums, O::Moments>,
) {
    let (m, p) = (units.len(), features.num_features());
    let min_split = O::min_units_to_split(rule);
    if m < min_split {
        // No admissible split anywhere below: only the root's candidate draw, as below.
        if m > rule.min_node_size && O::prepare(rule, targets, units, &mut ws.unit).is_some() {
            split_candidates(rng, p, count, &mut ws.candidates);
        }
        return;
    }
    debug_assert!(m <= 1 << 16, "local ids are 16 bits");
    let mut lists = std::mem::take(&mut ws.small);
    // Entries outside a covariate's valid range are never read, so stale contents may stay.
    if lists.entries.len() < p * m {
        lists.entries.resize(p * m, 0);
    }
    lists.valid.clear();
    lists.valid.resize(p, (0, 0));
    lists.unit_ids.clear();
    lists.unit_ids.extend(0..m as u16);
    lists.by_id.clear();
    lists.by_id.resize(m, O::Sums::default());
    lists.goes_left.clear();
    lists.goes_left.resize(m, false);
    lists.stack.clear();
    lists.stack.push((root, 0, m));
    // A node of fewer than `min_split` units has no admissible split
    // (`Objective::min_units_to_split`): its candidates are drawn, so the random stream and the
    // trees stay those of a search of every node, but it is not searched. Nodes of fewer than
    // `searched_from` units never read the lists, so the lists of a split whose children are
    // both such nodes stay unpartitioned.
    let searched_from = min_split.max(rule.min_node_size + 1);
    let mut candidates = std::mem::take(&mut ws.candidates);
    while let Some((id, a, b)) = lists.stack.pop() {
        if b - a <= rule.min_node_size {
            continue;
        }
        let Some(node) = O::prepare(rule, targets, &units[a..b], &mut ws.unit) else { continue };
        split_candidates(rng, p, count, &mut candidates);
        if b - a < min_split {
            continue;
        }
        for (unit, &local) in ws.unit.iter().zip(&lists.unit_ids[a..b]) {
            lists.by_id[local as usize] = *unit;
        }
        let mut best = Best::default();
        for &f in &candidates {
            let range = f * m + a..f * m + b;
            let (va, vb) = lists.valid[f];
            if !(va <= a && b <= vb) {
                // Units in code order, ties by position, which is local id order: the order a
                // sort at the subtree's root would leave after stable partitions.
                sort_by_code(
                    features.column(f),
                    features.num_bins(f),
                    features.has_missing(f),
                    &units[a..b],
                    &mut ws.sort,
                );
                for (entry, &key) in lists.entries[range.clone()].iter_mut().zip(&ws.sort.keys) {
                    *entry = key & 0xffff_0000 | lists.unit_ids[a + (key & 0xffff) as usize] as u32;
                }
                lists.valid[f] = (a, b);
            }
            let entries = &lists.entries[range];
            let by_id = &lists.by_id;
            // Missing values sort last.
            let present = if features.has_missing(f) {
                entries.partition_point(|&e| e >> 16 < MISSING as u32)
            } else {
                entries.len()
            };
            let mut missing = O::Sums::default();
            for &e in &entries[present..] {
                missing.add(&by_id[(e & 0xffff) as usize]);
            }
            let items = entries[..present].iter().map(|&e| ((e >> 16) as u16, by_id[(e & 0xffff) as usize]));
            best.consider(f, scan_with_missing::<O>(rule, &node, items, &missing));
        }
        let Some(split) = best.split() else { continue };
        let column = features.column(split.feature);
        let missing_left = split.missing_left.unwrap_or(false);
        for (&u, &local) in units[a..b].iter().zip(&lists.unit_ids[a..b]) {
            lists.goes_left[local as usize] = goes_left(column[u as usize], split.bin, missing_left);
        }
        let SmallLists { entries, unit_ids, goes_left, valid, scratch_entries, scratch_ids, stack, .. } = &mut lists;
        let mid =
            a + partition_by_flag(&mut units[a..b], &mut unit_ids[a..b], goes_left, &mut ws.right_units, scratch_ids);
        let keep_lists = (mid - a).max(b - mid) >= searched_from;
        for (f, range) in valid.iter_mut().enumerate() {
            if range.0 <= a && b <= range.1 {
                if keep_lists {
                    partition_list(&mut entries[f * m + a..f * m + b], goes_left, scratch_entries);
                } else {
                    // Nodes after this one's subtree start at b or later.
                    range.0 = b;
                }
            }
        }
        debug_assert!(mid > a && mid < b);
        let left = split_node(nodes, id, &split, mid - a, b - mid);
        stack.push((left + 1, mid, b));
        stack.push((left, a, mid));
    }
    ws.candidates = candidates;
    ws.small = lists;
}

/// Turns leaf `id` into `split` with two new leaves of `left_len` and `right_len` units; returns
/// the left one. Missing values go where the split search sent them, else to the larger child.
pub(crate) fn split_node(nodes: &mut Vec<Node>, id: u32, split: &Split, left_len: usize, right_len: usize) -> u32 {
    let left = nodes.len() as u32;
    nodes.extend([Node::leaf(left), Node::leaf(left + 1)]);
    let missing_left = split.missing_left.unwrap_or(left_len >= right_len);
    nodes[id as usize] = Node::split(split.feature, split.bin, missing_left, left);
    left
}

/// `partition` of a node's units by `split`.
fn partition_by_split(units: &mut [u32], features: &BinnedFeatures, split: &Split, right: &mut Vec<u32>) -> usize {
    partition(units, features.column(split.feature), split.bin, split.missing_left.unwrap_or(false), right)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::stream;
    use crate::tree::Tree;
    use rand::RngExt;

    fn rule(kind: Kind) -> SplitRule {
        SplitRule { kind, mtry: 50, min_node_size: 5, alpha: 0.05, imbalance_penalty: 0.0 }
    }

    fn grow_all<O: Objective>(rule: &SplitRule, features: &BinnedFeatures, targets: Targets) -> Vec<Node> {
        let mut units: Vec<u32> = (0..features.num_rows() as u32).collect();
        grow::<O>(rule, features, targets, &mut units, &mut stream(1, 0, 0), &mut Workspace::default())
    }

    #[test]
    fn subtraction_grows_the_trees_of_direct_summing() {
        // Few-level covariates (coarse = fine codes), a continuous one (searched exactly below
        // 128 units by both paths) and a two-valued treatment: both paths find the same splits.
        let n = 3000;
        let mut rng = stream(9, 0, 0);
        let mut cols: Vec<Vec<f64>> =
            (0..4).map(|k| (0..n).map(|_| rng.random_range(0..(3 + 2 * k)) as f64).collect()).collect();
        cols.push((0..n).map(|_| rng.random::<f64>()).collect());
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let names: Vec<String> = (0..5).map(|k| format!("x{k}")).collect();
        let features = BinnedFeatures::new(&refs, &names, 256).unwrap();
        let z: Vec<f64> = (0..n).map(|_| if rng.random::<f64>() < 0.5 { 0.5 } else { -0.5 }).collect();
        let y: Vec<f64> =
            (0..n).map(|i| (cols[0][i] == 1.0) as u8 as f64 * z[i] + rng.random::<f64>() + 0.3 * cols[2][i]).collect();
        let weight = vec![1.0; n];
        let targets = Targets { y: &y, z: &z, weight: &weight };
        let r = rule(Kind::Causal);
        let count = candidate_count(r.mtry);
        let mut ws: Workspace<CausalSums, CausalMoments> = Workspace::default();
        let mut units: Vec<u32> = (0..n as u32).collect();
        let direct = grow_direct::<Causal>(&r, &count, &features, targets, &mut units, &mut stream(1, 0, 0), &mut ws);
        let cut = Causal::moments_supported(targets).expect("two-valued treatment");
        let mut units: Vec<u32> = (0..n as u32).collect();
        let subtraction = grow_by_subtraction::<Causal>(
            &r,
            &count,
            &features,
            targets,
            cut,
            &mut units,
            &mut stream(1, 0, 0),
            &mut ws,
        );
        assert!(direct.len() > 50);
        assert_eq!(direct, subtraction);
    }

    /// `grow_small`'s tree, searched naively: every node sorts its units afresh for every
    /// candidate, and nodes too small to split are searched too.
    fn grow_small_naively<O: Objective>(
        rule: &SplitRule,
        features: &BinnedFeatures,
        targets: Targets,
        units: &mut [u32],
        rng: &mut ChaCha8Rng,
    ) -> Vec<Node> {
        let (count, p) = (candidate_count(rule.mtry), features.num_features());
        let mut ws: Workspace<O::Sums, O::Moments> = Workspace::default();
        let (mut nodes, mut stack, mut candidates, mut right) =
            (vec![Node::leaf(0)], vec![(0, 0, units.len())], vec![], vec![]);
        while let Some((id, a, b)) = stack.pop() {
            if b - a <= rule.min_node_size {
                continue;
            }
            let Some(node) = O::prepare(rule, targets, &units[a..b], &mut ws.unit) else { continue };
            split_candidates(rng, p, &count, &mut candidates);
            let mut best = Best::default();
            for &f in &candidates {
                best.consider(f, scan_sorted::<O>(rule, &node, features, f, &units[a..b], &ws.unit, &mut ws.sort));
            }
            let Some(split) = best.split() else { continue };
            let mid = a + partition_by_split(&mut units[a..b], features, &split, &mut right);
            let left = split_node(&mut nodes, id, &split, mid - a, b - mid);
            stack.push((left + 1, mid, b));
            stack.push((left, a, mid));
        }
        nodes
    }

    /// The trees of `grow_small` and `grow_small_naively` on all of `features`' rows, then on
    /// every other row with the same workspace (stale lists of another size left in it).
    fn lazy_and_naive<O: Objective>(
        r: &SplitRule,
        features: &BinnedFeatures,
        targets: Targets,
    ) -> Vec<(Vec<Node>, Vec<Node>)> {
        let count = candidate_count(r.mtry);
        let mut ws = Workspace::default();
        let n = features.num_rows() as u32;
        let subsets: [Vec<u32>; 2] = [(0..n).collect(), (0..n).step_by(2).collect()];
        subsets
            .into_iter()
            .map(|units| {
                let mut lazy = vec![Node::leaf(0)];
                let mut rng = stream(4, 0, 0);
                grow_small::<O>(r, &count, features, targets, &mut units.clone(), 0, &mut lazy, &mut rng, &mut ws);
                (lazy, grow_small_naively::<O>(r, features, targets, &mut units.clone(), &mut stream(4, 0, 0)))
            })
            .collect()
    }

    #[test]
    fn small_subtrees_sort_lazily_and_find_the_naive_searchs_splits() {
        // 30 covariates, about 8 drawn per node: most lists are sorted below the subtree's root
        // or never; some covariates with missing values, one with few codes (counting sort).
        let n = 120;
        let mut rng = stream(3, 0, 0);
        let mut cols: Vec<Vec<f64>> = (0..30).map(|_| (0..n).map(|_| rng.random::<f64>()).collect()).collect();
        for col in cols.iter_mut().take(4) {
            for v in col.iter_mut().step_by(7) {
                *v = f64::NAN;
            }
        }
        cols[5] = (0..n).map(|i| (i % 6) as f64).collect();
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let names: Vec<String> = (0..30).map(|k| format!("x{k}")).collect();
        let features = BinnedFeatures::new(&refs, &names, 256).unwrap();
        let z: Vec<f64> = (0..n).map(|_| rng.random::<f64>() - 0.5).collect();
        let y: Vec<f64> =
            (0..n).map(|i| z[i] * (cols[6][i] > 0.5) as u8 as f64 + cols[7][i] + rng.random::<f64>()).collect();
        let weight: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
        let targets = Targets { y: &y, z: &z, weight: &weight };
        for (kind, min_node_size) in
            [(Kind::Causal, 2), (Kind::Causal, 5), (Kind::Regression, 1), (Kind::Regression, 5)]
        {
            let r = SplitRule { kind, mtry: 8, min_node_size, alpha: 0.05, imbalance_penalty: 0.0 };
            let trees = match kind {
                Kind::Causal => lazy_and_naive::<Causal>(&r, &features, targets),
                Kind::Regression => lazy_and_naive::<Regression>(&r, &features, targets),
            };
            for (lazy, naive) in trees {
                assert!(lazy.len() >= 7, "{kind:?}, min node size {min_node_size}: {} nodes", lazy.len());
                assert_eq!(lazy, naive, "{kind:?}, min node size {min_node_size}");
            }
        }
    }

    #[test]
    fn row_histograms_are_the_column_histograms_to_the_bit() {
        // Many-bin covariates (one with missing values) summed by rows, against `histogram`.
        let n = 3000;
        let mut rng = stream(5, 0, 0);
        let mut cols: Vec<Vec<f64>> = (0..4).map(|_| (0..n).map(|_| rng.random::<f64>()).collect()).collect();
        for v in cols[2].iter_mut().step_by(5) {
            *v = f64::NAN;
        }
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let names: Vec<String> = (0..4).map(|k| format!("x{k}")).collect();
        let features = BinnedFeatures::new(&refs, &names, 256).unwrap().with_coarse_rows();
        let y: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let z: Vec<f64> = (0..n).map(|_| rng.random::<f64>() - 0.5).collect();
        let weight = vec![1.0; n];
        let units: Vec<u32> = (0..n as u32).filter(|u| u % 3 != 1).collect();
        let r = rule(Kind::Causal);
        let mut ws: Workspace<CausalSums> = Workspace::default();
        Causal::prepare(&r, Targets { y: &y, z: &z, weight: &weight }, &units, &mut ws.unit).unwrap();
        row_histograms(&features, &units, [3, 0, 2].into_iter(), &mut ws);
        let by_rows: Vec<(usize, Vec<CausalSums>)> = ws
            .row_features
            .clone()
            .into_iter()
            .map(|(f, offset)| (f, ws.row_hist[offset..offset + features.num_coarse_slots(f)].to_vec()))
            .collect();
        assert_eq!(by_rows.iter().map(|(f, _)| *f).collect::<Vec<_>>(), [3, 0, 2]);
        for (f, hist) in by_rows {
            histogram(&features, f, &units, &mut ws);
            assert_eq!(ws.hist.len(), hist.len());
            for (a, b) in ws.hist.iter().zip(&hist) {
                assert_eq!((a.n, a.small), (b.n, b.small));
                assert_eq!([a.sw, a.s, a.sz, a.szz].map(f64::to_bits), [b.sw, b.s, b.sz, b.szz].map(f64::to_bits));
            }
        }
    }

    #[test]
    fn trees_grown_with_row_histograms_are_those_grown_with_column_histograms() {
        // Large data keeps coarse bins by rows and fills many-bin histograms from them: the
        // trees must be those of the column histograms, to the bit.
        let n = 4000;
        let mut rng = stream(6, 0, 0);
        let mut cols: Vec<Vec<f64>> = (0..6).map(|_| (0..n).map(|_| rng.random::<f64>()).collect()).collect();
        for v in cols[1].iter_mut().step_by(9) {
            *v = f64::NAN;
        }
        cols[4] = (0..n).map(|i| (i % 5) as f64).collect();
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let names: Vec<String> = (0..6).map(|k| format!("x{k}")).collect();
        let by_columns = BinnedFeatures::new(&refs, &names, 256).unwrap();
        assert!(!by_columns.has_coarse_rows(), "small data keeps no coarse rows");
        let by_rows = by_columns.clone().with_coarse_rows();
        let z: Vec<f64> = (0..n).map(|_| rng.random::<f64>() - 0.3).collect();
        let y: Vec<f64> = (0..n).map(|i| z[i] * cols[0][i] + cols[2][i] + rng.random::<f64>()).collect();
        let weight: Vec<f64> = (0..n).map(|i| 1.0 + (i % 4) as f64 * 0.25).collect();
        let targets = Targets { y: &y, z: &z, weight: &weight };
        for kind in [Kind::Causal, Kind::Regression] {
            let r = SplitRule { mtry: 4, ..rule(kind) };
            let grown = |features: &BinnedFeatures| match kind {
                Kind::Causal => grow_all::<Causal>(&r, features, targets),
                Kind::Regression => grow_all::<Regression>(&r, features, targets),
            };
            let (a, b) = (grown(&by_columns), grown(&by_rows));
            assert!(a.len() > 100, "{kind:?}: {} nodes", a.len());
            assert_eq!(a, b, "{kind:?}");
        }
    }

    #[test]
    fn regression_split_finds_a_step() {
        let n = 400;
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let noise: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 / 100.0).collect();
        let y: Vec<f64> = x.iter().zip(&noise).map(|(&x, e)| if x < 123.0 { 0.0 } else { 1.0 } + e).collect();
        let features = BinnedFeatures::new(&[&x, &noise], &["x".into(), "noise".into()], 256).unwrap();
        let weight = vec![1.0; n];
        let targets = Targets { y: &y, z: &[], weight: &weight };
        let nodes = grow_all::<Regression>(&rule(Kind::Regression), &features, targets);
        assert_eq!(nodes[0].feature(), 0);
        assert!((features.threshold(0, nodes[0].split_bin) - 122.0).abs() <= 1.0, "{:?}", nodes[0]);
    }

    #[test]
    fn causal_split_finds_where_the_effect_changes_not_where_the_outcome_does() {
        // y jumps with x0 for everyone; the effect of z jumps with x1.
        let n = 2000;
        let x0: Vec<f64> = (0..n).map(|i| (i % 100) as f64).collect();
        let x1: Vec<f64> = (0..n).map(|i| ((i * 7) % 100) as f64).collect();
        let z: Vec<f64> = (0..n).map(|i| if (i / 100) % 2 == 0 { 0.5 } else { -0.5 }).collect();
        let y: Vec<f64> =
            (0..n).map(|i| 10.0 * (x0[i] > 50.0) as u8 as f64 + z[i] * if x1[i] > 30.0 { 2.0 } else { -2.0 }).collect();
        let features = BinnedFeatures::new(&[&x0, &x1], &["x0".into(), "x1".into()], 256).unwrap();
        let weight = vec![1.0; n];
        let nodes = grow_all::<Causal>(&rule(Kind::Causal), &features, Targets { y: &y, z: &z, weight: &weight });
        assert_eq!(nodes[0].feature(), 1);
        assert_eq!(features.threshold(1, nodes[0].split_bin), 30.0);
    }

    #[test]
    fn imbalance_penalty_moves_splits_away_from_thin_children() {
        // The effect jumps at x = 20 of 0..400: unpenalized, the root splits there; a penalty
        // λ (1/V_L + 1/V_R) large against the gain at the edge pushes the split inward.
        let n = 400;
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let z: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 0.5 } else { -0.5 }).collect();
        let y: Vec<f64> =
            (0..n).map(|i| z[i] * if i < 20 { 10.0 } else { 0.0 } + ((i * 37) % 7) as f64 * 0.01).collect();
        let features = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        let weight = vec![1.0; n];
        let targets = Targets { y: &y, z: &z, weight: &weight };
        let plain = grow_all::<Causal>(&rule(Kind::Causal), &features, targets);
        let edge = features.threshold(0, plain[0].split_bin);
        assert!((18.0..=20.0).contains(&edge), "unpenalized root split at {edge}");
        let penalized = SplitRule { imbalance_penalty: 1e5, ..rule(Kind::Causal) };
        let nodes = grow_all::<Causal>(&penalized, &features, targets);
        assert!(nodes[0].is_leaf() || features.threshold(0, nodes[0].split_bin) > 40.0, "{:?}", nodes[0]);
    }

    #[test]
    fn causal_children_keep_min_node_size_treated_and_control() {
        let n = 300;
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        // Only 10 treated units, all among the first 20: no leaf may hold between 1 and 4 of them.
        let z: Vec<f64> = (0..n).map(|i| if i < 20 && i % 2 == 0 { 0.9 } else { -0.1 }).collect();
        let y: Vec<f64> = (0..n).map(|i| z[i] * i as f64).collect();
        let features = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        let weight = vec![1.0; n];
        let nodes = grow_all::<Causal>(&rule(Kind::Causal), &features, Targets { y: &y, z: &z, weight: &weight });
        let all: Vec<u32> = (0..n as u32).collect();
        let tree = Tree::<1>::populate(&nodes, &features, &all, |u| [(z[u] > 0.0) as u8 as f64], false);
        for (leaf, size) in tree.leaves.iter().zip(&tree.leaf_sizes) {
            let treated = (leaf[0] * *size as f64).round();
            assert!(treated == 0.0 || treated >= 5.0, "a leaf with {treated} treated units");
        }
    }

    #[test]
    fn counting_sort_matches_a_comparison_sort() {
        for (num_codes, m) in [(300usize, 100usize), (1024, 3000), (5000, 200), (65_535, 47)] {
            let codes: Vec<u16> = (0..10_000).map(|i| ((i * 7919 + 13) % num_codes) as u16).collect();
            let units: Vec<u32> = (0..m as u32).map(|i| i * 3).collect();
            let mut buffers = SortBuffers::default();
            sort_by_code(&codes, num_codes, false, &units, &mut buffers);
            let mut expected: Vec<u32> =
                units.iter().enumerate().map(|(k, &u)| (codes[u as usize] as u32) << 16 | k as u32).collect();
            expected.sort_unstable();
            assert_eq!(buffers.keys, expected, "{num_codes} codes, {m} units");
        }
    }

    #[test]
    fn sorted_and_histogram_scans_agree() {
        let n = 64;
        let x: Vec<f64> = (0..n).map(|i| ((i * 29) % 40) as f64).collect();
        let y: Vec<f64> = (0..n).map(|i| (i as f64).sin() + (x[i] > 20.0) as u8 as f64).collect();
        let z: Vec<f64> = (0..n).map(|i| (i % 2) as f64 - 0.5).collect();
        let features = BinnedFeatures::new(&[&x], &["x".into()], 1000).unwrap();
        let weight: Vec<f64> = (0..n).map(|i| 1.0 + (i % 5) as f64).collect();
        let units: Vec<u32> = (0..n as u32).rev().collect();
        let r = SplitRule { min_node_size: 2, ..rule(Kind::Causal) };
        let mut ws: Workspace<CausalSums> = Workspace::default();
        let node = Causal::prepare(&r, Targets { y: &y, z: &z, weight: &weight }, &units, &mut ws.unit).unwrap();
        sort_by_code(features.column(0), features.num_bins(0), false, &units, &mut ws.sort);
        let mut expected = ws.sort.keys.clone();
        expected.sort_unstable();
        assert_eq!(ws.sort.keys, expected, "counting sort = comparison sort");
        let sorted =
            scan::<Causal>(&r, &node, ws.sort.keys.iter().map(|&k| ((k >> 16) as u16, ws.unit[(k & 0xffff) as usize])));
        histogram(&features, 0, &units, &mut ws);
        let dense = ws.hist.iter().enumerate().filter(|(_, b)| b.n > 0).map(|(c, b)| (c as u16, *b));
        let histogram = scan::<Causal>(&r, &node, dense);
        let ((a, ca), (b, cb)) = (sorted.unwrap(), histogram.unwrap());
        assert_eq!(a, b);
        assert!((ca - cb).abs() <= 1e-12 * ca.abs(), "{ca} vs {cb}");
    }
}
