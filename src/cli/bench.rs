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

use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use super::{WindowArgs, default_threads, load_dataset};
use crate::data::Dataset;
use crate::model::linalg::{self, gemm_instruction_set};
use crate::model::{
    CdWorkspace, GradientMethod, Initialisation, MathPool, Rbm, SubnormalCensus, SubnormalMode, TrainingConfig,
    sampling,
};

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

/// When a timed segment ends.
#[derive(Clone, Copy, Debug)]
enum Until {
    Seconds(f64),
    Samples(u64),
}

/// Samples trained and the seconds they took.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rate {
    pub samples: u64,
    pub seconds: f64,
}

impl Rate {
    pub fn samples_per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.samples as f64 / self.seconds } else { 0.0 }
    }
}

/// A model training on `dataset` in order, on the bench's pool.
struct Trial<'a> {
    dataset: &'a Dataset,
    pool: &'a MathPool,
    config: TrainingConfig,
    rbm: Rbm,
    workspace: CdWorkspace,
    cursor: usize,
    samples_seen: u64,
    updates: u64,
}

impl<'a> Trial<'a> {
    fn new(
        dataset: &'a Dataset,
        pool: &'a MathPool,
        hidden: usize,
        config: TrainingConfig,
        initialisation: Initialisation,
    ) -> Self {
        use rand::SeedableRng;
        let nv = dataset.pixels_per_image();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        let pixel_means = dataset.train_pixel_means();
        let rbm = Rbm::initialised(nv, hidden, initialisation, &pixel_means, &mut rng);
        let mut workspace = CdWorkspace::new(nv, hidden, config.batch_size, 1);
        if config.centering {
            // As the trainer does: the visible offset starts at the training pixel means.
            workspace.set_visible_offset(&pixel_means);
        }
        Self { dataset, pool, config, rbm, workspace, cursor: 0, samples_seen: 0, updates: 0 }
    }

    /// One update on the next batch (the data copy included, as in the app).
    fn step(&mut self) {
        let nv = self.dataset.pixels_per_image();
        let batch = self.config.batch_size;
        let count = self.dataset.train.count;
        for (r, row) in self.workspace.data_mut(batch).chunks_exact_mut(nv).enumerate() {
            self.dataset.train_image_f32((self.cursor + r) % count, row);
        }
        self.cursor = (self.cursor + batch) % count;
        let epoch = self.samples_seen as f64 / count as f64;
        let (workspace, rbm, config) = (&mut self.workspace, &mut self.rbm, &self.config);
        self.pool.run(|threads| workspace.step_at(rbm, config, batch, threads, epoch));
        self.samples_seen += batch as u64;
        self.updates += 1;
    }

    fn run(&mut self, until: Until) -> Rate {
        let started = Instant::now();
        let mut samples = 0u64;
        loop {
            let done = match until {
                Until::Seconds(seconds) => started.elapsed().as_secs_f64() >= seconds,
                Until::Samples(limit) => samples >= limit,
            };
            if done {
                break;
            }
            self.step();
            samples += self.config.batch_size as u64;
        }
        Rate { samples, seconds: started.elapsed().as_secs_f64() }
    }

    /// A warm-up of up to a second, then `seconds` timed.
    fn timed(&mut self, seconds: f64) -> Rate {
        self.run(Until::Seconds(seconds.min(1.0)));
        self.run(Until::Seconds(seconds))
    }

    /// One more (untimed) update, with its operands' subnormals counted.
    fn census(&mut self) -> SubnormalCensus {
        self.workspace.count_subnormals(true);
        self.step();
        let census = self.workspace.subnormal_census().unwrap_or_default();
        self.workspace.count_subnormals(false);
        census
    }
}

