//! Seeded generators of unit-level experiment tables with known truth: the built-in demo
//! (`cateye demo`), benchmark data and simulation-test data.
//!
//! Every unit has a latent baseline `u ~ N(0, 1)`; a continuous metric is
//! `y = mean + scale · (u + N(0, 1)) + w · τ(unit)` and its pre-period value
//! `x = mean + scale · (u + N(0, 0.5))`; a binary metric is `1{p + w τ(unit) > U(0,1)}`. The effect
//! `τ` is the experiment's base effect plus, optionally, a shift for chosen levels of one
//! dimension (heterogeneity a breakdown explains) or an independent normal term (heterogeneity no
//! breakdown explains). Rows are generated in batches, each from its own ChaCha8 stream seeded
//! by (seed, experiment, batch), so the data do not depend on the number of threads.

use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use std::sync::Arc;

/// A breakdown dimension: its levels and their population shares.
#[derive(Clone, Debug)]
pub struct DimensionSpec {
    /// Column name.
    pub name: String,
    /// Level labels (for a numeric dimension, the lower ends of its ranges, as numbers).
    pub levels: Vec<String>,
    /// Relative population share of each level (any positive scale; normalised).
    pub weights: Vec<f64>,
    /// Generated as a float column (uniform within [level, level + 1)) that the scan bins.
    pub numeric: bool,
}

/// How a metric is distributed.
#[derive(Clone, Debug)]
pub enum MetricKind {
    /// `y = mean + scale · (u + ε + w τ)` with a pre-period `x = mean + scale · (u + ε'/2)`.
    Continuous {
        /// Location of the metric in control.
        mean: f64,
        /// Standard deviation of the unit baseline and of the noise, in the metric's units.
        scale: f64,
    },
    /// `y = 1{U < p + 0.05 u + w τ}` (the probability clamped to `[0, 1]`).
    Binary {
        /// Control success probability at `u = 0`.
        p: f64,
    },
}

/// A metric column (and its `pre_` column when `pre`).
#[derive(Clone, Debug)]
pub struct MetricSpec {
    /// Column name.
    pub name: String,
    /// Distribution of the metric.
    pub kind: MetricKind,
    /// Whether the table has a pre-period column `pre_<name>`.
    pub pre: bool,
}

/// Heterogeneity planted in one metric of one experiment.
#[derive(Clone, Debug)]
pub enum Heterogeneity {
    /// Extra effect for the given levels of a dimension.
    ByDimension {
        /// Index of the dimension in [`TableSpec::dimensions`].
        dimension: usize,
        /// `(level index, extra effect)` pairs, the effect in the same units as the base effect.
        shifts: Vec<(usize, f64)>,
    },
    /// Independent normal effect variation of this standard deviation.
    Idiosyncratic {
        /// Standard deviation of the unit-level effect, in the same units as the base effect.
        sd: f64,
    },
}

/// One experiment.
#[derive(Clone, Debug)]
pub struct ExperimentSpec {
    /// Experiment id, the value of the `experiment` column.
    pub name: String,
    /// Arm labels, control first.
    pub arms: Vec<String>,
    /// Actual allocation probabilities (a mismatch with the planned split is an SRM).
    pub allocation: Vec<f64>,
    /// Number of units (rows) of the experiment.
    pub units: usize,
    /// Base effect per metric, in units of the metric's `scale` (probability for binary).
    pub effects: Vec<f64>,
    /// Planted heterogeneity per metric.
    pub heterogeneity: Vec<Option<Heterogeneity>>,
}

/// A whole table.
#[derive(Clone, Debug)]
pub struct TableSpec {
    /// Breakdown dimensions, in column order.
    pub dimensions: Vec<DimensionSpec>,
    /// Metrics, in column order.
    pub metrics: Vec<MetricSpec>,
    /// Experiments, whose rows follow one another in this order.
    pub experiments: Vec<ExperimentSpec>,
    /// Seed of the random streams.
    pub seed: u64,
    /// Rows per generated batch; batches do not span experiments.
    pub batch_rows: usize,
}

