//! `rbm-lab train`: headless training that writes a model file.
//!
//! The run is a [`TrainingRun`] driven on this thread, batch after batch, until the model has
//! exactly `--epochs` epochs: the same arguments give the same file, byte for byte, whatever the
//! machine's speed. The file carries the run's training state, so `--resume` continues it exactly
//! (a labelled or Gaussian–Bernoulli model's file has none: those continue from their weights and
//! position with fresh chains, and say so).
//! Nothing is lost on the way: the destination is checked before the first batch; SIGINT, SIGTERM
//! and SIGHUP save the run where it is (exit status 130, 143, 129); checkpoints beside `--out`
//! bound what a kill -9 or a power cut can take; a divergence or a failed final save leaves the
//! last good state in a file that is named.
//!
//! Beside this file: `report.rs`, what the person sees while the run goes on (the progress bar and
//! the epoch lines), and `saving.rs`, how the run's work is kept (checkpoints, a fallback file
//! when the wanted one cannot be written, the command that resumes).

mod report;
mod saving;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::Args;

use report::{ProgressReport, say, say_err};
use saving::{Checkpoints, beside, resume_command, save_somewhere};

use super::signals::{StopSignal, StopSignals};
use super::{WindowArgs, command_line_name, default_threads, load_dataset};
use crate::io::{ModelFile, check_destination, load_labelled_model, save_model};
use crate::model::{
    GradientMethod, Initialisation, LrSchedule, MathPool, ModelSpec, TemperatureSpacing, TrainingConfig,
    VisibleSampling, VisibleType,
};
use crate::trainer::{BatchOutcome, Continuation, TrainingRun};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Train until the model has this many epochs (passes over the training images) in total; with
    /// --resume, the file's epochs count (a file at epoch 2.4 with --epochs 5 trains 2.6 more).
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Where to write the model with its training state (safetensors); checked before training.
    #[arg(long)]
    pub out: PathBuf,
    /// Hidden units (default 256; with --resume, the file's).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Gibbs steps per contrastive-divergence update, CD-k (default 10).
    #[arg(long)]
    pub k: Option<usize>,
    /// Learning rate (default 0.005).
    #[arg(long)]
    pub lr: Option<f32>,
    /// Std. dev. of the Gaussian noise on the visibles, tutorial sampling only (default 0.1).
    #[arg(long)]
    pub noise: Option<f32>,
    /// Images per update (default 64).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Seed of initialisation, shuffling and sampling (default 0; with --resume, the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How the chain produces visibles (default tutorial).
    #[arg(long, value_enum)]
    pub sampling: Option<VisibleSampling>,
    /// Weight initialisation (default xavier; with --resume, the file's).
    #[arg(long, value_enum)]
    pub init: Option<Initialisation>,
    /// Gradient estimator (default cd).
    #[arg(long, value_enum)]
    pub method: Option<GradientMethod>,
    /// PCD fantasy particles, or PT's particles (each a ladder of --temperatures chains) (default 0:
    /// the batch size).
    #[arg(long)]
    pub particles: Option<usize>,
    /// Parallel tempering: chains per particle, one per inverse temperature (default 10).
    #[arg(long)]
    pub temperatures: Option<usize>,
    /// Parallel tempering: the lowest inverse temperature of the ladder (default 0.5).
    #[arg(long)]
    pub min_beta: Option<f32>,
    /// Parallel tempering: how the inverse temperatures are spaced from 1 down to --min-beta
    /// (default geometric).
    #[arg(long, value_enum)]
    pub temperature_spacing: Option<TemperatureSpacing>,
    /// Momentum after the warm-up (default 0: none). Hinton's guide: 0.9.
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Momentum during the warm-up (default 0.5).
    #[arg(long)]
    pub initial_momentum: Option<f32>,
    /// Warm-up epochs with the initial momentum (default 5).
    #[arg(long)]
    pub momentum_warmup: Option<f32>,
    /// L2 weight decay on W, e.g. 0.0002 (default 0).
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Target mean activation of the hidden units, with --sparsity-cost (default 0.05).
    #[arg(long)]
    pub sparsity_target: Option<f32>,
    /// Weight of the sparsity penalty (default 0: none).
    #[arg(long)]
    pub sparsity_cost: Option<f32>,
    /// Centered gradients (Melchior et al. 2016).
    #[arg(long)]
    pub centering: bool,
    /// Moving-average rate of the centering offsets (default 0.01).
    #[arg(long)]
    pub centering_rate: Option<f32>,
    /// Learning-rate schedule over --epochs (default constant).
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Final learning rate as a fraction of --lr, linear/exponential schedules (default 0.01).
    #[arg(long)]
    pub final_lr_fraction: Option<f32>,
    /// Train on binarised images (pixels sampled from their intensities every batch).
    #[arg(long)]
    pub binarize: bool,
    /// Train a classification RBM: label units (one per class of the training set, a softmax
    /// group) beside the pixels, trained on each image with its label. Plain CD-k or PCD-k only.
    #[arg(long)]
    pub labels: bool,
    /// Write the model with its training state to OUT.checkpoint.safetensors every this many minutes
    /// (fractions allowed; 0: never). Default: every 10 minutes if the run is estimated to take
    /// longer than that. Removed when the run completes.
    #[arg(long, value_name = "MINUTES")]
    pub checkpoint_every: Option<f64>,
    /// Visible units: binary (default) or gaussian (real-valued intensities with learned
    /// variances, trained with CD or PCD; its defaults are CD-1 and --lr 0.001).
    #[arg(long, value_enum)]
    pub visible: Option<VisibleType>,
    /// Continue the run saved in this file (a model from `train` or the window, or a checkpoint) up
    /// to --epochs, exactly as it would have gone on; the settings not given here are the file's.
    #[arg(long)]
    pub resume: Option<PathBuf>,
}

