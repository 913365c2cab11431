//! Edge lists written to files and read back: generated graphs survive the round trip with
//! their ids, and (ignored by default) the time to generate and load a graph of a million nodes
//! and twenty million edges.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use cateye_io::Source;
use cateye_network::{
    barabasi_albert, load_graph, rows_to_nodes, stochastic_block_model, stochastic_block_model_edges,
    stochastic_block_model_expected_edges, watts_strogatz, EdgeColumns, Graph, NodeId, NodeList,
};

/// The edges of `edges` with node `v` named `name(v)`, as a batch of `source, target` columns.
fn edge_batch(edges: &[(u32, u32)], name: impl Fn(u32) -> String) -> RecordBatch {
    let column = |pick: fn(&(u32, u32)) -> u32| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(edges.iter().map(|e| name(pick(e)))))
    };
    RecordBatch::try_from_iter([("source", column(|e| e.0)), ("target", column(|e| e.1))]).unwrap()
}

/// Whether `loaded` is `graph` with node `v` renumbered `index_of(v)`.
fn same_graph(graph: &Graph, loaded: &Graph, index_of: impl Fn(u32) -> u32) -> bool {
    graph.num_edges() == loaded.num_edges()
        && (0..graph.num_nodes()).all(|v| {
            let mut theirs: Vec<u32> = graph.neighbors(v).iter().map(|&w| index_of(w)).collect();
            theirs.sort_unstable();
            loaded.neighbors(index_of(v as u32) as usize) == theirs.as_slice()
        })
}

#[test]
fn a_generated_graph_survives_a_parquet_round_trip_with_string_ids() {
    let planted = stochastic_block_model(&[40, 60, 30], 0.2, 0.02, 5).unwrap();
    let mut edges = Vec::new();
    for v in 0..planted.graph.num_nodes() {
        edges.extend(planted.graph.neighbors(v).iter().filter(|&&w| (w as usize) < v).map(|&w| (v as u32, w)));
    }
    let name = |v: u32| format!("unit-{}", v * 37 % 131);
    let batch = edge_batch(&edges, name);
    let dir = cateye_testkit::temp_dir("network-load-roundtrip");
    let path = dir.join("edges.parquet");
    cateye_testkit::write_parquet(&path, &batch);
    // The node list holds every unit, isolated ones too, in its own order.
    let units: Vec<String> = (0..planted.graph.num_nodes() as u32).rev().map(name).collect();
    let outcome =
        RecordBatch::try_from_iter([("unit", Arc::new(StringArray::from(units.clone())) as ArrayRef)]).unwrap();
    let outcome_path = dir.join("outcomes.parquet");
    cateye_testkit::write_parquet(&outcome_path, &outcome);

    let source = Source::open(&path).unwrap();
    let outcomes = Source::open(&outcome_path).unwrap();
    let list = NodeList { table: &outcomes, column: "unit" };
    let loaded = load_graph(&source, &EdgeColumns::default(), Some(list)).unwrap();
    assert_eq!(loaded.ids.len(), planted.graph.num_nodes());
    assert_eq!(loaded.report.duplicates_merged, 0);
    let index_of = |v: u32| loaded.ids.index_of(NodeId::Str(&name(v))).unwrap();
    assert!(same_graph(&planted.graph, &loaded.graph, index_of));
    // The node list's order is the node order, so row i of the outcomes is node i.
    let rows = rows_to_nodes(&loaded.ids, &outcomes, "unit").unwrap();
    assert_eq!(rows.node_of_row, (0..units.len() as u32).collect::<Vec<_>>());
    assert_eq!(rows.nodes_without_row(), 0);
}

#[test]
fn a_csv_edge_list_with_integer_ids_loads_like_the_parquet_one() {
    let g = barabasi_albert(300, 2, 9).unwrap();
    let mut csv = String::from("from,to\n");
    for v in 0..g.num_nodes() {
        for &w in g.neighbors(v).iter().filter(|&&w| (w as usize) > v) {
            csv.push_str(&format!("{},{}\n", 1_000_000 + v, 1_000_000 + w as usize));
        }
    }
    let dir = cateye_testkit::temp_dir("network-load-csv");
    let path = dir.join("edges.csv");
    std::fs::write(&path, csv).unwrap();
    let columns = EdgeColumns { source: "from".into(), target: "to".into(), weight: None };
    let loaded = load_graph(&Source::open(&path).unwrap(), &columns, None).unwrap();
    let index_of = |v: u32| loaded.ids.index_of(NodeId::Int(1_000_000 + v as i64)).unwrap();
    assert!(same_graph(&g, &loaded.graph, index_of));
}

