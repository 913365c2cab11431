//! The hot path: accumulating encoded batches into sufficient statistics.
//!
//! Each record batch is a fixed unit of work. Within a batch the rows of each experiment are
//! taken in blocks of [`BLOCK_ROWS`]: the block's rows are grouped by cell (level × arm) once
//! per dimension, then for every metric the eight shifted power terms of each row
//! ([`PowerSums`], one cache line) are computed once and summed per cell of every dimension
//! ([`crate::kernel`]). A batch's per-experiment sums (only the cells it touched) are turned
//! into central moments and merged, in batch order, into the running statistics with Pébay's
//! formulas. Batches are processed in parallel (rayon) and merged in file order, so the result
//! does not depend on the number of threads.
//!
//! Shifts: the power sums of an (experiment, metric) are taken about the first finite value of
//! the metric (and of its covariate) in that experiment, in file order, which keeps them exact
//! when a metric's mean is large compared with its spread.

use crate::kernel::{best_grouped_sum, Grouping};
use crate::suffstats::ExperimentStats;
use cateye_io::{Dictionary, EncodedBatch, NULL_CODE};
use cateye_stats::{joint_power_table, mixed_row, power_row, ps, MixedPowerSums};
use cateye_stats::{JointMoments, Moments, PowerSums};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// Shifts `(y, x)` per experiment and metric; NaN until the first finite value is seen.
#[derive(Clone, Debug, Default)]
pub struct Shifts {
    values: Vec<Vec<(f64, f64)>>,
    /// Experiments whose shifts are all fixed (skipped by [`Shifts::observe`]).
    fixed: Vec<bool>,
    metrics: usize,
}

impl Shifts {
    pub fn new(metrics: usize) -> Self {
        Self { values: Vec::new(), fixed: Vec::new(), metrics }
    }

    /// Fix the shifts of experiments first seen (or first with finite values) in `batch`.
    /// Must be called on batches in file order.
    pub fn observe(&mut self, batch: &EncodedBatch) {
        for (row, &e) in batch.experiment.iter().enumerate() {
            if e == NULL_CODE || batch.arm[row] == NULL_CODE {
                continue;
            }
            let e = e as usize;
            if e >= self.values.len() {
                self.values.resize(e + 1, vec![(f64::NAN, f64::NAN); self.metrics]);
                self.fixed.resize(e + 1, false);
            }
            if self.fixed[e] {
                continue;
            }
            for m in 0..self.metrics {
                let s = &mut self.values[e][m];
                if s.0.is_nan() {
                    let y = batch.metrics[m][row];
                    if y.is_finite() {
                        s.0 = y;
                    }
                }
                if s.1.is_nan() {
                    match &batch.pre[m] {
                        Some(p) if p[row].is_finite() => s.1 = p[row],
                        None => s.1 = 0.0,
                        _ => {}
                    }
                }
            }
            self.fixed[e] = self.values[e].iter().all(|(y, x)| !y.is_nan() && !x.is_nan());
        }
        // A covariate missing in every row of an experiment so far is taken about the first
        // finite value of the covariate in the batch (any experiment), or 0: its imputed rows
        // in this batch need a shift, and a typical value keeps later sums precise.
        for m in 0..self.metrics {
            let fallback = batch.pre[m].as_ref().and_then(|p| p.iter().copied().find(|v| v.is_finite())).unwrap_or(0.0);
            for e in &mut self.values {
                if e[m].1.is_nan() {
                    e[m].1 = fallback;
                }
            }
        }
    }

    /// Shifts of experiment `e`, metric `m`.
    pub fn get(&self, e: usize, m: usize) -> (f64, f64) {
        self.values.get(e).map_or((f64::NAN, 0.0), |v| v[m])
    }
}

/// Rows per block of the inner loop: the block's power rows (64 B each) and groupings stay in
/// the L1/L2 cache while every dimension's table is updated from them.
pub const BLOCK_ROWS: usize = 512;

