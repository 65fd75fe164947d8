//! Row-parallel element passes of the Gibbs chain: sigmoid, Bernoulli draws and Gaussian noise.
//! Each row uses its own random stream, so results do not depend on how rows are split over threads.

use rand::RngCore;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::config::VisibleSampling;
use super::linalg::Threads;
use super::rbm::sigmoid;
use super::rng::{normal_pair_from_bits, uniform_pair_from_bits};

/// xoshiro outputs drawn per chunk; each gives two numbers, so a chunk covers 2·DRAWS elements.
const DRAWS: usize = 16;
const CHUNK: usize = 2 * DRAWS;

/// The element passes of the chain, run row by row.
#[derive(Clone, Copy)]
enum RowPass {
    /// σ(x) (no random draws).
    Sigmoid,
    /// 1 with probability σ(x), else 0.
    SampleFromInputs,
    /// 1 with probability x, else 0.
    Binarize,
    /// σ(x) + std·N(0, 1): the tutorial's visibles.
    NoisyMeanField { noise_std: f32 },
}

/// Runs `pass` over the first `rows` rows, on `threads` threads when more than one.
fn run_pass(
    pass: RowPass,
    data: &mut [f32],
    width: usize,
    rows: usize,
    streams: &mut [Xoshiro256PlusPlus],
    threads: Threads,
) {
    let data = &mut data[..rows * width];
    let available = rows.min(streams.len());
    let streams = &mut streams[..available];
    if threads.0 > 1 && rows > 1 {
        let per_task = rows.div_ceil(threads.0);
        if streams.is_empty() {
            data.par_chunks_mut(width * per_task).for_each(|block| run_rows_dispatch(pass, block, width, &mut []));
        } else {
            data.par_chunks_mut(width * per_task)
                .zip(streams.par_chunks_mut(per_task))
                .for_each(|(block, rngs)| run_rows_dispatch(pass, block, width, rngs));
        }
    } else {
        run_rows_dispatch(pass, data, width, streams)
    }
}

/// The instruction sets the element passes are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PassIsa {
    /// Only with the `avx512` feature (on by default).
    #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Baseline,
}

/// The best instruction set of this CPU that the passes are built for (detected once).
fn pass_isa() -> PassIsa {
    static ISA: std::sync::OnceLock<PassIsa> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            #[cfg(feature = "avx512")]
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
                return PassIsa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return PassIsa::Avx2;
            }
        }
        PassIsa::Baseline
    })
}

/// The instruction set the element passes run with on this CPU: "AVX-512", "AVX2" or "baseline"
/// (what the compiler targets by default, SSE2 on x86_64).
pub fn instruction_set() -> &'static str {
    match pass_isa() {
        #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
        PassIsa::Avx512 => "AVX-512",
        #[cfg(target_arch = "x86_64")]
        PassIsa::Avx2 => "AVX2",
        PassIsa::Baseline => "baseline",
    }
}

/// The rows compiled for the best instruction set of this CPU: AVX-512, AVX2 or the baseline. The
/// element math has no fused multiply-adds, so every path gives the same bits.
fn run_rows_dispatch(pass: RowPass, block: &mut [f32], width: usize, rngs: &mut [Xoshiro256PlusPlus]) {
    run_rows_on(pass_isa(), pass, block, width, rngs)
}

/// The rows compiled for `isa`, which must be this CPU's [`pass_isa`] or one of the sets below it
/// (as [`supported_isas`] lists them).
fn run_rows_on(isa: PassIsa, pass: RowPass, block: &mut [f32], width: usize, rngs: &mut [Xoshiro256PlusPlus]) {
    match isa {
        // SAFETY: callers pass `pass_isa()` or a set below it, so the CPU has the features the
        // function is compiled for.
        #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
        PassIsa::Avx512 => unsafe { run_rows_avx512(pass, block, width, rngs) },
        // SAFETY: as above (every CPU with AVX-512F as detected here also has AVX2).
        #[cfg(target_arch = "x86_64")]
        PassIsa::Avx2 => unsafe { run_rows_avx2(pass, block, width, rngs) },
        PassIsa::Baseline => run_rows(pass, block, width, rngs),
    }
}

