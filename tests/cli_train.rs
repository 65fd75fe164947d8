//! `rbm-lab train` (and `eval`'s Ctrl+C) through the real binary, on a 1,000-image IDX folder cut
//! from the embedded MNIST: exact epochs, reproducible files, signals, checkpoints, resume.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rbm_lab::io::{ModelFile, ModelMetadata, load_model, save_model};
use rbm_lab::model::{Initialisation, ModelSpec, Rbm, TrainingConfig};

/// A folder with 1,000 training and 200 test images, written once per test run.
fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        common::write_idx_folder(dir.path(), 1000, 200);
        dir
    })
    .path()
}

fn rbm_lab(args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rbm-lab"));
    command.args(args).stdin(Stdio::null());
    command
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `train` on the test folder with `threads` math threads and `args`.
fn train_on(threads: &str, args: &[&str]) -> Vec<String> {
    let data = data_dir().to_str().expect("a UTF-8 temporary path");
    let mut all = strings(&["--data", data, "--threads", threads, "train"]);
    all.extend(strings(args));
    all
}

/// `train` on the test folder with one math thread and `args`.
fn train_args(args: &[&str]) -> Vec<String> {
    train_on("1", args)
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Waits for `child`, killing it (and failing) after `limit`, so that a hang fails the test.
fn finish(mut child: Child, limit: Duration) -> Finished {
    let stdout = child.stdout.take().map(|out| std::thread::spawn(move || std::io::read_to_string(out).unwrap()));
    let stderr = child.stderr.take().map(|err| std::thread::spawn(move || std::io::read_to_string(err).unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rbm-lab took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = |reader: Option<std::thread::JoinHandle<String>>| reader.map(|r| r.join().unwrap()).unwrap_or_default();
    Finished { status, stdout: text(stdout), stderr: text(stderr) }
}

fn run(args: &[String]) -> Finished {
    let child = rbm_lab(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
    finish(child, Duration::from_secs(300))
}

fn run_ok(args: &[String]) -> Finished {
    let done = run(args);
    assert!(done.status.success(), "{args:?} failed: {}\n{}", done.stdout, done.stderr);
    done
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args(["-s", name, &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
}

/// Runs `args` and, once a stdout line contains `when` (the end of the first epoch), waits a third
/// of the time that took, so that the run is inside its next epoch (a signal at once would often
/// find it between two epochs), then sends `signals` with `gap` between them; returns how it ended,
/// with stdout's lines in `stdout`.
fn run_and_signal(args: &[String], when: &str, signals: &[&str], gap: Duration) -> Finished {
    let started = Instant::now();
    let mut child = rbm_lab(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let mut seen = String::new();
    loop {
        let line = lines.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|_| panic!("no `{when}` in {seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(when) {
            break;
        }
    }
    std::thread::sleep(started.elapsed() / 3);
    for (i, name) in signals.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(gap);
        }
        signal(&child, name);
    }
    let mut done = finish(child, Duration::from_secs(120));
    reader.join().unwrap();
    seen.extend(lines.try_iter().map(|line| line + "\n"));
    done.stdout = seen;
    done
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// The lines `epoch N/M: ...` as (N, the learning rate printed).
fn epoch_rates(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let (epoch, rest) = line.strip_prefix("epoch ")?.split_once(':')?;
            let lr = rest.split(", ").find_map(|part| part.strip_prefix("lr "))?;
            Some((epoch.to_owned(), lr.to_owned()))
        })
        .collect()
}

#[test]
fn epochs_are_exact_and_the_same_seed_gives_the_same_bytes_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name);
    let train = |threads: &str, seed: &str, path: &Path| {
        run_ok(&train_on(
            threads,
            &["--epochs", "2", "--hidden", "64", "--k", "2", "--seed", seed, "--out", path_str(path)],
        ))
    };
    let first = train("1", "5", &out("a.safetensors"));
    assert!(first.stdout.contains("epoch 2/2"), "{}", first.stdout);
    train("2", "5", &out("b.safetensors"));
    train("2", "6", &out("c.safetensors"));

    let a = load_model(&out("a.safetensors")).unwrap();
    assert_eq!(a.metadata.epochs_trained, 2.0, "exactly the epochs asked for");
    assert_eq!(a.metadata.samples_seen, 2000);
    assert_eq!(a.metadata.training.planned_epochs, 2.0);
    assert!(a.state.is_some(), "the file carries its training state");
    assert!(bytes(&out("a.safetensors")) == bytes(&out("b.safetensors")), "same seed, same bytes");
    assert!(bytes(&out("a.safetensors")) != bytes(&out("c.safetensors")), "another seed, other bytes");
    assert!(!out("a.checkpoint.safetensors").exists());
}

/// Trains `flags` for 3 epochs without stopping; then again, stopped by `signal_name` early in the
/// second epoch, and resumed with the same arguments: the two files must be the same bytes.
fn interrupted_and_resumed_equals_uninterrupted(flags: &[&str], signal_name: &str, status: i32) {
    let dir = tempfile::tempdir().unwrap();
    let (whole, stopped) = (dir.path().join("whole.safetensors"), dir.path().join("stopped.safetensors"));
    let with = |out: &Path, extra: &[&str]| {
        let mut args = train_args(&["--epochs", "3", "--out", path_str(out)]);
        args.extend(strings(flags));
        args.extend(strings(extra));
        args
    };
    run_ok(&with(&whole, &[]));

    let done = run_and_signal(&with(&stopped, &[]), "epoch 1/3", &[signal_name], Duration::ZERO);
    assert_eq!(done.status.code(), Some(status), "{}\n{}", done.stdout, done.stderr);
    assert!(done.stderr.contains("--resume"), "says how to continue: {}", done.stderr);
    let saved = load_model(&stopped).expect("the stopped run's file loads");
    let position = saved.metadata.epochs_trained;
    assert!(position > 1.0 && position < 3.0 && position.fract() != 0.0, "stopped at epoch {position}");
    assert!(saved.state.is_some());

    let resumed = run_ok(&with(&stopped, &["--resume", path_str(&stopped)]));
    assert!(resumed.stdout.contains(&format!("resuming {} at epoch {position:.2} of 3", stopped.display())));
    let resumed_file = load_model(&stopped).unwrap();
    assert_eq!(resumed_file.metadata.epochs_trained, 3.0);
    assert!(bytes(&stopped) == bytes(&whole), "the resumed run's file is the uninterrupted run's, byte for byte");
}

#[test]
fn a_stopped_and_resumed_quality_recipe_run_equals_an_uninterrupted_one() {
    // PCD, centering, binarised data, a linear schedule and momentum: every kind of carried state.
    let flags = [
        "--hidden",
        "400",
        "--k",
        "5",
        "--method",
        "pcd",
        "--sampling",
        "bernoulli",
        "--binarize",
        "--init",
        "hinton",
        "--centering",
        "--batch",
        "50",
        "--lr",
        "0.01",
        "--lr-schedule",
        "linear",
        "--momentum",
        "0.9",
        "--momentum-warmup",
        "1",
        "--seed",
        "3",
    ];
    interrupted_and_resumed_equals_uninterrupted(&flags, "INT", 130);
}

#[test]
fn a_stopped_and_resumed_tempering_run_equals_an_uninterrupted_one() {
    // The chains at every temperature, the ladder, the swap rounds and rates carry over.
    let flags = [
        "--hidden",
        "64",
        "--k",
        "1",
        "--method",
        "pt",
        "--temperatures",
        "4",
        "--min-beta",
        "0.4",
        "--particles",
        "30",
        "--sampling",
        "bernoulli",
        "--binarize",
        "--init",
        "hinton",
        "--centering",
        "--batch",
        "20",
        "--seed",
        "2",
    ];
    interrupted_and_resumed_equals_uninterrupted(&flags, "INT", 130);
}

#[test]
fn tempering_prints_its_swap_rates_at_each_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pt.safetensors");
    let flags = ["--epochs", "2", "--hidden", "32", "--method", "pt", "--temperatures", "5", "--min-beta", "0.5"];
    let done = run_ok(&train_args(&[&flags[..], &["--out", path_str(&out)]].concat()));
    let rates: Vec<Vec<f64>> = done
        .stdout
        .lines()
        .filter(|line| line.starts_with("epoch "))
        .map(|line| {
            let (_, rates) = line.split_once("swap rates ").unwrap_or_else(|| panic!("no swap rates in {line}"));
            rates.split(' ').map(|rate| rate.parse().expect("a number")).collect()
        })
        .collect();
    assert_eq!(rates.len(), 2, "{}", done.stdout);
    assert!(rates.iter().all(|r| r.len() == 4 && r.iter().all(|x| (0.0..=1.0).contains(x))), "{rates:?}");
    let model = load_model(&out).unwrap();
    assert_eq!((model.metadata.training.temperatures, model.metadata.training.min_beta), (5, 0.5));
    // Other methods print no rates.
    let plain = run_ok(&train_args(&["--epochs", "1", "--hidden", "8", "--out", path_str(&out)]));
    assert!(!plain.stdout.contains("swap rates"), "{}", plain.stdout);
}

#[test]
fn a_terminated_and_resumed_tutorial_run_equals_an_uninterrupted_one() {
    interrupted_and_resumed_equals_uninterrupted(&["--hidden", "256", "--seed", "4"], "TERM", 143);
}

#[test]
fn a_second_ctrl_c_exits_at_once_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.safetensors");
    // One batch of 1,000 images an epoch on a large model with long chains: a batch takes about
    // a second on one thread (longer under load), so both signals, 50 ms apart, come while the
    // second batch runs, and the first cannot be answered by a finished batch and a write.
    let args =
        train_args(&["--epochs", "50", "--hidden", "800", "--batch", "1000", "--k", "30", "--out", path_str(&out)]);
    let done = run_and_signal(&args, "epoch 1/50", &["INT", "INT"], Duration::from_millis(50));
    assert_eq!(done.status.code(), Some(130), "{}", done.stderr);
    assert!(!out.exists(), "nothing written");
}

#[test]
fn kill_9_during_checkpoints_leaves_a_checkpoint_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("long.safetensors");
    let checkpoint = dir.path().join("long.checkpoint.safetensors");
    // A checkpoint every 30 ms, so that the kills land during writes as well as between them.
    let args = train_args(&[
        "--epochs",
        "1000",
        "--hidden",
        "64",
        "--k",
        "1",
        "--checkpoint-every",
        "0.0005",
        "--out",
        path_str(&out),
    ]);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut found = 0;
    for round in 0..6 {
        let mut child = rbm_lab(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        // xorshift: kills at varied moments, the same on every test run.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::thread::sleep(Duration::from_millis(300 + state % 700));
        child.kill().unwrap();
        let stdout = std::io::read_to_string(child.stdout.take().unwrap()).unwrap();
        child.wait().unwrap();
        assert_eq!(stdout.matches("checkpoints every").count(), 1, "says where, once: {stdout}");
        if checkpoint.exists() {
            let file = load_model(&checkpoint).unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert!(file.state.is_some() && file.metadata.epochs_trained > 0.0);
            found += 1;
        }
        assert!(!out.exists(), "the final file is written only at the end");
    }
    assert!(found >= 4, "a checkpoint in only {found} of 6 rounds");

    // And a checkpoint resumes like any saved run.
    let position = load_model(&checkpoint).unwrap().metadata.epochs_trained;
    let target = (position.floor() as usize + 1).to_string();
    run_ok(&train_args(&["--epochs", &target, "--resume", path_str(&checkpoint), "--out", path_str(&out)]));
    assert_eq!(load_model(&out).unwrap().metadata.epochs_trained, target.parse::<f64>().unwrap());
}

#[test]
fn an_out_that_cannot_be_written_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let cases: Vec<(&str, PathBuf)> = vec![
        ("a folder", dir.path().to_path_buf()),
        // Root may write anywhere, but not inside a regular file.
        ("a path through a regular file", file.join("model.safetensors")),
        ("a missing folder", dir.path().join("missing").join("model.safetensors")),
        ("a device", PathBuf::from("/dev/null")),
    ];
    for (case, out) in cases {
        // The embedded MNIST: a run that trained first would take seconds and print its progress.
        let done = run(&strings(&["train", "--epochs", "1", "--out", path_str(&out)]));
        assert_eq!(done.status.code(), Some(1), "{case}");
        assert_eq!(done.stdout, "", "{case}: nothing trained");
        let lines: Vec<&str> = done.stderr.lines().collect();
        assert!(lines.len() == 1 && lines[0].starts_with("rbm-lab: --out: "), "{case}: {}", done.stderr);
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a folder");
}

#[test]
fn resume_follows_the_schedule_from_the_file_s_position() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name);
    let schedule =
        ["--hidden", "64", "--k", "2", "--lr", "0.05", "--lr-schedule", "linear", "--final-lr-fraction", "0.1"];
    let train = |epochs: &str, path: &Path, extra: &[&str]| {
        let mut args = train_args(&["--epochs", epochs, "--out", path_str(path)]);
        args.extend(strings(&schedule));
        args.extend(strings(extra));
        run_ok(&args)
    };
    let whole = train("3", &out("whole.safetensors"), &[]);
    let whole_rates = epoch_rates(&whole.stdout);
    assert_eq!(whole_rates.len(), 3, "{}", whole.stdout);

    // One epoch, its training state dropped: the run continues from the recorded position alone.
    train("1", &out("one.safetensors"), &[]);
    let one = load_model(&out("one.safetensors")).unwrap();
    save_model(&out("one-plain.safetensors"), &ModelFile { state: None, ..one }).unwrap();
    let resumed = train("3", &out("resumed.safetensors"), &["--resume", path_str(&out("one-plain.safetensors"))]);
    assert!(resumed.stdout.contains("fresh"), "says the state is fresh: {}", resumed.stdout);
    assert_eq!(epoch_rates(&resumed.stdout), whole_rates[1..], "epochs 2 and 3 at the uninterrupted run's rates");
    assert_eq!(load_model(&out("resumed.safetensors")).unwrap().metadata.epochs_trained, 3.0);

    // A file that has reached --epochs: an error that says what to pass.
    let whole_file = out("whole.safetensors");
    let done = run(&train_args(&["--epochs", "3", "--resume", path_str(&whole_file), "--out", path_str(&out("more"))]));
    assert_eq!(done.status.code(), Some(1));
    assert!(
        done.stderr.contains("already at epoch 3.00") && done.stderr.contains("larger --epochs"),
        "{}",
        done.stderr
    );
}

