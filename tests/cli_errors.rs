//! The command line's errors through the real binary: for bad files, bad folders, bad numbers and
//! every size limit, rbm-lab exits with status 1 and one line on stderr starting with `rbm-lab: `
//! that says what is wrong (and, for a limit, the value and the limit), and writes nothing to
//! `--out`. Each run is killed after 60 s, so a hang fails the test instead of blocking it.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use rbm_lab::io::{ModelFile, ModelMetadata, model_to_bytes, save_model};
use rbm_lab::model::{ModelSpec, Rbm, TrainingConfig};

const TIMEOUT: Duration = Duration::from_secs(60);

struct Outcome {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs rbm-lab with `args` (no display, so that nothing can open a window), killing it after
/// [`TIMEOUT`].
fn rbm_lab<S: AsRef<OsStr>>(args: &[S]) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rbm-lab"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rbm-lab binary starts");
    // Drained on threads, so that a chatty child never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for rbm-lab") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let args: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
            panic!("rbm-lab {} did not finish within {TIMEOUT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        status: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Exit status 1, nothing on stdout, and exactly one line on stderr starting with `rbm-lab: ` and
/// containing each of `fragments`.
#[track_caller]
fn assert_error(outcome: &Outcome, fragments: &[&str]) {
    let Outcome { status, stdout, stderr } = outcome;
    let context = format!("status {status:?}\nstdout: {stdout}\nstderr: {stderr}");
    assert_eq!(*status, Some(1), "{context}");
    assert_eq!(stderr.lines().count(), 1, "one line on stderr; {context}");
    assert!(stderr.starts_with("rbm-lab: "), "{context}");
    for fragment in fragments {
        assert!(stderr.contains(fragment), "expected {fragment:?}; {context}");
    }
    assert!(stdout.is_empty(), "{context}");
}

fn args(parts: &[&dyn AsRef<OsStr>]) -> Vec<OsString> {
    parts.iter().map(|p| p.as_ref().to_owned()).collect()
}

/// rbm-lab with `first` (paths and words) followed by `extra` words.
fn rbm_lab_with(first: &[&dyn AsRef<OsStr>], extra: &[&str]) -> Outcome {
    let mut command = args(first);
    command.extend(extra.iter().map(OsString::from));
    rbm_lab(&command)
}

/// A model of `rows x cols` visible and `hidden` hidden units with small weights.
fn model(rows: usize, cols: usize, hidden: usize) -> ModelFile {
    let visible = rows * cols;
    let weights = (0..visible * hidden).map(|i| ((i % 17) as f32 - 8.0) * 1e-3).collect();
    let rbm = Rbm::from_parameters(visible, hidden, weights, vec![-1.0; visible], vec![0.0; hidden]).unwrap();
    let spec = ModelSpec { n_hidden: hidden, ..ModelSpec::default() };
    ModelFile::new(rbm, ModelMetadata::new("MNIST", rows, cols, TrainingConfig::default(), spec))
}

fn saved_model(dir: &Path, name: &str, model: &ModelFile) -> PathBuf {
    let path = dir.join(name);
    save_model(&path, model).unwrap();
    path
}

/// An IDX file: magic for unsigned bytes with `dims.len()` dimensions, the dimensions, the data.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// A folder with training images of `rows x cols` (and labels) and no test files.
fn dataset_folder(dir: &Path, name: &str, count: u32, rows: u32, cols: u32) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let pixels = vec![100u8; (count * rows * cols) as usize];
    std::fs::write(folder.join("train-images-idx3-ubyte"), idx(&[count, rows, cols], &pixels)).unwrap();
    std::fs::write(folder.join("train-labels-idx1-ubyte"), idx(&[count], &vec![0; count as usize])).unwrap();
    folder
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn huge_and_special_files_given_as_models() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    // A 1 TiB sparse file: refused by its length, before anything is read or reserved.
    let big = dir.path().join("big.safetensors");
    std::fs::File::create(&big).unwrap().set_len(1 << 40).unwrap();
    for command in [args(&[&"eval", &big]), args(&[&"sample", &big, &"--out", &out])] {
        assert_error(&rbm_lab(&command), &["1,099,511,627,776 bytes", "1,090,519,048 bytes"]);
    }
    assert_error(&rbm_lab(&args(&[&"eval", &dir.path()])), &["is a directory, not a model file"]);
    for device in ["/dev/zero", "/dev/urandom"] {
        assert_error(&rbm_lab(&["eval", device]), &[device, "is a device, not a model file"]);
    }
    #[cfg(target_os = "linux")]
    {
        let fifo = dir.path().join("pipe.safetensors");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // Without the check, opening the pipe would wait for a writer until the timeout.
        assert_error(&rbm_lab(&args(&[&"sample", &fifo, &"--out", &out])), &["is a named pipe"]);
    }
    assert!(!out.exists());
}

