//! The window driven through egui_kittest: real views, a real trainer thread, rendered with wgpu
//! (Mesa lavapipe in CI) for the snapshot.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use rbm_lab::app::RbmLabApp;
use rbm_lab::data::Dataset;
use rbm_lab::model::{ModelSpec, TrainingConfig};
use rbm_lab::quality::{BINARISATION_SEED, binarised_subset};
use rbm_lab::trainer::{ModelSnapshot, TrainerOptions};

fn mnist() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| Arc::new(Dataset::embedded_mnist().expect("embedded MNIST"))).clone()
}

fn harness(options: TrainerOptions) -> Harness<'static, RbmLabApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| RbmLabApp::new(&cc.egui_ctx, mnist(), options).expect("trainer thread"))
}

fn paused_options() -> TrainerOptions {
    TrainerOptions {
        spec: ModelSpec { n_hidden: 64, seed: 3, ..ModelSpec::default() },
        config: TrainingConfig { k: 2, ..TrainingConfig::default() },
        start_running: false,
        chains_running: false,
        publish_interval: Duration::from_millis(10),
        ..TrainerOptions::default()
    }
}

/// Steps frames (the trainer runs in real time beside them) until `done` holds.
fn step_until(harness: &mut Harness<'static, RbmLabApp>, what: &str, done: impl Fn(&RbmLabApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(harness.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn pressing_start_makes_the_trainer_run() {
    let mut harness = harness(paused_options());
    step_until(&mut harness, "first progress", |app| app.progress().is_some());
    assert!(!harness.state().progress().unwrap().running);
    harness.get_by_label("Start").click();
    step_until(&mut harness, "training to run", |app| app.progress().is_some_and(|p| p.running && p.samples_seen > 0));
    harness.run_steps(2);
    harness.get_by_label("Pause").click();
    step_until(&mut harness, "training to pause", |app| app.progress().is_some_and(|p| !p.running));
}

#[test]
fn learning_rate_slider_sends_the_new_value() {
    let mut harness = harness(paused_options());
    step_until(&mut harness, "first progress", |app| app.progress().is_some());
    harness.get_by_role_and_label(Role::Slider, "learning rate").set_value_accesskit(0.02);
    step_until(&mut harness, "the trainer to adopt lr 0.02", |app| {
        app.progress().is_some_and(|p| (p.config.learning_rate - 0.02).abs() < 1e-6)
    });
    // The change is marked on the loss plot.
    assert_eq!(harness.state().loss.history.markers().len(), 1);
    harness.get_by_role_and_label(Role::Slider, "CD-k").set_value_accesskit(5.0);
    step_until(&mut harness, "the trainer to adopt k 5", |app| app.progress().is_some_and(|p| p.config.k == 5));
}

#[test]
fn filters_and_chains_render() {
    let mut harness = harness(TrainerOptions { chains_running: true, ..paused_options() });
    step_until(&mut harness, "filters and chains", |app| {
        app.filters.snapshot().is_some() && app.chains.snapshot().is_some_and(|c| c.steps > 0)
    });
    harness.run_steps(2);
    assert!(harness.state().filters.has_texture() && harness.state().chains.has_texture());
    harness.get_by_label("Filters (64 hidden units)");
    harness.get_by_label("Global contrast").click();
    harness.run_steps(2);
    assert_eq!(harness.state().filters.contrast, rbm_lab::images::Contrast::Global);
}

#[test]
fn toy_tab_opens() {
    let mut harness = harness(paused_options());
    harness.get_by_label("Toy RBM (5 units)").click();
    harness.run_steps(3);
    assert_eq!(harness.state().tab, rbm_lab::app::Tab::Toy);
}

#[test]
fn view_menu_switches_the_light_look() {
    let mut harness = harness(paused_options());
    let ctx = harness.ctx.clone();
    assert!(!rbm_lab::app::look::is_light_look(&ctx), "egui's look is the default without a software renderer");
    for expected in [true, false] {
        harness.get_by_label("View").click();
        harness.run_steps(2);
        harness.get_by_role_and_label(Role::CheckBox, "Light look").click();
        harness.run_steps(2);
        assert_eq!(rbm_lab::app::look::is_light_look(&ctx), expected);
        assert_eq!(ctx.global_style().visuals.popup_shadow == egui::Shadow::NONE, expected);
        harness.key_press(egui::Key::Escape);
        harness.run_steps(2);
    }
}

