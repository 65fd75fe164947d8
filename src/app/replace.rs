//! Actions that replace the model (Reset model, Load model, switching to a dataset of another
//! image size) ask first when the model has unsaved training: "Save first…", "Discard" or
//! "Cancel". Unsaved means it has trained since it was created, loaded or last saved, which the
//! window follows from the trainer's `samples_seen` and its `Saved` and `ModelReplaced` updates.

use std::path::PathBuf;
use std::sync::Arc;

use super::RbmLabApp;
use super::files::FileRequest;
use crate::data::Dataset;
use crate::io::ModelFile;
use crate::model::ModelSpec;
use crate::trainer::Command;

/// A change that throws the current model away.
pub enum Replacement {
    Reset(ModelSpec),
    Load(Box<ModelFile>, PathBuf),
    /// Images of another size: the trainer starts a new model of the right size.
    Dataset(Arc<Dataset>),
}

impl Replacement {
    /// What happens, as the end of a sentence: "Reset model replaces it with …".
    pub fn describe(&self) -> String {
        match self {
            Replacement::Reset(spec) => {
                format!("Reset model replaces it with a new model ({} hidden units, seed {})", spec.n_hidden, spec.seed)
            }
            Replacement::Load(_, path) => format!(
                "Loading {} replaces it",
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
            ),
            Replacement::Dataset(d) => format!(
                "Switching to {} ({}x{} images) replaces it with a new model of that size",
                d.name, d.rows, d.cols
            ),
        }
    }

    /// Whether carrying it out loses the model whose visible layer has `n_visible` units: a model
    /// file of another size is refused by the trainer, a dataset of the same size keeps the model.
    pub fn loses_model(&self, n_visible: usize) -> bool {
        match self {
            Replacement::Reset(_) => true,
            Replacement::Load(file, _) => file.rbm.n_visible() == n_visible,
            Replacement::Dataset(dataset) => dataset.pixels_per_image() != n_visible,
        }
    }
}

/// How many samples the model had seen when it was last created, loaded or saved.
#[derive(Debug, Default)]
pub struct SaveTracker {
    baseline: u64,
    /// A model was replaced: the next progress report gives the new model's count.
    refresh: bool,
}

impl SaveTracker {
    /// Training samples since the model was created, loaded or saved.
    pub fn unsaved(&self, samples_seen: u64) -> u64 {
        samples_seen.saturating_sub(self.baseline)
    }

    pub fn progress(&mut self, samples_seen: u64) {
        if self.refresh {
            self.refresh = false;
            self.baseline = samples_seen;
        }
    }

    /// The trainer replaced the model. Its count arrives with the next progress report; until then
    /// the last known count stands (a report identical to the last one is not sent again).
    pub fn replaced(&mut self, samples_seen: u64) {
        self.baseline = samples_seen;
        self.refresh = true;
    }

    /// A kept session was continued: its model had trained on `unsaved` samples since it was
    /// created, loaded or saved by the person (a session is not such a save), out of `samples_seen`.
    pub fn continued(&mut self, samples_seen: u64, unsaved: u64) {
        self.baseline = samples_seen.saturating_sub(unsaved);
        self.refresh = false;
    }

    /// The model was saved when the trainer had seen `samples_seen` (the window's latest count: a
    /// save made while training runs is soon out of date anyway).
    pub fn saved(&mut self, samples_seen: u64) {
        self.baseline = samples_seen;
    }
}

/// The person's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    SaveFirst,
    Discard,
    Cancel,
}

/// The question, and what it is about, until answered (and, after "Save first…", until saved).
pub struct ReplaceConfirmation {
    pub replacement: Replacement,
    /// "Save first…" was chosen: the replacement waits for the save to finish.
    pub waiting_for_save: bool,
}

impl ReplaceConfirmation {
    pub fn new(replacement: Replacement) -> Self {
        Self { replacement, waiting_for_save: false }
    }

