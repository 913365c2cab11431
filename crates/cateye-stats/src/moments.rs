//! Mergeable moments of an outcome `y` and a pre-period covariate `x`.
//!
//! Two summaries are kept:
//!
//! * [`Moments`]: count, means, the central moments of `y` up to order four, the variance of `x`
//!   and the co-moment of `x` and `y`. This is the sufficient statistic of one
//!   (experiment, metric, dimension level, variant) cell: everything the tier-1 scan needs.
//! * [`JointMoments`]: all bivariate central moments `M_pq = Σ (y−ȳ)^p (x−x̄)^q` with
//!   `p + q ≤ 4`. Kept once per (experiment, metric, variant) so that the kurtosis of the
//!   CUPED residual `y − θx` can be computed for any `θ` fixed after the data are seen.
//!
//! Both are stored *relative to a shift* (a reference value of `y` and of `x`, usually the first
//! observation of the experiment): means are means of `y − shift_y`. When the mean of a metric is
//! large (1e9) and its spread small, the differences of means that enter the merge formulas are
//! then computed between small numbers and no precision is lost; two summaries with different
//! shifts are merged after rebasing one of them.
//!
//! Merging uses the pairwise update of Chan, Golub & LeVeque (1979) for the second moments and
//! its generalisation to higher and mixed moments by Pébay (2008), "Formulas for robust, one-pass
//! parallel computation of covariances and arbitrary-order statistical moments", Sandia report
//! SAND2008-6212, eq. 2.1 and 3.1. The bulk of the data is accumulated as shifted power sums
//! over a bounded chunk ([`PowerSums`]) and turned into central moments once per chunk, which is
//! the "shifted data" algorithm; chunks are then merged with Pébay's formulas.

use serde::{Deserialize, Serialize};

/// Power sums of shifted values over a chunk of rows: `[n, Σd, Σd², Σd³, Σd⁴, Σe, Σe², Σde]`
/// with `d = y − shift_y`, `e = x − shift_x`. The layout is one cache line so that the hot
/// aggregation loop adds whole rows of eight lanes.
pub type PowerSums = [f64; 8];

/// Index of each power sum in a [`PowerSums`] row.
pub mod ps {
    /// Count `n`.
    pub const N: usize = 0;
    /// `Σd`, with `d = y − shift_y`.
    pub const Y1: usize = 1;
    /// `Σd²`.
    pub const Y2: usize = 2;
    /// `Σd³`.
    pub const Y3: usize = 3;
    /// `Σd⁴`.
    pub const Y4: usize = 4;
    /// `Σe`, with `e = x − shift_x`.
    pub const X1: usize = 5;
    /// `Σe²`.
    pub const X2: usize = 6;
    /// `Σde`.
    pub const XY: usize = 7;
}

/// The row of power sums contributed by one observation `d = y − shift_y`, `e = x − shift_x`.
#[inline(always)]
pub fn power_row(d: f64, e: f64) -> PowerSums {
    let d2 = d * d;
    [1.0, d, d2, d2 * d, d2 * d2, e, e * e, d * e]
}

/// The mixed power sums that, with a [`PowerSums`] row, make up every `Σ d^p e^q` with
/// `p + q ≤ 4`: `[d e², d e³, d² e, d² e², d³ e, e³, e⁴, 0]` (padded to a cache line).
pub type MixedPowerSums = [f64; 8];

/// The mixed power sums contributed by one observation.
#[inline(always)]
pub fn mixed_row(d: f64, e: f64) -> MixedPowerSums {
    let (d2, e2) = (d * d, e * e);
    [d * e2, d * e2 * e, d2 * e, d2 * e2, d2 * d * e, e2 * e, e2 * e2, 0.0]
}

/// The table `s[p][q] = Σ d^p e^q` (`p + q ≤ 4`) from a power-sum row and its mixed sums.
pub fn joint_power_table(s: &PowerSums, mixed: &MixedPowerSums) -> [[f64; 5]; 5] {
    let mut t = [[0.0; 5]; 5];
    t[0][0] = s[ps::N];
    t[1][0] = s[ps::Y1];
    t[2][0] = s[ps::Y2];
    t[3][0] = s[ps::Y3];
    t[4][0] = s[ps::Y4];
    t[0][1] = s[ps::X1];
    t[0][2] = s[ps::X2];
    t[1][1] = s[ps::XY];
    t[1][2] = mixed[0];
    t[1][3] = mixed[1];
    t[2][1] = mixed[2];
    t[2][2] = mixed[3];
    t[3][1] = mixed[4];
    t[0][3] = mixed[5];
    t[0][4] = mixed[6];
    t
}

