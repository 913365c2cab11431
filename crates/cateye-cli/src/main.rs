//! The `cateye` binary: parses the arguments, calls the library, renders the results and
//! shows progress on a terminal. No statistics live here.

use anyhow::{Context, Result};
use cateye::model::Model;
use cateye::scan::{DeepDiveEvent, ScanEvent, ScanOutputs};
use cateye::{Config, OutputDir, Source};
use cateye_cli::args::{CateArgs, Cli, Command, ForestArgs, PredictArgs, ScanArgs, StatsSqlArgs};
use cateye_cli::network_args::{DesignArgs, NetworkEffectArgs, SimulateDesignArgs};
use cateye_cli::privacy_args::{DpEffectArgs, PrivatizeArgs};
use cateye_cli::progress::{self, Reporter};
use cateye_cli::render::{self, plural};
use cateye_report::Results;
use clap::Parser;
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
        Command::Report { results, out } => report(&results, &out),
        Command::StatsSql(args) => stats_sql(&args),
        Command::NetworkDemo { out, seed } => network_demo(&out, seed),
        Command::Design(args) => design(&args),
        Command::NetworkEffect(args) => network_effect(&args),
        Command::SimulateDesign(args) => simulate_design(&args),
        Command::Privatize(args) => privatize(&args),
        Command::DpEffect(args) => dp_effect(&args),
        Command::Bench(args) => cateye_bench::run(&args).map_err(anyhow::Error::from),
    };
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The command line as given, for the manifest of the outputs.
fn command_line() -> Vec<String> {
    std::env::args().collect()
}

/// The files a run reads, for the manifest: the data file and any other named.
fn inputs(files: &[Option<&Path>]) -> Vec<String> {
    files.iter().flatten().map(|p| p.display().to_string()).collect()
}

/// Reports the deep dive's events as lines and its stages on the bar.
fn deep_dive_progress(reporter: &Reporter, event: &DeepDiveEvent<'_>, started: &std::sync::Mutex<Vec<f64>>) {
    match event {
        DeepDiveEvent::Loading { experiments } => {
            reporter.line(&format!("deep dive: reading the rows of {}", plural(*experiments, "experiment")))
        }
        DeepDiveEvent::Started { index, total, pair } => {
            reporter.line(&format!(
                "deep dive {}/{total}: {} / {} / {} ...",
                index + 1,
                pair.experiment,
                pair.metric,
                pair.arm
            ));
            reporter.set_prefix(format!("pair {}/{total}: ", index + 1));
        }
        DeepDiveEvent::Progress { stage, done, total } => reporter.stage(stage, *done, *total),
        DeepDiveEvent::Finished { index, total, seconds, ok, .. } => {
            let mut times = started.lock().unwrap_or_else(|e| e.into_inner());
            times.push(*seconds);
            let left = total - index - 1;
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            let eta = if left > 0 { format!("; {}", progress::eta(mean * left as f64)) } else { String::new() };
            reporter.line(&format!(
                "deep dive {}/{total}: {} in {seconds:.1} s{eta}",
                index + 1,
                if *ok { "done" } else { "failed" }
            ));
        }
        _ => {}
    }
}

/// What a scan reads and writes besides the results.
#[derive(Default)]
struct ScanIo<'a> {
    stats_input: bool,
    export_stats: Option<&'a Path>,
    report: Option<&'a Path>,
    config_file: Option<&'a Path>,
    quiet: bool,
    timings: bool,
}

fn scan(args: &ScanArgs) -> Result<()> {
    let config = args.config()?;
    let io = ScanIo {
        stats_input: args.stats,
        export_stats: args.export_stats.as_deref(),
        report: args.report.as_deref(),
        config_file: args.config.as_deref(),
        quiet: args.quiet,
        timings: args.timings,
    };
    run_scan(&args.file, &config, &args.out, command_line(), io)
}

