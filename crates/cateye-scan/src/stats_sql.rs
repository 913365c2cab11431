//! The warehouse path: one SQL query that turns a unit-level table (one row per experiment ×
//! unit, the layout `cateye scan` reads) into the statistics table of [`crate::read_stats_table`]
//! (module `stats_table`), which `cateye scan --stats` and Python's `cateye.scan_stats` scan with
//! the results the unit-level rows would give.
//!
//! [`StatsQuery::sql`] writes the query in two dialects ([`Dialect`]): Spark SQL and ANSI SQL
//! (run in DuckDB by the tests). Its steps, each a common table expression:
//!
//! | step | what it computes |
//! |---|---|
//! | `cateye_rows` | labels as text (a null dimension value is the level `(null)`, as in the scan), metric and covariate values as doubles with null, NaN and ±inf made null (missing); rows whose experiment or variant is null are left out |
//! | `cateye_shifts` | per experiment and metric, the mean of the finite values of the metric (`shift_y`) and of its covariate (`shift_x`): the sums are of `d = y − shift_y` and `e = x − shift_x`, so a metric whose mean is large compared with its spread keeps its precision in `Σ d⁴` |
//! | `cateye_dev` | per row and metric: `d` (null when `y` is missing), `e` (0 when only the covariate is missing: imputed at `shift_x`; null when `y` is missing) and whether the covariate was imputed |
//! | `cateye_sums` | one `GROUP BY GROUPING SETS`: the whole arm (experiment, variant) and each dimension's levels (experiment, variant, level), every metric's `COUNT(d)` and `Σ d^p e^q` (`p + q ≤ 4`) side by side, and the units `COUNT(*)` |
//! | `cateye_table` | one row per metric (a `VALUES` list cross-joined): the columns of the statistics table; the mixed sums (`sum_yx2` … `sum_x4`, for the kurtosis of the CUPED residual) and `pre_imputed` on whole-arm rows only |
//!
//! The table is scanned once and grouped once; a metric without a covariate has `x ≡ 0`, as in
//! the scan, and its covariate sums are the constant 0. Rows come out ordered by experiment,
//! metric and dimension in the order given, so that the scan of the table lists metrics and
//! dimensions as the scan of the rows does.
//!
//! What the scan of the unit-level rows does and the SQL does differently:
//!
//! - **Shifts.** The scan takes the first finite value of an experiment's metric (and covariate)
//!   in file order; a table has no order, so the query takes the mean. Both are typical values,
//!   and the moments do not depend on the shift: the results agree to rounding.
//! - **Imputed covariates.** A missing covariate value of a unit with a metric value is imputed
//!   with a constant, the shift, and counted in `pre_imputed`, as in the scan; the constant is the
//!   experiment's mean of the covariate here and its first value in the scan. Both keep CUPED
//!   unbiased, but the CUPED estimates of the two paths differ slightly when covariate values are
//!   missing (they are equal when the rows' missing covariates are filled with `shift_x`).
//! - **Missing values.** Null, NaN and ±inf metric values are missing: counted in `units`, not
//!   in `n`. The test is `v BETWEEN -1.7976931348623157E308 AND 1.7976931348623157E308`, false for
//!   ±inf, and for NaN both in engines where NaN compares as the largest double (Spark, DuckDB,
//!   PostgreSQL) and in those where any comparison with NaN is false (IEEE).
//! - **Out-of-range values.** The scan refuses a metric or covariate value beyond ±1e70 (its
//!   fourth power summed over many rows could overflow), naming its row; a query has no portable
//!   way to raise an error, so such values are summed. When a sum overflows, it is infinite,
//!   and the scan of the table refuses its row, naming it.
//! - **Dimensions are categorical.** Each distinct value (cast to text) is a level. The scan cuts
//!   a float dimension into quantile bins; SQL cannot without the bin edges, which come from the
//!   whole table: bin such a column in the query that feeds this one, or scan the unit-level
//!   rows. The `max_levels` guard against id columns is not applied (the scan of the table takes
//!   every level it is given). An empty-string level cannot be told from a whole-arm row in the
//!   statistics table; the scan of the table refuses it, naming the row.
//! - **Not in the table.** Cluster sums (cluster-robust standard errors need the unit-level rows)
//!   and the rows skipped for a null experiment or variant (left out, not counted).
//!
//! Names: identifiers are quoted (Spark: backticks, doubled inside; ANSI: double quotes,
//! doubled inside) and names written as text are string literals (Spark: backslash escapes, as
//! Spark's parser reads them by default; ANSI: doubled single quotes). The table is inserted as
//! written: a name (`events`, `db.events`) or any table expression of the dialect (DuckDB:
//! `read_parquet('rows.parquet')`), quoted by the caller where it needs quoting.

