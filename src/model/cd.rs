//! One contrastive-divergence (CD-k) update, allocation-free after construction.
//!
//! The tutorial's step (with `VisibleSampling::NoisyMeanField`):
//!   p0 = σ(v0 W + b_h);  v = v0
//!   repeat k: h ~ Bernoulli(σ(v W + b_h));  v = σ(h Wᵀ + b_v) + noise·N(0,1)
//!   pk = σ(v W + b_h)
//!   W += lr (v0ᵀ p0 − vᵀ pk) / B;  b_v += lr·mean(v0 − v);  b_h += lr·mean(p0 − pk)
//!   loss = mean |v − v0|
//! The first chain step reuses p0 (the tutorial recomputes the same product), so a step costs 2k+3
//! matrix products. Both halves of the weight update go through one product with 2B rows.

use super::config::TrainingConfig;
use super::linalg::{self, Threads};
use super::rbm::Rbm;
use super::rng::RowStreams;
use super::sampling;

/// What one update reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// Mean absolute difference between the chain's last visible state and the data (the tutorial's loss).
    pub reconstruction_l1: f32,
    pub rows: usize,
}

/// Buffers for CD-k on batches of up to `capacity` rows.
pub struct CdWorkspace {
    n_visible: usize,
    n_hidden: usize,
    capacity: usize,
    /// Rows 0..B: the data v0; rows B..2B: −v_k (negated so one product gives v0ᵀp0 − v_kᵀp_k).
    stacked_visible: Vec<f32>,
    /// Rows 0..B: p(h|v0); rows B..2B: p(h|v_k).
    stacked_hidden: Vec<f32>,
    chain_visible: Vec<f32>,
    chain_hidden: Vec<f32>,
    streams: RowStreams,
}

impl CdWorkspace {
    pub fn new(n_visible: usize, n_hidden: usize, capacity: usize, seed: u64) -> Self {
        let capacity = capacity.max(1);
        Self {
            n_visible,
            n_hidden,
            capacity,
            stacked_visible: vec![0.0; 2 * capacity * n_visible],
            stacked_hidden: vec![0.0; 2 * capacity * n_hidden],
            chain_visible: vec![0.0; capacity * n_visible],
            chain_hidden: vec![0.0; capacity * n_hidden],
            streams: RowStreams::new(seed, capacity),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The buffer to fill with `rows` data vectors (row-major, values in [0, 1]) before `step`.
    pub fn data_mut(&mut self, rows: usize) -> &mut [f32] {
        &mut self.stacked_visible[..rows.min(self.capacity) * self.n_visible]
    }

    /// The chain's final visible state of the last step (rows x V).
    pub fn last_chain_visible(&self, rows: usize) -> &[f32] {
        &self.chain_visible[..rows.min(self.capacity) * self.n_visible]
    }

    /// One CD-k update of `rbm` on the `rows` data vectors placed with `data_mut`.
    pub fn step(&mut self, rbm: &mut Rbm, config: &TrainingConfig, rows: usize, threads: Threads) -> StepStats {
        let rows = rows.min(self.capacity);
        let (nv, nh) = (self.n_visible, self.n_hidden);
        debug_assert_eq!((rbm.n_visible(), rbm.n_hidden()), (nv, nh));
        let (w, b_v, b_h) = rbm.parameters_mut();
        let streams = self.streams.streams_mut();

        let (v0, negated_vk) = self.stacked_visible.split_at_mut(rows * nv);
        let (p0, pk) = self.stacked_hidden.split_at_mut(rows * nh);
        let v0 = &v0[..];
        let negated_vk = &mut negated_vk[..rows * nv];
        let pk = &mut pk[..rows * nh];
        let vk = &mut self.chain_visible[..rows * nv];
        let h = &mut self.chain_hidden[..rows * nh];

        linalg::affine(p0, v0, rows, w, nv, nh, b_h, threads);
        sampling::sigmoid_rows(p0, nh, rows, threads);
        for step in 0..config.k {
            if step == 0 {
                sampling::bernoulli_rows(p0, h, nh, rows, streams, threads);
            } else {
                linalg::affine(h, vk, rows, w, nv, nh, b_h, threads);
                sampling::sample_hidden_from_inputs(h, nh, rows, streams, threads);
            }
            linalg::affine_transposed(vk, h, rows, w, nv, nh, b_v, threads);
            sampling::visible_state_from_inputs(vk, nv, rows, streams, threads, config.sampling, config.noise_std);
        }
        if config.k == 0 {
            vk.copy_from_slice(v0);
        }
        linalg::affine(pk, vk, rows, w, nv, nh, b_h, threads);
        sampling::sigmoid_rows(pk, nh, rows, threads);

        let lr = config.learning_rate;
        let inv_rows = 1.0 / rows as f32;
        let mut l1 = 0.0f64;
        for (i, bias) in b_v.iter_mut().enumerate() {
            let mut diff = 0.0f64;
            for r in 0..rows {
                let d = v0[r * nv + i] - vk[r * nv + i];
                diff += d as f64;
                l1 += d.abs() as f64;
            }
            *bias += lr * (diff as f32) * inv_rows;
        }
        for (j, bias) in b_h.iter_mut().enumerate() {
            let diff: f32 = (0..rows).map(|r| p0[r * nh + j] - pk[r * nh + j]).sum();
            *bias += lr * diff * inv_rows;
        }
        for (dst, &x) in negated_vk.iter_mut().zip(vk.iter()) {
            *dst = -x;
        }
        let stacked_rows = 2 * rows;
        linalg::add_outer_products(
            w,
            nv,
            nh,
            &self.stacked_visible[..stacked_rows * nv],
            &self.stacked_hidden[..stacked_rows * nh],
            stacked_rows,
            lr * inv_rows,
            threads,
        );
        StepStats { reconstruction_l1: (l1 / (rows * nv) as f64) as f32, rows }
    }
}