fn run_scan(file: &Path, config: &Config, out: &Path, command: Vec<String>, io: ScanIo<'_>) -> Result<()> {
    let (quiet, timings) = (io.quiet, io.timings);
    let start = Instant::now();
    // Every output is checked for writing before any computing.
    let mut outputs = ScanOutputs::prepare(out, command, &inputs(&[Some(file), io.config_file]))?;
    for path in [io.export_stats, io.report].into_iter().flatten() {
        cateye::check_writable(path)?;
    }
    let source = Source::open(file)?;
    let reporter = Reporter::new(quiet);
    let pair_times = std::sync::Mutex::new(Vec::new());
    let events = |event: ScanEvent<'_>| match event {
        ScanEvent::Rows { read, total } => reporter.stage("reading rows", read, total.unwrap_or(0)),
        ScanEvent::DeepDive(e) => deep_dive_progress(&reporter, &e, &pair_times),
        _ => {}
    };
    let (stats, report) = if io.stats_input {
        let (stats, report) = cateye::scan::scan_stats(&source, config)?;
        outputs.write(&report)?;
        (stats, report)
    } else {
        cateye::scan::scan_into(&source, config, &events, &mut outputs)?
    };
    reporter.finish();
    if let Some(path) = io.export_stats {
        cateye::scan::write_stats_table(&stats, path)?;
    }
    if let Some(path) = io.report {
        cateye_report::write(&Results::scan(&report), path)?;
    }
    if !quiet {
        print!("{}", render::scan_summary(&report));
        let files: Vec<String> = outputs
            .manifest()
            .files
            .iter()
            .map(|f| out.join(&f.file).display().to_string())
            .chain(io.report.map(|p| p.display().to_string()))
            .collect();
        println!("\nResults: {}", files.join(", "));
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
    let mut out = OutputDir::prepare(&args.out, command_line(), &inputs(&[Some(&args.file)]))?;
    for path in [&args.save_model, &args.report].into_iter().flatten() {
        cateye::check_writable(path)?;
    }
    let source = Source::open(&args.file)?;
    let reporter = Reporter::new(args.quiet);
    let mut run = cateye::forest::fit_forest_reporting(&source, &args.spec(), &|s, d, t| reporter.stage(s, d, t))?;
    reporter.finish();
    run.write(&mut out, &format!("cate.{}", args.format.extension()))?;
    if let Some(path) = &args.report {
        cateye_report::write(&Results::forest(&run.summary), path)?;
    }
    if let Some(path) = &args.save_model {
        Model::CausalForest(run.model).save(path)?;
    }
    if !args.quiet {
        print!("{}", render::forest_summary(&run.summary));
        if let Some(path) = &args.report {
            println!("\nReport: {}", path.display());
        }
    }
    Ok(())
}

fn cate(args: &CateArgs) -> Result<()> {
    let mut out = OutputDir::prepare(&args.out, command_line(), &inputs(&[Some(&args.file)]))?;
    for path in [&args.save_model, &args.report].into_iter().flatten() {
        cateye::check_writable(path)?;
    }
    let source = Source::open(&args.file)?;
    let reporter = Reporter::new(args.quiet);
    let mut run = cateye::cate::fit_cate_reporting(&source, &args.spec(), &|s, d, t| reporter.stage(s, d, t))?;
    reporter.finish();
    run.write(&mut out, &format!("cate.{}", args.format.extension()))?;
    if let Some(path) = &args.report {
        cateye_report::write(&Results::cate(&run.summary), path)?;
    }
    if let (Some(path), Some(model)) = (&args.save_model, run.model.take()) {
        Model::Cate(model).save(path)?;
    }
    if !args.quiet {
        print!("{}", render::cate_summary(&run.summary));
        println!("\nWrote {}", run.summary.outputs.join(" and "));
        if let Some(path) = &args.report {
            println!("Report: {}", path.display());
        }
    }
    Ok(())
}

