//! Annealed importance sampling (AIS) estimate of an RBM's log partition function, as in
//! Salakhutdinov & Murray 2008, "On the quantitative analysis of deep belief networks".
//!
//! The base model A has no weights, visible biases b_A fitted to the data's pixel marginals
//! ([`base_rate_visible_bias`]) and H hidden units with zero biases, so log Z_A = H ln 2 +
//! Σ_i softplus(b_A,i). The intermediate distributions, for inverse temperatures
//! 0 = β_0 < β_1 < … < β_K = 1, are
//!
//!   p*_β(v) = exp((1−β) b_A·v) · exp(β b_v·v) · Π_j (1 + exp(β (b_h,j + vᵀW_j))),
//!
//! (A's hidden units contribute the constant 2^H), which is the base model at β = 0 and the target
//! RBM, exp(−F(v)), at β = 1. Each run starts from an exact sample of A, adds
//! ln p*_k(v) − ln p*_{k−1}(v) to its log weight at each β_k and then makes one Gibbs step v → h → v
//! that leaves p_k invariant: h ~ σ(β (vW + b_h)), v ~ σ((1−β) b_A + β (hWᵀ + b_v)). Then
//! Z_B / Z_A ≈ mean(w).
//!
//! The M runs are one batch (M x V): each β costs two matrix products, with β applied to the
//! pre-activations rather than to W. With several threads the runs are split into one block per
//! thread and each block runs its own chain (as `CdWorkspace` does); every run draws from its own
//! random stream, so a seed gives the same result on any number of threads.
//!
//! The parts: this file holds the estimator and the base-rate model; `anneal.rs` the annealing loop
//! (shared with [`super::raise`]); `kernels.rs` its vectorised inner loops; `schedule.rs` the β
//! schedules.

mod anneal;
mod kernels;
mod schedule;
#[cfg(test)]
mod tests;

use std::time::Duration;

use super::eval::{EvalError, log_sum_exp};
use super::linalg::Threads;
use super::rbm::{Rbm, softplus};

pub(super) use anneal::{Annealing, Start, anneal};
pub use schedule::BetaSchedule;

/// How to run AIS.
#[derive(Clone, Debug, PartialEq)]
pub struct AisConfig {
    /// Independent annealing runs M (the paper: 100).
    pub runs: usize,
    pub schedule: BetaSchedule,
    /// Seeds the runs' random streams (one xoshiro256++ stream per run).
    pub seed: u64,
    /// Threads to split the runs over (a [`MathPool`](super::pool::MathPool) of this size is built for the call).
    pub threads: Threads,
}

impl AisConfig {
    pub const PAPER_RUNS: usize = 100;

    /// The paper's settings: 100 runs, [`BetaSchedule::salakhutdinov_murray`].
    pub fn paper(seed: u64, threads: Threads) -> Self {
        Self { runs: Self::PAPER_RUNS, schedule: BetaSchedule::salakhutdinov_murray(), seed, threads }
    }

    /// `runs` runs over `n_betas` equally spaced betas.
    ///
    /// # Errors
    /// [`EvalError::Schedule`] when `n_betas < 2`.
    pub fn uniform(n_betas: usize, runs: usize, seed: u64, threads: Threads) -> Result<Self, EvalError> {
        Ok(Self { runs, schedule: BetaSchedule::uniform(n_betas)?, seed, threads })
    }
}

impl Default for AisConfig {
    fn default() -> Self {
        Self::paper(0, Threads(1))
    }
}

/// An AIS estimate of log Z.
#[derive(Clone, Debug, PartialEq)]
pub struct AisResult {
    /// log Z_A + log mean(w).
    pub log_z: f64,
    /// log Z_A + log(mean(w) − 3σ/√M), with σ the sample standard deviation (M − 1) of the weights;
    /// −inf when mean(w) − 3σ/√M ≤ 0 or M = 1.
    pub log_z_low: f64,
    /// log Z_A + log(mean(w) + 3σ/√M); +inf when M = 1.
    pub log_z_high: f64,
    /// log Z of the base-rate model.
    pub log_z_base: f64,
    pub runs: usize,
    /// Number of betas in the schedule.
    pub betas: usize,
    /// Each run's log importance weight, in run order.
    pub log_weights: Vec<f64>,
}

/// About how much work [`ais_log_z`] does between two looks at its `progress` callback (which
/// can cancel it): short enough that a cancelled evaluation stops without a noticeable wait.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(20);

/// The clamp of [`base_rate_visible_bias`].
pub const BASE_RATE_CLAMP: f64 = 1e-3;

