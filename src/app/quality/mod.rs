//! The Quality tab: the model's log-likelihood in nats (AIS on a background thread, with progress
//! and Cancel, while training goes on; optionally RAISE's lower bound beside it, drawn as a band),
//! the cheap monitors against epochs, the linear probe's test accuracy against training samples
//! (on its own thread), and what the parameters, the updates and the hidden units look like.

use std::sync::{Arc, Weak};

use egui_plot::{Bar, BarChart, HLine, Legend, Line, Plot, PlotPoints, Points};

use crate::data::Dataset;
use crate::decimate::merge_pairs;
use crate::images::{GrayImage, GridLayout, image_grid};
use crate::model::probe::{Accuracy, Probe};
use crate::quality::{
    Evaluation, EvaluationEvent, EvaluationJob, EvaluationSettings, Histogram, JobEvent, MonitorPoint, PixelBaseline,
    ProbeJob, ProbeMeasurement, ProbeSettings,
};
use crate::trainer::{Diagnostics, ModelSnapshot};

use super::software_render::Render;
use super::texture::{GrayTexture, fit_size};

/// Keeps the monitor history bounded: about 500 epochs at four points per epoch.
pub const MAX_MONITOR_POINTS: usize = 2000;

/// Keeps the probe history bounded (each probe is a click).
pub const MAX_PROBES: usize = 1000;

/// Test images RAISE bounds when it is switched on: with 10 runs each, 500 reverse runs, five times
/// the paper's 100 AIS runs, on the same schedule.
pub const DEFAULT_RAISE_IMAGES: usize = 50;

/// One evaluation's RAISE band in the log-likelihood plot: between RAISE's stochastic lower bound
/// and the estimate from AIS's log Z, both on the same test images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RaiseBand {
    pub epoch: f64,
    pub images: usize,
    pub raise_bound: f64,
    pub ais_estimate: f64,
}

pub struct QualityView {
    pub monitors: Vec<MonitorPoint>,
    pub evaluations: Vec<Evaluation>,
    pub settings: EvaluationSettings,
    /// Use the paper's ~14,500 inverse temperatures (otherwise `fast_betas`).
    pub paper_schedule: bool,
    pub fast_betas: usize,
    job: Option<EvaluationJob>,
    progress: f64,
    status: Option<String>,
    /// RAISE's lower bound in each evaluation, on `raise_images` test images
    /// (`settings.raise_images` is 0 while it is off).
    pub raise: bool,
    pub raise_images: usize,
    /// Probes of the model as training went on, oldest first.
    pub probes: Vec<ProbeMeasurement>,
    pub probe_settings: ProbeSettings,
    probe_job: Option<ProbeJob>,
    probe_progress: f64,
    probe_status: Option<String>,
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
    accuracy: Option<AccuracyJob>,
    accuracy_text: Option<String>,
}

/// A test accuracy measured on its own thread: the epoch of the model, and the result to come.
struct AccuracyJob {
    epoch: f64,
    result: std::sync::mpsc::Receiver<f64>,
}

