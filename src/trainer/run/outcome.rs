//! What a run's calls answer: a batch's outcome (trained, diverged and undone, or no data), and
//! how a run continues from a model file or why it cannot.

use std::ops::Range;

use thiserror::Error;

use crate::trainer::LossPoint;

/// What one call of [`TrainingRun::train_batch`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchOutcome {
    Trained(BatchReport),
    /// The batch produced NaN or infinite values; the run is back exactly where it was before it
    /// (model, momentum, centering offsets, particles, random streams, position).
    Diverged {
        /// The position the run is at, which is where the batch that diverged started.
        epoch_position: f64,
        /// The learning rate (after the schedule) the batch used.
        learning_rate: f32,
    },
    /// The training set has no images.
    NoTrainingData,
}

/// A batch that was trained on.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchReport {
    pub rows: usize,
    /// The batch's place in the epoch's order (image positions start..end of `images_per_epoch`).
    pub span: Range<usize>,
    pub images_per_epoch: usize,
    /// The batch's loss, at the position after it.
    pub loss: LossPoint,
    /// The learning rate (after the schedule) the batch used.
    pub learning_rate: f32,
    /// The epoch this batch completed, if it did.
    pub finished_epoch: Option<FinishedEpoch>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FinishedEpoch {
    /// Index of the epoch (0 for the first).
    pub epoch: usize,
    /// Mean of its batch losses.
    pub mean_loss: f64,
}

/// How a run continues from a model file.
#[derive(Clone, Debug, PartialEq)]
pub enum Continuation {
    /// From the file's training state: exactly as the run that saved it would have gone on.
    Exact,
    /// From the weights at the file's position, with fresh momentum, offsets, particles and order
    /// of the images; says why.
    FreshState(String),
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum AdoptError {
    #[error(
        "this model has {model} visible units but the current dataset's images have {rows}x{cols} = {pixels} pixels; \
         load a dataset of that image size first"
    )]
    VisibleMismatch { model: usize, rows: usize, cols: usize, pixels: usize },
    /// Neither the file's settings nor the current ones fit the model within rbm-lab's limits.
    #[error("{0}")]
    Limits(#[from] crate::model::ConfigError),
    /// A Gaussian–Bernoulli model: this run trains binary models.
    #[error("{0}")]
    NotBinary(String),
}
