//! The graph clustering of cateye-network at scale, and the yardstick for peers run on the same
//! edge list (`scripts/bench-network` drives it; run it in release mode):
//!
//! ```text
//! cargo bench -p cateye-network --bench cluster -- generate --nodes 1000000 --edges 20000000 \
//!     --blocks 1000 --inside 0.7 --seed 1 --out g.txt --truth truth.txt
//! cargo bench -p cateye-network --bench cluster -- cluster g.txt --method louvain [--seed S]
//!     [--resolution G] [--cap C] [--threads T] [--labels-out L] [--truth truth.txt]
//! cargo bench -p cateye-network --bench cluster -- cluster g.txt --method reldg --k 1000
//!     [--slack E] [--passes P] [--seed S] [--latest true] ...
//! cargo bench -p cateye-network --bench cluster -- quality g.txt --labels L [--truth truth.txt]
//! ```
//!
//! `generate` writes a planted-partition stochastic block model with exactly `--edges` distinct
//! edges: `--blocks` blocks of equal size (±1) over a seeded permutation of the nodes, a share
//! `--inside` of the edges between two nodes of one block and the rest between two blocks, all
//! pairs uniform; one `a b` line per edge (0-based ids, what igraph's `Read_Edgelist` and
//! networkx's `read_edgelist` read) and the planted block of every node, one per line.
//! `cluster` prints one JSON line: load, build, clustering and quality times, peak resident
//! memory of the process, the [`ClusterQuality`] report and, with `--truth`, the adjusted Rand
//! index against the planted blocks. `quality` prints the same report for labels computed by
//! another tool (one label per line, in node order).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use cateye_network::{cluster, ClusterMethod, ClusterQuality, Clustering, Graph, LouvainConfig, ReldgConfig};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::{json, Value};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, String>;

/// `--key value` options after a command and its positional arguments.
struct Options {
    positional: Vec<String>,
    named: HashMap<String, String>,
}

impl Options {
    fn parse(args: &[String]) -> Res<Options> {
        let mut positional = Vec::new();
        let mut named = HashMap::new();
        let mut i = 0;
        while i < args.len() {
            if let Some(key) = args[i].strip_prefix("--") {
                let value = args.get(i + 1).ok_or(format!("--{key} needs a value"))?;
                named.insert(key.to_string(), value.clone());
                i += 2;
            } else {
                positional.push(args[i].clone());
                i += 1;
            }
        }
        Ok(Options { positional, named })
    }

    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> Res<T> {
        match self.named.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{key} {v}: not a valid value")),
        }
    }

    fn opt<T: std::str::FromStr>(&self, key: &str) -> Res<Option<T>> {
        self.named.get(key).map(|v| v.parse().map_err(|_| format!("--{key} {v}: not a valid value"))).transpose()
    }

    fn file(&self) -> Res<&str> {
        self.positional.first().map(String::as_str).ok_or("expected the edge list file".to_string())
    }
}

fn run() -> Res<()> {
    // `cargo bench` adds `--bench`.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let Some((command, rest)) = args.split_first() else {
        return Err("usage: cluster (generate | cluster FILE | quality FILE) [--options]; see the source".into());
    };
    let options = Options::parse(rest)?;
    let threads: usize = options.get("threads", 0)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
    pool.install(|| match command.as_str() {
        "generate" => generate(&options),
        "cluster" => run_cluster(&options),
        "quality" => quality(&options),
        other => Err(format!("unknown command {other}: expected generate, cluster or quality")),
    })
}

