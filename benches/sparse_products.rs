//! The sparse products against `gemm` on one thread, for the shapes of a training step: the time
//! of `v W + b` for 32 rows (a thread's block) through each, at several densities of random binary
//! rows and on MNIST's first grey images. The step takes the sparse products for operands at most
//! `sparse::MAX_DENSITY` nonzero; this shows where they stop paying on the machine at hand.
//!
//! Run: `cargo bench --bench sparse_products`.

use std::time::Instant;

use rbm_lab::data::Dataset;
use rbm_lab::model::{Threads, linalg, sparse};

/// Best of five timings of `repetitions` calls, seconds per call.
fn best_time(repetitions: usize, mut product: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..repetitions {
                product();
            }
            start.elapsed().as_secs_f64() / repetitions as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn compare(what: &str, a: &[f32], rows: usize, k: usize, n: usize) {
    let w: Vec<f32> = (0..k * n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let bias = vec![0.1f32; n];
    let mut out = vec![0f32; rows * n];
    let repetitions = (200_000_000 / (rows * k * n)).max(1);
    let dense = best_time(repetitions, || linalg::affine(&mut out, a, rows, &w, k, n, &bias, Threads(1)));
    let sparse = best_time(repetitions, || sparse::affine(&mut out, a, rows, &w, k, n, &bias));
    let nonzero = a.iter().filter(|&&x| x != 0.0).count() as f64 / a.len() as f64;
    let flops = 2.0 * (rows * k * n) as f64;
    println!(
        "{what:<22} {rows}x{k}x{n:<4} {:>5.1}% nonzero: gemm {:>6.1} µs ({:>5.1} GFLOP/s), sparse {:>6.1} µs \
         ({:>5.1} GFLOP/s on the nonzeros): sparse/gemm time {:.2}",
        100.0 * nonzero,
        dense * 1e6,
        flops / dense / 1e9,
        sparse * 1e6,
        nonzero * flops / sparse / 1e9,
        sparse / dense
    );
}

fn main() {
    let rows = 32;
    println!(
        "one thread; products: gemm {}; the step's limit: {:.0}% nonzero",
        linalg::gemm_instruction_set(),
        100.0 * sparse::MAX_DENSITY
    );
    let mnist = Dataset::embedded_mnist().expect("embedded MNIST");
    let mut images = vec![0f32; rows * 784];
    for (i, image) in images.chunks_exact_mut(784).enumerate() {
        mnist.train_image_f32(i, image);
    }
    compare("MNIST grey images", &images, rows, 784, 500);
    let thresholded: Vec<f32> = images.iter().map(|&x| f32::from(x >= 0.5)).collect();
    compare("MNIST thresholded", &thresholded, rows, 784, 500);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for percent in [10, 20, 30, 40, 50] {
        for (k, n) in [(784, 500), (256, 784)] {
            let a: Vec<f32> = (0..rows * k)
                .map(|_| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    f32::from((state >> 33) % 100 < percent)
                })
                .collect();
            compare(&format!("random binary, {percent}%"), &a, rows, k, n);
        }
    }
}
