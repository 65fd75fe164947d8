//! Inpainting: the RBM completes the hidden part of an image given the part that is known.
//!
//! A [`Mask`] says which pixels are known (v_k) and which are hidden (v_u). A
//! [`CompletionSampler`] runs one of three dynamics on a batch of images, one step at a time, so
//! that a view can show every step:
//!
//! - **clamped Gibbs** samples the true conditional p(v_u | v_k): h ~ p(h | v), then
//!   v_u ~ p(v_u | h); the known pixels are never written. Its stationary distribution is
//!   p(v_u | v_k), and the running average of p(v_u | h) over the steps estimates the conditional
//!   marginals p(v_i = 1 | v_k) (the completion shown).
//! - **mean-field** iterates μ_u ← σ(b_u + W_u σ(b_h + Wᵀ[v_k; μ_u])) (optionally damped) to a fixed
//!   point: deterministic, and converged when one more iteration moves no hidden pixel by tol.
//! - **free** Gibbs from the same start, every pixel resampled: what the model does without the
//!   known pixels, for comparison.
//!
//! The conditional log-probability of the hidden pixels of a binary image,
//!   log p(v_u | v_k) = −F(v) − log Σ_{v_u'} exp(−F(v_k, v_u')),
//! is the log-likelihood of v_u under the *conditional RBM*: clamping v_k leaves an RBM over v_u with
//! weights W_u, visible biases b_u and hidden biases c = b_h + W_kᵀ v_k, since
//!   −F(v) = b_k·v_k + b_u·v_u + Σ_j softplus(c_j + (v_uᵀ W_u)_j) = b_k·v_k − F_c(v_u)
//! and the b_k·v_k term cancels. So its log Z is exact by enumeration when either of its layers is
//! small, and otherwise estimated by AIS ([`super::ais`]) on that smaller RBM, with the estimate's
//! ±3σ interval.
//!
//! Everything here is pure math: the sampler owns its random streams (one per image, as
//! [`RowStreams`]), so a seed gives the same numbers on any number of threads.