/// Peak resident memory of this process in MB (Linux `VmHWM`).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn generate(options: &Options) -> Res<()> {
    let n: usize = options.get("nodes", 1_000_000)?;
    let m: usize = options.get("edges", 20_000_000)?;
    let blocks: usize = options.get("blocks", 1000)?;
    let inside: f64 = options.get("inside", 0.7)?;
    let seed: u64 = options.get("seed", 1)?;
    let out: String = options.opt("out")?.ok_or("--out FILE is required")?;
    if blocks == 0 || n / blocks < 2 || !(0.0..=1.0).contains(&inside) {
        return Err(format!("--blocks {blocks} --inside {inside}: expected 2+ nodes per block and 0 ≤ inside ≤ 1"));
    }
    let start = Instant::now();
    // Mixed with a constant, so that the block order is not the stream order a clustering run
    // with the same seed would draw (ChaCha8 from the bare seed): that order visits the nodes
    // block by block, a pathological case for streaming partitioners.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b73);
    let mut perm: Vec<u32> = (0..n as u32).collect();
    perm.shuffle(&mut rng);
    // Block b holds positions bounds[b]..bounds[b + 1] of the permutation.
    let bounds: Vec<usize> = (0..=blocks).map(|b| b * n / blocks).collect();
    let mut keys: Vec<u64> = Vec::with_capacity(m);
    while keys.len() < m {
        let missing = m - keys.len();
        for _ in 0..missing {
            let (a, b) = if rng.random::<f64>() < inside {
                let b = rng.random_range(0..blocks);
                let (lo, hi) = (bounds[b], bounds[b + 1]);
                let i = rng.random_range(lo..hi);
                let mut j = rng.random_range(lo..hi - 1);
                if j >= i {
                    j += 1;
                }
                (perm[i], perm[j])
            } else {
                loop {
                    let i = rng.random_range(0..n);
                    let j = rng.random_range(0..n);
                    if block_of(&bounds, i) != block_of(&bounds, j) {
                        break (perm[i], perm[j]);
                    }
                }
            };
            let (a, b) = (a.min(b), a.max(b));
            keys.push(((a as u64) << 32) | b as u64);
        }
        keys.par_sort_unstable();
        keys.dedup();
    }
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&out).map_err(|e| format!("{out}: {e}"))?);
    let mut line = Vec::with_capacity(32);
    for &k in &keys {
        line.clear();
        push_number(&mut line, k >> 32);
        line.push(b' ');
        push_number(&mut line, k & 0xffff_ffff);
        line.push(b'\n');
        w.write_all(&line).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    if let Some(truth) = options.opt::<String>("truth")? {
        let mut label = vec![0u32; n];
        for b in 0..blocks {
            for &v in &perm[bounds[b]..bounds[b + 1]] {
                label[v as usize] = b as u32;
            }
        }
        write_labels(&truth, &label)?;
    }
    println!(
        "{}",
        json!({"generated": out, "nodes": n, "edges": keys.len(), "blocks": blocks, "inside": inside,
               "seed": seed, "seconds": start.elapsed().as_secs_f64()})
    );
    Ok(())
}

/// The block of permutation position `p` (blocks are the ranges `bounds[b]..bounds[b + 1]`).
fn block_of(bounds: &[usize], p: usize) -> usize {
    bounds.partition_point(|&x| x <= p) - 1
}

fn push_number(line: &mut Vec<u8>, mut x: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (x % 10) as u8;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[i..]);
}

fn write_labels(path: &str, labels: &[u32]) -> Res<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).map_err(|e| format!("{path}: {e}"))?);
    let mut line = Vec::with_capacity(16);
    for &l in labels {
        line.clear();
        push_number(&mut line, l as u64);
        line.push(b'\n');
        w.write_all(&line).map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())
}

/// Reads whitespace-separated unsigned integers, streaming; `#` starts a comment line.
fn read_numbers(path: &str, mut each_line: impl FnMut(&[u64]) -> Res<()>) -> Res<()> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut fields: Vec<u64> = Vec::with_capacity(4);
    let (mut number, mut in_number, mut comment) = (0u64, false, false);
    let mut line_no = 1usize;
    loop {
        let buf = reader.fill_buf().map_err(|e| format!("{path}: {e}"))?;
        if buf.is_empty() {
            break;
        }
        let len = buf.len();
        for &b in buf {
            if comment {
                if b == b'\n' {
                    comment = false;
                    line_no += 1;
                }
                continue;
            }
            match b {
                b'0'..=b'9' => {
                    number = number * 10 + (b - b'0') as u64;
                    in_number = true;
                }
                b' ' | b'\t' | b'\r' | b'\n' | b',' => {
                    if in_number {
                        fields.push(number);
                        number = 0;
                        in_number = false;
                    }
                    if b == b'\n' {
                        if !fields.is_empty() {
                            each_line(&fields).map_err(|e| format!("{path} line {line_no}: {e}"))?;
                            fields.clear();
                        }
                        line_no += 1;
                    }
                }
                b'#' if fields.is_empty() && !in_number => comment = true,
                other => return Err(format!("{path} line {line_no}: unexpected character {:?}", other as char)),
            }
        }
        reader.consume(len);
    }
    if in_number {
        fields.push(number);
    }
    if !fields.is_empty() {
        each_line(&fields).map_err(|e| format!("{path} line {line_no}: {e}"))?;
    }
    Ok(())
}