fn predict(args: &PredictArgs) -> Result<()> {
    let mut out = OutputDir::prepare(&args.out, command_line(), &inputs(&[Some(&args.model), Some(&args.file)]))?;
    let model = Model::load(&args.model)?;
    let source = Source::open(&args.file)?;
    let reporter = Reporter::new(args.quiet);
    let predictions = model.predict_reporting(&source, &|s, d, t| reporter.stage(s, d, t))?;
    reporter.finish();
    let name = format!("predictions.{}", args.format.extension());
    predictions.stage(&mut out, &name)?;
    out.commit()?;
    if !args.quiet {
        println!(
            "Predicted {} rows of {} with the {} model of {} (covariates {}): {}",
            predictions.num_rows(),
            source.label(),
            model.kind(),
            args.model.display(),
            model.covariates().join(", "),
            args.out.join(&name).display()
        );
    }
    Ok(())
}

/// `cateye report`: saved results as an HTML page.
fn report(results: &Path, out: &Path) -> Result<()> {
    cateye::check_writable(out)?;
    let results = Results::read(results)?;
    cateye_report::write(&results, out)?;
    println!("Report: {}", out.display());
    Ok(())
}

fn network_demo(out: &Path, seed: u64) -> Result<()> {
    let demo = cateye::network::network_demo(out, seed)?;
    print!("{}", render::network_demo_summary(&demo));
    Ok(())
}

fn design(args: &DesignArgs) -> Result<()> {
    let mut out =
        OutputDir::prepare(&args.out, command_line(), &inputs(&[Some(&args.edges.edges), args.nodes.as_deref()]))?;
    let spec = args.spec()?;
    let edges = Source::open(&args.edges.edges)?;
    let nodes = args.nodes.as_deref().map(Source::open).transpose()?;
    let run = cateye::network::design(&edges, nodes.as_ref().map(|n| (n, args.node_column.as_str())), &spec)?;
    let files = run.write(&mut out, &format!("assignment.{}", args.format.extension()))?;
    if !args.quiet {
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        print!("{}", render::design_summary(&run.report, &files));
    }
    Ok(())
}

fn network_effect(args: &NetworkEffectArgs) -> Result<()> {
    let assignment_path = args.assignment();
    let report_path = args.design.join("design.json");
    let mut out = OutputDir::prepare(
        &args.out,
        command_line(),
        &inputs(&[Some(&args.file), Some(&args.edges.edges), Some(&assignment_path), Some(&report_path)]),
    )?;
    let report: cateye::network::DesignReport = cateye::read_json(&report_path)?;
    let edges = Source::open(&args.edges.edges)?;
    let assignment = Source::open(&assignment_path)?;
    let outcomes = Source::open(&args.file)?;
    let effect = cateye::network::network_effect(&edges, &assignment, &report, &outcomes, &args.spec())?;
    let path = out.stage("effect.json", cateye::network::NETWORK_SCHEMA_VERSION)?;
    cateye::write_json(&path, &effect)?;
    out.commit()?;
    if !args.quiet {
        print!("{}", render::network_effect_summary(&effect));
    }
    Ok(())
}

fn simulate_design(args: &SimulateDesignArgs) -> Result<()> {
    let assignment_path = args.assignment();
    let report_path = args.design.join("design.json");
    let mut out = OutputDir::prepare(
        &args.out,
        command_line(),
        &inputs(&[Some(&args.edges.edges), Some(&assignment_path), Some(&report_path)]),
    )?;
    let report: cateye::network::DesignReport = cateye::read_json(&report_path)?;
    let edges = Source::open(&args.edges.edges)?;
    let assignment = Source::open(&assignment_path)?;
    let table = cateye::network::simulate_design(&edges, &assignment, &report, &args.spec())?;
    let path = out.stage("simulation.json", cateye::network::NETWORK_SCHEMA_VERSION)?;
    cateye::write_json(&path, &table)?;
    out.commit()?;
    if !args.quiet {
        print!("{}", render::simulation_summary(&table));
    }
    Ok(())
}

