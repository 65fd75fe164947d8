//! The command line: no subcommand opens the window; `train`, `sample`, `inpaint`, `eval` and `bench`
//! run headless, one file each.

mod bench;
mod eval;
mod inpaint;
mod probe;
mod sample;
mod signals;
mod train;

pub use bench::{BenchArgs, BenchPlan, Scenario, bench_sgemm, run_bench, run_scenario};
pub use eval::{EvalArgs, run_eval};
pub use inpaint::{InpaintArgs, MaskSpec, ModeArg, run_inpaint};
pub use probe::{ProbeArgs, run_probe};
pub use sample::{SampleArgs, StartArg, run_sample};
pub use signals::{StopSignal, StopSignals};
pub use train::{TrainArgs, run_train};

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::data::Dataset;
use crate::limits::{MAX_STATS_INTERVAL_SECONDS, MAX_THREADS};
use crate::model::{TemperatureSpacing, VisibleSampling};

#[derive(Parser, Debug)]
#[command(name = "rbm-lab", version, about = "Watch a Restricted Boltzmann Machine learn MNIST, live")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Subcommands>,
    #[command(flatten)]
    pub window: WindowArgs,
}

#[derive(Args, Debug, Clone)]
pub struct WindowArgs {
    /// Folder with IDX files to train on instead of the embedded MNIST.
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Open the window with training paused.
    #[arg(long)]
    pub paused: bool,
    /// Threads for training (default: all cores).
    #[arg(long, global = true, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Hidden units of the model the window starts with.
    #[arg(long = "window-hidden", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub window_hidden: u64,
    /// Print the trainer's samples/s and the frame statistics to stderr every this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_stats_interval)]
    pub stats_every: Option<f64>,
    /// Widget look: "light" (square corners, no shadows) costs a software renderer a third less
    /// per frame; "auto" picks it when OpenGL renders in software (also in the View menu).
    #[arg(long, value_enum, default_value_t = LookArg::Auto)]
    pub look: LookArg,
    /// Nice value for the window's own threads (the UI and Mesa's llvmpipe threads), so that they
    /// run in the gaps training leaves instead of preempting it (Linux; 0 keeps normal priority).
    #[arg(long, default_value_t = crate::threads::DEFAULT_UI_NICE, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub ui_nice: i32,
    /// File dialogs: "system" (the desktop's), "builtin" (rbm-lab's own, in the window), or "auto":
    /// the system's unless it has none (no desktop portal, no zenity) or View says otherwise.
    #[arg(long, value_enum, default_value_t = FileDialogArg::Auto)]
    pub file_dialog: FileDialogArg,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FileDialogArg {
    Auto,
    System,
    Builtin,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LookArg {
    /// Light on a software OpenGL renderer (Mesa llvmpipe and the like), egui's look otherwise.
    Auto,
    /// egui's look: rounded corners, shadows under popups.
    Full,
    /// Square corners and no shadows.
    Light,
}

#[derive(Subcommand, Debug)]
pub enum Subcommands {
    /// Train headless and save the model.
    Train(TrainArgs),
    /// Run Gibbs chains on a saved model and write a PNG grid of what it generates.
    Sample(SampleArgs),
    /// Hide part of test images, let a saved model complete them (clamped Gibbs, mean-field or free
    /// chains), write a PNG of examples and score the completions against per-pixel means.
    Inpaint(InpaintArgs),
    /// Print training samples/s for the tutorial setting and for 784x500 CD-1.
    Bench(BenchArgs),
    /// Estimate log Z (AIS, or exactly for small models) and print the test and train log-likelihood.
    Eval(EvalArgs),
    /// Train a linear classifier on a saved model's hidden probabilities and on the raw pixels,
    /// and print both test accuracies (overall and per class).
    Probe(ProbeArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SamplingArg {
    /// The tutorial's noisy mean-field visibles.
    Tutorial,
    /// Binary Gibbs sampling.
    Bernoulli,
    /// The probabilities p(v|h) themselves (Hinton's choice during learning).
    Probabilities,
}

impl From<SamplingArg> for VisibleSampling {
    fn from(s: SamplingArg) -> Self {
        match s {
            SamplingArg::Tutorial => VisibleSampling::NoisyMeanField,
            SamplingArg::Bernoulli => VisibleSampling::Bernoulli,
            SamplingArg::Probabilities => VisibleSampling::Probabilities,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum MethodArg {
    /// Contrastive divergence (chains start at the data).
    Cd,
    /// Persistent contrastive divergence (fantasy particles).
    Pcd,
    /// Parallel tempering (persistent chains at several temperatures that swap states).
    Pt,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SpacingArg {
    /// A constant ratio between neighbouring inverse temperatures.
    Geometric,
    /// Equal steps in inverse temperature.
    Linear,
}

impl From<SpacingArg> for TemperatureSpacing {
    fn from(spacing: SpacingArg) -> Self {
        match spacing {
            SpacingArg::Geometric => TemperatureSpacing::Geometric,
            SpacingArg::Linear => TemperatureSpacing::Linear,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ScheduleArg {
    Constant,
    Linear,
    Exponential,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum InitArg {
    Xavier,
    Hinton,
}

pub fn load_dataset(dir: Option<&Path>) -> Result<Dataset> {
    match dir {
        Some(dir) => Dataset::load_dir(dir).with_context(|| format!("cannot read the dataset in {}", dir.display())),
        None => Dataset::embedded_mnist().context("the embedded MNIST is unreadable"),
    }
}

/// `--threads`: a whole number up to [`MAX_THREADS`] (0 means all cores, as leaving it out does).
fn parse_threads(text: &str) -> Result<usize, String> {
    let threads: usize = text.parse().map_err(|_| format!("`{text}` is not a whole number of threads"))?;
    if threads > MAX_THREADS {
        return Err(format!("{threads} threads are more than rbm-lab's limit of {MAX_THREADS}"));
    }
    Ok(threads)
}

/// `--stats-every`: seconds above 0 and at most [`MAX_STATS_INTERVAL_SECONDS`], so that the
/// interval is a valid duration.
fn parse_stats_interval(text: &str) -> Result<f64, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= MAX_STATS_INTERVAL_SECONDS) {
        return Err(format!("the interval must be above 0 and at most {MAX_STATS_INTERVAL_SECONDS} seconds (one day)"));
    }
    Ok(seconds)
}

pub fn default_threads(requested: Option<usize>) -> usize {
    requested.filter(|&n| n > 0).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}
