//! Estimators of the global average treatment effect and their variances.
//!
//! The estimand is `τ = (1/N) Σ_i Y_i(everyone treated) − (1/N) Σ_i Y_i(no one treated)`. Under an
//! exposure condition a node exposed to treatment reveals `Y_i(1) = Y_i(everyone treated)` (and
//! likewise for control) when the condition captures all interference (Ugander et al. 2013,
//! §4; Aronow & Samii 2017, §3):
//!
//! * **Horvitz–Thompson**: `τ̂ = (1/N) Σ_{i∈E1} Y_i/π_i(1) − (1/N) Σ_{i∈E0} Y_i/π_i(0)`, unbiased
//!   when every `π_i > 0` (Aronow & Samii 2017, eq. 4);
//! * **Hájek**: the two weighted means `μ̂_t = Σ_{E_t} Y_i/π_i(t) / Σ_{E_t} 1/π_i(t)`, consistent
//!   and usually far less variable (Aronow & Samii 2017, §5.1; Ugander et al. 2013, §4.2);
//! * **difference in means** of the nodes' own assignments with Neyman's variance, what a unit
//!   randomized analysis reports (biased for `τ` under spillovers).
//!
//! **Variance** (Aronow & Samii 2017, §4, eqs. 7–9). For HT,
//! `N²·Var̂ = Σ_{i,j∈E1} (π_ij−π_iπ_j)/π_ij · b_i b_j + (same for E0) − 2·Ĉov + A`, `b_i = Y_i/π_i`:
//! the pairs exposed to opposite arms with `π_ij(1,0) = 0` (their cluster sets meet) have an
//! unidentified covariance `−Y_i(1)Y_j(0)`, bounded by Young's inequality
//! `2Y_i(1)Y_j(0) ≤ Y_i(1)² + Y_j(0)²`, whose unbiased estimate is the conservative term
//! `A = Σ_{i∈E1} N_i Y_i²/π_i(1) + Σ_{j∈E0} N_j Y_j²/π_j(0)`, `N_i` the number of nodes whose
//! cluster sets meet `S_i` (that can be exposed to the other arm). By default (own and full
//! exposure) the inequality is applied to cluster totals instead (`blocks.rs`: the classic
//! cluster-level bound of Middleton & Aronow 2015, generalized to cluster sets, with an exact
//! correction for pairs sharing several clusters), which is never looser for the pairs of one
//! cluster and tight for Hájek under a constant effect. Same-arm pairs of a cluster that can
//! never be exposed together (complete or stratified randomization, `π_ii'(t,t) = 0`) get
//! Young's terms of their own there, so the bound stays valid; the pairwise `A` is the fallback
//! when the distinct sets or those pairs exceed a work budget. Under own exposure with complete or
//! stratified randomization the variance is Neyman's over cluster totals within strata
//! ([`VarianceMethod::ClusterNeyman`]); Horvitz–Thompson under complete randomization with full
//! exposure reports no interval ([`EffectEstimate::refused`]). Under cluster Bernoulli the
//! same-arm weights are `1 − p^{|S_i∩S_j|}` and pairs with disjoint sets are independent, so the
//! identified covariance is zero; the pair sums are computed through subsets of the cluster sets
//! (see `pairs.rs`). The bound is tight when `Y_i(1) ≈ Y_j(0)` for the pairs concerned, e.g. when
//! effects are small against the level of the outcome; it is otherwise conservative, and its
//! share of the variance is reported ([`VarianceParts::young`]). For Hájek, the linearized
//! variance applies the same estimator to the residuals `Y_i − μ̂_t`.
//!
//! Under stratified complete randomization the exposure probabilities are exact but the pair
//! weights treat clusters as independent with their marginal probabilities
//! ([`VarianceMethod::IndependentClusters`]): this ignores the negative dependence between the
//! clusters of a stratum, which makes the HT variance conservative (it keeps the variance of the
//! number of treated clusters that the design removes) and leaves the Hájek variance right to
//! first order. Under unstratified complete randomization the pair weights are exact
//! (they depend on the set sizes; see `complete.rs`) whenever no two nodes exposed to the same
//! arm can need more clusters in it than the design has, and the variance is then the exact
//! Aronow–Samii estimator; for Horvitz–Thompson it is a difference of terms of the size of the
//! outcome's level, so it is unbiased but unstable when that level is large (prefer Hájek).
//! Under fractional exposure, where joint probabilities have no closed form, the variance is the
//! dependence bound `Σ_i D_i b_i²`, `D_i = Σ_j |S_i ∩ S_j| = Σ_{c∈S_i} |U_c|` (every node `j`
//! counted once per shared cluster, computed in `O(|S_i|)`) ([`VarianceMethod::DependenceBound`]).
//! With `W_i = X_i(1)Y_i(1)/π_i(1) − X_i(0)Y_i(0)/π_i(0)`, `Cov(W_i, W_j) ≤ (E W_i² + E W_j²)/2`
//! for every pair, and `D_i` is at least the number of nodes whose set meets `S_i`; the terms of
//! the pairs with disjoint sets are left out. Whether that is valid depends on the design:
//!
//! * **Bernoulli designs** (cluster or unit): nodes with disjoint cluster sets are independent,
//!   so the dependent pairs are among the meeting ones and the bound is proven (in expectation)
//!   for any values: for HT, and for the linearized Hájek variance up to the estimation of the
//!   means in its residuals;
//! * **complete or stratified randomization**: every pair of nodes whose sets touch a common
//!   stratum is dependent, so "`D_i` ≥ the number of dependent nodes" does not hold. The
//!   assignment of a fixed number of clusters per stratum is negatively associated
//!   (Joag-Dev & Proschan 1983) and exposure to treatment (control) is increasing (decreasing) in
//!   it, so for disjoint sets same-arm exposures are negatively and opposite-arm exposures
//!   positively correlated: the omitted covariances are `≤ 0`, and the bound is still proven,
//!   when all the values `b_i` have one sign (Horvitz–Thompson with outcomes of one sign). For
//!   values of both signs (Hájek residuals, or outcomes of both signs) the omitted terms can be
//!   positive and the bound is not proven; they are of order `1/C_s` per pair while the bound's
//!   slack is of the order of `D_i` per node, so it is expected to stay conservative, but that is
//!   an empirical statement (simulated for cluster Bernoulli only, see `tests/coverage.rs`), not
//!   a theorem.

use serde::{Deserialize, Serialize};

use crate::blocks::{cluster_total_bound, BlockInput};
use crate::complete::{complete_pair_sums, CompleteInput};
use crate::design::{Assignment, SchemeView};
use crate::error::{NetworkError, Result};
use crate::exposure::{Condition, Exposure, ExposureModel};
use crate::pairs::{cluster_counts, pair_sums, PairInput, MAX_SUBSET};

/// An estimator of the global average treatment effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// Horvitz–Thompson (inverse probability weighted sums over `N`).
    HorvitzThompson,
    /// Hájek (inverse probability weighted means).
    Hajek,
    /// Difference in means of the nodes' own assignments, with Neyman's variance.
    DifferenceInMeans,
}

