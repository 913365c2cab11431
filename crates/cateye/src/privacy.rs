//! Effects from outcomes released under label differential privacy (the Cluster-DP mechanism
//! of Javanmard, Mirrokni & Pouget-Abadie 2025; see [`cateye_privacy`]) as jobs on tables:
//! [`privatize_table`] releases a table's outcomes under a budget ε, [`dp_effect_table`]
//! estimates the average effect from the released table and the mechanism file.
//!
//! The released table keeps only the columns the analysis needs (the treatment, the cluster,
//! the released outcome) and those the caller names to keep (unit ids): other columns of the
//! input could carry the outcome in the clear. Its rows are shuffled by the secret seed (the
//! input's order could rank the outcomes). The seed is never written anywhere: with it the
//! release could be replayed and undone.

use crate::error::{Error, Result};
use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use cateye_io::{column_index, read_labels, read_numeric, Source};
use rand::seq::SliceRandom;
use std::sync::Arc;

/// Purpose of the random stream that orders the released rows.
const PURPOSE_ROW_ORDER: u64 = 0x726F_776F_7264_6572;

pub use cateye_privacy::{
    BudgetSplit, ClusterQuality, Clusters, DpEffect, EffectOptions, Mechanism, MechanismParams, OutcomeGrid, PriorKind,
    PrivacyAccount, ReleasedMechanism, Rounding, Weighting,
};

/// What [`privatize_table`] releases and how.
#[derive(Debug, Clone)]
pub struct PrivatizeSpec {
    /// The outcome column (numeric).
    pub outcome: String,
    /// The treatment column (0/1 or boolean).
    pub treatment: String,
    /// The cluster column (any type, as labels); `None`: one cluster (Cluster-Free-DP, or the
    /// uniform prior).
    pub cluster: Option<String>,
    /// Columns copied to the released table unchanged (unit ids); never the outcome.
    pub keep: Vec<String>,
    /// The privacy budget ε of every unit's label (> 0).
    pub epsilon: f64,
    /// Where the resampled outcomes come from.
    pub prior: PriorKind,
    /// How ε is split between the noisy distributions and the per-unit release.
    pub split: BudgetSplit,
    /// Outcomes are clipped to `[lo, hi]`; fixed in advance, not read from the data (the data's
    /// range would leak).
    pub lo: f64,
    /// The upper clipping bound.
    pub hi: f64,
    /// Levels of the outcome grid on `[lo, hi]`.
    pub levels: usize,
    /// Rounding of outcomes onto the grid.
    pub rounding: Rounding,
    /// Seed of the release's randomness (never written to the outputs).
    pub seed: u64,
}

/// A released table and its mechanism (to be published with it).
#[derive(Debug)]
pub struct Privatized {
    /// The released table: kept columns, treatment, cluster, and the released outcome under the
    /// outcome's name.
    pub schema: SchemaRef,
    /// Its batches.
    pub batches: Vec<RecordBatch>,
    /// The mechanism's parameters, accounting and released distributions.
    pub mechanism: ReleasedMechanism,
}

/// Reads the outcome column (in role `role`) and the 0/1 treatment column in one pass; a
/// treatment that is not 0/1 is an error naming its row.
fn read_outcome_and_treated(
    source: &Source,
    outcome: &str,
    role: &'static str,
    treatment: &str,
) -> Result<(Vec<f64>, Vec<bool>)> {
    let mut columns = read_numeric(source, &[(outcome, role), (treatment, "treatment")])?;
    let w = columns.pop().unwrap_or_default();
    crate::columns::check_binary(source.label(), treatment, "treatment", &w)?;
    Ok((columns.pop().unwrap_or_default(), w.iter().map(|&v| v == 1.0).collect()))
}

/// The cluster column as [`Clusters`], or one cluster.
fn read_clusters(source: &Source, column: Option<&str>, rows: usize) -> Result<Clusters> {
    match column {
        None => Ok(Clusters::single(rows)),
        Some(name) => {
            let labels = read_labels(source, name, "cluster")?;
            Clusters::from_dictionary(&labels.names, &labels.codes).map_err(|e| Error::fit(source.label(), e))
        }
    }
}

