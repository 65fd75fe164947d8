//! The display chains: Gibbs chains the trainer thread steps at their own pace (also while
//! training is paused) on the current model, so that the window shows what the model generates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use super::run::{Stream, TrainingRun, stream_rng};
use super::{ChainClamp, ChainCommand, ChainSnapshot, ChainStart, Mailboxes, TrainerOptions};
use crate::model::gaussian::GaussianChains;
use crate::model::labels::LabelledChains;
use crate::model::{GibbsChains, Threads, VisibleSampling};

/// Most chain steps taken at once to catch up: a slow batch never makes the chains monopolise the
/// thread.
const MAX_CATCH_UP_STEPS: usize = 50;

pub(super) struct DisplayChains {
    sampler: GibbsChains,
    /// The chains of a model with label units (instead of `sampler`), and the classes asked for
    /// (`labelled` has the classes they are clamped to: free if the model lacks the class).
    labelled: Option<LabelledChains>,
    clamp: ChainClamp,
    /// The chains of a Gaussian–Bernoulli model (instead of `sampler`), in standardised units, and
    /// the seed that restarts them.
    gaussian: Option<(GaussianChains, u64)>,
    running: bool,
    steps_per_second: f32,
    /// Restart from the start images every this many steps (0: never).
    restart_every: u64,
    /// `None`: as in training.
    sampling: Option<VisibleSampling>,
    start: ChainStart,
    count: usize,
    /// Counts resets: each one draws its noise start from its own stream.
    generation: u64,
    next_step_at: Instant,
    /// Something the window shows changed since the last snapshot.
    changed: bool,
}

impl DisplayChains {
    /// The chains `options` ask for, started on `run`'s model.
    pub(super) fn new(options: &TrainerOptions, run: &TrainingRun) -> Self {
        let (n_visible, n_hidden) = (run.rbm().n_visible(), run.rbm().n_hidden());
        let mut chains = Self {
            sampler: GibbsChains::new(Vec::new(), n_visible, n_hidden, 0),
            labelled: None,
            clamp: ChainClamp::Free,
            gaussian: None,
            running: options.chains_running,
            steps_per_second: options.chain_steps_per_second.max(0.1),
            restart_every: options.chain_restart_every,
            sampling: None,
            start: options.chain_start,
            count: options.chain_count,
            generation: 0,
            next_step_at: Instant::now(),
            changed: true,
        };
        chains.reset(run);
        chains
    }

    pub(super) fn handle(&mut self, command: ChainCommand, run: &TrainingRun) {
        match command {
            ChainCommand::Run(running) => {
                self.running = running;
                self.next_step_at = Instant::now();
            }
            ChainCommand::Step => {
                self.running = false;
                self.step_once(run);
            }
            ChainCommand::Reset { start, count } => {
                self.start = start;
                self.count = count.clamp(1, crate::limits::MAX_GIBBS_CHAINS);
                self.reset(run);
            }
            ChainCommand::SetStepsPerSecond(rate) if rate.is_finite() => {
                self.steps_per_second = rate.clamp(0.1, 1000.0);
            }
            ChainCommand::SetStepsPerSecond(_) => {}
            ChainCommand::SetRestartEvery(steps) => self.restart_every = steps,
            ChainCommand::SetSampling(sampling) => self.sampling = sampling,
            ChainCommand::SetClass(clamp) => {
                self.clamp = clamp;
                self.reset(run);
            }
        }
        self.changed = true;
    }