/// Floating-point operations per training sample that are matrix products: 2·V·H per row of each
/// product. CD-k: the positive phase, 2k − 1 chain products (the first reuses p(h|v0)), p(h|v_k)
/// and the update over data and chain rows (2k + 3 products of a batch); PCD-k adds the
/// reconstruction and has a full first step (2k + 5), its chain products over the particles; PT
/// runs those chain products at every temperature.
pub fn useful_flops_per_sample(config: &TrainingConfig, nv: usize, hidden: usize) -> f64 {
    let batch = config.batch_size.max(1) as f64;
    let k = config.k.max(1) as f64;
    let rows = match config.method {
        GradientMethod::Cd => batch * (2.0 * k + 3.0),
        GradientMethod::Pcd => {
            let particles = config.particles().max(1) as f64;
            // data rows: positive, reconstruction, update; particle rows: 2k chain, p(h|v_k), update
            3.0 * batch + (2.0 * k + 2.0) * particles
        }
        GradientMethod::Pt => {
            let particles = config.particles().max(1) as f64;
            let temperatures = config.temperatures.max(1) as f64;
            // as PCD, with the 2k chain products at every temperature
            3.0 * batch + (2.0 * k * temperatures + 2.0) * particles
        }
    };
    2.0 * nv as f64 * hidden as f64 * rows / batch
}

