//! Rules of the scan on small hand-made tables: SRM with a missing planned arm, two-valued
//! metrics, pooling on valued units of the compared arms.

mod common;

use cateye_scan::ScanConfig;
use common::scan_file;
use std::fmt::Write;

/// A CSV with `n` units per arm and level; `value(arm, level, i)` gives the metric (None = missing).
fn table(arms: &[&str], levels: &[(&str, usize)], value: impl Fn(usize, usize, usize) -> Option<f64>) -> String {
    let mut s = String::from("experiment,variant,country,y\n");
    for (a, arm) in arms.iter().enumerate() {
        for (l, (level, n)) in levels.iter().enumerate() {
            for i in 0..*n {
                let v = value(a, l, i).map_or(String::new(), |v| v.to_string());
                writeln!(s, "e,{arm},{level},{v}").unwrap();
            }
        }
    }
    s
}

fn noise(a: usize, l: usize, i: usize) -> f64 {
    (((i * 7919 + l * 104_729 + a * 1_299_709) % 1000) as f64) / 100.0
}

#[test]
fn a_planned_arm_without_units_is_a_mismatch() {
    let dir = common::temp_dir("rules-srm");
    let p = dir.join("t.csv");
    std::fs::write(&p, table(&["control", "a"], &[("US", 300)], |a, l, i| Some(noise(a, l, i)))).unwrap();
    let mut cfg = ScanConfig::default();
    for arm in ["control", "a", "b"] {
        cfg.split.insert(arm.into(), 1.0);
    }
    let (_, r) = scan_file(&p, &cfg, &|_, _| {}).unwrap();
    let srm = &r.srm[0];
    assert_eq!(srm.arms, ["control", "a", "b"]);
    assert_eq!(srm.units, [300.0, 300.0, 0.0]);
    assert!(srm.mismatch && srm.test.as_ref().unwrap().p_value < 1e-30);
}

#[test]
fn two_valued_metrics_are_uninformative_for_detection() {
    let dir = common::temp_dir("rules-two");
    let p = dir.join("t.csv");
    // Values 0 or 5 with different rates: the variances differ only because the means do.
    let two = |a: usize, _l: usize, i: usize| Some(if i % 10 < 3 + 3 * a { 5.0 } else { 0.0 });
    std::fs::write(&p, table(&["control", "t"], &[("US", 400), ("DE", 400)], two)).unwrap();
    // Integer-valued in the CSV, so not a metric by default: name it.
    let cfg = ScanConfig::default().with(|c| c.metrics = Some(vec!["y".into()]));
    let (_, r) = scan_file(&p, &cfg, &|_, _| {}).unwrap();
    assert_eq!(r.detection[0].status, "uninformative_two_valued");
    assert!(r.detection[0].test.is_none());
    assert!(!r.effects[0].binary, "0/5 is two-valued, not binary");
    // A continuous metric is tested.
    std::fs::write(&p, table(&["control", "t"], &[("US", 400), ("DE", 400)], |a, l, i| Some(noise(a, l, i)))).unwrap();
    let (_, r) = scan_file(&p, &ScanConfig::default(), &|_, _| {}).unwrap();
    assert_eq!(r.detection[0].status, "tested");
}

#[test]
fn pooling_uses_valued_units_of_the_compared_arms() {
    let dir = common::temp_dir("rules-pool");
    let p = dir.join("t.csv");
    // DE has 150 rows per arm but only 20 values in arm a; arm b is small in FR only.
    let levels = [("US", 300), ("DE", 150), ("FR", 150)];
    let mut text =
        table(
            &["control", "a"],
            &levels,
            |a, l, i| if a == 1 && l == 1 && i >= 20 { None } else { Some(noise(a, l, i)) },
        );
    text.push_str(&table(&["b"], &[("US", 300), ("DE", 150), ("FR", 50)], |_, l, i| Some(noise(2, l, i))).replacen(
        "experiment,variant,country,y\n",
        "",
        1,
    ));
    std::fs::write(&p, text).unwrap();
    let (_, r) = scan_file(&p, &ScanConfig::default(), &|_, _| {}).unwrap();
    let row = |arm: &str| r.dimensions.iter().find(|d| d.arm == arm).unwrap();
    assert_eq!(row("a").pooled, ["DE"], "DE has only 20 valued units in arm a");
    assert_eq!(row("b").pooled, ["FR"], "arm b's small FR does not pool FR for arm a");
    assert_eq!(r.effects.iter().find(|e| e.arm == "a").unwrap().missing, [130.0, 0.0]);
}

/// An experiment of 20,000 units split `control`/`treatment` units, planned 50/50.
fn srm_of(control: usize, treatment: usize) -> cateye_scan::SrmRow {
    let dir = common::temp_dir(&format!("rules-srm-{control}"));
    let p = dir.join("t.csv");
    let mut s = String::from("experiment,variant,country,y\n");
    for (arm, n) in [("control", control), ("treatment", treatment)] {
        for i in 0..n {
            writeln!(s, "e,{arm},{},{}", if i % 2 == 0 { "US" } else { "DE" }, noise(0, 0, i)).unwrap();
        }
    }
    std::fs::write(&p, s).unwrap();
    let (_, r) = scan_file(&p, &ScanConfig::default(), &|_, _| {}).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    r.srm[0].clone()
}

#[test]
fn srm_alerts_at_platform_strength_and_warns_below_it() {
    // 52% / 48%: χ² = 32, p ≈ 1.5e-8: an alert.
    let r = srm_of(10_400, 9_600);
    assert!(r.mismatch && !r.warning, "{r:?}");
    // 51% / 49%: χ² = 8, p ≈ 0.0047: a warning, not an alert.
    let r = srm_of(10_200, 9_800);
    let p = r.test.as_ref().unwrap().p_value;
    assert!((p - 0.004677735).abs() < 1e-8, "p = {p}");
    assert!(!r.mismatch && r.warning, "{r:?}");
    // 50.2% / 49.8%: p ≈ 0.57: neither.
    let r = srm_of(10_040, 9_960);
    assert!(!r.mismatch && !r.warning, "{r:?}");
}

#[test]
fn the_srm_thresholds_are_checked() {
    let config = |alpha: f64, warning: f64| {
        ScanConfig::default().with(|c| {
            c.srm_alpha = alpha;
            c.srm_warning = warning;
        })
    };
    assert!(config(0.001, 0.05).validate("command line").is_ok());
    let e = config(0.01, 0.001).validate("command line").unwrap_err().to_string();
    assert!(e.contains("--srm-warning 0.001") && e.contains("at least --srm-alpha (0.01)"), "{e}");
    let e = config(0.001, 1.5).validate("command line").unwrap_err().to_string();
    assert!(e.contains("--srm-warning 1.5") && e.contains("(0, 1)"), "{e}");
}
