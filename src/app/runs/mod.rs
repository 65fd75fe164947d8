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
//! The parts: [`view`] the Runs window (the table, rename, delete, show, export and import),
//! [`export`] the JSON and CSV files, [`window`] the hooks that tie the runs to the window's
//! updates, plots and files.

pub mod export;
pub mod view;
mod window;

use std::time::Instant;

use egui::Color32;
use egui_plot::PlotPoint;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::loss_plot::LossHistory;
use super::session::Bounded;
use crate::cli::command_line_name;
use crate::decimate::merge_pairs;
use crate::limits::{MAX_EPOCHS_TRAINED, MAX_HIDDEN_UNITS, MAX_IMAGE_PIXELS, MAX_SAMPLES_SEEN};
use crate::model::{GradientMethod, ModelSpec, TrainingConfig};
use crate::quality::Evaluation;
use crate::trainer::{ModelSnapshot, Progress};

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

/// The first [`THUMBNAIL_FILTERS`] filters, each with its own contrast (as the filter view's
/// default), box-averaged down to tiles of at most [`THUMBNAIL_TILE`] pixels a side.
pub fn thumbnail(snapshot: &ModelSnapshot) -> Option<Thumbnail> {
    let (rows, cols, n_hidden) = (snapshot.image_rows, snapshot.image_cols, snapshot.n_hidden);
    if rows == 0 || cols == 0 || n_hidden == 0 || snapshot.weights.len() < rows * cols * n_hidden {
        return None;
    }
    let factor = rows.max(cols).div_ceil(THUMBNAIL_TILE);
    let (tile_h, tile_w) = (rows.div_ceil(factor), cols.div_ceil(factor));
    let units = n_hidden.min(THUMBNAIL_FILTERS);
    let columns = units.min(THUMBNAIL_COLUMNS);
    let layout = crate::images::GridLayout::with_columns(units, columns, tile_w, tile_h);
    let (width, height) = (layout.width(), layout.height());
    let mut pixels = vec![40u8; width * height];
    let weight = |pixel: usize, unit: usize| snapshot.weights[pixel * n_hidden + unit];
    let mut block = vec![0.0f32; tile_w * tile_h];
    for unit in 0..units {
        block.iter_mut().for_each(|b| *b = 0.0);
        let mut counts = vec![0u32; tile_w * tile_h];
        for r in 0..rows {
            for c in 0..cols {
                let cell = (r / factor) * tile_w + c / factor;
                block[cell] += weight(r * cols + c, unit);
                counts[cell] += 1;
            }
        }
        block.iter_mut().zip(&counts).for_each(|(b, &n)| *b /= n.max(1) as f32);
        let (lo, hi) = block.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &b| (lo.min(b), hi.max(b)));
        let scale = 255.0 / (hi - lo).max(1e-12);
        let (x0, y0) = layout.origin(unit);
        for ty in 0..tile_h {
            for tx in 0..tile_w {
                let value = ((block[ty * tile_w + tx] - lo) * scale).clamp(0.0, 255.0);
                pixels[(y0 + ty) * width + x0 + tx] = if value.is_finite() { value as u8 } else { 0 };
            }
        }
    }
    Some(Thumbnail { width, height, pixels })
}

/// `points` as [x, y] pairs, non-finite ones left out, merged pairwise until at most `limit`.
fn thinned(points: &[PlotPoint], limit: usize) -> Vec<[f64; 2]> {
    let mut pairs: Vec<[f64; 2]> =
        points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()).map(|p| [p.x, p.y]).collect();
    while pairs.len() > limit {
        pairs = merge_pairs(&pairs, |pair| {
            let n = pair.len() as f64;
            [pair.iter().map(|p| p[0]).sum::<f64>() / n, pair.iter().map(|p| p[1]).sum::<f64>() / n]
        });
    }
    pairs
}

/// The newest finite evaluations as a run's log-likelihood points.
fn likelihood_points(evaluations: &[Evaluation]) -> Vec<RunLikelihood> {
    let points: Vec<RunLikelihood> = evaluations
        .iter()
        .map(|e| RunLikelihood { epoch: e.epoch, test: e.test_log_likelihood, train: e.train_log_likelihood })
        .filter(|l| l.epoch.is_finite() && l.test.is_finite() && l.train.is_finite())
        .collect();
    points[points.len().saturating_sub(MAX_RUN_EVALUATIONS)..].to_vec()
}

