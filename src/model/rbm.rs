//! The binary RBM and its exact math: energy, free energy and the two conditionals.
//!
//! E(v, h) = -b_v·v - b_h·h - vᵀWh, with W of shape (visible x hidden).
//! F(v) = -b_v·v - Σ_j softplus(b_h,j + (vᵀW)_j), so that p(v) = exp(-F(v)) / Z.

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use thiserror::Error;

use super::linalg::{self, Threads};

/// How the weights start (biases start at zero unless stated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum Initialisation {
    /// The tutorial's Xavier scale: W = N(0,1) * sqrt(2 / (V + H)), zero biases.
    #[default]
    Xavier,
    /// Hinton's practical guide: W = N(0, 0.01²), visible biases = logit of the pixel means.
    Hinton,
}

impl Initialisation {
    /// Every value, in the order the window and the command line list them.
    pub const ALL: [Initialisation; 2] = [Initialisation::Xavier, Initialisation::Hinton];
}

#[derive(Debug, Error, PartialEq)]
pub enum ShapeError {
    #[error("weights are {rows}x{cols} but the biases say {visible} visible x {hidden} hidden units")]
    Mismatch { rows: usize, cols: usize, visible: usize, hidden: usize },
    #[error("an RBM needs at least one visible and one hidden unit (got {visible}x{hidden})")]
    Empty { visible: usize, hidden: usize },
}

/// A binary-binary Restricted Boltzmann Machine.
#[derive(Clone, Debug, PartialEq)]
pub struct Rbm {
    weights: Array2<f32>,
    visible_bias: Array1<f32>,
    hidden_bias: Array1<f32>,
}

/// The logistic function 1 / (1 + e^-x), with [`exp_f32`] so that loops over slices inline and
/// vectorise (libm's `expf` is a call per element).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// e^x for f32 without a libm call: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2),
/// e^r by a degree-6 Taylor/minimax polynomial, 2^n through the exponent bits. Relative error
/// below 3e-7 over [-87, 88]; inputs outside are clamped (e^-87 ≈ 1.6e-38, e^88 ≈ 1.7e38), which
/// keeps the logistic function exact to f32 precision at both ends.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by the 1.5·2^23 trick: `round()` is a libm call without SSE4.1.
    const SHIFTER: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + SHIFTER) - SHIFTER;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Horner form of 1 + r + r²/2 + … + r⁶/720.
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// No NaN or infinity in `values`: a branch-free test of the exponent bits, so that it vectorises.
fn all_finite(values: &[f32]) -> bool {
    const EXPONENT: u32 = 0x7F80_0000;
    let mut chunks = values.chunks_exact(16);
    let mut bad = [false; 16];
    for chunk in &mut chunks {
        for (b, x) in bad.iter_mut().zip(chunk) {
            *b |= x.to_bits() & EXPONENT == EXPONENT;
        }
    }
    !bad.iter().any(|&b| b) && chunks.remainder().iter().all(|x| x.is_finite())
}

/// `target = source` (equal lengths) in blocks spread over the current rayon pool: large arrays
/// (W, its momentum) are copied after every batch to keep the last good state.
pub(crate) fn copy_parallel(target: &mut [f32], source: &[f32]) {
    use rayon::prelude::*;
    target.par_chunks_mut(1 << 14).zip(source.par_chunks(1 << 14)).for_each(|(d, s)| d.copy_from_slice(s));
}

/// log(1 + e^x) without overflow.
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