fn labels(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The built-in demo: eight product experiments on revenue, sessions and conversion with
/// heterogeneity planted along platform, tenure and country, one experiment whose effect varies
/// along nothing observed, one with a sample ratio mismatch, and a three-arm test.
pub fn demo_spec(seed: u64) -> TableSpec {
    let dims = vec![
        DimensionSpec {
            name: "country".into(),
            levels: labels(&["US", "DE", "IN", "BR", "JP", "FR", "IS", "LU"]),
            weights: vec![0.35, 0.12, 0.2, 0.12, 0.1, 0.1, 0.005, 0.005],
            numeric: false,
        },
        DimensionSpec {
            name: "platform".into(),
            levels: labels(&["ios", "android", "web"]),
            weights: vec![0.4, 0.4, 0.2],
            numeric: false,
        },
        DimensionSpec {
            name: "tenure_days".into(),
            levels: labels(&["0", "7", "30", "180", "365"]),
            weights: vec![0.2, 0.2, 0.2, 0.2, 0.2],
            numeric: true,
        },
        DimensionSpec {
            name: "is_subscriber".into(),
            levels: labels(&["false", "true"]),
            weights: vec![0.7, 0.3],
            numeric: false,
        },
    ];
    let metrics = vec![
        MetricSpec { name: "revenue".into(), kind: MetricKind::Continuous { mean: 12.0, scale: 4.0 }, pre: true },
        MetricSpec { name: "sessions".into(), kind: MetricKind::Continuous { mean: 30.0, scale: 6.0 }, pre: true },
        MetricSpec { name: "converted".into(), kind: MetricKind::Binary { p: 0.12 }, pre: false },
    ];
    let two = || labels(&["control", "treatment"]);
    let exp = |name: &str, effects: [f64; 3], het: [Option<Heterogeneity>; 3]| ExperimentSpec {
        name: name.into(),
        arms: two(),
        allocation: vec![0.5, 0.5],
        units: 20_000,
        effects: effects.to_vec(),
        heterogeneity: het.to_vec(),
    };
    let by = |dimension: usize, shifts: &[(usize, f64)]| {
        Some(Heterogeneity::ByDimension { dimension, shifts: shifts.to_vec() })
    };
    let mut experiments = vec![
        exp("checkout_redesign", [0.05, 0.0, 0.01], [by(1, &[(0, 0.35)]), None, None]),
        exp("onboarding_v2", [0.0, 0.05, 0.0], [None, by(2, &[(0, 0.45), (1, 0.2)]), None]),
        exp("search_ranking", [0.02, 0.02, 0.0], [None, None, None]),
        exp("ranking_model", [0.05, 0.0, 0.0], [Some(Heterogeneity::Idiosyncratic { sd: 0.6 }), None, None]),
        exp("notification_tweak", [0.0, 0.03, 0.0], [None, None, None]),
        exp("dark_mode", [0.0, 0.0, 0.0], [None, None, None]),
        exp("price_display", [0.1, 0.0, 0.0], [by(0, &[(2, -0.4)]), None, None]),
    ];
    // A sample ratio mismatch: the treatment loses about 10% of its units.
    experiments[4].allocation = vec![0.525, 0.475];
    experiments.push(ExperimentSpec {
        name: "free_shipping".into(),
        arms: labels(&["control", "threshold_25", "threshold_50"]),
        allocation: vec![1.0 / 3.0; 3],
        units: 24_000,
        effects: vec![0.08, 0.0, 0.02],
        heterogeneity: vec![None, None, by(3, &[(1, 0.05)])],
    });
    TableSpec { dimensions: dims, metrics, experiments, seed, batch_rows: 65_536 }
}

/// A generic table for benchmarks and simulations: `metrics` continuous metrics `m0..` with
/// pre-period columns, `dimensions` categorical dimensions `d0..` of `levels` equally likely
/// levels, constant effects of 0.05, `experiments` two-arm experiments of `units` units each.
pub fn synthetic_spec(
    experiments: usize,
    units: usize,
    metrics: usize,
    dimensions: usize,
    levels: usize,
    seed: u64,
) -> TableSpec {
    TableSpec {
        dimensions: (0..dimensions)
            .map(|d| DimensionSpec {
                name: format!("d{d}"),
                levels: (0..levels).map(|l| format!("l{l}")).collect(),
                weights: vec![1.0; levels],
                numeric: false,
            })
            .collect(),
        metrics: (0..metrics)
            .map(|m| MetricSpec {
                name: format!("m{m}"),
                kind: MetricKind::Continuous { mean: 10.0, scale: 1.0 },
                pre: true,
            })
            .collect(),
        experiments: (0..experiments)
            .map(|e| ExperimentSpec {
                name: format!("exp{e:05}"),
                arms: labels(&["control", "treatment"]),
                allocation: vec![0.5, 0.5],
                units,
                effects: vec![0.05; metrics],
                heterogeneity: vec![None; metrics],
            })
            .collect(),
        seed,
        batch_rows: 65_536,
    }
}

impl TableSpec {
    /// What was planted, one line per item, to compare the scan's findings with.
    pub fn truth(&self) -> Vec<String> {
        let mut out = Vec::new();
        for x in &self.experiments {
            for (m, h) in x.heterogeneity.iter().enumerate() {
                let metric = &self.metrics[m].name;
                match h {
                    Some(Heterogeneity::ByDimension { dimension, shifts }) => {
                        let d = &self.dimensions[*dimension];
                        let label = |l: usize| match (d.numeric, d.levels.get(l + 1)) {
                            (true, Some(next)) => format!("[{}, {next})", d.levels[l]),
                            (true, None) => format!(">= {}", d.levels[l]),
                            (false, _) => d.levels[l].clone(),
                        };
                        let levels: Vec<String> = shifts.iter().map(|(l, s)| format!("{} {s:+}", label(*l))).collect();
                        out.push(format!("{} / {metric}: effect varies by {} ({})", x.name, d.name, levels.join(", ")));
                    }
                    Some(Heterogeneity::Idiosyncratic { sd }) => {
                        out.push(format!("{} / {metric}: effect varies (sd {sd}) along no dimension", x.name));
                    }
                    None => {}
                }
            }
            let equal = 1.0 / x.arms.len() as f64;
            if x.allocation.iter().any(|a| (a - equal).abs() > 1e-9) {
                out.push(format!("{}: sample ratio mismatch (actual allocation {:?})", x.name, x.allocation));
            }
        }
        out
    }

    /// The metric columns (each with a `pre_` column when it has a pre-period).
    pub fn metric_columns(&self) -> Vec<String> {
        self.metrics.iter().map(|m| m.name.clone()).collect()
    }

    /// The dimension columns (numeric ones are float columns that a scan bins).
    pub fn dimension_columns(&self) -> Vec<String> {
        self.dimensions.iter().map(|d| d.name.clone()).collect()
    }

    /// Arrow schema of the generated table.
    pub fn schema(&self) -> SchemaRef {
        let mut fields =
            vec![Field::new("experiment", DataType::Utf8, false), Field::new("variant", DataType::Utf8, false)];
        for d in &self.dimensions {
            let t = if d.numeric {
                DataType::Float64
            } else if d.levels == ["false", "true"] {
                DataType::Boolean
            } else {
                DataType::Utf8
            };
            fields.push(Field::new(&d.name, t, false));
        }
        for m in &self.metrics {
            fields.push(Field::new(&m.name, DataType::Float64, true));
            if m.pre {
                fields.push(Field::new(format!("pre_{}", m.name), DataType::Float64, true));
            }
        }
        Arc::new(Schema::new(fields))
    }

    /// The batches of the table, in order (generated in parallel).
    pub fn batches(&self) -> Vec<RecordBatch> {
        self.batches_of(0..self.experiments.len())
    }

    /// The batches of the experiments `range`, in order (generated in parallel). Each batch
    /// has its own random stream, keyed by (seed, experiment index, batch index).
    pub fn batches_of(&self, range: std::ops::Range<usize>) -> Vec<RecordBatch> {
        let jobs: Vec<(usize, usize, usize)> = range
            .flat_map(|e| {
                let units = self.experiments[e].units;
                (0..units.div_ceil(self.batch_rows)).map(move |b| (e, b, units))
            })
            .collect();
        jobs.par_iter()
            .map(|&(e, b, units)| {
                let start = b * self.batch_rows;
                self.batch(e, b as u64, (units - start).min(self.batch_rows))
            })
            .collect()
    }

    fn batch(&self, e: usize, b: u64, rows: usize) -> RecordBatch {
        let x = &self.experiments[e];
        let key = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (e as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ b.wrapping_mul(0x1656_67B1_9E37_79F9);
        let mut rng = ChaCha8Rng::seed_from_u64(key);
        let cum = |w: &[f64]| {
            let s: f64 = w.iter().sum();
            w.iter()
                .scan(0.0, |acc, v| {
                    *acc += v / s;
                    Some(*acc)
                })
                .collect::<Vec<f64>>()
        };
        let draw = |rng: &mut ChaCha8Rng, c: &[f64]| {
            let u: f64 = rng.random();
            c.iter().position(|&p| u < p).unwrap_or(c.len() - 1)
        };
        let arm_cum = cum(&x.allocation);
        let dim_cum: Vec<Vec<f64>> = self.dimensions.iter().map(|d| cum(&d.weights)).collect();
        let mut arm = Vec::with_capacity(rows);
        let mut levels: Vec<Vec<usize>> = vec![Vec::with_capacity(rows); self.dimensions.len()];
        let mut ys: Vec<Vec<f64>> = vec![Vec::with_capacity(rows); self.metrics.len()];
        let mut xs: Vec<Vec<f64>> = vec![Vec::with_capacity(rows); self.metrics.len()];
        let mut numeric: Vec<Vec<f64>> = vec![Vec::with_capacity(rows); self.dimensions.len()];
        for _ in 0..rows {
            let a = draw(&mut rng, &arm_cum);
            arm.push(a);
            for (d, c) in dim_cum.iter().enumerate() {
                let l = draw(&mut rng, c);
                levels[d].push(l);
                if self.dimensions[d].numeric {
                    let lo: f64 = self.dimensions[d].levels[l].parse().unwrap_or(l as f64);
                    let hi: f64 =
                        self.dimensions[d].levels.get(l + 1).and_then(|s| s.parse().ok()).unwrap_or(lo * 2.0 + 1.0);
                    numeric[d].push(lo + (hi - lo) * rng.random::<f64>());
                }
            }
            let u: f64 = rng.sample(StandardNormal);
            let w = if a > 0 { 1.0 } else { 0.0 };
            for (m, spec) in self.metrics.iter().enumerate() {
                let mut tau = x.effects[m] * (1.0 + 0.5 * (a as f64 - 1.0).max(0.0));
                match &x.heterogeneity[m] {
                    Some(Heterogeneity::ByDimension { dimension, shifts }) => {
                        let l = levels[*dimension].last().copied().unwrap_or(0);
                        tau += shifts.iter().filter(|(lv, _)| *lv == l).map(|(_, s)| s).sum::<f64>();
                    }
                    Some(Heterogeneity::Idiosyncratic { sd }) => tau += sd * rng.sample::<f64, _>(StandardNormal),
                    None => {}
                }
                match spec.kind {
                    MetricKind::Continuous { mean, scale } => {
                        let e1: f64 = rng.sample(StandardNormal);
                        let e2: f64 = rng.sample(StandardNormal);
                        ys[m].push(mean + scale * (u + e1 + w * tau));
                        xs[m].push(mean + scale * (u + 0.5 * e2));
                    }
                    MetricKind::Binary { p } => {
                        let v: f64 = rng.random();
                        let shifted = (p + 0.05 * u + w * tau).clamp(0.0, 1.0);
                        ys[m].push(if v < shifted { 1.0 } else { 0.0 });
                        xs[m].push(0.0);
                    }
                }
            }
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![x.name.as_str(); rows])),
            Arc::new(StringArray::from_iter_values(arm.iter().map(|&a| x.arms[a].as_str()))),
        ];
        for (d, spec) in self.dimensions.iter().enumerate() {
            cols.push(if spec.numeric {
                Arc::new(Float64Array::from(std::mem::take(&mut numeric[d])))
            } else if spec.levels == ["false", "true"] {
                Arc::new(BooleanArray::from(levels[d].iter().map(|&l| l == 1).collect::<Vec<bool>>()))
            } else {
                Arc::new(StringArray::from_iter_values(levels[d].iter().map(|&l| spec.levels[l].as_str())))
            });
        }
        for (m, spec) in self.metrics.iter().enumerate() {
            cols.push(Arc::new(Float64Array::from(std::mem::take(&mut ys[m]))));
            if spec.pre {
                cols.push(Arc::new(Float64Array::from(std::mem::take(&mut xs[m]))));
            }
        }
        RecordBatch::try_new(self.schema(), cols).expect("columns match the schema")
    }
}