/// Count, means and central moments of `y` (to order 4) and `x` (to order 2) plus their
/// co-moment. Means are relative to `shift_y` / `shift_x`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Number of observations (a float so that weighted data fit later; exact below 2^53).
    pub n: f64,
    /// Reference value subtracted from `y` before accumulation (usually its first observation).
    pub shift_y: f64,
    /// Reference value subtracted from `x` before accumulation (usually its first observation).
    pub shift_x: f64,
    /// Mean of `y − shift_y`.
    pub mean_y: f64,
    /// Mean of `x − shift_x`.
    pub mean_x: f64,
    /// `Σ (y − ȳ)²`
    pub m2_y: f64,
    /// `Σ (y − ȳ)³`
    pub m3_y: f64,
    /// `Σ (y − ȳ)⁴`
    pub m4_y: f64,
    /// `Σ (x − x̄)²`
    pub m2_x: f64,
    /// `Σ (x − x̄)(y − ȳ)`
    pub c_xy: f64,
}

impl Moments {
    /// Central moments from the shifted power sums of one chunk.
    pub fn from_power_sums(s: &PowerSums, shift_y: f64, shift_x: f64) -> Self {
        let n = s[ps::N];
        if n == 0.0 {
            return Self { shift_y, shift_x, ..Self::default() };
        }
        let my = s[ps::Y1] / n;
        let mx = s[ps::X1] / n;
        // Translate the raw moments about the shift to moments about the mean (binomial expansion).
        let m2_y = (s[ps::Y2] - my * s[ps::Y1]).max(0.0);
        let m3_y = s[ps::Y3] - 3.0 * my * s[ps::Y2] + 2.0 * my * my * s[ps::Y1];
        let m4_y =
            (s[ps::Y4] - 4.0 * my * s[ps::Y3] + 6.0 * my * my * s[ps::Y2] - 3.0 * my * my * my * s[ps::Y1]).max(0.0);
        let m2_x = (s[ps::X2] - mx * s[ps::X1]).max(0.0);
        let c_xy = s[ps::XY] - mx * s[ps::Y1];
        Self { n, shift_y, shift_x, mean_y: my, mean_x: mx, m2_y, m3_y, m4_y, m2_x, c_xy }
    }

    /// Power sums `[n, Σd, Σd², Σd³, Σd⁴, Σe, Σe², Σde]` of the shifted values
    /// (`d = y − shift_y`, `e = x − shift_x`): the inverse of [`Moments::from_power_sums`].
    pub fn power_sums(&self) -> PowerSums {
        let (n, my, mx) = (self.n, self.mean_y, self.mean_x);
        [
            n,
            n * my,
            self.m2_y + n * my * my,
            self.m3_y + 3.0 * my * self.m2_y + n * my.powi(3),
            self.m4_y + 4.0 * my * self.m3_y + 6.0 * my * my * self.m2_y + n * my.powi(4),
            n * mx,
            self.m2_x + n * mx * mx,
            self.c_xy + n * mx * my,
        ]
    }

    /// Moments of a single observation.
    pub fn single(y: f64, x: f64) -> Self {
        Self { n: 1.0, shift_y: y, shift_x: x, ..Self::default() }
    }

    /// Moments of the values `ys` (no covariate), added one at a time: exact when the mean is
    /// large against the spread (the first value is the shift).
    pub fn of(ys: impl IntoIterator<Item = f64>) -> Self {
        let mut m = Self::default();
        for y in ys {
            m.push(y, 0.0);
        }
        m
    }

    /// Add one observation (Welford / Pébay one-pass update; used outside the hot path).
    pub fn push(&mut self, y: f64, x: f64) {
        if self.n == 0.0 {
            *self = Self::single(y, x);
        } else {
            let one = Self {
                n: 1.0,
                shift_y: self.shift_y,
                shift_x: self.shift_x,
                mean_y: y - self.shift_y,
                mean_x: x - self.shift_x,
                ..Self::default()
            };
            self.merge(&one);
        }
    }

