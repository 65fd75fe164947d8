//! `rbm-lab train`: headless training that writes a model file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::{InitArg, MethodArg, SamplingArg, ScheduleArg, WindowArgs, default_threads, load_dataset};
use crate::model::{GradientMethod, Initialisation, LrSchedule, ModelSpec, TrainingConfig};
use crate::trainer::{Command, TrainerHandle, TrainerOptions, Update};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Passes over the training images.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Where to write the model (safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Hidden units.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// Gibbs steps per contrastive-divergence update (CD-k).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.005)]
    pub lr: f32,
    /// Std. dev. of the Gaussian noise on the visibles (tutorial sampling only).
    #[arg(long, default_value_t = 0.1)]
    pub noise: f32,
    /// Images per update.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Seed of initialisation, shuffling and sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How the chain produces visibles.
    #[arg(long, value_enum, default_value_t = SamplingArg::Tutorial)]
    pub sampling: SamplingArg,
    /// Weight initialisation.
    #[arg(long, value_enum, default_value_t = InitArg::Xavier)]
    pub init: InitArg,
    /// Gradient estimator.
    #[arg(long, value_enum, default_value_t = MethodArg::Cd)]
    pub method: MethodArg,
    /// PCD fantasy particles (0: the batch size).
    #[arg(long, default_value_t = 0)]
    pub particles: usize,
    /// Momentum after the warm-up (0: none). Hinton's guide: 0.9.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f32,
    /// Momentum during the warm-up.
    #[arg(long, default_value_t = 0.5)]
    pub initial_momentum: f32,
    /// Warm-up epochs with the initial momentum.
    #[arg(long, default_value_t = 5.0)]
    pub momentum_warmup: f32,
    /// L2 weight decay on W (e.g. 0.0002).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Target mean activation of the hidden units (with --sparsity-cost).
    #[arg(long, default_value_t = 0.05)]
    pub sparsity_target: f32,
    /// Weight of the sparsity penalty (0: none).
    #[arg(long, default_value_t = 0.0)]
    pub sparsity_cost: f32,
    /// Centered gradients (Melchior et al. 2016).
    #[arg(long)]
    pub centering: bool,
    /// Moving-average rate of the centering offsets.
    #[arg(long, default_value_t = 0.01)]
    pub centering_rate: f32,
    /// Learning-rate schedule over --epochs.
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    pub lr_schedule: ScheduleArg,
    /// Final learning rate as a fraction of --lr (linear/exponential schedules).
    #[arg(long, default_value_t = 0.01)]
    pub final_lr_fraction: f32,
    /// Train on binarised images (pixels sampled from their intensities every batch).
    #[arg(long)]
    pub binarize: bool,
    /// Continue from a saved model instead of a fresh one.
    #[arg(long)]
    pub resume: Option<PathBuf>,
}

impl TrainArgs {
    /// The hyperparameters these arguments ask for (not yet validated).
    pub fn config(&self) -> TrainingConfig {
        TrainingConfig {
            learning_rate: self.lr,
            k: self.k,
            noise_std: self.noise,
            batch_size: self.batch,
            sampling: self.sampling.into(),
            method: match self.method {
                MethodArg::Cd => GradientMethod::Cd,
                MethodArg::Pcd => GradientMethod::Pcd,
            },
            pcd_particles: self.particles,
            momentum: self.momentum,
            initial_momentum: self.initial_momentum,
            momentum_warmup_epochs: self.momentum_warmup,
            weight_decay: self.weight_decay,
            sparsity_target: self.sparsity_target,
            sparsity_cost: self.sparsity_cost,
            centering: self.centering,
            centering_rate: self.centering_rate,
            lr_schedule: match self.lr_schedule {
                ScheduleArg::Constant => LrSchedule::Constant,
                ScheduleArg::Linear => LrSchedule::Linear,
                ScheduleArg::Exponential => LrSchedule::Exponential,
            },
            planned_epochs: self.epochs as f32,
            final_lr_fraction: self.final_lr_fraction,
            binarize_data: self.binarize,
        }
    }