/// How the variance was estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceMethod {
    /// Aronow–Samii with exact joint exposure probabilities (Bernoulli designs, and unstratified
    /// complete randomization when no same-arm pair can have joint probability 0; own or full
    /// exposure) and Young's bound for the pairs that cannot be observed together.
    AronowSamii,
    /// Aronow–Samii with exact exposure probabilities and pair probabilities of independent
    /// clusters with the design's marginal probabilities (stratified complete randomization, or
    /// complete randomization when some same-arm pair could have joint probability 0).
    IndependentClusters,
    /// The dependence bound `Σ_i D_i b_i²`, `D_i = Σ_j |S_i ∩ S_j|` (fractional exposure):
    /// conservative, provably so under Bernoulli designs and, under complete or stratified
    /// randomization, for Horvitz–Thompson with outcomes of one sign; only empirically
    /// otherwise (see the module documentation).
    DependenceBound,
    /// Neyman's `s₁²/n₁ + s₀²/n₀` (difference in means).
    Neyman,
    /// Neyman's variance of the cluster totals within strata, `Σ_s C_s²(s²₁ₛ/m_s + s²₀ₛ/(C_s−m_s))`
    /// (own exposure under complete or stratified randomization of clusters): the
    /// Horvitz–Thompson estimator is then a difference of means of scaled cluster totals, and
    /// this is its classic conservative finite-population variance estimator (Middleton &
    /// Aronow 2015), unbiased under a constant effect on the cluster totals.
    ClusterNeyman,
    /// No variance is reported (see [`EffectEstimate::refused`]): Horvitz–Thompson under
    /// complete (or stratified) randomization with full neighbourhood exposure.
    Unavailable,
}

/// The parts of a variance estimate, on the scale of the effect:
/// `variance = treated + control − 2·covariance + young`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VarianceParts {
    /// Estimated variance of the treated mean (`s₁²/n₁` for the difference in means; the
    /// dependence bound's treated part under fractional exposure).
    pub treated: f64,
    /// Estimated variance of the control mean.
    pub control: f64,
    /// Estimated covariance of the two means over identified pairs (0 when disjoint cluster sets
    /// are independent).
    pub covariance: f64,
    /// Young's bound for the unidentified covariance of pairs exposed to opposite arms whose
    /// cluster sets meet (Aronow & Samii 2017, §4): the conservative part.
    pub young: f64,
}

/// An estimate of the global average treatment effect with its standard error and interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EffectEstimate {
    /// The estimator.
    pub estimator: Estimator,
    /// The exposure condition defining who counts as exposed (`own` for the difference in means).
    pub exposure: Exposure,
    /// The estimated effect `τ̂`.
    pub estimate: f64,
    /// The estimated mean under global treatment.
    pub mean_treated: f64,
    /// The estimated mean under global control.
    pub mean_control: f64,
    /// The estimated variance of `τ̂` (the sum of the parts; may be negative in small samples,
    /// when the standard error is 0; NaN when [`EffectEstimate::refused`]).
    pub variance: f64,
    /// How the variance was estimated.
    pub variance_method: VarianceMethod,
    /// The parts of the variance.
    pub variance_parts: VarianceParts,
    /// The standard error `√max(variance, 0)`.
    pub se: f64,
    /// The normal interval `τ̂ ± z·se` at `level`.
    pub ci: [f64; 2],
    /// The confidence level of `ci`.
    pub level: f64,
    /// Number of nodes `N`.
    pub units: usize,
    /// Nodes exposed to treatment (treated nodes for the difference in means).
    pub exposed_treated: usize,
    /// Nodes exposed to control (control nodes for the difference in means).
    pub exposed_control: usize,
    /// Nodes that can never be exposed to treatment (`π_i(1) = 0`): they are in `N` but cannot
    /// be represented, so the estimate is biased for them. A simulated probability of 0 counts
    /// here too (see [`EffectEstimate::excluded_unestimated_probability`]).
    pub zero_probability_treated: usize,
    /// Nodes that can never be exposed to control (`π_i(0) = 0`).
    pub zero_probability_control: usize,
    /// Nodes whose exposure probabilities were simulated rather than exact (fractional exposure
    /// under complete randomization, for nodes whose exact programme is too large; their Monte
    /// Carlo errors are in the model's probabilities). The estimators weight them by `1/π̂` as if
    /// exact, so when this is nonzero Horvitz–Thompson and Hájek are only approximately
    /// unbiased (a relative error of about `se(π̂)/π̂` on those nodes' weights).
    pub simulated_probabilities: usize,
    /// Nodes exposed in this draw whose simulated probability of that exposure is 0 (no Monte
    /// Carlo draw exposed them, so `1/π̂` is undefined): they are left out of the estimate and
    /// its variance, as nodes that can never be exposed are, which biases the estimate for them.
    /// Always 0 when every probability is exact.
    #[serde(default)]
    pub excluded_unestimated_probability: usize,
    /// Why no variance, standard error or interval is reported (they are then NaN and the
    /// method is [`VarianceMethod::Unavailable`]): the estimator has no reliable variance
    /// estimator under this design and exposure. `None` when they are reported.
    #[serde(default)]
    pub refused: Option<String>,
}

fn check_level(level: f64) -> Result<f64> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(cateye_stats::normal_quantile(0.5 + level / 2.0))
    } else {
        Err(NetworkError::invalid(format!("confidence level {level}: expected a value strictly between 0 and 1")))
    }
}

fn check_outcomes(outcomes: &[f64], nodes: usize) -> Result<()> {
    if outcomes.len() != nodes {
        return Err(NetworkError::invalid(format!(
            "{} outcomes for {nodes} nodes: expected one per node",
            outcomes.len()
        )));
    }
    if let Some((i, y)) = outcomes.iter().enumerate().find(|(_, y)| !y.is_finite()) {
        return Err(NetworkError::invalid(format!("node {i} has outcome {y}: outcomes must be finite")));
    }
    Ok(())
}

fn interval(estimate: f64, variance: f64, z: f64) -> (f64, [f64; 2]) {
    let se = variance.max(0.0).sqrt();
    (se, [estimate - z * se, estimate + z * se])
}

/// Fewest clusters per arm (as drawn) for which the cluster designs' estimators report an
/// interval: with fewer, a normal interval rests on a handful of independent cluster totals and
/// does not cover (a cascade design of 3 territories covered 4% in simulation).
pub const MIN_CLUSTERS_PER_ARM: usize = 5;

