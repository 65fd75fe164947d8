//! Training runs and their saved state: a run saved and loaded continues exactly as one that never
//! stopped; a batch that diverges is undone completely; the model file's training-state section is
//! checked as strictly as the rest of the file.

mod common;

use std::collections::HashMap;

use common::{Raw, mnist_slice};
use rbm_lab::io::state_section::STATE_KEY;
use rbm_lab::io::{ModelFile, ModelFileError, model_from_bytes, model_to_bytes};
use rbm_lab::model::{
    GradientMethod, Initialisation, LrSchedule, MathPool, ModelSpec, TrainingConfig, VisibleSampling, VisibleType,
};
use rbm_lab::trainer::{BatchOutcome, Continuation, TrainingRun};
use safetensors::{Dtype, SafeTensors};

/// Every method whose state carries over between batches: PCD particles (more than the batch),
/// momentum, centering offsets, sparsity means, binarisation streams, a schedule.
fn everything_config() -> TrainingConfig {
    TrainingConfig {
        learning_rate: 0.02,
        k: 2,
        batch_size: 25,
        sampling: VisibleSampling::Bernoulli,
        method: GradientMethod::Pcd,
        pcd_particles: 40,
        momentum: 0.9,
        momentum_warmup_epochs: 0.5,
        weight_decay: 0.001,
        sparsity_cost: 0.1,
        centering: true,
        binarize_data: true,
        lr_schedule: LrSchedule::Linear,
        planned_epochs: 4.0,
        ..TrainingConfig::default()
    }
}

fn configs() -> Vec<(&'static str, TrainingConfig)> {
    vec![
        ("every carried state", everything_config()),
        ("the tutorial", TrainingConfig { k: 2, batch_size: 25, ..TrainingConfig::default() }),
        (
            "the quality recipe",
            TrainingConfig { batch_size: 25, planned_epochs: 3.0, ..TrainingConfig::quality_recipe() },
        ),
        ("parallel tempering", tempering_config()),
    ]
}

/// Parallel tempering with everything else that carries over: its chains at every temperature,
/// the ladder, the swap rates and round count, the base biases.
fn tempering_config() -> TrainingConfig {
    TrainingConfig { method: GradientMethod::Pt, temperatures: 4, min_beta: 0.4, ..everything_config() }
}

fn spec() -> ModelSpec {
    ModelSpec { n_hidden: 24, seed: 11, initialisation: Initialisation::Hinton, ..ModelSpec::default() }
}

fn bytes_of(run: &TrainingRun) -> Vec<u8> {
    model_to_bytes(&run.model_file()).expect("a training run's file encodes")
}

fn train(run: &mut TrainingRun, batches: usize) -> Vec<u32> {
    (0..batches)
        .map(|_| match run.train_batch() {
            BatchOutcome::Trained(report) => report.loss.loss.to_bits(),
            other => panic!("the batch did not train: {other:?}"),
        })
        .collect()
}

#[test]
fn a_saved_and_loaded_run_continues_exactly_as_one_that_never_stopped() {
    let dataset = mnist_slice(300, 60);
    for (name, config) in configs() {
        let mut original = TrainingRun::new(dataset.clone(), spec(), config.clone(), MathPool::new(2));
        // 7 batches of 25: mid-epoch, with momentum buffers, particles and offsets in use.
        train(&mut original, 7);
        let bytes = bytes_of(&original);
        let file = model_from_bytes(&bytes).expect("the saved run loads");
        assert!(file == original.model_file(), "{name}: the file holds the run as it was");
        assert!((file.metadata.epochs_trained - 175.0 / 300.0).abs() < 1e-15, "{name}");

        let (mut resumed, continuation) =
            TrainingRun::from_file(dataset.clone(), file.clone(), MathPool::new(1)).expect("same image size");
        assert_eq!(continuation, Continuation::Exact, "{name}");
        assert!(bytes_of(&resumed) == bytes, "{name}: loading changes nothing");
        // 20 more batches cross two epoch boundaries (a new order, the loss sums restart).
        let original_losses = train(&mut original, 20);
        assert_eq!(train(&mut resumed, 20), original_losses, "{name}: same losses batch by batch");
        assert!(bytes_of(&resumed) == bytes_of(&original), "{name}: same model and state after continuing");

        // The control: without its state the same file continues differently, so the comparison
        // above depends on the state being carried over.
        let stateless = ModelFile { state: None, ..file };
        let (mut fresh, continuation) =
            TrainingRun::from_file(dataset.clone(), stateless, MathPool::new(1)).expect("same image size");
        assert!(matches!(continuation, Continuation::FreshState(_)), "{name}");
        assert!((fresh.epoch_position() - 175.0 / 300.0).abs() < 1e-15, "{name}: continues at the file's position");
        train(&mut fresh, 20);
        assert!(bytes_of(&fresh) != bytes_of(&original), "{name}: the state matters");
    }
}

