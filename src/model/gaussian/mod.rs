//! The Gaussian–Bernoulli RBM: real-valued visibles with learned per-pixel variances, in the
//! parametrisation of Cho, Ilin & Raiko 2011 ("Improved learning of Gaussian-Bernoulli restricted
//! Boltzmann machines", ICANN):
//!
//!   E(v, h) = Σ_i (v_i − b_i)² / (2σ_i²) − Σ_j c_j h_j − Σ_ij (v_i / σ_i²) W_ij h_j,
//!
//! with z_i = ln σ_i² the learned parameter. Its conditionals are
//!   p(h_j = 1 | v) = sigmoid(c_j + Σ_i W_ij v_i / σ_i²),   p(v_i | h) = N(b_i + Σ_j W_ij h_j, σ_i²),
//! and its free energy (v summed out of nothing, h summed out analytically)
//!   F(v) = Σ_i (v_i − b_i)² / (2σ_i²) − Σ_j softplus(c_j + Σ_i W_ij v_i / σ_i²),
//! so that the density is p(v) = exp(−F(v)) / Z.
//!
//! W, b and c are kept in an [`Rbm`] (W as `weights`, b as `visible_bias`, c as `hidden_bias`), so
//! the filters, the model file's tensors and the matrix products are the binary model's; the log
//! variances z are the one extra vector.
//!
//! The model sees standardised data (see [`Standardisation`]): intensities in [0, 1] minus the
//! training set's per-pixel mean, divided by its per-pixel standard deviation (floored).
//!
//! - `train`: CD-k / PCD-k with Gaussian visible sampling and the gradients of W, b, c and z;
//! - `exact`: log Z for small hidden layers, Σ_h exp(cᵀh) times a Gaussian integral over v;
//! - `ais`: annealed importance sampling from the model without weights;
//! - `chains`: Gibbs chains (and the reconstruction error) for display and `rbm-lab sample`.

mod ais;
mod chains;
mod exact;
mod standardise;
mod train;

pub use ais::{base_log_z, gaussian_ais_log_z};
pub use chains::{GaussianChains, reconstruction_error};
pub use exact::{MAX_EXACT_HIDDEN, exact_log_z};
pub use standardise::{MIN_SCALE, Standardisation};
pub use train::{GaussianStepStats, GaussianWorkspace, check_config, default_config};

use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::eval::EvalError;
use super::linalg::{self, Threads};
use super::pool::on_math_pool;
use super::rbm::{Initialisation, Rbm, softplus};

/// What kind of values the visible units take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VisibleType {
    /// Binary units (the tutorial's model and every binary method).
    #[default]
    Binary,
    /// Real-valued units with a Gaussian p(v|h) and learned variances ([`GaussianRbm`]).
    Gaussian,
}

impl VisibleType {
    /// Every value, in the order the window and the command line list them.
    pub const ALL: [VisibleType; 2] = [VisibleType::Binary, VisibleType::Gaussian];

    /// The settings a fresh run of these visibles starts from: the tutorial's for binary units,
    /// [`default_config`] (a smaller learning rate and CD-1) for Gaussian ones.
    pub fn default_config(self) -> super::TrainingConfig {
        match self {
            VisibleType::Binary => super::TrainingConfig::default(),
            VisibleType::Gaussian => default_config(),
        }
    }
}

/// The smallest variance σ² a Gaussian visible may take, in standardised units. Without a floor
/// a pixel that is nearly constant in the data (MNIST's border) drives its σ² towards 0, its
/// 1/σ² terms blow up and training diverges (Cho et al. 2011 note the same instability).
pub const MIN_VARIANCE: f32 = 0.01;

/// [`MIN_VARIANCE`] as a bound on z = ln σ².
pub fn min_log_variance() -> f32 {
    MIN_VARIANCE.ln()
}

