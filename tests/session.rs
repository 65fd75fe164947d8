//! The window's kept session: its file (round trip, damage, a kill -9 in the middle of a write),
//! and, through egui_kittest on a window whose trainer the test plays, what closing writes, the
//! offer at the next start (Continue, Start fresh, `--fresh`), the autosave and a session whose
//! dataset folder has gone. Every session lives in a temporary folder: never in the real home.
//!
//! One file past 500 lines: one test per promise of the kept session, sharing the window harness
//! and the session folders.

mod common;
mod played;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use played::{HIDDEN, feed, options, progress, sent, snapshot, step_until};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::app::runs::{KeptRuns, Run, RunLikelihood, RunSettings, Thumbnail};
use rbm_lab::app::session::{
    Bounded, ChainSettings, DatasetSource, PREVIOUS_SESSION_FILE, SESSION_KEY, SavedEvaluation, SavedGaussianDensity,
    SavedLoss, SavedMarker, SavedMonitor, SavedProbe, SavedRaise, SavedSwapPoint, SavedSwaps, SavedTab, Session,
    SessionOptions, SessionSettings, SessionState, SessionStore, decode_session, encode_session,
};
use rbm_lab::app::{RbmLabApp, Tab};
use rbm_lab::io::{ModelFile, ModelMetadata, load_model, model_to_bytes, model_to_bytes_with_entries};
use rbm_lab::model::probe::Accuracy;
use rbm_lab::model::{MathPool, ModelSpec, Rbm, TrainingConfig, VisibleSampling};
use rbm_lab::quality::{Evaluation, MonitorPoint, ProbeMeasurement};
use rbm_lab::trainer::{ChainStart, Command, LossPoint, TrainerSide, TrainingRun, Update};

/// A model file with its training state, after `batches` batches of the tutorial's training.
fn trained_file(n_hidden: usize, batches: usize, seed: u64) -> ModelFile {
    let spec = ModelSpec { n_hidden, seed, ..ModelSpec::default() };
    let config = TrainingConfig { k: 1, ..TrainingConfig::default() };
    let mut run = TrainingRun::new(common::mnist_slice(640, 64), spec, config, MathPool::new(1));
    for _ in 0..batches {
        run.train_batch();
    }
    let file = run.model_file();
    assert!(file.state.is_some() && file.metadata.samples_seen > 0);
    file
}

/// A session with something in every part, values that JSON cannot hold as numbers included.
fn full_session(model: ModelFile) -> Session {
    let evaluation = |epoch: f64, high: f64| SavedEvaluation {
        epoch,
        n_hidden: HIDDEN,
        log_z: 210.5,
        log_z_low: f64::NEG_INFINITY,
        log_z_high: high,
        exact: false,
        test_log_likelihood: -110.25,
        train_log_likelihood: -109.75,
        images: 1000,
        runs: 100,
        betas: 1000,
        seconds: 12.5,
        raise: Some(SavedRaise {
            images: 100,
            runs: 10,
            bound: -111.5,
            low: -112.0,
            high: f64::INFINITY,
            log_z_estimate: -110.0,
        }),
        // One of them a Gaussian model's, with a NaN that must come back as it was.
        gaussian: (epoch > 1.0)
            .then_some(SavedGaussianDensity { test_standardised: -420.5, train_standardised: f64::NAN }),
    };
    Session {
        model,
        state: SessionState {
            version: 1,
            saved_at: 1_795_774_500,
            dataset: DatasetSource::EmbeddedMnist,
            unsaved_samples: 320,
            loss: SavedLoss {
                batch_points: Bounded((0..300).map(|i| [i as f64 / 100.0, 0.5 / (1.0 + i as f64)]).collect()),
                stride: 2,
                total_batches: 600,
                epoch_means: Bounded(vec![[0.5, 0.3], [1.5, 0.25]]),
                markers: Bounded(vec![SavedMarker { epoch: 1.25, label: "lr 1.00e-2".into() }]),
            },
            monitors: Bounded(
                (1..=8)
                    .map(|i| SavedMonitor {
                        epoch: f64::from(i) / 4.0,
                        pseudo_likelihood: -0.2 * f64::from(i),
                        free_energy_gap: f64::NAN,
                        reconstruction_mse: 0.05,
                        update_ratio: 1e-3,
                    })
                    .collect(),
            ),
            evaluations: Bounded(vec![evaluation(1.0, 212.0), evaluation(2.0, f64::INFINITY)]),
            settings: SessionSettings {
                config: TrainingConfig { learning_rate: 0.01, k: 3, ..TrainingConfig::default() },
                spec: ModelSpec { n_hidden: 64, seed: 9, ..ModelSpec::default() },
                chains: ChainSettings {
                    count: 7,
                    start: ChainStart::Noise,
                    steps_per_second: 25.0,
                    running: false,
                    restart_every: 50,
                    sampling: Some(VisibleSampling::Bernoulli),
                },
                tab: SavedTab::Quality,
            },
            runs: kept_runs(),
            swaps: SavedSwaps {
                betas: Bounded(vec![1.0, 0.8, 0.6]),
                points: Bounded(vec![
                    SavedSwapPoint { epoch: 0.5, rates: Bounded(vec![0.4, 0.3]) },
                    SavedSwapPoint { epoch: 1.0, rates: Bounded(vec![0.35, 0.25]) },
                ]),
            },
            probes: Bounded(vec![SavedProbe {
                samples_seen: 96_000,
                epoch: 1.6,
                n_hidden: 64,
                correct: 7,
                total: 9,
                per_class: Bounded(vec![(3, 4), (0, 0), (4, 5)]),
            }]),
        },
    }
}