#[test]
fn the_same_run_saves_the_same_bytes_and_another_seed_does_not() {
    let dataset = mnist_slice(200, 40);
    let run = |seed: u64| {
        let mut run =
            TrainingRun::new(dataset.clone(), ModelSpec { seed, ..spec() }, everything_config(), MathPool::new(2));
        train(&mut run, 11);
        bytes_of(&run)
    };
    assert!(run(3) == run(3), "same seed, same bytes");
    assert!(run(3) != run(4), "another seed, other bytes");
}

#[test]
fn a_state_for_another_training_set_is_not_used() {
    let mut run = TrainingRun::new(mnist_slice(300, 60), spec(), everything_config(), MathPool::new(1));
    train(&mut run, 7);
    let (other, continuation) =
        TrainingRun::from_file(mnist_slice(200, 60), run.model_file(), MathPool::new(1)).expect("same image size");
    let Continuation::FreshState(why) = continuation else { panic!("the state was used: {continuation:?}") };
    assert!(why.contains("300") && why.contains("200"), "{why}");
    // 175/300 of an epoch is 117 of 200 images.
    assert_eq!((other.epoch(), other.images_into_epoch()), (0, 117));
}

#[test]
fn a_diverged_batch_is_undone_completely_and_a_lower_rate_trains_on() {
    let dataset = mnist_slice(300, 60);
    let config = TrainingConfig { momentum_warmup_epochs: 0.0, ..everything_config() };
    let mut run = TrainingRun::new(dataset, spec(), config.clone(), MathPool::new(2));
    train(&mut run, 5);
    let before = bytes_of(&run);
    // lr x sparsity cost overflows: the very first batch puts infinities into the momentum buffer
    // and the weights (and NaN where they meet a zero).
    run.set_config(TrainingConfig { learning_rate: 3e38, sparsity_cost: 2.0, ..config.clone() });
    let position = run.epoch_position();
    let outcome = run.train_batch();
    assert!(
        matches!(outcome, BatchOutcome::Diverged { epoch_position, .. } if epoch_position == position),
        "{outcome:?}"
    );
    assert_eq!(run.epoch_position(), position, "back at the start of the batch");
    // Weights, momentum, offsets, sparsity means, particles, streams, position, loss sums (with
    // the settings put back, the file is the same).
    run.set_config(config);
    assert!(bytes_of(&run) == before, "the state before the bad batch, bit for bit");
    train(&mut run, 10);
    assert!(run.epoch_position() > position && run.rbm().is_finite());
}

#[test]
fn a_divergence_on_an_epochs_last_batch_leaves_that_batch_to_train() {
    // 100 images in batches of 64: the epoch's second batch is its last, with 36 images.
    let config = TrainingConfig { k: 2, batch_size: 64, ..TrainingConfig::default() };
    let mut run = TrainingRun::new(mnist_slice(100, 20), spec(), config.clone(), MathPool::new(2));
    train(&mut run, 1);
    let before = bytes_of(&run);
    run.set_config(TrainingConfig { learning_rate: 3e38, sparsity_cost: 2.0, ..config.clone() });
    assert!(matches!(run.train_batch(), BatchOutcome::Diverged { .. }));
    run.set_config(config);
    assert!(bytes_of(&run) == before, "back before the epoch's last batch");
    assert_eq!((run.epoch(), run.images_into_epoch()), (0, 64));
    match run.train_batch() {
        BatchOutcome::Trained(report) => {
            assert_eq!(report.rows, 36, "the last batch's images, not an empty batch");
            assert!(report.finished_epoch.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((run.epoch(), run.images_into_epoch()), (1, 0));
    assert!(matches!(run.train_batch(), BatchOutcome::Trained(report) if report.rows == 64));
}

// ---------------------------------------------------------------- the file section

type Tensors = Vec<(String, Raw)>;
type Entries = HashMap<String, String>;

/// `bytes` re-encoded after `edit` changed its tensors and metadata entries.
fn edited(bytes: &[u8], edit: impl FnOnce(&mut Tensors, &mut Entries)) -> Vec<u8> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let mut tensors: Tensors = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (name, Raw { dtype: view.dtype(), shape: view.shape().to_vec(), bytes: view.data().to_vec() })
        })
        .collect();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let mut entries = header.metadata().clone().unwrap();
    edit(&mut tensors, &mut entries);
    safetensors::serialize(tensors, Some(entries)).unwrap()
}

