//! The real window under Xvfb, driven like a person would (the scripts do the X11 work):
//! - scripts/smoke-window.sh: the release binary opens a non-blank window, trains, and exits
//!   cleanly when closed;
//! - scripts/window-files.sh: with no system file dialog, File > Save model… and Load model… go
//!   through rbm-lab's own dialog (type a path, Enter), including the question before replacing a
//!   model with unsaved training, and a model saved, loaded and saved again is byte-identical;
//! - scripts/window-dataset.sh: File > Dataset > Fashion-MNIST while training renames the window
//!   (it needs Debian's dataset-fashion-mnist, and says it was skipped without it);
//! - scripts/window-session.sh: Ctrl+Q after some training keeps the session (in a folder of the
//!   test's own, `--session-dir`), the next start offers it, Continue brings back the loss plot
//!   and the samples trained, and `--fresh` skips the offer.
//!
//! They need the packages xvfb, x11-apps, imagemagick and xdotool (.ci/run installs them) and fail
//! if those are missing. On a machine without them, build the tests with
//! RBM_LAB_SKIP_WINDOW_SMOKE=1 (build.rs) and they are reported as ignored.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// One virtual X server and window at a time: the scripts pick the first free display.
static ONE_WINDOW_AT_A_TIME: Mutex<()> = Mutex::new(());

const TOOLS: [(&str, &str); 4] =
    [("Xvfb", "xvfb"), ("xdotool", "xdotool"), ("xwd", "x11-apps"), ("convert", "imagemagick")];

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|dir| dir.join(program).is_file()))
}

/// Runs `scripts/NAME` with the release binary, an output folder and `args`; returns its stdout.
fn run_script(name: &str, args: &[&str]) -> String {
    let missing: Vec<String> =
        TOOLS.iter().filter(|(program, _)| !on_path(program)).map(|(p, package)| format!("{p} ({package})")).collect();
    assert!(
        missing.is_empty(),
        "the real-window tests need {}: `apt-get install -y xvfb x11-apps imagemagick xdotool`, or build the tests \
         with RBM_LAB_SKIP_WINDOW_SMOKE=1 to report them as ignored",
        missing.join(", ")
    );
    let _one = ONE_WINDOW_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(name);
    let out_dir = std::env::temp_dir().join(format!("rbm-lab-{}-{}", name.trim_end_matches(".sh"), std::process::id()));
    let output = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_rbm-lab"))
        .arg(&out_dir)
        .args(args)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name} failed (screenshots in {}):\n{stdout}\n{stderr}", out_dir.display());
    println!("{stdout}");
    // Kept only when the test fails (the screenshots show what went wrong).
    let _ = std::fs::remove_dir_all(&out_dir);
    stdout
}

#[test]
#[cfg_attr(skip_window_tests, ignore = "RBM_LAB_SKIP_WINDOW_SMOKE was set when the tests were built")]
fn release_binary_opens_trains_and_closes_cleanly() {
    let stdout = run_script("smoke-window.sh", &[]);
    assert!(stdout.contains("smoke-window: ok"), "{stdout}");
}

#[test]
#[cfg_attr(skip_window_tests, ignore = "RBM_LAB_SKIP_WINDOW_SMOKE was set when the tests were built")]
fn models_are_saved_and_loaded_through_the_in_window_file_dialog() {
    // `system`: the window first asks rfd, which finds no desktop portal and no zenity here and
    // answers at once; that must bring up rbm-lab's dialog rather than do nothing.
    let stdout = run_script("window-files.sh", &["--file-dialog", "system"]);
    assert!(stdout.contains("window-files: ok"), "{stdout}");
}

#[test]
#[cfg_attr(skip_window_tests, ignore = "RBM_LAB_SKIP_WINDOW_SMOKE was set when the tests were built")]
fn fashion_mnist_is_chosen_from_the_dataset_menu_while_training() {
    let fashion = Path::new(rbm_lab::data::known::FASHION_MNIST_DIR);
    if rbm_lab::data::known::present_datasets(fashion).is_empty() {
        eprintln!("skipped: {} not installed (apt install dataset-fashion-mnist)", fashion.display());
        return;
    }
    let stdout = run_script("window-dataset.sh", &[]);
    assert!(stdout.contains("window-dataset: ok"), "{stdout}");
}

#[test]
#[cfg_attr(skip_window_tests, ignore = "RBM_LAB_SKIP_WINDOW_SMOKE was set when the tests were built")]
fn closing_keeps_the_session_and_the_next_start_offers_it_back() {
    let stdout = run_script("window-session.sh", &[]);
    assert!(stdout.contains("window-session: ok"), "{stdout}");
}