/// A runs table of an earlier run (shown on the plots) and the current one.
fn kept_runs() -> KeptRuns {
    let settings =
        RunSettings { spec: ModelSpec { n_hidden: HIDDEN, ..ModelSpec::default() }, config: TrainingConfig::default() };
    let run = |name: &str, shown: bool| Run {
        name: name.into(),
        dataset: "MNIST".into(),
        n_visible: 784,
        n_hidden: HIDDEN,
        first: settings.clone(),
        last: RunSettings { config: TrainingConfig { k: 1, ..TrainingConfig::default() }, ..settings.clone() },
        epochs: 1.5,
        samples_seen: 90_000,
        samples_at_start: 0,
        training_seconds: 42.5,
        loss: Bounded(vec![[0.0, 0.3], [1.0, 0.2]]),
        epoch_means: Bounded(vec![[0.5, 0.25]]),
        likelihood: Bounded(vec![RunLikelihood { epoch: 1.0, test: -120.0, train: -119.0 }]),
        thumbnail: Some(Thumbnail { width: 3, height: 2, pixels: vec![0, 50, 100, 150, 200, 255] }),
        shown,
    };
    KeptRuns { earlier: Bounded(vec![run("baseline, lr 0.005", true)]), current: Some(run("Run 2", false)) }
}

#[test]
fn a_session_round_trips_through_its_file_which_also_opens_as_a_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path().join("sessions"));
    assert!(store.read().expect("no session is not an error").is_none());
    let session = full_session(trained_file(HIDDEN, 3, 1));
    let path = store.write(&session, false).expect("written");
    assert_eq!(path, store.path());

    let back = store.read().expect("readable").expect("there");
    assert_eq!(back, session, "model, training state, history, monitors, evaluations, probes and settings");
    assert_eq!(back.state.runs, kept_runs(), "the runs table");
    assert_eq!(model_to_bytes(&back.model).expect("encodable"), model_to_bytes(&session.model).expect("encodable"));
    assert!(back.state.evaluations.0[1].log_z_high.is_infinite() && back.state.monitors.0[0].free_energy_gap.is_nan());
    assert_eq!(encode_session(&back).expect("encodable"), std::fs::read(&path).expect("readable"), "deterministic");
    // Load model… opens a session file like any model file.
    assert_eq!(load_model(&path).expect("a model file"), session.model);
}

/// Writes `session` with its JSON as `edit` makes it, bypassing the writer's own checks.
fn with_edited_json(session: &Session, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut json = serde_json::to_value(&session.state).expect("JSON");
    edit(&mut json);
    let entries = std::collections::BTreeMap::from([(SESSION_KEY, json.to_string())]);
    model_to_bytes_with_entries(&session.model, &entries).expect("encodable")
}