fn tensor<'a>(tensors: &'a mut Tensors, name: &str) -> &'a mut Raw {
    &mut tensors.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no tensor {name}")).1
}

fn state_entry(entries: &mut Entries, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value = serde_json::from_str(&entries[STATE_KEY]).unwrap();
    edit(&mut value);
    entries.insert(STATE_KEY.into(), value.to_string());
}

fn saved_run() -> Vec<u8> {
    saved_run_of(everything_config())
}

fn saved_run_of(config: TrainingConfig) -> Vec<u8> {
    let mut run = TrainingRun::new(mnist_slice(200, 40), spec(), config, MathPool::new(1));
    train(&mut run, 3);
    bytes_of(&run)
}

#[test]
fn the_state_section_is_extra_tensors_and_an_entry_that_other_readers_ignore() {
    let bytes = saved_run();
    let file = SafeTensors::deserialize(&bytes).expect("a plain safetensors file");
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        [
            "W",
            "b_h",
            "b_v",
            "state.chain_streams",
            "state.data_streams",
            "state.hidden_activity",
            "state.hidden_offset",
            "state.particles",
            "state.shuffle_stream",
            "state.velocity_W",
            "state.velocity_b_h",
            "state.velocity_b_v",
            "state.visible_offset",
        ]
    );
    let shape = |name: &str| {
        let t = file.tensor(name).unwrap();
        (t.dtype(), t.shape().to_vec())
    };
    assert_eq!(shape("state.chain_streams"), (Dtype::U64, vec![40, 4]), "40 particles, one stream each");
    assert_eq!(shape("state.data_streams"), (Dtype::U64, vec![25, 4]));
    assert_eq!(shape("state.shuffle_stream"), (Dtype::U64, vec![4]));
    assert_eq!(shape("state.particles"), (Dtype::F32, vec![40, 784]));
    assert_eq!(shape("state.velocity_W"), (Dtype::F32, vec![784, 24]));
    // The model itself reads as before: W, b_v, b_h and the `rbm_lab` entry, unchanged in meaning.
    let model = model_from_bytes(&bytes).unwrap();
    let without_state = model_to_bytes(&ModelFile { state: None, ..model.clone() }).unwrap();
    let plain = model_from_bytes(&without_state).unwrap();
    assert_eq!((plain.rbm, plain.metadata, plain.state), (model.rbm, model.metadata, None));
    let (_, header) = SafeTensors::read_metadata(&without_state).unwrap();
    assert!(!header.metadata().as_ref().unwrap().contains_key(STATE_KEY));
}

