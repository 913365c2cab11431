//! Seeded random graphs for the interference simulator, the tests and the benchmarks: the
//! stochastic block model, Barabási–Albert preferential attachment and the Watts–Strogatz small
//! world.
//!
//! Every generator draws from [`cateye_stats::stream`] streams keyed by the seed, so a seed
//! always gives the same graph whatever the number of threads. The block model, the one built
//! in parallel, cuts its work into items that depend only on the block sizes, each item with
//! its own stream; the other two are sequential by nature (each step depends on the graph so
//! far) and draw from one stream.
//!
//! The block model costs time in proportion to the nodes and edges it makes, not to the pairs
//! of nodes: a million nodes and twenty million edges take seconds. Preferential attachment is
//! linear in the edges too; the small world keeps each node's neighbours in a list, linear in
//! the edges for a fixed degree.

use rand::RngExt;
use rayon::prelude::*;

use crate::error::{NetworkError, Result};
use crate::graph::Graph;

/// The purpose of the block model's random streams (see [`cateye_stats::stream`]).
const PURPOSE_SBM: u64 = 0x5B_0000_0018;
/// The purpose of preferential attachment's stream.
const PURPOSE_BA: u64 = 0xBA_0000_0018;
/// The purpose of the small world's stream.
const PURPOSE_WS: u64 = 0x3_5000_0018;

/// Node pairs of one work item of the block model (items are cut at whole rows).
const PAIRS_PER_ITEM: u64 = 1 << 24;

/// A graph drawn from the stochastic block model, with the block each node was planted in.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedGraph {
    /// The graph. Nodes are numbered block after block: block 0 is nodes `0..sizes[0]`, and so on.
    pub graph: Graph,
    /// The block of each node.
    pub blocks: Vec<u32>,
}

/// Draws a graph from the stochastic block model (Holland, Laskey & Leinhardt 1983, "Stochastic
/// blockmodels: first steps", *Social Networks* 5(2)): nodes in blocks of the sizes given, each
/// pair of nodes joined independently with probability `p_in` when they are in one block and
/// `p_out` otherwise. One block is the Erdős–Rényi graph G(n, p).
///
/// Nodes are numbered block after block. The edges are drawn by geometric skipping (Batagelj &
/// Brandes 2005, "Efficient generation of large random networks", *Physical Review E* 71,
/// 036113): the gap to the next edge among the pairs, in a fixed order, is geometric, so the
/// cost is linear in nodes plus edges, whatever the number of pairs. Pairs are visited row by
/// row (node `v` with the nodes before it), once within blocks with `p_in` and once between
/// blocks with `p_out`; the rows are cut into work items of about 16 million pairs, drawn in
/// parallel, each from its own stream.
pub fn stochastic_block_model(block_sizes: &[usize], p_in: f64, p_out: f64, seed: u64) -> Result<PlantedGraph> {
    let edges = stochastic_block_model_edges(block_sizes, p_in, p_out, seed)?;
    let blocks = block_labels(block_sizes)?;
    let (graph, _) = Graph::from_edges(blocks.len(), &edges, None)?;
    Ok(PlantedGraph { graph, blocks })
}

/// The edges of [`stochastic_block_model`] (each pair once, as `(v, w)` with `w < v`), without
/// building the graph: for writing edge lists of any size.
pub fn stochastic_block_model_edges(
    block_sizes: &[usize],
    p_in: f64,
    p_out: f64,
    seed: u64,
) -> Result<Vec<(u32, u32)>> {
    sbm_edges(block_sizes, p_in, p_out, seed, PAIRS_PER_ITEM)
}

/// The expected number of edges of the block model: `(within blocks, between blocks)`, that is
/// `p_in · Σ C(s_b, 2)` and `p_out · Σ_{a<b} s_a s_b`.
pub fn stochastic_block_model_expected_edges(block_sizes: &[usize], p_in: f64, p_out: f64) -> (f64, f64) {
    let n: f64 = block_sizes.iter().map(|&s| s as f64).sum();
    let within: f64 = block_sizes.iter().map(|&s| s as f64 * (s as f64 - 1.0) / 2.0).sum();
    let all = n * (n - 1.0) / 2.0;
    (p_in * within, p_out * (all - within))
}