#[test]
fn damaged_newer_and_oversized_sessions_are_refused_with_what_is_wrong() {
    let session = full_session(trained_file(HIDDEN, 2, 2));
    let bytes = encode_session(&session).expect("encodable");
    let error = |bytes: &[u8]| decode_session(bytes).expect_err("refused").to_string();

    assert!(error(&bytes[..bytes.len() - 100]).contains("truncated"), "{}", error(&bytes[..bytes.len() - 100]));
    assert!(error(b"\x89PNG garbage").contains("safetensors"));
    let plain = model_to_bytes(&session.model).expect("encodable");
    assert!(error(&plain).contains("not a session"), "{}", error(&plain));
    let newer = with_edited_json(&session, |json| json["version"] = 2.into());
    assert!(error(&newer).contains("newer rbm-lab (session version 2"), "{}", error(&newer));
    let too_long = with_edited_json(&session, |json| {
        json["loss"]["batch_points"] = (0..20_001).map(|i| serde_json::json!([i, 0.5])).collect();
    });
    assert!(error(&too_long).contains("more than 20000 entries"), "{}", error(&too_long));
    let bad_chains = with_edited_json(&session, |json| json["settings"]["chains"]["count"] = 100_000.into());
    assert!(error(&bad_chains).contains("Gibbs chains"), "{}", error(&bad_chains));
    let bad_rate = with_edited_json(&session, |json| json["settings"]["config"]["learning_rate"] = 1e9.into());
    assert!(error(&bad_rate).contains("training settings are invalid"), "{}", error(&bad_rate));
    let long_label = with_edited_json(&session, |json| json["loss"]["markers"][0]["label"] = "x".repeat(500).into());
    assert!(error(&long_label).contains("label"), "{}", error(&long_label));
    let bad_probe = with_edited_json(&session, |json| json["probes"][0]["correct"] = 8.into());
    assert!(error(&bad_probe).contains("probe's counts do not add up"), "{}", error(&bad_probe));
    let bad_swaps = with_edited_json(&session, |json| json["swaps"]["points"][1]["rates"] = serde_json::json!([0.3]));
    assert!(error(&bad_swaps).contains("swap-rate history's pairs"), "{}", error(&bad_swaps));
    let older = with_edited_json(&session, |json| {
        json.as_object_mut().expect("an object").remove("probes");
        json.as_object_mut().expect("an object").remove("swaps");
    });
    let older = decode_session(&older).expect("a session from before probes and swap rates were kept");
    assert!(older.state.probes.0.is_empty() && older.state.swaps.points.0.is_empty());
    let bad_run = with_edited_json(&session, |json| json["runs"]["earlier"][0]["n_hidden"] = 0.into());
    assert!(error(&bad_run).contains("runs table: run 1: a 784x0 model"), "{}", error(&bad_run));
    // Writing refuses what reading would refuse.
    let mut unwritable = session.clone();
    unwritable.state.settings.chains.count = 0;
    assert!(encode_session(&unwritable).is_err());
}

#[test]
fn a_session_written_before_the_runs_table_existed_still_reads() {
    let session = full_session(trained_file(HIDDEN, 2, 2));
    let older = with_edited_json(&session, |json| {
        json.as_object_mut().expect("an object").remove("runs");
    });
    let back = decode_session(&older).expect("an older session reads");
    assert_eq!(back.state.runs, KeptRuns::default());
    assert_eq!(back.state.settings, session.state.settings);
}

/// The writer side of the kill -9 test: when started by it (RBM_LAB_SESSION_WRITER_DIR set), writes
/// two sessions in turn into that folder until it is killed (or, should the test itself have gone,
/// for a minute). Without the variable it does nothing.
#[test]
fn session_writer_child_process() {
    let Some(dir) = std::env::var_os("RBM_LAB_SESSION_WRITER_DIR") else { return };
    let store = SessionStore::new(dir);
    let sessions = writer_sessions();
    println!("{WRITER_STARTED}");
    let give_up = Instant::now() + Duration::from_secs(60);
    while Instant::now() < give_up {
        for session in &sessions {
            store.write(session, false).expect("written");
        }
    }
}

/// What the writer prints once it writes (after the test harness's "test … ... " on the same line).
const WRITER_STARTED: &str = "writing sessions";

/// Two sessions of a 784x1024 model (a few MB each, so that a write takes a while).
fn writer_sessions() -> [Session; 2] {
    [full_session(trained_file(1024, 1, 5)), full_session(trained_file(1024, 2, 5))]
}

