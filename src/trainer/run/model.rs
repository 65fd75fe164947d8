//! The model a run trains, one of three kinds, each with what its training carries from one batch
//! to the next (its workspace, and how many workspaces were made before it) and its state before
//! the latest batch, to undo a batch that diverged:
//!
//! - [`BinaryRun`]: an RBM with binary visibles, trained by CD, PCD or PT; its workspace's state
//!   is what a model file saves for an exact resume.
//! - [`LabelledRun`]: a classification RBM, the RBM and its label units trained together on the
//!   images with their labels; its chains are not saved (it resumes with fresh ones).
//! - [`GaussianRun`]: a Gaussian–Bernoulli RBM on standardised images (no training state saved).
//!
//! One enum, so that a run holds exactly one model and the workspace that trains it. A batch's
//! step is the same for all three: fill the workspace's rows with the batch's images, keep the
//! state before, step on the run's pool, and, when anything became NaN or infinite, put back what
//! the step changed.

use std::sync::Arc;

use rand::Rng;

use super::cursor::{Stream, stream_rng};
use super::gaussian::GaussianRun;
use crate::data::Dataset;
use crate::model::ais::base_rate_visible_bias;
use crate::model::labels::{LabelUnits, LabelledCd};
use crate::model::{
    CdWorkspace, GradientMethod, Initialisation, MathPool, ModelSpec, Rbm, StateError, TrainingConfig, VisibleType,
    WorkspaceState,
};

/// The training set, and its per-pixel means once something needed them (the Hinton
/// initialisation, centering's visible offset, parallel tempering's base model).
pub(super) struct TrainingData {
    pub(super) dataset: Arc<Dataset>,
    pixel_means: Option<Vec<f32>>,
}

impl TrainingData {
    pub(super) fn new(dataset: Arc<Dataset>) -> Self {
        Self { dataset, pixel_means: None }
    }

    /// Mean intensity of each pixel over the training images (computed once per dataset).
    pub(super) fn pixel_means(&mut self) -> &[f32] {
        let dataset = &self.dataset;
        self.pixel_means.get_or_insert_with(|| dataset.train_pixel_means())
    }
}

/// What a new workspace is made from besides the model: the run's seed (whose CD stream of the
/// workspace's generation seeds it), its settings and its training data.
pub(super) struct WorkspaceSource<'a> {
    pub(super) seed: u64,
    pub(super) config: &'a TrainingConfig,
    pub(super) data: &'a mut TrainingData,
}

impl WorkspaceSource<'_> {
    /// The seed of the workspace of generation `generation` (0 for a run's first).
    fn workspace_seed(&self, generation: u64) -> u64 {
        stream_rng(self.seed, Stream::Cd, generation).random()
    }

    /// A CD/PCD/PT workspace for `rbm` and batches of up to `capacity` rows.
    fn cd_workspace(&mut self, rbm: &Rbm, capacity: usize, generation: u64) -> CdWorkspace {
        let seed = self.workspace_seed(generation);
        let mut workspace = CdWorkspace::new(rbm.n_visible(), rbm.n_hidden(), capacity, seed);
        if self.config.centering {
            // Centering's visible offset starts at the training pixel means, as in the paper.
            workspace.set_visible_offset(self.data.pixel_means());
        }
        if self.config.method == GradientMethod::Pt {
            // The hot end of the ladder: the training pixels' base-rate model, as AIS starts from.
            workspace.set_tempering_base(&base_rate_visible_bias(self.data.pixel_means()));
        }
        workspace
    }

    /// The workspace of a classification RBM's training.
    fn labelled_workspace(&self, rbm: &Rbm, labels: &LabelUnits, capacity: usize, generation: u64) -> LabelledCd {
        let seed = self.workspace_seed(generation);
        LabelledCd::new(rbm.n_visible(), rbm.n_hidden(), labels.classes(), capacity, seed)
    }
}

/// One batch to train on.
pub(super) struct Batch<'a> {
    /// The training images' indices, in the epoch's order.
    pub(super) indices: &'a [u32],
    /// The run's position in epochs before the batch (the schedules' argument).
    pub(super) position: f64,
    /// Images in the epoch: a workspace that must grow is made for at most this many rows.
    pub(super) images: usize,
    pub(super) pool: &'a MathPool,
}

/// What a batch that trained measured.
pub(super) struct Stepped {
    pub(super) loss: f32,
    pub(super) learning_rate: f32,
}

/// A batch that produced NaN or infinite values, undone: the learning rate it used.
pub(super) struct Diverged {
    pub(super) learning_rate: f32,
}

/// The model a run trains: see the module's documentation.
// One per run, made when the model is: the variants' different sizes cost nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub(super) enum RunModel {
    Binary(BinaryRun),
    Labelled(LabelledRun),
    Gaussian(GaussianRun),
}

