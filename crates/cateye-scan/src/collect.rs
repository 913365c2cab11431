//! From a file to [`SuffStats`]: reading (on its own thread), encoding, aggregating in parallel
//! windows of batches, and checking the experiments' arms.

use crate::aggregate::{aggregate_window, Accumulator, Chunk, Shape, Shifts};
use crate::config::ScanConfig;
use crate::error::{Result, ScanError};
use crate::suffstats::{DimensionInfo, ExperimentStats, MetricInfo, SuffStats};
use arrow::array::RecordBatch;
use cateye_io::{
    quantile_edges, Batches, BinEdges, Dictionary, EncodedBatch, Encoder, IoError, Layout, Source, NULL_CODE,
};
use cateye_stats::ClusterMoments;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Progress of a pass over the input: rows read so far and the total when known.
pub type Progress<'a> = &'a (dyn Fn(u64, Option<u64>) + Sync);

/// Bytes of chunk statistics a window of batches may hold before it is merged.
const WINDOW_BUDGET: usize = 256 << 20;

/// The window budget when reading experiment by experiment: every experiment in flight also
/// holds its running statistics and, once complete, its result rows, so fewer are read at once.
const STREAM_WINDOW_BUDGET: usize = 64 << 20;

/// How many batches are aggregated in parallel at a time: a few per thread, fewer when batches
/// are costly in chunk statistics (many small experiments per batch), so that memory stays
/// bounded. The window size does not change the statistics (chunks are merged in batch order
/// whatever the window).
struct Window {
    size: usize,
    min: usize,
    max: usize,
    budget: usize,
}

/// How the windows of a pass are sized.
#[derive(Clone, Copy, Debug)]
enum Windows {
    /// [`collect`]: one batch per thread to start, up to two per thread, within
    /// [`WINDOW_BUDGET`].
    PerThread,
    /// [`collect_by_experiment`]: two batches to start, up to sixteen, within
    /// [`STREAM_WINDOW_BUDGET`], whatever the number of threads: the windows decide which
    /// experiments are released together, hence the order of the streamed rows, which must not
    /// depend on the number of threads.
    Fixed,
}

impl Window {
    fn new(windows: Windows) -> Self {
        let (min, budget) = match windows {
            Windows::PerThread => (rayon::current_num_threads().max(1), WINDOW_BUDGET),
            Windows::Fixed => (2, STREAM_WINDOW_BUDGET),
        };
        // Start small: the first window tells how costly a batch is. Up to two batches per
        // thread when the window does not decide the results: every batch of a window is held
        // decoded and encoded (a batch of 65,536 rows and 20 float columns is 10 MB) while it is
        // aggregated, and memory first touched costs a page fault per 4 kB.
        let max = match windows {
            Windows::PerThread => 2 * min,
            Windows::Fixed => 8 * min,
        };
        Self { size: min, min, max, budget }
    }

    /// Adapt to the chunk statistics the last window produced.
    fn observe(&mut self, chunks: &[Vec<Chunk>]) {
        let batches = chunks.len().max(1);
        let bytes: usize = chunks.iter().flatten().map(Chunk::approx_bytes).sum();
        let per_batch = (bytes / batches).max(1);
        self.size = (self.budget / per_batch).clamp(self.min, self.max);
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

/// Batches decoded ahead of their encoding, in file order (an error in its place).
struct Ahead {
    batches: Batches,
    decoded: VecDeque<cateye_io::Result<RecordBatch>>,
    ended: bool,
}

impl Ahead {
    /// Decode batches until `count` are waiting or the input ends.
    fn fill(&mut self, count: usize) {
        while !self.ended && self.decoded.len() < count {
            match self.batches.next() {
                Some(batch) => {
                    self.ended = batch.is_err();
                    self.decoded.push_back(batch);
                }
                None => self.ended = true,
            }
        }
    }
}

/// Reading, encoding and aggregating one input: the state the two drivers ([`collect`] and
/// [`collect_by_experiment`]) share.
struct Reader<'s> {
    source: &'s Source,
    config: &'s ScanConfig,
    layout: Layout,
    edges: BinEdges,
    encoder: Encoder,
    shifts: Shifts,
    acc: Accumulator,
    rows: u64,
    skipped: u64,
}

impl<'s> Reader<'s> {
    /// A reader of `source`; the bin edges of its float dimensions are `edges` when given (those
    /// of the whole input, for a part of it), computed from `source` otherwise.
    fn new(source: &'s Source, config: &'s ScanConfig, edges: Option<BinEdges>) -> Result<Self> {
        let layout = Layout::resolve(source, &config.roles())?;
        let edges = match edges {
            Some(edges) => edges,
            None => quantile_edges(source, &layout, config.bins, config.batch_rows)?,
        };
        Ok(Self {
            encoder: Encoder::new(layout.clone(), edges.clone(), config.max_levels),
            shifts: Shifts::new(layout.metrics.len()),
            acc: Accumulator::new(layout.metrics.len(), layout.dimensions.len()),
            source,
            config,
            layout,
            edges,
            rows: 0,
            skipped: 0,
        })
    }

