//! Free energies of many rows in f64: one f64 matrix product per block of rows gives the hidden
//! inputs, a vectorised Σ softplus the hidden term. Their mean, and the average log-likelihood
//! −mean F − log Z given log Z (of binary rows, or of grey images binarised a chunk at a time).

use rayon::prelude::*;

use super::binarise::Binariser;
use super::check_batch;
use crate::model::linalg::{self, Threads};
use crate::model::pool::on_math_pool;
use crate::model::rbm::Rbm;

/// Σ_i softplus(x_i) = Σ max(x_i, 0) + ln Π (1 + e^{−|x_i|}). Each factor is in (1, 2], so a product
/// of 512 factors stays below 2^512 and one logarithm per block replaces one per element. The
/// products and sums are split over independent lanes so that the loop vectorises.
#[inline(always)]
pub(super) fn softplus_sum(x: &[f64]) -> f64 {
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

/// F(v) of every row, in f64 (`Rbm::free_energy`), in row order.
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
pub fn free_energies(rbm: &Rbm, data: &[f32], rows: usize, threads: Threads) -> Vec<f64> {
    check_batch(rbm, data, rows);
    free_energies_with(&F64Parameters::of(rbm), data, threads)
}

/// [`free_energies`] with the f64 parameters already made (callers with several data sets).
pub(super) fn free_energies_with(params: &F64Parameters, data: &[f32], threads: Threads) -> Vec<f64> {
    params.map_rows(data, threads, |_, v, pre| -params.visible_term(v) - softplus_sum(pre))
}

/// Rows per f64 product in the batched free energies (64 x 500 f64 = 256 KB of pre-activations).
pub(super) const F64_BLOCK: usize = 64;

/// The parameters in f64, for free energies of many rows through one f64 matrix product per block
/// (the same sums as `Rbm::free_energy`, in a different order: agreement to ~1e-12 relative).
pub(super) struct F64Parameters {
    pub(super) weights: Vec<f64>,
    pub(super) visible_bias: Vec<f64>,
    hidden_bias: Vec<f64>,
    pub(super) nv: usize,
    pub(super) nh: usize,
}

impl F64Parameters {
    pub(super) fn of(rbm: &Rbm) -> Self {
        Self {
            weights: rbm.weights_slice().iter().map(|&x| x as f64).collect(),
            visible_bias: rbm.visible_bias().iter().map(|&x| x as f64).collect(),
            hidden_bias: rbm.hidden_bias().iter().map(|&x| x as f64).collect(),
            nv: rbm.n_visible(),
            nh: rbm.n_hidden(),
        }
    }

    /// b_h + v W for every row of `block`, row-major rows x H.
    pub(super) fn hidden_inputs(&self, block: &[f32]) -> Vec<f64> {
        let rows = block.len() / self.nv;
        let v: Vec<f64> = block.iter().map(|&x| x as f64).collect();
        let mut pre = vec![0.0; rows * self.nh];
        linalg::affine(&mut pre, &v, rows, &self.weights, self.nv, self.nh, &self.hidden_bias, Threads(1));
        pre
    }

    pub(super) fn visible_term(&self, v: &[f32]) -> f64 {
        self.visible_bias.iter().zip(v).map(|(&b, &x)| b * x as f64).sum()
    }

    /// `per_row(row, v, pre)` for every row v of `data`, in row order, where `pre` is v's hidden
    /// inputs b_h + vW: one f64 product per block of [`F64_BLOCK`] rows, the blocks spread over
    /// `threads` threads and collected in order.
    pub(super) fn map_rows(
        &self,
        data: &[f32],
        threads: Threads,
        per_row: impl Fn(usize, &[f32], &[f64]) -> f64 + Sync,
    ) -> Vec<f64> {
        let (nv, nh) = (self.nv, self.nh);
        on_math_pool(threads, || {
            data.par_chunks(nv * F64_BLOCK)
                .enumerate()
                .flat_map_iter(|(block_index, block)| {
                    let pre = self.hidden_inputs(block);
                    let values: Vec<f64> = block
                        .chunks_exact(nv)
                        .zip(pre.chunks_exact(nh))
                        .enumerate()
                        .map(|(i, (v, pre))| per_row(block_index * F64_BLOCK + i, v, pre))
                        .collect();
                    values
                })
                .collect()
        })
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

pub(super) fn mean_free_energy_with(params: &F64Parameters, data: &[f32], rows: usize, threads: Threads) -> f64 {
    free_energies_with(params, data, threads).iter().sum::<f64>() / rows as f64
}

/// Average log-likelihood in nats, mean over rows of log p(v) = −F(v) − log Z, given log Z (exact from
/// [`exact_log_z`](super::exact_log_z) or estimated by [`crate::model::ais::ais_log_z`]). Use binary data
/// ([`binarise`](super::binarise())): the
/// RBM's distribution is over binary vectors.
///
/// # Panics
/// If `rows == 0` or `data_binary.len() != rows * V`.
pub fn average_log_likelihood(rbm: &Rbm, data_binary: &[f32], rows: usize, log_z: f64, threads: Threads) -> f64 {
    -mean_free_energy(rbm, data_binary, rows, threads) - log_z
}

/// f32 values binarised at a time by [`average_log_likelihood_of_images`] (16 MiB).
const CHUNK_VALUES: usize = 1 << 22;

/// [`average_log_likelihood`] of `rows` grey images (`pixels`, row-major rows x V bytes),
/// binarised as [`binarise`](super::binarise()) with `seed` does. The images are binarised and summed a chunk of rows
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rbm::softplus;

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