impl RunModel {
    /// A fresh model of the kind `spec` asks for, on `source`'s training data, with its first
    /// workspace. The initialisation draws from the seed's initialisation stream.
    pub(super) fn initialised(spec: &ModelSpec, source: &mut WorkspaceSource) -> Self {
        if spec.visible == VisibleType::Gaussian {
            return Self::gaussian(GaussianRun::new(&source.data.dataset, spec), source);
        }
        let n_visible = source.data.dataset.pixels_per_image();
        let mut init_rng = stream_rng(spec.seed, Stream::Init, 0);
        let means: &[f32] = if spec.initialisation == Initialisation::Hinton { source.data.pixel_means() } else { &[] };
        let rbm = Rbm::initialised(n_visible, spec.n_hidden, spec.initialisation, means, &mut init_rng);
        if spec.label_classes == 0 {
            return Self::binary(rbm, source);
        }
        // Drawn after W from the same stream, so that a plain model is what it always was.
        let labels =
            LabelUnits::initialised(spec.label_classes, n_visible, spec.n_hidden, spec.initialisation, &mut init_rng);
        Self::labelled(rbm, labels, source)
    }

    /// `rbm` with a first workspace for batches of the configured size.
    pub(super) fn binary(rbm: Rbm, source: &mut WorkspaceSource) -> Self {
        let workspace = source.cd_workspace(&rbm, source.config.batch_size, 0);
        Self::Binary(BinaryRun {
            rbm_before_batch: rbm.clone(),
            rbm,
            workspace,
            generation: 0,
            workspace_before_batch: WorkspaceState::default(),
        })
    }

    /// `rbm` with its label units and a first workspace for batches of the configured size.
    pub(super) fn labelled(rbm: Rbm, labels: LabelUnits, source: &WorkspaceSource) -> Self {
        let workspace = source.labelled_workspace(&rbm, &labels, source.config.batch_size, 0);
        Self::Labelled(LabelledRun {
            rbm_before_batch: rbm.clone(),
            rbm,
            labels_before_batch: labels.clone(),
            labels,
            workspace,
            generation: 0,
        })
    }

    /// A Gaussian–Bernoulli model with a first workspace for batches of the configured size (at
    /// most the training set's).
    pub(super) fn gaussian(mut run: GaussianRun, source: &WorkspaceSource) -> Self {
        let capacity = source.config.batch_size.min(source.data.dataset.train.count).max(1);
        run.start_workspace(capacity, source.seed);
        Self::Gaussian(run)
    }

    /// The weights and biases (a Gaussian–Bernoulli model's W, b and c).
    pub(super) fn rbm(&self) -> &Rbm {
        match self {
            Self::Binary(run) => &run.rbm,
            Self::Labelled(run) => &run.rbm,
            Self::Gaussian(run) => run.model().rbm(),
        }
    }

    /// The weights before the latest batch.
    pub(super) fn weights_before_batch(&self) -> &[f32] {
        match self {
            Self::Binary(run) => run.rbm_before_batch.weights_slice(),
            Self::Labelled(run) => run.rbm_before_batch.weights_slice(),
            Self::Gaussian(run) => run.model_before_batch().rbm().weights_slice(),
        }
    }

    /// One update on `batch`; undone when it produced NaN or infinite values.
    pub(super) fn step(&mut self, batch: &Batch, source: &mut WorkspaceSource) -> Result<Stepped, Diverged> {
        match self {
            Self::Binary(run) => run.step(batch, source),
            Self::Labelled(run) => run.step(batch, source),
            Self::Gaussian(run) => run.step(batch, source),
        }
    }
}

/// An RBM with binary visibles and the workspace that trains it.
pub(super) struct BinaryRun {
    pub(super) rbm: Rbm,
    pub(super) workspace: CdWorkspace,
    /// Workspaces made so far besides the first (a larger batch needs a larger one).
    pub(super) generation: u64,
    /// The model and the workspace's carried state as they were before the latest batch.
    rbm_before_batch: Rbm,
    workspace_before_batch: WorkspaceState,
}

impl BinaryRun {
    /// Continues from a saved workspace state (of generation `generation`); unchanged when the
    /// state does not fit the model.
    pub(super) fn restore(&mut self, state: &WorkspaceState, generation: u64) -> Result<(), StateError> {
        self.workspace = CdWorkspace::from_state(self.rbm.n_visible(), self.rbm.n_hidden(), state)?;
        self.generation = generation;
        self.rbm_before_batch.clone_from(&self.rbm);
        Ok(())
    }