    /// New chains from the start images (test images of `run`'s dataset, or noise drawn from the
    /// seed's chain stream) for `run`'s current model.
    pub(super) fn reset(&mut self, run: &TrainingRun) {
        self.generation += 1;
        let (count, nv, nh) = (self.count.max(1), run.rbm().n_visible(), run.rbm().n_hidden());
        let mut rng = stream_rng(run.spec().seed, Stream::Chains, self.generation);
        let start = match self.start {
            ChainStart::TestDigits => run.dataset().test_digits(count),
            ChainStart::Noise => (0..count * nv).map(|_| rng.random::<f32>()).collect(),
        };
        let seed = rng.random();
        // A class the model lacks (after a Reset or Load) lets the label be sampled instead.
        self.labelled = run.labels().and_then(|labels| {
            let clamp = match self.clamp {
                ChainClamp::Class(class) if labels.check_class(class).is_err() => ChainClamp::Free,
                clamp => clamp,
            };
            LabelledChains::new(start.clone(), nv, labels, clamp, seed).ok()
        });
        self.gaussian = run.gaussian().map(|(_, standardisation)| {
            let mut standardised = start.clone();
            standardisation.apply(&mut standardised);
            (GaussianChains::new(standardised, nv, nh, seed), seed)
        });
        let plain = self.labelled.is_none() && self.gaussian.is_none();
        self.sampler = GibbsChains::new(if plain { start } else { Vec::new() }, nv, nh, seed);
        self.changed = true;
        self.next_step_at = Instant::now();
    }

    /// How long an idle trainer may wait for commands before the next chain step is due (at most
    /// `limit`); `None` when the chains are paused.
    pub(super) fn time_to_next_step(&self, limit: Duration) -> Option<Duration> {
        self.running.then(|| self.next_step_at.saturating_duration_since(Instant::now()).min(limit))
    }

    /// The steps due by now at the chains' rate, with a bounded catch-up.
    pub(super) fn step_if_due(&mut self, run: &TrainingRun) {
        if !self.running {
            return;
        }
        let now = Instant::now();
        let period = Duration::from_secs_f32(1.0 / self.steps_per_second);
        let mut steps = 0;
        while self.next_step_at <= now && steps < MAX_CATCH_UP_STEPS {
            self.step_once(run);
            self.next_step_at += period;
            steps += 1;
        }
        if self.next_step_at <= now {
            self.next_step_at = now + period;
        }
        if steps > 0 {
            self.changed = true;
        }
    }

    fn step_once(&mut self, run: &TrainingRun) {
        let config = run.config();
        let sampling = self.sampling.unwrap_or(config.sampling);
        if let (Some((chains, seed)), Some((model, _))) = (&mut self.gaussian, run.gaussian()) {
            if self.restart_every > 0 && chains.steps() >= self.restart_every {
                *chains = GaussianChains::new(chains.start().to_vec(), model.n_visible(), model.n_hidden(), *seed);
            }
            // Single-threaded: the display chains must not take the pool from training.
            chains.step(model, Threads(1));
            return;
        }
        if let (Some(chains), Some(labels)) = (&mut self.labelled, run.labels()) {
            if self.restart_every > 0 && chains.steps() >= self.restart_every {
                chains.restart();
            }
            chains.step(run.rbm(), labels, sampling, config.noise_std);
            return;
        }
        if self.restart_every > 0 && self.sampler.steps() >= self.restart_every {
            self.sampler.restart();
        }
        self.sampler.step(run.rbm(), sampling, config.noise_std);
    }

    /// Leaves a snapshot in the chain mailbox if anything changed since the last; true if it did.
    pub(super) fn publish_if_changed(&mut self, mailboxes: &Mailboxes, run: &TrainingRun) -> bool {
        if !self.changed {
            return false;
        }
        self.changed = false;
        let sampler = &self.sampler;
        let dataset = run.dataset();
        let (count, start_images, mean_images, steps) = match (&self.labelled, &self.gaussian) {
            (Some(chains), _) => (chains.count(), chains.start_images(), chains.mean_images(), chains.steps()),
            (None, Some((chains, _))) => (chains.count(), chains.start(), chains.means(), chains.steps()),
            (None, None) => (sampler.count(), sampler.start_images(), sampler.mean_images(), sampler.steps()),
        };
        let (mut start_images, mut mean_images) = (start_images.to_vec(), mean_images.to_vec());
        // Gaussian chains run in standardised units: shown as intensities, clipped to [0, 1].
        if let (Some(_), Some((_, standardisation))) = (&self.gaussian, run.gaussian()) {
            standardisation.undo_for_display(&mut start_images);
            standardisation.undo_for_display(&mut mean_images);
        }
        mailboxes.chains.put(Arc::new(ChainSnapshot {
            count,
            image_rows: dataset.rows,
            image_cols: dataset.cols,
            start_images,
            mean_images,
            steps,
            running: self.running,
            steps_per_second: self.steps_per_second,
            start: self.start,
            clamp: self.labelled.as_ref().map_or(ChainClamp::Free, LabelledChains::clamp),
            label_classes: run.labels().map_or(0, |labels| labels.classes()),
        }));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, ImageArray};
    use crate::model::{MathPool, ModelSpec, TrainingConfig};

