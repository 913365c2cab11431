//! `cateye bench scan | memory`: throughput of the aggregation, load rate and peak memory of a
//! scan, on generated data.

use crate::args::{BenchArgs, Which};
use crate::{io_error, peak_rss_text, BenchError, Result};
use cateye::Source;
use cateye_scan::{aggregate_encoded, encode_all, ScanConfig};
use std::path::Path;
use std::time::Instant;

/// `scan` or `memory`: generates the table, then times it.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    let (rows, metrics, dims) = match args.which {
        Which::Scan => (args.rows.unwrap_or(2_000_000), args.metrics.unwrap_or(10), args.dimensions.unwrap_or(10)),
        _ => (args.rows.unwrap_or(10_000_000), args.metrics.unwrap_or(5), args.dimensions.unwrap_or(5)),
    };
    let dir =
        args.dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("cateye-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir).map_err(io_error(dir.display()))?;
    let file = dir.join(format!("bench_{rows}x{metrics}x{dims}.parquet"));
    let spec = cateye_sim::synthetic_spec(
        args.experiments.unwrap_or(20),
        rows.div_ceil(args.experiments.unwrap_or(20)),
        metrics,
        dims,
        crate::args::levels(args),
        1,
    );
    let t = Instant::now();
    cateye::demo::write_table(&spec, &file)?;
    let size = std::fs::metadata(&file).map_err(io_error(file.display()))?.len();
    println!(
        "generated {} rows x {metrics} metrics (+ pre-period) x {dims} dimensions ({} levels) in {:.1} s: {} ({:.0} MB)",
        spec.experiments.iter().map(|e| e.units).sum::<usize>(),
        crate::args::levels(args),
        t.elapsed().as_secs_f64(),
        file.display(),
        size as f64 / 1e6
    );
    let threads = rayon::current_num_threads();
    let config = ScanConfig::default().with(|c| {
        c.metrics = Some((0..metrics).map(|m| format!("m{m}")).collect());
        c.dimensions = Some((0..dims).map(|d| format!("d{d}")).collect());
    });
    let outcome = match args.which {
        Which::Scan => bench_scan(&file, &config, args.repeat, threads),
        _ => bench_memory(&file, metrics, dims),
    };
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

fn bench_scan(file: &Path, config: &ScanConfig, repeat: usize, threads: usize) -> Result<()> {
    let source = Source::open(file)?;
    let t = Instant::now();
    let table = encode_all(&source, config)?;
    let load = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(file).map_err(io_error(file.display()))?.len() as f64;
    println!(
        "load (Parquet decode + encode, columns in parallel on {threads} threads): {:.2} s = {:.2} M rows/s, {:.0} MB/s",
        load,
        table.rows as f64 / load / 1e6,
        size / load / 1e6
    );
    let l = &table.encoder.layout;
    let updates = table.rows as f64 * l.metrics.len() as f64 * l.dimensions.len() as f64;
    let mut times: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(aggregate_encoded(&table));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "aggregation after loading ({threads} threads, {} runs): best {best:.3} s, median {median:.3} s for {updates:.2e} \
         unit x metric x dimension updates = {:.2} billion updates/s (median {:.2})",
        times.len(),
        updates / best / 1e9,
        updates / median / 1e9
    );
    let t = Instant::now();
    let (_, result) = cateye_scan::scan_source(&Source::open(file)?, config, &|_, _| {})?;
    println!(
        "end-to-end scan (read, bin, encode, aggregate, test, correct): {:.2} s, {} dimension tests, peak RSS {}",
        t.elapsed().as_secs_f64(),
        result.dimensions.len(),
        peak_rss_text()
    );
    Ok(())
}

fn bench_memory(file: &Path, metrics: usize, dims: usize) -> Result<()> {
    let exe = std::env::current_exe().map_err(io_error("the cateye executable"))?;
    let out = file.with_extension("results");
    let metric_list = (0..metrics).map(|m| format!("m{m}")).collect::<Vec<_>>().join(",");
    let dim_list = (0..dims).map(|d| format!("d{d}")).collect::<Vec<_>>().join(",");
    let child = std::process::Command::new(exe)
        .arg("scan")
        .arg(file)
        .args(["--metrics", &metric_list, "--dimensions", &dim_list, "--quiet", "--timings", "--out"])
        .arg(&out)
        .output()
        .map_err(io_error("the child scan"))?;
    let text = String::from_utf8_lossy(&child.stdout);
    if !child.status.success() {
        return Err(BenchError::Failed(format!("scan failed: {}", String::from_utf8_lossy(&child.stderr))));
    }
    println!("scan of {} in a child process: {}", file.display(), text.trim());
    Ok(())
}
