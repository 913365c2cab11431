//! The scan reads record batches from anywhere: the shared A/B fixture scanned from its file,
//! from its batches in memory, and from a stream of its rows cut into 1, 7 and 1,000 batches
//! gives the same sufficient statistics and the same results.

mod common;

use arrow::array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow::compute::concat_batches;
use cateye_io::Source;
use cateye_scan::{scan_source, ScanConfig, ScanResult, SuffStats};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn config() -> ScanConfig {
    ScanConfig::default().with(|c| {
        c.metrics = Some(["m0", "m1", "m2"].iter().map(|s| s.to_string()).collect());
        c.dimensions = Some(["country", "platform", "tenure", "region"].iter().map(|s| s.to_string()).collect());
    })
}

fn scan(source: &Source) -> (SuffStats, ScanResult) {
    scan_source(source, &config(), &|_, _| {}).unwrap()
}

/// The results with the input's label removed (it names the source, which differs on purpose).
fn json(mut result: ScanResult) -> String {
    result.input.source = None;
    serde_json::to_string(&result).unwrap()
}

/// `table` cut into `pieces` batches of uneven sizes.
fn cut(table: &RecordBatch, pieces: usize) -> Vec<RecordBatch> {
    let n = table.num_rows();
    let mut bounds: Vec<usize> = (1..pieces).map(|k| (k * k * 7919 + k * 104_729) % n).collect();
    bounds.extend([0, n]);
    bounds.sort_unstable();
    bounds.windows(2).map(|w| table.slice(w[0], w[1] - w[0])).collect()
}

#[test]
fn file_memory_and_streams_give_the_same_statistics_and_results() {
    let Some(path) = common::fixture("ab_scan_12x8000.parquet") else { return };
    let (file_stats, file_result) = scan(&Source::open(&path).unwrap());

    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap().build().unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let memory = Source::from_batches(batches.clone()).unwrap();
    assert_eq!(memory.label(), cateye_io::IN_MEMORY_LABEL);
    let (memory_stats, memory_result) = scan(&memory);
    assert!(memory_stats == file_stats, "in-memory batches give other sufficient statistics than the file");
    assert_eq!(json(memory_result), json(file_result.clone()));

    let table = concat_batches(&schema, &batches).unwrap();
    for pieces in [1, 7, 1000] {
        let parts = cut(&table, pieces);
        assert_eq!(parts.len(), pieces);
        let stream = RecordBatchIterator::new(parts.into_iter().map(Ok), schema.clone());
        let source = Source::from_reader(Box::new(stream)).unwrap();
        let (stats, result) = scan(&source);
        assert!(stats == file_stats, "a stream of {pieces} batches gives other sufficient statistics");
        assert_eq!(json(result), json(file_result.clone()), "a stream of {pieces} batches");
    }
}