/// Every instruction set of the passes that this CPU can run, the best first.
#[cfg(test)]
fn supported_isas() -> Vec<PassIsa> {
    let mut isas = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if pass_isa() == PassIsa::Avx512 {
            isas.push(PassIsa::Avx512);
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            isas.push(PassIsa::Avx2);
        }
    }
    isas.push(PassIsa::Baseline);
    isas
}

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn run_rows_avx512(pass: RowPass, block: &mut [f32], width: usize, rngs: &mut [Xoshiro256PlusPlus]) {
    run_rows(pass, block, width, rngs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_rows_avx2(pass: RowPass, block: &mut [f32], width: usize, rngs: &mut [Xoshiro256PlusPlus]) {
    run_rows(pass, block, width, rngs)
}

#[inline(always)]
fn run_rows(pass: RowPass, block: &mut [f32], width: usize, rngs: &mut [Xoshiro256PlusPlus]) {
    match pass {
        RowPass::Sigmoid => block.iter_mut().for_each(|x| *x = sigmoid(*x)),
        RowPass::SampleFromInputs => {
            for (row, rng) in block.chunks_mut(width).zip(rngs) {
                apply_with_draws(row, rng, uniform_pair_from_bits, |x, u| if u < sigmoid(x) { 1.0 } else { 0.0 })
            }
        }
        RowPass::Binarize => {
            for (row, rng) in block.chunks_mut(width).zip(rngs) {
                apply_with_draws(row, rng, uniform_pair_from_bits, |x, u| if u < x { 1.0 } else { 0.0 })
            }
        }
        RowPass::NoisyMeanField { noise_std } => {
            for (row, rng) in block.chunks_mut(width).zip(rngs) {
                apply_with_draws(row, rng, normal_pair_from_bits, |x, z| sigmoid(x) + noise_std * z)
            }
        }
    }
}

/// `row[i] = apply(row[i], draw_i)` where the draws come in pairs from one xoshiro output each:
/// within a chunk of 2·DRAWS elements, element i takes the first number of output i and element
/// DRAWS + i the second, so both halves are contiguous and the loops vectorise.
#[inline(always)]
fn apply_with_draws(
    row: &mut [f32],
    rng: &mut Xoshiro256PlusPlus,
    draw_pair: impl Fn(u64) -> (f32, f32),
    apply: impl Fn(f32, f32) -> f32,
) {
    let mut bits = [0u64; DRAWS];
    let mut draws = [0f32; CHUNK];
    let mut chunks = row.chunks_exact_mut(CHUNK);
    for chunk in &mut chunks {
        for b in &mut bits {
            *b = rng.next_u64();
        }
        fill_draws(&bits, &mut draws, &draw_pair);
        for (x, d) in chunk.iter_mut().zip(&draws) {
            *x = apply(*x, *d);
        }
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        for b in &mut bits[..tail.len().min(DRAWS)] {
            *b = rng.next_u64();
        }
        fill_draws(&bits, &mut draws, &draw_pair);
        for (x, d) in tail.iter_mut().zip(&draws) {
            *x = apply(*x, *d);
        }
    }
}

#[inline(always)]
fn fill_draws(bits: &[u64; DRAWS], draws: &mut [f32; CHUNK], draw_pair: impl Fn(u64) -> (f32, f32)) {
    let (first, second) = draws.split_at_mut(DRAWS);
    for ((b, d0), d1) in bits.iter().zip(first).zip(second) {
        (*d0, *d1) = draw_pair(*b);
    }
}

/// In place: pre-activations → probabilities.
pub fn sigmoid_rows(data: &mut [f32], width: usize, rows: usize, threads: Threads) {
    run_pass(RowPass::Sigmoid, data, width, rows, &mut [], threads)
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
    run_pass(RowPass::SampleFromInputs, data, width, rows, streams, threads)
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
    let pass = match sampling {
        VisibleSampling::NoisyMeanField => RowPass::NoisyMeanField { noise_std },
        VisibleSampling::Bernoulli => RowPass::SampleFromInputs,
        VisibleSampling::Probabilities => RowPass::Sigmoid,
    };
    run_pass(pass, data, width, rows, streams, threads)
}

/// In place: intensities in [0, 1] → binary pixels, each 1 with probability equal to its intensity.
pub fn binarize_rows(
    data: &mut [f32],
    width: usize,
    rows: usize,
    streams: &mut [Xoshiro256PlusPlus],
    threads: Threads,
) {
    run_pass(RowPass::Binarize, data, width, rows, streams, threads)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::model::rng::RowStreams;

    /// The AVX-512 / AVX2 builds of the passes give the same bits as the baseline build, for
    /// widths with and without a partial chunk.
    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let passes = [
            RowPass::Sigmoid,
            RowPass::SampleFromInputs,
            RowPass::Binarize,
            RowPass::NoisyMeanField { noise_std: 0.1 },
        ];
        for width in [784, 256, 500, 33, 7] {
            let rows = 5;
            let mut pattern = Xoshiro256PlusPlus::seed_from_u64(width as u64);
            let input: Vec<f32> =
                (0..rows * width).map(|_| (pattern.next_u32() >> 8) as f32 / 16_777_216.0 * 16.0 - 8.0).collect();
            for pass in passes {
                let mut generic = input.clone();
                run_rows(pass, &mut generic, width, RowStreams::new(11, rows).streams_mut());
                // Every set this CPU has, not only the best: an AVX-512 machine checks AVX2 too.
                for isa in supported_isas() {
                    let mut vectorised = input.clone();
                    run_rows_on(isa, pass, &mut vectorised, width, RowStreams::new(11, rows).streams_mut());
                    let same = generic.iter().zip(&vectorised).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "width {width}: the {isa:?} pass differs from the baseline build");
                }
            }
        }
    }

    /// The same holds for inputs whose sigmoids are subnormal (x < −87.3), in either subnormal mode;
    /// flushed, no pass leaves a subnormal behind.
    #[test]
    fn every_instruction_set_gives_the_same_bits_where_sigmoids_are_subnormal() {
        use crate::model::pool::{SubnormalMode, count_subnormals};
        let passes = [RowPass::Sigmoid, RowPass::SampleFromInputs, RowPass::NoisyMeanField { noise_std: 0.1 }];
        let (rows, width) = (3, 784);
        // −100 … −80 (and a few ordinary values at the end of each row).
        let input: Vec<f32> = (0..rows * width)
            .map(|i| if i % width < 700 { -100.0 + 20.0 * (i % 701) as f32 / 700.0 } else { 0.5 })
            .collect();
        for mode in [SubnormalMode::Flush, SubnormalMode::Keep] {
            let input = input.clone();
            std::thread::spawn(move || {
                mode.apply_here();
                for (pass, isa) in
                    passes.into_iter().flat_map(|pass| supported_isas().into_iter().map(move |isa| (pass, isa)))
                {
                    let mut generic = input.clone();
                    let mut dispatched = input.clone();
                    run_rows(pass, &mut generic, width, RowStreams::new(3, rows).streams_mut());
                    run_rows_on(isa, pass, &mut dispatched, width, RowStreams::new(3, rows).streams_mut());
                    let same = generic.iter().zip(&dispatched).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{mode:?}: the {isa:?} pass differs from the baseline build");
                    let subnormals = count_subnormals(&dispatched);
                    match (mode, pass) {
                        (SubnormalMode::Flush, _) => assert_eq!(subnormals, 0, "{mode:?}"),
                        (SubnormalMode::Keep, RowPass::Sigmoid) if cfg!(target_arch = "x86_64") => {
                            assert!(subnormals > 0, "the inputs make subnormal sigmoids")
                        }
                        _ => {}
                    }
                }
            })
            .join()
            .expect("test thread");
        }
    }

    /// Each row consumes its own stream: splitting rows over threads changes nothing.
    #[test]
    fn rows_split_over_threads_give_the_same_bits() {
        let (rows, width) = (9, 784);
        let input: Vec<f32> = (0..rows * width).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect();
        let mut one = input.clone();
        let mut two = input;
        let noisy = VisibleSampling::NoisyMeanField;
        visible_state_from_inputs(
            &mut one,
            width,
            rows,
            RowStreams::new(5, rows).streams_mut(),
            Threads(1),
            noisy,
            0.1,
        );
        visible_state_from_inputs(
            &mut two,
            width,
            rows,
            RowStreams::new(5, rows).streams_mut(),
            Threads(2),
            noisy,
            0.1,
        );
        assert_eq!(one, two);
    }

    /// Bernoulli draws follow their probabilities, element by element (including the tail chunk).
    #[test]
    fn binary_samples_follow_their_probabilities() {
        let (rows, width) = (4000, 37);
        let probabilities: Vec<f32> = (0..width).map(|j| j as f32 / (width - 1) as f32).collect();
        let mut data: Vec<f32> = probabilities.iter().cycle().take(rows * width).copied().collect();
        binarize_rows(&mut data, width, rows, RowStreams::new(2, rows).streams_mut(), Threads(1));
        for (j, &p) in probabilities.iter().enumerate() {
            let ones = (0..rows).filter(|r| data[r * width + j] == 1.0).count();
            let rate = ones as f64 / rows as f64;
            let tol = 5.0 * (p as f64 * (1.0 - p as f64) / rows as f64).sqrt() + 1e-9;
            assert!((rate - p as f64).abs() <= tol, "column {j}: rate {rate}, p {p}");
        }
    }
}
