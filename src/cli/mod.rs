//! The command line: no subcommand opens the window; `train`, `sample`, `inpaint`, `eval` and `bench`
//! run headless, one file each.

mod bench;
mod eval;
mod gaussian;
mod inpaint;
mod probe;
mod sample;
mod signals;
mod train;
mod values;

pub use bench::{BenchArgs, BenchPlan, Scenario, bench_sgemm, run_bench, run_scenario};
pub use eval::{EvalArgs, run_eval};
pub use inpaint::{InpaintArgs, MaskSpec, ModeArg, run_inpaint};
pub use probe::{ProbeArgs, run_probe};
pub use sample::{SampleArgs, StartArg, run_sample};
pub use signals::{StopSignal, StopSignals};
pub use train::{TrainArgs, run_train};
pub use values::command_line_name;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::data::Dataset;
use crate::data::known::{self, DatasetSource};
use crate::limits::{MAX_STATS_INTERVAL_SECONDS, MAX_THREADS};

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
    /// Folder with IDX files to train on instead of the embedded MNIST, or a known dataset:
    /// `fashion-mnist` (Debian's dataset-fashion-mnist package) or `mnist`.
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Binarise the dataset once at half intensity (grey levels of 128 or more become white, the
    /// rest black), as PyDeep and several papers binarise MNIST, instead of the grey images: for
    /// train, eval, sample, inpaint, probe and bench, not the window.
    #[arg(long, global = true)]
    pub thresholded: bool,
    /// Open the window with training paused.
    #[arg(long)]
    pub paused: bool,
    /// Threads for training (default: all cores).
    #[arg(long, global = true, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Hidden units of the model the window starts with.
    #[arg(long = "window-hidden", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub window_hidden: u64,
    /// Visible units of the model the window starts with: binary (default), or gaussian (a
    /// Gaussian–Bernoulli RBM, with that model's defaults: CD-1, lr 0.001).
    #[arg(long = "window-visible", value_enum)]
    pub window_visible: Option<crate::model::VisibleType>,
    /// Print the trainer's samples/s and the frame statistics to stderr every this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_stats_interval)]
    pub stats_every: Option<f64>,
    /// Widget look: "light" (square corners, no shadows, a plain batch loss line) costs a software
    /// renderer a third less per frame; "auto" picks it when OpenGL renders in software (also in
    /// the View menu). With a GPU, "light" changes the look only.
    #[arg(long, value_enum, default_value_t = LookArg::Auto)]
    pub look: LookArg,
    /// Nice value for the window's own threads (the UI and Mesa's llvmpipe threads) when OpenGL
    /// renders on the CPU, so that they run in the gaps training leaves instead of preempting it
    /// (Linux; 0 keeps normal priority; with a GPU they are left alone).
    #[arg(long, default_value_t = crate::app::software_render::DEFAULT_UI_NICE, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub ui_nice: i32,
    /// Frames per second while training, for this run (View > Frame rate while training; default
    /// 15 when OpenGL renders on the CPU, 60 with a GPU). Input still redraws at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=crate::app::frame_rate::MAX_FRAMES_PER_SECOND as i64))]
    pub fps: Option<u32>,
    /// File dialogs: "system" (the desktop's), "builtin" (rbm-lab's own, in the window), or "auto":
    /// the system's unless it has none (no desktop portal, no zenity) or View says otherwise.
    #[arg(long, value_enum, default_value_t = FileDialogArg::Auto)]
    pub file_dialog: FileDialogArg,
    /// Start a new session instead of offering to continue the last one (which stays on disk until
    /// the new session is saved over it, then as session.previous.safetensors).
    #[arg(long)]
    pub fresh: bool,
    /// Folder where the window keeps its session (default: the app's data folder,
    /// $XDG_DATA_HOME/rbm-lab or ~/.local/share/rbm-lab).
    #[arg(long, value_name = "DIR")]
    pub session_dir: Option<PathBuf>,
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
    /// Print training samples/s in four scenarios: the tutorial's, 784x500 CD-1, the quality recipe and
    /// the learning-rate cliff.
    Bench(BenchArgs),
    /// Estimate log Z (AIS, or exactly for small models) and print the test and train log-likelihood.
    Eval(EvalArgs),
    /// Train a linear classifier on a saved model's hidden probabilities and on the raw pixels,
    /// and print both test accuracies (overall and per class).
    Probe(ProbeArgs),
}

/// The dataset `--data` names: a folder of IDX files or a known dataset (`fashion-mnist`, `mnist`);
/// none is the embedded MNIST. Thresholded at half intensity with `--thresholded`.
pub fn load_dataset(window: &WindowArgs) -> Result<Dataset> {
    let source = window.data.as_deref().map_or(DatasetSource::Embedded, |argument| {
        DatasetSource::from_argument(argument, Path::new(known::FASHION_MNIST_DIR))
    });
    let mut dataset = match &source {
        DatasetSource::Embedded => source.load().context("the embedded MNIST is unreadable")?,
        // Its errors name the dataset or the file already.
        DatasetSource::Known(_) => source.load()?,
        DatasetSource::Folder(dir) => {
            source.load().with_context(|| format!("cannot read the dataset in {}", dir.display()))?
        }
    };
    if window.thresholded {
        dataset.threshold();
    }
    Ok(dataset)
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
