//! Best linear projection of the effect on chosen covariates (Semenova & Chernozhukov 2021;
//! grf's `best_linear_projection`): OLS of the doubly robust scores on an intercept and the
//! covariates, with HC3 (or cluster-robust) standard errors. A covariate with missing values
//! (NaN) enters with its missing values set to the mean of its present ones, beside an indicator
//! term `<name> (missing)`: the projection on the observed information (Josse et al. 2019).

use crate::fit::CateFit;
use crate::ols::{weighted_ols, Coefficient};
use crate::scores::doubly_robust_scores;
use crate::vcov_of;
use crate::Result;
use cateye_stats::check_finite;

/// Coefficients: the intercept first, then one per covariate `(name, values)`, each followed
/// by `<name> (missing)` when it has missing values. Infinite values are an error naming the
/// covariate and row.
pub fn best_linear_projection(fit: &CateFit<'_>, covariates: &[(&str, &[f64])]) -> Result<Vec<Coefficient>> {
    let n = fit.y.len();
    let mut imputed: Vec<(String, Vec<f64>)> = Vec::new();
    for (name, values) in covariates {
        let missing = values.iter().filter(|v| v.is_nan()).count();
        if missing == 0 {
            check_finite(name, values, n)?;
            continue;
        }
        if values.len() != n {
            check_finite(name, values, n)?;
        }
        if missing == n {
            return Err(cateye_stats::column_error(*name, "has no value present: every row is missing"));
        }
        if let Some(row) = values.iter().position(|v| v.is_infinite()) {
            let message = format!("row {} (1-based) is {}: infinite values are not allowed", row + 1, values[row]);
            return Err(cateye_stats::column_error(*name, message));
        }
        let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
        imputed.push((name.to_string(), values.iter().map(|&v| if v.is_nan() { mean } else { v }).collect()));
        imputed.push((format!("{name} (missing)"), values.iter().map(|v| f64::from(u8::from(v.is_nan()))).collect()));
    }
    let scores = doubly_robust_scores(fit)?.scores;
    let one = vec![1.0; n];
    let mut terms: Vec<(&str, &[f64])> = vec![("(intercept)", &one)];
    for (name, values) in covariates {
        match imputed.iter().position(|(n, _)| n == name) {
            Some(k) => terms.extend(imputed[k..k + 2].iter().map(|(n, v)| (n.as_str(), v.as_slice()))),
            None => terms.push((name, values)),
        }
    }
    weighted_ols(&terms, &scores, fit.weights, vcov_of(fit))
}

