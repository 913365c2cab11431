//! Sufficient statistics as a flat table, so that a warehouse or a Spark job can produce them
//! with a `GROUP BY` and cateye finishes the analysis.
//!
//! One row per (experiment, metric, dimension, level, variant), in Parquet, CSV or Arrow IPC:
//!
//! | column | meaning |
//! |---|---|
//! | `experiment`, `metric`, `variant` | strings |
//! | `dimension`, `level` | strings; empty (or null) on the row of the whole arm |
//! | `units` | units in the cell, including those whose metric value is missing |
//! | `n` | units with a value of the metric |
//! | `sum_y`, `sum_y2`, `sum_y3`, `sum_y4` | `Σ d^k` with `d = y − shift_y` |
//! | `sum_x`, `sum_x2`, `sum_xy` | the same for the pre-period covariate `e = x − shift_x`, and `Σ d e` (zero without one) |
//! | `shift_y`, `shift_x` | optional (default 0): values subtracted before summing; use a typical value of the metric when its mean is large compared with its spread |
//! | `pre_imputed` | optional: units whose covariate was missing and imputed (whole-arm rows) |
//! | `covariate` | optional: name of the covariate column (empty: none); without this column a metric has a covariate when some `sum_x2` is positive |
//! | `sum_yx2`, `sum_yx3`, `sum_y2x`, `sum_y2x2`, `sum_y3x`, `sum_x3`, `sum_x4` | optional, whole-arm rows: the mixed sums needed for the kurtosis of the CUPED residual; without them detection runs on the outcome |
//!
//! Rows for the same cell are merged (partial aggregates may be emitted separately). A SQL
//! sketch: `SELECT experiment, 'revenue' AS metric, 'country' AS dimension, country AS level,
//! variant, COUNT(*) AS units, COUNT(revenue) AS n, SUM(revenue) AS sum_y,
//! SUM(revenue*revenue) AS sum_y2, ... GROUP BY experiment, country, variant`, plus the same
//! without `country` (`'' AS dimension, '' AS level`) for the whole-arm rows. The whole query,
//! with shifts, covariates and missing values handled as the scan handles them, is written by
//! [`crate::StatsQuery::sql`] (`cateye stats-sql`).

use crate::error::{Result, ScanError};
use crate::suffstats::{DimensionInfo, ExperimentStats, MetricInfo, SuffStats};
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use cateye_io::{as_f64, DimensionKind, IoError, Source};
use cateye_stats::{joint_power_table, MixedPowerSums};
use cateye_stats::{JointMoments, Moments, PowerSums};
use std::sync::Arc;

pub(crate) const LABELS: [&str; 5] = ["experiment", "metric", "dimension", "level", "variant"];
pub(crate) const SUMS: [&str; 10] =
    ["units", "n", "sum_y", "sum_y2", "sum_y3", "sum_y4", "sum_x", "sum_x2", "sum_xy", "pre_imputed"];
pub(crate) const MIXED: [&str; 7] = ["sum_yx2", "sum_yx3", "sum_y2x", "sum_y2x2", "sum_y3x", "sum_x3", "sum_x4"];

/// One row of the table, parsed.
struct Row {
    /// Position in the table (1-based), for messages.
    row: u64,
    labels: [String; 5],
    covariate: Option<String>,
    units: f64,
    pre_imputed: f64,
    sums: PowerSums,
    mixed: Option<MixedPowerSums>,
    shift: (f64, f64),
}

fn bad(input: &str, message: String) -> ScanError {
    ScanError::Invalid { input: input.to_string(), message }
}

