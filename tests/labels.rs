//! Label units (the classification RBM) outside the model's math: a training run with labels (the
//! same bits on 1 and 2 threads, a test accuracy well above chance), model files with label units
//! (round trip, refused by the readers of plain models, older files read as plain), and
//! `rbm-lab train --labels`, `eval` and `sample --class` through the real binary.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use rbm_lab::io::{ModelFile, ModelFileError, labelled_model_from_bytes, model_from_bytes, model_to_bytes, save_model};
use rbm_lab::model::labels::accuracy_of;
use rbm_lab::model::{GradientMethod, MathPool, ModelSpec, Threads, TrainingConfig};
use rbm_lab::trainer::{BatchOutcome, TrainingRun};

use common::labelled_config;

/// A run of a 784x`hidden` model with 10 label units on 2,000 MNIST images, after `batches` batches.
fn trained_run(hidden: usize, batches: usize, threads: usize, method: GradientMethod) -> TrainingRun {
    let spec = ModelSpec { n_hidden: hidden, seed: 4, label_classes: 10, ..ModelSpec::default() };
    let config = TrainingConfig { method, ..labelled_config() };
    let mut run = TrainingRun::new(common::mnist_slice(2000, 500), spec, config, MathPool::new(threads));
    for _ in 0..batches {
        assert!(matches!(run.train_batch(), BatchOutcome::Trained(_)));
    }
    run
}

#[test]
fn a_labelled_run_trains_the_same_bits_on_one_and_two_threads_and_learns_to_classify() {
    for method in [GradientMethod::Cd, GradientMethod::Pcd] {
        let one = trained_run(32, 30, 1, method).model_file();
        let two = trained_run(32, 30, 2, method).model_file();
        assert!(one.rbm == two.rbm && one.labels == two.labels, "{method:?}: 1 and 2 threads differ");
    }
    let test_accuracy = |run: &TrainingRun| {
        let (dataset, labels) = (run.dataset(), run.labels().expect("label units"));
        let image = |i, out: &mut [f32]| dataset.test_image_f32(i, out);
        accuracy_of(run.rbm(), labels, &dataset.test.labels, image, Threads(2))
    };
    let untrained = test_accuracy(&trained_run(64, 0, 2, GradientMethod::Cd));
    // Five epochs on 2,000 images (about 69% here); chance is 10%, and the untrained model near it.
    let trained = test_accuracy(&trained_run(64, 200, 2, GradientMethod::Cd));
    assert!(untrained < 0.25 && trained > 0.5, "test accuracy {untrained} untrained, {trained} trained");
}

#[test]
fn a_plain_run_is_unchanged_by_label_units_existing() {
    // The image weights of a labelled model start exactly where a plain model's do (the label
    // weights are drawn after them), and a plain model's file has no label tensors or entry.
    let dataset = common::mnist_slice(200, 50);
    let plain_spec = ModelSpec { n_hidden: 16, seed: 9, ..ModelSpec::default() };
    let plain = TrainingRun::new(dataset.clone(), plain_spec.clone(), labelled_config(), MathPool::new(1));
    let labelled_spec = ModelSpec { label_classes: 10, ..plain_spec };
    let labelled = TrainingRun::new(dataset, labelled_spec, labelled_config(), MathPool::new(1));
    assert_eq!(plain.rbm(), labelled.rbm());
    assert!(plain.labels().is_none());
    let bytes = model_to_bytes(&plain.model_file()).unwrap();
    let text = String::from_utf8_lossy(&bytes[..4096.min(bytes.len())]).into_owned();
    assert!(!text.contains("label_classes") && !text.contains("\"U\""), "{text}");
}

#[test]
fn label_units_survive_a_file_and_readers_of_plain_models_refuse_them() {
    let run = trained_run(16, 3, 1, GradientMethod::Cd);
    let file = run.model_file();
    assert!(file.state.is_none(), "a labelled run saves no chain state");
    let bytes = model_to_bytes(&file).unwrap();
    let back = labelled_model_from_bytes(&bytes).expect("reads");
    assert_eq!(back, file);
    assert_eq!(back.metadata.spec.label_classes, 10);
    match model_from_bytes(&bytes) {
        Err(error @ ModelFileError::HasLabels { classes: 10 }) => {
            assert!(error.to_string().contains("label units (10 classes)"), "{error}")
        }
        other => panic!("a plain reader took a labelled model: {other:?}"),
    }
    // A file of a plain model (as every earlier build wrote) reads as a model without labels.
    let plain = ModelFile { labels: None, metadata: plain_metadata(&file), ..file.clone() };
    let plain_back = labelled_model_from_bytes(&model_to_bytes(&plain).unwrap()).expect("reads");
    assert!(plain_back.labels.is_none() && plain_back.rbm == file.rbm);
    // Inconsistent label units are refused on save and on load.
    let mismatched = ModelFile { metadata: plain_metadata(&file), ..file.clone() };
    assert!(matches!(model_to_bytes(&mismatched), Err(ModelFileError::BadLabels(_))));
    let no_units = ModelFile { labels: None, ..file };
    assert!(matches!(model_to_bytes(&no_units), Err(ModelFileError::BadLabels(_))));
}

fn plain_metadata(file: &ModelFile) -> rbm_lab::io::ModelMetadata {
    let mut metadata = file.metadata.clone();
    metadata.spec.label_classes = 0;
    metadata
}

