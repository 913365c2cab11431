//! `cateye bench forest | forest-scaling`: the causal forest end to end on simulated data
//! (Nie & Wager setup A), with its accuracy against the true effects.

use crate::{io_error, peak_rss_text, BenchError, Result};
use cateye_forest::{fit_causal_forest, CausalInput, ForestData, ForestOptions, Propensity, DEFAULT_MAX_BINS};
use cateye_sim::{nie_wager, Setup};
use cateye_stats::Z_975;
use std::time::Instant;

/// The causal forest end to end on `rows` rows of setup A.
pub(crate) fn forest(rows: usize, covariates: usize, trees: usize) -> Result<()> {
    let sim = nie_wager(Setup::A, rows, covariates.max(5), 1.0, 7);
    let start = Instant::now();
    let data = ForestData::new(&sim.columns(), &sim.names(), DEFAULT_MAX_BINS)?;
    let binning = start.elapsed().as_secs_f64();
    let options = ForestOptions::default().with(|c| {
        c.num_trees = trees;
        c.seed = 1;
    });
    let input = CausalInput {
        y: &sim.y,
        w: &sim.w,
        outcome: "y",
        treatment: "w",
        propensity: Propensity::Estimate,
        y_hat: None,
    };
    let fit = fit_causal_forest(&data, input, &options)?;
    let total = start.elapsed().as_secs_f64();
    let n = rows as f64;
    let rmse = (fit.oob.tau.iter().zip(&sim.tau).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n).sqrt();
    let covered =
        (0..rows).filter(|&i| (fit.oob.tau[i] - sim.tau[i]).abs() <= Z_975 * fit.oob.variance[i].sqrt()).count() as f64
            / n;
    let t = fit.timings;
    println!(
        "forest n={rows} p={} trees={} threads={}: total {total:.2} s (binning {binning:.2}, nuisance {:.2}, \
         forest {:.2}, OOB estimates + variance {:.2}); peak RSS {}; RMSE {rmse:.4}, 95% coverage {covered:.3}, \
         {} leaves",
        covariates.max(5),
        options.trees_grown(),
        rayon::current_num_threads(),
        t.nuisance,
        t.forest,
        t.oob_predictions,
        peak_rss_text(),
        fit.forest.trees().num_leaves()
    );
    Ok(())
}

/// `forest` at each of `rows`, each in a child process (so that peak memory is per size).
pub(crate) fn scaling(rows: &[usize], covariates: usize, trees: usize) -> Result<()> {
    let exe = std::env::current_exe().map_err(io_error("the cateye executable"))?;
    for &n in rows {
        let mut command = std::process::Command::new(&exe);
        if let Ok(threads) = std::env::var("RAYON_NUM_THREADS") {
            command.args(["--threads", &threads]);
        }
        let child = command
            .args(["bench", "forest", "--rows", &n.to_string(), "--covariates", &covariates.to_string()])
            .args(["--trees", &trees.to_string()])
            .output()
            .map_err(io_error("the child forest"))?;
        if !child.status.success() {
            return Err(BenchError::Failed(format!("n = {n}: {}", String::from_utf8_lossy(&child.stderr))));
        }
        print!("{}", String::from_utf8_lossy(&child.stdout));
    }
    Ok(())
}
