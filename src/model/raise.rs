//! RAISE, reverse annealed importance sampling (Burda, Grosse & Salakhutdinov 2015, "Accurate and
//! conservative estimates of MRF log-likelihood using reverse annealing"): a stochastic *lower*
//! bound of each test image's log-likelihood, to set beside AIS's estimate (whose log Z tends to be
//! too low, so its log-likelihoods too high).
//!
//! It uses the distributions of [`super::ais`]: p*_β(v) = exp((1−β) b_A·v + β b_v·v) ·
//! Π_j (1 + exp(β a_j)) between the base-rate model A (β = 0, normalised by Z_A) and the RBM
//! (β = 1, p*_1(v) = exp(−F(v))), and its transitions T_β (one Gibbs step v → h → v at β, which is
//! reversible with respect to p_β). The *annealing model* p_ann(v) is where forward annealing
//! ends: x_0 ~ A, x_k ~ T_βk(·|x_k−1) for k = 1..K (β_K = 1), v = x_K. Run backwards from a test
//! image, x_K = v, x_k−1 ~ T_βk(·|x_k), the importance weight
//!
//!   w = p*_1(v) / Z_A · Π_{k=0}^{K−1} p*_βk(x_k) / p*_βk+1(x_k)
//!
//! has expectation p_ann(v) exactly (the reversals of the T_βk cancel their normalisers), so
//! ln mean(w) over R runs is a stochastic lower bound of ln p_ann(v) (Jensen). Burda et al. argue,
//! and observe, that p_ann is the worse model of the data when the RBM's chains mix poorly, so that
//! the bound is conservative for ln p(v) too; with a long schedule p_ann → p and the bound closes
//! on the exact value from below.
//!
//! Each step of a reverse run is an AIS step taken downwards, ln p*_βk(x) − ln p*_βk+1(x) added
//! before the Gibbs step at β_k: the runs are [`super::ais::anneal`] over the schedule reversed, with
//! one Gibbs step at β = 1 first (the schedule 1, 1, β_K−1, …, β_1, 0). The cost per run is AIS's.

use super::ais::{Annealing, BetaSchedule, Start, anneal, base_log_z};
use super::eval::{EvalError, free_energies, log_sum_exp};
use super::linalg::Threads;
use super::rbm::Rbm;

/// How to run RAISE.
#[derive(Clone, Debug, PartialEq)]
pub struct RaiseConfig {
    /// Reverse runs per image R (Burda et al.: 10 or more).
    pub runs: usize,
    /// The forward schedule 0 … 1 (run backwards).
    pub schedule: BetaSchedule,
    /// Seeds the runs' random streams (one xoshiro256++ stream per run).
    pub seed: u64,
    pub threads: Threads,
}

/// RAISE's lower bounds of the log-likelihood of some images.
#[derive(Clone, Debug, PartialEq)]
pub struct RaiseResult {
    /// ln mean(w) over each image's runs: its stochastic lower bound, in image order.
    pub log_likelihoods: Vec<f64>,
    /// Their mean: the bound of the average log-likelihood of the images.
    pub mean: f64,
    /// mean ∓ 3 s/√N, s the standard deviation of the per-image bounds over the N images (how much
    /// the average depends on which images were taken); equal to `mean` for one image.
    pub low: f64,
    pub high: f64,
    pub runs: usize,
    /// Number of betas of the forward schedule.
    pub betas: usize,
}

impl RaiseResult {
    pub fn images(&self) -> usize {
        self.log_likelihoods.len()
    }
}

/// RAISE bounds of the log-likelihood of each of the `rows` binary images `images` (rows x V) under
/// `rbm`, with the base-rate model of visible biases `base_visible_bias` at β = 0 (see
/// [`super::ais::base_rate_visible_bias`]). Runs image after image, `config.runs` of each, R·rows in
/// all, split over threads as AIS's runs are (the same numbers on any thread count).
///
/// `progress` is called with the fraction done, as by [`super::ais::ais_log_z`]; returning false
/// cancels with [`EvalError::Cancelled`].
///
/// # Errors
/// [`EvalError::NoRuns`], [`EvalError::NoImages`], [`EvalError::Shape`] when `images` is not rows x V,
/// [`EvalError::Limit`] for more runs than AIS may make, and [`super::ais::ais_log_z`]'s errors.
pub fn raise_log_likelihood(
    rbm: &Rbm,
    base_visible_bias: &[f32],
    images: &[f32],
    rows: usize,
    config: &RaiseConfig,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<RaiseResult, EvalError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    if config.runs == 0 {
        return Err(EvalError::NoRuns);
    }
    if rows == 0 {
        return Err(EvalError::NoImages);
    }
    if images.len() != rows.saturating_mul(nv) {
        return Err(EvalError::Shape { what: "the images", expected: rows.saturating_mul(nv), got: images.len() });
    }
    let chains = rows.saturating_mul(config.runs);
    crate::limits::check_ais(chains, config.schedule.len(), nv, nh)?;
    let model = Annealing::new(rbm, base_visible_bias)?;
    // Run r of image i is row i·R + r.
    let starts: Vec<f32> =
        images.chunks_exact(nv).flat_map(|image| (0..config.runs).flat_map(move |_| image)).copied().collect();
    let mut betas = Vec::with_capacity(config.schedule.len() + 1);
    betas.push(1.0);
    betas.extend(config.schedule.betas().iter().rev());
    let log_weights = anneal(&model, Start::Rows(&starts), chains, &betas, config.seed, config.threads, progress)?;

    let free_energy = free_energies(rbm, images, rows, config.threads);
    let log_z_base = base_log_z(base_visible_bias, nh);
    let log_runs = (config.runs as f64).ln();
    let log_likelihoods: Vec<f64> = log_weights
        .chunks_exact(config.runs)
        .zip(&free_energy)
        .map(|(weights, &f)| log_sum_exp(weights) - log_runs - f - log_z_base)
        .collect();
    let n = rows as f64;
    let mean = log_likelihoods.iter().sum::<f64>() / n;
    let half_width = if rows > 1 {
        let variance = log_likelihoods.iter().map(|&l| (l - mean) * (l - mean)).sum::<f64>() / (n - 1.0);
        3.0 * (variance / n).sqrt()
    } else {
        0.0
    };
    Ok(RaiseResult {
        log_likelihoods,
        mean,
        low: mean - half_width,
        high: mean + half_width,
        runs: config.runs,
        betas: config.schedule.len(),
    })
}

/// RAISE as the full evaluation reports it: the bound of the average log-likelihood of the first
/// `images` test images, and the estimate from log Z (AIS or exact) for the same images, so that
/// the two are compared on the same images.
#[derive(Clone, Debug, PartialEq)]
pub struct RaiseEstimate {
    pub images: usize,
    pub runs: usize,
    /// RAISE's bound of the images' average log-likelihood, in nats, and its ±3σ over the images.
    pub bound: f64,
    pub low: f64,
    pub high: f64,
    /// −mean F(v) − log Z of the same images, with the evaluation's log Z.
    pub log_z_estimate: f64,
}
