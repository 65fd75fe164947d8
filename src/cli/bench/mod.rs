//! `rbm-lab bench`: training samples/s in four scenarios, the share of the machine's SGEMM they
//! reach, and what the products ran on (CPU model, instruction sets, subnormal mode).
//!
//! One line per scenario, the first `N samples/s` on it the scenario's (first) rate:
//! - `tutorial`: 784x256 CD-10, batch 64 (the tutorial's settings).
//! - `h500k1`: 784x500 CD-1, batch 64.
//! - `quality`: the quality recipe's step (centered PCD-1, batch 100, 500 hidden, binarised data,
//!   Hinton's initialisation, lr 0.01 decaying linearly), timed fresh and again after
//!   `--quality-updates` updates, when the centering offsets of rarely lit pixels have decayed
//!   through the subnormal range (μ ← 0.99μ reaches it after ~8,700 updates without data).
//! - `cliff`: one epoch of the tutorial's settings, then the same model continued at lr 0.6 (what
//!   a slider drag does); the two rates and their ratio. On the `--data` dataset.
//!
//! The data is read in order (no shuffling) and copied into the batch as the trainer does.
//!
//! Beside this file: `scenarios.rs`, the timed trials, and `reference.rs`, what their rates are
//! compared with (the SGEMM of the shape, the useful flops of a step, the machine's line).

mod reference;
mod scenarios;

pub use reference::bench_sgemm;
pub use scenarios::run_scenario;

use reference::machine_line;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use super::{WindowArgs, default_threads, load_dataset};
use crate::model::MathPool;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Seconds of each timed segment (after a warm-up of up to one second).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Only this scenario.
    #[arg(long, value_enum)]
    pub only: Option<Scenario>,
    /// Quality scenario: updates trained between the fresh and the late timed segment.
    #[arg(long, default_value_t = 12_000)]
    pub quality_updates: u64,
    /// Cliff scenario: samples in each of its two segments (default: one epoch of the training set).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub cliff_samples: Option<u64>,
    /// Cliff scenario: the learning rate the model continues at.
    #[arg(long, default_value_t = 0.6)]
    pub cliff_lr: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// 784x256 CD-10, batch 64: the tutorial's settings.
    Tutorial,
    /// 784x500 CD-1, batch 64.
    #[value(name = "h500k1")]
    H500k1,
    /// The quality recipe's step, fresh and after many updates.
    Quality,
    /// One epoch at the tutorial's settings, then the same model at lr 0.6.
    Cliff,
}

impl Scenario {
    const ALL: [Scenario; 4] = [Scenario::Tutorial, Scenario::H500k1, Scenario::Quality, Scenario::Cliff];

    fn name(self) -> &'static str {
        match self {
            Scenario::Tutorial => "tutorial",
            Scenario::H500k1 => "h500k1",
            Scenario::Quality => "quality",
            Scenario::Cliff => "cliff",
        }
    }
}

/// How long each scenario runs (from the command line; small in tests).
#[derive(Clone, Copy, Debug)]
pub struct BenchPlan {
    pub seconds: f64,
    pub quality_updates: u64,
    /// Samples per cliff segment; `None`: one epoch.
    pub cliff_samples: Option<u64>,
    pub cliff_lr: f32,
}

impl BenchPlan {
    fn from_args(args: &BenchArgs) -> Result<Self> {
        if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
            bail!("--seconds must be a number of seconds between 0 and 3600 (got {})", args.seconds);
        }
        if !(args.cliff_lr.is_finite() && args.cliff_lr > 0.0 && args.cliff_lr <= 10.0) {
            bail!("--cliff-lr must be a learning rate above 0 and at most 10 (got {})", args.cliff_lr);
        }
        Ok(Self {
            seconds: args.seconds,
            quality_updates: args.quality_updates,
            cliff_samples: args.cliff_samples,
            cliff_lr: args.cliff_lr,
        })
    }
}

pub fn run_bench(args: &BenchArgs, window: &WindowArgs) -> Result<()> {
    let plan = BenchPlan::from_args(args)?;
    let dataset = load_dataset(window)?;
    let pool = MathPool::new(default_threads(window.threads));
    println!(
        "rbm-lab bench: {} threads, {} s per timed segment, dataset {} ({} training images)",
        pool.threads().0,
        plan.seconds,
        dataset.name,
        dataset.train.count
    );
    println!("{}", machine_line(&pool));
    for scenario in Scenario::ALL {
        if args.only.is_some_and(|only| only != scenario) {
            continue;
        }
        println!("{}", run_scenario(scenario, &dataset, &pool, &plan).line());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_durations_are_refused_with_a_message() {
        let args = |seconds: f64, cliff_lr: f32| BenchArgs {
            seconds,
            only: None,
            quality_updates: 0,
            cliff_samples: None,
            cliff_lr,
        };
        for (seconds, lr) in [(0.0, 0.6), (f64::NAN, 0.6), (-1.0, 0.6), (5.0, 0.0), (5.0, f32::INFINITY)] {
            let error = BenchPlan::from_args(&args(seconds, lr)).expect_err("refused").to_string();
            assert!(error.starts_with("--seconds") || error.starts_with("--cliff-lr"), "{error}");
        }
        assert!(BenchPlan::from_args(&args(5.0, 0.6)).is_ok());
    }
}
