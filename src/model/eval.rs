//! Model quality measures, all pure math: the exact log partition function of small RBMs, the
//! average log-likelihood (exact or with an AIS estimate of log Z, see [`super::ais`]), scikit-learn's
//! pseudo-likelihood, the free-energy gap between held-out and training data, the mean-field
//! reconstruction error, and the standard stochastic binarisation of MNIST.
//!
//! Threads: every function that takes a [`Threads`] argument runs its parallel parts on a
//! [`MathPool`](super::pool::MathPool) of that many threads, built for the call unless the caller
//! is already on one of that size (so it never competes with, or depends on, rayon's global pool),
//! and returns the same numbers whatever the thread count: partial results are collected in order
//! and summed sequentially.
//!
//! Data: a batch is `rows` binary (or [0, 1]) visible vectors, row-major `rows x V` f32.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use thiserror::Error;

use super::linalg::{self, Threads};
use super::pool::on_math_pool;
use super::rbm::{Rbm, softplus};
use super::rng::uniform_f32;

/// The largest layer [`exact_log_z`] enumerates (2^24 states).
pub const MAX_EXACT_UNITS: usize = 24;

/// What can go wrong while evaluating a model.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EvalError {
    #[error(
        "exact log Z enumerates the smaller layer, which must have at most {max} units (this model is \
         {visible}x{hidden}); estimate log Z with AIS instead"
    )]
    TooLarge { visible: usize, hidden: usize, max: usize },
    #[error("cancelled")]
    Cancelled,
    #[error("AIS needs at least one run")]
    NoRuns,
    #[error("{what} has {got} values but the model needs {expected}")]
    Shape { what: &'static str, expected: usize, got: usize },
    #[error("{0} must be finite")]
    NotFinite(&'static str),
    #[error("invalid inverse-temperature schedule: {0}")]
    Schedule(&'static str),
    #[error("AIS needs at least 2 runs, since its interval needs a spread (got {0})")]
    TooFewRuns(usize),
    #[error("the number of images to evaluate must be at least 1")]
    NoImages,
    #[error(
        "the {set} set has no images to evaluate (a folder without test files holds out a sixth of its training \
         images, none when it has fewer than 6); use a dataset with test files or more images"
    )]
    EmptySet { set: &'static str },
    #[error("threads must be between 1 and {} (got {threads})", crate::limits::MAX_THREADS)]
    Threads { threads: usize },
    /// The settings ask for more than rbm-lab's limits allow.
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitError),
}

/// A running log-sum-exp: log Σ exp(x) = max + ln(sum), with sum of exp(x − max).
#[derive(Clone, Copy, Debug)]
struct LogSumExp {
    max: f64,
    sum: f64,
}

impl LogSumExp {
    const EMPTY: Self = Self { max: f64::NEG_INFINITY, sum: 0.0 };

    fn push(&mut self, x: f64) {
        if x <= self.max {
            self.sum += (x - self.max).exp();
        } else {
            self.sum = self.sum * (self.max - x).exp() + 1.0;
            self.max = x;
        }
    }

    fn merge(self, other: Self) -> Self {
        if other.sum == 0.0 {
            return self;
        }
        if self.sum == 0.0 {
            return other;
        }
        let max = self.max.max(other.max);
        Self { max, sum: self.sum * (self.max - max).exp() + other.sum * (other.max - max).exp() }
    }

    fn value(self) -> f64 {
        self.max + self.sum.ln()
    }
}

/// log Σ exp(x), stably; −inf for an empty slice.
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + xs.iter().map(|&x| (x - max).exp()).sum::<f64>().ln()
}

/// Σ_i softplus(x_i) = Σ max(x_i, 0) + ln Π (1 + e^{−|x_i|}). Each factor is in (1, 2], so a product
/// of 512 factors stays below 2^512 and one logarithm per block replaces one per element. The
/// products and sums are split over independent lanes so that the loop vectorises.
#[inline(always)]
fn softplus_sum(x: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut positive = [0.0f64; LANES];
    let mut logs = 0.0;
    for block in x.chunks(512) {
        let mut product = [1.0f64; LANES];
        let chunks = block.chunks_exact(LANES);
        let rest = chunks.remainder();
        for xs in chunks {
            for l in 0..LANES {
                positive[l] += xs[l].max(0.0);
                product[l] *= 1.0 + exp_nonpositive(-xs[l].abs());
            }
        }
        let mut tail = 1.0f64;
        for &xi in rest {
            positive[0] += xi.max(0.0);
            tail *= 1.0 + exp_nonpositive(-xi.abs());
        }
        // Eight lanes of at most 64 factors each: every partial product is below 2^64.
        logs += product.iter().map(|p| p.ln()).sum::<f64>() + tail.ln();
    }
    positive.iter().sum::<f64>() + logs
}

