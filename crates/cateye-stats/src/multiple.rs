//! Multiple-testing adjustments across a family of p-values.
//!
//! * Benjamini & Hochberg (1995): false discovery rate under independence or positive dependence.
//! * Benjamini & Yekutieli (2001): false discovery rate under arbitrary dependence (BH times
//!   the harmonic number `c(m) = Σ_{k≤m} 1/k`).
//! * Holm (1979) and Bonferroni: family-wise error rate.
//! * Yekutieli (2008): false discovery rate over a tree of tests, by
//!   [`hierarchical_adjust`](crate::hierarchical_adjust); [`adjust`] sees one flat family, for
//!   which it is BH.
//!
//! Adjusted p-values ("q-values" for the FDR methods) follow the definitions of R's
//! `p.adjust`, so that `q ≤ α` is exactly the set the step-up or step-down procedure rejects at
//! level `α`. NaN p-values (tests that could not be computed) are left out of the family: they
//! do not count in `m` and get a NaN adjusted value.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A multiple-testing correction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// Benjamini–Hochberg step-up (FDR).
    #[default]
    Bh,
    /// Benjamini–Yekutieli step-up (FDR under arbitrary dependence).
    By,
    /// Holm step-down (FWER).
    Holm,
    /// Bonferroni (FWER).
    Bonferroni,
    /// Yekutieli (2008) hierarchical BH where the tests have a hierarchy (the scan's dimension
    /// tests: experiment → metric × arm → dimension), by [`hierarchical_adjust`](crate::hierarchical_adjust);
    /// BH elsewhere.
    Hierarchical,
}

impl fmt::Display for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Correction::Bh => "bh",
            Correction::By => "by",
            Correction::Holm => "holm",
            Correction::Bonferroni => "bonferroni",
            Correction::Hierarchical => "hierarchical",
        })
    }
}

impl FromStr for Correction {
    type Err = crate::UnknownChoice;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bh" | "fdr" | "benjamini-hochberg" => Ok(Correction::Bh),
            "by" | "benjamini-yekutieli" => Ok(Correction::By),
            "holm" => Ok(Correction::Holm),
            "bonferroni" => Ok(Correction::Bonferroni),
            "hierarchical" | "tree" | "yekutieli" => Ok(Correction::Hierarchical),
            _ => Err(crate::UnknownChoice::new(
                "multiple-testing correction",
                s,
                "bh, by, hierarchical, holm or bonferroni",
            )),
        }
    }
}

/// The per-test level of a Bonferroni correction: `alpha / tests` (a test at this level for each
/// of `tests` tests keeps the family-wise error rate at `alpha`).
pub fn bonferroni_level(alpha: f64, tests: usize) -> f64 {
    alpha / tests.max(1) as f64
}