fn check_probability(name: &str, p: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&p) {
        return Err(NetworkError::invalid(format!("{name} is {p}: expected a probability in [0, 1]")));
    }
    Ok(())
}

fn check_nodes(n: usize) -> Result<()> {
    if n > u32::MAX as usize {
        return Err(NetworkError::invalid(format!("{n} nodes: at most {} are supported", u32::MAX)));
    }
    Ok(())
}

/// The block of each node, blocks numbered in the order of their sizes.
fn block_labels(block_sizes: &[usize]) -> Result<Vec<u32>> {
    let n = block_sizes.iter().try_fold(0usize, |n, &s| n.checked_add(s));
    let n = n.ok_or_else(|| NetworkError::invalid("the block sizes add up to more nodes than memory can address"))?;
    check_nodes(n)?;
    let mut blocks = Vec::with_capacity(n);
    for (b, &s) in block_sizes.iter().enumerate() {
        blocks.extend(std::iter::repeat_n(b as u32, s));
    }
    Ok(blocks)
}

/// Which pairs a pass of the block model visits: row `v` is the pairs `(v, w)` with `w` in
/// `lo(v)..hi(v)` (all `< v`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pass {
    /// `w` in `start(block(v))..v`, with `p_in`.
    Within,
    /// `w` in `0..start(block(v))`, with `p_out`.
    Between,
}

/// One work item: rows `rows.0..rows.1` of a pass.
#[derive(Clone, Copy, Debug)]
struct Item {
    pass: Pass,
    rows: (u32, u32),
}

fn sbm_edges(block_sizes: &[usize], p_in: f64, p_out: f64, seed: u64, pairs_per_item: u64) -> Result<Vec<(u32, u32)>> {
    check_probability("p_in", p_in)?;
    check_probability("p_out", p_out)?;
    let blocks = block_labels(block_sizes)?;
    let n = blocks.len();
    let mut starts = Vec::with_capacity(block_sizes.len());
    let mut start = 0u32;
    for &s in block_sizes {
        starts.push(start);
        start += s as u32;
    }
    let start_of = |v: usize| starts[blocks[v] as usize];
    let range = |pass: Pass, v: usize| -> (u64, u64) {
        let s = start_of(v) as u64;
        match pass {
            Pass::Within => (s, v as u64),
            Pass::Between => (0, s),
        }
    };
    // Work items of whole rows, about `pairs_per_item` pairs each: they depend on the sizes only.
    let mut items = Vec::new();
    for (pass, p) in [(Pass::Within, p_in), (Pass::Between, p_out)] {
        if p <= 0.0 {
            continue;
        }
        let (mut first, mut pairs) = (0usize, 0u64);
        for v in 0..n {
            let (lo, hi) = range(pass, v);
            pairs += hi - lo;
            if pairs >= pairs_per_item {
                items.push(Item { pass, rows: (first as u32, v as u32 + 1) });
                (first, pairs) = (v + 1, 0);
            }
        }
        if pairs > 0 {
            items.push(Item { pass, rows: (first as u32, n as u32) });
        }
    }
    let parts: Vec<Vec<(u32, u32)>> = items
        .par_iter()
        .enumerate()
        .map(|(k, item)| {
            let p = if item.pass == Pass::Within { p_in } else { p_out };
            let mut rng = cateye_stats::stream(seed, PURPOSE_SBM, k as u64);
            let mut out = Vec::new();
            skip_walk(item.rows, p, |v| range(item.pass, v), &mut rng, &mut out);
            out
        })
        .collect();
    let mut edges = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        edges.extend_from_slice(&part);
    }
    Ok(edges)
}

