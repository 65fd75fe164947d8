//! The Quality tab: the model's log-likelihood in nats (AIS on a background thread, with progress
//! and Cancel, while training goes on; optionally RAISE's lower bound beside it, drawn as a band;
//! for a Gaussian–Bernoulli model, its log density of the real-valued images instead), the cheap
//! monitors against epochs, the linear probe's test accuracy against training samples (on its own
//! thread), and what the parameters, the updates and the hidden units look like.
//!
//! - `evaluation`: the log-likelihood controls and the evaluation job;
//! - `likelihood`: the log-likelihood (or log-density) plot and its RAISE bands;
//! - `probe`: the linear probe's controls, job and plot;
//! - `monitors`: the monitor plot, the histograms and the hidden units' image;
//! - `accuracy`: a classification RBM's test accuracy;
//! - `jobs`: what the evaluation and the probe share: a job with its progress and status line.

mod accuracy;
mod evaluation;
mod jobs;
mod likelihood;
mod monitors;
mod probe;

use std::sync::{Arc, Weak};

use crate::data::Dataset;
use crate::quality::{Evaluation, EvaluationSettings, MonitorPoint, PixelBaseline, ProbeMeasurement, ProbeSettings};
use crate::trainer::{Diagnostics, ModelSnapshot};

use super::software_render::Render;
use super::texture::GrayTexture;
use jobs::JobSlot;

pub use likelihood::RaiseBand;

/// Keeps the monitor history bounded: about 500 epochs at four points per epoch.
pub const MAX_MONITOR_POINTS: usize = 2000;

/// Keeps the probe history bounded (each probe is a click).
pub const MAX_PROBES: usize = 1000;

/// Test images RAISE bounds when it is switched on: with 10 runs each, 500 reverse runs, five times
/// the paper's 100 AIS runs, on the same schedule.
pub const DEFAULT_RAISE_IMAGES: usize = 50;

pub struct QualityView {
    pub monitors: Vec<MonitorPoint>,
    pub evaluations: Vec<Evaluation>,
    pub settings: EvaluationSettings,
    /// Use the paper's ~14,500 inverse temperatures (otherwise `fast_betas`).
    pub paper_schedule: bool,
    pub fast_betas: usize,
    evaluation: JobSlot<Evaluation>,
    /// RAISE's lower bound in each evaluation, on `raise_images` test images
    /// (`settings.raise_images` is 0 while it is off).
    pub raise: bool,
    pub raise_images: usize,
    /// Probes of the model as training went on, oldest first.
    pub probes: Vec<ProbeMeasurement>,
    pub probe_settings: ProbeSettings,
    probe: JobSlot<ProbeMeasurement>,
    /// The raw-pixel probe of the dataset it was trained on (held weakly: a dataset that has
    /// been replaced is told apart by its address, which the weak reference keeps from reuse).
    baseline: Option<(Weak<Dataset>, PixelBaseline)>,
    /// The dataset of the running probe, for the baseline it brings back.
    baseline_key: Option<Weak<Dataset>>,
    /// Training samples the model has seen, as the trainer last said: the probes' x.
    pub samples_seen: u64,
    diagnostics: Option<Arc<Diagnostics>>,
    hidden_texture: GrayTexture,
    /// How plot backgrounds and the hidden-unit image are drawn.
    render: Render,
    /// Earlier runs' test log-likelihoods, overlaid on the likelihood plot.
    pub run_overlays: Vec<super::runs::RunSeries>,
    /// The machine's cores, read once: asking the system reads cgroup files, too slow for every frame.
    cores: usize,
    /// A classification RBM's test accuracy: being measured, or the last result.
    accuracy: Option<accuracy::AccuracyJob>,
    accuracy_text: Option<String>,
}

impl Default for QualityView {
    fn default() -> Self {
        Self {
            monitors: Vec::new(),
            evaluations: Vec::new(),
            settings: EvaluationSettings::default(),
            paper_schedule: true,
            fast_betas: 1000,
            evaluation: JobSlot::new("evaluation"),
            raise: false,
            raise_images: DEFAULT_RAISE_IMAGES,
            probes: Vec::new(),
            probe_settings: ProbeSettings::default(),
            probe: JobSlot::new("probe"),
            baseline: None,
            baseline_key: None,
            samples_seen: 0,
            diagnostics: None,
            hidden_texture: GrayTexture::default(),
            render: Render::default(),
            run_overlays: Vec::new(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            accuracy: None,
            accuracy_text: None,
        }
    }
}

impl QualityView {
    /// Plot backgrounds and the hidden-unit image as `render` draws them.
    pub fn use_render(&mut self, render: &Render) {
        self.hidden_texture.use_render(render);
        self.render = render.clone();
    }

    /// Forgets the history; a running evaluation is cancelled and left to stop on its own.
    pub fn clear(&mut self) {
        self.monitors.clear();
        self.evaluations.clear();
        self.evaluation.clear();
        self.accuracy = None;
        self.accuracy_text = None;
        self.probes.clear();
        self.probe.clear();
    }

    /// An evaluation or a probe runs.
    pub fn is_evaluating(&self) -> bool {
        self.evaluation.is_running() || self.probe.is_running()
    }

    pub fn is_probing(&self) -> bool {
        self.probe.is_running()
    }

    /// `snapshot` is the newest model; `training` says whether the trainer is busy (AIS then takes
    /// one thread and leaves the other to training).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: Option<&Arc<ModelSnapshot>>,
        dataset: &Arc<Dataset>,
        training: bool,
    ) {
        self.poll_evaluation();
        if let Some(snapshot) = snapshot.filter(|s| s.labels.is_some()) {
            self.accuracy_ui(ui, snapshot, dataset);
        }
        self.poll_probe();
        // While training runs a job takes one core and leaves it the rest.
        let threads = if training { 1 } else { self.cores.min(crate::limits::MAX_THREADS) };
        self.evaluation_controls(ui, snapshot, dataset, threads);
        self.probe_controls(ui, snapshot, dataset, threads);
        // The statuses below every button, so that a status appearing moves no button.
        if let Some(status) = &self.evaluation.status {
            ui.label(status);
        }
        if let Some(status) = &self.probe.status {
            ui.label(status);
        }
        let width = ui.available_width();
        let height = ((ui.available_height() - 40.0) / 2.0).max(150.0);
        // The plot shows the kind of figure the current model has: log densities for a Gaussian
        // model, log-likelihoods for a binary one (without a model, the newest evaluation's kind).
        let densities =
            snapshot.map_or_else(|| self.evaluations.last().is_some_and(Evaluation::is_density), |s| s.is_gaussian());
        ui.horizontal_top(|ui| {
            ui.allocate_ui(egui::vec2(width * 0.5 - 8.0, height), |ui| self.likelihood_plot(ui, densities));
            ui.allocate_ui(egui::vec2(width * 0.5 - 8.0, height), |ui| self.monitor_plot(ui, densities));
        });
        ui.horizontal_top(|ui| {
            ui.allocate_ui(egui::vec2(width * 0.40, height), |ui| self.histograms_ui(ui, densities));
            ui.allocate_ui(egui::vec2(width * 0.32, height), |ui| self.probe_plot(ui, dataset));
            ui.allocate_ui(egui::vec2(width * 0.26, height), |ui| self.hidden_ui(ui));
        });
    }
}

/// A callback that repaints the window, for a job to call after each event.
fn waker(ctx: &egui::Context) -> Arc<dyn Fn() + Send + Sync> {
    let ctx = ctx.clone();
    Arc::new(move || ctx.request_repaint())
}
