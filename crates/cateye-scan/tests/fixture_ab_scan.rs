//! The tier-1 scan on the shared A/B fixture: planted heterogeneity found, SRM flagged, false
//! discoveries within the FDR, and effects equal to a direct computation from the rows.

mod common;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float64Type;
use cateye_scan::ScanConfig;
use common::scan_file;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use std::collections::BTreeMap;

use cateye_testkit::{AB_DIMENSIONS as DIMS, AB_METRICS as METRICS};

fn config() -> ScanConfig {
    ScanConfig::default().with(|c| {
        c.metrics = Some(METRICS.iter().map(|s| s.to_string()).collect());
        c.dimensions = Some(DIMS.iter().map(|s| s.to_string()).collect());
    })
}

#[test]
fn planted_heterogeneity_and_srm_are_found_within_the_fdr() {
    let Some(path) = common::fixture("ab_scan_12x8000.parquet") else { return };
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(path.with_file_name("ab_scan_12x8000.truth.json")).unwrap())
            .unwrap();
    let (_, result) = scan_file(&path, &config(), &|_, _| {}).unwrap();
    let exp_name = |i: u64| format!("exp{i:04}");

    // Listed (experiment, metric) pairs have heterogeneity; every other pair is constant.
    let mut listed = Vec::new();
    let mut planted = Vec::new();
    for p in truth["planted"].as_array().unwrap() {
        let (e, m) = (exp_name(p[1].as_u64().unwrap()), format!("m{}", p[2].as_u64().unwrap()));
        listed.push((e.clone(), m.clone()));
        if p[0] == "dim" {
            let levels: Vec<String> = p[4].as_object().unwrap().keys().cloned().collect();
            planted.push((e, m, p[3].as_str().unwrap().to_string(), levels));
        }
    }
    assert_eq!(planted.len(), 3);
    for (e, m, d, levels) in &planted {
        let row = result
            .dimensions
            .iter()
            .find(|r| &r.experiment == e && &r.metric == m && &r.dimension == d)
            .expect("planted triple scanned");
        assert!(row.flagged && row.q_value < 0.05, "{e}/{m}/{d} not flagged: q = {}", row.q_value);
        assert_eq!(row.rank, 1, "{e}/{m}: the planted dimension {d} should explain the most variance");
        let finding = result
            .findings
            .iter()
            .find(|f| &f.experiment == e && &f.metric == m && f.dimension.as_deref() == Some(d))
            .unwrap();
        assert!(
            levels.iter().all(|l| finding.levels.iter().any(|x| &x.level == l)),
            "{e}/{m}/{d}: planted levels {levels:?} not reported"
        );
    }

    let srm: Vec<&str> = truth["srm"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    // The planted mismatch is mild (p ≈ 0.02): a warning at the default thresholds (alert at
    // p ≤ 0.001, warning at p ≤ 0.05), as platforms report it; no experiment alerts.
    for r in &result.srm {
        assert!(!r.mismatch, "SRM alert for {}: p = {:?}", r.experiment, r.test);
        if srm.contains(&r.experiment.as_str()) {
            assert!(r.warning, "SRM warning for {}: p = {:?}", r.experiment, r.test);
        }
    }
    let warned: Vec<&str> = result.srm.iter().filter(|r| r.warning).map(|r| r.experiment.as_str()).collect();
    assert_eq!(warned, srm, "only the planted mismatch warns");

    let discoveries = result.dimensions.iter().filter(|r| r.flagged).count();
    let false_discoveries = result
        .dimensions
        .iter()
        .filter(|r| r.flagged && !listed.contains(&(r.experiment.clone(), r.metric.clone())))
        .count();
    let null_triples =
        result.dimensions.iter().filter(|r| !listed.contains(&(r.experiment.clone(), r.metric.clone()))).count();
    assert_eq!(null_triples, 12 * 3 * 4 - 4 * 4);
    let allowed = (0.05 * discoveries as f64).ceil() as usize;
    assert!(
        false_discoveries <= allowed,
        "{false_discoveries} constant-effect triples flagged among {discoveries} discoveries"
    );

    // The latent heterogeneity of exp0007/m2 is detected without a breakdown.
    let latent = result.detection.iter().find(|r| r.experiment == "exp0007" && r.metric == "m2").unwrap();
    assert!(latent.q_value < 0.05, "latent heterogeneity not detected: {latent:?}");
}