impl Default for QualityView {
    fn default() -> Self {
        Self {
            monitors: Vec::new(),
            evaluations: Vec::new(),
            settings: EvaluationSettings::default(),
            paper_schedule: true,
            fast_betas: 1000,
            job: None,
            progress: 0.0,
            status: None,
            raise: false,
            raise_images: DEFAULT_RAISE_IMAGES,
            probes: Vec::new(),
            probe_settings: ProbeSettings::default(),
            probe_job: None,
            probe_progress: 0.0,
            probe_status: None,
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
    pub fn push_monitor(&mut self, point: MonitorPoint) {
        if self.monitors.len() >= MAX_MONITOR_POINTS {
            // The older half's neighbours merged pairwise: the curve keeps its shape, and the
            // recent points, the ones looked at, stay as measured.
            let half = self.monitors.len() / 2;
            let mut kept = merge_pairs(&self.monitors[..half], average_monitors);
            kept.extend_from_slice(&self.monitors[half..]);
            self.monitors = kept;
        }
        self.monitors.push(point);
    }

    /// Plot backgrounds and the hidden-unit image as `render` draws them.
    pub fn use_render(&mut self, render: &Render) {
        self.hidden_texture.use_render(render);
        self.render = render.clone();
    }

    /// Forgets the history; a running evaluation is cancelled and left to stop on its own.
    pub fn clear(&mut self) {
        self.monitors.clear();
        self.evaluations.clear();
        self.job = None;
        self.status = None;
        self.accuracy = None;
        self.accuracy_text = None;
        self.probes.clear();
        self.probe_job = None;
        self.probe_status = None;
    }

    pub fn set_diagnostics(&mut self, ctx: &egui::Context, diagnostics: Arc<Diagnostics>) {
        let image = hidden_image(&diagnostics);
        self.hidden_texture.set(ctx, "hidden_probabilities", &image);
        self.diagnostics = Some(diagnostics);
    }

    /// An evaluation or a probe runs.
    pub fn is_evaluating(&self) -> bool {
        self.job.is_some() || self.probe_job.is_some()
    }

    pub fn is_probing(&self) -> bool {
        self.probe_job.is_some()
    }

    /// The bands the log-likelihood plot draws, one per evaluation with a RAISE bound.
    pub fn raise_bands(&self) -> Vec<RaiseBand> {
        self.evaluations
            .iter()
            .filter_map(|e| {
                let r = e.raise.as_ref()?;
                Some(RaiseBand {
                    epoch: e.epoch,
                    images: r.images,
                    raise_bound: r.bound,
                    ais_estimate: r.log_z_estimate,
                })
            })
            .collect()
    }

    /// The dataset's raw-pixel probe, once one has been trained on `dataset`.
    pub fn pixel_baseline(&self, dataset: &Arc<Dataset>) -> Option<&PixelBaseline> {
        self.baseline.as_ref().filter(|(d, _)| std::ptr::eq(d.as_ptr(), Arc::as_ptr(dataset))).map(|(_, b)| b)
    }

    /// The classifier that labels the chains' samples: the raw-pixel probe, which does not change
    /// with the model it judges, and its test accuracy.
    pub fn sample_classifier(&self, dataset: &Arc<Dataset>) -> Option<(Arc<Probe>, f64)> {
        self.pixel_baseline(dataset).map(|b| (b.probe.clone(), b.accuracy.rate()))
    }

    /// Starts a probe of the model in `snapshot` (the raw-pixel baseline too if `dataset` has none).
    pub fn start_probe(
        &mut self,
        ctx: &egui::Context,
        snapshot: &ModelSnapshot,
        dataset: Arc<Dataset>,
        threads: usize,
    ) {
        let rbm = match snapshot.rbm() {
            Ok(rbm) => rbm,
            Err(e) => {
                self.probe_status = Some(format!("Cannot probe: {e}"));
                return;
            }
        };
        let baseline = self.pixel_baseline(&dataset).cloned();
        if baseline.is_none() {
            self.baseline = None;
        }
        let settings = ProbeSettings { threads, ..self.probe_settings.clone() };
        let key = Arc::downgrade(&dataset);
        let wake_ctx = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || wake_ctx.request_repaint());
        let at = (self.samples_seen, snapshot.epoch_position);
        match ProbeJob::start_probe(rbm, dataset, at, settings, baseline, Some(wake)) {
            Ok(job) => {
                self.probe_job = Some(job);
                self.probe_progress = 0.0;
                self.baseline_key = Some(key);
                self.probe_status = Some(format!("Probing the model of epoch {:.2}…", snapshot.epoch_position));
            }
            Err(e) => self.probe_status = Some(format!("Cannot start the probe thread: {e}")),
        }
    }

    fn poll_probe(&mut self) {
        let Some(job) = &mut self.probe_job else { return };
        let mut finished = false;
        for event in job.poll() {
            match event {
                JobEvent::Progress(p) => self.probe_progress = p,
                JobEvent::Done(mut measurement) => {
                    if let (Some(baseline), Some(key)) = (measurement.baseline.take(), self.baseline_key.take()) {
                        self.baseline = Some((key, baseline));
                    }
                    self.probe_status = Some(format!(
                        "Linear probe on p(h|v) of epoch {:.2}: test accuracy {:.2}%",
                        measurement.epoch,
                        100.0 * measurement.accuracy.rate()
                    ));
                    if self.probes.len() >= MAX_PROBES {
                        self.probes.remove(0);
                    }
                    self.probes.push(measurement);
                    finished = true;
                }
                JobEvent::Failed(message) => {
                    self.probe_status = Some(format!("Probe failed: {message}"));
                    finished = true;
                }
                JobEvent::Cancelled => {
                    self.probe_status = Some("Probe cancelled".into());
                    finished = true;
                }
            }
        }
        if finished {
            self.probe_job = None;
        }
    }

    /// Starts an evaluation of the model in `snapshot`.
    pub fn start_evaluation(
        &mut self,
        ctx: &egui::Context,
        snapshot: &ModelSnapshot,
        dataset: Arc<Dataset>,
        threads: usize,
    ) {
        let rbm = match snapshot.rbm() {
            Ok(rbm) => rbm,
            Err(e) => {
                self.status = Some(format!("Cannot evaluate: {e}"));
                return;
            }
        };
        let settings = EvaluationSettings {
            betas: (!self.paper_schedule).then_some(self.fast_betas),
            threads,
            raise_images: if self.raise { self.raise_images } else { 0 },
            ..self.settings.clone()
        };
        let wake_ctx = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || wake_ctx.request_repaint());
        match EvaluationJob::start(rbm, dataset, snapshot.epoch_position, settings, Some(wake)) {
            Ok(job) => {
                self.job = Some(job);
                self.progress = 0.0;
                self.status = Some(format!("Evaluating the model of epoch {:.2}…", snapshot.epoch_position));
            }
            Err(e) => self.status = Some(format!("Cannot start the evaluation thread: {e}")),
        }
    }

