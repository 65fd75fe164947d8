//! A training run's state beyond the model and its hyperparameters: what it takes to continue a
//! run bit for bit after saving it, as if it had never stopped.

use rand_xoshiro::Xoshiro256PlusPlus;
use thiserror::Error;

use super::cd::WorkspaceState;

/// Why a saved training state cannot continue a run of a given model.
#[derive(Debug, Error, PartialEq)]
pub enum StateError {
    #[error("{part} holds {found} values, expected {expected}")]
    Size { part: &'static str, found: usize, expected: String },
    #[error("{part} has NaN or infinite values")]
    NonFinite { part: &'static str },
    #[error("{0}")]
    Inconsistent(String),
}

/// Where a run is, in epochs: completed epochs plus the fraction of the current one done. The one
/// formula for the position the plots show, the files record and the schedules are evaluated at.
pub fn epoch_position(epoch: u64, cursor: u64, images_per_epoch: u64) -> f64 {
    epoch as f64 + cursor as f64 / images_per_epoch.max(1) as f64
}

/// Everything a training run carries from one batch to the next besides the model, the
/// hyperparameters and the training images.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingState {
    /// Completed epochs.
    pub epoch: u64,
    /// Images of the current epoch trained on so far, in the order the shuffle stream draws.
    pub cursor: u64,
    /// Training images per epoch when the state was taken: the order, and so the cursor, only
    /// mean something for this many images.
    pub train_images: u64,
    /// The shuffle stream as it was before the current epoch's order was drawn from it.
    pub shuffle_stream: Xoshiro256PlusPlus,
    /// Sum of the current epoch's batch losses and their count, for the epoch's mean.
    pub epoch_loss_sum: f64,
    pub epoch_batches: u64,
    /// How many times the run has replaced its workspace (a larger batch needs a larger one); each
    /// generation's streams are seeded afresh from the model's seed and this count.
    pub workspace_generation: u64,
    pub workspace: WorkspaceState,
}

impl TrainingState {
    /// The run's position in epochs (see [`epoch_position`]).
    pub fn epoch_position(&self) -> f64 {
        epoch_position(self.epoch, self.cursor, self.train_images)
    }

    /// Checks the state against a V x H model: the position within the epoch, the loss sums and
    /// the workspace ([`WorkspaceState::validate`]).
    pub fn validate(&self, n_visible: usize, n_hidden: usize) -> Result<(), StateError> {
        if self.train_images == 0 || self.cursor >= self.train_images {
            return Err(StateError::Inconsistent(format!(
                "it is {} images into an epoch of {} (the position must lie inside the epoch)",
                self.cursor, self.train_images
            )));
        }
        // Every batch has at least one image, and a fresh epoch has no losses yet.
        if self.epoch_batches > self.cursor || !(self.epoch_loss_sum.is_finite() && self.epoch_loss_sum >= 0.0) {
            return Err(StateError::Inconsistent(format!(
                "the epoch's loss sum {} over {} batches does not fit {} images trained on in the epoch",
                self.epoch_loss_sum, self.epoch_batches, self.cursor
            )));
        }
        self.workspace.validate(n_visible, n_hidden)
    }
}
