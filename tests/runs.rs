//! Runs side by side, through egui_kittest on a window whose trainer the test plays: each Reset
//! starts a new run, the Runs window lists them, shows earlier runs on the loss and likelihood
//! plots, renames and deletes them, and exports and imports them through rbm-lab's file dialog.

mod common;
mod played;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use played::{feed, progress, sent, snapshot, step_until};
use rbm_lab::app::RbmLabApp;
use rbm_lab::app::files::DialogMode;
use rbm_lab::app::runs::export::runs_from_json;
use rbm_lab::trainer::{LossPoint, TrainerSide, Update};

/// The window on a played trainer, with rbm-lab's own file dialog opening in `folder`.
fn lab(folder: &Path) -> (Harness<'static, RbmLabApp>, TrainerSide) {
    let folder = folder.to_path_buf();
    played::lab(move |app, _| {
        app.files.set_mode(DialogMode::Builtin);
        app.files.settings.last_folder = Some(folder);
    })
}

/// Plays a run: its first report, 100 batch losses around `level`, an epoch mean, new weights and
/// a report after 6,400 samples.
fn train(harness: &mut Harness<'static, RbmLabApp>, side: &TrainerSide, level: f32, version: u64) {
    let losses = (0..100).map(|i| LossPoint { epoch: f64::from(i) / 100.0, loss: level - i as f32 * 1e-4 }).collect();
    side.mailboxes.model.put(Arc::new(snapshot(version)));
    feed(
        harness,
        side,
        vec![
            Update::Progress(progress(0, true)),
            Update::Losses(losses),
            Update::EpochFinished { epoch: 0, mean_loss: f64::from(level) },
            Update::Progress(progress(6400, false)),
        ],
    );
}

/// Reset model, Discard at the question, and the trainer's new model.
fn reset(harness: &mut Harness<'static, RbmLabApp>, side: &TrainerSide) {
    harness.get_by_label("Reset model").click();
    harness.run_steps(4);
    harness.get_by_label("Discard").click();
    harness.run_steps(2);
    assert_eq!(sent(side), ["Reset 16"]);
    feed(harness, side, vec![Update::ModelReplaced { description: "new 784x16 model".into(), epoch_position: 0.0 }]);
}

/// Two runs played, and the Runs window opened from the View menu.
fn two_runs(folder: &Path) -> (Harness<'static, RbmLabApp>, TrainerSide) {
    let (mut harness, side) = lab(folder);
    train(&mut harness, &side, 0.30, 1);
    reset(&mut harness, &side);
    train(&mut harness, &side, 0.20, 2);
    harness.get_by_label("View").click();
    harness.run_steps(2);
    harness.get_by_role_and_label(Role::CheckBox, "Runs").click();
    harness.run_steps(2);
    harness.key_press(egui::Key::Escape);
    harness.run_steps(3);
    (harness, side)
}

/// The run names in the table's name fields, top to bottom.
fn table_names(harness: &Harness<'static, RbmLabApp>) -> Vec<String> {
    harness.get_all_by_role(Role::TextInput).filter_map(|node| node.value()).collect()
}

#[test]
fn two_runs_are_listed_and_an_earlier_one_is_overlaid_on_both_plots() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut harness, _side) = two_runs(dir.path());
    assert_eq!(table_names(&harness), ["Run 1", "Run 2"]);
    let app = harness.state();
    let first = &app.runs.earlier()[0].run;
    assert_eq!((first.dataset.as_str(), first.n_hidden, first.samples_seen), ("MNIST", 16, 6400));
    assert_eq!(first.loss.0.len(), 100, "the first run's curve, kept when Reset replaced the model");
    assert!(first.thumbnail.is_some(), "a thumbnail of the first run's filters");
    assert!(!app.loss.drawn_series().contains(&"Run 1".to_string()), "hidden until shown");

    harness.get_by_role_and_label(Role::CheckBox, "show Run 1").click();
    harness.run_steps(3);
    let drawn = harness.state().loss.drawn_series().to_vec();
    assert_eq!(drawn.first().map(String::as_str), Some("Run 1"), "{drawn:?}");
    assert!(drawn.contains(&"batch L1".to_string()), "the current run's own line: {drawn:?}");
    let overlay = &harness.state().loss.overlays[0];
    assert_eq!(overlay.points.len(), 100);
    assert!((overlay.points[0].y - 0.30).abs() < 1e-6, "the first run's losses, not the second's");
    assert_eq!(harness.state().quality.run_overlays.len(), 1, "also on the likelihood plot");

    harness.get_by_role_and_label(Role::CheckBox, "show Run 1").click();
    harness.run_steps(3);
    assert!(!harness.state().loss.drawn_series().contains(&"Run 1".to_string()), "hidden again");
}

