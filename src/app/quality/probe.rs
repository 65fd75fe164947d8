//! The Quality tab's linear probe: a softmax classifier on the model's p(h|v) against one on the
//! raw pixels (trained once per dataset), on its own thread, and its test accuracy over training
//! samples.

use std::sync::Arc;

use egui_plot::{HLine, Legend, Line, Plot, PlotPoints, Points};

use super::{MAX_PROBES, QualityView};
use crate::data::Dataset;
use crate::model::probe::{Accuracy, Probe};
use crate::quality::{PixelBaseline, ProbeJob, ProbeSettings};
use crate::trainer::ModelSnapshot;

impl QualityView {
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
                self.probe.status = Some(format!("Cannot probe: {e}"));
                return;
            }
        };
        let baseline = self.pixel_baseline(&dataset).cloned();
        if baseline.is_none() {
            self.baseline = None;
        }
        let settings = ProbeSettings { threads, ..self.probe_settings.clone() };
        let key = Arc::downgrade(&dataset);
        let at = (self.samples_seen, snapshot.epoch_position);
        let started = ProbeJob::start_probe(rbm, dataset, at, settings, baseline, Some(super::waker(ctx)));
        if started.is_ok() {
            self.baseline_key = Some(key);
        }
        self.probe.start(started, format!("Probing the model of epoch {:.2}…", snapshot.epoch_position));
    }

    pub(super) fn poll_probe(&mut self) {
        let Some(mut measurement) = self.probe.poll() else { return };
        if let (Some(baseline), Some(key)) = (measurement.baseline.take(), self.baseline_key.take()) {
            self.baseline = Some((key, baseline));
        }
        self.probe.status = Some(format!(
            "Linear probe on p(h|v) of epoch {:.2}: test accuracy {:.2}%",
            measurement.epoch,
            100.0 * measurement.accuracy.rate()
        ));
        if self.probes.len() >= MAX_PROBES {
            self.probes.remove(0);
        }
        self.probes.push(measurement);
    }

    pub(super) fn probe_controls(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: Option<&Arc<ModelSnapshot>>,
        dataset: &Arc<Dataset>,
        threads: usize,
    ) {
        ui.horizontal(|ui| {
            // The probe's features are the binary RBM's p(h|v).
            let can_start = !self.probe.is_running() && snapshot.is_some_and(|s| !s.is_gaussian());
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
            self.probe.progress_ui(ui, "Cancel probe");
        });
    }

    pub(super) fn probe_plot(&self, ui: &mut egui::Ui, dataset: &Arc<Dataset>) {
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
                // One colour per series (egui_plot would colour the points and the line apart).
                let hidden = egui::Color32::from_rgb(90, 150, 230);
                plot.points(Points::new("on p(h|v)", PlotPoints::from(points.clone())).radius(4.0).color(hidden));
                plot.line(Line::new("on p(h|v)", PlotPoints::from(points)).color(hidden));
                if let Some(b) = baseline {
                    let pixels = egui::Color32::from_rgb(230, 160, 60);
                    plot.hline(HLine::new("raw pixels", 100.0 * b.accuracy.rate()).color(pixels));
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
