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

use std::time::{Duration, Instant};

use rand::RngCore;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::eval::{EvalError, log_sum_exp};
use super::linalg::{self, Threads};
use super::pool::MathPool;
use super::rbm::{Rbm, sigmoid, softplus};
use super::rng::RowStreams;

/// Inverse temperatures 0 = β_0 ≤ β_1 ≤ … ≤ β_K = 1 (at least two values).
#[derive(Clone, Debug, PartialEq)]
pub struct BetaSchedule {
    betas: Vec<f64>,
}

impl BetaSchedule {
    /// Betas in [`BetaSchedule::salakhutdinov_murray`].
    pub const SALAKHUTDINOV_MURRAY_LEN: usize = 14_501;

    /// The paper's schedule: steps of 1e-3 from 0 to 0.5, 1e-4 from 0.5 to 0.9 and 1e-5 from 0.9 to
    /// 1: 14,501 betas (14,500 steps). Each β is computed as an integer over a power of ten, so the
    /// joins fall exactly on 0.5 and 0.9 (and are not repeated, unlike MATLAB's concatenation).
    pub fn salakhutdinov_murray() -> Self {
        let mut betas: Vec<f64> = (0..500).map(|i| i as f64 / 1e3).collect();
        betas.extend((5_000..9_000).map(|i| i as f64 / 1e4));
        betas.extend((90_000..=100_000).map(|i| i as f64 / 1e5));
        Self { betas }
    }

    /// `n` equally spaced betas from 0 to 1 inclusive (`n − 1` steps).
    ///
    /// # Errors
    /// [`EvalError::Schedule`] when `n < 2`.
    pub fn uniform(n: usize) -> Result<Self, EvalError> {
        if n < 2 {
            return Err(EvalError::Schedule("a schedule needs at least two betas (0 and 1)"));
        }
        let last = (n - 1) as f64;
        Ok(Self { betas: (0..n).map(|i| i as f64 / last).collect() })
    }

    /// Any schedule that starts at 0, ends at 1 and never decreases.
    ///
    /// # Errors
    /// [`EvalError::Schedule`] otherwise.
    pub fn from_betas(betas: Vec<f64>) -> Result<Self, EvalError> {
        if betas.len() < 2 {
            return Err(EvalError::Schedule("a schedule needs at least two betas (0 and 1)"));
        }
        if betas[0] != 0.0 || betas[betas.len() - 1] != 1.0 {
            return Err(EvalError::Schedule("a schedule must start at 0 and end at 1"));
        }
        if betas.windows(2).any(|p| p[0].partial_cmp(&p[1]).is_none_or(|o| o.is_gt())) {
            return Err(EvalError::Schedule("betas must be finite and never decrease"));
        }
        Ok(Self { betas })
    }

    pub fn betas(&self) -> &[f64] {
        &self.betas
    }

    /// Number of betas (steps + 1).
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Always false: a schedule has at least two betas.
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }
}

/// How to run AIS.
#[derive(Clone, Debug, PartialEq)]
pub struct AisConfig {
    /// Independent annealing runs M (the paper: 100).
    pub runs: usize,
    pub schedule: BetaSchedule,
    /// Seeds the runs' random streams (one xoshiro256++ stream per run).
    pub seed: u64,
    /// Threads to split the runs over (a [`MathPool`] of this size is built for the call).
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
    let log_z_base = base_log_z(base_visible_bias, model.nh);
    let (log_z, log_z_low, log_z_high) = ais_summary(&log_weights, log_z_base);
    Ok(AisResult { log_z, log_z_low, log_z_high, log_z_base, runs, betas: betas.len(), log_weights })
}

/// Where the annealing runs start.
pub(super) enum Start<'a> {
    /// Exact samples of the base model (forward AIS).
    Base,
    /// Run r at row r of these visible states (R x V; reverse annealing from data, see
    /// [`super::raise`]).
    Rows(&'a [f32]),
}