/// Visits the pairs of rows `rows` (row `v`: `(v, w)` for `w` in `range(v)`) in order and keeps
/// each with probability `p`, jumping from one kept pair to the next by a geometric number of
/// pairs: the skip is `⌊ln(1 − U) / ln(1 − p)⌋` for a uniform `U` (Batagelj & Brandes 2005,
/// algorithm G(n, p)).
fn skip_walk(
    rows: (u32, u32),
    p: f64,
    range: impl Fn(usize) -> (u64, u64),
    rng: &mut impl RngExt,
    out: &mut Vec<(u32, u32)>,
) {
    let (mut v, end) = (rows.0 as usize, rows.1 as usize);
    let log_q = (-p).ln_1p();
    // `w` is the position within row `v` of the last pair visited, plus one.
    let mut w = 0u64;
    let mut width = if v < end { range(v).1 - range(v).0 } else { 0 };
    loop {
        let skip = if p >= 1.0 {
            0
        } else {
            let u: f64 = rng.random();
            // Saturating: a skip beyond every pair left ends the walk.
            ((-u).ln_1p() / log_q).floor().min(1e18) as u64
        };
        w += skip;
        while v < end && w >= width {
            w -= width;
            v += 1;
            if v < end {
                let (lo, hi) = range(v);
                width = hi - lo;
            }
        }
        if v >= end {
            return;
        }
        out.push((v as u32, (range(v).0 + w) as u32));
        w += 1;
    }
}

/// Grows a graph by preferential attachment (Barabási & Albert 1999, "Emergence of scaling in
/// random networks", *Science* 286): it starts from a star of `m + 1` nodes (node 0 joined to
/// nodes `1..=m`) and each further node joins `m` distinct earlier nodes, each drawn with
/// probability proportional to its degree. The graph has `n` nodes and exactly `m·(n − m)`
/// edges (degree sum `2·m·(n − m)`); its degree distribution tends to
/// `2m(m+1) / (k(k+1)(k+2))`.
///
/// Linear time after Batagelj & Brandes (2005, "Efficient generation of large random networks",
/// *Physical Review E* 71, 036113): a node appears in the list of edge endpoints once per edge
/// it has, so a uniform entry of the list is a degree-proportional draw. As in networkx, a new
/// node draws among the edges made before it (no self-loops), and a node drawn twice for it is
/// drawn again (no multiple edges).
pub fn barabasi_albert(n: usize, m: usize, seed: u64) -> Result<Graph> {
    let edges = barabasi_albert_edges(n, m, seed)?;
    Ok(Graph::from_edges(n, &edges, None)?.0)
}

/// The edges of [`barabasi_albert`], in the order they were made (new node first).
pub fn barabasi_albert_edges(n: usize, m: usize, seed: u64) -> Result<Vec<(u32, u32)>> {
    if m == 0 || n <= m {
        return Err(NetworkError::invalid(format!(
            "preferential attachment with {n} nodes and {m} edges per new node: expected m ≥ 1 and more than m nodes"
        )));
    }
    check_nodes(n)?;
    let total = m.checked_mul(n - m).ok_or_else(|| NetworkError::invalid(format!("{n} nodes × {m} edges overflow")))?;
    let mut edges: Vec<(u32, u32)> = Vec::with_capacity(total);
    edges.extend((1..=m as u32).map(|i| (i, 0)));
    let mut rng = cateye_stats::stream(seed, PURPOSE_BA, 0);
    // `drawn[t] == v` when node `t` is already a target of node `v`.
    let mut drawn = vec![u32::MAX; n];
    let mut targets = Vec::with_capacity(m);
    for v in (m + 1)..n {
        let v = v as u32;
        let endpoints = 2 * edges.len();
        targets.clear();
        while targets.len() < m {
            let r = rng.random_range(0..endpoints);
            let (a, b) = edges[r / 2];
            let t = if r % 2 == 0 { a } else { b };
            if drawn[t as usize] != v {
                drawn[t as usize] = v;
                targets.push(t);
            }
        }
        edges.extend(targets.iter().map(|&t| (v, t)));
    }
    Ok(edges)
}

