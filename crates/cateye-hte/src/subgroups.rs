//! Shallow subgroup rules on doubly robust scores: the tree of depth ≤ 2 over discrete features
//! whose leaves best separate the scores `Γ_i` (minimum within-leaf sum of squares, i.e. maximum
//! `Σ_leaves (ΣΓ)²/n`), found by exhaustive search in the manner of policy trees (Athey & Wager
//! 2021; Sverdrup et al. 2020): the root split and both child splits are chosen jointly.
//!
//! Ordered features split at thresholds of their level order. Unordered features split into any
//! two sets of levels: where the squared-error optimum is a threshold of the levels sorted by
//! their mean score (Fisher 1958; Breiman et al. 1984, §9.4) that scan is used; when `min_leaf`
//! rules that threshold out, or at the root of a depth-2 tree (where Fisher's argument does not
//! apply), all `2^(L−1) − 1` partitions of the present levels are enumerated in Gray-code order
//! when `L ≤ 12`, and the mean-sorted thresholds are used above that (exact search is not
//! affordable there). Levels without units in a node are ignored and go with the right side
//! (unordered) or with the levels above the threshold (ordered).
//!
//! Significance of child splits: in a depth-2 tree a child (second-level) split counts only if
//! its gain, the between sum of squares of its two grandchildren, is at least `σ̂² · q`, where
//! `σ̂²` is the sample variance of Γ in the child (search units) and `q` the `1 − α/p` quantile of
//! χ² with `L_g − 1` degrees of freedom (`L_g` levels of the split feature g present in the
//! child, `p` features, α = `split_alpha`); otherwise the child stays a leaf. The gain of any
//! binary partition of g's levels (a threshold of an ordered g is one) is at most the
//! between-level sum of squares of all `L_g` levels, which, when those levels do not differ in
//! effect, is distributed as `σ²·χ²_{L_g−1}` (asymptotically, with σ̂² for σ²). So the threshold
//! is a level-α/p test whatever partition the search picks, and over the p features (Bonferroni)
//! a level-α test that the child needs splitting. Without it a feature with many levels always
//! "explains" noise: the best binary partition of 40 noisy level means gains about `0.64·40·σ²`.
//! The root split is always taken when the tree (root split plus significant child splits)
//! reduces the loss, and root and child splits are still searched jointly, but root splits whose
//! own gain passes the same test (σ̂² of all search units, `L_f − 1` df) come first: when there is
//! one, the root is the best of those. Otherwise the noise of a many-level feature moves to the
//! root (its ~`0.64·40·σ²` beats a real two-group effect at z ≈ 4.8, whose split then passes the
//! test in both children); when no root split is significant, the best root split is taken.
//!
//! The search never passes over the units per candidate: it uses per-level sums of every feature
//! (with `Σ(Γ − Γ̄)²` for the child variances) and the cross-tabulated `(count, ΣΓ)` of every feature pair (one pass over the units; stored
//! once per unordered pair, at most `MAX_CELLS` = 50M cells over ordered pairs), so its cost
//! does not depend on n.
//! Honesty: the tree is searched on a random part of the units and every leaf is re-estimated
//! on the held-out rest (mean score, SE `sd/√n`, and a Welch test against the other leaves).
//!
//! Whether the rules hold out: one Wald test of equal held-out means across the leaves,
//! `Q = Σ_j (m_j − m̄)² n_j / s²_j` with `m̄` the precision-weighted mean, against `χ²` with
//! `leaves − 1` df (Cochran's Q on the leaves' held-out means). The search tried many rules, but
//! on other units: given the tree, the held-out scores are independent of its choice, so this
//! one test per tree is valid at its level whatever was tried (the sample-splitting argument of
//! Athey & Imbens 2016, "Recursive partitioning for heterogeneous causal effects", PNAS 113).
//! The rules are [`SubgroupRules::supported`] only when it rejects at `holdout_alpha`; otherwise
//! no rule beats the average effect, and reports say so instead of listing the leaves.

use crate::Result;
use cateye_stats::bonferroni_level;
use cateye_stats::normal_sf;
use cateye_stats::stream;
use cateye_stats::{check_finite, column_error, option_error, InputError};
use cateye_stats::{heterogeneity, LevelEffect};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::sync::OnceLock;

/// Random-stream purpose of the search / held-out split.
const PURPOSE_HOLDOUT: u64 = 0x5B6_0001;
/// Up to this many present levels, unordered splits that Fisher's scan cannot settle are found
/// by enumerating every partition.
const EXACT_LEVELS: usize = 12;
/// Largest number of cross-tabulation cells `Σ_{f≠g} L_f·L_g` accepted.
const MAX_CELLS: usize = 50_000_000;
/// Child-split χ² thresholds are cached for up to this many degrees of freedom (computed beyond).
const CACHED_DF: usize = 1024;

/// One discrete feature of the units (an experiment breakdown dimension).
#[derive(Clone, Copy, Debug)]
pub struct RuleFeature<'a> {
    /// Name used in conditions, rules and error messages.
    pub name: &'a str,
    /// Level of each unit: `codes[i] < labels.len()`.
    pub codes: &'a [u32],
    /// Label of each level.
    pub labels: &'a [String],
    /// Whether the level order is meaningful (splits are then thresholds `level ≤ k`).
    pub ordered: bool,
}

/// Options of [`subgroup_rules`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SubgroupOptions {
    /// Maximum depth of the tree: 1 or 2.
    pub depth: usize,
    /// Minimum number of search units in every leaf.
    pub min_leaf: usize,
    /// Share of the units held out for re-estimating the leaves, in (0, 1).
    pub holdout_fraction: f64,
    /// Seed of the search / held-out split.
    pub seed: u64,
    /// Level of the test a child (second-level) split must pass, in (0, 1): its gain must reach
    /// `σ̂²_child` times the `1 − split_alpha/p` quantile of `χ²_{L−1}` (L levels of the split
    /// feature in the child, p features); see the module documentation.
    pub split_alpha: f64,
    /// Level of the held-out test of the tree (module doc): the rules are supported when it
    /// rejects, in (0, 1).
    pub holdout_alpha: f64,
}

impl Default for SubgroupOptions {
    fn default() -> Self {
        SubgroupOptions {
            depth: 2,
            min_leaf: 100,
            holdout_fraction: 0.5,
            seed: 0,
            split_alpha: 0.05,
            holdout_alpha: 0.05,
        }
    }
}

/// The held-out Wald test that the leaves' average effects are equal (module doc).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HoldoutTest {
    /// `Q = Σ_j (m_j − m̄)² n_j / s²_j` over the leaves with at least 2 held-out units.
    pub statistic: f64,
    /// Leaves tested minus one.
    pub df: usize,
    /// Upper `χ²_df` tail of `statistic`.
    pub p_value: f64,
}

/// A unit satisfies the condition when its level of `feature` is one of `levels`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Condition {
    /// Feature name.
    pub feature: String,
    /// Labels of the levels that satisfy the condition, in level order.
    pub levels: Vec<String>,
}