    /// A classification RBM's test accuracy (the class of least free energy for each test image),
    /// measured on demand on its own thread.
    fn accuracy_ui(&mut self, ui: &mut egui::Ui, snapshot: &Arc<ModelSnapshot>, dataset: &Arc<Dataset>) {
        if let Some(job) = &self.accuracy {
            match job.result.try_recv() {
                Ok(accuracy) => {
                    let images = dataset.test.count;
                    self.accuracy_text =
                        Some(format!("Epoch {:.2}: {:.2}% of {images} test images", job.epoch, 100.0 * accuracy));
                    self.accuracy = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.accuracy_text = Some("The accuracy could not be measured".into());
                    self.accuracy = None;
                }
            }
        }
        ui.horizontal(|ui| {
            ui.strong("Classification");
            let button = ui.add_enabled(self.accuracy.is_none(), egui::Button::new("Measure accuracy")).on_hover_text(
                "Classify every test image by the label of least free energy F(x, y), on its own thread",
            );
            if button.clicked() {
                self.accuracy_text = Some(match start_accuracy(ui.ctx(), snapshot, dataset) {
                    Ok(job) => {
                        self.accuracy = Some(job);
                        format!("Measuring the model of epoch {:.2}…", snapshot.epoch_position)
                    }
                    Err(why) => why,
                });
            }
            if let Some(text) = &self.accuracy_text {
                ui.label(text);
            }
        });
        ui.separator();
    }