/// A run in the history: the run, the number that keys its colour and thumbnail, and whether it
/// is selected for export.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEntry {
    pub id: u64,
    pub run: Run,
    pub selected: bool,
}

/// A line a plot overlays for a shown run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSeries {
    pub name: String,
    pub color: Color32,
    pub points: Vec<PlotPoint>,
    /// The run's model has Gaussian visibles: its log-likelihood points are log densities.
    pub density: bool,
}

/// The colour of the run keyed `id`: egui_plot's automatic hues from the fourth on (the loss
/// plot's own lines take the first three), so neighbouring runs differ by the golden angle.
pub fn run_color(id: u64) -> Color32 {
    let hue = ((id + 3) as f32 * (std::f32::consts::GOLDEN_RATIO - 1.0)).fract();
    egui::ecolor::Hsva::new(hue, 0.85, 0.75, 1.0).into()
}

/// The runs as they are kept in a session: the earlier runs, and the current one without its
/// curves (those are the session's loss plot and evaluations).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeptRuns {
    pub earlier: Bounded<Run, MAX_RUNS>,
    pub current: Option<Run>,
}

impl KeptRuns {
    pub fn check(&self) -> Result<(), RunError> {
        let count = self.earlier.0.len() + 1;
        if count > MAX_RUNS {
            return Err(RunError::TooMany { count });
        }
        self.earlier.0.iter().chain(&self.current).enumerate().try_for_each(|(i, run)| run.check(i + 1))
    }
}

/// The earlier runs and the current one.
pub struct RunHistory {
    earlier: Vec<RunEntry>,
    current: RunEntry,
    /// The current run has had its first progress report (which gives its starting point).
    started: bool,
    /// When the last progress report came, and whether training ran then.
    last_report: Option<(Instant, bool)>,
    next_id: u64,
    /// Counts changes that the plots' overlays follow.
    generation: u64,
}

impl Default for RunHistory {
    fn default() -> Self {
        Self::new(ModelSpec::default(), TrainingConfig::default())
    }
}

impl RunHistory {
    /// The first run, with the settings the window starts with.
    pub fn new(spec: ModelSpec, config: TrainingConfig) -> Self {
        let current = RunEntry { id: 0, run: Run::starting("Run 1".into(), spec, config), selected: false };
        Self { earlier: Vec::new(), current, started: false, last_report: None, next_id: 1, generation: 0 }
    }

    pub fn earlier(&self) -> &[RunEntry] {
        &self.earlier
    }
    pub fn current(&self) -> &RunEntry {
        &self.current
    }
    /// Changes since the start; the plots rebuild their overlays when it moves.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// All runs, the earlier ones first and the current one last.
    pub fn all(&self) -> impl Iterator<Item = &RunEntry> {
        self.earlier.iter().chain(std::iter::once(&self.current))
    }

    /// The current run's progress: its dataset, size, settings, position and training time.
    /// Whether the dataset changed under a run that has trained, which ends that run (the app
    /// then calls [`Self::start_new`]).
    pub fn observe(&mut self, progress: &Progress, now: Instant) -> bool {
        let dataset: String = progress.dataset.chars().take(MAX_RUN_NAME_CHARS).collect();
        let run_dataset = &self.current.run.dataset;
        if !run_dataset.is_empty() && *run_dataset != dataset && self.has_trained() {
            return true;
        }
        let run = &mut self.current.run;
        if let Some((at, true)) = self.last_report {
            run.training_seconds += now.saturating_duration_since(at).as_secs_f64();
        }
        self.last_report = Some((now, progress.running));
        if !std::mem::replace(&mut self.started, true) {
            run.samples_at_start = progress.samples_seen;
            run.first = RunSettings { spec: progress.spec.clone(), config: progress.config.clone() };
        }
        run.dataset = dataset;
        run.n_visible = progress.n_visible;
        run.n_hidden = progress.n_hidden;
        run.last = RunSettings { spec: progress.spec.clone(), config: progress.config.clone() };
        run.epochs = progress.epoch_position();
        run.samples_seen = progress.samples_seen;
        false
    }

    /// Whether the current run's model has trained since the run began.
    pub fn has_trained(&self) -> bool {
        self.started && self.current.run.samples_seen > self.current.run.samples_at_start
    }

