//! Resolution of column roles (experiment, variant, metrics, pre-period covariates, dimensions)
//! against a file's schema, with type checks that name the column at fault.

use crate::error::{IoError, Result};
use crate::source::Source;
use arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};

/// Which column plays which role in a unit-level experiment table. `None` for metrics or
/// dimensions means: infer them (every float column without another role is a metric; every
/// string or boolean column without another role is a dimension).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnRoles {
    /// Experiment id column.
    pub experiment: String,
    /// Unit id column (optional; never a metric or dimension).
    pub unit: Option<String>,
    /// Arm label column.
    pub variant: String,
    /// Metric columns, or `None` to infer them.
    pub metrics: Option<Vec<String>>,
    /// Prefix of each metric's pre-period (CUPED) column.
    pub pre_prefix: String,
    /// Dimension columns, or `None` to infer them.
    pub dimensions: Option<Vec<String>>,
    /// Columns never used.
    pub ignore: Vec<String>,
    /// Randomization cluster column.
    pub cluster: Option<String>,
}

impl Default for ColumnRoles {
    /// The default roles: columns `experiment` and `variant`, pre-period columns `pre_<metric>`,
    /// metrics and dimensions inferred.
    fn default() -> Self {
        ColumnRoles {
            experiment: "experiment".into(),
            unit: None,
            variant: "variant".into(),
            metrics: None,
            pre_prefix: "pre_".into(),
            dimensions: None,
            ignore: Vec::new(),
            cluster: None,
        }
    }
}

/// How a dimension's values become levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DimensionKind {
    /// Strings, integers, booleans: one level per distinct value.
    Categorical,
    /// Floats: quantile bins.
    Binned,
}

/// A metric column and its optional pre-period covariate column.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricColumn {
    /// Name of the metric column.
    pub name: String,
    /// Name of its pre-period (CUPED) column, `pre_prefix` followed by the metric name, when present.
    pub pre: Option<String>,
}

/// A dimension column.
#[derive(Clone, Debug, PartialEq)]
pub struct DimensionColumn {
    /// Name of the dimension column.
    pub name: String,
    /// Whether its values are levels or are binned.
    pub kind: DimensionKind,
}

/// The resolved roles of a file's columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Experiment id column.
    pub experiment: String,
    /// Arm label column.
    pub variant: String,
    /// Metric columns, named or inferred, with their pre-period columns.
    pub metrics: Vec<MetricColumn>,
    /// Dimension columns, named or inferred, with their kinds.
    pub dimensions: Vec<DimensionColumn>,
    /// Randomization cluster column.
    pub cluster: Option<String>,
    /// Indices (ascending) of the file columns the scan reads.
    pub projection: Vec<usize>,
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        || matches!(t, DataType::Dictionary(_, v) if is_string(v) || is_integer(v))
}

/// Types usable as labels (experiment, variant, categorical dimension).
fn is_label(t: &DataType) -> bool {
    is_string(t) || is_integer(t) || matches!(t, DataType::Boolean)
}

/// Types usable as metric values.
fn is_numeric(t: &DataType) -> bool {
    is_float(t) || is_integer(t) || matches!(t, DataType::Boolean) || matches!(t, DataType::Decimal128(..))
}

impl Layout {
    /// Resolve the column roles `config` against the columns of `source`.
    pub fn resolve(source: &Source, config: &ColumnRoles) -> Result<Self> {
        let schema = source.schema();
        let find = |name: &str, role: &'static str| -> Result<(usize, DataType)> {
            schema.index_of(name).map(|i| (i, schema.field(i).data_type().clone())).map_err(|_| {
                IoError::MissingColumn {
                    input: source.label().to_string(),
                    column: name.to_string(),
                    role,
                    available: source.column_list(),
                }
            })
        };
        let wrong = |column: &str, role: &'static str, found: &DataType, expected: &'static str| IoError::WrongType {
            input: source.label().to_string(),
            column: column.to_string(),
            role,
            found: found.to_string(),
            expected,
        };
        let label_types = "a string, integer or boolean column";

