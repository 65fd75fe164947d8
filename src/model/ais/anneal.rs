//! The annealing loop shared by AIS (rising β, from exact samples of the base model) and RAISE
//! (falling β, from data rows): each thread's block of runs steps through the schedule alone, with
//! each run's own random stream, and progress and cancellation are looked at between chunks of
//! steps.

use std::time::Instant;

use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::CHECK_INTERVAL;
use super::kernels::{bernoulli_in_place, dot_f64, fast_sigmoid, softplus_steps};
use crate::model::eval::EvalError;
use crate::model::linalg::{self, Threads};
use crate::model::pool::MathPool;
use crate::model::rbm::{Rbm, sigmoid};
use crate::model::rng::RowStreams;

/// Where the annealing runs start.
pub(in crate::model) enum Start<'a> {
    /// Exact samples of the base model (forward AIS).
    Base,
    /// Run r at row r of these visible states (R x V; reverse annealing from data, see
    /// [`crate::model::raise`]).
    Rows(&'a [f32]),
}

/// `runs` annealing runs through `betas` (in the order given: rising for AIS, falling for RAISE):
/// at each step β' → β every run adds ln p*_β(v) − ln p*_β'(v) to its log weight, then (unless it
/// is the last) makes one Gibbs step at β. Returns each run's summed log weight, in run order.
/// `progress` as in [`ais_log_z`](super::ais_log_z).
pub(in crate::model) fn anneal(
    model: &Annealing<'_>,
    start: Start<'_>,
    runs: usize,
    betas: &[f64],
    seed: u64,
    threads: Threads,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Vec<f64>, EvalError> {
    let steps = betas.len().saturating_sub(1);
    let parts = threads.0.clamp(1, runs.max(1));
    let block = runs.div_ceil(parts).max(1);
    let mut streams = RowStreams::new(seed, runs);
    let mut blocks: Vec<Block> = streams.streams_mut().chunks(block).map(|s| Block::new(model, s.to_vec())).collect();
    let pool = MathPool::new(blocks.len().max(1));
    let run_blocks =
        |blocks: &mut [Block], f: &(dyn Fn(&mut Block) + Sync)| pool.run(|_| blocks.par_iter_mut().for_each(f));

    match start {
        Start::Base => run_blocks(&mut blocks, &|b: &mut Block| b.start(model)),
        Start::Rows(rows) => {
            for (index, b) in blocks.iter_mut().enumerate() {
                let first = index * block * model.nv;
                b.start_at(model, &rows[first..first + b.rows * model.nv]);
            }
        }
    }
    // Progress and cancellation are looked at between chunks of β steps. A chunk is at most 1% of
    // the steps and, sized from the time the steps so far took, about `CHECK_INTERVAL` of work,
    // so that a cancelled evaluation of a large model stops at once rather than after 1% of its
    // run (seconds for 784x500 with 1000 runs). Chunking never changes the result: each block
    // runs the same steps in the same order whatever their grouping.
    let max_chunk = steps.div_ceil(100).max(1);
    let started = Instant::now();
    let mut chunk = 1;
    let mut done = 0;
    while done < steps {
        let end = (done + chunk).min(steps);
        run_blocks(&mut blocks, &|b: &mut Block| {
            for k in done + 1..=end {
                b.step(model, betas[k - 1], betas[k], k == steps);
            }
        });
        done = end;
        if !progress(done as f64 / steps as f64) && done < steps {
            return Err(EvalError::Cancelled);
        }
        let per_step = started.elapsed().as_secs_f64() / done as f64;
        chunk = ((CHECK_INTERVAL.as_secs_f64() / per_step.max(1e-9)) as usize).clamp(1, max_chunk);
    }
    Ok(blocks.into_iter().flat_map(|b| b.log_w).collect())
}

/// The target model, the base biases and b_v − b_A (for the visible part of the weight update).
pub(in crate::model) struct Annealing<'a> {
    w: &'a [f32],
    b_v: &'a [f32],
    b_h: &'a [f32],
    b_a: &'a [f32],
    bias_difference: Vec<f64>,
    nv: usize,
    nh: usize,
}