/// e^x for x ≤ 0 in f64, branch-free so that loops over it vectorise: x = n ln2 + f with
/// |f| ≤ ln2/2 (Cody-Waite, two-part ln2), a degree-13 Taylor polynomial for e^f (truncation below
/// 1e-17 relative) and 2^n built in the exponent bits. x is clamped to −708 (e^−708 ≈ 3e−308, far
/// below what 1 + e^x can resolve); relative error within a few ulps.
#[inline(always)]
fn exp_nonpositive(x: f64) -> f64 {
    // 1.5·2^52: adding it rounds to an integer, which then sits in the low mantissa bits.
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000); // fdlibm's ln2_hi, 0.693147180369…
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // ln2 − ln2_hi, 1.9082149e−10
    let x = x.max(-708.0);
    let shifted = x * std::f64::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let f = (x - n * LN2_HI) - n * LN2_LO;
    let mut poly = 1.0 / 6_227_020_800.0; // 1/13!
    for k in (1..13).rev() {
        poly = poly * f + INVERSE_FACTORIALS[k];
    }
    let poly = poly * f + 1.0;
    let n_int = shifted.to_bits() as i64 - ROUNDER.to_bits() as i64;
    poly * f64::from_bits(((n_int + 1023) << 52) as u64)
}

/// 1/k! for k = 0..12.
const INVERSE_FACTORIALS: [f64; 13] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
];

/// States per enumeration task: 2^12, so 784x20 makes 256 tasks.
const CHUNK_BITS: usize = 12;

/// Exact log Z of `rbm`, in f64.
///
/// Enumerates the smaller layer (the hidden one on a tie) and sums the other out analytically:
/// with H ≤ V, log Z = logsumexp over h of [b_h·h + Σ_i softplus(b_v,i + (W h)_i)]; with V < H,
/// log Z = logsumexp over v of [b_v·v + Σ_j softplus(b_h,j + (vᵀW)_j)] = logsumexp(−F(v)). States are
/// visited in Gray-code order so that each one costs one column update of the pre-activations, in
/// 2^12-state tasks spread over `threads` threads (the inner loop is compiled for AVX2 too, and picked
/// at run time). 784x20 (2^20 states) costs about 1.5 s of CPU time on this project's machine with
/// AVX2 (2.7 s with SSE2 only), divided over the threads.
///
/// # Errors
/// [`EvalError::TooLarge`] when both layers have more than [`MAX_EXACT_UNITS`] units,
/// [`EvalError::NotFinite`] when a parameter is NaN or infinite.
pub fn exact_log_z(rbm: &Rbm, threads: Threads) -> Result<f64, EvalError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    if nv.min(nh) > MAX_EXACT_UNITS {
        return Err(EvalError::TooLarge { visible: nv, hidden: nh, max: MAX_EXACT_UNITS });
    }
    if !rbm.is_finite() {
        return Err(EvalError::NotFinite("the model's parameters"));
    }
    let w = rbm.weights_slice();
    let b_v: Vec<f64> = rbm.visible_bias().iter().map(|&b| b as f64).collect();
    let b_h: Vec<f64> = rbm.hidden_bias().iter().map(|&b| b as f64).collect();
    let (flip_rows, enumerated_bias, other_bias) = if nh <= nv {
        // Flipping h_j adds column j of W to the visible pre-activations.
        let columns: Vec<f64> = (0..nh).flat_map(|j| (0..nv).map(move |i| w[i * nh + j] as f64)).collect();
        (columns, b_h, b_v)
    } else {
        (w.iter().map(|&x| x as f64).collect(), b_v, b_h)
    };
    Ok(on_math_pool(threads, || log_z_by_enumeration(&flip_rows, &enumerated_bias, &other_bias)))
}