        let (ei, et) = find(&config.experiment, "experiment")?;
        if !is_label(&et) {
            return Err(wrong(&config.experiment, "experiment", &et, label_types));
        }
        let (vi, vt) = find(&config.variant, "variant")?;
        if !is_label(&vt) {
            return Err(wrong(&config.variant, "variant", &vt, label_types));
        }
        let mut used = vec![config.experiment.clone(), config.variant.clone()];
        for c in config.unit.iter().chain(&config.cluster) {
            find(c, "unit or cluster")?;
            used.push(c.clone());
        }
        if config.unit.is_none() && schema.index_of("unit").is_ok() {
            used.push("unit".into());
        }
        used.extend(config.ignore.iter().cloned());
        let pre_of = |m: &str| format!("{}{m}", config.pre_prefix);

        // Metrics: named, or every float column that has no other role.
        let metric_names: Vec<String> = match &config.metrics {
            Some(m) => m.clone(),
            None => schema
                .fields()
                .iter()
                .filter(|f| is_float(f.data_type()))
                .map(|f| f.name().clone())
                .filter(|n| !used.contains(n) && !n.starts_with(&config.pre_prefix))
                .filter(|n| config.dimensions.as_ref().is_none_or(|d| !d.contains(n)))
                .collect(),
        };
        if metric_names.is_empty() {
            let candidates: Vec<&str> =
                schema.fields().iter().filter(|f| is_numeric(f.data_type())).map(|f| f.name().as_str()).collect();
            return Err(IoError::NoMetrics {
                input: source.label().to_string(),
                candidates: if candidates.is_empty() { "none".into() } else { candidates.join(", ") },
            });
        }
        let mut metrics = Vec::new();
        for name in &metric_names {
            let (_, t) = find(name, "metric")?;
            if !is_numeric(&t) {
                return Err(wrong(name, "metric", &t, "a numeric (integer, float or boolean) column"));
            }
            let pre = match schema.index_of(&pre_of(name)) {
                Ok(i) => {
                    let pt = schema.field(i).data_type();
                    if !is_numeric(pt) {
                        return Err(wrong(&pre_of(name), "pre-period covariate", pt, "a numeric column"));
                    }
                    Some(pre_of(name))
                }
                Err(_) => None,
            };
            used.push(name.clone());
            if let Some(p) = &pre {
                used.push(p.clone());
            }
            metrics.push(MetricColumn { name: name.clone(), pre });
        }

        // Dimensions: named, or every string or boolean column that has no other role (integer
        // columns are as often outcomes or ids as breakdowns: they must be named).
        let dim_names: Vec<String> = match &config.dimensions {
            Some(d) => d.clone(),
            None => schema
                .fields()
                .iter()
                .filter(|f| is_string(f.data_type()) || matches!(f.data_type(), DataType::Boolean))
                .map(|f| f.name().clone())
                .filter(|n| !used.contains(n))
                .collect(),
        };
        let mut dimensions = Vec::new();
        for name in &dim_names {
            let (_, t) = find(name, "dimension")?;
            let kind = if is_label(&t) {
                DimensionKind::Categorical
            } else if is_float(&t) || matches!(t, DataType::Decimal128(..)) {
                DimensionKind::Binned
            } else {
                return Err(wrong(name, "dimension", &t, "a string, integer, boolean or float column"));
            };
            dimensions.push(DimensionColumn { name: name.clone(), kind });
        }

        let mut projection: Vec<usize> = [ei, vi].into();
        if let Some(c) = &config.cluster {
            let (ci, ct) = find(c, "cluster")?;
            if !is_label(&ct) {
                return Err(wrong(c, "cluster", &ct, label_types));
            }
            projection.push(ci);
        }
        for m in &metrics {
            projection.push(schema.index_of(&m.name).expect("resolved above"));
            if let Some(p) = &m.pre {
                projection.push(schema.index_of(p).expect("resolved above"));
            }
        }
        for d in &dimensions {
            projection.push(schema.index_of(&d.name).expect("resolved above"));
        }
        projection.sort_unstable();
        projection.dedup();
        Ok(Self {
            experiment: config.experiment.clone(),
            variant: config.variant.clone(),
            metrics,
            dimensions,
            cluster: config.cluster.clone(),
            projection,
        })
    }
}

cateye_stats::settings_with!(ColumnRoles);