/// Read a statistics table (see the module documentation) into [`SuffStats`].
pub fn read_stats_table(source: &Source, control: &str) -> Result<SuffStats> {
    let input = source.label();
    let schema = source.schema().clone();
    let find = |name: &str, required: bool| -> Result<Option<usize>> {
        match schema.index_of(name) {
            Ok(i) => Ok(Some(i)),
            Err(_) if !required => Ok(None),
            Err(_) => Err(IoError::MissingColumn {
                input: input.to_string(),
                column: name.into(),
                role: "statistics table",
                available: source.column_list(),
            }
            .into()),
        }
    };
    let mut projection = Vec::new();
    for c in LABELS.iter().chain(&SUMS[..9]) {
        let required = !matches!(*c, "dimension" | "level");
        if let Some(i) = find(c, required)? {
            projection.push(i);
        }
    }
    for c in ["shift_y", "shift_x", "pre_imputed", "covariate"].iter().chain(&MIXED) {
        if let Some(i) = find(c, false)? {
            projection.push(i);
        }
    }
    projection.sort_unstable();
    let mut rows = Vec::new();
    for batch in source.batches(&projection, 65_536)? {
        parse_batch(&batch?, input, rows.len() as u64, &mut rows)?;
    }
    if rows.is_empty() {
        return Err(IoError::Empty { input: input.to_string() }.into());
    }
    build(rows, control, input)
}

/// Whether `v` is a count: a whole number, not negative.
fn is_count(v: f64) -> bool {
    v >= 0.0 && v.fract() == 0.0
}

/// Parses the rows of one batch, the first being row `first + 1` of the table (1-based), and
/// checks each: labels present, required sums non-null and finite, counts whole and consistent.
fn parse_batch(batch: &RecordBatch, input: &str, first: u64, out: &mut Vec<Row>) -> Result<()> {
    let text = |name: &str| -> Result<Option<Vec<Option<String>>>> {
        let Some(col) = batch.column_by_name(name) else { return Ok(None) };
        let s = cast(col, &DataType::Utf8).map_err(|e| IoError::column(input, name, e))?;
        Ok(Some(s.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()))
    };
    let num = |name: &str| -> Result<Option<Vec<f64>>> {
        let Some(col) = batch.column_by_name(name) else { return Ok(None) };
        let numeric = cateye_io::is_numeric(col.data_type()) || matches!(col.data_type(), DataType::Null);
        as_f64(col.as_ref()).ok().filter(|_| numeric).map(Some).ok_or_else(|| {
            ScanError::from(IoError::WrongType {
                input: input.to_string(),
                column: name.into(),
                role: "statistics table",
                found: col.data_type().to_string(),
                expected: "a numeric column",
            })
        })
    };
    let labels: Vec<Option<Vec<Option<String>>>> = LABELS.iter().map(|c| text(c)).collect::<Result<_>>()?;
    let sums: Vec<Option<Vec<f64>>> = SUMS.iter().map(|c| num(c)).collect::<Result<_>>()?;
    let mixed: Vec<Option<Vec<f64>>> = MIXED.iter().map(|c| num(c)).collect::<Result<_>>()?;
    let (shift_y, shift_x) = (num("shift_y")?, num("shift_x")?);
    let covariate = text("covariate")?;
    for i in 0..batch.num_rows() {
        let row = first + i as u64 + 1;
        let label = |k: usize| labels[k].as_ref().and_then(|v| v[i].clone()).unwrap_or_default();
        let labels = [label(0), label(1), label(2), label(3), label(4)];
        for (k, name) in ["experiment", "metric", "variant"].iter().enumerate() {
            if labels[[0, 1, 4][k]].is_empty() {
                return Err(bad(input, format!("row {row} (1-based): column '{name}' is empty")));
            }
        }
        if labels[2].is_empty() != labels[3].is_empty() {
            return Err(bad(
                input,
                format!("row {row} (1-based): 'dimension' and 'level' must both be set (a level's row) or both be empty (a whole arm's row)"),
            ));
        }
        // A required sum must be a number: a warehouse SUM over no rows returns NULL, which is
        // not zero here but an error (write 0 for empty cells).
        for (k, name) in SUMS[..9].iter().enumerate() {
            let v = sums[k].as_ref().expect("required column")[i];
            if !v.is_finite() {
                return Err(bad(
                    input,
                    format!(
                        "row {row} (1-based): column '{name}' is {}; every sum must be a finite number (0 for an empty cell)",
                        if v.is_nan() { "null".to_string() } else { v.to_string() }
                    ),
                ));
            }
        }
        // Optional columns may be null (absent for this row), but not infinite.
        let optional = [(&sums[9], "pre_imputed"), (&shift_y, "shift_y"), (&shift_x, "shift_x")];
        for (v, name) in optional.into_iter().chain(mixed.iter().zip(MIXED)) {
            if let Some(v) = v.as_ref().map(|v| v[i]).filter(|v| v.is_infinite()) {
                return Err(bad(
                    input,
                    format!("row {row} (1-based): column '{name}' is {v}; expected a finite number or null"),
                ));
            }
        }
        let get = |v: &Option<Vec<f64>>| v.as_ref().map_or(0.0, |v| if v[i].is_nan() { 0.0 } else { v[i] });
        let sums_row: PowerSums = std::array::from_fn(|k| get(&sums[k + 1]));
        let (units, n, imputed) = (get(&sums[0]), sums_row[0], get(&sums[9]));
        for (value, name) in [(units, "units"), (n, "n"), (imputed, "pre_imputed")] {
            if !is_count(value) {
                return Err(bad(
                    input,
                    format!("row {row} (1-based): column '{name}' is {value}; expected a count (a whole number ≥ 0)"),
                ));
            }
        }
        if n > units || imputed > units {
            return Err(bad(
                input,
                format!("row {row} (1-based): n = {n} and pre_imputed = {imputed} cannot exceed units = {units} (units count every unit of the cell, n those with a value)"),
            ));
        }
        if sums_row[2] < 0.0 || sums_row[4] < 0.0 || sums_row[6] < 0.0 {
            return Err(bad(input, format!("row {row} (1-based): a sum of squares or fourth powers is negative")));
        }
        let has_mixed = mixed.iter().all(|v| v.as_ref().is_some_and(|v| !v[i].is_nan()));
        out.push(Row {
            row,
            covariate: covariate.as_ref().map(|c| c[i].clone().unwrap_or_default()),
            units,
            pre_imputed: imputed,
            sums: sums_row,
            mixed: has_mixed.then(|| {
                let mut m = [0.0; 8];
                for (k, v) in mixed.iter().enumerate() {
                    m[k] = get(v);
                }
                m
            }),
            shift: (get(&shift_y), get(&shift_x)),
            labels,
        });
    }
    Ok(())
}

