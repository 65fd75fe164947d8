//! Gibbs sampling of the Gaussian–Bernoulli RBM, h ~ Bernoulli(sigmoid(c + (v/σ²)W)) then
//! v ~ N(b + W h, σ²), for the training's negative phase, the window's chains and `rbm-lab sample`;
//! and the mean-field reconstruction error the loss plot shows.
//!
//! Every row draws from its own random stream, and batches are split into fixed blocks of
//! [`ROW_BLOCK`] rows whose products run single-threaded, so a seed gives the same bits on any
//! number of threads.

use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::{GaussianRbm, ROW_BLOCK};
use crate::model::linalg::Threads;
use crate::model::pool::on_math_pool;
use crate::model::rbm::sigmoid;
use crate::model::rng::{RowStreams, normal_f32, uniform_f32};

/// In place: hidden inputs → p(h = 1 | v).
pub(crate) fn sigmoid_in_place(x: &mut [f32]) {
    x.iter_mut().for_each(|x| *x = sigmoid(*x));
}

/// `states = 1 where u < p`, one uniform per unit from the row's stream.
pub(crate) fn bernoulli(p: &[f32], states: &mut [f32], width: usize, streams: &mut [Xoshiro256PlusPlus]) {
    for ((p_row, s_row), rng) in p.chunks_exact(width).zip(states.chunks_exact_mut(width)).zip(streams) {
        for (s, &p) in s_row.iter_mut().zip(p_row) {
            *s = if uniform_f32(rng) < p { 1.0 } else { 0.0 };
        }
    }
}

/// `v = means + σ·N(0, 1)`, one normal per unit from the row's stream.
pub(crate) fn gaussian(means: &[f32], v: &mut [f32], sd: &[f32], streams: &mut [Xoshiro256PlusPlus]) {
    let width = sd.len();
    for ((m_row, v_row), rng) in means.chunks_exact(width).zip(v.chunks_exact_mut(width)).zip(streams) {
        for ((x, &m), &s) in v_row.iter_mut().zip(m_row).zip(sd) {
            *x = m + s * normal_f32(rng);
        }
    }
}

/// Buffers for the Gibbs steps of one block of rows.
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockScratch {
    pub probabilities: Vec<f32>,
    pub hidden: Vec<f32>,
    pub scaled: Vec<f32>,
}

impl BlockScratch {
    pub fn new(rows: usize, n_visible: usize, n_hidden: usize) -> Self {
        Self {
            probabilities: vec![0.0; rows * n_hidden],
            hidden: vec![0.0; rows * n_hidden],
            scaled: vec![0.0; rows * n_visible],
        }
    }
}

/// σ_i = exp(z_i / 2) in f32.
pub(crate) fn standard_deviations(model: &GaussianRbm) -> Vec<f32> {
    model.log_variance().iter().map(|&z| (0.5 * z).exp()).collect()
}

/// `steps` Gibbs steps v → h → v on `rows` rows of `v` (in place); `means` ends with b + W h of
/// the last step and `scratch.probabilities` with p(h | v) of the state before it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gibbs_steps(
    model: &GaussianRbm,
    inv_var: &[f32],
    sd: &[f32],
    v: &mut [f32],
    means: &mut [f32],
    rows: usize,
    steps: usize,
    scratch: &mut BlockScratch,
    streams: &mut [Xoshiro256PlusPlus],
) {
    let nh = model.n_hidden();
    for _ in 0..steps {
        model.hidden_inputs_into(&mut scratch.probabilities, v, rows, inv_var, &mut scratch.scaled);
        sigmoid_in_place(&mut scratch.probabilities[..rows * nh]);
        bernoulli(&scratch.probabilities[..rows * nh], &mut scratch.hidden, nh, streams);
        model.visible_means_into(means, &scratch.hidden, rows);
        gaussian(&means[..rows * model.n_visible()], v, sd, streams);
    }
}

/// Persistent Gibbs chains on a Gaussian model, for display: the state v (standardised) and the
/// means b + W h of the latest step, which are what the chains view and `rbm-lab sample` show.
#[derive(Clone, Debug)]
pub struct GaussianChains {
    start: Vec<f32>,
    state: Vec<f32>,
    means: Vec<f32>,
    streams: RowStreams,
    n_visible: usize,
    n_hidden: usize,
    steps: u64,
}

impl GaussianChains {
    /// Chains from `start` (count x V standardised vectors), one random stream each from `seed`.
    pub fn new(start: Vec<f32>, n_visible: usize, n_hidden: usize, seed: u64) -> Self {
        let count = start.len() / n_visible.max(1);
        Self {
            state: start.clone(),
            means: start.clone(),
            start,
            streams: RowStreams::new(seed, count),
            n_visible,
            n_hidden,
            steps: 0,
        }
    }

    pub fn count(&self) -> usize {
        self.streams.len()
    }
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// The standardised start vectors.
    pub fn start(&self) -> &[f32] {
        &self.start
    }
    /// The chains' current states (standardised).
    pub fn state(&self) -> &[f32] {
        &self.state
    }
    /// b + W h of the latest step (the start vectors before the first), standardised.
    pub fn means(&self) -> &[f32] {
        &self.means
    }

    /// One Gibbs step of every chain, blocks of rows spread over `threads` threads.
    pub fn step(&mut self, model: &GaussianRbm, threads: Threads) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        if model.n_visible() != nv || model.n_hidden() != nh {
            return;
        }
        let (inv_var, sd) = (model.inverse_variances(), standard_deviations(model));
        let blocks = self
            .state
            .chunks_mut(ROW_BLOCK * nv)
            .zip(self.means.chunks_mut(ROW_BLOCK * nv))
            .zip(self.streams.streams_mut().chunks_mut(ROW_BLOCK));
        let mut blocks: Vec<_> = blocks.collect();
        on_math_pool(threads, || {
            blocks.par_iter_mut().for_each(|((v, means), streams)| {
                let rows = streams.len();
                let mut scratch = BlockScratch::new(rows, nv, nh);
                gibbs_steps(model, &inv_var, &sd, v, means, rows, 1, &mut scratch, streams);
            })
        });
        self.steps += 1;
    }
}

/// Mean squared difference between standardised data and its mean-field reconstruction
/// b + W p(h | v), over all pixels of `rows` rows: the loss the Gaussian model's plot shows.
pub fn reconstruction_error(model: &GaussianRbm, data: &[f32], rows: usize, threads: Threads) -> f64 {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    if rows == 0 {
        return 0.0;
    }
    let inv_var = model.inverse_variances();
    let sums: Vec<f64> = on_math_pool(threads, || {
        data[..rows * nv]
            .par_chunks(ROW_BLOCK * nv)
            .map(|block| {
                let block_rows = block.len() / nv;
                let mut scratch = BlockScratch::new(block_rows, nv, nh);
                let mut means = vec![0.0; block_rows * nv];
                model.hidden_inputs_into(&mut scratch.probabilities, block, block_rows, &inv_var, &mut scratch.scaled);
                sigmoid_in_place(&mut scratch.probabilities);
                model.visible_means_into(&mut means, &scratch.probabilities, block_rows);
                block.iter().zip(&means).map(|(&x, &m)| ((x - m) as f64).powi(2)).sum()
            })
            .collect()
    });
    sums.iter().sum::<f64>() / (rows * nv) as f64
}