#[test]
fn a_damaged_state_section_is_an_error_that_names_it() {
    let good = saved_run();
    assert!(model_from_bytes(&edited(&good, |_, _| {})).unwrap().state.is_some(), "re-encoding alone is fine");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a state tensor of the wrong shape",
            edited(&good, |t, _| tensor(t, "state.velocity_W").shape = vec![24, 784]),
            "state.velocity_W",
        ),
        (
            "NaN particles",
            edited(&good, |t, _| tensor(t, "state.particles").bytes[8..12].copy_from_slice(&f32::NAN.to_le_bytes())),
            "particles",
        ),
        (
            "an infinite offset",
            edited(&good, |t, _| {
                tensor(t, "state.hidden_offset").bytes[..4].copy_from_slice(&f32::INFINITY.to_le_bytes())
            }),
            "hidden centering offset",
        ),
        (
            "a missing tensor",
            edited(&good, |t, _| t.retain(|(n, _)| n != "state.hidden_activity")),
            "state.hidden_activity",
        ),
        (
            "an unannounced tensor",
            edited(&good, |t, _| {
                t.push(("state.extra".into(), Raw { dtype: Dtype::F32, shape: vec![1], bytes: vec![0; 4] }))
            }),
            "state.extra",
        ),
        ("tensors without the entry", edited(&good, |_, e| drop(e.remove(STATE_KEY))), "state."),
        (
            "streams stored as floats",
            edited(&good, |t, _| tensor(t, "state.data_streams").dtype = Dtype::F64),
            "state.data_streams",
        ),
        (
            "an all-zero stream",
            edited(&good, |t, _| tensor(t, "state.shuffle_stream").bytes.fill(0)),
            "state.shuffle_stream",
        ),
        (
            "a position past the end of the epoch",
            edited(&good, |_, e| state_entry(e, |v| v["cursor"] = 200.into())),
            "200 images into an epoch of 200",
        ),
        (
            "a position the metadata disagrees with",
            edited(&good, |_, e| state_entry(e, |v| v["cursor"] = 50.into())),
            "epochs_trained",
        ),
        (
            "a capacity the streams do not have",
            edited(&good, |_, e| state_entry(e, |v| v["workspace_capacity"] = 1_000_000_000_000u64.into())),
            "state.data_streams",
        ),
        ("a newer state version", edited(&good, |_, e| state_entry(e, |v| v["state_version"] = 3.into())), "newer"),
        ("an unknown field", edited(&good, |_, e| state_entry(e, |v| v["extra"] = 1.into())), "extra"),
        ("an entry that is not JSON", edited(&good, |_, e| drop(e.insert(STATE_KEY.into(), "{".into()))), "JSON"),
    ];
    for (case, bytes, named) in cases {
        expect_bad_state(case, &bytes, named);
    }
}

fn expect_bad_state(case: &str, bytes: &[u8], named: &str) {
    match model_from_bytes(bytes) {
        Err(error @ ModelFileError::BadState(_)) => {
            let message = error.to_string();
            assert!(message.contains("training state") && message.contains(named), "{case}: {message}");
        }
        other => panic!("{case}: {other:?}"),
    }
}

#[test]
fn a_tempering_state_is_version_two_and_checked_as_strictly() {
    let good = saved_run_of(tempering_config());
    let file = SafeTensors::deserialize(&good).unwrap();
    let shape = |name: &str| file.tensor(name).map(|t| (t.dtype(), t.shape().to_vec())).ok();
    assert_eq!(shape("state.particles"), Some((Dtype::F32, vec![4 * 40, 784])), "40 particles at 4 temperatures");
    assert_eq!(shape("state.chain_streams"), Some((Dtype::U64, vec![4 * 40, 4])), "one stream per chain");
    assert_eq!(shape("state.tempering_base"), Some((Dtype::F32, vec![784])));
    let (_, header) = SafeTensors::read_metadata(&good).unwrap();
    let entry: serde_json::Value = serde_json::from_str(&header.metadata().as_ref().unwrap()[STATE_KEY]).unwrap();
    assert_eq!(entry["state_version"], 2);
    assert_eq!(entry["tempering"]["betas"].as_array().map(Vec::len), Some(4));
    assert_eq!(entry["tempering"]["rounds"], 3 * 2, "3 updates of k = 2 rounds");
    // Files without tempering stay version 1, which builds before parallel tempering read.
    let (_, plain) = SafeTensors::read_metadata(&saved_run()).unwrap();
    assert!(plain.metadata().as_ref().unwrap()[STATE_KEY].contains("\"state_version\":1"));

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "tempering in a version 1 entry",
            edited(&good, |_, e| state_entry(e, |v| v["state_version"] = 1.into())),
            "version 1 but parallel tempering",
        ),
        (
            "a ladder that does not start at 1",
            edited(&good, |_, e| state_entry(e, |v| v["tempering"]["betas"][0] = 0.9.into())),
            "does not start at β = 1",
        ),
        (
            "a rising ladder",
            edited(&good, |_, e| state_entry(e, |v| v["tempering"]["betas"][3] = 0.95.into())),
            "not a decreasing list",
        ),
        (
            "a ladder beyond the limit",
            edited(&good, |_, e| {
                state_entry(e, |v| {
                    v["tempering"]["betas"] = vec![1.0; 101].into();
                    v["tempering"]["swap_rates"] = vec![0.5; 100].into();
                })
            }),
            "101 temperatures; the limit is 100",
        ),
        (
            "a swap rate above 1",
            edited(&good, |_, e| state_entry(e, |v| v["tempering"]["swap_rates"][1] = 1.5.into())),
            "swap rates",
        ),
        (
            "a rate too few",
            edited(&good, |_, e| state_entry(e, |v| drop(v["tempering"]["swap_rates"].as_array_mut().unwrap().pop()))),
            "2 swap rates for 4 temperatures",
        ),
        (
            "chains that are not whole ladders",
            edited(&good, |t, e| {
                let particles = tensor(t, "state.particles");
                particles.shape = vec![4 * 40 - 1, 784];
                particles.bytes.truncate((4 * 40 - 1) * 784 * 4);
                state_entry(e, |v| v["particles"] = (4 * 40 - 1).into());
            }),
            "multiple of the 4 temperatures",
        ),
        (
            "a missing base",
            edited(&good, |t, _| t.retain(|(n, _)| n != "state.tempering_base")),
            "state.tempering_base",
        ),
        (
            "an infinite base bias",
            edited(&good, |t, _| {
                tensor(t, "state.tempering_base").bytes[..4].copy_from_slice(&f32::INFINITY.to_le_bytes())
            }),
            "tempering base",
        ),
    ];
    for (case, bytes, named) in cases {
        expect_bad_state(case, &bytes, named);
    }
}