fn position(v: &mut Vec<String>, s: &str) -> usize {
    v.iter().position(|x| x == s).unwrap_or_else(|| {
        v.push(s.to_string());
        v.len() - 1
    })
}

/// Every level's row needs its arm's whole-arm row (same experiment, metric and variant), and
/// the units of a dimension's levels cannot add up to more than the arm's.
fn check_levels_within_arms(
    rows: &[Row],
    units: &std::collections::BTreeMap<(usize, usize, usize), f64>,
    exps: &[String],
    metrics: &[String],
    dims: &[String],
    arms: &[Vec<String>],
    input: &str,
) -> Result<()> {
    let index = |v: &[String], s: &str| v.iter().position(|x| x == s).expect("indexed");
    let mut level_totals: std::collections::BTreeMap<(usize, usize, usize, usize), (f64, u64)> = Default::default();
    for r in rows.iter().filter(|r| !r.labels[2].is_empty()) {
        let [e, m, d, _, v] = &r.labels;
        let (ei, mi, di) = (index(exps, e), index(metrics, m), index(dims, d));
        let ai = index(&arms[ei], v);
        if !units.contains_key(&(ei, mi, ai)) {
            return Err(bad(
                input,
                format!(
                    "row {} (1-based): {e} / {m} / {v} has rows for levels of '{d}' but no whole-arm row (dimension and level empty); every arm needs one",
                    r.row
                ),
            ));
        }
        level_totals.entry((ei, mi, di, ai)).or_insert((0.0, r.row)).0 += r.units;
    }
    for (&(ei, mi, di, ai), &(sum, first)) in &level_totals {
        let arm = units[&(ei, mi, ai)];
        if sum > arm {
            return Err(bad(
                input,
                format!(
                    "rows from {first} (1-based): the levels of '{}' hold {sum} units of {} / {} / {}, more than the arm's {arm}",
                    dims[di], exps[ei], metrics[mi], arms[ei][ai]
                ),
            ));
        }
    }
    Ok(())
}

