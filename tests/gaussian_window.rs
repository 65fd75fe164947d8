//! The Gaussian–Bernoulli RBM in the window: a run that trains it (falling reconstruction error,
//! the same bits on 1 and 2 threads), its model file round trip, the trainer thread's Reset,
//! weight snapshot, chains and Save → Load, and the control panel's choice of visible units.

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use rbm_lab::app::controls::ControlPanel;

use rbm_lab::io::{load_labelled_model, save_model};
use rbm_lab::model::{ConfigError, GradientMethod, MathPool, ModelSpec, TrainingConfig, VisibleType};
use rbm_lab::trainer::{
    BatchOutcome, ChainCommand, ChainSnapshot, ChainStart, Command, Continuation, ModelSnapshot, TrainerError,
    TrainerHandle, TrainerOptions, TrainingRun, Update,
};

fn gaussian_spec() -> ModelSpec {
    ModelSpec { n_hidden: 32, seed: 5, visible: VisibleType::Gaussian, ..ModelSpec::default() }
}

fn gaussian_config(method: GradientMethod) -> TrainingConfig {
    // A higher rate than the default: a small model stays stable at it for these few batches.
    TrainingConfig { method, batch_size: 50, learning_rate: 0.01, ..rbm_lab::model::gaussian::default_config() }
}

/// Mean of the batch losses over each of `groups` equal groups of `batches` batches.
fn train_losses(run: &mut TrainingRun, batches: usize, groups: usize) -> Vec<f64> {
    let mut means = Vec::new();
    for _ in 0..groups {
        let mut sum = 0.0;
        for _ in 0..batches {
            match run.train_batch() {
                BatchOutcome::Trained(report) => sum += report.loss.loss as f64,
                other => panic!("the batch did not train: {other:?}"),
            }
        }
        means.push(sum / batches as f64);
    }
    means
}

#[test]
fn a_gaussian_run_lowers_its_reconstruction_error_the_same_on_one_and_two_threads() {
    for method in [GradientMethod::Cd, GradientMethod::Pcd] {
        let dataset = common::mnist_slice(1000, 100);
        let mut one = TrainingRun::new(dataset.clone(), gaussian_spec(), gaussian_config(method), MathPool::new(1));
        let mut two = TrainingRun::new(dataset, gaussian_spec(), gaussian_config(method), MathPool::new(2));
        assert!(one.gaussian().is_some(), "a Gaussian spec makes a Gaussian run");
        let losses = train_losses(&mut one, 20, 4);
        train_losses(&mut two, 20, 4);
        assert!(losses[3] < 0.9 * losses[0], "{method:?}: reconstruction error did not fall: {losses:?}");
        assert_eq!(one.model_file(), two.model_file(), "{method:?}: 1 and 2 threads differ");
        // The views' copy of W follows the Gaussian model.
        assert_eq!(one.rbm(), one.gaussian().unwrap().0.rbm());
    }
}

#[test]
fn a_gaussian_run_saves_its_model_and_a_loaded_one_trains_on_without_exact_resume() {
    let dataset = common::mnist_slice(500, 50);
    let mut run =
        TrainingRun::new(dataset.clone(), gaussian_spec(), gaussian_config(GradientMethod::Cd), MathPool::new(1));
    train_losses(&mut run, 4, 1);
    let file = run.model_file();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gaussian.safetensors");
    save_model(&path, &file).expect("saves");
    let back = load_labelled_model(&path).expect("reads");
    assert_eq!(back, file);
    assert_eq!(back.metadata.spec.visible, VisibleType::Gaussian);
    let (model, _) = back.gaussian_model().expect("a Gaussian model");
    assert_eq!(&model, run.gaussian().unwrap().0);

    // Into a binary run: it becomes the Gaussian run at the file's position.
    let binary = ModelSpec { n_hidden: 32, ..ModelSpec::default() };
    let mut loaded = TrainingRun::new(dataset, binary, TrainingConfig::default(), MathPool::new(1));
    let continuation = loaded.adopt(back).expect("adopts a Gaussian file");
    assert!(matches!(continuation, Continuation::FreshState(_)), "{continuation:?}");
    assert_eq!(loaded.gaussian().unwrap().0, run.gaussian().unwrap().0);
    assert_eq!(loaded.epoch_position(), run.epoch_position());
    assert_eq!(loaded.config(), run.config());
    assert!(matches!(loaded.train_batch(), BatchOutcome::Trained(_)));
    assert_ne!(loaded.gaussian().unwrap().0, run.gaussian().unwrap().0, "it trains on");
}

fn paused_options() -> TrainerOptions {
    TrainerOptions {
        spec: ModelSpec { n_hidden: 32, seed: 7, ..ModelSpec::default() },
        config: TrainingConfig { batch_size: 50, ..TrainingConfig::default() },
        threads: 2,
        start_running: false,
        chains_running: false,
        chain_count: 8,
        publish_interval: Duration::from_millis(5),
        ..TrainerOptions::default()
    }
}

/// Updates until `done` picks one, failing after 20 s.
fn wait_for<T>(trainer: &TrainerHandle, what: &str, mut done: impl FnMut(&Update) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        if let Some(update) = trainer.recv_timeout(Duration::from_millis(50))
            && let Some(found) = done(&update)
        {
            return found;
        }
    }
}

