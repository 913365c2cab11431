//! The scan from a table of sufficient statistics equals the scan from the rows: exported and
//! re-read statistics, and partial aggregates emitted separately and merged on reading.

mod common;

use arrow::compute::concat_batches;
use cateye_io::Source;
use cateye_scan::{scan_source, scan_stats_source, stats_table};
use cateye_scan::{ScanConfig, ScanResult};
use cateye_sim::synthetic_spec;
use common::write_stats_table;
use common::{scan_file, scan_stats_file};

fn assert_same_scan(a: &ScanResult, b: &ScanResult, tol: f64) {
    assert_eq!(a.effects.len(), b.effects.len());
    for (x, y) in a.effects.iter().zip(&b.effects) {
        assert_eq!((&x.experiment, &x.metric, &x.arm, x.n), (&y.experiment, &y.metric, &y.arm, y.n));
        for (u, v) in [(x.ate.estimate, y.ate.estimate), (x.ate.se, y.ate.se), (x.q_value, y.q_value)] {
            assert!(common::rel(u, v, x.ate.se) <= tol, "{u} vs {v}");
        }
        let (cx, cy) = (x.cuped.as_ref().unwrap(), y.cuped.as_ref().unwrap());
        assert!(common::rel(cx.ate.estimate, cy.ate.estimate, cx.ate.se) <= tol);
        assert!(common::rel(cx.theta, cy.theta, 0.0) <= tol);
    }
    assert_eq!(a.dimensions.len(), b.dimensions.len());
    for (x, y) in a.dimensions.iter().zip(&b.dimensions) {
        assert_eq!((&x.dimension, &x.pooled, x.rank, x.flagged), (&y.dimension, &y.pooled, y.rank, y.flagged));
        let (tx, ty) = (x.test.unwrap(), y.test.unwrap());
        assert!(common::rel(tx.q, ty.q, 0.0) <= tol && common::rel(tx.p_value, ty.p_value, 0.0) <= tol);
    }
    for (x, y) in a.detection.iter().zip(&b.detection) {
        assert_eq!(x.on, y.on);
        assert!(common::rel(x.test.unwrap().p_value, y.test.unwrap().p_value, 0.0) <= tol);
    }
    for (x, y) in a.srm.iter().zip(&b.srm) {
        assert_eq!(x.units, y.units);
    }
}

#[test]
fn exported_statistics_scan_like_the_rows() {
    let dir = common::temp_dir("stats-table");
    let mut spec = synthetic_spec(4, 3000, 2, 3, 3, 5);
    spec.experiments[1].arms = vec!["control".into(), "a".into(), "b".into()];
    spec.experiments[1].allocation = vec![0.4, 0.3, 0.3];
    let rows = dir.join("rows.parquet");
    common::write_spec(&spec, &rows).unwrap();
    let config = ScanConfig::default();
    let (stats, direct) = scan_file(&rows, &config, &|_, _| {}).unwrap();
    for name in ["stats.csv", "stats.parquet"] {
        let p = dir.join(name);
        write_stats_table(&stats, &p).unwrap();
        let (_, from_table) = scan_stats_file(&p, &config).unwrap();
        assert_same_scan(&direct, &from_table, 1e-9);
    }
}

#[test]
fn statistics_tables_go_to_and_from_record_batches() {
    // Partition → statistics as a record batch → read back from memory: no file in between, as
    // a Spark job hands the batches over.
    let spec = synthetic_spec(3, 3000, 2, 2, 3, 8);
    let config = ScanConfig::default();
    let rows = Source::from_batches(spec.batches()).unwrap();
    let (stats, direct) = scan_source(&rows, &config, &|_, _| {}).unwrap();
    let table = Source::from_batches(vec![stats_table(&stats)]).unwrap();
    let (read, from_table) = scan_stats_source(&table, &config).unwrap();
    assert_same_scan(&direct, &from_table, 1e-9);
    assert_eq!(read.experiments.len(), stats.experiments.len());
    assert_eq!(stats_table(&read).num_rows(), stats_table(&stats).num_rows());
}

#[test]
fn partial_aggregates_merge_on_reading() {
    let dir = common::temp_dir("stats-partial");
    let spec = synthetic_spec(3, 4000, 2, 2, 4, 9);
    let all = concat_batches(&spec.schema(), &spec.batches()).unwrap();
    let half = all.num_rows() / 2 + 17;
    let config = ScanConfig::default();
    let mut tables = Vec::new();
    for (k, part) in [all.slice(0, half), all.slice(half, all.num_rows() - half)].iter().enumerate() {
        let p = dir.join(format!("part{k}.parquet"));
        common::write_parquet(&p, part);
        let (stats, _) = scan_file(&p, &config, &|_, _| {}).unwrap();
        tables.push(stats_table(&stats));
    }
    let merged = dir.join("merged.parquet");
    common::write_parquet(&merged, &concat_batches(&tables[0].schema(), &tables).unwrap());
    let whole = dir.join("whole.parquet");
    common::write_parquet(&whole, &all);
    let (_, direct) = scan_file(&whole, &config, &|_, _| {}).unwrap();
    let (_, from_parts) = scan_stats_file(&merged, &config).unwrap();
    assert_same_scan(&direct, &from_parts, 1e-9);
}

