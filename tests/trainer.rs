//! The trainer thread's protocol, without a window: commands in, updates out.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rbm_lab::data::Dataset;
use rbm_lab::model::{ModelSpec, TrainingConfig};
use rbm_lab::trainer::{Command, ModelSnapshot, Progress, TrainerHandle, TrainerOptions, Update};

fn mnist() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| Arc::new(Dataset::embedded_mnist().expect("embedded MNIST"))).clone()
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
    trainer.send(Command::SetConfig(TrainingConfig { learning_rate: 3e38, k: 2, ..TrainingConfig::default() }));
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
    let wrong = ModelFile {
        rbm: Rbm::zeros(100, 32),
        metadata: ModelMetadata::new("tiny", 10, 10, TrainingConfig::default(), ModelSpec::default()),
    };
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
    side.updates.send(Update::Error("from the test".into())).expect("send");
    drop(side);
    assert!(!trainer.is_alive());
    // What it sent before it went can still be read.
    assert!(matches!(trainer.updates().next(), Some(Update::Error(_))));
}
