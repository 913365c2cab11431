//! The hot path: accumulating encoded batches into sufficient statistics.
//!
//! Each record batch is a fixed unit of work. Within a batch the rows of each experiment are
//! accumulated as shifted power sums ([`PowerSums`], one cache line per cell) into small
//! per-(metric, dimension level, arm) tables that stay in cache: for every row and metric the
//! eight power terms are computed once and added to one cell of every dimension. Each batch's
//! tables are then turned into central moments and merged, in batch order, into the running
//! statistics with Pébay's formulas. Batches are processed in parallel (rayon) and merged in
//! file order, so the result does not depend on the number of threads.
//!
//! Shifts: the power sums of an (experiment, metric) are taken about the first finite value of
//! the metric (and of its covariate) in that experiment, in file order, which keeps them exact
//! when a metric's mean is large compared with its spread.

use crate::data::encode::NULL_CODE;
use crate::data::{Dictionary, EncodedBatch};
use crate::suffstats::{ExperimentStats, MetricStats};
use cateye_stats::moments::{power_row, ps};
use cateye_stats::{JointMoments, Moments, PowerSums};
use rayon::prelude::*;

/// Shifts `(y, x)` per experiment and metric; NaN until the first finite value is seen.
#[derive(Clone, Debug, Default)]
pub struct Shifts {
    values: Vec<Vec<(f64, f64)>>,
    metrics: usize,
}

impl Shifts {
    pub fn new(metrics: usize) -> Self {
        Self { values: Vec::new(), metrics }
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
        }
        // A covariate missing in every row so far is imputed about 0.
        for e in &mut self.values {
            for s in e.iter_mut() {
                if s.1.is_nan() {
                    s.1 = 0.0;
                }
            }
        }
    }

    /// Shifts of experiment `e`, metric `m`.
    pub fn get(&self, e: usize, m: usize) -> (f64, f64) {
        self.values.get(e).map_or((f64::NAN, 0.0), |v| v[m])
    }
}

/// Power sums of one metric within one experiment of one batch.
#[derive(Clone, Debug)]
struct MetricChunk {
    missing: Vec<f64>,
    pre_imputed: Vec<f64>,
    /// Per arm: joint power sums (all `p + q ≤ 4`).
    joint: Vec<[[f64; 5]; 5]>,
    /// Per dimension cell (`offset[d] + level * arms + arm`).
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
    cell_units: Vec<f64>,
    metrics: Vec<MetricChunk>,
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
    let n_metrics = batch.metrics.len();
    let mut powers: Vec<PowerSums> = Vec::new();
    let mut codes: Vec<u32> = Vec::new();
    rows_by_experiment(batch)
        .into_iter()
        .map(|(e, rows)| {
            let n = rows.len();
            // Cell code of every row in every dimension: offset + level * arms + arm.
            codes.clear();
            codes.reserve(n * dims);
            let mut units = vec![0.0; a];
            for &r in &rows {
                units[batch.arm[r as usize] as usize] += 1.0;
            }
            let mut cell_units = vec![0.0; total];
            for (lv, &offset) in batch.levels.iter().zip(&offsets) {
                for &r in &rows {
                    let c = offset + lv[r as usize] as usize * a + batch.arm[r as usize] as usize;
                    codes.push(c as u32);
                    cell_units[c] += 1.0;
                }
            }
            let metrics = (0..n_metrics)
                .map(|m| {
                    let (sy, sx) = shifts.get(e as usize, m);
                    let y = &batch.metrics[m];
                    let pre = batch.pre[m].as_deref();
                    let mut chunk = MetricChunk {
                        missing: vec![0.0; a],
                        pre_imputed: vec![0.0; a],
                        joint: vec![[[0.0; 5]; 5]; a],
                        cells: vec![[0.0; 8]; total],
                    };
                    powers.clear();
                    powers.reserve(n);
                    for &r in &rows {
                        let r = r as usize;
                        let arm = batch.arm[r] as usize;
                        let v = y[r];
                        if !v.is_finite() {
                            chunk.missing[arm] += 1.0;
                            powers.push([0.0; 8]);
                            continue;
                        }
                        let e = match pre {
                            Some(p) if p[r].is_finite() => p[r] - sx,
                            Some(_) => {
                                chunk.pre_imputed[arm] += 1.0;
                                0.0
                            }
                            None => 0.0,
                        };
                        let d = v - sy;
                        JointMoments::accumulate_power_sums(&mut chunk.joint[arm], d, e);
                        powers.push(power_row(d, e));
                    }
                    for d in 0..dims {
                        let cells = &mut chunk.cells[..];
                        for (p, &c) in powers.iter().zip(&codes[d * n..(d + 1) * n]) {
                            let cell = &mut cells[c as usize];
                            for k in 0..8 {
                                cell[k] += p[k];
                            }
                        }
                    }
                    chunk
                })
                .collect();
            Chunk {
                experiment: e,
                arms: a,
                levels: shape.levels.clone(),
                offsets: offsets.clone(),
                units,
                cell_units,
                metrics,
            }
        })
        .collect()
}