/// log Σ_s exp(e·s + Σ_i softplus(o_i + (Rᵀ s)_i)) over all binary s of length n = e.len(), where R
/// (`flip_rows`) is n x m row-major and m = o.len().
fn log_z_by_enumeration(flip_rows: &[f64], enumerated_bias: &[f64], other_bias: &[f64]) -> f64 {
    let n = enumerated_bias.len();
    let chunk_bits = n.min(CHUNK_BITS);
    let chunks = 1u64 << (n - chunk_bits);
    let partials: Vec<LogSumExp> = (0..chunks)
        .into_par_iter()
        .map(|c| enumerate_chunk_dispatch(c << chunk_bits, 1u64 << chunk_bits, flip_rows, enumerated_bias, other_bias))
        .collect();
    partials.into_iter().fold(LogSumExp::EMPTY, LogSumExp::merge).value()
}

/// [`enumerate_chunk`] compiled for AVX2 when the CPU has it (4 f64 lanes instead of SSE2's 2).
fn enumerate_chunk_dispatch(
    start: u64,
    len: u64,
    flip_rows: &[f64],
    enumerated_bias: &[f64],
    other_bias: &[f64],
) -> LogSumExp {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { enumerate_chunk_avx2(start, len, flip_rows, enumerated_bias, other_bias) };
    }
    enumerate_chunk(start, len, flip_rows, enumerated_bias, other_bias)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn enumerate_chunk_avx2(
    start: u64,
    len: u64,
    flip_rows: &[f64],
    enumerated_bias: &[f64],
    other_bias: &[f64],
) -> LogSumExp {
    enumerate_chunk(start, len, flip_rows, enumerated_bias, other_bias)
}

/// The log-sum-exp of the terms of Gray-code indices `start .. start + len`.
#[inline(always)]
fn enumerate_chunk(start: u64, len: u64, flip_rows: &[f64], enumerated_bias: &[f64], other_bias: &[f64]) -> LogSumExp {
    let m = other_bias.len();
    let gray = |k: u64| k ^ (k >> 1);
    let first = gray(start);
    let mut x = other_bias.to_vec();
    let mut linear = 0.0f64;
    for (j, &bias) in enumerated_bias.iter().enumerate() {
        if (first >> j) & 1 == 1 {
            x.iter_mut().zip(&flip_rows[j * m..(j + 1) * m]).for_each(|(xi, &r)| *xi += r);
            linear += bias;
        }
    }
    let mut acc = LogSumExp::EMPTY;
    let end = start + len;
    for k in start..end {
        acc.push(linear + softplus_sum(&x));
        let next = k + 1;
        if next < end {
            let bit = next.trailing_zeros() as usize;
            let row = &flip_rows[bit * m..(bit + 1) * m];
            if (gray(next) >> bit) & 1 == 1 {
                x.iter_mut().zip(row).for_each(|(xi, &r)| *xi += r);
                linear += enumerated_bias[bit];
            } else {
                x.iter_mut().zip(row).for_each(|(xi, &r)| *xi -= r);
                linear -= enumerated_bias[bit];
            }
        }
    }
    acc
}

fn check_batch(rbm: &Rbm, data: &[f32], rows: usize) {
    assert!(rows > 0, "a batch needs at least one row");
    assert_eq!(data.len(), rows * rbm.n_visible(), "data must hold rows x {} values", rbm.n_visible());
}

/// F(v) of every row, in f64 (`Rbm::free_energy`), in row order.
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
pub fn free_energies(rbm: &Rbm, data: &[f32], rows: usize, threads: Threads) -> Vec<f64> {
    check_batch(rbm, data, rows);
    free_energies_with(&F64Parameters::of(rbm), data, threads)
}

/// [`free_energies`] with the f64 parameters already made (callers with several data sets).
fn free_energies_with(params: &F64Parameters, data: &[f32], threads: Threads) -> Vec<f64> {
    let (nv, nh) = (params.nv, params.nh);
    on_math_pool(threads, || {
        data.par_chunks(nv * F64_BLOCK)
            .flat_map_iter(|block| {
                let pre = params.hidden_inputs(block);
                let energies: Vec<f64> = block
                    .chunks_exact(nv)
                    .zip(pre.chunks_exact(nh))
                    .map(|(v, pre)| -params.visible_term(v) - softplus_sum(pre))
                    .collect();
                energies
            })
            .collect()
    })
}

/// Rows per f64 product in the batched free energies (64 x 500 f64 = 256 KB of pre-activations).
const F64_BLOCK: usize = 64;

/// The parameters in f64, for free energies of many rows through one f64 matrix product per block
/// (the same sums as `Rbm::free_energy`, in a different order: agreement to ~1e-12 relative).
struct F64Parameters {
    weights: Vec<f64>,
    visible_bias: Vec<f64>,
    hidden_bias: Vec<f64>,
    nv: usize,
    nh: usize,
}