use rand::{Rng, RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use thiserror::Error;

use super::ais::{AisConfig, BASE_RATE_CLAMP, ais_log_z, base_rate_visible_bias};
use super::eval::{EvalError, exact_log_z};
use super::linalg::{self, Threads};
use super::pool::MathPool;
use super::rbm::{Rbm, softplus};
use super::rng::{RowStreams, uniform_pair_from_bits};
use super::sampling;

/// Both layers of a conditional RBM above this many units: log Z by AIS instead of enumeration
/// (2^20 states of the smaller layer take about a second per image).
pub const EXACT_CONDITIONAL_UNITS: usize = 20;

/// What can go wrong when completing images.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InpaintError {
    #[error("{what} has {got} values but {expected} are needed")]
    Shape { what: &'static str, expected: usize, got: usize },
    #[error("{values} values are not a whole number of {visible}-pixel images (and at least one)")]
    ImageBatch { values: usize, visible: usize },
    #[error("there are {masks} masks for {images} images: give one mask for all or one per image")]
    MaskCount { masks: usize, images: usize },
    #[error("the fraction of hidden pixels must be between 0 and 1 (got {0})")]
    Fraction(f64),
    #[error("the salt-and-pepper rate must be between 0 and 1 (got {0})")]
    Rate(f64),
    #[error("a box needs a width and height of at least 1 pixel (got {width}x{height})")]
    EmptyBox { width: usize, height: usize },
    #[error("the box at x={x}, y={y} of {width}x{height} pixels does not fit in a {cols}x{rows} image")]
    BoxOutside { x: usize, y: usize, width: usize, height: usize, rows: usize, cols: usize },
    #[error("{0} must be finite")]
    NotFinite(&'static str),
    #[error("{what} must be between 0 and 1 (found {value})")]
    OutOfRange { what: &'static str, value: f32 },
    #[error("pixel {index} is {value}: log p(v_u | v_k) is defined for binary images (every pixel 0 or 1)")]
    NotBinary { index: usize, value: f32 },
    #[error("damping must be at least 0 and below 1 (got {0})")]
    Damping(f32),
    #[error("the mean-field tolerance must be positive (got {0})")]
    Tolerance(f32),
    #[error("the model is {visible}x{hidden} but the sampler was made for {want_visible}x{want_hidden}")]
    ModelShape { visible: usize, hidden: usize, want_visible: usize, want_hidden: usize },
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// Which half of an image is hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Half {
    Top,
    Bottom,
    Left,
    Right,
}

/// Which pixels of an image are known (clamped) and which are hidden (to be completed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    known: Vec<bool>,
}

impl Mask {
    /// Every one of `len` pixels known.
    pub fn all_known(len: usize) -> Self {
        Self { known: vec![true; len] }
    }

    /// From a boolean image: `known[i]` is true where pixel i is known.
    pub fn from_known(known: Vec<bool>) -> Self {
        Self { known }
    }

    /// A `rows x cols` image with one half hidden: the top `rows / 2` rows, the bottom `rows / 2`,
    /// the left `cols / 2` columns or the right `cols / 2` (an odd middle line stays known).
    pub fn hide_half(rows: usize, cols: usize, half: Half) -> Self {
        let known = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                match half {
                    Half::Top => r >= rows / 2,
                    Half::Bottom => r < rows - rows / 2,
                    Half::Left => c >= cols / 2,
                    Half::Right => c < cols - cols / 2,
                }
            })
            .collect();
        Self { known }
    }

    /// A `rows x cols` image with the box of `width x height` pixels whose top-left pixel is column
    /// `x`, row `y` hidden.
    ///
    /// # Errors
    /// [`InpaintError::EmptyBox`], or [`InpaintError::BoxOutside`] for a box that does not fit.
    pub fn hide_box(
        rows: usize,
        cols: usize,
        x: usize,
        y: usize,
        width: usize,
        height: usize,
    ) -> Result<Self, InpaintError> {
        if width == 0 || height == 0 {
            return Err(InpaintError::EmptyBox { width, height });
        }
        let fits = |start: usize, size: usize, limit: usize| start.checked_add(size).is_some_and(|end| end <= limit);
        if !fits(x, width, cols) || !fits(y, height, rows) {
            return Err(InpaintError::BoxOutside { x, y, width, height, rows, cols });
        }
        let known = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                !((y..y + height).contains(&r) && (x..x + width).contains(&c))
            })
            .collect();
        Ok(Self { known })
    }

    /// `len` pixels of which exactly round(`hidden_fraction` · len) are hidden, chosen uniformly at
    /// random from a stream seeded with `seed`.
    ///
    /// # Errors
    /// [`InpaintError::Fraction`] unless 0 ≤ `hidden_fraction` ≤ 1.
    pub fn hide_random(len: usize, hidden_fraction: f64, seed: u64) -> Result<Self, InpaintError> {
        Self::hide_random_with(len, hidden_fraction, &mut Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// [`Mask::hide_random`] drawing from `rng` (for one mask per image from one stream).
    ///
    /// # Errors
    /// [`InpaintError::Fraction`] unless 0 ≤ `hidden_fraction` ≤ 1.
    pub fn hide_random_with<R: Rng + ?Sized>(
        len: usize,
        hidden_fraction: f64,
        rng: &mut R,
    ) -> Result<Self, InpaintError> {
        if !(0.0..=1.0).contains(&hidden_fraction) {
            return Err(InpaintError::Fraction(hidden_fraction));
        }
        let hidden = ((hidden_fraction * len as f64).round() as usize).min(len);
        // The first `hidden` places of a partial Fisher–Yates shuffle: a uniform subset.
        let mut order: Vec<usize> = (0..len).collect();
        for i in 0..hidden {
            let j = rng.random_range(i..len);
            order.swap(i, j);
        }
        let mut known = vec![true; len];
        for &i in &order[..hidden] {
            known[i] = false;
        }
        Ok(Self { known })
    }

    /// Number of pixels.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// One flag per pixel, true where known.
    pub fn known(&self) -> &[bool] {
        &self.known
    }

    /// True where pixel `i` is hidden (false outside the image).
    pub fn is_hidden(&self, i: usize) -> bool {
        self.known.get(i).is_some_and(|&k| !k)
    }

    /// Hides or reveals pixel `i` (ignored outside the image), as a brush does.
    pub fn set_hidden(&mut self, i: usize, hidden: bool) {
        if let Some(k) = self.known.get_mut(i) {
            *k = !hidden;
        }
    }

    pub fn hidden_count(&self) -> usize {
        self.known.iter().filter(|&&k| !k).count()
    }

    /// The hidden pixels' indices, in increasing order.
    pub fn hidden_indices(&self) -> Vec<usize> {
        self.known.iter().enumerate().filter(|(_, k)| !**k).map(|(i, _)| i).collect()
    }
}

/// Salt-and-pepper noise: each pixel is hit with probability `rate` (drawn from a stream seeded
/// with `seed`), and a hit pixel becomes 0 or 1 with equal probability. Returns the corrupted image
/// and the mask whose hidden pixels are the hit ones (to clamp only the pixels known to be intact,
/// or to run free chains from the corrupted image).
///
/// # Errors
/// [`InpaintError::Rate`] unless 0 ≤ `rate` ≤ 1.
pub fn salt_and_pepper(image: &[f32], rate: f64, seed: u64) -> Result<(Vec<f32>, Mask), InpaintError> {
    if !(0.0..=1.0).contains(&rate) {
        return Err(InpaintError::Rate(rate));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut corrupted = image.to_vec();
    let mut known = vec![true; image.len()];
    for (x, k) in corrupted.iter_mut().zip(&mut known) {
        if rng.random_bool(rate) {
            *x = if rng.random_bool(0.5) { 1.0 } else { 0.0 };
            *k = false;
        }
    }
    Ok((corrupted, Mask { known }))
}

/// Which dynamics a [`CompletionSampler`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CompletionMode {
    /// Block Gibbs sampling of p(v_u | v_k) with Bernoulli visibles; known pixels never written.
    #[default]
    ClampedGibbs,
    /// Deterministic mean-field iteration of p(v_u | h) to a fixed point.
    MeanField,
    /// Unclamped Gibbs sampling from the same start: every pixel resampled.
    Free,
}

/// What the hidden pixels hold before the first step.
#[derive(Clone, Debug, PartialEq)]
pub enum StartFill {
    /// The images' own values (a corrupted image as it is).
    Keep,
    /// One value for every hidden pixel.
    Constant(f32),
    /// A value per pixel (the training pixel means, say), `V` of them.
    PerPixel(Vec<f32>),
}

/// How a [`CompletionSampler`] runs.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionConfig {
    pub mode: CompletionMode,
    /// Seeds the images' random streams (one xoshiro256++ stream per image).
    pub seed: u64,
    pub fill: StartFill,
    /// Gibbs steps left out of the running average (the chain forgetting its start).
    pub burn_in: u64,
    /// Mean-field: the fraction λ of the old value kept, μ ← λ μ + (1 − λ) p; 0 is no damping.
    pub damping: f32,
    /// Mean-field: an image has converged when one iteration would move none of its hidden pixels
    /// by this much.
    pub tolerance: f32,
}

impl Default for CompletionConfig {
    fn default() -> Self {
        Self {
            mode: CompletionMode::ClampedGibbs,
            seed: 0,
            fill: StartFill::Constant(0.5),
            burn_in: 0,
            damping: 0.0,
            tolerance: 1e-4,
        }
    }
}

impl CompletionConfig {
    fn check(&self, n_visible: usize) -> Result<(), InpaintError> {
        if !(0.0..1.0).contains(&self.damping) {
            return Err(InpaintError::Damping(self.damping));
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err(InpaintError::Tolerance(self.tolerance));
        }
        match &self.fill {
            StartFill::Keep => Ok(()),
            StartFill::Constant(x) => check_unit_interval("the start value", std::slice::from_ref(x)),
            StartFill::PerPixel(values) => {
                check_len("the start values", values.len(), n_visible)?;
                check_unit_interval("the start values", values)
            }
        }
    }
}

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<(), InpaintError> {
    if got == expected { Ok(()) } else { Err(InpaintError::Shape { what, expected, got }) }
}

fn check_unit_interval(what: &'static str, values: &[f32]) -> Result<(), InpaintError> {
    match values.iter().find(|x| !(0.0..=1.0).contains(*x)) {
        Some(x) if !x.is_finite() => Err(InpaintError::NotFinite(what)),
        Some(&value) => Err(InpaintError::OutOfRange { what, value }),
        None => Ok(()),
    }
}

/// Statistics of the sampler's current state, one value per image.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionStats {
    /// Steps made since the start.
    pub step: u64,
    /// F(v) of each image's current state (for mean-field, F at the real-valued μ).
    pub free_energy: Vec<f64>,
    /// Mean |v_i − original_i| over each image's hidden pixels, for the current state; `None`
    /// without originals. 0 for an image with no hidden pixel.
    pub state_error: Option<Vec<f64>>,
    /// The same for the completion estimate ([`CompletionSampler::estimate`]).
    pub estimate_error: Option<Vec<f64>>,
    /// Mean-field only, after a step: max |p(v_i | h) − μ_i| over each image's hidden pixels at its
    /// current state, how far one more iteration would move it.
    pub residual: Option<Vec<f32>>,
}

