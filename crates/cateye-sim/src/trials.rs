//! Data with known effects: the four designs of Nie & Wager (2021, §6) and simple randomized
//! trials. `y = b(x) + (w − 0.5) τ(x) + σ ε`, as in the fixtures.

use cateye_stats::stream;
use rand::RngExt;
use rand_distr::StandardNormal;

/// Nie & Wager (2021) setups A–D.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// Confounded, propensity trimmed to [0.1, 0.9], τ = (x1 + x2)/2, `X ~ U[0, 1]^p`.
    A,
    /// Randomized (e = 0.5), τ = x1 + log(1 + e^{x2}), X ~ N(0, I).
    B,
    /// Strong confounding, constant τ = 1, X ~ N(0, I).
    C,
    /// Unrelated treatment and control arms, τ = max(0, x1+x2+x3) − max(0, x4+x5), X ~ N(0, I).
    D,
}

/// Simulated rows: covariates by column, treatment, outcome, true effect and propensity.
#[derive(Clone, Debug)]
pub struct Simulated {
    /// Covariates, one vector of `n` values per column `x1 … xp`.
    pub x: Vec<Vec<f64>>,
    /// Treatment indicator `w ∈ {0, 1}` per row.
    pub w: Vec<f64>,
    /// Outcome `y = b(x) + (w − 0.5) τ(x) + σ ε` per row.
    pub y: Vec<f64>,
    /// True conditional effect `τ(x)` per row.
    pub tau: Vec<f64>,
    /// True propensity `e(x) = P(w = 1 | x)` per row.
    pub e: Vec<f64>,
}

impl Simulated {
    /// The covariate columns as slices.
    pub fn columns(&self) -> Vec<&[f64]> {
        self.x.iter().map(Vec::as_slice).collect()
    }
    /// Covariate names `x1 … xp`.
    pub fn names(&self) -> Vec<String> {
        (1..=self.x.len()).map(|j| format!("x{j}")).collect()
    }
    /// Sample average treatment effect, the mean of `tau` over the rows.
    pub fn true_ate(&self) -> f64 {
        self.tau.iter().sum::<f64>() / self.tau.len() as f64
    }
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `n` rows of setup `setup` with `p ≥ 5` covariates and noise SD `sigma`.
pub fn nie_wager(setup: Setup, n: usize, p: usize, sigma: f64, seed: u64) -> Simulated {
    assert!(p >= 5, "the Nie & Wager designs use 5 covariates");
    simulate(n, p, seed, setup == Setup::A, |x| match setup {
        Setup::A => {
            let s = (std::f64::consts::PI * x[0] * x[1]).sin();
            let b = s + 2.0 * (x[2] - 0.5).powi(2) + x[3] + 0.5 * x[4];
            (b, s.clamp(0.1, 0.9), (x[0] + x[1]) / 2.0, sigma)
        }
        Setup::B => {
            let b = (x[0] + x[1]).max(x[2]).max(0.0) + (x[3] + x[4]).max(0.0);
            (b, 0.5, x[0] + softplus(x[1]), sigma)
        }
        Setup::C => (2.0 * softplus(x[0] + x[1] + x[2]), 1.0 / (1.0 + (x[1] + x[2]).exp()), 1.0, sigma),
        Setup::D => {
            let (u, v) = ((x[0] + x[1] + x[2]).max(0.0), (x[3] + x[4]).max(0.0));
            (0.5 * (u + v), 1.0 / (1.0 + (-x[0]).exp() + (-x[1]).exp()), u - v, sigma)
        }
    })
}

/// A randomized trial (e = 0.5) with `X ~ U[0, 1]^p`, baseline `x2 + x3`, effect
/// `ate + slope · (x1 − 0.5)` and noise SD `sigma`.
pub fn randomized_trial(n: usize, p: usize, ate: f64, slope: f64, sigma: f64, seed: u64) -> Simulated {
    simulate(n, p, seed, true, |x| {
        let b = x.get(1).copied().unwrap_or(0.0) + x.get(2).copied().unwrap_or(0.0);
        (b, 0.5, ate + slope * (x[0] - 0.5), sigma)
    })
}

/// Draws X (uniform or standard normal), then `(b, e, τ, σ)` per row, W ~ Bernoulli(e), and Y.
fn simulate(n: usize, p: usize, seed: u64, uniform: bool, model: impl Fn(&[f64]) -> (f64, f64, f64, f64)) -> Simulated {
    let mut rng = stream(seed, 0x51u64, 0);
    let mut x = vec![Vec::with_capacity(n); p];
    let (mut w, mut y, mut tau, mut e) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut row = vec![0.0; p];
    for _ in 0..n {
        for (j, v) in row.iter_mut().enumerate() {
            *v = if uniform { rng.random::<f64>() } else { rng.sample(StandardNormal) };
            x[j].push(*v);
        }
        let (b, propensity, effect, sigma) = model(&row);
        let treated = (rng.random::<f64>() < propensity) as u8 as f64;
        let noise: f64 = rng.sample(StandardNormal);
        w.push(treated);
        y.push(b + (treated - 0.5) * effect + sigma * noise);
        tau.push(effect);
        e.push(propensity);
    }
    Simulated { x, w, y, tau, e }
}