impl F64Parameters {
    fn of(rbm: &Rbm) -> Self {
        Self {
            weights: rbm.weights_slice().iter().map(|&x| x as f64).collect(),
            visible_bias: rbm.visible_bias().iter().map(|&x| x as f64).collect(),
            hidden_bias: rbm.hidden_bias().iter().map(|&x| x as f64).collect(),
            nv: rbm.n_visible(),
            nh: rbm.n_hidden(),
        }
    }

    /// b_h + v W for every row of `block`, row-major rows x H.
    fn hidden_inputs(&self, block: &[f32]) -> Vec<f64> {
        let rows = block.len() / self.nv;
        let v: Vec<f64> = block.iter().map(|&x| x as f64).collect();
        let mut pre = vec![0.0; rows * self.nh];
        linalg::affine(&mut pre, &v, rows, &self.weights, self.nv, self.nh, &self.hidden_bias, Threads(1));
        pre
    }

    fn visible_term(&self, v: &[f32]) -> f64 {
        self.visible_bias.iter().zip(v).map(|(&b, &x)| b * x as f64).sum()
    }
}

/// Mean F(v) over the rows, in f64.
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
pub fn mean_free_energy(rbm: &Rbm, data: &[f32], rows: usize, threads: Threads) -> f64 {
    check_batch(rbm, data, rows);
    mean_free_energy_with(&F64Parameters::of(rbm), data, rows, threads)
}

fn mean_free_energy_with(params: &F64Parameters, data: &[f32], rows: usize, threads: Threads) -> f64 {
    free_energies_with(params, data, threads).iter().sum::<f64>() / rows as f64
}

/// Average log-likelihood in nats, mean over rows of log p(v) = −F(v) − log Z, given log Z (exact from
/// [`exact_log_z`] or estimated by [`super::ais::ais_log_z`]). Use binary data ([`binarise`]): the
/// RBM's distribution is over binary vectors.
///
/// # Panics
/// If `rows == 0` or `data_binary.len() != rows * V`.
pub fn average_log_likelihood(rbm: &Rbm, data_binary: &[f32], rows: usize, log_z: f64, threads: Threads) -> f64 {
    -mean_free_energy(rbm, data_binary, rows, threads) - log_z
}

/// [`average_log_likelihood`] with the exact log Z.
///
/// # Errors
/// [`EvalError::TooLarge`] as [`exact_log_z`].
///
/// # Panics
/// If `rows == 0` or `data_binary.len() != rows * V`.
pub fn exact_average_log_likelihood(
    rbm: &Rbm,
    data_binary: &[f32],
    rows: usize,
    threads: Threads,
) -> Result<f64, EvalError> {
    check_batch(rbm, data_binary, rows);
    let log_z = exact_log_z(rbm, threads)?;
    Ok(average_log_likelihood(rbm, data_binary, rows, log_z, threads))
}

/// The standard stochastic binarisation of grey images: each pixel is 1 with probability
/// intensity / 255, drawn once from one xoshiro256++ stream seeded with `seed` (pixel after pixel),
/// so the same seed always gives the same binary data set.
pub fn binarise(images: &[u8], seed: u64) -> Vec<f32> {
    let mut out = Vec::with_capacity(images.len());
    Binariser::new(seed).append(images, &mut out);
    out
}

/// [`binarise`] in pieces: binarising consecutive slices of the pixels, in order, gives the same
/// numbers as binarising them all at once, so that a large set need not be held in f32 at once.
pub struct Binariser {
    rng: Xoshiro256PlusPlus,
}

impl Binariser {
    pub fn new(seed: u64) -> Self {
        Self { rng: Xoshiro256PlusPlus::seed_from_u64(seed) }
    }

    /// Appends the binarised `pixels` to `out`.
    pub fn append(&mut self, pixels: &[u8], out: &mut Vec<f32>) {
        let rng = &mut self.rng;
        out.extend(pixels.iter().map(|&p| if uniform_f32(rng) < f32::from(p) / 255.0 { 1.0 } else { 0.0 }));
    }
}

/// f32 values binarised at a time by [`average_log_likelihood_of_images`] (16 MiB).
const CHUNK_VALUES: usize = 1 << 22;