impl TrainArgs {
    /// The hyperparameters these arguments ask for, the ones not given taken from `base` (not yet
    /// validated). The schedule spans `--epochs`.
    pub fn config(&self, base: &TrainingConfig) -> TrainingConfig {
        TrainingConfig {
            learning_rate: self.lr.unwrap_or(base.learning_rate),
            k: self.k.unwrap_or(base.k),
            noise_std: self.noise.unwrap_or(base.noise_std),
            batch_size: self.batch.unwrap_or(base.batch_size),
            sampling: self.sampling.unwrap_or(base.sampling),
            method: self.method.unwrap_or(base.method),
            pcd_particles: self.particles.unwrap_or(base.pcd_particles),
            momentum: self.momentum.unwrap_or(base.momentum),
            initial_momentum: self.initial_momentum.unwrap_or(base.initial_momentum),
            momentum_warmup_epochs: self.momentum_warmup.unwrap_or(base.momentum_warmup_epochs),
            weight_decay: self.weight_decay.unwrap_or(base.weight_decay),
            sparsity_target: self.sparsity_target.unwrap_or(base.sparsity_target),
            sparsity_cost: self.sparsity_cost.unwrap_or(base.sparsity_cost),
            centering: self.centering || base.centering,
            centering_rate: self.centering_rate.unwrap_or(base.centering_rate),
            lr_schedule: self.lr_schedule.unwrap_or(base.lr_schedule),
            planned_epochs: self.epochs as f32,
            final_lr_fraction: self.final_lr_fraction.unwrap_or(base.final_lr_fraction),
            binarize_data: self.binarize || base.binarize_data,
            temperatures: self.temperatures.unwrap_or(base.temperatures),
            min_beta: self.min_beta.unwrap_or(base.min_beta),
            temperature_spacing: self.temperature_spacing.unwrap_or(base.temperature_spacing),
        }
    }

