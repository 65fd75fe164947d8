//! The typed messages between the window (or a test) and the trainer thread.

use std::path::PathBuf;
use std::sync::Arc;

use super::TrainerError;
use crate::data::Dataset;
use crate::io::ModelFile;
pub use crate::model::labels::ChainClamp;
use crate::model::{ModelSpec, TrainingConfig, VisibleSampling};
use crate::quality::{Histogram, MonitorPoint};

/// UI → trainer.
pub enum Command {
    /// Train continuously.
    Start,
    /// Stop training after the current batch (chains keep running if they are on).
    Pause,
    /// Train exactly one batch, then pause.
    Step,
    /// A fresh model with this shape and seed; history starts over.
    Reset(ModelSpec),
    /// New hyperparameters, applied at the next batch boundary.
    SetConfig(TrainingConfig),
    /// Replace the model with one read from a file (already parsed and checked off the UI thread).
    /// With a training state that fits the current training set, the file's run continues exactly.
    LoadModel(Box<ModelFile>),
    /// Write the current model with its training state to this path (atomically); answered by
    /// `Saved` or `Error`.
    SaveModel(PathBuf),
    /// Answered by `ModelFile`: the current model with its training state, as Save would write it.
    RequestModelFile,
    /// Train on another dataset from now on (same image size keeps the model, otherwise Reset).
    SetDataset(Arc<Dataset>),
    Chains(ChainCommand),
    /// Stop the thread; the handle joins it.
    Shutdown,
}

/// Where new Gibbs chains start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum ChainStart {
    /// Test images, one of each class in turn, shown beside the chains.
    #[default]
    TestDigits,
    /// Uniform random pixels in [0, 1].
    Noise,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ChainCommand {
    Run(bool),
    /// One Gibbs step now.
    Step,
    Reset {
        start: ChainStart,
        count: usize,
    },
    SetStepsPerSecond(f32),
    /// Start again from the start images every this many steps (0: never), so the chains show what
    /// the current model makes of the digits instead of lingering in a state from an old model.
    SetRestartEvery(u64),
    /// How the chains produce visibles; `None` follows the training setting.
    SetSampling(Option<VisibleSampling>),
    /// For a model with label units: clamp every chain's label to a class ("draw a 7"), chain i's
    /// to class i mod C ("draw each class"), or none (the label is sampled with the image). The
    /// chains start again. Ignored by models without label units.
    SetClass(ChainClamp),
}

/// One per-batch loss, with x in epochs (epoch index + fraction of the epoch done).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossPoint {
    pub epoch: f64,
    pub loss: f32,
}

/// The trainer's state, sent a few times per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub running: bool,
    /// Completed epochs.
    pub epoch: usize,
    pub batch_in_epoch: usize,
    pub batches_per_epoch: usize,
    pub samples_seen: u64,
    /// Training throughput over the last half second or so of training (0 when paused).
    pub samples_per_second: f64,
    pub n_visible: usize,
    pub n_hidden: usize,
    pub dataset: String,
    pub config: TrainingConfig,
    pub spec: ModelSpec,
    /// Threads training runs on: its math pool's, which is 1 when the pool could not be built and
    /// the work runs on the trainer thread alone ([`crate::model::MathPool::threads`]).
    pub threads: usize,
    /// Parallel tempering's running swap acceptance rate of each neighbouring pair of
    /// temperatures, coldest pair first (empty for the other methods).
    pub swap_rates: Vec<f64>,
}

impl Progress {
    /// Position in epochs, as plotted.
    pub fn epoch_position(&self) -> f64 {
        self.epoch as f64 + self.batch_in_epoch as f64 / self.batches_per_epoch.max(1) as f64
    }
}

/// The model's parameters at one moment, for the filter view and exports.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSnapshot {
    pub n_visible: usize,
    pub n_hidden: usize,
    pub image_rows: usize,
    pub image_cols: usize,
    /// Row-major V x H.
    pub weights: Vec<f32>,
    pub visible_bias: Vec<f32>,
    pub hidden_bias: Vec<f32>,
    /// The label units of a classification RBM (None for a plain RBM).
    pub labels: Option<crate::model::labels::LabelUnits>,
    /// A Gaussian model's log variances and the standardisation of its data (`None` for binary
    /// visibles): with W, b and c, the model its evaluation measures.
    pub gaussian_visibles: Option<crate::io::GaussianVisibles>,
    pub epoch_position: f64,
    /// Counts snapshots, so that views can tell a new one from the last.
    pub version: u64,
}

