//! Runs side by side: every Reset, Load or dataset change starts a new run, and the runs before it
//! keep what is needed to compare them with the current one: the loss curve (thinned to
//! [`MAX_RUN_LOSS_POINTS`]), the log-likelihood evaluations, the settings at the start and at the
//! end, the dataset, epochs, training time and a small grey thumbnail of the first filters.
//!
//! The types here are plain data (serialisable, no egui state): [`Run`] is also the layout of the
//! runs' JSON export and of the runs kept with the session, so a run exported, imported or
//! continued is the same run. [`RunHistory`] holds the earlier runs and the current one, at most
//! [`MAX_RUNS`] in all (the oldest earlier run is dropped first), about 50 KB each.
//!
//! The parts: this file the runs as data (and their checks), `history` the [`RunHistory`],
//! `recording` how the current run follows the trainer's progress and is kept when it ends,
//! `kept` the runs imported from files and kept with a session, [`view`] the Runs window (the
//! table, rename, delete, show, export and import), [`export`] the JSON and CSV files, [`window`]
//! the hooks that tie the runs to the window's updates, plots and files.

pub mod export;
mod history;
mod kept;
mod recording;
pub mod view;
mod window;

pub use history::{RunEntry, RunHistory, RunSeries, run_color};
pub use kept::KeptRuns;
pub use recording::thumbnail;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::session::Bounded;
use crate::cli::command_line_name;
use crate::limits::{MAX_EPOCHS_TRAINED, MAX_HIDDEN_UNITS, MAX_IMAGE_PIXELS, MAX_SAMPLES_SEEN};
use crate::model::{GradientMethod, ModelSpec, TrainingConfig};

/// Runs kept, the current one included. Each takes at most ~50 KB (the lists below and the
/// thumbnail), so the runs stay under 2 MB in memory and in the session file.
pub const MAX_RUNS: usize = 32;
/// Points of a run's loss curve: the plot's batch line merged pairwise down to this (a plot is a
/// thousand pixels wide at most).
pub const MAX_RUN_LOSS_POINTS: usize = 1000;
/// Epoch means of a run, merged pairwise down to this.
pub const MAX_RUN_EPOCH_MEANS: usize = 500;
/// Log-likelihood evaluations of a run (each takes minutes; the newest are kept).
pub const MAX_RUN_EVALUATIONS: usize = 200;
/// Characters of a run's name and of its dataset's name.
pub const MAX_RUN_NAME_CHARS: usize = 100;
/// Filters in a thumbnail, in a grid of [`THUMBNAIL_COLUMNS`] columns.
pub const THUMBNAIL_FILTERS: usize = 64;
pub const THUMBNAIL_COLUMNS: usize = 8;
/// A thumbnail's filter tiles are at most this many pixels a side (28x28 MNIST filters are halved).
pub const THUMBNAIL_TILE: usize = 14;
/// A thumbnail's largest side: 8 tiles of 14 pixels and their 1-pixel gaps.
pub const MAX_THUMBNAIL_SIDE: usize = THUMBNAIL_COLUMNS * (THUMBNAIL_TILE + 1) + 1;

/// Why a run (imported, or kept in a session) cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum RunError {
    #[error("run {index}: {problem}")]
    Invalid { index: usize, problem: String },
    #[error("{count} runs would be kept, more than {MAX_RUNS}: delete some runs first")]
    TooMany { count: usize },
}

/// What a run was trained with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub spec: ModelSpec,
    pub config: TrainingConfig,
}

/// One log-likelihood evaluation of a run, in nats.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLikelihood {
    pub epoch: f64,
    pub test: f64,
    pub train: f64,
}

/// The first filters of a run's model as a small grey image (row-major, 0 black, 255 white).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub width: usize,
    pub height: usize,
    /// The pixels as hexadecimal text (two digits a pixel): half the size of a JSON number list.
    #[serde(with = "hex_bytes")]
    pub pixels: Vec<u8>,
}

/// One run: what the runs table shows and what the plots overlay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub name: String,
    pub dataset: String,
    pub n_visible: usize,
    pub n_hidden: usize,
    /// The settings when the run started and when it ended (or now, for the current run).
    pub first: RunSettings,
    pub last: RunSettings,
    /// Position in epochs when the run ended (a loaded model starts at its own count).
    pub epochs: f64,
    pub samples_seen: u64,
    /// Samples the model had seen when the run began (a loaded model brings its own count).
    #[serde(default)]
    pub samples_at_start: u64,
    /// Time spent training (not paused), in seconds.
    pub training_seconds: f64,
    /// The batch loss curve, [epoch, L1].
    pub loss: Bounded<[f64; 2], MAX_RUN_LOSS_POINTS>,
    pub epoch_means: Bounded<[f64; 2], MAX_RUN_EPOCH_MEANS>,
    pub likelihood: Bounded<RunLikelihood, MAX_RUN_EVALUATIONS>,
    #[serde(default)]
    pub thumbnail: Option<Thumbnail>,
    /// Overlaid on the loss and likelihood plots.
    #[serde(default)]
    pub shown: bool,
}