    /// The model these arguments ask for (not yet validated).
    pub fn spec(&self) -> ModelSpec {
        let initialisation = match self.init {
            InitArg::Xavier => Initialisation::Xavier,
            InitArg::Hinton => Initialisation::Hinton,
        };
        ModelSpec { n_hidden: self.hidden, seed: self.seed, initialisation }
    }
}

pub fn run_train(args: &TrainArgs, window: &WindowArgs) -> Result<()> {
    let config = args.config();
    config.validate()?;
    let spec = args.spec();
    spec.validate()?;
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    let dataset = Arc::new(load_dataset(window.data.as_deref())?);
    let threads = default_threads(window.threads);
    let resume = match &args.resume {
        Some(path) => Some(crate::io::load_model(path).with_context(|| format!("cannot load {}", path.display()))?),
        None => None,
    };
    let options = TrainerOptions {
        spec,
        config: config.clone(),
        threads,
        start_running: false,
        chains_running: false,
        chain_count: 1,
        publish_interval: Duration::from_millis(100),
        ..TrainerOptions::default()
    };
    let mut trainer = TrainerHandle::spawn(dataset.clone(), options)?;
    let mut first_epoch = 0;
    if let Some(model) = resume {
        first_epoch = model.metadata.epochs_trained.ceil().max(0.0) as usize;
        trainer.send(Command::LoadModel(Box::new(model)));
        // Loading adopts the file's settings; the command line's win.
        trainer.send(Command::SetConfig(config));
    }
    let last_epoch = first_epoch + args.epochs;
    println!(
        "training {}x{} on {} ({} images), {} epochs, {} threads",
        dataset.pixels_per_image(),
        args.hidden,
        dataset.name,
        dataset.train.count,
        args.epochs,
        threads
    );
    let bar = indicatif::ProgressBar::new((args.epochs * dataset.train.count) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} images  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    trainer.send(Command::Start);
    let started = Instant::now();
    let mut epoch_started = Instant::now();
    let mut epoch_seen_at_start = 0u64;
    let mut base_samples: Option<u64> = None;
    let mut done = false;
    while !done {
        let Some(update) = trainer.recv_timeout(Duration::from_secs(60)) else {
            bail!("the trainer stopped answering");
        };
        match update {
            Update::Progress(p) => {
                let base = *base_samples.get_or_insert(p.samples_seen);
                bar.set_position(p.samples_seen.saturating_sub(base));
                bar.set_message(format!("{:.0} samples/s", p.samples_per_second));
            }
            Update::EpochFinished { epoch, mean_loss } => {
                let seen = ((epoch + 1 - first_epoch) * dataset.train.count) as u64;
                let rate = (seen - epoch_seen_at_start) as f64 / epoch_started.elapsed().as_secs_f64();
                let line = format!("epoch {}: mean L1 {mean_loss:.5}, {rate:.0} samples/s", epoch + 1);
                // A hidden bar (output not a terminal) would swallow println.
                if bar.is_hidden() {
                    println!("{line}")
                } else {
                    bar.println(line)
                }
                epoch_started = Instant::now();
                epoch_seen_at_start = seen;
                if epoch + 1 >= last_epoch {
                    trainer.send(Command::Pause);
                    trainer.send(Command::SaveModel(args.out.clone()));
                }
            }
            Update::Saved(path) => {
                bar.finish_and_clear();
                println!("saved {} after {:.1} s", path.display(), started.elapsed().as_secs_f64());
                done = true;
            }
            Update::Diverged { message, .. } => {
                bar.abandon();
                bail!("{message}");
            }
            Update::Error(message) => {
                bar.abandon();
                bail!("{message}");
            }
            _ => {}
        }
    }
    trainer.shutdown(Duration::from_secs(5));
    Ok(())
}