#[test]
fn ctrl_c_cancels_eval_promptly_and_prints_no_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.safetensors");
    let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
    let rbm = Rbm::initialised(784, 500, Initialisation::Xavier, &[], &mut rng);
    let metadata = ModelMetadata::new("MNIST 1000", 28, 28, TrainingConfig::default(), ModelSpec::default());
    save_model(&path, &ModelFile::new(rbm, metadata)).unwrap();

    let data = path_str(data_dir());
    let child = rbm_lab(&strings(&["--data", data, "eval", path_str(&path), "--runs", "100"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // AIS over 14,501 temperatures on 784x500 takes far longer than this.
    std::thread::sleep(Duration::from_secs(2));
    signal(&child, "INT");
    let signalled = Instant::now();
    let done = finish(child, Duration::from_secs(60));
    assert!(signalled.elapsed() < Duration::from_secs(20), "took {:?} to stop", signalled.elapsed());
    assert_eq!(done.status.code(), Some(130), "{}", done.stderr);
    assert!(done.stderr.contains("cancelled"), "{}", done.stderr);
    assert!(!done.stdout.contains("log Z") && !done.stdout.contains("log-likelihood"), "{}", done.stdout);
}

#[test]
fn eval_prints_raise_s_bound_beside_the_log_z_estimate_and_skips_it_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.safetensors");
    let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(2);
    let rbm = Rbm::initialised(784, 30, Initialisation::Xavier, &[], &mut rng);
    let metadata = ModelMetadata::new("MNIST 1000", 28, 28, TrainingConfig::default(), ModelSpec::default());
    save_model(&path, &ModelFile::new(rbm, metadata)).unwrap();
    let data = path_str(data_dir());
    let eval = |extra: &[&str]| {
        let mut args = strings(&["--data", data, "eval", path_str(&path), "--runs", "20", "--betas", "200"]);
        args.extend(strings(extra));
        args
    };
    let done = run_ok(&eval(&["--raise-images", "7", "--raise-runs", "3"]));
    let line = done.stdout.lines().find(|l| l.starts_with("RAISE lower bound:")).unwrap_or_else(|| {
        panic!("no RAISE line in {}", done.stdout);
    });
    assert!(
        line.contains("the first 7 test images, 3 reverse runs each") && line.contains("on the same images"),
        "{line}"
    );
    let skipped = run_ok(&eval(&["--raise-images", "0"]));
    assert!(!skipped.stdout.contains("RAISE"), "{}", skipped.stdout);
    let refused = run(&eval(&["--raise-images", "5", "--raise-runs", "0"]));
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stderr);
    assert!(refused.stderr.contains("--raise-runs"), "{}", refused.stderr);
}

