//! Detection of effect heterogeneity without any breakdown: the variance-ratio test.
//!
//! If the effect is a constant additive shift, the outcome distributions of the two arms differ
//! by a location shift only, so their variances are equal; effect variation that is not
//! perfectly negatively correlated with the baseline outcome changes the treated variance
//! (Ding, Feller & Miratrix 2016, section 2; 2019). The test statistic is the log ratio of the
//! sample variances, whose large-sample variance is `(κ − 1)(1/n_t + 1/n_c)` for a distribution
//! of kurtosis `κ` (Box 1953: the normal-theory F test is not robust to non-normal kurtosis, this
//! standard error is). Under the null the two arms share the same shape, so `κ` is estimated
//! from the pooled within-arm fourth and second moments.
//!
//! For a binary metric the variance `p(1 − p)` is a function of the mean, so the test only
//! restates the ATE: it is reported as uninformative instead.

use crate::dist::normal_two_sided_p;
use serde::{Deserialize, Serialize};

/// Second and fourth central moment sums and count of (residual) outcomes in one arm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArmSpread {
    /// Number of observations in the arm.
    pub n: f64,
    /// `Σ (r − r̄)²`
    pub m2: f64,
    /// `Σ (r − r̄)⁴`
    pub m4: f64,
}

/// Result of the variance-ratio test of one arm against control.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VarianceRatioTest {
    /// `s²_t / s²_c`
    pub ratio: f64,
    /// `ln(s²_t / s²_c)`
    pub log_ratio: f64,
    /// Standard error of the log ratio, `√((κ − 1)(1/n_t + 1/n_c))`.
    pub se: f64,
    /// Pooled kurtosis used in the standard error.
    pub kurtosis: f64,
    /// `log_ratio / se`.
    pub z: f64,
    /// Two-sided normal p-value of `z`.
    pub p_value: f64,
}

/// Variance-ratio test of `treated` against `control`. `None` when a variance is zero or an
/// arm has fewer than four observations.
pub fn variance_ratio_test(treated: ArmSpread, control: ArmSpread) -> Option<VarianceRatioTest> {
    if treated.n < 4.0 || control.n < 4.0 || treated.m2 <= 0.0 || control.m2 <= 0.0 {
        return None;
    }
    let vt = treated.m2 / (treated.n - 1.0);
    let vc = control.m2 / (control.n - 1.0);
    let n = treated.n + control.n;
    let pooled_var = (treated.m2 + control.m2) / n;
    let kurtosis = (treated.m4 + control.m4) / n / (pooled_var * pooled_var);
    let se = ((kurtosis - 1.0).max(0.0) * (1.0 / treated.n + 1.0 / control.n)).sqrt();
    let log_ratio = (vt / vc).ln();
    let z = log_ratio / se;
    Some(VarianceRatioTest { ratio: vt / vc, log_ratio, se, kurtosis, z, p_value: normal_two_sided_p(z) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(v: &[f64]) -> ArmSpread {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        ArmSpread { n, m2: v.iter().map(|x| (x - m).powi(2)).sum(), m4: v.iter().map(|x| (x - m).powi(4)).sum() }
    }

    #[test]
    fn equal_spread_gives_ratio_one_and_closed_form_se() {
        let a: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 3.0).collect();
        let t = variance_ratio_test(spread(&b), spread(&a)).unwrap();
        assert!((t.ratio - 1.0).abs() < 1e-12);
        assert!(t.p_value > 0.999);
        // Uniform on 0..9: kurtosis = E(x-4.5)^4 / var^2 = 1.7758...
        let var = 8.25f64;
        let m4 = (0..10).map(|i| (i as f64 - 4.5).powi(4)).sum::<f64>() / 10.0;
        assert!((t.kurtosis - m4 / (var * var)).abs() < 1e-12);
        assert!((t.se - ((m4 / (var * var) - 1.0) * 0.02).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn doubled_spread_is_detected() {
        let a: Vec<f64> = (0..400).map(|i| ((i * 7) % 13) as f64).collect();
        let b: Vec<f64> = a.iter().map(|x| 2.0 * x).collect();
        let t = variance_ratio_test(spread(&b), spread(&a)).unwrap();
        assert!((t.ratio - 4.0).abs() < 1e-12);
        assert!(t.p_value < 1e-6);
        assert!(variance_ratio_test(spread(&[1.0, 1.0, 1.0, 1.0]), spread(&a)).is_none());
    }
}
