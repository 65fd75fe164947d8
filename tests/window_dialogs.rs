//! The window's file dialog, its question before replacing a model with unsaved training, and
//! its banner for a dead trainer, through egui_kittest. No trainer thread: the test plays the
//! trainer through a `TrainerSide`, reading the commands the window sends and feeding it updates
//! and weights (one test restarts a real trainer from the banner).

mod common;
mod played;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use played::{feed, gaussian_snapshot, progress, sent, snapshot, step_until};
use rbm_lab::app::RbmLabApp;
use rbm_lab::app::files::DialogMode;
use rbm_lab::io::ModelFileError;
use rbm_lab::trainer::{ModelSnapshot, TrainerError, TrainerSide, Update};

/// The window on a played trainer, with rbm-lab's own file dialog opening in `folder`.
fn lab(folder: &Path) -> (Harness<'static, RbmLabApp>, TrainerSide) {
    let folder = folder.to_path_buf();
    played::lab(move |app, _| {
        app.files.set_mode(DialogMode::Builtin);
        app.files.settings.last_folder = Some(folder);
    })
}

/// Steps frames until the window has sent a command named like `expected` (file jobs answer
/// from their own threads).
fn wait_for_command(harness: &mut Harness<'static, RbmLabApp>, side: &TrainerSide, expected: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        harness.step();
        seen.extend(sent(side));
        if seen.iter().any(|c| c == expected) {
            return seen;
        }
        assert!(Instant::now() < deadline, "no `{expected}` command; sent: {seen:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The window on a played trainer that has sent one progress report and `snapshot(7)`'s weights.
fn lab_with_weights() -> (tempfile::TempDir, Harness<'static, RbmLabApp>, TrainerSide, ModelSnapshot) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut harness, side) = lab(dir.path());
    let weights = snapshot(7);
    side.mailboxes.model.put(Arc::new(weights.clone()));
    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    (dir, harness, side, weights)
}

fn open_file_menu_item(harness: &mut Harness<'static, RbmLabApp>, item: &str) {
    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label(item).click();
    harness.run_steps(3);
}

/// Types `path` into the dialog's path field (its text is selected when the dialog opens or
/// changes folder, so typing replaces it) and presses Enter.
fn type_path_and_enter(harness: &mut Harness<'static, RbmLabApp>, path: &Path) {
    harness.get_by_role_and_label(Role::TextInput, "Path").type_text(&path.display().to_string());
    harness.run_steps(2);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
}

fn entry_names(harness: &Harness<'static, RbmLabApp>) -> Vec<String> {
    let dialog = harness.state().files.dialog().expect("the in-window dialog is open");
    dialog.listing().entries.iter().map(|e| e.name.clone()).collect()
}

#[test]
fn the_file_dialog_lists_filters_enters_folders_and_asks_before_overwriting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for folder in ["models", "zeta"] {
        std::fs::create_dir(root.join(folder)).expect("mkdir");
    }
    for file in ["a.safetensors", "B.SAFETENSORS", "notes.txt", ".hidden.safetensors", "models/inner.safetensors"] {
        std::fs::write(root.join(file), b"not really a model").expect("write");
    }
    let (mut harness, side) = lab(root);
    harness.run_steps(2);

    open_file_menu_item(&mut harness, "Save model…");
    assert_eq!(harness.state().files.dialog().map(|d| d.folder().to_path_buf()), Some(root.to_path_buf()));
    // Folders first, then the files of the requested type; other files and hidden ones are left out.
    assert_eq!(entry_names(&harness), ["models", "zeta", "a.safetensors", "B.SAFETENSORS"]);
    harness.get_by_label("a.safetensors");
    assert!(harness.query_by_label("notes.txt").is_none());
    assert!(harness.query_by_label_contains("1 other file not shown").is_some());

    // A click on a folder enters it; the parent button comes back.
    harness.get_by_label("models").click();
    harness.run_steps(2);
    assert_eq!(harness.state().files.dialog().map(|d| d.folder().to_path_buf()), Some(root.join("models")));
    assert_eq!(entry_names(&harness), ["inner.safetensors"]);
    harness.get_by_label("Parent folder").click();
    harness.run_steps(2);
    assert_eq!(harness.state().files.dialog().map(|d| d.folder().to_path_buf()), Some(root.to_path_buf()));

    // An existing file: asked first, and nothing is saved until the answer.
    harness.get_by_label("a.safetensors").click();
    harness.run_steps(2);
    harness.get_by_label("Save").click();
    harness.run_steps(2);
    let existing = root.join("a.safetensors");
    assert_eq!(harness.state().files.dialog().and_then(|d| d.confirming_overwrite()), Some(existing.as_path()));
    harness.get_by_label_contains("already exists in this folder");
    harness.run_steps(2);
    assert!(sent(&side).is_empty());
    harness.get_by_label("Replace").click();
    harness.run_steps(2);
    assert!(harness.state().files.dialog().is_none(), "the dialog closes once answered");
    wait_for_command(&mut harness, &side, &format!("Save {}", existing.display()));

    // A full path typed in and Enter; a name without extension gets the model extension.
    open_file_menu_item(&mut harness, "Save model…");
    type_path_and_enter(&mut harness, &root.join("zeta/new-model"));
    wait_for_command(&mut harness, &side, &format!("Save {}", root.join("zeta/new-model.safetensors").display()));

    // Escape closes the dialog and nothing happens.
    open_file_menu_item(&mut harness, "Load model…");
    assert!(harness.state().files.dialog().is_some());
    harness.key_press(egui::Key::Escape);
    harness.run_steps(3);
    assert!(harness.state().files.dialog().is_none());
    assert!(sent(&side).is_empty());
}

#[test]
fn the_file_dialog_says_what_is_wrong_with_a_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("plain"), b"x").expect("write");
    let (mut harness, side) = lab(dir.path());
    harness.run_steps(2);
    open_file_menu_item(&mut harness, "Load model…");
    type_path_and_enter(&mut harness, &dir.path().join("missing.safetensors"));
    harness.get_by_label_contains("There is no file");
    open_dataset_error(&mut harness, &dir.path().join("plain"), "is not a folder");
    open_dataset_error(&mut harness, &dir.path().join("nowhere"), "does not exist");
    assert!(sent(&side).is_empty());
}