/// The graph of an edge list file (two ids a line), with the load and build times.
fn load_graph(path: &str) -> Res<(Graph, f64, f64)> {
    let start = Instant::now();
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut max_id = 0u64;
    read_numbers(path, |f| {
        if f.len() < 2 || f[0] > u32::MAX as u64 || f[1] > u32::MAX as u64 {
            return Err(format!("expected two node ids below 2^32, found {f:?}"));
        }
        max_id = max_id.max(f[0]).max(f[1]);
        edges.push((f[0] as u32, f[1] as u32));
        Ok(())
    })?;
    let load = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let n = if edges.is_empty() { 0 } else { max_id as usize + 1 };
    let (graph, _) = Graph::from_edges(n, &edges, None).map_err(|e| e.to_string())?;
    drop(edges);
    Ok((graph, load, start.elapsed().as_secs_f64()))
}

fn read_labels(path: &str, n: usize) -> Res<Vec<u32>> {
    let mut labels = Vec::with_capacity(n);
    read_numbers(path, |f| {
        labels.push(f[0] as u32);
        Ok(())
    })?;
    if labels.len() != n {
        return Err(format!("{path}: {} labels for {n} nodes", labels.len()));
    }
    Ok(labels)
}

fn run_cluster(options: &Options) -> Res<()> {
    let path = options.file()?;
    let (graph, load_s, build_s) = load_graph(path)?;
    let rss_graph = peak_rss_mb();
    let method_name: String = options.get("method", "louvain".to_string())?;
    let method = match method_name.as_str() {
        "louvain" => ClusterMethod::Louvain(LouvainConfig {
            resolution: options.get("resolution", 1.0)?,
            max_cluster_size: options.opt("cap")?,
            seed: options.opt("seed")?,
            ..Default::default()
        }),
        "reldg" => ClusterMethod::Reldg(ReldgConfig {
            num_clusters: options.opt("k")?.ok_or("--k is required for reldg")?,
            passes: options.get("passes", 10)?,
            slack: options.get("slack", 0.05)?,
            seed: options.opt("seed")?,
            latest_labels: options.get("latest", false)?,
        }),
        other => return Err(format!("--method {other}: expected louvain or reldg")),
    };
    let start = Instant::now();
    let clustering = cluster(&graph, &method).map_err(|e| e.to_string())?;
    let cluster_s = start.elapsed().as_secs_f64();
    let rss = peak_rss_mb();
    let start = Instant::now();
    let report = ClusterQuality::compute(&graph, &clustering).map_err(|e| e.to_string())?;
    let quality_s = start.elapsed().as_secs_f64();
    let mut out = json!({
        "tool": format!("cateye {method_name}"),
        "threads": rayon::current_num_threads(),
        "nodes": graph.num_nodes(),
        "edges": graph.num_edges(),
        "load_s": load_s,
        "build_s": build_s,
        "cluster_s": cluster_s,
        "quality_s": quality_s,
        "peak_rss_mb_graph": rss_graph,
        "peak_rss_mb": rss,
        "method": method,
        "quality": report,
    });
    if let Some(truth) = options.opt::<String>("truth")? {
        let truth = read_labels(&truth, graph.num_nodes())?;
        out["ari"] = json!(adjusted_rand_index(clustering.labels(), &truth));
    }
    if let Some(labels_out) = options.opt::<String>("labels-out")? {
        write_labels(&labels_out, clustering.labels())?;
    }
    println!("{out}");
    Ok(())
}

fn quality(options: &Options) -> Res<()> {
    let path = options.file()?;
    let (graph, _, _) = load_graph(path)?;
    let labels_path: String = options.opt("labels")?.ok_or("--labels FILE is required")?;
    let labels = read_labels(&labels_path, graph.num_nodes())?;
    let clustering = Clustering::from_labels(labels);
    let report = ClusterQuality::compute(&graph, &clustering).map_err(|e| e.to_string())?;
    let mut out: Value = json!({ "labels": labels_path, "quality": report });
    if let Some(truth) = options.opt::<String>("truth")? {
        let truth = read_labels(&truth, graph.num_nodes())?;
        out["ari"] = json!(adjusted_rand_index(clustering.labels(), &truth));
    }
    println!("{out}");
    Ok(())
}

/// The adjusted Rand index of two labelings (Hubert & Arabie 1985).
fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    let mut joint: HashMap<(u32, u32), u64> = HashMap::new();
    let mut ra: HashMap<u32, u64> = HashMap::new();
    let mut rb: HashMap<u32, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_default() += 1;
        *ra.entry(x).or_default() += 1;
        *rb.entry(y).or_default() += 1;
    }
    let pairs = |x: u64| (x as f64) * (x as f64 - 1.0) / 2.0;
    let index: f64 = joint.values().map(|&x| pairs(x)).sum();
    let sa: f64 = ra.values().map(|&x| pairs(x)).sum();
    let sb: f64 = rb.values().map(|&x| pairs(x)).sum();
    let expected = sa * sb / pairs(a.len() as u64);
    let max = (sa + sb) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}
