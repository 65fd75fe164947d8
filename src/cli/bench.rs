//! `rbm-lab bench`: training samples/s and the share of the machine's SGEMM they reach.

use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::{WindowArgs, default_threads, load_dataset};
use crate::data::Dataset;
use crate::model::{CdWorkspace, Initialisation, Rbm, Threads, TrainingConfig};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Seconds of timed training per setting (after a short warm-up).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Only this setting: "tutorial" (784x256 CD-10) or "h500k1" (784x500 CD-1).
    #[arg(long)]
    pub only: Option<String>,
}

/// Samples/s of the training loop alone (data copy included, as in the app), for one setting.
pub fn bench_setting(
    dataset: &Dataset,
    hidden: usize,
    config: &TrainingConfig,
    threads: usize,
    seconds: f64,
) -> (f64, f64) {
    use rand::SeedableRng;
    let nv = dataset.pixels_per_image();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
    let mut rbm = Rbm::initialised(nv, hidden, Initialisation::Xavier, &[], &mut rng);
    let batch = config.batch_size;
    let mut ws = CdWorkspace::new(nv, hidden, batch, 1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok();
    let mut cursor = 0;
    let mut run = |rbm: &mut Rbm, ws: &mut CdWorkspace| {
        for (r, row) in ws.data_mut(batch).chunks_exact_mut(nv).enumerate() {
            dataset.train_image_f32((cursor + r) % dataset.train.count, row);
        }
        cursor += batch;
        match &pool {
            Some(pool) => pool.install(|| ws.step(rbm, config, batch, Threads(threads))),
            None => ws.step(rbm, config, batch, Threads(1)),
        };
    };
    let warmup = Instant::now();
    while warmup.elapsed().as_secs_f64() < seconds.min(1.0) {
        run(&mut rbm, &mut ws);
    }
    let started = Instant::now();
    let mut samples = 0usize;
    while started.elapsed().as_secs_f64() < seconds {
        run(&mut rbm, &mut ws);
        samples += batch;
    }
    let rate = samples as f64 / started.elapsed().as_secs_f64();
    let flops_per_sample = (2 * config.k + 3) as f64 * 2.0 * nv as f64 * hidden as f64;
    (rate, rate * flops_per_sample / 1e9)
}

/// GFLOP/s of one f32 matrix product of the training shape (batch x V times V x H), for reference.
pub fn bench_sgemm(batch: usize, nv: usize, hidden: usize, threads: usize, seconds: f64) -> f64 {
    let a = vec![0.5f32; batch * nv];
    let w = vec![0.01f32; nv * hidden];
    let bias = vec![0.0f32; hidden];
    let mut out = vec![0.0f32; batch * hidden];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok();
    let mut once = || match &pool {
        Some(pool) => {
            pool.install(|| crate::model::linalg::affine(&mut out, &a, batch, &w, nv, hidden, &bias, Threads(threads)))
        }
        None => crate::model::linalg::affine(&mut out, &a, batch, &w, nv, hidden, &bias, Threads(1)),
    };
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

pub fn run_bench(args: &BenchArgs, window: &WindowArgs) -> Result<()> {
    let dataset = load_dataset(window.data.as_deref())?;
    let threads = default_threads(window.threads);
    println!("rbm-lab bench: {} threads, {} s per setting, dataset {}", threads, args.seconds, dataset.name);
    let settings = [
        ("tutorial", 256, TrainingConfig::default()),
        ("h500k1", 500, TrainingConfig { k: 1, ..TrainingConfig::default() }),
    ];
    for (name, hidden, config) in settings {
        if args.only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let (rate, gflops) = bench_setting(&dataset, hidden, &config, threads, args.seconds);
        let peak = bench_sgemm(config.batch_size, dataset.pixels_per_image(), hidden, threads, 1.0);
        println!(
            "{name:9} 784x{hidden} CD-{} batch {}: {rate:8.0} samples/s  {gflops:6.1} useful GFLOP/s  ({:.0}% of sgemm {peak:.1} GFLOP/s on this shape)",
            config.k,
            config.batch_size,
            100.0 * gflops / peak
        );
    }
    Ok(())
}