impl CompletionStats {
    pub fn mean_free_energy(&self) -> f64 {
        mean(&self.free_energy)
    }
    pub fn mean_state_error(&self) -> Option<f64> {
        self.state_error.as_deref().map(mean)
    }
    pub fn mean_estimate_error(&self) -> Option<f64> {
        self.estimate_error.as_deref().map(mean)
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

/// Images per block of a step. The block, not the thread count, fixes the shape of every matrix
/// product (`gemm` sums a single row in another order than several), so that one thread or many
/// give the same bits; 16 rows keep the products efficient (as the trainer's blocks are).
pub const ROW_BLOCK: usize = 16;

/// Completes a batch of images with one of the [`CompletionMode`]s, a step at a time.
///
/// It owns a copy of the model (and Wᵀ, so that both products of a step read contiguous rows); a
/// newer model is taken with [`CompletionSampler::set_model`]. Buffers are `rows x V` row-major.
/// The pixels of [`CompletionSampler::state`], [`CompletionSampler::probabilities`] and
/// [`CompletionSampler::estimate`] that a step does not resample (the known ones, except in free
/// mode) keep their given values, so every image shown is a complete picture.
///
/// A view drives it from its own thread (it is `Send`): [`CompletionSampler::step`] inside a pool
/// ([`MathPool::run`]), then [`CompletionSampler::state`], [`CompletionSampler::probabilities`],
/// [`CompletionSampler::estimate`] and [`CompletionSampler::stats`] for what to show, and
/// [`top_hidden_units`] of [`CompletionSampler::model`] at an image's state for why; an edited image
/// or mask is a new sampler (cheap: one copy of the model).
#[derive(Clone, Debug)]
pub struct CompletionSampler {
    config: CompletionConfig,
    model: Rbm,
    weights_t: Vec<f32>,
    rows: usize,
    masks: Vec<Mask>,
    /// The pixels each step writes, per mask (one list for free mode: every pixel).
    resampled: Vec<Vec<usize>>,
    start: Vec<f32>,
    originals: Option<Vec<f32>>,
    state: Vec<f32>,
    probabilities: Vec<f32>,
    /// Σ p(v|h) over the averaged steps (f64, so that long runs do not drift) and its mean.
    average_sum: Vec<f64>,
    average: Vec<f32>,
    averaged_steps: u64,
    /// b_h + vW of the current state: the next step's hidden input and F(v)'s hidden part.
    hidden_inputs: Vec<f32>,
    hidden: Vec<f32>,
    visible_inputs: Vec<f32>,
    residual: Vec<f32>,
    /// One stream per image.
    streams: Vec<Xoshiro256PlusPlus>,
    steps: u64,
}

impl CompletionSampler {
    /// A sampler for `images` (rows x V, values in [0, 1]) whose known pixels are given by `masks`
    /// (one mask for every image, or one per image); the hidden pixels start as `config.fill` says.
    ///
    /// # Errors
    /// Shape errors, values outside [0, 1], a model with non-finite parameters, bad damping or
    /// tolerance.
    pub fn new(rbm: &Rbm, images: Vec<f32>, masks: Vec<Mask>, config: CompletionConfig) -> Result<Self, InpaintError> {
        let rows = images.len() / rbm.n_visible().max(1);
        let streams = RowStreams::new(config.seed, rows).streams_mut().to_vec();
        Self::with_streams(rbm, images, masks, config, streams)
    }

    /// [`CompletionSampler::new`] with given streams (one per image), so that a large set scored in
    /// parts draws the same numbers as in one batch.
    fn with_streams(
        rbm: &Rbm,
        mut images: Vec<f32>,
        masks: Vec<Mask>,
        config: CompletionConfig,
        streams: Vec<Xoshiro256PlusPlus>,
    ) -> Result<Self, InpaintError> {
        let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
        if !rbm.is_finite() {
            return Err(InpaintError::NotFinite("the model's parameters"));
        }
        if images.is_empty() || !images.len().is_multiple_of(nv) {
            return Err(InpaintError::ImageBatch { values: images.len(), visible: nv });
        }
        let rows = images.len() / nv;
        check_len("the random streams", streams.len(), rows)?;
        check_unit_interval("the images", &images)?;
        check_masks(&masks, rows, nv)?;
        config.check(nv)?;
        for (r, image) in images.chunks_exact_mut(nv).enumerate() {
            let mask = mask_for(&masks, r);
            for (i, x) in image.iter_mut().enumerate().filter(|(i, _)| !mask.known[*i]) {
                match &config.fill {
                    StartFill::Keep => {}
                    StartFill::Constant(value) => *x = *value,
                    StartFill::PerPixel(values) => *x = values[i],
                }
            }
        }
        let resampled = match config.mode {
            CompletionMode::Free => vec![(0..nv).collect()],
            _ => masks.iter().map(Mask::hidden_indices).collect(),
        };
        let mut sampler = Self {
            model: rbm.clone(),
            weights_t: vec![0.0; nv * nh],
            rows,
            resampled,
            masks,
            originals: None,
            state: images.clone(),
            probabilities: images.clone(),
            average_sum: vec![0.0; rows * nv],
            average: images.clone(),
            averaged_steps: 0,
            start: images,
            hidden_inputs: vec![0.0; rows * nh],
            hidden: vec![0.0; rows * nh],
            visible_inputs: vec![0.0; rows * nv],
            residual: vec![f32::INFINITY; rows],
            streams,
            steps: 0,
            config,
        };
        sampler.transpose_weights();
        sampler.refresh_hidden_inputs();
        Ok(sampler)
    }

    /// The original images (rows x V) the hidden pixels are compared with in
    /// [`CompletionSampler::stats`].
    ///
    /// # Errors
    /// A shape error, or values that are not finite.
    pub fn with_originals(mut self, originals: Vec<f32>) -> Result<Self, InpaintError> {
        check_len("the original images", originals.len(), self.start.len())?;
        if !originals.iter().all(|x| x.is_finite()) {
            return Err(InpaintError::NotFinite("the original images"));
        }
        self.originals = Some(originals);
        Ok(self)
    }

    /// Continues with `rbm` (a newer snapshot of the model being trained, say) from the current
    /// state; the running average and the step count go on.
    ///
    /// # Errors
    /// [`InpaintError::ModelShape`] for another shape, [`InpaintError::NotFinite`]; the sampler is
    /// unchanged then.
    pub fn set_model(&mut self, rbm: &Rbm) -> Result<(), InpaintError> {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        if rbm.n_visible() != nv || rbm.n_hidden() != nh {
            return Err(InpaintError::ModelShape {
                visible: rbm.n_visible(),
                hidden: rbm.n_hidden(),
                want_visible: nv,
                want_hidden: nh,
            });
        }
        if !rbm.is_finite() {
            return Err(InpaintError::NotFinite("the model's parameters"));
        }
        rbm.copy_into(&mut self.model);
        self.transpose_weights();
        self.refresh_hidden_inputs();
        Ok(())
    }

    fn transpose_weights(&mut self) {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        linalg::transpose_into(self.model.weights_slice(), nv, nh, &mut self.weights_t, Threads(1));
    }

    /// The hidden inputs of the current state; mean-field convergence is unknown again.
    fn refresh_hidden_inputs(&mut self) {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let (w, b_h) = (self.model.weights_slice(), self.model.hidden_bias().as_slice().unwrap_or(&[]));
        linalg::affine(&mut self.hidden_inputs, &self.state, self.rows, w, nv, nh, b_h, Threads(1));
        self.residual.fill(f32::INFINITY);
    }

    /// Back to the start images, no steps, no average (the random streams go on).
    pub fn restart(&mut self) {
        self.state.copy_from_slice(&self.start);
        self.probabilities.copy_from_slice(&self.start);
        self.steps = 0;
        self.reset_average();
        self.refresh_hidden_inputs();
    }

    /// Forgets the running average (after the person changed something, say); it starts again at
    /// the next step.
    pub fn reset_average(&mut self) {
        self.average_sum.fill(0.0);
        self.averaged_steps = 0;
    }

    /// One step of the configured dynamics for every image, spread over the current rayon pool when
    /// `threads` is above 1. The images go in blocks of [`ROW_BLOCK`] whatever the thread count,
    /// each image with its own stream, so the thread count never changes a number.
    pub fn step(&mut self, threads: Threads) {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let accumulate = self.config.mode != CompletionMode::MeanField && self.steps >= self.config.burn_in;
        let averaged = self.averaged_steps + u64::from(accumulate);
        let dynamics = Dynamics {
            w: self.model.weights_slice(),
            weights_t: &self.weights_t,
            b_v: self.model.visible_bias().as_slice().unwrap_or(&[]),
            b_h: self.model.hidden_bias().as_slice().unwrap_or(&[]),
            nv,
            nh,
            mode: self.config.mode,
            damping: self.config.damping,
            tolerance: self.config.tolerance,
            resampled: &self.resampled,
            averaged: accumulate.then_some(averaged),
        };
        let mut rest = RowBlock {
            first_row: 0,
            state: &mut self.state,
            probabilities: &mut self.probabilities,
            average_sum: &mut self.average_sum,
            average: &mut self.average,
            hidden_inputs: &mut self.hidden_inputs,
            hidden: &mut self.hidden,
            visible_inputs: &mut self.visible_inputs,
            residual: &mut self.residual,
            streams: &mut self.streams,
        };
        let mut blocks = Vec::with_capacity(self.rows.div_ceil(ROW_BLOCK));
        while !rest.residual.is_empty() {
            blocks.push(rest.split_first(ROW_BLOCK, nv, nh));
        }
        if threads.0 > 1 && blocks.len() > 1 {
            blocks.into_par_iter().for_each(|mut b| dynamics.step(&mut b));
        } else {
            blocks.iter_mut().for_each(|b| dynamics.step(b));
        }
        self.steps += 1;
        self.averaged_steps = averaged;
    }

    /// F(v), the errors against the originals and the mean-field residuals of the current state
    /// (computed on demand: cheap for the images a view shows, O(rows · (V + H)) in general).
    pub fn stats(&self) -> CompletionStats {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let b_v = self.model.visible_bias();
        let free_energy = self
            .state
            .chunks_exact(nv)
            .zip(self.hidden_inputs.chunks_exact(nh))
            .map(|(v, a)| {
                let visible: f64 = b_v.iter().zip(v).map(|(&b, &x)| b as f64 * x as f64).sum();
                -visible - a.iter().map(|&x| softplus(x as f64)).sum::<f64>()
            })
            .collect();
        let errors = |images: &[f32]| self.originals.as_deref().map(|originals| self.hidden_errors(images, originals));
        let mean_field = self.config.mode == CompletionMode::MeanField && self.steps > 0;
        CompletionStats {
            step: self.steps,
            free_energy,
            state_error: errors(&self.state),
            estimate_error: errors(self.estimate()),
            residual: mean_field.then(|| self.residual.clone()),
        }
    }

    /// Mean |images_i − originals_i| over each image's hidden pixels.
    fn hidden_errors(&self, images: &[f32], originals: &[f32]) -> Vec<f64> {
        let nv = self.n_visible();
        (0..self.rows)
            .map(|r| {
                let mask = self.mask(r);
                let (image, original) = (&images[r * nv..(r + 1) * nv], &originals[r * nv..(r + 1) * nv]);
                let (sum, count) = hidden_error_sum(image, original, mask);
                if count == 0 { 0.0 } else { sum / count as f64 }
            })
            .collect()
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn n_visible(&self) -> usize {
        self.model.n_visible()
    }
    pub fn n_hidden(&self) -> usize {
        self.model.n_hidden()
    }
    pub fn config(&self) -> &CompletionConfig {
        &self.config
    }
    /// The model the steps use.
    pub fn model(&self) -> &Rbm {
        &self.model
    }
    /// Steps made since the start (or the last restart).
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// Steps in the running average.
    pub fn averaged_steps(&self) -> u64 {
        self.averaged_steps
    }
    /// The mask of image `row` (the shared one when all images have one mask).
    pub fn mask(&self, row: usize) -> &Mask {
        mask_for(&self.masks, row)
    }
    /// The images the sampler started from: known pixels at their values, hidden ones filled.
    pub fn start(&self) -> &[f32] {
        &self.start
    }
    pub fn originals(&self) -> Option<&[f32]> {
        self.originals.as_deref()
    }
    /// The current state: binary samples at the resampled pixels for Gibbs, μ for mean-field.
    pub fn state(&self) -> &[f32] {
        &self.state
    }
    /// p(v_i = 1 | h) of the last step at the resampled pixels.
    pub fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }
    /// The running average of p(v_i = 1 | h) over the steps after the burn-in: the Rao–Blackwellised
    /// average of the samples (same expectation, smaller variance), which converges to the
    /// conditional marginals p(v_i = 1 | v_k) for clamped Gibbs and to p(v_i = 1) for free Gibbs.
    /// Equal to [`CompletionSampler::probabilities`] until a step has been averaged.
    pub fn average(&self) -> &[f32] {
        if self.averaged_steps == 0 { &self.probabilities } else { &self.average }
    }
    /// The completion: the running average for Gibbs, μ for mean-field.
    pub fn estimate(&self) -> &[f32] {
        match self.config.mode {
            CompletionMode::MeanField => &self.state,
            _ => self.average(),
        }
    }
    /// Mean-field: whether every image is at a fixed point within the tolerance (false before the
    /// first step and for Gibbs).
    pub fn converged(&self) -> bool {
        self.config.mode == CompletionMode::MeanField && self.residual.iter().all(|&r| r < self.config.tolerance)
    }
    /// Mean-field: how many images are at a fixed point within the tolerance.
    pub fn converged_count(&self) -> usize {
        if self.config.mode != CompletionMode::MeanField {
            return 0;
        }
        self.residual.iter().filter(|&&r| r < self.config.tolerance).count()
    }
}

fn check_masks(masks: &[Mask], rows: usize, nv: usize) -> Result<(), InpaintError> {
    if masks.len() != 1 && masks.len() != rows {
        return Err(InpaintError::MaskCount { masks: masks.len(), images: rows });
    }
    masks.iter().try_for_each(|m| check_len("a mask", m.len(), nv))
}

/// Σ |image_i − original_i| over the hidden pixels of `mask`, and their number.
fn hidden_error_sum(image: &[f32], original: &[f32], mask: &Mask) -> (f64, usize) {
    let mut sum = 0.0;
    let mut count = 0;
    for ((&x, &o), &known) in image.iter().zip(original).zip(&mask.known) {
        if !known {
            sum += (x - o).abs() as f64;
            count += 1;
        }
    }
    (sum, count)
}

/// The model and settings one step reads, shared by the blocks.
struct Dynamics<'a> {
    w: &'a [f32],
    weights_t: &'a [f32],
    b_v: &'a [f32],
    b_h: &'a [f32],
    nv: usize,
    nh: usize,
    mode: CompletionMode,
    damping: f32,
    tolerance: f32,
    resampled: &'a [Vec<usize>],
    /// The number of averaged steps including this one, when this step is averaged.
    averaged: Option<u64>,
}

/// One block of consecutive images and their buffers.
struct RowBlock<'a> {
    first_row: usize,
    state: &'a mut [f32],
    probabilities: &'a mut [f32],
    average_sum: &'a mut [f64],
    average: &'a mut [f32],
    hidden_inputs: &'a mut [f32],
    hidden: &'a mut [f32],
    visible_inputs: &'a mut [f32],
    residual: &'a mut [f32],
    streams: &'a mut [Xoshiro256PlusPlus],
}