/// A sweep for report and scale benchmarks: [`synthetic_spec`] with heterogeneity planted in
/// every third (experiment, metric) pair — an extra effect of 1.0 on the first level of
/// dimension `(experiment + metric) mod dimensions` — so a scan finds a realistic share of
/// flagged pairs.
pub fn sweep_spec(
    experiments: usize,
    units: usize,
    metrics: usize,
    dimensions: usize,
    levels: usize,
    seed: u64,
) -> TableSpec {
    let mut spec = synthetic_spec(experiments, units, metrics, dimensions, levels, seed);
    for (e, experiment) in spec.experiments.iter_mut().enumerate() {
        for (m, slot) in experiment.heterogeneity.iter_mut().enumerate() {
            if (e + m) % 3 == 0 && dimensions > 0 {
                *slot = Some(Heterogeneity::ByDimension { dimension: (e + m) % dimensions, shifts: vec![(0, 1.0)] });
            }
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let mut spec = synthetic_spec(2, 1000, 2, 2, 3, 7);
        spec.batch_rows = 300;
        let a = spec.batches();
        let b = spec.batches();
        assert_eq!(a, b);
        assert_eq!(a.iter().map(|b| b.num_rows()).sum::<usize>(), 2000);
        assert_eq!(a[0].schema(), spec.schema());
    }

    #[test]
    fn experiments_have_their_own_random_streams() {
        let mut spec = synthetic_spec(6, 100, 1, 1, 2, 7);
        spec.batch_rows = 100;
        let b = spec.batches();
        let m0 = |i: usize| b[i].column_by_name("m0").unwrap().clone();
        for i in 0..6 {
            for j in i + 1..6 {
                assert!(m0(i).as_ref() != m0(j).as_ref(), "experiments {i} and {j} share their data");
            }
        }
    }
}