#[test]
fn missing_garbage_truncated_and_mismatched_models() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let missing = dir.path().join("missing.safetensors");
    assert_error(&rbm_lab(&args(&[&"eval", &missing])), &["missing.safetensors", "No such file"]);

    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"\x89PNG\r\n\x1a\n this is a picture, not a model").unwrap();
    assert_error(&rbm_lab(&args(&[&"sample", &garbage, &"--out", &out])), &["not a valid safetensors model file"]);

    let bytes = model_to_bytes(&model(28, 28, 4)).unwrap();
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    assert_error(&rbm_lab(&args(&[&"eval", &truncated])), &["truncated"]);

    // 10x10 images against the embedded MNIST's 28x28.
    let small = saved_model(dir.path(), "small.safetensors", &model(10, 10, 4));
    assert_error(
        &rbm_lab(&args(&[&"eval", &small, &"--runs", &"2", &"--betas", &"10"])),
        &["100 visible units", "784 pixels"],
    );
    let trained_out = dir.path().join("resumed.safetensors");
    let outcome = rbm_lab(&args(&[&"train", &"--resume", &small, &"--out", &trained_out]));
    assert_eq!(outcome.status, Some(1), "{}", outcome.stderr);
    assert!(outcome.stderr.starts_with("rbm-lab: ") && outcome.stderr.contains("100 visible units"));
    assert!(!out.exists() && !trained_out.exists());
}

#[test]
fn model_metadata_beyond_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let edited = |name: &str, field: &str, value: &str| {
        // The metadata JSON edited, as a damaged or hand-made file would have it.
        let bytes = model_to_bytes(&model(28, 28, 4)).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        let mut metadata: serde_json::Value =
            serde_json::from_str(header["__metadata__"]["rbm_lab"].as_str().unwrap()).unwrap();
        metadata[field] = serde_json::from_str(value).unwrap();
        header["__metadata__"]["rbm_lab"] = serde_json::Value::String(metadata.to_string());
        let mut text = header.to_string();
        text.extend(std::iter::repeat_n(' ', text.len().next_multiple_of(8) - text.len()));
        let mut file = (text.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(text.as_bytes());
        file.extend_from_slice(&bytes[8 + header_len..]);
        let path = dir.path().join(name);
        std::fs::write(&path, file).unwrap();
        path
    };
    let epochs = edited("epochs.safetensors", "epochs_trained", "1e300");
    let outcome = rbm_lab(&args(&[&"train", &"--resume", &epochs, &"--out", &out]));
    assert_error(&outcome, &["epochs_trained", "1e300", "1e15"]);
    let samples = edited("samples.safetensors", "samples_seen", "18446744073709551615");
    let outcome = rbm_lab(&args(&[&"train", &"--resume", &samples, &"--out", &out]));
    assert_error(&outcome, &["samples_seen", "18,446,744,073,709,551,615", "1,000,000,000,000,000"]);
    assert!(!out.exists());
}

#[test]
fn evaluation_settings_and_sets_beyond_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let forty = saved_model(dir.path(), "m40.safetensors", &model(28, 28, 40));
    let eval = |extra: &[&str]| rbm_lab_with(&[&"eval", &forty], extra);
    // Checked before the model or the dataset is read: each of these returns at once.
    assert_error(&eval(&["--images", "0"]), &["images to evaluate must be at least 1"]);
    assert_error(&eval(&["--runs", "1"]), &["at least 2 runs"]);
    assert_error(&eval(&["--runs", "100000000", "--betas", "10"]), &["100000000 AIS runs", "100,000"]);
    assert_error(&eval(&["--betas", "100000000000"]), &["100000000000 inverse temperatures", "1,000,000"]);
    assert_error(&eval(&["--betas", "1"]), &["at least two betas"]);
    // Within the run limit, but not its state on this model's shape.
    assert_error(&eval(&["--runs", "90000", "--betas", "10"]), &["77,760,000 values", "67,108,864"]);
    // A folder of five training images and no test files holds none out.
    let five = dataset_folder(dir.path(), "five", 5, 28, 28);
    let outcome = rbm_lab(&args(&[&"eval", &forty, &"--data", &five, &"--runs", &"2", &"--betas", &"10"]));
    assert_error(&outcome, &["the test set has no images to evaluate"]);
}

