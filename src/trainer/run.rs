//! A training run with no threads of its own and no channels: the model, the training images, the
//! hyperparameters and everything that carries from one batch to the next (the shuffled order and
//! where the run is in it, the CD workspace's streams, particles, momentum and offsets, the epoch's
//! loss sums), plus the state before the latest batch to undo a batch that diverged.
//!
//! The trainer thread wraps one for the window (adding chains, publication and monitors), and
//! `rbm-lab train` drives one directly on its own thread, so both train exactly the same way: a
//! seed and a number of batches fix the result, bit for bit, whatever the machine's speed. Its
//! [`TrainingRun::state`] (saved in model files) lets a run stop and later continue as if it never had.

use std::ops::Range;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use thiserror::Error;

use super::LossPoint;
use super::gaussian::GaussianRun;
use crate::data::Dataset;
use crate::io::{ModelFile, ModelMetadata};
use crate::model::ais::base_rate_visible_bias;
use crate::model::gaussian::Standardisation;
use crate::model::labels::{LabelUnits, LabelledCd};
use crate::model::{
    CdWorkspace, GaussianRbm, GradientMethod, Initialisation, MathPool, ModelSpec, Rbm, StateError, TrainingConfig,
    TrainingState, VisibleType, WorkspaceState, epoch_position,
};

/// Separate random streams derived from the one seed, so that e.g. changing the chain count does not
/// change the training run.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Init = 1,
    Shuffle = 2,
    Cd = 3,
    Chains = 4,
}

