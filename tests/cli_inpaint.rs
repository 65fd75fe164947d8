//! `rbm-lab inpaint` through the real binary, on a 1,000-image IDX folder cut from the embedded
//! MNIST and a 784x24 model trained here: the PNG of examples, both scores beside their baselines,
//! and one-line errors for bad masks.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use rbm_lab::io::{ModelFile, ModelMetadata, save_model};
use rbm_lab::model::{Initialisation, ModelSpec, TrainingConfig};

/// A folder with 1,000 training and 200 test images, and a 784x24 model after 300 CD-1 batches.
fn fixtures() -> &'static (tempfile::TempDir, PathBuf) {
    static FIXTURES: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        common::write_idx_folder(dir.path(), 1000, 200);
        let rbm = common::cd1_trained(24, 300, 7);
        let spec = ModelSpec { n_hidden: 24, seed: 7, initialisation: Initialisation::Hinton, ..ModelSpec::default() };
        let model = dir.path().join("rbm24.safetensors");
        save_model(&model, &ModelFile::new(rbm, ModelMetadata::new("MNIST", 28, 28, TrainingConfig::default(), spec)))
            .expect("the model is saved");
        (dir, model)
    })
}

fn inpaint(out: &Path, args: &[&str]) -> Output {
    let (dir, model) = fixtures();
    Command::new(env!("CARGO_BIN_EXE_rbm-lab"))
        .args(["--data", dir.path().to_str().unwrap(), "--threads", "2", "inpaint", model.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// The number after `label` on the line that contains it, and the number after `baseline` there.
fn score(stdout: &str, label: &str, baseline: &str) -> (f64, f64) {
    let line = stdout.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no `{label}` in\n{stdout}"));
    let number_after = |marker: &str| -> f64 {
        let rest = &line[line.find(marker).unwrap_or_else(|| panic!("no `{marker}` in {line}")) + marker.len()..];
        let text: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || "-.".contains(*c)).collect();
        text.parse().unwrap_or_else(|_| panic!("no number after `{marker}` in {line}"))
    };
    (number_after(label), number_after(baseline))
}

#[test]
fn inpaint_writes_the_examples_and_scores_both_ways() {
    let out_dir = tempfile::tempdir().unwrap();
    let png = out_dir.path().join("bottom.png");
    let args = ["--mask", "bottom-half", "--steps", "60", "--count", "12", "--score-images", "150"];
    let output =
        inpaint(&png, &[&args[..], &["--log-prob-images", "5", "--ais-runs", "50", "--ais-betas", "200"]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    println!("{stdout}");

    // 12 examples: two groups of three rows (original, input, completion), ten 28x28 tiles a row.
    let image = image::open(&png).expect("a PNG").into_luma8();
    assert_eq!(image.dimensions(), (10 * 29 + 1, 6 * 29 + 1));
    let tile_pixel =
        |tile_row: u32, column: u32, r: u32, c: u32| image.get_pixel(1 + column * 29 + c, 1 + tile_row * 29 + r)[0];
    // The input's hidden bottom half is chequered in two greys; its top half is the original.
    let (a, b) = (tile_pixel(1, 0, 20, 0), tile_pixel(1, 0, 20, 2));
    assert!([a, b] == [89, 166] || [a, b] == [166, 89], "chequer {a} {b}");
    for r in 0..14 {
        for c in 0..28 {
            assert_eq!(tile_pixel(1, 3, r, c), tile_pixel(0, 3, r, c), "known pixel {r},{c}");
        }
    }

    let (error, baseline_error) = score(&stdout, "per hidden pixel:", "per-pixel means:");
    assert!(error < baseline_error, "error {error} against {baseline_error}");
    let (log_p, baseline_log_p) = score(&stdout, "average log p(v_u | v_k):", "per-pixel means:");
    assert!(log_p > baseline_log_p, "log p {log_p} against {baseline_log_p}");
    let (low, high) = score(&stdout, "nats [", ",");
    assert!(low <= log_p && log_p <= high + 1e-9, "{low} {log_p} {high}");
    assert!(stdout.contains("score on 150 binarised test images") && stdout.contains("AIS on each image"));
}

/// A box of 20 pixels: log p(v_u | v_k) is exact (2^20 states of the hidden pixels), and mean-field
/// says how many images reached a fixed point.
#[test]
fn a_small_box_is_scored_exactly_with_mean_field() {
    let out_dir = tempfile::tempdir().unwrap();
    let png = out_dir.path().join("box.png");
    let args = ["--mask", "box:10,12,5,4", "--mode", "mean-field", "--count", "3", "--score-images", "40"];
    let output = inpaint(&png, &[&args[..], &["--log-prob-images", "3"]].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    println!("{stdout}");
    assert!(stdout.contains("(20 of 784)") && stdout.contains("exact: log Z"), "{stdout}");
    assert!(stdout.contains("of 40 images at a fixed point"), "{stdout}");
    assert_eq!(image::open(&png).expect("a PNG").into_luma8().dimensions(), (3 * 29 + 1, 3 * 29 + 1));
}

#[test]
fn bad_masks_give_one_line_and_write_nothing() {
    let out_dir = tempfile::tempdir().unwrap();
    let png = out_dir.path().join("never.png");
    for mask in ["middle", "random:2", "box:1,2,3", "box:20,20,10,10", "box:0,0,0,4"] {
        let output = inpaint(&png, &["--mask", mask]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "--mask {mask}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "--mask {mask}: {stderr}");
        assert!(stderr.starts_with("rbm-lab: --mask"), "--mask {mask}: {stderr}");
        assert!(!png.exists(), "--mask {mask} wrote the PNG");
    }
}