fn wait_for_snapshot<T>(what: &str, mut take: impl FnMut() -> Option<T>, accept: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        if let Some(found) = take()
            && accept(&found)
        {
            return found;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_trainer_thread_trains_shows_and_saves_a_gaussian_model() {
    let dataset = common::mnist_slice(1000, 100);
    let trainer = TrainerHandle::spawn(dataset, paused_options()).expect("trainer thread");
    // The binary settings' momentum cannot train Gaussian visibles: the Reset is refused as such.
    trainer.send(Command::SetConfig(TrainingConfig { momentum: 0.5, batch_size: 50, ..TrainingConfig::default() }));
    trainer.send(Command::Reset(gaussian_spec()));
    let refused = wait_for(&trainer, "the Reset refused", |u| match u {
        Update::Error(TrainerError::ResetRefused(ConfigError::Gaussian(message))) => Some(message.clone()),
        _ => None,
    });
    assert!(refused.contains("momentum"), "{refused}");

    trainer.send(Command::SetConfig(gaussian_config(GradientMethod::Pcd)));
    trainer.send(Command::Reset(gaussian_spec()));
    let description = wait_for(&trainer, "the Gaussian model", |u| match u {
        Update::ModelReplaced { description, .. } => Some(description.clone()),
        _ => None,
    });
    assert!(description.contains("Gaussian"), "{description}");
    trainer.send(Command::Chains(ChainCommand::Reset { start: ChainStart::Noise, count: 8 }));
    trainer.send(Command::Chains(ChainCommand::SetStepsPerSecond(1000.0)));
    trainer.send(Command::Chains(ChainCommand::Run(true)));
    trainer.send(Command::Start);
    let mut losses = Vec::new();
    while losses.len() < 100 {
        losses.extend(wait_for(&trainer, "losses", |u| match u {
            Update::Losses(points) => Some(points.iter().map(|p| p.loss).collect::<Vec<_>>()),
            _ => None,
        }));
    }
    trainer.send(Command::Pause);
    let first: f32 = losses[..20].iter().sum();
    let last: f32 = losses[losses.len() - 20..].iter().sum();
    assert!(last < 0.9 * first, "reconstruction error did not fall: {losses:?}");

    let snapshot: std::sync::Arc<ModelSnapshot> =
        wait_for_snapshot("a trained weights snapshot", || trainer.take_model_snapshot(), |s| s.epoch_position > 0.0);
    assert_eq!((snapshot.n_visible, snapshot.n_hidden, snapshot.weights.len()), (784, 32, 784 * 32));
    let chains: std::sync::Arc<ChainSnapshot> =
        wait_for_snapshot("stepped chains", || trainer.take_chain_snapshot(), |c| c.steps > 2);
    assert_eq!(chains.mean_images.len(), 8 * 784);
    assert!(chains.mean_images.iter().chain(&chains.start_images).all(|x| (0.0..=1.0).contains(x)));
    // Shown as intensities: the standardised means would lie well outside [0, 1] and would not
    // be clipped to exactly 0 on the background.
    assert!(chains.mean_images.contains(&0.0) && chains.mean_images.iter().any(|&x| x > 0.5));

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("window.safetensors");
    trainer.send(Command::SaveModel(path.clone()));
    wait_for(&trainer, "the save", |u| matches!(u, Update::Saved(_)).then_some(()));
    let file = load_labelled_model(&path).expect("reads the saved file");
    assert!(file.gaussian_model().is_some(), "a Gaussian file");
    trainer.send(Command::Reset(ModelSpec { n_hidden: 32, ..ModelSpec::default() }));
    trainer.send(Command::LoadModel(Box::new(file)));
    let loaded = wait_for(&trainer, "the load", |u| match u {
        Update::ModelReplaced { description, .. } if description.starts_with("loaded") => Some(description.clone()),
        Update::Error(e) => panic!("{e}"),
        _ => None,
    });
    assert!(loaded.contains("no exact resume"), "{loaded}");
}

#[test]
fn choosing_gaussian_visible_units_makes_reset_ask_for_them() {
    let panel = ControlPanel::new(TrainingConfig::default(), ModelSpec::default());
    let mut harness = Harness::builder().with_size(egui::vec2(400.0, 1200.0)).build_ui_state(
        |ui, (panel, commands): &mut (ControlPanel, Vec<Command>)| panel.ui(ui, commands),
        (panel, Vec::new()),
    );
    harness.run();
    harness.get_by_label("visible units").click();
    harness.run();
    harness.get_by_label("Gaussian").click();
    harness.run();
    harness.state_mut().1.clear();
    harness.get_by_label("Reset model").click();
    harness.run();
    let resets: Vec<ModelSpec> = harness
        .state()
        .1
        .iter()
        .filter_map(|c| match c {
            Command::Reset(spec) => Some(spec.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(resets.len(), 1, "one Reset");
    assert_eq!(resets[0].visible, VisibleType::Gaussian);
}

/// A Gaussian model's panel has no noise slider, visible-sampling choice or binary-data box (they
/// do nothing for it) and says what its visibles are; a binary model's has all three.
#[test]
fn the_panel_offers_binary_choices_only_to_a_binary_model() {
    for visible in [VisibleType::Binary, VisibleType::Gaussian] {
        let mut panel = ControlPanel::new(TrainingConfig::default(), ModelSpec::default());
        panel.model_visible = visible;
        let mut harness = Harness::builder().with_size(egui::vec2(400.0, 1600.0)).build_ui_state(
            |ui, (panel, commands): &mut (ControlPanel, Vec<Command>)| panel.ui(ui, commands),
            (panel, Vec::new()),
        );
        harness.run();
        harness.get_by_label("Method").click();
        harness.run();
        let binary = visible == VisibleType::Binary;
        for label in ["noise", "visibles", "binary data"] {
            assert_eq!(harness.query_all_by_label(label).next().is_some(), binary, "{visible:?}: {label}");
        }
        let gaussian_line = harness.query_all_by_label("visibles: Gaussian, drawn from N(b + W h, σ²)").next();
        assert_eq!(gaussian_line.is_some(), !binary);
        assert!(harness.query_all_by_label("batch size").next().is_some());
    }
}
