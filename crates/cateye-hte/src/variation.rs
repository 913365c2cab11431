//! How much of the effect variation the breakdown dimensions explain, with its uncertainty.
//!
//! Two views:
//!
//! * [`explained_share`]: the share of the variance of the *estimated* effects `τ̂_i` that one
//!   dimension explains, `η² = Σ_l n_l (τ̄_l − τ̄)² / Σ_i (τ̂_i − τ̄)²` (between-level over total
//!   sum of squares).
//! * [`decompose_variation`]: the split of the variance of the *individual* effects into the part
//!   the dimensions explain (systematic) and the rest (idiosyncratic), after Ding, Feller &
//!   Miratrix (2019, "Decomposing treatment effect variation", JASA 114, §3–4; DFM19). Within
//!   each arm the outcome is regressed on the dimensions' level indicators (additive) and the
//!   numeric covariates: `Y = x'β_t + e_t`. The effect's projection on `x` is `x'(β_1 − β_0)`; its
//!   variance over the units, `Δ'Σ_xΔ`, corrected for estimation noise by subtracting
//!   `tr(Σ_x (V̂_1 + V̂_0))` (the expected inflation of a quadratic form in an estimate), is the
//!   explained variation; the same form on the covariate block alone is the covariates' part,
//!   and the difference (what the dimensions add, their covariance with the covariates
//!   included) is the systematic variation of the dimensions.
//!
//! The idiosyncratic variation `Var(e_1 − e_0)` is not identified from one experiment: only the
//! two arms' marginal distributions are observed. Under DFM19's assumption that it is
//! uncorrelated with the control residual it equals `σ²_1 − σ²_0`, the difference of the arms'
//! residual variances; that is the point estimate, and the total effect variance
//! `Var(τ_i) = explained + idiosyncratic` (the projection's residual is orthogonal to `x`)
//! inherits the assumption. Without it, `Var(e_1 − e_0)` lies between the Fréchet–Hoeffding
//! bounds of the two residual marginals, `∫(G_1⁻¹(u) − G_0⁻¹(u))² du` (comonotone residuals)
//! and `∫(G_1⁻¹(u) − G_0⁻¹(1 − u))² du` (antitone), less the squared difference of their means
//! (Heckman, Smith & Clements 1997; Ding, Feller & Miratrix 2016, JRSS-B 78, for the bounds on
//! the effect variance from the marginals), and [`VariationDecomposition::total_bounds`] adds the
//! explained part to them.
//!
//! Uncertainty: a bootstrap over units within each arm. Each replicate weights every unit by an
//! independent Poisson(1) count (the Poisson bootstrap, which approximates the multinomial
//! resample and can be drawn in one sequential pass: Hanley & MacGibbon 2006; Chamandy et al.
//! 2012, "Estimating uncertainty for massive data streams", for online experiments) and,
//! rather than refitting, takes one Newton step from the fit on the reweighted least-squares
//! estimating equations, `β* = β̂ + (X'X)⁻¹ Σ c_i x_i e_i` (the estimating function bootstrap of
//! Hu & Kalbfleisch 2000, Can. J. Statist. 28; for least squares it differs from a refit only
//! through the reweighted `X'X`, a relative change of order `n^{-1/2}`). A replicate so costs one
//! pass over the units in order with their active columns instead of the `O(n·a²)` normal
//! equations. It keeps what the
//! standard errors need: heteroskedastic residuals, and the covariance of the coefficients with
//! the residual variances that skewed metrics create. The covariance `Σ_x` of the units' design
//! stays that of the sample, whose effects are decomposed. This gives the
//! standard error of each raw (unclamped) component and of their sum; intervals are normal,
//! `raw ± z·se`, cut at 0 where a variance cannot go. The share explained,
//! `S / (S + U)` with `S` the systematic and `U` the unexplained (covariates + idiosyncratic)
//! variance, is monotone in both, so its interval is the image of the rectangle of the
//! intervals of `S` and `U`, each at level `1 − (1 − confidence)/2` (Bonferroni: the rectangle
//! covers both at `confidence`): `[S_lo/(S_lo + U_hi), S_hi/(S_hi + U_lo)]`. This stays valid at
//! the boundaries a share lives on (`U = 0`: the dimensions explain everything; `S = 0`: they
//! explain nothing), where a percentile bootstrap of the ratio is not. Negative estimates of a
//! variance are reported as zero (the raw values are kept).
//!
//! The test that the idiosyncratic variation is zero is [`idiosyncratic_variation_test`]: DFM's
//! randomization test with the systematic part of the effect as the null's nuisance.

use crate::linear::LevelColumn;
use crate::linear::{normal_equations, Design};
use crate::Result;
use cateye_stats::{normal_quantile, stream, InputError, Progress};
use cateye_stats::{randomization_test_reporting, RandomizationOptions, RandomizationTest};
use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Random-stream purpose of the bootstrap replicates.
const PURPOSE_BOOTSTRAP: u64 = 0xDEC0_B007;