#[test]
fn the_frame_rate_setting_changes_the_requested_repaint_interval() {
    // The test plays the trainer: nothing publishes but the test, through the app's waker.
    let (link, _trainer_side) = rbm_lab::trainer::link();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| RbmLabApp::from_link(&cc.egui_ctx, mnist(), link, paused_options()));
    let delays = Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));
    let seen = delays.clone();
    harness.ctx.set_repaint_observer(move |info| seen.lock().unwrap_or_else(|e| e.into_inner()).push(info.delay));
    for fps in [5u32, 60, 15] {
        harness.get_by_label("View").click();
        harness.run_steps(2);
        harness.get_by_label("Frame rate while training").hover();
        harness.run_steps(2);
        harness.get_by_role_and_label(Role::RadioButton, &format!("{fps} frames/s")).click();
        harness.run_steps(2);
        harness.key_press(egui::Key::Escape);
        harness.run_steps(2);
        assert_eq!(harness.state().frame_rate.frames_per_second(), fps);
        // A frame begins, then the trainer publishes: the next frame is asked for one interval
        // after this one began (less the moments in between, and never sooner than 1 ms).
        harness.step();
        let waker = harness.state().frame_rate.waker();
        delays.lock().unwrap_or_else(|e| e.into_inner()).clear();
        waker();
        waker();
        let asked = delays.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let interval = Duration::from_secs(1) / fps;
        assert_eq!(asked.len(), 1, "one request for the next frame, at {fps} frames/s: {asked:?}");
        assert!(
            asked[0] <= interval && asked[0] > interval.saturating_sub(Duration::from_millis(50)).max(Duration::ZERO),
            "at {fps} frames/s the window asked for a repaint after {:?}",
            asked[0]
        );
    }
}

#[test]
fn main_window_snapshot() {
    let mut harness = harness(TrainerOptions {
        spec: ModelSpec { n_hidden: 256, seed: 0, ..ModelSpec::default() },
        ..paused_options()
    });
    harness.state_mut().show_frame_timing = false;
    step_until(&mut harness, "filters and chains", |app| {
        app.filters.snapshot().is_some() && app.chains.snapshot().is_some() && app.progress().is_some()
    });
    harness.run_steps(3);
    harness.snapshot("main_window");
}

