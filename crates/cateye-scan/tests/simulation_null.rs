//! Simulation under a global null (constant effects everywhere): false discovery rate of BH,
//! coverage of the ATE intervals, size of the variance-ratio test, SRM alerts and warnings under
//! correct randomization.
//!
//! Statistical simulation: run in release mode (`cargo test --release`); it generates
//! 100 replicates × 50 experiments × 1,000 units with 4 metrics and 10 dimensions, i.e. 2,000
//! dimension tests per replicate.

mod common;

use cateye_scan::ScanConfig;
use cateye_sim::synthetic_spec;
use cateye_stats::{adjust, Correction};
use common::scan_file;

const REPLICATES: u64 = 100;
const TRUE_ATE: f64 = 0.05; // synthetic_spec: effect 0.05 × scale 1

#[test]
fn sim_global_null_fdr_coverage_and_size() {
    let dir = common::temp_dir("sim-null");
    let (mut fdp, mut covered, mut covered_cuped, mut intervals) = (0.0, 0usize, 0usize, 0usize);
    let (mut vr_reject, mut vr_tests) = (0usize, 0usize);
    let (mut srm_alerts, mut srm_warnings, mut experiments) = (0u64, 0u64, 0u64);
    let mut tests_per_replicate = 0;
    for rep in 0..REPLICATES {
        let spec = synthetic_spec(50, 1000, 4, 10, 3, 1000 + rep);
        let path = dir.join(format!("null_{rep}.parquet"));
        common::write_spec(&spec, &path).unwrap();
        let config = ScanConfig::default().with(|c| {
            c.metrics = Some((0..4).map(|m| format!("m{m}")).collect());
            c.dimensions = Some((0..10).map(|d| format!("d{d}")).collect());
        });
        let (_, result) = scan_file(&path, &config, &|_, _| {}).unwrap();
        let p: Vec<f64> = result.dimensions.iter().map(|r| r.test.map_or(f64::NAN, |t| t.p_value)).collect();
        tests_per_replicate = p.iter().filter(|p| !p.is_nan()).count();
        let rejected = adjust(&p, Correction::Bh).iter().filter(|&&q| q <= 0.1).count();
        // Under the global null every discovery is false: FDP = 1{R > 0}.
        fdp += if rejected > 0 { 1.0 } else { 0.0 };
        for e in &result.effects {
            intervals += 1;
            covered += usize::from(e.ate.ci_low <= TRUE_ATE && TRUE_ATE <= e.ate.ci_high);
            let c = e.cuped.as_ref().unwrap().ate;
            covered_cuped += usize::from(c.ci_low <= TRUE_ATE && TRUE_ATE <= c.ci_high);
        }
        for d in result.detection.iter().filter_map(|d| d.test) {
            vr_tests += 1;
            vr_reject += usize::from(d.p_value <= 0.05);
        }
        for r in &result.srm {
            experiments += 1;
            srm_alerts += u64::from(r.mismatch);
            srm_warnings += u64::from(r.warning);
        }
        let _ = std::fs::remove_file(&path);
    }
    assert!(tests_per_replicate >= 2000, "{tests_per_replicate} tests per replicate");
    let fdr = fdp / REPLICATES as f64;
    let coverage = covered as f64 / intervals as f64;
    let coverage_cuped = covered_cuped as f64 / intervals as f64;
    let size = vr_reject as f64 / vr_tests as f64;
    eprintln!("realized FDR {fdr:.3}, ATE coverage {coverage:.4} (CUPED {coverage_cuped:.4}) over {intervals}, variance-ratio size {size:.4} over {vr_tests}");
    // Under a global null of independent tests BH's FDR is exactly q (Benjamini & Hochberg
    // 1995, theorem 1 with m0 = m), so "at most 0.1 on average" can only be checked up to
    // Monte Carlo error: the replicate count of false discoveries must not be significantly
    // (one-sided binomial, 1%) above 0.1 × replicates.
    let count = (fdr * REPLICATES as f64).round() as u64;
    let upper_tail = binomial_upper_tail(REPLICATES, 0.1, count);
    assert!(upper_tail > 0.01, "realized FDR of BH at 0.1: {fdr} (P(X >= {count}) = {upper_tail})");
    assert!((0.93..=0.97).contains(&coverage), "ATE coverage {coverage}");
    assert!((0.93..=0.97).contains(&coverage_cuped), "CUPED ATE coverage {coverage_cuped}");
    assert!(size <= 0.07, "variance-ratio size {size}");
    // SRM under correct randomization: alerts at p ≤ 0.001 in at most 0.1% of experiments (up to
    // Monte Carlo error), warnings (0.001 < p ≤ 0.05) in about 5%.
    eprintln!("SRM over {experiments} experiments: {srm_alerts} alerts, {srm_warnings} warnings");
    let tail = binomial_upper_tail(experiments, 0.001, srm_alerts);
    assert!(tail > 0.01, "{srm_alerts} SRM alerts of {experiments}: P(X >= k | 0.1%) = {tail}");
    let warning_rate = srm_warnings as f64 / experiments as f64;
    assert!((0.035..=0.065).contains(&warning_rate), "SRM warnings in {warning_rate} of experiments");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `P(X ≥ k)` for `X ~ Binomial(n, p)`.
fn binomial_upper_tail(n: u64, p: f64, k: u64) -> f64 {
    let mut pmf = (1.0 - p).powi(n as i32); // P(X = 0)
    let mut below = 0.0;
    for j in 0..k {
        below += pmf;
        pmf *= (n - j) as f64 / (j + 1) as f64 * p / (1.0 - p);
    }
    (1.0 - below).max(0.0)
}

#[test]
fn binomial_tail_matches_r() {
    // R: pbinom(17, 100, 0.1, lower.tail = FALSE) = 0.0100073
    assert!((binomial_upper_tail(100, 0.1, 18) - 0.010_007_279).abs() < 1e-8);
    assert_eq!(binomial_upper_tail(10, 0.3, 0), 1.0);
}