    /// The model these arguments ask for, the parts not given taken from `base` (not yet validated).
    pub fn spec(&self, base: &ModelSpec) -> ModelSpec {
        ModelSpec {
            n_hidden: self.hidden.unwrap_or(base.n_hidden),
            seed: self.seed.unwrap_or(base.seed),
            initialisation: self.init.unwrap_or(base.initialisation),
            label_classes: base.label_classes,
            visible: self.visible.unwrap_or(base.visible),
        }
    }
}

/// Trains as asked; the exit status says how the run ended (0: done, 130/143/129: stopped by a
/// signal and saved). Errors (bad arguments or files, a divergence, a failed save) are returned.
pub fn run_train(args: &TrainArgs, window: &WindowArgs) -> Result<ExitCode> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if args.visible == Some(VisibleType::Gaussian) && args.labels {
        bail!("--labels needs binary visibles: label units beside Gaussian visibles are not a model rbm-lab has");
    }
    let checkpoint_every = match args.checkpoint_every {
        Some(minutes) if !(minutes.is_finite() && (0.0..=1e6).contains(&minutes)) => {
            bail!("--checkpoint-every must be a number of minutes from 0 (never) to 1000000 (got {minutes})")
        }
        Some(minutes) => Some(minutes),
        None => None,
    };
    // Before anything slow: a run must never find out at its end that it cannot be saved.
    check_destination(&args.out).context("--out")?;
    let checkpoint_path = beside(&args.out, "checkpoint");
    check_destination(&checkpoint_path).context("the checkpoint file beside --out")?;
    let resumed = match &args.resume {
        Some(path) => {
            Some((path, load_labelled_model(path).with_context(|| format!("cannot resume {}", path.display()))?))
        }
        None => None,
    };
    if let Some((path, file)) = &resumed {
        check_resume_arguments(args, window.thresholded, path, file)?;
    }
    let dataset = Arc::new(load_dataset(window)?);
    let threads = default_threads(window.threads);
    let pool = MathPool::new(threads);
    let (mut run, how) = match resumed {
        Some((path, file)) => {
            let visible = file.metadata.spec.visible;
            let base = if file.metadata.training.validate().is_ok() {
                file.metadata.training.clone()
            } else {
                visible.default_config()
            };
            let config = args.config(&base);
            config.validate_for(file.rbm.n_visible(), file.rbm.n_hidden())?;
            if file.labels.is_some() {
                crate::model::labels::train::check_config(&config).map_err(anyhow::Error::msg)?;
            }
            if visible == VisibleType::Gaussian {
                crate::model::gaussian::check_config(&config)?;
            }
            let from = file.metadata.epochs_trained;
            let (mut run, continuation) = TrainingRun::from_file(dataset.clone(), file, pool)?;
            run.set_config(config);
            let how = match continuation {
                Continuation::Exact => format!("resuming {} at epoch {from:.2} of {}", path.display(), args.epochs),
                Continuation::FreshState(why) => format!(
                    "resuming {} at epoch {from:.2} of {} with fresh momentum, offsets, particles and image order \
                     ({why})",
                    path.display(),
                    args.epochs
                ),
            };
            (run, how)
        }
        None => {
            let mut spec = args.spec(&ModelSpec::default());
            let config = args.config(&spec.visible.default_config());
            if args.labels {
                spec.label_classes = dataset.train.labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
            }
            // The shape and the training buffers against the limits, before anything is allocated.
            spec.validate_with(&config, dataset.pixels_per_image())?;
            let plural = if args.epochs == 1 { "" } else { "s" };
            (TrainingRun::new(dataset.clone(), spec, config, pool), format!("training {} epoch{plural}", args.epochs))
        }
    };
    if run.epoch() >= args.epochs {
        bail!(
            "the resumed run is already at epoch {:.2}, which reaches --epochs {}; pass a larger --epochs to train further",
            run.epoch_position(),
            args.epochs
        );
    }
    if let Some(labels) = run.labels() {
        crate::model::labels::check_targets(labels, &dataset.train.labels)?;
    }
    let with_labels = match (run.labels(), run.gaussian()) {
        (Some(labels), _) => format!(" with {} label units", labels.classes()),
        (None, Some(_)) => " with Gaussian visibles (images standardised per pixel)".to_owned(),
        (None, None) => String::new(),
    };
    say(&format!(
        "{how}: {}x{}{with_labels} on {} ({} images), {}",
        run.rbm().n_visible(),
        run.rbm().n_hidden(),
        dataset.name,
        run.images_per_epoch(),
        threads_phrase(run.pool().threads().0)
    ));
    let signals = StopSignals::install().context("cannot catch Ctrl+C and termination signals")?;
    let mut checkpoints = Checkpoints::new(checkpoint_path, checkpoint_every);
    let mut progress = ProgressReport::new(&run, args.epochs);
    while run.epoch() < args.epochs {
        if let Some(signal) = signals.received() {
            progress.finish();
            return stop_and_save(&run, signal, args, &checkpoints.path);
        }
        match run.train_batch() {
            BatchOutcome::Trained(report) => progress.batch(&report, args.epochs, run.swap_rates()),
            BatchOutcome::Diverged { epoch_position, learning_rate } => {
                progress.finish();
                let kept = save_somewhere(&run.model_file(), &beside(&args.out, "last-good"))?;
                bail!(
                    "training diverged at epoch {epoch_position:.3} (learning rate {learning_rate}): the weights became \
                     NaN or infinite; the state before that batch is saved in {}; continue from it with a lower --lr \
                     and --resume {}",
                    kept.display(),
                    kept.display()
                );
            }
            BatchOutcome::NoTrainingData => bail!("the training set has no images"),
        }
        checkpoints.after_batch(&run, progress.estimated_total());
    }
    progress.finish();
    let file = run.model_file();
    if let Err(error) = save_model(&args.out, &file) {
        let kept = save_somewhere(&file, &beside(&args.out, "last-good"))?;
        bail!(
            "could not write {} ({error}); the trained model is saved in {} instead",
            args.out.display(),
            kept.display()
        );
    }
    checkpoints.remove();
    say(&format!(
        "saved {} ({} epochs) after {:.1} s",
        args.out.display(),
        run.epoch_position(),
        progress.started.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}

/// "1 thread", "2 threads": the math threads in the line that starts a run.
fn threads_phrase(threads: usize) -> String {
    if threads == 1 { "1 thread".to_string() } else { format!("{threads} threads") }
}

/// With --resume, the model's shape, seed, visible units and kind of images are the file's:
/// arguments that say otherwise are a mistake rather than something to override.
fn check_resume_arguments(args: &TrainArgs, thresholded: bool, path: &Path, file: &ModelFile) -> Result<()> {
    let spec = ModelSpec { n_hidden: file.rbm.n_hidden(), ..file.metadata.spec.clone() };
    let asked = args.spec(&spec);
    let differs = |flag: &str, given: String, saved: String| -> Result<()> {
        if given == saved {
            Ok(())
        } else {
            bail!(
                "--{flag} {given} differs from the resumed model's {saved}; leave it out to continue {}",
                path.display()
            )
        }
    };
    differs("hidden", asked.n_hidden.to_string(), spec.n_hidden.to_string())?;
    differs("seed", asked.seed.to_string(), spec.seed.to_string())?;
    differs("init", command_line_name(asked.initialisation), command_line_name(spec.initialisation))?;
    differs("visible", command_line_name(asked.visible), command_line_name(spec.visible))?;
    let dataset = &file.metadata.dataset;
    match (crate::data::is_thresholded_name(dataset), thresholded) {
        (true, false) => {
            bail!("{} was trained on {dataset}; add --thresholded to continue it on the same images", path.display())
        }
        (false, true) => bail!(
            "--thresholded: {} was trained on the grey images of {dataset}; leave the flag out to continue it on \
             the same images",
            path.display()
        ),
        _ => {}
    }
    if args.labels && spec.label_classes == 0 {
        bail!("--labels: {} was trained without label units, which cannot be added to it", path.display());
    }
    if file.metadata.epochs_trained >= args.epochs as f64 {
        bail!(
            "{} is already at epoch {:.2}, which reaches --epochs {}; pass a larger --epochs to train further",
            path.display(),
            file.metadata.epochs_trained,
            args.epochs
        );
    }
    Ok(())
}

/// A signal arrived: the batch in progress has finished; save the run where it is.
fn stop_and_save(run: &TrainingRun, signal: StopSignal, args: &TrainArgs, checkpoint: &Path) -> Result<ExitCode> {
    let file = run.model_file();
    let position = run.epoch_position();
    if let Err(error) = save_model(&args.out, &file) {
        let kept = save_somewhere(&file, &beside(&args.out, "last-good"))?;
        bail!(
            "stopped by {} at epoch {position:.3}, but could not write {} ({error}); the model is saved in {} instead",
            signal.name(),
            args.out.display(),
            kept.display()
        );
    }
    // The saved file has everything the (older) checkpoint had.
    let _ = std::fs::remove_file(checkpoint);
    say_err(&format!(
        "rbm-lab: stopped by {} at epoch {position:.3} of {}: saved {} with its training state",
        signal.name(),
        args.epochs,
        args.out.display()
    ));
    say_err(&format!("to continue: {}", resume_command(&args.out)));
    Ok(ExitCode::from(signal.exit_status()))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Subcommands};
    use crate::io::ModelMetadata;
    use crate::model::Rbm;

    fn train_args(args: &[&str]) -> TrainArgs {
        let words = ["rbm-lab", "train", "--out", "model.safetensors"].into_iter().chain(args.iter().copied());
        match Cli::try_parse_from(words).expect("parses").command {
            Some(Subcommands::Train(args)) => args,
            other => panic!("not a train command: {other:?}"),
        }
    }

    #[test]
    fn resume_arguments_that_contradict_the_file_are_named_as_typed() {
        let spec = ModelSpec { n_hidden: 16, seed: 3, initialisation: Initialisation::Xavier, ..ModelSpec::default() };
        let metadata = ModelMetadata::new("MNIST", 28, 28, TrainingConfig::default(), spec);
        let file = ModelFile::new(Rbm::zeros(784, 16), metadata);
        let path = Path::new("run.safetensors");
        let error = check_resume_arguments(&train_args(&["--epochs", "2", "--init", "hinton"]), false, path, &file)
            .expect_err("refused")
            .to_string();
        assert!(error.starts_with("--init hinton differs from the resumed model's xavier"), "{error}");
        let fine = train_args(&["--epochs", "2", "--init", "xavier"]);
        assert!(check_resume_arguments(&fine, false, path, &file).is_ok());
        // The kind of images is the file's too: grey images with the flag, thresholded without.
        let error = check_resume_arguments(&fine, true, path, &file).expect_err("refused").to_string();
        assert!(error.starts_with("--thresholded: run.safetensors was trained on the grey images of MNIST"), "{error}");
        let mut thresholded = file.clone();
        thresholded.metadata.dataset = format!("MNIST{}", crate::data::THRESHOLDED_SUFFIX);
        let error = check_resume_arguments(&fine, false, path, &thresholded).expect_err("refused").to_string();
        assert!(error.contains("trained on MNIST (thresholded); add --thresholded"), "{error}");
        assert!(check_resume_arguments(&fine, true, path, &thresholded).is_ok());
        let asked = train_args(&["--sampling", "probabilities", "--method", "pcd", "--lr-schedule", "exponential"]);
        let config = asked.config(&TrainingConfig::default());
        assert_eq!(
            (config.sampling, config.method, config.lr_schedule),
            (VisibleSampling::Probabilities, GradientMethod::Pcd, LrSchedule::Exponential)
        );
    }
}