/// Draws a small-world graph (Watts & Strogatz 1998, "Collective dynamics of 'small-world'
/// networks", *Nature* 393): a ring of `n` nodes each joined to its `k` nearest neighbours
/// (`k / 2` on each side), then each lattice edge `(u, u + j)`, for `j = 1..=k/2` and `u` in
/// order, rewired with probability `beta` to `(u, w)` for a node `w` drawn uniformly among those
/// not `u` and not already joined to `u` (the edge stays when `u` is joined to every node), as
/// networkx does. The graph keeps exactly `n·k/2` edges.
pub fn watts_strogatz(n: usize, k: usize, beta: f64, seed: u64) -> Result<Graph> {
    let edges = watts_strogatz_edges(n, k, beta, seed)?;
    Ok(Graph::from_edges(n, &edges, None)?.0)
}

/// The edges of [`watts_strogatz`], lattice edge by lattice edge (`j` outer, `u` inner).
pub fn watts_strogatz_edges(n: usize, k: usize, beta: f64, seed: u64) -> Result<Vec<(u32, u32)>> {
    check_probability("beta", beta)?;
    if k < 2 || !k.is_multiple_of(2) || k >= n {
        return Err(NetworkError::invalid(format!(
            "small world with {n} nodes and {k} neighbours each: expected an even k of at least 2 and below n"
        )));
    }
    check_nodes(n)?;
    let half = k / 2;
    let mut edges: Vec<(u32, u32)> = Vec::with_capacity(n * half);
    for j in 1..=half {
        edges.extend((0..n).map(|u| (u as u32, ((u + j) % n) as u32)));
    }
    if beta <= 0.0 {
        return Ok(edges);
    }
    let mut adjacency: Vec<Vec<u32>> = (0..n)
        .map(|u| {
            let mut row = Vec::with_capacity(k + 2);
            for j in 1..=half {
                row.push(((u + j) % n) as u32);
                row.push(((u + n - j) % n) as u32);
            }
            row
        })
        .collect();
    let mut rng = cateye_stats::stream(seed, PURPOSE_WS, 0);
    for edge in edges.iter_mut() {
        let (u, v) = *edge;
        if rng.random::<f64>() >= beta || adjacency[u as usize].len() >= n - 1 {
            continue;
        }
        let w = loop {
            let w = rng.random_range(0..n as u32);
            if w != u && !adjacency[u as usize].contains(&w) {
                break w;
            }
        };
        remove(&mut adjacency[u as usize], v);
        remove(&mut adjacency[v as usize], u);
        adjacency[u as usize].push(w);
        adjacency[w as usize].push(u);
        *edge = (u, w);
    }
    Ok(edges)
}

