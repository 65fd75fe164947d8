//! The trainer thread's protocol, without a window: commands in, updates out.
//!
//! One file past 500 lines: one test per command or update of the protocol, sharing the thread
//! harness.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::mnist_slice;
use rbm_lab::data::Dataset;
use rbm_lab::io::ModelFile;
use rbm_lab::model::{ConfigError, GradientMethod, ModelSpec, TrainingConfig, VisibleSampling};
use rbm_lab::trainer::{
    AdoptError, Command, ModelSnapshot, Progress, TrainerError, TrainerHandle, TrainerOptions, Update,
};

fn mnist() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| Arc::new(common::mnist().clone())).clone()
}

fn small_options() -> TrainerOptions {
    TrainerOptions {
        spec: ModelSpec { n_hidden: 32, seed: 7, ..ModelSpec::default() },
        config: TrainingConfig { k: 2, ..TrainingConfig::default() },
        threads: 2,
        start_running: false,
        chains_running: false,
        publish_interval: Duration::from_millis(5),
        ..TrainerOptions::default()
    }
}

/// Everything the test has seen so far.
#[derive(Default)]
struct Seen {
    updates: Vec<Update>,
    progress: Option<Progress>,
    snapshot: Option<Arc<ModelSnapshot>>,
}

impl Seen {
    fn pump(&mut self, trainer: &TrainerHandle) {
        for update in trainer.updates() {
            if let Update::Progress(p) = &update {
                self.progress = Some(p.clone());
            }
            self.updates.push(update);
        }
        if let Some(s) = trainer.take_model_snapshot() {
            self.snapshot = Some(s);
        }
    }

