//! Learners on cluster-randomized data: cross-fitting keeps clusters whole, the AIPW standard
//! error is cluster-robust, and sample weights are honoured (release mode).

use cateye_learners::{estimate_cate_sampled, BaseKind, CateConfig, Learner, Propensity, Sampling};
use cateye_stats::{stream, Z_975};
use rand::RngExt;
use rand_distr::StandardNormal;

/// 100 clusters of 20 units, each cluster treated with probability ½ as a whole; outcome
/// `x2 + u_c + w (1 + x1) + ε` with `u_c, ε ~ N(0, 1)` (an intra-cluster correlation of 0.5
/// in the noise). The average effect is E[1 + x1] = 1.5.
fn cluster_trial(seed: u64) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, Vec<u32>) {
    let mut rng = stream(seed, 11, 0);
    let (clusters, size) = (100u32, 20);
    let (mut x1, mut x2, mut y, mut w, mut ids) = (vec![], vec![], vec![], vec![], vec![]);
    for c in 0..clusters {
        let u: f64 = rng.sample(StandardNormal);
        let treated = f64::from(u8::from(rng.random::<f64>() < 0.5));
        for _ in 0..size {
            let (a, b) = (rng.random::<f64>(), rng.random::<f64>());
            let e: f64 = rng.sample(StandardNormal);
            x1.push(a);
            x2.push(b);
            w.push(treated);
            y.push(b + u + treated * (1.0 + a) + e);
            ids.push(c);
        }
    }
    (vec![x1, x2], y, w, ids)
}

/// Coverage of the true average effect by the AIPW 95% interval over `reps` trials.
fn aipw_coverage(reps: u64, clustered: bool) -> f64 {
    let names = vec!["x1".to_string(), "x2".to_string()];
    let config = CateConfig::default().with(|c| {
        c.method = Learner::Dr;
        c.bases = vec![BaseKind::Linear];
    });
    let covered = (0..reps)
        .filter(|&rep| {
            let (x, y, w, ids) = cluster_trial(rep);
            let sampling = Sampling { weights: None, clusters: clustered.then_some(ids.as_slice()) };
            let report = estimate_cate_sampled(
                x,
                &names,
                &y,
                &w,
                "y",
                "w",
                Propensity::Design,
                sampling,
                &config,
                &cateye_stats::silent,
            )
            .unwrap();
            let arm = &report.arms[0];
            (arm.ate - 1.5).abs() <= Z_975 * arm.ate_se
        })
        .count();
    covered as f64 / reps as f64
}

#[test]
fn aipw_covers_under_cluster_randomization_with_cluster_robust_errors() {
    let clustered = aipw_coverage(400, true);
    let naive = aipw_coverage(100, false);
    eprintln!(
        "AIPW 95% coverage under cluster randomization (ICC 0.5): clustered {clustered:.3}, as if units {naive:.3}"
    );
    assert!((0.93..=0.97).contains(&clustered), "cluster-robust coverage {clustered}");
    assert!(naive < 0.85, "the unit-level SE should undercover: {naive}");
}

#[test]
fn weights_equal_to_row_copies_give_the_copies_estimate() {
    // Weight 2 on a row is the row twice, for the AIPW mean; and weights reach every fit.
    let (x, y, w, ids) = cluster_trial(1);
    let weights: Vec<f64> = (0..y.len()).map(|i| if i % 3 == 0 { 2.0 } else { 1.0 }).collect();
    let names = vec!["x1".to_string(), "x2".to_string()];
    let config = CateConfig::default().with(|c| {
        c.bases = vec![BaseKind::Linear];
    });
    let run = |weights: Option<(&[f64], &str)>, clusters: Option<&[u32]>| {
        let sampling = Sampling { weights, clusters };
        let silent = &cateye_stats::silent;
        estimate_cate_sampled(x.clone(), &names, &y, &w, "y", "w", Propensity::Known(0.5), sampling, &config, silent)
    };
    let weighted = run(Some((&weights, "weights")), Some(&ids)).unwrap();
    let plain = run(None, Some(&ids)).unwrap();
    let arm = &weighted.arms[0];
    let scores = &arm.dr_scores;
    let mean = scores.iter().zip(&weights).map(|(s, w)| s * w).sum::<f64>() / weights.iter().sum::<f64>();
    assert!((arm.ate - mean).abs() < 1e-12, "{} vs {mean}", arm.ate);
    assert!(arm.cate.iter().zip(&plain.arms[0].cate).any(|(a, b)| (a - b).abs() > 1e-9), "weights change the fits");
    let bad: Vec<f64> = weights.iter().map(|w| -w).collect();
    let e = run(Some((&bad, "wt")), None).unwrap_err();
    assert!(e.to_string().contains("wt") && e.to_string().contains(">= 0"), "{e}");
}

#[test]
fn with_clusters_intervals_come_from_the_forest_that_samples_whole_clusters() {
    let (x, y, w, ids) = cluster_trial(2);
    let names = vec!["x1".to_string(), "x2".to_string()];
    for (learner, expected) in [(Learner::Dr, false), (Learner::R, false), (Learner::Forest, true)] {
        let config = CateConfig::default().with(|c| {
            c.method = learner;
            c.trees = 100;
            c.intervals = true;
            c.interval_trees = 200;
        });
        let sampling = Sampling { weights: None, clusters: Some(&ids) };
        let silent = &cateye_stats::silent;
        let report =
            estimate_cate_sampled(x.clone(), &names, &y, &w, "y", "w", Propensity::Design, sampling, &config, silent)
                .unwrap();
        let arm = &report.arms[0];
        assert_eq!(arm.cate_variance.is_some(), expected, "{learner:?}: {}", arm.intervals);
        assert!(arm.intervals.contains("cluster"), "{}", arm.intervals);
    }
}