#[test]
fn a_kill_during_a_session_write_leaves_a_session_that_loads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path());
    let sessions = writer_sessions();
    store.write(&sessions[0], false).expect("the first session");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let mut left_behind = 0;
    for round in 0..20 {
        let mut child = Process::new(std::env::current_exe().expect("this test binary"))
            .args(["--exact", "session_writer_child_process", "--nocapture", "--test-threads", "1"])
            .env("RBM_LAB_SESSION_WRITER_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the writer starts");
        let stdout = child.stdout.take().expect("piped");
        let started = BufReader::new(stdout).lines().map_while(Result::ok).any(|line| line.ends_with(WRITER_STARTED));
        assert!(started, "round {round}: the writer did not start");
        std::thread::sleep(Duration::from_millis(rng.random_range(1..80)));
        child.kill().expect("kill -9");
        child.wait().expect("reaped");

        let kept = store.read().expect("the session present always loads").expect("and is there");
        assert!(sessions.contains(&kept), "round {round}: the file is one of the sessions written, whole");
        left_behind += store.remove_stale_temporary_files();
    }
    println!("{left_behind} of 20 kills landed while a temporary file was being written");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("listable")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert_eq!(names, ["session.safetensors"], "the killed writers' temporary files are tidied away");
}

// ---- the window ----

/// The window on a played trainer, keeping its session in `store`.
fn lab(store: &SessionStore, session: SessionOptions) -> (Harness<'static, RbmLabApp>, TrainerSide) {
    let store = store.clone();
    played::lab(move |app, ctx| app.keep_sessions(ctx, store, session))
}

/// Plays the trainer's answer to the window's next `RequestModelFile` (closing waits for it).
fn answer_model_file(side: TrainerSide, file: ModelFile) -> JoinHandle<TrainerSide> {
    std::thread::spawn(move || {
        loop {
            match side.commands.recv_timeout(Duration::from_secs(10)) {
                Ok(Command::RequestModelFile) => break,
                Ok(_) => {}
                Err(_) => panic!("the window never asked for the model file"),
            }
        }
        side.updates.send(Update::ModelFile(Box::new(file))).expect("the window listens");
        side
    })
}

/// The window with a trained history: losses, two epoch means, a marker, monitors, an evaluation,
/// settings away from their defaults, and a save by the person one batch before `samples_seen`.
fn lab_with_history(store: &SessionStore, samples_seen: u64) -> (Harness<'static, RbmLabApp>, TrainerSide) {
    let (mut harness, side) = lab(store, SessionOptions { fresh: true, ..SessionOptions::default() });
    let losses = (0..200).map(|i| LossPoint { epoch: f64::from(i) / 100.0, loss: 0.4 - i as f32 * 1e-3 }).collect();
    let mut marked = options().config;
    marked.learning_rate = 0.02;
    let monitor = |epoch: f64| MonitorPoint {
        epoch,
        pseudo_likelihood: -0.3,
        free_energy_gap: 1.5,
        reconstruction_mse: 0.04,
        update_ratio: 1e-3,
    };
    feed(
        &mut harness,
        &side,
        vec![
            Update::Progress(progress(samples_seen - 64, false)),
            Update::Saved(store.dir().join("saved-by-the-person.safetensors")),
            Update::Progress(progress(samples_seen, false)),
            Update::Losses(losses),
            Update::EpochFinished { epoch: 0, mean_loss: 0.35 },
            Update::ConfigApplied { epoch_position: 1.5, config: marked },
            Update::Monitors(monitor(0.25)),
            Update::Monitors(monitor(0.5)),
        ],
    );
    let app = harness.state_mut();
    app.quality.evaluations.push(Evaluation {
        epoch: 1.0,
        n_hidden: HIDDEN,
        log_z: 200.0,
        log_z_low: f64::NEG_INFINITY,
        log_z_high: 201.0,
        exact: false,
        test_log_likelihood: -120.0,
        train_log_likelihood: -119.0,
        images: 500,
        runs: 100,
        betas: 1000,
        seconds: 3.0,
        raise: None,
        gaussian: None,
    });
    app.controls.swap_history.push(0.25, &[1.0, 0.7], &[0.45]);
    app.controls.swap_history.push(0.5, &[1.0, 0.7], &[0.4]);
    app.quality.probes.push(ProbeMeasurement {
        samples_seen: 64,
        epoch: 0.5,
        n_hidden: HIDDEN,
        accuracy: Accuracy { correct: 3, total: 4, per_class: vec![(1, 1), (2, 3)] },
        baseline: None,
    });
    app.tab = Tab::Quality;
    app.chains.count = 5;
    app.chains.start = ChainStart::Noise;
    app.chains.steps_per_second = 40.0;
    app.controls.spec.seed = 77;
    harness.run_steps(2);
    (harness, side)
}