impl Rbm {
    /// An RBM from parameters; W is row-major `visible x hidden`.
    pub fn from_parameters(
        n_visible: usize,
        n_hidden: usize,
        weights: Vec<f32>,
        visible_bias: Vec<f32>,
        hidden_bias: Vec<f32>,
    ) -> Result<Self, ShapeError> {
        if n_visible == 0 || n_hidden == 0 {
            return Err(ShapeError::Empty { visible: n_visible, hidden: n_hidden });
        }
        if weights.len() != n_visible * n_hidden || visible_bias.len() != n_visible || hidden_bias.len() != n_hidden {
            return Err(ShapeError::Mismatch {
                rows: visible_bias.len(),
                cols: if visible_bias.is_empty() { 0 } else { weights.len() / visible_bias.len().max(1) },
                visible: n_visible,
                hidden: n_hidden,
            });
        }
        let weights = Array2::from_shape_vec((n_visible, n_hidden), weights).map_err(|_| ShapeError::Mismatch {
            rows: n_visible,
            cols: n_hidden,
            visible: n_visible,
            hidden: n_hidden,
        })?;
        Ok(Self { weights, visible_bias: Array1::from(visible_bias), hidden_bias: Array1::from(hidden_bias) })
    }

    pub fn zeros(n_visible: usize, n_hidden: usize) -> Self {
        Self {
            weights: Array2::zeros((n_visible, n_hidden)),
            visible_bias: Array1::zeros(n_visible),
            hidden_bias: Array1::zeros(n_hidden),
        }
    }

    /// A freshly initialised RBM. `pixel_means` (for Hinton's visible biases) may be empty.
    pub fn initialised<R: Rng + ?Sized>(
        n_visible: usize,
        n_hidden: usize,
        scheme: Initialisation,
        pixel_means: &[f32],
        rng: &mut R,
    ) -> Self {
        let mut rbm = Self::zeros(n_visible, n_hidden);
        let scale = match scheme {
            Initialisation::Xavier => (2.0 / (n_visible + n_hidden) as f64).sqrt() as f32,
            Initialisation::Hinton => 0.01,
        };
        for w in rbm.weights.iter_mut() {
            let z: f32 = StandardNormal.sample(rng);
            *w = z * scale;
        }
        if scheme == Initialisation::Hinton && pixel_means.len() == n_visible {
            for (b, &p) in rbm.visible_bias.iter_mut().zip(pixel_means) {
                // Clamp so that always-off border pixels get a large negative bias, not -inf.
                let p = p.clamp(1e-3, 1.0 - 1e-3);
                *b = (p / (1.0 - p)).ln();
            }
        }
        rbm
    }

    pub fn n_visible(&self) -> usize {
        self.visible_bias.len()
    }
    pub fn n_hidden(&self) -> usize {
        self.hidden_bias.len()
    }
    pub fn weights(&self) -> &Array2<f32> {
        &self.weights
    }
    pub fn visible_bias(&self) -> &Array1<f32> {
        &self.visible_bias
    }
    pub fn hidden_bias(&self) -> &Array1<f32> {
        &self.hidden_bias
    }

    /// Row-major `visible x hidden` weights.
    pub fn weights_slice(&self) -> &[f32] {
        // Constructed only in standard layout (from_shape_vec / zeros).
        self.weights.as_slice().unwrap_or(&[])
    }

    /// Mutable access to (W, b_v, b_h) as flat slices, for training steps.
    pub fn parameters_mut(&mut self) -> (&mut [f32], &mut [f32], &mut [f32]) {
        (
            self.weights.as_slice_mut().unwrap_or(&mut []),
            self.visible_bias.as_slice_mut().unwrap_or(&mut []),
            self.hidden_bias.as_slice_mut().unwrap_or(&mut []),
        )
    }

    /// True when no parameter is NaN or infinite.
    pub fn is_finite(&self) -> bool {
        all_finite(self.weights_slice())
            && self.visible_bias.iter().chain(self.hidden_bias.iter()).all(|x| x.is_finite())
    }

    /// `target = self`, the weights copied in parallel blocks on the current rayon pool (the
    /// trainer keeps the last good parameters this way after every batch).
    pub fn copy_into(&self, target: &mut Rbm) {
        if target.weights.dim() != self.weights.dim() {
            target.clone_from(self);
            return;
        }
        let (w, _, _) = target.parameters_mut();
        copy_parallel(w, self.weights_slice());
        target.visible_bias.assign(&self.visible_bias);
        target.hidden_bias.assign(&self.hidden_bias);
    }

