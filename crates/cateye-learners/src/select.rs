//! Model selection among CATE estimators by held-out losses that need no true effects:
//!
//! - **R-loss** (Nie & Wager 2021, §4): `mean_i ((Y_i − m̂(X_i)) − (W_i − ê(X_i)) τ̂(X_i))²`;
//! - **DR-loss** (Kennedy 2023; Saito & Yasui 2020): `mean_i (Γ_i − τ̂(X_i))²` with the doubly
//!   robust pseudo-outcomes Γ.
//!
//! Both are computed with one set of cross-fitted scoring nuisances for every candidate and with
//! each candidate's out-of-fold estimates; up to a constant that does not depend on τ̂ they
//! estimate the (propensity-weighted) mean squared error of τ̂.

use serde::{Deserialize, Serialize};

/// The loss used to rank candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionLoss {
    R,
    Dr,
}

impl std::str::FromStr for SelectionLoss {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "r" => Ok(SelectionLoss::R),
            "dr" => Ok(SelectionLoss::Dr),
            _ => Err(format!("unknown selection loss '{s}': expected r or dr")),
        }
    }
}

/// One candidate's held-out losses (mean and standard error over the pair's rows).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SelectionRow {
    /// e.g. "DR-learner/forest", "DR-learner/forest + calibration".
    pub candidate: String,
    pub learner: String,
    pub base: Option<String>,
    pub calibrated: bool,
    pub r_loss: f64,
    pub r_loss_se: f64,
    pub dr_loss: f64,
    pub dr_loss_se: f64,
    /// 1 = best by the ranking loss.
    pub rank: usize,
}

/// Mean and standard error (sample SD / √n) of per-row values; NaN for no values.
pub fn mean_and_se(values: impl Iterator<Item = f64>) -> (f64, f64) {
    // Welford's update: no cancellation when the mean is large against the spread.
    let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for v in values {
        n += 1.0;
        let delta = v - mean;
        mean += delta / n;
        m2 += delta * (v - mean);
    }
    if n == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let var = m2 / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
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

#[cfg(test)]
mod tests {
    use super::mean_and_se;

    #[test]
    fn mean_and_se_is_exact_far_from_zero() {
        // 1e9 + {1, 2, 3, 4}: mean 1e9 + 2.5, sample variance 5/3, SE √(5/3)/2. A sum of squares
        // would lose every digit of the variance to cancellation here.
        let (mean, se) = mean_and_se([1.0, 2.0, 3.0, 4.0].into_iter().map(|v| 1e9 + v));
        assert_eq!(mean, 1e9 + 2.5);
        assert!((se - (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-9, "{se}");
        assert!(mean_and_se(std::iter::empty()).0.is_nan());
        assert_eq!(mean_and_se(std::iter::once(3.0)), (3.0, 0.0));
    }
}