/// The difference in means of the nodes' own assignments `nodes` (0/1) with Neyman's variance
/// `s₁²/n₁ + s₀²/n₀` and a normal interval at `level`: the analysis of a unit-randomized
/// experiment that ignores interference (under spillovers it estimates the direct effect, not
/// the global one).
pub fn difference_in_means(nodes: &[u8], outcomes: &[f64], level: f64) -> Result<EffectEstimate> {
    let z = check_level(level)?;
    check_outcomes(outcomes, nodes.len())?;
    let mut moments = [(0usize, 0.0f64, 0.0f64); 2];
    for (i, (&t, &y)) in nodes.iter().zip(outcomes).enumerate() {
        if t > 1 {
            return Err(NetworkError::invalid(format!("node {i} has assignment {t}: expected 0 or 1")));
        }
        // Welford's update.
        let m = &mut moments[t as usize];
        m.0 += 1;
        let d = y - m.1;
        m.1 += d / m.0 as f64;
        m.2 += d * (y - m.1);
    }
    if let Some(arm) = (0..2).find(|&a| moments[a].0 < 2) {
        return Err(NetworkError::invalid(format!(
            "{} {} nodes: the difference in means needs at least 2 per arm",
            moments[arm].0,
            if arm == 1 { "treated" } else { "control" }
        )));
    }
    let part = |m: &(usize, f64, f64)| m.2 / (m.0 as f64 - 1.0) / m.0 as f64;
    let parts = VarianceParts { treated: part(&moments[1]), control: part(&moments[0]), covariance: 0.0, young: 0.0 };
    let estimate = moments[1].1 - moments[0].1;
    let variance = parts.treated + parts.control;
    let (se, ci) = interval(estimate, variance, z);
    Ok(EffectEstimate {
        estimator: Estimator::DifferenceInMeans,
        exposure: Exposure::Own,
        estimate,
        mean_treated: moments[1].1,
        mean_control: moments[0].1,
        variance,
        variance_method: VarianceMethod::Neyman,
        variance_parts: parts,
        se,
        ci,
        level,
        units: nodes.len(),
        exposed_treated: moments[1].0,
        exposed_control: moments[0].0,
        zero_probability_treated: 0,
        zero_probability_control: 0,
        simulated_probabilities: 0,
        excluded_unestimated_probability: 0,
        refused: None,
    })
}

