//! From a file to [`SuffStats`]: reading (on its own thread), encoding, aggregating in parallel
//! windows of batches, and checking the experiments' arms.

use crate::aggregate::{aggregate_window, Accumulator, Chunk, Shape, Shifts};
use crate::config::ScanConfig;
use crate::error::{Result, ScanError};
use crate::suffstats::{DimensionInfo, ExperimentStats, MetricInfo, SuffStats};
use arrow::array::RecordBatch;
use cateye_io::{quantile_edges, BinEdges, EncodedBatch, Encoder, IoError, Layout, Source};
use cateye_stats::ClusterMoments;
use std::sync::mpsc::sync_channel;

/// Progress of a pass over the input: rows read so far and the total when known.
pub type Progress<'a> = &'a (dyn Fn(u64, Option<u64>) + Sync);

/// Bytes of chunk statistics a window of batches may hold before it is merged.
const WINDOW_BUDGET: usize = 256 << 20;

/// How many batches are aggregated in parallel at a time: up to eight per thread, fewer when
/// batches are costly in chunk statistics (many small experiments per batch), so that memory
/// stays bounded. The window size does not change the results (chunks are merged in batch
/// order whatever the window).
struct Window {
    size: usize,
    min: usize,
    max: usize,
}

impl Window {
    fn new() -> Self {
        let threads = rayon::current_num_threads().max(1);
        // Start small: the first window tells how costly a batch is.
        Self { size: threads, min: threads, max: 8 * threads }
    }

    /// Adapt to the chunk statistics the last window produced.
    fn observe(&mut self, chunks: &[Vec<Chunk>]) {
        let batches = chunks.len().max(1);
        let bytes: usize = chunks.iter().flatten().map(Chunk::approx_bytes).sum();
        let per_batch = (bytes / batches).max(1);
        self.size = (WINDOW_BUDGET / per_batch).clamp(self.min, self.max);
    }
}

/// Encode the next batch of the file and fix the shifts it reveals; batches must come in file
/// order. Returns the batch and the dictionary sizes it was encoded with.
fn encode_in_order(
    encoder: &mut Encoder,
    shifts: &mut Shifts,
    batch: &RecordBatch,
    source: &Source,
) -> Result<(EncodedBatch, Shape)> {
    let enc = encoder.encode(batch, source.label())?;
    shifts.observe(&enc);
    Ok((enc, Shape::of(&encoder.arms, &encoder.levels)))
}

/// Read `source` and compute its sufficient statistics under `config`.
pub fn collect(source: &Source, config: &ScanConfig, progress: Progress) -> Result<SuffStats> {
    let layout = Layout::resolve(source, &config.roles())?;
    let edges = quantile_edges(source, &layout, config.bins, config.batch_rows)?;
    let mut encoder = Encoder::new(layout.clone(), edges.clone(), config.max_levels);
    let mut shifts = Shifts::new(layout.metrics.len());
    let mut acc = Accumulator::new(layout.metrics.len(), layout.dimensions.len());
    let (mut rows, mut skipped) = (0u64, 0u64);
    let mut window = Window::new();
    let batches = source.batches(&layout.projection, config.batch_rows)?;

    std::thread::scope(|scope| -> Result<()> {
        // Decoding runs on its own thread, ahead of encoding and aggregation.
        let (tx, rx) = sync_channel::<cateye_io::Result<RecordBatch>>(window.min);
        scope.spawn(move || {
            for b in batches {
                if tx.send(b).is_err() {
                    break;
                }
            }
        });
        let mut pending = Vec::with_capacity(window.max);
        let mut rx = rx.into_iter().peekable();
        while rx.peek().is_some() {
            pending.clear();
            while pending.len() < window.size {
                let Some(batch) = rx.next() else { break };
                let (enc, shape) = encode_in_order(&mut encoder, &mut shifts, &batch?, source)?;
                rows += enc.rows as u64;
                skipped += enc.skipped_rows() as u64;
                pending.push((enc, shape));
            }
            let chunks = aggregate_window(&pending, &shifts);
            for c in chunks.iter().flatten() {
                acc.merge_chunk(c, &shifts);
            }
            window.observe(&chunks);
            progress(rows, source.num_rows());
        }
        Ok(())
    })?;
    if rows == 0 {
        return Err(IoError::Empty { input: source.label().to_string() }.into());
    }
    finish(source, config, &layout, edges, encoder, acc, rows, skipped)
}