/// Power sums of one metric within one experiment of one batch.
#[derive(Clone, Debug)]
struct MetricChunk {
    missing: Vec<f64>,
    pre_imputed: Vec<f64>,
    /// Per arm: power sums and mixed power sums (together all `Σ d^p e^q`, `p + q ≤ 4`).
    arm_sums: Vec<PowerSums>,
    arm_mixed: Vec<MixedPowerSums>,
    /// Per (cluster, arm) of [`Chunk::cluster_keys`]: `[n, Σd, Σe]`.
    clusters: Vec<[f64; 3]>,
    /// Power sums of the touched cells, parallel to [`Chunk::touched`].
    cells: Vec<PowerSums>,
}

/// Everything one batch contributes to one experiment.
#[derive(Clone, Debug)]
pub struct Chunk {
    experiment: u32,
    arms: usize,
    levels: Vec<usize>,
    offsets: Vec<usize>,
    units: Vec<f64>,
    /// The dimension cells (`offset[d] + level * arms + arm`) that hold rows, ascending: a
    /// batch with many small experiments stores only what it touched.
    touched: Vec<u32>,
    /// Units per touched cell.
    cell_units: Vec<f64>,
    /// (cluster, arm) pairs with rows, ascending (empty without a cluster column).
    cluster_keys: Vec<(u32, u32)>,
    metrics: Vec<MetricChunk>,
}

impl Chunk {
    /// Approximate heap size in bytes.
    pub fn approx_bytes(&self) -> usize {
        let per_metric = |m: &MetricChunk| {
            24 * m.clusters.len()
                + 8 * (m.missing.len() + m.pre_imputed.len())
                + 64 * (m.arm_sums.len() + m.arm_mixed.len() + m.cells.len())
        };
        12 * self.touched.len() + 16 * self.levels.len() + self.metrics.iter().map(per_metric).sum::<usize>() + 128
    }
}

/// Sizes of the dictionaries when a batch was encoded: arms and levels per dimension.
#[derive(Clone, Debug)]
pub struct Shape {
    pub arms: usize,
    pub levels: Vec<usize>,
}

impl Shape {
    pub fn of(arms: &Dictionary, levels: &[Dictionary]) -> Self {
        Self { arms: arms.len(), levels: levels.iter().map(Dictionary::len).collect() }
    }
}

/// Row indices of each experiment in `batch`, experiments in order of first appearance;
/// rows with a null experiment or arm are left out.
fn rows_by_experiment(batch: &EncodedBatch) -> Vec<(u32, Vec<u32>)> {
    let mut groups: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut slot: Vec<usize> = Vec::new();
    for (row, &e) in batch.experiment.iter().enumerate() {
        if e == NULL_CODE || batch.arm[row] == NULL_CODE {
            continue;
        }
        let ei = e as usize;
        if ei >= slot.len() {
            slot.resize(ei + 1, usize::MAX);
        }
        if slot[ei] == usize::MAX {
            slot[ei] = groups.len();
            groups.push((e, Vec::new()));
        }
        groups[slot[ei]].1.push(row as u32);
    }
    groups
}

/// Per-thread scratch buffers of [`aggregate_batch`], reused across blocks.
#[derive(Default)]
struct Scratch {
    arms: Vec<u32>,
    slots: Vec<u32>,
    codes: Vec<u32>,
    groups: Vec<Grouping>,
    by_arm: Grouping,
    y: Vec<f64>,
    x: Vec<f64>,
    ok_y: Vec<f64>,
    ok_x: Vec<f64>,
    gather_y: Vec<f64>,
    gather_x: Vec<f64>,
    powers: Vec<PowerSums>,
}