fn run_binary(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rbm-lab"))
        .args(["--data", data.to_str().unwrap(), "--threads", "2"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn train_labels_eval_and_sample_class_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_folder(dir.path(), 1000, 200);
    let model = dir.path().join("labelled.safetensors");
    let model_arg = model.to_str().unwrap();
    let train = run_binary(
        dir.path(),
        &[
            "train",
            "--labels",
            "--hidden",
            "32",
            "--k",
            "1",
            "--lr",
            "0.05",
            "--batch",
            "20",
            "--sampling",
            "bernoulli",
            "--binarize",
            "--epochs",
            "3",
            "--out",
            model_arg,
        ],
    );
    assert!(train.status.success(), "{}", text(&train));
    assert!(text(&train).contains("784x32 with 10 label units"), "{}", text(&train));

    let eval = run_binary(dir.path(), &["eval", model_arg]);
    assert!(eval.status.success(), "{}", text(&eval));
    let line = String::from_utf8_lossy(&eval.stdout)
        .lines()
        .find(|l| l.starts_with("test classification accuracy: "))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no accuracy in {}", text(&eval)));
    let percent: f64 = line["test classification accuracy: ".len()..].split('%').next().unwrap().parse().unwrap();
    assert!(percent > 40.0, "{line}");

    let png = dir.path().join("sevens.png");
    let png_arg = png.to_str().unwrap();
    let sample = run_binary(dir.path(), &["sample", model_arg, "--class", "7", "--steps", "50", "--out", png_arg]);
    assert!(sample.status.success(), "{}", text(&sample));
    assert!(text(&sample).contains("label clamped to class 7"), "{}", text(&sample));
    assert!(std::fs::metadata(&png).map(|m| m.len() > 100).unwrap_or(false), "no PNG written");

    // Every class: two chains of each, one row of samples per class (tiles of 28 + 1 px gap).
    let all = run_binary(
        dir.path(),
        &["sample", model_arg, "--class", "all", "--count", "2", "--steps", "20", "--out", png_arg],
    );
    assert!(all.status.success(), "{}", text(&all));
    assert!(
        text(&all).contains("2 chains of each of 10 classes after 20 Gibbs steps, one row per class"),
        "{}",
        text(&all)
    );
    assert_eq!(image::image_dimensions(&png).expect("a PNG"), (2 * 29 + 1, 10 * 29 + 1));
    let neither = run_binary(dir.path(), &["sample", model_arg, "--class", "seven", "--out", png_arg]);
    assert!(!neither.status.success());
    assert!(text(&neither).contains("`seven` is neither a class number nor `all`"), "{}", text(&neither));

    let no_class = run_binary(dir.path(), &["sample", model_arg, "--class", "10", "--out", png_arg]);
    assert!(!no_class.status.success());
    let message = String::from_utf8_lossy(&no_class.stderr).into_owned();
    assert!(message.contains("class 10 does not exist") && message.trim().lines().count() == 1, "{message}");

    // A model without label units cannot be clamped; a reader of plain models refuses label units.
    let plain = dir.path().join("plain.safetensors");
    let rbm = common::cd1_trained(16, 5, 1);
    let metadata = rbm_lab::io::ModelMetadata::new("MNIST", 28, 28, TrainingConfig::default(), ModelSpec::default());
    save_model(&plain, &ModelFile::new(rbm, metadata)).unwrap();
    let unlabelled = run_binary(dir.path(), &["sample", plain.to_str().unwrap(), "--class", "1", "--out", png_arg]);
    assert!(!unlabelled.status.success());
    assert!(text(&unlabelled).contains("has no label units"), "{}", text(&unlabelled));
    let inpaint = run_binary(dir.path(), &["inpaint", model_arg, "--mask", "bottom-half", "--out", png_arg]);
    assert!(!inpaint.status.success());
    assert!(text(&inpaint).contains("label units (10 classes)"), "{}", text(&inpaint));
}

/// The window's trainer: a Reset with label units makes one per class of the training set, the
/// model snapshots carry them, settings the labelled step does not implement are refused, and the
/// chains can be clamped to a class.
#[test]
fn the_trainer_resets_to_label_units_and_clamps_its_chains() {
    use rbm_lab::model::ConfigError;
    use rbm_lab::trainer::{ChainClamp, ChainCommand, Command, TrainerError, TrainerHandle, TrainerOptions, Update};
    use std::time::{Duration, Instant};

    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: 16, seed: 3, ..ModelSpec::default() },
        config: labelled_config(),
        threads: 2,
        start_running: false,
        chains_running: false,
        publish_interval: Duration::from_millis(5),
        ..TrainerOptions::default()
    };
    let mut trainer = TrainerHandle::spawn(common::mnist_slice(300, 50), options).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let wait_for = |what: &str, done: &mut dyn FnMut(&TrainerHandle, Vec<Update>) -> bool| loop {
        let updates: Vec<Update> = trainer.updates().collect();
        if done(&trainer, updates) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    };
    // The window's checkbox asks for label units with a count of 1; the trainer counts the classes.
    trainer.send(Command::Reset(ModelSpec { n_hidden: 16, seed: 3, label_classes: 1, ..ModelSpec::default() }));
    trainer.send(Command::Step);
    wait_for("a snapshot with label units", &mut |t, _| {
        t.take_model_snapshot().is_some_and(|s| s.labels.as_ref().is_some_and(|l| l.classes() == 10))
    });
    trainer.send(Command::SetConfig(TrainingConfig { momentum: 0.9, ..labelled_config() }));
    wait_for("the refusal of momentum", &mut |_, updates| {
        updates.iter().any(|u| {
            matches!(u, Update::Error(TrainerError::SettingsRefused(ConfigError::Labels(m))) if m.contains("momentum"))
        })
    });
    trainer.send(Command::Chains(ChainCommand::SetClass(ChainClamp::Class(7))));
    for _ in 0..3 {
        trainer.send(Command::Chains(ChainCommand::Step));
    }
    wait_for("three chain steps", &mut |t, _| t.take_chain_snapshot().is_some_and(|s| s.steps == 3));
    assert!(trainer.shutdown(Duration::from_secs(10)));
}