    fn poll(&mut self) {
        let Some(job) = &mut self.job else { return };
        let mut finished = false;
        for event in job.poll() {
            match event {
                EvaluationEvent::Progress(p) => self.progress = p,
                EvaluationEvent::Done(evaluation) => {
                    self.status = Some(format!(
                        "Epoch {:.2}: test log-likelihood {:.2} nats, log Z {:.2} ({}) in {:.0} s",
                        evaluation.epoch,
                        evaluation.test_log_likelihood,
                        evaluation.log_z,
                        if evaluation.exact { "exact".to_string() } else { format!("AIS, {} runs", evaluation.runs) },
                        evaluation.seconds
                    ));
                    self.evaluations.push(evaluation);
                    finished = true;
                }
                EvaluationEvent::Failed(message) => {
                    self.status = Some(format!("Evaluation failed: {message}"));
                    finished = true;
                }
                EvaluationEvent::Cancelled => {
                    self.status = Some("Evaluation cancelled".into());
                    finished = true;
                }
            }
        }
        if finished {
            self.job = None;
        }
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
        self.poll();
        if let Some(snapshot) = snapshot.filter(|s| s.labels.is_some()) {
            self.accuracy_ui(ui, snapshot, dataset);
        }
        self.poll_probe();
        // While training runs a job takes one core and leaves it the rest.
        let threads = if training { 1 } else { self.cores.min(crate::limits::MAX_THREADS) };
        ui.horizontal(|ui| {
            ui.strong("Log-likelihood");
            // AIS estimates log Z of models without label units.
            let can_start = self.job.is_none() && snapshot.is_some_and(|s| s.labels.is_none() && !s.gaussian);
            if ui
                .add_enabled(can_start, egui::Button::new("Evaluate now"))
                .on_hover_text(
                    "Estimate log Z by AIS and the average log-likelihood of the 10,000 binarised test images",
                )
                .clicked()
                && let Some(snapshot) = snapshot
            {
                self.start_evaluation(ui.ctx(), snapshot, dataset.clone(), threads);
            }
            if let Some(job) = &self.job {
                ui.add(egui::ProgressBar::new(self.progress as f32).desired_width(160.0).show_percentage());
                if ui.button("Cancel").on_hover_text("Stop the evaluation").clicked() {
                    job.cancel();
                }
            }
        });
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.settings.runs, 2..=1000).logarithmic(true).text("AIS runs"))
                .on_hover_text("Independent annealing runs (paper: 100); more runs, tighter interval");
            ui.checkbox(&mut self.paper_schedule, "paper's ~14,500 temperatures").on_hover_text(
                "Salakhutdinov & Murray's schedule; off: a uniform schedule of the length below (faster, rougher)",
            );
            if !self.paper_schedule {
                ui.add(egui::Slider::new(&mut self.fast_betas, 100..=20000).logarithmic(true).text("temperatures"))
                    .on_hover_text("Number of inverse temperatures of the uniform schedule");
            }
        });
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.raise, "RAISE lower bound").on_hover_text(
                "Reverse AIS (Burda, Grosse & Salakhutdinov 2015) on some test images: a stochastic lower \
                 bound of their log-likelihood, to set beside AIS's estimate, which can be too high",
            );
            if self.raise {
                ui.add(egui::Slider::new(&mut self.raise_images, 1..=10_000).logarithmic(true).text("images"))
                    .on_hover_text("Test images RAISE bounds (each costs its runs times the schedule)");
                ui.add(egui::Slider::new(&mut self.settings.raise_runs, 1..=100).logarithmic(true).text("runs"))
                    .on_hover_text("Reverse runs per image (Burda et al.: 10 or more)");
            }
        });
        self.probe_controls(ui, snapshot, dataset, threads);
        // The statuses below every button, so that a status appearing moves no button.
        if let Some(status) = &self.status {
            ui.label(status);
        }
        if let Some(status) = &self.probe_status {
            ui.label(status);
        }
        let width = ui.available_width();
        let height = ((ui.available_height() - 40.0) / 2.0).max(150.0);
        ui.horizontal_top(|ui| {
            ui.allocate_ui(egui::vec2(width * 0.5 - 8.0, height), |ui| self.likelihood_plot(ui));
            ui.allocate_ui(egui::vec2(width * 0.5 - 8.0, height), |ui| self.monitor_plot(ui));
        });
        ui.horizontal_top(|ui| {
            ui.allocate_ui(egui::vec2(width * 0.40, height), |ui| self.histograms_ui(ui));
            ui.allocate_ui(egui::vec2(width * 0.32, height), |ui| self.probe_plot(ui, dataset));
            ui.allocate_ui(egui::vec2(width * 0.26, height), |ui| self.hidden_ui(ui));
        });
    }

    fn probe_controls(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: Option<&Arc<ModelSnapshot>>,
        dataset: &Arc<Dataset>,
        threads: usize,
    ) {
        ui.horizontal(|ui| {
            // The probe's features are the binary RBM's p(h|v).
            let can_start = self.probe_job.is_none() && snapshot.is_some_and(|s| !s.gaussian);
            let hint = "Softmax regression on p(h|v) of the training images, scored on the test images, beside \
                        the same on the raw pixels (trained once per dataset)";
            if ui.add_enabled(can_start, egui::Button::new("Linear probe")).on_hover_text(hint).clicked()
                && let Some(snapshot) = snapshot
            {
                self.start_probe(ui.ctx(), snapshot, dataset.clone(), threads);
            }
            // The settings before the progress bar, so that they stay put while a probe runs.
            let s = &mut self.probe_settings;
            ui.add(egui::Slider::new(&mut s.train_images, 100..=60_000).logarithmic(true).text("training images"))
                .on_hover_text("The first this many training images train the probe");
            ui.add(egui::Slider::new(&mut s.config.epochs, 1..=50).text("probe epochs"))
                .on_hover_text("Passes of SGD over those images");
            if let Some(job) = &self.probe_job {
                ui.add(egui::ProgressBar::new(self.probe_progress as f32).desired_width(160.0).show_percentage());
                if ui.button("Cancel probe").on_hover_text("Stop the probe").clicked() {
                    job.cancel();
                }
            }
        });
    }

    fn probe_plot(&self, ui: &mut egui::Ui, dataset: &Arc<Dataset>) {
        ui.vertical(|ui| {
            let baseline = self.pixel_baseline(dataset);
            ui.label("Linear probe: test accuracy (%) over training samples");
            let points: Vec<[f64; 2]> =
                self.probes.iter().map(|p| [p.samples_seen as f64, 100.0 * p.accuracy.rate()]).collect();
            let plot = Plot::new("probe_plot")
                .legend(Legend::default())
                .x_axis_label("training samples")
                .height((ui.available_height() - 60.0).max(80.0));
            self.render.show_plot(ui, plot, |plot| {
                plot.points(Points::new("on p(h|v)", PlotPoints::from(points.clone())).radius(4.0));
                plot.line(Line::new("on p(h|v)", PlotPoints::from(points)));
                if let Some(b) = baseline {
                    plot.hline(HLine::new("raw pixels", 100.0 * b.accuracy.rate()));
                }
            });
            if let Some(latest) = self.probes.last() {
                let header = match baseline {
                    Some(b) => format!(
                        "per class: p(h|v) {:.2}% / pixels {:.2}%",
                        100.0 * latest.accuracy.rate(),
                        100.0 * b.accuracy.rate()
                    ),
                    None => format!("per class: p(h|v) {:.2}%", 100.0 * latest.accuracy.rate()),
                };
                egui::CollapsingHeader::new(header).id_salt("probe_per_class").show(ui, |ui| {
                    per_class_ui(ui, &latest.accuracy, baseline.map(|b| &b.accuracy));
                });
            }
        });
    }

    fn likelihood_plot(&self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            ui.label("Average log-likelihood (nats) of binarised images; bars: ±3σ of AIS").on_hover_text(
                "With RAISE on, a wide pale band per evaluation joins RAISE's lower bound (upward triangle) \
                 and AIS's estimate (downward triangle) on the same test images: the true value most likely \
                 lies between them. RAISE above AIS means the schedule is too short for either to be trusted \
                 (RAISE then bounds the annealed model, not the RBM): use the paper's schedule",
            );
            let test: Vec<[f64; 2]> = self.evaluations.iter().map(|e| [e.epoch, e.test_log_likelihood]).collect();
            let train: Vec<[f64; 2]> = self.evaluations.iter().map(|e| [e.epoch, e.train_log_likelihood]).collect();
            let plot = Plot::new("likelihood_plot")
                .legend(Legend::default().position(egui_plot::Corner::RightBottom))
                .x_axis_label("epoch");
            self.render.show_plot(ui, plot, |plot| {
                for run in &self.run_overlays {
                    let points = PlotPoints::Borrowed(&run.points);
                    plot.points(Points::new(run.name.as_str(), points).radius(3.0).color(run.color));
                    plot.line(Line::new(run.name.as_str(), PlotPoints::Borrowed(&run.points)).color(run.color));
                }
                plot.points(Points::new("test", PlotPoints::from(test.clone())).radius(4.0));
                plot.line(Line::new("test", PlotPoints::from(test)));
                plot.points(Points::new("train subset", PlotPoints::from(train)).radius(3.0));
                for e in &self.evaluations {
                    let (low, high) = e.test_interval();
                    if low.is_finite() && high.is_finite() {
                        plot.line(
                            Line::new("test", PlotPoints::from(vec![[e.epoch, low], [e.epoch, high]])).width(2.0),
                        );
                    }
                }
                let bands = self.raise_bands();
                let band_color = egui::Color32::from_rgba_unmultiplied(230, 160, 60, 90);
                for band in &bands {
                    let name = format!("RAISE–AIS band ({} images)", band.images);
                    let ends = vec![[band.epoch, band.raise_bound], [band.epoch, band.ais_estimate]];
                    plot.line(Line::new(name, PlotPoints::from(ends)).width(10.0).color(band_color));
                }
                let ends =
                    |f: fn(&RaiseBand) -> f64| -> Vec<[f64; 2]> { bands.iter().map(|b| [b.epoch, f(b)]).collect() };
                if !bands.is_empty() {
                    plot.points(
                        Points::new("RAISE: lower bound", PlotPoints::from(ends(|b| b.raise_bound)))
                            .shape(egui_plot::MarkerShape::Up)
                            .radius(5.0),
                    );
                    plot.points(
                        Points::new("AIS: estimate, same images", PlotPoints::from(ends(|b| b.ais_estimate)))
                            .shape(egui_plot::MarkerShape::Down)
                            .radius(5.0),
                    );
                }
            });
        });
    }

    fn monitor_plot(&self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            ui.label("Cheap monitors on 1,000 held-out images, every quarter epoch");
            let series = |f: fn(&MonitorPoint) -> f64| -> Vec<[f64; 2]> {
                self.monitors.iter().map(|m| [m.epoch, f(m)]).collect()
            };
            let plot = Plot::new("monitor_plot").legend(Legend::default()).x_axis_label("epoch");
            self.render.show_plot(ui, plot, |plot| {
                plot.line(Line::new("pseudo-likelihood", PlotPoints::from(series(|m| m.pseudo_likelihood))));
                plot.line(Line::new(
                    "free-energy gap (held-out − train)",
                    PlotPoints::from(series(|m| m.free_energy_gap)),
                ));
                plot.line(Line::new(
                    "reconstruction MSE × 1000",
                    PlotPoints::from(series(|m| m.reconstruction_mse * 1000.0)),
                ));
            });
        });
    }

    fn histograms_ui(&self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            let Some(d) = &self.diagnostics else {
                ui.label("Histograms appear once training runs.");
                return;
            };
            ui.label(format!("Update / weight ratio {:.1e} (Hinton's rule of thumb: about 1e-3)", d.update_ratio));
            let cell = egui::vec2(ui.available_width() / 2.0 - 6.0, (ui.available_height() - 24.0) / 2.0);
            let rows = [
                [("weights W", &d.weights), ("last update ΔW", &d.update)],
                [("visible biases", &d.visible_bias), ("hidden biases", &d.hidden_bias)],
            ];
            for row in rows {
                ui.horizontal(|ui| {
                    for (name, histogram) in row {
                        histogram_plot(ui, &self.render, name, histogram, cell);
                    }
                });
            }
        });
    }

    fn hidden_ui(&self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            ui.label("p(h=1|v) for a batch: rows = images, columns = hidden units")
                .on_hover_text("All-black columns are dead units, all-white columns always-on units");
            let width = ui.available_width();
            if let Some(pixels) = self.hidden_texture.size() {
                // Stretched to the column's width: units are thin columns, images short rows.
                let height = fit_size(pixels, egui::vec2(width, ui.available_height())).y.max(120.0);
                self.hidden_texture.show(ui, egui::vec2(width, height), egui::Sense::hover());
            }
        });
    }
}