    /// The same moments expressed relative to other shifts.
    pub fn rebased(&self, shift_y: f64, shift_x: f64) -> Self {
        Self {
            shift_y,
            shift_x,
            mean_y: self.mean_y + (self.shift_y - shift_y),
            mean_x: self.mean_x + (self.shift_x - shift_x),
            ..*self
        }
    }

    /// Merge `other` into `self`, so that the result equals the moments of the union of the two
    /// samples (Pébay 2008, eq. 2.1 for orders 2–4 and eq. 3.1 for the co-moment).
    pub fn merge(&mut self, other: &Self) {
        if other.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *other;
            return;
        }
        let b = if other.shift_y == self.shift_y && other.shift_x == self.shift_x {
            *other
        } else {
            other.rebased(self.shift_y, self.shift_x)
        };
        let (na, nb) = (self.n, b.n);
        let n = na + nb;
        let dy = b.mean_y - self.mean_y;
        let dx = b.mean_x - self.mean_x;
        let (ra, rb) = (na / n, nb / n);
        let dy2 = dy * dy;
        let m4 = self.m4_y
            + b.m4_y
            + dy2 * dy2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n)
            + 6.0 * dy2 * (ra * ra * b.m2_y + rb * rb * self.m2_y)
            + 4.0 * dy * (ra * b.m3_y - rb * self.m3_y);
        let m3 =
            self.m3_y + b.m3_y + dy2 * dy * na * nb * (na - nb) / (n * n) + 3.0 * dy * (ra * b.m2_y - rb * self.m2_y);
        let h = na * nb / n;
        self.m2_y += b.m2_y + dy2 * h;
        self.m2_x += b.m2_x + dx * dx * h;
        self.c_xy += b.c_xy + dx * dy * h;
        self.m3_y = m3;
        self.m4_y = m4;
        self.mean_y += dy * rb;
        self.mean_x += dx * rb;
        self.n = n;
    }

    /// Merge of two summaries, leaving both untouched.
    pub fn merged(mut self, other: &Self) -> Self {
        self.merge(other);
        self
    }

    /// Mean of `y`.
    pub fn y_mean(&self) -> f64 {
        self.shift_y + self.mean_y
    }
    /// Mean of `x`.
    pub fn x_mean(&self) -> f64 {
        self.shift_x + self.mean_x
    }
    /// Unbiased sample variance of `y` (NaN below two observations).
    pub fn y_var(&self) -> f64 {
        if self.n < 2.0 {
            f64::NAN
        } else {
            self.m2_y / (self.n - 1.0)
        }
    }
    /// Sample standard deviation of `y` (NaN below two observations).
    pub fn y_sd(&self) -> f64 {
        self.y_var().sqrt()
    }
    /// Mean of `y` and its standard error `sd/√n`; NaN for no observations, SE 0 for one.
    pub fn y_mean_and_se(&self) -> (f64, f64) {
        if self.n == 0.0 {
            return (f64::NAN, f64::NAN);
        }
        let var = self.m2_y / (self.n - 1.0).max(1.0);
        (self.y_mean(), (var / self.n).sqrt())
    }
    /// Unbiased sample variance of `x`.
    pub fn x_var(&self) -> f64 {
        if self.n < 2.0 {
            f64::NAN
        } else {
            self.m2_x / (self.n - 1.0)
        }
    }
    /// Unbiased sample covariance of `x` and `y`.
    pub fn xy_cov(&self) -> f64 {
        if self.n < 2.0 {
            f64::NAN
        } else {
            self.c_xy / (self.n - 1.0)
        }
    }
    /// Sample (non-excess) kurtosis `n M4 / M2²` of `y`.
    pub fn y_kurtosis(&self) -> f64 {
        self.n * self.m4_y / (self.m2_y * self.m2_y)
    }

    /// Sample variance of the residual `y − θ x` (unbiased).
    pub fn residual_var(&self, theta: f64) -> f64 {
        if self.n < 2.0 {
            return f64::NAN;
        }
        ((self.m2_y - 2.0 * theta * self.c_xy + theta * theta * self.m2_x) / (self.n - 1.0)).max(0.0)
    }

    /// Whether `y` takes at most two distinct values, decided from the moments alone: every
    /// distribution satisfies `μ4 μ2 ≥ μ3² + μ2³` (kurtosis ≥ skewness² + 1, Pearson 1916), with
    /// equality exactly for two-point (and one-point) distributions. The variance of such a
    /// metric is a function of its mean.
    pub fn y_is_two_valued(&self) -> bool {
        if self.n == 0.0 {
            return false;
        }
        let (n, m2, m3, m4) = (self.n, self.m2_y, self.m3_y, self.m4_y);
        let lhs = n * m4 * m2;
        let gap = lhs - n * m3 * m3 - m2 * m2 * m2;
        gap.abs() <= 1e-9 * lhs.abs() || m2 <= 0.0
    }

    /// Whether every observation of `y` is 0 or 1, decided from the moments alone:
    /// `Σ (y² − y)² = Σy⁴ − 2Σy³ + Σy²` vanishes exactly for binary data.
    pub fn y_is_binary(&self) -> bool {
        if self.n == 0.0 {
            return false;
        }
        let m = self.y_mean();
        let (v, s3, s4) = (self.m2_y / self.n, self.m3_y / self.n, self.m4_y / self.n);
        // Raw moments E[y^k] from the mean and the central moments.
        let e2 = m * m + v;
        let e3 = m * m * m + 3.0 * m * v + s3;
        let e4 = m.powi(4) + 6.0 * m * m * v + 4.0 * m * s3 + s4;
        let dev = e4 - 2.0 * e3 + e2;
        let scale = 1.0 + e4.abs() + e2.abs();
        (0.0..=1.0).contains(&m) && dev.abs() <= 1e-9 * scale
    }
}

