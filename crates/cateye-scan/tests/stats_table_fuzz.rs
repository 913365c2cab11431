//! The statistics-table reader on corrupted tables: a valid table with random cells replaced
//! (null, negative, fractional, NaN, infinite, huge, an unknown label) and random rows dropped
//! or repeated. Every outcome is a result or a clear error, never a panic.

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow::compute::take;
use cateye_io::Source;
use cateye_scan::{scan_stats_source, stats_table, ScanConfig};
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

/// A valid statistics table of 2 experiments, 1 metric, 2 dimensions.
fn valid_table() -> &'static RecordBatch {
    static TABLE: OnceLock<RecordBatch> = OnceLock::new();
    TABLE.get_or_init(|| {
        let spec = cateye_sim::synthetic_spec(2, 400, 1, 2, 3, 11);
        let rows = Source::from_batches(spec.batches()).unwrap();
        let (stats, _) = cateye_scan::scan_source(&rows, &ScanConfig::default(), &|_, _| {}).unwrap();
        stats_table(&stats)
    })
}

#[derive(Clone, Debug)]
enum Cell {
    Null,
    Number(f64),
    Label(&'static str),
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Cell::Null),
        prop_oneof![
            Just(-1.0),
            Just(0.0),
            Just(0.5),
            Just(1e300),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-f64::INFINITY),
            -1e6f64..1e6,
        ]
        .prop_map(Cell::Number),
        prop::sample::select(vec!["", "control", "treatment", "exp0", "d0", "l1", "zzz", "m0"]).prop_map(Cell::Label),
    ]
}

/// Replaces cell (`row`, `column`) of `batch` with `value` (numbers in text columns are written
/// as text; labels in number columns become null).
fn replace(batch: &RecordBatch, row: usize, column: usize, value: &Cell) -> RecordBatch {
    let array = batch.column(column);
    let new: ArrayRef = if let Some(a) = array.as_any().downcast_ref::<Float64Array>() {
        let mut v: Vec<Option<f64>> = a.iter().collect();
        v[row] = match value {
            Cell::Null | Cell::Label(_) => None,
            Cell::Number(x) => Some(*x),
        };
        Arc::new(Float64Array::from(v))
    } else {
        let a = array.as_any().downcast_ref::<StringArray>().expect("text or number columns");
        let mut v: Vec<Option<String>> = a.iter().map(|s| s.map(str::to_string)).collect();
        v[row] = match value {
            Cell::Null => None,
            Cell::Number(x) => Some(x.to_string()),
            Cell::Label(s) => Some(s.to_string()),
        };
        Arc::new(StringArray::from(v))
    };
    let mut columns = batch.columns().to_vec();
    columns[column] = new;
    // Nulls in a column declared non-nullable: relax the schema as a warehouse export would.
    let fields: Vec<arrow::datatypes::Field> =
        batch.schema().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
    RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_statistics_tables_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), cell()), 0..6),
        rows in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        drop_rows in any::<bool>(),
    ) {
        let mut batch = valid_table().clone();
        for (row, column, value) in &edits {
            batch = replace(&batch, row.index(batch.num_rows()), column.index(batch.num_columns()), value);
        }
        if !rows.is_empty() {
            // Keep only some rows (dropping) or add repeats of some (duplicating).
            let n = batch.num_rows();
            let picked: Vec<u32> = if drop_rows {
                let gone: Vec<usize> = rows.iter().map(|i| i.index(n)).collect();
                (0..n).filter(|i| !gone.contains(i)).map(|i| i as u32).collect()
            } else {
                (0..n).map(|i| i as u32).chain(rows.iter().map(|i| i.index(n) as u32)).collect()
            };
            let indices = UInt32Array::from(picked);
            let columns = batch.columns().iter().map(|c| take(c, &indices, None).unwrap()).collect();
            batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
        }
        let Ok(source) = Source::from_batches(vec![batch]) else { return Ok(()) };
        match scan_stats_source(&source, &ScanConfig::default()) {
            Ok((_, result)) => {
                for e in &result.effects {
                    prop_assert!(e.n.iter().all(|n| n.is_finite() && *n >= 0.0), "{e:?}");
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
