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
    ///
    /// With several threads, the batch rows are split into one block per thread and each block runs
    /// its whole chain alone (no synchronisation inside the k steps); the weight update is then
    /// split by rows of W. Each row draws from its own random stream, so the result does not depend
    /// on the split.
    pub fn step(&mut self, rbm: &mut Rbm, config: &TrainingConfig, rows: usize, threads: Threads) -> StepStats {
        let rows = rows.min(self.capacity);
        let (nv, nh) = (self.n_visible, self.n_hidden);
        debug_assert_eq!((rbm.n_visible(), rbm.n_hidden()), (nv, nh));
        let (w, b_v, b_h) = rbm.parameters_mut();
        let parts = threads.0.clamp(1, rows.max(1));
        let block = rows.div_ceil(parts);

        {
            let (v0, _) = self.stacked_visible.split_at(rows * nv);
            let (p0, rest) = self.stacked_hidden.split_at_mut(rows * nh);
            let pk = &mut rest[..rows * nh];
            let vk = &mut self.chain_visible[..rows * nv];
            let h = &mut self.chain_hidden[..rows * nh];
            let streams = &mut self.streams.streams_mut()[..rows];
            let w: &[f32] = w;
            let (b_v, b_h): (&[f32], &[f32]) = (b_v, b_h);
            let chain = |(((((v0, p0), pk), vk), h), streams): ChainBlock<'_>| {
                let block_rows = v0.len() / nv;
                run_chain(ChainParams { w, b_v, b_h, nv, nh, config }, block_rows, v0, p0, pk, vk, h, streams);
            };
            let blocks = v0
                .chunks(block * nv)
                .zip(p0.chunks_mut(block * nh))
                .zip(pk.chunks_mut(block * nh))
                .zip(vk.chunks_mut(block * nv))
                .zip(h.chunks_mut(block * nh))
                .zip(streams.chunks_mut(block));
            if parts > 1 {
                use rayon::prelude::*;
                blocks.collect::<Vec<_>>().into_par_iter().for_each(chain);
            } else {
                blocks.for_each(chain);
            }
        }

        let (v0, negated_vk) = self.stacked_visible.split_at_mut(rows * nv);
        let (p0, pk) = self.stacked_hidden.split_at(rows * nh);
        let vk = &self.chain_visible[..rows * nv];
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
        for (dst, &x) in negated_vk[..rows * nv].iter_mut().zip(vk) {
            *dst = -x;
        }

        // W += lr/B · [v0; −vk]ᵀ [p0; pk], rows of W split over the threads.
        let stacked_rows = 2 * rows;
        let stacked_visible = &self.stacked_visible[..stacked_rows * nv];
        let stacked_hidden = &self.stacked_hidden[..stacked_rows * nh];
        let alpha = lr * inv_rows;
        let w_block = nv.div_ceil(parts);
        let update = |(index, w_rows): (usize, &mut [f32])| {
            let first = index * w_block;
            let count = w_rows.len() / nh;
            linalg::add_outer_products_columns(
                w_rows,
                count,
                nh,
                &stacked_visible[first..],
                nv,
                stacked_hidden,
                stacked_rows,
                alpha,
                Threads(1),
            );
        };
        if parts > 1 {
            use rayon::prelude::*;
            w.par_chunks_mut(w_block * nh).enumerate().for_each(update);
        } else {
            w.chunks_mut(w_block * nh).enumerate().for_each(update);
        }
        StepStats { reconstruction_l1: (l1 / (rows * nv) as f64) as f32, rows }
    }
}

type ChainBlock<'a> = (
    ((((&'a [f32], &'a mut [f32]), &'a mut [f32]), &'a mut [f32]), &'a mut [f32]),
    &'a mut [rand_xoshiro::Xoshiro256PlusPlus],
);

#[derive(Clone, Copy)]
struct ChainParams<'a> {
    w: &'a [f32],
    b_v: &'a [f32],
    b_h: &'a [f32],
    nv: usize,
    nh: usize,
    config: &'a TrainingConfig,
}

/// The chain of one block of rows: p0 = p(h|v0), k Gibbs steps into vk, pk = p(h|vk).
fn run_chain(
    m: ChainParams<'_>,
    rows: usize,
    v0: &[f32],
    p0: &mut [f32],
    pk: &mut [f32],
    vk: &mut [f32],
    h: &mut [f32],
    streams: &mut [rand_xoshiro::Xoshiro256PlusPlus],
) {
    let one = Threads(1);
    let ChainParams { w, b_v, b_h, nv, nh, config } = m;
    linalg::affine(p0, v0, rows, w, nv, nh, b_h, one);
    sampling::sigmoid_rows(p0, nh, rows, one);
    for step in 0..config.k {
        if step == 0 {
            sampling::bernoulli_rows(p0, h, nh, rows, streams, one);
        } else {
            linalg::affine(h, vk, rows, w, nv, nh, b_h, one);
            sampling::sample_hidden_from_inputs(h, nh, rows, streams, one);
        }
        linalg::affine_transposed(vk, h, rows, w, nv, nh, b_v, one);
        sampling::visible_state_from_inputs(vk, nv, rows, streams, one, config.sampling, config.noise_std);
    }
    if config.k == 0 {
        vk.copy_from_slice(v0);
    }
    linalg::affine(pk, vk, rows, w, nv, nh, b_h, one);
    sampling::sigmoid_rows(pk, nh, rows, one);
}