/// One leaf of the subgroup tree with its search-half and held-out estimates.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Subgroup {
    /// Conditions that all hold in the leaf (empty = everyone); one per feature.
    pub conditions: Vec<Condition>,
    /// Readable rule, e.g. `platform = ios AND tenure ∈ {0-7d, 8-30d}`; `all units` for the root.
    pub rule: String,
    /// Search units in the leaf (at least `min_leaf`).
    pub n_search: usize,
    /// Held-out units in the leaf.
    pub n_holdout: usize,
    /// Mean score of the search units (biased upwards in spread by the search).
    pub effect_search: f64,
    /// Mean score of the held-out units: an honest estimate of the leaf's average effect.
    pub effect_holdout: f64,
    /// `sd(Γ)/√n` over the held-out units of the leaf (NaN below 2 units).
    pub se_holdout: f64,
    /// Held-out mean of the leaf minus that of all other held-out units (NaN for a single leaf).
    pub difference_holdout: f64,
    /// Welch standard error of `difference_holdout`.
    pub difference_se: f64,
    /// Two-sided normal p-value of `difference_holdout`.
    pub difference_p_value: f64,
}

/// The subgroup tree of [`subgroup_rules`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubgroupRules {
    /// Maximum depth searched (the tree may be shallower where no split reduces the loss).
    pub depth: usize,
    /// Minimum number of search units per leaf.
    pub min_leaf: usize,
    /// Level of the significance test of child splits (Bonferroni over the features).
    pub split_alpha: f64,
    /// Leaves ordered by held-out effect, largest first.
    pub leaves: Vec<Subgroup>,
    /// Search half: between-leaf sum of squares over the total sum of squares of Γ (an R²).
    pub between_share: f64,
    /// Units the tree was searched on.
    pub n_search: usize,
    /// Units held out for re-estimation.
    pub n_holdout: usize,
    /// The held-out test of equal leaf effects; `None` for a single leaf.
    pub holdout_test: Option<HoldoutTest>,
    /// Level of `holdout_test`.
    pub holdout_alpha: f64,
    /// Whether the leaves' held-out effects differ at `holdout_alpha`: only then do the rules say
    /// more than the average effect.
    pub supported: bool,
}

/// Subgroup rules of depth ≤ `options.depth` on doubly robust scores (one per unit), searched
/// exhaustively (policy-tree style, Athey & Wager 2021) on a random search part of the units and
/// re-estimated on the held-out part. Deterministic for a given seed.
pub fn subgroup_rules(
    scores: &[f64],
    features: &[RuleFeature<'_>],
    options: &SubgroupOptions,
) -> Result<SubgroupRules> {
    let n = scores.len();
    if options.depth != 1 && options.depth != 2 {
        return Err(option_error("depth", format!("must be 1 or 2, got {}", options.depth)));
    }
    if options.min_leaf == 0 {
        return Err(option_error("min_leaf", "must be at least 1"));
    }
    let fraction = options.holdout_fraction;
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(option_error("holdout_fraction", format!("must be in (0, 1), got {fraction}")));
    }
    let alpha = options.split_alpha;
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(option_error("split_alpha", format!("must be in (0, 1), got {alpha}")));
    }
    let holdout_alpha = options.holdout_alpha;
    if !(holdout_alpha > 0.0 && holdout_alpha < 1.0) {
        return Err(option_error("holdout_alpha", format!("must be in (0, 1), got {holdout_alpha}")));
    }
    check_finite("scores", scores, n)?;
    for feature in features {
        if feature.codes.len() != n {
            let message = format!("has {} codes, expected {n} (one per score)", feature.codes.len());
            return Err(column_error(feature.name, message));
        }
        if feature.labels.is_empty() {
            return Err(column_error(feature.name, "has no level labels"));
        }
        if let Some(row) = feature.codes.iter().position(|&c| c as usize >= feature.labels.len()) {
            let message = format!(
                "row {} (1-based) has level code {}, but only {} labels",
                row + 1,
                feature.codes[row],
                feature.labels.len()
            );
            return Err(column_error(feature.name, message));
        }
    }
    if n < 2 {
        return Err(InputError::Data(format!("subgroup rules need at least 2 units, got {n}")));
    }
    let n_holdout = ((n as f64 * fraction).round() as usize).clamp(1, n - 1);
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(&mut stream(options.seed, PURPOSE_HOLDOUT, 0));
    let (holdout, search) = order.split_at_mut(n_holdout);
    holdout.sort_unstable();
    search.sort_unstable();

    let search_scores: Vec<f64> = search.iter().map(|&i| scores[i as usize]).collect();
    let search_codes: Vec<Vec<u32>> =
        features.iter().map(|f| search.iter().map(|&i| f.codes[i as usize]).collect()).collect();
    let code_refs: Vec<&[u32]> = search_codes.iter().map(Vec::as_slice).collect();
    let levels: Vec<usize> = features.iter().map(|f| f.labels.len()).collect();
    let ordered: Vec<bool> = features.iter().map(|f| f.ordered).collect();
    let tree = search_tree(&search_scores, &code_refs, &levels, &ordered, options.depth, options.min_leaf, alpha)?;

    // Leaf statistics: search sums, and held-out sums shifted by the held-out mean (for accuracy).
    let leaves = tree.leaves();
    let k = leaves.len();
    let leaf_of = |i: usize| tree.leaf_of(|f| features[f].codes[i]);
    let (mut search_n, mut search_sum) = (vec![0usize; k], vec![0.0; k]);
    let (mut total, mut total_sq) = (0.0, 0.0);
    for &i in search.iter() {
        let (leaf, g) = (leaf_of(i as usize), scores[i as usize]);
        search_n[leaf] += 1;
        search_sum[leaf] += g;
        total += g;
        total_sq += g * g;
    }
    let shift = holdout.iter().map(|&i| scores[i as usize]).sum::<f64>() / n_holdout as f64;
    let (mut hold_n, mut hold_sum, mut hold_sq) = (vec![0usize; k], vec![0.0; k], vec![0.0; k]);
    for &i in holdout.iter() {
        let (leaf, d) = (leaf_of(i as usize), scores[i as usize] - shift);
        hold_n[leaf] += 1;
        hold_sum[leaf] += d;
        hold_sq[leaf] += d * d;
    }
    let n_search = search.len();
    let explained: f64 = (0..k).map(|j| search_sum[j] * search_sum[j] / search_n[j] as f64).sum();
    let null = total * total / n_search as f64;
    let tss = total_sq - null;
    let between_share = if tss > 0.0 { ((explained - null) / tss).clamp(0.0, 1.0) } else { 0.0 };

    let (all_n, all_sum, all_sq) = (n_holdout, hold_sum.iter().sum::<f64>(), hold_sq.iter().sum::<f64>());
    let mean_var = |n: usize, s: f64, q: f64| -> (f64, f64) {
        let nf = n as f64;
        let mean = s / nf;
        let var = if n >= 2 { ((q - s * mean) / (nf - 1.0)).max(0.0) } else { f64::NAN };
        (mean, var)
    };
    let mut out: Vec<Subgroup> = leaves
        .iter()
        .enumerate()
        .map(|(j, conditions)| {
            let (mean, var) = mean_var(hold_n[j], hold_sum[j], hold_sq[j]);
            let (rest_mean, rest_var) = mean_var(all_n - hold_n[j], all_sum - hold_sum[j], all_sq - hold_sq[j]);
            let (difference, difference_se) = if k > 1 {
                (mean - rest_mean, (var / hold_n[j] as f64 + rest_var / (all_n - hold_n[j]) as f64).sqrt())
            } else {
                (f64::NAN, f64::NAN)
            };
            let conditions: Vec<Condition> =
                conditions.iter().map(|(f, mask)| condition(&features[*f], mask)).collect();
            let rule = if conditions.is_empty() {
                "all units".to_string()
            } else {
                conditions
                    .iter()
                    .zip(leaves[j].iter())
                    .map(|(c, (f, _))| rule_text(c, &features[*f]))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            Subgroup {
                conditions,
                rule,
                n_search: search_n[j],
                n_holdout: hold_n[j],
                effect_search: search_sum[j] / search_n[j] as f64,
                effect_holdout: mean + shift,
                se_holdout: (var / hold_n[j] as f64).sqrt(),
                difference_holdout: difference,
                difference_se,
                difference_p_value: (2.0 * normal_sf((difference / difference_se).abs())).min(1.0),
            }
        })
        .collect();
    let holdout_test = holdout_test(&out);
    let supported = holdout_test.as_ref().is_some_and(|t| t.p_value <= holdout_alpha);
    let key = |s: &Subgroup| if s.effect_holdout.is_nan() { f64::NEG_INFINITY } else { s.effect_holdout };
    out.sort_by(|a, b| key(b).total_cmp(&key(a)));
    Ok(SubgroupRules {
        holdout_test,
        holdout_alpha,
        supported,
        depth: options.depth,
        min_leaf: options.min_leaf,
        split_alpha: alpha,
        leaves: out,
        between_share,
        n_search,
        n_holdout,
    })
}

