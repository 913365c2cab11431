//! `cateye bench forest | forest-scaling`: the causal forest end to end on simulated data
//! (Nie & Wager setup A), with its accuracy against the true effects.

use cateye_forest::simulate::{nie_wager, Setup};
use cateye_forest::{fit_causal_forest, ForestOptions, Propensity, DEFAULT_MAX_BINS};
use cateye_scan::ScanError;
use std::time::Instant;

fn failed(message: impl std::fmt::Display) -> ScanError {
    ScanError::Io { file: "bench forest".into(), message: message.to_string() }
}

pub fn forest(rows: usize, covariates: usize, trees: usize) -> Result<(), ScanError> {
    let sim = nie_wager(Setup::A, rows, covariates.max(5), 1.0, 7);
    let start = Instant::now();
    let data = sim.forest_data(DEFAULT_MAX_BINS).map_err(failed)?;
    let binning = start.elapsed().as_secs_f64();
    let options = ForestOptions { num_trees: trees, seed: 1, ..ForestOptions::default() };
    let input = sim.causal_input(Propensity::Estimate);
    let fit = fit_causal_forest(&data, input, &options).map_err(failed)?;
    let total = start.elapsed().as_secs_f64();
    let n = rows as f64;
    let rmse = (fit.oob.tau.iter().zip(&sim.tau).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n).sqrt();
    let covered = (0..rows)
        .filter(|&i| (fit.oob.tau[i] - sim.tau[i]).abs() <= 1.959_964 * fit.oob.variance[i].sqrt())
        .count() as f64
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
        crate::peak_rss_bytes().map_or("n/a".into(), |b| format!("{:.0} MB", b as f64 / 1e6)),
        fit.forest.trees().num_leaves()
    );
    Ok(())
}

pub fn scaling(rows: &[usize], covariates: usize, trees: usize) -> Result<(), ScanError> {
    let exe = std::env::current_exe().map_err(failed)?;
    for &n in rows {
        let mut command = std::process::Command::new(&exe);
        if let Ok(threads) = std::env::var("RAYON_NUM_THREADS") {
            command.args(["--threads", &threads]);
        }
        let child = command
            .args(["bench", "forest", "--rows", &n.to_string(), "--covariates", &covariates.to_string()])
            .args(["--trees", &trees.to_string()])
            .output()
            .map_err(failed)?;
        if !child.status.success() {
            return Err(failed(format!("n = {n}: {}", String::from_utf8_lossy(&child.stderr))));
        }
        print!("{}", String::from_utf8_lossy(&child.stdout));
    }
    Ok(())
}