/// Accumulate one batch. Returns one chunk per experiment present.
pub fn aggregate_batch(batch: &EncodedBatch, shape: &Shape, shifts: &Shifts) -> Vec<Chunk> {
    let a = shape.arms;
    let dims = shape.levels.len();
    let mut offsets = Vec::with_capacity(dims);
    let mut total = 0;
    for &l in &shape.levels {
        offsets.push(total);
        total += l * a;
    }
    let sum = best_grouped_sum();
    let n_metrics = batch.metrics.len();
    let mut t = Scratch { groups: vec![Grouping::default(); dims], ..Scratch::default() };
    // Dense tables of one experiment at a time, all zero between experiments.
    let mut dense_units = vec![0.0; total];
    let mut dense: Vec<PowerSums> = vec![[0.0; 8]; total * n_metrics];
    rows_by_experiment(batch)
        .into_iter()
        .map(|(e, rows)| {
            let mut units = vec![0.0; a];
            let mut touched: Vec<u32> = Vec::new();
            let mut metrics: Vec<MetricChunk> = (0..n_metrics)
                .map(|_| MetricChunk {
                    missing: vec![0.0; a],
                    pre_imputed: vec![0.0; a],
                    arm_sums: vec![[0.0; 8]; a],
                    arm_mixed: vec![[0.0; 8]; a],
                    clusters: Vec::new(),
                    cells: Vec::new(),
                })
                .collect();
            let clustered = batch.cluster.as_deref();
            let mut cluster_slot: FxHashMap<(u32, u32), u32> = FxHashMap::default();
            let mut cluster_keys: Vec<(u32, u32)> = Vec::new();
            for block in rows.chunks(BLOCK_ROWS) {
                t.arms.clear();
                t.arms.extend(block.iter().map(|&r| batch.arm[r as usize]));
                t.by_arm.build(&t.arms, a);
                if let Some(cl) = clustered {
                    t.slots.clear();
                    for (&r, &arm) in block.iter().zip(&t.arms) {
                        let key = (cl[r as usize], arm);
                        let next = cluster_keys.len() as u32;
                        let slot = *cluster_slot.entry(key).or_insert_with(|| {
                            cluster_keys.push(key);
                            next
                        });
                        t.slots.push(slot);
                    }
                    for chunk in &mut metrics {
                        chunk.clusters.resize(cluster_keys.len(), [0.0; 3]);
                    }
                }
                for (arm, u) in units.iter_mut().enumerate() {
                    *u += f64::from(t.by_arm.count(arm));
                }
                // Group the block's rows by cell (level × arm) once per dimension.
                for (d, group) in t.groups.iter_mut().enumerate() {
                    let levels = &batch.levels[d];
                    t.codes.clear();
                    t.codes.extend(block.iter().zip(&t.arms).map(|(&r, &arm)| levels[r as usize] * a as u32 + arm));
                    group.build(&t.codes, shape.levels[d] * a);
                    for &c in &group.nonempty {
                        let cell = offsets[d] + c as usize;
                        if dense_units[cell] == 0.0 {
                            touched.push(cell as u32);
                        }
                        dense_units[cell] += f64::from(group.count(c as usize));
                    }
                }
                for (m, chunk) in metrics.iter_mut().enumerate() {
                    power_rows(batch, m, block, shifts.get(e as usize, m), &mut t);
                    per_arm_sums(chunk, &t);
                    if clustered.is_some() {
                        for (k, &slot) in t.slots.iter().enumerate() {
                            let c = &mut chunk.clusters[slot as usize];
                            c[0] += t.ok_y[k];
                            c[1] += t.y[k];
                            c[2] += t.x[k];
                        }
                    }
                    if dims == 0 {
                        sum(&mut chunk.arm_sums, &t.by_arm, &t.powers);
                    }
                    let table = &mut dense[m * total..(m + 1) * total];
                    for (d, g) in t.groups.iter().enumerate() {
                        sum(&mut table[offsets[d]..offsets[d] + shape.levels[d] * a], g, &t.powers);
                    }
                }
            }
            // Keep the touched cells and reset the dense tables for the next experiment.
            touched.sort_unstable();
            let cell_units = touched.iter().map(|&c| std::mem::take(&mut dense_units[c as usize])).collect();
            for (m, chunk) in metrics.iter_mut().enumerate() {
                let table = &mut dense[m * total..(m + 1) * total];
                if dims > 0 {
                    // The arm totals are the sums over the levels of any dimension: the first.
                    for cells in table[..shape.levels[0] * a].chunks_exact(a) {
                        for (arm_sum, cell) in chunk.arm_sums.iter_mut().zip(cells) {
                            for j in 0..8 {
                                arm_sum[j] += cell[j];
                            }
                        }
                    }
                }
                chunk.cells = touched.iter().map(|&c| std::mem::take(&mut table[c as usize])).collect();
            }
            // Clusters in key order, so that the chunk does not depend on row order.
            let mut order: Vec<usize> = (0..cluster_keys.len()).collect();
            order.sort_unstable_by_key(|&i| cluster_keys[i]);
            for chunk in &mut metrics {
                chunk.clusters = order.iter().map(|&i| chunk.clusters[i]).collect();
            }
            let cluster_keys = order.iter().map(|&i| cluster_keys[i]).collect();
            Chunk {
                experiment: e,
                arms: a,
                levels: shape.levels.clone(),
                offsets: offsets.clone(),
                units,
                touched,
                cell_units,
                cluster_keys,
                metrics,
            }
        })
        .collect()
}

