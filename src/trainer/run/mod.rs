//! A training run with no threads of its own and no channels: the model, the training images, the
//! hyperparameters and everything that carries from one batch to the next (the shuffled order and
//! where the run is in it, the CD workspace's streams, particles, momentum and offsets, the epoch's
//! loss sums), plus the state before the latest batch to undo a batch that diverged.
//!
//! The trainer thread wraps one for the window (adding chains, publication and monitors), and
//! `rbm-lab train` drives one directly on its own thread, so both train exactly the same way: a
//! seed and a number of batches fix the result, bit for bit, whatever the machine's speed. Its
//! [`TrainingRun::state`] (saved in model files) lets a run stop and later continue as if it never had.
//!
//! The parts: `cursor` (the seed's random streams and the epoch's order), `model` (the model of
//! one of three kinds and its step), `gaussian` (the Gaussian–Bernoulli kind), `state` (continuing
//! from a model file, and the model file and training state a run saves) and `outcome` (what the
//! calls answer).

mod cursor;
mod gaussian;
mod model;
mod outcome;
mod state;

use std::ops::Range;
use std::sync::Arc;

use super::LossPoint;
use crate::data::Dataset;
use crate::io::ModelFile;
use crate::model::gaussian::Standardisation;
use crate::model::labels::LabelUnits;
use crate::model::{GaussianRbm, MathPool, ModelSpec, Rbm, TrainingConfig, epoch_position};
use cursor::EpochCursor;
use model::{Batch, Diverged, RunModel, Stepped, TrainingData, WorkspaceSource};

pub(crate) use cursor::{Stream, stream_rng};
pub use outcome::{AdoptError, BatchOutcome, BatchReport, Continuation, FinishedEpoch};

/// One training run: see the module's documentation.
pub struct TrainingRun {
    data: TrainingData,
    spec: ModelSpec,
    config: TrainingConfig,
    model: RunModel,
    epochs: EpochCursor,
    samples_seen: u64,
    epoch_loss_sum: f64,
    epoch_batches: usize,
    /// Image indices of the latest batch trained on.
    last_batch: Vec<u32>,
    pool: MathPool,
}

impl TrainingRun {
    /// A fresh model built from `spec`, trained with `config` on `dataset`, computing on `pool`.
    /// Both are used as given: validate them first.
    pub fn new(dataset: Arc<Dataset>, spec: ModelSpec, config: TrainingConfig, pool: MathPool) -> Self {
        let mut data = TrainingData::new(dataset);
        let model =
            RunModel::initialised(&spec, &mut WorkspaceSource { seed: spec.seed, config: &config, data: &mut data });
        let epochs = EpochCursor::fresh(spec.seed, data.dataset.train.count, 0, 0);
        Self {
            data,
            spec,
            config,
            model,
            epochs,
            samples_seen: 0,
            epoch_loss_sum: 0.0,
            epoch_batches: 0,
            last_batch: Vec::new(),
            pool,
        }
    }

    /// A run that continues from `file` (see [`TrainingRun::adopt`]).
    pub fn from_file(
        dataset: Arc<Dataset>,
        file: ModelFile,
        pool: MathPool,
    ) -> Result<(Self, Continuation), AdoptError> {
        let spec = ModelSpec { n_hidden: file.rbm.n_hidden(), ..file.metadata.spec.clone() };
        let mut run = Self::new(dataset, spec, TrainingConfig::default(), pool);
        let continuation = run.adopt(file)?;
        Ok((run, continuation))
    }

    /// A fresh model from `spec`; the run starts over at epoch 0.
    pub fn reset(&mut self, spec: ModelSpec) {
        let mut source = WorkspaceSource { seed: spec.seed, config: &self.config, data: &mut self.data };
        self.model = RunModel::initialised(&spec, &mut source);
        self.spec = spec;
        self.samples_seen = 0;
        self.start_fresh_state(0, 0);
    }

    /// New hyperparameters from the next batch on (validate them first); true if they differ.
    pub fn set_config(&mut self, config: TrainingConfig) -> bool {
        let changed = config != self.config;
        self.config = config;
        changed
    }

    /// Trains on `dataset` from now on, starting a new epoch on it. A dataset of another image size
    /// needs another model: the run then starts over with a fresh one (returns true).
    pub fn set_dataset(&mut self, dataset: Arc<Dataset>) -> bool {
        let same_shape = dataset.pixels_per_image() == self.rbm().n_visible();
        self.data = TrainingData::new(dataset);
        self.epochs.restart_epoch(self.data.dataset.train.count);
        self.epoch_loss_sum = 0.0;
        self.epoch_batches = 0;
        self.last_batch.clear();
        if !same_shape {
            self.reset(self.spec.clone());
        }
        !same_shape
    }