/// Adjusted p-values of `p` under `method`, in the order of `p`.
///
/// `p` is one flat family. [`Correction::Hierarchical`] gives BH here: a family without a tree
/// is the one-level tree (root → tests), whose hierarchical procedure is BH itself, with no
/// inflation factor (see [`hierarchical_adjust`](crate::hierarchical_adjust)).
pub fn adjust(p: &[f64], method: Correction) -> Vec<f64> {
    let mut out = vec![f64::NAN; p.len()];
    // Indices of the valid p-values, sorted ascending by p (ties by index: deterministic).
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let m = idx.len();
    if m == 0 {
        return out;
    }
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mf = m as f64;
    match method {
        Correction::Bh | Correction::By | Correction::Hierarchical => {
            let c = if method == Correction::By { (1..=m).map(|k| 1.0 / k as f64).sum::<f64>() } else { 1.0 };
            // Step-up: q_(i) = min_{j ≥ i} c m p_(j) / j, computed from the largest p down.
            let mut running = f64::INFINITY;
            for (rank0, &i) in idx.iter().enumerate().rev() {
                let q = c * mf * p[i] / (rank0 + 1) as f64;
                running = running.min(q);
                out[i] = running.min(1.0);
            }
        }
        Correction::Holm => {
            // Step-down: q_(i) = max_{j ≤ i} (m − j + 1) p_(j).
            let mut running: f64 = 0.0;
            for (rank0, &i) in idx.iter().enumerate() {
                running = running.max((mf - rank0 as f64) * p[i]);
                out[i] = running.min(1.0);
            }
        }
        Correction::Bonferroni => {
            for &i in &idx {
                out[i] = (mf * p[i]).min(1.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// p-values of Benjamini & Hochberg (1995), section 4.
    const BH95: [f64; 15] = [
        0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590,
        1.0000,
    ];

    fn close(a: &[f64], b: &[f64]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn bh_rejects_what_the_paper_rejects() {
        // The paper's step-up procedure at 0.05 rejects the four smallest.
        let q = adjust(&BH95, Correction::Bh);
        assert_eq!(q.iter().filter(|&&v| v <= 0.05).count(), 4);
    }

    #[test]
    fn reference_values_of_r_p_adjust() {
        // R 4.x: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), method = ...)
        let p = [0.01, 0.02, 0.03, 0.04, 0.05];
        close(&adjust(&p, Correction::Bh), &[0.05; 5]);
        let c = 1.0 + 0.5 + 1.0 / 3.0 + 0.25 + 0.2;
        close(&adjust(&p, Correction::By), &[0.05 * c; 5]);
        close(&adjust(&p, Correction::Holm), &[0.05, 0.08, 0.09, 0.09, 0.09]);
        close(&adjust(&p, Correction::Bonferroni), &[0.05, 0.1, 0.15, 0.2, 0.25]);
        // Unsorted input with ties: p.adjust(c(0.04, 0.001, 0.04, 0.5), "BH") = 0.05333 0.004 0.05333 0.5
        close(&adjust(&[0.04, 0.001, 0.04, 0.5], Correction::Bh), &[0.04 * 4.0 / 3.0, 0.004, 0.04 * 4.0 / 3.0, 0.5]);
    }

    #[test]
    fn hierarchical_is_bh_on_a_flat_family_and_parses_its_aliases() {
        let p = [0.04, 0.001, f64::NAN, 0.04, 0.5];
        let (h, bh) = (adjust(&p, Correction::Hierarchical), adjust(&p, Correction::Bh));
        assert!(h.iter().zip(&bh).all(|(a, b)| a.to_bits() == b.to_bits()));
        for word in ["hierarchical", "Tree", "YEKUTIELI"] {
            assert_eq!(word.parse::<Correction>(), Ok(Correction::Hierarchical));
        }
        assert_eq!(Correction::Hierarchical.to_string(), "hierarchical");
        let e = "fisher".parse::<Correction>().unwrap_err();
        assert_eq!(e.expected, "bh, by, hierarchical, holm or bonferroni");
    }

    #[test]
    fn nan_is_left_out_of_the_family() {
        let q = adjust(&[0.01, f64::NAN, 0.04], Correction::Bonferroni);
        assert!((q[0] - 0.02).abs() < 1e-15 && q[1].is_nan() && (q[2] - 0.08).abs() < 1e-15);
        assert!(adjust(&[], Correction::Bh).is_empty());
    }

    #[test]
    fn adjusted_values_are_monotone_in_p_and_at_least_p() {
        let p: Vec<f64> = (0..200).map(|i| ((i * 7919) % 1000) as f64 / 1000.0 + 1e-4).collect();
        for method in [Correction::Bh, Correction::By, Correction::Holm, Correction::Bonferroni] {
            let q = adjust(&p, method);
            for i in 0..p.len() {
                assert!(q[i] >= p[i] - 1e-15 && q[i] <= 1.0);
                for j in 0..p.len() {
                    if p[i] < p[j] {
                        assert!(q[i] <= q[j] + 1e-15);
                    }
                }
            }
        }
    }
}
