//! Fisher randomization test of idiosyncratic treatment-effect variation (Ding, Feller &
//! Miratrix 2016, "Randomization inference for treatment effect variation", JRSS-B 78(3),
//! 655–671; DFM below).
//!
//! The null is DFM's sharp null of a constant additive effect, `Y_i(1) = Y_i(0) + τ` for every
//! unit, with `τ` unknown. For a hypothesised `τ` the control outcomes `Y0_i = Y_i − W_i τ` are
//! fixed under the null, so the distribution of any statistic over re-randomisations `W*` is
//! known. The statistic is DFM's shifted Kolmogorov–Smirnov statistic (SKS): the two-sample KS
//! distance between the treated outcomes shifted by the difference in means and the control
//! outcomes, `T(W*; τ) = sup_x |F̂_{treated*}(x + d*) − F̂_{control*}(x)|`, `d*` the difference in
//! the arms' means of `Y0`. With covariates `X` (DFM's test of variation beyond what covariates
//! explain), `Y0` is first residualised on `[1, X]` by pooled OLS, which uses no arm
//! information, so the residuals `e0` stay fixed across re-randomisations and the test stays
//! exact.
//!
//! `τ` is a nuisance parameter, handled by DFM's γ correction (after Berger & Boos 1994): with a
//! `1 − γ` confidence interval for `τ`, `p = sup_{τ ∈ CI} p(τ) + γ` is a valid p-value; the
//! supremum is taken over an evenly spaced grid of the interval (and the point estimate). The
//! test is conservative by construction.
//!
//! Computation. `e0(τ) = a − τ b` is linear in `τ` (`a`, `b` the residualised outcome and
//! assignment), so `d*` follows from two sums per re-randomisation. Per grid point the residuals
//! are sorted once. Per re-randomisation and grid point the assignment is scattered into a bitset
//! in that sorted order (from the units of the smaller arm), and the KS supremum is read off
//! prefix counts of treated units: blocks of 64 ranks, then spans of 8, are bounded from their
//! ends, and only the ranks of spans whose bound can reach the observed statistic (the only
//! thing a permutation's count needs) are evaluated one by one. Statistics are kept as exact
//! integers `n_t n_c T`, so ties between permutation and observed statistics are exact.

use crate::dist::normal_quantile;
use nalgebra::{Cholesky, DMatrix, DVector, Dyn};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

const WORD: usize = 64;

/// Settings of [`randomization_test`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RandomizationOptions {
    /// Number `B` of re-randomisations (complete randomisation: permutations of the assignment).
    pub permutations: usize,
    /// `γ`: the confidence level of the interval searched for `τ` is `1 − γ`, and `γ` is added to
    /// the p-value (DFM's γ correction).
    pub gamma: f64,
    /// Number `G` of evenly spaced values of `τ` over the interval, endpoints included.
    pub grid: usize,
    /// Seed of the re-randomisations; re-randomisation `b` uses ChaCha8 stream `b` of this seed.
    pub seed: u64,
}

impl Default for RandomizationOptions {
    /// `B = 1000`, `γ = 0.001`, `G = 21`, seed 0.
    fn default() -> Self {
        Self { permutations: 1000, gamma: 0.001, grid: 21, seed: 0 }
    }
}

/// Result of the randomization test of a constant treatment effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RandomizationTest {
    /// Observed SKS statistic at the point estimate `τ̂`.
    pub statistic: f64,
    /// `min(1, max_τ p(τ) + γ)` over the grid and `τ̂` (DFM's γ-corrected p-value).
    pub p_value: f64,
    /// `p(τ̂)` alone, without the γ correction (not a valid p-value; for information).
    pub p_value_at_estimate: f64,
    /// Difference in means, or the OLS coefficient of the assignment when adjusting.
    pub tau_hat: f64,
    /// The `1 − γ` interval for `τ` that was searched.
    pub tau_interval: [f64; 2],
    /// Number `B` of re-randomisations drawn.
    pub permutations: usize,
    /// `γ` of the correction: the interval's level is `1 − γ` and `γ` is added to the p-value.
    pub gamma: f64,
    /// Number `G` of grid points over the interval (`τ̂` is added when `G` is even).
    pub grid: usize,
    /// Number of covariates adjusted for.
    pub covariates: usize,
}

