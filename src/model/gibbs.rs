//! Free-running Gibbs chains, for watching what the model generates.

use super::config::VisibleSampling;
use super::linalg::{self, Threads};
use super::rbm::{Rbm, sigmoid};
use super::rng::RowStreams;
use super::sampling;

/// `count` chains h ~ p(h|v), v ~ p(v|h) (or the tutorial's noisy mean-field v).
pub struct GibbsChains {
    count: usize,
    n_visible: usize,
    /// The images the chains started from (count x V).
    start: Vec<f32>,
    visible: Vec<f32>,
    hidden: Vec<f32>,
    /// p(v|h) of the last step: what is displayed (smoother than the sampled state).
    visible_mean: Vec<f32>,
    streams: RowStreams,
    steps: u64,
}

impl GibbsChains {
    /// Chains starting at `start` (count x V, values in [0, 1]).
    pub fn new(start: Vec<f32>, n_visible: usize, n_hidden: usize, seed: u64) -> Self {
        let count = start.len() / n_visible.max(1);
        Self {
            count,
            n_visible,
            visible: start.clone(),
            visible_mean: start.clone(),
            start,
            hidden: vec![0.0; count * n_hidden],
            streams: RowStreams::new(seed, count),
            steps: 0,
        }
    }

    pub fn count(&self) -> usize {
        self.count
    }
    pub fn steps(&self) -> u64 {
        self.steps
    }
    pub fn start_images(&self) -> &[f32] {
        &self.start
    }
    /// p(v|h) after the last step (the start images before the first).
    pub fn mean_images(&self) -> &[f32] {
        &self.visible_mean
    }

    /// Back to the start images, step counter at zero (the random streams go on).
    pub fn restart(&mut self) {
        self.visible.copy_from_slice(&self.start);
        self.visible_mean.copy_from_slice(&self.start);
        self.steps = 0;
    }

    /// One full Gibbs step v → h → v. Chains whose shape does not match `rbm` are left alone.
    pub fn step(&mut self, rbm: &Rbm, sampling_mode: VisibleSampling, noise_std: f32) {
        let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
        if nv != self.n_visible || self.hidden.len() != self.count * nh || self.count == 0 {
            return;
        }
        let threads = Threads(1);
        let rows = self.count;
        let w = rbm.weights_slice();
        let b_h = rbm.hidden_bias().as_slice().unwrap_or(&[]);
        let b_v = rbm.visible_bias().as_slice().unwrap_or(&[]);
        let streams = self.streams.streams_mut();
        linalg::affine(&mut self.hidden, &self.visible, rows, w, nv, nh, b_h, threads);
        sampling::sample_from_inputs(&mut self.hidden, nh, rows, streams, threads);
        linalg::affine_transposed(&mut self.visible, &self.hidden, rows, w, nv, nh, b_v, threads);
        for (mean, &x) in self.visible_mean.iter_mut().zip(&self.visible) {
            *mean = sigmoid(x);
        }
        sampling::visible_state_from_inputs(&mut self.visible, nv, rows, streams, threads, sampling_mode, noise_std);
        self.steps += 1;
    }
}
