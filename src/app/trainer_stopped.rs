//! Saving the model, and what the window does when the trainer thread has died: a banner saying
//! so, the last weights it received saved from the window itself, and a new trainer started from
//! them.

use super::RbmLabApp;
use super::files::FileRequest;
use crate::io::{ModelFile, ModelMetadata};
use crate::model::VisibleType;
use crate::trainer::{Command, ModelSnapshot, TrainerHandle};

impl RbmLabApp {
    /// The weights the window last received, as a model file (no training state: the trainer
    /// that had it is gone), of the kind they are: with label units or a Gaussian model's
    /// variances and standardisation when the snapshot carries them.
    pub(super) fn last_weights_file(&self) -> Result<ModelFile, String> {
        let snapshot: &ModelSnapshot =
            self.filters.snapshot().ok_or("The trainer stopped before it sent any weights")?;
        let (config, spec) = match &self.progress {
            Some(p) => (p.config.clone(), p.spec.clone()),
            None => (self.trainer_options.config.clone(), self.trainer_options.spec.clone()),
        };
        // The snapshot says what the model is; the last progress report may be older.
        let spec = crate::model::ModelSpec {
            n_hidden: snapshot.n_hidden,
            visible: if snapshot.is_gaussian() { VisibleType::Gaussian } else { VisibleType::Binary },
            label_classes: snapshot.labels.as_ref().map_or(0, |labels| labels.classes()),
            ..spec
        };
        let mut metadata =
            ModelMetadata::new(self.dataset.name.clone(), snapshot.image_rows, snapshot.image_cols, config, spec);
        metadata.epochs_trained = snapshot.epoch_position;
        metadata.samples_seen = self.samples_seen();
        let unusable = |e: &dyn std::fmt::Display| format!("The last weights cannot be used: {e}");
        if let Some(gaussian) = snapshot.gaussian_model() {
            let (model, standardisation) = gaussian.map_err(|e| unusable(&e))?;
            return Ok(ModelFile::new_gaussian(model, standardisation, metadata));
        }
        let rbm = snapshot.rbm().map_err(|e| unusable(&e))?;
        let mut file = ModelFile::new(rbm, metadata);
        file.labels = snapshot.labels.clone();
        Ok(file)
    }

    /// A save path was chosen: the trainer writes its model, or, if it has died, the window writes
    /// the last weights it received.
    pub(super) fn save_to(&mut self, ctx: &egui::Context, path: std::path::PathBuf) {
        if self.trainer_stopped.is_none() {
            self.trainer.send(Command::SaveModel(path));
            return;
        }
        match self.last_weights_file() {
            Ok(file) => self.files.write_model(ctx, path, file),
            Err(message) => {
                self.confirmation = None;
                self.say(message, true);
            }
        }
    }

    /// A new trainer thread from the last weights the window received (the loss history restarts).
    pub(super) fn restart_trainer(&mut self) {
        let file = match self.last_weights_file() {
            Ok(file) => file,
            Err(message) => return self.say(message, true),
        };
        let epoch = file.metadata.epochs_trained;
        let mut options = self.trainer_options.clone();
        options.start_running = false;
        options.chains_running = self.chains.running;
        options.config = file.metadata.training.clone();
        options.spec = file.metadata.spec.clone();
        match TrainerHandle::spawn(self.dataset.clone(), options) {
            Ok(trainer) => {
                trainer.send(Command::LoadModel(Box::new(file)));
                // The old handle's thread has ended: dropping it joins at once.
                self.trainer = trainer;
                self.trainer_stopped = None;
                self.restarting = true;
                self.say(
                    format!("Trainer restarted from the weights of epoch {epoch:.3}; press Start to train"),
                    false,
                );
            }
            Err(e) => self.say(format!("Could not start a trainer thread: {e}"), true),
        }
    }

    /// The dead trainer's banner: what happened, and what can be done about it.
    pub(super) fn stopped_banner_ui(&mut self, ui: &mut egui::Ui) {
        let Some(message) = &self.trainer_stopped else { return };
        let epoch = self.filters.snapshot().map(|s| s.epoch_position);
        let mut save = false;
        let mut restart = false;
        egui::Frame::new()
            .fill(egui::Color32::from_rgb(90, 24, 20))
            .stroke(egui::Stroke::new(1.0, egui::Color32::from_rgb(220, 80, 60)))
            .inner_margin(egui::Margin::same(8))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    egui::RichText::new(format!("Training stopped unexpectedly: {message}"))
                        .strong()
                        .color(egui::Color32::from_rgb(255, 220, 210)),
                );
                ui.horizontal(|ui| {
                    let weights = match epoch {
                        Some(epoch) => format!("The window holds the last weights it received (epoch {epoch:.3})."),
                        None => "The trainer sent no weights before it stopped.".to_string(),
                    };
                    ui.label(egui::RichText::new(weights).color(egui::Color32::from_rgb(255, 220, 210)));
                    let has_weights = epoch.is_some();
                    save = ui
                        .add_enabled(has_weights, egui::Button::new("Save last weights…"))
                        .on_hover_text("Write those weights to a model file (without the training state)")
                        .clicked();
                    restart = ui
                        .add_enabled(has_weights, egui::Button::new("Restart trainer"))
                        .on_hover_text("Start a new trainer from those weights (paused; the loss plot starts over)")
                        .clicked();
                });
            });
        if save {
            self.files.start(ui.ctx(), FileRequest::ChooseSavePath);
        }
        if restart {
            self.restart_trainer();
        }
    }
}