#[test]
fn a_table_without_required_columns_is_refused_by_name() {
    let dir = common::temp_dir("stats-bad");
    let p = dir.join("s.csv");
    std::fs::write(&p, "experiment,metric,variant,units,n,sum_y\ne,m,control,3,3,1.0\n").unwrap();
    let err = scan_stats_file(&p, &ScanConfig::default()).unwrap_err().to_string();
    assert!(err.contains("s.csv") && err.contains("'sum_y2'"), "{err}");
}

/// A two-arm statistics table (CSV text) whose cells are edited by `edit(row, fields)`; the
/// whole-arm rows come first, then the levels of dimension `d`.
fn table_csv(edit: impl Fn(usize, &mut Vec<String>)) -> String {
    let header = "experiment,metric,dimension,level,variant,units,n,sum_y,sum_y2,sum_y3,sum_y4,sum_x,sum_x2,sum_xy";
    let rows = [
        "e,m,,,control,10,10,5,9,3,20,0,0,0",
        "e,m,,,treatment,10,9,6,10,4,22,0,0,0",
        "e,m,d,a,control,6,6,3,5,1,10,0,0,0",
        "e,m,d,b,control,4,4,2,4,2,10,0,0,0",
        "e,m,d,a,treatment,5,5,3,5,2,11,0,0,0",
        "e,m,d,b,treatment,5,4,3,5,2,11,0,0,0",
    ];
    let mut out = format!("{header}\n");
    for (i, r) in rows.iter().enumerate() {
        let mut fields: Vec<String> = r.split(',').map(str::to_string).collect();
        edit(i, &mut fields);
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[test]
fn malformed_statistics_tables_are_refused_naming_the_row() {
    let dir = common::temp_dir("stats-malformed");
    let p = dir.join("stats.csv");
    let error = |text: String| {
        std::fs::write(&p, text).unwrap();
        scan_stats_file(&p, &ScanConfig::default()).err().map(|e| e.to_string())
    };
    assert_eq!(error(table_csv(|_, _| {})), None, "the well-formed table scans");
    // Column 7 is sum_y, 5 units, 6 n.
    type Edit = Box<dyn Fn(usize, &mut Vec<String>)>;
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        (
            "a null sum (a warehouse SUM over no rows)",
            Box::new(|i, f| {
                if i == 1 {
                    f[7] = String::new()
                }
            }),
            &["row 2 (1-based)", "'sum_y'", "null"],
        ),
        (
            "a text sum",
            Box::new(|i, f| {
                if i == 2 {
                    f[8] = "lots".into()
                }
            }),
            &["'sum_y2'", "numeric"],
        ),
        (
            "a negative count",
            Box::new(|i, f| {
                if i == 3 {
                    f[6] = "-4".into()
                }
            }),
            &["row 4 (1-based)", "'n'", "count"],
        ),
        (
            "n above units",
            Box::new(|i, f| {
                if i == 0 {
                    f[6] = "12".into()
                }
            }),
            &["row 1 (1-based)", "cannot exceed units"],
        ),
        (
            "a fractional count",
            Box::new(|i, f| {
                if i == 4 {
                    f[5] = "4.5".into()
                }
            }),
            &["row 5 (1-based)", "'units'", "whole number"],
        ),
        (
            "a missing whole-arm row",
            Box::new(|i, f| {
                if i == 1 {
                    f[4] = "t2".into()
                }
            }),
            &["row 5 (1-based)", "treatment", "no whole-arm row"],
        ),
        (
            "levels holding more units than the arm",
            Box::new(|i, f| {
                if i == 3 {
                    f[5] = "40".into()
                }
            }),
            &["levels of 'd'", "more than the arm's 10"],
        ),
        (
            "a level without a dimension",
            Box::new(|i, f| {
                if i == 2 {
                    f[2] = String::new()
                }
            }),
            &["row 3 (1-based)", "'dimension' and 'level'"],
        ),
    ];
    for (what, edit, parts) in cases {
        let message = error(table_csv(edit)).unwrap_or_else(|| panic!("{what}: accepted"));
        for part in parts {
            assert!(message.contains(part) && message.contains("stats.csv"), "{what}: '{message}' lacks '{part}'");
        }
    }
}
