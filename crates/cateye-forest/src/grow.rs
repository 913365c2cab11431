//! Growing one tree: depth-first node splitting with histogram split search.
//!
//! At each node a random subset of covariates is drawn (`sampling::split_candidates`); for each,
//! the node's units are summarised per bin (a dense histogram for large nodes, a sorted sparse
//! one for small nodes; both sum in the same order) and the bins are scanned left to right.
//!
//! - Regression splits maximise `S_L²/W_L + S_R²/W_R` (weighted outcome sums `S`, weights `W`),
//!   each child holding at least `max(1, ceil(alpha · n))` units (grf's regression splitting rule).
//! - Causal splits use gradient-based relabeling (Athey, Tibshirani & Wager 2019, eq. 5–6, with
//!   the instrument equal to the centered treatment as in grf's causal forest): in the node, with
//!   centered outcome `y` and treatment `z`, `τ_P = Σω(z−z̄)(y−ȳ) / Σω(z−z̄)²` and the pseudo-outcome
//!   `ρ_i = (z_i − z̄)((y_i − ȳ) − τ_P (z_i − z̄))`; splits then maximise the same criterion on `ρ`.
//!   Each child must hold at least `min_node_size` units on each side of the node's mean `z`
//!   (treated and control in a trial) and at least `alpha` of the node's `Σω(z−z̄)²`; the optional
//!   imbalance penalty subtracts `λ (1/V_L + 1/V_R)` with `V` the children's treatment variation.

use crate::binning::BinnedFeatures;
use crate::sampling::split_candidates;
use crate::tree::{Node, LEAF};
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

/// Per-unit training targets: the (centered) outcome, the centered treatment (causal only) and weights.
#[derive(Clone, Copy)]
pub(crate) struct Targets<'a> {
    pub y: &'a [f64],
    pub z: &'a [f64],
    pub weight: &'a [f64],
}

/// Sums of one bin (or child): units, units below the node's mean treatment, weight,
/// weighted response, weighted treatment and its square.
#[derive(Clone, Copy, Default, Debug)]
struct BinStats {
    n: u32,
    small: u32,
    sw: f64,
    s: f64,
    sz: f64,
    szz: f64,
}

impl BinStats {
    #[inline]
    fn add(&mut self, o: &BinStats) {
        self.n += o.n;
        self.small += o.small;
        self.sw += o.sw;
        self.s += o.s;
        self.sz += o.sz;
        self.szz += o.szz;
    }

    #[inline]
    fn minus(&self, o: &BinStats) -> BinStats {
        BinStats {
            n: self.n - o.n,
            small: self.small - o.small,
            sw: self.sw - o.sw,
            s: self.s - o.s,
            sz: self.sz - o.sz,
            szz: self.szz - o.szz,
        }
    }

    /// Weighted sum of squares of the treatment around its mean.
    #[inline]
    fn z_variation(&self) -> f64 {
        self.szz - self.sz * self.sz / self.sw
    }
}

/// Buffers reused across the nodes of a tree (and the trees of a worker).
#[derive(Default)]
pub(crate) struct Workspace {
    response: Vec<f64>,
    z: Vec<f64>,
    weight: Vec<f64>,
    hist: Vec<BinStats>,
    keys: Vec<u64>,
    bins: Vec<(u16, BinStats)>,
    candidates: Vec<usize>,
    stack: Vec<(u32, usize, usize)>,
}

/// The node totals and child-size limits a scan needs.
struct NodeSummary {
    total: BinStats,
    z_mean: f64,
    min_child_z_variation: f64,
    min_child_units: u32,
}