use crate::config::ScanConfig;
use crate::error::{Result, ScanError};
use crate::suffstats::MetricInfo;
use cateye_io::NULL_LEVEL;
use std::fmt::Write as _;

/// A SQL dialect of [`StatsQuery::sql`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// Spark SQL: `` `identifiers` ``, `'literals'` with backslash escapes, `STRING`, `DOUBLE`.
    Spark,
    /// ANSI SQL: `"identifiers"`, `'literals'` with doubled quotes, `VARCHAR`,
    /// `DOUBLE PRECISION`; tested in DuckDB.
    #[default]
    Ansi,
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialect::Spark => "spark",
            Dialect::Ansi => "ansi",
        })
    }
}

impl std::str::FromStr for Dialect {
    type Err = cateye_stats::UnknownChoice;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "spark" => Ok(Dialect::Spark),
            "ansi" => Ok(Dialect::Ansi),
            _ => Err(cateye_stats::UnknownChoice::new("SQL dialect", s, "spark or ansi")),
        }
    }
}

impl Dialect {
    /// `name` as a quoted identifier: `` `a``b` `` (Spark) or `"a""b"` (ANSI).
    pub fn identifier(self, name: &str) -> String {
        match self {
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            Dialect::Ansi => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// `text` as a string literal: `'it\'s'` (Spark, whose parser reads backslash escapes and
    /// joins adjacent literals, so `''` would vanish) or `'it''s'` (ANSI).
    pub fn literal(self, text: &str) -> String {
        match self {
            Dialect::Spark => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
            Dialect::Ansi => format!("'{}'", text.replace('\'', "''")),
        }
    }

    /// The text type labels are cast to.
    fn text_type(self) -> &'static str {
        match self {
            Dialect::Spark => "STRING",
            Dialect::Ansi => "VARCHAR",
        }
    }

    /// The 64-bit float type values are cast to.
    fn double_type(self) -> &'static str {
        match self {
            Dialect::Spark => "DOUBLE",
            Dialect::Ansi => "DOUBLE PRECISION",
        }
    }
}

/// Which metrics have a pre-period (CUPED) covariate column. The SQL cannot look at the table's
/// columns, so the caller says which covariates exist (the scan of the rows uses the column
/// `pre_prefix` + metric whenever it is present).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CovariateColumns {
    /// Every metric has the covariate column `pre_prefix` + metric (`--cuped`).
    pub all: bool,
    /// Covariates of single metrics (`--pre`): (metric, column), the column `pre_prefix` +
    /// metric when `None`. They take precedence over `all`.
    pub listed: Vec<(String, Option<String>)>,
}

/// Names the generated SQL gives its steps: a table of the same name cannot be read.
const STEPS: [&str; 5] = ["cateye_rows", "cateye_shifts", "cateye_dev", "cateye_sums", "cateye_table"];

/// The largest finite double, as a SQL literal: the bounds of the finiteness test.
const MAX_DOUBLE: &str = "1.7976931348623157E308";

/// What the statistics query reads: the unit-level table and its columns' roles.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StatsQuery {
    /// The unit-level table as the query names it, inserted as written (see the module
    /// documentation).
    pub table: String,
    /// Experiment id column.
    pub experiment: String,
    /// Arm label column.
    pub variant: String,
    /// Metric columns, each with its covariate column, if any.
    pub metrics: Vec<MetricInfo>,
    /// Categorical dimension columns.
    pub dimensions: Vec<String>,
}

fn invalid(message: String) -> ScanError {
    ScanError::Invalid { input: "stats-sql".into(), message }
}

impl StatsQuery {
    /// The query of `metrics` (without covariates) of `table`, no dimensions, the default
    /// experiment and variant columns.
    pub fn new(table: &str, metrics: &[&str]) -> Self {
        let defaults = ScanConfig::default();
        Self {
            table: table.to_string(),
            experiment: defaults.experiment,
            variant: defaults.variant,
            metrics: metrics.iter().map(|m| MetricInfo { name: m.to_string(), pre: None }).collect(),
            dimensions: Vec::new(),
        }
    }

