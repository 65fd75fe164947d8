//! The scenarios: a model trained on the dataset in order on the bench's pool, timed in one or two
//! segments, with its subnormal operands counted after each.

use std::time::Instant;

use super::reference::{bench_sgemm, useful_flops_per_sample};
use super::{BenchPlan, Scenario};
use crate::data::Dataset;
use crate::model::{CdWorkspace, Initialisation, MathPool, Rbm, SubnormalCensus, TrainingConfig};

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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageArray;
    use crate::model::SubnormalMode;

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
}