#[test]
fn probe_prints_both_accuracies_and_one_line_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.safetensors");
    let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(3);
    let rbm = Rbm::initialised(784, 20, Initialisation::Xavier, &[], &mut rng);
    let metadata = ModelMetadata::new("MNIST 1000", 28, 28, TrainingConfig::default(), ModelSpec::default());
    save_model(&path, &ModelFile::new(rbm, metadata)).unwrap();
    let data = path_str(data_dir());
    let done = run_ok(&strings(&["--data", data, "probe", path_str(&path), "--epochs", "2"]));
    let percent = |prefix: &str| -> f64 {
        let line = done.stdout.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{}", done.stdout));
        line.rsplit(' ').next().and_then(|p| p.strip_suffix('%')).and_then(|p| p.parse().ok()).expect("a percentage")
    };
    // An untrained model's 20 features carry little; 1,000 images and 2 epochs take the pixels
    // well above chance.
    assert!((0.0..=100.0).contains(&percent("linear probe on p(h|v) (20 features)")), "{}", done.stdout);
    assert!(percent("raw-pixel baseline (784 features)") > 60.0, "{}", done.stdout);
    assert_eq!(done.stdout.lines().filter(|l| l.starts_with("  ") && l.contains(" images)")).count(), 10);
    let refused = run(&strings(&["--data", data, "probe", path_str(&path), "--epochs", "0"]));
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stderr.contains("--epochs") && refused.stderr.contains("between 1 and 1000"), "{}", refused.stderr);
}