impl ExposureModel<'_> {
    /// Estimates the global average treatment effect from one assignment (a draw of the model's
    /// design) and the observed outcome of every node, with the estimator's variance and a
    /// normal interval at `level` (see the module documentation). The difference in means
    /// ignores the exposure condition. Horvitz–Thompson is defined (as 0 for that arm) when no
    /// node is exposed to an arm; Hájek is then an error.
    pub fn estimate(
        &self,
        assignment: &Assignment,
        outcomes: &[f64],
        estimator: Estimator,
        level: f64,
    ) -> Result<EffectEstimate> {
        if estimator == Estimator::DifferenceInMeans {
            return difference_in_means(assignment.nodes(), outcomes, level);
        }
        let z = check_level(level)?;
        let n = self.graph().num_nodes();
        check_outcomes(outcomes, n)?;
        let cond = self.conditions(assignment)?;
        let probs = self.probabilities();
        let pi = |arm: usize, i: usize| if arm == 1 { probs.treated[i] } else { probs.control[i] };
        // Exposed nodes per arm ([control, treated]) in node order.
        let mut exposed: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        for (i, c) in cond.iter().enumerate() {
            match c {
                Condition::Treated => exposed[1].push(i as u32),
                Condition::Control => exposed[0].push(i as u32),
                Condition::Neither => {}
            }
        }
        // A simulated probability of 0 is no evidence that the exposure is impossible: such
        // nodes are left out and counted. An exact probability of 0 is.
        let simulated = probs.monte_carlo.as_ref().map(|m| m.simulated.as_slice());
        let mut excluded = 0usize;
        for (arm, name) in [(0, "control"), (1, "treatment")] {
            let mut impossible = None;
            exposed[arm].retain(|&i| {
                if pi(arm, i as usize) != 0.0 {
                    true
                } else if simulated.is_some_and(|s| s.binary_search(&i).is_ok()) {
                    excluded += 1;
                    false
                } else {
                    impossible.get_or_insert(i);
                    true
                }
            });
            if let Some(i) = impossible {
                return Err(NetworkError::invalid(format!(
                    "node {i} is exposed to {name}, which has probability 0 under the design: is the assignment a \
                     draw of this design?"
                )));
            }
        }
        let nf = n as f64;
        let mut means = [0.0f64; 2];
        for arm in 0..2 {
            let sum: f64 = exposed[arm].iter().map(|&i| outcomes[i as usize] / pi(arm, i as usize)).sum();
            means[arm] = match estimator {
                Estimator::HorvitzThompson => sum / nf,
                _ => {
                    if exposed[arm].is_empty() {
                        return Err(NetworkError::invalid(format!(
                            "no node is exposed to {} under {:?} exposure: the Hájek mean is undefined",
                            if arm == 1 { "treatment" } else { "control" },
                            self.exposure()
                        )));
                    }
                    let weight: f64 = exposed[arm].iter().map(|&i| 1.0 / pi(arm, i as usize)).sum();
                    sum / weight
                }
            };
        }
        // The values whose HT variance is estimated: outcomes, or residuals for Hájek.
        let value = |arm: usize, i: usize| match estimator {
            Estimator::HorvitzThompson => outcomes[i],
            _ => outcomes[i] - means[arm],
        };
        let treated_clusters = assignment.treated_clusters();
        let control_clusters = assignment.clusters().len() - treated_clusters;
        let few = treated_clusters.min(control_clusters);
        let too_few = if few < MIN_CLUSTERS_PER_ARM {
            Some(format!(
                "no interval: the draw has {treated_clusters} treated and {control_clusters} control clusters; a \
                 normal interval needs at least {MIN_CLUSTERS_PER_ARM} in each arm (with fewer, the variance \
                 estimate rests on too few independent pieces to cover): use more, smaller clusters"
            ))
        } else {
            None
        };
        let refused = (estimator == Estimator::HorvitzThompson
            && self.exposure() == Exposure::Full
            && matches!(self.design().scheme(), SchemeView::Complete(_)))
        .then(|| {
            format!(
                "no interval: Horvitz–Thompson under complete randomization of clusters with {:?} exposure has no \
                 reliable variance estimator (the Aronow–Samii estimate is a difference of terms of the size of the \
                 outcome's level: intervals covered 79–90% without strata and were ~10 times too wide with them); \
                 use the Hájek estimator, or own exposure",
                self.exposure()
            )
        });
        let (method, parts) = if refused.is_some() {
            let nan = f64::NAN;
            (VarianceMethod::Unavailable, VarianceParts { treated: nan, control: nan, covariance: nan, young: nan })
        } else {
            self.variance(&exposed, &value)?
        };
        let parts = VarianceParts {
            treated: parts.treated / (nf * nf),
            control: parts.control / (nf * nf),
            covariance: parts.covariance / (nf * nf),
            young: parts.young / (nf * nf),
        };
        let variance = parts.treated + parts.control - 2.0 * parts.covariance + parts.young;
        let estimate = means[1] - means[0];
        let (se, ci) = if refused.is_some() { (f64::NAN, [f64::NAN; 2]) } else { interval(estimate, variance, z) };
        // Too few clusters: the variance estimate stands, but no interval is drawn from it.
        let (ci, refused) = match (refused, too_few) {
            (None, Some(why)) => ([f64::NAN; 2], Some(why)),
            (refused, _) => (ci, refused),
        };
        Ok(EffectEstimate {
            refused,
            estimator,
            exposure: self.exposure(),
            estimate,
            mean_treated: means[1],
            mean_control: means[0],
            variance,
            variance_method: method,
            variance_parts: parts,
            se,
            ci,
            level,
            units: n,
            exposed_treated: exposed[1].len(),
            exposed_control: exposed[0].len(),
            zero_probability_treated: probs.zero_treated(),
            zero_probability_control: probs.zero_control(),
            simulated_probabilities: probs.monte_carlo.as_ref().map_or(0, |m| m.simulated_nodes),
            excluded_unestimated_probability: excluded,
        })
    }

    /// The variance parts (times `N²`) of the HT-type sums of `value` over the exposed nodes.
    fn variance(
        &self,
        exposed: &[Vec<u32>; 2],
        value: &dyn Fn(usize, usize) -> f64,
    ) -> Result<(VarianceMethod, VarianceParts)> {
        let probs = self.probabilities();
        let pi = |arm: usize, i: usize| if arm == 1 { probs.treated[i] } else { probs.control[i] };
        let design = self.design();
        let clusters = design.num_clusters();
        // b_i = v_i / π_i per arm.
        let b: [Vec<(u32, f64)>; 2] =
            [0, 1].map(|arm| exposed[arm].iter().map(|&i| (i, value(arm, i as usize) / pi(arm, i as usize))).collect());
        if let (Exposure::Own, SchemeView::Complete(strata)) = (self.exposure(), design.scheme()) {
            if let Some(parts) = cluster_neyman(design.labels(), strata, exposed, value) {
                return Ok((VarianceMethod::ClusterNeyman, parts));
            }
        }
        let keep1: Vec<f64> = (0..clusters).map(|c| design.cluster_probability(c)).collect();
        let keep0: Vec<f64> = keep1.iter().map(|p| 1.0 - p).collect();
        if matches!(self.exposure(), Exposure::Fractional { .. }) {
            // D_i = Σ_j |S_i ∩ S_j| = Σ_{c∈S_i} |U_c| ≥ #{j : S_j ∩ S_i ≠ ∅}: every dependent node
            // under Bernoulli designs. Under complete randomization the pairs with disjoint sets
            // are dependent too and left out: proven only for values of one sign (module docs).
            let u_count = cluster_counts(self.sets(), clusters);
            let bound = |arm: usize| -> f64 {
                b[arm]
                    .iter()
                    .map(|&(i, bi)| {
                        let d: u64 = self.sets().get(i as usize).iter().map(|&c| u_count[c as usize]).sum();
                        d as f64 * bi * bi
                    })
                    .sum()
            };
            let parts = VarianceParts { treated: bound(1), control: bound(0), covariance: 0.0, young: 0.0 };
            return Ok((VarianceMethod::DependenceBound, parts));
        }
        // Partners of treated-exposed nodes must be exposable to control, and conversely.
        let exposable = |arm: usize| -> Option<Vec<bool>> {
            let p = if arm == 1 { &probs.treated } else { &probs.control };
            p.contains(&0.0).then(|| p.iter().map(|&x| x > 0.0).collect())
        };
        let (elig_for_treated, elig_for_control) = (exposable(0), exposable(1));
        let exact_complete = match design.scheme() {
            SchemeView::Complete(strata) if strata.clusters.len() == 1 => complete_pair_sums(
                &CompleteInput {
                    sets: self.sets(),
                    num_clusters: clusters,
                    exposed: [&b[0], &b[1]],
                    treated: strata.treated[0],
                    max_subset: MAX_SUBSET,
                },
                true,
            )?,
            _ => None,
        };
        let sums = pair_sums(
            &PairInput {
                sets: self.sets(),
                num_clusters: clusters,
                exposed: [&b[0], &b[1]],
                keep: [&keep0, &keep1],
                eligible: [elig_for_control.as_deref(), elig_for_treated.as_deref()],
                max_subset: MAX_SUBSET,
                want_pairs: exact_complete.is_none(),
            },
            true,
        )?;
        let pairwise = || -> f64 {
            (0..2)
                .map(|arm| {
                    b[arm]
                        .iter()
                        .zip(&sums.overlaps[arm])
                        .map(|(&(i, bi), &k)| k as f64 * bi * bi * pi(arm, i as usize))
                        .sum::<f64>()
                })
                .sum()
        };
        let blocks = cluster_total_bound(
            &BlockInput {
                sets: self.sets(),
                num_clusters: clusters,
                exposed: [&b[0], &b[1]],
                overlaps: [&sums.overlaps[0], &sums.overlaps[1]],
                eligible: [elig_for_control.as_deref(), elig_for_treated.as_deref()],
                pi: [&probs.control, &probs.treated],
                strata: match design.scheme() {
                    SchemeView::Complete(strata) => Some(strata),
                    SchemeView::Bernoulli(_) => None,
                },
            },
            &|arm, set| all_in_arm(&design.scheme(), arm, set),
        );
        let young = blocks.unwrap_or_else(pairwise);
        if let Some(exact) = exact_complete {
            let parts =
                VarianceParts { treated: exact.same[1], control: exact.same[0], covariance: exact.cross, young };
            return Ok((VarianceMethod::AronowSamii, parts));
        }
        let (method, exact_pairs) = match design.scheme() {
            SchemeView::Bernoulli(_) => (VarianceMethod::AronowSamii, true),
            SchemeView::Complete(_) => (VarianceMethod::IndependentClusters, false),
        };
        let mut same_arm = sums.pairs;
        if !exact_pairs {
            // The diagonal with the exact (1 − π_i) instead of the independent-cluster weight.
            for (arm, total) in same_arm.iter_mut().enumerate() {
                let keep = if arm == 1 { &keep1 } else { &keep0 };
                for &(i, bi) in &b[arm] {
                    let independent: f64 = self.sets().get(i as usize).iter().map(|&c| keep[c as usize]).product();
                    *total += (independent - pi(arm, i as usize)) * bi * bi;
                }
            }
        }
        Ok((method, VarianceParts { treated: same_arm[1], control: same_arm[0], covariance: 0.0, young }))
    }
}

/// The design's probability that every cluster of `set` has assignment `arm` (1 treated, 0
/// control): `Π_c k_c` under Bernoulli, `Π_s (m_s)_{a_s}/(C_s)_{a_s}` (or with `C_s − m_s`) under
/// complete randomization within strata, `a_s` the clusters of `set` in stratum `s`.
fn all_in_arm(scheme: &SchemeView<'_>, arm: usize, set: &[u32]) -> f64 {
    match scheme {
        SchemeView::Bernoulli(p) => {
            let k = if arm == 1 { *p } else { 1.0 - p };
            k.powi(set.len() as i32)
        }
        SchemeView::Complete(strata) => {
            let mut by_stratum: Vec<u32> = set.iter().map(|&c| strata.of_cluster[c as usize]).collect();
            by_stratum.sort_unstable();
            let mut prob = 1.0;
            for run in by_stratum.chunk_by(|a, b| a == b) {
                let s = run[0] as usize;
                let (cs, ms) = (strata.clusters[s], strata.treated[s]);
                let drawn = if arm == 1 { ms } else { cs - ms };
                let a = run.len() as u32;
                if a > drawn {
                    return 0.0;
                }
                prob *= (0..a).map(|j| f64::from(drawn - j) / f64::from(cs - j)).product::<f64>();
            }
            prob
        }
    }
}