/// Cochran's Q of the leaves' held-out means against χ² (module doc), by the scan's
/// [`cateye_stats::heterogeneity`] with the leaves' variances taken as known; `None` with fewer
/// than two leaves that have a positive held-out variance.
fn holdout_test(leaves: &[Subgroup]) -> Option<HoldoutTest> {
    let means: Vec<LevelEffect> = leaves
        .iter()
        .map(|l| LevelEffect {
            estimate: l.effect_holdout,
            variance: l.se_holdout * l.se_holdout,
            df: f64::INFINITY,
            share: l.n_holdout as f64,
        })
        .collect();
    let h = heterogeneity(&means)?;
    Some(HoldoutTest { statistic: h.q, df: h.levels - 1, p_value: h.p_value })
}

/// The condition "level of `feature` ∈ levels of `mask`".
fn condition(feature: &RuleFeature<'_>, mask: &[bool]) -> Condition {
    let levels = feature.labels.iter().zip(mask).filter(|(_, &m)| m).map(|(l, _)| l.clone()).collect();
    Condition { feature: feature.name.to_string(), levels }
}

/// `f = a`, `f ∈ {a, b}`, or for unordered features with fewer excluded levels, `f ∉ {c}`.
fn rule_text(condition: &Condition, feature: &RuleFeature<'_>) -> String {
    let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    let included: Vec<&String> = condition.levels.iter().collect();
    let excluded: Vec<&String> = feature.labels.iter().filter(|l| !condition.levels.contains(l)).collect();
    if included.len() == 1 {
        format!("{} = {}", feature.name, included[0])
    } else if !feature.ordered && !excluded.is_empty() && excluded.len() < included.len() {
        format!("{} ∉ {{{}}}", feature.name, list(&excluded))
    } else {
        format!("{} ∈ {{{}}}", feature.name, list(&included))
    }
}

/// A split: units whose level of `feature` has `left[level]` go left.
#[derive(Clone, Debug)]
struct Split {
    feature: usize,
    left: Vec<bool>,
}

/// A tree of depth ≤ 2: an optional root split and an optional split of each child.
#[derive(Clone, Debug, Default)]
struct Tree {
    root: Option<Split>,
    children: [Option<Split>; 2],
}

impl Tree {
    /// Leaf index of a unit given its level code per feature (leaves numbered left to right).
    fn leaf_of(&self, code: impl Fn(usize) -> u32) -> usize {
        let Some(root) = &self.root else { return 0 };
        let side = usize::from(!root.left[code(root.feature) as usize]);
        let base = if side == 0 { 0 } else { 1 + usize::from(self.children[0].is_some()) };
        base + self.children[side].as_ref().map_or(0, |c| usize::from(!c.left[code(c.feature) as usize]))
    }

    /// Conditions of each leaf as (feature, level mask), one per feature (same-feature masks ANDed).
    fn leaves(&self) -> Vec<Vec<(usize, Vec<bool>)>> {
        let Some(root) = &self.root else { return vec![Vec::new()] };
        let mut out = Vec::new();
        for (side, child) in self.children.iter().enumerate() {
            let root_mask: Vec<bool> = root.left.iter().map(|&l| l == (side == 0)).collect();
            let Some(child) = child else {
                out.push(vec![(root.feature, root_mask)]);
                continue;
            };
            for child_side in 0..2 {
                let mask: Vec<bool> = child.left.iter().map(|&l| l == (child_side == 0)).collect();
                if child.feature == root.feature {
                    out.push(vec![(root.feature, root_mask.iter().zip(&mask).map(|(a, b)| *a && *b).collect())]);
                } else {
                    out.push(vec![(root.feature, root_mask.clone()), (child.feature, mask)]);
                }
            }
        }
        out
    }
}

/// Cross-tabulation of a feature pair (f, g), f < g: `(count, ΣΓ)` with rows the levels of f.
struct Cross {
    cnt: Vec<u32>,
    sum: Vec<f64>,
}

/// A depth-2 tree with a given root feature: its value and the root's left mask.
type RootCandidate = Option<(f64, Vec<bool>)>;

/// Sufficient statistics of the search units.
struct Search {
    levels: Vec<usize>,
    ordered: Vec<bool>,
    /// Start of each feature's levels in the flattened per-level arrays.
    offsets: Vec<usize>,
    cnt: Vec<f64>,
    sum: Vec<f64>,
    /// Per level, `Σ(Γ − center)²`: a child's variance from its root-feature levels.
    sq: Vec<f64>,
    /// Indexed by `f·p + g` for f < g.
    cross: Vec<Option<Cross>>,
    min_leaf: f64,
    /// Smallest gain that counts as a loss reduction (guards against rounding).
    tol: f64,
    n: f64,
    s: f64,
    /// `Σ(Γ − center)²` over all search units.
    q: f64,
    /// Mean score of the search units (the shift of `sq`, for accuracy).
    center: f64,
    /// Per-feature level of the child-split test, `split_alpha / p`.
    alpha_each: f64,
    /// `1 − alpha_each` quantiles of χ² by degrees of freedom (index df, up to `CACHED_DF`).
    chi2: Vec<OnceLock<f64>>,
}