    /// The modal; `unsaved` is the number of training samples since the last save.
    pub fn ui(&self, ui: &mut egui::Ui, unsaved: u64) -> Option<Choice> {
        if self.waiting_for_save {
            return None;
        }
        let modal = egui::Modal::new(egui::Id::unique("rbm_replace_confirmation")).show(ui.ctx(), |ui| {
            ui.set_width(460.0);
            ui.heading("Unsaved training");
            ui.add_space(6.0);
            ui.label(format!(
                "The current model has trained on {} images since it was created, loaded or last saved. {}.",
                thousands(unsaved),
                self.replacement.describe()
            ));
            ui.add_space(10.0);
            let mut choice = None;
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Save first…").on_hover_text("Save the current model, then go on").clicked() {
                    choice = Some(Choice::SaveFirst);
                }
                if ui.button("Discard").on_hover_text("Go on without saving: the training is lost").clicked() {
                    choice = Some(Choice::Discard);
                }
                if ui.button("Cancel").on_hover_text("Keep the current model").clicked() {
                    choice = Some(Choice::Cancel);
                }
            });
            choice
        });
        if modal.inner.is_none() && modal.should_close() { Some(Choice::Cancel) } else { modal.inner }
    }
}

/// 12345 → "12,345".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl RbmLabApp {
    /// Replaces the model, asking first if that would lose unsaved training.
    pub fn request_replacement(&mut self, replacement: Replacement) {
        if self.trainer_stopped.is_some() {
            self.say("The trainer has stopped: save the last weights or restart it first (see above)", true);
            return;
        }
        if self.unsaved_samples() > 0 && replacement.loses_model(self.dataset.pixels_per_image()) {
            self.confirmation = Some(ReplaceConfirmation::new(replacement));
        } else {
            self.replace(replacement);
        }
    }

    pub(super) fn replace(&mut self, replacement: Replacement) {
        match replacement {
            Replacement::Reset(spec) => self.trainer.send(Command::Reset(spec)),
            Replacement::Load(model, path) => {
                self.say(format!("Loading {}", path.display()), false);
                self.trainer.send(Command::LoadModel(model));
            }
            Replacement::Dataset(dataset) => {
                self.say(
                    format!(
                        "Dataset {}: {} training images of {}x{}",
                        dataset.name, dataset.train.count, dataset.rows, dataset.cols
                    ),
                    false,
                );
                self.dataset_before_switch = Some(std::mem::replace(&mut self.dataset, dataset.clone()));
                self.trainer.send(Command::SetDataset(dataset));
            }
        }
    }

    pub(super) fn confirmation_ui(&mut self, ui: &mut egui::Ui) {
        let unsaved = self.unsaved_samples();
        let Some(choice) = self.confirmation.as_ref().and_then(|c| c.ui(ui, unsaved)) else { return };
        match choice {
            Choice::SaveFirst => {
                if let Some(c) = &mut self.confirmation {
                    c.waiting_for_save = true;
                }
                self.files.start(ui.ctx(), FileRequest::ChooseSavePath);
            }
            Choice::Discard => {
                if let Some(confirmation) = self.confirmation.take() {
                    self.replace(confirmation.replacement);
                }
            }
            Choice::Cancel => self.confirmation = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn training_since_the_last_save_or_replacement_is_unsaved() {
        let mut t = SaveTracker::default();
        assert_eq!(t.unsaved(0), 0, "a new model has nothing to lose");
        t.progress(640);
        assert_eq!(t.unsaved(640), 640);
        t.saved(640);
        assert_eq!(t.unsaved(640), 0);
        assert_eq!(t.unsaved(704), 64);
        // A loaded model that had seen fewer samples: its own count becomes the baseline.
        t.replaced(704);
        assert_eq!(t.unsaved(704), 0);
        t.progress(128);
        assert_eq!(t.unsaved(128), 0);
        t.progress(192);
        assert_eq!(t.unsaved(192), 64);
    }
}