/// [`average_log_likelihood`] of `rows` grey images (`pixels`, row-major rows x V bytes),
/// binarised as [`binarise`] with `seed` does. The images are binarised and summed a chunk of rows
/// at a time (a multiple of the rows of one f64 product, in order), so the result is the same
/// number as binarising the whole set first, while memory stays at one chunk whatever the number
/// of images.
///
/// # Panics
/// If `rows == 0` or `pixels.len() != rows * V`.
pub fn average_log_likelihood_of_images(
    rbm: &Rbm,
    pixels: &[u8],
    rows: usize,
    seed: u64,
    log_z: f64,
    threads: Threads,
) -> f64 {
    let nv = rbm.n_visible();
    assert!(rows > 0 && pixels.len() == rows * nv, "pixels must hold rows x {nv} values");
    let params = F64Parameters::of(rbm);
    let chunk_rows = (CHUNK_VALUES / nv / F64_BLOCK).max(1) * F64_BLOCK;
    let mut binariser = Binariser::new(seed);
    let mut binary = Vec::with_capacity(chunk_rows.min(rows) * nv);
    // Summed in row order from −0.0, as `Iterator::sum` over the whole set does.
    let mut total = -0.0f64;
    for chunk in pixels.chunks(chunk_rows * nv) {
        binary.clear();
        binariser.append(chunk, &mut binary);
        total = free_energies_with(&params, &binary, threads).iter().fold(total, |sum, &f| sum + f);
    }
    -(total / rows as f64) - log_z
}

/// Mean of each column (pixel) over the rows: the pixel marginals of a batch.
///
/// # Panics
/// If `width == 0`, `rows == 0` or `data.len() != rows * width`.
pub fn pixel_means(data: &[f32], rows: usize, width: usize) -> Vec<f32> {
    assert!(rows > 0 && width > 0 && data.len() == rows * width, "data must hold rows x width values");
    let mut sums = vec![0.0f64; width];
    for row in data.chunks_exact(width) {
        sums.iter_mut().zip(row).for_each(|(s, &x)| *s += x as f64);
    }
    sums.into_iter().map(|s| (s / rows as f64) as f32).collect()
}

/// Pseudo-likelihood per sample and its mean.
#[derive(Clone, Debug, PartialEq)]
pub struct PseudoLikelihood {
    pub per_sample: Vec<f64>,
    pub mean: f64,
}

/// scikit-learn's `BernoulliRBM.score_samples`: for each sample, flip one visible unit chosen
/// uniformly at random (v_i → 1 − v_i) and return V · log σ(F(ṽ) − F(v)), in f64. The flip indices
/// come from one xoshiro256++ stream seeded with `seed`, one draw per row in row order (so the values
/// are reproducible, though not the same numbers as numpy's generator).
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
pub fn pseudo_likelihood(rbm: &Rbm, data: &[f32], rows: usize, seed: u64, threads: Threads) -> PseudoLikelihood {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let nv = rbm.n_visible();
    let flips: Vec<usize> = (0..rows).map(|_| rng.random_range(0..nv)).collect();
    pseudo_likelihood_with_flips(rbm, data, rows, &flips, threads)
}

/// [`pseudo_likelihood`] with explicit flip indices, one per row.
///
/// # Panics
/// If `rows == 0`, `data.len() != rows * V`, `flips.len() != rows` or an index is `>= V`.
pub fn pseudo_likelihood_with_flips(
    rbm: &Rbm,
    data: &[f32],
    rows: usize,
    flips: &[usize],
    threads: Threads,
) -> PseudoLikelihood {
    check_batch(rbm, data, rows);
    let nv = rbm.n_visible();
    assert_eq!(flips.len(), rows, "one flip index per row");
    assert!(flips.iter().all(|&i| i < nv), "flip indices must be below {nv}");
    let params = F64Parameters::of(rbm);
    let per_sample: Vec<f64> = on_math_pool(threads, || {
        data.par_chunks(nv * F64_BLOCK)
            .zip(flips.par_chunks(F64_BLOCK))
            .flat_map_iter(|(block, flips)| {
                let pre = params.hidden_inputs(block);
                let values: Vec<f64> = block
                    .chunks_exact(nv)
                    .zip(pre.chunks_exact(params.nh))
                    .zip(flips)
                    .map(|((v, pre), &i)| {
                        let (f, f_flipped) = free_energy_and_flipped(&params, v, pre, i);
                        // V · log σ(x) = −V · softplus(−x)
                        -(nv as f64) * softplus(-(f_flipped - f))
                    })
                    .collect();
                values
            })
            .collect()
    });
    let mean = per_sample.iter().sum::<f64>() / rows as f64;
    PseudoLikelihood { per_sample, mean }
}