#[test]
fn closing_keeps_the_session_and_continue_brings_all_of_it_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path().join("rbm-lab"));
    let file = trained_file(HIDDEN, 3, 4);
    let (mut first, side) = lab_with_history(&store, file.metadata.samples_seen);
    let unsaved = first.state().unsaved_samples();
    assert_eq!(unsaved, 64, "one batch since the person's own save");
    let answering = answer_model_file(side, file.clone());
    let written = first.state_mut().keep_session_on_close().expect("a session is written on close");
    answering.join().expect("the played trainer");
    assert_eq!(written, store.path());
    let kept = store.read().expect("readable").expect("there");
    assert_eq!(kept.model, file, "the trainer's model file, training state included");
    let history = &first.state().loss.history;
    let expected_points: Vec<[f64; 2]> = history.batch_points().iter().map(|p| [p.x, p.y]).collect();
    assert_eq!(kept.state.loss.batch_points.0, expected_points);
    assert_eq!(kept.state.settings.tab, SavedTab::Quality);
    assert_eq!(kept.state.unsaved_samples, unsaved);

    // The next start: the offer, and no training until it is answered.
    let (mut second, side) = lab(&store, SessionOptions::default());
    step_until(&mut second, "the offer", |app| app.session_keeper().is_some_and(|k| k.offer().is_some()));
    second.run_steps(2);
    second.get_by_label("Continue where you left off");
    second.get_by_label_contains("784x16 model trained for");
    second.get_by_label("The loss plot, the monitors, the evaluation, the linear probe and the settings come back.");
    assert!(!sent(&side).contains(&"Start".to_string()), "training waits for the answer");
    second.get_by_label("Continue").click();
    second.run_steps(2);
    let commands = sent(&side);
    assert_eq!(
        commands.first().map(String::as_str),
        Some(format!("Load 784x{HIDDEN} at {}", file.metadata.samples_seen).as_str())
    );
    assert!(commands.contains(&"Start".to_string()), "training starts once answered: {commands:?}");
    assert!(second.state().session_keeper().is_some_and(|k| k.offer().is_none()));
    // The trainer loads the model: the plot's history comes back with it.
    feed(
        &mut second,
        &side,
        vec![
            Update::ModelReplaced { description: "loaded".into(), epoch_position: file.metadata.epochs_trained },
            Update::ConfigApplied {
                epoch_position: file.metadata.epochs_trained,
                config: file.metadata.training.clone(),
            },
            Update::Progress(progress(file.metadata.samples_seen, true)),
        ],
    );
    let (a, b) = (first.state(), second.state());
    assert_eq!(b.loss.history.batch_points(), a.loss.history.batch_points());
    assert_eq!(b.loss.history.epoch_means(), a.loss.history.epoch_means());
    assert_eq!(b.loss.history.markers(), a.loss.history.markers(), "no marker added by the load itself");
    assert_eq!(b.loss.history.stride(), a.loss.history.stride());
    assert_eq!(b.quality.monitors, a.quality.monitors);
    assert_eq!(b.quality.evaluations.len(), 1);
    assert_eq!(b.quality.evaluations[0].log_z_low, f64::NEG_INFINITY);
    assert_eq!(b.quality.probes.len(), 1, "the linear probe's result");
    assert_eq!(b.controls.swap_history, a.controls.swap_history, "parallel tempering's swap rates");
    assert_eq!(b.controls.swap_history.points.len(), 2);
    assert_eq!((b.quality.probes[0].samples_seen, &b.quality.probes[0].accuracy), (64, &a.quality.probes[0].accuracy));
    assert_eq!(b.tab, Tab::Quality);
    assert_eq!((b.chains.count, b.chains.start, b.chains.steps_per_second), (5, ChainStart::Noise, 40.0));
    assert_eq!(b.controls.spec.seed, 77);
    // A session is not the person's save: Reset still asks first.
    assert_eq!(b.unsaved_samples(), unsaved);
    second.state_mut().tab = Tab::Training;
    second.run_steps(2);
    second.get_by_label("Reset model").click();
    second.run_steps(2);
    assert!(second.state().confirmation().is_some(), "the question before Reset still comes");
}

