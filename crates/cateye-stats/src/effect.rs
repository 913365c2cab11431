//! Average treatment effects of one arm against control from the arms' [`Moments`]:
//! difference in means with the Welch standard error, the CUPED-adjusted difference
//! (Deng, Xu, Kohavi & Walker 2013), and the relative lift with a delta-method interval.

use crate::dist::{normal_quantile, normal_two_sided_p, t_quantile, t_two_sided_p};
use crate::moments::Moments;
use serde::{Deserialize, Serialize};

/// A point estimate with its standard error, confidence interval and two-sided p-value
/// against zero.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Estimate {
    /// Point estimate.
    pub estimate: f64,
    /// Standard error of the estimate.
    pub se: f64,
    /// Degrees of freedom of the reference t distribution (`inf` for a normal one).
    pub df: f64,
    /// Lower bound of the two-sided interval, `estimate − q·se` with `q` the reference quantile.
    pub ci_low: f64,
    /// Upper bound of the two-sided interval, `estimate + q·se`.
    pub ci_high: f64,
    /// Two-sided p-value of `estimate / se` against zero (NaN when `se` is not positive).
    pub p_value: f64,
}

impl Estimate {
    /// An estimate with a t reference distribution (normal when `df` is infinite).
    pub fn with_t(estimate: f64, se: f64, df: f64, level: f64) -> Self {
        let q = t_quantile(0.5 + level / 2.0, df);
        let p = if se > 0.0 { t_two_sided_p(estimate / se, df) } else { f64::NAN };
        Self { estimate, se, df, ci_low: estimate - q * se, ci_high: estimate + q * se, p_value: p }
    }

    /// An estimate with a normal reference distribution.
    pub fn with_normal(estimate: f64, se: f64, level: f64) -> Self {
        let q = normal_quantile(0.5 + level / 2.0);
        let p = if se > 0.0 { normal_two_sided_p(estimate / se) } else { f64::NAN };
        Self { estimate, se, df: f64::INFINITY, ci_low: estimate - q * se, ci_high: estimate + q * se, p_value: p }
    }

    /// Whether the estimate could be computed (finite estimate and positive SE).
    pub fn is_valid(&self) -> bool {
        self.estimate.is_finite() && self.se.is_finite() && self.se > 0.0
    }
}

/// The CUPED coefficient `θ = Σ_a C_xy,a / Σ_a M2_x,a`: the slope of `y` on `x` pooled within
/// arms (the regression of `y` on `x` with arm fixed effects), so that a treatment effect on the
/// mean does not leak into it. `None` when `x` has no within-arm variance.
pub fn cuped_theta<'a>(arms: impl IntoIterator<Item = &'a Moments>) -> Option<f64> {
    let (mut c, mut v) = (0.0, 0.0);
    for a in arms {
        c += a.c_xy;
        v += a.m2_x;
    }
    (v > 0.0 && c.is_finite()).then(|| c / v)
}

/// Mean and variance of the mean of `y − θ (x − x̄)` in one arm, where `x̄` is the pooled mean
/// of the covariate. With `θ = 0` this is the plain mean.
fn adjusted_mean(a: &Moments, theta: f64, x_bar: f64) -> (f64, f64) {
    let mean = a.y_mean() - theta * (a.x_mean() - x_bar);
    (mean, a.residual_var(theta) / a.n)
}

/// Difference in (CUPED-adjusted when `θ ≠ 0`) means of `treated` minus `control` with the
/// Welch standard error and Welch–Satterthwaite degrees of freedom. `θ` is treated as known,
/// as is standard for CUPED (its estimation error is of smaller order).
pub fn difference(treated: &Moments, control: &Moments, theta: f64, level: f64) -> Estimate {
    let (estimate, se, df) = mean_difference(treated, control, theta);
    Estimate::with_t(estimate, se, df, level)
}

/// `(estimate, se, df)` of [`difference`] without its interval and p-value: what the level
/// effects of a dimension test need, millions of times in a sweep, where a t quantile per
/// level would dominate the scan's time.
pub fn mean_difference(treated: &Moments, control: &Moments, theta: f64) -> (f64, f64, f64) {
    let x_bar = 0.0; // cancels in the difference
    let (mt, vt) = adjusted_mean(treated, theta, x_bar);
    let (mc, vc) = adjusted_mean(control, theta, x_bar);
    (mt - mc, (vt + vc).sqrt(), welch_df(vt, treated.n, vc, control.n))
}

/// [`difference`] and [`relative_lift`] with the variances of the two arm means supplied (e.g.
/// cluster-robust ones) and `df` degrees of freedom for the difference. Returns
/// (difference, lift).
pub fn with_mean_variances(
    treated: &Moments,
    control: &Moments,
    theta: f64,
    x_bar: f64,
    (vt, vc): (f64, f64),
    df: f64,
    level: f64,
) -> (Estimate, Estimate) {
    let (mt, _) = adjusted_mean(treated, theta, x_bar);
    let (mc, _) = adjusted_mean(control, theta, x_bar);
    let diff = Estimate::with_t(mt - mc, (vt + vc).sqrt(), df, level);
    (diff, lift_of(mt, vt, mc, vc, level))
}