    /// The current run with its curves as the plots hold them now, and its filters' thumbnail.
    pub fn current_run(&self, loss: &LossHistory, evaluations: &[Evaluation], snapshot: Option<&ModelSnapshot>) -> Run {
        let mut run = self.current.run.clone();
        run.loss = Bounded(thinned(loss.batch_points(), MAX_RUN_LOSS_POINTS));
        run.epoch_means = Bounded(thinned(loss.epoch_means(), MAX_RUN_EPOCH_MEANS));
        run.likelihood = Bounded(likelihood_points(evaluations));
        run.thumbnail = snapshot.and_then(thumbnail);
        run
    }

    /// Ends the current run (kept if it trained, with its curves as they are now) and starts a new
    /// one with `spec` and `config` (its dataset and the rest come with the next progress report).
    /// Returns the name of an earlier run dropped to stay within [`MAX_RUNS`].
    pub fn start_new(
        &mut self,
        loss: &LossHistory,
        evaluations: &[Evaluation],
        snapshot: Option<&ModelSnapshot>,
        spec: ModelSpec,
        config: TrainingConfig,
    ) -> Option<String> {
        let mut dropped = None;
        let trained = self.has_trained();
        // A run that never trained is not kept: the new one takes its place and its name.
        let name = if trained { format!("Run {}", self.next_number()) } else { self.current.run.name.clone() };
        if trained {
            let run = self.current_run(loss, evaluations, snapshot);
            if self.earlier.len() + 1 >= MAX_RUNS {
                dropped = Some(self.earlier.remove(0).run.name);
            }
            self.earlier.push(RunEntry { id: self.current.id, run, selected: false });
        }
        self.current = RunEntry { id: self.take_id(), run: Run::starting(name, spec, config), selected: false };
        self.started = false;
        self.last_report = None;
        self.generation += 1;
        dropped
    }

    /// The smallest "Run N" number above every run named so.
    fn next_number(&self) -> u64 {
        let numbered = self.all().filter_map(|e| e.run.name.strip_prefix("Run ")?.trim().parse::<u64>().ok());
        numbered.max().unwrap_or(0) + 1
    }

    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    /// Renames the run keyed `id` (the current one too); the name is cut to [`MAX_RUN_NAME_CHARS`].
    pub fn rename(&mut self, id: u64, name: &str) {
        let name: String = name.chars().take(MAX_RUN_NAME_CHARS).collect();
        if let Some(entry) = self.entry_mut(id) {
            entry.run.name = name;
            self.generation += 1;
        }
    }

    /// Deletes the earlier run keyed `id`; the current run is never deleted. Whether one was.
    pub fn delete(&mut self, id: u64) -> bool {
        let before = self.earlier.len();
        self.earlier.retain(|e| e.id != id);
        let deleted = self.earlier.len() != before;
        self.generation += u64::from(deleted);
        deleted
    }

    /// Shows or hides the run keyed `id` on the plots.
    pub fn set_shown(&mut self, id: u64, shown: bool) {
        if let Some(entry) = self.entry_mut(id) {
            entry.run.shown = shown;
            self.generation += 1;
        }
    }

    pub fn set_selected(&mut self, id: u64, selected: bool) {
        if let Some(entry) = self.entry_mut(id) {
            entry.selected = selected;
        }
    }

    fn entry_mut(&mut self, id: u64) -> Option<&mut RunEntry> {
        self.earlier.iter_mut().chain(std::iter::once(&mut self.current)).find(|e| e.id == id)
    }

    /// Adds runs read from a file as earlier runs, all or none: each is checked, and together
    /// with the runs kept they must stay within [`MAX_RUNS`].
    pub fn import(&mut self, runs: Vec<Run>) -> Result<usize, RunError> {
        let count = self.earlier.len() + 1 + runs.len();
        if count > MAX_RUNS {
            return Err(RunError::TooMany { count });
        }
        runs.iter().enumerate().try_for_each(|(i, run)| run.check(i + 1))?;
        let imported = runs.len();
        for run in runs {
            let id = self.take_id();
            self.earlier.push(RunEntry { id, run, selected: false });
        }
        self.generation += 1;
        Ok(imported)
    }

    /// Whether the trainer has reported on the current run (its dataset and sizes are known).
    pub fn current_is_known(&self) -> bool {
        self.current.run.n_visible > 0
    }

    /// The runs for a session: the earlier runs whole, the current one without its curves (once
    /// the trainer has reported on it).
    pub fn kept(&self) -> KeptRuns {
        KeptRuns {
            earlier: Bounded(self.earlier.iter().map(|e| e.run.clone()).collect()),
            current: self.current_is_known().then(|| self.current.run.clone()),
        }
    }