fn build(rows: Vec<Row>, control: &str, input: &str) -> Result<SuffStats> {
    let (mut metrics, mut dims, mut exps): (Vec<String>, Vec<String>, Vec<String>) = Default::default();
    let mut levels: Vec<Vec<String>> = Vec::new();
    let mut arms: Vec<Vec<String>> = Vec::new();
    for r in &rows {
        let [e, m, d, l, v] = &r.labels;
        let ei = position(&mut exps, e);
        position(&mut metrics, m);
        if arms.len() <= ei {
            arms.push(Vec::new());
        }
        position(&mut arms[ei], v);
        if !d.is_empty() {
            let di = position(&mut dims, d);
            if levels.len() <= di {
                levels.push(Vec::new());
            }
            position(&mut levels[di], l);
        }
    }
    let dimensions: Vec<DimensionInfo> = dims
        .iter()
        .zip(&levels)
        .map(|(name, l)| DimensionInfo {
            name: name.clone(),
            kind: DimensionKind::Categorical,
            edges: None,
            levels: l.clone(),
        })
        .collect();
    let mut experiments: Vec<ExperimentStats> = exps
        .iter()
        .zip(&arms)
        .map(|(name, a)| {
            let mut e = ExperimentStats::empty(
                name,
                &dimensions.iter().map(|d| d.levels.len()).collect::<Vec<_>>(),
                metrics.len(),
            );
            e.arms = a.clone();
            e.units = vec![0.0; a.len()];
            for lu in &mut e.level_units {
                for l in lu.iter_mut() {
                    *l = vec![0.0; a.len()];
                }
            }
            for m in &mut e.metrics {
                m.missing = vec![0.0; a.len()];
                m.pre_imputed = vec![0.0; a.len()];
                m.overall = vec![JointMoments::default(); a.len()];
                for lv in &mut m.levels {
                    for l in lv.iter_mut() {
                        *l = vec![Moments::default(); a.len()];
                    }
                }
            }
            e
        })
        .collect();
    let mut covariates: Vec<Option<String>> = vec![None; metrics.len()];
    let mut any_x = vec![false; metrics.len()];
    // Units per cell are the same for every metric in a well-formed table; they are taken as
    // the largest count any metric reports, so a metric missing from some cells loses nothing.
    let mut units: std::collections::BTreeMap<(usize, usize, usize), f64> = Default::default();
    let mut level_units: std::collections::BTreeMap<(usize, usize, usize, usize, usize), f64> = Default::default();
    for r in &rows {
        let [e, m, d, l, v] = &r.labels;
        let ei = exps.iter().position(|x| x == e).expect("indexed");
        let mi = metrics.iter().position(|x| x == m).expect("indexed");
        let ai = arms[ei].iter().position(|x| x == v).expect("indexed");
        if let Some(c) = &r.covariate {
            if !c.is_empty() {
                covariates[mi] = Some(c.clone());
            }
        }
        any_x[mi] |= r.sums[6] > 0.0;
        let ex = &mut experiments[ei];
        let ms = &mut ex.metrics[mi];
        let (sy, sx) = r.shift;
        if d.is_empty() {
            *units.entry((ei, mi, ai)).or_default() += r.units;
            ms.missing[ai] += r.units - r.sums[0];
            ms.pre_imputed[ai] += r.pre_imputed;
            let joint = match &r.mixed {
                Some(mixed) => JointMoments::from_power_sums(&joint_power_table(&r.sums, mixed), sy, sx),
                None => {
                    ms.joint = false;
                    JointMoments::from_power_sums(&joint_power_table(&r.sums, &[0.0; 8]), sy, sx)
                }
            };
            ms.overall[ai].merge(&joint);
        } else {
            let di = dims.iter().position(|x| x == d).expect("indexed");
            let li = levels[di].iter().position(|x| x == l).expect("indexed");
            *level_units.entry((ei, mi, di, li, ai)).or_default() += r.units;
            ms.levels[di][li][ai].merge(&Moments::from_power_sums(&r.sums, sy, sx));
        }
    }
    check_levels_within_arms(&rows, &units, &exps, &metrics, &dims, &arms, input)?;
    for (&(ei, _, ai), &u) in &units {
        let slot = &mut experiments[ei].units[ai];
        *slot = slot.max(u);
    }
    for (&(ei, _, di, li, ai), &u) in &level_units {
        let slot = &mut experiments[ei].level_units[di][li][ai];
        *slot = slot.max(u);
    }
    for e in &experiments {
        if e.control_index(control).is_none() {
            return Err(ScanError::NoControlArm {
                input: input.to_string(),
                column: "variant".into(),
                experiment: e.name.clone(),
                control: control.into(),
                arms: e.arms.join(", "),
            });
        }
        if e.arms.len() < 2 {
            return Err(ScanError::SingleArm {
                input: input.to_string(),
                column: "variant".into(),
                experiment: e.name.clone(),
                arm: e.arms.join(", "),
            });
        }
    }
    let metrics = metrics
        .iter()
        .enumerate()
        .map(|(i, name)| MetricInfo {
            name: name.clone(),
            pre: covariates[i].clone().or_else(|| any_x[i].then(|| format!("pre_{name}"))),
        })
        .collect();
    let rows_total: f64 = experiments.iter().flat_map(|e| e.units.iter()).sum();
    let mut stats = SuffStats {
        control: control.into(),
        metrics,
        dimensions,
        experiments,
        rows: rows_total as u64,
        rows_skipped: 0,
    };
    stats.canonicalize();
    Ok(stats)
}

