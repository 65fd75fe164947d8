//! Annealed importance sampling of a Gaussian–Bernoulli RBM's log Z (Neal 2001; Salakhutdinov &
//! Murray 2008's scheme), from the same model without weights.
//!
//! The intermediate models scale W by β ∈ [0, 1] and keep b, c and σ²:
//!   p*_β(v) = exp(−Σ_i (v_i − b_i)² / (2σ_i²)) · Π_j (1 + exp(c_j + β u_j)),  u = (v/σ²) W.
//! At β = 0 this is the base model, v ~ N(b, σ²) with independent hidden units, whose
//!   log Z_0 = Σ_i ½ ln(2π σ_i²) + Σ_j softplus(c_j)
//! is known and which is sampled exactly; at β = 1 it is exp(−F(v)). At each β_k a run adds
//! Σ_j [softplus(c_j + β_k u_j) − softplus(c_j + β_{k−1} u_j)] to its log weight (the quadratic
//! term cancels), then makes one Gibbs step at β_k: h ~ sigmoid(c + β_k u), v ~ N(b + β_k W h, σ²).
//!
//! Runs are processed in fixed blocks of [`ROW_BLOCK`] with their own random streams, so a seed
//! gives the same estimate on any number of threads.

use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::chains::{bernoulli, gaussian, sigmoid_in_place, standard_deviations};
use super::{GaussianRbm, ROW_BLOCK, scale_rows};
use crate::model::ais::{AisConfig, AisResult, ais_summary};
use crate::model::eval::EvalError;
use crate::model::linalg::{self, Threads};
use crate::model::pool::MathPool;
use crate::model::rbm::softplus;
use crate::model::rng::RowStreams;

/// log Z of the model with W = 0 (see the module header).
pub fn base_log_z(model: &GaussianRbm) -> f64 {
    let gaussian: f64 = model.variances().iter().map(|v| 0.5 * (std::f64::consts::TAU * v).ln()).sum();
    gaussian + model.rbm().hidden_bias().iter().map(|&c| softplus(c as f64)).sum::<f64>()
}

/// One block of annealing runs.
struct Block {
    v: Vec<f32>,
    log_w: Vec<f64>,
    streams: Vec<Xoshiro256PlusPlus>,
    u: Vec<f32>,
    scaled: Vec<f32>,
    hidden: Vec<f32>,
    means: Vec<f32>,
}

/// The parameters every block reads.
struct Shared<'a> {
    model: &'a GaussianRbm,
    inv_var: Vec<f32>,
    sd: Vec<f32>,
    zeros_h: Vec<f32>,
    zeros_v: Vec<f32>,
}

impl Block {
    fn new(shared: &Shared<'_>, mut streams: Vec<Xoshiro256PlusPlus>) -> Self {
        let (nv, nh, rows) = (shared.model.n_visible(), shared.model.n_hidden(), streams.len());
        let b = shared.model.rbm().visible_bias().as_slice().unwrap_or(&[]);
        let means: Vec<f32> = (0..rows).flat_map(|_| b.iter().copied()).collect();
        let mut v = vec![0.0; rows * nv];
        gaussian(&means, &mut v, &shared.sd, &mut streams);
        Self {
            v,
            log_w: vec![0.0; rows],
            streams,
            u: vec![0.0; rows * nh],
            scaled: vec![0.0; rows * nv],
            hidden: vec![0.0; rows * nh],
            means,
        }
    }

    /// The weight update from β_prev to β, then (unless `last`) one Gibbs step at β.
    fn step(&mut self, shared: &Shared<'_>, beta_prev: f64, beta: f64, last: bool) {
        let model = shared.model;
        let (nv, nh, rows) = (model.n_visible(), model.n_hidden(), self.streams.len());
        let w = model.rbm().weights_slice();
        let c = model.rbm().hidden_bias();
        scale_rows(&mut self.scaled, &self.v, &shared.inv_var);
        linalg::affine(&mut self.u, &self.scaled, rows, w, nv, nh, &shared.zeros_h, Threads(1));
        for (log_w, u_row) in self.log_w.iter_mut().zip(self.u.chunks_exact(nh)) {
            *log_w += u_row
                .iter()
                .zip(c)
                .map(|(&u, &cj)| softplus(cj as f64 + beta * u as f64) - softplus(cj as f64 + beta_prev * u as f64))
                .sum::<f64>();
        }
        if last {
            return;
        }
        let beta32 = beta as f32;
        for u_row in self.u.chunks_exact_mut(nh) {
            u_row.iter_mut().zip(c).for_each(|(u, &cj)| *u = cj + beta32 * *u);
        }
        sigmoid_in_place(&mut self.u);
        bernoulli(&self.u, &mut self.hidden, nh, &mut self.streams);
        linalg::affine_transposed(&mut self.means, &self.hidden, rows, w, nv, nh, &shared.zeros_v, Threads(1));
        let b = model.rbm().visible_bias();
        for m_row in self.means.chunks_exact_mut(nv) {
            m_row.iter_mut().zip(b).for_each(|(m, &bi)| *m = bi + beta32 * *m);
        }
        gaussian(&self.means, &mut self.v, &shared.sd, &mut self.streams);
    }
}

/// AIS estimate of log Z of `model` with `config`'s runs, schedule and seed (see the module
/// header). `progress` gets the fraction of β steps done after each 1% of them; returning false
/// cancels.
///
/// # Errors
/// [`EvalError::TooFewRuns`] for fewer than 2 runs, [`EvalError::NotFinite`] for a model with NaN
/// or infinite parameters, [`EvalError::Cancelled`].
pub fn gaussian_ais_log_z(
    model: &GaussianRbm,
    config: &AisConfig,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<AisResult, EvalError> {
    if config.runs < 2 {
        return Err(EvalError::TooFewRuns(config.runs));
    }
    if !model.is_finite() {
        return Err(EvalError::NotFinite("the model's parameters"));
    }
    let shared = Shared {
        model,
        inv_var: model.inverse_variances(),
        sd: standard_deviations(model),
        zeros_h: vec![0.0; model.n_hidden()],
        zeros_v: vec![0.0; model.n_visible()],
    };
    let betas = config.schedule.betas();
    let steps = betas.len() - 1;
    let mut streams = RowStreams::new(config.seed, config.runs);
    let pool = MathPool::new(config.threads.0.max(1));
    let mut blocks: Vec<Block> =
        pool.run(|_| streams.streams_mut().par_chunks(ROW_BLOCK).map(|s| Block::new(&shared, s.to_vec())).collect());
    let chunk = steps.div_ceil(100).max(1);
    let mut done = 0;
    while done < steps {
        let end = (done + chunk).min(steps);
        pool.run(|_| {
            blocks.par_iter_mut().for_each(|block| {
                for k in done + 1..=end {
                    block.step(&shared, betas[k - 1], betas[k], k == steps);
                }
            })
        });
        done = end;
        if !progress(done as f64 / steps as f64) && done < steps {
            return Err(EvalError::Cancelled);
        }
    }
    let log_weights: Vec<f64> = blocks.into_iter().flat_map(|b| b.log_w).collect();
    let log_z_base = base_log_z(model);
    let (log_z, log_z_low, log_z_high) = ais_summary(&log_weights, log_z_base);
    Ok(AisResult { log_z, log_z_low, log_z_high, log_z_base, runs: config.runs, betas: betas.len(), log_weights })
}
