//! The cheap quality measures the trainer computes as it goes: scikit-learn's pseudo-likelihood,
//! the free-energy gap between held-out and training data, and the mean-field reconstruction error.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::check_batch;
use super::free_energy::{F64Parameters, mean_free_energy_with};
use crate::model::linalg::Threads;
use crate::model::pool::on_math_pool;
use crate::model::rbm::{Rbm, softplus};

/// Pseudo-likelihood per sample and its mean.
#[derive(Clone, Debug, PartialEq)]
pub struct PseudoLikelihood {
    pub per_sample: Vec<f64>,
    pub mean: f64,
}

/// scikit-learn's `BernoulliRBM.score_samples`: for each sample, flip one visible unit chosen
/// uniformly at random (v_i → 1 − v_i) and return V · log σ(F(ṽ) − F(v)), in f64. The flip indices
/// come from one xoshiro256++ stream seeded with `seed`, one draw per row in row order (so the values
/// are reproducible, though not the same numbers as numpy's generator).
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
pub fn pseudo_likelihood(rbm: &Rbm, data: &[f32], rows: usize, seed: u64, threads: Threads) -> PseudoLikelihood {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let nv = rbm.n_visible();
    let flips: Vec<usize> = (0..rows).map(|_| rng.random_range(0..nv)).collect();
    pseudo_likelihood_with_flips(rbm, data, rows, &flips, threads)
}

/// [`pseudo_likelihood`] with explicit flip indices, one per row.
///
/// # Panics
/// If `rows == 0`, `data.len() != rows * V`, `flips.len() != rows` or an index is `>= V`.
pub fn pseudo_likelihood_with_flips(
    rbm: &Rbm,
    data: &[f32],
    rows: usize,
    flips: &[usize],
    threads: Threads,
) -> PseudoLikelihood {
    check_batch(rbm, data, rows);
    let nv = rbm.n_visible();
    assert_eq!(flips.len(), rows, "one flip index per row");
    assert!(flips.iter().all(|&i| i < nv), "flip indices must be below {nv}");
    let params = F64Parameters::of(rbm);
    let per_sample = params.map_rows(data, threads, |row, v, pre| {
        let (f, f_flipped) = free_energy_and_flipped(&params, v, pre, flips[row]);
        // V · log σ(x) = −V · softplus(−x)
        -(nv as f64) * softplus(-(f_flipped - f))
    });
    let mean = per_sample.iter().sum::<f64>() / rows as f64;
    PseudoLikelihood { per_sample, mean }
}

/// (F(v), F(ṽ)) where ṽ is v with unit `i` set to 1 − v_i, from v's hidden inputs `pre`: a
/// rank-one update gives the flipped vector's.
fn free_energy_and_flipped(params: &F64Parameters, v: &[f32], pre: &[f64], i: usize) -> (f64, f64) {
    let nh = params.nh;
    let visible_term = params.visible_term(v);
    let f = -visible_term - pre.iter().map(|&x| softplus(x)).sum::<f64>();
    let delta = (1.0 - v[i] as f64) - v[i] as f64;
    let row = &params.weights[i * nh..(i + 1) * nh];
    let flipped_sum: f64 = pre.iter().zip(row).map(|(&p, &wij)| softplus(p + delta * wij)).sum();
    let f_flipped = -(visible_term + delta * params.visible_bias[i]) - flipped_sum;
    (f, f_flipped)
}

/// Mean free energies of a training subset and a held-out set of the same size, and their gap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FreeEnergyGap {
    pub train_mean: f64,
    pub held_out_mean: f64,
    /// `held_out_mean − train_mean`: grows when the model overfits (training data gets lower free
    /// energy, i.e. higher unnormalised probability, than unseen data).
    pub gap: f64,
}

/// The overfitting monitor of Hinton's practical guide: mean F on held-out data minus mean F on a
/// training subset of the same size (`rows` rows each).
///
/// # Panics
/// If `rows == 0` or either slice is not `rows * V` long.
pub fn free_energy_gap(rbm: &Rbm, train: &[f32], held_out: &[f32], rows: usize, threads: Threads) -> FreeEnergyGap {
    check_batch(rbm, train, rows);
    check_batch(rbm, held_out, rows);
    let params = F64Parameters::of(rbm);
    let train_mean = mean_free_energy_with(&params, train, rows, threads);
    let held_out_mean = mean_free_energy_with(&params, held_out, rows, threads);
    FreeEnergyGap { train_mean, held_out_mean, gap: held_out_mean - train_mean }
}

/// Mean-field one-step reconstruction error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReconstructionError {
    /// mean over all pixels of (v − r)²
    pub mse: f64,
    /// mean over all pixels of |v − r|
    pub l1: f64,
}

/// Rows per batch of [`reconstruction_error`] (bounds the memory to a few MB).
const RECONSTRUCTION_BATCH: usize = 1024;

/// Reconstruction error between v and r = p(v | p(h | v)) (probabilities both ways, no sampling).
///
/// # Panics
/// If `rows == 0` or `data.len() != rows * V`.
pub fn reconstruction_error(rbm: &Rbm, data: &[f32], rows: usize, threads: Threads) -> ReconstructionError {
    check_batch(rbm, data, rows);
    let nv = rbm.n_visible();
    let (squared, absolute) = on_math_pool(threads, || {
        let mut squared = 0.0f64;
        let mut absolute = 0.0f64;
        for batch in data.chunks(RECONSTRUCTION_BATCH * nv) {
            let n = batch.len() / nv;
            let hidden = rbm.hidden_probabilities(batch, n, threads);
            let reconstruction = rbm.visible_probabilities(&hidden, n, threads);
            for (&v, &r) in batch.iter().zip(&reconstruction) {
                let d = (v - r) as f64;
                squared += d * d;
                absolute += d.abs();
            }
        }
        (squared, absolute)
    });
    let count = (rows * nv) as f64;
    ReconstructionError { mse: squared / count, l1: absolute / count }
}