/// Grows a tree on `units` (reordered in place). Returns the nodes, whose leaves are numbered
/// `0..num_leaves` in their `left` field, and the number of leaves.
pub(crate) fn grow(
    rule: &SplitRule,
    features: &BinnedFeatures,
    targets: Targets,
    units: &mut [u32],
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace,
) -> (Vec<Node>, usize) {
    let mut nodes = vec![Node::leaf()];
    let mut num_leaves = 0usize;
    ws.stack.clear();
    ws.stack.push((0, 0, units.len()));
    while let Some((id, start, end)) = ws.stack.pop() {
        let split = if end - start > rule.min_node_size {
            best_split(rule, features, targets, &units[start..end], rng, ws)
        } else {
            None
        };
        match split {
            Some((feature, bin)) => {
                let mid = start + partition(&mut units[start..end], features.column(feature), bin);
                debug_assert!(mid > start && mid < end);
                let left = nodes.len() as u32;
                nodes.extend([Node::leaf(), Node::leaf()]);
                nodes[id as usize] = Node { feature: feature as u32, split_bin: bin, left, right: left + 1 };
                ws.stack.push((left + 1, mid, end));
                ws.stack.push((left, start, mid));
            }
            None => {
                nodes[id as usize] = Node { feature: LEAF, split_bin: 0, left: num_leaves as u32, right: 0 };
                num_leaves += 1;
            }
        }
    }
    (nodes, num_leaves)
}

/// Moves the units with code ≤ `bin` to the front; returns how many there are.
fn partition(units: &mut [u32], codes: &[u16], bin: u16) -> usize {
    let (mut i, mut j) = (0, units.len());
    while i < j {
        if codes[units[i] as usize] <= bin {
            i += 1;
        } else {
            j -= 1;
            units.swap(i, j);
        }
    }
    i
}

/// Gathers the node's targets into position-aligned buffers (relabelled for causal splits) and
/// returns the node totals, or `None` when the node cannot be split.
fn summarise(rule: &SplitRule, targets: Targets, units: &[u32], ws: &mut Workspace) -> Option<NodeSummary> {
    let m = units.len();
    ws.response.clear();
    ws.weight.clear();
    ws.z.clear();
    let (mut sw, mut sy, mut sz) = (0.0, 0.0, 0.0);
    for &u in units {
        let (y, w) = (targets.y[u as usize], targets.weight[u as usize]);
        ws.response.push(y);
        ws.weight.push(w);
        sw += w;
        sy += w * y;
        if rule.kind == Kind::Causal {
            let z = targets.z[u as usize];
            ws.z.push(z);
            sz += w * z;
        }
    }
    if sw <= 0.0 {
        return None;
    }
    let mut total = BinStats { n: m as u32, sw, ..BinStats::default() };
    match rule.kind {
        Kind::Regression => {
            total.s = sy;
            let min_child_units = ((m as f64 * rule.alpha).ceil() as u32).max(1);
            Some(NodeSummary { total, z_mean: 0.0, min_child_z_variation: 0.0, min_child_units })
        }
        Kind::Causal => {
            let (y_mean, z_mean) = (sy / sw, sz / sw);
            let (mut num, mut den) = (0.0, 0.0);
            for k in 0..m {
                let dz = ws.z[k] - z_mean;
                num += ws.weight[k] * dz * (ws.response[k] - y_mean);
                den += ws.weight[k] * dz * dz;
            }
            if den.abs() <= 1e-10 {
                return None;
            }
            let tau = num / den;
            for k in 0..m {
                let (dz, w, z) = (ws.z[k] - z_mean, ws.weight[k], ws.z[k]);
                let rho = dz * ((ws.response[k] - y_mean) - tau * dz);
                ws.response[k] = rho;
                total.s += w * rho;
                total.sz += w * z;
                total.szz += w * z * z;
                total.small += (z < z_mean) as u32;
            }
            let min_child_z_variation = rule.alpha * total.z_variation();
            Some(NodeSummary { total, z_mean, min_child_z_variation, min_child_units: 0 })
        }
    }
}

/// The best split of the node over a random subset of covariates: (covariate, bin).
fn best_split(
    rule: &SplitRule,
    features: &BinnedFeatures,
    targets: Targets,
    units: &[u32],
    rng: &mut ChaCha8Rng,
    ws: &mut Workspace,
) -> Option<(usize, u16)> {
    let summary = summarise(rule, targets, units, ws)?;
    let mut candidates = std::mem::take(&mut ws.candidates);
    split_candidates(rng, features.num_features(), rule.mtry, &mut candidates);
    let mut best: Option<(usize, u16)> = None;
    let mut best_decrease = 0.0;
    for &f in &candidates {
        let sparse = units.len() * 8 < features.num_bins(f);
        summarise_bins(rule.kind, features, f, units, summary.z_mean, sparse, ws);
        if let Some((bin, decrease)) = scan(rule, &summary, &ws.bins) {
            if decrease > best_decrease {
                best_decrease = decrease;
                best = Some((f, bin));
            }
        }
    }
    ws.candidates = candidates;
    best
}

