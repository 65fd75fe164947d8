//! How the window follows the trainer each frame: its updates folded into the views, its
//! mailboxes' latest snapshots handed to the views that draw them, and the finished file jobs
//! (whose outcomes may replace the model, save it, or report an error).

use std::time::{Duration, Instant};

use super::RbmLabApp;
use super::files::{FileOutcome, Purpose};
use super::loss_plot::describe_change;
use super::replace::Replacement;
use crate::trainer::{TrainerError, Update};

impl RbmLabApp {
    /// Folds one trainer update into the views.
    pub fn apply_update(&mut self, update: Update) {
        match update {
            Update::Losses(points) => points.into_iter().for_each(|p| self.loss.history.push(p)),
            Update::EpochFinished { epoch, mean_loss } => self.loss.history.push_epoch_mean(epoch, mean_loss),
            Update::Progress(progress) => {
                self.controls.running = progress.running;
                let ladder = progress.config.temperature_ladder();
                self.controls.swap_history.push(progress.epoch_position(), &ladder, &progress.swap_rates);
                self.quality.samples_seen = progress.samples_seen;
                self.chains.label_classes = progress.spec.label_classes;
                self.chains.dataset.clone_from(&progress.dataset);
                self.loss.squared_error = progress.spec.visible == crate::model::VisibleType::Gaussian;
                self.controls.model_visible = progress.spec.visible;
                self.saves.progress(progress.samples_seen);
                self.runs_progress(&progress);
                self.progress = Some(progress);
            }
            Update::ConfigApplied { epoch_position, config } => {
                let old = self.progress.as_ref().map(|p| p.config.clone()).unwrap_or_default();
                // Changes less than a second apart come from one gesture (a slider drag): one marker.
                let now = Instant::now();
                let merge = self.last_marker_at.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1));
                self.last_marker_at = Some(now);
                if !merge || self.gesture_base.is_none() {
                    self.gesture_base = Some(old.clone());
                }
                let label = describe_change(self.gesture_base.as_ref().unwrap_or(&old), &config);
                self.loss.history.push_marker(epoch_position, label, merge);
                if let Some(p) = &mut self.progress {
                    p.config = config.clone();
                }
                if config != self.controls.config {
                    self.controls.adopt_config(config);
                }
                self.session_config_applied();
            }
            Update::Monitors(point) => self.quality.push_monitor(point),
            Update::ModelReplaced { description, .. } => {
                // A restarted trainer's model is the same run's.
                let restarted = std::mem::take(&mut self.restarting);
                if !restarted {
                    self.runs_model_replaced();
                }
                self.clear_run_plots();
                if !restarted {
                    self.saves.replaced(self.samples_seen());
                }
                self.say(format!("Model: {description}"), false);
                self.session_model_replaced();
            }
            Update::Saved(path) => self.saved(&path),
            Update::ModelFile(file) => self.session_model_file(*file),
            Update::Diverged { message, .. } => {
                self.controls.running = false;
                self.say(message, true);
            }
            Update::Error(error) => {
                if matches!(error, TrainerError::DatasetRefused { .. })
                    && let Some(previous) = self.dataset_before_switch.take()
                {
                    self.dataset = previous;
                }
                self.session_load_refused();
                self.report_error(error.to_string());
            }
            Update::TrainerStopped(message) => {
                self.controls.running = false;
                self.trainer_stopped = Some(message);
            }
        }
    }

    /// A new run's plots start empty: the loss curve, the evaluations and the swap rates (the ended
    /// run keeps its own in the runs table).
    pub(super) fn clear_run_plots(&mut self) {
        self.loss.history.clear();
        self.quality.clear();
        self.controls.swap_history.clear();
    }

    /// Shows an error. A replacement waiting for a save is called off: most likely the save itself
    /// failed, and what waited for it must not go ahead.
    pub(super) fn report_error(&mut self, message: String) {
        if self.confirmation.take_if(|c| c.waiting_for_save).is_some() {
            self.say(format!("{message} The model was not replaced."), true);
        } else {
            self.say(message, true);
        }
    }

    pub(super) fn samples_seen(&self) -> u64 {
        self.progress.as_ref().map_or(0, |p| p.samples_seen)
    }

    /// The model is on disk at `path`; a replacement that waited for this save goes ahead.
    pub(super) fn saved(&mut self, path: &std::path::Path) {
        self.saves.saved(self.samples_seen());
        self.say(format!("Saved {}", path.display()), false);
        if let Some(confirmation) = self.confirmation.take_if(|c| c.waiting_for_save) {
            self.replace(confirmation.replacement);
        }
    }

    /// Drains the trainer's messages and mailboxes (cheap: no numerical work).
    pub(super) fn receive(&mut self, ctx: &egui::Context) {
        let updates: Vec<Update> = self.trainer.updates().collect();
        for update in updates {
            self.apply_update(update);
        }
        if let Some(snapshot) = self.trainer.take_model_snapshot() {
            self.filters.set_snapshot(snapshot);
        }
        if let Some(snapshot) = self.trainer.take_chain_snapshot() {
            self.chains.set_snapshot(ctx, snapshot);
        }
        if let Some(diagnostics) = self.trainer.take_diagnostics() {
            self.quality.set_diagnostics(ctx, diagnostics);
        }
        for outcome in self.files.finished() {
            match outcome {
                FileOutcome::DatasetLoaded(dataset) => {
                    self.menu.opened(&dataset);
                    self.request_replacement(Replacement::Dataset(dataset));
                }
                FileOutcome::ModelLoaded(model, path) => self.request_replacement(Replacement::Load(model, path)),
                FileOutcome::SavePathChosen(path) => self.save_to(ctx, path),
                FileOutcome::ModelWritten(path) => self.saved(&path),
                FileOutcome::Exported(path) => self.say(format!("Wrote {}", path.display()), false),
                FileOutcome::RunsImported(runs, path) => self.runs_imported(runs, &path),
                FileOutcome::Cancelled(Purpose::SaveModel)
                    if self.confirmation.as_ref().is_some_and(|c| c.waiting_for_save) =>
                {
                    self.confirmation = None;
                    self.say("Save cancelled: the model was not replaced", false);
                }
                FileOutcome::Cancelled(_) => {}
                FileOutcome::Failed(message) => self.report_error(message),
                FileOutcome::FolderUnreadable(folder, message) => {
                    let forgotten =
                        if self.menu.recent.remove(&folder) { " (removed from the recent folders)" } else { "" };
                    self.report_error(format!("{message}{forgotten}"));
                }
                FileOutcome::UsingBuiltinDialog => self.say(
                    "This system shows no file dialog (no desktop portal, no zenity): rbm-lab uses its own",
                    false,
                ),
            }
        }
    }
}
