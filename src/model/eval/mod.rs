//! Model quality measures, all pure math: the exact log partition function of small RBMs, the
//! average log-likelihood (exact or with an AIS estimate of log Z, see [`super::ais`]), scikit-learn's
//! pseudo-likelihood, the free-energy gap between held-out and training data, the mean-field
//! reconstruction error, and the standard stochastic binarisation of MNIST.
//!
//! - `exact`: exact log Z by enumerating the smaller layer, and the exact log-likelihood;
//! - `free_energy`: free energies of many rows in f64 (one f64 product per block of rows), their
//!   mean, and the average log-likelihood given log Z;
//! - `measures`: the cheap monitors (pseudo-likelihood, free-energy gap, reconstruction error);
//! - `binarise`: binary data sets drawn from grey images, and pixel marginals.
//!
//! Threads: every function that takes a [`Threads`](super::linalg::Threads) argument runs its
//! parallel parts on a [`MathPool`](super::pool::MathPool) of that many threads, built for the call
//! unless the caller is already on one of that size (so it never competes with, or depends on,
//! rayon's global pool), and returns the same numbers whatever the thread count: partial results
//! are collected in order and summed sequentially.
//!
//! Data: a batch is `rows` binary (or [0, 1]) visible vectors, row-major `rows x V` f32.

mod binarise;
mod exact;
mod free_energy;
mod measures;

pub use binarise::{Binariser, binarise, pixel_means};
pub use exact::{MAX_EXACT_UNITS, exact_average_log_likelihood, exact_log_z};
pub use free_energy::{average_log_likelihood, average_log_likelihood_of_images, free_energies, mean_free_energy};
pub use measures::{
    FreeEnergyGap, PseudoLikelihood, ReconstructionError, free_energy_gap, pseudo_likelihood,
    pseudo_likelihood_with_flips, reconstruction_error,
};

use thiserror::Error;

use super::rbm::Rbm;

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

/// log Σ exp(x), stably; −inf for an empty slice.
pub fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + xs.iter().map(|&x| (x - max).exp()).sum::<f64>().ln()
}

/// Checks a batch's shape.
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
fn check_batch(rbm: &Rbm, data: &[f32], rows: usize) {
    assert!(rows > 0, "a batch needs at least one row");
    assert_eq!(data.len(), rows * rbm.n_visible(), "data must hold rows x {} values", rbm.n_visible());
}
