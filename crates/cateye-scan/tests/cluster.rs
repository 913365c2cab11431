//! Cluster-randomized experiments: with the cluster column given, the ATE intervals are
//! cluster-robust (CR1) and cover; without it they are too narrow. Statistical simulation: run
//! in release mode.

mod common;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use cateye_scan::ScanConfig;
use common::scan_file;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::sync::Arc;

const EXPERIMENTS: usize = 1000;
const CLUSTERS: usize = 40;
const CLUSTER_SIZE: usize = 8;
const TRUE_ATE: f64 = 0.2;

/// Rows of `EXPERIMENTS` experiments, each randomizing `CLUSTERS` clusters of `CLUSTER_SIZE`
/// units; the outcome has a cluster effect of SD 1 (intra-cluster correlation 0.5).
fn write_table(path: &std::path::Path) {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let (mut exp, mut variant, mut cluster, mut y, mut pre) = (vec![], vec![], vec![], vec![], vec![]);
    for e in 0..EXPERIMENTS {
        for c in 0..CLUSTERS {
            let treated = rng.random::<f64>() < 0.5;
            let u: f64 = rng.sample(StandardNormal);
            for _ in 0..CLUSTER_SIZE {
                let noise: f64 = rng.sample(StandardNormal);
                let pre_noise: f64 = rng.sample(StandardNormal);
                exp.push(format!("e{e:04}"));
                variant.push(if treated { "treatment" } else { "control" });
                cluster.push(format!("c{c}"));
                y.push(1.0 + u + noise + if treated { TRUE_ATE } else { 0.0 });
                pre.push(u + pre_noise);
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("experiment", DataType::Utf8, false),
        Field::new("variant", DataType::Utf8, false),
        Field::new("household", DataType::Utf8, false),
        Field::new("y", DataType::Float64, false),
        Field::new("pre_y", DataType::Float64, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(exp)),
        Arc::new(StringArray::from(variant)),
        Arc::new(StringArray::from(cluster)),
        Arc::new(Float64Array::from(y)),
        Arc::new(Float64Array::from(pre)),
    ];
    common::write_parquet(path, &RecordBatch::try_new(schema, cols).unwrap());
}

#[test]
fn sim_cluster_robust_intervals_cover_and_naive_ones_do_not() {
    let dir = common::temp_dir("cluster");
    let path = dir.join("clustered.parquet");
    write_table(&path);
    let base = ScanConfig::default().with(|c| {
        c.metrics = Some(vec!["y".into()]);
        c.dimensions = Some(vec![]);
    });
    let coverage = |config: &ScanConfig| {
        let (_, r) = scan_file(&path, config, &|_, _| {}).unwrap();
        let n = r.effects.len() as f64;
        let raw = r.effects.iter().filter(|e| e.ate.ci_low <= TRUE_ATE && TRUE_ATE <= e.ate.ci_high).count() as f64 / n;
        let cuped = r
            .effects
            .iter()
            .map(|e| e.cuped.as_ref().unwrap().ate)
            .filter(|a| a.ci_low <= TRUE_ATE && TRUE_ATE <= a.ci_high)
            .count() as f64
            / n;
        (raw, cuped, r)
    };
    let (naive, naive_cuped, _) = coverage(&base);
    let (robust, robust_cuped, r) = coverage(&base.clone().with(|c| c.cluster = Some("household".into())));
    eprintln!(
        "coverage: naive {naive:.3} (CUPED {naive_cuped:.3}), cluster-robust {robust:.3} (CUPED {robust_cuped:.3})"
    );
    assert!(r
        .effects
        .iter()
        .all(|e| e.cluster_robust && e.clusters.unwrap()[0] + e.clusters.unwrap()[1] == CLUSTERS as f64));
    assert!(r.input.warnings.iter().any(|w| w.contains("cluster-robust (CR1)")));
    assert!((0.93..=0.97).contains(&robust), "cluster-robust coverage {robust}");
    assert!((0.93..=0.97).contains(&robust_cuped), "cluster-robust CUPED coverage {robust_cuped}");
    assert!(naive < 0.85, "naive coverage {naive} should suffer from the intra-cluster correlation");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cluster_robust_se_equals_the_direct_formula() {
    let dir = common::temp_dir("cluster-direct");
    let path = dir.join("t.csv");
    // Two arms, clusters of different sizes.
    let rows = [
        ("control", "a", 1.0),
        ("control", "a", 2.0),
        ("control", "b", 0.5),
        ("control", "c", 3.0),
        ("control", "c", 2.5),
        ("control", "c", 1.5),
        ("treatment", "d", 2.0),
        ("treatment", "d", 4.0),
        ("treatment", "e", 3.5),
        ("treatment", "f", 1.0),
        ("treatment", "f", 2.2),
    ];
    let mut text = String::from("experiment,variant,hh,y\n");
    for (v, c, y) in rows {
        text.push_str(&format!("e,{v},{c},{y:.1}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let config = ScanConfig::default().with(|c| {
        c.cluster = Some("hh".into());
        c.metrics = Some(vec!["y".into()]);
        c.min_units_per_arm = 1;
    });
    let (_, r) = scan_file(&path, &config, &|_, _| {}).unwrap();
    let cr1 = |arm: &str| {
        let ys: Vec<(&str, f64)> = rows.iter().filter(|r| r.0 == arm).map(|r| (r.1, r.2)).collect();
        let n = ys.len() as f64;
        let mean = ys.iter().map(|v| v.1).sum::<f64>() / n;
        let mut ids: Vec<&str> = ys.iter().map(|v| v.0).collect();
        ids.dedup();
        let g = ids.len() as f64;
        let s: f64 =
            ids.iter().map(|id| ys.iter().filter(|v| v.0 == *id).map(|v| v.1 - mean).sum::<f64>().powi(2)).sum();
        g / (g - 1.0) * s / (n * n)
    };
    let se = (cr1("treatment") + cr1("control")).sqrt();
    let e = &r.effects[0];
    assert!(common::rel(e.ate.se, se, 0.0) < 1e-9, "{} vs {se}", e.ate.se);
    assert_eq!(e.ate.df, 4.0, "G_t + G_c − 2 degrees of freedom");
    let _ = std::fs::remove_dir_all(&dir);
}