/// `runs` annealing runs through `betas` (in the order given: rising for AIS, falling for RAISE):
/// at each step β' → β every run adds ln p*_β(v) − ln p*_β'(v) to its log weight, then (unless it
/// is the last) makes one Gibbs step at β. Returns each run's summed log weight, in run order.
/// `progress` as in [`ais_log_z`].
pub(super) fn anneal(
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
pub(super) struct Annealing<'a> {
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
    pub(super) fn new(rbm: &'a Rbm, base_visible_bias: &'a [f32]) -> Result<Self, EvalError> {
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

/// Lanes of the hand-split accumulators below: independent partial results let the compiler keep
/// them in vector registers without reassociating a single floating-point sum.
const LANES: usize = 8;

/// Σ x_i d_i with f32 x and f64 d, in f64.
fn dot_f64(x: &[f32], d: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (xc, dc) = (x.chunks_exact(LANES), d.chunks_exact(LANES));
    let (xr, dr) = (xc.remainder(), dc.remainder());
    for (xs, ds) in xc.zip(dc) {
        for l in 0..LANES {
            acc[l] += xs[l] as f64 * ds[l];
        }
    }
    acc.iter().sum::<f64>() + xr.iter().zip(dr).map(|(&x, &d)| x as f64 * d).sum::<f64>()
}

/// Σ_j softplus(β a_j) − softplus(β' a_j) given p_j = σ(β a_j): the series of [`softplus_step`] over
/// the whole row when every |(β − β') a_j| < 0.03 (branch-free, so it vectorises), else element by
/// element.
fn softplus_steps(a: &[f32], p: &[f32], beta_prev: f64, beta: f64) -> f64 {
    let d_beta = beta - beta_prev;
    let mut acc = [0.0f64; LANES];
    let mut largest = [0.0f64; LANES];
    let (ac, pc) = (a.chunks_exact(LANES), p.chunks_exact(LANES));
    let (ar, pr) = (ac.remainder(), pc.remainder());
    for (aa, pp) in ac.zip(pc) {
        for l in 0..LANES {
            let y = -d_beta * aa[l] as f64;
            let y_abs = y.abs();
            largest[l] = if y_abs > largest[l] { y_abs } else { largest[l] };
            acc[l] += softplus_step_series(y, pp[l] as f64);
        }
    }
    let mut tail = 0.0;
    for (&aj, &pj) in ar.iter().zip(pr) {
        let y = -d_beta * aj as f64;
        largest[0] = if y.abs() > largest[0] { y.abs() } else { largest[0] };
        tail += softplus_step_series(y, pj as f64);
    }
    if largest.iter().all(|&y| y < SERIES_LIMIT) {
        acc.iter().sum::<f64>() + tail
    } else {
        a.iter().zip(p).map(|(&aj, &pj)| softplus_step(aj as f64, pj as f64, beta_prev, beta)).sum()
    }
}

/// Where the series of [`softplus_step_series`] stop being used.
const SERIES_LIMIT: f64 = 0.03;

/// −ln(1 + p·expm1(y)) by Taylor series (expm1 to y⁶, ln1p to z⁸): relative error below 1e-12 for
/// |y| < [`SERIES_LIMIT`].
#[inline(always)]
fn softplus_step_series(y: f64, p: f64) -> f64 {
    let e = y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0))))));
    let z = p * e;
    -z * (1.0 - z * (0.5 - z * (1.0 / 3.0 - z * (0.25 - z * (0.2 - z * (1.0 / 6.0 - z * (1.0 / 7.0 - z * 0.125)))))))
}

/// e^x in f32 without a libm call and without branches, so loops over it vectorise: Cody-Waite
/// reduction x = n ln2 + f with |f| ≤ ln2/2, a degree-7 Taylor polynomial for e^f (truncation below
/// 1e-8 relative) and 2^n built in the exponent bits. Inputs are clamped to [−87, 88] so that 2^n
/// stays a normal number; that is far beyond where σ saturates in f32.
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    // 1.5·2^23: adding it rounds to an integer, which then sits in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let f = (x - n * LN2_HI) - n * LN2_LO;
    let poly = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))));
    let n_int = shifted.to_bits() as i32 - ROUNDER.to_bits() as i32;
    poly * f32::from_bits(((n_int + 127) << 23) as u32)
}

/// σ(x) = 1 / (1 + e^{−x}) with [`fast_exp`].
#[inline(always)]
fn fast_sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// In place: p → 1 with probability p, else 0. Two 24-bit uniforms per 64-bit draw (bits 40..64 and
/// 16..40), compared as `u < p` like the rest of the crate.
fn bernoulli_in_place(row: &mut [f32], rng: &mut Xoshiro256PlusPlus) {
    const SCALE: f32 = 1.0 / 16_777_216.0;
    let bit = |u: u64, p: f32| if ((u & 0xFF_FFFF) as f32) * SCALE < p { 1.0 } else { 0.0 };
    let mut pairs = row.chunks_exact_mut(2);
    for pair in &mut pairs {
        let r = rng.next_u64();
        pair[0] = bit(r >> 40, pair[0]);
        pair[1] = bit(r >> 16, pair[1]);
    }
    if let [last] = pairs.into_remainder() {
        *last = bit(rng.next_u64() >> 40, *last);
    }
}

