//! Mergeable sufficient statistics: random partitions of the same rows, aggregated separately
//! and merged in any order, give the statistics of the whole to 1e-12 relative, including for
//! a metric whose mean is 1e9 and whose standard deviation is 1e-3.

mod common;

use arrow::array::UInt32Array;
use arrow::compute::{concat_batches, take_record_batch};
use cateye_io::Source;
use cateye_scan::{collect, ScanConfig, SuffStats};
use cateye_sim::{synthetic_spec, MetricKind};
use cateye_stats::Moments;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

const TOL: f64 = 1e-12;

fn stats_of(path: &Path, config: &ScanConfig) -> SuffStats {
    collect(&Source::open(path).unwrap(), config, &|_, _| {}).unwrap()
}

fn assert_moments_close(a: &Moments, b: &Moments, what: &str) {
    assert_eq!(a.n, b.n, "{what}: n");
    if a.n == 0.0 {
        return;
    }
    let sd_y = (a.m2_y / a.n).sqrt();
    let checks = [
        ("mean_y", common::rel(a.y_mean(), b.y_mean(), 0.0)),
        // The mean is also compared on the scale of its spread, in the shifted frame (the
        // difference of shifts is exact): that is where a merge without shifts loses digits,
        // and where a mean of 1e9 stored as one double could not be compared at all.
        ("mean_y (in sd units)", ((a.shift_y - b.shift_y) + (a.mean_y - b.mean_y)).abs() / sd_y.max(f64::MIN_POSITIVE)),
        ("mean_x", common::rel(a.x_mean(), b.x_mean(), 0.0)),
        ("m2_y", common::rel(a.m2_y, b.m2_y, 0.0)),
        ("m3_y", common::rel(a.m3_y, b.m3_y, a.m2_y.powf(1.5) / a.n.sqrt())),
        ("m4_y", common::rel(a.m4_y, b.m4_y, 0.0)),
        ("m2_x", common::rel(a.m2_x, b.m2_x, 0.0)),
        ("c_xy", common::rel(a.c_xy, b.c_xy, (a.m2_x * a.m2_y).sqrt())),
    ];
    for (name, r) in checks {
        assert!(r <= TOL, "{what}: {name} differs by {r:e} relative ({a:?} vs {b:?})");
    }
}

fn assert_stats_close(a: &SuffStats, b: &SuffStats) {
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.dimensions, b.dimensions);
    assert_eq!(a.experiments.len(), b.experiments.len());
    for (ea, eb) in a.experiments.iter().zip(&b.experiments) {
        assert_eq!(ea.name, eb.name);
        assert_eq!(ea.arms, eb.arms);
        assert_eq!(ea.units, eb.units);
        assert_eq!(ea.level_units, eb.level_units);
        for (m, (ma, mb)) in ea.metrics.iter().zip(&eb.metrics).enumerate() {
            assert_eq!(ma.missing, mb.missing);
            for arm in 0..ea.arms.len() {
                let what = format!("{} metric {m} arm {arm} overall", ea.name);
                assert_moments_close(&ma.overall[arm].marginal(), &mb.overall[arm].marginal(), &what);
                let (ja, jb) = (&ma.overall[arm], &mb.overall[arm]);
                let (r2a, r4a) = ja.residual_m2_m4(0.7);
                let (r2b, r4b) = jb.residual_m2_m4(0.7);
                assert!(
                    common::rel(r2a, r2b, 0.0) <= TOL && common::rel(r4a, r4b, 0.0) <= TOL,
                    "{what}: residual moments"
                );
                for (d, (la, lb)) in ma.levels.iter().zip(&mb.levels).enumerate() {
                    for (l, (ca, cb)) in la.iter().zip(lb).enumerate() {
                        assert_moments_close(
                            &ca[arm],
                            &cb[arm],
                            &format!("{} metric {m} dim {d} level {l} arm {arm}", ea.name),
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn random_partitions_merged_in_any_order_equal_the_whole() {
    let dir = common::temp_dir("merge");
    let mut spec = synthetic_spec(3, 3000, 3, 3, 4, 42);
    spec.metrics[0].kind = MetricKind::Continuous { mean: 1e9, scale: 1e-3 };
    spec.metrics[1].kind = MetricKind::Continuous { mean: -5e4, scale: 30.0 };
    spec.experiments[2].arms = vec!["control".into(), "a".into(), "b".into()];
    spec.experiments[2].allocation = vec![0.4, 0.3, 0.3];
    spec.batch_rows = 1000;
    let batches = spec.batches();
    let all = concat_batches(&spec.schema(), &batches).unwrap();
    let config = ScanConfig::default().with(|c| c.batch_rows = 700);
    let whole_path = dir.join("whole.parquet");
    common::write_parquet(&whole_path, &all);
    let whole = stats_of(&whole_path, &config);
    assert_eq!(whole.metrics.len(), 3, "metrics m0..m2 found by default");

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for parts in [2usize, 3, 7] {
        let mut idx: Vec<Vec<u32>> = vec![Vec::new(); parts];
        for row in 0..all.num_rows() as u32 {
            idx[rng.random_range(0..parts)].push(row);
        }
        let mut stats: Vec<SuffStats> = idx
            .iter()
            .enumerate()
            .map(|(k, rows)| {
                let part = take_record_batch(&all, &UInt32Array::from(rows.clone())).unwrap();
                let p = dir.join(format!("part{parts}_{k}.parquet"));
                common::write_parquet(&p, &part);
                stats_of(&p, &config)
            })
            .collect();
        for _ in 0..3 {
            stats.shuffle(&mut rng);
            let mut merged = stats[0].clone();
            for s in &stats[1..] {
                merged.merge(s).unwrap();
            }
            assert_stats_close(&merged, &whole);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merging_statistics_of_different_layouts_is_an_error() {
    let dir = common::temp_dir("merge-err");
    let spec = synthetic_spec(1, 500, 2, 1, 2, 1);
    let p = dir.join("a.parquet");
    common::write_spec(&spec, &p).unwrap();
    let a = stats_of(&p, &ScanConfig::default());
    let b = stats_of(&p, &ScanConfig::default().with(|c| c.metrics = Some(vec!["m0".into()])));
    let mut c = a.clone();
    assert!(c.merge(&b).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