/// Fills `ws.bins` with the non-empty bins of covariate `f` over the node's units, in bin order,
/// from a sorted sparse list (small nodes) or a dense histogram; both sum in position order.
fn summarise_bins(
    kind: Kind,
    features: &BinnedFeatures,
    f: usize,
    units: &[u32],
    z_mean: f64,
    sparse: bool,
    ws: &mut Workspace,
) {
    let codes = features.column(f);
    let num_bins = features.num_bins(f);
    ws.bins.clear();
    let causal = kind == Kind::Causal;
    let stats_of = |k: usize, ws: &Workspace| {
        let w = ws.weight[k];
        if causal {
            let z = ws.z[k];
            BinStats { n: 1, small: (z < z_mean) as u32, sw: w, s: w * ws.response[k], sz: w * z, szz: w * z * z }
        } else {
            BinStats { n: 1, small: 0, sw: w, s: w * ws.response[k], sz: 0.0, szz: 0.0 }
        }
    };
    if sparse {
        // Sort (code, position) keys: equal codes keep position order, as in the dense pass.
        ws.keys.clear();
        ws.keys.extend(units.iter().enumerate().map(|(k, &u)| (codes[u as usize] as u64) << 32 | k as u64));
        ws.keys.sort_unstable();
        let mut i = 0;
        while i < ws.keys.len() {
            let code = (ws.keys[i] >> 32) as u16;
            let mut acc = BinStats::default();
            while i < ws.keys.len() && (ws.keys[i] >> 32) as u16 == code {
                acc.add(&stats_of(ws.keys[i] as u32 as usize, ws));
                i += 1;
            }
            ws.bins.push((code, acc));
        }
    } else {
        let mut hist = std::mem::take(&mut ws.hist);
        hist.clear();
        hist.resize(num_bins, BinStats::default());
        for (k, &u) in units.iter().enumerate() {
            hist[codes[u as usize] as usize].add(&stats_of(k, ws));
        }
        ws.bins.extend(hist.iter().enumerate().filter(|(_, b)| b.n > 0).map(|(code, b)| (code as u16, *b)));
        ws.hist = hist;
    }
}