    /// Read the whole input in parallel windows of batches; after each window (merged in
    /// batch order) `after_window` is called with the number of rows read so far.
    ///
    /// Everything runs in the caller's rayon pool, as a pipeline: the next batches are decoded
    /// (their columns in parallel, see [`Source::batches`]) while this one is encoded (its
    /// columns in parallel) and while a window is aggregated (its batches in parallel), through
    /// `rayon::join`, so that a thread left idle by one stage helps the other. Batches are
    /// decoded, encoded and merged in file order: the statistics do not depend on the number of
    /// threads. At most `window.min` batches are decoded ahead.
    fn read(
        &mut self,
        windows: Windows,
        progress: Progress,
        mut after_window: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let mut window = Window::new(windows);
        let mut ahead = Ahead {
            batches: self.source.batches(&self.layout.projection, self.config.batch_rows)?,
            decoded: VecDeque::new(),
            ended: false,
        };
        ahead.fill(1);
        let mut pending = Vec::with_capacity(window.max);
        while !ahead.decoded.is_empty() {
            pending.clear();
            while pending.len() < window.size {
                let Some(batch) = ahead.decoded.pop_front() else { break };
                let batch = batch?;
                let (encoder, shifts, source) = (&mut self.encoder, &mut self.shifts, self.source);
                let ((), encoded) = rayon::join(|| ahead.fill(1), || encode_in_order(encoder, shifts, &batch, source));
                let (enc, shape) = encoded?;
                self.rows += enc.rows as u64;
                self.skipped += enc.skipped_rows() as u64;
                pending.push((enc, shape));
            }
            let shifts = &self.shifts;
            let ((), chunks) = rayon::join(|| ahead.fill(window.min), || aggregate_window(&pending, shifts));
            for c in chunks.iter().flatten() {
                self.acc.merge_chunk(c, &self.shifts);
            }
            window.observe(&chunks);
            progress(self.rows, self.source.num_rows());
            after_window(self)?;
        }
        if self.rows == 0 {
            return Err(IoError::Empty { input: self.source.label().to_string() }.into());
        }
        Ok(())
    }

    /// The dimensions with the levels seen so far (in code order).
    fn dimensions(&self) -> Vec<DimensionInfo> {
        self.layout
            .dimensions
            .iter()
            .enumerate()
            .map(|(d, dim)| DimensionInfo {
                name: dim.name.clone(),
                kind: dim.kind,
                edges: self.edges[d].clone(),
                levels: self.encoder.levels[d].labels().to_vec(),
            })
            .collect()
    }

    /// Statistics holding `experiments` under the dimensions seen so far, in canonical order.
    fn stats(&self, experiments: Vec<ExperimentStats>) -> SuffStats {
        let mut stats = SuffStats {
            control: self.config.control.clone(),
            metrics: self
                .layout
                .metrics
                .iter()
                .map(|m| MetricInfo { name: m.name.clone(), pre: m.pre.clone() })
                .collect(),
            dimensions: self.dimensions(),
            experiments,
            rows: self.rows,
            rows_skipped: self.skipped,
        };
        stats.canonicalize();
        stats
    }

    /// The control label must be one of the arms seen.
    fn check_control(&self) -> Result<()> {
        let control = &self.config.control;
        if self.encoder.arms.get(control).is_none() {
            return Err(ScanError::UnknownControl {
                input: self.source.label().to_string(),
                column: self.layout.variant.clone(),
                control: control.clone(),
                found: self.encoder.arms.labels().join(", "),
            });
        }
        Ok(())
    }

    /// Take experiment `code` out of the accumulator: labelled, absent arms dropped, checked to
    /// have a control and a treatment arm. `None` when it has no aggregated row.
    fn complete(&mut self, code: usize) -> Result<Option<ExperimentStats>> {
        if self.acc.experiments.get(code).is_none_or(Option::is_none) {
            return Ok(None);
        }
        self.check_control()?;
        let Some(e) = self.take_experiment(code) else { return Ok(None) };
        check_arms(&e, self.source.label(), &self.layout.variant, &self.config.control)?;
        Ok(Some(e))
    }

