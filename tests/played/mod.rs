//! The window on a played trainer: no trainer thread; the test reads the commands the window sends
//! through a `TrainerSide` and feeds it updates and weights (egui_kittest).

#![allow(dead_code)] // each test binary uses some of these

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use rbm_lab::app::RbmLabApp;
use rbm_lab::data::Dataset;
use rbm_lab::model::{ModelSpec, TrainingConfig};
use rbm_lab::trainer::{Command, ModelSnapshot, Progress, TrainerOptions, TrainerSide, Update};

pub fn mnist() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| Arc::new(Dataset::embedded_mnist().expect("embedded MNIST"))).clone()
}

pub const HIDDEN: usize = 16;

pub fn options() -> TrainerOptions {
    TrainerOptions {
        spec: ModelSpec { n_hidden: HIDDEN, seed: 3, ..ModelSpec::default() },
        config: TrainingConfig { k: 2, ..TrainingConfig::default() },
        start_running: false,
        chains_running: false,
        publish_interval: Duration::from_millis(10),
        ..TrainerOptions::default()
    }
}

/// The window (1280x800, no frame timing) on a played trainer, set up further by `setup`.
pub fn lab(setup: impl FnOnce(&mut RbmLabApp, &egui::Context) + 'static) -> (Harness<'static, RbmLabApp>, TrainerSide) {
    let (link, side) = rbm_lab::trainer::link();
    let harness = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).build_eframe(move |cc| {
        let mut app = RbmLabApp::from_link(&cc.egui_ctx, mnist(), link, options());
        app.show_frame_timing = false;
        setup(&mut app, &cc.egui_ctx);
        app
    });
    (harness, side)
}

/// A progress report of the played trainer after `samples_seen` samples.
pub fn progress(samples_seen: u64, running: bool) -> Progress {
    Progress {
        running,
        epoch: 0,
        batch_in_epoch: (samples_seen / 64) as usize,
        batches_per_epoch: 938,
        samples_seen,
        samples_per_second: 0.0,
        n_visible: 784,
        n_hidden: HIDDEN,
        dataset: "MNIST".into(),
        config: options().config,
        spec: options().spec,
        threads: 2,
        swap_rates: Vec::new(),
    }
}

/// Weights the window can tell apart from any a trainer would make.
pub fn snapshot(version: u64) -> ModelSnapshot {
    let (nv, nh) = (784, HIDDEN);
    ModelSnapshot {
        labels: None,
        gaussian_visibles: None,
        n_visible: nv,
        n_hidden: nh,
        image_rows: 28,
        image_cols: 28,
        weights: (0..nv * nh).map(|i| ((i * 37 % 101) as f32 - 50.0) * 1e-3).collect(),
        visible_bias: (0..nv).map(|i| (i % 7) as f32 * -0.1).collect(),
        hidden_bias: (0..nh).map(|j| j as f32 * 0.05).collect(),
        epoch_position: 0.25,
        version,
    }
}

/// Feeds updates as the trainer would, then lets the window take them in.
pub fn feed(harness: &mut Harness<'static, RbmLabApp>, side: &TrainerSide, updates: Vec<Update>) {
    for update in updates {
        side.updates.send(update).expect("the window's end is there");
    }
    harness.run_steps(2);
}

/// What the commands the window has sent since the last call were, as short names.
pub fn sent(side: &TrainerSide) -> Vec<String> {
    side.commands
        .try_iter()
        .map(|c| match c {
            Command::Reset(spec) => format!("Reset {}", spec.n_hidden),
            Command::SaveModel(path) => format!("Save {}", path.display()),
            Command::LoadModel(file) => {
                format!("Load {}x{} at {}", file.rbm.n_visible(), file.rbm.n_hidden(), file.metadata.samples_seen)
            }
            Command::SetDataset(d) => format!("Dataset {}", d.name),
            Command::Start => "Start".into(),
            Command::Pause => "Pause".into(),
            Command::Step => "Step".into(),
            Command::SetConfig(_) => "SetConfig".into(),
            Command::Chains(_) => "Chains".into(),
            Command::Shutdown => "Shutdown".into(),
            Command::RequestModelFile => "RequestModelFile".into(),
        })
        .collect()
}

/// Steps frames (a file job or a real trainer answers meanwhile) until `done` holds.
pub fn step_until(harness: &mut Harness<'static, RbmLabApp>, what: &str, done: impl Fn(&RbmLabApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(harness.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what} (notice: {:?})", harness.state().notice());
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A Gaussian–Bernoulli model's snapshot with `n_hidden` hidden units: weights, variances and a
/// standardisation the window can tell apart from any a trainer would make.
pub fn gaussian_snapshot(n_hidden: usize) -> ModelSnapshot {
    let nv = 784;
    ModelSnapshot {
        gaussian_visibles: Some(rbm_lab::io::GaussianVisibles {
            log_variance: (0..nv).map(|i| -0.1 * (i % 6) as f32).collect(),
            standardisation: rbm_lab::model::gaussian::Standardisation {
                mean: (0..nv).map(|i| (i % 9) as f32 * 0.05).collect(),
                scale: (0..nv).map(|i| 0.1 + (i % 4) as f32 * 0.1).collect(),
            },
        }),
        n_hidden,
        weights: (0..nv * n_hidden).map(|i| ((i * 37 % 101) as f32 - 50.0) * 2e-3).collect(),
        hidden_bias: (0..n_hidden).map(|j| j as f32 * -0.05).collect(),
        ..snapshot(1)
    }
}
