//! The completion sampler: clamped Gibbs, mean-field or free Gibbs on a batch of images, a step at
//! a time.

use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::dynamics::{Dynamics, RowBlock};
use super::mask::{Mask, check_masks, hidden_error_sum, mask_for};
use super::{InpaintError, check_len, check_unit_interval};
use crate::model::linalg::{self, Threads};
use crate::model::rbm::{Rbm, softplus};
use crate::model::rng::RowStreams;

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
/// ([`MathPool::run`](crate::model::MathPool::run)), then [`CompletionSampler::state`],
/// [`CompletionSampler::probabilities`], [`CompletionSampler::estimate`] and
/// [`CompletionSampler::stats`] for what to show, and [`top_hidden_units`](super::top_hidden_units)
/// of [`CompletionSampler::model`] at an image's state for why; an edited image or mask is a new
/// sampler (cheap: one copy of the model).
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
    pub(super) fn with_streams(
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

#[cfg(test)]
mod tests;