    /// Take experiment `code` out of the accumulator, labelled, with its absent arms dropped.
    fn take_experiment(&mut self, code: usize) -> Option<ExperimentStats> {
        let mut e = self.acc.experiments.get_mut(code).and_then(Option::take)?;
        e.name = self.encoder.experiments.labels()[code].clone();
        e.arms = self.encoder.arms.labels()[..e.units.len()].to_vec();
        let levels: Vec<usize> = self.encoder.levels.iter().map(Dictionary::len).collect();
        pad(&mut e, &levels);
        if self.layout.cluster.is_some() {
            let sums = self.acc.clusters.get_mut(code).and_then(Option::take).unwrap_or_default();
            set_cluster_moments(&mut e, sums);
        }
        keep_present_arms(&mut e);
        Some(e)
    }
}

/// An experiment must have its control arm and another arm: an error naming it otherwise.
pub(crate) fn check_arms(e: &ExperimentStats, input: &str, column: &str, control: &str) -> Result<()> {
    let arms = e.arms.join(", ");
    if e.control_index(control).is_none() {
        return Err(ScanError::NoControlArm {
            input: input.to_string(),
            column: column.to_string(),
            experiment: e.name.clone(),
            control: control.to_string(),
            arms,
        });
    }
    if e.arms.len() < 2 {
        return Err(ScanError::SingleArm {
            input: input.to_string(),
            column: column.to_string(),
            experiment: e.name.clone(),
            arm: arms,
        });
    }
    Ok(())
}

/// Read `source` and compute its sufficient statistics under `config`.
pub fn collect(source: &Source, config: &ScanConfig, progress: Progress) -> Result<SuffStats> {
    let mut reader = Reader::new(source, config, None)?;
    reader.read(Windows::PerThread, progress, |_| Ok(()))?;
    reader.check_control()?;
    let mut experiments = Vec::new();
    for code in 0..reader.acc.experiments.len() {
        experiments.extend(reader.complete(code)?);
    }
    Ok(reader.stats(experiments))
}

/// [`collect`] of one part of a larger input (a Spark partition): an experiment may have only
/// some of its arms in it, or none of the control's, so neither is checked here; the scan of the
/// merged statistics checks every experiment's arms ([`crate::scan`]).
pub fn collect_partial(source: &Source, config: &ScanConfig, progress: Progress) -> Result<SuffStats> {
    let mut reader = Reader::new(source, config, None)?;
    reader.read(Windows::PerThread, progress, |_| Ok(()))?;
    let experiments = (0..reader.acc.experiments.len()).filter_map(|code| reader.take_experiment(code)).collect();
    Ok(reader.stats(experiments))
}

/// Experiments per batch, on average, when reading experiment by experiment.
const EXPERIMENTS_PER_BATCH: usize = 4;

/// How the experiments of an input follow one another, from a first pass over its experiment
/// column: the last row of each experiment, and how many experiments interleave at most.
#[derive(Clone, Debug, Default)]
pub struct ExperimentSpans {
    /// Last row (0-based, in file order) of each experiment, by label.
    last_row: FxHashMap<String, u64>,
    /// Largest number of experiments whose rows overlap (1 when the input is grouped by
    /// experiment).
    pub max_interleaved: usize,
    /// Rows with an experiment id.
    pub rows: u64,
    /// Rows read, with or without an experiment id.
    rows_read: u64,
}

impl ExperimentSpans {
    /// One pass over the experiment column of `source`.
    pub fn read(source: &Source, config: &ScanConfig) -> Result<Self> {
        let column = source.schema().index_of(&config.experiment).map_err(|_| {
            ScanError::from(IoError::MissingColumn {
                input: source.label().to_string(),
                column: config.experiment.clone(),
                role: "experiment",
                available: source.column_list(),
            })
        })?;
        let mut dictionary = Dictionary::default();
        let (mut first, mut last): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
        let mut codes = Vec::new();
        let (mut row, mut rows) = (0u64, 0u64);
        for batch in source.batches(&[column], config.batch_rows)? {
            let batch = batch?;
            dictionary
                .encode(batch.column(0).as_ref(), NULL_CODE, &mut codes)
                .map_err(|e| IoError::column(source.label(), &config.experiment, e))?;
            for &c in &codes {
                if c != NULL_CODE {
                    rows += 1;
                    let c = c as usize;
                    if c == first.len() {
                        first.push(row);
                        last.push(row);
                    }
                    last[c] = row;
                }
                row += 1;
            }
        }
        // Largest overlap of the intervals [first, last]: a sweep over their ends.
        let mut ends: Vec<(u64, bool)> =
            first.iter().map(|&f| (f, true)).chain(last.iter().map(|&l| (l, false))).collect();
        ends.sort_unstable_by_key(|&(r, start)| (r, !start));
        let (mut open, mut max_interleaved) = (0usize, 0usize);
        for (_, start) in ends {
            if start {
                open += 1;
                max_interleaved = max_interleaved.max(open);
            } else {
                open -= 1;
            }
        }
        let last_row = dictionary.labels().iter().cloned().zip(last).collect();
        Ok(Self { last_row, max_interleaved, rows, rows_read: row })
    }