    fn step(&mut self, batch: &Batch, source: &mut WorkspaceSource) -> Result<Stepped, Diverged> {
        let config = source.config;
        let capacity = config.batch_size.min(batch.images);
        if self.workspace.capacity() < capacity {
            self.generation += 1;
            self.workspace = source.cd_workspace(&self.rbm, capacity, self.generation);
        }
        if config.method == GradientMethod::Pt && !self.workspace.has_tempering_base() {
            // Parallel tempering switched on after the workspace was made.
            let base = base_rate_visible_bias(source.data.pixel_means());
            self.workspace.set_tempering_base(&base);
        }
        let (nv, rows, position) = (self.rbm.n_visible(), batch.indices.len(), batch.position);
        for (row, &index) in self.workspace.data_mut(rows).chunks_exact_mut(nv).zip(batch.indices) {
            source.data.dataset.train_image_f32(index as usize, row);
        }
        let (rbm, workspace) = (&mut self.rbm, &mut self.workspace);
        let (rbm_before, workspace_before) = (&mut self.rbm_before_batch, &mut self.workspace_before_batch);
        let stats = batch.pool.run(|threads| {
            // Only what this step can change is kept (see `save_restore_point`).
            rbm.copy_into(rbm_before);
            workspace.save_restore_point(workspace_before, config, position);
            workspace.step_at(rbm, config, rows, threads, position)
        });
        if !(stats.reconstruction_l1.is_finite() && self.rbm.is_finite()) {
            self.undo_batch(source, capacity);
            return Err(Diverged { learning_rate: stats.learning_rate });
        }
        Ok(Stepped { loss: stats.reconstruction_l1, learning_rate: stats.learning_rate })
    }

    /// Back to the state before the latest batch. The restore point was checked finite (it is the
    /// state after the previous batch, which was checked), so rebuilding the workspace from it only
    /// fails if that reasoning is broken; a fresh workspace (of `capacity` rows) is then the safe
    /// fallback.
    fn undo_batch(&mut self, source: &mut WorkspaceSource, capacity: usize) {
        self.rbm.clone_from(&self.rbm_before_batch);
        let (nv, nh) = (self.rbm.n_visible(), self.rbm.n_hidden());
        self.workspace = match CdWorkspace::from_state(nv, nh, &self.workspace_before_batch) {
            Ok(workspace) => workspace,
            Err(_) => {
                self.generation += 1;
                source.cd_workspace(&self.rbm, capacity, self.generation)
            }
        };
    }
}

/// A classification RBM: the RBM, its label units and the workspace that trains them together.
pub(super) struct LabelledRun {
    pub(super) rbm: Rbm,
    pub(super) labels: LabelUnits,
    workspace: LabelledCd,
    /// Workspaces made so far besides the first.
    generation: u64,
    rbm_before_batch: Rbm,
    labels_before_batch: LabelUnits,
}

impl LabelledRun {
    /// [`BinaryRun::step`] on the images with their labels.
    fn step(&mut self, batch: &Batch, source: &WorkspaceSource) -> Result<Stepped, Diverged> {
        let (config, dataset) = (source.config, &source.data.dataset);
        let capacity = config.batch_size.min(batch.images);
        if self.workspace.capacity() < capacity {
            self.generation += 1;
            self.workspace = source.labelled_workspace(&self.rbm, &self.labels, capacity, self.generation);
        }
        let (nv, rows, position) = (self.rbm.n_visible(), batch.indices.len(), batch.position);
        let (pixels, targets) = self.workspace.data_mut(rows);
        for ((row, target), &index) in pixels.chunks_exact_mut(nv).zip(targets.iter_mut()).zip(batch.indices) {
            dataset.train_image_f32(index as usize, row);
            *target = u32::from(dataset.train.label(index as usize));
        }
        let (rbm, labels, workspace) = (&mut self.rbm, &mut self.labels, &mut self.workspace);
        let (rbm_before, labels_before) = (&mut self.rbm_before_batch, &mut self.labels_before_batch);
        let stats = batch.pool.run(|threads| {
            rbm.copy_into(rbm_before);
            labels_before.clone_from(labels);
            workspace.step(rbm, labels, config, rows, position, threads)
        });
        if !(stats.reconstruction_l1.is_finite() && self.rbm.is_finite() && self.labels.is_finite()) {
            self.rbm.clone_from(&self.rbm_before_batch);
            self.labels.clone_from(&self.labels_before_batch);
            // Its chains may hold the values that diverged.
            self.generation += 1;
            self.workspace = source.labelled_workspace(&self.rbm, &self.labels, capacity, self.generation);
            return Err(Diverged { learning_rate: stats.learning_rate });
        }
        Ok(Stepped { loss: stats.reconstruction_l1, learning_rate: stats.learning_rate })
    }
}