/// Label the accumulated statistics, drop absent arms, check every experiment has a control and
/// a treatment arm, and put everything in canonical order.
#[allow(clippy::too_many_arguments)]
fn finish(
    source: &Source,
    config: &ScanConfig,
    layout: &Layout,
    edges: BinEdges,
    encoder: Encoder,
    acc: Accumulator,
    rows: u64,
    rows_skipped: u64,
) -> Result<SuffStats> {
    let control = &config.control;
    if encoder.arms.get(control).is_none() {
        return Err(ScanError::UnknownControl {
            input: source.label().to_string(),
            column: layout.variant.clone(),
            control: control.clone(),
            found: encoder.arms.labels().join(", "),
        });
    }
    let dimensions: Vec<DimensionInfo> = layout
        .dimensions
        .iter()
        .enumerate()
        .map(|(d, dim)| DimensionInfo {
            name: dim.name.clone(),
            kind: dim.kind,
            edges: edges[d].clone(),
            levels: encoder.levels[d].labels().to_vec(),
        })
        .collect();
    let mut experiments = Vec::new();
    let mut cluster_sums = acc.clusters;
    for (code, e) in acc.experiments.into_iter().enumerate() {
        let Some(mut e) = e else { continue };
        e.name = encoder.experiments.labels()[code].clone();
        e.arms = encoder.arms.labels()[..e.units.len()].to_vec();
        pad(&mut e, &dimensions);
        if layout.cluster.is_some() {
            let sums = cluster_sums.get_mut(code).and_then(Option::take).unwrap_or_default();
            set_cluster_moments(&mut e, sums);
        }
        keep_present_arms(&mut e);
        let arms = e.arms.join(", ");
        if e.control_index(control).is_none() {
            return Err(ScanError::NoControlArm {
                input: source.label().to_string(),
                column: layout.variant.clone(),
                experiment: e.name,
                control: control.clone(),
                arms,
            });
        }
        if e.arms.len() < 2 {
            return Err(ScanError::SingleArm {
                input: source.label().to_string(),
                column: layout.variant.clone(),
                experiment: e.name,
                arm: arms,
            });
        }
        experiments.push(e);
    }
    let mut stats = SuffStats {
        control: control.clone(),
        metrics: layout.metrics.iter().map(|m| MetricInfo { name: m.name.clone(), pre: m.pre.clone() }).collect(),
        dimensions,
        experiments,
        rows,
        rows_skipped,
    };
    stats.canonicalize();
    Ok(stats)
}

/// Grow every table of `e` to the final numbers of arms and levels.
fn pad(e: &mut ExperimentStats, dims: &[DimensionInfo]) {
    let a = e.units.len();
    for (d, lu) in e.level_units.iter_mut().enumerate() {
        lu.resize(dims[d].levels.len(), Vec::new());
        for l in lu.iter_mut() {
            l.resize(a, 0.0);
        }
    }
    for m in &mut e.metrics {
        m.missing.resize(a, 0.0);
        m.pre_imputed.resize(a, 0.0);
        m.overall.resize(a, Default::default());
        for (d, lv) in m.levels.iter_mut().enumerate() {
            lv.resize(dims[d].levels.len(), Vec::new());
            for l in lv.iter_mut() {
                l.resize(a, Default::default());
            }
        }
    }
}

/// Remove the arms (of other experiments) that have no unit in `e`.
fn keep_present_arms(e: &mut ExperimentStats) {
    let keep: Vec<usize> = (0..e.arms.len()).filter(|&i| e.units[i] > 0.0).collect();
    if keep.len() == e.arms.len() {
        return;
    }
    e.select_arms(&keep);
}

/// Batches read and encoded in memory, ready for aggregation (used by benchmarks, which time
/// loading and aggregation separately).
pub struct EncodedTable {
    /// The encoder after the last batch, with its dictionaries and layout.
    pub encoder: Encoder,
    /// Encoded batches in file order, each with the dictionary sizes it was encoded with.
    pub batches: Vec<(EncodedBatch, Shape)>,
    /// Shifts `(y, x)` per experiment and metric, fixed from the first finite values.
    pub shifts: Shifts,
    /// Rows read.
    pub rows: u64,
}

/// Read and encode the whole of `source`.
pub fn encode_all(source: &Source, config: &ScanConfig) -> Result<EncodedTable> {
    let layout = Layout::resolve(source, &config.roles())?;
    let edges = quantile_edges(source, &layout, config.bins, config.batch_rows)?;
    let mut encoder = Encoder::new(layout.clone(), edges, config.max_levels);
    let mut shifts = Shifts::new(layout.metrics.len());
    let mut batches = Vec::new();
    let mut rows = 0;
    for b in source.batches(&layout.projection, config.batch_rows)? {
        let (enc, shape) = encode_in_order(&mut encoder, &mut shifts, &b?, source)?;
        rows += enc.rows as u64;
        batches.push((enc, shape));
    }
    Ok(EncodedTable { encoder, batches, shifts, rows })
}

/// Aggregate an encoded table, in parallel windows merged in batch order (as [`collect`] does).
pub fn aggregate_encoded(table: &EncodedTable) -> Accumulator {
    let l = &table.encoder.layout;
    let mut acc = Accumulator::new(l.metrics.len(), l.dimensions.len());
    let mut window = Window::new();
    let mut start = 0;
    while start < table.batches.len() {
        let end = (start + window.size).min(table.batches.len());
        let chunks = aggregate_window(&table.batches[start..end], &table.shifts);
        for c in chunks.iter().flatten() {
            acc.merge_chunk(c, &table.shifts);
        }
        window.observe(&chunks);
        start = end;
    }
    acc
}

/// Reduce the per-(cluster, arm) sums of an experiment to [`ClusterMoments`] per metric and arm
/// (clusters in code order, so that the result does not depend on hashing).
fn set_cluster_moments(e: &mut ExperimentStats, sums: crate::aggregate::ClusterSums) {
    let mut keys: Vec<(u32, u32)> = sums.keys().copied().collect();
    keys.sort_unstable();
    for (m, ms) in e.metrics.iter_mut().enumerate() {
        let mut per_arm = vec![ClusterMoments::default(); e.arms.len()];
        for key in &keys {
            let [n, s, t] = sums[key][m];
            per_arm[key.1 as usize].push(n, s, t);
        }
        ms.clustered = Some(per_arm);
    }
}
