//! Distribution functions used by the tests, on top of `statrs`, with the guards experiments
//! with millions of units need.
//!
//! `statrs`' Student-t `inverse_cdf` is inaccurate at very large degrees of freedom (at
//! df = 1e7 its 0.975 quantile is 1.83 instead of 1.96), while its CDFs are accurate. Quantiles
//! are therefore computed from the normal quantile by the Cornish–Fisher expansion beyond
//! [`T_ASYMPTOTIC_DF`] degrees of freedom, and polished by Newton steps on the (accurate) CDF
//! below it.

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, FisherSnedecor, Normal, StudentsT};

/// The 0.975 quantile of the standard normal: a 95% normal interval is the estimate ± `Z_975`
/// standard errors.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// Degrees of freedom beyond which Student-t quantiles use the Cornish–Fisher expansion.
pub const T_ASYMPTOTIC_DF: f64 = 1e4;

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal parameters are valid")
}

/// Upper-tail probability `P(Z > z)` of the standard normal.
pub fn normal_sf(z: f64) -> f64 {
    std_normal().sf(z)
}

/// Two-sided p-value `P(|Z| > |z|)` of the standard normal.
pub fn normal_two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    (2.0 * std_normal().sf(z.abs())).min(1.0)
}

/// Quantile of the standard normal.
pub fn normal_quantile(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// Two-sided p-value `P(|T| > |t|)` of Student's t with `df` degrees of freedom
/// (normal when `df` is infinite).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if df.is_infinite() {
        return normal_two_sided_p(t);
    }
    let dist = StudentsT::new(0.0, 1.0, df).expect("df > 0");
    (2.0 * dist.sf(t.abs())).min(1.0)
}

/// Quantile of Student's t with `df` degrees of freedom.
///
/// Beyond [`T_ASYMPTOTIC_DF`] the Cornish–Fisher expansion in `1/df` (Abramowitz & Stegun
/// 26.7.5, three terms, error below 1e-12 there); below it `statrs`' inverse polished with
/// Newton steps on the CDF.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    let z = normal_quantile(p);
    if df.is_infinite() || df >= T_ASYMPTOTIC_DF {
        if df.is_infinite() {
            return z;
        }
        let (z2, z3) = (z * z, z * z * z);
        let (z5, z7) = (z3 * z2, z3 * z2 * z2);
        let g1 = (z3 + z) / 4.0;
        let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
        let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
        return z + g1 / df + g2 / (df * df) + g3 / (df * df * df);
    }
    let dist = StudentsT::new(0.0, 1.0, df).expect("df > 0");
    let mut t = dist.inverse_cdf(p);
    if !t.is_finite() {
        t = z;
    }
    for _ in 0..4 {
        let f = dist.pdf(t);
        if f <= 0.0 {
            break;
        }
        let step = (dist.cdf(t) - p) / f;
        t -= step;
        if step.abs() < 1e-14 * t.abs().max(1.0) {
            break;
        }
    }
    t
}

/// Upper-tail probability `P(X > x)` of the chi-square distribution with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    ChiSquared::new(df).expect("df > 0").sf(x)
}

/// Upper-tail probability `P(X > x)` of Fisher's F with `d1` and `d2` degrees of freedom
/// (`d1 · F` is χ² with `d1` df when `d2` is infinite).
pub fn f_sf(x: f64, d1: f64, d2: f64) -> f64 {
    if x.is_nan() || d1.is_nan() || d2.is_nan() || d1 <= 0.0 || d2 <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if d2.is_infinite() {
        return chi2_sf(x * d1, d1);
    }
    FisherSnedecor::new(d1, d2).expect("df > 0").sf(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_tails_match_r() {
        // P(F(4, 20) > 3) = 0.0432009983342 (the density integrated numerically to 1e-13).
        assert!((f_sf(3.0, 4.0, 20.0) - 0.043_200_998_334_2).abs() < 1e-11);
        // F(1, d2) is t² with d2 df.
        assert!((f_sf(2.5, 1.0, 7.5) - t_two_sided_p(2.5f64.sqrt(), 7.5)).abs() < 1e-12);
        assert_eq!(f_sf(3.0, 4.0, f64::INFINITY), chi2_sf(12.0, 4.0));
        assert_eq!(f_sf(-1.0, 4.0, 20.0), 1.0);
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Reference values: standard t tables (R: qt(0.975, df)).
        let cases = [
            (1.0, 12.706204736174698),
            (10.0, 2.2281388519649385),
            (30.0, 2.0422724563012373),
            (1000.0, 1.9623390808264078),
            (1e5, 1.9599877075346095),
            (1e7, 1.959964221767205),
        ];
        for (df, want) in cases {
            let got = t_quantile(0.975, df);
            assert!((got - want).abs() < 1e-8, "df {df}: got {got}, want {want}");
        }
        assert!((t_quantile(0.975, f64::INFINITY) - 1.959963984540054).abs() < 1e-12);
    }

    #[test]
    fn t_quantile_is_continuous_at_the_switch() {
        let below = t_quantile(0.975, T_ASYMPTOTIC_DF * (1.0 - 1e-9));
        let above = t_quantile(0.975, T_ASYMPTOTIC_DF);
        assert!((below - above).abs() < 1e-10);
    }

    #[test]
    fn p_values() {
        let p = normal_two_sided_p(1.959963984540054);
        // statrs evaluates erfc to about 1e-10 relative.
        assert!((p - 0.05).abs() < 1e-10, "{p}");
        let p = t_two_sided_p(2.2281388519649385, 10.0);
        assert!((p - 0.05).abs() < 1e-9, "{p}");
        // R: pchisq(7.814727903251178, 3, lower.tail = FALSE) = 0.05
        assert!((chi2_sf(7.814727903251178, 3.0) - 0.05).abs() < 1e-10);
        assert_eq!(chi2_sf(0.0, 2.0), 1.0);
        assert!(normal_two_sided_p(40.0) >= 0.0);
    }
}
