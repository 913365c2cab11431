//! The deep dive's second pass over the file: the unit-level rows of the chosen experiments,
//! encoded with the scan's roles and bin edges (so the levels are the scan's levels), plus the
//! numeric covariates the user names.

use crate::error::Result;
use cateye_io::{as_f64, numeric_column_index, BinEdges, Dictionary, Encoder, IoError, Layout, Source, NULL_CODE};
use cateye_scan::{ScanConfig, SuffStats};

/// The rows of one experiment, columnar.
#[derive(Clone, Debug, Default)]
pub struct ExperimentRows {
    pub name: String,
    /// Arm code per row (into [`LoadedRows::arms`]).
    pub arm: Vec<u32>,
    /// Values per metric (only for the metrics asked for; NaN = missing).
    pub metrics: Vec<Option<Vec<f64>>>,
    /// Pre-period values per metric that has them (only for the metrics asked for).
    pub pre: Vec<Option<Vec<f64>>>,
    /// Level code per dimension per row (into [`LoadedRows::levels`]).
    pub levels: Vec<Vec<u32>>,
    /// Values of the named covariates (NaN = missing).
    pub covariates: Vec<Vec<f64>>,
}

/// Rows of several experiments with the labels their codes refer to: what
/// [`load_pairs`](crate::load_pairs) reads once for all pairs of a deep dive.
#[derive(Clone, Debug)]
pub struct LoadedRows {
    pub(crate) layout: Layout,
    pub(crate) arms: Vec<String>,
    /// Level labels per dimension.
    pub(crate) levels: Vec<Vec<String>>,
    pub(crate) covariates: Vec<String>,
    pub(crate) experiments: Vec<ExperimentRows>,
}

/// Read the rows of `wanted` experiments (name, metric indices needed) from `source`.
pub fn load_rows(
    source: &Source,
    config: &ScanConfig,
    stats: &SuffStats,
    wanted: &[(String, Vec<usize>)],
    covariates: &[String],
) -> Result<LoadedRows> {
    let layout = Layout::resolve(source, &config.roles())?;
    // The scan's bin edges, so that binned dimensions have the scan's levels.
    let edges: BinEdges = layout
        .dimensions
        .iter()
        .map(|d| stats.dimensions.iter().find(|s| s.name == d.name).and_then(|s| s.edges.clone()))
        .collect();
    let mut projection = layout.projection.clone();
    for name in covariates {
        projection.push(numeric_column_index(source, name, "deep-dive covariate")?);
    }
    projection.sort_unstable();
    projection.dedup();
    let mut encoder = Encoder::new(layout.clone(), edges, config.max_levels);
    // The scan's level order, so that a level's code (and the forest's features) do not depend
    // on which rows are read: all of a file, or one experiment's rows on a Spark executor.
    for (d, dim) in layout.dimensions.iter().enumerate() {
        let scanned = stats.dimensions.iter().find(|s| s.name == dim.name);
        if let (None, Some(scanned)) = (&encoder.edges[d], scanned) {
            encoder.levels[d] = Dictionary::with_labels(scanned.levels.iter().cloned());
        }
    }
    let n_metrics = layout.metrics.len();
    let mut experiments: Vec<ExperimentRows> = wanted
        .iter()
        .map(|(name, metrics)| ExperimentRows {
            name: name.clone(),
            metrics: (0..n_metrics).map(|m| metrics.contains(&m).then(Vec::new)).collect(),
            pre: (0..n_metrics)
                .map(|m| (metrics.contains(&m) && layout.metrics[m].pre.is_some()).then(Vec::new))
                .collect(),
            levels: vec![Vec::new(); layout.dimensions.len()],
            covariates: vec![Vec::new(); covariates.len()],
            ..Default::default()
        })
        .collect();
    // Experiment code → slot in `experiments`, grown as the dictionary grows.
    let mut slot_of_code: Vec<Option<usize>> = Vec::new();
    for batch in source.batches(&projection, config.batch_rows)? {
        let batch = batch?;
        let enc = encoder.encode(&batch, source.label())?;
        while slot_of_code.len() < encoder.experiments.len() {
            let label = &encoder.experiments.labels()[slot_of_code.len()];
            slot_of_code.push(wanted.iter().position(|(name, _)| name == label));
        }
        let extra: Vec<Vec<f64>> = covariates
            .iter()
            .map(|name| {
                let array = batch.column_by_name(name).expect("projected column");
                as_f64(array.as_ref()).map_err(|e| IoError::column(source.label(), name, e))
            })
            .collect::<cateye_io::Result<_>>()?;
        for r in 0..enc.rows {
            let (e, a) = (enc.experiment[r], enc.arm[r]);
            if e == NULL_CODE || a == NULL_CODE {
                continue;
            }
            let Some(slot) = slot_of_code[e as usize] else { continue };
            let x = &mut experiments[slot];
            x.arm.push(a);
            for (m, values) in x.metrics.iter_mut().enumerate() {
                if let Some(v) = values {
                    v.push(enc.metrics[m][r]);
                }
            }
            for (m, values) in x.pre.iter_mut().enumerate() {
                if let (Some(v), Some(pre)) = (values, &enc.pre[m]) {
                    v.push(pre[r]);
                }
            }
            for (d, codes) in x.levels.iter_mut().enumerate() {
                codes.push(enc.levels[d][r]);
            }
            for (c, values) in x.covariates.iter_mut().enumerate() {
                values.push(extra[c][r]);
            }
        }
    }
    Ok(LoadedRows {
        arms: encoder.arms.labels().to_vec(),
        levels: encoder.levels.iter().map(|d| d.labels().to_vec()).collect(),
        covariates: covariates.to_vec(),
        layout,
        experiments,
    })
}