/// Rows per task when a batch is split over threads. Fixed, so that the products each row goes
/// through, and so the results, do not depend on the thread count.
pub(crate) const ROW_BLOCK: usize = 16;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum GaussianError {
    #[error("the Gaussian model has {got} log variances but {expected} visible units")]
    VarianceLength { expected: usize, got: usize },
    #[error("the Gaussian model's {0} must be finite numbers")]
    NotFinite(&'static str),
    #[error("the Gaussian–Bernoulli RBM is trained with CD or PCD only; {0}")]
    Unsupported(String),
}

/// A Gaussian–Bernoulli RBM (see the module header).
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianRbm {
    rbm: Rbm,
    log_variance: Vec<f32>,
}

impl GaussianRbm {
    /// W, b, c from `rbm` and z = ln σ² from `log_variance` (one per visible unit, finite, each at
    /// least ln [`MIN_VARIANCE`] up to rounding).
    pub fn from_parts(rbm: Rbm, log_variance: Vec<f32>) -> Result<Self, GaussianError> {
        if log_variance.len() != rbm.n_visible() {
            return Err(GaussianError::VarianceLength { expected: rbm.n_visible(), got: log_variance.len() });
        }
        if !log_variance.iter().all(|z| z.is_finite()) {
            return Err(GaussianError::NotFinite("log variances"));
        }
        if !rbm.is_finite() {
            return Err(GaussianError::NotFinite("weights and biases"));
        }
        Ok(Self { rbm, log_variance })
    }

    /// A new model for standardised data: W as `scheme` draws it (Xavier's scale, or N(0, 0.01²)),
    /// b = 0 (the data's mean after standardisation), c = 0 and σ² = 1 (the data's variance).
    pub fn initialised<R: Rng + ?Sized>(
        n_visible: usize,
        n_hidden: usize,
        scheme: Initialisation,
        rng: &mut R,
    ) -> Self {
        // No pixel means: Hinton's logit visible biases are for binary units.
        let rbm = Rbm::initialised(n_visible, n_hidden, scheme, &[], rng);
        Self { rbm, log_variance: vec![0.0; n_visible] }
    }

    pub fn rbm(&self) -> &Rbm {
        &self.rbm
    }
    pub fn into_parts(self) -> (Rbm, Vec<f32>) {
        (self.rbm, self.log_variance)
    }
    pub fn n_visible(&self) -> usize {
        self.rbm.n_visible()
    }
    pub fn n_hidden(&self) -> usize {
        self.rbm.n_hidden()
    }
    /// z_i = ln σ_i².
    pub fn log_variance(&self) -> &[f32] {
        &self.log_variance
    }
    /// σ_i².
    pub fn variances(&self) -> Vec<f64> {
        self.log_variance.iter().map(|&z| (z as f64).exp()).collect()
    }
    /// 1/σ_i² in f32, the factor on v in the hidden inputs.
    pub fn inverse_variances(&self) -> Vec<f32> {
        self.log_variance.iter().map(|&z| (-z).exp()).collect()
    }

    /// (W, b, c, z) as flat slices, for training steps.
    pub fn parameters_mut(&mut self) -> (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) {
        let (w, b, c) = self.rbm.parameters_mut();
        (w, b, c, &mut self.log_variance)
    }

    pub fn is_finite(&self) -> bool {
        self.rbm.is_finite() && self.log_variance.iter().all(|z| z.is_finite())
    }

    /// `target = self`, W copied in parallel blocks (the run keeps its last good state this way).
    pub fn copy_into(&self, target: &mut GaussianRbm) {
        self.rbm.copy_into(&mut target.rbm);
        target.log_variance.clone_from(&self.log_variance);
    }

    /// E(v, h) of the module header, in f64.
    pub fn energy(&self, v: &[f32], h: &[f32]) -> f64 {
        let (w, nh) = (self.rbm.weights_slice(), self.n_hidden());
        let mut e = -self.rbm.hidden_bias().iter().zip(h).map(|(&c, &hj)| c as f64 * hj as f64).sum::<f64>();
        for (i, (&vi, (&b, &z))) in v.iter().zip(self.rbm.visible_bias().iter().zip(&self.log_variance)).enumerate() {
            let inv_var = (-(z as f64)).exp();
            let d = vi as f64 - b as f64;
            let wh: f64 = w[i * nh..(i + 1) * nh].iter().zip(h).map(|(&wij, &hj)| wij as f64 * hj as f64).sum();
            e += 0.5 * d * d * inv_var - vi as f64 * inv_var * wh;
        }
        e
    }

    /// c_j + Σ_i W_ij v_i / σ_i² for one visible vector, in f64.
    pub fn hidden_inputs_f64(&self, v: &[f32]) -> Vec<f64> {
        let (w, nh) = (self.rbm.weights_slice(), self.n_hidden());
        let mut x: Vec<f64> = self.rbm.hidden_bias().iter().map(|&c| c as f64).collect();
        for (i, (&vi, &z)) in v.iter().zip(&self.log_variance).enumerate() {
            let scaled = vi as f64 * (-(z as f64)).exp();
            x.iter_mut().zip(&w[i * nh..(i + 1) * nh]).for_each(|(xj, &wij)| *xj += scaled * wij as f64);
        }
        x
    }

    /// F(v) of the module header, in f64.
    pub fn free_energy(&self, v: &[f32]) -> f64 {
        self.quadratic_term(v) - self.hidden_inputs_f64(v).iter().map(|&x| softplus(x)).sum::<f64>()
    }

    /// Σ_i (v_i − b_i)² / (2σ_i²).
    fn quadratic_term(&self, v: &[f32]) -> f64 {
        v.iter()
            .zip(self.rbm.visible_bias())
            .zip(&self.log_variance)
            .map(|((&vi, &b), &z)| {
                let d = vi as f64 - b as f64;
                0.5 * d * d * (-(z as f64)).exp()
            })
            .sum()
    }

    /// ∂F/∂v_i = (v_i − b_i)/σ_i² − Σ_j sigmoid(x_j) W_ij / σ_i², the score −∇ log p(v).
    pub fn free_energy_gradient(&self, v: &[f32]) -> Vec<f64> {
        let (w, nh) = (self.rbm.weights_slice(), self.n_hidden());
        let p: Vec<f64> = self.hidden_inputs_f64(v).iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect();
        (0..self.n_visible())
            .map(|i| {
                let inv_var = (-(self.log_variance[i] as f64)).exp();
                let wp: f64 = w[i * nh..(i + 1) * nh].iter().zip(&p).map(|(&wij, &pj)| wij as f64 * pj).sum();
                (v[i] as f64 - self.rbm.visible_bias()[i] as f64 - wp) * inv_var
            })
            .collect()
    }

    /// `out (rows x H) = c + (v / σ²) W` for a batch of `rows` visible vectors, single-threaded
    /// (callers split batches into [`ROW_BLOCK`]s). `scaled` is scratch of `rows x V`.
    pub(crate) fn hidden_inputs_into(
        &self,
        out: &mut [f32],
        v: &[f32],
        rows: usize,
        inv_var: &[f32],
        scaled: &mut [f32],
    ) {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        scale_rows(&mut scaled[..rows * nv], &v[..rows * nv], inv_var);
        let c = self.rbm.hidden_bias().as_slice().unwrap_or(&[]);
        linalg::affine(&mut out[..rows * nh], scaled, rows, self.rbm.weights_slice(), nv, nh, c, Threads(1));
    }

    /// `out (rows x V) = b + h Wᵀ`: the means of p(v|h), single-threaded.
    pub(crate) fn visible_means_into(&self, out: &mut [f32], h: &[f32], rows: usize) {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let b = self.rbm.visible_bias().as_slice().unwrap_or(&[]);
        linalg::affine_transposed(
            &mut out[..rows * nv],
            &h[..rows * nh],
            rows,
            self.rbm.weights_slice(),
            nv,
            nh,
            b,
            Threads(1),
        );
    }
}

/// `out[r, i] = v[r, i] * factor[i]` for every row.
pub(crate) fn scale_rows(out: &mut [f32], v: &[f32], factor: &[f32]) {
    for (o_row, v_row) in out.chunks_exact_mut(factor.len()).zip(v.chunks_exact(factor.len())) {
        o_row.iter_mut().zip(v_row).zip(factor).for_each(|((o, &x), &f)| *o = x * f);
    }
}

/// Free energies F(v) of `rows` standardised visible vectors, in f64, on `threads` threads (the
/// same numbers whatever the count: each row is computed alone).
pub fn free_energies(model: &GaussianRbm, data: &[f32], rows: usize, threads: Threads) -> Vec<f64> {
    let nv = model.n_visible();
    on_math_pool(threads, || data[..rows * nv].par_chunks(nv).map(|v| model.free_energy(v)).collect())
}

/// The average log density −mean F(v) − log Z of `rows` standardised vectors, in nats.
///
/// # Errors
/// [`EvalError::NoImages`] for no rows.
pub fn average_log_likelihood(
    model: &GaussianRbm,
    data: &[f32],
    rows: usize,
    log_z: f64,
    threads: Threads,
) -> Result<f64, EvalError> {
    if rows == 0 {
        return Err(EvalError::NoImages);
    }
    let energies = free_energies(model, data, rows, threads);
    Ok(-energies.iter().sum::<f64>() / rows as f64 - log_z)
}

#[cfg(test)]
mod tests;
