//! The run history: recording, keeping, importing and the checks on runs read back.

use std::time::Instant;

use super::*;
use crate::app::loss_plot::LossHistory;
use crate::trainer::{LossPoint, ModelSnapshot, Progress};

fn progress(samples_seen: u64, dataset: &str, running: bool) -> Progress {
    Progress {
        running,
        epoch: 0,
        batch_in_epoch: (samples_seen / 64) as usize,
        batches_per_epoch: 100,
        samples_seen,
        samples_per_second: 0.0,
        n_visible: 784,
        n_hidden: 16,
        dataset: dataset.into(),
        config: TrainingConfig::default(),
        spec: ModelSpec { n_hidden: 16, ..ModelSpec::default() },
        threads: 1,
        swap_rates: Vec::new(),
    }
}

fn snapshot(n_hidden: usize, rows: usize, cols: usize) -> ModelSnapshot {
    let n_visible = rows * cols;
    ModelSnapshot {
        n_visible,
        n_hidden,
        image_rows: rows,
        image_cols: cols,
        weights: (0..n_visible * n_hidden).map(|i| (i % 97) as f32 * 0.01 - 0.4).collect(),
        visible_bias: vec![0.0; n_visible],
        hidden_bias: vec![0.0; n_hidden],
        epoch_position: 1.0,
        version: 1,
        labels: None,
        gaussian_visibles: None,
    }
}

fn trained_history() -> (RunHistory, LossHistory) {
    let mut runs = RunHistory::default();
    let now = Instant::now();
    assert!(!runs.observe(&progress(0, "MNIST", true), now));
    let mut loss = LossHistory::default();
    for i in 0..5000 {
        loss.push(LossPoint { epoch: i as f64 / 1000.0, loss: 0.3 });
    }
    assert!(!runs.observe(&progress(6400, "MNIST", true), now + std::time::Duration::from_secs(3)));
    (runs, loss)
}

#[test]
fn a_run_that_trained_is_kept_thinned_with_its_thumbnail_and_time() {
    let (mut runs, loss) = trained_history();
    assert!(runs.has_trained());
    let dropped =
        runs.start_new(&loss, &[], Some(&snapshot(16, 28, 28)), ModelSpec::default(), TrainingConfig::default());
    assert_eq!(dropped, None);
    assert_eq!(runs.earlier().len(), 1);
    let kept = &runs.earlier()[0].run;
    assert_eq!(kept.name, "Run 1");
    assert_eq!(kept.dataset, "MNIST");
    assert!(kept.loss.0.len() <= MAX_RUN_LOSS_POINTS && kept.loss.0.len() > MAX_RUN_LOSS_POINTS / 2);
    assert!(kept.loss.0.iter().all(|p| (p[1] - 0.3).abs() < 1e-6), "thinning keeps the mean");
    assert!((kept.training_seconds - 3.0).abs() < 1e-9);
    let thumb = kept.thumbnail.as_ref().expect("a thumbnail");
    assert_eq!((thumb.width, thumb.height), (8 * 15 + 1, 2 * 15 + 1), "16 filters of 14x14 in 8 columns");
    assert_eq!(runs.current().run.name, "Run 2");
    assert!(kept.check(1).is_ok());
    // A run that did not train is not kept.
    runs.start_new(&loss, &[], None, ModelSpec::default(), TrainingConfig::default());
    assert_eq!(runs.earlier().len(), 1);
}

#[test]
fn a_current_run_without_a_report_is_not_kept_so_that_a_session_always_writes() {
    let mut runs = RunHistory::default();
    assert_eq!(runs.kept().current, None);
    assert!(runs.kept().check().is_ok());
    runs.observe(&progress(0, "MNIST", false), Instant::now());
    assert!(runs.kept().current.is_some() && runs.kept().check().is_ok());
}

#[test]
fn thumbnails_stay_small_for_any_image_size() {
    for (rows, cols, hidden) in [(28, 28, 256), (512, 512, 2), (1, 300, 100), (3, 3, 1)] {
        let thumb = thumbnail(&snapshot(hidden, rows, cols)).expect("a thumbnail");
        assert!(thumb.width <= MAX_THUMBNAIL_SIDE && thumb.height <= MAX_THUMBNAIL_SIDE, "{rows}x{cols}");
        assert_eq!(thumb.pixels.len(), thumb.width * thumb.height);
    }
}

#[test]
fn the_oldest_earlier_run_is_dropped_beyond_the_limit_and_the_current_one_is_never_deleted() {
    let mut runs = RunHistory::default();
    let loss = LossHistory::default();
    let mut dropped = Vec::new();
    for n in 0..MAX_RUNS + 2 {
        runs.observe(&progress(0, "MNIST", true), Instant::now());
        runs.observe(&progress(64 * (n as u64 + 1), "MNIST", true), Instant::now());
        dropped.extend(runs.start_new(&loss, &[], None, ModelSpec::default(), TrainingConfig::default()));
    }
    assert_eq!(runs.all().count(), MAX_RUNS);
    assert_eq!(dropped, ["Run 1", "Run 2", "Run 3"]);
    let current = runs.current().id;
    assert!(!runs.delete(current));
    let first = runs.earlier()[0].id;
    assert!(runs.delete(first));
    assert_eq!(runs.all().count(), MAX_RUNS - 1);
}

#[test]
fn a_dataset_switch_ends_a_run_that_trained() {
    let (mut runs, _) = trained_history();
    assert!(runs.observe(&progress(6400, "Fashion-MNIST", false), Instant::now()));
    let mut untrained = RunHistory::default();
    untrained.observe(&progress(0, "MNIST", false), Instant::now());
    assert!(!untrained.observe(&progress(0, "Fashion-MNIST", false), Instant::now()));
}

#[test]
fn imports_are_checked_and_all_or_nothing() {
    let (mut runs, loss) = trained_history();
    let good = runs.current_run(&loss, &[], Some(&snapshot(16, 28, 28)));
    let mut bad = good.clone();
    bad.epochs = f64::NAN;
    let error = runs.import(vec![good.clone(), bad]).expect_err("a NaN epoch is refused");
    assert_eq!(error, RunError::Invalid { index: 2, problem: "NaN epochs (0 to 1e15)".into() });
    assert!(runs.earlier().is_empty(), "nothing was added");
    let mut wrong_thumbnail = good.clone();
    wrong_thumbnail.thumbnail.as_mut().expect("thumbnail").pixels.pop();
    assert!(runs.import(vec![wrong_thumbnail]).is_err());
    assert!(matches!(runs.import(vec![good.clone(); MAX_RUNS]), Err(RunError::TooMany { .. })));
    assert_eq!(runs.import(vec![good.clone(), good]), Ok(2));
    assert_eq!(runs.earlier().len(), 2);
}

#[test]
fn thumbnails_round_trip_through_json_and_bad_hex_is_refused() {
    let thumb = thumbnail(&snapshot(3, 5, 5)).expect("a thumbnail");
    let json = serde_json::to_string(&thumb).expect("JSON");
    assert_eq!(serde_json::from_str::<Thumbnail>(&json).expect("read back"), thumb);
    let bad = json.replacen("\"pixels\":\"", "\"pixels\":\"zz", 1);
    assert!(serde_json::from_str::<Thumbnail>(&bad).is_err());
}