impl ModelSnapshot {
    /// The binary RBM of these weights (a copy), for work of its own: an evaluation, a probe, the
    /// Inpaint tab, a save after the trainer has stopped.
    pub fn rbm(&self) -> Result<crate::model::Rbm, crate::model::ShapeError> {
        crate::model::Rbm::from_parameters(
            self.n_visible,
            self.n_hidden,
            self.weights.clone(),
            self.visible_bias.clone(),
            self.hidden_bias.clone(),
        )
    }

    /// The model has Gaussian visible units: the evaluations made for binary models do not apply.
    pub fn is_gaussian(&self) -> bool {
        self.gaussian_visibles.is_some()
    }

    /// The Gaussian–Bernoulli model of these parameters (a copy) and the standardisation of its
    /// data; `None` for a binary model.
    ///
    /// # Errors
    /// [`SnapshotModelError`] when the parameters do not fit together.
    pub fn gaussian_model(
        &self,
    ) -> Option<Result<(crate::model::GaussianRbm, crate::model::gaussian::Standardisation), SnapshotModelError>> {
        let visibles = self.gaussian_visibles.as_ref()?;
        let model = self
            .rbm()
            .map_err(SnapshotModelError::from)
            .and_then(|rbm| Ok(crate::model::GaussianRbm::from_parts(rbm, visibles.log_variance.clone())?));
        Some(model.map(|model| (model, visibles.standardisation.clone())))
    }
}

/// Why a snapshot's parameters do not make a model.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotModelError {
    #[error(transparent)]
    Shape(#[from] crate::model::ShapeError),
    #[error(transparent)]
    Gaussian(#[from] crate::model::gaussian::GaussianError),
}

/// The Gibbs chains at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainSnapshot {
    pub count: usize,
    pub image_rows: usize,
    pub image_cols: usize,
    /// Where each chain started (count x V).
    pub start_images: Vec<f32>,
    /// p(v|h) after the latest step (count x V).
    pub mean_images: Vec<f32>,
    pub steps: u64,
    pub running: bool,
    pub steps_per_second: f32,
    pub start: ChainStart,
    /// How the chains' labels are clamped (free for a model without label units, or when the
    /// class asked for is not one of the model's).
    pub clamp: ChainClamp,
    /// The model's label classes (0: no label units).
    pub label_classes: usize,
}

/// Trainer → UI.
#[derive(Clone, Debug)]
pub enum Update {
    /// Per-batch losses since the last message, in order; never dropped.
    Losses(Vec<LossPoint>),
    EpochFinished {
        epoch: usize,
        mean_loss: f64,
    },
    Progress(Progress),
    /// New hyperparameters took effect at this position (the plot marks it).
    ConfigApplied {
        epoch_position: f64,
        config: TrainingConfig,
    },
    /// A new model replaced the old one (Reset or Load): loss history restarts.
    ModelReplaced {
        description: String,
        epoch_position: f64,
    },
    Saved(PathBuf),
    /// The answer to `RequestModelFile`.
    ModelFile(Box<ModelFile>),
    /// The cheap quality monitors, every quarter epoch.
    Monitors(MonitorPoint),
    /// Training produced NaN/inf: paused, everything restored to the state before that batch.
    Diverged {
        epoch_position: f64,
        message: String,
    },
    /// A command was refused (the model and settings are unchanged) or a save failed.
    Error(TrainerError),
    /// The trainer thread panicked and has ended (the message says where); nothing more will come.
    TrainerStopped(String),
}

/// What the parameters and the updates look like, a couple of times per second.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostics {
    pub epoch: f64,
    pub weights: Histogram,
    pub visible_bias: Histogram,
    pub hidden_bias: Histogram,
    /// The last update ΔW.
    pub update: Histogram,
    /// Mean |ΔW| / mean |W| (Hinton's rule of thumb: about 1e-3).
    pub update_ratio: f64,
    /// p(h=1|v) for up to 64 images of the last batch (rows x H): dead or always-on units show
    /// as black or white columns.
    pub hidden_probabilities: Vec<f32>,
    pub rows: usize,
    pub n_hidden: usize,
}