/// `--thresholded` trains exactly as files thresholded beforehand do (PyDeep's loader: intensity
/// below 0.5 is 0), names the dataset so, and `eval` says which test images it measured and warns
/// when they are not the kind the model learned.
#[test]
fn thresholded_training_equals_training_on_thresholded_files_and_eval_says_which_images() {
    let dir = tempfile::tempdir().unwrap();
    let thresholded = dir.path().join("thresholded-by-hand");
    std::fs::create_dir(&thresholded).unwrap();
    common::write_idx_folder(&thresholded, 1000, 200);
    for name in ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"] {
        let path = thresholded.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        // The pixels follow the 16-byte IDX header.
        bytes[16..].iter_mut().for_each(|p| *p = if *p >= 128 { 255 } else { 0 });
        std::fs::write(&path, bytes).unwrap();
    }
    let recipe = [
        "--hidden",
        "16",
        "--k",
        "1",
        "--method",
        "pcd",
        "--sampling",
        "bernoulli",
        "--binarize",
        "--centering",
        "--batch",
        "100",
        "--epochs",
        "2",
        "--seed",
        "3",
    ];
    let out = |name: &str| dir.path().join(name);
    let (flagged, by_hand, grey) = (out("flag.safetensors"), out("files.safetensors"), out("grey.safetensors"));
    let mut args = train_args(&recipe);
    args.extend(strings(&["--thresholded", "--out", path_str(&flagged)]));
    run_ok(&args);
    let mut args = strings(&["--data", path_str(&thresholded), "--threads", "1", "train"]);
    args.extend(strings(&recipe));
    args.extend(strings(&["--out", path_str(&by_hand)]));
    run_ok(&args);
    let mut args = train_args(&recipe);
    args.extend(strings(&["--out", path_str(&grey)]));
    run_ok(&args);
    let (flagged_model, by_hand_model) = (load_model(&flagged).unwrap(), load_model(&by_hand).unwrap());
    assert_eq!(flagged_model.rbm, by_hand_model.rbm);
    assert_eq!(flagged_model.state, by_hand_model.state);
    assert_ne!(flagged_model.rbm, load_model(&grey).unwrap().rbm, "thresholding changed nothing");
    assert!(flagged_model.metadata.dataset.ends_with(" (thresholded)"), "{}", flagged_model.metadata.dataset);

    let data = path_str(data_dir());
    let eval = |model: &Path, extra: &[&str]| {
        let mut args = strings(&["--data", data, "eval", path_str(model), "--raise-images", "0"]);
        args.extend(strings(extra));
        run_ok(&args)
    };
    let as_trained = eval(&flagged, &["--thresholded"]);
    assert!(as_trained.stdout.contains("200 thresholded test images"), "{}", as_trained.stdout);
    assert!(!as_trained.stderr.contains("note:"), "{}", as_trained.stderr);
    let drawn = eval(&flagged, &[]);
    assert!(drawn.stdout.contains("200 binarised test images"), "{}", drawn.stdout);
    assert!(drawn.stderr.contains("add --thresholded"), "{}", drawn.stderr);
    let grey_thresholded = eval(&grey, &["--thresholded"]);
    assert!(grey_thresholded.stderr.contains("leave out --thresholded"), "{}", grey_thresholded.stderr);
    // The two test sets are different data, so the same model scores differently on them.
    let test_line = |stdout: &str| stdout.lines().find(|l| l.starts_with("test  log-likelihood")).unwrap().to_string();
    assert_ne!(test_line(&as_trained.stdout), test_line(&drawn.stdout));
}
