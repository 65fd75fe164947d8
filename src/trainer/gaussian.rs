//! The Gaussian–Bernoulli side of a [`TrainingRun`](super::TrainingRun): the model with its log
//! variances, the standardisation its data goes through, its CD/PCD workspace and the model before
//! the latest batch. The run keeps its epoch cursor, position and loss sums for both kinds of
//! model; this part only trains a batch it is given.
//!
//! Its runs do not resume exactly (the model file holds no training state): a loaded Gaussian model
//! continues from its weights with a fresh workspace at the file's position.

use rand::Rng;

use super::run::{Stream, stream_rng};
use crate::data::Dataset;
use crate::model::gaussian::{GaussianStepStats, GaussianWorkspace, Standardisation};
use crate::model::{GaussianRbm, MathPool, ModelSpec, TrainingConfig};

pub(crate) struct GaussianRun {
    model: GaussianRbm,
    before_batch: GaussianRbm,
    workspace: GaussianWorkspace,
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
        Self { before_batch: model.clone(), model, workspace: GaussianWorkspace::new(nv, nh, 1, 0), standardisation }
    }

    pub(crate) fn model(&self) -> &GaussianRbm {
        &self.model
    }

    pub(crate) fn standardisation(&self) -> &Standardisation {
        &self.standardisation
    }

    pub(crate) fn capacity(&self) -> usize {
        self.workspace.capacity()
    }

    /// A fresh workspace for batches of up to `capacity` rows, sampling from the seed's CD stream
    /// of `generation`.
    pub(crate) fn new_workspace(&mut self, capacity: usize, seed: u64, generation: u64) {
        let seed = stream_rng(seed, Stream::Cd, generation).random();
        self.workspace = GaussianWorkspace::new(self.model.n_visible(), self.model.n_hidden(), capacity, seed);
    }

    /// One CD/PCD update on the training images `batch`, standardised. When it produced NaN or
    /// infinite values, the model is back as it was before it and the error is the learning rate
    /// the batch used (the caller renews the workspace, whose PCD particles may hold such values).
    pub(crate) fn train(
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
