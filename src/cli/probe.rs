//! `rbm-lab probe`: a linear probe (softmax regression) on a saved model's hidden probabilities
//! and on the raw pixels, trained on the training set and scored on the test set.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::signals::StopSignals;
use super::{WindowArgs, default_threads, load_dataset};
use crate::data::Dataset;
use crate::model::MathPool;
use crate::model::probe::{Accuracy, Features, Probe, ProbeConfig};

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// A model saved by rbm-lab (safetensors).
    pub model: PathBuf,
    /// Passes of minibatch SGD over the training set, for each of the two probes.
    #[arg(long, default_value_t = ProbeConfig::default().epochs)]
    pub epochs: usize,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Trains both probes and prints their test accuracies, overall and per class; a stop signal
/// (Ctrl+C) cancels, says so and gives the signal's exit status with no result printed.
pub fn run_probe(args: &ProbeArgs, window: &WindowArgs) -> Result<ExitCode> {
    let config = ProbeConfig { epochs: args.epochs, seed: args.seed, ..ProbeConfig::default() };
    config.validate().context("bad --epochs")?;
    let model = crate::io::load_model(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    model.require_binary("`rbm-lab probe`")?;
    let dataset = load_dataset(window)?;
    let nv = model.rbm.n_visible();
    if dataset.pixels_per_image() != nv {
        bail!("the model has {nv} visible units but the dataset's images have {} pixels", dataset.pixels_per_image());
    }
    if dataset.test.count == 0 {
        bail!("the dataset has no test images to score the probes on");
    }
    let pool = MathPool::new(default_threads(window.threads));
    let signals = StopSignals::install().context("cannot catch Ctrl+C and termination signals")?;
    let hidden = model.rbm.n_hidden();
    let runs = [("p(h|v)", Features::Hidden(model.rbm.clone())), ("pixels", Features::Pixels(nv))];
    let mut results = Vec::new();
    for (name, features) in runs {
        let bar = indicatif::ProgressBar::new(1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!("probe on {name} {{bar:40}} {{percent}}% {{elapsed}}"))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let probe = train(&dataset, features, &config, &pool, &mut |fraction| {
            bar.set_position((fraction * 1000.0) as u64);
            signals.received().is_none()
        });
        bar.finish_and_clear();
        if let Some(signal) = signals.received() {
            let _ = writeln!(std::io::stderr(), "rbm-lab: probe cancelled by {}; nothing was measured", signal.name());
            return Ok(ExitCode::from(signal.exit_status()));
        }
        let probe = probe?;
        results.push(probe.accuracy(&dataset.test.pixels, &dataset.test.labels, &pool)?);
    }
    let (on_hidden, on_pixels) = (&results[0], &results[1]);
    println!(
        "model {} ({nv}x{hidden}); {} epochs of SGD on {} training images",
        args.model.display(),
        args.epochs,
        dataset.train.count
    );
    println!("linear probe on p(h|v) ({hidden} features): test accuracy {}", percent(on_hidden.rate()));
    println!("raw-pixel baseline ({nv} features):   test accuracy {}", percent(on_pixels.rate()));
    println!("per class (p(h|v) / pixels, {} test images):", on_hidden.total);
    for label in 0..on_hidden.per_class.len().max(on_pixels.per_class.len()) {
        let rate = |a: &Accuracy| a.class_rate(label).map_or_else(|| "-".to_owned(), percent);
        let images = on_hidden.per_class.get(label).map_or(0, |&(_, n)| n);
        println!("  {label}: {} / {}  ({images} images)", rate(on_hidden), rate(on_pixels));
    }
    Ok(ExitCode::SUCCESS)
}

fn train(
    dataset: &Dataset,
    features: Features,
    config: &ProbeConfig,
    pool: &MathPool,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Probe> {
    Ok(Probe::train(features, &dataset.train.pixels, &dataset.train.labels, config, pool, progress)?)
}

fn percent(rate: f64) -> String {
    format!("{:.2}%", 100.0 * rate)
}