fn privatize(args: &PrivatizeArgs) -> Result<()> {
    // The manifest records neither the seed nor a checksum of the input: either would let the
    // release be undone (a hash of the clear outcomes can be tested against guesses).
    let command = cateye_cli::privacy_args::redact_seed(&command_line());
    let mut out = OutputDir::prepare(&args.out, command, &[])?;
    let source = Source::open(&args.file)?;
    let released = cateye::privacy::privatize_table(&source, &args.spec())?;
    let table = format!("released.{}", args.format.extension());
    let path = out.stage(&table, cateye::JOB_SCHEMA_VERSION)?;
    cateye::write_batches(&path, released.schema.clone(), released.batches.iter().cloned())?;
    let path = out.stage("mechanism.json", cateye::JOB_SCHEMA_VERSION)?;
    cateye::write_json(&path, &released.mechanism)?;
    let files = out.commit()?;
    if !args.quiet {
        let rows = released.batches.iter().map(|b| b.num_rows()).sum();
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        print!("{}", render::privatize_summary(&released.mechanism, rows, &files));
    }
    Ok(())
}

fn dp_effect(args: &DpEffectArgs) -> Result<()> {
    let mut out = OutputDir::prepare(&args.out, command_line(), &inputs(&[Some(&args.file), Some(&args.mechanism)]))?;
    let mechanism: cateye::privacy::ReleasedMechanism = cateye::read_json(&args.mechanism)?;
    let source = Source::open(&args.file)?;
    let effect = cateye::privacy::dp_effect_table(&source, &args.spec(), &mechanism)?;
    let path = out.stage("effect.json", cateye::JOB_SCHEMA_VERSION)?;
    cateye::write_json(&path, &effect)?;
    out.commit()?;
    if !args.quiet {
        print!("{}", render::dp_effect_summary(&effect, args.level));
    }
    Ok(())
}

/// `cateye stats-sql`: the query that computes the statistics table, on stdout.
fn stats_sql(args: &StatsSqlArgs) -> Result<()> {
    print!("{}", args.query()?.sql(args.dialect)?);
    Ok(())
}

/// A command line as a person would type it: arguments with spaces or shell characters quoted.
fn shell_words(words: &[String]) -> String {
    let safe = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
    words
        .iter()
        .map(|w| if safe(w) { w.clone() } else { format!("'{}'", w.replace('\'', r"'\''")) })
        .collect::<Vec<_>>()
        .join(" ")
}

fn demo(out: &Path, seed: u64) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot write", out.display()))?;
    cateye::check_writable(&out.join("demo.parquet"))?;
    let data = out.join("demo.parquet");
    let spec = cateye::demo::demo_spec(seed);
    cateye::demo::write_table(&spec, &data)?;
    println!("Demo data: {} written to {}\n", plural(spec.experiments.len(), "experiment"), data.display());
    let config = Config::new(cateye::demo::scan_config(&spec), Default::default());
    let results = out.join("results");
    // The scan that the demo runs, as a command: the demo's columns named, everything else default.
    let command: Vec<String> = [
        "cateye".to_string(),
        "scan".into(),
        data.display().to_string(),
        "--metrics".into(),
        spec.metric_columns().join(","),
        "--dimensions".into(),
        spec.dimension_columns().join(","),
        "--out".into(),
        results.display().to_string(),
        "--report".into(),
        out.join("report.html").display().to_string(),
    ]
    .into();
    let report = out.join("report.html");
    let io = ScanIo { timings: true, report: Some(&report), ..ScanIo::default() };
    run_scan(&data, &config, &results, command.clone(), io)?;
    println!("\nPlanted in the demo data (effect shifts in units of the metric's noise scale; every other effect is constant):");
    for line in spec.truth() {
        println!("  {line}");
    }
    println!(
        "\nThe same scan from the command line (`cargo run --release --` in place of `cateye` in the source tree):"
    );
    println!("  {}", shell_words(&command));
    // One trial with known effects for `cateye forest` and `cateye cate` (README's examples).
    let trial = out.join("trial.parquet");
    let sim = cateye::demo::nie_wager(cateye::demo::Setup::A, 4000, 6, 1.0, seed);
    let table = cateye::demo::trial_table(&sim);
    cateye::write_atomically(&trial, |tmp| cateye::write_batches(tmp, table.schema(), [table]))?;
    println!(
        "\nTrial data: {} rows of one experiment (covariates x1..x6, treatment w, outcome y; true effect tau and \
         propensity e beside them) written to {}",
        sim.y.len(),
        trial.display()
    );
    Ok(())
}