/// Number of bivariate central moments with `p + q ≤ 4`, including `M_00 = n`.
const JOINT_ORDER: usize = 4;

/// All bivariate central moments `M_pq = Σ (y−ȳ)^p (x−x̄)^q` with `p + q ≤ 4`, relative to a shift.
///
/// Stored as a 5×5 table `m[p][q]` whose entries with `p + q > 4` are zero; `m[0][0] = n`,
/// `m[1][0] = m[0][1] = 0` by definition of central moments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JointMoments {
    /// Reference value subtracted from `y` before accumulation.
    pub shift_y: f64,
    /// Reference value subtracted from `x` before accumulation.
    pub shift_x: f64,
    /// Mean of `y − shift_y`.
    pub mean_y: f64,
    /// Mean of `x − shift_x`.
    pub mean_x: f64,
    /// Central moments `m[p][q] = M_pq = Σ (y−ȳ)^p (x−x̄)^q`, zero where `p + q > 4`; `m[0][0] = n`.
    pub m: [[f64; JOINT_ORDER + 1]; JOINT_ORDER + 1],
}

/// Binomial coefficients up to 4.
const BINOM: [[f64; 5]; 5] = [
    [1.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 0.0, 0.0, 0.0],
    [1.0, 2.0, 1.0, 0.0, 0.0],
    [1.0, 3.0, 3.0, 1.0, 0.0],
    [1.0, 4.0, 6.0, 4.0, 1.0],
];

/// Moments about a point `c` turned into moments about `c + (ty, tx)`:
/// `M'_pq = Σ_{i≤p, j≤q} C(p,i) C(q,j) M_ij (−ty)^{p−i} (−tx)^{q−j}`.
fn translate(m: &[[f64; 5]; 5], ty: f64, tx: f64) -> [[f64; 5]; 5] {
    let mut py = [1.0; 5];
    let mut px = [1.0; 5];
    for k in 1..5 {
        py[k] = py[k - 1] * (-ty);
        px[k] = px[k - 1] * (-tx);
    }
    let mut out = [[0.0; 5]; 5];
    for p in 0..=JOINT_ORDER {
        for q in 0..=(JOINT_ORDER - p) {
            let mut acc = 0.0;
            for i in 0..=p {
                for j in 0..=q {
                    acc += BINOM[p][i] * BINOM[q][j] * m[i][j] * py[p - i] * px[q - j];
                }
            }
            out[p][q] = acc;
        }
    }
    out
}

