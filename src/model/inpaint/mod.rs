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
//! [`RowStreams`](super::rng::RowStreams)), so a seed gives the same numbers on any number of threads.
//!
//! The parts: `mask.rs` (which pixels are hidden), `sampler/` (the completion dynamics, one step
//! at a time, with `dynamics.rs` the math of one step over a block of images), `units.rs` (the
//! hidden units behind a completion) and `score.rs` (conditional log-probabilities and how well a
//! model completes a set of images).

mod dynamics;
mod mask;
mod sampler;
mod score;
mod units;

use thiserror::Error;

use super::eval::EvalError;

pub use mask::{Half, Mask, salt_and_pepper};
pub use sampler::{CompletionConfig, CompletionMode, CompletionSampler, CompletionStats, ROW_BLOCK, StartFill};
pub use score::{
    ConditionalLogProb, ConditionalRbm, EXACT_CONDITIONAL_UNITS, InpaintScore, LogProbScore, ScorePhase, ScoreSettings,
    ais_conditional_log_prob, conditional_log_prob, conditional_rbm, exact_conditional_log_prob, pixel_means_log_prob,
    score_completion,
};
pub use units::{HiddenUnit, TopHiddenUnits, UnitRanking, top_hidden_units};

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