/// Opens File > Dataset > Open folder… and answers its dialog with `path`.
fn open_dataset_folder(harness: &mut Harness<'static, RbmLabApp>, path: &Path) {
    harness.get_by_label("File").click();
    harness.run_steps(2);
    harness.get_by_label("Dataset").hover();
    harness.run_steps(3);
    harness.get_by_label("Open folder…").click();
    harness.run_steps(3);
    type_path_and_enter(harness, path);
}

/// Opens File > Dataset > Open folder…, types `path`, and expects an error containing `message`.
fn open_dataset_error(harness: &mut Harness<'static, RbmLabApp>, path: &Path, message: &str) {
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    open_dataset_folder(harness, path);
    let error = harness.state().files.dialog().and_then(|d| d.error().map(str::to_string));
    assert!(error.as_deref().is_some_and(|e| e.contains(message)), "{error:?}");
}

#[test]
fn reset_asks_first_only_when_training_is_unsaved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut harness, side) = lab(dir.path());
    feed(&mut harness, &side, vec![Update::Progress(progress(0, false))]);

    // Nothing trained: Reset goes straight through.
    harness.get_by_label("Reset model").click();
    harness.run_steps(4);
    assert!(harness.state().confirmation().is_none());
    assert_eq!(sent(&side), ["Reset 16"]);

    // Trained since: the question, and Cancel keeps the model.
    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    assert_eq!(harness.state().unsaved_samples(), 640);
    harness.get_by_label("Reset model").click();
    harness.run_steps(4);
    harness.get_by_label("Unsaved training");
    harness.get_by_label_contains("trained on 640 images");
    assert!(sent(&side).is_empty(), "nothing is reset before the answer");
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    assert!(harness.state().confirmation().is_none());
    assert!(sent(&side).is_empty());

    // Discard goes on without saving.
    harness.get_by_label("Reset model").click();
    harness.run_steps(4);
    harness.get_by_label("Discard").click();
    harness.run_steps(2);
    assert_eq!(sent(&side), ["Reset 16"]);
    feed(
        &mut harness,
        &side,
        vec![
            Update::ModelReplaced { description: "new 784x16 model".into(), epoch_position: 0.0 },
            Update::Progress(progress(0, false)),
        ],
    );
    assert_eq!(harness.state().unsaved_samples(), 0);

    // Save first: the save dialog, the save, and only then the reset.
    feed(&mut harness, &side, vec![Update::Progress(progress(1280, false))]);
    harness.get_by_label("Reset model").click();
    harness.run_steps(4);
    harness.get_by_label("Save first…").click();
    harness.run_steps(3);
    assert!(harness.state().files.dialog().is_some(), "Save first opens the save dialog");
    let path = dir.path().join("before-reset.safetensors");
    type_path_and_enter(&mut harness, &path);
    let commands = wait_for_command(&mut harness, &side, &format!("Save {}", path.display()));
    assert!(!commands.iter().any(|c| c.starts_with("Reset")), "reset before the save finished: {commands:?}");
    feed(&mut harness, &side, vec![Update::Saved(path.clone())]);
    assert_eq!(sent(&side), ["Reset 16"]);
    assert!(harness.state().confirmation().is_none());

    // A failed save leaves the model alone.
    feed(&mut harness, &side, vec![Update::Progress(progress(1344, false))]);
    harness.get_by_label("Reset model").click();
    harness.run_steps(4);
    harness.get_by_label("Save first…").click();
    harness.run_steps(3);
    // (The played trainer wrote nothing, so the same path is new again.)
    type_path_and_enter(&mut harness, &path);
    wait_for_command(&mut harness, &side, &format!("Save {}", path.display()));
    let disk_full = ModelFileError::Io { path: path.clone(), source: std::io::Error::other("disk full") };
    let failed = TrainerError::SaveFailed { path: path.clone(), source: Arc::new(disk_full) };
    feed(&mut harness, &side, vec![Update::Error(failed)]);
    assert!(sent(&side).is_empty());
    assert!(harness.state().confirmation().is_none());
    let notice = harness.state().notice().map(|n| n.text.clone()).unwrap_or_default();
    assert!(notice.contains("not replaced"), "{notice}");
}