/// A million nodes and twenty million edges: generators, writing and reading the edge list.
/// `cargo test -p cateye-network --release --test load -- --ignored --nocapture`
#[test]
#[ignore]
fn scale_a_million_nodes_and_twenty_million_edges() {
    let sizes = vec![1_000; 1_000];
    let (p_in, p_out) = (0.032, 8.0e-6);
    let (within, between) = stochastic_block_model_expected_edges(&sizes, p_in, p_out);
    eprintln!("SBM expected edges: {within:.0} within, {between:.0} between");
    let t = Instant::now();
    let edges = stochastic_block_model_edges(&sizes, p_in, p_out, 1).unwrap();
    eprintln!("SBM edges: {} in {:.2} s", edges.len(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let (graph, _) = Graph::from_edges(1_000_000, &edges, None).unwrap();
    eprintln!("Graph::from_edges: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let planted = stochastic_block_model(&sizes, p_in, p_out, 1).unwrap();
    eprintln!("stochastic_block_model (edges + graph): {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(planted.graph, graph);
    drop(planted);

    let t = Instant::now();
    let ba = barabasi_albert(1_000_000, 20, 1).unwrap();
    eprintln!("barabasi_albert(1M, 20): {} edges in {:.2} s", ba.num_edges(), t.elapsed().as_secs_f64());
    drop(ba);
    let t = Instant::now();
    let ws = watts_strogatz(1_000_000, 40, 0.1, 1).unwrap();
    eprintln!("watts_strogatz(1M, 40, 0.1): {} edges in {:.2} s", ws.num_edges(), t.elapsed().as_secs_f64());
    drop(ws);

    // Scattered integer ids, in Parquet.
    let (a, b): (Vec<i64>, Vec<i64>) =
        edges.iter().map(|&(v, w)| (v as i64 * 7_919 + 13, w as i64 * 7_919 + 13)).unzip();
    let batch = RecordBatch::try_from_iter([
        ("source", Arc::new(Int64Array::from(a)) as ArrayRef),
        ("target", Arc::new(Int64Array::from(b)) as ArrayRef),
    ])
    .unwrap();
    let dir = cateye_testkit::temp_dir("network-load-scale");
    let path = dir.join("edges.parquet");
    let t = Instant::now();
    cateye_testkit::write_parquet(&path, &batch);
    eprintln!("writing the integer edge list: {:.2} s", t.elapsed().as_secs_f64());
    drop(batch);
    let t = Instant::now();
    let loaded = load_graph(&Source::open(&path).unwrap(), &EdgeColumns::default(), None).unwrap();
    eprintln!(
        "load_graph, integer ids: {} nodes, {} edges in {:.2} s",
        loaded.ids.len(),
        loaded.graph.num_edges(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(loaded.graph.num_edges(), graph.num_edges());
    drop(loaded);

    // The same in CSV.
    let path = dir.join("edges.csv");
    let t = Instant::now();
    let mut csv = String::with_capacity(edges.len() * 18);
    csv.push_str("source,target\n");
    for &(v, w) in &edges {
        csv.push_str(&format!("{},{}\n", v as i64 * 7_919 + 13, w as i64 * 7_919 + 13));
    }
    std::fs::write(&path, csv).unwrap();
    eprintln!("writing the CSV edge list: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let loaded = load_graph(&Source::open(&path).unwrap(), &EdgeColumns::default(), None).unwrap();
    eprintln!("load_graph, CSV, integer ids: {} edges in {:.2} s", loaded.graph.num_edges(), t.elapsed().as_secs_f64());
    assert_eq!(loaded.graph.num_edges(), graph.num_edges());
    drop(loaded);

    // String ids, in Parquet.
    let names: Vec<String> = (0..1_000_000u32).map(|v| format!("user-{:08x}", v.wrapping_mul(2_654_435_761))).collect();
    let column = |pick: fn(&(u32, u32)) -> u32| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(edges.iter().map(|e| names[pick(e) as usize].as_str())))
    };
    let batch = RecordBatch::try_from_iter([("source", column(|e| e.0)), ("target", column(|e| e.1))]).unwrap();
    let path = dir.join("edges-str.parquet");
    let t = Instant::now();
    cateye_testkit::write_parquet(&path, &batch);
    eprintln!("writing the string edge list: {:.2} s", t.elapsed().as_secs_f64());
    drop(batch);
    let t = Instant::now();
    let loaded = load_graph(&Source::open(&path).unwrap(), &EdgeColumns::default(), None).unwrap();
    eprintln!(
        "load_graph, string ids: {} nodes, {} edges in {:.2} s",
        loaded.ids.len(),
        loaded.graph.num_edges(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(loaded.graph.num_edges(), graph.num_edges());
    let _ = std::fs::remove_dir_all(&dir);
}