    /// The runs of a continued session; the current run carries on with its name, settings at the
    /// start and training time. Runs that fail their checks were refused when the session was read.
    pub fn restore(&mut self, kept: &KeptRuns) {
        self.earlier.clear();
        for run in &kept.earlier.0 {
            let id = self.take_id();
            self.earlier.push(RunEntry { id, run: run.clone(), selected: false });
        }
        if let Some(current) = &kept.current {
            let id = self.take_id();
            let mut run = current.clone();
            (run.loss, run.epoch_means, run.likelihood, run.thumbnail) = Default::default();
            self.current = RunEntry { id, run, selected: false };
            self.started = true;
            self.last_report = None;
        }
        self.generation += 1;
    }

    /// The shown earlier runs' loss curves, each in its run's colour and named after it.
    pub fn loss_overlays(&self) -> Vec<RunSeries> {
        self.shown_series(|run| run.loss.0.iter().map(|&[x, y]| PlotPoint::new(x, y)).collect())
    }

    /// The shown earlier runs' test log-likelihoods.
    pub fn likelihood_overlays(&self) -> Vec<RunSeries> {
        self.shown_series(|run| run.likelihood.0.iter().map(|l| PlotPoint::new(l.epoch, l.test)).collect())
    }

    fn shown_series(&self, points: impl Fn(&Run) -> Vec<PlotPoint>) -> Vec<RunSeries> {
        self.earlier
            .iter()
            .filter(|e| e.run.shown)
            .map(|e| RunSeries {
                name: e.run.name.clone(),
                color: run_color(e.id),
                points: points(&e.run),
                density: e.run.first.spec.visible == crate::model::VisibleType::Gaussian,
            })
            .collect()
    }
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
mod tests {
    use super::*;
    use crate::trainer::LossPoint;

    fn progress(samples_seen: u64, dataset: &str, running: bool) -> Progress {
        Progress {
            running,
            epoch: 0,
            batch_in_epoch: (samples_seen / 64) as usize,
            batches_per_epoch: 100,
            samples_seen,
            samples_per_second: 0.0,
            n_visible: 784,
            n_hidden: 16,
            dataset: dataset.into(),
            config: TrainingConfig::default(),
            spec: ModelSpec { n_hidden: 16, ..ModelSpec::default() },
            threads: 1,
            swap_rates: Vec::new(),
        }
    }

    fn snapshot(n_hidden: usize, rows: usize, cols: usize) -> ModelSnapshot {
        let n_visible = rows * cols;
        ModelSnapshot {
            n_visible,
            n_hidden,
            image_rows: rows,
            image_cols: cols,
            weights: (0..n_visible * n_hidden).map(|i| (i % 97) as f32 * 0.01 - 0.4).collect(),
            visible_bias: vec![0.0; n_visible],
            hidden_bias: vec![0.0; n_hidden],
            epoch_position: 1.0,
            version: 1,
            labels: None,
            gaussian: false,
            gaussian_visibles: None,
        }
    }

    fn trained_history() -> (RunHistory, LossHistory) {
        let mut runs = RunHistory::default();
        let now = Instant::now();
        assert!(!runs.observe(&progress(0, "MNIST", true), now));
        let mut loss = LossHistory::default();
        for i in 0..5000 {
            loss.push(LossPoint { epoch: i as f64 / 1000.0, loss: 0.3 });
        }
        assert!(!runs.observe(&progress(6400, "MNIST", true), now + std::time::Duration::from_secs(3)));
        (runs, loss)
    }

    #[test]
    fn a_run_that_trained_is_kept_thinned_with_its_thumbnail_and_time() {
        let (mut runs, loss) = trained_history();
        assert!(runs.has_trained());
        let dropped =
            runs.start_new(&loss, &[], Some(&snapshot(16, 28, 28)), ModelSpec::default(), TrainingConfig::default());
        assert_eq!(dropped, None);
        assert_eq!(runs.earlier().len(), 1);
        let kept = &runs.earlier()[0].run;
        assert_eq!(kept.name, "Run 1");
        assert_eq!(kept.dataset, "MNIST");
        assert!(kept.loss.0.len() <= MAX_RUN_LOSS_POINTS && kept.loss.0.len() > MAX_RUN_LOSS_POINTS / 2);
        assert!(kept.loss.0.iter().all(|p| (p[1] - 0.3).abs() < 1e-6), "thinning keeps the mean");
        assert!((kept.training_seconds - 3.0).abs() < 1e-9);
        let thumb = kept.thumbnail.as_ref().expect("a thumbnail");
        assert_eq!((thumb.width, thumb.height), (8 * 15 + 1, 2 * 15 + 1), "16 filters of 14x14 in 8 columns");
        assert_eq!(runs.current().run.name, "Run 2");
        assert!(kept.check(1).is_ok());
        // A run that did not train is not kept.
        runs.start_new(&loss, &[], None, ModelSpec::default(), TrainingConfig::default());
        assert_eq!(runs.earlier().len(), 1);
    }