/// Why [`randomization_test`] could not run.
#[derive(Clone, Debug, PartialEq)]
pub enum RandomizationError {
    /// An input's length differs from the length of `y`.
    LengthMismatch {
        /// The input, e.g. "treated" or "covariate 2".
        input: String,
        /// Length of `y`.
        expected: usize,
        /// Length of the input.
        found: usize,
    },
    /// An arm has fewer than two units.
    TooFewUnits {
        /// Number of treated units.
        treated: usize,
        /// Number of control units.
        control: usize,
    },
    /// A NaN or infinite value.
    NonFinite {
        /// The input, "y" or "covariate j".
        input: String,
        /// Index of the first non-finite row.
        row: usize,
    },
    /// More units than the `u32` ranks hold.
    TooManyUnits(usize),
    /// The number of permutations `B` is zero.
    NoPermutations,
    /// `γ` outside `(0, 0.5)`.
    InvalidGamma(f64),
    /// The number of grid points `G` is zero.
    EmptyGrid,
    /// The covariates (with the intercept and assignment) are collinear.
    SingularCovariates,
    /// The estimate of `τ` or its standard error is not finite.
    DegenerateEstimate,
}

impl fmt::Display for RandomizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch { input, expected, found } => {
                write!(f, "length mismatch: y has {expected} rows but {input} has {found}")
            }
            Self::TooFewUnits { treated, control } => {
                write!(f, "each arm needs at least 2 units: {treated} treated, {control} control")
            }
            Self::NonFinite { input, row } => write!(f, "non-finite value in {input} at row {} (1-based)", row + 1),
            Self::TooManyUnits(n) => write!(f, "too many units ({n}): at most {} are supported", u32::MAX),
            Self::NoPermutations => write!(f, "the number of permutations must be at least 1"),
            Self::InvalidGamma(g) => write!(f, "gamma must lie in (0, 0.5), got {g}"),
            Self::EmptyGrid => write!(f, "the grid over the interval for tau needs at least 1 point"),
            Self::SingularCovariates => {
                write!(f, "singular covariate matrix: a covariate is constant or collinear with the others")
            }
            Self::DegenerateEstimate => write!(f, "the estimate of tau or its standard error is not finite"),
        }
    }
}

impl std::error::Error for RandomizationError {}

/// Fisher randomization test of the constant-effect null against idiosyncratic effect variation
/// (Ding, Feller & Miratrix 2016), with the SKS statistic, the γ correction for the unknown `τ`,
/// and optional adjustment for `covariates` (each a column of the same length as `y`).
///
/// The interval for `τ` is `τ̂ ± z_{1−γ/2} SE`: without covariates the difference in means with the
/// Welch (Neyman) SE; with covariates the coefficient of `W` in the OLS of `Y` on
/// `[1, W, X − mean(X)]` (Lin 2013) with the HC2 SE, which is the Neyman SE when `X` is empty.
/// `p(τ) = (1 + #{b : T(W*_b; τ) ≥ T(W; τ)}) / (B + 1)` over `B` complete re-randomisations
/// (shuffles of `treated`), the same for every `τ`, at `G` evenly spaced points of the interval
/// (endpoints included; `τ̂` alone when `G = 1`) and at `τ̂` (the middle point when `G` is odd).
/// Results do not depend on the number of rayon threads.
pub fn randomization_test(
    y: &[f64],
    treated: &[bool],
    covariates: &[&[f64]],
    options: &RandomizationOptions,
) -> Result<RandomizationTest, RandomizationError> {
    randomization_test_reporting(y, treated, covariates, options, &crate::silent)
}