    /// E(v, h) = -b_v·v - b_h·h - vᵀWh, in f64.
    pub fn energy(&self, v: &[f32], h: &[f32]) -> f64 {
        let nh = self.n_hidden();
        let mut e = 0.0f64;
        for (i, &vi) in v.iter().enumerate() {
            e -= self.visible_bias[i] as f64 * vi as f64;
            if vi != 0.0 {
                let row = &self.weights_slice()[i * nh..(i + 1) * nh];
                let s: f64 = row.iter().zip(h).map(|(&w, &hj)| w as f64 * hj as f64).sum();
                e -= vi as f64 * s;
            }
        }
        e - self.hidden_bias.iter().zip(h).map(|(&b, &hj)| b as f64 * hj as f64).sum::<f64>()
    }

    /// F(v) = -b_v·v - Σ_j softplus(b_h,j + (vᵀW)_j), in f64.
    pub fn free_energy(&self, v: &[f32]) -> f64 {
        let pre = self.hidden_inputs_f64(v);
        let vb: f64 = self.visible_bias.iter().zip(v).map(|(&b, &x)| b as f64 * x as f64).sum();
        -vb - pre.iter().map(|&x| softplus(x)).sum::<f64>()
    }

    /// b_h + vᵀW for one visible vector, in f64.
    fn hidden_inputs_f64(&self, v: &[f32]) -> Vec<f64> {
        let nh = self.n_hidden();
        let mut pre: Vec<f64> = self.hidden_bias.iter().map(|&b| b as f64).collect();
        let w = self.weights_slice();
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                for (p, &wij) in pre.iter_mut().zip(&w[i * nh..(i + 1) * nh]) {
                    *p += vi as f64 * wij as f64;
                }
            }
        }
        pre
    }

    /// p(h_j = 1 | v) for a batch of `rows` visible vectors (rows x V) → rows x H.
    pub fn hidden_probabilities(&self, v: &[f32], rows: usize, threads: Threads) -> Vec<f32> {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let mut out = vec![0.0; rows * nh];
        let hb = self.hidden_bias.as_slice().unwrap_or(&[]);
        linalg::affine(&mut out, v, rows, self.weights_slice(), nv, nh, hb, threads);
        out.iter_mut().for_each(|x| *x = sigmoid(*x));
        out
    }

    /// p(v_i = 1 | h) for a batch of `rows` hidden vectors (rows x H) → rows x V.
    pub fn visible_probabilities(&self, h: &[f32], rows: usize, threads: Threads) -> Vec<f32> {
        let (nv, nh) = (self.n_visible(), self.n_hidden());
        let mut out = vec![0.0; rows * nv];
        let vb = self.visible_bias.as_slice().unwrap_or(&[]);
        linalg::affine_transposed(&mut out, h, rows, self.weights_slice(), nv, nh, vb, threads);
        out.iter_mut().for_each(|x| *x = sigmoid(*x));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let got = exp_f32(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert!(sigmoid(200.0) == 1.0 && sigmoid(-200.0) < 1e-37 && sigmoid(0.0) == 0.5);
        // NaN must survive, so that divergence is detected.
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn finiteness_check_finds_every_bad_value() {
        for len in [5, 16, 37, 200] {
            let mut values: Vec<f32> = (0..len).map(|i| (i as f32 - 20.0) * 1e30).collect();
            values[0] = f32::MAX;
            values[1] = f32::MIN_POSITIVE / 4.0; // subnormal: finite
            assert!(all_finite(&values), "len {len}");
            for position in [2, len / 2, len - 1] {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut v = values.clone();
                    v[position] = bad;
                    assert!(!all_finite(&v), "len {len}, {bad} at {position}");
                }
            }
        }
    }
}