    #[test]
    fn a_current_run_without_a_report_is_not_kept_so_that_a_session_always_writes() {
        let mut runs = RunHistory::default();
        assert_eq!(runs.kept().current, None);
        assert!(runs.kept().check().is_ok());
        runs.observe(&progress(0, "MNIST", false), Instant::now());
        assert!(runs.kept().current.is_some() && runs.kept().check().is_ok());
    }

    #[test]
    fn thumbnails_stay_small_for_any_image_size() {
        for (rows, cols, hidden) in [(28, 28, 256), (512, 512, 2), (1, 300, 100), (3, 3, 1)] {
            let thumb = thumbnail(&snapshot(hidden, rows, cols)).expect("a thumbnail");
            assert!(thumb.width <= MAX_THUMBNAIL_SIDE && thumb.height <= MAX_THUMBNAIL_SIDE, "{rows}x{cols}");
            assert_eq!(thumb.pixels.len(), thumb.width * thumb.height);
        }
    }

    #[test]
    fn the_oldest_earlier_run_is_dropped_beyond_the_limit_and_the_current_one_is_never_deleted() {
        let mut runs = RunHistory::default();
        let loss = LossHistory::default();
        let mut dropped = Vec::new();
        for n in 0..MAX_RUNS + 2 {
            runs.observe(&progress(0, "MNIST", true), Instant::now());
            runs.observe(&progress(64 * (n as u64 + 1), "MNIST", true), Instant::now());
            dropped.extend(runs.start_new(&loss, &[], None, ModelSpec::default(), TrainingConfig::default()));
        }
        assert_eq!(runs.all().count(), MAX_RUNS);
        assert_eq!(dropped, ["Run 1", "Run 2", "Run 3"]);
        let current = runs.current().id;
        assert!(!runs.delete(current));
        let first = runs.earlier()[0].id;
        assert!(runs.delete(first));
        assert_eq!(runs.all().count(), MAX_RUNS - 1);
    }

    #[test]
    fn a_dataset_switch_ends_a_run_that_trained() {
        let (mut runs, _) = trained_history();
        assert!(runs.observe(&progress(6400, "Fashion-MNIST", false), Instant::now()));
        let mut untrained = RunHistory::default();
        untrained.observe(&progress(0, "MNIST", false), Instant::now());
        assert!(!untrained.observe(&progress(0, "Fashion-MNIST", false), Instant::now()));
    }

    #[test]
    fn imports_are_checked_and_all_or_nothing() {
        let (mut runs, loss) = trained_history();
        let good = runs.current_run(&loss, &[], Some(&snapshot(16, 28, 28)));
        let mut bad = good.clone();
        bad.epochs = f64::NAN;
        let error = runs.import(vec![good.clone(), bad]).expect_err("a NaN epoch is refused");
        assert_eq!(error, RunError::Invalid { index: 2, problem: "NaN epochs (0 to 1e15)".into() });
        assert!(runs.earlier().is_empty(), "nothing was added");
        let mut wrong_thumbnail = good.clone();
        wrong_thumbnail.thumbnail.as_mut().expect("thumbnail").pixels.pop();
        assert!(runs.import(vec![wrong_thumbnail]).is_err());
        assert!(matches!(runs.import(vec![good.clone(); MAX_RUNS]), Err(RunError::TooMany { .. })));
        assert_eq!(runs.import(vec![good.clone(), good]), Ok(2));
        assert_eq!(runs.earlier().len(), 2);
    }

    #[test]
    fn thumbnails_round_trip_through_json_and_bad_hex_is_refused() {
        let thumb = thumbnail(&snapshot(3, 5, 5)).expect("a thumbnail");
        let json = serde_json::to_string(&thumb).expect("JSON");
        assert_eq!(serde_json::from_str::<Thumbnail>(&json).expect("read back"), thumb);
        let bad = json.replacen("\"pixels\":\"", "\"pixels\":\"zz", 1);
        assert!(serde_json::from_str::<Thumbnail>(&bad).is_err());
    }
}