/// The best linear projection on the indicators of a categorical covariate's levels (all but
/// `reference`), in closed form: with a full set of level indicators the OLS of the doubly
/// robust scores is saturated, so the intercept is the reference level's mean score and each
/// coefficient a level's mean minus it; the HC3 leverage of a unit in level `l` is `1/n_l`, so the
/// variance of a level mean is `Σ_l e_i² / (1 − 1/n_l)² / n_l²` and levels are independent.
/// `O(n)`, where the general [`best_linear_projection`] would cost `O(n·L²)`. Without sample
/// weights and clusters only (the caller falls back to the general form otherwise); levels
/// without units are left out.
pub fn best_linear_projection_on_levels(
    fit: &CateFit<'_>,
    codes: &[u32],
    labels: &[String],
    reference: usize,
) -> Result<Vec<Coefficient>> {
    if fit.weights.is_some() || fit.clusters.is_some() {
        let (names, columns): (Vec<String>, Vec<Vec<f64>>) = (0..labels.len())
            .filter(|&l| l != reference)
            .map(|l| (labels[l].clone(), codes.iter().map(|&c| (c as usize == l) as u8 as f64).collect()))
            .unzip();
        let terms: Vec<(&str, &[f64])> =
            names.iter().map(|n| n.as_str()).zip(columns.iter().map(|c| c.as_slice())).collect();
        return best_linear_projection(fit, &terms);
    }
    let scores = doubly_robust_scores(fit)?.scores;
    let l = labels.len();
    let (mut count, mut sum) = (vec![0.0; l], vec![0.0; l]);
    for (&c, &g) in codes.iter().zip(&scores) {
        count[c as usize] += 1.0;
        sum[c as usize] += g;
    }
    let mean: Vec<f64> = sum.iter().zip(&count).map(|(s, n)| if *n > 0.0 { s / n } else { 0.0 }).collect();
    let mut squares = vec![0.0; l];
    for (&c, &g) in codes.iter().zip(&scores) {
        squares[c as usize] += (g - mean[c as usize]).powi(2);
    }
    // HC3 variance of each level mean; a level of one unit has leverage 1 and no variance estimate.
    let variance: Vec<f64> = (0..l)
        .map(|k| {
            let n = count[k];
            if n > 1.0 {
                squares[k] / (1.0 - 1.0 / n).powi(2) / (n * n)
            } else {
                f64::NAN
            }
        })
        .collect();
    if count[reference] == 0.0 {
        return Err(cateye_stats::InputError::Data(format!("reference level '{}' has no units", labels[reference])));
    }
    let present = count.iter().filter(|n| **n > 0.0).count();
    let df = (scores.len() - present) as f64;
    let coefficient = |term: &str, estimate: f64, variance: f64| {
        let se = variance.sqrt();
        let t = estimate / se;
        let p = cateye_stats::t_two_sided_p(t, df);
        let p_value_greater = if t > 0.0 { p / 2.0 } else { 1.0 - p / 2.0 };
        Coefficient { term: term.to_string(), estimate, se, t, p_value: p, p_value_greater }
    };
    let mut out = vec![coefficient("(intercept)", mean[reference], variance[reference])];
    for k in (0..l).filter(|&k| k != reference && count[k] > 0.0) {
        out.push(coefficient(&labels[k], mean[k] - mean[reference], variance[k] + variance[reference]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cateye_sim::randomized_trial;

    #[test]
    fn closed_form_on_levels_equals_the_general_projection() {
        // Any fit will do: the closed form and the general OLS are two computations of one thing.
        let sim = randomized_trial(600, 3, 0.5, 1.0, 1.0, 4);
        let y_hat: Vec<f64> = sim.x[1].iter().zip(&sim.x[2]).map(|(a, b)| a + b).collect();
        let w_hat = vec![0.5; 600];
        let tau: Vec<f64> = sim.x[0].iter().map(|x| 0.5 + x).collect();
        let fit = CateFit::new(&sim.y, &sim.w, &y_hat, &w_hat, &tau).unwrap();
        let codes: Vec<u32> = sim.x[0].iter().map(|&x| (x * 4.0).floor().min(3.0) as u32).collect();
        let labels: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let closed = best_linear_projection_on_levels(&fit, &codes, &labels, 2).unwrap();
        let columns: Vec<Vec<f64>> =
            [0, 1, 3].iter().map(|&l| codes.iter().map(|&c| (c == l) as u8 as f64).collect()).collect();
        let terms: Vec<(&str, &[f64])> = vec![("a", &columns[0]), ("b", &columns[1]), ("d", &columns[2])];
        let general = best_linear_projection(&fit, &terms).unwrap();
        assert_eq!(closed.len(), general.len());
        for (c, g) in closed.iter().zip(&general) {
            assert_eq!(c.term, g.term);
            assert!((c.estimate - g.estimate).abs() < 1e-9 * g.estimate.abs().max(1.0), "{c:?} {g:?}");
            assert!((c.se - g.se).abs() < 1e-9 * g.se, "{c:?} {g:?}");
            assert!((c.p_value - g.p_value).abs() < 1e-9, "{c:?} {g:?}");
        }
    }

    #[test]
    fn a_covariate_with_missing_values_is_mean_imputed_beside_an_indicator() {
        // Scores equal to 1 + 2·x where x is present and 5 where it is missing (y_hat = 0,
        // w_hat = 0.5, tau = the score: the DR score is then tau + (w − ½)(y − tau (w − ½))/¼,
        // so take y = tau·(w − ½) to make it exactly tau). The projection is exact: slope 2, and
        // the indicator carries 5 − (1 + 2·mean of the present x).
        let n = 400;
        let x: Vec<f64> = (0..n).map(|i| if i % 5 == 0 { f64::NAN } else { (i as f64 * 0.37).sin() }).collect();
        let tau: Vec<f64> = x.iter().map(|&v| if v.is_nan() { 5.0 } else { 1.0 + 2.0 * v }).collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let y: Vec<f64> = tau.iter().zip(&w).map(|(t, w)| t * (w - 0.5)).collect();
        let (y_hat, w_hat) = (vec![0.0; n], vec![0.5; n]);
        let fit = CateFit::new(&y, &w, &y_hat, &w_hat, &tau).unwrap();
        let blp = best_linear_projection(&fit, &[("x", &x)]).unwrap();
        let terms: Vec<&str> = blp.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, ["(intercept)", "x", "x (missing)"]);
        let present: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        assert!((blp[1].estimate - 2.0).abs() < 1e-9, "{blp:?}");
        assert!((blp[2].estimate - (5.0 - 1.0 - 2.0 * mean)).abs() < 1e-9, "{blp:?}");
        let infinite: Vec<f64> = x.iter().map(|&v| if v.is_nan() { f64::INFINITY } else { v }).collect();
        assert!(best_linear_projection(&fit, &[("x", &infinite)]).is_err());
    }
}