/// `η²` of the estimates `tau` across the levels `codes` (`codes[i] < levels`); 0 when the
/// estimates do not vary.
pub fn explained_share(tau: &[f64], codes: &[u32], levels: usize) -> f64 {
    let n = tau.len() as f64;
    let mean = tau.iter().sum::<f64>() / n;
    let (mut count, mut sum) = (vec![0.0; levels], vec![0.0; levels]);
    for (&t, &c) in tau.iter().zip(codes) {
        count[c as usize] += 1.0;
        sum[c as usize] += t - mean;
    }
    let total: f64 = tau.iter().map(|t| (t - mean).powi(2)).sum();
    let between: f64 = count.iter().zip(&sum).filter(|(c, _)| **c > 0.0).map(|(c, s)| s * s / c).sum();
    if total > 0.0 {
        (between / total).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Options of [`decompose_variation`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DecompositionOptions {
    /// Bootstrap replicates behind the standard errors (at least 2; 0 gives no intervals).
    pub bootstrap: usize,
    /// Two-sided level of the intervals, in (0, 1).
    pub confidence: f64,
    /// Seed of the bootstrap: replicate `b` draws from its own stream, so results do not depend
    /// on the number of threads.
    pub seed: u64,
}

impl Default for DecompositionOptions {
    /// 200 replicates, 95% intervals, seed 0.
    fn default() -> Self {
        Self { bootstrap: 200, confidence: 0.95, seed: 0 }
    }
}

cateye_stats::settings_with!(DecompositionOptions);

/// A variance component (or share) with its uncertainty.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Component {
    /// Point estimate (a variance estimate below zero is reported as zero).
    pub estimate: f64,
    /// Bootstrap standard error of the raw estimate (NaN without a bootstrap).
    pub se: f64,
    /// Lower end of the interval at the decomposition's confidence level.
    pub ci_lower: f64,
    /// Upper end of the interval.
    pub ci_upper: f64,
}

impl Component {
    /// A variance: `max(0, raw)`, with the normal interval `raw ± z·se` cut at 0.
    fn variance(raw: f64, se: f64, z: f64) -> Self {
        Self { estimate: raw.max(0.0), se, ci_lower: (raw - z * se).max(0.0), ci_upper: (raw + z * se).max(0.0) }
    }
}

/// The systematic / idiosyncratic split of the effect variance (module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VariationDecomposition {
    /// Debiased variance of the effect's projection on the dimensions (beyond the covariates).
    pub systematic: Component,
    /// Debiased variance of the projection on the numeric covariates (slopes that differ by arm).
    pub covariates: Component,
    /// `σ²_1 − σ²_0`, the idiosyncratic variance under the assumption that it is uncorrelated
    /// with the control residual.
    pub idiosyncratic: Component,
    /// `σ²_1 − σ²_0` as estimated (may be negative by chance).
    pub idiosyncratic_raw: f64,
    /// DFM's randomization test that the idiosyncratic variance is zero (effects vary with the
    /// dimensions and covariates only), when the caller ran it
    /// ([`VariationFit::idiosyncratic_test`]).
    #[serde(default)]
    pub idiosyncratic_test: Option<RandomizationTest>,
    /// Why the caller's run of that test failed, if it did (the decomposition stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idiosyncratic_test_error: Option<String>,
    /// The variance of the individual effects, `explained + idiosyncratic`, under the same
    /// assumption: the sum of the three parts as reported; its interval is normal around the
    /// raw (unbiased) sum.
    pub total: Component,
    /// Bounds on the variance of the individual effects that hold without the assumption: the
    /// explained part plus the Fréchet–Hoeffding bounds of the idiosyncratic part from the two
    /// arms' residual distributions (module doc). Point estimates of the bounds.
    pub total_bounds: [f64; 2],
    /// Which assumption `idiosyncratic` and `total` rest on.
    pub assumption: String,
    /// `systematic / (systematic + covariates + idiosyncratic)` (0 when all are 0); its interval
    /// is the image of the rectangle of intervals (module doc).
    pub share_explained: Component,
    /// Two-sided level of the intervals.
    pub confidence: f64,
    /// Bootstrap replicates behind the standard errors.
    pub bootstrap: usize,
    /// Indicator columns per arm regression (levels absent from an arm are pooled with the
    /// dimension's most common level).
    pub columns: usize,
    /// One-sentence description of the method.
    pub method: String,
}

impl VariationDecomposition {
    /// Whether the interval of the share explained reaches 100%: no evidence of variation
    /// beyond the dimensions.
    pub fn dimensions_may_explain_all(&self) -> bool {
        self.share_explained.ci_upper >= 1.0
    }
}

/// Per-arm least squares on the sparse design.
struct ArmFit {
    beta: DVector<f64>,
    /// `(X'X)⁻¹` (with the relative ridge).
    inverse: DMatrix<f64>,
    /// `σ² (X'X)⁻¹`.
    covariance: DMatrix<f64>,
    sigma2: f64,
    /// `e_i = y_i − x_i'β` in the order of the arm's rows.
    residuals: Vec<f64>,
}

/// The data of a decomposition: the design and its centred covariates.
struct Problem<'a> {
    y: &'a [f64],
    dims: &'a [LevelColumn<'a>],
    cov: Vec<Vec<f64>>,
    design: Design,
    /// Covariance of the design columns over all the units.
    sigma: DMatrix<f64>,
}