/// softplus(β a) − softplus(β' a) for the step β' → β, given p = σ(β a).
///
/// Written as −ln(1 + p·(e^{−(β − β')a} − 1)), which keeps full relative precision when the step is
/// tiny (the difference of two softplus values would cancel), with short Taylor series for expm1 and
/// ln1p when |(β − β')a| < 0.03 (relative error below 1e-12); larger steps use the f64 softplus
/// difference directly.
#[inline]
fn softplus_step(a: f64, p: f64, beta_prev: f64, beta: f64) -> f64 {
    let y = -(beta - beta_prev) * a;
    if y.abs() < SERIES_LIMIT { softplus_step_series(y, p) } else { softplus(beta * a) - softplus(beta_prev * a) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_step_matches_the_difference_of_softplus() {
        for &a in &[-40.0f64, -7.3, -1.0, -0.01, 0.0, 0.02, 0.9, 5.5, 33.0] {
            for &(b0, b1) in &[(0.3f64, 0.301f64), (0.95, 0.95001), (0.0, 0.001), (0.1, 0.2), (0.0, 1.0)] {
                let p = 1.0 / (1.0 + (-(b1 * a)).exp());
                let want = softplus(b1 * a) - softplus(b0 * a);
                let got = softplus_step(a, p, b0, b1);
                assert!((got - want).abs() <= 1e-12 * want.abs() + 2e-14, "a={a} {b0}->{b1}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn fast_exp_and_sigmoid_are_accurate_to_a_few_ulps() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let got = fast_exp(x) as f64;
            assert!(((got - want) / want).abs() < 5e-7, "exp({x}) = {got}, want {want}");
            let s_want = 1.0 / (1.0 + (-x as f64).exp());
            let s_got = fast_sigmoid(x) as f64;
            assert!(((s_got - s_want) / s_want).abs() < 5e-7, "σ({x}) = {s_got}, want {s_want}");
            x += 0.0137;
        }
        assert_eq!(fast_sigmoid(-1e4), fast_sigmoid(-88.0));
        assert!(fast_sigmoid(-1e4) < 1e-38);
        assert_eq!(fast_sigmoid(1e4), 1.0);
    }

    #[test]
    fn bernoulli_draws_have_the_right_frequencies() {
        use rand::SeedableRng;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let probabilities = [0.0f32, 0.1, 0.5, 0.9, 1.0];
        let mut counts = [0usize; 5];
        let n = 200_000;
        let mut row = [0.0f32; 5];
        for _ in 0..n {
            row.copy_from_slice(&probabilities);
            bernoulli_in_place(&mut row, &mut rng);
            for (c, &x) in counts.iter_mut().zip(&row) {
                *c += x as usize;
            }
        }
        for (&c, &p) in counts.iter().zip(&probabilities) {
            let f = c as f64 / n as f64;
            assert!((f - p as f64).abs() < 4e-3, "p={p}: frequency {f}");
        }
        assert_eq!(counts[0], 0);
        assert_eq!(counts[4], n);
    }

    #[test]
    fn softplus_steps_agrees_with_the_elementwise_form() {
        let a: Vec<f32> = (0..37).map(|i| ((i as f32) * 0.77).sin() * 12.0).collect();
        for &(b0, b1) in &[(0.5, 0.5001), (0.2, 0.201), (0.0, 1.0), (0.3, 0.3)] {
            let p: Vec<f32> = a.iter().map(|&x| fast_sigmoid(b1 as f32 * x)).collect();
            let want: f64 = a.iter().zip(&p).map(|(&x, &q)| softplus_step(x as f64, q as f64, b0, b1)).sum();
            let got = softplus_steps(&a, &p, b0, b1);
            assert!((got - want).abs() < 1e-12 * (1.0 + want.abs()), "{b0}->{b1}: {got} vs {want}");
        }
    }

    #[test]
    fn paper_schedule_has_the_papers_steps() {
        let s = BetaSchedule::salakhutdinov_murray();
        assert_eq!(s.len(), 14_501);
        assert_eq!(BetaSchedule::SALAKHUTDINOV_MURRAY_LEN, s.len());
        assert_eq!(s.betas()[0], 0.0);
        assert_eq!(s.betas()[500], 0.5);
        assert_eq!(s.betas()[4_500], 0.9);
        assert_eq!(*s.betas().last().unwrap(), 1.0);
        assert!(BetaSchedule::from_betas(s.betas().to_vec()).is_ok());
    }
}