/// Each class's accuracy on p(h|v), and on the raw pixels when known.
fn per_class_ui(ui: &mut egui::Ui, hidden: &Accuracy, pixels: Option<&Accuracy>) {
    egui::Grid::new("probe_classes").striped(true).show(ui, |ui| {
        ui.label("class");
        ui.label("p(h|v)");
        ui.label("pixels");
        ui.label("images");
        ui.end_row();
        let percent = |rate: Option<f64>| rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1}%", 100.0 * r));
        for (label, &(_, images)) in hidden.per_class.iter().enumerate() {
            ui.label(label.to_string());
            ui.label(percent(hidden.class_rate(label)));
            ui.label(percent(pixels.and_then(|p| p.class_rate(label))));
            ui.label(images.to_string());
            ui.end_row();
        }
    });
}

fn histogram_plot(ui: &mut egui::Ui, render: &Render, name: &str, histogram: &Histogram, size: egui::Vec2) {
    let width = ((histogram.max - histogram.min) / histogram.counts.len().max(1) as f32) as f64;
    let bars: Vec<Bar> = histogram
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar::new(histogram.bin_centre(i) as f64, c as f64).width(width.max(1e-9)))
        .collect();
    ui.vertical(|ui| {
        ui.label(name);
        let plot = Plot::new(name)
            .width(size.x)
            .height((size.y - 24.0).max(60.0))
            .show_axes([true, false])
            .allow_scroll(false)
            .allow_drag(false)
            .allow_zoom(false);
        render.show_plot(ui, plot, |plot| {
            plot.bar_chart(BarChart::new(name, bars));
        });
    });
}