/// GFLOP/s of one f32 matrix product of the training shape (batch x V times V x H), for reference.
pub fn bench_sgemm(batch: usize, nv: usize, hidden: usize, pool: &MathPool, seconds: f64) -> f64 {
    let a = vec![0.5f32; batch * nv];
    let w = vec![0.01f32; nv * hidden];
    let bias = vec![0.0f32; hidden];
    let mut out = vec![0.0f32; batch * hidden];
    let mut once = || pool.run(|threads| linalg::affine(&mut out, &a, batch, &w, nv, hidden, &bias, threads));
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

/// What one scenario measured: one or two timed segments, the SGEMM of its shape, and the
/// subnormal operands after each segment.
pub struct ScenarioResult {
    pub scenario: Scenario,
    /// e.g. "784x256 CD-10 batch 64".
    pub setting: String,
    /// (label, rate) per segment; the label is empty for a single segment.
    pub segments: Vec<(String, Rate, SubnormalCensus)>,
    pub flops_per_sample: f64,
    pub sgemm_gflops: f64,
    /// The ratio's label for two segments (e.g. "late/fresh").
    pub ratio_label: &'static str,
    /// False when the weights became NaN or infinite.
    pub finite: bool,
}

impl ScenarioResult {
    /// The scenario's line: rates, useful GFLOP/s and their share of the SGEMM, subnormal operands.
    pub fn line(&self) -> String {
        let rates: Vec<String> = self
            .segments
            .iter()
            .map(|(label, rate, _)| {
                let value = format!("{:.0} samples/s", rate.samples_per_second());
                if label.is_empty() { value } else { format!("{label} {value}") }
            })
            .collect();
        let gflops: Vec<f64> =
            self.segments.iter().map(|(_, rate, _)| rate.samples_per_second() * self.flops_per_sample / 1e9).collect();
        let join = |values: Vec<String>| values.join("/");
        let mut line = format!("{:9} {}: {}", self.scenario.name(), self.setting, rates.join(", "));
        if let [(_, first, _), (_, second, _)] = &self.segments[..] {
            let ratio = second.samples_per_second() / first.samples_per_second().max(f64::MIN_POSITIVE);
            line += &format!(" ({} {ratio:.2})", self.ratio_label);
        }
        line += &format!(
            "  {} useful GFLOP/s  ({} of sgemm {:.1} GFLOP/s on this shape)  subnormal operands {}",
            join(gflops.iter().map(|g| format!("{g:.1}")).collect()),
            join(
                gflops
                    .iter()
                    .map(|g| format!("{:.0}%", 100.0 * g / self.sgemm_gflops.max(f64::MIN_POSITIVE)))
                    .collect()
            ),
            self.sgemm_gflops,
            join(self.segments.iter().map(|(_, _, census)| census.total().to_string()).collect()),
        );
        if let Some((_, _, census)) = self.segments.last().filter(|(_, _, census)| census.total() > 0) {
            line += &format!("  [last: {census}]");
        }
        if !self.finite {
            line += "  (diverged: NaN or infinite weights)";
        }
        line
    }
}

/// Runs one scenario on `dataset` with `pool`'s threads.
pub fn run_scenario(scenario: Scenario, dataset: &Dataset, pool: &MathPool, plan: &BenchPlan) -> ScenarioResult {
    let nv = dataset.pixels_per_image();
    let tutorial = TrainingConfig::default();
    let (hidden, config, initialisation) = match scenario {
        Scenario::Tutorial | Scenario::Cliff => (256, tutorial.clone(), Initialisation::Xavier),
        Scenario::H500k1 => (500, TrainingConfig { k: 1, ..tutorial.clone() }, Initialisation::Xavier),
        Scenario::Quality => (500, TrainingConfig::quality_recipe(), Initialisation::Hinton),
    };
    let mut trial = Trial::new(dataset, pool, hidden, config.clone(), initialisation);
    let mut segments = Vec::new();
    let (setting, ratio_label) = match scenario {
        Scenario::Tutorial | Scenario::H500k1 => {
            let rate = trial.timed(plan.seconds);
            segments.push((String::new(), rate, trial.census()));
            (format!("{nv}x{hidden} CD-{} batch {}", config.k, config.batch_size), "")
        }
        Scenario::Quality => {
            let fresh = trial.timed(plan.seconds);
            segments.push(("fresh".to_string(), fresh, trial.census()));
            while trial.updates < plan.quality_updates {
                trial.step();
            }
            // Counted at a fixed update (the late segment's length depends on the machine).
            let updates = trial.updates;
            let census = trial.census();
            let late = trial.run(Until::Seconds(plan.seconds));
            segments.push((format!("after {updates} updates"), late, census));
            (format!("{nv}x{hidden} centered PCD-{} batch {} binarised", config.k, config.batch_size), "late/fresh")
        }
        Scenario::Cliff => {
            let samples = plan.cliff_samples.unwrap_or(dataset.train.count as u64);
            let first = trial.run(Until::Samples(samples));
            segments.push((format!("lr {}", config.learning_rate), first, trial.census()));
            trial.config.learning_rate = plan.cliff_lr;
            let second = trial.run(Until::Samples(samples));
            segments.push((format!("then lr {}", plan.cliff_lr), second, trial.census()));
            (format!("{nv}x{hidden} CD-{} batch {} on {}", config.k, config.batch_size, dataset.name), "ratio")
        }
    };
    ScenarioResult {
        scenario,
        setting,
        segments,
        flops_per_sample: useful_flops_per_sample(&config, nv, hidden),
        sgemm_gflops: bench_sgemm(config.batch_size, nv, hidden, pool, plan.seconds.min(1.0)),
        ratio_label,
        finite: trial.rbm.is_finite(),
    }
}

/// The CPU's model name (Linux: /proc/cpuinfo's first `model name`).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// The line that says what the products ran on; the subnormal mode as every math thread and the
/// calling thread read it back from their registers.
pub fn machine_line(pool: &MathPool) -> String {
    let mut modes = pool.thread_modes();
    modes.push(SubnormalMode::of_this_thread());
    let subnormals = match modes[0] {
        _ if modes.iter().any(|m| *m != modes[0]) => format!("MIXED across threads ({modes:?})"),
        Some(mode) => mode.describe().to_string(),
        None => "not controlled on this architecture".to_string(),
    };
    format!(
        "cpu: {}; products: gemm {}; element passes: {}; subnormals: {} ({} math threads)",
        cpu_model(),
        gemm_instruction_set(),
        sampling::instruction_set(),
        subnormals,
        pool.threads().0
    )
}

pub fn run_bench(args: &BenchArgs, window: &WindowArgs) -> Result<()> {
    let plan = BenchPlan::from_args(args)?;
    let dataset = load_dataset(window.data.as_deref())?;
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
    use crate::data::ImageArray;

    /// 300 random 28x28 images with a border that is never lit, as in MNIST.
    fn small_dataset() -> Dataset {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        let count = 300;
        let mut pixels = vec![0u8; count * 784];
        for image in pixels.chunks_exact_mut(784) {
            for (i, p) in image.iter_mut().enumerate() {
                let (r, c) = (i / 28, i % 28);
                if (4..24).contains(&r) && (4..24).contains(&c) {
                    *p = rng.random();
                }
            }
        }
        let images = ImageArray { count, rows: 28, cols: 28, pixels };
        Dataset::from_arrays("small", images, vec![0; count], None).expect("dataset")
    }

    fn short_plan() -> BenchPlan {
        BenchPlan { seconds: 0.02, quality_updates: 30, cliff_samples: Some(128), cliff_lr: 0.6 }
    }

    #[test]
    fn useful_flops_count_the_products_of_a_step() {
        let tutorial = TrainingConfig::default();
        let per_product = 2.0 * 784.0 * 256.0;
        assert_eq!(useful_flops_per_sample(&tutorial, 784, 256), 23.0 * per_product, "CD-10: 2k+3 products");
        let quality = TrainingConfig::quality_recipe();
        assert_eq!(useful_flops_per_sample(&quality, 784, 256), 7.0 * per_product, "PCD-1: 2k+5 products");
        let few_particles = TrainingConfig { pcd_particles: 50, ..quality };
        // Per batch of 100: 3 products of the data rows (positive, reconstruction, update) and 4 of
        // the 50 particles (two for the Gibbs step, p(h|v_k), update).
        assert_eq!(useful_flops_per_sample(&few_particles, 784, 256), (300.0 + 200.0) / 100.0 * per_product);
    }

    #[test]
    fn every_scenario_prints_one_parsable_line() {
        let dataset = small_dataset();
        let pool = MathPool::with_mode(2, SubnormalMode::Flush);
        for scenario in Scenario::ALL {
            let result = run_scenario(scenario, &dataset, &pool, &short_plan());
            let line = result.line();
            assert!(!line.contains('\n'), "{line}");
            assert!(line.starts_with(scenario.name()), "{line}");
            let rates = line.matches(" samples/s").count();
            let two = matches!(scenario, Scenario::Quality | Scenario::Cliff);
            assert_eq!(rates, if two { 2 } else { 1 }, "{line}");
            assert!(result.segments.iter().all(|(_, rate, _)| rate.samples > 0 && rate.seconds > 0.0), "{line}");
            assert!(line.contains("useful GFLOP/s") && line.contains("% of sgemm"), "{line}");
            assert!(line.contains("subnormal operands 0"), "flushed, so none: {line}");
            assert!(result.sgemm_gflops > 0.0 && result.finite, "{line}");
        }
    }

    #[test]
    fn the_quality_scenario_times_its_late_segment_after_the_updates() {
        let dataset = small_dataset();
        let pool = MathPool::with_mode(1, SubnormalMode::Flush);
        let result = run_scenario(Scenario::Quality, &dataset, &pool, &short_plan());
        let (label, _, _) = &result.segments[1];
        let updates: u64 = label.trim_start_matches("after ").trim_end_matches(" updates").parse().expect("count");
        assert!(updates >= 30, "{label}");
        assert!(result.line().contains("late/fresh"));
    }

    #[test]
    fn the_cliff_scenario_trains_its_samples_at_each_learning_rate() {
        let dataset = small_dataset();
        let pool = MathPool::with_mode(1, SubnormalMode::Flush);
        let result = run_scenario(Scenario::Cliff, &dataset, &pool, &short_plan());
        let labels: Vec<&str> = result.segments.iter().map(|(label, _, _)| label.as_str()).collect();
        assert_eq!(labels, ["lr 0.005", "then lr 0.6"]);
        assert!(result.segments.iter().all(|(_, rate, _)| rate.samples == 128), "two batches of 64 each");
    }

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
