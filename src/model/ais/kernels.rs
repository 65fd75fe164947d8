//! The inner loops of an annealing step, written so that they vectorise: the log-weight increment
//! (a dot product and a sum of softplus differences by short series), a branch-free f32 sigmoid,
//! and Bernoulli draws two per 64-bit random number.

use rand::RngCore;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::rbm::softplus;

/// Lanes of the hand-split accumulators below: independent partial results let the compiler keep
/// them in vector registers without reassociating a single floating-point sum.
const LANES: usize = 8;

/// Σ x_i d_i with f32 x and f64 d, in f64.
pub(super) fn dot_f64(x: &[f32], d: &[f64]) -> f64 {
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
pub(super) fn softplus_steps(a: &[f32], p: &[f32], beta_prev: f64, beta: f64) -> f64 {
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
pub(super) fn softplus_step_series(y: f64, p: f64) -> f64 {
    let e = y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0 + y * (1.0 / 720.0))))));
    let z = p * e;
    -z * (1.0 - z * (0.5 - z * (1.0 / 3.0 - z * (0.25 - z * (0.2 - z * (1.0 / 6.0 - z * (1.0 / 7.0 - z * 0.125)))))))
}

/// e^x in f32 without a libm call and without branches, so loops over it vectorise: Cody-Waite
/// reduction x = n ln2 + f with |f| ≤ ln2/2, a degree-7 Taylor polynomial for e^f (truncation below
/// 1e-8 relative) and 2^n built in the exponent bits. Inputs are clamped to [−87, 88] so that 2^n
/// stays a normal number; that is far beyond where σ saturates in f32.
#[inline(always)]
pub(super) fn fast_exp(x: f32) -> f32 {
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
pub(super) fn fast_sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// In place: p → 1 with probability p, else 0. Two 24-bit uniforms per 64-bit draw (bits 40..64 and
/// 16..40), compared as `u < p` like the rest of the crate.
pub(super) fn bernoulli_in_place(row: &mut [f32], rng: &mut Xoshiro256PlusPlus) {
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
pub(super) fn softplus_step(a: f64, p: f64, beta_prev: f64, beta: f64) -> f64 {
    let y = -(beta - beta_prev) * a;
    if y.abs() < SERIES_LIMIT { softplus_step_series(y, p) } else { softplus(beta * a) - softplus(beta_prev * a) }
}