impl JointMoments {
    /// Number of observations.
    pub fn n(&self) -> f64 {
        self.m[0][0]
    }

    /// Central moments from raw power sums `s[p][q] = Σ d^p e^q` of shifted values.
    pub fn from_power_sums(s: &[[f64; 5]; 5], shift_y: f64, shift_x: f64) -> Self {
        let n = s[0][0];
        if n == 0.0 {
            return Self { shift_y, shift_x, ..Self::default() };
        }
        let (my, mx) = (s[1][0] / n, s[0][1] / n);
        let mut m = translate(s, my, mx);
        m[1][0] = 0.0;
        m[0][1] = 0.0;
        Self { shift_y, shift_x, mean_y: my, mean_x: mx, m }
    }

    /// Raw power sums `s[p][q] = Σ d^p e^q` of the shifted values: the inverse of
    /// [`JointMoments::from_power_sums`].
    pub fn power_sums(&self) -> [[f64; 5]; 5] {
        let mut m = self.m;
        m[1][0] = 0.0;
        m[0][1] = 0.0;
        translate(&m, -self.mean_y, -self.mean_x)
    }

    /// Merge `other` into `self` (Pébay 2008, arbitrary-order multivariate update, written as the
    /// translation of both summaries to the combined mean).
    pub fn merge(&mut self, other: &Self) {
        if other.n() == 0.0 {
            return;
        }
        if self.n() == 0.0 {
            *self = *other;
            return;
        }
        let (b_my, b_mx) =
            (other.mean_y + (other.shift_y - self.shift_y), other.mean_x + (other.shift_x - self.shift_x));
        let (na, nb) = (self.n(), other.n());
        let n = na + nb;
        let (dy, dx) = (b_my - self.mean_y, b_mx - self.mean_x);
        let a = translate(&self.m, dy * nb / n, dx * nb / n);
        let b = translate(&other.m, -dy * na / n, -dx * na / n);
        for p in 0..=JOINT_ORDER {
            for q in 0..=(JOINT_ORDER - p) {
                self.m[p][q] = a[p][q] + b[p][q];
            }
        }
        self.m[1][0] = 0.0;
        self.m[0][1] = 0.0;
        self.mean_y += dy * nb / n;
        self.mean_x += dx * nb / n;
    }

    /// The univariate summary ([`Moments`]) of the same data.
    pub fn marginal(&self) -> Moments {
        let m = &self.m;
        Moments {
            n: m[0][0],
            shift_y: self.shift_y,
            shift_x: self.shift_x,
            mean_y: self.mean_y,
            mean_x: self.mean_x,
            m2_y: m[2][0],
            m3_y: m[3][0],
            m4_y: m[4][0],
            m2_x: m[0][2],
            c_xy: m[1][1],
        }
    }