#[test]
fn a_state_that_loading_would_refuse_is_not_saved() {
    let mut file = model_from_bytes(&saved_run()).unwrap();
    let state = file.state.as_mut().unwrap();
    state.workspace.hidden_offset[3] = f32::NAN;
    assert!(matches!(model_to_bytes(&file), Err(ModelFileError::BadState(_))));
    let mut file = model_from_bytes(&saved_run()).unwrap();
    file.metadata.epochs_trained += 1.0;
    assert!(matches!(model_to_bytes(&file), Err(ModelFileError::BadState(_))));
}

/// A run holds one kind of model, and only a binary model's run resumes exactly: a classification
/// RBM's run continues with fresh chains and a Gaussian–Bernoulli one with a fresh workspace, so
/// neither has a training state to save. Each reports the weights before its latest batch.
#[test]
fn only_a_binary_models_run_has_a_training_state() {
    let dataset = mnist_slice(200, 40);
    let binary_config =
        TrainingConfig { batch_size: 50, sampling: VisibleSampling::Bernoulli, ..TrainingConfig::default() };
    let gaussian_config = TrainingConfig { batch_size: 50, ..rbm_lab::model::gaussian::default_config() };
    let plain = ModelSpec { n_hidden: 24, seed: 11, ..ModelSpec::default() };
    let kinds = [
        ("binary", plain.clone(), binary_config.clone()),
        ("labelled", ModelSpec { label_classes: 10, ..plain.clone() }, binary_config),
        ("Gaussian", ModelSpec { visible: VisibleType::Gaussian, ..plain }, gaussian_config),
    ];
    for (kind, spec, config) in kinds {
        let mut run = TrainingRun::new(dataset.clone(), spec, config, MathPool::new(1));
        let before = run.rbm().weights_slice().to_vec();
        train(&mut run, 1);
        assert_eq!(run.weights_before_batch(), before, "{kind}: the weights before the batch");
        assert_ne!(run.rbm().weights_slice(), before, "{kind}: the batch trained the weights");
        let binary = kind == "binary";
        assert_eq!(run.state().is_some(), binary, "{kind}: a training state");
        assert_eq!(run.model_file().state.is_some(), binary, "{kind}: a saved training state");
        assert_eq!(run.labels().is_some(), kind == "labelled", "{kind}: label units");
        assert_eq!(run.gaussian().is_some(), kind == "Gaussian", "{kind}: Gaussian visibles");
        assert!(run.swap_rates().is_empty(), "{kind}: no tempering");
    }
}