    /// The query the scan settings describe: the columns `experiment`, `variant`, `metrics`
    /// (required: the SQL cannot list the table's float columns) and `dimensions` (none when
    /// unset) of `config`, with the covariates `covariates` names after `config.pre_prefix`.
    /// A cluster column is refused: the statistics table carries no cluster sums. The other
    /// settings concern the scan of the table, not the query.
    pub fn from_config(table: &str, config: &ScanConfig, covariates: &CovariateColumns) -> Result<Self> {
        if let Some(cluster) = &config.cluster {
            return Err(invalid(format!(
                "cluster '{cluster}': the statistics table carries no cluster sums, so cluster-robust standard \
                 errors need the unit-level rows (cateye scan --cluster); leave the cluster out of the config"
            )));
        }
        let names = config.metrics.clone().unwrap_or_default();
        if names.is_empty() {
            return Err(invalid(
                "no metrics: name them with --metrics (metrics in a config file); the SQL cannot look up the \
                 table's float columns"
                    .into(),
            ));
        }
        for (k, (metric, _)) in covariates.listed.iter().enumerate() {
            if !names.contains(metric) {
                return Err(invalid(format!(
                    "--pre names '{metric}', which is not a metric (metrics: {})",
                    names.join(", ")
                )));
            }
            if covariates.listed[..k].iter().any(|(m, _)| m == metric) {
                return Err(invalid(format!("--pre names metric '{metric}' twice")));
            }
        }
        let prefixed = |m: &str| format!("{}{m}", config.pre_prefix);
        let metrics = names
            .iter()
            .map(|name| {
                let pre = match covariates.listed.iter().find(|(m, _)| m == name) {
                    Some((_, Some(column))) => Some(column.clone()),
                    Some((_, None)) => Some(prefixed(name)),
                    None => covariates.all.then(|| prefixed(name)),
                };
                MetricInfo { name: name.clone(), pre }
            })
            .collect();
        let query = Self {
            table: table.to_string(),
            experiment: config.experiment.clone(),
            variant: config.variant.clone(),
            metrics,
            dimensions: config.dimensions.clone().unwrap_or_default(),
        };
        query.check()?;
        Ok(query)
    }

    /// The error for a request to bin dimensions (`setting`: the flag or key that asked, e.g.
    /// `--bins`): the query writes categorical dimensions only, since quantile bins need edges
    /// computed from the whole table.
    pub fn binning_refused(setting: &str) -> ScanError {
        invalid(format!(
            "{setting}: the SQL cannot bin a dimension (the bin edges are quantiles of the whole table); every \
             dimension is categorical, one level per value: bin a float column in the query that feeds this one \
             (e.g. a CASE on fixed edges), or scan the unit-level rows (cateye scan)"
        ))
    }

    /// Names the query cannot use: empty ones, NUL characters, a metric or dimension named
    /// twice (its rows would be counted twice), a table named like a step of the query.
    fn check(&self) -> Result<()> {
        if self.table.trim().is_empty() {
            return Err(invalid("the table is empty: name the unit-level table (e.g. events)".into()));
        }
        if let Some(step) = STEPS.iter().find(|s| s.eq_ignore_ascii_case(self.table.trim())) {
            return Err(invalid(format!(
                "the table cannot be called {step}, the name of a step of the query: name it by another name or \
                 qualify it (db.{step})"
            )));
        }
        let columns = [("experiment", &self.experiment), ("variant", &self.variant)]
            .into_iter()
            .chain(self.metrics.iter().map(|m| ("metric", &m.name)))
            .chain(self.metrics.iter().filter_map(|m| m.pre.as_ref().map(|p| ("covariate", p))))
            .chain(self.dimensions.iter().map(|d| ("dimension", d)));
        for (role, name) in columns {
            if name.is_empty() {
                return Err(invalid(format!("a {role} column name is empty")));
            }
            if name.contains('\0') {
                return Err(invalid(format!("{role} column {name:?} contains a NUL character")));
            }
        }
        if self.metrics.is_empty() {
            return Err(invalid("no metrics: the statistics table needs at least one".into()));
        }
        for (k, m) in self.metrics.iter().enumerate() {
            if self.metrics[..k].iter().any(|o| o.name == m.name) {
                return Err(invalid(format!("metric '{}' is named twice", m.name)));
            }
        }
        for (k, d) in self.dimensions.iter().enumerate() {
            if self.dimensions[..k].contains(d) {
                return Err(invalid(format!("dimension '{d}' is named twice (its levels would be counted twice)")));
            }
        }
        Ok(())
    }

    /// The SQL statement, in `dialect`, whose result is the statistics table of the unit-level
    /// rows (see the module documentation for what each step computes).
    pub fn sql(&self, dialect: Dialect) -> Result<String> {
        self.check()?;
        Ok(Sql { query: self, dialect }.statement())
    }
}

/// The writer of one statement.
struct Sql<'a> {
    query: &'a StatsQuery,
    dialect: Dialect,
}

/// The power sums `Σ d^p e^q` of the statistics table: column name, `p`, `q`, in the table's
/// column order. The first [`MARGINAL`] are on every row; the others, the mixed sums of the
/// CUPED residual's kurtosis, on whole-arm rows only.
const POWER_SUMS: [(&str, usize, usize); 14] = [
    ("sum_y", 1, 0),
    ("sum_y2", 2, 0),
    ("sum_y3", 3, 0),
    ("sum_y4", 4, 0),
    ("sum_x", 0, 1),
    ("sum_x2", 0, 2),
    ("sum_xy", 1, 1),
    ("sum_yx2", 1, 2),
    ("sum_yx3", 1, 3),
    ("sum_y2x", 2, 1),
    ("sum_y2x2", 2, 2),
    ("sum_y3x", 3, 1),
    ("sum_x3", 0, 3),
    ("sum_x4", 0, 4),
];

