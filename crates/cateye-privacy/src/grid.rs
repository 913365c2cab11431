//! The finite outcome space of the mechanism.
//!
//! Cluster-DP releases labels from a finite set `𝒴 = {v_1 < … < v_K}` (the paper assumes a
//! finite response space throughout; continuous outcomes must be binned first). An outcome `x` is handled in two steps:
//!
//! 1. **clipping** to `[v_1, v_K]` (the grid's `lo` and `hi`), and
//! 2. **rounding** to a level: [`Rounding::Nearest`] (the nearest level, ties upward) or
//!    [`Rounding::Stochastic`] (between the two neighbouring levels `v_j ≤ x ≤ v_{j+1}`, up with
//!    probability `(x − v_j)/(v_{j+1} − v_j)`, so that the rounded value has expectation `x`).
//!
//! With stochastic rounding the debiased estimator is unbiased for the effect on the *clipped*
//! outcome; with nearest rounding, for the effect on the rounded outcome. Outcomes that already
//! lie on the grid (binary or integer outcomes with a grid of their levels) are unchanged by
//! both. Rounding is applied before the privacy mechanism and privacy is stated for the rounded
//! label; a released value's likelihood ratio between two raw outcomes is a ratio of mixtures
//! of the per-level probabilities, so it obeys the same bound.

use crate::error::{PrivacyError, Result};
use serde::{Deserialize, Serialize};

/// The largest number of levels of a grid (the mechanism keeps a distribution over the levels
/// for every cluster and arm).
pub const MAX_LEVELS: usize = 10_000;

/// The released outcome levels `v_1 < … < v_K`, at least two, finite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GridRepr", into = "GridRepr")]
pub struct OutcomeGrid {
    levels: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct GridRepr {
    levels: Vec<f64>,
}

impl TryFrom<GridRepr> for OutcomeGrid {
    type Error = PrivacyError;
    fn try_from(repr: GridRepr) -> Result<Self> {
        OutcomeGrid::from_levels(repr.levels)
    }
}

impl From<OutcomeGrid> for GridRepr {
    fn from(grid: OutcomeGrid) -> Self {
        GridRepr { levels: grid.levels }
    }
}

/// How an outcome between two levels becomes a level (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    /// The nearest level (ties go up). Deterministic; the estimand is the effect on the
    /// rounded outcome.
    Nearest,
    /// Up with probability `(x − v_j)/(v_{j+1} − v_j)`: unbiased for the clipped outcome.
    #[default]
    Stochastic,
}

impl std::str::FromStr for Rounding {
    type Err = cateye_stats::UnknownChoice;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "nearest" => Ok(Rounding::Nearest),
            "stochastic" => Ok(Rounding::Stochastic),
            _ => Err(cateye_stats::UnknownChoice::new("rounding", s, "nearest or stochastic")),
        }
    }
}

impl OutcomeGrid {
    /// `k` equally spaced levels from `lo` to `hi` inclusive: `v_j = lo + (hi − lo)·j/(k − 1)`.
    pub fn uniform(lo: f64, hi: f64, k: usize) -> Result<Self> {
        if !lo.is_finite() || !hi.is_finite() || lo >= hi {
            return Err(PrivacyError::Grid(format!("lo = {lo}, hi = {hi}: the bounds must be finite with lo < hi")));
        }
        if !(2..=MAX_LEVELS).contains(&k) {
            return Err(PrivacyError::Grid(format!("{k} levels: expected between 2 and {MAX_LEVELS}")));
        }
        let step = (hi - lo) / (k - 1) as f64;
        let mut levels: Vec<f64> = (0..k).map(|j| lo + step * j as f64).collect();
        levels[k - 1] = hi;
        Self::from_levels(levels)
    }

    /// The levels given, which must be finite and strictly increasing, at least 2 and at most
    /// [`MAX_LEVELS`] of them.
    pub fn from_levels(levels: Vec<f64>) -> Result<Self> {
        if levels.len() < 2 || levels.len() > MAX_LEVELS {
            return Err(PrivacyError::Grid(format!("{} levels: expected between 2 and {MAX_LEVELS}", levels.len())));
        }
        if let Some(j) = levels.iter().position(|v| !v.is_finite()) {
            return Err(PrivacyError::Grid(format!("level {} is {}: levels must be finite", j + 1, levels[j])));
        }
        if let Some(j) = levels.windows(2).position(|w| w[0] >= w[1]) {
            return Err(PrivacyError::Grid(format!(
                "levels {} and {} are {} and {}: levels must be strictly increasing",
                j + 1,
                j + 2,
                levels[j],
                levels[j + 1]
            )));
        }
        Ok(OutcomeGrid { levels })
    }