fn remove(row: &mut Vec<u32>, x: u32) {
    if let Some(i) = row.iter().position(|&y| y == x) {
        row.swap_remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edges within and between the planted blocks.
    fn counts(g: &PlantedGraph) -> (u64, u64) {
        let (mut within, mut between) = (0, 0);
        for v in 0..g.graph.num_nodes() {
            for &w in g.graph.neighbors(v) {
                if (w as usize) < v {
                    if g.blocks[v] == g.blocks[w as usize] {
                        within += 1;
                    } else {
                        between += 1;
                    }
                }
            }
        }
        (within, between)
    }

    #[test]
    fn block_model_edge_counts_match_their_expectation() {
        let sizes = [300, 500, 200, 1];
        let (p_in, p_out) = (0.05, 0.004);
        let (mean_in, mean_out) = stochastic_block_model_expected_edges(&sizes, p_in, p_out);
        let (mut sum_in, mut sum_out) = (0.0, 0.0);
        let seeds = 20;
        for seed in 0..seeds {
            let g = stochastic_block_model(&sizes, p_in, p_out, seed).unwrap();
            assert_eq!(g.graph.num_nodes(), 1001);
            assert_eq!(g.blocks[299..301], [0, 1]);
            let (within, between) = counts(&g);
            // Each count is binomial: within 5 standard deviations.
            assert!((within as f64 - mean_in).abs() < 5.0 * (mean_in * (1.0 - p_in)).sqrt(), "{within} vs {mean_in}");
            assert!((between as f64 - mean_out).abs() < 5.0 * (mean_out * (1.0 - p_out)).sqrt(), "{between}");
            sum_in += within as f64;
            sum_out += between as f64;
        }
        let s = seeds as f64;
        assert!((sum_in / s - mean_in).abs() < 4.0 * (mean_in / s).sqrt(), "{} vs {mean_in}", sum_in / s);
        assert!((sum_out / s - mean_out).abs() < 4.0 * (mean_out / s).sqrt(), "{} vs {mean_out}", sum_out / s);
    }

    /// Small work items (many cuts inside and across blocks) still visit every pair once.
    #[test]
    fn geometric_skipping_visits_every_pair_once() {
        let sizes = [7, 1, 0, 12, 5];
        for per_item in [1, 3, 50, 1 << 24] {
            let edges = sbm_edges(&sizes, 1.0, 1.0, 3, per_item).unwrap();
            let (g, report) = Graph::from_edges(25, &edges, None).unwrap();
            assert_eq!(report.duplicates_merged, 0);
            assert_eq!(g.num_edges(), 25 * 24 / 2, "{per_item} pairs per item");
            let within = sbm_edges(&sizes, 1.0, 0.0, 3, per_item).unwrap();
            assert_eq!(within.len(), 7 * 6 / 2 + 12 * 11 / 2 + 5 * 4 / 2);
            let between = sbm_edges(&sizes, 0.0, 1.0, 3, per_item).unwrap();
            assert_eq!(between.len(), 300 - within.len());
            assert!(sbm_edges(&sizes, 0.0, 0.0, 3, per_item).unwrap().is_empty());
        }
    }

    /// Every position of a row is equally likely: the walk has no bias at row or item ends.
    #[test]
    fn skipping_draws_pairs_uniformly() {
        let n = 400usize;
        let p = 0.02;
        let mut hits = vec![0u64; n];
        let reps = 60;
        for seed in 0..reps {
            for (v, w) in sbm_edges(&[n], p, 0.0, seed, 5_000).unwrap() {
                hits[v as usize] += 1;
                hits[w as usize] += 1;
            }
        }
        // Node degrees are Binomial(n − 1, p) per replicate: compare by deciles.
        let per_node = reps as f64 * (n - 1) as f64 * p;
        for decile in hits.chunks(n / 10) {
            let mean = decile.iter().sum::<u64>() as f64 / decile.len() as f64;
            let sd = (per_node * (1.0 - p) / decile.len() as f64).sqrt();
            assert!((mean - per_node).abs() < 5.0 * sd, "{mean} vs {per_node}");
        }
    }

    #[test]
    fn block_model_is_deterministic_whatever_the_threads() {
        let sizes = [6_000, 4_000];
        let run = |threads: usize, seed: u64| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| sbm_edges(&sizes, 0.002, 0.0005, seed, 1 << 20).unwrap())
        };
        let one = run(1, 7);
        assert!(one.len() > 50_000);
        assert_eq!(one, run(3, 7));
        assert_ne!(one, run(3, 8));
    }

    #[test]
    fn block_model_refuses_bad_probabilities() {
        let err = stochastic_block_model(&[3, 3], 1.5, 0.1, 0).unwrap_err().to_string();
        assert!(err.contains("p_in is 1.5"), "{err}");
        assert!(stochastic_block_model(&[3, 3], 0.5, f64::NAN, 0).is_err());
        let empty = stochastic_block_model(&[], 0.5, 0.5, 0).unwrap();
        assert_eq!(empty.graph.num_nodes(), 0);
    }

    #[test]
    fn preferential_attachment_has_the_closed_form_edge_count_and_degrees() {
        let (n, m) = (100_000, 3);
        let edges = barabasi_albert_edges(n, m, 11).unwrap();
        let (g, report) = Graph::from_edges(n, &edges, None).unwrap();
        assert_eq!(report.duplicates_merged, 0);
        assert_eq!(g.num_edges(), (m * (n - m)) as u64);
        let degree_sum: usize = (0..n).map(|v| g.degree(v)).sum();
        assert_eq!(degree_sum, 2 * m * (n - m));
        assert!((0..n).all(|v| g.degree(v) >= m.min(1)));
        assert!((m + 1..n).all(|v| g.degree(v) >= m));
        // P(k) → 2m(m+1) / (k(k+1)(k+2)): 2/(m+2) of nodes keep degree m.
        for k in [m, m + 1, m + 2] {
            let share = (0..n).filter(|&v| g.degree(v) == k).count() as f64 / n as f64;
            let limit = 2.0 * (m * (m + 1)) as f64 / (k * (k + 1) * (k + 2)) as f64;
            assert!((share - limit).abs() < 0.015, "degree {k}: {share} vs {limit}");
        }
        // A heavy tail: the oldest nodes have degrees of order √n.
        let max = (0..n).map(|v| g.degree(v)).max().unwrap();
        assert!(max > 300, "{max}");
        assert_eq!(barabasi_albert_edges(n, m, 11).unwrap(), edges);
        assert_ne!(barabasi_albert_edges(n, m, 12).unwrap(), edges);
    }

    #[test]
    fn preferential_attachment_refuses_too_few_nodes() {
        assert!(barabasi_albert(3, 3, 0).is_err());
        assert!(barabasi_albert(3, 0, 0).is_err());
        let star = barabasi_albert(4, 3, 0).unwrap();
        assert_eq!(star.neighbors(0), &[1, 2, 3]);
        // The first new node must join all of the star.
        let g = barabasi_albert(5, 3, 0).unwrap();
        assert_eq!(g.num_edges(), 6);
        assert_eq!(g.degree(4), 3);
    }

    #[test]
    fn small_world_keeps_its_edge_count_exactly() {
        let (n, k) = (5_000, 10);
        let lattice = watts_strogatz(n, k, 0.0, 1).unwrap();
        assert_eq!(lattice.num_edges(), (n * k / 2) as u64);
        assert_eq!(lattice.neighbors(0), &[1, 2, 3, 4, 5, 4995, 4996, 4997, 4998, 4999]);
        for beta in [0.1, 0.5, 1.0] {
            let edges = watts_strogatz_edges(n, k, beta, 2).unwrap();
            let (g, report) = Graph::from_edges(n, &edges, None).unwrap();
            assert_eq!(report.duplicates_merged, 0, "beta {beta}");
            assert_eq!(g.num_edges(), (n * k / 2) as u64);
            // About β of the lattice edges are rewired (a few land back on the lattice).
            let kept = edges.iter().filter(|&&(u, v)| ring_distance(u, v, n) <= k / 2).count() as f64;
            let lattice_share = kept / edges.len() as f64;
            assert!((lattice_share - (1.0 - beta)).abs() < 0.02, "beta {beta}: {lattice_share}");
        }
        assert_eq!(watts_strogatz_edges(n, k, 0.3, 2).unwrap(), watts_strogatz_edges(n, k, 0.3, 2).unwrap());
        assert_ne!(watts_strogatz_edges(n, k, 0.3, 2).unwrap(), watts_strogatz_edges(n, k, 0.3, 3).unwrap());
    }

    fn ring_distance(u: u32, v: u32, n: usize) -> usize {
        let d = (u as usize).abs_diff(v as usize);
        d.min(n - d)
    }

    #[test]
    fn small_world_refuses_odd_or_large_degrees() {
        assert!(watts_strogatz(10, 3, 0.1, 0).is_err());
        assert!(watts_strogatz(10, 10, 0.1, 0).is_err());
        assert!(watts_strogatz(10, 4, -0.1, 0).is_err());
        // Complete: nothing can be rewired.
        let g = watts_strogatz(5, 4, 1.0, 0).unwrap();
        assert_eq!(g.num_edges(), 10);
    }
}