impl<'a> RowBlock<'a> {
    /// The block's first `rows` images (all when fewer), leaving the rest in `self`.
    fn split_first(&mut self, rows: usize, nv: usize, nh: usize) -> RowBlock<'a> {
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
    fn step(&self, b: &mut RowBlock<'_>) {
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

/// How [`top_hidden_units`] ranks the hidden units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UnitRanking {
    /// By p(h_j = 1 | v).
    #[default]
    Probability,
    /// By p(h_j = 1 | v) · ‖W_j‖₂: how far the unit moves the visible inputs.
    Contribution,
}

/// One hidden unit and how active it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HiddenUnit {
    pub index: usize,
    /// p(h_j = 1 | v).
    pub probability: f32,
    /// p(h_j = 1 | v) · ‖W_j‖₂, with W_j the unit's filter (its column of W).
    pub contribution: f32,
}

/// The most active hidden units for an image: why the model completes it the way it does.
#[derive(Clone, Debug, PartialEq)]
pub struct TopHiddenUnits {
    /// The units, most active first (ties by index).
    pub units: Vec<HiddenUnit>,
    /// Their filters W_j, one `V`-pixel image per unit in the order of `units`.
    pub filters: Vec<f32>,
    /// Σ_j p(h_j = 1 | v) W_j over these units: what they add to the visible inputs.
    pub weighted_sum: Vec<f32>,
}

