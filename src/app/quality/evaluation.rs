//! The Quality tab's log-likelihood controls and its evaluation job: AIS (or exact log Z) and the
//! average log-likelihood of the binarised test images for a binary model, the average log density
//! of the real-valued images for a Gaussian–Bernoulli one (see [`crate::quality::evaluate_gaussian`]).

use std::sync::Arc;

use super::QualityView;
use crate::data::Dataset;
use crate::quality::{Evaluation, EvaluationJob, EvaluationSettings};
use crate::trainer::ModelSnapshot;

impl QualityView {
    /// Starts an evaluation of the model in `snapshot`.
    pub fn start_evaluation(
        &mut self,
        ctx: &egui::Context,
        snapshot: &ModelSnapshot,
        dataset: Arc<Dataset>,
        threads: usize,
    ) {
        let settings = EvaluationSettings {
            betas: (!self.paper_schedule).then_some(self.fast_betas),
            threads,
            raise_images: if self.raise { self.raise_images } else { 0 },
            ..self.settings.clone()
        };
        let (epoch, wake) = (snapshot.epoch_position, Some(super::waker(ctx)));
        let started = match snapshot.gaussian_model() {
            Some(Ok((model, standardisation))) => {
                EvaluationJob::start_gaussian(model, standardisation, dataset, epoch, settings, wake)
            }
            None => match snapshot.rbm() {
                Ok(rbm) => EvaluationJob::start(rbm, dataset, epoch, settings, wake),
                Err(e) => {
                    self.evaluation.status = Some(format!("Cannot evaluate: {e}"));
                    return;
                }
            },
            Some(Err(e)) => {
                self.evaluation.status = Some(format!("Cannot evaluate: {e}"));
                return;
            }
        };
        self.evaluation.start(started, format!("Evaluating the model of epoch {epoch:.2}…"));
    }

    pub(super) fn poll_evaluation(&mut self) {
        if let Some(evaluation) = self.evaluation.poll() {
            self.evaluation.status = Some(evaluation_status(&evaluation));
            self.evaluations.push(evaluation);
        }
    }

    /// The Evaluate button, its progress, and the evaluation's settings.
    pub(super) fn evaluation_controls(
        &mut self,
        ui: &mut egui::Ui,
        snapshot: Option<&Arc<ModelSnapshot>>,
        dataset: &Arc<Dataset>,
        threads: usize,
    ) {
        let gaussian = snapshot.is_some_and(|s| s.is_gaussian());
        ui.horizontal(|ui| {
            ui.strong(if gaussian { "Log-density" } else { "Log-likelihood" });
            // AIS estimates log Z of models without label units.
            let can_start = !self.evaluation.is_running() && snapshot.is_some_and(|s| s.labels.is_none());
            let hint = if gaussian {
                "Compute log Z (exactly for up to 20 hidden units, else by AIS from the model without weights) and \
                 the average log density of the 10,000 test images, on their [0, 1] intensities and standardised"
            } else {
                "Estimate log Z by AIS and the average log-likelihood of the 10,000 binarised test images"
            };
            if ui.add_enabled(can_start, egui::Button::new("Evaluate now")).on_hover_text(hint).clicked()
                && let Some(snapshot) = snapshot
            {
                self.start_evaluation(ui.ctx(), snapshot, dataset.clone(), threads);
            }
            self.evaluation.progress_ui(ui, "Cancel");
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
            ui.add_enabled(!gaussian, egui::Checkbox::new(&mut self.raise, "RAISE lower bound"))
                .on_hover_text(
                    "Reverse AIS (Burda, Grosse & Salakhutdinov 2015) on some test images: a stochastic lower \
                     bound of their log-likelihood, to set beside AIS's estimate, which can be too high",
                )
                .on_disabled_hover_text("RAISE bounds binary models' log-likelihoods; a Gaussian model has none");
            if self.raise && !gaussian {
                ui.add(egui::Slider::new(&mut self.raise_images, 1..=10_000).logarithmic(true).text("images"))
                    .on_hover_text("Test images RAISE bounds (each costs its runs times the schedule)");
                ui.add(egui::Slider::new(&mut self.settings.raise_runs, 1..=100).logarithmic(true).text("runs"))
                    .on_hover_text("Reverse runs per image (Burda et al.: 10 or more)");
            }
        });
    }
}

/// What a finished evaluation says in the status line: a Gaussian model's log density on the
/// [0, 1] intensities with the standardised figure beside, a binary model's log-likelihood.
fn evaluation_status(e: &Evaluation) -> String {
    let how = if e.exact { "exact".to_string() } else { format!("AIS, {} runs", e.runs) };
    match &e.gaussian {
        Some(density) => format!(
            "Epoch {:.2}: test log-density {:.2} nats on [0, 1] intensities ({:.2} on the standardised data), \
             log Z {:.2} ({how}) in {:.0} s",
            e.epoch, e.test_log_likelihood, density.test_standardised, e.log_z, e.seconds
        ),
        None => format!(
            "Epoch {:.2}: test log-likelihood {:.2} nats, log Z {:.2} ({how}) in {:.0} s",
            e.epoch, e.test_log_likelihood, e.log_z, e.seconds
        ),
    }
}