/// Steps frames until no repaint has been asked for over `quiet` (the trainer's publications ask
/// for one each), failing after 20 s.
fn wait_for_quiet(harness: &mut Harness<'static, RbmLabApp>, quiet: Duration) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut quiet_since: Option<Instant> = None;
    loop {
        harness.step();
        if harness.ctx.has_requested_repaint() {
            quiet_since = None;
        } else if quiet_since.get_or_insert_with(Instant::now).elapsed() >= quiet {
            return;
        }
        assert!(Instant::now() < deadline, "the window never stopped requesting repaints");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_idle_window_stops_repainting() {
    // Paused trainer, paused chains: once the first updates are in, nothing should ask for frames
    // (a window left open must not spin a core).
    let mut harness = harness(paused_options());
    step_until(&mut harness, "first updates", |app| {
        app.progress().is_some() && app.filters.snapshot().is_some() && app.chains.snapshot().is_some()
    });
    wait_for_quiet(&mut harness, Duration::from_millis(200));
    assert!(harness.try_run().is_ok(), "the idle window keeps requesting repaints");
    // Over the next second the idle trainer publishes nothing that would wake the window.
    std::thread::sleep(Duration::from_millis(1000));
    let woken = harness.state().trainer().updates().count();
    assert_eq!(woken, 0, "an idle trainer sent {woken} updates");
    assert!(!harness.ctx.has_requested_repaint(), "a repaint was requested while idle");
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

/// The exact average log-likelihood of binary `images` (rows of V) under the model in `s`, worked
/// out here from the definition: log Z by summing over all 2^H hidden states,
///   log Z = log Σ_h exp(b_h·h + Σ_i softplus(b_v,i + W_i·h)),
/// and log p(v) = b_v·v + Σ_j softplus(b_h,j + v·W_j) − log Z.
fn exact_log_likelihood(s: &ModelSnapshot, images: &[f32], rows: usize) -> f64 {
    let (nv, nh) = (s.n_visible, s.n_hidden);
    let w = |i: usize, j: usize| s.weights[i * nh + j] as f64;
    let terms: Vec<f64> = (0..1usize << nh)
        .map(|state| {
            let on: Vec<usize> = (0..nh).filter(|j| state >> j & 1 == 1).collect();
            let hidden: f64 = on.iter().map(|&j| s.hidden_bias[j] as f64).sum();
            let visible: f64 =
                (0..nv).map(|i| softplus(s.visible_bias[i] as f64 + on.iter().map(|&j| w(i, j)).sum::<f64>())).sum();
            hidden + visible
        })
        .collect();
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_z = top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln();
    let total: f64 = images
        .chunks_exact(nv)
        .take(rows)
        .map(|v| {
            let bias: f64 = (0..nv).map(|i| s.visible_bias[i] as f64 * v[i] as f64).sum();
            let hidden: f64 = (0..nh)
                .map(|j| softplus(s.hidden_bias[j] as f64 + (0..nv).map(|i| v[i] as f64 * w(i, j)).sum::<f64>()))
                .sum();
            bias + hidden - log_z
        })
        .sum();
    total / rows as f64
}

#[test]
fn quality_tab_evaluates_the_model_and_shows_monitors() {
    // 16 hidden units: log Z is exact (enumeration), so the evaluation takes a moment.
    let mut harness = harness(TrainerOptions {
        spec: ModelSpec { n_hidden: 16, seed: 5, ..ModelSpec::default() },
        ..paused_options()
    });
    harness.get_by_label("Quality (log-likelihood)").click();
    step_until(&mut harness, "a weights snapshot", |app| app.filters.snapshot().is_some());
    // The trainer is paused: the model evaluated is this one.
    let evaluated = harness.state().filters.snapshot().cloned().expect("snapshot");
    harness.get_by_label("Evaluate now").click();
    step_until(&mut harness, "the evaluation", |app| !app.quality.evaluations.is_empty());
    let e = harness.state().quality.evaluations[0].clone();
    assert!(e.exact, "16 hidden units are enumerated exactly");
    // The standard protocol's binarised images: the 10,000 test images and 10,000 training ones.
    let dataset = mnist();
    let (test, test_rows) = binarised_subset(&dataset.test, 10_000, BINARISATION_SEED);
    let (train, train_rows) = binarised_subset(&dataset.train, 10_000, BINARISATION_SEED ^ 1);
    let expected_test = exact_log_likelihood(&evaluated, &test, test_rows);
    let expected_train = exact_log_likelihood(&evaluated, &train, train_rows);
    assert_eq!((e.images, e.epoch), (10_000, evaluated.epoch_position));
    assert!((e.test_log_likelihood - expected_test).abs() < 1e-3, "{} vs exact {expected_test}", e.test_log_likelihood);
    assert!(
        (e.train_log_likelihood - expected_train).abs() < 1e-3,
        "{} vs exact {expected_train}",
        e.train_log_likelihood
    );
    // Training a quarter epoch produces the first monitor point.
    harness.get_by_label("Start").click();
    step_until(&mut harness, "a monitor point", |app| !app.quality.monitors.is_empty());
    let m = harness.state().quality.monitors[0];
    assert!(m.pseudo_likelihood < 0.0 && m.update_ratio > 0.0, "{m:?}");
}

/// Writes four small, valid IDX files (`train` and `test` images of `side`x`side` pixels, not
/// MNIST's size) into `dir`.
fn write_small_idx_folder(dir: &std::path::Path, train: usize, test: usize, side: usize) {
    for (prefix, count) in [("train", train), ("t10k", test)] {
        let pixels: Vec<u8> = (0..count * side * side).map(|i| (i * 37 % 256) as u8).collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        common::write_idx(&dir.join(format!("{prefix}-images-idx3-ubyte")), 0x803, &[count, side, side], &pixels);
        common::write_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte")), 0x801, &[count], &labels);
    }
}

/// Opens File > Dataset.
fn open_dataset_menu(harness: &mut Harness<'static, RbmLabApp>) {
    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label("Dataset").hover();
    harness.run_steps(3);
}

/// The titles the window has been given in the last frame.
fn titles_sent(harness: &Harness<'static, RbmLabApp>) -> Vec<String> {
    harness
        .output()
        .viewport_output
        .values()
        .flat_map(|v| &v.commands)
        .filter_map(|c| match c {
            egui::ViewportCommand::Title(title) => Some(title.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_dataset_menu_greys_out_fashion_mnist_until_its_files_are_there() {
    let empty = tempfile::tempdir().expect("temp dir");
    let mut harness = harness(paused_options());
    harness.state_mut().menu.fashion_mnist_dir = empty.path().to_path_buf();
    open_dataset_menu(&mut harness);
    assert!(harness.get_by_label("Fashion-MNIST").accesskit_node().is_disabled(), "no files: greyed out");
    assert!(!harness.get_by_label("MNIST (built in)").accesskit_node().is_disabled());
    harness.get_by_label("Open folder…");
    // The package is installed meanwhile: the open menu shows it at once.
    write_small_idx_folder(empty.path(), 128, 20, 8);
    harness.run_steps(2);
    assert!(!harness.get_by_label("Fashion-MNIST").accesskit_node().is_disabled(), "files there: enabled");
}

#[test]
fn choosing_fashion_mnist_names_it_in_the_tab_the_status_bar_and_the_window_title() {
    let folder = tempfile::tempdir().expect("temp dir");
    write_small_idx_folder(folder.path(), 128, 20, 8);
    let mut harness = harness(paused_options());
    harness.state_mut().menu.fashion_mnist_dir = folder.path().to_path_buf();
    step_until(&mut harness, "first progress", |app| app.progress().is_some());
    harness.run_steps(1);
    harness.get_by_label("MNIST training");
    harness.get_by_label("dataset: MNIST");
    assert_eq!(harness.state().window_title(), "rbm-lab — MNIST");

    // One batch trained: switching to 8x8 images replaces the model, so the question comes first.
    harness.get_by_label("Step").click();
    step_until(&mut harness, "one batch", |app| app.unsaved_samples() > 0);
    open_dataset_menu(&mut harness);
    harness.get_by_label("Fashion-MNIST").click();
    step_until(&mut harness, "the question", |app| app.confirmation().is_some());
    harness.run_steps(2);
    harness.get_by_label_contains("Switching to Fashion-MNIST (8x8 images)");
    harness.get_by_label("Discard").click();

    let mut titles = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !harness.state().progress().is_some_and(|p| p.dataset == "Fashion-MNIST" && p.n_visible == 64) {
        assert!(Instant::now() < deadline, "the trainer never took Fashion-MNIST");
        harness.step();
        titles.extend(titles_sent(&harness));
        std::thread::sleep(Duration::from_millis(5));
    }
    harness.step();
    titles.extend(titles_sent(&harness));
    harness.get_by_label("Fashion-MNIST training");
    harness.get_by_label("dataset: Fashion-MNIST");
    assert!(harness.query_by_label("MNIST training").is_none());
    assert_eq!(titles.last().map(String::as_str), Some("rbm-lab — Fashion-MNIST"), "titles sent: {titles:?}");
    // A known dataset's folder has its own entry: it is not added to the recent folders.
    assert!(harness.state().menu.recent.folders().is_empty());
}

#[test]
fn a_folder_opened_is_offered_again_and_dropped_once_it_no_longer_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("tiny-set");
    std::fs::create_dir(&folder).expect("mkdir");
    write_small_idx_folder(&folder, 128, 20, 8);
    let mut harness = harness(paused_options());
    harness.state_mut().menu.fashion_mnist_dir = dir.path().join("not-installed");
    let folder = folder.canonicalize().expect("exists");
    // The menu shows the path itself (it is short enough not to be cut).
    let entry = folder.display().to_string();
    harness.state_mut().menu.recent.add(folder.clone());
    step_until(&mut harness, "first progress", |app| app.progress().is_some());
    open_dataset_menu(&mut harness);
    harness.get_by_label(&entry).click();
    step_until(&mut harness, "the trainer to take the folder", |app| {
        app.progress().is_some_and(|p| p.dataset == "tiny-set")
    });
    harness.run_steps(1);
    harness.get_by_label("tiny-set training");

    // The folder's files go away: choosing it says why and drops it from the list.
    std::fs::remove_file(folder.join("train-images-idx3-ubyte")).expect("remove");
    open_dataset_menu(&mut harness);
    harness.get_by_label(&entry).click();
    step_until(&mut harness, "the error", |app| app.notice().is_some_and(|n| n.is_error));
    let notice = harness.state().notice().map(|n| n.text.clone()).unwrap_or_default();
    assert!(notice.contains("removed from the recent folders"), "{notice}");
    assert!(harness.state().menu.recent.folders().is_empty());
    assert_eq!(harness.state().dataset_name(), "tiny-set", "training goes on with what it had");
}