/// Accumulate a window of batches in parallel; chunks come back in batch order.
pub fn aggregate_window(window: &[(EncodedBatch, Shape)], shifts: &Shifts) -> Vec<Vec<Chunk>> {
    window.par_iter().map(|(b, s)| aggregate_batch(b, s, shifts)).collect()
}

/// Running statistics of all experiments, indexed by dictionary codes.
#[derive(Clone, Debug, Default)]
pub struct Accumulator {
    /// Indexed by experiment code; arms and levels by their codes.
    pub experiments: Vec<Option<ExperimentStats>>,
    n_metrics: usize,
    n_dims: usize,
}

fn grow<T: Clone + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
}

impl Accumulator {
    pub fn new(n_metrics: usize, n_dims: usize) -> Self {
        Self { experiments: Vec::new(), n_metrics, n_dims }
    }

    /// Merge one chunk (its power sums turned into central moments first).
    pub fn merge_chunk(&mut self, c: &Chunk, shifts: &Shifts) {
        let ei = c.experiment as usize;
        if self.experiments.len() <= ei {
            self.experiments.resize(ei + 1, None);
        }
        let (n_metrics, n_dims) = (self.n_metrics, self.n_dims);
        let e = self.experiments[ei].get_or_insert_with(|| ExperimentStats {
            name: String::new(),
            arms: Vec::new(),
            units: Vec::new(),
            level_units: vec![Vec::new(); n_dims],
            metrics: (0..n_metrics)
                .map(|_| MetricStats {
                    missing: Vec::new(),
                    pre_imputed: Vec::new(),
                    overall: Vec::new(),
                    joint: true,
                    levels: vec![Vec::new(); n_dims],
                })
                .collect(),
        });
        let a = c.arms;
        grow(&mut e.units, a);
        for arm in 0..a {
            e.units[arm] += c.units[arm];
        }
        for d in 0..n_dims {
            let lu = &mut e.level_units[d];
            grow(lu, c.levels[d]);
            for (l, counts) in lu.iter_mut().enumerate().take(c.levels[d]) {
                grow(counts, a);
                let start = c.offsets[d] + l * a;
                for (count, add) in counts.iter_mut().zip(&c.cell_units[start..start + a]) {
                    *count += add;
                }
            }
        }
        for (m, (ms, mc)) in e.metrics.iter_mut().zip(&c.metrics).enumerate() {
            let (sy, sx) = shifts.get(ei, m);
            grow(&mut ms.missing, a);
            grow(&mut ms.pre_imputed, a);
            grow(&mut ms.overall, a);
            for arm in 0..a {
                ms.missing[arm] += mc.missing[arm];
                ms.pre_imputed[arm] += mc.pre_imputed[arm];
                if mc.joint[arm][0][0] > 0.0 {
                    ms.overall[arm].merge(&JointMoments::from_power_sums(&mc.joint[arm], sy, sx));
                }
            }
            for d in 0..n_dims {
                let lv = &mut ms.levels[d];
                grow(lv, c.levels[d]);
                for (l, cells) in lv.iter_mut().enumerate().take(c.levels[d]) {
                    grow(cells, a);
                    for (arm, cell) in cells.iter_mut().enumerate().take(a) {
                        let s = &mc.cells[c.offsets[d] + l * a + arm];
                        if s[ps::N] > 0.0 {
                            cell.merge(&Moments::from_power_sums(s, sy, sx));
                        }
                    }
                }
            }
        }
    }
}