    /// A run of a model with label units of `classes` classes, on a few 4x4 images.
    fn labelled_run(classes: usize) -> TrainingRun {
        let count = 12;
        let pixels = (0..count * 16).map(|i| ((i * 37) % 256) as u8).collect();
        let images = ImageArray { count, rows: 4, cols: 4, pixels };
        let labels = (0..count).map(|i| (i % classes) as u8).collect();
        let dataset = Dataset::from_arrays("labelled", images, labels, None).expect("a dataset");
        let spec = ModelSpec { n_hidden: 8, seed: 2, label_classes: classes, ..ModelSpec::default() };
        TrainingRun::new(Arc::new(dataset), spec, TrainingConfig::default(), MathPool::new(1))
    }

    fn chain_labels(chains: &DisplayChains) -> Vec<u32> {
        chains.labelled.as_ref().expect("labelled chains").labels().to_vec()
    }

    #[test]
    fn one_chain_per_class_keeps_chain_i_on_class_i_mod_c_over_steps_and_restarts() {
        let classes = 3;
        let run = labelled_run(classes);
        // Seven chains: the last column of classes is not full.
        let options = TrainerOptions { chain_count: 7, chains_running: false, ..TrainerOptions::default() };
        let mut chains = DisplayChains::new(&options, &run);
        chains.handle(ChainCommand::SetRestartEvery(5), &run);
        chains.handle(ChainCommand::SetClass(ChainClamp::EachClass), &run);
        let each_class: Vec<u32> = (0..7).map(|i| (i % classes) as u32).collect();
        for step in 0..12 {
            assert_eq!(chain_labels(&chains), each_class, "after {step} steps");
            chains.handle(ChainCommand::Step, &run);
        }
        let mailboxes = Mailboxes::default();
        assert!(chains.publish_if_changed(&mailboxes, &run));
        let snapshot = mailboxes.chains.take().expect("a snapshot");
        assert_eq!((snapshot.clamp, snapshot.label_classes, snapshot.count), (ChainClamp::EachClass, classes, 7));

        // Free again: the labels are sampled (with seven chains of three classes, some move).
        chains.handle(ChainCommand::SetClass(ChainClamp::Free), &run);
        let mut moved = false;
        for _ in 0..12 {
            chains.handle(ChainCommand::Step, &run);
            moved |= chain_labels(&chains) != each_class;
        }
        assert!(moved, "free labels never moved");
    }

    #[test]
    fn a_class_the_model_lacks_leaves_the_labels_free() {
        let run = labelled_run(3);
        let options = TrainerOptions { chain_count: 4, chains_running: false, ..TrainerOptions::default() };
        let mut chains = DisplayChains::new(&options, &run);
        chains.handle(ChainCommand::SetClass(ChainClamp::Class(5)), &run);
        let mailboxes = Mailboxes::default();
        chains.publish_if_changed(&mailboxes, &run);
        assert_eq!(mailboxes.chains.take().expect("a snapshot").clamp, ChainClamp::Free);
        chains.handle(ChainCommand::SetClass(ChainClamp::Class(2)), &run);
        chains.handle(ChainCommand::Step, &run);
        assert_eq!(chain_labels(&chains), vec![2; 4]);
    }
}
