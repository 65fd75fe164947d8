//! `rbm-lab eval`: log Z (AIS, or exact for small models) and the average log-likelihood.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::signals::StopSignals;
use super::{WindowArgs, default_threads, load_dataset};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A model saved by rbm-lab (safetensors).
    pub model: PathBuf,
    /// AIS runs (paper: 100).
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// Number of inverse temperatures of a uniform schedule; default: the paper's ~14,500.
    #[arg(long)]
    pub betas: Option<usize>,
    /// Test images (and size of the training subset) to average over; more than a set holds means all of it.
    #[arg(long, default_value_t = 10_000)]
    pub images: usize,
    /// Seed of the AIS runs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Test images on which RAISE (reverse annealing) computes a lower bound of the log-likelihood
    /// to set beside AIS's estimate (0: skip).
    #[arg(long, default_value_t = 100)]
    pub raise_images: usize,
    /// RAISE's reverse runs per image.
    #[arg(long, default_value_t = crate::quality::DEFAULT_RAISE_RUNS)]
    pub raise_runs: usize,
}

/// Evaluates as asked; a stop signal (Ctrl+C) cancels the evaluation, says so and gives the
/// signal's exit status (130 for SIGINT) with no result printed.
pub fn run_eval(args: &EvalArgs, window: &WindowArgs) -> Result<ExitCode> {
    let settings = crate::quality::EvaluationSettings {
        runs: args.runs,
        betas: args.betas,
        images: args.images,
        seed: args.seed,
        threads: default_threads(window.threads),
        raise_images: args.raise_images,
        raise_runs: args.raise_runs,
    };
    // The arguments first, so that a wrong number is reported before anything is read; the
    // model's shape is checked against the limits by `evaluate`, before any work.
    settings.validate().context("bad --runs, --betas, --images, --raise-images or --raise-runs")?;
    let model =
        crate::io::load_labelled_model(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    if model.gaussian.is_some() {
        return super::gaussian::eval_gaussian(args, window, &model);
    }
    let dataset = load_dataset(window)?;
    if dataset.pixels_per_image() != model.rbm.n_visible() {
        bail!(
            "the model has {} visible units but the dataset's images have {} pixels",
            model.rbm.n_visible(),
            dataset.pixels_per_image()
        );
    }
    if let Some(labels) = &model.labels {
        return evaluate_classification(args, &model, labels, &dataset, settings.threads);
    }
    // A model trained on thresholded images is measured on thresholded test images, and one
    // trained on grey (or drawn binary) images on binary images drawn from the grey ones: the two
    // test sets give log-likelihoods several nats apart.
    let trained_thresholded = crate::data::is_thresholded_name(&model.metadata.dataset);
    if trained_thresholded != dataset.is_thresholded() {
        let advice = if trained_thresholded {
            "add --thresholded to evaluate it on the images it learned"
        } else {
            "leave out --thresholded to evaluate it on the images it learned"
        };
        let _ = writeln!(
            std::io::stderr(),
            "rbm-lab: note: the model was trained on {} and is evaluated on {}; {advice}",
            model.metadata.dataset,
            dataset.name
        );
    }
    settings.validate_for(model.rbm.n_visible(), model.rbm.n_hidden())?;
    let bar = indicatif::ProgressBar::new(1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template("AIS/RAISE {bar:40} {percent}% {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let epoch = model.metadata.epochs_trained;
    let signals = StopSignals::install().context("cannot catch Ctrl+C and termination signals")?;
    let result = crate::quality::evaluate(&model.rbm, &dataset, epoch, &settings, &mut |fraction| {
        bar.set_position((fraction * 1000.0) as u64);
        signals.received().is_none()
    });
    bar.finish_and_clear();
    // Cancelled AIS, or a signal during the parts that do not report progress: no result at all.
    if let Some(signal) = signals.received() {
        let _ = writeln!(std::io::stderr(), "rbm-lab: evaluation cancelled by {}; nothing was measured", signal.name());
        return Ok(ExitCode::from(signal.exit_status()));
    }
    let e = result?;
    println!(
        "model {} ({}x{}, {:.2} epochs on {})",
        args.model.display(),
        model.rbm.n_visible(),
        model.rbm.n_hidden(),
        epoch,
        model.metadata.dataset
    );
    if e.exact {
        println!("log Z = {:.4} (exact, by enumeration)", e.log_z);
    } else {
        println!(
            "log Z = {:.4}  ±3σ interval [{:.4}, {:.4}]  (AIS, {} runs, {} inverse temperatures)",
            e.log_z, e.log_z_low, e.log_z_high, e.runs, e.betas
        );
    }
    let (low, high) = e.test_interval();
    // Thresholded images are binary already; grey ones are binarised by drawing each pixel from
    // its intensity with a fixed seed.
    let kind = if dataset.is_thresholded() { "thresholded" } else { "binarised" };
    println!(
        "test  log-likelihood: {:.2} nats  [{:.2}, {:.2}]  ({} {kind} test images)",
        e.test_log_likelihood, low, high, e.images
    );
    println!("train log-likelihood: {:.2} nats  ({} {kind} training images)", e.train_log_likelihood, e.images);
    if let Some(raise) = &e.raise {
        println!(
            "RAISE lower bound:    {:.2} nats  [{:.2}, {:.2}]  (the first {} test images, {} reverse runs each; \
             log Z gives {:.2} on the same images)",
            raise.bound, raise.low, raise.high, raise.images, raise.runs, raise.log_z_estimate
        );
    }
    println!("evaluated in {:.1} s", e.seconds);
    Ok(ExitCode::SUCCESS)
}

/// A classification RBM (label units): its test accuracy, each image given the class of least
/// free energy F(x, y). AIS estimates log Z of plain RBMs only, so no log-likelihood is printed.
fn evaluate_classification(
    args: &EvalArgs,
    model: &crate::io::ModelFile,
    labels: &crate::model::labels::LabelUnits,
    dataset: &crate::data::Dataset,
    threads: usize,
) -> Result<ExitCode> {
    let count = args.images.min(dataset.test.count);
    let targets = &dataset.test.labels[..count];
    let started = std::time::Instant::now();
    let pool = crate::model::MathPool::new(threads);
    let accuracy = pool.run(|threads| {
        crate::model::labels::accuracy_of(&model.rbm, labels, targets, |i, out| dataset.test_image_f32(i, out), threads)
    });
    println!(
        "model {} ({}x{} with {} label units, {:.2} epochs on {})",
        args.model.display(),
        model.rbm.n_visible(),
        model.rbm.n_hidden(),
        labels.classes(),
        model.metadata.epochs_trained,
        model.metadata.dataset
    );
    println!(
        "test classification accuracy: {:.2}% ({} of {count} test images right, the class of least free energy)",
        100.0 * accuracy,
        (accuracy * count as f64).round() as usize
    );
    println!("(no log-likelihood: AIS estimates log Z of models without label units)");
    println!("evaluated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
