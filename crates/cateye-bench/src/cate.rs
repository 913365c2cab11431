//! `cateye bench cate | cate-select`: the CATE learners end to end on Nie & Wager setup A
//! (estimated propensity), with time, peak memory and PEHE against the true effects.

use crate::{io_error, peak_rss_text, Result};
use cateye_learners::{estimate_cate, pehe, BaseKind, CateConfig, Learner, Propensity};
use cateye_sim::{nie_wager, Setup};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// What `cate` and `cate-select` run.
pub(crate) struct Options {
    pub rows: usize,
    pub covariates: usize,
    pub trees: usize,
    pub select: bool,
    pub write_csv: Option<PathBuf>,
}

/// The DR-learner (or the selection table) on setup A.
pub(crate) fn run(options: &Options) -> Result<()> {
    let p = options.covariates.max(5);
    let sim = nie_wager(Setup::A, options.rows, p, 1.0, 11);
    if let Some(path) = &options.write_csv {
        write_csv(path, &sim).map_err(io_error(path.display()))?;
    }
    let config = CateConfig::default().with(|c| {
        c.method = Learner::Dr;
        c.bases = if options.select { vec![BaseKind::Forest, BaseKind::Boost] } else { vec![BaseKind::Forest] };
        c.calibrate = options.select;
        c.select = options.select;
        c.trees = options.trees;
        c.seed = 3;
    });
    let start = Instant::now();
    let report = estimate_cate(sim.x.clone(), &sim.names(), &sim.y, &sim.w, "y", "w", Propensity::Estimate, &config)?;
    let total = start.elapsed().as_secs_f64();
    let arm = &report.arms[0];
    println!(
        "cate {} n={} p={p} folds={} trees={} threads={}: total {total:.2} s; peak RSS {}; reported {} PEHE {:.4}; ATE {:.4} (SE {:.4}, true {:.4})",
        if options.select { "selection table" } else { "DR-learner/forest" },
        options.rows,
        config.folds,
        options.trees,
        rayon::current_num_threads(),
        peak_rss_text(),
        arm.chosen,
        pehe(&arm.cate, &sim.tau),
        arm.ate,
        arm.ate_se,
        sim.true_ate()
    );
    for t in &arm.timings {
        println!("  {:<28} {:>8.2} s", t.stage, t.seconds);
    }
    if options.select {
        println!("  {:<4} {:<40} {:>10} {:>10} {:>8}", "rank", "candidate", "R-loss", "DR-loss", "PEHE");
        for r in &arm.selection {
            let c = arm.candidates.iter().find(|c| c.candidate == r.candidate).expect("candidate");
            println!(
                "  {:<4} {:<40} {:>10.5} {:>10.4} {:>8.4}",
                r.rank,
                r.candidate,
                r.r_loss,
                r.dr_loss,
                pehe(&c.cate, &sim.tau)
            );
        }
    }
    Ok(())
}

/// The simulated rows as CSV: x1..xp, w, y, tau.
fn write_csv(path: &PathBuf, sim: &cateye_sim::Simulated) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let names = sim.names();
    writeln!(out, "{},w,y,tau", names.join(","))?;
    for i in 0..sim.y.len() {
        for column in &sim.x {
            write!(out, "{},", column[i])?;
        }
        writeln!(out, "{},{},{}", sim.w[i], sim.y[i], sim.tau[i])?;
    }
    out.flush()
}