pub(crate) fn stream_rng(seed: u64, stream: Stream, generation: u64) -> Xoshiro256PlusPlus {
    let salt = (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ generation.wrapping_mul(0xD1B5_4A32_D192_ED03);
    Xoshiro256PlusPlus::seed_from_u64(seed ^ salt)
}

/// The order the training images are visited in during the current epoch, and how far the run
/// is in it. Each epoch's order is a fresh shuffle from one continuing stream.
struct EpochCursor {
    /// The shuffle stream before the current epoch's order was drawn (what a saved state records).
    epoch_start: Xoshiro256PlusPlus,
    /// The shuffle stream after it, which draws the next epoch's order.
    shuffle: Xoshiro256PlusPlus,
    /// Image indices in the current epoch's order.
    order: Vec<u32>,
    /// Images of the current epoch done; always less than the epoch's length (an epoch that is
    /// done moves on to the next at once).
    cursor: usize,
    /// Completed epochs.
    epoch: usize,
}

impl EpochCursor {
    /// `cursor` images into epoch `epoch` of `images` training images, whose order `epoch_start`
    /// draws.
    fn new(epoch_start: Xoshiro256PlusPlus, images: usize, epoch: usize, cursor: usize) -> Self {
        let mut epochs = Self { shuffle: epoch_start.clone(), epoch_start, order: Vec::new(), cursor: 0, epoch };
        epochs.draw_order(images);
        epochs.cursor = cursor.min(images.saturating_sub(1));
        epochs
    }

    fn draw_order(&mut self, images: usize) {
        self.epoch_start.clone_from(&self.shuffle);
        self.order.clear();
        self.order.extend(0..images as u32);
        self.order.shuffle(&mut self.shuffle);
        self.cursor = 0;
    }

    fn images(&self) -> usize {
        self.order.len()
    }

    fn position(&self) -> f64 {
        epoch_position(self.epoch as u64, self.cursor as u64, self.images() as u64)
    }

    /// The next batch of at most `batch` images, never past the end of the epoch; empty only when
    /// there are no images.
    fn next_batch(&self, batch: usize) -> Range<usize> {
        self.cursor..(self.cursor + batch.max(1)).min(self.images())
    }

    /// Moves past `rows` trained images; true when that finished the epoch, whose next one then
    /// starts with a new order.
    fn advance(&mut self, rows: usize) -> bool {
        self.cursor += rows;
        if self.cursor < self.images() {
            return false;
        }
        self.epoch += 1;
        self.draw_order(self.images());
        true
    }

    /// Another training set: its epoch starts over with an order from the continuing stream.
    fn restart_epoch(&mut self, images: usize) {
        self.draw_order(images);
    }
}

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

/// One training run: see the module's documentation.
pub struct TrainingRun {
    dataset: Arc<Dataset>,
    spec: ModelSpec,
    config: TrainingConfig,
    rbm: Rbm,
    workspace: CdWorkspace,
    /// Workspaces made so far besides the first (a larger batch needs a larger one).
    workspace_generation: u64,
    epochs: EpochCursor,
    samples_seen: u64,
    epoch_loss_sum: f64,
    epoch_batches: usize,
    /// The model and the workspace's carried state as they were before the latest batch.
    rbm_before_batch: Rbm,
    workspace_before_batch: WorkspaceState,
    /// Image indices of the latest batch trained on.
    last_batch: Vec<u32>,
    pixel_means: Option<Vec<f32>>,
    pool: MathPool,
    /// The label units of a classification RBM (`spec.label_classes` > 0), their state before the
    /// latest batch, and the workspace that trains them with the model (instead of `workspace`).
    labels: Option<LabelUnits>,
    labels_before_batch: Option<LabelUnits>,
    labelled_workspace: Option<LabelledCd>,
    /// A Gaussian–Bernoulli model (`spec.visible` is `Gaussian`), trained by this part instead of
    /// `workspace`; `rbm` and `rbm_before_batch` hold copies of its W, b and c for the views.
    gaussian: Option<GaussianRun>,
}

impl TrainingRun {
    /// A fresh model built from `spec`, trained with `config` on `dataset`, computing on `pool`.
    /// Both are used as given: validate them first.
    pub fn new(dataset: Arc<Dataset>, spec: ModelSpec, config: TrainingConfig, pool: MathPool) -> Self {
        let n_visible = dataset.pixels_per_image();
        let rbm = Rbm::zeros(n_visible, spec.n_hidden);
        // Placeholders until `reset` below builds the model, its workspace and its first order.
        let mut run = Self {
            workspace: CdWorkspace::new(n_visible, spec.n_hidden, 1, 0),
            workspace_generation: 0,
            epochs: EpochCursor::new(stream_rng(spec.seed, Stream::Shuffle, 0), 0, 0, 0),
            samples_seen: 0,
            epoch_loss_sum: 0.0,
            epoch_batches: 0,
            rbm_before_batch: rbm.clone(),
            rbm,
            workspace_before_batch: WorkspaceState::default(),
            last_batch: Vec::new(),
            pixel_means: None,
            pool,
            labels: None,
            labels_before_batch: None,
            labelled_workspace: None,
            gaussian: None,
            dataset,
            spec,
            config,
        };
        run.reset(run.spec.clone());
        run
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
        let n_visible = self.dataset.pixels_per_image();
        if spec.visible == VisibleType::Gaussian {
            let gaussian = GaussianRun::new(&self.dataset, &spec);
            self.rbm.clone_from(gaussian.model().rbm());
            self.gaussian = Some(gaussian);
            self.labels = None;
            self.spec = spec;
            self.samples_seen = 0;
            self.start_fresh_state(0, 0);
            return;
        }
        self.gaussian = None;
        let means =
            if spec.initialisation == Initialisation::Hinton { self.pixel_means().to_vec() } else { Vec::new() };
        let mut init_rng = stream_rng(spec.seed, Stream::Init, 0);
        self.rbm = Rbm::initialised(n_visible, spec.n_hidden, spec.initialisation, &means, &mut init_rng);
        // Drawn after W from the same stream, so that a plain model is what it always was.
        self.labels = (spec.label_classes > 0).then(|| {
            LabelUnits::initialised(spec.label_classes, n_visible, spec.n_hidden, spec.initialisation, &mut init_rng)
        });
        self.spec = spec;
        self.samples_seen = 0;
        self.start_fresh_state(0, 0);
    }

    /// Replaces the model with the one in `file` and continues its run: its settings (when valid),
    /// its position and sample count, and its training state when it has one that fits this
    /// training set, so that the run goes on exactly as the one that saved it would have.
    /// Otherwise the run continues from the file's position with a fresh state, and says why.
    pub fn adopt(&mut self, file: ModelFile) -> Result<Continuation, AdoptError> {
        self.check_visible_count(&file)?;
        if file.metadata.spec.visible == VisibleType::Gaussian {
            return self.adopt_gaussian(file);
        }
        // The file's settings if they fit its shape, else the current ones, which must fit it then.
        let (n_visible, n_hidden) = (file.rbm.n_visible(), file.rbm.n_hidden());
        let adopt_settings = file.metadata.training.validate_for(n_visible, n_hidden).is_ok();
        if !adopt_settings {
            self.config.validate_for(n_visible, n_hidden)?;
        }
        let ModelFile { rbm, metadata, state, labels, .. } = file;
        self.rbm = rbm;
        // A labelled model's chains are not part of the saved state: it continues with fresh ones.
        let state = if labels.is_some() { None } else { state };
        self.spec = ModelSpec {
            n_hidden: self.rbm.n_hidden(),
            label_classes: labels.as_ref().map_or(0, |l| l.classes()),
            ..metadata.spec
        };
        self.labels = labels;
        self.gaussian = None;
        if adopt_settings {
            self.config = metadata.training;
        }
        self.samples_seen = metadata.samples_seen;
        let images = self.images_per_epoch();
        let continuation = match state {
            Some(state) if state.train_images == images as u64 => match self.restore_state(&state) {
                Ok(()) => Continuation::Exact,
                Err(error) => Continuation::FreshState(format!("its training state does not fit this model ({error})")),
            },
            Some(state) => Continuation::FreshState(format!(
                "its training state is for a training set of {} images, and this one has {images}",
                state.train_images
            )),
            None => Continuation::FreshState("the file has no training state".into()),
        };
        if continuation != Continuation::Exact {
            self.start_at_position(metadata.epochs_trained);
        }
        Ok(continuation)
    }

    fn check_visible_count(&self, file: &ModelFile) -> Result<(), AdoptError> {
        let pixels = self.dataset.pixels_per_image();
        if file.rbm.n_visible() != pixels {
            return Err(AdoptError::VisibleMismatch {
                model: file.rbm.n_visible(),
                rows: self.dataset.rows,
                cols: self.dataset.cols,
                pixels,
            });
        }
        Ok(())
    }

    /// [`TrainingRun::adopt`] for a Gaussian–Bernoulli model: its weights, variances and
    /// standardisation, its settings when it can be trained with them (else the current ones, which
    /// must fit), at its position with a fresh workspace (its file has no training state).
    fn adopt_gaussian(&mut self, file: ModelFile) -> Result<Continuation, AdoptError> {
        let Some((model, standardisation)) = file.gaussian_model() else {
            return Err(AdoptError::NotBinary("the file's Gaussian visible units are incomplete".into()));
        };
        let standardisation = standardisation.clone();
        let (n_visible, n_hidden) = (model.n_visible(), model.n_hidden());
        let usable = |config: &TrainingConfig| {
            config.validate_for(n_visible, n_hidden).and_then(|()| {
                crate::model::gaussian::check_config(config)
                    .map_err(|e| crate::model::ConfigError::Gaussian(e.to_string()))
            })
        };
        let adopt_settings = usable(&file.metadata.training).is_ok();
        if !adopt_settings {
            usable(&self.config)?;
        }
        let ModelFile { metadata, .. } = file;
        self.rbm.clone_from(model.rbm());
        self.gaussian = Some(GaussianRun::from_model(model, standardisation));
        self.labels = None;
        self.spec = ModelSpec { n_hidden, label_classes: 0, ..metadata.spec };
        if adopt_settings {
            self.config = metadata.training;
        }
        self.samples_seen = metadata.samples_seen;
        self.start_at_position(metadata.epochs_trained);
        Ok(Continuation::FreshState("Gaussian–Bernoulli model files hold no training state, so no exact resume".into()))
    }

    /// A fresh state at `position` epochs (a file's), with the order the seed gives that epoch.
    fn start_at_position(&mut self, position: f64) {
        let images = self.images_per_epoch();
        let position = if position.is_finite() && position >= 0.0 { position } else { 0.0 };
        let epoch = position.floor();
        let cursor = ((position - epoch) * images as f64).round() as usize;
        // Saturating conversion: a position beyond usize is refused by the file checks anyway.
        let epoch = epoch as usize;
        if cursor >= images { self.start_fresh_state(epoch + 1, 0) } else { self.start_fresh_state(epoch, cursor) }
    }

    /// Fresh streams, workspace and order at `cursor` images into epoch `epoch` (the seed and the
    /// epoch choose the order, as a run at the start of that epoch would have had it).
    fn start_fresh_state(&mut self, epoch: usize, cursor: usize) {
        let shuffle = stream_rng(self.spec.seed, Stream::Shuffle, epoch as u64);
        self.epochs = EpochCursor::new(shuffle, self.dataset.train.count, epoch, cursor);
        self.epoch_loss_sum = 0.0;
        self.epoch_batches = 0;
        self.workspace_generation = 0;
        // A labelled run trains with its own workspace; the plain one stays minimal, so that the
        // run holds what `TrainingConfig::validate_for` counted.
        let plain_capacity = if self.labels.is_some() || self.gaussian.is_some() { 1 } else { self.config.batch_size };
        self.workspace = self.new_workspace(plain_capacity);
        self.labelled_workspace = self.new_labelled_workspace(self.config.batch_size);
        let (seed, batch) = (self.spec.seed, self.config.batch_size.min(self.dataset.train.count).max(1));
        if let Some(gaussian) = &mut self.gaussian {
            gaussian.new_workspace(batch, seed, 0);
        }
        self.rbm_before_batch.clone_from(&self.rbm);
        self.last_batch.clear();
    }

    fn restore_state(&mut self, state: &TrainingState) -> Result<(), StateError> {
        let (nv, nh) = (self.rbm.n_visible(), self.rbm.n_hidden());
        state.validate(nv, nh)?;
        let too_far = || StateError::Inconsistent(format!("epoch {} is beyond this machine's counters", state.epoch));
        let epoch = usize::try_from(state.epoch).map_err(|_| too_far())?;
        let cursor = usize::try_from(state.cursor).map_err(|_| too_far())?;
        let epoch_batches = usize::try_from(state.epoch_batches).map_err(|_| too_far())?;
        self.workspace = CdWorkspace::from_state(nv, nh, &state.workspace)?;
        self.workspace_generation = state.workspace_generation;
        self.epochs = EpochCursor::new(state.shuffle_stream.clone(), self.dataset.train.count, epoch, cursor);
        self.epoch_loss_sum = state.epoch_loss_sum;
        self.epoch_batches = epoch_batches;
        self.rbm_before_batch.clone_from(&self.rbm);
        self.last_batch.clear();
        Ok(())
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
        let same_shape = dataset.pixels_per_image() == self.rbm.n_visible();
        self.dataset = dataset;
        self.pixel_means = None;
        self.epochs.restart_epoch(self.dataset.train.count);
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
        let rows = span.len();
        if rows == 0 {
            return BatchOutcome::NoTrainingData;
        }
        if self.labels.is_some() {
            return self.train_labelled_batch(span, images);
        }
        if self.gaussian.is_some() {
            return self.train_gaussian_batch(span, images);
        }
        if self.workspace.capacity() < self.config.batch_size.min(images) {
            self.workspace_generation += 1;
            self.workspace = self.new_workspace(self.config.batch_size.min(images));
        }
        if self.config.method == GradientMethod::Pt && !self.workspace.has_tempering_base() {
            // Parallel tempering switched on after the workspace was made.
            let base = base_rate_visible_bias(self.pixel_means());
            self.workspace.set_tempering_base(&base);
        }
        let nv = self.rbm.n_visible();
        let batch = &self.epochs.order[span.clone()];
        for (row, &index) in self.workspace.data_mut(rows).chunks_exact_mut(nv).zip(batch) {
            self.dataset.train_image_f32(index as usize, row);
        }
        let position = self.epochs.position();
        let (rbm, workspace, config) = (&mut self.rbm, &mut self.workspace, &self.config);
        let (rbm_before, workspace_before) = (&mut self.rbm_before_batch, &mut self.workspace_before_batch);
        let stats = self.pool.run(|threads| {
            // Only what this step can change is kept (see `save_restore_point`).
            rbm.copy_into(rbm_before);
            workspace.save_restore_point(workspace_before, config, position);
            workspace.step_at(rbm, config, rows, threads, position)
        });
        if !(stats.reconstruction_l1.is_finite() && self.rbm.is_finite()) {
            self.undo_batch();
            return BatchOutcome::Diverged { epoch_position: position, learning_rate: stats.learning_rate };
        }
        self.finish_batch(span, images, stats.reconstruction_l1, stats.learning_rate)
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

    /// [`TrainingRun::train_batch`] for a classification RBM: the images with their labels.
    fn train_labelled_batch(&mut self, span: Range<usize>, images: usize) -> BatchOutcome {
        let rows = span.len();
        let capacity = self.labelled_workspace.as_ref().map_or(0, LabelledCd::capacity);
        if capacity < self.config.batch_size.min(images) {
            self.workspace_generation += 1;
            self.labelled_workspace = self.new_labelled_workspace(self.config.batch_size.min(images));
        }
        let (Some(labels), Some(workspace)) = (&mut self.labels, &mut self.labelled_workspace) else {
            return BatchOutcome::NoTrainingData;
        };
        let nv = self.rbm.n_visible();
        let batch = &self.epochs.order[span.clone()];
        let (pixels, targets) = workspace.data_mut(rows);
        for ((row, target), &index) in pixels.chunks_exact_mut(nv).zip(targets.iter_mut()).zip(batch) {
            self.dataset.train_image_f32(index as usize, row);
            *target = u32::from(self.dataset.train.label(index as usize));
        }
        let position = self.epochs.position();
        let (rbm, config, rbm_before) = (&mut self.rbm, &self.config, &mut self.rbm_before_batch);
        let labels_before = &mut self.labels_before_batch;
        let stats = self.pool.run(|threads| {
            rbm.copy_into(rbm_before);
            match labels_before {
                Some(before) => before.clone_from(labels),
                None => *labels_before = Some(labels.clone()),
            }
            workspace.step(rbm, labels, config, rows, position, threads)
        });
        if !(stats.reconstruction_l1.is_finite() && self.rbm.is_finite() && labels.is_finite()) {
            self.rbm.clone_from(&self.rbm_before_batch);
            self.labels.clone_from(&self.labels_before_batch);
            self.workspace_generation += 1;
            self.labelled_workspace = self.new_labelled_workspace(self.config.batch_size.min(images));
            return BatchOutcome::Diverged { epoch_position: position, learning_rate: stats.learning_rate };
        }
        self.finish_batch(span, images, stats.reconstruction_l1, stats.learning_rate)
    }

    /// [`TrainingRun::train_batch`] for a Gaussian–Bernoulli model.
    fn train_gaussian_batch(&mut self, span: Range<usize>, images: usize) -> BatchOutcome {
        let (seed, batch_size) = (self.spec.seed, self.config.batch_size.min(images));
        let Some(gaussian) = &mut self.gaussian else {
            return BatchOutcome::NoTrainingData;
        };
        if gaussian.capacity() < batch_size {
            self.workspace_generation += 1;
            gaussian.new_workspace(batch_size, seed, self.workspace_generation);
        }
        let position = self.epochs.position();
        let batch = &self.epochs.order[span.clone()];
        match gaussian.train(&self.dataset, batch, &self.config, position, &self.pool) {
            Ok(stats) => {
                // The views read W, b and c from `rbm`, the update size from `rbm_before_batch`.
                std::mem::swap(&mut self.rbm, &mut self.rbm_before_batch);
                self.rbm.clone_from(gaussian.model().rbm());
                self.finish_batch(span, images, stats.reconstruction_error as f32, stats.learning_rate)
            }
            Err(learning_rate) => {
                self.workspace_generation += 1;
                gaussian.new_workspace(batch_size, seed, self.workspace_generation);
                BatchOutcome::Diverged { epoch_position: position, learning_rate }
            }
        }
    }

    /// Back to the state before the latest batch. The restore point was checked finite (it is the
    /// state after the previous batch, which was checked), so rebuilding the workspace from it only
    /// fails if that reasoning is broken; a fresh workspace is then the safe fallback.
    fn undo_batch(&mut self) {
        self.rbm.clone_from(&self.rbm_before_batch);
        let (nv, nh) = (self.rbm.n_visible(), self.rbm.n_hidden());
        self.workspace = match CdWorkspace::from_state(nv, nh, &self.workspace_before_batch) {
            Ok(workspace) => workspace,
            Err(_) => {
                self.workspace_generation += 1;
                self.new_workspace(self.config.batch_size.min(self.images_per_epoch()))
            }
        };
    }

    fn new_workspace(&mut self, capacity: usize) -> CdWorkspace {
        let seed = stream_rng(self.spec.seed, Stream::Cd, self.workspace_generation).random();
        let mut workspace = CdWorkspace::new(self.rbm.n_visible(), self.rbm.n_hidden(), capacity, seed);
        if self.config.centering {
            // Centering's visible offset starts at the training pixel means, as in the paper.
            workspace.set_visible_offset(self.pixel_means());
        }
        if self.config.method == GradientMethod::Pt {
            // The hot end of the ladder: the training pixels' base-rate model, as AIS starts from.
            workspace.set_tempering_base(&base_rate_visible_bias(self.pixel_means()));
        }
        workspace
    }

    /// The workspace of a classification RBM's training (None for a plain RBM).
    fn new_labelled_workspace(&self, capacity: usize) -> Option<LabelledCd> {
        let labels = self.labels.as_ref()?;
        let seed = stream_rng(self.spec.seed, Stream::Cd, self.workspace_generation).random();
        Some(LabelledCd::new(self.rbm.n_visible(), self.rbm.n_hidden(), labels.classes(), capacity, seed))
    }

    /// Mean intensity of each pixel over the training images (computed once per dataset).
    pub fn pixel_means(&mut self) -> &[f32] {
        let dataset = &self.dataset;
        self.pixel_means.get_or_insert_with(|| dataset.train_pixel_means())
    }

    /// Everything besides the model and the settings that the run needs to go on exactly.
    pub fn state(&self) -> TrainingState {
        TrainingState {
            epoch: self.epochs.epoch as u64,
            cursor: self.epochs.cursor as u64,
            train_images: self.images_per_epoch() as u64,
            shuffle_stream: self.epochs.epoch_start.clone(),
            epoch_loss_sum: self.epoch_loss_sum,
            epoch_batches: self.epoch_batches as u64,
            workspace_generation: self.workspace_generation,
            workspace: self.workspace.state(),
        }
    }

    /// The model as a file, with its training state (a Gaussian–Bernoulli model's has none).
    pub fn model_file(&self) -> ModelFile {
        if let Some(gaussian) = &self.gaussian {
            let (model, standardisation) = (gaussian.model().clone(), gaussian.standardisation().clone());
            return ModelFile::new_gaussian(model, standardisation, self.metadata());
        }
        ModelFile {
            rbm: self.rbm.clone(),
            metadata: self.metadata(),
            // A labelled run's chains are not saved: it continues with fresh ones.
            state: self.labels.is_none().then(|| self.state()),
            labels: self.labels.clone(),
            gaussian: None,
        }
    }

    /// What a model file records about this run besides the model and its training state.
    fn metadata(&self) -> ModelMetadata {
        ModelMetadata {
            epochs_trained: self.epoch_position(),
            samples_seen: self.samples_seen,
            ..ModelMetadata::new(
                self.dataset.name.clone(),
                self.dataset.rows,
                self.dataset.cols,
                self.config.clone(),
                self.spec.clone(),
            )
        }
    }

    pub fn rbm(&self) -> &Rbm {
        &self.rbm
    }

    /// The label units of a classification RBM (None for a plain RBM).
    pub fn labels(&self) -> Option<&LabelUnits> {
        self.labels.as_ref()
    }

    /// A Gaussian–Bernoulli model and the standardisation of its data (None for binary visibles).
    pub fn gaussian(&self) -> Option<(&GaussianRbm, &Standardisation)> {
        self.gaussian.as_ref().map(|g| (g.model(), g.standardisation()))
    }

    /// The weights before the latest batch (after a batch that diverged: the current ones).
    pub fn weights_before_batch(&self) -> &[f32] {
        self.rbm_before_batch.weights_slice()
    }

    /// Image indices of the latest batch trained on (empty before the first).
    pub fn last_batch(&self) -> &[u32] {
        &self.last_batch
    }

    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
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
    /// temperatures, coldest pair first; empty for the other methods.
    pub fn swap_rates(&self) -> &[f64] {
        self.workspace.swap_rates()
    }
}