/// Scratch of one search thread: per-level sums of the left node, and buffers for one feature.
struct Work {
    cnt: Vec<f64>,
    sum: Vec<f64>,
    right_cnt: Vec<f64>,
    right_sum: Vec<f64>,
    order: Vec<usize>,
}

impl Search {
    fn work(&self) -> Work {
        let (total, widest) = (self.cnt.len(), self.levels.iter().copied().max().unwrap_or(0));
        Work {
            cnt: vec![0.0; total],
            sum: vec![0.0; total],
            right_cnt: vec![0.0; widest],
            right_sum: vec![0.0; widest],
            order: Vec::with_capacity(widest),
        }
    }

    /// Adds (`sign` 1) or removes (−1) the units of level `a` of `f` to the left-node sums of
    /// every feature, from the cross tables.
    fn toggle(&self, f: usize, a: usize, sign: f64, work: &mut Work) {
        let p = self.levels.len();
        for g in 0..p {
            let (o, lg) = (self.offsets[g], self.levels[g]);
            let (cnt, sum) = (&mut work.cnt[o..o + lg], &mut work.sum[o..o + lg]);
            if g == f {
                cnt[a] += sign * self.cnt[o + a];
                sum[a] += sign * self.sum[o + a];
            } else if f < g {
                let t = self.cross[f * p + g].as_ref().expect("cross table of a feature pair");
                let row = a * lg..(a + 1) * lg;
                for ((c, s), (&tc, &ts)) in
                    cnt.iter_mut().zip(sum.iter_mut()).zip(t.cnt[row.clone()].iter().zip(&t.sum[row]))
                {
                    *c += sign * tc as f64;
                    *s += sign * ts;
                }
            } else {
                let t = self.cross[g * p + f].as_ref().expect("cross table of a feature pair");
                let lf = self.levels[f];
                for (l, (c, s)) in cnt.iter_mut().zip(sum.iter_mut()).enumerate() {
                    *c += sign * t.cnt[l * lf + a] as f64;
                    *s += sign * t.sum[l * lf + a];
                }
            }
        }
    }

    /// Sample variance (n − 1 denominator) of a node of `n` ≥ 2 units with `ΣΓ = s` and
    /// `Σ(Γ − center)² = q`.
    fn variance(&self, n: f64, s: f64, q: f64) -> f64 {
        let d = s - n * self.center;
        ((q - d * d / n) / (n - 1.0)).max(0.0)
    }

    /// `1 − alpha_each` quantile of χ² with `df` degrees of freedom.
    fn chi2_threshold(&self, df: usize) -> f64 {
        match self.chi2.get(df) {
            Some(cell) => *cell.get_or_init(|| chi2_quantile(1.0 - self.alpha_each, df)),
            None => chi2_quantile(1.0 - self.alpha_each, df),
        }
    }

    /// Best split of feature `g` in the left node (`right` false: the sums in `work`) or in the
    /// right node (root minus left), filling `mask` if given. With `variance` (σ̂² of a child
    /// node) only a split whose gain reaches `variance · χ²_{L−1}(1 − alpha_each)` counts (None
    /// otherwise), L the number of levels of g present in the node.
    fn split_of(
        &self,
        g: usize,
        right: bool,
        floor: f64,
        variance: Option<f64>,
        work: &mut Work,
        mask: Option<&mut [bool]>,
    ) -> Option<f64> {
        let (o, lg) = (self.offsets[g], self.levels[g]);
        let Work { cnt, sum, right_cnt, right_sum, order } = work;
        let (c, s) = if right {
            for l in 0..lg {
                right_cnt[l] = self.cnt[o + l] - cnt[o + l];
                right_sum[l] = self.sum[o + l] - sum[o + l];
            }
            (&right_cnt[..lg], &right_sum[..lg])
        } else {
            (&cnt[o..o + lg], &sum[o..o + lg])
        };
        let Some(variance) = variance else {
            return best_split(c, s, self.ordered[g], self.min_leaf, floor, order, mask);
        };
        // The gain of any split is at most the between-level sum of squares: skip g at once when
        // even that falls short of the threshold.
        let (mut present, mut n, mut total, mut explained) = (0usize, 0.0, 0.0, 0.0);
        for (&c, &s) in c.iter().zip(s) {
            if c > 0.0 {
                present += 1;
                n += c;
                total += s;
                explained += s * s / c;
            }
        }
        if present < 2 {
            return None;
        }
        let whole = total * total / n;
        let threshold = variance * self.chi2_threshold(present - 1);
        if explained - whole + self.tol < threshold {
            return None;
        }
        let v = best_split(c, s, self.ordered[g], self.min_leaf, floor.max(whole + threshold), order, mask)?;
        (v - whole >= threshold).then_some(v)
    }

    /// Best of leaving a node (`n` units, score sum `s`) whole and its best split: the value
    /// `Σ (ΣΓ)²/n` over its leaves and the split feature, if splitting gains more than `tol`.
    /// With `q` = `Σ(Γ − center)²` of the node (a child of the root), only significant splits
    /// count (see [`Search::split_of`]).
    fn best_child(&self, n: f64, s: f64, q: Option<f64>, right: bool, work: &mut Work) -> (f64, Option<usize>) {
        let whole = s * s / n;
        if n < 2.0 * self.min_leaf {
            return (whole, None);
        }
        let variance = q.map(|q| self.variance(n, s, q));
        let mut best = (whole + self.tol, None);
        for g in 0..self.levels.len() {
            if let Some(v) = self.split_of(g, right, best.0, variance, work, None) {
                if v > best.0 {
                    best = (v, Some(g));
                }
            }
        }
        if best.1.is_some() {
            best
        } else {
            (whole, None)
        }
    }

    /// The best depth-2 trees whose root splits on `f`, their value and the root's left mask:
    /// among root splits that pass the significance test (`[0]`) and among all (`[1]`).
    fn best_rooted_at(&self, f: usize) -> [RootCandidate; 2] {
        let (o, lf) = (self.offsets[f], self.levels[f]);
        let (cnt, sum, sq) = (&self.cnt[o..o + lf], &self.sum[o..o + lf], &self.sq[o..o + lf]);
        let mut present: Vec<usize> = (0..lf).filter(|&a| cnt[a] > 0.0).collect();
        let m = present.len();
        if m < 2 || self.n < 2.0 * self.min_leaf {
            return [None, None];
        }
        let root_threshold = self.variance(self.n, self.s, self.q) * self.chi2_threshold(m - 1);
        let whole = self.s * self.s / self.n;
        let gray = !self.ordered[f] && m <= EXACT_LEVELS;
        if !self.ordered[f] && !gray {
            present.sort_by(|&a, &b| (sum[a] / cnt[a]).total_cmp(&(sum[b] / cnt[b])).then(a.cmp(&b)));
        }
        let steps = if gray { (1usize << (m - 1)) - 1 } else { m - 1 };
        let mut work = self.work();
        let mut mask = vec![false; lf];
        let mut best: [RootCandidate; 2] = [None, None];
        let (mut nl, mut sl, mut ql) = (0.0, 0.0, 0.0);
        for k in 1..=steps {
            let (a, add) = if gray {
                let j = k.trailing_zeros() as usize;
                (present[j], (k ^ (k >> 1)) >> j & 1 == 1)
            } else {
                (present[k - 1], true)
            };
            let sign = if add { 1.0 } else { -1.0 };
            mask[a] = add;
            nl += sign * cnt[a];
            sl += sign * sum[a];
            ql += sign * sq[a];
            self.toggle(f, a, sign, &mut work);
            let nr = self.n - nl;
            if nl < self.min_leaf || nr < self.min_leaf {
                continue;
            }
            let v = self.best_child(nl, sl, Some(ql), false, &mut work).0
                + self.best_child(nr, self.s - sl, Some(self.q - ql), true, &mut work).0;
            let sr = self.s - sl;
            let significant = sl * sl / nl + sr * sr / nr - whole >= root_threshold;
            for (slot, counts) in best.iter_mut().zip([significant, true]) {
                if counts && slot.as_ref().is_none_or(|b| v > b.0) {
                    *slot = Some((v, mask.clone()));
                }
            }
        }
        best
    }
}