    /// Pumps until `done` holds, failing after `timeout`.
    fn wait_until(&mut self, trainer: &TrainerHandle, timeout: Duration, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump(trainer);
            if done(self) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn samples_seen(&self) -> u64 {
        self.progress.as_ref().map_or(0, |p| p.samples_seen)
    }

    fn losses(&self) -> usize {
        self.updates.iter().map(|u| if let Update::Losses(v) = u { v.len() } else { 0 }).sum()
    }
}

fn snapshot_at(seen: &mut Seen, trainer: &TrainerHandle, samples: u64) -> Arc<ModelSnapshot> {
    let position = samples as f64 / 60_000.0;
    seen.wait_until(trainer, Duration::from_secs(10), "a weights snapshot at the position", |s| {
        s.snapshot.as_ref().is_some_and(|snap| (snap.epoch_position - position).abs() < 1e-9)
    });
    seen.snapshot.clone().expect("snapshot")
}

#[test]
fn learning_rate_change_applies_to_the_next_batch() {
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    trainer.send(Command::Step);
    seen.wait_until(&trainer, Duration::from_secs(10), "first batch", |s| s.samples_seen() == 64);
    let after_first = snapshot_at(&mut seen, &trainer, 64);

    // A vanishing learning rate: the next batch must leave the weights (almost) where they are.
    let tiny = TrainingConfig { learning_rate: 1e-30, k: 2, ..TrainingConfig::default() };
    trainer.send(Command::SetConfig(tiny.clone()));
    trainer.send(Command::Step);
    seen.wait_until(&trainer, Duration::from_secs(10), "second batch", |s| s.samples_seen() == 128);
    let after_second = snapshot_at(&mut seen, &trainer, 128);
    let max_change =
        after_first.weights.iter().zip(&after_second.weights).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(max_change < 1e-20, "the second batch used the new learning rate (max change {max_change})");

    // And back to the default: the third batch moves the weights again.
    trainer.send(Command::SetConfig(TrainingConfig { k: 2, ..TrainingConfig::default() }));
    trainer.send(Command::Step);
    seen.wait_until(&trainer, Duration::from_secs(10), "third batch", |s| s.samples_seen() == 192);
    let after_third = snapshot_at(&mut seen, &trainer, 192);
    let change = after_second.weights.iter().zip(&after_third.weights).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(change > 1e-6, "the third batch used lr 0.005 again (max change {change})");

    let applied: Vec<(f64, f32)> = seen
        .updates
        .iter()
        .filter_map(|u| match u {
            Update::ConfigApplied { epoch_position, config } => Some((*epoch_position, config.learning_rate)),
            _ => None,
        })
        .collect();
    assert_eq!(applied.len(), 2, "{applied:?}");
    assert!(
        (applied[0].0 - 64.0 / 60_000.0).abs() < 1e-12 && applied[0].1 == 1e-30,
        "marked after batch 1: {applied:?}"
    );
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

#[test]
fn pause_stops_progress_and_no_loss_point_is_dropped() {
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    trainer.send(Command::Start);
    seen.wait_until(&trainer, Duration::from_secs(10), "training to run", |s| s.samples_seen() >= 64 * 20);
    trainer.send(Command::Pause);
    seen.wait_until(&trainer, Duration::from_secs(5), "the pause", |s| s.progress.as_ref().is_some_and(|p| !p.running));
    let paused_at = seen.samples_seen();
    std::thread::sleep(Duration::from_millis(300));
    seen.pump(&trainer);
    assert_eq!(seen.samples_seen(), paused_at, "no batch may run while paused");
    assert_eq!(seen.losses() as u64, paused_at / 64, "one loss point per batch, none dropped");
    let xs: Vec<f64> = seen
        .updates
        .iter()
        .filter_map(
            |u| if let Update::Losses(v) = u { Some(v.iter().map(|p| p.epoch).collect::<Vec<_>>()) } else { None },
        )
        .flatten()
        .collect();
    assert!(xs.windows(2).all(|w| w[0] < w[1]), "loss points arrive in order");
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

#[test]
fn divergence_pauses_and_keeps_finite_weights() {
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    // The largest learning rate with the largest weight decay: each step multiplies W by
    // 1 − lr·decay = −9, so the weights overflow within a few dozen batches.
    let config = TrainingConfig { learning_rate: 10.0, weight_decay: 1.0, k: 2, ..TrainingConfig::default() };
    trainer.send(Command::SetConfig(config));
    trainer.send(Command::Start);
    seen.wait_until(&trainer, Duration::from_secs(20), "a Diverged update", |s| {
        s.updates.iter().any(|u| matches!(u, Update::Diverged { .. }))
    });
    seen.wait_until(&trainer, Duration::from_secs(5), "paused progress", |s| {
        s.progress.as_ref().is_some_and(|p| !p.running)
    });
    let stopped_at = seen.samples_seen();
    let diverged_at = seen
        .updates
        .iter()
        .find_map(|u| if let Update::Diverged { epoch_position, .. } = u { Some(*epoch_position) } else { None })
        .unwrap();
    let snapshot = snapshot_at(&mut seen, &trainer, stopped_at);
    assert!((snapshot.epoch_position - diverged_at).abs() < 1e-12);
    assert!(snapshot.weights.iter().chain(&snapshot.visible_bias).chain(&snapshot.hidden_bias).all(|x| x.is_finite()));
    std::thread::sleep(Duration::from_millis(200));
    seen.pump(&trainer);
    assert_eq!(seen.samples_seen(), stopped_at, "stays paused after diverging");
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

#[test]
fn shutdown_joins_within_a_second_while_training() {
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: 256, seed: 1, ..ModelSpec::default() },
        config: TrainingConfig::default(),
        start_running: true,
        chains_running: true,
        ..small_options()
    };
    let mut trainer = TrainerHandle::spawn(mnist(), options).unwrap();
    let mut seen = Seen::default();
    seen.wait_until(&trainer, Duration::from_secs(10), "training to run", |s| s.samples_seen() > 0);
    let started = Instant::now();
    assert!(trainer.shutdown(Duration::from_secs(1)), "joined");
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert!(!trainer.is_alive());
}

#[test]
fn same_seed_same_run() {
    let run = || {
        let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
        let mut seen = Seen::default();
        for _ in 0..3 {
            trainer.send(Command::Step);
        }
        seen.wait_until(&trainer, Duration::from_secs(10), "three batches", |s| s.samples_seen() == 192);
        let snapshot = snapshot_at(&mut seen, &trainer, 192);
        trainer.shutdown(Duration::from_secs(2));
        snapshot.weights.clone()
    };
    assert_eq!(run(), run());
}

#[test]
fn a_model_of_the_wrong_size_is_refused_and_the_current_one_kept() {
    use rbm_lab::io::{ModelFile, ModelMetadata};
    use rbm_lab::model::Rbm;
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    let before = snapshot_at(&mut seen, &trainer, 0);
    let wrong = ModelFile::new(
        Rbm::zeros(100, 32),
        ModelMetadata::new("tiny", 10, 10, TrainingConfig::default(), ModelSpec::default()),
    );
    trainer.send(Command::LoadModel(Box::new(wrong)));
    seen.wait_until(&trainer, Duration::from_secs(5), "an error", |s| {
        s.updates.iter().any(|u| matches!(u, Update::Error(_)))
    });
    trainer.send(Command::Step);
    seen.wait_until(&trainer, Duration::from_secs(10), "a batch", |s| s.samples_seen() == 64);
    let after = snapshot_at(&mut seen, &trainer, 64);
    assert_eq!(after.n_visible, 784);
    assert_eq!(after.n_hidden, before.n_hidden);
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

#[test]
fn a_model_trained_on_thresholded_images_is_loaded_with_a_word_on_the_images_it_meets() {
    use rbm_lab::data::THRESHOLDED_SUFFIX;
    use rbm_lab::io::{ModelFile, ModelMetadata};
    use rbm_lab::model::Rbm;
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    let spec = small_options().spec;
    let loaded = |seen: &mut Seen, trainer: &TrainerHandle, dataset: &str| -> String {
        let metadata = ModelMetadata::new(dataset, 28, 28, TrainingConfig::default(), spec.clone());
        seen.updates.clear();
        trainer.send(Command::LoadModel(Box::new(ModelFile::new(Rbm::zeros(784, spec.n_hidden), metadata))));
        seen.wait_until(trainer, Duration::from_secs(5), "the load", |s| {
            s.updates
                .iter()
                .any(|u| matches!(u, Update::ModelReplaced { description, .. } if description.starts_with("loaded")))
        });
        seen.updates
            .iter()
            .find_map(|u| match u {
                Update::ModelReplaced { description, .. } => Some(description.clone()),
                _ => None,
            })
            .expect("a description")
    };
    let thresholded = loaded(&mut seen, &trainer, &format!("MNIST{THRESHOLDED_SUFFIX}"));
    assert!(thresholded.contains("on MNIST (thresholded)"), "{thresholded}");
    assert!(thresholded.contains("the window trains and evaluates it on the grey images"), "{thresholded}");
    let grey = loaded(&mut seen, &trainer, "MNIST");
    assert!(!grey.contains("grey images"), "{grey}");
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

/// Steps `batches` batches and waits until the trainer has seen `samples` samples in all.
fn step_batches(seen: &mut Seen, trainer: &TrainerHandle, batches: usize, samples: u64) {
    for _ in 0..batches {
        trainer.send(Command::Step);
    }
    seen.wait_until(trainer, Duration::from_secs(20), "the batches", |s| s.samples_seen() == samples);
}

/// The model file with its training state, as the trainer has it now.
fn request_file(seen: &mut Seen, trainer: &TrainerHandle) -> ModelFile {
    let files = |s: &Seen| s.updates.iter().filter(|u| matches!(u, Update::ModelFile(_))).count();
    let before = files(seen);
    trainer.send(Command::RequestModelFile);
    seen.wait_until(trainer, Duration::from_secs(10), "the model file", |s| files(s) > before);
    let file = seen.updates.iter().rev().find_map(|u| if let Update::ModelFile(f) = u { Some(f) } else { None });
    *file.expect("a ModelFile update").clone()
}

fn diverged_count(seen: &Seen) -> usize {
    seen.updates.iter().filter(|u| matches!(u, Update::Diverged { .. })).count()
}

/// Centered PCD with momentum: particles, offsets and momentum buffers all carry over.
fn centered_pcd_momentum() -> TrainingConfig {
    TrainingConfig {
        learning_rate: 0.01,
        k: 1,
        sampling: VisibleSampling::Bernoulli,
        method: GradientMethod::Pcd,
        momentum: 0.9,
        momentum_warmup_epochs: 0.0,
        centering: true,
        binarize_data: true,
        ..TrainingConfig::default()
    }
}

/// The largest learning rate with the largest weight decay: each step multiplies W by about
/// 1 − lr·decay = −9, so the weights overflow within a few dozen batches.
fn overflowing(config: &TrainingConfig) -> TrainingConfig {
    TrainingConfig { learning_rate: 10.0, weight_decay: 1.0, ..config.clone() }
}

/// Steps one batch at a time until one diverges; returns the model file (with its training state)
/// as it was just before that batch.
fn step_until_diverged(seen: &mut Seen, trainer: &TrainerHandle) -> ModelFile {
    for _ in 0..500 {
        let before = request_file(seen, trainer);
        let (diverged, samples) = (diverged_count(seen), before.metadata.samples_seen);
        trainer.send(Command::Step);
        seen.wait_until(trainer, Duration::from_secs(10), "the step", |s| {
            diverged_count(s) > diverged || s.samples_seen() > samples
        });
        if diverged_count(seen) > diverged {
            return before;
        }
    }
    panic!("no divergence within 500 batches at lr 10 with weight decay 1");
}

/// Within the settings' limits a divergence builds up over batches (lr 10 with weight decay 1
/// multiplies W by about −9 a batch), so the state before the bad batch is already far gone and a
/// lower rate cannot save it; that a restored state trains on at a lower rate, also after a
/// divergence on an epoch's last batch, is shown on a `TrainingRun` in tests/training_state.rs.
/// Here: the trainer restores everything exactly and pauses.
#[test]
fn a_divergence_restores_the_whole_state_before_the_bad_batch() {
    let config = centered_pcd_momentum();
    let options = TrainerOptions { config: config.clone(), ..small_options() };
    let mut trainer = TrainerHandle::spawn(mnist(), options).unwrap();
    let mut seen = Seen::default();
    step_batches(&mut seen, &trainer, 3, 192);

    trainer.send(Command::SetConfig(overflowing(&config)));
    let before = step_until_diverged(&mut seen, &trainer);
    let after = request_file(&mut seen, &trainer);
    assert!(after.rbm.is_finite());
    let bits = |f: &ModelFile| f.rbm.weights_slice().iter().map(|w| w.to_bits()).collect::<Vec<_>>();
    assert!(bits(&after) == bits(&before), "the weights before the bad batch, bit for bit");
    assert!(before.state.is_some(), "momentum, offsets and particles are in use");
    // And everything else the step uses: momentum, offsets, particles, streams, position.
    assert!(after == before, "the whole training state before the bad batch");
    seen.wait_until(&trainer, Duration::from_secs(5), "paused progress", |s| {
        s.progress.as_ref().is_some_and(|p| !p.running)
    });
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

#[test]
fn a_different_seed_gives_a_different_run() {
    let run = |seed: u64| {
        let options =
            TrainerOptions { spec: ModelSpec { n_hidden: 32, seed, ..ModelSpec::default() }, ..small_options() };
        let mut trainer = TrainerHandle::spawn(mnist(), options).unwrap();
        let mut seen = Seen::default();
        step_batches(&mut seen, &trainer, 3, 192);
        let file = request_file(&mut seen, &trainer);
        trainer.shutdown(Duration::from_secs(2));
        file
    };
    let (a, b) = (run(7), run(8));
    assert!(a.rbm.weights_slice() != b.rbm.weights_slice());
    assert!(a.state != b.state, "other shuffles and streams too");
}

/// Nobody reads the updates for thousands of epochs (a hidden window): the backlog keeps the newest
/// periodic events up to its cap, and every one-off event.
#[test]
fn an_unread_outbox_stays_bounded_and_keeps_one_off_events() {
    // 12 training images in one batch: every batch ends an epoch and crosses quarter epochs, so it
    // queues an EpochFinished and a Monitors event.
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: 8, seed: 3, ..ModelSpec::default() },
        config: TrainingConfig { k: 1, ..TrainingConfig::default() },
        start_running: true,
        ..small_options()
    };
    let mut trainer = TrainerHandle::spawn(mnist_slice(12, 12), options).unwrap();
    let epochs_reached = |epochs: f64| {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if trainer.take_model_snapshot().is_some_and(|s| s.epoch_position >= epochs) {
                return;
            }
            assert!(Instant::now() < deadline, "training did not reach epoch {epochs}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // The channel (1,024 updates) is full long before this.
    epochs_reached(3_000.0);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("while-unread.safetensors");
    trainer.send(Command::SaveModel(saved.clone()));
    trainer.send(Command::RequestModelFile);
    epochs_reached(12_000.0);
    trainer.send(Command::Pause);

    let mut updates = Vec::new();
    while let Some(update) = trainer.recv_timeout(Duration::from_secs(2)) {
        updates.push(update);
    }
    let epochs: Vec<usize> = updates
        .iter()
        .filter_map(|u| if let Update::EpochFinished { epoch, .. } = u { Some(*epoch) } else { None })
        .collect();
    let monitors = updates.iter().filter(|u| matches!(u, Update::Monitors(_))).count();
    let last_progress =
        updates.iter().rev().find_map(|u| if let Update::Progress(p) = u { Some(p.epoch) } else { None });
    // At most the channel's 1,024 plus the backlog's 4,000 of each kind, of the 12,000 and more.
    assert!(epochs.len() <= 5_024 && monitors <= 5_024, "{} epoch ends and {monitors} monitors", epochs.len());
    assert!(epochs.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(epochs.last().map(|e| e + 1), last_progress, "the newest epoch end is kept");
    assert!(updates.iter().any(|u| matches!(u, Update::Saved(p) if *p == saved)), "Saved is never dropped");
    assert!(updates.iter().any(|u| matches!(u, Update::ModelFile(_))), "ModelFile is never dropped");
    assert!(saved.exists());
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

/// The trainer's answer to a refused command: the first `Update::Error` after it.
fn refusal(seen: &mut Seen, trainer: &TrainerHandle) -> TrainerError {
    seen.wait_until(trainer, Duration::from_secs(5), "an error", |s| {
        s.updates.iter().any(|u| matches!(u, Update::Error(_)))
    });
    let error = seen.updates.iter().find_map(|u| if let Update::Error(e) = u { Some(e.clone()) } else { None });
    seen.updates.retain(|u| !matches!(u, Update::Error(_)));
    error.expect("an error")
}

#[test]
fn options_over_the_limits_are_refused_before_the_trainer_starts() {
    let too_many_parameters =
        TrainerOptions { spec: ModelSpec { n_hidden: 100_000, ..ModelSpec::default() }, ..small_options() };
    let error = TrainerHandle::spawn(mnist(), too_many_parameters).err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("78,400,000 parameters; rbm-lab's limit is 33,554,432"), "{error}");

    let huge_batch = TrainingConfig { batch_size: 60_000, ..TrainingConfig::default() };
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: 4096, ..ModelSpec::default() },
        config: huge_batch,
        ..small_options()
    };
    let error = TrainerHandle::spawn(mnist(), options).err().expect("refused");
    assert!(error.to_string().contains("rbm-lab's limit is 1,610,612,736 bytes"), "{error}");
}

#[test]
fn progress_tells_the_threads_training_runs_on() {
    for threads in [1, 3] {
        let mut trainer = TrainerHandle::spawn(mnist(), TrainerOptions { threads, ..small_options() }).unwrap();
        let mut seen = Seen::default();
        seen.wait_until(&trainer, Duration::from_secs(5), "progress", |s| s.progress.is_some());
        assert_eq!(seen.progress.as_ref().map(|p| p.threads), Some(threads));
        assert!(trainer.shutdown(Duration::from_secs(2)));
    }
}

#[test]
fn invalid_options_are_refused_with_the_reason_rather_than_replaced_by_defaults() {
    let no_hidden = TrainerOptions { spec: ModelSpec { n_hidden: 0, ..ModelSpec::default() }, ..small_options() };
    let error = TrainerHandle::spawn(mnist(), no_hidden).err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("hidden units must be between 1 and"), "{error}");
    let nan_rate = TrainingConfig { learning_rate: f32::NAN, ..TrainingConfig::default() };
    let error = TrainerHandle::spawn(mnist(), TrainerOptions { config: nan_rate, ..small_options() }).err();
    let error = error.expect("refused").to_string();
    assert!(error.contains("learning rate must be a positive finite number"), "{error}");
}

#[test]
fn reset_batch_and_dataset_changes_over_the_limits_are_refused_and_the_model_kept() {
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    let before = snapshot_at(&mut seen, &trainer, 0);

    trainer.send(Command::Reset(ModelSpec { n_hidden: 50_000, ..ModelSpec::default() }));
    let error = refusal(&mut seen, &trainer);
    assert!(matches!(error, TrainerError::ResetRefused(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("Reset refused: the model would have 784 x 50000 = 39,200,000 parameters"),
        "{message}"
    );

    // 4,096 hidden units fit, but not with batches of 60,000 (their chains alone take ~2 GB).
    trainer.send(Command::SetConfig(TrainingConfig { batch_size: 60_000, k: 2, ..TrainingConfig::default() }));
    trainer.send(Command::Reset(ModelSpec { n_hidden: 4096, ..ModelSpec::default() }));
    let message = refusal(&mut seen, &trainer).to_string();
    assert!(message.contains("1.5 GiB"), "{message}");
    // The batch itself was accepted for the current 784x32 model; a learning rate above 10 is not.
    trainer.send(Command::SetConfig(TrainingConfig { learning_rate: 11.0, ..TrainingConfig::default() }));
    let error = refusal(&mut seen, &trainer);
    assert!(matches!(error, TrainerError::SettingsRefused(ConfigError::LearningRate(11.0))), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("at most 10 (got 11)"), "{message}");

    // Images of 512x512 pixels fit the pixel limit, but a 32-hidden model with batches of 60,000
    // on them does not fit the training buffers: the switch is refused.
    let big = {
        use rbm_lab::data::{Dataset, ImageArray};
        let images = ImageArray { count: 6, rows: 512, cols: 512, pixels: vec![0; 6 * 512 * 512] };
        Arc::new(Dataset::from_arrays("big", images, vec![0; 6], None).unwrap())
    };
    trainer.send(Command::SetDataset(big));
    let error = refusal(&mut seen, &trainer);
    assert!(
        matches!(&error, TrainerError::DatasetRefused { dataset, current, .. } if dataset == "big" && current == "MNIST"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.starts_with("Dataset big refused: training a 262144x32 model on batches of 60000"), "{message}");

    trainer.send(Command::SetConfig(small_options().config));
    trainer.send(Command::Step);
    seen.wait_until(&trainer, Duration::from_secs(10), "a batch", |s| s.samples_seen() == 64);
    let after = snapshot_at(&mut seen, &trainer, 64);
    assert_eq!((after.n_visible, after.n_hidden), (before.n_visible, before.n_hidden));
    assert!(seen.progress.as_ref().is_some_and(|p| p.dataset == "MNIST"));
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

#[test]
fn a_model_whose_settings_do_not_fit_its_size_is_refused() {
    use rbm_lab::io::{ModelFile, ModelMetadata};
    use rbm_lab::model::Rbm;
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    // The current settings with batches of 60,000, which fit the current 784x32 model...
    trainer.send(Command::SetConfig(TrainingConfig { batch_size: 60_000, k: 2, ..TrainingConfig::default() }));
    // ...then a 784x4096 file whose own settings are unusable, so the current ones would apply.
    let mut metadata = ModelMetadata::new("MNIST", 28, 28, TrainingConfig::default(), ModelSpec::default());
    metadata.training.k = 0;
    let file = ModelFile::new(Rbm::zeros(784, 4096), metadata);
    trainer.send(Command::LoadModel(Box::new(file)));
    let error = refusal(&mut seen, &trainer);
    assert!(matches!(error, TrainerError::LoadRefused(AdoptError::Limits(_))), "{error:?}");
    let message = error.to_string();
    assert!(message.starts_with("Load refused: training a 784x4096 model on batches of 60000"), "{message}");
    trainer.send(Command::Step);
    seen.wait_until(&trainer, Duration::from_secs(20), "a batch", |s| s.samples_seen() == 60_000);
    assert_eq!(seen.progress.as_ref().map(|p| p.n_hidden), Some(32));
    assert!(trainer.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_trainer_that_panics_says_why_and_is_seen_dead() {
    let woken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let wake = woken.clone();
    let waker: rbm_lab::trainer::Waker = Arc::new(move || wake.store(true, std::sync::atomic::Ordering::SeqCst));
    let trainer = TrainerHandle::spawn_with(Some(waker), |side| {
        // Alive until the panic: it answers a first command like a trainer would.
        let _ = side.commands.recv();
        panic!("injected failure in the trainer");
    })
    .expect("trainer thread");
    assert!(trainer.is_alive());
    trainer.send(Command::Start);
    let last_words = trainer.recv_timeout(Duration::from_secs(10)).expect("a final update");
    match last_words {
        Update::TrainerStopped(message) => assert!(message.contains("injected failure in the trainer"), "{message}"),
        other => panic!("expected TrainerStopped, got {other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while trainer.is_alive() {
        assert!(Instant::now() < deadline, "the dead trainer still counts as alive");
        std::thread::sleep(Duration::from_millis(2));
    }
    while !woken.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the window was not woken to see it");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_trainer_played_through_a_link_dies_when_its_end_is_dropped() {
    let (link, side) = rbm_lab::trainer::link();
    let trainer = TrainerHandle::from_link(link);
    assert!(trainer.is_alive());
    side.updates.send(Update::Error(TrainerError::SettingsRefused(ConfigError::K(0)))).expect("send");
    drop(side);
    assert!(!trainer.is_alive());
    // What it sent before it went can still be read.
    assert!(matches!(trainer.updates().next(), Some(Update::Error(_))));
}

#[test]
fn a_failed_save_says_which_file_and_why_and_training_goes_on() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("no such folder").join("model.safetensors");
    let mut trainer = TrainerHandle::spawn(mnist(), small_options()).unwrap();
    let mut seen = Seen::default();
    trainer.send(Command::SaveModel(path.clone()));
    let error = refusal(&mut seen, &trainer);
    match &error {
        TrainerError::SaveFailed { path: failed, source } => {
            assert_eq!(failed, &path);
            assert!(matches!(**source, rbm_lab::io::ModelFileError::Io { .. }), "{source:?}");
        }
        other => panic!("expected SaveFailed, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.starts_with("Save failed: could not read or write the model file"), "{message}");
    assert!(message.contains("no such folder"), "{message}");
    trainer.send(Command::Step);
    seen.wait_until(&trainer, Duration::from_secs(10), "a batch after the failed save", |s| s.samples_seen() == 64);
    assert!(trainer.shutdown(Duration::from_secs(2)));
}

#[test]
fn tempering_s_swap_rates_are_published_with_the_progress() {
    let config = TrainingConfig {
        method: GradientMethod::Pt,
        temperatures: 3,
        min_beta: 0.5,
        sampling: VisibleSampling::Bernoulli,
        ..small_options().config
    };
    let mut trainer = TrainerHandle::spawn(mnist(), TrainerOptions { config, ..small_options() }).unwrap();
    let mut seen = Seen::default();
    step_batches(&mut seen, &trainer, 3, 3 * 64);
    let rates = seen.progress.as_ref().map(|p| p.swap_rates.clone()).unwrap_or_default();
    assert_eq!(rates.len(), 2, "one rate per neighbouring pair: {rates:?}");
    assert!(rates.iter().all(|r| (0.0..=1.0).contains(r)) && rates.iter().any(|&r| r > 0.0), "{rates:?}");
    // Back to PCD: no ladder, no rates.
    trainer.send(Command::SetConfig(TrainingConfig { method: GradientMethod::Pcd, ..small_options().config }));
    step_batches(&mut seen, &trainer, 1, 4 * 64);
    seen.wait_until(&trainer, Duration::from_secs(10), "rates cleared", |s| {
        s.progress.as_ref().is_some_and(|p| p.swap_rates.is_empty())
    });
    assert!(trainer.shutdown(Duration::from_secs(5)));
}
