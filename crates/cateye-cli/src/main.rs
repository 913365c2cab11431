//! The `cateye` binary: parses the arguments, calls the library, renders the results and
//! shows progress on a terminal. No statistics live here.

use anyhow::{Context, Result};
use cateye::model::Model;
use cateye::scan::{DeepDiveEvent, ScanEvent};
use cateye::{Config, Source};
use cateye_cli::args::{CateArgs, Cli, Command, ForestArgs, PredictArgs, ScanArgs};
use cateye_cli::render;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

fn main() {
    let cli = Cli::parse();
    if let Some(asked) = cli.threads {
        // More workers than cores buys nothing, and a huge number exhausts memory for stacks.
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let n = if asked > cores {
            eprintln!("warning: --threads {asked} is more than this machine's {cores} cores: using {cores}");
            cores
        } else {
            asked
        };
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
            eprintln!("error: --threads {n}: {e}");
            std::process::exit(2);
        }
    }
    let outcome = match cli.command {
        Command::Demo { out, seed } => demo(&out, seed),
        Command::Scan(args) => scan(&args),
        Command::Forest(args) => forest(&args),
        Command::Cate(args) => cate(&args),
        Command::Predict(args) => predict(&args),
        Command::Bench(args) => cateye_bench::run(&args).map_err(anyhow::Error::from),
    };
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let pb = ProgressBar::new(0);
    if quiet || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {human_pos}/{human_len} rows ({per_sec})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message("scanning");
    pb
}

/// One line per deep-dived pair on stderr.
fn deep_dive_progress(event: &DeepDiveEvent<'_>) {
    match event {
        DeepDiveEvent::Loading { experiments } => {
            eprintln!("deep dive: reading the rows of {experiments} experiments")
        }
        DeepDiveEvent::Started { index, total, pair } => {
            eprint!("deep dive {}/{total}: {} / {} / {} ... ", index + 1, pair.experiment, pair.metric, pair.arm)
        }
        DeepDiveEvent::Finished { seconds, ok, .. } => {
            eprintln!("{} in {seconds:.1} s", if *ok { "done" } else { "failed" })
        }
    }
}

/// What a scan reads and writes besides the results.
#[derive(Default)]
struct ScanIo<'a> {
    stats_input: bool,
    export_stats: Option<&'a Path>,
    quiet: bool,
    timings: bool,
}

fn scan(args: &ScanArgs) -> Result<()> {
    let config = args.config()?;
    let io = ScanIo {
        stats_input: args.stats,
        export_stats: args.export_stats.as_deref(),
        quiet: args.quiet,
        timings: args.timings,
    };
    run_scan(&args.file, &config, &args.out, io)
}

fn run_scan(file: &Path, config: &Config, out: &Path, io: ScanIo<'_>) -> Result<()> {
    let (quiet, timings) = (io.quiet, io.timings);
    let start = Instant::now();
    let source = Source::open(file)?;
    let pb = progress_bar(quiet);
    let events = |event: ScanEvent<'_>| match event {
        ScanEvent::Rows { read, total } => {
            if let Some(t) = total {
                pb.set_length(t);
            }
            pb.set_position(read);
        }
        ScanEvent::DeepDive(e) => {
            pb.finish_and_clear();
            if !quiet {
                deep_dive_progress(&e)
            }
        }
        _ => {}
    };
    let (stats, report) = if io.stats_input {
        cateye::scan::scan_stats(&source, config)?
    } else {
        cateye::scan::scan(&source, config, &events)?
    };
    pb.finish_and_clear();
    if let Some(path) = io.export_stats {
        cateye::scan::write_stats_table(&stats, path)?;
    }
    let files = cateye::write_scan_outputs(&report, out)?;
    if !quiet {
        print!("{}", render::scan_summary(&report));
        println!("\nResults: {}", files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    if timings {
        println!(
            "timings: {:.3} s, peak RSS {} MB",
            start.elapsed().as_secs_f64(),
            cateye_bench::peak_rss_bytes().map_or("n/a".into(), |b| format!("{:.1}", b as f64 / 1e6))
        );
    }
    Ok(())
}

fn forest(args: &ForestArgs) -> Result<()> {
    let source = Source::open(&args.file)?;
    let mut run = cateye::forest::fit_forest(&source, &args.spec())?;
    run.write(&args.out.join(format!("cate.{}", args.format.extension())), &args.out.join("forest.json"))?;
    if let Some(path) = &args.save_model {
        Model::CausalForest(run.model).save(path)?;
    }
    if !args.quiet {
        print!("{}", render::forest_summary(&run.summary));
    }
    Ok(())
}

fn cate(args: &CateArgs) -> Result<()> {
    let source = Source::open(&args.file)?;
    let mut run = cateye::cate::fit_cate(&source, &args.spec())?;
    run.write(&args.out.join(format!("cate.{}", args.format.extension())), &args.out.join("cate.json"))?;
    if let (Some(path), Some(model)) = (&args.save_model, run.model.take()) {
        Model::Cate(model).save(path)?;
    }
    if !args.quiet {
        print!("{}", render::cate_summary(&run.summary));
        println!("\nWrote {}", run.summary.outputs.join(" and "));
    }
    Ok(())
}

fn predict(args: &PredictArgs) -> Result<()> {
    let model = Model::load(&args.model)?;
    let source = Source::open(&args.file)?;
    let predictions = model.predict(&source)?;
    let path = args.out.join(format!("predictions.{}", args.format.extension()));
    predictions.write(&path)?;
    if !args.quiet {
        println!(
            "Predicted {} rows of {} with the {} model of {} (covariates {}): {}",
            predictions.num_rows(),
            source.label(),
            model.kind(),
            args.model.display(),
            model.covariates().join(", "),
            path.display()
        );
    }
    Ok(())
}

fn demo(out: &Path, seed: u64) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot write", out.display()))?;
    let data = out.join("demo.parquet");
    let spec = cateye::demo::demo_spec(seed);
    cateye::demo::write_table(&spec, &data)?;
    println!("Demo data: {} experiments written to {}\n", spec.experiments.len(), data.display());
    let config = Config::new(cateye::demo::scan_config(&spec), Default::default());
    run_scan(&data, &config, &out.join("results"), ScanIo { timings: true, ..ScanIo::default() })?;
    println!("\nPlanted in the demo data (effect shifts in units of the metric's noise scale; every other effect is constant):");
    for line in spec.truth() {
        println!("  {line}");
    }
    // One trial with known effects for `cateye forest` and `cateye cate` (README's examples).
    let trial = out.join("trial.parquet");
    let sim = cateye::demo::nie_wager(cateye::demo::Setup::A, 4000, 6, 1.0, seed);
    let table = cateye::demo::trial_table(&sim);
    cateye::write_batches(&trial, table.schema(), [table])?;
    println!(
        "\nTrial data: {} rows of one experiment (covariates x1..x6, treatment w, outcome y; true effect tau and \
         propensity e beside them) written to {}",
        sim.y.len(),
        trial.display()
    );
    Ok(())
}