/// The raw (unclamped) components of one fit.
#[derive(Clone, Copy, Debug)]
struct Raw {
    systematic: f64,
    covariates: f64,
    idiosyncratic: f64,
}

impl Raw {
    fn explained(&self) -> f64 {
        self.systematic + self.covariates
    }
    fn unexplained(&self) -> f64 {
        self.covariates + self.idiosyncratic
    }
    fn total(&self) -> f64 {
        self.explained() + self.idiosyncratic
    }
}

impl Problem<'_> {
    fn fit_arm(&self, rows: &[usize]) -> Result<ArmFit> {
        let (design, dims, cov, y) = (&self.design, self.dims, &self.cov, self.y);
        let (mut xtx, xty) = normal_equations(design, dims, cov, Some(y), rows);
        crate::linear::add_relative_ridge(&mut xtx);
        let inverse = xtx.cholesky().map(|c| c.inverse()).ok_or_else(|| {
            InputError::Data(
                "the regression of the outcome on the dimensions is singular within an arm (a covariate is \
                 constant or duplicates a dimension)"
                    .into(),
            )
        })?;
        let beta = &inverse * &xty;
        let residuals: Vec<f64> = self.residuals(&beta, rows).collect();
        let dof = (rows.len() as f64 - design.k as f64).max(1.0);
        let sigma2 = residuals.iter().map(|e| e * e).sum::<f64>() / dof;
        Ok(ArmFit { beta, covariance: &inverse * sigma2, inverse, sigma2, residuals })
    }

    /// One linearized Poisson-bootstrap replicate of an arm's fit (module doc): each of the
    /// arm's units `rows` gets a weight `c_i ~ Poisson(1)`, and `β* − β̂ = (X'X)⁻¹ Σ c_i x_i e_i`,
    /// `σ²* = (Σ c_i e_i² − (β* − β̂)'Σ c_i x_i e_i) / (Σ c_i − k)`. One pass over the arm's units
    /// in order with their active columns, not a refit.
    fn replicate(&self, fit: &ArmFit, rows: &[usize], rng: &mut impl rand::Rng) -> (DVector<f64>, f64) {
        let design = &self.design;
        let mut score = DVector::<f64>::zeros(design.k);
        let (mut squares, mut draws) = (0.0, 0.0);
        let mut active = Vec::with_capacity(self.dims.len() + 1);
        for (&i, &e) in rows.iter().zip(&fit.residuals) {
            let c = poisson_1(rng.random::<f64>());
            if c == 0.0 {
                continue;
            }
            design.active(self.dims, i, &mut active);
            let ce = c * e;
            for &p in &active {
                score[p] += ce;
            }
            for (j, column) in self.cov.iter().enumerate() {
                score[design.indicators + j] += column[i] * ce;
            }
            squares += ce * e;
            draws += c;
        }
        let step = &fit.inverse * &score;
        let rss = squares - step.dot(&score);
        (step, rss / (draws - design.k as f64).max(1.0))
    }

    /// `y_i − x_i'β` over `rows`.
    fn residuals<'b>(&'b self, beta: &'b DVector<f64>, rows: &'b [usize]) -> impl Iterator<Item = f64> + 'b {
        let mut active = Vec::with_capacity(self.dims.len() + 1);
        rows.iter().map(move |&i| self.y[i] - self.fitted(beta, i, &mut active))
    }

    /// `x_i'β` (`active` is scratch space).
    fn fitted(&self, beta: &DVector<f64>, i: usize, active: &mut Vec<usize>) -> f64 {
        let design = &self.design;
        design.active(self.dims, i, active);
        active.iter().map(|&p| beta[p]).sum::<f64>()
            + self.cov.iter().enumerate().map(|(j, c)| beta[design.indicators + j] * c[i]).sum::<f64>()
    }

    /// The raw components for the effect's coefficients `delta` with covariance `v` and the
    /// difference of the arms' residual variances. The covariance `Σ_x` of the design columns
    /// is that of all the units, in bootstrap replicates too: the decomposition is of these
    /// units' effects.
    fn raw(&self, delta: &DVector<f64>, v: &DMatrix<f64>, idiosyncratic: f64) -> Raw {
        let sigma = &self.sigma;
        // Everything the regressors explain (dimensions, covariates and their covariance), the
        // covariates alone, and the dimensions as the difference: what they add to the covariates.
        let (k, first_covariate) = (self.design.k, self.design.indicators);
        let explained = debiased_variance(delta, v, sigma, 1..k);
        let covariates = debiased_variance(delta, v, sigma, first_covariate..k);
        Raw { systematic: explained - covariates, covariates, idiosyncratic }
    }
}

/// A Poisson(1) draw by inversion of the uniform `u` (counts above 12, of probability
/// below 1e-10, are cut to 12). One uniform per draw, as the bootstrap's sequential pass wants;
/// `rand_distr::Poisson` draws by rejection, several uniforms each.
fn poisson_1(u: f64) -> f64 {
    let mut term = (-1.0f64).exp();
    let mut cdf = term;
    let mut k = 0.0;
    while u >= cdf && k < 12.0 {
        k += 1.0;
        term /= k;
        cdf += term;
    }
    k
}