/// The `k` hidden units (at most H) with the largest p(h_j = 1 | v), or the largest contribution,
/// for one visible vector `v`.
///
/// # Errors
/// A shape error, or a non-finite value in `v`.
pub fn top_hidden_units(rbm: &Rbm, v: &[f32], k: usize, ranking: UnitRanking) -> Result<TopHiddenUnits, InpaintError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    check_len("the image", v.len(), nv)?;
    if !v.iter().all(|x| x.is_finite()) {
        return Err(InpaintError::NotFinite("the image"));
    }
    let probabilities = rbm.hidden_probabilities(v, 1, Threads(1));
    let w = rbm.weights_slice();
    let mut squared = vec![0.0f64; nh];
    for row in w.chunks_exact(nh) {
        squared.iter_mut().zip(row).for_each(|(s, &x)| *s += x as f64 * x as f64);
    }
    let mut units: Vec<HiddenUnit> = (0..nh)
        .map(|j| HiddenUnit {
            index: j,
            probability: probabilities[j],
            contribution: (probabilities[j] as f64 * squared[j].sqrt()) as f32,
        })
        .collect();
    let key = |u: &HiddenUnit| match ranking {
        UnitRanking::Probability => u.probability,
        UnitRanking::Contribution => u.contribution,
    };
    units.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.index.cmp(&b.index)));
    units.truncate(k.min(nh));
    let mut filters = Vec::with_capacity(units.len() * nv);
    let mut weighted_sum = vec![0.0f64; nv];
    for unit in &units {
        for (i, sum) in weighted_sum.iter_mut().enumerate() {
            let weight = w[i * nh + unit.index];
            filters.push(weight);
            *sum += unit.probability as f64 * weight as f64;
        }
    }
    Ok(TopHiddenUnits { units, filters, weighted_sum: weighted_sum.into_iter().map(|x| x as f32).collect() })
}

/// The RBM over the hidden pixels that clamping the known ones leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionalRbm {
    /// Weights W_u (hidden pixels x H), visible biases b_u, hidden biases b_h + W_kᵀ v_k.
    pub rbm: Rbm,
    /// The hidden pixels' indices in the image.
    pub hidden_pixels: Vec<usize>,
    /// The image's values at those pixels.
    pub values: Vec<f32>,
}

