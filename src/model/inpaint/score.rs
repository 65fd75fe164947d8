//! Conditional log-probabilities log p(v_u | v_k) (exact or by AIS), the per-pixel-means baseline,
//! and how well a model completes a set of binary images.

use super::mask::{Mask, check_masks, hidden_error_sum, mask_for};
use super::{
    CompletionConfig, CompletionMode, CompletionSampler, InpaintError, ROW_BLOCK, check_len, check_unit_interval,
};
use crate::model::ais::{AisConfig, BASE_RATE_CLAMP, ais_log_z, base_rate_visible_bias};
use crate::model::eval::{EvalError, exact_log_z};
use crate::model::linalg::Threads;
use crate::model::pool::MathPool;
use crate::model::rbm::Rbm;
use crate::model::rng::RowStreams;

/// Both layers of a conditional RBM above this many units: log Z by AIS instead of enumeration
/// (2^20 states of the smaller layer take about a second per image).
pub const EXACT_CONDITIONAL_UNITS: usize = 20;

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
/// [`crate::model::eval::MAX_EXACT_UNITS`] units; shape errors, non-binary images, non-finite models.
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