/// The statistics as a table (the format [`read_stats_table`] reads), one row per
/// (experiment, metric, dimension, level, variant) with units in it.
pub fn stats_table(stats: &SuffStats) -> RecordBatch {
    let mut labels: [Vec<String>; 6] = Default::default();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); SUMS.len() + MIXED.len() + 2];
    let mut push = |l: [&str; 6],
                    units: f64,
                    pre_imputed: f64,
                    sums: PowerSums,
                    mixed: Option<MixedPowerSums>,
                    shift: (f64, f64)| {
        for (k, s) in l.iter().enumerate() {
            labels[k].push(s.to_string());
        }
        cols[0].push(units);
        for k in 0..8 {
            cols[k + 1].push(sums[k]);
        }
        cols[9].push(pre_imputed);
        for k in 0..MIXED.len() {
            cols[10 + k].push(mixed.map_or(f64::NAN, |m| m[k]));
        }
        cols[17].push(shift.0);
        cols[18].push(shift.1);
    };
    for e in &stats.experiments {
        for (mi, metric) in stats.metrics.iter().enumerate() {
            let ms = &e.metrics[mi];
            let cov = metric.pre.as_deref().unwrap_or("");
            for (ai, arm) in e.arms.iter().enumerate() {
                let j = &ms.overall[ai];
                let t = j.power_sums();
                let sums = [t[0][0], t[1][0], t[2][0], t[3][0], t[4][0], t[0][1], t[0][2], t[1][1]];
                let mixed = ms.joint.then_some([t[1][2], t[1][3], t[2][1], t[2][2], t[3][1], t[0][3], t[0][4], 0.0]);
                push(
                    [&e.name, &metric.name, "", "", arm, cov],
                    e.units[ai],
                    ms.pre_imputed[ai],
                    sums,
                    mixed,
                    (j.shift_y, j.shift_x),
                );
                for (d, dim) in stats.dimensions.iter().enumerate() {
                    for (l, level) in dim.levels.iter().enumerate() {
                        let units = e.level_units[d][l][ai];
                        if units == 0.0 {
                            continue;
                        }
                        let m = &ms.levels[d][l][ai];
                        push(
                            [&e.name, &metric.name, &dim.name, level, arm, cov],
                            units,
                            0.0,
                            m.power_sums(),
                            None,
                            (m.shift_y, m.shift_x),
                        );
                    }
                }
            }
        }
    }
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (k, name) in LABELS.iter().chain(&["covariate"]).enumerate() {
        fields.push(Field::new(*name, DataType::Utf8, false));
        arrays.push(Arc::new(StringArray::from(std::mem::take(&mut labels[k]))));
    }
    for (k, name) in SUMS.iter().chain(&MIXED).chain(&["shift_y", "shift_x"]).enumerate() {
        fields.push(Field::new(*name, DataType::Float64, true));
        let v = std::mem::take(&mut cols[k]);
        arrays.push(Arc::new(v.iter().map(|x| (!x.is_nan()).then_some(*x)).collect::<Float64Array>()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns match the schema")
}

#[cfg(test)]
mod tests {
    #[test]
    fn column_lists_are_disjoint() {
        let mut all: Vec<&str> = super::LABELS.iter().chain(&super::SUMS).chain(&super::MIXED).copied().collect();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