/// How many of [`POWER_SUMS`] are written on every row.
const MARGINAL: usize = 7;

impl Sql<'_> {
    fn statement(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "-- cateye statistics table (one row per experiment, metric, dimension, level and variant) for\n\
             -- cateye scan --stats or cateye.scan_stats; written by cateye {} stats-sql, dialect {}.\n",
            env!("CARGO_PKG_VERSION"),
            self.dialect
        ));
        s.push_str("WITH\n");
        self.rows(&mut s);
        self.shifts(&mut s);
        self.deviations(&mut s);
        self.sums(&mut s);
        self.table(&mut s);
        let columns = ["experiment", "metric", "dimension", "level", "variant", "covariate", "units", "n"]
            .into_iter()
            .chain(POWER_SUMS[..MARGINAL].iter().map(|c| c.0))
            .chain(["pre_imputed"])
            .chain(POWER_SUMS[MARGINAL..].iter().map(|c| c.0))
            .chain(["shift_y", "shift_x"])
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            s,
            "SELECT {columns}\nFROM cateye_table\nORDER BY experiment, cateye_k, cateye_j, level, variant;\n"
        );
        s
    }

    /// `cateye_rows`: labels as text, values as finite doubles or null, rows with an
    /// experiment and a variant.
    fn rows(&self, s: &mut String) {
        let (q, d) = (self.query, self.dialect);
        let (text, double) = (d.text_type(), d.double_type());
        let mut items = vec![
            format!("CAST({} AS {text}) AS cateye_e", d.identifier(&q.experiment)),
            format!("CAST({} AS {text}) AS cateye_v", d.identifier(&q.variant)),
        ];
        for (j, dim) in q.dimensions.iter().enumerate() {
            items.push(format!(
                "COALESCE(CAST({} AS {text}), {}) AS cateye_l{j}",
                d.identifier(dim),
                d.literal(NULL_LEVEL)
            ));
        }
        let finite = |column: &str, alias: String| {
            let v = format!("CAST({} AS {double})", d.identifier(column));
            format!("CASE WHEN {v} BETWEEN -{MAX_DOUBLE} AND {MAX_DOUBLE} THEN {v} END AS {alias}")
        };
        for (k, m) in q.metrics.iter().enumerate() {
            items.push(finite(&m.name, format!("cateye_y{k}")));
            if let Some(pre) = &m.pre {
                items.push(finite(pre, format!("cateye_x{k}")));
            }
        }
        let _ = write!(
            s,
            "-- Labels as text (a null level is {}), values as doubles; null, NaN and +-inf are missing.\n\
             cateye_rows AS (\n  SELECT\n    {}\n  FROM {}\n  WHERE {} IS NOT NULL AND {} IS NOT NULL\n),\n",
            NULL_LEVEL,
            items.join(",\n    "),
            q.table,
            d.identifier(&q.experiment),
            d.identifier(&q.variant)
        );
    }

    /// `cateye_shifts`: per experiment, the mean of each metric's and covariate's finite values.
    fn shifts(&self, s: &mut String) {
        let mut items = vec!["cateye_e".to_string()];
        for (k, m) in self.query.metrics.iter().enumerate() {
            items.push(format!("COALESCE(AVG(cateye_y{k}), 0) AS cateye_sy{k}"));
            if m.pre.is_some() {
                items.push(format!("COALESCE(AVG(cateye_x{k}), 0) AS cateye_sx{k}"));
            }
        }
        let _ = write!(
            s,
            "-- Shifts: the experiment's mean of each metric and covariate, subtracted before summing powers.\n\
             cateye_shifts AS (\n  SELECT\n    {}\n  FROM cateye_rows\n  GROUP BY cateye_e\n),\n",
            items.join(",\n    ")
        );
    }

    /// `cateye_dev`: per row and metric, `d = y − shift_y`, `e = x − shift_x` (0 when imputed)
    /// and the imputation flag.
    fn deviations(&self, s: &mut String) {
        let q = self.query;
        let mut items = vec!["r.cateye_e".to_string(), "r.cateye_v".to_string()];
        items.extend((0..q.dimensions.len()).map(|j| format!("r.cateye_l{j}")));
        for (k, m) in q.metrics.iter().enumerate() {
            items.push(format!("s.cateye_sy{k}"));
            items.push(format!("r.cateye_y{k} - s.cateye_sy{k} AS cateye_d{k}"));
            if m.pre.is_some() {
                items.push(format!("s.cateye_sx{k}"));
                items.push(format!(
                    "CASE WHEN r.cateye_y{k} IS NOT NULL THEN COALESCE(r.cateye_x{k} - s.cateye_sx{k}, 0) END AS cateye_e{k}"
                ));
                items.push(format!(
                    "CASE WHEN r.cateye_y{k} IS NOT NULL AND r.cateye_x{k} IS NULL THEN 1 ELSE 0 END AS cateye_i{k}"
                ));
            }
        }
        let _ = write!(
            s,
            "-- Deviations from the shifts; a missing covariate of a unit with a value is imputed at the shift (e = 0).\n\
             cateye_dev AS (\n  SELECT\n    {}\n  FROM cateye_rows r\n  JOIN cateye_shifts s ON r.cateye_e = s.cateye_e\n),\n",
            items.join(",\n    ")
        );
    }

    /// `cateye_sums`: one grouping per whole arm and per dimension's levels; every metric's
    /// counts and power sums side by side.
    fn sums(&self, s: &mut String) {
        let q = self.query;
        let dims = q.dimensions.len();
        let mut items = vec!["cateye_e".to_string(), "cateye_v".to_string()];
        for j in 0..dims {
            items.push(format!("cateye_l{j}"));
            items.push(format!("GROUPING(cateye_l{j}) AS cateye_g{j}"));
        }
        items.push("COUNT(*) AS cateye_units".into());
        for (k, m) in q.metrics.iter().enumerate() {
            items.push(format!("MIN(cateye_sy{k}) AS cateye_sy{k}"));
            items.push(format!("COUNT(cateye_d{k}) AS cateye_n{k}"));
            let has_x = m.pre.is_some();
            for &(_, p, q) in POWER_SUMS.iter().filter(|c| has_x || c.2 == 0) {
                items.push(format!("SUM({}) AS cateye_s{k}_{p}{q}", power(k, p, q)));
            }
            if has_x {
                items.push(format!("MIN(cateye_sx{k}) AS cateye_sx{k}"));
                items.push(format!("SUM(cateye_i{k}) AS cateye_i{k}"));
            }
        }
        let grouping = if dims == 0 {
            "GROUP BY cateye_e, cateye_v".to_string()
        } else {
            let sets: Vec<String> = std::iter::once("(cateye_e, cateye_v)".to_string())
                .chain((0..dims).map(|j| format!("(cateye_e, cateye_v, cateye_l{j})")))
                .collect();
            format!("GROUP BY GROUPING SETS (\n    {}\n  )", sets.join(",\n    "))
        };
        let _ = write!(
            s,
            "-- Counts and sums of d^p e^q (p + q <= 4) per whole arm and per level of each dimension.\n\
             cateye_sums AS (\n  SELECT\n    {}\n  FROM cateye_dev\n  {grouping}\n),\n",
            items.join(",\n    ")
        );
    }

    /// `cateye_table`: the statistics table's columns, one row per metric, with the order keys
    /// `cateye_k` (metric) and `cateye_j` (0 for the whole arm, then the dimensions in order).
    fn table(&self, s: &mut String) {
        let (q, d) = (self.query, self.dialect);
        let dims = q.dimensions.len();
        let zero = format!("CAST(0 AS {})", d.double_type());
        // The value of column `column(k)` for the row's metric.
        let pick = |column: &dyn Fn(usize, &MetricInfo) -> Option<String>, otherwise: &str| -> String {
            if q.metrics.len() == 1 {
                return column(0, &q.metrics[0]).unwrap_or_else(|| otherwise.to_string());
            }
            let branches: String = q
                .metrics
                .iter()
                .enumerate()
                .map(|(k, m)| format!(" WHEN {k} THEN {}", column(k, m).unwrap_or_else(|| otherwise.to_string())))
                .collect();
            format!("CASE m.cateye_k{branches} END")
        };
        let whole =
            (dims > 0).then(|| (0..dims).map(|j| format!("s.cateye_g{j} = 1")).collect::<Vec<_>>().join(" AND "));
        let only_whole = |value: String, otherwise: &str| match &whole {
            Some(w) => format!("CASE WHEN {w} THEN {value} ELSE {otherwise} END"),
            None => value,
        };
        let by_dimension = |value: &dyn Fn(usize) -> String, whole_arm: &str| {
            if dims == 0 {
                return whole_arm.to_string();
            }
            let branches: String = (0..dims).map(|j| format!(" WHEN s.cateye_g{j} = 0 THEN {}", value(j))).collect();
            format!("CASE{branches} ELSE {whole_arm} END")
        };
        let mut items = vec![
            "s.cateye_e AS experiment".to_string(),
            "m.cateye_metric AS metric".to_string(),
            format!("{} AS dimension", by_dimension(&|j| d.literal(&q.dimensions[j]), "''")),
            format!("{} AS level", by_dimension(&|j| format!("s.cateye_l{j}"), "''")),
            "s.cateye_v AS variant".to_string(),
            "m.cateye_covariate AS covariate".to_string(),
            "s.cateye_units AS units".to_string(),
            format!("{} AS n", pick(&|k, _| Some(format!("s.cateye_n{k}")), "0")),
        ];
        let power_sum = |&(_, p, q): &(&str, usize, usize)| {
            let value = pick(&|k, m| (m.pre.is_some() || q == 0).then(|| format!("s.cateye_s{k}_{p}{q}")), &zero);
            format!("COALESCE({value}, {zero})")
        };
        for c in &POWER_SUMS[..MARGINAL] {
            items.push(format!("{} AS {}", power_sum(c), c.0));
        }
        let imputed = pick(&|k, m| m.pre.as_ref().map(|_| format!("s.cateye_i{k}")), "0");
        items.push(format!("{} AS pre_imputed", only_whole(format!("COALESCE({imputed}, 0)"), "0")));
        for c in &POWER_SUMS[MARGINAL..] {
            items.push(format!("{} AS {}", only_whole(power_sum(c), "NULL"), c.0));
        }
        items.push(format!("{} AS shift_y", pick(&|k, _| Some(format!("s.cateye_sy{k}")), &zero)));
        items.push(format!("{} AS shift_x", pick(&|k, m| m.pre.as_ref().map(|_| format!("s.cateye_sx{k}")), &zero)));
        items.push("m.cateye_k AS cateye_k".into());
        items.push(format!("{} AS cateye_j", by_dimension(&|j| (j + 1).to_string(), "0")));
        let metrics: Vec<String> = q
            .metrics
            .iter()
            .enumerate()
            .map(|(k, m)| format!("({k}, {}, {})", d.literal(&m.name), d.literal(m.pre.as_deref().unwrap_or(""))))
            .collect();
        let _ = write!(
            s,
            "-- One row per metric: the columns of the statistics table (mixed sums and pre_imputed on whole-arm rows).\n\
             cateye_table AS (\n  SELECT\n    {}\n  FROM cateye_sums s\n  CROSS JOIN (VALUES\n    {}\n  ) AS m(cateye_k, cateye_metric, cateye_covariate)\n)\n",
            items.join(",\n    "),
            metrics.join(",\n    ")
        );
    }
}