/// [`randomization_test`], reporting the re-randomisations done to `progress` (stage
/// "permutations").
pub fn randomization_test_reporting(
    y: &[f64],
    treated: &[bool],
    covariates: &[&[f64]],
    options: &RandomizationOptions,
    progress: crate::Progress<'_>,
) -> Result<RandomizationTest, RandomizationError> {
    validate(y, treated, covariates, options)?;
    let ticker = crate::Ticker::new(progress, "permutations", options.permutations as u64);
    let design = design(y, treated, covariates)?;
    let half = normal_quantile(1.0 - options.gamma / 2.0) * design.se;
    if !design.tau_hat.is_finite() || !half.is_finite() {
        return Err(RandomizationError::DegenerateEstimate);
    }
    let g = options.grid;
    let mut taus: Vec<f64> = if g == 1 {
        vec![design.tau_hat]
    } else {
        (0..g).map(|k| design.tau_hat + half * (2.0 * k as f64 / (g - 1) as f64 - 1.0)).collect()
    };
    // For an odd grid the middle point is exactly τ̂; otherwise τ̂ is appended.
    let at_estimate = if g % 2 == 1 {
        g / 2
    } else {
        taus.push(design.tau_hat);
        g
    };
    let (a, b) = (&design.a, &design.b);
    let ranked: Vec<Ranked> = taus.par_iter().map(|&t| Ranked::new(a.iter().zip(b).map(|(a, b)| a - t * b))).collect();
    let observed_assignment: Vec<u8> = treated.iter().map(|&t| u8::from(t)).collect();
    let arms = Arms::new(&observed_assignment, a, b);
    let mut scratch = Scratch::new(&observed_assignment);
    let sums = arm_sums(&observed_assignment, a, b);
    let observed: Vec<i64> = ranked
        .iter()
        .zip(&taus)
        .map(|(r, &t)| {
            scratch.pack(&r.rank);
            sks(r, &scratch, arms.shift(sums, t), arms.nt, arms.nc, None)
        })
        .collect();
    let counts = (0..options.permutations)
        .into_par_iter()
        .fold(
            || (Scratch::new(&observed_assignment), vec![0u64; taus.len()]),
            |(mut s, mut count), perm| {
                let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
                rng.set_stream(perm as u64);
                s.assignment.copy_from_slice(&observed_assignment);
                s.assignment.shuffle(&mut rng);
                s.list();
                let sums = arm_sums(&s.assignment, a, b);
                for (k, r) in ranked.iter().enumerate() {
                    s.pack(&r.rank);
                    let need = observed[k];
                    count[k] += u64::from(sks(r, &s, arms.shift(sums, taus[k]), arms.nt, arms.nc, Some(need)) >= need);
                }
                ticker.add(1);
                (s, count)
            },
        )
        .map(|(_, count)| count)
        .reduce(
            || vec![0; taus.len()],
            |mut x, y| {
                x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
                x
            },
        );
    let p = |c: u64| (1 + c) as f64 / (options.permutations as f64 + 1.0);
    let p_max = counts.iter().map(|&c| p(c)).fold(0.0, f64::max);
    Ok(RandomizationTest {
        statistic: observed[at_estimate] as f64 / (arms.nt as f64 * arms.nc as f64),
        p_value: (p_max + options.gamma).min(1.0),
        p_value_at_estimate: p(counts[at_estimate]),
        tau_hat: design.tau_hat,
        tau_interval: [design.tau_hat - half, design.tau_hat + half],
        permutations: options.permutations,
        gamma: options.gamma,
        grid: options.grid,
        covariates: covariates.len(),
    })
}

fn validate(
    y: &[f64],
    treated: &[bool],
    covariates: &[&[f64]],
    options: &RandomizationOptions,
) -> Result<(), RandomizationError> {
    use RandomizationError as E;
    if options.permutations == 0 {
        return Err(E::NoPermutations);
    }
    if !(options.gamma > 0.0 && options.gamma < 0.5) {
        return Err(E::InvalidGamma(options.gamma));
    }
    if options.grid == 0 {
        return Err(E::EmptyGrid);
    }
    let n = y.len();
    let mismatch = |input: String, found| E::LengthMismatch { input, expected: n, found };
    if treated.len() != n {
        return Err(mismatch("treated".into(), treated.len()));
    }
    if let Some((j, x)) = covariates.iter().enumerate().find(|(_, x)| x.len() != n) {
        return Err(mismatch(format!("covariate {j}"), x.len()));
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(E::NonFinite { input: "y".into(), row });
    }
    for (j, x) in covariates.iter().enumerate() {
        if let Some(row) = x.iter().position(|v| !v.is_finite()) {
            return Err(E::NonFinite { input: format!("covariate {j}"), row });
        }
    }
    let nt = treated.iter().filter(|&&t| t).count();
    if nt < 2 || n - nt < 2 {
        return Err(E::TooFewUnits { treated: nt, control: n - nt });
    }
    if n > u32::MAX as usize {
        return Err(E::TooManyUnits(n));
    }
    Ok(())
}

/// `e0(τ) = a − τ b`: `a`, `b` are `Y` and `W` residualised on `[1, X]` (`Y`, `W` themselves
/// without covariates); `τ̂` and its standard error.
struct Design {
    a: Vec<f64>,
    b: Vec<f64>,
    tau_hat: f64,
    se: f64,
}