/// The power rows of metric `m` for the rows of `block`, shifted by `(sy, sx)`, into
/// `t.powers`, with the shifted values in `t.y` / `t.x` (zero where missing) and validity flags
/// in `t.ok_y` / `t.ok_x`. A missing outcome gives a row of zeros (it counts nowhere); a missing
/// covariate is imputed at the shift (`e = 0`).
#[inline(always)]
fn power_rows(batch: &EncodedBatch, m: usize, block: &[u32], shift: (f64, f64), t: &mut Scratch) {
    let (y, pre) = (&batch.metrics[m], batch.pre[m].as_deref());
    let (first, last) = (block[0] as usize, block[block.len() - 1] as usize);
    if last - first + 1 == block.len() {
        // Contiguous rows (the usual case: files grouped by experiment).
        fill_power_rows(&y[first..=last], pre.map(|p| &p[first..=last]), shift, t);
    } else {
        let mut gy = std::mem::take(&mut t.gather_y);
        let mut gx = std::mem::take(&mut t.gather_x);
        gy.clear();
        gy.extend(block.iter().map(|&r| y[r as usize]));
        gx.clear();
        if let Some(p) = pre {
            gx.extend(block.iter().map(|&r| p[r as usize]));
        }
        fill_power_rows(&gy, pre.map(|_| &gx[..]), shift, t);
        (t.gather_y, t.gather_x) = (gy, gx);
    }
}

#[inline(always)]
fn fill_power_rows(y: &[f64], x: Option<&[f64]>, (sy, sx): (f64, f64), t: &mut Scratch) {
    let n = y.len();
    for v in [&mut t.y, &mut t.x, &mut t.ok_y, &mut t.ok_x] {
        v.clear();
        v.resize(n, 0.0);
    }
    t.powers.clear();
    t.powers.resize(n, [0.0; 8]);
    for k in 0..n {
        let v = y[k];
        let xv = x.map_or(sx, |x| x[k]);
        let (ok_y, ok_x) = (v.is_finite(), xv.is_finite());
        let d = if ok_y { v - sy } else { 0.0 };
        let e = if ok_y && ok_x { xv - sx } else { 0.0 };
        let mut row = power_row(d, e);
        row[ps::N] = f64::from(ok_y);
        t.powers[k] = row;
        t.y[k] = d;
        t.x[k] = e;
        t.ok_y[k] = f64::from(ok_y);
        t.ok_x[k] = f64::from(ok_x);
    }
}

/// Per arm: missing outcomes, imputed covariates and the mixed power sums of the block's rows
/// (summed in registers over each arm's rows).
#[inline(always)]
fn per_arm_sums(chunk: &mut MetricChunk, t: &Scratch) {
    for (arm, (mixed, (missing, imputed))) in
        chunk.arm_mixed.iter_mut().zip(chunk.missing.iter_mut().zip(chunk.pre_imputed.iter_mut())).enumerate()
    {
        let rows = &t.by_arm.order[t.by_arm.bounds[arm] as usize..t.by_arm.bounds[arm + 1] as usize];
        let (mut acc, mut ok_y, mut ok_x) = ([0.0; 8], 0.0, 0.0);
        for &k in rows {
            let k = k as usize;
            let q = mixed_row(t.y[k], t.x[k]);
            for j in 0..8 {
                acc[j] += q[j];
            }
            ok_y += t.ok_y[k];
            ok_x += t.ok_y[k] * t.ok_x[k];
        }
        for j in 0..8 {
            mixed[j] += acc[j];
        }
        *missing += rows.len() as f64 - ok_y;
        *imputed += ok_y - ok_x;
    }
}

/// Accumulate a window of batches in parallel; chunks come back in batch order.
pub fn aggregate_window(window: &[(EncodedBatch, Shape)], shifts: &Shifts) -> Vec<Vec<Chunk>> {
    window.par_iter().map(|(b, s)| aggregate_batch(b, s, shifts)).collect()
}