/// Releases the outcomes of `source` under `spec` (Algorithm 2 of the paper; see
/// [`cateye_privacy::privatize`]); a null or non-finite outcome is an error naming its row.
pub fn privatize_table(source: &Source, spec: &PrivatizeSpec) -> Result<Privatized> {
    let input = source.label();
    if spec.keep.iter().any(|k| k == &spec.outcome) {
        return Err(Error::invalid(
            input,
            format!("column '{}' is the outcome: it cannot be kept in the clear", spec.outcome),
        ));
    }
    for (role, column) in [("treatment", Some(&spec.treatment)), ("cluster", spec.cluster.as_ref())] {
        if column == Some(&spec.outcome) {
            return Err(Error::invalid(
                input,
                format!(
                    "column '{}' is both the outcome and the {role}: it would be released in the clear",
                    spec.outcome
                ),
            ));
        }
    }
    let (outcomes, treated) = read_outcome_and_treated(source, &spec.outcome, "outcome", &spec.treatment)?;
    let clusters = read_clusters(source, spec.cluster.as_deref(), outcomes.len())?;
    let fit = |e| Error::fit(input, e);
    let grid = OutcomeGrid::uniform(spec.lo, spec.hi, spec.levels).map_err(fit)?;
    let mechanism = Mechanism::for_epsilon(grid, spec.rounding, spec.epsilon, spec.prior, &spec.split).map_err(fit)?;
    let release = cateye_privacy::privatize(&outcomes, &treated, &clusters, &mechanism, spec.seed).map_err(fit)?;

    // The kept columns, treatment and cluster as they are, then the released outcome.
    let mut names: Vec<&str> = spec.keep.iter().map(String::as_str).collect();
    for role in [Some(spec.treatment.as_str()), spec.cluster.as_deref()].into_iter().flatten() {
        if !names.contains(&role) {
            names.push(role);
        }
    }
    let projection =
        names.iter().map(|n| column_index(source, n, "kept column")).collect::<cateye_io::Result<Vec<_>>>()?;
    let mut fields: Vec<Field> = projection.iter().map(|&i| source.schema().field(i).clone()).collect();
    fields.push(Field::new(spec.outcome.as_str(), DataType::Float64, false));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let mut batches = Vec::new();
    let mut start = 0usize;
    for batch in source.batches(&projection, 65_536)? {
        let batch = batch?;
        let rows = batch.num_rows();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.push(Arc::new(Float64Array::from(release.outcomes[start..start + rows].to_vec())));
        start += rows;
        batches.push(RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::invalid(input, e.to_string()))?);
    }
    // Rows leave in an order drawn from the secret seed: the input's order (a table sorted by
    // the outcome, say) would otherwise rank the units.
    let invalid = |e: arrow::error::ArrowError| Error::invalid(input, e.to_string());
    let table = arrow::compute::concat_batches(&schema, &batches).map_err(invalid)?;
    let mut order: Vec<u32> = (0..table.num_rows() as u32).collect();
    order.shuffle(&mut cateye_stats::stream(spec.seed, PURPOSE_ROW_ORDER, 0));
    let indices = arrow::array::UInt32Array::from(order);
    let shuffled = table
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c, &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let batches = vec![RecordBatch::try_new(schema.clone(), shuffled).map_err(invalid)?];
    Ok(Privatized { schema, batches, mechanism: release.mechanism })
}

/// What [`dp_effect_table`] reads.
#[derive(Debug, Clone)]
pub struct DpEffectSpec {
    /// The released outcome column.
    pub outcome: String,
    /// The treatment column (0/1 or boolean).
    pub treatment: String,
    /// The cluster column the release used (`None` when it used none).
    pub cluster: Option<String>,
    /// Weighting of the clusters and the interval's level.
    pub options: EffectOptions,
}

/// The average treatment effect from a released table and its mechanism (the debiased
/// difference in means `τ̂_Q` of the paper, with its variance; see [`cateye_privacy::dp_effect`]).
pub fn dp_effect_table(source: &Source, spec: &DpEffectSpec, mechanism: &ReleasedMechanism) -> Result<DpEffect> {
    let (released, treated) = read_outcome_and_treated(source, &spec.outcome, "released outcome", &spec.treatment)?;
    let clusters = read_clusters(source, spec.cluster.as_deref(), released.len())?;
    cateye_privacy::dp_effect(&released, &treated, &clusters, mechanism, &spec.options)
        .map_err(|e| Error::fit(source.label(), e))
}