fn design(y: &[f64], treated: &[bool], covariates: &[&[f64]]) -> Result<Design, RandomizationError> {
    let n = y.len();
    let w: Vec<f64> = treated.iter().map(|&t| f64::from(u8::from(t))).collect();
    if covariates.is_empty() {
        let arm = |flag: bool| {
            let v: Vec<f64> = y.iter().zip(treated).filter(|(_, &t)| t == flag).map(|(&y, _)| y).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
            (m, var / v.len() as f64)
        };
        let ((mt, vt), (mc, vc)) = (arm(true), arm(false));
        return Ok(Design { a: y.to_vec(), b: w, tau_hat: mt - mc, se: (vt + vc).sqrt() });
    }
    let k = covariates.len();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let means: Vec<f64> = covariates.iter().map(|x| mean(x)).collect();
    let xc = DMatrix::from_fn(n, k, |i, j| covariates[j][i] - means[j]);
    let chol = full_rank_cholesky(xc.tr_mul(&xc)).ok_or(RandomizationError::SingularCovariates)?;
    let residualise = |v: &[f64]| -> Vec<f64> {
        let m = mean(v);
        let vc = DVector::from_iterator(n, v.iter().map(|x| x - m));
        let beta = chol.solve(&xc.tr_mul(&vc));
        (vc - &xc * beta).iter().copied().collect()
    };
    let (a, b) = (residualise(y), residualise(&w));
    // Lin (2013): OLS of Y on [1, W, X − mean(X)], HC2 variance of the W coefficient.
    let z = DMatrix::from_fn(n, k + 2, |i, j| match j {
        0 => 1.0,
        1 => w[i],
        _ => xc[(i, j - 2)],
    });
    let zz = full_rank_cholesky(z.tr_mul(&z)).ok_or(RandomizationError::SingularCovariates)?;
    let yv = DVector::from_column_slice(y);
    let beta = zz.solve(&z.tr_mul(&yv));
    let resid = &yv - &z * &beta;
    let zi = &z * zz.inverse();
    let var: f64 = (0..n)
        .map(|i| {
            let h = zi.row(i).dot(&z.row(i));
            zi[(i, 1)] * zi[(i, 1)] * resid[i] * resid[i] / (1.0 - h)
        })
        .sum();
    Ok(Design { a, b, tau_hat: beta[1], se: var.sqrt() })
}

/// Cholesky factor of a cross-product matrix, `None` when a column is (numerically) a linear
/// combination of the previous ones: `L_jj² / M_jj` is the share of column `j`'s sum of squares
/// left unexplained by the previous columns.
fn full_rank_cholesky(m: DMatrix<f64>) -> Option<Cholesky<f64, Dyn>> {
    let diag = m.diagonal();
    let chol = m.cholesky()?;
    let l = chol.l_dirty();
    (0..diag.len()).all(|j| diag[j] > 0.0 && l[(j, j)] * l[(j, j)] > 1e-10 * diag[j]).then_some(chol)
}

/// Arm sizes and totals of `a` and `b`, from which `d*` follows for any `τ`.
struct Arms {
    nt: i64,
    nc: i64,
    total_a: f64,
    total_b: f64,
}

impl Arms {
    fn new(assignment: &[u8], a: &[f64], b: &[f64]) -> Self {
        let nt = assignment.iter().map(|&t| i64::from(t)).sum::<i64>();
        let nc = assignment.len() as i64 - nt;
        Self { nt, nc, total_a: a.iter().sum(), total_b: b.iter().sum() }
    }

    /// `d = mean_treated(e0) − mean_control(e0)` from the treated sums of `a` and `b`.
    fn shift(&self, (sa, sb): (f64, f64), tau: f64) -> f64 {
        (sa - tau * sb) / self.nt as f64 - ((self.total_a - sa) - tau * (self.total_b - sb)) / self.nc as f64
    }
}

