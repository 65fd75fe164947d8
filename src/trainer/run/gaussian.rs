//! The Gaussian–Bernoulli kind of a [`TrainingRun`](super::TrainingRun)'s model: the model with
//! its log variances, the standardisation its data goes through, its CD/PCD workspace and the
//! model before the latest batch. The run keeps its epoch cursor, position and loss sums for every
//! kind of model; this part only trains a batch it is given.
//!
//! Its runs do not resume exactly (the model file holds no training state): a loaded Gaussian model
//! continues from its weights with a fresh workspace at the file's position.

use rand::Rng;

use super::cursor::{Stream, stream_rng};
use super::model::{Batch, Diverged, Stepped, WorkspaceSource};
use crate::data::Dataset;
use crate::model::gaussian::{GaussianStepStats, GaussianWorkspace, Standardisation};
use crate::model::{GaussianRbm, MathPool, ModelSpec, TrainingConfig};

pub(crate) struct GaussianRun {
    model: GaussianRbm,
    before_batch: GaussianRbm,
    workspace: GaussianWorkspace,
    /// Workspaces made so far besides the first.
    generation: u64,
    standardisation: Standardisation,
}

impl GaussianRun {
    /// A new model for `spec` on `dataset`, standardised with its training images' statistics.
    /// The initialisation comes from the seed's initialisation stream, as the binary model's does.
    pub(crate) fn new(dataset: &Dataset, spec: &ModelSpec) -> Self {
        let n_visible = dataset.pixels_per_image();
        let mut init_rng = stream_rng(spec.seed, Stream::Init, 0);
        let model = GaussianRbm::initialised(n_visible, spec.n_hidden, spec.initialisation, &mut init_rng);
        Self::from_model(model, standardisation_of(dataset))
    }

    /// A run of `model` on data standardised with `standardisation` (a loaded model keeps its
    /// own, so that its parameters keep their meaning).
    pub(crate) fn from_model(model: GaussianRbm, standardisation: Standardisation) -> Self {
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        let workspace = GaussianWorkspace::new(nv, nh, 1, 0);
        Self { before_batch: model.clone(), model, workspace, generation: 0, standardisation }
    }

    pub(crate) fn model(&self) -> &GaussianRbm {
        &self.model
    }

    /// The model before the latest batch (after a batch that diverged: the current one).
    pub(crate) fn model_before_batch(&self) -> &GaussianRbm {
        &self.before_batch
    }

    pub(crate) fn standardisation(&self) -> &Standardisation {
        &self.standardisation
    }

    fn capacity(&self) -> usize {
        self.workspace.capacity()
    }

    /// The run's first workspace, for batches of up to `capacity` rows, sampling from the CD
    /// stream of `seed`.
    pub(crate) fn start_workspace(&mut self, capacity: usize, seed: u64) {
        self.generation = 0;
        self.new_workspace(capacity, seed);
    }

    /// A next workspace: for larger batches, or after a batch that diverged.
    fn renew_workspace(&mut self, capacity: usize, seed: u64) {
        self.generation += 1;
        self.new_workspace(capacity, seed);
    }

    /// A workspace sampling from the seed's CD stream of the current generation.
    fn new_workspace(&mut self, capacity: usize, seed: u64) {
        let seed = stream_rng(seed, Stream::Cd, self.generation).random();
        self.workspace = GaussianWorkspace::new(self.model.n_visible(), self.model.n_hidden(), capacity, seed);
    }

    /// [`GaussianRun::train`] on `batch`, with a larger workspace first when the batch needs one,
    /// and a fresh one after a batch that diverged (its PCD particles may hold the values that did).
    pub(super) fn step(&mut self, batch: &Batch, source: &WorkspaceSource) -> Result<Stepped, Diverged> {
        let capacity = source.config.batch_size.min(batch.images);
        if self.capacity() < capacity {
            self.renew_workspace(capacity, source.seed);
        }
        match self.train(&source.data.dataset, batch.indices, source.config, batch.position, batch.pool) {
            Ok(stats) => Ok(Stepped { loss: stats.reconstruction_error as f32, learning_rate: stats.learning_rate }),
            Err(learning_rate) => {
                self.renew_workspace(capacity, source.seed);
                Err(Diverged { learning_rate })
            }
        }
    }

    /// One CD/PCD update on the training images `batch`, standardised. When it produced NaN or
    /// infinite values, the model is back as it was before it and the error is the learning rate
    /// the batch used (the caller renews the workspace, whose PCD particles may hold such values).
    fn train(
        &mut self,
        dataset: &Dataset,
        batch: &[u32],
        config: &TrainingConfig,
        position: f64,
        pool: &MathPool,
    ) -> Result<GaussianStepStats, f32> {
        let nv = self.model.n_visible();
        let rows = batch.len();
        let data = self.workspace.data_mut(rows);
        for (row, &index) in data.chunks_exact_mut(nv).zip(batch) {
            dataset.train_image_f32(index as usize, row);
        }
        self.standardisation.apply(data);
        let (model, before, workspace) = (&mut self.model, &mut self.before_batch, &mut self.workspace);
        let stats = pool.run(|threads| {
            model.copy_into(before);
            workspace.step(model, config, rows, position, threads)
        });
        if stats.reconstruction_error.is_finite() && self.model.is_finite() {
            Ok(stats)
        } else {
            self.before_batch.copy_into(&mut self.model);
            Err(stats.learning_rate)
        }
    }
}

/// Per-pixel mean and (floored) standard deviation of `dataset`'s training images, read one image
/// at a time.
fn standardisation_of(dataset: &Dataset) -> Standardisation {
    let nv = dataset.pixels_per_image();
    Standardisation::from_rows(dataset.train.count, nv, |index, row| dataset.train_image_f32(index, row))
}