impl<'a> Annealing<'a> {
    /// Between the base-rate model with visible biases `base_visible_bias` and `rbm`.
    ///
    /// # Errors
    /// [`EvalError::Shape`] / [`EvalError::NotFinite`] for a base bias of the wrong length or with a
    /// non-finite value, [`EvalError::NotFinite`] for a model with NaN or infinite parameters.
    pub(in crate::model) fn new(rbm: &'a Rbm, base_visible_bias: &'a [f32]) -> Result<Self, EvalError> {
        let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
        if base_visible_bias.len() != nv {
            return Err(EvalError::Shape { what: "base visible bias", expected: nv, got: base_visible_bias.len() });
        }
        if !base_visible_bias.iter().all(|b| b.is_finite()) {
            return Err(EvalError::NotFinite("base visible bias"));
        }
        if !rbm.is_finite() {
            return Err(EvalError::NotFinite("the model's parameters"));
        }
        Ok(Self {
            w: rbm.weights_slice(),
            b_v: rbm.visible_bias().as_slice().unwrap_or(&[]),
            b_h: rbm.hidden_bias().as_slice().unwrap_or(&[]),
            b_a: base_visible_bias,
            bias_difference: rbm
                .visible_bias()
                .iter()
                .zip(base_visible_bias)
                .map(|(&b, &a)| b as f64 - a as f64)
                .collect(),
            nv,
            nh,
        })
    }
}

/// One thread's share of the runs: their visible states, hidden inputs vW + b_h, hidden samples,
/// log weights and random streams.
struct Block {
    rows: usize,
    v: Vec<f32>,
    a: Vec<f32>,
    h: Vec<f32>,
    log_w: Vec<f64>,
    streams: Vec<Xoshiro256PlusPlus>,
}

impl Block {
    fn new(m: &Annealing<'_>, streams: Vec<Xoshiro256PlusPlus>) -> Self {
        let rows = streams.len();
        Self {
            rows,
            v: vec![0.0; rows * m.nv],
            a: vec![0.0; rows * m.nh],
            h: vec![0.0; rows * m.nh],
            log_w: vec![0.0; rows],
            streams,
        }
    }

    /// v ~ the base model exactly (independent Bernoulli(σ(b_A))), and its hidden inputs.
    fn start(&mut self, m: &Annealing<'_>) {
        let probabilities: Vec<f32> = m.b_a.iter().map(|&b| sigmoid(b)).collect();
        for (row, rng) in self.v.chunks_exact_mut(m.nv).zip(&mut self.streams) {
            row.copy_from_slice(&probabilities);
            bernoulli_in_place(row, rng);
        }
        linalg::affine(&mut self.a, &self.v, self.rows, m.w, m.nv, m.nh, m.b_h, Threads(1));
    }

    /// v = the given rows (this block's runs' starting states), and their hidden inputs.
    fn start_at(&mut self, m: &Annealing<'_>, rows: &[f32]) {
        self.v.copy_from_slice(rows);
        linalg::affine(&mut self.a, &self.v, self.rows, m.w, m.nv, m.nh, m.b_h, Threads(1));
    }

    /// Step from β_{k−1} to β_k: add ln p*_k(v) − ln p*_{k−1}(v) to the log weights, then (unless this
    /// is the last β) one Gibbs step at β_k. Either direction: RAISE steps down (β_k < β_{k−1}).
    fn step(&mut self, m: &Annealing<'_>, beta_prev: f64, beta: f64, last: bool) {
        let (nv, nh) = (m.nv, m.nh);
        let d_beta = beta - beta_prev;
        let beta_f32 = beta as f32;
        for (((v, a), (h, log_w)), rng) in self
            .v
            .chunks_exact(nv)
            .zip(self.a.chunks_exact(nh))
            .zip(self.h.chunks_exact_mut(nh).zip(&mut self.log_w))
            .zip(&mut self.streams)
        {
            // h holds p = σ(β a) first, then the sample.
            for (p, &aj) in h.iter_mut().zip(a) {
                *p = fast_sigmoid(beta_f32 * aj);
            }
            if d_beta != 0.0 {
                // (β_k − β_{k−1}) (b_v − b_A)·v  +  Σ_j softplus(β_k a_j) − softplus(β_{k−1} a_j)
                *log_w += d_beta * dot_f64(v, &m.bias_difference) + softplus_steps(a, h, beta_prev, beta);
            }
            if !last {
                bernoulli_in_place(h, rng);
            }
        }
        if last {
            return;
        }
        // v ~ σ(β (hWᵀ + b_v) + (1 − β) b_A)
        linalg::affine_transposed(&mut self.v, &self.h, self.rows, m.w, nv, nh, m.b_v, Threads(1));
        let base_weight = (1.0 - beta) as f32;
        for (row, rng) in self.v.chunks_exact_mut(nv).zip(&mut self.streams) {
            for (x, &b) in row.iter_mut().zip(m.b_a) {
                *x = fast_sigmoid(beta_f32 * *x + base_weight * b);
            }
            bernoulli_in_place(row, rng);
        }
        linalg::affine(&mut self.a, &self.v, self.rows, m.w, nv, nh, m.b_h, Threads(1));
    }
}