/// The conditional RBM of `image` under `mask`; `None` when no pixel is hidden.
///
/// # Errors
/// Shape errors and non-finite values.
pub fn conditional_rbm(rbm: &Rbm, image: &[f32], mask: &Mask) -> Result<Option<ConditionalRbm>, InpaintError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    check_len("the image", image.len(), nv)?;
    check_len("the mask", mask.len(), nv)?;
    if !image.iter().all(|x| x.is_finite()) {
        return Err(InpaintError::NotFinite("the image"));
    }
    let hidden_pixels = mask.hidden_indices();
    if hidden_pixels.is_empty() {
        return Ok(None);
    }
    let w = rbm.weights_slice();
    let shape_error = InpaintError::Shape { what: "the conditional model", expected: hidden_pixels.len() * nh, got: 0 };
    // c = b_h + Σ_{i known} v_i W_i, summed in f64.
    let mut hidden_bias: Vec<f64> = rbm.hidden_bias().iter().map(|&b| b as f64).collect();
    for (i, (&x, &known)) in image.iter().zip(mask.known()).enumerate() {
        if known && x != 0.0 {
            hidden_bias.iter_mut().zip(&w[i * nh..(i + 1) * nh]).for_each(|(c, &wij)| *c += x as f64 * wij as f64);
        }
    }
    let weights: Vec<f32> = hidden_pixels.iter().flat_map(|&i| w[i * nh..(i + 1) * nh].iter().copied()).collect();
    let visible_bias: Vec<f32> = hidden_pixels.iter().map(|&i| rbm.visible_bias()[i]).collect();
    let values = hidden_pixels.iter().map(|&i| image[i]).collect();
    let conditional = Rbm::from_parameters(
        hidden_pixels.len(),
        nh,
        weights,
        visible_bias,
        hidden_bias.into_iter().map(|c| c as f32).collect(),
    )
    .map_err(|_| shape_error)?;
    if !conditional.is_finite() {
        return Err(InpaintError::NotFinite("the conditional model's parameters"));
    }
    Ok(Some(ConditionalRbm { rbm: conditional, hidden_pixels, values }))
}

/// log p(v_u | v_k) of a binary image, with the interval of its estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConditionalLogProb {
    /// In nats.
    pub log_prob: f64,
    /// The interval implied by the AIS estimate's ±3σ interval of log Z (a larger log Z gives a
    /// smaller log-probability); both equal to `log_prob` when exact.
    pub low: f64,
    pub high: f64,
    /// The standard error of the log Z estimate by the delta method, std(w) / (√M · mean(w)) for
    /// the M importance weights w; 0 when exact.
    pub standard_error: f64,
    /// True when log Z was computed by enumeration.
    pub exact: bool,
    /// Number of hidden pixels.
    pub hidden_pixels: usize,
}

fn check_binary(image: &[f32]) -> Result<(), InpaintError> {
    match image.iter().position(|&x| x != 0.0 && x != 1.0) {
        Some(index) => Err(InpaintError::NotBinary { index, value: image[index] }),
        None => Ok(()),
    }
}

/// The conditional model of a binary image, checked; `None` when no pixel is hidden.
fn binary_conditional(rbm: &Rbm, image: &[f32], mask: &Mask) -> Result<Option<ConditionalRbm>, InpaintError> {
    check_len("the image", image.len(), rbm.n_visible())?;
    check_binary(image)?;
    if !rbm.is_finite() {
        return Err(InpaintError::NotFinite("the model's parameters"));
    }
    conditional_rbm(rbm, image, mask)
}

/// The exact result for a conditional model whose log Z is known.
fn exact_result(conditional: &ConditionalRbm, log_z: f64) -> ConditionalLogProb {
    let log_prob = -conditional.rbm.free_energy(&conditional.values) - log_z;
    ConditionalLogProb {
        log_prob,
        low: log_prob,
        high: log_prob,
        standard_error: 0.0,
        exact: true,
        hidden_pixels: conditional.values.len(),
    }
}

const NOTHING_HIDDEN: ConditionalLogProb =
    ConditionalLogProb { log_prob: 0.0, low: 0.0, high: 0.0, standard_error: 0.0, exact: true, hidden_pixels: 0 };

/// Exact log p(v_u | v_k) of a binary image, by enumerating the conditional RBM's smaller layer (the
/// hidden pixels or the hidden units); 0 when no pixel is hidden.
///
/// # Errors
/// [`EvalError::TooLarge`] (inside [`InpaintError::Eval`]) when both layers have more than
/// [`super::eval::MAX_EXACT_UNITS`] units; shape errors, non-binary images, non-finite models.
pub fn exact_conditional_log_prob(
    rbm: &Rbm,
    image: &[f32],
    mask: &Mask,
    threads: Threads,
) -> Result<ConditionalLogProb, InpaintError> {
    let Some(conditional) = binary_conditional(rbm, image, mask)? else {
        return Ok(NOTHING_HIDDEN);
    };
    let log_z = exact_log_z(&conditional.rbm, threads)?;
    Ok(exact_result(&conditional, log_z))
}

