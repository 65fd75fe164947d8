//! Row-parallel element passes of the Gibbs chain: sigmoid, Bernoulli draws and Gaussian noise.
//! Each row uses its own random stream, so results do not depend on how rows are split over threads.

use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::config::VisibleSampling;
use super::linalg::Threads;
use super::rbm::sigmoid;
use super::rng::{normal_f32, uniform_f32};

/// Runs `f(row, stream)` over the first `rows` rows, on `threads` threads when more than one.
fn for_each_row<F>(
    data: &mut [f32],
    width: usize,
    rows: usize,
    streams: &mut [Xoshiro256PlusPlus],
    threads: Threads,
    f: F,
) where
    F: Fn(&mut [f32], &mut Xoshiro256PlusPlus) + Sync + Send,
{
    let data = &mut data[..rows * width];
    let streams = &mut streams[..rows];
    if threads.0 > 1 && rows > 1 {
        let per_task = rows.div_ceil(threads.0);
        data.par_chunks_mut(width * per_task).zip(streams.par_chunks_mut(per_task)).for_each(|(block, rngs)| {
            for (row, rng) in block.chunks_mut(width).zip(rngs) {
                f(row, rng)
            }
        });
    } else {
        for (row, rng) in data.chunks_mut(width).zip(streams) {
            f(row, rng)
        }
    }
}

/// In place: pre-activations → probabilities.
pub fn sigmoid_rows(data: &mut [f32], width: usize, rows: usize, threads: Threads) {
    let data = &mut data[..rows * width];
    if threads.0 > 1 && rows > 1 {
        let per_task = rows.div_ceil(threads.0) * width;
        data.par_chunks_mut(per_task).for_each(|c| c.iter_mut().for_each(|x| *x = sigmoid(*x)));
    } else {
        data.iter_mut().for_each(|x| *x = sigmoid(*x));
    }
}

/// `states[i] = 1 if u < probabilities[i] else 0` (the hidden layer's binary sample).
pub fn bernoulli_rows(
    probabilities: &[f32],
    states: &mut [f32],
    width: usize,
    rows: usize,
    streams: &mut [Xoshiro256PlusPlus],
    threads: Threads,
) {
    // Copy first so the pass can run in place on `states` row by row.
    states[..rows * width].copy_from_slice(&probabilities[..rows * width]);
    binarize_rows(states, width, rows, streams, threads);
}

/// In place: sigmoid of the pre-activations, then binary samples (hidden states, or Bernoulli
/// visibles); the probabilities are not kept.
pub fn sample_from_inputs(
    data: &mut [f32],
    width: usize,
    rows: usize,
    streams: &mut [Xoshiro256PlusPlus],
    threads: Threads,
) {
    for_each_row(data, width, rows, streams, threads, |row, rng| {
        for x in row.iter_mut() {
            *x = if uniform_f32(rng) < sigmoid(*x) { 1.0 } else { 0.0 };
        }
    });
}

/// In place: visible pre-activations → the chain's next visible state.
pub fn visible_state_from_inputs(
    data: &mut [f32],
    width: usize,
    rows: usize,
    streams: &mut [Xoshiro256PlusPlus],
    threads: Threads,
    sampling: VisibleSampling,
    noise_std: f32,
) {
    match sampling {
        VisibleSampling::NoisyMeanField => for_each_row(data, width, rows, streams, threads, |row, rng| {
            for x in row.iter_mut() {
                *x = sigmoid(*x) + noise_std * normal_f32(rng);
            }
        }),
        VisibleSampling::Bernoulli => sample_from_inputs(data, width, rows, streams, threads),
        VisibleSampling::Probabilities => sigmoid_rows(data, width, rows, threads),
    }
}

/// In place: intensities in [0, 1] → binary pixels, each 1 with probability equal to its intensity.
pub fn binarize_rows(
    data: &mut [f32],
    width: usize,
    rows: usize,
    streams: &mut [Xoshiro256PlusPlus],
    threads: Threads,
) {
    for_each_row(data, width, rows, streams, threads, |row, rng| {
        for x in row.iter_mut() {
            *x = if uniform_f32(rng) < *x { 1.0 } else { 0.0 };
        }
    });
}