/// Debiased `Δ'ΣΔ − tr(ΣV)` over the columns `range`.
fn debiased_variance(
    delta: &DVector<f64>,
    v: &DMatrix<f64>,
    sigma: &DMatrix<f64>,
    range: std::ops::Range<usize>,
) -> f64 {
    let len = range.len();
    if len == 0 {
        return 0.0;
    }
    let d = delta.rows(range.start, len);
    let s = sigma.view((range.start, range.start), (len, len));
    let quadratic = (d.transpose() * s * d)[0];
    let trace = (s * v.view((range.start, range.start), (len, len))).trace();
    quadratic - trace
}

/// Fréchet–Hoeffding bounds on `Var(e_1 − e_0)` from the two samples' marginal distributions:
/// `[∫(q_1(u) − q_0(u))² du, ∫(q_1(u) − q_0(1 − u))² du] − (ē_1 − ē_0)²`, the integrals taken at
/// `m = max(n_1, n_0)` midpoints `u_j = (j − ½)/m` of the empirical quantile functions.
fn frechet_bounds(mut e1: Vec<f64>, mut e0: Vec<f64>) -> [f64; 2] {
    e1.sort_unstable_by(f64::total_cmp);
    e0.sort_unstable_by(f64::total_cmp);
    let m = e1.len().max(e0.len());
    let quantile = |sorted: &[f64], j: usize| sorted[(j * sorted.len()) / m];
    let (mut comonotone, mut antitone) = (0.0, 0.0);
    for j in 0..m {
        let (a, b, c) = (quantile(&e1, j), quantile(&e0, j), quantile(&e0, m - 1 - j));
        comonotone += (a - b).powi(2);
        antitone += (a - c).powi(2);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let shift = (mean(&e1) - mean(&e0)).powi(2);
    [comonotone / m as f64 - shift, antitone / m as f64 - shift]
}

/// Standard deviation of `values` (NaN below 2).
fn sd(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The units of each arm, `[control, treated]`.
fn arm_rows(treated: &[bool]) -> [Vec<usize>; 2] {
    let n = treated.len();
    [(0..n).filter(|&i| !treated[i]).collect(), (0..n).filter(|&i| treated[i]).collect()]
}

/// Centred copies of the covariates.
fn centred(covariates: &[(&str, &[f64])]) -> Vec<Vec<f64>> {
    covariates
        .iter()
        .map(|(_, c)| {
            let mean = c.iter().sum::<f64>() / c.len().max(1) as f64;
            c.iter().map(|v| v - mean).collect()
        })
        .collect()
}

fn problem<'a>(
    y: &'a [f64],
    treated: &[bool],
    dims: &'a [LevelColumn<'a>],
    covariates: &[(&str, &[f64])],
) -> Result<(Problem<'a>, [Vec<usize>; 2])> {
    let cov = centred(covariates);
    let design = Design::new(dims, Some(treated), cov.len());
    let rows = arm_rows(treated);
    if rows.iter().any(|r| r.len() <= design.k + 1) {
        return Err(InputError::Data(format!(
            "decomposing the effect variation needs more units per arm than the {} regression columns (treated {}, \
             control {})",
            design.k,
            rows[1].len(),
            rows[0].len()
        )));
    }
    // Column 0 is the intercept, so row 0 of the Gram matrix holds the column sums.
    let all: Vec<usize> = (0..y.len()).collect();
    let (gram, _) = normal_equations(&design, dims, &cov, None, &all);
    let mean = gram.column(0) / y.len() as f64;
    let sigma = gram / y.len() as f64 - &mean * mean.transpose();
    Ok((Problem { y, dims, cov, design, sigma }, rows))
}

/// The per-arm regressions of a decomposition, fitted once: [`VariationFit::decompose`] and
/// [`VariationFit::idiosyncratic_test`] share them.
pub struct VariationFit<'a> {
    problem: Problem<'a>,
    treated: &'a [bool],
    rows: [Vec<usize>; 2],
    /// `[control, treated]`.
    fits: [ArmFit; 2],
    /// The effect's coefficients `β_1 − β_0` and their covariance `V_1 + V_0`.
    delta: DVector<f64>,
    v: DMatrix<f64>,
    raw: Raw,
}