#[test]
fn closing_keeps_the_runs_table_and_continue_brings_it_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path().join("rbm-lab"));
    let file = trained_file(HIDDEN, 3, 4);
    let (mut first, side) = lab(&store, SessionOptions { fresh: true, ..SessionOptions::default() });
    let losses = |level: f32| (0..50).map(|i| LossPoint { epoch: f64::from(i) / 100.0, loss: level }).collect();
    side.mailboxes.model.put(Arc::new(snapshot(1)));
    feed(
        &mut first,
        &side,
        vec![Update::Progress(progress(0, true)), Update::Losses(losses(0.3)), Update::Progress(progress(3200, false))],
    );
    first.get_by_label("Reset model").click();
    first.run_steps(4);
    first.get_by_label("Discard").click();
    first.run_steps(2);
    assert_eq!(sent(&side), ["Reset 16"]);
    feed(
        &mut first,
        &side,
        vec![
            Update::ModelReplaced { description: "new".into(), epoch_position: 0.0 },
            Update::Progress(progress(0, true)),
            Update::Losses(losses(0.2)),
            Update::Progress(progress(file.metadata.samples_seen, false)),
        ],
    );
    let app = first.state_mut();
    let earlier = app.runs.earlier()[0].id;
    app.runs.rename(earlier, "baseline");
    app.runs.set_shown(earlier, true);
    let current = app.runs.current().id;
    app.runs.rename(current, "more hidden units");
    first.run_steps(2);
    let answering = answer_model_file(side, file.clone());
    first.state_mut().keep_session_on_close().expect("a session is written on close");
    answering.join().expect("the played trainer");
    let kept = store.read().expect("readable").expect("there");
    assert_eq!(kept.state.runs.earlier.0.len(), 1);

    let (mut second, side) = lab(&store, SessionOptions::default());
    step_until(&mut second, "the offer", |app| app.session_keeper().is_some_and(|k| k.offer().is_some()));
    // The offer is drawn from the frame after it is read.
    second.run_steps(2);
    second.get_by_label("Continue").click();
    second.run_steps(2);
    feed(
        &mut second,
        &side,
        vec![
            Update::ModelReplaced { description: "loaded".into(), epoch_position: file.metadata.epochs_trained },
            Update::ConfigApplied {
                epoch_position: file.metadata.epochs_trained,
                config: file.metadata.training.clone(),
            },
            Update::Progress(progress(file.metadata.samples_seen, true)),
        ],
    );
    let (a, b) = (first.state(), second.state());
    let runs = |app: &RbmLabApp| app.runs.earlier().iter().map(|e| e.run.clone()).collect::<Vec<_>>();
    assert_eq!(runs(b), runs(a), "the earlier run, its curves, settings, thumbnail and show tick");
    assert_eq!(b.runs.current().run.name, "more hidden units");
    assert_eq!(b.runs.current().run.samples_seen, file.metadata.samples_seen);
    assert_eq!(b.loss.overlays.len(), 1, "the shown run is on the loss plot again");
    assert_eq!(b.loss.drawn_series().first().map(String::as_str), Some("baseline"));
}

#[test]
fn a_trainer_that_does_not_answer_leaves_the_last_weights_in_the_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path());
    let (mut harness, side) = lab(&store, SessionOptions::default());
    let weights = snapshot(3);
    side.mailboxes.model.put(Arc::new(weights.clone()));
    feed(&mut harness, &side, vec![Update::Progress(progress(30_016, false))]);
    let started = Instant::now();
    harness.state_mut().keep_session_on_close().expect("written without the trainer's answer");
    assert!(started.elapsed() < Duration::from_secs(5), "closing does not hang: {:?}", started.elapsed());
    let kept = store.read().expect("readable").expect("there");
    assert!(kept.model.state.is_none(), "no training state: the trainer never sent it");
    assert_eq!(kept.model.rbm.weights_slice(), &weights.weights[..]);
    assert_eq!(kept.model.metadata.epochs_trained, weights.epoch_position);
    drop(side);
}

