//! Model selection among CATE estimators by held-out losses that need no true effects:
//!
//! - **R-loss** (Nie & Wager 2021, §4): `mean_i ((Y_i − m̂(X_i)) − (W_i − ê(X_i)) τ̂(X_i))²`;
//! - **DR-loss** (Kennedy 2023; Saito & Yasui 2020): `mean_i (Γ_i − τ̂(X_i))²` with the doubly
//!   robust pseudo-outcomes Γ.
//!
//! Both are computed with one set of cross-fitted scoring nuisances for every candidate and with
//! each candidate's out-of-fold estimates; up to a constant that does not depend on τ̂ they
//! estimate the (propensity-weighted) mean squared error of τ̂.

use cateye_stats::UnknownChoice;
use serde::{Deserialize, Serialize};

/// The loss used to rank candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionLoss {
    /// R-loss (Nie & Wager 2021).
    R,
    /// Doubly robust loss (Kennedy 2023).
    Dr,
}

impl std::str::FromStr for SelectionLoss {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> Result<Self, UnknownChoice> {
        match s {
            "r" => Ok(SelectionLoss::R),
            "dr" => Ok(SelectionLoss::Dr),
            _ => Err(UnknownChoice::new("selection loss", s, "r or dr")),
        }
    }
}

/// One candidate's held-out losses (mean and standard error over the pair's rows).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelectionRow {
    /// e.g. "DR-learner/forest", "DR-learner/forest + calibration".
    pub candidate: String,
    /// The learner's name (`s`, `t`, `x`, `r`, `dr` or `forest`).
    pub learner: String,
    /// The base learner's name (`None` for the causal forest).
    pub base: Option<String>,
    /// Whether calibrated; scored with maps fitted without each row's fold.
    pub calibrated: bool,
    /// Mean R-loss over the pair's rows (NaN without the scoring `m̂`).
    pub r_loss: f64,
    /// Standard error of `r_loss`.
    pub r_loss_se: f64,
    /// Mean DR-loss over the pair's rows.
    pub dr_loss: f64,
    /// Standard error of `dr_loss`.
    pub dr_loss_se: f64,
    /// 1 = best by the ranking loss.
    pub rank: usize,
}

/// `(Y − m̂) − (W − ê) τ̂` squared, per row.
pub fn r_loss_terms<'a>(
    tau: &'a [f64],
    y: &'a [f64],
    w: &'a [f64],
    m: &'a [f64],
    e: &'a [f64],
    rows: &'a [usize],
) -> impl Iterator<Item = f64> + 'a {
    rows.iter().map(move |&i| ((y[i] - m[i]) - (w[i] - e[i]) * tau[i]).powi(2))
}

/// `(Γ − τ̂)²` per row.
pub fn dr_loss_terms<'a>(tau: &'a [f64], scores: &'a [f64], rows: &'a [usize]) -> impl Iterator<Item = f64> + 'a {
    rows.iter().map(move |&i| (scores[i] - tau[i]).powi(2))
}

/// Sorts `rows` by the chosen loss (ties by name) and numbers their ranks.
pub fn rank(rows: &mut [SelectionRow], by: SelectionLoss) {
    let key = |r: &SelectionRow| match by {
        SelectionLoss::R => r.r_loss,
        SelectionLoss::Dr => r.dr_loss,
    };
    rows.sort_by(|a, b| key(a).total_cmp(&key(b)).then_with(|| a.candidate.cmp(&b.candidate)));
    for (k, r) in rows.iter_mut().enumerate() {
        r.rank = k + 1;
    }
}