/// (F(v), F(ṽ)) where ṽ is v with unit `i` set to 1 − v_i, from v's hidden inputs `pre`: a
/// rank-one update gives the flipped vector's.
fn free_energy_and_flipped(params: &F64Parameters, v: &[f32], pre: &[f64], i: usize) -> (f64, f64) {
    let nh = params.nh;
    let visible_term = params.visible_term(v);
    let f = -visible_term - pre.iter().map(|&x| softplus(x)).sum::<f64>();
    let delta = (1.0 - v[i] as f64) - v[i] as f64;
    let row = &params.weights[i * nh..(i + 1) * nh];
    let flipped_sum: f64 = pre.iter().zip(row).map(|(&p, &wij)| softplus(p + delta * wij)).sum();
    let f_flipped = -(visible_term + delta * params.visible_bias[i]) - flipped_sum;
    (f, f_flipped)
}

/// Mean free energies of a training subset and a held-out set of the same size, and their gap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FreeEnergyGap {
    pub train_mean: f64,
    pub held_out_mean: f64,
    /// `held_out_mean − train_mean`: grows when the model overfits (training data gets lower free
    /// energy, i.e. higher unnormalised probability, than unseen data).
    pub gap: f64,
}

/// The overfitting monitor of Hinton's practical guide: mean F on held-out data minus mean F on a
/// training subset of the same size (`rows` rows each).
///
/// # Panics
/// If `rows == 0` or either slice is not `rows * V` long.
pub fn free_energy_gap(rbm: &Rbm, train: &[f32], held_out: &[f32], rows: usize, threads: Threads) -> FreeEnergyGap {
    check_batch(rbm, train, rows);
    check_batch(rbm, held_out, rows);
    let params = F64Parameters::of(rbm);
    let train_mean = mean_free_energy_with(&params, train, rows, threads);
    let held_out_mean = mean_free_energy_with(&params, held_out, rows, threads);
    FreeEnergyGap { train_mean, held_out_mean, gap: held_out_mean - train_mean }
}

/// Mean-field one-step reconstruction error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReconstructionError {
    /// mean over all pixels of (v − r)²
    pub mse: f64,
    /// mean over all pixels of |v − r|
    pub l1: f64,
}

/// Rows per batch of [`reconstruction_error`] (bounds the memory to a few MB).
const RECONSTRUCTION_BATCH: usize = 1024;

/// Reconstruction error between v and r = p(v | p(h | v)) (probabilities both ways, no sampling).
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
pub fn reconstruction_error(rbm: &Rbm, data: &[f32], rows: usize, threads: Threads) -> ReconstructionError {
    check_batch(rbm, data, rows);
    let nv = rbm.n_visible();
    let (squared, absolute) = on_math_pool(threads, || {
        let mut squared = 0.0f64;
        let mut absolute = 0.0f64;
        for batch in data.chunks(RECONSTRUCTION_BATCH * nv) {
            let n = batch.len() / nv;
            let hidden = rbm.hidden_probabilities(batch, n, threads);
            let reconstruction = rbm.visible_probabilities(&hidden, n, threads);
            for (&v, &r) in batch.iter().zip(&reconstruction) {
                let d = (v - r) as f64;
                squared += d * d;
                absolute += d.abs();
            }
        }
        (squared, absolute)
    });
    let count = (rows * nv) as f64;
    ReconstructionError { mse: squared / count, l1: absolute / count }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpositive_is_accurate_to_a_few_ulps() {
        let mut x = 0.0f64;
        while x > -745.0 {
            let want = x.exp();
            let got = exp_nonpositive(x);
            if x >= -708.0 {
                assert!(((got - want) / want).abs() < 1e-15, "exp({x}) = {got:e}, want {want:e}");
            } else {
                assert!(got < 4e-308);
            }
            x -= 0.0173;
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), exp_nonpositive(-708.0));
    }

    #[test]
    fn softplus_sum_matches_the_direct_sum() {
        let x: Vec<f64> = (0..1500).map(|i| ((i as f64) * 0.37).sin() * 40.0 - 3.0).collect();
        for len in [0, 1, 7, 8, 9, 511, 512, 513, 1500] {
            let want: f64 = x[..len].iter().map(|&v| softplus(v)).sum();
            let got = softplus_sum(&x[..len]);
            assert!((got - want).abs() < 1e-12 * (1.0 + want.abs()), "len {len}: {got} vs {want}");
        }
    }
}