#[test]
fn unreadable_sessions_are_reported_once_set_aside_and_the_window_starts_fresh() {
    let session = full_session(trained_file(HIDDEN, 2, 6));
    let good = encode_session(&session).expect("encodable");
    let newer = with_edited_json(&session, |json| json["version"] = 9.into());
    let cases: [(&str, &[u8], &str); 3] = [
        ("truncated", &good[..good.len() / 2], "truncated"),
        ("garbage", b"this is not a session at all, not even close", "safetensors"),
        ("newer", &newer, "newer rbm-lab"),
    ];
    for (name, bytes, reason) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SessionStore::new(dir.path());
        std::fs::write(store.path(), bytes).expect("written");
        let (mut harness, side) = lab(&store, SessionOptions::default());
        step_until(&mut harness, "the report", |app| app.notice().is_some());
        let notice = harness.state().notice().expect("said").text.clone();
        assert!(notice.starts_with("The last session could not be read: "), "{name}: {notice}");
        assert!(notice.contains(reason) && notice.contains("starting fresh"), "{name}: {notice}");
        assert!(harness.state().session_keeper().is_some_and(|k| k.is_live() && k.offer().is_none()), "{name}");
        assert_eq!(sent(&side), ["Start"], "{name}: the window starts training as if there had been no session");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("listable")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        assert!(!store.path().exists(), "{name}: set aside, so it is not offered again");
        assert!(
            names.len() == 1 && names[0].starts_with("session.unreadable-") && names[0].ends_with(".safetensors"),
            "{name}: {names:?}"
        );
        assert_eq!(std::fs::read(dir.path().join(&names[0])).expect("kept"), bytes, "{name}: kept as it was");
    }
}

#[test]
fn start_fresh_keeps_the_last_session_until_the_new_one_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path());
    let old = full_session(trained_file(HIDDEN, 2, 7));
    store.write(&old, false).expect("the last session");
    let old_bytes = std::fs::read(store.path()).expect("readable");

    let (mut harness, side) = lab(&store, SessionOptions { start_when_answered: false, ..SessionOptions::default() });
    step_until(&mut harness, "the offer", |app| app.session_keeper().is_some_and(|k| k.offer().is_some()));
    harness.run_steps(2);
    harness.get_by_label("Start fresh").click();
    harness.run_steps(2);
    assert!(sent(&side).is_empty(), "started paused (--paused): nothing is loaded or started");
    assert!(harness.state().session_keeper().is_some_and(|k| k.is_live() && k.offer().is_none()));
    assert_eq!(std::fs::read(store.path()).expect("still there"), old_bytes, "nothing lost yet");

    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    let new = trained_file(HIDDEN, 1, 8);
    let answering = answer_model_file(side, new.clone());
    harness.state_mut().keep_session_on_close().expect("written");
    answering.join().expect("the played trainer");
    assert_eq!(store.read().expect("readable").expect("there").model, new);
    assert_eq!(std::fs::read(dir.path().join(PREVIOUS_SESSION_FILE)).expect("kept"), old_bytes, "one level of undo");
}

#[test]
fn fresh_skips_the_offer_and_an_untrained_close_keeps_the_last_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path());
    store.write(&full_session(trained_file(HIDDEN, 2, 9)), false).expect("the last session");
    let old_bytes = std::fs::read(store.path()).expect("readable");
    let (mut harness, side) = lab(&store, SessionOptions { fresh: true, ..SessionOptions::default() });
    harness.run_steps(3);
    assert!(harness.state().session_keeper().is_some_and(|k| k.is_live() && k.offer().is_none()));
    assert!(harness.query_by_label("Continue where you left off").is_none());
    assert!(sent(&side).is_empty(), "--fresh: the trainer was started as asked, nothing more");
    let answering = answer_model_file(side, ModelFile::new(Rbm::zeros(784, HIDDEN), untrained_metadata()));
    assert!(harness.state_mut().keep_session_on_close().is_none(), "nothing trained, nothing written");
    answering.join().expect("the played trainer");
    assert_eq!(std::fs::read(store.path()).expect("still there"), old_bytes);
}

fn untrained_metadata() -> ModelMetadata {
    ModelMetadata::new("MNIST", 28, 28, options().config, options().spec)
}

