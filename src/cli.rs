//! The command line: no subcommand opens the window; `train`, `sample` and `bench` run headless.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::data::Dataset;
use crate::images::chain_grid;
use crate::model::{
    CdWorkspace, GibbsChains, GradientMethod, Initialisation, LrSchedule, ModelSpec, Rbm, Threads, TrainingConfig,
    VisibleSampling,
};
use crate::trainer::{Command, TrainerHandle, TrainerOptions, Update};

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
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Hidden units of the model the window starts with.
    #[arg(long = "window-hidden", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub window_hidden: u64,
    /// Print the trainer's samples/s and the frame statistics to stderr every this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub stats_every: Option<f64>,
    /// Widget look: "light" (square corners, no shadows) costs a software renderer a third less
    /// per frame; "auto" picks it when OpenGL renders in software (also in the View menu).
    #[arg(long, value_enum, default_value_t = LookArg::Auto)]
    pub look: LookArg,
    /// Nice value for the window's own threads (the UI and Mesa's llvmpipe threads), so that they
    /// run in the gaps training leaves instead of preempting it (Linux; 0 keeps normal priority).
    #[arg(long, default_value_t = crate::threads::DEFAULT_UI_NICE, value_parser = clap::value_parser!(i32).range(0..=19))]
    pub ui_nice: i32,
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
    /// Print training samples/s for the tutorial setting and for 784x500 CD-1.
    Bench(BenchArgs),
    /// Estimate log Z (AIS, or exactly for small models) and print the test and train log-likelihood.
    Eval(EvalArgs),
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

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// A model saved by rbm-lab (safetensors).
    pub model: PathBuf,
    /// Gibbs steps per chain.
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of chains.
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Start from test digits or from noise.
    #[arg(long, value_enum, default_value_t = StartArg::TestDigits)]
    pub start: StartArg,
    /// How the chains produce visibles (Bernoulli: true Gibbs sampling of the RBM).
    #[arg(long, value_enum, default_value_t = SamplingArg::Bernoulli)]
    pub sampling: SamplingArg,
    /// Noise for tutorial sampling.
    #[arg(long, default_value_t = 0.1)]
    pub noise: f32,
    /// Seed of the chains' random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum StartArg {
    TestDigits,
    Noise,
}

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
    /// Test images (and size of the training subset) to average over.
    #[arg(long, default_value_t = 10_000)]
    pub images: usize,
    /// Seed of the AIS runs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Seconds of timed training per setting (after a short warm-up).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Only this setting: "tutorial" (784x256 CD-10) or "h500k1" (784x500 CD-1).
    #[arg(long)]
    pub only: Option<String>,
}

pub fn load_dataset(dir: Option<&Path>) -> Result<Dataset> {
    match dir {
        Some(dir) => Dataset::load_dir(dir).with_context(|| format!("cannot read the dataset in {}", dir.display())),
        None => Dataset::embedded_mnist().context("the embedded MNIST is unreadable"),
    }
}

pub fn default_threads(requested: Option<usize>) -> usize {
    requested.filter(|&n| n > 0).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

pub fn run_train(args: &TrainArgs, window: &WindowArgs) -> Result<()> {
    let config = TrainingConfig {
        learning_rate: args.lr,
        k: args.k,
        noise_std: args.noise,
        batch_size: args.batch,
        sampling: args.sampling.into(),
        method: match args.method {
            MethodArg::Cd => GradientMethod::Cd,
            MethodArg::Pcd => GradientMethod::Pcd,
        },
        pcd_particles: args.particles,
        momentum: args.momentum,
        initial_momentum: args.initial_momentum,
        momentum_warmup_epochs: args.momentum_warmup,
        weight_decay: args.weight_decay,
        sparsity_target: args.sparsity_target,
        sparsity_cost: args.sparsity_cost,
        centering: args.centering,
        centering_rate: args.centering_rate,
        lr_schedule: match args.lr_schedule {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Linear => LrSchedule::Linear,
            ScheduleArg::Exponential => LrSchedule::Exponential,
        },
        planned_epochs: args.epochs as f32,
        final_lr_fraction: args.final_lr_fraction,
        binarize_data: args.binarize,
    };
    config.validate()?;
    let initialisation = match args.init {
        InitArg::Xavier => Initialisation::Xavier,
        InitArg::Hinton => Initialisation::Hinton,
    };
    let spec = ModelSpec { n_hidden: args.hidden, seed: args.seed, initialisation };
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

pub fn run_sample(args: &SampleArgs, window: &WindowArgs) -> Result<()> {
    let model = crate::io::load_model(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    let (rows, cols) = (model.metadata.image_rows, model.metadata.image_cols);
    let nv = model.rbm.n_visible();
    if rows * cols != nv {
        bail!("the model's metadata says {rows}x{cols} images but it has {nv} visible units");
    }
    if args.count == 0 || args.count > 1000 {
        bail!("--count must be between 1 and 1000");
    }
    let start = match args.start {
        StartArg::Noise => {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(args.seed);
            (0..args.count * nv).map(|_| rng.random::<f32>()).collect()
        }
        StartArg::TestDigits => {
            let dataset = load_dataset(window.data.as_deref())?;
            if dataset.pixels_per_image() != nv {
                bail!(
                    "the dataset's images have {} pixels but the model has {nv} visible units",
                    dataset.pixels_per_image()
                );
            }
            dataset.test_digits(args.count)
        }
    };
    let mut chains = GibbsChains::new(start, nv, model.rbm.n_hidden(), args.seed);
    for _ in 0..args.steps {
        chains.step(&model.rbm, args.sampling.into(), args.noise);
    }
    let image = chain_grid(chains.start_images(), chains.mean_images(), args.count, rows, cols);
    crate::io::export::write_png_gray(&args.out, image.width as u32, image.height as u32, &image.pixels)?;
    println!("wrote {} ({} chains after {} Gibbs steps)", args.out.display(), args.count, args.steps);
    Ok(())
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

pub fn run_eval(args: &EvalArgs, window: &WindowArgs) -> Result<()> {
    let model = crate::io::load_model(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    let dataset = load_dataset(window.data.as_deref())?;
    if dataset.pixels_per_image() != model.rbm.n_visible() {
        bail!(
            "the model has {} visible units but the dataset's images have {} pixels",
            model.rbm.n_visible(),
            dataset.pixels_per_image()
        );
    }
    if args.runs < 2 {
        bail!("--runs must be at least 2 (the interval needs a spread)");
    }
    let settings = crate::quality::EvaluationSettings {
        runs: args.runs,
        betas: args.betas,
        images: args.images,
        seed: args.seed,
        threads: default_threads(window.threads),
    };
    let bar = indicatif::ProgressBar::new(1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template("AIS {bar:40} {percent}% {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let epoch = model.metadata.epochs_trained;
    let result = crate::quality::evaluate(&model.rbm, &dataset, epoch, &settings, &mut |fraction| {
        bar.set_position((fraction * 1000.0) as u64);
        true
    });
    bar.finish_and_clear();
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
    println!(
        "test  log-likelihood: {:.2} nats  [{:.2}, {:.2}]  ({} binarised test images)",
        e.test_log_likelihood, low, high, e.images
    );
    println!("train log-likelihood: {:.2} nats  ({} binarised training images)", e.train_log_likelihood, e.images);
    println!("evaluated in {:.1} s", e.seconds);
    Ok(())
}
