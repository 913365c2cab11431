//! Sample ratio mismatch: Pearson's chi-square goodness-of-fit test of the observed variant
//! counts against the planned allocation (Fabijan et al. 2019, "Diagnosing Sample Ratio
//! Mismatch in Online Controlled Experiments").

use crate::dist::chi2_sf;
use serde::{Deserialize, Serialize};

/// Result of the SRM test of one experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SrmTest {
    /// Pearson's statistic `Σ (O − E)² / E` over the arms.
    pub chi2: f64,
    /// Degrees of freedom, the number of arms minus one.
    pub df: f64,
    /// Upper χ² tail of `chi2` on `df` degrees of freedom.
    pub p_value: f64,
    /// Expected count of each arm under the planned split.
    pub expected: Vec<f64>,
}

/// Chi-square test of `counts` against the planned `weights` (any positive scale; normalised
/// here). Returns `None` when there are fewer than two arms, no units, or the weights are not
/// positive and finite.
pub fn srm_test(counts: &[f64], weights: &[f64]) -> Option<SrmTest> {
    if counts.len() < 2 || counts.len() != weights.len() {
        return None;
    }
    let total: f64 = counts.iter().sum();
    let wsum: f64 = weights.iter().sum();
    if total <= 0.0 || weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return None;
    }
    let expected: Vec<f64> = weights.iter().map(|w| total * w / wsum).collect();
    let chi2 = counts.iter().zip(&expected).map(|(o, e)| (o - e).powi(2) / e).sum::<f64>();
    let df = (counts.len() - 1) as f64;
    Some(SrmTest { chi2, df, p_value: chi2_sf(chi2, df), expected })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_and_unbalanced() {
        let t = srm_test(&[5000.0, 5000.0], &[1.0, 1.0]).unwrap();
        assert_eq!(t.chi2, 0.0);
        assert_eq!(t.p_value, 1.0);
        // 5100 vs 4900: chi2 = 2 * 100² / 5000 = 4; R: pchisq(4, 1, lower = FALSE) = 0.04550026
        let t = srm_test(&[5100.0, 4900.0], &[0.5, 0.5]).unwrap();
        assert!((t.chi2 - 4.0).abs() < 1e-12);
        assert!((t.p_value - 0.04550026389635842).abs() < 1e-10);
        // Planned 20/80 split observed exactly: no mismatch.
        let t = srm_test(&[200.0, 800.0], &[20.0, 80.0]).unwrap();
        assert!(t.chi2.abs() < 1e-12);
        assert!(srm_test(&[10.0], &[1.0]).is_none());
        assert!(srm_test(&[10.0, 10.0], &[1.0, 0.0]).is_none());
    }
}