/// Treated sums `(Σ W_i a_i, Σ W_i b_i)`, with four accumulators per sum (fixed order).
fn arm_sums(assignment: &[u8], a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut acc = [0.0f64; 8];
    let chunks = assignment.chunks_exact(4).zip(a.chunks_exact(4)).zip(b.chunks_exact(4));
    for ((w, a), b) in chunks {
        for l in 0..4 {
            acc[l] += f64::from(w[l]) * a[l];
            acc[4 + l] += f64::from(w[l]) * b[l];
        }
    }
    let tail = assignment.len() / 4 * 4;
    for i in tail..assignment.len() {
        acc[0] += f64::from(assignment[i]) * a[i];
        acc[4] += f64::from(assignment[i]) * b[i];
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3]), (acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// The residuals `e0` of one hypothesised `τ` in increasing order: `values[r]` is the value of
/// rank `r` and `rank[i]` the rank of unit `i`; `heads` and `subheads` hold every 64th and every
/// 8th value.
struct Ranked {
    values: Vec<f64>,
    rank: Vec<u32>,
    heads: Vec<f64>,
    subheads: Vec<f64>,
}

impl Ranked {
    fn new(e0: impl Iterator<Item = f64>) -> Self {
        // `+ 0.0` turns −0 into +0, which `total_cmp` would order below it.
        let mut keyed: Vec<(f64, u32)> = e0.enumerate().map(|(i, x)| (x + 0.0, i as u32)).collect();
        keyed.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        let values: Vec<f64> = keyed.iter().map(|p| p.0).collect();
        let mut rank = vec![0; values.len()];
        for (r, p) in keyed.iter().enumerate() {
            rank[p.1 as usize] = r as u32;
        }
        let heads = values.iter().step_by(WORD).copied().collect();
        let subheads = values.iter().step_by(8).copied().collect();
        Self { values, rank, heads, subheads }
    }
}

/// Per-thread buffers: an assignment by unit (0/1), the units of its smaller arm, and the
/// treated indicator in rank order as a bitset with the number of treated units before each
/// word (one spare word so that rank `n` is valid).
struct Scratch {
    assignment: Vec<u8>,
    members: Vec<u32>,
    count: usize,
    /// Whether `members` lists the control units.
    complement: bool,
    bits: Vec<u64>,
    before: Vec<u32>,
}

impl Scratch {
    fn new(assignment: &[u8]) -> Self {
        let (n, words) = (assignment.len(), assignment.len().div_ceil(WORD) + 1);
        let complement = 2 * assignment.iter().filter(|&&t| t == 1).count() > n;
        let (members, bits, before) = (vec![0; n], vec![0; words], vec![0; words]);
        let mut s = Self { assignment: assignment.to_vec(), members, count: 0, complement, bits, before };
        s.list();
        s
    }

    /// Lists the units of the smaller arm of `assignment` (branch-free compaction).
    fn list(&mut self) {
        let flag = u8::from(!self.complement);
        let mut k = 0;
        for (i, &t) in self.assignment.iter().enumerate() {
            self.members[k] = i as u32;
            k += usize::from(t == flag);
        }
        self.count = k;
    }

    /// Packs the treated indicator in the rank order `rank` (scattering the smaller arm).
    fn pack(&mut self, rank: &[u32]) {
        self.bits.fill(0);
        let members = &self.members[..self.count];
        assert!(rank.len() == self.assignment.len() && self.bits.len() > rank.len() / WORD);
        for &i in members {
            let r = rank[i as usize] as usize;
            self.bits[r / WORD] |= 1 << (r % WORD);
        }
        let (n, words) = (rank.len(), rank.len().div_ceil(WORD));
        if self.complement {
            self.bits[..words].iter_mut().for_each(|b| *b = !*b);
            if n % WORD != 0 {
                self.bits[words - 1] &= (1 << (n % WORD)) - 1;
            }
        }
        let mut total = 0;
        for (before, bits) in self.before.iter_mut().zip(&self.bits) {
            *before = total;
            total += bits.count_ones();
        }
    }

    /// Number of treated units among ranks `0..r` (`r ≤ n`).
    #[inline]
    fn treated_below(&self, r: usize) -> i64 {
        let (w, j) = (r / WORD, r % WORD);
        i64::from(self.before[w]) + i64::from((self.bits[w] & ((1u64 << j) - 1)).count_ones())
    }
}

/// The SKS statistic times `n_t n_c`, for the treated units packed in `s`, shifted by `d`:
/// `max_x |n_c #{treated: e − d ≤ x} − n_t #{control: e ≤ x}|`.
///
/// With `need = None` the exact supremum. With `Some(t)` the result is `≥ t` exactly when the
/// supremum is, and the search stops as soon as that is known.
///
/// The supremum is attained where the pooled values change: at a rank `r` with
/// `v[r−1] < v[r]`, all ties below consumed, the controls below are `cc = r − treated_below(r)`
/// and the step function takes the values `Sa/n_t − cc/n_c` (treated `e − d ≤ v[r−1]`) and
/// `Sb/n_t − cc/n_c` (treated `e − d < v[r]`), so `|·|` is maximal at
/// `max(Sb n_c − cc n_t, cc n_t − Sa n_c)`. Over a span of ranks `(r0, r1]` all these counts are
/// monotone, which bounds the span from its two ends. Blocks of 64 ranks are bounded from
/// brackets of the shifted positions found on `heads` and `subheads`; a block whose bound can
/// raise the maximum and reach `need` is bounded again by spans of 8 ranks, and only those that
/// still can are evaluated rank by rank.
fn sks(r: &Ranked, s: &Scratch, d: f64, nt: i64, nc: i64, need: Option<i64>) -> i64 {
    let v = &r.values;
    let n = v.len();
    let words = r.heads.len();
    let (floor, exit) = need.map_or((0, i64::MAX), |t| (t, t));
    let search = Search { v, s, d, nt, nc, floor, exit };
    // `[lo, hi]` brackets the number of ranks j with v[j] − d < x, for x increasing over calls;
    // `q` is the first word whose head is not below x.
    let bracket = |q: &mut usize, x: f64| -> (usize, usize) {
        while *q < words && r.heads[*q] - d < x {
            *q += 1;
        }
        if *q == 0 {
            return (0, 0);
        }
        let base = (*q - 1) * WORD;
        let subs = &r.subheads[base / 8..(base / 8 + 8).min(r.subheads.len())];
        let below = subs.iter().map(|&h| usize::from(h - d < x)).sum::<usize>();
        let last = base + 8 * below.saturating_sub(1);
        (last + 1, (last + 8).min(n))
    };
    let exact = |(lo, hi): (usize, usize), x: f64| lo + v[lo..hi].iter().filter(|&&e| e - d < x).count();
    let mut q = 0;
    let mut start = bracket(&mut q, v[0]);
    let mut best = s.treated_below(exact(start, v[0])) * nc;
    for w in 0..words {
        if best >= exit {
            return best;
        }
        let (r0, r1) = (w * WORD, ((w + 1) * WORD).min(n));
        let end = if r1 < n { bracket(&mut q, r.heads[w + 1]) } else { (n, n) };
        if search.worth(search.bound((r0, r1), s.treated_below(start.0), s.treated_below(end.1)), best) {
            best = search.span((r0, r1), exact(start, r.heads[w]), best);
        }
        start = end;
    }
    best
}

/// The supremum search of [`sks`] within spans of ranks.
struct Search<'a> {
    v: &'a [f64],
    s: &'a Scratch,
    d: f64,
    nt: i64,
    nc: i64,
    floor: i64,
    exit: i64,
}

