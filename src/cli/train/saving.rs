//! Keeping a run's work: checkpoints beside `--out`, a fallback file when the wanted one cannot be
//! written, and the command that continues a stopped run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::report::{duration_text, say, say_err};
use crate::io::{ModelFile, save_model};
use crate::trainer::TrainingRun;

/// Without `--checkpoint-every`, runs estimated to take longer than this are checkpointed this often.
const DEFAULT_CHECKPOINT_MINUTES: f64 = 10.0;

/// Writes `file` to `wanted`, or, if that fails (its folder may be the problem), to the system's
/// temporary folder; returns where it went.
pub(super) fn save_somewhere(file: &ModelFile, wanted: &Path) -> Result<PathBuf> {
    let first = match save_model(wanted, file) {
        Ok(()) => return Ok(wanted.to_path_buf()),
        Err(error) => error,
    };
    let name = wanted.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "rbm.safetensors".into());
    let fallback = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    save_model(&fallback, file).with_context(|| {
        format!(
            "the model could not be kept: writing {} failed ({first}) and writing {} failed too",
            wanted.display(),
            fallback.display()
        )
    })?;
    Ok(fallback)
}

/// `OUT` with `.TAG` before its `.safetensors` extension (or after its name if it has none):
/// `rbm.safetensors` → `rbm.checkpoint.safetensors`.
pub(super) fn beside(out: &Path, tag: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".safetensors").unwrap_or(&name);
    out.with_file_name(format!("{stem}.{tag}.safetensors"))
}

/// This process's command line with `--resume OUT` in place of any `--resume`, quoted for a POSIX
/// shell, so that it can be pasted to continue the run.
pub(super) fn resume_command(out: &Path) -> String {
    let mut words = Vec::new();
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if arg == "--resume" {
            args.next();
        } else if !arg.starts_with("--resume=") {
            words.push(arg);
        }
    }
    words.push("--resume".into());
    words.push(out.to_string_lossy().into_owned());
    words.iter().map(|word| shell_quoted(word)).collect::<Vec<_>>().join(" ")
}

fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// Periodic checkpoints beside `--out`.
pub(super) struct Checkpoints {
    pub(super) path: PathBuf,
    /// None: not (yet) on.
    every: Option<Duration>,
    /// The interval is still to be chosen from the run's estimated length.
    undecided: bool,
    next_at: Instant,
    written: bool,
    failed: bool,
}

impl Checkpoints {
    pub(super) fn new(path: PathBuf, minutes: Option<f64>) -> Self {
        let every = minutes.filter(|&m| m > 0.0).map(|m| Duration::from_secs_f64(m * 60.0));
        if let Some(every) = every {
            say(&format!("checkpoints every {} to {}", duration_text(every), path.display()));
        }
        Self {
            path,
            every,
            undecided: minutes.is_none(),
            next_at: Instant::now() + every.unwrap_or_default(),
            written: false,
            failed: false,
        }
    }

    pub(super) fn after_batch(&mut self, run: &TrainingRun, estimated_total: Option<Duration>) {
        if self.undecided
            && let Some(total) = estimated_total
        {
            self.undecided = false;
            let every = Duration::from_secs_f64(DEFAULT_CHECKPOINT_MINUTES * 60.0);
            if total > every {
                self.every = Some(every);
                self.next_at = Instant::now() + every;
                say(&format!(
                    "the run should take about {}: checkpoints every {} to {}",
                    duration_text(total),
                    duration_text(every),
                    self.path.display()
                ));
            }
        }
        let Some(every) = self.every else { return };
        if Instant::now() < self.next_at {
            return;
        }
        match save_model(&self.path, &run.model_file()) {
            Ok(()) => self.written = true,
            Err(error) if !self.failed => {
                self.failed = true;
                say_err(&format!("rbm-lab: could not write the checkpoint ({error}); training goes on"));
            }
            Err(_) => {}
        }
        self.next_at = Instant::now() + every;
    }

    /// The run completed: its final file supersedes the checkpoint.
    pub(super) fn remove(&self) {
        if self.written || self.path.exists() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
