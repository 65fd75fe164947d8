//! `rbm-lab train`: headless training that writes a model file.
//!
//! The run is a [`TrainingRun`] driven on this thread, batch after batch, until the model has
//! exactly `--epochs` epochs: the same arguments give the same file, byte for byte, whatever the
//! machine's speed. The file carries the run's training state, so `--resume` continues it exactly.
//! Nothing is lost on the way: the destination is checked before the first batch; SIGINT, SIGTERM
//! and SIGHUP save the run where it is (exit status 130, 143, 129); checkpoints beside `--out`
//! bound what a kill -9 or a power cut can take; a divergence or a failed final save leaves the
//! last good state in a file that is named.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use super::signals::{StopSignal, StopSignals};
use super::{InitArg, MethodArg, SamplingArg, ScheduleArg, SpacingArg, WindowArgs, default_threads, load_dataset};
use crate::io::{ModelFile, check_destination, load_model, save_model};
use crate::model::{GradientMethod, Initialisation, LrSchedule, MathPool, ModelSpec, TrainingConfig};
use crate::trainer::{BatchOutcome, Continuation, TrainingRun};

/// Without `--checkpoint-every`, runs estimated to take longer than this are checkpointed this often.
const DEFAULT_CHECKPOINT_MINUTES: f64 = 10.0;
/// How long a run trains before its length is estimated for the default checkpoints.
const ESTIMATE_AFTER: Duration = Duration::from_secs(5);

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
    pub sampling: Option<SamplingArg>,
    /// Weight initialisation (default xavier; with --resume, the file's).
    #[arg(long, value_enum)]
    pub init: Option<InitArg>,
    /// Gradient estimator (default cd).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
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
    pub temperature_spacing: Option<SpacingArg>,
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
    pub lr_schedule: Option<ScheduleArg>,
    /// Final learning rate as a fraction of --lr, linear/exponential schedules (default 0.01).
    #[arg(long)]
    pub final_lr_fraction: Option<f32>,
    /// Train on binarised images (pixels sampled from their intensities every batch).
    #[arg(long)]
    pub binarize: bool,
    /// Write the model with its training state to OUT.checkpoint.safetensors every this many minutes
    /// (fractions allowed; 0: never). Default: every 10 minutes if the run is estimated to take
    /// longer than that. Removed when the run completes.
    #[arg(long, value_name = "MINUTES")]
    pub checkpoint_every: Option<f64>,
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
            sampling: self.sampling.map_or(base.sampling, Into::into),
            method: self.method.map_or(base.method, |method| match method {
                MethodArg::Cd => GradientMethod::Cd,
                MethodArg::Pcd => GradientMethod::Pcd,
                MethodArg::Pt => GradientMethod::Pt,
            }),
            pcd_particles: self.particles.unwrap_or(base.pcd_particles),
            momentum: self.momentum.unwrap_or(base.momentum),
            initial_momentum: self.initial_momentum.unwrap_or(base.initial_momentum),
            momentum_warmup_epochs: self.momentum_warmup.unwrap_or(base.momentum_warmup_epochs),
            weight_decay: self.weight_decay.unwrap_or(base.weight_decay),
            sparsity_target: self.sparsity_target.unwrap_or(base.sparsity_target),
            sparsity_cost: self.sparsity_cost.unwrap_or(base.sparsity_cost),
            centering: self.centering || base.centering,
            centering_rate: self.centering_rate.unwrap_or(base.centering_rate),
            lr_schedule: self.lr_schedule.map_or(base.lr_schedule, |schedule| match schedule {
                ScheduleArg::Constant => LrSchedule::Constant,
                ScheduleArg::Linear => LrSchedule::Linear,
                ScheduleArg::Exponential => LrSchedule::Exponential,
            }),
            planned_epochs: self.epochs as f32,
            final_lr_fraction: self.final_lr_fraction.unwrap_or(base.final_lr_fraction),
            binarize_data: self.binarize || base.binarize_data,
            temperatures: self.temperatures.unwrap_or(base.temperatures),
            min_beta: self.min_beta.unwrap_or(base.min_beta),
            temperature_spacing: self.temperature_spacing.map_or(base.temperature_spacing, Into::into),
        }
    }

    /// The model these arguments ask for, the parts not given taken from `base` (not yet validated).
    pub fn spec(&self, base: &ModelSpec) -> ModelSpec {
        ModelSpec {
            n_hidden: self.hidden.unwrap_or(base.n_hidden),
            seed: self.seed.unwrap_or(base.seed),
            initialisation: self.init.map_or(base.initialisation, |init| match init {
                InitArg::Xavier => Initialisation::Xavier,
                InitArg::Hinton => Initialisation::Hinton,
            }),
        }
    }
}