    /// The levels `v_1 < … < v_K`.
    pub fn levels(&self) -> &[f64] {
        &self.levels
    }

    /// The number of levels `K`.
    pub fn k(&self) -> usize {
        self.levels.len()
    }

    /// The lowest level (outcomes below are clipped to it).
    pub fn lo(&self) -> f64 {
        self.levels[0]
    }

    /// The highest level (outcomes above are clipped to it).
    pub fn hi(&self) -> f64 {
        self.levels[self.levels.len() - 1]
    }

    /// The index of the level equal to `value` (to a relative tolerance of 1e-9 of the grid's
    /// span), or `None` when `value` is not a level. Used to read released outcomes back.
    pub fn index_of(&self, value: f64) -> Option<usize> {
        if !value.is_finite() {
            return None;
        }
        let tol = 1e-9 * (self.hi() - self.lo()).max(value.abs()).max(f64::MIN_POSITIVE);
        let (j, _) = self.locate(value);
        [j, (j + 1).min(self.k() - 1)].into_iter().find(|&c| (self.levels[c] - value).abs() <= tol)
    }

    /// The clipped position of `x`: the index `j` with `v_j ≤ x < v_{j+1}` (or `K − 1` at the
    /// top) and the fraction `t = (x − v_j)/(v_{j+1} − v_j)` of the way to the next level.
    pub(crate) fn locate(&self, x: f64) -> (usize, f64) {
        let k = self.k();
        if x <= self.levels[0] {
            return (0, 0.0);
        }
        if x >= self.levels[k - 1] {
            return (k - 1, 0.0);
        }
        // First index with level > x, minus one.
        let j = self.levels.partition_point(|&v| v <= x) - 1;
        let t = (x - self.levels[j]) / (self.levels[j + 1] - self.levels[j]);
        (j, t)
    }

    /// The level index of `x` under `rounding`; `u` is a uniform draw in `[0, 1)` used by
    /// stochastic rounding only.
    pub(crate) fn discretize(&self, x: f64, rounding: Rounding, u: f64) -> usize {
        let (j, t) = self.locate(x);
        if t <= 0.0 {
            return j;
        }
        let up = match rounding {
            Rounding::Nearest => t >= 0.5,
            Rounding::Stochastic => u < t,
        };
        if up {
            j + 1
        } else {
            j
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_grid_and_lookup() {
        let g = OutcomeGrid::uniform(0.0, 1.0, 5).unwrap();
        assert_eq!(g.levels(), &[0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(g.index_of(0.75), Some(3));
        assert_eq!(g.index_of(1.0), Some(4));
        assert_eq!(g.index_of(0.3), None);
        assert_eq!(g.index_of(f64::NAN), None);
        assert_eq!(g.discretize(-3.0, Rounding::Nearest, 0.0), 0);
        assert_eq!(g.discretize(7.0, Rounding::Stochastic, 0.0), 4);
        assert_eq!(g.discretize(0.375, Rounding::Nearest, 0.0), 2); // tie goes up
        assert_eq!(g.discretize(0.3, Rounding::Nearest, 0.0), 1);
        // Stochastic: 0.3 is 20% of the way from 0.25 to 0.5.
        assert_eq!(g.discretize(0.3, Rounding::Stochastic, 0.19), 2);
        assert_eq!(g.discretize(0.3, Rounding::Stochastic, 0.21), 1);
        // A value on a level never moves.
        assert_eq!(g.discretize(0.5, Rounding::Stochastic, 0.0), 2);
    }

    #[test]
    fn bad_grids_name_the_value() {
        let e = OutcomeGrid::uniform(1.0, 1.0, 3).unwrap_err().to_string();
        assert!(e.contains("lo = 1") && e.contains("hi = 1"), "{e}");
        let e = OutcomeGrid::uniform(0.0, 1.0, 1).unwrap_err().to_string();
        assert!(e.contains("1 levels"), "{e}");
        let e = OutcomeGrid::from_levels(vec![0.0, 2.0, 1.0]).unwrap_err().to_string();
        assert!(e.contains("2 and 1"), "{e}");
        let e = OutcomeGrid::from_levels(vec![0.0, f64::NAN]).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
    }

    #[test]
    fn serde_validates() {
        let g: OutcomeGrid = serde_json::from_str(r#"{"levels":[0.0,1.0,3.0]}"#).unwrap();
        assert_eq!(g.k(), 3);
        assert!(serde_json::from_str::<OutcomeGrid>(r#"{"levels":[1.0,0.0]}"#).is_err());
        assert_eq!(serde_json::to_string(&g).unwrap(), r#"{"levels":[0.0,1.0,3.0]}"#);
    }
}