/// Neyman's variance of the cluster totals of `value` within strata (times `N²`), for own
/// exposure under complete randomization of clusters within strata: with `V_c = Σ_{i∈c} v_i`,
/// the Horvitz–Thompson sum of an arm is `Σ_s (C_s/m_s) Σ_{c∈s treated} V_c`, a scaled sum of a
/// simple random sample of the stratum's clusters, so
/// `N²·Var = Σ_s C_s² (S²₁ₛ/m_s + S²₀ₛ/(C_s−m_s) − S²_τₛ/C_s)` and dropping the unidentified last
/// term gives the conservative estimate (Middleton & Aronow 2015, eq. for the cluster-level
/// Neyman variance; for Hájek the values are the residuals). `None` when a stratum has fewer
/// than two clusters in an arm (no sample variance).
fn cluster_neyman(
    labels: &[u32],
    strata: &crate::design::Strata,
    exposed: &[Vec<u32>; 2],
    value: &dyn Fn(usize, usize) -> f64,
) -> Option<VarianceParts> {
    let clusters = strata.of_cluster.len();
    let mut parts = [0.0f64; 2];
    for (arm, part) in parts.iter_mut().enumerate() {
        let mut totals = vec![0.0f64; clusters];
        let mut in_arm = vec![false; clusters];
        for &i in &exposed[arm] {
            let c = labels[i as usize] as usize;
            totals[c] += value(arm, i as usize);
            in_arm[c] = true;
        }
        let s_count = strata.clusters.len();
        // Welford per stratum over the clusters of the arm.
        let mut moments = vec![(0u32, 0.0f64, 0.0f64); s_count];
        for c in (0..clusters).filter(|&c| in_arm[c]) {
            let m = &mut moments[strata.of_cluster[c] as usize];
            m.0 += 1;
            let d = totals[c] - m.1;
            m.1 += d / f64::from(m.0);
            m.2 += d * (totals[c] - m.1);
        }
        for (s, m) in moments.iter().enumerate() {
            let drawn = if arm == 1 { strata.treated[s] } else { strata.clusters[s] - strata.treated[s] };
            if drawn < 2 || m.0 != drawn {
                return None;
            }
            let cs = f64::from(strata.clusters[s]);
            *part += cs * cs * m.2 / (f64::from(drawn) - 1.0) / f64::from(drawn);
        }
    }
    Some(VarianceParts { treated: parts[1], control: parts[0], covariance: 0.0, young: 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::Design;
    use crate::graph::Graph;

    /// A tiny graph of 9 nodes in 5 clusters with cross-cluster edges and an isolated node.
    fn tiny() -> (Graph, Vec<u32>) {
        let edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (1, 5)];
        let (g, _) = Graph::from_edges(9, &edges, None).unwrap();
        (g, vec![0, 0, 1, 1, 2, 2, 3, 3, 4])
    }

    /// Potential outcomes under global treatment and control.
    fn outcomes() -> (Vec<f64>, Vec<f64>) {
        let y0: Vec<f64> = (0..9).map(|i| 3.0 + (i as f64 * 1.7).sin() * 2.0).collect();
        let y1: Vec<f64> = y0.iter().enumerate().map(|(i, y)| y + 0.5 + 0.3 * (i as f64).cos()).collect();
        (y1, y0)
    }

    /// Every cluster assignment with its probability under Bernoulli(p).
    fn enumerate(design: &Design, p: f64) -> Vec<(f64, Assignment)> {
        let c = design.num_clusters();
        (0u32..1 << c)
            .map(|mask| {
                let z: Vec<u8> = (0..c).map(|k| ((mask >> k) & 1) as u8).collect();
                let k = z.iter().filter(|&&v| v == 1).count() as i32;
                (p.powi(k) * (1.0 - p).powi(c as i32 - k), Assignment::from_clusters(design, z).unwrap())
            })
            .collect()
    }

    /// The slack of the cluster-total bound (times `N²`), by brute force over clusters and pairs:
    /// `Σ_c (T_1(c) − T_0(c))² + Σ_{i,j} (|S_i∩S_j| − 1)₊ (Y_i(1) + Y_j(0))²` over the nodes that
    /// can be exposed to each arm.
    fn block_slack(model: &ExposureModel<'_>, y1: &[f64], y0: &[f64]) -> f64 {
        let n = y1.len();
        let probs = model.probabilities();
        let can1 = |i: usize| probs.treated[i] > 0.0;
        let can0 = |i: usize| probs.control[i] > 0.0;
        let mut slack = 0.0;
        for c in 0..model.design().num_clusters() as u32 {
            let has = |i: usize| model.cluster_set(i).contains(&c);
            let t1: f64 = (0..n).filter(|&i| has(i) && can1(i)).map(|i| y1[i]).sum();
            let t0: f64 = (0..n).filter(|&i| has(i) && can0(i)).map(|i| y0[i]).sum();
            slack += (t1 - t0).powi(2);
        }
        for i in (0..n).filter(|&i| can1(i)) {
            for j in (0..n).filter(|&j| can0(j)) {
                let shared = model.cluster_set(i).iter().filter(|c| model.cluster_set(j).contains(c)).count();
                slack += shared.saturating_sub(1) as f64 * (y1[i] + y0[j]).powi(2);
            }
        }
        slack
    }

    /// The Horvitz–Thompson estimate and its variance estimate (method included) from the
    /// conditions and observed outcomes, without the refusal of [`ExposureModel::estimate`].
    fn ht_with_variance(model: &ExposureModel<'_>, cond: &[Condition], y: &[f64]) -> (f64, f64, VarianceMethod) {
        let probs = model.probabilities();
        let mut exposed: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        let mut estimate = 0.0;
        for (i, c) in cond.iter().enumerate() {
            match c {
                Condition::Treated => {
                    exposed[1].push(i as u32);
                    estimate += y[i] / probs.treated[i];
                }
                Condition::Control => {
                    exposed[0].push(i as u32);
                    estimate -= y[i] / probs.control[i];
                }
                Condition::Neither => {}
            }
        }
        let (method, p) = model.variance(&exposed, &|_, i| y[i]).unwrap();
        let nf = y.len() as f64;
        (estimate / nf, (p.treated + p.control - 2.0 * p.covariance + p.young) / (nf * nf), method)
    }

    #[test]
    fn aronow_samii_is_unbiased_for_the_identified_part() {
        // E[Var̂] = Var(τ̂) + the slack of the cluster-total bound (`block_slack`), by exact
        // enumeration of the design: the bound is valid and its slack is as stated.
        let (g, labels) = tiny();
        let (y1, y0) = outcomes();
        for p in [0.5, 0.3] {
            let design = Design::cluster_bernoulli(&labels, p).unwrap();
            for exposure in [Exposure::Own, Exposure::Full] {
                let model = ExposureModel::new(&g, &design, exposure).unwrap();
                let (mut mean, mut second, mut expected_var) = (0.0, 0.0, 0.0);
                for (w, a) in enumerate(&design, p) {
                    let cond = model.conditions(&a).unwrap();
                    let y: Vec<f64> = cond
                        .iter()
                        .enumerate()
                        .map(|(i, c)| if *c == Condition::Treated { y1[i] } else { y0[i] })
                        .collect();
                    let est = model.estimate(&a, &y, Estimator::HorvitzThompson, 0.95).unwrap();
                    mean += w * est.estimate;
                    second += w * est.estimate * est.estimate;
                    expected_var += w * est.variance;
                }
                let tau = (y1.iter().sum::<f64>() - y0.iter().sum::<f64>()) / 9.0;
                assert!((mean - tau).abs() < 1e-12, "{exposure:?} p {p}: HT mean {mean} vs τ {tau}");
                let var = second - mean * mean;
                let slack = block_slack(&model, &y1, &y0) / 81.0;
                assert!(expected_var >= var, "{exposure:?} p {p}: E[Var̂] {expected_var} below Var {var}");
                assert!(
                    (expected_var - (var + slack)).abs() < 1e-9 * var,
                    "{exposure:?} p {p}: E[Var̂] {expected_var} vs Var {var} + slack {slack}"
                );
            }
        }
    }

    #[test]
    fn aronow_samii_is_unbiased_under_complete_randomization() {
        // A path through 10 clusters of 2 nodes (every cluster set has at most 2 clusters) and two
        // isolated nodes; all C(C, m) assignments are equally likely.
        let mut edges: Vec<(u32, u32)> = (0..19).map(|i| (i, i + 1)).collect();
        edges.push((3, 8));
        let (g, _) = Graph::from_edges(22, &edges, None).unwrap();
        let mut labels: Vec<u32> = (0..20).map(|i| i / 2).collect();
        labels.extend([10, 11]);
        let y0: Vec<f64> = (0..22).map(|i| 2.0 + (i as f64 * 0.9).sin()).collect();
        let y1: Vec<f64> = y0.iter().enumerate().map(|(i, y)| y + 1.0 + 0.4 * (i as f64 * 0.5).cos()).collect();
        let n = 22.0;
        for (design, exposure) in [
            (Design::cluster_complete(&labels, 0.5).unwrap(), Exposure::Full),
            (Design::cluster_complete(&labels, 0.5).unwrap(), Exposure::Own),
            (Design::unit_complete(14, 0.5).unwrap(), Exposure::Full),
        ] {
            let nodes = design.num_nodes();
            let (g, y0, y1) = if nodes == 22 {
                (g.clone(), y0.clone(), y1.clone())
            } else {
                let e: Vec<(u32, u32)> = (0..13).map(|i| (i, i + 1)).collect();
                (Graph::from_edges(14, &e, None).unwrap().0, y0[..14].to_vec(), y1[..14].to_vec())
            };
            let nf = nodes as f64;
            let model = ExposureModel::new(&g, &design, exposure).unwrap();
            let c = design.num_clusters();
            let m = c.div_ceil(2);
            let draws: Vec<Assignment> = (0u32..1 << c)
                .filter(|mask| mask.count_ones() as usize == m)
                .map(|mask| {
                    let z: Vec<u8> = (0..c).map(|k| ((mask >> k) & 1) as u8).collect();
                    Assignment::from_clusters(&design, z).unwrap()
                })
                .collect();
            let w = 1.0 / draws.len() as f64;
            let (mut mean, mut second, mut expected_var) = (0.0, 0.0, 0.0);
            for a in &draws {
                let cond = model.conditions(a).unwrap();
                let y: Vec<f64> = cond
                    .iter()
                    .enumerate()
                    .map(|(i, c)| if *c == Condition::Treated { y1[i] } else { y0[i] })
                    .collect();
                // The estimator refuses full-exposure intervals here; its variance is checked
                // directly.
                let (estimate, variance, method) = ht_with_variance(&model, &cond, &y);
                let expect =
                    if exposure == Exposure::Own { VarianceMethod::ClusterNeyman } else { VarianceMethod::AronowSamii };
                assert_eq!(method, expect);
                mean += w * estimate;
                second += w * estimate * estimate;
                expected_var += w * variance;
            }
            let tau = (y1.iter().sum::<f64>() - y0.iter().sum::<f64>()) / nf;
            assert!((mean - tau).abs() < 1e-12, "{exposure:?}: HT mean {mean} vs τ {tau}");
            let var = second - mean * mean;
            let slack = if exposure == Exposure::Own {
                // Neyman's slack C·S²_τ of the cluster-total effects (one stratum).
                let labels = design.labels();
                let mut effect = vec![0.0f64; c];
                for i in 0..nodes {
                    effect[labels[i] as usize] += y1[i] - y0[i];
                }
                let mean_effect = effect.iter().sum::<f64>() / c as f64;
                let s2 = effect.iter().map(|t| (t - mean_effect).powi(2)).sum::<f64>() / (c as f64 - 1.0);
                c as f64 * s2 / (nf * nf)
            } else {
                block_slack(&model, &y1, &y0) / (nf * nf)
            };
            assert!(expected_var >= var, "{exposure:?} {nodes} nodes: E[Var̂] {expected_var} below Var {var}");
            assert!(
                (expected_var - (var + slack)).abs() < 1e-9 * var,
                "{exposure:?} {nodes} nodes: E[Var̂] {expected_var} vs Var {var} + slack {slack}"
            );
            let _ = n;
        }
    }

    /// What the exact enumeration of a design gives for the cluster-total bound.
    struct BoundCheck {
        /// `E[young]` (times `N²`).
        expected_young: f64,
        /// `2·Σ_M Y_i(1)Y_j(0)`, what Young's bound replaces.
        unidentified: f64,
        /// The slack of the cluster totals and of the pairs never exposed together.
        slack: f64,
        /// `Σ_t Σ_{{i,i'}∈Z_t} |S_i∩S_i'| (Y_i² + Y_i'²)`: the expectation of the terms added for
        /// the pairs never exposed together.
        zero_terms: f64,
        /// Number of same-arm pairs sharing a cluster that are never exposed together.
        zero_pairs: usize,
        /// `Var(τ̂)` and `E[Var̂]` of Horvitz–Thompson.
        var: f64,
        expected_var: f64,
    }

    /// Enumerates every draw of `design` (complete randomization of six or fewer clusters).
    fn check_bound(model: &ExposureModel<'_>, y1: &[f64], y0: &[f64]) -> BoundCheck {
        let design = model.design();
        let n = y1.len();
        let nf = n as f64;
        let probs = model.probabilities();
        let can = |arm: usize, i: usize| if arm == 1 { probs.treated[i] > 0.0 } else { probs.control[i] > 0.0 };
        let arm_of = |arm: usize| if arm == 1 { Condition::Treated } else { Condition::Control };
        let (mut zero_pairs, mut zero_slack, mut zero_terms) = (0, 0.0, 0.0);
        for arm in 0..2 {
            let y = if arm == 1 { y1 } else { y0 };
            for i in (0..n).filter(|&i| can(arm, i)) {
                for j in (i + 1..n).filter(|&j| can(arm, j)) {
                    let shared =
                        model.cluster_set(i).iter().filter(|c| model.cluster_set(j).contains(c)).count() as f64;
                    if shared > 0.0 && model.joint_probability(i, arm_of(arm), j, arm_of(arm)) == Some(0.0) {
                        zero_pairs += 1;
                        zero_slack += shared * (y[i] - y[j]).powi(2);
                        zero_terms += shared * (y[i] * y[i] + y[j] * y[j]);
                    }
                }
            }
        }
        let mut unidentified = 0.0;
        for i in (0..n).filter(|&i| can(1, i)) {
            for j in (0..n).filter(|&j| can(0, j)) {
                if model.cluster_set(i).iter().any(|c| model.cluster_set(j).contains(c)) {
                    unidentified += 2.0 * y1[i] * y0[j];
                }
            }
        }
        let c = design.num_clusters();
        let draws: Vec<Assignment> = (0u32..1 << c)
            .filter_map(|mask| {
                let z: Vec<u8> = (0..c).map(|k| ((mask >> k) & 1) as u8).collect();
                Assignment::from_clusters(design, z).ok()
            })
            .collect();
        let w = 1.0 / draws.len() as f64;
        let (mut mean, mut second, mut expected_var, mut expected_young) = (0.0, 0.0, 0.0, 0.0);
        for a in &draws {
            let cond = model.conditions(a).unwrap();
            let y: Vec<f64> =
                cond.iter().enumerate().map(|(i, c)| if *c == Condition::Treated { y1[i] } else { y0[i] }).collect();
            let (estimate, variance, method) = ht_with_variance(model, &cond, &y);
            assert_eq!(method, VarianceMethod::IndependentClusters);
            let mut exposed: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
            for (i, c) in cond.iter().enumerate() {
                if *c != Condition::Neither {
                    exposed[*c as usize].push(i as u32);
                }
            }
            let (_, parts) = model.variance(&exposed, &|_, i| y[i]).unwrap();
            mean += w * estimate;
            second += w * estimate * estimate;
            expected_var += w * variance;
            expected_young += w * parts.young;
        }
        // Nodes that can never be exposed are missing from HT's expectation.
        let reachable = |arm: usize, y: &[f64]| (0..n).filter(|&i| can(arm, i)).map(|i| y[i]).sum::<f64>();
        let ht_mean = (reachable(1, y1) - reachable(0, y0)) / nf;
        assert!((mean - ht_mean).abs() < 1e-12, "HT mean {mean} vs {ht_mean}");
        BoundCheck {
            expected_young,
            unidentified,
            slack: block_slack(model, y1, y0) + zero_slack,
            zero_terms,
            zero_pairs,
            var: second - mean * mean,
            expected_var,
        }
    }

    #[test]
    fn cluster_total_bound_is_valid_with_pairs_never_exposed_together() {
        // Six clusters in strata {0,1,2,3} (2 treated) and {4,5} (1 treated). Nodes 0, 3, 13 have
        // the set {0,1}, nodes 2, 5, 14 the set {0,2}: they share cluster 0 but need three clusters
        // of the first stratum in one arm, so π_ii'(t,t) = 0 for both arms (likewise {0,2} and
        // {2,3}). All 12 draws are enumerated.
        let edges = [
            (0, 1),
            (1, 2),
            (0, 3),
            (2, 5),
            (3, 4),
            (5, 6),
            (6, 7),
            (7, 8),
            (8, 9),
            (10, 11),
            (11, 12),
            (13, 3),
            (13, 1),
            (14, 5),
            (14, 1),
            (15, 6),
        ];
        let (g, _) = Graph::from_edges(16, &edges, None).unwrap();
        let labels = vec![0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 0, 2];
        let design = Design::cluster_stratified(&labels, &[0, 0, 0, 0, 1, 1], 0.5).unwrap();
        let model = ExposureModel::new(&g, &design, Exposure::Full).unwrap();
        let n = 16;
        // A positive level with an effect close to constant.
        let level: (Vec<f64>, Vec<f64>) = {
            let y0: Vec<f64> = (0..n).map(|i| 5.0 + 0.3 * (i as f64 * 1.3).sin()).collect();
            (y0.iter().enumerate().map(|(i, y)| y + 1.0 + 0.1 * (i as f64).cos()).collect(), y0)
        };
        // Residual-like outcomes (Y(0) = −Y(1)) whose cluster totals are 0 and constant over the
        // pairs sharing two clusters: the slack of the cluster totals is 0, so leaving out the
        // products of the pairs never exposed together (9 pairs of +1 per arm) made the estimate
        // before this correction fall 36 below its target.
        let residuals: (Vec<f64>, Vec<f64>) = {
            let mut y1 = vec![0.0; n];
            for i in [0, 3, 13, 2, 5, 14] {
                y1[i] = 1.0;
            }
            (y1[1], y1[4], y1[15]) = (-6.0, -3.0, -3.0);
            let y0 = y1.iter().map(|y| -y).collect();
            (y1, y0)
        };
        for (name, (y1, y0)) in [("level", &level), ("residuals", &residuals)] {
            let b = check_bound(&model, y1, y0);
            assert!(b.zero_pairs >= 18, "{name}: {} pairs never exposed together", b.zero_pairs);
            // E[young] = the unidentified term + the stated slack: a valid bound.
            let scale = b.unidentified.abs().max(1.0);
            assert!(
                (b.expected_young - (b.unidentified + b.slack)).abs() < 1e-9 * scale,
                "{name}: E[young] {} vs unidentified {} + slack {}",
                b.expected_young,
                b.unidentified,
                b.slack
            );
            assert!(
                b.expected_young >= b.unidentified,
                "{name}: E[young] {} below {}",
                b.expected_young,
                b.unidentified
            );
            assert!(b.expected_var >= b.var, "{name}: E[Var̂] {} below Var {}", b.expected_var, b.var);
            if name == "residuals" {
                let old = b.expected_young - b.zero_terms;
                assert!(old < b.unidentified - 30.0, "{name}: without the terms {old} vs {}", b.unidentified);
            }
        }
    }

    #[test]
    fn nodes_with_a_simulated_zero_probability_are_left_out() {
        // A star: the centre (cluster 0) has 500 leaves in clusters 1..=500, and 30 isolated nodes
        // have clusters of their own; 251 of the 531 clusters are treated. Under 0.5-exposure the
        // centre's programme is too large and is simulated; it is exposed to treatment only when
        // every other treated cluster is a leaf (probability ~5e-9), so π̂ = 0, yet this draw
        // exposes it.
        let leaves = 500u32;
        let edges: Vec<(u32, u32)> = (1..=leaves).map(|j| (0, j)).collect();
        let n = 1 + leaves as usize + 30;
        let (g, _) = Graph::from_edges(n, &edges, None).unwrap();
        let labels: Vec<u32> = (0..n as u32).collect();
        let design = Design::cluster_complete(&labels, 251.0 / 531.0).unwrap();
        let model = ExposureModel::new(&g, &design, Exposure::Fractional { q: 0.5 }).unwrap();
        let mc = model.probabilities().monte_carlo.as_ref().unwrap();
        assert_eq!(mc.simulated, vec![0]);
        assert_eq!(model.probabilities().treated[0], 0.0);
        let z: Vec<u8> = (0..n).map(|c| u8::from(c <= 250)).collect();
        let a = Assignment::from_clusters(&design, z).unwrap();
        assert_eq!(model.conditions(&a).unwrap()[0], Condition::Treated);
        let y: Vec<f64> = (0..n).map(|i| 1.0 + 0.01 * i as f64).collect();
        for estimator in [Estimator::HorvitzThompson, Estimator::Hajek] {
            let e = model.estimate(&a, &y, estimator, 0.95).unwrap();
            assert_eq!(e.excluded_unestimated_probability, 1, "{estimator:?}");
            assert_eq!(e.simulated_probabilities, 1);
            assert_eq!(e.exposed_treated, 250, "the leaves of treated clusters, not the centre");
            assert!(e.estimate.is_finite() && e.variance.is_finite(), "{e:?}");
        }
    }

    #[test]
    fn joint_probabilities_by_enumeration() {
        let (g, labels) = tiny();
        let p = 0.35;
        let design = Design::cluster_bernoulli(&labels, p).unwrap();
        let model = ExposureModel::new(&g, &design, Exposure::Full).unwrap();
        let mut joint = vec![0.0f64; 81 * 4];
        for (w, a) in enumerate(&design, p) {
            let cond = model.conditions(&a).unwrap();
            for i in 0..9 {
                for j in 0..9 {
                    if cond[i] != Condition::Neither && cond[j] != Condition::Neither {
                        joint[(i * 9 + j) * 4 + cond[i] as usize * 2 + cond[j] as usize] += w;
                    }
                }
            }
        }
        for i in 0..9 {
            let si = model.cluster_set(i);
            for j in 0..9 {
                let sj = model.cluster_set(j);
                let union = {
                    let mut u: Vec<u32> = si.iter().chain(sj).copied().collect();
                    u.sort_unstable();
                    u.dedup();
                    u.len() as i32
                };
                let overlap = si.iter().any(|c| sj.contains(c));
                let formula11 = p.powi(union);
                let formula00 = (1.0 - p).powi(union);
                let formula10 = if overlap { 0.0 } else { p.powi(si.len() as i32) * (1.0 - p).powi(sj.len() as i32) };
                let at = |a: usize, b: usize| joint[(i * 9 + j) * 4 + a * 2 + b];
                assert!((at(1, 1) - formula11).abs() < 1e-14, "({i},{j}) 11");
                assert!((at(0, 0) - formula00).abs() < 1e-14, "({i},{j}) 00");
                assert!((at(1, 0) - formula10).abs() < 1e-14, "({i},{j}) 10");
                // The Aronow–Samii weight used by the pair sums.
                let shared = si.iter().filter(|c| sj.contains(c)).count() as i32;
                let pi_i = model.probabilities().treated[i];
                let pi_j = model.probabilities().treated[j];
                let weight = (at(1, 1) - pi_i * pi_j) / at(1, 1);
                assert!((weight - (1.0 - p.powi(shared))).abs() < 1e-12, "({i},{j}) weight");
            }
        }
    }

    #[test]
    fn estimates_do_not_depend_on_the_thread_count() {
        let planted = crate::generate::stochastic_block_model(&[30; 40], 0.2, 0.004, 3).unwrap();
        let (g, labels) = (&planted.graph, &planted.blocks);
        let y: Vec<f64> = (0..g.num_nodes()).map(|i| 5.0 + (i as f64 * 0.37).sin()).collect();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        for design in [Design::cluster_bernoulli(labels, 0.5).unwrap(), Design::cluster_complete(labels, 0.5).unwrap()]
        {
            for exposure in [Exposure::Full, Exposure::Own, Exposure::Fractional { q: 0.7 }] {
                let run = |pool: &rayon::ThreadPool| {
                    pool.install(|| {
                        let model = ExposureModel::new(g, &design, exposure).unwrap();
                        let a = design.draw(9);
                        [Estimator::HorvitzThompson, Estimator::Hajek].map(|e| model.estimate(&a, &y, e, 0.95).unwrap())
                    })
                };
                // Debug output compares the NaN of refused intervals too.
                assert_eq!(format!("{:?}", run(&one)), format!("{:?}", run(&two)), "{exposure:?}");
            }
        }
    }

    #[test]
    fn difference_in_means_matches_neyman() {
        let z = [1, 0, 1, 0, 1, 0];
        let y = [3.0, 1.0, 5.0, 2.0, 4.0, 3.0];
        let e = difference_in_means(&z, &y, 0.95).unwrap();
        assert!((e.estimate - 2.0).abs() < 1e-12);
        assert!((e.variance - (1.0 / 3.0 + 1.0 / 3.0)).abs() < 1e-12);
        assert!((e.ci[1] - e.estimate - 1.959_963_984_540_054 * e.se).abs() < 1e-12);
        assert!(difference_in_means(&[1, 0, 1], &[1.0, 2.0, 3.0], 0.95).unwrap_err().to_string().contains("1 control"));
        assert!(difference_in_means(&z, &y, 1.0).unwrap_err().to_string().contains("level 1"));
        let bad = [3.0, f64::NAN, 5.0, 2.0, 4.0, 3.0];
        assert!(difference_in_means(&z, &bad, 0.95).unwrap_err().to_string().contains("node 1 has outcome NaN"));
    }

    #[test]
    fn estimates_report_exposure_counts_and_reject_impossible_assignments() {
        let (g, labels) = tiny();
        let design = Design::cluster_complete(&labels, 0.4).unwrap();
        let model = ExposureModel::new(&g, &design, Exposure::Full).unwrap();
        let a = design.draw(3);
        let y: Vec<f64> = (0..9).map(f64::from).collect();
        let ht = model.estimate(&a, &y, Estimator::HorvitzThompson, 0.9).unwrap();
        assert_eq!(ht.variance_method, VarianceMethod::Unavailable);
        assert!(ht.se.is_nan() && ht.ci[0].is_nan() && ht.estimate.is_finite());
        assert!(ht.refused.as_deref().unwrap().contains("use the Hájek estimator"));
        let e = model.estimate(&a, &y, Estimator::Hajek, 0.9).unwrap();
        // Two of five clusters treated: the variance stands, but no interval is drawn from so few.
        assert!(e.se.is_finite() && e.ci[0].is_nan(), "{e:?}");
        assert!(e.refused.as_deref().unwrap().contains("2 treated and 3 control clusters"), "{e:?}");
        let cond = model.conditions(&a).unwrap();
        assert_eq!(e.exposed_treated, cond.iter().filter(|c| **c == Condition::Treated).count());
        assert_eq!(e.variance_method, VarianceMethod::IndependentClusters);
        // Two of five clusters treated: nodes whose sets meet three clusters are never exposed to treatment.
        let never = (0..9).filter(|&i| model.cluster_set(i).len() > 2).count();
        assert_eq!(e.zero_probability_treated, never);
        assert!(never > 0);
        let short = model.estimate(&a, &y[..8], Estimator::Hajek, 0.95).unwrap_err().to_string();
        assert!(short.contains("8 outcomes for 9 nodes"), "{short}");
    }
}