    /// One CD/PCD update on the next batch of the epoch's order. If it produces NaN or infinite
    /// values, everything it changed is put back as it was and the run stays at the batch.
    pub fn train_batch(&mut self) -> BatchOutcome {
        let images = self.images_per_epoch();
        let span = self.epochs.next_batch(self.config.batch_size);
        if span.is_empty() {
            return BatchOutcome::NoTrainingData;
        }
        let position = self.epochs.position();
        let batch = Batch { indices: &self.epochs.order[span.clone()], position, images, pool: &self.pool };
        let mut source = WorkspaceSource { seed: self.spec.seed, config: &self.config, data: &mut self.data };
        match self.model.step(&batch, &mut source) {
            Ok(Stepped { loss, learning_rate }) => self.finish_batch(span, images, loss, learning_rate),
            Err(Diverged { learning_rate }) => BatchOutcome::Diverged { epoch_position: position, learning_rate },
        }
    }

    /// After a batch trained on: the position, the sample count and the epoch's loss move on.
    fn finish_batch(&mut self, span: Range<usize>, images: usize, loss: f32, learning_rate: f32) -> BatchOutcome {
        let rows = span.len();
        self.last_batch.clear();
        self.last_batch.extend_from_slice(&self.epochs.order[span.clone()]);
        self.samples_seen += rows as u64;
        self.epoch_loss_sum += loss as f64;
        self.epoch_batches += 1;
        let epoch = self.epochs.epoch;
        let after = epoch_position(epoch as u64, span.end as u64, images as u64);
        let finished_epoch = self.epochs.advance(rows).then(|| {
            let mean_loss = self.epoch_loss_sum / self.epoch_batches.max(1) as f64;
            self.epoch_loss_sum = 0.0;
            self.epoch_batches = 0;
            FinishedEpoch { epoch, mean_loss }
        });
        BatchOutcome::Trained(BatchReport {
            rows,
            span,
            images_per_epoch: images,
            loss: LossPoint { epoch: after, loss },
            learning_rate,
            finished_epoch,
        })
    }

    /// Mean intensity of each pixel over the training images (computed once per dataset).
    pub fn pixel_means(&mut self) -> &[f32] {
        self.data.pixel_means()
    }

    pub fn rbm(&self) -> &Rbm {
        self.model.rbm()
    }

    /// The label units of a classification RBM (None for a plain RBM).
    pub fn labels(&self) -> Option<&LabelUnits> {
        match &self.model {
            RunModel::Labelled(run) => Some(&run.labels),
            RunModel::Binary(_) | RunModel::Gaussian(_) => None,
        }
    }

    /// A Gaussian–Bernoulli model and the standardisation of its data (None for binary visibles).
    pub fn gaussian(&self) -> Option<(&GaussianRbm, &Standardisation)> {
        match &self.model {
            RunModel::Gaussian(run) => Some((run.model(), run.standardisation())),
            RunModel::Binary(_) | RunModel::Labelled(_) => None,
        }
    }

    /// The weights before the latest batch (after a batch that diverged: the current ones).
    pub fn weights_before_batch(&self) -> &[f32] {
        self.model.weights_before_batch()
    }

    /// Image indices of the latest batch trained on (empty before the first).
    pub fn last_batch(&self) -> &[u32] {
        &self.last_batch
    }

    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.data.dataset
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn config(&self) -> &TrainingConfig {
        &self.config
    }

    pub fn pool(&self) -> &MathPool {
        &self.pool
    }

    /// Completed epochs.
    pub fn epoch(&self) -> usize {
        self.epochs.epoch
    }

    /// Images of the current epoch done.
    pub fn images_into_epoch(&self) -> usize {
        self.epochs.cursor
    }

    pub fn images_per_epoch(&self) -> usize {
        self.epochs.images()
    }

    /// Position in epochs: completed epochs plus the fraction of the current one done.
    pub fn epoch_position(&self) -> f64 {
        self.epochs.position()
    }

    pub fn samples_seen(&self) -> u64 {
        self.samples_seen
    }

    /// Parallel tempering's running swap acceptance rate of each neighbouring pair of
    /// temperatures, coldest pair first; empty for the other methods and kinds of model.
    pub fn swap_rates(&self) -> &[f64] {
        match &self.model {
            RunModel::Binary(run) => run.workspace.swap_rates(),
            RunModel::Labelled(_) | RunModel::Gaussian(_) => &[],
        }
    }
}