/// log p(v_u | v_k) of a binary image with log Z of the conditional RBM estimated by AIS from the
/// factorised base model with p(v_i = 1) = `base_probabilities[i]` at the hidden pixels (a full
/// image of V values; clamped to [1e-3, 1 − 1e-3] as [`base_rate_visible_bias`] does). Any base
/// gives an unbiased estimate of Z; the closer it is to the conditional (the completion's marginals
/// rather than the training pixel means, say), the narrower the interval.
///
/// `progress` is called as by [`ais_log_z`]; returning false cancels.
///
/// # Errors
/// Shape errors, non-binary images, non-finite values, [`InpaintError::Cancelled`], and AIS's own
/// errors inside [`InpaintError::Eval`].
pub fn ais_conditional_log_prob(
    rbm: &Rbm,
    image: &[f32],
    mask: &Mask,
    base_probabilities: &[f32],
    config: &AisConfig,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<ConditionalLogProb, InpaintError> {
    check_len("the base probabilities", base_probabilities.len(), rbm.n_visible())?;
    check_unit_interval("the base probabilities", base_probabilities)?;
    let Some(conditional) = binary_conditional(rbm, image, mask)? else {
        return Ok(NOTHING_HIDDEN);
    };
    let base: Vec<f32> = conditional.hidden_pixels.iter().map(|&i| base_probabilities[i]).collect();
    let result = match ais_log_z(&conditional.rbm, &base_rate_visible_bias(&base), config, progress) {
        Err(EvalError::Cancelled) => return Err(InpaintError::Cancelled),
        other => other?,
    };
    let minus_f = -conditional.rbm.free_energy(&conditional.values);
    Ok(ConditionalLogProb {
        log_prob: minus_f - result.log_z,
        low: minus_f - result.log_z_high,
        high: minus_f - result.log_z_low,
        standard_error: log_mean_standard_error(&result.log_weights),
        exact: false,
        hidden_pixels: conditional.values.len(),
    })
}

/// The delta-method standard error of log mean(w) from the log weights: std(w) / (√M · mean(w)),
/// computed with the weights scaled by the largest; infinite for fewer than two weights.
fn log_mean_standard_error(log_weights: &[f64]) -> f64 {
    let m = log_weights.len();
    let top = log_weights.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m < 2 || !top.is_finite() {
        return f64::INFINITY;
    }
    let scaled: Vec<f64> = log_weights.iter().map(|&l| (l - top).exp()).collect();
    let mean = scaled.iter().sum::<f64>() / m as f64;
    let variance = scaled.iter().map(|&w| (w - mean) * (w - mean)).sum::<f64>() / (m - 1) as f64;
    (variance / m as f64).sqrt() / mean
}

/// log p(v_u | v_k): exact when the hidden pixels or the hidden units number at most
/// [`EXACT_CONDITIONAL_UNITS`] (with `config.threads`), otherwise by [`ais_conditional_log_prob`].
///
/// # Errors
/// As [`exact_conditional_log_prob`] and [`ais_conditional_log_prob`].
pub fn conditional_log_prob(
    rbm: &Rbm,
    image: &[f32],
    mask: &Mask,
    base_probabilities: &[f32],
    config: &AisConfig,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<ConditionalLogProb, InpaintError> {
    if mask.hidden_count().min(rbm.n_hidden()) <= EXACT_CONDITIONAL_UNITS {
        exact_conditional_log_prob(rbm, image, mask, config.threads)
    } else {
        ais_conditional_log_prob(rbm, image, mask, base_probabilities, config, progress)
    }
}

/// The per-pixel-means baseline: log q(v_u) = Σ_u [v_u log m_u + (1 − v_u) log(1 − m_u)] with m the
/// training pixel means clamped to [1e-3, 1 − 1e-3] (as the AIS base model's), for a binary image.
///
/// # Errors
/// Shape errors and non-binary images.
pub fn pixel_means_log_prob(image: &[f32], mask: &Mask, pixel_means: &[f32]) -> Result<f64, InpaintError> {
    check_len("the mask", mask.len(), image.len())?;
    check_len("the pixel means", pixel_means.len(), image.len())?;
    check_binary(image)?;
    check_unit_interval("the pixel means", pixel_means)?;
    Ok(image
        .iter()
        .zip(pixel_means)
        .zip(mask.known())
        .filter(|(_, known)| !**known)
        .map(|((&v, &m), _)| {
            let m = (m as f64).clamp(BASE_RATE_CLAMP, 1.0 - BASE_RATE_CLAMP);
            if v == 1.0 { m.ln() } else { (1.0 - m).ln() }
        })
        .sum())
}

/// What [`score_completion`] does.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreSettings {
    /// The dynamics, seed, start and mean-field settings of the completion.
    pub completion: CompletionConfig,
    /// Steps (for mean-field, the most; it stops when every image has converged).
    pub steps: u64,
    /// How many of the images (the first ones) also get log p(v_u | v_k); 0 for none.
    pub log_prob_images: usize,
    /// AIS settings for conditional models too large to enumerate; `ais.threads` also runs the
    /// completion.
    pub ais: AisConfig,
}

/// Which part of [`score_completion`] a progress report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScorePhase {
    Completion,
    LogProbability,
}

/// The average log p(v_u | v_k) over images and the baseline's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogProbScore {
    pub images: usize,
    /// Mean over the images, in nats.
    pub mean: f64,
    /// The mean's ±3σ interval, σ² = Σ_i σ_i² / n² with σ_i the standard error of image i's log Z
    /// estimate (the images' AIS runs are independent); equal to `mean` when every image was exact.
    pub low: f64,
    pub high: f64,
    /// True when every image's log Z was enumerated.
    pub exact: bool,
    /// Mean log-probability of the same hidden pixels under the per-pixel-means baseline.
    pub baseline: f64,
}

/// How well the model completes a set of binary images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InpaintScore {
    pub images: usize,
    /// Hidden pixels over all images.
    pub hidden_pixels: usize,
    /// Mean |completion − original| per hidden pixel (all images' hidden pixels pooled).
    pub error: f64,
    /// The same for the training pixel means as the completion.
    pub baseline_error: f64,
    /// Steps made (fewer than asked when mean-field converged early).
    pub steps: u64,
    /// Mean-field: images at a fixed point within the tolerance.
    pub converged_images: Option<usize>,
    pub log_prob: Option<LogProbScore>,
}

/// Images completed at once by [`score_completion`] (values, images x (V + H)): the sampler's
/// buffers stay near 100 MB whatever the number of images.
const SCORE_BLOCK_VALUES: usize = 1 << 21;

/// The mask of image `row`: the only one, or its own.
fn mask_for(masks: &[Mask], row: usize) -> &Mask {
    &masks[if masks.len() == 1 { 0 } else { row }]
}