#[test]
fn models_and_training_beyond_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let train = |extra: &[&str]| rbm_lab_with(&[&"train", &"--out", &out], extra);
    assert_error(&train(&["--hidden", "100000", "--batch", "60000"]), &["78,400,000 parameters", "33,554,432"]);
    assert_error(
        &train(&["--hidden", "4096", "--batch", "60000"]),
        &["784x4096 model on batches of 60000", "1,610,612,736 bytes"],
    );
    assert_error(&train(&["--hidden", "100001"]), &["hidden units must be between 1 and 100000"]);

    // One image of 1 x 200,000,000 pixels (gzip: the header is read, the pixels never are).
    let wide = dir.path().join("wide");
    std::fs::create_dir(&wide).unwrap();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(&idx(&[1, 1, 200_000_000], &[])).unwrap();
    encoder.write_all(&vec![0u8; 200_000_000]).unwrap();
    std::fs::write(wide.join("train-images-idx3-ubyte.gz"), encoder.finish().unwrap()).unwrap();
    std::fs::write(wide.join("train-labels-idx1-ubyte"), idx(&[1], &[0])).unwrap();
    let outcome = rbm_lab(&args(&[&"train", &"--data", &wide, &"--hidden", &"1", &"--out", &out]));
    assert_error(&outcome, &["1x200000000 = 200,000,000 pixels", "262,144 pixels per image"]);

    // Images of 512x512 fit, but not the window's model of 4,096 hidden units on them: refused
    // before a window would open.
    let large = dataset_folder(dir.path(), "large", 6, 512, 512);
    let outcome = rbm_lab(&args(&[&"--data", &large, &"--window-hidden", &"4096", &"--paused"]));
    assert_error(&outcome, &["262144 x 4096 = 1,073,741,824 parameters", "33,554,432"]);
    assert!(!out.exists());
}

#[test]
fn bad_numbers_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let train = |extra: &[&str]| rbm_lab_with(&[&"train", &"--out", &out], extra);
    assert_error(&train(&["--k", "0"]), &["k (Gibbs steps) must be between 1 and 1000 (got 0)"]);
    assert_error(&train(&["--batch", "0"]), &["batch size must be between 1 and 60000 (got 0)"]);
    assert_error(&train(&["--lr=-1"]), &["learning rate", "at most 10 (got -1)"]);
    assert_error(&train(&["--lr", "NaN"]), &["learning rate", "(got NaN)"]);
    assert_error(&train(&["--lr", "11"]), &["learning rate", "at most 10 (got 11)"]);
    assert_error(&train(&["--epochs", "0"]), &["epochs"]);
    let pt = |extra: &[&str]| train(&[&["--method", "pt"], extra].concat());
    assert_error(&pt(&["--temperatures", "0"]), &["temperatures must be between 1 and 100 (got 0)"]);
    assert_error(&pt(&["--min-beta", "0"]), &["lowest inverse temperature", "(got 0)"]);
    assert_error(&pt(&["--particles", "10000", "--temperatures", "7"]), &["70000 chains", "limit is 60000"]);
    // Argument errors from the parser: one line too, status 1.
    assert_error(&train(&["--threads", "100000"]), &["'--threads <THREADS>'", "100000 threads", "limit of 1024"]);
    assert_error(&train(&["--k", "many"]), &["invalid value 'many' for '--k <K>'"]);
    assert_error(&rbm_lab(&["--stats-every", "1e20"]), &["'--stats-every <SECONDS>'", "86400 seconds"]);
    assert_error(&rbm_lab(&["--stats-every=-1"]), &["'--stats-every <SECONDS>'", "above 0"]);
    assert!(!out.exists());

    let model = saved_model(dir.path(), "m.safetensors", &model(28, 28, 4));
    let png = dir.path().join("out.png");
    assert_error(&rbm_lab(&args(&[&"sample", &model, &"--count", &"0", &"--out", &png])), &["--count"]);
    assert_error(&rbm_lab(&args(&[&"sample", &model, &"--noise", &"NaN", &"--out", &png])), &["--noise"]);
    assert!(!png.exists());
    assert_eq!(files_in(dir.path()), ["m.safetensors"], "no stray temporary files");
}

#[test]
fn dataset_folders_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let train_on = |folder: &Path| rbm_lab(&args(&[&"train", &"--data", &folder, &"--out", &out]));
    assert_error(&train_on(&dir.path().join("nowhere")), &["cannot read the dataset", "No such file"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_error(&train_on(&empty), &["has no train-images-idx3-ubyte file"]);
    let bad = dataset_folder(dir.path(), "bad", 3, 28, 28);
    std::fs::write(bad.join("train-images-idx3-ubyte"), b"<html>404 Not Found</html>").unwrap();
    assert_error(&train_on(&bad), &["train-images-idx3-ubyte", "not an IDX file"]);
    let lying = dataset_folder(dir.path(), "lying", 3, 28, 28);
    std::fs::write(lying.join("train-images-idx3-ubyte"), idx(&[1_000_000, 28, 28], &[0; 784])).unwrap();
    assert_error(&train_on(&lying), &["truncated"]);
    // A folder standing where an IDX file should be is not read as one.
    let odd = dataset_folder(dir.path(), "odd", 3, 28, 28);
    std::fs::remove_file(odd.join("train-labels-idx1-ubyte")).unwrap();
    std::fs::create_dir(odd.join("train-labels-idx1-ubyte")).unwrap();
    assert_error(&train_on(&odd), &["train-labels-idx1-ubyte"]);
    assert!(!out.exists());
}