/// Scans the bins left to right; returns the best admissible split point and its criterion.
fn scan(rule: &SplitRule, node: &NodeSummary, bins: &[(u16, BinStats)]) -> Option<(u16, f64)> {
    let total = &node.total;
    let min_units = rule.min_node_size as u32;
    let penalty = rule.imbalance_penalty;
    let mut left = BinStats::default();
    let mut best: Option<(u16, f64)> = None;
    for &(code, ref bin) in &bins[..bins.len().saturating_sub(1)] {
        left.add(bin);
        let right = total.minus(&left);
        let (size_left, size_right) = match rule.kind {
            Kind::Regression => {
                if left.n < node.min_child_units {
                    continue;
                }
                if right.n < node.min_child_units {
                    break;
                }
                (left.n as f64, right.n as f64)
            }
            Kind::Causal => {
                if left.small < min_units || left.n - left.small < min_units {
                    continue;
                }
                if right.small < min_units || right.n - right.small < min_units {
                    break;
                }
                let (vl, vr) = (left.z_variation(), right.z_variation());
                if vl < node.min_child_z_variation || (penalty > 0.0 && vl <= 0.0) {
                    continue;
                }
                if vr < node.min_child_z_variation || (penalty > 0.0 && vr <= 0.0) {
                    continue;
                }
                (vl, vr)
            }
        };
        let mut decrease = left.s * left.s / left.sw + right.s * right.s / right.sw;
        if penalty > 0.0 {
            decrease -= penalty * (1.0 / size_left + 1.0 / size_right);
        }
        if best.is_none_or(|(_, d)| decrease > d) {
            best = Some((code, decrease));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::stream;

    fn rule(kind: Kind) -> SplitRule {
        SplitRule { kind, mtry: 2, min_node_size: 5, alpha: 0.05, imbalance_penalty: 0.0 }
    }

    #[test]
    fn regression_split_finds_a_step() {
        let n = 400;
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let noise: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 / 100.0).collect();
        let y: Vec<f64> = x.iter().zip(&noise).map(|(&x, e)| if x < 123.0 { 0.0 } else { 1.0 } + e).collect();
        let features = BinnedFeatures::new(&[&x, &noise], &["x".into(), "noise".into()], 256).unwrap();
        let weight = vec![1.0; n];
        let mut units: Vec<u32> = (0..n as u32).collect();
        let mut ws = Workspace::default();
        let targets = Targets { y: &y, z: &[], weight: &weight };
        let mut rule = rule(Kind::Regression);
        rule.mtry = 50; // both covariates at every node
        let (nodes, _) = grow(
            &SplitRule { min_node_size: 399, ..rule }, // the root only
            &features,
            targets,
            &mut units,
            &mut stream(1, 0, 0),
            &mut ws,
        );
        assert_eq!(nodes[0].feature, 0);
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
        let mut units: Vec<u32> = (0..n as u32).collect();
        let r = SplitRule { mtry: 50, ..rule(Kind::Causal) };
        let (nodes, _) = grow(
            &r,
            &features,
            Targets { y: &y, z: &z, weight: &weight },
            &mut units,
            &mut stream(1, 0, 0),
            &mut Workspace::default(),
        );
        assert_eq!(nodes[0].feature, 1);
        assert_eq!(features.threshold(1, nodes[0].split_bin), 30.0);
    }

    #[test]
    fn causal_children_keep_min_node_size_treated_and_control() {
        let n = 300;
        let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
        // Treated only among the first 20 units: no split may leave a child without 5 of each.
        let z: Vec<f64> = (0..n).map(|i| if i < 20 && i % 2 == 0 { 0.9 } else { -0.1 }).collect();
        let y: Vec<f64> = (0..n).map(|i| z[i] * i as f64).collect();
        let features = BinnedFeatures::new(&[&x], &["x".into()], 256).unwrap();
        let weight = vec![1.0; n];
        let mut units: Vec<u32> = (0..n as u32).collect();
        let (nodes, _) = grow(
            &rule(Kind::Causal),
            &features,
            Targets { y: &y, z: &z, weight: &weight },
            &mut units,
            &mut stream(3, 0, 0),
            &mut Workspace::default(),
        );
        // Every leaf region must contain >= 5 treated: at most 10 treated exist, so at most 2 leaves hold treated units.
        let tree = crate::tree::Tree::<1>::populate(
            &nodes,
            nodes.iter().filter(|n| n.is_leaf()).count(),
            &features,
            &(0..n as u32).collect::<Vec<_>>(),
            |u| [(z[u] > 0.0) as u8 as f64],
            false,
        );
        for (leaf, size) in tree.leaves.iter().zip(&tree.leaf_sizes) {
            let treated = leaf[0] * *size as f64;
            assert!(treated.round() >= 5.0, "a leaf with {treated} treated units");
        }
    }

    #[test]
    fn sparse_and_dense_bin_summaries_agree() {
        let n = 64;
        let x: Vec<f64> = (0..n).map(|i| ((i * 29) % 1000) as f64).collect();
        let y: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let z: Vec<f64> = (0..n).map(|i| (i % 3) as f64 - 0.7).collect();
        let features = BinnedFeatures::new(&[&x], &["x".into()], 1000).unwrap();
        let weight: Vec<f64> = (0..n).map(|i| 1.0 + (i % 5) as f64).collect();
        let units: Vec<u32> = (0..n as u32).rev().collect();
        let r = rule(Kind::Causal);
        let mut ws = Workspace::default();
        let node = summarise(&r, Targets { y: &y, z: &z, weight: &weight }, &units, &mut ws).unwrap();
        summarise_bins(Kind::Causal, &features, 0, &units, node.z_mean, true, &mut ws);
        let sparse = ws.bins.clone();
        summarise_bins(Kind::Causal, &features, 0, &units, node.z_mean, false, &mut ws);
        assert_eq!(sparse.len(), ws.bins.len());
        for (a, b) in sparse.iter().zip(&ws.bins) {
            assert_eq!((a.0, a.1.n, a.1.small), (b.0, b.1.n, b.1.small));
            assert_eq!((a.1.sw, a.1.s, a.1.sz, a.1.szz), (b.1.sw, b.1.s, b.1.sz, b.1.szz));
        }
    }
}