/// Welch–Satterthwaite degrees of freedom for two variances of means.
pub fn welch_df(vt: f64, nt: f64, vc: f64, nc: f64) -> f64 {
    let den = vt * vt / (nt - 1.0) + vc * vc / (nc - 1.0);
    if den > 0.0 {
        (vt + vc).powi(2) / den
    } else {
        f64::INFINITY
    }
}

/// Relative lift `ȳ_t / ȳ_c − 1` (of CUPED-adjusted means when `θ ≠ 0`, adjusted around the
/// pooled covariate mean `x_bar`) with a delta-method standard error
/// `Var(A/B) ≈ Var(A)/B² + A² Var(B)/B⁴` for independent arms, and a normal interval.
/// The estimate is NaN when the control mean is zero.
pub fn relative_lift(treated: &Moments, control: &Moments, theta: f64, x_bar: f64, level: f64) -> Estimate {
    let (a, va) = adjusted_mean(treated, theta, x_bar);
    let (b, vb) = adjusted_mean(control, theta, x_bar);
    lift_of(a, va, b, vb, level)
}

/// `a / b − 1` with the delta-method SE for independent means of variances `va`, `vb`.
fn lift_of(a: f64, va: f64, b: f64, vb: f64, level: f64) -> Estimate {
    if b == 0.0 || !b.is_finite() {
        return Estimate::with_normal(f64::NAN, f64::NAN, level);
    }
    let se = (va / (b * b) + a * a * vb / b.powi(4)).sqrt();
    Estimate::with_normal(a / b - 1.0, se, level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(v: &[(f64, f64)]) -> Moments {
        let mut m = Moments::default();
        for &(y, x) in v {
            m.push(y, x);
        }
        m
    }

    #[test]
    fn welch_matches_closed_form() {
        let t = moments(&[(3.0, 0.0), (5.0, 0.0), (4.0, 0.0), (8.0, 0.0)]);
        let c = moments(&[(1.0, 0.0), (2.0, 0.0), (2.5, 0.0)]);
        let e = difference(&t, &c, 0.0, 0.95);
        // means 5 and 11/6; variances 14/3 and 7/12
        let (vt, vc): (f64, f64) = (14.0 / 3.0 / 4.0, 7.0 / 12.0 / 3.0);
        assert!((e.estimate - (5.0 - 11.0 / 6.0)).abs() < 1e-12);
        assert!((e.se - (vt + vc).sqrt()).abs() < 1e-12);
        let df = (vt + vc).powi(2) / (vt * vt / 3.0 + vc * vc / 2.0);
        assert!((e.df - df).abs() < 1e-9);
        // scipy.stats.ttest_ind([3,5,4,8], [1,2,2.5], equal_var=False).pvalue = 0.054474619791
        assert!((e.p_value - 0.05447461979125869).abs() < 1e-9, "{}", e.p_value);
    }

    #[test]
    fn cuped_removes_the_covariate_and_theta_is_the_within_arm_slope() {
        // y = 2x + small noise + effect 1 in treatment; x differs by chance between arms.
        let t = moments(&[(1.0 + 2.0 * 1.0 + 0.1, 1.0), (1.0 + 2.0 * 3.0 - 0.1, 3.0), (1.0 + 2.0 * 5.0, 5.0)]);
        let c = moments(&[(2.0 * 0.0 + 0.05, 0.0), (2.0 * 2.0, 2.0), (2.0 * 1.0 - 0.05, 1.0)]);
        let theta = cuped_theta([&t, &c]).unwrap();
        assert!((theta - 2.0).abs() < 0.05);
        let adj = difference(&t, &c, theta, 0.95);
        assert!((adj.estimate - 1.0).abs() < 0.2, "{adj:?}");
        let raw = difference(&t, &c, 0.0, 0.95);
        assert!(adj.se < raw.se / 5.0);
    }

    #[test]
    fn lift_delta_method() {
        let t = moments(&[(11.0, 0.0), (9.0, 0.0), (12.0, 0.0), (8.0, 0.0)]);
        let c = moments(&[(10.0, 0.0), (8.0, 0.0), (9.0, 0.0), (9.0, 0.0)]);
        let l = relative_lift(&t, &c, 0.0, 0.0, 0.95);
        assert!((l.estimate - (10.0 / 9.0 - 1.0)).abs() < 1e-12);
        let (va, vb) = (t.y_var() / 4.0, c.y_var() / 4.0);
        let se = (va / 81.0 + 100.0 * vb / 9.0f64.powi(4)).sqrt();
        assert!((l.se - se).abs() < 1e-12);
        let zero = moments(&[(0.0, 0.0), (0.0, 0.0)]);
        assert!(relative_lift(&t, &zero, 0.0, 0.0, 0.95).estimate.is_nan());
    }
}