/// Best split of one feature in a node from its per-level `(count, ΣΓ)`: the largest
/// `S_L²/n_L + S_R²/n_R` with both sides ≥ `min_leaf` (None if there is none); `mask` receives
/// the left levels. Ordered: thresholds in level order. Unordered: thresholds of the levels sorted
/// by mean (Fisher 1958), and every partition (Gray code) if `min_leaf` excludes that optimum and
/// the optimum exceeds `floor` (a value already reached otherwise, so nothing below it matters).
fn best_split(
    cnt: &[f64],
    sum: &[f64],
    ordered: bool,
    min_leaf: f64,
    floor: f64,
    order: &mut Vec<usize>,
    mask: Option<&mut [bool]>,
) -> Option<f64> {
    order.clear();
    let (mut n, mut s) = (0.0, 0.0);
    for (l, (&c, &t)) in cnt.iter().zip(sum).enumerate() {
        if c > 0.0 {
            order.push(l);
            n += c;
            s += t;
        }
    }
    let m = order.len();
    if m < 2 || n < 2.0 * min_leaf {
        return None;
    }
    if !ordered {
        order.sort_unstable_by(|&a, &b| (sum[a] / cnt[a]).total_cmp(&(sum[b] / cnt[b])).then(a.cmp(&b)));
    }
    let (mut best, mut best_at, mut unconstrained) = (f64::NEG_INFINITY, 0, f64::NEG_INFINITY);
    let (mut nl, mut sl) = (0.0, 0.0);
    for (k, &l) in order[..m - 1].iter().enumerate() {
        nl += cnt[l];
        sl += sum[l];
        let (nr, sr) = (n - nl, s - sl);
        let v = sl * sl / nl + sr * sr / nr;
        unconstrained = unconstrained.max(v);
        if nl >= min_leaf && nr >= min_leaf && v > best {
            best = v;
            best_at = k;
        }
    }
    let mut code = 0usize;
    if !ordered && best < unconstrained && unconstrained > floor && m <= EXACT_LEVELS {
        // `min_leaf` cuts off the mean-sorted optimum (and the value to beat, `floor`, is below
        // it): try every partition, the last level on the right.
        let (mut nl, mut sl) = (0.0, 0.0);
        for k in 1..1usize << (m - 1) {
            let (j, gray) = (k.trailing_zeros() as usize, k ^ (k >> 1));
            let sign = if gray >> j & 1 == 1 { 1.0 } else { -1.0 };
            nl += sign * cnt[order[j]];
            sl += sign * sum[order[j]];
            let (nr, sr) = (n - nl, s - sl);
            if nl >= min_leaf && nr >= min_leaf {
                let v = sl * sl / nl + sr * sr / nr;
                if v > best {
                    best = v;
                    code = gray;
                }
            }
        }
    }
    if best == f64::NEG_INFINITY {
        return None;
    }
    if let Some(mask) = mask {
        mask.fill(false);
        if code != 0 {
            (0..m - 1).filter(|j| code >> j & 1 == 1).for_each(|j| mask[order[j]] = true);
        } else if ordered {
            mask[..=order[best_at]].fill(true);
        } else {
            order[..=best_at].iter().for_each(|&l| mask[l] = true);
        }
    }
    Some(best)
}

/// Quantile `prob` of χ² with `df` ≥ 1 degrees of freedom.
fn chi2_quantile(prob: f64, df: usize) -> f64 {
    ChiSquared::new(df as f64).expect("positive degrees of freedom").inverse_cdf(prob)
}

