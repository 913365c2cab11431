//! Settings of the deep dive (`[deep_dive]` in the scan's TOML, `--deep-dive*` flags).

use crate::error::DeepDiveError;
use cateye_stats::UnknownChoice;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which flagged pairs get a deep dive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SelectionRepr", into = "SelectionRepr")]
pub enum Selection {
    /// Every flagged pair.
    All,
    /// No flagged pair (pairs named with `--deep-dive-pair` still run).
    None,
    /// The `N` flagged pairs with the strongest evidence.
    Top(usize),
}

/// `pairs = 20` or `pairs = "all"` in TOML.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum SelectionRepr {
    Count(usize),
    Word(String),
}

impl TryFrom<SelectionRepr> for Selection {
    type Error = UnknownChoice;
    fn try_from(r: SelectionRepr) -> Result<Self, UnknownChoice> {
        match r {
            SelectionRepr::Count(n) => Ok(Selection::Top(n)),
            SelectionRepr::Word(w) => w.parse(),
        }
    }
}

impl From<Selection> for SelectionRepr {
    fn from(s: Selection) -> Self {
        match s {
            Selection::Top(n) => SelectionRepr::Count(n),
            other => SelectionRepr::Word(other.to_string()),
        }
    }
}

impl FromStr for Selection {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> Result<Self, UnknownChoice> {
        match s.trim() {
            "all" => Ok(Selection::All),
            "none" | "0" => Ok(Selection::None),
            n => n
                .parse()
                .map(Selection::Top)
                .map_err(|_| UnknownChoice::new("deep-dive selection", s, "all, none or a number of pairs")),
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::All => write!(f, "all"),
            Selection::None => write!(f, "none"),
            Selection::Top(n) => write!(f, "{n}"),
        }
    }
}

/// Everything the deep dive needs besides the data and the scan's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DeepDiveConfig {
    /// Flagged pairs to analyse (default: the 20 with the strongest evidence).
    pub pairs: Selection,
    /// Pairs analysed whether flagged or not: `experiment:metric` or `experiment:metric:arm`.
    pub requested: Vec<String>,
    /// Numeric columns added as forest covariates (besides the dimensions and the CUPED column).
    pub covariates: Vec<String>,
    /// Trees of the causal forest.
    pub trees: usize,
    /// Minimum leaf size of the causal forest (grf's `min.node.size`: treated and control units
    /// each); default (`None`): `max(5, s · min(e, 1 − e) / 200)` with `s` the units a tree
    /// splits on (half its subsample), i.e. grf's 5 for small or unbalanced pairs and at most
    /// about 19 once the subsample is capped.
    pub min_node_size: Option<usize>,
    /// Fraction of units each tree is grown on (grf's `sample.fraction`); default (`None`):
    /// `min(0.5, 15,000 / n)`, grf's 0.5 up to 30,000 units. Larger subsamples cost time in
    /// proportion and buy little for the dimension-level structure a deep dive is after; the
    /// theory of honest forests (Wager & Athey 2018) wants the subsample to grow more slowly
    /// than `n` anyway.
    pub sample_fraction: Option<f64>,
    /// Permutations of the randomization test.
    pub permutations: usize,
    /// Points of the grid over the effect's confidence interval in the randomization test.
    pub grid: usize,
    /// Ding, Feller & Miratrix's γ: the confidence level of that interval is 1 − γ, and γ is
    /// added to the maximal p-value.
    pub gamma: f64,
    /// Dimensions whose levels are characterized (the top ones of the deep dive's ranking).
    pub top_dimensions: usize,
    /// Bins of the effect histograms.
    pub histogram_bins: usize,
    /// Depth (1 or 2) of the subgroup rules.
    pub rule_depth: usize,
    /// Fewest search units in a subgroup leaf.
    pub rule_min_leaf: usize,
    /// Level of the test a second-level subgroup split must pass (Bonferroni over dimensions).
    pub rule_alpha: f64,
    /// Bootstrap replicates of RATE.
    pub rate_bootstrap: usize,
    /// Bootstrap replicates behind the intervals of the variance decomposition.
    pub variance_bootstrap: usize,
    /// Most units a pair is analysed on: a larger pair is deep-dived on a seeded random
    /// subsample of this many units, stratified by arm (and the report says so). At 2.5 million
    /// units a forest, the randomization test and the subgroup search take minutes; 200,000 units
    /// already resolve the dimension-level structure a deep dive is after.
    pub max_units: usize,
    /// Seed of every random step: outcome-model folds, forest, bootstraps, permutations, subgroup halves.
    pub seed: u64,
}