#[test]
fn runs_are_renamed_in_the_table_and_only_earlier_ones_deleted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut harness, _side) = two_runs(dir.path());
    harness.get_by_role_and_label(Role::CheckBox, "show Run 1").click();
    harness.run_steps(2);
    let field = harness.get_all_by_role(Role::TextInput).find(|n| n.value().as_deref() == Some("Run 1"));
    let field = field.expect("Run 1's name field");
    field.focus();
    harness.run_steps(2);
    harness.get_all_by_role(Role::TextInput).find(|n| n.is_focused()).expect("focused").type_text(" lr high");
    harness.run_steps(2);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    assert_eq!(table_names(&harness), ["Run 1 lr high", "Run 2"]);
    assert_eq!(harness.state().runs.earlier()[0].run.name, "Run 1 lr high");
    assert_eq!(harness.state().loss.drawn_series().first().map(String::as_str), Some("Run 1 lr high"), "the legend");

    let deletes: Vec<_> = harness.get_all_by_label("Delete").collect();
    assert_eq!(deletes.len(), 2);
    assert!(deletes[1].accesskit_node().is_disabled(), "the current run is protected");
    deletes[0].click();
    harness.run_steps(3);
    assert_eq!(table_names(&harness), ["Run 2"]);
    assert!(harness.state().loss.overlays.is_empty());
}

/// Clicks a button of the Runs window and answers rbm-lab's file dialog with `path`.
fn through_dialog(harness: &mut Harness<'static, RbmLabApp>, button: &str, path: &Path) {
    harness.get_by_label(button).click();
    harness.run_steps(3);
    assert!(harness.state().files.dialog().is_some(), "{button} opens the file dialog");
    harness.get_by_role_and_label(Role::TextInput, "Path").type_text(&path.display().to_string());
    harness.run_steps(2);
    harness.key_press(egui::Key::Enter);
    harness.run_steps(2);
}

