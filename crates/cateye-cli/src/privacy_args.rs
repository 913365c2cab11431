//! Arguments of `cateye privatize` and `cateye dp-effect`: outcomes released under label
//! differential privacy (Cluster-DP) and the effects estimated from them.

use crate::args::UnitFormat;
use cateye::privacy::{BudgetSplit, DpEffectSpec, EffectOptions, PriorKind, PrivatizeSpec, Rounding, Weighting};
use clap::Args;
use std::hash::BuildHasher;
use std::path::PathBuf;

/// Arguments of `cateye privatize`.
#[derive(Args)]
pub struct PrivatizeArgs {
    /// Parquet, CSV or Arrow IPC file, one row per unit.
    pub file: PathBuf,
    /// Outcome column (numeric): the label to protect.
    #[arg(long)]
    pub outcome: String,
    /// Treatment column (0/1 or boolean).
    #[arg(long)]
    pub treatment: String,
    /// Cluster column (non-sensitive groups: a country, a region, a graph community)
    /// [default: none: one cluster].
    #[arg(long)]
    pub cluster: Option<String>,
    /// Columns copied to the released table unchanged (unit ids), comma separated; never the
    /// outcome [default: none].
    #[arg(long, value_delimiter = ',')]
    pub keep: Option<Vec<String>>,
    /// Privacy budget ε of every unit's outcome (label differential privacy; above 0).
    #[arg(long)]
    pub epsilon: f64,
    /// Where resampled outcomes come from: uniform (every level alike), cluster (the noisy
    /// distribution of the unit's cluster and arm: Cluster-DP) or cluster-free (its arm's). At
    /// equal pure ε the uniform prior has the lowest variance (README: "Outcomes under label
    /// differential privacy"); cluster beats cluster-free.
    #[arg(long, default_value = "uniform")]
    pub prior: PriorKind,
    /// Lower clipping bound of the outcome, fixed in advance (the data's own range would leak).
    #[arg(long, allow_negative_numbers = true)]
    pub lo: f64,
    /// Upper clipping bound of the outcome, fixed in advance.
    #[arg(long, allow_negative_numbers = true)]
    pub hi: f64,
    /// Levels of the outcome grid on [lo, hi].
    #[arg(long, default_value_t = 101)]
    pub levels: usize,
    /// Rounding onto the grid: stochastic (unbiased) or nearest.
    #[arg(long, default_value = "stochastic")]
    pub rounding: Rounding,
    /// Share of ε spent on the noisy cluster distributions (cluster and cluster-free priors).
    #[arg(long, default_value_t = BudgetSplit::default().prior_share)]
    pub prior_share: f64,
    /// The floor γ of the released distributions as a fraction of 1/levels (cluster and
    /// cluster-free priors).
    #[arg(long, default_value_t = BudgetSplit::default().gamma_fraction)]
    pub gamma_fraction: f64,
    /// Seed of the release. Keep it secret: with it the release can be undone. It is never
    /// written to the outputs [default: drawn by the operating system].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder: released.parquet (or .csv), mechanism.json (publish both) and manifest.json.
    #[arg(long, default_value = "cateye-privatize-out")]
    pub out: PathBuf,
    /// Released table format.
    #[arg(long, value_enum, default_value_t = UnitFormat::Parquet)]
    pub format: UnitFormat,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl PrivatizeArgs {
    /// The release these arguments describe; without `--seed`, a seed from the operating
    /// system's randomness.
    pub fn spec(&self) -> PrivatizeSpec {
        let seed = self.seed.unwrap_or_else(|| std::collections::hash_map::RandomState::new().hash_one(0u8));
        PrivatizeSpec {
            outcome: self.outcome.clone(),
            treatment: self.treatment.clone(),
            cluster: self.cluster.clone(),
            keep: self.keep.clone().unwrap_or_default(),
            epsilon: self.epsilon,
            prior: self.prior,
            split: BudgetSplit { prior_share: self.prior_share, gamma_fraction: self.gamma_fraction },
            lo: self.lo,
            hi: self.hi,
            levels: self.levels,
            rounding: self.rounding,
            seed,
        }
    }
}

/// The command line with the value of `--seed` replaced by `<secret>`, for the manifest.
pub fn redact_seed(words: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut hide_next = false;
    for w in words {
        if hide_next {
            out.push("<secret>".to_string());
            hide_next = false;
        } else if w == "--seed" {
            out.push(w.clone());
            hide_next = true;
        } else if w.starts_with("--seed=") {
            out.push("--seed=<secret>".to_string());
        } else {
            out.push(w.clone());
        }
    }
    out
}

/// Arguments of `cateye dp-effect`.
#[derive(Args)]
pub struct DpEffectArgs {
    /// The released table (written by `cateye privatize`).
    pub file: PathBuf,
    /// The mechanism file published with it (mechanism.json).
    #[arg(long)]
    pub mechanism: PathBuf,
    /// Released outcome column.
    #[arg(long)]
    pub outcome: String,
    /// Treatment column (0/1 or boolean).
    #[arg(long)]
    pub treatment: String,
    /// The cluster column the release used [default: none].
    #[arg(long)]
    pub cluster: Option<String>,
    /// Combination of clusters: stratified (each cluster's difference weighted by its size) or
    /// pooled (one difference of debiased means).
    #[arg(long, default_value = "stratified")]
    pub weighting: Weighting,
    /// Level of the confidence interval.
    #[arg(long, default_value_t = 0.95)]
    pub level: f64,
    /// Output folder: effect.json and manifest.json.
    #[arg(long, default_value = "cateye-dp-effect-out")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

impl DpEffectArgs {
    /// The estimation these arguments describe.
    pub fn spec(&self) -> DpEffectSpec {
        DpEffectSpec {
            outcome: self.outcome.clone(),
            treatment: self.treatment.clone(),
            cluster: self.cluster.clone(),
            options: EffectOptions { weighting: self.weighting, level: self.level },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_never_reaches_the_manifest() {
        let words: Vec<String> =
            ["cateye", "privatize", "x.csv", "--seed", "17", "--seed=18"].iter().map(|s| s.to_string()).collect();
        let kept = redact_seed(&words).join(" ");
        assert!(!kept.contains("17") && !kept.contains("18"), "{kept}");
    }
}