/// Visible biases of the base-rate model: b_A,i = logit(p_i), p_i = the data's pixel marginal
/// clamped to [1e-3, 1 − 1e-3] (as `Initialisation::Hinton` does), so that always-off border pixels
/// get a bias near −6.9 rather than −∞. `pixel_means` are data means in [0, 1] (of binarised data or
/// of intensities / 255, which have the same expectation).
///
/// Salakhutdinov's `base_rate` code smooths instead, p = (count + 5 per 100-image batch) / (N + 5 per
/// batch) = (m + 0.05) / 1.05, which puts every always-off pixel at p ≈ 0.048. On 784x16 MNIST models
/// that base is further from the target and gave ±3σ intervals about 1.5–5 times wider than the
/// clamp (which, between 1e-4 and 1e-2, made no measurable difference), so the clamp is used here.
pub fn base_rate_visible_bias(pixel_means: &[f32]) -> Vec<f32> {
    pixel_means
        .iter()
        .map(|&m| {
            let p = (m as f64).clamp(BASE_RATE_CLAMP, 1.0 - BASE_RATE_CLAMP);
            (p / (1.0 - p)).ln() as f32
        })
        .collect()
}

/// log Z_A of the base-rate model with `n_hidden` zero-bias hidden units: H ln 2 + Σ softplus(b_A,i).
pub fn base_log_z(base_visible_bias: &[f32], n_hidden: usize) -> f64 {
    n_hidden as f64 * std::f64::consts::LN_2 + base_visible_bias.iter().map(|&b| softplus(b as f64)).sum::<f64>()
}

/// log Z_A + log mean(w) and the ±3σ interval, computed in log space (weights scaled by the largest).
/// Returns (log_z, low, high).
pub fn ais_summary(log_weights: &[f64], log_z_base: f64) -> (f64, f64, f64) {
    let m = log_weights.len();
    if m == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let log_mean = log_sum_exp(log_weights) - (m as f64).ln();
    let log_z = log_z_base + log_mean;
    let top = log_weights.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m < 2 || !top.is_finite() {
        return (log_z, f64::NEG_INFINITY, f64::INFINITY);
    }
    let scaled: Vec<f64> = log_weights.iter().map(|&l| (l - top).exp()).collect();
    let mean = scaled.iter().sum::<f64>() / m as f64;
    let variance = scaled.iter().map(|&w| (w - mean) * (w - mean)).sum::<f64>() / (m - 1) as f64;
    let half_width = 3.0 * variance.sqrt() / (m as f64).sqrt();
    let high = log_z_base + top + (mean + half_width).ln();
    let low = if mean - half_width > 0.0 { log_z_base + top + (mean - half_width).ln() } else { f64::NEG_INFINITY };
    (log_z, low, high)
}

/// AIS estimate of log Z of `rbm` from the base-rate model with visible biases `base_visible_bias`
/// (see [`base_rate_visible_bias`]).
///
/// `progress` is called with the fraction of β steps done, on the calling thread, after every
/// chunk of steps (at most 1% of them, and about [`CHECK_INTERVAL`] of work, at least one step);
/// returning false stops the runs and gives [`EvalError::Cancelled`] (returning false at the final
/// call, fraction 1.0, has no effect).
///
/// Cost: 2·M·K products of M x V by V x H (K = steps), plus M·K·(V + H) sigmoids and uniform draws.
///
/// # Errors
/// [`EvalError::NoRuns`] for `config.runs == 0`, [`EvalError::Shape`] / [`EvalError::NotFinite`] for
/// a base bias of the wrong length or with a non-finite value, [`EvalError::NotFinite`] for a model
/// with NaN or infinite parameters, [`EvalError::Cancelled`].
pub fn ais_log_z(
    rbm: &Rbm,
    base_visible_bias: &[f32],
    config: &AisConfig,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<AisResult, EvalError> {
    if config.runs == 0 {
        return Err(EvalError::NoRuns);
    }
    let model = Annealing::new(rbm, base_visible_bias)?;
    let betas = config.schedule.betas();
    let runs = config.runs;
    let log_weights = anneal(&model, Start::Base, runs, betas, config.seed, config.threads, progress)?;
    let log_z_base = base_log_z(base_visible_bias, rbm.n_hidden());
    let (log_z, log_z_low, log_z_high) = ais_summary(&log_weights, log_z_base);
    Ok(AisResult { log_z, log_z_low, log_z_high, log_z_base, runs, betas: betas.len(), log_weights })
}