/// Sums per (cluster, arm) and metric of one experiment.
pub type ClusterSums = FxHashMap<(u32, u32), Vec<[f64; 3]>>;

/// Running statistics of all experiments, indexed by dictionary codes.
#[derive(Clone, Debug, Default)]
pub struct Accumulator {
    /// Indexed by experiment code; arms and levels by their codes.
    pub experiments: Vec<Option<ExperimentStats>>,
    /// Per experiment code, with a cluster column: `[n, Σd, Σe]` per metric for each
    /// (cluster code, arm code).
    pub clusters: Vec<Option<ClusterSums>>,
    n_metrics: usize,
    n_dims: usize,
}

fn grow<T: Clone + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
}

impl Accumulator {
    /// An empty accumulator for `n_metrics` metrics and `n_dims` dimensions.
    pub fn new(n_metrics: usize, n_dims: usize) -> Self {
        Self { experiments: Vec::new(), clusters: Vec::new(), n_metrics, n_dims }
    }

    /// Merge one chunk (its power sums turned into central moments first).
    pub fn merge_chunk(&mut self, c: &Chunk, shifts: &Shifts) {
        let ei = c.experiment as usize;
        if self.experiments.len() <= ei {
            self.experiments.resize(ei + 1, None);
        }
        let (n_metrics, n_dims) = (self.n_metrics, self.n_dims);
        let e = self.experiments[ei].get_or_insert_with(|| ExperimentStats::empty("", &vec![0; n_dims], n_metrics));
        if !c.cluster_keys.is_empty() {
            if self.clusters.len() <= ei {
                self.clusters.resize(ei + 1, None);
            }
            let map = self.clusters[ei].get_or_insert_with(FxHashMap::default);
            for (k, key) in c.cluster_keys.iter().enumerate() {
                let sums = map.entry(*key).or_insert_with(|| vec![[0.0; 3]; n_metrics]);
                for (s, mc) in sums.iter_mut().zip(&c.metrics) {
                    for (total, add) in s.iter_mut().zip(&mc.clusters[k]) {
                        *total += add;
                    }
                }
            }
        }
        let a = c.arms;
        grow(&mut e.units, a);
        for arm in 0..a {
            e.units[arm] += c.units[arm];
        }
        // Every table grows to the chunk's numbers of levels and arms.
        for d in 0..n_dims {
            grow(&mut e.level_units[d], c.levels[d]);
            e.level_units[d].iter_mut().for_each(|counts| grow(counts, a));
            for ms in &mut e.metrics {
                grow(&mut ms.levels[d], c.levels[d]);
                ms.levels[d].iter_mut().for_each(|cells| grow(cells, a));
            }
        }
        let cell_of = |cell: u32| {
            let cell = cell as usize;
            let d = c.offsets.partition_point(|&o| o <= cell) - 1;
            let local = cell - c.offsets[d];
            (d, local / a, local % a)
        };
        for (&cell, &units) in c.touched.iter().zip(&c.cell_units) {
            let (d, l, arm) = cell_of(cell);
            e.level_units[d][l][arm] += units;
        }
        for (m, (ms, mc)) in e.metrics.iter_mut().zip(&c.metrics).enumerate() {
            let (sy, sx) = shifts.get(ei, m);
            grow(&mut ms.missing, a);
            grow(&mut ms.pre_imputed, a);
            grow(&mut ms.overall, a);
            for arm in 0..a {
                ms.missing[arm] += mc.missing[arm];
                ms.pre_imputed[arm] += mc.pre_imputed[arm];
                if mc.arm_sums[arm][ps::N] > 0.0 {
                    let table = joint_power_table(&mc.arm_sums[arm], &mc.arm_mixed[arm]);
                    ms.overall[arm].merge(&JointMoments::from_power_sums(&table, sy, sx));
                }
            }
            for (&cell, s) in c.touched.iter().zip(&mc.cells) {
                if s[ps::N] > 0.0 {
                    let (d, l, arm) = cell_of(cell);
                    ms.levels[d][l][arm].merge(&Moments::from_power_sums(s, sy, sx));
                }
            }
        }
    }
}