#[test]
fn a_dead_trainer_is_shown_and_its_last_weights_can_be_saved() {
    let (dir, mut harness, side, weights) = lab_with_weights();
    assert!(harness.state().trainer_stopped().is_none());
    assert!(!harness.get_by_label("Start").accesskit_node().is_disabled());

    // The trainer goes away without a word (its end of the link is dropped).
    drop(side);
    harness.run_steps(2);
    let banner = "Training stopped unexpectedly: the trainer thread ended without saying why";
    harness.get_by_label(banner);
    assert!(harness.get_by_label("Start").accesskit_node().is_disabled());
    assert!(harness.get_by_label("Step").accesskit_node().is_disabled());
    assert!(harness.get_by_label("Reset model").accesskit_node().is_disabled());

    // Its last weights go to a model file through the normal Save model… path.
    harness.get_by_label("Save last weights…").click();
    harness.run_steps(3);
    let path = dir.path().join("rescued.safetensors");
    type_path_and_enter(&mut harness, &path);
    step_until(&mut harness, "the save", |app| app.notice().is_some_and(|n| n.text.starts_with("Saved")));
    let file = rbm_lab::io::load_model(&path).expect("a loadable model file");
    assert_eq!(file.rbm.weights_slice(), weights.weights.as_slice());
    assert_eq!(file.rbm.visible_bias().to_vec(), weights.visible_bias);
    assert_eq!(file.rbm.hidden_bias().to_vec(), weights.hidden_bias);
    assert_eq!(file.metadata.epochs_trained, 0.25);
    assert_eq!(file.metadata.samples_seen, 640);
    assert_eq!(harness.state().unsaved_samples(), 0, "saved now");
}

