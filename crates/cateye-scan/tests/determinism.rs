//! Same data → bit-identical results, whatever the number of threads.

mod common;

use cateye_scan::ScanConfig;
use cateye_sim::demo_spec;
use common::{demo_config, scan_file};

fn scan_with_threads(path: &std::path::Path, config: &ScanConfig, threads: usize) -> String {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let (_, result) = pool.install(|| scan_file(path, config, &|_, _| {})).unwrap();
    serde_json::to_string(&result).unwrap()
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = common::temp_dir("determinism");
    let path = dir.join("demo.parquet");
    let spec = demo_spec(3);
    common::write_spec(&spec, &path).unwrap();
    // Small batches so that the work is spread over many parallel windows.
    let config = demo_config(&spec).with(|c| c.batch_rows = 5_000);
    let one = scan_with_threads(&path, &config, 1);
    for threads in [2, 3] {
        assert!(one == scan_with_threads(&path, &config, threads), "{threads} threads differ from 1");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cluster_column_is_checked_and_its_caveat_reported() {
    let dir = common::temp_dir("cluster");
    let path = dir.join("demo.parquet");
    let spec = demo_spec(4);
    common::write_spec(&spec, &path).unwrap();
    let config = demo_config(&spec).with(|c| c.cluster = Some("country".into()));
    let (_, r) = scan_file(&path, &config, &|_, _| {}).unwrap();
    assert!(r.input.warnings.iter().any(|w| w.contains("cluster-robust")));
    let config = demo_config(&spec).with(|c| c.cluster = Some("household".into()));
    assert!(scan_file(&path, &config, &|_, _| {}).unwrap_err().to_string().contains("'household'"));
    let _ = std::fs::remove_dir_all(&dir);
}
