//! One step of a [`super::CompletionSampler`] over a block of consecutive images.

use rand::RngCore;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::CompletionMode;
use crate::model::linalg::{self, Threads};
use crate::model::rng::uniform_pair_from_bits;
use crate::model::sampling;

/// The model and settings one step reads, shared by the blocks.
pub(super) struct Dynamics<'a> {
    pub(super) w: &'a [f32],
    pub(super) weights_t: &'a [f32],
    pub(super) b_v: &'a [f32],
    pub(super) b_h: &'a [f32],
    pub(super) nv: usize,
    pub(super) nh: usize,
    pub(super) mode: CompletionMode,
    pub(super) damping: f32,
    pub(super) tolerance: f32,
    pub(super) resampled: &'a [Vec<usize>],
    /// The number of averaged steps including this one, when this step is averaged.
    pub(super) averaged: Option<u64>,
}

/// One block of consecutive images and their buffers.
pub(super) struct RowBlock<'a> {
    pub(super) first_row: usize,
    pub(super) state: &'a mut [f32],
    pub(super) probabilities: &'a mut [f32],
    pub(super) average_sum: &'a mut [f64],
    pub(super) average: &'a mut [f32],
    pub(super) hidden_inputs: &'a mut [f32],
    pub(super) hidden: &'a mut [f32],
    pub(super) visible_inputs: &'a mut [f32],
    pub(super) residual: &'a mut [f32],
    pub(super) streams: &'a mut [Xoshiro256PlusPlus],
}

impl<'a> RowBlock<'a> {
    /// The block's first `rows` images (all when fewer), leaving the rest in `self`.
    pub(super) fn split_first(&mut self, rows: usize, nv: usize, nh: usize) -> RowBlock<'a> {
        fn take<'b, T>(slice: &mut &'b mut [T], len: usize) -> &'b mut [T] {
            let whole = std::mem::take(slice);
            let (head, tail) = whole.split_at_mut(len.min(whole.len()));
            *slice = tail;
            head
        }
        let rows = rows.min(self.residual.len());
        let first_row = self.first_row;
        self.first_row += rows;
        RowBlock {
            first_row,
            state: take(&mut self.state, rows * nv),
            probabilities: take(&mut self.probabilities, rows * nv),
            average_sum: take(&mut self.average_sum, rows * nv),
            average: take(&mut self.average, rows * nv),
            hidden_inputs: take(&mut self.hidden_inputs, rows * nh),
            hidden: take(&mut self.hidden, rows * nh),
            visible_inputs: take(&mut self.visible_inputs, rows * nv),
            residual: take(&mut self.residual, rows),
            streams: take(&mut self.streams, rows),
        }
    }
}

impl Dynamics<'_> {
    /// h from p(h|v) (a sample, or the probabilities for mean-field), p(v|h), then the resampled
    /// pixels: a Bernoulli draw, or the damped mean-field update unless the image is already at a
    /// fixed point; finally the hidden inputs of the new state.
    pub(super) fn step(&self, b: &mut RowBlock<'_>) {
        let (nv, nh) = (self.nv, self.nh);
        let rows = b.residual.len();
        let one = Threads(1);
        b.hidden.copy_from_slice(b.hidden_inputs);
        match self.mode {
            CompletionMode::MeanField => sampling::sigmoid_rows(b.hidden, nh, rows, one),
            _ => sampling::sample_from_inputs(b.hidden, nh, rows, b.streams, one),
        }
        linalg::affine(b.visible_inputs, b.hidden, rows, self.weights_t, nh, nv, self.b_v, one);
        sampling::sigmoid_rows(b.visible_inputs, nv, rows, one);
        for r in 0..rows {
            let row = b.first_row + r;
            let indices = &self.resampled[if self.resampled.len() == 1 { 0 } else { row }];
            let span = r * nv..(r + 1) * nv;
            let p = &b.visible_inputs[span.clone()];
            let v = &mut b.state[span.clone()];
            let probabilities = &mut b.probabilities[span.clone()];
            for &i in indices {
                probabilities[i] = p[i];
            }
            match self.mode {
                CompletionMode::MeanField => {
                    let residual = indices.iter().map(|&i| (p[i] - v[i]).abs()).fold(0.0f32, f32::max);
                    b.residual[r] = residual;
                    // At a fixed point within tol the image stays where it is: one more iteration
                    // would move no pixel by tol, which is what convergence promises.
                    if residual >= self.tolerance {
                        let keep = self.damping;
                        for &i in indices {
                            v[i] = keep * v[i] + (1.0 - keep) * p[i];
                        }
                    }
                }
                _ => bernoulli_at(v, p, indices, &mut b.streams[r]),
            }
            if let Some(n) = self.averaged {
                let (sum, average) = (&mut b.average_sum[span.clone()], &mut b.average[span]);
                for &i in indices {
                    sum[i] += p[i] as f64;
                    average[i] = (sum[i] / n as f64) as f32;
                }
            }
        }
        linalg::affine(b.hidden_inputs, b.state, rows, self.w, nv, nh, self.b_h, one);
    }
}

/// v_i = 1 with probability p_i at the given pixels, two 24-bit uniforms per draw of the stream.
fn bernoulli_at(v: &mut [f32], p: &[f32], indices: &[usize], rng: &mut Xoshiro256PlusPlus) {
    let bit = |u: f32, p: f32| if u < p { 1.0 } else { 0.0 };
    let mut pairs = indices.chunks_exact(2);
    for pair in &mut pairs {
        let (u0, u1) = uniform_pair_from_bits(rng.next_u64());
        v[pair[0]] = bit(u0, p[pair[0]]);
        v[pair[1]] = bit(u1, p[pair[1]]);
    }
    if let [i] = pairs.remainder() {
        let (u, _) = uniform_pair_from_bits(rng.next_u64());
        v[*i] = bit(u, p[*i]);
    }
}