/// Trains as asked; the exit status says how the run ended (0: done, 130/143/129: stopped by a
/// signal and saved). Errors (bad arguments or files, a divergence, a failed save) are returned.
pub fn run_train(args: &TrainArgs, window: &WindowArgs) -> Result<ExitCode> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
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
        Some(path) => Some((path, load_model(path).with_context(|| format!("cannot resume {}", path.display()))?)),
        None => None,
    };
    if let Some((path, file)) = &resumed {
        check_resume_arguments(args, path, file)?;
    }
    let dataset = Arc::new(load_dataset(window.data.as_deref())?);
    let threads = default_threads(window.threads);
    let pool = MathPool::new(threads);
    let (mut run, how) = match resumed {
        Some((path, file)) => {
            let base = if file.metadata.training.validate().is_ok() {
                file.metadata.training.clone()
            } else {
                TrainingConfig::default()
            };
            let config = args.config(&base);
            config.validate_for(file.rbm.n_visible(), file.rbm.n_hidden())?;
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
            let (config, spec) = (args.config(&TrainingConfig::default()), args.spec(&ModelSpec::default()));
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
    say(&format!(
        "{how}: {}x{} on {} ({} images), {} threads",
        run.rbm().n_visible(),
        run.rbm().n_hidden(),
        dataset.name,
        run.images_per_epoch(),
        run.pool().threads().0
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

/// With --resume, the model's shape and seed are the file's: arguments that say otherwise are a
/// mistake rather than something to override.
fn check_resume_arguments(args: &TrainArgs, path: &Path, file: &ModelFile) -> Result<()> {
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
    let init_name = |init: Initialisation| match init {
        Initialisation::Xavier => "xavier".to_owned(),
        Initialisation::Hinton => "hinton".to_owned(),
    };
    differs("init", init_name(asked.initialisation), init_name(spec.initialisation))?;
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

/// Writes `file` to `wanted`, or, if that fails (its folder may be the problem), to the system's
/// temporary folder; returns where it went.
fn save_somewhere(file: &ModelFile, wanted: &Path) -> Result<PathBuf> {
    let first = match save_model(wanted, file) {
        Ok(()) => return Ok(wanted.to_path_buf()),
        Err(error) => error,
    };
    let name = wanted.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "rbm.safetensors".into());
    let fallback = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    save_model(&fallback, file).with_context(|| {
        format!(
            "the model could not be kept: writing {} failed ({first}) and writing {} failed too",
            wanted.display(),
            fallback.display()
        )
    })?;
    Ok(fallback)
}

/// `OUT` with `.TAG` before its `.safetensors` extension (or after its name if it has none):
/// `rbm.safetensors` → `rbm.checkpoint.safetensors`.
fn beside(out: &Path, tag: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".safetensors").unwrap_or(&name);
    out.with_file_name(format!("{stem}.{tag}.safetensors"))
}

/// This process's command line with `--resume OUT` in place of any `--resume`, quoted for a POSIX
/// shell, so that it can be pasted to continue the run.
fn resume_command(out: &Path) -> String {
    let mut words = Vec::new();
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if arg == "--resume" {
            args.next();
        } else if !arg.starts_with("--resume=") {
            words.push(arg);
        }
    }
    words.push("--resume".into());
    words.push(out.to_string_lossy().into_owned());
    words.iter().map(|word| shell_quoted(word)).collect::<Vec<_>>().join(" ")
}

fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// A line on stdout; a closed terminal or pipe (SIGHUP, `| head`) must not end the run with a panic.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn say_err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Periodic checkpoints beside `--out`.
struct Checkpoints {
    path: PathBuf,
    /// None: not (yet) on.
    every: Option<Duration>,
    /// The interval is still to be chosen from the run's estimated length.
    undecided: bool,
    next_at: Instant,
    written: bool,
    failed: bool,
}

impl Checkpoints {
    fn new(path: PathBuf, minutes: Option<f64>) -> Self {
        let every = minutes.filter(|&m| m > 0.0).map(|m| Duration::from_secs_f64(m * 60.0));
        if let Some(every) = every {
            say(&format!("checkpoints every {} to {}", duration_text(every), path.display()));
        }
        Self {
            path,
            every,
            undecided: minutes.is_none(),
            next_at: Instant::now() + every.unwrap_or_default(),
            written: false,
            failed: false,
        }
    }

    fn after_batch(&mut self, run: &TrainingRun, estimated_total: Option<Duration>) {
        if self.undecided
            && let Some(total) = estimated_total
        {
            self.undecided = false;
            let every = Duration::from_secs_f64(DEFAULT_CHECKPOINT_MINUTES * 60.0);
            if total > every {
                self.every = Some(every);
                self.next_at = Instant::now() + every;
                say(&format!(
                    "the run should take about {}: checkpoints every {} to {}",
                    duration_text(total),
                    duration_text(every),
                    self.path.display()
                ));
            }
        }
        let Some(every) = self.every else { return };
        if Instant::now() < self.next_at {
            return;
        }
        match save_model(&self.path, &run.model_file()) {
            Ok(()) => self.written = true,
            Err(error) if !self.failed => {
                self.failed = true;
                say_err(&format!("rbm-lab: could not write the checkpoint ({error}); training goes on"));
            }
            Err(_) => {}
        }
        self.next_at = Instant::now() + every;
    }

    /// The run completed: its final file supersedes the checkpoint.
    fn remove(&self) {
        if self.written || self.path.exists() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Parallel tempering's swap rates, coldest pair first: `0.62 0.58 … 0.41`.
fn swap_rates_text(rates: &[f64]) -> String {
    rates.iter().map(|rate| format!("{rate:.2}")).collect::<Vec<_>>().join(" ")
}

/// `250 ms`, `30 s`, `10.0 min`.
fn duration_text(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 60.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

/// The progress bar (images of the whole run, with indicatif's estimate of the time left) and a
/// line per epoch.
struct ProgressReport {
    bar: indicatif::ProgressBar,
    started: Instant,
    /// Images of the whole run and those done when this process started.
    total: u64,
    done_at_start: u64,
    done: u64,
    rate_window: (Instant, u64),
    epoch_started: (Instant, u64),
}

impl ProgressReport {
    fn new(run: &TrainingRun, epochs: usize) -> Self {
        let per_epoch = run.images_per_epoch() as u64;
        let total = per_epoch * epochs as u64;
        let done = run.epoch() as u64 * per_epoch + run.images_into_epoch() as u64;
        let bar = indicatif::ProgressBar::new(total).with_position(done);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} images, {eta} left  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.reset_eta();
        let now = Instant::now();
        Self {
            bar,
            started: now,
            total,
            done_at_start: done,
            done,
            rate_window: (now, done),
            epoch_started: (now, done),
        }
    }

    fn batch(&mut self, report: &crate::trainer::BatchReport, epochs: usize, swap_rates: &[f64]) {
        self.done += report.rows as u64;
        self.bar.inc(report.rows as u64);
        let now = Instant::now();
        let (since, from) = self.rate_window;
        if now.duration_since(since) >= Duration::from_millis(500) {
            let rate = (self.done - from) as f64 / now.duration_since(since).as_secs_f64();
            self.bar.set_message(format!("{rate:.0} samples/s"));
            self.rate_window = (now, self.done);
        }
        if let Some(finished) = report.finished_epoch {
            let (since, from) = self.epoch_started;
            let rate = (self.done - from) as f64 / now.duration_since(since).as_secs_f64().max(1e-9);
            let mut line = format!(
                "epoch {}/{epochs}: mean L1 {:.5}, lr {}, {rate:.0} samples/s",
                finished.epoch + 1,
                finished.mean_loss,
                report.learning_rate
            );
            if !swap_rates.is_empty() {
                line.push_str(&format!(", swap rates {}", swap_rates_text(swap_rates)));
            }
            // A hidden bar (output not a terminal) would swallow its println.
            if self.bar.is_hidden() {
                say(&line)
            } else {
                self.bar.println(line)
            }
            self.epoch_started = (now, self.done);
        }
    }

    /// The whole run's expected length, once it has trained long enough to tell.
    fn estimated_total(&self) -> Option<Duration> {
        let elapsed = self.started.elapsed();
        let trained = self.done - self.done_at_start;
        if elapsed < ESTIMATE_AFTER || trained == 0 {
            return None;
        }
        let remaining = (self.total - self.done) as f64 * elapsed.as_secs_f64() / trained as f64;
        Some(elapsed + Duration::from_secs_f64(remaining.min(1e9)))
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