#[test]
fn training_is_autosaved_on_a_thread_without_counting_as_a_save() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::new(dir.path());
    let autosave = SessionOptions { autosave_every: Duration::from_millis(200), ..SessionOptions::default() };
    let (mut harness, side) = lab(&store, autosave);
    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    std::thread::sleep(Duration::from_millis(300));
    harness.run_steps(2);
    assert!(!sent(&side).contains(&"RequestModelFile".to_string()), "paused: no autosave");

    feed(&mut harness, &side, vec![Update::Progress(progress(1280, true))]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sent(&side).contains(&"RequestModelFile".to_string()) {
        assert!(Instant::now() < deadline, "no autosave after 200 ms of training");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    let file = trained_file(HIDDEN, 2, 10);
    feed(&mut harness, &side, vec![Update::ModelFile(Box::new(file.clone()))]);
    step_until(&mut harness, "the autosave written", |app| {
        app.session_keeper().is_some_and(|k| k.writes_in_flight() == 0) && store.path().exists()
    });
    assert_eq!(store.read().expect("readable").expect("there").model, file);
    assert_eq!(harness.state().unsaved_samples(), 1280, "a session is not a save of the person's model");
}

#[test]
fn a_session_whose_dataset_folder_has_gone_continues_on_mnist_only_if_its_images_fit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gone = dir.path().join("gone-dataset");
    let store = SessionStore::new(dir.path().join("sessions"));

    // 28x28: continued on the embedded MNIST, and the window says so.
    let mut mnist_sized = full_session(trained_file(HIDDEN, 2, 12));
    mnist_sized.state.dataset = DatasetSource::Folder(gone.clone());
    store.write(&mnist_sized, false).expect("written");
    let (mut harness, side) = lab(&store, SessionOptions::default());
    step_until(&mut harness, "the offer", |app| app.session_keeper().is_some_and(|k| k.offer().is_some()));
    harness.run_steps(2);
    harness.get_by_label("Continue").click();
    step_until(&mut harness, "continued", |app| app.session_keeper().is_some_and(|k| k.is_live()));
    let commands = sent(&side);
    let samples = mnist_sized.model.metadata.samples_seen;
    assert_eq!(commands[..2], ["Dataset MNIST".to_string(), format!("Load 784x{HIDDEN} at {samples}")], "{commands:?}");
    // The trainer takes the dataset and the model.
    let epochs = mnist_sized.model.metadata.epochs_trained;
    feed(
        &mut harness,
        &side,
        vec![
            Update::ModelReplaced { description: "loaded".into(), epoch_position: epochs },
            Update::ConfigApplied { epoch_position: epochs, config: mnist_sized.model.metadata.training.clone() },
        ],
    );
    let notice = harness.state().notice().expect("said").text.clone();
    assert!(notice.contains("gone-dataset") && notice.contains("continuing on the embedded MNIST"), "{notice}");

    // 10x10 images: nothing fits, so the offer stays with the error; Start fresh still works.
    let small = small_model_session(&gone);
    store.write(&small, false).expect("written");
    let (mut harness, side) = lab(&store, SessionOptions::default());
    step_until(&mut harness, "the offer", |app| app.session_keeper().is_some_and(|k| k.offer().is_some()));
    harness.run_steps(2);
    harness.get_by_label("Continue").click();
    step_until(&mut harness, "the error", |app| {
        app.session_keeper().and_then(|k| k.offer()).is_some_and(|offer| offer.error.is_some())
    });
    harness.run_steps(2);
    harness.get_by_label_contains("do not fit it either");
    assert!(sent(&side).is_empty(), "nothing loaded, nothing started");
    harness.get_by_label("Start fresh").click();
    harness.run_steps(2);
    assert_eq!(sent(&side), ["Start"]);
}

/// A session of a 100x8 model trained on 10x10 images from `folder`.
fn small_model_session(folder: &Path) -> Session {
    let rbm = Rbm::from_parameters(100, 8, vec![0.01; 800], vec![0.0; 100], vec![0.0; 8]).expect("an RBM");
    let mut metadata = ModelMetadata::new(
        "tiny",
        10,
        10,
        TrainingConfig::default(),
        ModelSpec { n_hidden: 8, ..ModelSpec::default() },
    );
    metadata.samples_seen = 6400;
    metadata.epochs_trained = 2.0;
    let mut session = full_session(ModelFile::new(rbm, metadata));
    session.state.dataset = DatasetSource::Folder(folder.to_path_buf());
    session
}
