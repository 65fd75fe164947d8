//! What the scenarios' rates are compared with: the useful floating-point work of a training step,
//! the SGEMM rate of the training shape on the same threads, and what the products ran on.

use std::time::Instant;

use crate::model::linalg::{self, gemm_instruction_set};
use crate::model::{GradientMethod, MathPool, SubnormalMode, TrainingConfig, sampling};

/// Floating-point operations per training sample that are matrix products: 2·V·H per row of each
/// product. CD-k: the positive phase, 2k − 1 chain products (the first reuses p(h|v0)), p(h|v_k)
/// and the update over data and chain rows (2k + 3 products of a batch); PCD-k adds the
/// reconstruction and has a full first step (2k + 5), its chain products over the particles; PT
/// runs those chain products at every temperature.
pub fn useful_flops_per_sample(config: &TrainingConfig, nv: usize, hidden: usize) -> f64 {
    let batch = config.batch_size.max(1) as f64;
    let k = config.k.max(1) as f64;
    let rows = match config.method {
        GradientMethod::Cd => batch * (2.0 * k + 3.0),
        GradientMethod::Pcd => {
            let particles = config.particles().max(1) as f64;
            // data rows: positive, reconstruction, update; particle rows: 2k chain, p(h|v_k), update
            3.0 * batch + (2.0 * k + 2.0) * particles
        }
        GradientMethod::Pt => {
            let particles = config.particles().max(1) as f64;
            let temperatures = config.temperatures.max(1) as f64;
            // as PCD, with the 2k chain products at every temperature
            3.0 * batch + (2.0 * k * temperatures + 2.0) * particles
        }
    };
    2.0 * nv as f64 * hidden as f64 * rows / batch
}

/// GFLOP/s of one f32 matrix product of the training shape (batch x V times V x H), for reference.
pub fn bench_sgemm(batch: usize, nv: usize, hidden: usize, pool: &MathPool, seconds: f64) -> f64 {
    let a = vec![0.5f32; batch * nv];
    let w = vec![0.01f32; nv * hidden];
    let bias = vec![0.0f32; hidden];
    let mut out = vec![0.0f32; batch * hidden];
    let mut once = || pool.run(|threads| linalg::affine(&mut out, &a, batch, &w, nv, hidden, &bias, threads));
    for _ in 0..50 {
        once();
    }
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        once();
        n += 1;
    }
    n as f64 * 2.0 * (batch * nv * hidden) as f64 / started.elapsed().as_secs_f64() / 1e9
}

/// The CPU's model name (Linux: /proc/cpuinfo's first `model name`).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// The line that says what the products ran on; the subnormal mode as every math thread and the
/// calling thread read it back from their registers.
pub fn machine_line(pool: &MathPool) -> String {
    let mut modes = pool.thread_modes();
    modes.push(SubnormalMode::of_this_thread());
    let subnormals = match modes[0] {
        _ if modes.iter().any(|m| *m != modes[0]) => format!("MIXED across threads ({modes:?})"),
        Some(mode) => mode.describe().to_string(),
        None => "not controlled on this architecture".to_string(),
    };
    format!(
        "cpu: {}; products: gemm {}; element passes: {}; subnormals: {} ({} math threads)",
        cpu_model(),
        gemm_instruction_set(),
        sampling::instruction_set(),
        subnormals,
        pool.threads().0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn useful_flops_count_the_products_of_a_step() {
        let tutorial = TrainingConfig::default();
        let per_product = 2.0 * 784.0 * 256.0;
        assert_eq!(useful_flops_per_sample(&tutorial, 784, 256), 23.0 * per_product, "CD-10: 2k+3 products");
        let quality = TrainingConfig::quality_recipe();
        assert_eq!(useful_flops_per_sample(&quality, 784, 256), 7.0 * per_product, "PCD-1: 2k+5 products");
        let few_particles = TrainingConfig { pcd_particles: 50, ..quality };
        // Per batch of 100: 3 products of the data rows (positive, reconstruction, update) and 4 of
        // the 50 particles (two for the Gibbs step, p(h|v_k), update).
        assert_eq!(useful_flops_per_sample(&few_particles, 784, 256), (300.0 + 200.0) / 100.0 * per_product);
    }
}