impl Search<'_> {
    /// Bound over the boundaries in `(r0, r1]` from the numbers `c0`, `c1` of treated units whose
    /// shifted value is below `v[r0]` and `v[r1]` (`c1 = n_t` when `r1 = n`).
    fn bound(&self, (r0, r1): (usize, usize), c0: i64, c1: i64) -> i64 {
        let cc0 = r0 as i64 - self.s.treated_below(r0);
        let cc1 = r1 as i64 - self.s.treated_below(r1);
        (c1 * self.nc - cc0 * self.nt).max(cc1 * self.nt - c0 * self.nc)
    }

    fn worth(&self, bound: i64, best: i64) -> bool {
        bound > best && bound >= self.floor
    }

    /// The first `j ≥ p` with `v[j] − d ≥ x` (`n` if none).
    fn advance(&self, mut p: usize, x: f64) -> usize {
        while p < self.v.len() && self.v[p] - self.d < x {
            p += 1;
        }
        p
    }

    /// Maximum of `best` and the values at the boundaries in `(r0, r1]`, by spans of 8 ranks,
    /// from `p0`, the number of ranks j with `v[j] − d < v[r0]`; stops once `exit` is reached.
    fn span(&self, (r0, r1): (usize, usize), p0: usize, mut best: i64) -> i64 {
        let n = self.v.len();
        let (mut p, mut c) = (p0, self.s.treated_below(p0));
        for s0 in (r0..r1).step_by(8) {
            let s1 = (s0 + 8).min(r1);
            let p1 = if s1 < n { self.advance(p, self.v[s1]) } else { n };
            let c1 = self.s.treated_below(p1);
            if self.worth(self.bound((s0, s1), c, c1), best) {
                best = best.max(self.ranks((s0, s1), p));
                if best >= self.exit {
                    return best;
                }
            }
            (p, c) = (p1, c1);
        }
        best
    }

    /// Maximum of the values at the boundaries in `(r0, r1]`, from `p0` as in [`Search::span`].
    fn ranks(&self, (r0, r1): (usize, usize), p0: usize) -> i64 {
        let (v, s, n) = (self.v, self.s, self.v.len());
        let (mut ple, mut plt, mut best) = (p0, p0, 0);
        for rank in r0 + 1..=r1 {
            if rank < n && v[rank - 1] == v[rank] {
                continue;
            }
            let x = v[rank - 1];
            while ple < n && v[ple] - self.d <= x {
                ple += 1;
            }
            let sb = if rank < n {
                plt = self.advance(plt.max(ple), v[rank]);
                s.treated_below(plt)
            } else {
                self.nt
            };
            let cc = rank as i64 - s.treated_below(rank);
            best = best.max(sb * self.nc - cc * self.nt).max(cc * self.nt - s.treated_below(ple) * self.nc);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn brute(treated: &[f64], control: &[f64], d: f64) -> i64 {
        let shifted: Vec<f64> = treated.iter().map(|t| t - d).collect();
        let (nt, nc) = (treated.len() as i64, control.len() as i64);
        let count = |s: &[f64], x: f64| s.iter().filter(|&&v| v <= x).count() as i64;
        shifted.iter().chain(control).map(|&x| (count(&shifted, x) * nc - count(control, x) * nt).abs()).max().unwrap()
    }

    #[test]
    fn sks_matches_brute_force_with_ties() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for case in 0..500 {
            let n = rng.random_range(2..if case % 7 == 0 { 600 } else { 100 });
            let levels = [2, 3, 5, 40, 0][case % 5];
            let values: Vec<f64> = (0..n)
                .map(|_| if levels == 0 { rng.random::<f64>() } else { rng.random_range(0..levels) as f64 })
                .collect();
            let share = rng.random_range(0.05..0.95);
            let mut assignment: Vec<u8> = (0..n).map(|_| u8::from(rng.random_bool(share))).collect();
            (assignment[0], assignment[1]) = (0, 1);
            let d = match case % 6 {
                0 => 0.0,
                1 => rng.random_range(-2..3) as f64,
                2 => rng.random_range(-1e3..1e3),
                3 => rng.random_range(-0.05..0.05),
                _ => rng.random_range(-3.0..3.0),
            };
            let ranked = Ranked::new(values.iter().copied());
            let mut s = Scratch::new(&assignment);
            s.pack(&ranked.rank);
            let pick = |flag| values.iter().zip(&assignment).filter(|p| *p.1 == flag).map(|p| *p.0).collect::<Vec<_>>();
            let (t, c) = (pick(1), pick(0));
            let (nt, nc) = (t.len() as i64, c.len() as i64);
            let exact = brute(&t, &c, d);
            assert_eq!(sks(&ranked, &s, d, nt, nc, None), exact, "case {case}");
            for need in [exact - 1, exact, exact + 1] {
                assert_eq!(sks(&ranked, &s, d, nt, nc, Some(need)) >= need, exact >= need, "case {case}");
            }
        }
    }

    fn data(n: usize, sd_tau: f64, seed: u64) -> (Vec<f64>, Vec<bool>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut treated: Vec<bool> = (0..n).map(|i| i < n / 2).collect();
        treated.shuffle(&mut rng);
        let noise: Vec<f64> = (0..n).map(|_| rng.random::<f64>() - 0.5).collect();
        let y = treated.iter().zip(&noise).map(|(&t, e)| e + if t { 1.0 + sd_tau * e } else { 0.0 }).collect();
        (y, treated, (0..n).map(|_| rng.random::<f64>()).collect())
    }

    /// `p(τ)` from scratch: direct residuals, means and brute-force KS, same permutations.
    fn naive_p(y: &[f64], w: &[bool], x: Option<&[f64]>, tau: f64, o: &RandomizationOptions) -> (i64, f64) {
        let n = y.len() as f64;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / n;
        let mut e: Vec<f64> = y.iter().zip(w).map(|(y, &t)| if t { y - tau } else { *y }).collect();
        let me = mean(&e);
        e.iter_mut().for_each(|v| *v -= me);
        if let Some(x) = x {
            let mx = mean(x);
            let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
            let beta = x.iter().zip(&e).map(|(v, e)| (v - mx) * e).sum::<f64>() / sxx;
            e.iter_mut().zip(x).for_each(|(e, v)| *e -= beta * (v - mx));
        }
        let stat = |w: &[u8]| {
            let pick = |f| e.iter().zip(w).filter(|p| *p.1 == f).map(|p| *p.0).collect::<Vec<_>>();
            let (t, c) = (pick(1), pick(0));
            let d = t.iter().sum::<f64>() / t.len() as f64 - c.iter().sum::<f64>() / c.len() as f64;
            brute(&t, &c, d)
        };
        let observed: Vec<u8> = w.iter().map(|&t| u8::from(t)).collect();
        let t_obs = stat(&observed);
        let exceed = (0..o.permutations)
            .filter(|&b| {
                let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
                rng.set_stream(b as u64);
                let mut perm = observed.clone();
                perm.shuffle(&mut rng);
                stat(&perm) >= t_obs
            })
            .count();
        (t_obs, (1 + exceed) as f64 / (o.permutations + 1) as f64)
    }

    #[test]
    fn matches_a_direct_computation() {
        let options = RandomizationOptions { permutations: 60, grid: 3, seed: 5, ..Default::default() };
        for (seed, adjust) in [(11, false), (12, true), (13, true)] {
            let (y, w, x) = data(80, 1.0, seed);
            let y: Vec<f64> = y.iter().zip(&x).map(|(y, x)| y + 2.0 * x).collect();
            let covariates: Vec<&[f64]> = if adjust { vec![&x] } else { vec![] };
            let result = randomization_test(&y, &w, &covariates, &options).unwrap();
            let xs = adjust.then_some(x.as_slice());
            let [lo, hi] = result.tau_interval;
            let (t_hat, p_hat) = naive_p(&y, &w, xs, result.tau_hat, &options);
            let p_max =
                [lo, result.tau_hat, hi].iter().map(|&t| naive_p(&y, &w, xs, t, &options).1).fold(p_hat, f64::max);
            assert!((result.statistic - t_hat as f64 / (40.0 * 40.0)).abs() < 1e-12, "{result:?}");
            assert_eq!(result.p_value_at_estimate, p_hat);
            assert_eq!(result.p_value, (p_max + options.gamma).min(1.0));
        }
    }

    #[test]
    fn p_values_are_bounded_and_thread_count_invariant() {
        let (y, w, _) = data(300, 0.0, 1);
        let options = RandomizationOptions { permutations: 99, grid: 5, ..Default::default() };
        let run = |k| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(k).build().unwrap();
            pool.install(|| randomization_test(&y, &w, &[], &options).unwrap())
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one, two);
        assert!((0.01..=1.0).contains(&one.p_value_at_estimate));
        assert!(one.p_value >= one.p_value_at_estimate + options.gamma - 1e-12 || one.p_value == 1.0);
        assert!(one.tau_interval[0] < one.tau_hat && one.tau_hat < one.tau_interval[1]);
        let (y, w, _) = data(300, 3.0, 2);
        let strong = randomization_test(&y, &w, &[], &options).unwrap();
        assert!((strong.p_value_at_estimate - 0.01).abs() < 1e-12, "{strong:?}");
    }

    #[test]
    fn noise_covariate_changes_little() {
        let (y, w, x) = data(1000, 0.0, 3);
        let options = RandomizationOptions { permutations: 50, grid: 3, ..Default::default() };
        let plain = randomization_test(&y, &w, &[], &options).unwrap();
        let adjusted = randomization_test(&y, &w, &[&x], &options).unwrap();
        assert_eq!(adjusted.covariates, 1);
        assert!((plain.statistic - adjusted.statistic).abs() < 0.02, "{plain:?} {adjusted:?}");
        assert!((plain.tau_hat - adjusted.tau_hat).abs() < 0.01);
        let width = |t: &RandomizationTest| t.tau_interval[1] - t.tau_interval[0];
        assert!((width(&plain) / width(&adjusted) - 1.0).abs() < 0.05);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (y, w, x) = data(20, 0.0, 4);
        let ok = RandomizationOptions::default();
        let err = |y: &[f64], w: &[bool], x: &[&[f64]], o: &RandomizationOptions| {
            randomization_test(y, w, x, o).unwrap_err().to_string()
        };
        assert!(err(&y[..19], &w, &[], &ok).contains("treated has 20"));
        assert!(err(&y, &w, &[&x[..5]], &ok).contains("covariate 0 has 5"));
        let mut bad = y.clone();
        bad[7] = f64::NAN;
        assert!(err(&bad, &w, &[], &ok).contains("y at row 8 (1-based)"));
        let mut bad = x.clone();
        bad[3] = f64::INFINITY;
        assert!(err(&y, &w, &[&bad], &ok).contains("covariate 0 at row 4 (1-based)"));
        let one: Vec<bool> = (0..20).map(|i| i == 0).collect();
        assert!(err(&y, &one, &[], &ok).contains("1 treated"));
        assert!(err(&y, &w, &[], &RandomizationOptions { permutations: 0, ..ok }).contains("permutations"));
        assert!(err(&y, &w, &[], &RandomizationOptions { gamma: 0.5, ..ok }).contains("gamma"));
        assert!(err(&y, &w, &[], &RandomizationOptions { gamma: f64::NAN, ..ok }).contains("gamma"));
        assert!(err(&y, &w, &[], &RandomizationOptions { grid: 0, ..ok }).contains("grid"));
        assert!(err(&y, &w, &[&[2.0; 20]], &ok).contains("singular"));
        let twice: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
        assert!(err(&y, &w, &[&x, &twice], &ok).contains("singular"));
    }
}

crate::settings_with!(RandomizationOptions);