/// `d^p e^q` of metric `k` as a product of its columns.
fn power(k: usize, p: usize, q: usize) -> String {
    let factors: Vec<String> =
        std::iter::repeat_n(format!("cateye_d{k}"), p).chain(std::iter::repeat_n(format!("cateye_e{k}"), q)).collect();
    if factors.is_empty() {
        "1".into()
    } else {
        factors.join(" * ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token of the generated SQL, as the dialect's lexer reads it.
    #[derive(Debug, PartialEq)]
    enum Token {
        /// A quoted identifier, unescaped.
        Identifier(String),
        /// A string literal, unescaped.
        Literal(String),
        /// Anything else: keywords, names, numbers, punctuation (whitespace and comments dropped).
        Bare(String),
    }

    /// Splits `sql` as `dialect` reads it: `--` comments to the end of the line; identifiers in
    /// backticks (Spark) or double quotes (ANSI) with the quote doubled inside; literals in single
    /// quotes, with backslash escapes (Spark) or the quote doubled (ANSI).
    fn lex(sql: &str, dialect: Dialect) -> Vec<Token> {
        let quote = if dialect == Dialect::Spark { '`' } else { '"' };
        let mut tokens = Vec::new();
        let mut bare = String::new();
        let mut chars = sql.chars().peekable();
        let flush = |bare: &mut String, tokens: &mut Vec<Token>| {
            for word in bare.split_whitespace() {
                tokens.push(Token::Bare(word.to_string()));
            }
            bare.clear();
        };
        while let Some(c) = chars.next() {
            if c == '-' && chars.peek() == Some(&'-') {
                flush(&mut bare, &mut tokens);
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            } else if c == quote || c == '\'' {
                flush(&mut bare, &mut tokens);
                let mut text = String::new();
                loop {
                    let next = chars.next().expect("a quoted token is closed");
                    if next == '\\' && c == '\'' && dialect == Dialect::Spark {
                        text.push(chars.next().expect("an escape is complete"));
                    } else if next == c {
                        if chars.peek() == Some(&c) && !(c == '\'' && dialect == Dialect::Spark) {
                            chars.next();
                            text.push(c);
                        } else {
                            break;
                        }
                    } else {
                        text.push(next);
                    }
                }
                tokens.push(if c == '\'' { Token::Literal(text) } else { Token::Identifier(text) });
            } else {
                bare.push(c);
            }
        }
        flush(&mut bare, &mut tokens);
        tokens
    }

    fn config(metrics: &[&str], dimensions: &[&str]) -> ScanConfig {
        ScanConfig::default().with(|c| {
            c.metrics = Some(metrics.iter().map(|m| m.to_string()).collect());
            c.dimensions = Some(dimensions.iter().map(|d| d.to_string()).collect());
        })
    }

    fn cuped() -> CovariateColumns {
        CovariateColumns { all: true, listed: Vec::new() }
    }

    #[test]
    fn identifiers_and_literals_are_quoted_as_each_dialect_reads_them() {
        assert_eq!(Dialect::Spark.identifier("a`b c"), "`a``b c`");
        assert_eq!(Dialect::Ansi.identifier("a\"b c"), "\"a\"\"b c\"");
        assert_eq!(Dialect::Ansi.identifier("a`b"), "\"a`b\"");
        // Spark joins adjacent literals ('a''b' is 'ab'): quotes and backslashes are escaped.
        assert_eq!(Dialect::Spark.literal(r"it's a\b"), r"'it\'s a\\b'");
        assert_eq!(Dialect::Ansi.literal(r"it's a\b"), r"'it''s a\b'");
        for dialect in [Dialect::Spark, Dialect::Ansi] {
            assert_eq!(dialect.to_string().parse::<Dialect>(), Ok(dialect));
        }
        assert_eq!("SPARK".parse::<Dialect>(), Ok(Dialect::Spark));
        let err = "mysql".parse::<Dialect>().unwrap_err().to_string();
        assert!(err.contains("mysql") && err.contains("spark or ansi"), "{err}");
    }

    #[test]
    fn hostile_names_stay_inside_their_quotes() {
        let hostile = [
            "rev`enue\"; DROP TABLE x; --",
            "it's \\' OR 1=1 --",
            "line\nbreak /* c */",
            "ünï cødé ✓",
            "back\\slash\\",
        ];
        let mut c = config(&hostile[..3], &hostile[3..]);
        c.experiment = "exp \"id\"".into();
        c.variant = "arm `label`".into();
        let covariates =
            CovariateColumns { all: true, listed: vec![(hostile[1].into(), Some("pre 'x' \"y\"".into()))] };
        let query = StatsQuery::from_config("events", &c, &covariates).unwrap();
        for dialect in [Dialect::Spark, Dialect::Ansi] {
            let sql = query.sql(dialect).unwrap();
            let tokens = lex(&sql, dialect);
            for token in &tokens {
                if let Token::Bare(word) = token {
                    assert!(
                        word.chars().all(|c| c.is_ascii_alphanumeric() || "_.,;()*=+-<>".contains(c)),
                        "{dialect}: {word:?} outside quotes"
                    );
                    assert!(!word.contains("DROP") && !word.contains("OR1"), "{dialect}: {word:?}");
                }
            }
            let has = |t: Token| tokens.contains(&t);
            for name in
                hostile[..3].iter().chain(&["exp \"id\"", "arm `label`", "pre 'x' \"y\"", "pre_line\nbreak /* c */"])
            {
                assert!(has(Token::Identifier(name.to_string())), "{dialect}: identifier {name:?}");
            }
            for name in &hostile[3..] {
                assert!(has(Token::Identifier(name.to_string())), "{dialect}: dimension {name:?}");
                assert!(has(Token::Literal(name.to_string())), "{dialect}: dimension label {name:?}");
            }
            for name in &hostile[..3] {
                assert!(has(Token::Literal(name.to_string())), "{dialect}: metric label {name:?}");
            }
            assert!(has(Token::Literal("pre 'x' \"y\"".into())), "{dialect}: covariate label");
            // One statement: the only semicolon outside quotes ends it.
            let semicolons = tokens.iter().filter(|t| matches!(t, Token::Bare(w) if w.contains(';'))).count();
            assert_eq!(semicolons, 1, "{dialect}");
            assert!(sql.trim_end().ends_with(';'));
        }
    }

    #[test]
    fn the_query_groups_once_and_writes_the_columns_the_reader_reads() {
        let query = StatsQuery::from_config("db.events", &config(&["m0", "m1", "m2"], &["a", "b"]), &cuped()).unwrap();
        for dialect in [Dialect::Spark, Dialect::Ansi] {
            let sql = query.sql(dialect).unwrap();
            assert_eq!(sql.matches("FROM db.events").count(), 1, "the table is read once");
            assert_eq!(sql.matches("GROUP BY GROUPING SETS").count(), 1);
            for set in
                ["(cateye_e, cateye_v),", "(cateye_e, cateye_v, cateye_l0),", "(cateye_e, cateye_v, cateye_l1)\n"]
            {
                assert!(sql.contains(set), "{dialect}: grouping set {set}");
            }
            let values = sql.split("CROSS JOIN (VALUES").nth(1).unwrap().split(") AS m(").next().unwrap();
            assert_eq!(values.matches("\n    (").count(), 3, "{dialect}: one VALUES row per metric");
            // The final SELECT lists exactly the statistics table's columns.
            let last = sql.rsplit("SELECT ").next().unwrap();
            let columns: Vec<&str> = last.split('\n').next().unwrap().split(", ").collect();
            let mut expected: Vec<&str> = crate::stats_table::LABELS
                .iter()
                .chain(&crate::stats_table::SUMS)
                .chain(&crate::stats_table::MIXED)
                .chain(&["covariate", "shift_y", "shift_x"])
                .copied()
                .collect();
            let mut got = columns.clone();
            expected.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, expected, "{dialect}");
            let (text, double) = (dialect.text_type(), dialect.double_type());
            assert!(sql.contains(&format!("CAST({} AS {text})", dialect.identifier("a"))));
            assert!(sql.contains(&format!("CAST({} AS {double})", dialect.identifier("pre_m2"))));
        }
        let spark = query.sql(Dialect::Spark).unwrap();
        assert!(spark.contains("`experiment`") && !spark.contains("\"experiment\""));
        let ansi = query.sql(Dialect::Ansi).unwrap();
        assert!(ansi.contains("\"experiment\"") && !ansi.contains('`'));
    }

    #[test]
    fn without_dimensions_or_covariates_the_query_is_plain() {
        let query = StatsQuery::new("t", &["revenue"]);
        let sql = query.sql(Dialect::Ansi).unwrap();
        assert!(sql.contains("GROUP BY cateye_e, cateye_v\n") && !sql.contains("GROUPING"), "{sql}");
        assert!(!sql.contains("CASE m.cateye_k"), "one metric needs no CASE: {sql}");
        assert!(!sql.contains("cateye_e0") && !sql.contains("cateye_x0"), "no covariate: x is 0 throughout");
        assert!(sql.contains("(0, 'revenue', '')"));
    }

    #[test]
    fn covariates_are_the_prefixed_columns_or_those_named() {
        let mut c = config(&["a", "b", "c"], &[]);
        c.pre_prefix = "before_".into();
        let pre = |q: &StatsQuery| q.metrics.iter().map(|m| m.pre.clone()).collect::<Vec<_>>();
        let none = StatsQuery::from_config("t", &c, &CovariateColumns::default()).unwrap();
        assert_eq!(pre(&none), [None, None, None]);
        let all = StatsQuery::from_config("t", &c, &cuped()).unwrap();
        assert_eq!(pre(&all), [Some("before_a".into()), Some("before_b".into()), Some("before_c".into())]);
        let listed =
            CovariateColumns { all: false, listed: vec![("c".into(), Some("x=y".into())), ("a".into(), None)] };
        let some = StatsQuery::from_config("t", &c, &listed).unwrap();
        assert_eq!(pre(&some), [Some("before_a".into()), None, Some("x=y".into())]);
        let both = CovariateColumns { all: true, ..listed };
        assert_eq!(pre(&StatsQuery::from_config("t", &c, &both).unwrap())[1], Some("before_b".into()));
        let sql = some.sql(Dialect::Spark).unwrap();
        assert!(sql.contains("(1, 'b', '')") && sql.contains("(2, 'c', 'x=y')"), "{sql}");
    }

    #[test]
    fn what_the_query_cannot_do_is_refused_with_a_reason() {
        let refused = |c: &ScanConfig, covariates: &CovariateColumns, table: &str| {
            StatsQuery::from_config(table, c, covariates).unwrap_err().to_string()
        };
        let none = CovariateColumns::default();
        let err = refused(&ScanConfig::default(), &none, "t");
        assert!(err.contains("--metrics") && err.contains("cannot look up"), "{err}");
        let mut c = config(&["m"], &["d"]);
        c.cluster = Some("user".into());
        assert!(refused(&c, &none, "t").contains("cluster 'user'"));
        let c = config(&["m"], &["d"]);
        let unknown = CovariateColumns { all: false, listed: vec![("z".into(), None)] };
        assert!(refused(&c, &unknown, "t").contains("'z', which is not a metric (metrics: m)"));
        let twice = CovariateColumns { all: false, listed: vec![("m".into(), None), ("m".into(), None)] };
        assert!(refused(&c, &twice, "t").contains("twice"));
        assert!(refused(&config(&["m", "m"], &[]), &none, "t").contains("metric 'm' is named twice"));
        assert!(refused(&config(&["m"], &["d", "d"]), &none, "t").contains("dimension 'd' is named twice"));
        assert!(refused(&config(&["m"], &[""]), &none, "t").contains("dimension column name is empty"));
        assert!(refused(&config(&["m\0"], &[]), &none, "t").contains("NUL"));
        assert!(refused(&c, &none, " ").contains("the table is empty"));
        assert!(refused(&c, &none, "CATEYE_SUMS").contains("cannot be called cateye_sums"));
        let err = StatsQuery::binning_refused("--bins").to_string();
        assert!(err.contains("--bins") && err.contains("categorical"), "{err}");
    }
}