impl<'a> VariationFit<'a> {
    /// Fits outcome `y` (arms `treated`) on the dimensions `dims` and the numeric `covariates`
    /// within each arm (module doc). Needs more units in each arm than design columns.
    pub fn new(
        y: &'a [f64],
        treated: &'a [bool],
        dims: &'a [LevelColumn<'a>],
        covariates: &[(&str, &[f64])],
    ) -> Result<Self> {
        let (problem, rows) = problem(y, treated, dims, covariates)?;
        let fits = [problem.fit_arm(&rows[0])?, problem.fit_arm(&rows[1])?];
        let delta = &fits[1].beta - &fits[0].beta;
        let v = &fits[1].covariance + &fits[0].covariance;
        let raw = problem.raw(&delta, &v, fits[1].sigma2 - fits[0].sigma2);
        Ok(Self { problem, treated, rows, fits, delta, v, raw })
    }

    /// The decomposition with bootstrap standard errors and intervals (module doc).
    /// Deterministic for a given seed.
    pub fn decompose(&self, options: &DecompositionOptions) -> Result<VariationDecomposition> {
        let confidence = options.confidence;
        if !(confidence > 0.0 && confidence < 1.0) {
            return Err(cateye_stats::option_error("confidence", format!("must be in (0, 1), got {confidence}")));
        }
        if options.bootstrap == 1 {
            return Err(cateye_stats::option_error("bootstrap", "must be 0 (no intervals) or at least 2"));
        }
        let ([control, treat], raw, delta, v) = (&self.fits, self.raw, &self.delta, &self.v);
        let [lower, upper] = frechet_bounds(treat.residuals.clone(), control.residuals.clone());

        let replicates: Vec<Raw> = (0..options.bootstrap as u64)
            .into_par_iter()
            .map(|b| {
                let mut rng = stream(options.seed, PURPOSE_BOOTSTRAP, b);
                let (step_c, sigma2_c) = self.problem.replicate(control, &self.rows[0], &mut rng);
                let (step_t, sigma2_t) = self.problem.replicate(treat, &self.rows[1], &mut rng);
                self.problem.raw(&(delta + step_t - step_c), v, sigma2_t - sigma2_c)
            })
            .collect();
        let se = |f: fn(&Raw) -> f64| sd(replicates.iter().map(f));
        let z = normal_quantile(0.5 + confidence / 2.0);
        let systematic = Component::variance(raw.systematic, se(|r| r.systematic), z);
        let covariates_part = Component::variance(raw.covariates, se(|r| r.covariates), z);
        let idiosyncratic = Component::variance(raw.idiosyncratic, se(|r| r.idiosyncratic), z);
        // The total's estimate is the sum of the reported parts (each cut at 0), its interval normal
        // around the raw sum (which is unbiased), widened to hold the estimate in the rare case it
        // does not.
        let parts = systematic.estimate + covariates_part.estimate + idiosyncratic.estimate;
        let total = Component::variance(raw.total(), se(Raw::total), z);
        let total = Component {
            estimate: parts,
            ci_lower: total.ci_lower.min(parts),
            ci_upper: total.ci_upper.max(parts),
            ..total
        };

        // The share: the image of the rectangle of the (Bonferroni-level) intervals of S and U.
        let z_half = normal_quantile(1.0 - (1.0 - confidence) / 4.0);
        let s = Component::variance(raw.systematic, systematic.se, z_half);
        let u = Component::variance(raw.unexplained(), se(Raw::unexplained), z_half);
        let ratio = |s: f64, u: f64, empty: f64| if s + u > 0.0 { s / (s + u) } else { empty };
        let unexplained = covariates_part.estimate + idiosyncratic.estimate;
        let share_explained = Component {
            estimate: ratio(systematic.estimate, unexplained, 0.0),
            se: f64::NAN,
            ci_lower: if options.bootstrap == 0 { f64::NAN } else { ratio(s.ci_lower, u.ci_upper, 0.0) },
            ci_upper: if options.bootstrap == 0 { f64::NAN } else { ratio(s.ci_upper, u.ci_lower, 1.0) },
        };
        let explained = raw.explained();
        Ok(VariationDecomposition {
            systematic,
            covariates: covariates_part,
            idiosyncratic,
            idiosyncratic_raw: raw.idiosyncratic,
            idiosyncratic_test: None,
            idiosyncratic_test_error: None,
            total,
            total_bounds: [(explained + lower).max(0.0), (explained + upper).max(0.0)],
            assumption: "the idiosyncratic effect is uncorrelated with the control outcome's residual (Ding, Feller & \
                         Miratrix 2019); total_bounds hold without it"
                .into(),
            share_explained,
            confidence,
            bootstrap: options.bootstrap,
            columns: self.problem.design.indicators - 1,
            method: format!(
                "Ding, Feller & Miratrix (2019): per-arm OLS on level indicators and covariates; covariates = debiased \
                 variance of the effect's projection on the covariates alone, systematic = debiased variance of the \
                 projection on dimensions and covariates minus that; idiosyncratic = difference of the arms' residual \
                 variances; standard errors from {} bootstrap replicates stratified by arm; the share's interval is the \
                 image of the Bonferroni rectangle of the systematic and unexplained intervals",
                options.bootstrap
            ),
        })
    }

    /// DFM's randomization test (Ding, Feller & Miratrix 2016) of the null that the effects vary
    /// with the dimensions and covariates only, `τ_i = τ + x_i'Δ` (no idiosyncratic variation):
    /// the effect's systematic part `x_i'Δ̂` (per-arm OLS, as in [`decompose_variation`]) is taken
    /// out of the treated outcomes, which leaves a constant effect under the null, and the
    /// constant-effect test runs on what remains, adjusted for the numeric covariates. Plugging
    /// in `Δ̂` for `Δ` makes the test asymptotically, not exactly, valid (DFM 2016 discuss this
    /// plug-in for variation beyond covariates): `Δ̂ − Δ` is `O(n^{-1/2})`, which moves the
    /// outcomes' spread by `O(1/n)`, below what the KS statistic resolves.
    pub fn idiosyncratic_test(
        &self,
        options: &RandomizationOptions,
        progress: Progress<'_>,
    ) -> Result<RandomizationTest> {
        let problem = &self.problem;
        let mut active = Vec::with_capacity(problem.dims.len() + 1);
        let adjusted: Vec<f64> = (0..problem.y.len())
            .map(|i| {
                if self.treated[i] {
                    problem.y[i] - problem.fitted(&self.delta, i, &mut active)
                } else {
                    problem.y[i]
                }
            })
            .collect();
        // The numeric covariates adjust the outcomes, as in the constant-effect test. The level
        // indicators need not: validity needs only a constant effect under the null, which taking
        // out `x'Δ̂` gives; as dense adjustment columns they would cost `O(n · levels)` memory.
        let columns: Vec<&[f64]> = problem.cov.iter().map(Vec::as_slice).collect();
        randomization_test_reporting(&adjusted, self.treated, &columns, options, progress)
            .map_err(|e| InputError::Data(format!("the test of idiosyncratic variation failed: {e}")))
    }
}