fn wait_for_notice(harness: &mut Harness<'static, RbmLabApp>, starts: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        harness.step();
        if let Some(notice) = harness.state().notice().filter(|n| n.text.starts_with(starts)) {
            return notice.text.clone();
        }
        assert!(Instant::now() < deadline, "no notice `{starts}…`: {:?}", harness.state().notice());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn runs_export_as_json_and_csv_import_back_and_a_malformed_file_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut harness, _side) = two_runs(dir.path());
    harness.get_by_label("Select all").click();
    harness.run_steps(2);
    let json = dir.path().join("runs.json");
    through_dialog(&mut harness, "Export selected as JSON…", &json);
    wait_for_notice(&mut harness, &format!("Wrote {}", json.display()));
    let csv = dir.path().join("runs.csv");
    through_dialog(&mut harness, "Export selected as CSV…", &csv);
    wait_for_notice(&mut harness, &format!("Wrote {}", csv.display()));
    let csv = std::fs::read_to_string(&csv).expect("the CSV");
    assert_eq!(csv.lines().count(), 3, "a header and one row per run:\n{csv}");
    assert!(csv.lines().nth(2).is_some_and(|row| row.starts_with("Run 2,MNIST,784x16,")), "{csv}");

    let exported = runs_from_json(&std::fs::read(&json).expect("the JSON")).expect("a runs file");
    assert_eq!(exported.len(), 2);
    assert_eq!(exported[0], harness.state().runs.earlier()[0].run, "everything of the earlier run");
    assert_eq!(exported[1].loss.0.len(), 100, "the current run with its curve as it is now");

    // Malformed files: a clear error, and the table as it was.
    let before: Vec<_> = harness.state().runs.all().cloned().collect();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, &std::fs::read_to_string(&json).expect("text")[..200]).expect("written");
    through_dialog(&mut harness, "Import JSON…", &broken);
    let error = wait_for_notice(&mut harness, &format!("Could not import {}", broken.display()));
    assert!(error.contains("not an rbm-lab runs file") && error.contains("no run was added"), "{error}");
    let edited = dir.path().join("edited.json");
    let text = std::fs::read_to_string(&json).expect("text").replacen("\"epochs\": ", "\"epochs\": -", 1);
    std::fs::write(&edited, text).expect("written");
    through_dialog(&mut harness, "Import JSON…", &edited);
    let error = wait_for_notice(&mut harness, &format!("Could not import {}", edited.display()));
    assert!(error.contains("run 1:") && error.contains("epochs"), "{error}");
    let after: Vec<_> = harness.state().runs.all().cloned().collect();
    assert_eq!(after, before, "nothing changed");

    // The good file: both runs come back as earlier runs, as they were written.
    through_dialog(&mut harness, "Import JSON…", &json);
    wait_for_notice(&mut harness, "Imported 2 runs");
    let runs: Vec<_> = harness.state().runs.earlier().iter().map(|e| e.run.clone()).collect();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1..], exported[..]);
    assert_eq!(table_names(&harness), ["Run 1", "Run 1", "Run 2", "Run 2"]);
    step_until(&mut harness, "no file job left", |app| app.files.in_flight() == 0);
}

/// A Gaussian–Bernoulli model's loss is a squared error, and the loss plot names it so; a binary
/// model's stays the tutorial's L1.
#[test]
fn the_loss_plot_names_a_gaussian_models_loss_as_a_squared_error() {
    let folder = tempfile::tempdir().unwrap();
    let (mut harness, side) = lab(folder.path());
    train(&mut harness, &side, 0.3, 1);
    harness.run_steps(2);
    assert_eq!(harness.state().loss.drawn_series().last().map(String::as_str), Some("batch L1"));
    let mut gaussian = progress(6400, false);
    gaussian.spec.visible = rbm_lab::model::VisibleType::Gaussian;
    feed(&mut harness, &side, vec![Update::Progress(gaussian)]);
    harness.run_steps(2);
    assert_eq!(harness.state().loss.drawn_series().last().map(String::as_str), Some("batch squared error"));
}

#[test]
fn a_dataset_switch_ends_the_run_and_the_plots_start_the_new_one_empty() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut harness, side) = lab(dir.path());
    train(&mut harness, &side, 0.30, 1);
    assert_eq!(harness.state().loss.history.batch_points().len(), 100);
    // A dataset of the same image size: the trainer keeps the model and reports the new name.
    let mut switched = progress(6400, true);
    switched.dataset = "Fashion-MNIST".into();
    feed(&mut harness, &side, vec![Update::Progress(switched)]);
    let app = harness.state();
    assert_eq!(app.runs.earlier().len(), 1, "the MNIST run ended");
    let first = &app.runs.earlier()[0].run;
    assert_eq!((first.dataset.as_str(), first.loss.0.len()), ("MNIST", 100), "it keeps its own curve");
    assert!(app.loss.history.batch_points().is_empty(), "the new run's plot starts empty");
    assert!(app.loss.history.epoch_means().is_empty());

    let losses = (0..10).map(|i| LossPoint { epoch: 1.0 + f64::from(i) / 100.0, loss: 0.5 }).collect();
    feed(&mut harness, &side, vec![Update::Losses(losses)]);
    let points = harness.state().loss.history.batch_points();
    assert_eq!(points.len(), 10, "only the Fashion-MNIST run's losses");
    assert!(points.iter().all(|p| (p.y - 0.5).abs() < 1e-6));
}