impl Run {
    /// A run starting now with these settings (its dataset and sizes come with the first progress).
    fn starting(name: String, spec: ModelSpec, config: TrainingConfig) -> Self {
        let settings = RunSettings { spec, config };
        Run {
            name,
            dataset: String::new(),
            n_visible: 0,
            n_hidden: settings.spec.n_hidden,
            first: settings.clone(),
            last: settings,
            epochs: 0.0,
            samples_seen: 0,
            samples_at_start: 0,
            training_seconds: 0.0,
            loss: Bounded::default(),
            epoch_means: Bounded::default(),
            likelihood: Bounded::default(),
            thumbnail: None,
            shown: false,
        }
    }

    /// The best test log-likelihood measured, if any.
    pub fn best_log_likelihood(&self) -> Option<f64> {
        self.likelihood.0.iter().map(|l| l.test).reduce(f64::max)
    }

    /// "784x256".
    pub fn model(&self) -> String {
        format!("{}x{}", self.n_visible, self.n_hidden)
    }

    /// "CD-10, tutorial" (the last settings; the command line's names).
    pub fn method(&self) -> String {
        describe_method(&self.last.config)
    }

    /// What the JSON's types cannot say: sizes, ranges and finite numbers. `index` names the run
    /// in the message.
    pub fn check(&self, index: usize) -> Result<(), RunError> {
        let bad = |problem: String| Err(RunError::Invalid { index, problem });
        for (what, text) in [("name", &self.name), ("dataset name", &self.dataset)] {
            let chars = text.chars().count();
            if chars > MAX_RUN_NAME_CHARS {
                return bad(format!("its {what} has {chars} characters, more than {MAX_RUN_NAME_CHARS}"));
            }
        }
        if !(1..=MAX_IMAGE_PIXELS).contains(&self.n_visible) || !(1..=MAX_HIDDEN_UNITS).contains(&self.n_hidden) {
            return bad(format!("a {}x{} model is not one rbm-lab makes", self.n_visible, self.n_hidden));
        }
        for (when, settings) in [("first", &self.first), ("last", &self.last)] {
            if let Err(e) = settings.config.validate() {
                return bad(format!("its {when} training settings are invalid: {e}"));
            }
            if let Err(e) = settings.spec.validate() {
                return bad(format!("its {when} model settings are invalid: {e}"));
            }
        }
        if !(self.epochs.is_finite() && (0.0..=MAX_EPOCHS_TRAINED).contains(&self.epochs)) {
            return bad(format!("{} epochs (0 to {MAX_EPOCHS_TRAINED:e})", self.epochs));
        }
        if self.samples_seen > MAX_SAMPLES_SEEN {
            return bad(format!("{} samples seen, more than {MAX_SAMPLES_SEEN}", self.samples_seen));
        }
        if !(self.training_seconds.is_finite() && self.training_seconds >= 0.0) {
            return bad(format!("a training time of {} s", self.training_seconds));
        }
        let finite = |points: &[[f64; 2]]| points.iter().flatten().all(|v| v.is_finite());
        if !finite(&self.loss.0) || !finite(&self.epoch_means.0) {
            return bad("its loss curve has a value that is not a finite number".into());
        }
        if !self.likelihood.0.iter().all(|l| l.epoch.is_finite() && l.test.is_finite() && l.train.is_finite()) {
            return bad("a log-likelihood that is not a finite number".into());
        }
        if let Some(t) = &self.thumbnail {
            if t.width > MAX_THUMBNAIL_SIDE || t.height > MAX_THUMBNAIL_SIDE {
                return bad(format!("a {}x{} thumbnail (at most {MAX_THUMBNAIL_SIDE} a side)", t.width, t.height));
            }
            if t.pixels.len() != t.width * t.height {
                return bad(format!("its {}x{} thumbnail has {} pixels", t.width, t.height, t.pixels.len()));
            }
        }
        Ok(())
    }
}

/// "CD-10, tutorial": the gradient method with its Gibbs steps, and how visibles are made.
pub fn describe_method(config: &TrainingConfig) -> String {
    let method = match config.method {
        GradientMethod::Cd => "CD",
        GradientMethod::Pcd => "PCD",
        GradientMethod::Pt => "PT",
    };
    let mut text = format!("{method}-{}, {}", config.k, command_line_name(config.sampling));
    if config.centering {
        text.push_str(", centred");
    }
    if config.momentum > 0.0 {
        text.push_str(", momentum");
    }
    text
}

/// Bytes as hexadecimal text, read back with its length checked against [`MAX_THUMBNAIL_SIDE`]
/// before the bytes are made.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::MAX_THUMBNAIL_SIDE;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let text: String = bytes
            .iter()
            .flat_map(|b| [DIGITS[usize::from(b >> 4)] as char, DIGITS[usize::from(b & 15)] as char])
            .collect();
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let limit = 2 * MAX_THUMBNAIL_SIDE * MAX_THUMBNAIL_SIDE;
        if text.len() > limit || !text.len().is_multiple_of(2) {
            return Err(serde::de::Error::custom(format!(
                "a thumbnail of {} hexadecimal digits (an even number, at most {limit})",
                text.len()
            )));
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        text.as_bytes()
            .chunks_exact(2)
            .map(|pair| match (digit(pair[0]), digit(pair[1])) {
                (Some(high), Some(low)) => Ok(high << 4 | low),
                _ => Err(serde::de::Error::custom("a thumbnail pixel that is not two hexadecimal digits")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