/// (experiment, metric, variant) → (values, pre-period values).
type Cells = BTreeMap<(String, String, String), (Vec<f64>, Vec<f64>)>;

/// Values and pre-period values per cell, read straight from the file.
fn rows_by_cell(path: &std::path::Path) -> Cells {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap().build().unwrap();
    let mut out = Cells::new();
    for b in reader {
        let b = b.unwrap();
        let s = |n: &str| b.column_by_name(n).unwrap().as_string::<i64>().clone();
        let (exp, var) = (s("experiment"), s("variant"));
        for m in METRICS {
            let y = b.column_by_name(m).unwrap().as_primitive::<Float64Type>().clone();
            let x = b.column_by_name(&format!("pre_{m}")).unwrap().as_primitive::<Float64Type>().clone();
            for i in 0..b.num_rows() {
                if y.is_null(i) {
                    continue;
                }
                let cell = out.entry((exp.value(i).to_string(), m.to_string(), var.value(i).to_string())).or_default();
                cell.0.push(y.value(i));
                cell.1.push(x.value(i));
            }
        }
    }
    out
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn cov(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (a.len() as f64 - 1.0)
}

#[test]
fn effects_equal_the_closed_form_from_the_rows() {
    let Some(path) = common::fixture("ab_scan_12x8000.parquet") else { return };
    let (_, result) = scan_file(&path, &config(), &|_, _| {}).unwrap();
    let cells = rows_by_cell(&path);
    assert_eq!(result.effects.len(), 12 * 3);
    for r in &result.effects {
        let (yt, xt) = &cells[&(r.experiment.clone(), r.metric.clone(), r.arm.clone())];
        let (yc, xc) = &cells[&(r.experiment.clone(), r.metric.clone(), r.control.clone())];
        let ate = mean(yt) - mean(yc);
        let se = (cov(yt, yt) / yt.len() as f64 + cov(yc, yc) / yc.len() as f64).sqrt();
        assert!(
            common::rel(r.ate.estimate, ate, se) < 1e-9,
            "{}/{}: ATE {} vs {}",
            r.experiment,
            r.metric,
            r.ate.estimate,
            ate
        );
        assert!(common::rel(r.ate.se, se, 0.0) < 1e-9, "{}/{}: SE {} vs {}", r.experiment, r.metric, r.ate.se, se);

        // CUPED: θ pooled within arms, residual variances per arm.
        let c = r.cuped.as_ref().expect("pre-period column present");
        let theta = (cov(yt, xt) * (yt.len() as f64 - 1.0) + cov(yc, xc) * (yc.len() as f64 - 1.0))
            / (cov(xt, xt) * (xt.len() as f64 - 1.0) + cov(xc, xc) * (xc.len() as f64 - 1.0));
        assert!(common::rel(c.theta, theta, 0.0) < 1e-9);
        let resid = |y: &[f64], x: &[f64]| y.iter().zip(x).map(|(a, b)| a - theta * b).collect::<Vec<f64>>();
        let (rt, rc) = (resid(yt, xt), resid(yc, xc));
        let cate = mean(&rt) - mean(&rc);
        let cse = (cov(&rt, &rt) / rt.len() as f64 + cov(&rc, &rc) / rc.len() as f64).sqrt();
        assert!(common::rel(c.ate.estimate, cate, cse) < 1e-9);
        assert!(common::rel(c.ate.se, cse, 0.0) < 1e-9);
        assert!(c.ate.se < r.ate.se, "CUPED must reduce the variance here");
    }
}