    /// Second and fourth central moment sums of the residual `r = y − θ x`:
    /// `Σ (r − r̄)^k = Σ_j C(k,j) (−θ)^j M_{k−j, j}`.
    pub fn residual_m2_m4(&self, theta: f64) -> (f64, f64) {
        let m = &self.m;
        let t = -theta;
        let m2 = m[2][0] + 2.0 * t * m[1][1] + t * t * m[0][2];
        let m4 = m[4][0] + 4.0 * t * m[3][1] + 6.0 * t * t * m[2][2] + 4.0 * t * t * t * m[1][3] + t.powi(4) * m[0][4];
        (m2.max(0.0), m4.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_se_is_exact_far_from_zero() {
        let mean_and_se = |v: &[f64]| Moments::of(v.iter().copied()).y_mean_and_se();
        // 1e9 + {1, 2, 3, 4}: mean 1e9 + 2.5, sample variance 5/3, SE √(5/3)/2. A sum of squares
        // would lose every digit of the variance to cancellation here.
        let (mean, se) = mean_and_se(&[1.0, 2.0, 3.0, 4.0].map(|v| 1e9 + v));
        assert_eq!(mean, 1e9 + 2.5);
        assert!((se - (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-9, "{se}");
        assert!(mean_and_se(&[]).0.is_nan());
        assert_eq!(mean_and_se(&[3.0]), (3.0, 0.0));
    }

    fn two_pass(y: &[f64], x: &[f64]) -> (f64, f64, f64, f64, f64, f64) {
        let n = y.len() as f64;
        let my = y.iter().sum::<f64>() / n;
        let mx = x.iter().sum::<f64>() / n;
        let m2 = y.iter().map(|v| (v - my).powi(2)).sum();
        let m3 = y.iter().map(|v| (v - my).powi(3)).sum();
        let m4 = y.iter().map(|v| (v - my).powi(4)).sum();
        let c = y.iter().zip(x).map(|(a, b)| (a - my) * (b - mx)).sum();
        (my, m2, m3, m4, mx, c)
    }

    /// Power sums and mixed power sums of shifted data.
    fn sums(y: &[f64], x: &[f64], sy: f64, sx: f64) -> (PowerSums, MixedPowerSums) {
        let (mut s, mut m) = ([0.0; 8], [0.0; 8]);
        for (a, b) in y.iter().zip(x) {
            let (r, q) = (power_row(a - sy, b - sx), mixed_row(a - sy, b - sx));
            for k in 0..8 {
                s[k] += r[k];
                m[k] += q[k];
            }
        }
        (s, m)
    }

    fn data() -> (Vec<f64>, Vec<f64>) {
        let y: Vec<f64> = (0..50).map(|i| ((i * 37 % 11) as f64).powf(1.3) - 2.0).collect();
        let x: Vec<f64> = (0..50).map(|i| (i * 13 % 7) as f64 * 0.5 + 1.0).collect();
        (y, x)
    }

    #[test]
    fn push_matches_two_pass() {
        let (y, x) = data();
        let mut m = Moments::default();
        for (a, b) in y.iter().zip(&x) {
            m.push(*a, *b);
        }
        let (my, m2, m3, m4, mx, c) = two_pass(&y, &x);
        assert!((m.y_mean() - my).abs() < 1e-12);
        assert!((m.x_mean() - mx).abs() < 1e-12);
        assert!((m.m2_y - m2).abs() < 1e-9 * m2);
        assert!((m.m3_y - m3).abs() < 1e-9 * m3.abs().max(1.0));
        assert!((m.m4_y - m4).abs() < 1e-9 * m4);
        assert!((m.c_xy - c).abs() < 1e-9 * c.abs().max(1.0));
    }

    #[test]
    fn power_sums_match_push_and_joint_marginal() {
        let (y, x) = data();
        let (sy, sx) = (y[0], x[0]);
        let (s, mixed) = sums(&y, &x, sy, sx);
        let m = Moments::from_power_sums(&s, sy, sx);
        let j = JointMoments::from_power_sums(&joint_power_table(&s, &mixed), sy, sx).marginal();
        let (my, m2, _, m4, _, c) = two_pass(&y, &x);
        for mm in [m, j] {
            assert!((mm.y_mean() - my).abs() < 1e-12);
            assert!((mm.m2_y - m2).abs() < 1e-10 * m2);
            assert!((mm.m4_y - m4).abs() < 1e-10 * m4);
            assert!((mm.c_xy - c).abs() < 1e-10);
        }
    }

    #[test]
    fn residual_moments_match_direct_computation() {
        let (y, x) = data();
        let (s, mixed) = sums(&y, &x, 0.0, 0.0);
        let jm = JointMoments::from_power_sums(&joint_power_table(&s, &mixed), 0.0, 0.0);
        let theta = 0.7;
        let r: Vec<f64> = y.iter().zip(&x).map(|(a, b)| a - theta * b).collect();
        let (_, m2, _, m4, _, _) = two_pass(&r, &x);
        let (g2, g4) = jm.residual_m2_m4(theta);
        assert!((g2 - m2).abs() < 1e-9 * m2);
        assert!((g4 - m4).abs() < 1e-9 * m4);
        let mom = jm.marginal();
        assert!((mom.residual_var(theta) * (mom.n - 1.0) - m2).abs() < 1e-9 * m2);
    }

    #[test]
    fn binary_detection_from_moments() {
        let mut b = Moments::default();
        for i in 0..100 {
            b.push(f64::from(i % 3 == 0), 0.0);
        }
        assert!(b.y_is_binary());
        let mut c = Moments::default();
        for i in 0..100 {
            c.push(f64::from(i % 3) * 0.5, 0.0);
        }
        assert!(!c.y_is_binary());
        let mut t = Moments::default();
        for i in 0..100 {
            t.push(f64::from(i % 2 == 0) + 1.0, 0.0);
        }
        assert!(!t.y_is_binary(), "values {{1, 2}} are two-valued but not 0/1");
    }

    #[test]
    fn partitions_merged_in_any_order_match_at_mean_1e9() {
        use rand::seq::SliceRandom;
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let values: Vec<(f64, f64)> =
            (0..5000).map(|_| (1e9 + 1e-3 * rng.random::<f64>(), 1e9 + 1e-3 * rng.random::<f64>())).collect();
        let mut whole = Moments::default();
        for &(y, x) in &values {
            whole.push(y, x);
        }
        let exact_var = {
            let m = values.iter().map(|v| v.0 - 1e9).sum::<f64>() / 5000.0;
            values.iter().map(|v| (v.0 - 1e9 - m).powi(2)).sum::<f64>()
        };
        assert!((whole.m2_y - exact_var).abs() <= 1e-12 * exact_var);
        for parts in [2, 5, 50] {
            let mut chunks: Vec<Moments> = vec![Moments::default(); parts];
            for &(y, x) in &values {
                chunks[rng.random_range(0..parts)].push(y, x);
            }
            chunks.shuffle(&mut rng);
            let merged = chunks.iter().fold(Moments::default(), |acc, c| acc.merged(c));
            assert_eq!(merged.n, whole.n);
            for (a, b) in [(merged.m2_y, whole.m2_y), (merged.m4_y, whole.m4_y), (merged.m2_x, whole.m2_x)] {
                assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
            }
            let scale = whole.m2_y.powf(1.5) / whole.n.sqrt();
            assert!((merged.m3_y - whole.m3_y).abs() <= 1e-12 * scale);
            assert!((merged.c_xy - whole.c_xy).abs() <= 1e-12 * (whole.m2_x * whole.m2_y).sqrt());
            assert!((merged.y_mean() - whole.y_mean()).abs() <= 1e-12 * whole.y_var().sqrt());
        }
    }

    #[test]
    fn power_sums_round_trip() {
        let (y, x) = data();
        let mut m = Moments::default();
        for (a, b) in y.iter().zip(&x) {
            m.push(*a, *b);
        }
        let back = Moments::from_power_sums(&m.power_sums(), m.shift_y, m.shift_x);
        for (a, b) in [
            (back.m2_y, m.m2_y),
            (back.m3_y, m.m3_y),
            (back.m4_y, m.m4_y),
            (back.c_xy, m.c_xy),
            (back.y_mean(), m.y_mean()),
        ] {
            assert!((a - b).abs() <= 1e-10 * b.abs().max(1.0), "{a} vs {b}");
        }
        let (s, mixed) = sums(&y, &x, 1.0, 2.0);
        let j = JointMoments::from_power_sums(&joint_power_table(&s, &mixed), 1.0, 2.0);
        let t = j.power_sums();
        let want = joint_power_table(&s, &mixed);
        for p in 0..5 {
            for q in 0..5 - p {
                assert!((t[p][q] - want[p][q]).abs() <= 1e-9 * want[p][q].abs().max(1.0));
            }
        }
    }

    #[test]
    fn two_valued_detection_from_moments() {
        let push_all = |v: &[f64]| {
            let mut m = Moments::default();
            for &y in v {
                m.push(y, 0.0);
            }
            m
        };
        let two: Vec<f64> = (0..300).map(|i| if i % 7 < 2 { 5.0 } else { -2.5 }).collect();
        assert!(push_all(&two).y_is_two_valued());
        assert!(push_all(&[3.0; 10]).y_is_two_valued());
        let three: Vec<f64> = (0..300).map(|i| (i % 3) as f64).collect();
        assert!(!push_all(&three).y_is_two_valued());
        let near: Vec<f64> = (0..300).map(|i| if i % 2 == 0 { 1.0 } else { 2.0 + 1e-3 * (i % 5) as f64 }).collect();
        assert!(!push_all(&near).y_is_two_valued());
    }
}