/// Decompose the effect variation of outcome `y` (arms `treated`) by the dimensions `dims` and
/// the numeric `covariates`, with bootstrap standard errors and intervals (module doc):
/// [`VariationFit::new`] then [`VariationFit::decompose`].
pub fn decompose_variation(
    y: &[f64],
    treated: &[bool],
    dims: &[LevelColumn],
    covariates: &[(&str, &[f64])],
    options: &DecompositionOptions,
) -> Result<VariationDecomposition> {
    VariationFit::new(y, treated, dims, covariates)?.decompose(options)
}

/// [`VariationFit::idiosyncratic_test`] on a fresh fit.
pub fn idiosyncratic_variation_test(
    y: &[f64],
    treated: &[bool],
    dims: &[LevelColumn],
    covariates: &[(&str, &[f64])],
    options: &RandomizationOptions,
    progress: Progress<'_>,
) -> Result<RandomizationTest> {
    VariationFit::new(y, treated, dims, covariates)?.idiosyncratic_test(options, progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::StandardNormal;

    fn normal(rng: &mut impl rand::Rng) -> f64 {
        rng.sample(StandardNormal)
    }

    fn no_bootstrap() -> DecompositionOptions {
        DecompositionOptions::default().with(|c| c.bootstrap = 0)
    }

    #[test]
    fn explained_share_is_the_between_level_share() {
        let tau = [1.0, 1.0, 3.0, 3.0, 2.0, 2.0];
        let codes = [0, 0, 1, 1, 2, 2];
        assert!((explained_share(&tau, &codes, 3) - 1.0).abs() < 1e-12);
        let tau = [1.0, 3.0, 1.0, 3.0];
        assert!(explained_share(&tau, &[0, 0, 1, 1], 2).abs() < 1e-12);
        assert_eq!(explained_share(&[2.0; 4], &[0, 1, 0, 1], 2), 0.0);
    }

    /// Effects `0.5·1{d0 = 1} + s·N(0,1)`: systematic variance `0.25·p(1−p)`, idiosyncratic `s²`.
    fn simulate(n: usize, s: f64, seed: u64) -> VariationDecomposition {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let d0: Vec<u32> = (0..n).map(|_| rng.random_range(0..4u32)).collect();
        let d1: Vec<u32> = (0..n).map(|_| rng.random_range(0..3u32)).collect();
        let x: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let treated: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.5).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let tau = 0.5 * (d0[i] == 1) as u8 as f64 + s * normal(&mut rng);
                x[i] + 0.3 * d1[i] as f64 + normal(&mut rng) + treated[i] as u8 as f64 * tau
            })
            .collect();
        let dims =
            [LevelColumn { name: "d0", codes: &d0, levels: 4 }, LevelColumn { name: "d1", codes: &d1, levels: 3 }];
        decompose_variation(&y, &treated, &dims, &[("x", &x)], &no_bootstrap()).unwrap()
    }

    #[test]
    fn recovers_systematic_and_idiosyncratic_variance() {
        let (mut sys, mut idio) = (0.0, 0.0);
        let reps = 20;
        for seed in 0..reps {
            let d = simulate(20_000, 0.4, seed);
            sys += d.systematic.estimate / reps as f64;
            idio += d.idiosyncratic_raw / reps as f64;
        }
        // Truth: 0.25 · 0.25 · 0.75 = 0.046875 and 0.16.
        assert!((sys - 0.046875).abs() < 0.006, "systematic {sys}");
        assert!((idio - 0.16).abs() < 0.03, "idiosyncratic {idio}");
        // Only systematic variation: the idiosyncratic part is near zero.
        let d = simulate(20_000, 0.0, 99);
        assert!(d.systematic.estimate > 0.02 && d.idiosyncratic.estimate < 0.05, "{d:?}");
    }

    #[test]
    fn no_heterogeneity_gives_near_zero_systematic_variance() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let d0: Vec<u32> = (0..n).map(|_| rng.random_range(0..10u32)).collect();
        let treated: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.5).collect();
        let y: Vec<f64> = (0..n).map(|i| d0[i] as f64 * 0.1 + normal(&mut rng) + treated[i] as u8 as f64).collect();
        let dims = [LevelColumn { name: "d0", codes: &d0, levels: 10 }];
        let d = decompose_variation(&y, &treated, &dims, &[], &no_bootstrap()).unwrap();
        // Without the debiasing the quadratic form would be about tr(ΣV) ≈ 9 · 4/n.
        assert!(d.systematic.estimate < 1e-3, "{d:?}");
    }

    #[test]
    fn poisson_draws_by_inversion_have_the_poisson_1_distribution() {
        // P(0) = P(1) = e⁻¹ ≈ 0.3679, P(2) = e⁻¹/2: inversion at the midpoints of each step.
        assert_eq!(poisson_1(0.0), 0.0);
        assert_eq!(poisson_1(0.367), 0.0);
        assert_eq!(poisson_1(0.368), 1.0);
        assert_eq!(poisson_1(0.735), 1.0);
        assert_eq!(poisson_1(0.736), 2.0);
        assert_eq!(poisson_1(1.0 - 1e-15), 12.0);
        let draws: Vec<f64> = (0..100_000).map(|j| poisson_1((j as f64 + 0.5) / 100_000.0)).collect();
        let mean = draws.iter().sum::<f64>() / 1e5;
        let var = draws.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / 1e5;
        assert!((mean - 1.0).abs() < 1e-3 && (var - 1.0).abs() < 2e-3, "{mean} {var}");
    }

    #[test]
    fn frechet_bounds_match_closed_forms() {
        // Equal marginals: comonotone coupling gives 0; antitone gives Var(e1 + e0) = 4 Var(e).
        let e: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0 - 0.5).collect();
        let [lower, upper] = frechet_bounds(e.clone(), e.clone());
        let var = e.iter().map(|v| v * v).sum::<f64>() / 1000.0;
        assert!(lower.abs() < 1e-12 && (upper - 4.0 * var).abs() < 1e-12, "{lower} {upper}");
        // e1 = 2·e0 in distribution: comonotone Var(e0) = var, antitone Var(3 e0) = 9 var.
        let doubled: Vec<f64> = e.iter().map(|v| 2.0 * v).collect();
        let [lower, upper] = frechet_bounds(doubled, e);
        assert!((lower - var).abs() < 1e-12 && (upper - 9.0 * var).abs() < 1e-12, "{lower} {upper}");
    }

    #[test]
    fn bootstrap_is_deterministic_and_thread_independent() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 4000;
        let d0: Vec<u32> = (0..n).map(|_| rng.random_range(0..3u32)).collect();
        let treated: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let y: Vec<f64> = (0..n).map(|i| normal(&mut rng) + 0.3 * (treated[i] && d0[i] == 0) as u8 as f64).collect();
        let dims = [LevelColumn { name: "d0", codes: &d0, levels: 3 }];
        let options = DecompositionOptions::default().with(|c| c.bootstrap = 50);
        let a = decompose_variation(&y, &treated, &dims, &[], &options).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| decompose_variation(&y, &treated, &dims, &[], &options).unwrap());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(a.systematic.se > 0.0 && a.total.ci_lower <= a.total.estimate && a.total.estimate <= a.total.ci_upper);
        let bad = DecompositionOptions::default().with(|c| c.bootstrap = 1);
        assert!(decompose_variation(&y, &treated, &dims, &[], &bad).unwrap_err().to_string().contains("bootstrap"));
    }

    /// Outcomes `y = e0 + w·τ`, `e0 ~ N(0, 1)`, three equally likely levels of `d`, random halves.
    struct Replication {
        y: Vec<f64>,
        treated: Vec<bool>,
        d: Vec<u32>,
        /// The variance of the individual effects in this sample.
        true_variance: f64,
    }

    /// `tau(level, trait, e0, rng)` gives a unit's effect.
    fn replicate(n: usize, seed: u64, tau: impl Fn(u32, f64, f64) -> f64) -> Replication {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (mut y, mut treated, mut d, mut effects) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let (level, trait_, e0) = (rng.random_range(0..3u32), normal(&mut rng), normal(&mut rng));
            let t = tau(level, trait_, e0);
            let w = i % 2 == 0;
            y.push(e0 + if w { t } else { 0.0 });
            treated.push(w);
            d.push(level);
            effects.push(t);
        }
        let mean = effects.iter().sum::<f64>() / n as f64;
        let true_variance = effects.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n as f64;
        Replication { y, treated, d, true_variance }
    }

    fn decompose(r: &Replication, bootstrap: usize, seed: u64) -> VariationDecomposition {
        let dims = [LevelColumn { name: "d", codes: &r.d, levels: 3 }];
        let options = DecompositionOptions::default().with(|c| {
            c.bootstrap = bootstrap;
            c.seed = seed;
        });
        decompose_variation(&r.y, &r.treated, &dims, &[], &options).unwrap()
    }

    /// Issue 19: an effect on one of three levels (+0.25 noise SD), 20,000 units. The share
    /// explained is 100%: its interval covers it in at least 90% of 400 replications, and the
    /// median estimate is at least 0.8. The systematic variance (the sample's, `0.25² p̂(1 − p̂)`)
    /// is covered by its 95% interval in 93–97% (binomial SD 1.1 points).
    #[test]
    fn share_interval_covers_all_when_one_dimension_explains_everything() {
        let reps = 400;
        let (mut covered, mut systematic_covered) = (0, 0);
        let mut estimates = Vec::with_capacity(reps);
        for seed in 0..reps as u64 {
            let r = replicate(20_000, seed, |level, _, _| 0.25 * (level == 2) as u8 as f64);
            let d = decompose(&r, 200, seed);
            covered += d.dimensions_may_explain_all() as usize;
            estimates.push(d.share_explained.estimate);
            // The planted effect's variance over these units is the sample variance of the effects.
            let s = &d.systematic;
            systematic_covered += (s.ci_lower <= r.true_variance && r.true_variance <= s.ci_upper) as usize;
        }
        estimates.sort_by(f64::total_cmp);
        let median = estimates[reps / 2];
        let systematic = systematic_covered as f64 / reps as f64;
        eprintln!(
            "share explained: interval covers 100% in {covered}/{reps}; median estimate {median:.3}; systematic \
             variance covered in {systematic:.3}"
        );
        assert!(covered as f64 >= 0.9 * reps as f64, "covered {covered}/{reps}");
        assert!(median >= 0.8, "median share {median}");
        assert!((0.93..=0.97).contains(&systematic), "systematic coverage {systematic}");
    }

    /// Issue 19: effects driven by an unobserved trait independent of the dimension and of the
    /// control outcome (SD 0.5, variance 0.25). The share's interval covers 0 in at least 90%,
    /// the total variance's interval covers the sample's true variance in 93–97% (1,000
    /// replications: binomial SD 0.7 points), and the bounds contain it.
    #[test]
    fn total_variance_interval_covers_the_truth_for_an_unobserved_trait() {
        let reps = 1000;
        let (mut share_covers_zero, mut total_covered, mut bounded) = (0, 0, 0);
        for seed in 0..reps as u64 {
            let r = replicate(4000, 1_000 + seed, |_, trait_, _| 0.5 * trait_);
            let d = decompose(&r, 200, seed);
            share_covers_zero += (d.share_explained.ci_lower <= 0.0) as usize;
            total_covered += (d.total.ci_lower <= r.true_variance && r.true_variance <= d.total.ci_upper) as usize;
            bounded += (d.total_bounds[0] <= r.true_variance && r.true_variance <= d.total_bounds[1]) as usize;
        }
        let coverage = total_covered as f64 / reps as f64;
        eprintln!(
            "unobserved trait: share covers 0 in {share_covers_zero}/{reps}; total variance covered {coverage:.3}; \
             bounds contain it {bounded}/{reps}"
        );
        assert!(share_covers_zero as f64 >= 0.9 * reps as f64, "{share_covers_zero}/{reps}");
        assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
        assert!(bounded as f64 >= 0.95 * reps as f64, "{bounded}/{reps}");
    }

    /// Issue 19: when the trait is correlated with the control outcome the assumption fails: the
    /// point estimate of the total variance is off, and the bounds still contain the truth.
    #[test]
    fn bounds_contain_the_truth_when_the_assumption_fails() {
        let reps = 100;
        let (mut bounded, mut bias) = (0, 0.0);
        for seed in 0..reps as u64 {
            // τ = 0.5·(0.6·e0 + 0.8·trait): Var(τ) = 0.25, Cov(τ, e0) = 0.3.
            let r = replicate(20_000, 5_000 + seed, |_, trait_, e0| 0.5 * (0.6 * e0 + 0.8 * trait_));
            let d = decompose(&r, 0, seed);
            bounded += (d.total_bounds[0] <= r.true_variance && r.true_variance <= d.total_bounds[1]) as usize;
            bias += (d.total.estimate - r.true_variance) / reps as f64;
        }
        eprintln!("correlated trait: bounds contain the truth {bounded}/{reps}; bias of the point estimate {bias:.3}");
        // σ²_1 − σ²_0 = Var(τ) + 2 Cov(τ, e0) = 0.25 + 0.6.
        assert!((bias - 0.6).abs() < 0.05, "bias {bias}");
        assert_eq!(bounded, reps, "bounds contain the truth in {bounded}/{reps}");
    }

    /// The test of zero idiosyncratic variation: it holds its level when effects vary with the
    /// dimension only, and rejects an unobserved trait.
    #[test]
    fn idiosyncratic_test_holds_its_level_and_has_power() {
        let options = RandomizationOptions::default().with(|c| {
            c.permutations = 200;
            c.grid = 5;
        });
        let dims_of = |r: &Replication| vec![r.d.clone()];
        let run = |r: &Replication, seed: u64| {
            let codes = dims_of(r);
            let dims = [LevelColumn { name: "d", codes: &codes[0], levels: 3 }];
            let options = options.with(|c| c.seed = seed);
            idiosyncratic_variation_test(&r.y, &r.treated, &dims, &[], &options, &cateye_stats::silent).unwrap().p_value
        };
        let reps = 100;
        let mut rejected = 0;
        for seed in 0..reps {
            let r = replicate(4000, 9_000 + seed, |level, _, _| 0.5 * level as f64);
            rejected += (run(&r, seed) <= 0.05) as usize;
        }
        eprintln!("idiosyncratic test under its null: rejected {rejected}/{reps}");
        assert!(rejected <= 10, "rejected {rejected}/{reps}");
        let r = replicate(20_000, 77, |level, trait_, _| 0.5 * level as f64 + 0.8 * trait_);
        assert!(run(&r, 1) <= 0.01);
    }
}