    /// Rows per batch for reading experiment by experiment: about four experiments' rows (each
    /// experiment in flight holds its statistics, whatever its size),
    /// within `[1024, max]`. It depends on the data alone, so results do not depend on threads.
    pub fn batch_rows(&self, max: usize) -> usize {
        let experiments = self.last_row.len().max(1) as u64;
        let per_experiment = self.rows.div_ceil(experiments) as usize;
        (EXPERIMENTS_PER_BATCH * per_experiment).clamp(1024.min(max), max)
    }

    /// Rows read by the first pass, with or without an experiment id.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Number of experiments.
    pub fn experiments(&self) -> usize {
        self.last_row.len()
    }

    /// Whether experiment `label` has no row at or after row `rows` (0-based).
    fn ended_before(&self, label: &str, rows: u64) -> bool {
        self.last_row.get(label).is_some_and(|&last| last < rows)
    }
}

/// Read `source` and hand the experiments' statistics to `on_experiments` as soon as their last
/// rows are read (as [`ExperimentSpans`] found them), then release them: when the input is
/// grouped by experiment, memory holds one window of experiments, not the sweep. After each
/// window of batches, the experiments it completed come together (in order of first
/// appearance), each alone in a [`SuffStats`] whose dimensions list the levels seen so far
/// (canonical order); the statistics are those [`collect`] computes from the same batches, bit
/// for bit. Returns the statistics without experiments (metrics, dimensions with all their
/// levels, row counts).
pub fn collect_by_experiment(
    source: &Source,
    config: &ScanConfig,
    spans: &ExperimentSpans,
    progress: Progress,
    on_experiments: impl FnMut(Vec<SuffStats>) -> Result<()>,
) -> Result<SuffStats> {
    collect_part_by_experiment(source, config, spans, None, progress, on_experiments)
}

/// [`collect_by_experiment`] of a part of the input, whose float dimensions are binned with the
/// whole input's `edges` when given.
pub(crate) fn collect_part_by_experiment(
    source: &Source,
    config: &ScanConfig,
    spans: &ExperimentSpans,
    edges: Option<BinEdges>,
    progress: Progress,
    mut on_experiments: impl FnMut(Vec<SuffStats>) -> Result<()>,
) -> Result<SuffStats> {
    let mut reader = Reader::new(source, config, edges)?;
    let mut release = |reader: &mut Reader, all: bool| -> Result<()> {
        let mut done = Vec::new();
        for code in 0..reader.acc.experiments.len() {
            let open = reader.acc.experiments[code].is_some();
            if open && (all || spans.ended_before(&reader.encoder.experiments.labels()[code], reader.rows)) {
                if let Some(e) = reader.complete(code)? {
                    done.push(reader.stats(vec![e]));
                }
            }
        }
        if done.is_empty() {
            return Ok(());
        }
        on_experiments(done)
    };
    reader.read(Windows::Fixed, progress, |r| release(r, false))?;
    release(&mut reader, true)?;
    reader.check_control()?;
    Ok(reader.stats(Vec::new()))
}

/// Grow every table of `e` to its number of arms and to `levels[d]` levels in dimension `d`.
fn pad(e: &mut ExperimentStats, levels: &[usize]) {
    let a = e.units.len();
    for (d, lu) in e.level_units.iter_mut().enumerate() {
        lu.resize(levels[d], Vec::new());
        for l in lu.iter_mut() {
            l.resize(a, 0.0);
        }
    }
    for m in &mut e.metrics {
        m.missing.resize(a, 0.0);
        m.pre_imputed.resize(a, 0.0);
        m.overall.resize(a, Default::default());
        for (d, lv) in m.levels.iter_mut().enumerate() {
            lv.resize(levels[d], Vec::new());
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
    let mut window = Window::new(Windows::PerThread);
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
