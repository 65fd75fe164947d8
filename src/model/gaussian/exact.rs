//! Exact log Z of a Gaussian–Bernoulli RBM with a small hidden layer.
//!
//! For a fixed h, with a = W h and s_i = 1/σ_i², the energy is a separable quadratic in v:
//!   −E(v, h) = c·h + Σ_i [−(v_i − b_i − a_i)² s_i / 2 + ((b_i + a_i)² − b_i²) s_i / 2],
//! so ∫ exp(−E(v, h)) dv = exp(c·h + Σ_i (2 b_i a_i + a_i²) s_i / 2) · Π_i √(2π σ_i²), and
//!   log Z = Σ_i ½ ln(2π σ_i²) + logsumexp_h [c·h + Σ_i (2 b_i a_i + a_i²) s_i / 2].
//! The 2^H states are visited in Gray-code order (one column of W added or removed per state), in
//! fixed chunks of states whose partial sums are merged in order: the same result on any number of
//! threads.

use rayon::prelude::*;

use super::GaussianRbm;
use crate::model::eval::{EvalError, log_sum_exp};
use crate::model::linalg::Threads;
use crate::model::pool::on_math_pool;

/// The largest hidden layer [`exact_log_z`] enumerates (2^20 states).
pub const MAX_EXACT_HIDDEN: usize = 20;

/// States per enumeration task.
const CHUNK_BITS: usize = 10;

/// Exact log Z of `model` in f64 (see the module header).
///
/// # Errors
/// [`EvalError::TooLarge`] for more than [`MAX_EXACT_HIDDEN`] hidden units, [`EvalError::NotFinite`]
/// for NaN or infinite parameters.
pub fn exact_log_z(model: &GaussianRbm, threads: Threads) -> Result<f64, EvalError> {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    if nh > MAX_EXACT_HIDDEN {
        return Err(EvalError::TooLarge { visible: nv, hidden: nh, max: MAX_EXACT_HIDDEN });
    }
    if !model.is_finite() {
        return Err(EvalError::NotFinite("the model's parameters"));
    }
    let w = model.rbm().weights_slice();
    let columns: Vec<f64> = (0..nh).flat_map(|j| (0..nv).map(move |i| w[i * nh + j] as f64)).collect();
    let b: Vec<f64> = model.rbm().visible_bias().iter().map(|&x| x as f64).collect();
    let c: Vec<f64> = model.rbm().hidden_bias().iter().map(|&x| x as f64).collect();
    let variances = model.variances();
    let inv_var: Vec<f64> = variances.iter().map(|v| 1.0 / v).collect();
    let chunk_bits = nh.min(CHUNK_BITS);
    let chunks = 1u64 << (nh - chunk_bits);
    let partials: Vec<f64> = on_math_pool(threads, || {
        (0..chunks)
            .into_par_iter()
            .map(|chunk| enumerate(chunk << chunk_bits, 1u64 << chunk_bits, &columns, &b, &c, &inv_var))
            .collect()
    });
    let gaussian_part: f64 = variances.iter().map(|v| 0.5 * (std::f64::consts::TAU * v).ln()).sum();
    Ok(gaussian_part + log_sum_exp(&partials))
}

/// log Σ over Gray-code indices `start .. start + len` of exp(c·h + Σ_i (2 b_i a_i + a_i²) s_i / 2).
fn enumerate(start: u64, len: u64, columns: &[f64], b: &[f64], c: &[f64], inv_var: &[f64]) -> f64 {
    let nv = b.len();
    let gray = |k: u64| k ^ (k >> 1);
    let first = gray(start);
    let mut a = vec![0.0f64; nv];
    let mut linear = 0.0;
    for (j, &cj) in c.iter().enumerate() {
        if (first >> j) & 1 == 1 {
            a.iter_mut().zip(&columns[j * nv..(j + 1) * nv]).for_each(|(x, &w)| *x += w);
            linear += cj;
        }
    }
    let mut terms = Vec::with_capacity(len as usize);
    let end = start + len;
    for k in start..end {
        let quadratic: f64 =
            a.iter().zip(b).zip(inv_var).map(|((&ai, &bi), &si)| (2.0 * bi * ai + ai * ai) * si).sum::<f64>();
        terms.push(linear + 0.5 * quadratic);
        let next = k + 1;
        if next < end {
            let bit = next.trailing_zeros() as usize;
            let column = &columns[bit * nv..(bit + 1) * nv];
            let sign = if (gray(next) >> bit) & 1 == 1 { 1.0 } else { -1.0 };
            a.iter_mut().zip(column).for_each(|(x, &w)| *x += sign * w);
            linear += sign * c[bit];
        }
    }
    log_sum_exp(&terms)
}