impl Default for DeepDiveConfig {
    fn default() -> Self {
        Self {
            pairs: Selection::Top(20),
            requested: Vec::new(),
            covariates: Vec::new(),
            trees: 2000,
            min_node_size: None,
            sample_fraction: None,
            permutations: 1000,
            grid: 21,
            gamma: 0.001,
            top_dimensions: 3,
            histogram_bins: 40,
            rule_depth: 2,
            rule_min_leaf: 200,
            rule_alpha: 0.05,
            rate_bootstrap: 200,
            variance_bootstrap: 200,
            max_units: 200_000,
            seed: 0,
        }
    }
}

impl DeepDiveConfig {
    /// `(sample_fraction, min_node_size)` for a pair of `n` units with propensity `e` (see the
    /// fields).
    pub fn forest_size(&self, n: usize, e: f64) -> (f64, usize) {
        let fraction = self.sample_fraction.unwrap_or_else(|| (15_000.0 / n as f64).min(0.5));
        let splitting = 0.5 * fraction * n as f64;
        let minority = e.min(1.0 - e);
        (fraction, self.min_node_size.unwrap_or(((splitting * minority / 200.0) as usize).max(5)))
    }

    /// Check the numeric settings; the error says what is wrong and what was expected.
    pub fn validate(&self) -> Result<(), DeepDiveError> {
        self.problem().map_or(Ok(()), |p| Err(DeepDiveError::Config(p)))
    }

    fn problem(&self) -> Option<String> {
        if self.trees < 2 {
            return Some(format!(
                "--deep-dive-trees {} (deep_dive.trees in a config file): expected at least 2",
                self.trees
            ));
        }
        if let Some(f) = self.sample_fraction.filter(|f| !(*f > 0.0 && *f <= 0.5)) {
            return Some(format!("deep_dive.sample_fraction = {f}: expected a number in (0, 0.5]"));
        }
        if self.min_node_size == Some(0) {
            return Some("deep_dive.min_node_size = 0: expected a positive number".into());
        }
        if self.permutations == 0 {
            return Some(
                "--deep-dive-permutations 0 (deep_dive.permutations in a config file): expected a positive number"
                    .into(),
            );
        }
        if self.grid == 0 {
            return Some("deep_dive.grid = 0: expected a positive number".into());
        }
        if !(self.gamma > 0.0 && self.gamma < 0.5) {
            return Some(format!("deep_dive.gamma = {}: expected a number in (0, 0.5)", self.gamma));
        }
        if !(1..=2).contains(&self.rule_depth) {
            return Some(format!("deep_dive.rule_depth = {}: expected 1 or 2", self.rule_depth));
        }
        if self.max_units < 1000 {
            return Some(format!(
                "--deep-dive-max-units {} (deep_dive.max_units in a config file): expected at least 1000",
                self.max_units
            ));
        }
        if self.histogram_bins < 2 || self.rate_bootstrap < 2 || self.variance_bootstrap < 2 || self.rule_min_leaf == 0
        {
            return Some(
                "deep_dive.histogram_bins, rate_bootstrap and variance_bootstrap must be at least 2, rule_min_leaf \
                 positive"
                    .into(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_parses_words_and_counts() {
        assert_eq!("all".parse::<Selection>(), Ok(Selection::All));
        assert_eq!("none".parse::<Selection>(), Ok(Selection::None));
        assert_eq!("7".parse::<Selection>(), Ok(Selection::Top(7)));
        assert!("many".parse::<Selection>().unwrap_err().to_string().contains("'many'"));
        let c: DeepDiveConfig = toml::from_str("pairs = 5\ntrees = 100").unwrap();
        assert_eq!((c.pairs, c.trees), (Selection::Top(5), 100));
        let c: DeepDiveConfig = toml::from_str("pairs = \"all\"").unwrap();
        assert_eq!(c.pairs, Selection::All);
    }
}

cateye_stats::settings_with!(DeepDiveConfig);