/// The mean of one or two neighbouring monitor points, every measure and the epoch alike, for
/// [`merge_pairs`].
fn average_monitors(pair: &[MonitorPoint]) -> MonitorPoint {
    let mean = |value: fn(&MonitorPoint) -> f64| pair.iter().map(value).sum::<f64>() / pair.len() as f64;
    MonitorPoint {
        epoch: mean(|m| m.epoch),
        pseudo_likelihood: mean(|m| m.pseudo_likelihood),
        free_energy_gap: mean(|m| m.free_energy_gap),
        reconstruction_mse: mean(|m| m.reconstruction_mse),
        update_ratio: mean(|m| m.update_ratio),
    }
}

/// The hidden probabilities as a grey image (one pixel per unit and image).
fn hidden_image(d: &Diagnostics) -> GrayImage {
    let layout = GridLayout { tiles: 1, columns: 1, tile_w: d.n_hidden, tile_h: d.rows, gap: 0 };
    image_grid(&d.hidden_probabilities, d.rows, d.n_hidden, &layout)
}

/// Starts measuring the test accuracy of the classification RBM in `snapshot` on a new thread.
fn start_accuracy(
    ctx: &egui::Context,
    snapshot: &ModelSnapshot,
    dataset: &Arc<Dataset>,
) -> Result<AccuracyJob, String> {
    let labels = snapshot.labels.clone().ok_or("The model has no label units")?;
    if dataset.pixels_per_image() != snapshot.n_visible {
        return Err("The model does not fit the dataset's images".into());
    }
    let rbm = snapshot.rbm().map_err(|e| format!("Cannot measure the accuracy: {e}"))?;
    let (sender, result) = std::sync::mpsc::channel();
    let (dataset, ctx) = (dataset.clone(), ctx.clone());
    std::thread::Builder::new()
        .name("accuracy".into())
        .spawn(move || {
            let image = |i, out: &mut [f32]| dataset.test_image_f32(i, out);
            let targets = &dataset.test.labels;
            let accuracy = crate::model::labels::accuracy_of(&rbm, &labels, targets, image, crate::model::Threads(1));
            let _ = sender.send(accuracy);
            ctx.request_repaint();
        })
        .map_err(|e| format!("Cannot start the accuracy thread: {e}"))?;
    Ok(AccuracyJob { epoch: snapshot.epoch_position, result })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: f64, value: f64) -> MonitorPoint {
        MonitorPoint {
            epoch,
            pseudo_likelihood: value,
            free_energy_gap: -value,
            reconstruction_mse: 2.0 * value,
            update_ratio: value / 1000.0,
        }
    }

    #[test]
    fn a_long_monitor_history_merges_its_older_half_pairwise() {
        let mut view = QualityView::default();
        // Measures alternating 0 and 1: merged neighbours average 0.5 in every measure.
        for i in 0..MAX_MONITOR_POINTS {
            view.push_monitor(point(i as f64, (i % 2) as f64));
        }
        assert_eq!(view.monitors.len(), MAX_MONITOR_POINTS);
        view.push_monitor(point(MAX_MONITOR_POINTS as f64, 0.0));
        let half = MAX_MONITOR_POINTS / 2;
        assert_eq!(view.monitors.len(), half / 2 + half + 1);
        for (k, merged) in view.monitors[..half / 2].iter().enumerate() {
            assert_eq!(*merged, point(2.0 * k as f64 + 0.5, 0.5), "merged point {k}");
        }
        for (k, kept) in view.monitors[half / 2..].iter().enumerate() {
            let i = half + k;
            let value = if i == MAX_MONITOR_POINTS { 0.0 } else { (i % 2) as f64 };
            assert_eq!(*kept, point(i as f64, value), "recent point {i} as measured");
        }
    }
}
