//! The Gaussian–Bernoulli RBM through the real binary, on a 1,000-image IDX folder cut from the
//! embedded MNIST: `train --visible gaussian` (reproducible on 1 and 2 threads), `eval` (exact
//! log Z for a small hidden layer), `sample`, and the commands that refuse a Gaussian model.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use rbm_lab::io::load_model;
use rbm_lab::model::VisibleType;

fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        common::write_idx_folder(dir.path(), 1000, 200);
        dir
    })
    .path()
}

fn rbm_lab(threads: &str, args: &[&str]) -> Output {
    let data = data_dir().to_str().expect("a UTF-8 temporary path");
    Command::new(env!("CARGO_BIN_EXE_rbm-lab"))
        .args(["--data", data, "--threads", threads])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("rbm-lab runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn a_gaussian_model_trains_reproducibly_evaluates_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (one, two) = (path("one.safetensors"), path("two.safetensors"));
    for (threads, out) in [("1", &one), ("2", &two)] {
        let run = rbm_lab(threads, &["train", "--visible", "gaussian", "--hidden", "8", "--epochs", "2", "--out", out]);
        assert!(run.status.success(), "{}", text(&run));
        assert!(text(&run).contains("reconstruction error"), "{}", text(&run));
    }
    assert!(std::fs::read(&one).unwrap() == std::fs::read(&two).unwrap(), "1 and 2 threads wrote different files");
    let file = load_model(Path::new(&one)).unwrap();
    assert_eq!(file.metadata.spec.visible, VisibleType::Gaussian);
    assert_eq!(file.metadata.epochs_trained, 2.0);
    let (model, _) = file.gaussian_model().expect("variances and standardisation");
    assert!(model.log_variance().iter().all(|&z| z >= rbm_lab::model::gaussian::min_log_variance()));

    let eval = rbm_lab("2", &["eval", &one, "--images", "100"]);
    let said = text(&eval);
    assert!(eval.status.success(), "{said}");
    assert!(said.contains("exact") && said.contains("nats on [0, 1] intensities"), "{said}");
    // The figures are the window's: the same evaluation function on the same images.
    let dataset = rbm_lab::data::Dataset::load_dir(data_dir()).unwrap();
    let (model, standardisation) = file.gaussian_model().unwrap();
    let settings = rbm_lab::quality::EvaluationSettings { images: 100, ..Default::default() };
    let e =
        rbm_lab::quality::evaluate_gaussian(&model, standardisation, &dataset, 2.0, &settings, &mut |_| true).unwrap();
    let density = e.gaussian.expect("densities");
    let expected = format!(
        "test  log-density: {:.2} nats on [0, 1] intensities ({:.2} on the standardised data)",
        e.test_log_likelihood, density.test_standardised
    );
    assert!(said.contains(&expected), "{said}\nexpected: {expected}");

    let png = path("samples.png");
    let sample = rbm_lab("1", &["sample", &one, "--steps", "20", "--count", "4", "--out", &png]);
    assert!(sample.status.success(), "{}", text(&sample));
    assert!(std::fs::metadata(&png).unwrap().len() > 0);

    // Commands made for binary models refuse it and say why.
    let inpaint = rbm_lab("1", &["inpaint", &one, "--mask", "bottom-half", "--out", &path("inpaint.png")]);
    assert!(!inpaint.status.success() && text(&inpaint).contains("Gaussian"), "{}", text(&inpaint));
}

/// A Gaussian–Bernoulli run keeps its work as a binary one does: it resumes from its file (from the
/// weights, with fresh chains, and says so), checks the resume's arguments against the file, and
/// a divergence leaves the model before the failing batch in a file that resumes.
#[test]
fn a_gaussian_run_resumes_and_keeps_its_last_good_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (first, more) = (path("first.safetensors"), path("more.safetensors"));
    let run = rbm_lab("1", &["train", "--visible", "gaussian", "--hidden", "8", "--epochs", "1", "--out", &first]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("with Gaussian visibles"), "{}", text(&run));

    let resume = rbm_lab("1", &["train", "--epochs", "3", "--out", &more, "--resume", &first]);
    let said = text(&resume);
    assert!(resume.status.success(), "{said}");
    assert!(said.contains("resuming") && said.contains("no exact resume"), "{said}");
    assert!(said.contains("epoch 3/3: mean squared reconstruction error"), "{said}");
    let file = load_model(Path::new(&more)).unwrap();
    assert_eq!(file.metadata.spec.visible, VisibleType::Gaussian);
    assert_eq!(file.metadata.epochs_trained, 3.0);
    let (_, standardisation) = file.gaussian_model().expect("variances and standardisation");
    let (_, saved) = load_model(Path::new(&first)).unwrap().gaussian_model().map(|(m, s)| (m, s.clone())).unwrap();
    assert!(standardisation == &saved, "the file's standardisation is kept, not recomputed");

    let binary = rbm_lab("1", &["train", "--visible", "binary", "--epochs", "3", "--out", &more, "--resume", &first]);
    assert!(!binary.status.success(), "{}", text(&binary));
    assert!(text(&binary).contains("--visible binary differs from the resumed model's gaussian"), "{}", text(&binary));

    let (wild, kept) = (path("wild.safetensors"), path("wild.last-good.safetensors"));
    let diverged = rbm_lab("1", &["train", "--visible", "gaussian", "--hidden", "8", "--lr", "10", "--out", &wild]);
    let said = text(&diverged);
    assert!(!diverged.status.success() && said.contains("training diverged"), "{said}");
    assert!(said.contains(&kept) && !Path::new(&wild).exists(), "{said}");
    let file = load_model(Path::new(&kept)).unwrap();
    let (model, _) = file.gaussian_model().expect("a Gaussian model");
    assert!(model.rbm().weights_slice().iter().all(|w| w.is_finite()));
}

#[test]
fn gaussian_training_refuses_methods_it_does_not_implement() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pt.safetensors");
    let run = rbm_lab("1", &["train", "--visible", "gaussian", "--method", "pt", "--out", out.to_str().unwrap()]);
    assert!(!run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("use --method cd or pcd"), "{}", text(&run));
    assert!(!out.exists());
}

#[test]
fn gaussian_visibles_refuse_label_units() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labelled.safetensors");
    let run = rbm_lab("1", &["train", "--visible", "gaussian", "--labels", "--out", out.to_str().unwrap()]);
    assert!(!run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("--labels needs binary visibles"), "{}", text(&run));
    assert!(!out.exists());
}
