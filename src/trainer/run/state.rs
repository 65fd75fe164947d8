//! A run's saved side: continuing from a model file (exactly from its training state when it has
//! one that fits, else from its weights at its position with a fresh state), and the model file
//! and training state a run saves.

use super::cursor::EpochCursor;
use super::gaussian::GaussianRun;
use super::model::{RunModel, WorkspaceSource};
use super::{AdoptError, Continuation, TrainingRun};
use crate::io::{ModelFile, ModelMetadata};
use crate::model::{ModelSpec, StateError, TrainingConfig, TrainingState, VisibleType};

impl TrainingRun {
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
        // A labelled model's chains are not part of the saved state: it continues with fresh ones.
        let state = if labels.is_some() { None } else { state };
        self.spec = ModelSpec {
            n_hidden: rbm.n_hidden(),
            label_classes: labels.as_ref().map_or(0, |l| l.classes()),
            ..metadata.spec
        };
        if adopt_settings {
            self.config = metadata.training;
        }
        let mut source = WorkspaceSource { seed: self.spec.seed, config: &self.config, data: &mut self.data };
        self.model = match labels {
            Some(labels) => RunModel::labelled(rbm, labels, &source),
            None => RunModel::binary(rbm, &mut source),
        };
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
        let dataset = &self.data.dataset;
        let pixels = dataset.pixels_per_image();
        if file.rbm.n_visible() != pixels {
            return Err(AdoptError::VisibleMismatch {
                model: file.rbm.n_visible(),
                rows: dataset.rows,
                cols: dataset.cols,
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
        self.spec = ModelSpec { n_hidden, label_classes: 0, ..metadata.spec };
        if adopt_settings {
            self.config = metadata.training;
        }
        let source = WorkspaceSource { seed: self.spec.seed, config: &self.config, data: &mut self.data };
        self.model = RunModel::gaussian(GaussianRun::from_model(model, standardisation), &source);
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

    /// A fresh order at `cursor` images into epoch `epoch` (the seed and the epoch choose the
    /// order, as a run at the start of that epoch would have had it), for a model just made or
    /// loaded (with its first workspace).
    pub(super) fn start_fresh_state(&mut self, epoch: usize, cursor: usize) {
        self.epochs = EpochCursor::fresh(self.spec.seed, self.data.dataset.train.count, epoch, cursor);
        self.epoch_loss_sum = 0.0;
        self.epoch_batches = 0;
        self.last_batch.clear();
    }

    /// Continues a binary model's run from `state`; nothing changes when it does not fit.
    fn restore_state(&mut self, state: &TrainingState) -> Result<(), StateError> {
        let RunModel::Binary(run) = &mut self.model else {
            return Err(StateError::Inconsistent("only a binary model's run has a training state".into()));
        };
        state.validate(run.rbm.n_visible(), run.rbm.n_hidden())?;
        let too_far = || StateError::Inconsistent(format!("epoch {} is beyond this machine's counters", state.epoch));
        let epoch = usize::try_from(state.epoch).map_err(|_| too_far())?;
        let cursor = usize::try_from(state.cursor).map_err(|_| too_far())?;
        let epoch_batches = usize::try_from(state.epoch_batches).map_err(|_| too_far())?;
        run.restore(&state.workspace, state.workspace_generation)?;
        self.epochs = EpochCursor::new(state.shuffle_stream.clone(), self.data.dataset.train.count, epoch, cursor);
        self.epoch_loss_sum = state.epoch_loss_sum;
        self.epoch_batches = epoch_batches;
        self.last_batch.clear();
        Ok(())
    }

    /// Everything besides the model and the settings that the run needs to go on exactly: a
    /// binary model's run only (a labelled one resumes with fresh chains, a Gaussian–Bernoulli one
    /// with a fresh workspace).
    pub fn state(&self) -> Option<TrainingState> {
        let RunModel::Binary(run) = &self.model else { return None };
        Some(TrainingState {
            epoch: self.epochs.epoch as u64,
            cursor: self.epochs.cursor as u64,
            train_images: self.images_per_epoch() as u64,
            shuffle_stream: self.epochs.epoch_start.clone(),
            epoch_loss_sum: self.epoch_loss_sum,
            epoch_batches: self.epoch_batches as u64,
            workspace_generation: run.generation,
            workspace: run.workspace.state(),
        })
    }

    /// The model as a file, with its training state (see [`TrainingRun::state`]).
    pub fn model_file(&self) -> ModelFile {
        match &self.model {
            RunModel::Gaussian(run) => {
                let (model, standardisation) = (run.model().clone(), run.standardisation().clone());
                ModelFile::new_gaussian(model, standardisation, self.metadata())
            }
            RunModel::Binary(run) => ModelFile {
                rbm: run.rbm.clone(),
                metadata: self.metadata(),
                state: self.state(),
                labels: None,
                gaussian: None,
            },
            RunModel::Labelled(run) => ModelFile {
                rbm: run.rbm.clone(),
                metadata: self.metadata(),
                state: None,
                labels: Some(run.labels.clone()),
                gaussian: None,
            },
        }
    }

    /// What a model file records about this run besides the model and its training state.
    fn metadata(&self) -> ModelMetadata {
        let dataset = &self.data.dataset;
        ModelMetadata {
            epochs_trained: self.epoch_position(),
            samples_seen: self.samples_seen,
            ..ModelMetadata::new(
                dataset.name.clone(),
                dataset.rows,
                dataset.cols,
                self.config.clone(),
                self.spec.clone(),
            )
        }
    }
}