/// The optimal tree of depth ≤ `depth` on the search units (codes validated by the caller), with
/// child splits tested at level `split_alpha` (see the module documentation).
fn search_tree(
    scores: &[f64],
    codes: &[&[u32]],
    levels: &[usize],
    ordered: &[bool],
    depth: usize,
    min_leaf: usize,
    split_alpha: f64,
) -> Result<Tree> {
    let p = levels.len();
    let mut offsets = vec![0usize; p + 1];
    for f in 0..p {
        offsets[f + 1] = offsets[f] + levels[f];
    }
    let total_levels = offsets[p];
    if depth == 2 {
        let cells = total_levels * total_levels - levels.iter().map(|l| l * l).sum::<usize>();
        if cells > MAX_CELLS {
            return Err(InputError::Data(format!(
                "subgroup search over {p} features with {total_levels} levels in all needs {cells} cross-table \
                 cells (limit {MAX_CELLS}): use fewer features or coarser levels, or depth 1"
            )));
        }
    }
    let (mut cnt, mut sum, mut level_sq) = (vec![0.0; total_levels], vec![0.0; total_levels], vec![0.0; total_levels]);
    let center = scores.iter().sum::<f64>() / scores.len() as f64;
    let (mut s, mut sq, mut q) = (0.0, 0.0, 0.0);
    for (i, &g) in scores.iter().enumerate() {
        let d = g - center;
        s += g;
        sq += g * g;
        q += d * d;
        for f in 0..p {
            let l = offsets[f] + codes[f][i] as usize;
            cnt[l] += 1.0;
            sum[l] += g;
            level_sq[l] += d * d;
        }
    }
    let pairs: Vec<(usize, usize)> =
        if depth == 2 { (0..p).flat_map(|f| (f + 1..p).map(move |g| (f, g))).collect() } else { Vec::new() };
    let tables: Vec<Cross> = pairs
        .par_iter()
        .map(|&(f, g)| {
            let lg = levels[g];
            let mut t = Cross { cnt: vec![0; levels[f] * lg], sum: vec![0.0; levels[f] * lg] };
            for ((&a, &b), &x) in codes[f].iter().zip(codes[g]).zip(scores) {
                let cell = a as usize * lg + b as usize;
                t.cnt[cell] += 1;
                t.sum[cell] += x;
            }
            t
        })
        .collect();
    let mut cross: Vec<Option<Cross>> = (0..p * p).map(|_| None).collect();
    for (&(f, g), t) in pairs.iter().zip(tables) {
        cross[f * p + g] = Some(t);
    }
    let n = scores.len() as f64;
    let search = Search {
        levels: levels.to_vec(),
        ordered: ordered.to_vec(),
        offsets,
        cnt,
        sum,
        sq: level_sq,
        cross,
        min_leaf: min_leaf as f64,
        tol: 1e-12 * sq.max(f64::MIN_POSITIVE),
        n,
        s,
        q,
        center,
        alpha_each: bonferroni_level(split_alpha, p),
        chi2: (0..levels.iter().copied().max().unwrap_or(0).min(CACHED_DF + 1)).map(|_| OnceLock::new()).collect(),
    };
    let whole = s * s / n;
    let mut work = search.work();
    let mask_for = |g: usize| vec![false; levels[g]];

    if depth == 1 {
        work.cnt.copy_from_slice(&search.cnt);
        work.sum.copy_from_slice(&search.sum);
        let Some(g) = search.best_child(n, s, None, false, &mut work).1 else { return Ok(Tree::default()) };
        let mut left = mask_for(g);
        search.split_of(g, false, f64::NEG_INFINITY, None, &mut work, Some(&mut left));
        return Ok(Tree { root: Some(Split { feature: g, left }), children: [None, None] });
    }

    // Significant root splits first; the best root split of all when none is significant.
    let per_root: Vec<[RootCandidate; 2]> = (0..p).into_par_iter().map(|f| search.best_rooted_at(f)).collect();
    let any_significant = per_root.iter().any(|c| c[0].is_some());
    let mut best: Option<(f64, usize, Vec<bool>)> = None;
    for (f, [significant, any]) in per_root.into_iter().enumerate() {
        if let Some((v, mask)) = if any_significant { significant } else { any } {
            if best.as_ref().is_none_or(|b| v > b.0) {
                best = Some((v, f, mask));
            }
        }
    }
    let Some((_, f, root_mask)) = best.filter(|b| b.0 > whole + search.tol) else { return Ok(Tree::default()) };
    let (mut nl, mut sl, mut ql) = (0.0, 0.0, 0.0);
    for (a, _) in root_mask.iter().enumerate().filter(|(_, &m)| m) {
        nl += search.cnt[search.offsets[f] + a];
        sl += search.sum[search.offsets[f] + a];
        ql += search.sq[search.offsets[f] + a];
        search.toggle(f, a, 1.0, &mut work);
    }
    let mut children = [None, None];
    for (side, child) in children.iter_mut().enumerate() {
        let right = side == 1;
        let (n_side, s_side, q_side) = if right { (n - nl, s - sl, q - ql) } else { (nl, sl, ql) };
        if let Some(g) = search.best_child(n_side, s_side, Some(q_side), right, &mut work).1 {
            let mut left = mask_for(g);
            let variance = search.variance(n_side, s_side, q_side);
            search.split_of(g, right, f64::NEG_INFINITY, Some(variance), &mut work, Some(&mut left));
            *child = Some(Split { feature: g, left });
        }
    }
    Ok(Tree { root: Some(Split { feature: f, left: root_mask }), children })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use rand_distr::StandardNormal;

    /// Value `Σ_leaves (ΣΓ)²/n` of a set of units left whole.
    fn whole(units: &[usize], scores: &[f64]) -> f64 {
        let s: f64 = units.iter().map(|&i| scores[i]).sum();
        s * s / units.len() as f64
    }

    /// Every split of every feature: all thresholds (ordered) or all two-set partitions.
    fn all_splits(levels: &[usize], ordered: &[bool]) -> Vec<(usize, Vec<bool>)> {
        let mut out = Vec::new();
        for (f, (&l, &o)) in levels.iter().zip(ordered).enumerate() {
            if o {
                out.extend((0..l - 1).map(|k| (f, (0..l).map(|a| a <= k).collect())));
            } else {
                out.extend((1..1usize << (l - 1)).map(|bits| (f, (0..l).map(|a| bits >> a & 1 == 1).collect())));
            }
        }
        out
    }

    /// Brute-force best value over all trees of depth ≤ `depth` with leaves ≥ `min_leaf`, where
    /// a child split of a depth-2 tree counts only if it is significant (its gain reaches σ̂² of
    /// the child times the `1 − alpha/p` quantile of χ² with (levels of its feature in the child
    /// − 1) df), and, at depth 2, the root is the best significant root split when there is one.
    #[allow(clippy::too_many_arguments)]
    fn brute(
        scores: &[f64],
        codes: &[Vec<u32>],
        levels: &[usize],
        ordered: &[bool],
        depth: usize,
        min_leaf: usize,
        alpha: f64,
    ) -> f64 {
        let splits = all_splits(levels, ordered);
        let divide = |units: &[usize], (f, mask): &(usize, Vec<bool>)| -> (Vec<usize>, Vec<usize>) {
            units.iter().partition(|&&i| mask[codes[*f][i] as usize])
        };
        // Whether a split of `units` with value `value` is significant.
        let significant = |units: &[usize], f: usize, value: f64| -> bool {
            let nu = units.len() as f64;
            let mean = units.iter().map(|&i| scores[i]).sum::<f64>() / nu;
            let variance = units.iter().map(|&i| (scores[i] - mean).powi(2)).sum::<f64>() / (nu - 1.0);
            let mut seen = vec![false; levels[f]];
            units.iter().for_each(|&i| seen[codes[f][i] as usize] = true);
            let present = seen.iter().filter(|&&s| s).count();
            value - whole(units, scores) >= variance * chi2_quantile(1.0 - alpha / levels.len() as f64, present - 1)
        };
        let best_leaf_parent = |units: &[usize], tested: bool| -> f64 {
            let mut best = whole(units, scores);
            for split in &splits {
                let (l, r) = divide(units, split);
                if l.len() >= min_leaf && r.len() >= min_leaf {
                    let value = whole(&l, scores) + whole(&r, scores);
                    if !tested || significant(units, split.0, value) {
                        best = best.max(value);
                    }
                }
            }
            best
        };
        let all: Vec<usize> = (0..scores.len()).collect();
        if depth == 1 {
            return best_leaf_parent(&all, false);
        }
        // Best tree over significant roots and over all roots.
        let (mut best_significant, mut best_any) = (None::<f64>, whole(&all, scores));
        for split in &splits {
            let (l, r) = divide(&all, split);
            if l.len() >= min_leaf && r.len() >= min_leaf {
                let value = best_leaf_parent(&l, true) + best_leaf_parent(&r, true);
                best_any = best_any.max(value);
                if significant(&all, split.0, whole(&l, scores) + whole(&r, scores)) {
                    best_significant = Some(best_significant.map_or(value, |b| b.max(value)));
                }
            }
        }
        best_significant.unwrap_or(best_any)
    }

    /// Value of a found tree and its smallest leaf.
    fn tree_value(tree: &Tree, scores: &[f64], codes: &[Vec<u32>]) -> (f64, usize) {
        let k = tree.leaves().len();
        let mut members = vec![Vec::new(); k];
        for i in 0..scores.len() {
            members[tree.leaf_of(|f| codes[f][i])].push(i);
        }
        let smallest = members.iter().map(Vec::len).min().unwrap();
        (members.iter().filter(|m| !m.is_empty()).map(|m| whole(m, scores)).sum(), smallest)
    }

    #[test]
    fn chi2_quantiles_match_closed_forms() {
        for prob in [0.95, 0.9875, 0.999] {
            // df 1: the squared normal quantile; df 2: the exponential with mean 2.
            let z = cateye_stats::normal_quantile(0.5 + prob / 2.0);
            assert!((chi2_quantile(prob, 1) / (z * z) - 1.0).abs() < 1e-9, "{prob}");
            assert!((chi2_quantile(prob, 2) / (-2.0 * (1.0 - prob).ln()) - 1.0).abs() < 1e-9, "{prob}");
        }
        assert!((chi2_quantile(0.95, 10) - 18.307038053275146).abs() < 1e-8);
        assert!((chi2_quantile(0.95, 39) - 54.572227758941736).abs() < 1e-8);
    }

    #[test]
    fn exhaustive_search_matches_brute_force() {
        let mut split_children = 0;
        for trial in 0..60u64 {
            let mut rng = stream(trial, 77, 0);
            let n = 300 + (rng.random::<f64>() * 300.0) as usize;
            let levels: Vec<usize> = (0..3).map(|_| 2 + (rng.random::<f64>() * 4.0) as usize).collect();
            let ordered: Vec<bool> = (0..3).map(|_| rng.random::<f64>() < 0.5).collect();
            // Skewed level frequencies so that `min_leaf` binds, and effects with an interaction.
            let weights: Vec<Vec<f64>> =
                levels.iter().map(|&l| (0..l).map(|_| rng.random::<f64>().powi(2) + 0.03).collect()).collect();
            let effects: Vec<Vec<f64>> =
                levels.iter().map(|&l| (0..l).map(|_| rng.sample(StandardNormal)).collect()).collect();
            let mut codes: Vec<Vec<u32>> = (0..3).map(|_| Vec::with_capacity(n)).collect();
            let mut scores = Vec::with_capacity(n);
            for _ in 0..n {
                for f in 0..3 {
                    let total: f64 = weights[f].iter().sum();
                    let mut u = rng.random::<f64>() * total;
                    let mut level = levels[f] - 1;
                    for (l, w) in weights[f].iter().enumerate() {
                        if u < *w {
                            level = l;
                            break;
                        }
                        u -= w;
                    }
                    codes[f].push(level as u32);
                }
                let c: Vec<usize> = (0..3).map(|f| codes[f][codes[f].len() - 1] as usize).collect();
                let tau = 0.5 * effects[0][c[0]] + 0.3 * effects[1][c[1]] * effects[2][c[2]];
                scores.push(tau + 2.0 * rng.sample::<f64, _>(StandardNormal));
            }
            let min_leaf = [1, 10, 30, 60][trial as usize % 4];
            let alpha = [0.05, 0.3, 0.9][trial as usize % 3];
            let refs: Vec<&[u32]> = codes.iter().map(Vec::as_slice).collect();
            let sq: f64 = scores.iter().map(|g| g * g).sum();
            for depth in [1, 2] {
                let tree = search_tree(&scores, &refs, &levels, &ordered, depth, min_leaf, alpha).unwrap();
                split_children += tree.children.iter().filter(|c| c.is_some()).count();
                let (value, smallest) = tree_value(&tree, &scores, &codes);
                let expected = brute(&scores, &codes, &levels, &ordered, depth, min_leaf, alpha);
                assert!(smallest >= min_leaf, "trial {trial} depth {depth}: leaf of {smallest} < {min_leaf}");
                let (loss, best_loss) = (sq - value, sq - expected);
                assert!(
                    (loss - best_loss).abs() <= 1e-9 * best_loss,
                    "trial {trial} depth {depth} levels {levels:?} ordered {ordered:?} min_leaf {min_leaf}: \
                     loss {loss} vs brute force {best_loss}"
                );
            }
        }
        // The significance rule is exercised both ways: some children split, not all.
        eprintln!("split children: {split_children} of 120");
        assert!((20..100).contains(&split_children), "{split_children} children split of 120");
    }

    struct Design {
        names: Vec<&'static str>,
        codes: Vec<Vec<u32>>,
        labels: Vec<Vec<String>>,
        ordered: Vec<bool>,
        scores: Vec<f64>,
    }

    impl Design {
        fn features(&self) -> Vec<RuleFeature<'_>> {
            (0..self.names.len())
                .map(|f| RuleFeature {
                    name: self.names[f],
                    codes: &self.codes[f],
                    labels: &self.labels[f],
                    ordered: self.ordered[f],
                })
                .collect()
        }
    }

    /// Country (6), platform (3), tenure (4, ordered), region (40); Γ = τ(platform, tenure) + σε.
    fn planted(n: usize, seed: u64, sigma: f64, tau: impl Fn(u32, u32) -> f64) -> Design {
        let labels = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let labels = vec![
            labels(&["us", "uk", "de", "fr", "br", "in"]),
            labels(&["ios", "android", "web"]),
            labels(&["0-7d", "8-30d", "31-180d", "180d+"]),
            (0..40).map(|r| format!("r{r}")).collect(),
        ];
        let mut rng = stream(seed, 78, 0);
        let mut codes: Vec<Vec<u32>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
        let mut scores = Vec::with_capacity(n);
        for _ in 0..n {
            for (f, l) in labels.iter().enumerate() {
                codes[f].push(((rng.random::<f64>() * l.len() as f64) as u32).min(l.len() as u32 - 1));
            }
            let noise: f64 = rng.sample(StandardNormal);
            scores.push(tau(codes[1][codes[1].len() - 1], codes[2][codes[2].len() - 1]) + sigma * noise);
        }
        Design {
            names: vec!["country", "platform", "tenure", "region"],
            codes,
            labels,
            ordered: vec![false, false, true, false],
            scores,
        }
    }

    #[test]
    fn finds_planted_platform_effect() {
        let design = planted(20_000, 1, 3.0, |platform, _| if platform == 0 { 0.4 } else { 0.0 });
        let options = SubgroupOptions { depth: 1, seed: 3, ..SubgroupOptions::default() };
        let rules = subgroup_rules(&design.scores, &design.features(), &options).unwrap();
        assert_eq!(rules.leaves.len(), 2);
        assert_eq!(rules.n_search + rules.n_holdout, 20_000);
        let ios = &rules.leaves[0];
        assert_eq!(ios.conditions.len(), 1);
        assert_eq!(ios.conditions[0].feature, "platform");
        assert_eq!(ios.conditions[0].levels, vec!["ios".to_string()]);
        assert_eq!(ios.rule, "platform = ios");
        assert!((ios.effect_holdout - 0.4).abs() < 3.0 * ios.se_holdout, "{ios:?}");
        assert!(ios.difference_p_value < 1e-3, "{ios:?}");
        assert!((rules.leaves[1].effect_holdout).abs() < 3.0 * rules.leaves[1].se_holdout);
    }

    #[test]
    fn finds_planted_tenure_effect() {
        let tau = |_, tenure| match tenure {
            0 => 0.5,
            1 => 0.25,
            _ => 0.0,
        };
        let design = planted(20_000, 2, 3.0, tau);
        let rules = subgroup_rules(&design.scores, &design.features(), &SubgroupOptions::default()).unwrap();
        assert!(rules.leaves.len() >= 2);
        for leaf in &rules.leaves {
            assert_eq!(leaf.conditions[0].feature, "tenure", "{leaf:?}");
            assert!(leaf.n_search >= 100);
        }
        let top = &rules.leaves[0];
        assert!(top.conditions[0].levels.contains(&"0-7d".to_string()), "{top:?}");
        if top.conditions[0].levels == ["0-7d"] {
            assert!((top.effect_holdout - 0.5).abs() < 3.0 * top.se_holdout, "{top:?}");
        }
        let json = serde_json::to_string(&rules).unwrap();
        let again = subgroup_rules(&design.scores, &design.features(), &SubgroupOptions::default()).unwrap();
        assert_eq!(json, serde_json::to_string(&again).unwrap(), "deterministic");
    }

    /// A many-level feature without effect (region, 40 levels) must appear neither in the
    /// children (not significant there) nor at the root (a significant platform root comes first).
    #[test]
    fn many_level_noise_feature_does_not_split_children() {
        let mut with_region = Vec::new();
        let mut root_not_platform = Vec::new();
        for seed in 0..10 {
            let design = planted(8_000, 20 + seed, 2.5, |platform, _| if platform == 0 { 0.4 } else { 0.0 });
            let options = SubgroupOptions { seed, ..SubgroupOptions::default() };
            let rules = subgroup_rules(&design.scores, &design.features(), &options).unwrap();
            assert_eq!(rules.split_alpha, 0.05);
            let rule_list: Vec<&str> = rules.leaves.iter().map(|l| l.rule.as_str()).collect();
            eprintln!("seed {seed}: {rule_list:?}");
            if rules.leaves.iter().any(|l| l.conditions.iter().any(|c| c.feature == "region")) {
                with_region.push(seed);
            }
            // The root condition comes first in every leaf.
            if rules.leaves.iter().any(|l| l.conditions.first().is_none_or(|c| c.feature != "platform")) {
                root_not_platform.push(seed);
            }
        }
        assert!(root_not_platform.is_empty(), "root not on platform for seeds {root_not_platform:?}");
        assert!(with_region.len() <= 1, "region in the rules of seeds {with_region:?}");
    }

    #[test]
    fn null_effects_stay_near_zero() {
        for seed in 0..3 {
            let design = planted(6_000, 10 + seed, 1.0, |_, _| 0.0);
            let options = SubgroupOptions { seed, ..SubgroupOptions::default() };
            let rules = subgroup_rules(&design.scores, &design.features(), &options).unwrap();
            for leaf in &rules.leaves {
                assert!(leaf.effect_holdout.abs() < 4.0 * leaf.se_holdout, "{leaf:?}");
                if rules.leaves.len() > 1 {
                    assert!((0.0..=1.0).contains(&leaf.difference_p_value));
                } else {
                    assert_eq!(leaf.rule, "all units");
                    assert!(leaf.difference_p_value.is_nan());
                }
            }
            assert!(rules.between_share < 0.05);
        }
    }

    #[test]
    fn rejects_bad_input() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let codes = vec![0u32, 1, 0, 1];
        let scores = vec![1.0, 2.0, 3.0, 4.0];
        let feature = RuleFeature { name: "f", codes: &codes, labels: &labels, ordered: false };
        let run = |scores: &[f64], feature: RuleFeature<'_>, options: SubgroupOptions| {
            subgroup_rules(scores, &[feature], &options).unwrap_err().to_string()
        };
        let defaults = SubgroupOptions::default;
        assert!(run(&scores, feature, SubgroupOptions { depth: 3, ..defaults() }).contains("depth"));
        assert!(run(&scores, feature, SubgroupOptions { min_leaf: 0, ..defaults() }).contains("min_leaf"));
        for fraction in [0.0, 1.0, f64::NAN] {
            let options = SubgroupOptions { holdout_fraction: fraction, ..defaults() };
            assert!(run(&scores, feature, options).contains("holdout_fraction"));
            let options = SubgroupOptions { split_alpha: fraction, ..defaults() };
            assert!(run(&scores, feature, options).contains("split_alpha"));
        }
        assert!(run(&[1.0, f64::NAN, 3.0, 4.0], feature, defaults()).contains("row 2 (1-based)"));
        assert!(run(&scores[..3], feature, defaults()).contains("'f'"));
        let bad = [0u32, 1, 2, 0];
        let message = run(&scores, RuleFeature { codes: &bad, ..feature }, defaults());
        assert!(message.contains("'f'") && message.contains("row 3 (1-based)"), "{message}");
        assert!(run(&scores[..1], RuleFeature { codes: &codes[..1], ..feature }, defaults()).contains("at least 2"));
        // Too small for any split: the single leaf of everyone.
        let rules = subgroup_rules(&scores, &[feature], &defaults()).unwrap();
        assert_eq!(rules.leaves.len(), 1);
        assert_eq!(rules.leaves[0].rule, "all units");
    }

    /// Run with `--ignored` to time n = 100,000 units: 20 features × 10 levels, then 25 unordered
    /// features × 10 skewed levels (rare levels make `min_leaf` bind), then 25 × 50 levels.
    #[test]
    #[ignore]
    fn timing_large() {
        let n = 100_000;
        for (p, l, skew) in [(20, 10, false), (25, 12, true), (25, 50, false)] {
            let mut rng = stream(5, 79, 0);
            let labels: Vec<String> = (0..l).map(|l| format!("l{l}")).collect();
            let draw = |u: f64| if skew { (u.powi(16) * l as f64) as u32 } else { (u * l as f64) as u32 };
            let codes: Vec<Vec<u32>> = (0..p).map(|_| (0..n).map(|_| draw(rng.random::<f64>())).collect()).collect();
            let scores: Vec<f64> = (0..n)
                .map(|i| 0.3 * (codes[3][i] < 3) as u8 as f64 + 2.0 * rng.sample::<f64, _>(StandardNormal))
                .collect();
            let features: Vec<RuleFeature<'_>> = (0..p)
                .map(|f| RuleFeature { name: "x", codes: &codes[f], labels: &labels, ordered: !skew && f % 2 == 0 })
                .collect();
            for depth in [1, 2] {
                let start = std::time::Instant::now();
                let options = SubgroupOptions { depth, ..Default::default() };
                let rules = subgroup_rules(&scores, &features, &options).unwrap();
                eprintln!(
                    "p {p} × L {l} (skewed {skew}), depth {depth}: {:?}, {} leaves",
                    start.elapsed(),
                    rules.leaves.len()
                );
            }
        }
    }
}

cateye_stats::settings_with!(SubgroupOptions);