/// A dead trainer's Gaussian–Bernoulli model is saved as one, with the variances and the
/// standardisation the window last received, and loads back as that model.
#[test]
fn a_dead_trainers_gaussian_model_is_saved_with_its_variances() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut harness, side) = lab(dir.path());
    let weights = gaussian_snapshot(8);
    side.mailboxes.model.put(Arc::new(weights.clone()));
    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    drop(side);
    harness.run_steps(2);
    harness.get_by_label("Save last weights…").click();
    harness.run_steps(3);
    let path = dir.path().join("rescued-gaussian.safetensors");
    type_path_and_enter(&mut harness, &path);
    step_until(&mut harness, "the save", |app| app.notice().is_some_and(|n| n.text.starts_with("Saved")));
    let file = rbm_lab::io::load_model(&path).expect("a loadable model file");
    assert_eq!(file.metadata.spec.visible, rbm_lab::model::VisibleType::Gaussian);
    assert_eq!(file.metadata.spec.n_hidden, 8);
    assert_eq!(file.rbm.weights_slice(), weights.weights.as_slice());
    let (saved, sent) = (file.gaussian.expect("the variances"), weights.gaussian_visibles.expect("sent"));
    assert_eq!(saved.log_variance, sent.log_variance);
    assert_eq!(saved.standardisation.mean, sent.standardisation.mean);
    assert_eq!(saved.standardisation.scale, sent.standardisation.scale);
}

#[test]
fn a_trainer_that_panicked_is_named_and_can_be_restarted_from_the_last_weights() {
    let (_dir, mut harness, side, weights) = lab_with_weights();
    feed(&mut harness, &side, vec![Update::TrainerStopped("index out of bounds in the trainer".into())]);
    drop(side);
    harness.run_steps(2);
    harness.get_by_label("Training stopped unexpectedly: index out of bounds in the trainer");

    // Restart: a real trainer thread, paused, with the weights the window held.
    harness.get_by_label("Restart trainer").click();
    harness.run_steps(2);
    assert!(harness.state().trainer_stopped().is_none());
    assert!(!harness.get_by_label("Start").accesskit_node().is_disabled());
    step_until(&mut harness, "the restarted trainer to take the weights", |app| {
        let restarted = app.filters.snapshot().filter(|s| s.version != 7).is_some_and(|s| s.weights == weights.weights);
        restarted && app.notice().is_some_and(|n| n.text.starts_with("Model: loaded 784x16"))
    });
    assert!(harness.state().trainer().is_alive());
    assert_eq!(harness.state().unsaved_samples(), 640, "restarting saves nothing");
    assert!(harness.state().progress().is_some_and(|p| !p.running));
}

/// A dataset the trainer refuses leaves the window on the dataset it had: the window switches
/// its own only for the trainer's answer, and puts the old one back on a refusal.
#[test]
fn a_dataset_the_trainer_refuses_leaves_the_window_on_the_one_it_had() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("tiny-set");
    std::fs::create_dir(&folder).expect("mkdir");
    common::write_idx_folder(&folder, 60, 12);
    let (mut harness, side) = lab(dir.path());
    feed(&mut harness, &side, vec![Update::Progress(progress(0, false))]);
    assert_eq!(harness.state().dataset().name, "MNIST");

    open_dataset_folder(&mut harness, &folder);
    wait_for_command(&mut harness, &side, "Dataset tiny-set");

    let refusal = TrainerError::DatasetRefused {
        dataset: "tiny-set".into(),
        current: "MNIST".into(),
        source: rbm_lab::model::ConfigError::Hidden(0),
    };
    feed(&mut harness, &side, vec![Update::Error(refusal)]);
    assert_eq!(harness.state().dataset().name, "MNIST", "the refused dataset stayed the window's");
}