/// Completes `binary_images` (rows x V, hidden pixels as `masks` say: one mask or one per image)
/// and scores the completions against the images beside the per-pixel-means baseline; then log
/// p(v_u | v_k) of the first `settings.log_prob_images` images ([`conditional_log_prob`], AIS from
/// the completion's marginals as the base model). Images are completed in parts of bounded size,
/// each image with its own stream, so the numbers do not depend on the parts.
///
/// `progress(phase, fraction)` is called after every completion step and AIS report; returning
/// false stops with [`InpaintError::Cancelled`].
///
/// # Errors
/// Shape errors, non-binary images, [`InpaintError::Cancelled`], AIS errors.
pub fn score_completion(
    rbm: &Rbm,
    binary_images: &[f32],
    masks: &[Mask],
    pixel_means: &[f32],
    settings: &ScoreSettings,
    progress: &mut dyn FnMut(ScorePhase, f64) -> bool,
) -> Result<InpaintScore, InpaintError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    if binary_images.is_empty() || !binary_images.len().is_multiple_of(nv) {
        return Err(InpaintError::ImageBatch { values: binary_images.len(), visible: nv });
    }
    let rows = binary_images.len() / nv;
    check_binary(binary_images)?;
    check_masks(masks, rows, nv)?;
    check_len("the pixel means", pixel_means.len(), nv)?;
    check_unit_interval("the pixel means", pixel_means)?;
    let pool = MathPool::new(settings.ais.threads.0);
    // Parts of whole step blocks, so that every image meets the same products as in one batch.
    let block = (SCORE_BLOCK_VALUES / (nv + nh) / ROW_BLOCK).max(1) * ROW_BLOCK;
    let mut streams = RowStreams::new(settings.completion.seed, rows);
    let log_prob_rows = settings.log_prob_images.min(rows);
    // The completions of the images that get a log-probability: their AIS base models.
    let mut bases = Vec::with_capacity(log_prob_rows * nv);
    let (mut error, mut baseline_error, mut hidden_pixels) = (0.0, 0.0, 0);
    let (mut steps, mut converged) = (0, 0);
    let parts = rows.div_ceil(block);
    for (part, (images, part_streams)) in
        binary_images.chunks(block * nv).zip(streams.streams_mut().chunks(block)).enumerate()
    {
        let first = part * block;
        let part_masks =
            if masks.len() == 1 { masks.to_vec() } else { masks[first..first + part_streams.len()].to_vec() };
        let config = settings.completion.clone();
        let mut sampler =
            CompletionSampler::with_streams(rbm, images.to_vec(), part_masks, config, part_streams.to_vec())?;
        for s in 0..settings.steps {
            pool.run(|threads| sampler.step(threads));
            let fraction = (part as f64 + (s + 1) as f64 / settings.steps as f64) / parts as f64;
            if !progress(ScorePhase::Completion, fraction) {
                return Err(InpaintError::Cancelled);
            }
            if sampler.converged() {
                break;
            }
        }
        steps = sampler.steps();
        converged += sampler.converged_count();
        for (r, (estimate, original)) in sampler.estimate().chunks_exact(nv).zip(images.chunks_exact(nv)).enumerate() {
            let mask = mask_for(masks, first + r);
            let (sum, count) = hidden_error_sum(estimate, original, mask);
            error += sum;
            hidden_pixels += count;
            baseline_error += hidden_error_sum(pixel_means, original, mask).0;
            if first + r < log_prob_rows {
                bases.extend_from_slice(estimate);
            }
        }
    }
    let log_prob = if log_prob_rows == 0 {
        None
    } else {
        Some(score_log_prob(rbm, binary_images, masks, &bases, pixel_means, &settings.ais, progress)?)
    };
    let pooled = |sum: f64| if hidden_pixels == 0 { 0.0 } else { sum / hidden_pixels as f64 };
    Ok(InpaintScore {
        images: rows,
        hidden_pixels,
        error: pooled(error),
        baseline_error: pooled(baseline_error),
        steps,
        converged_images: (settings.completion.mode == CompletionMode::MeanField).then_some(converged),
        log_prob,
    })
}

/// The mean log p(v_u | v_k) of the images whose completions are `bases` (the first ones), with
/// the baseline's.
fn score_log_prob(
    rbm: &Rbm,
    binary_images: &[f32],
    masks: &[Mask],
    bases: &[f32],
    pixel_means: &[f32],
    ais: &AisConfig,
    progress: &mut dyn FnMut(ScorePhase, f64) -> bool,
) -> Result<LogProbScore, InpaintError> {
    let nv = rbm.n_visible();
    let rows = bases.len() / nv;
    let (mut sum, mut variance, mut baseline) = (0.0, 0.0, 0.0);
    let mut exact = true;
    for (r, (image, base)) in binary_images.chunks_exact(nv).zip(bases.chunks_exact(nv)).enumerate() {
        let mask = mask_for(masks, r);
        // Each image's AIS runs have their own seed, so that images do not share random numbers.
        let config = AisConfig { seed: ais.seed.wrapping_add(r as u64), ..ais.clone() };
        let result = conditional_log_prob(rbm, image, mask, base, &config, &mut |fraction| {
            progress(ScorePhase::LogProbability, (r as f64 + fraction) / rows as f64)
        })?;
        if !progress(ScorePhase::LogProbability, (r + 1) as f64 / rows as f64) {
            return Err(InpaintError::Cancelled);
        }
        sum += result.log_prob;
        variance += result.standard_error * result.standard_error;
        exact &= result.exact;
        baseline += pixel_means_log_prob(image, mask, pixel_means)?;
    }
    let n = rows as f64;
    let (mean, half_width) = (sum / n, 3.0 * variance.sqrt() / n);
    Ok(LogProbScore {
        images: rows,
        mean,
        low: mean - half_width,
        high: mean + half_width,
        exact,
        baseline: baseline / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window's view drives a sampler on its own thread.
    #[test]
    fn a_sampler_can_move_to_another_thread() {
        fn movable<T: Send + 'static>() {}
        movable::<CompletionSampler>();
        movable::<CompletionStats>();
        movable::<TopHiddenUnits>();
    }

    /// A set completed in two parts (split at a block boundary, each part with its images' own
    /// streams) gives the same bits as in one batch: what lets [`score_completion`] bound its memory.
    #[test]
    fn parts_with_their_own_streams_give_the_same_numbers_as_one_batch() {
        let (nv, nh, rows) = (12, 5, 3 * ROW_BLOCK + 5);
        let rbm = Rbm::from_parameters(
            nv,
            nh,
            (0..nv * nh).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.2).collect(),
            (0..nv).map(|i| (i as f32 - 6.0) * 0.1).collect(),
            vec![0.1; nh],
        )
        .unwrap();
        let images: Vec<f32> = (0..rows * nv).map(|i| (i % 3) as f32 * 0.5).collect();
        let masks: Vec<Mask> = (0..rows).map(|r| Mask::hide_random(nv, 0.5, r as u64).unwrap()).collect();
        for mode in [CompletionMode::ClampedGibbs, CompletionMode::Free] {
            let config = CompletionConfig { mode, seed: 4, ..CompletionConfig::default() };
            let run = |first: usize, end: usize| {
                let streams = RowStreams::new(4, rows).streams_mut()[first..end].to_vec();
                let part = images[first * nv..end * nv].to_vec();
                let mut sampler =
                    CompletionSampler::with_streams(&rbm, part, masks[first..end].to_vec(), config.clone(), streams)
                        .unwrap();
                for _ in 0..6 {
                    sampler.step(Threads(2));
                }
                sampler.state().to_vec()
            };
            let whole = run(0, rows);
            let mut parts = run(0, 2 * ROW_BLOCK);
            parts.extend(run(2 * ROW_BLOCK, rows));
            assert_eq!(whole, parts, "{mode:?}");
        }
    }
}
