//! Model files: an RBM's parameters as safetensors, with rbm-lab's metadata as JSON in the header.
//!
//! Layout, format version 1 (safetensors stores everything little-endian and row-major):
//! - tensor `W`: F32, shape `[V, H]`; row i holds the weights of visible unit (pixel) i;
//! - tensor `b_v`: F32, shape `[V]`; tensor `b_h`: F32, shape `[H]`;
//! - `__metadata__` (safetensors' string-to-string map): `rbm_lab` = JSON of [`ModelMetadata`], the
//!   only entry read back; plus plain entries `format` = `rbm-lab`, `format_version`, `created_by`,
//!   `dataset`, `image_rows` and `image_cols`, written for people and Python and ignored on load.
//!
//! Safetensors rather than a bespoke format because Python reads it in one line, and its reader
//! never executes anything (unlike pickles):
//! `W = safetensors.numpy.load_file(path)["W"]; W[:, j].reshape(image_rows, image_cols)` is hidden
//! unit j's filter, and `safetensors.safe_open(path, "np").metadata()` gives the metadata.
//!
//! Optionally, label units (a classification RBM, see `model::labels`): tensor `U`, F32, shape
//! `[C, H]` (row y holds class y's weights to the hidden units) and tensor `d`, F32, shape `[C]`,
//! with `spec.label_classes` = C in the metadata. Files without them are plain RBMs of the images.
//! [`load_model`] and [`model_from_bytes`] refuse files with label units, which every reader
//! that cannot use them gets that way; [`load_labelled_model`] and
//! [`labelled_model_from_bytes`] read them.
//! Gaussian–Bernoulli models (`spec.visible` = `Gaussian` in the metadata) add three F32 tensors of
//! shape `[V]`: `log_var` (z_i = ln σ_i², in standardised units), `data_mean` and `data_scale` (the
//! per-pixel standardisation x = (v − mean) / scale of intensities in [0, 1]); W, b_v and b_h are
//! its W, b and c. Files without `visible` in the spec are binary, as every older file is.
//!
//! Optionally, a training-state section (see `state_section`): the `rbm_lab_state` metadata entry
//! and `state.*` tensors, with which a run continues exactly where it stopped. Readers that do not
//! know it (older rbm-lab builds, Python) ignore it; a file without it loads with a fresh state.
//!
//! Loading checks everything a hand-made or damaged file could get wrong (structure, names, dtypes,
//! shapes, metadata, finiteness) and says which, so the UI can tell the person what is wrong with
//! the file. Saving refuses what loading would refuse, so that no save produces an unloadable file.
//!
//! The parts: this file holds the format's names and [`ModelFile`]; `metadata.rs` the `rbm_lab`
//! JSON and its checks; `read.rs` and `write.rs` loading and saving; `gaussian.rs` the Gaussian
//! model's tensors; `error.rs` [`ModelFileError`].

mod error;
mod gaussian;
#[cfg(test)]
mod gaussian_tests;
mod metadata;
mod read;
mod write;

use crate::limits::{MAX_MODEL_DATA_BYTES, MAX_MODEL_HEADER_BYTES};
use crate::model::gaussian::{GaussianRbm, Standardisation, VisibleType};
use crate::model::labels::LabelUnits;
use crate::model::{Rbm, TrainingState};

pub use error::ModelFileError;
pub use gaussian::GaussianVisibles;
pub use metadata::{ModelMetadata, created_by, metadata_entry};
pub use read::{labelled_model_from_bytes, load_labelled_model, load_model, model_from_bytes, read_model_bytes};
pub use write::{model_to_bytes, model_to_bytes_with_entries, save_model};

/// The newest format version this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;
/// Value of the plain `format` metadata entry.
pub const FORMAT_NAME: &str = "rbm-lab";
/// The `__metadata__` entry holding [`ModelMetadata`] as JSON.
pub const METADATA_KEY: &str = "rbm_lab";
/// Tensor names, fixed by the format.
pub const WEIGHTS: &str = "W";
pub const VISIBLE_BIAS: &str = "b_v";
pub const HIDDEN_BIAS: &str = "b_h";
/// The label units' tensors (only in files of classification RBMs).
pub const LABEL_WEIGHTS: &str = "U";
pub const LABEL_BIAS: &str = "d";
/// The Gaussian model's tensors (see the module header).
pub const LOG_VARIANCE: &str = "log_var";
pub const DATA_MEAN: &str = "data_mean";
pub const DATA_SCALE: &str = "data_scale";

/// Safetensors files start with the header's length as a little-endian u64.
pub(super) const LENGTH_PREFIX: usize = 8;
/// rbm-lab's limit on the JSON header (see [`MAX_MODEL_HEADER_BYTES`]), below the safetensors
/// crate's own 100 MB. Checking it up front lets [`load_model`] reject a file picked by mistake (a
/// video, an archive) after reading 8 bytes instead of all of it.
pub(super) const MAX_HEADER_BYTES: u64 = MAX_MODEL_HEADER_BYTES;
/// The longest file [`load_model`] reads: the length prefix, the longest header and the most
/// tensor data. Anything longer is refused before a byte is read.
pub const MAX_MODEL_FILE_BYTES: u64 = LENGTH_PREFIX as u64 + MAX_MODEL_HEADER_BYTES + MAX_MODEL_DATA_BYTES;

/// A model as stored on disk: the RBM, what is known about it, and optionally the state of the
/// training run that made it, with which that run continues exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    pub rbm: Rbm,
    pub metadata: ModelMetadata,
    /// Present in files saved by a training run (the window's Save, `rbm-lab train`); its position
    /// agrees with `metadata.epochs_trained`.
    pub state: Option<TrainingState>,
    /// The label units of a classification RBM (`metadata.spec.label_classes` of them).
    pub labels: Option<LabelUnits>,
    /// The log variances and the standardisation of a Gaussian–Bernoulli model (present exactly
    /// when `metadata.spec.visible` is `Gaussian`).
    pub gaussian: Option<GaussianVisibles>,
}

impl ModelFile {
    /// A model file without a training state.
    pub fn new(rbm: Rbm, metadata: ModelMetadata) -> Self {
        Self { rbm, metadata, state: None, labels: None, gaussian: None }
    }

    /// A Gaussian–Bernoulli model's file (no training state: its runs do not resume).
    pub fn new_gaussian(model: GaussianRbm, standardisation: Standardisation, metadata: ModelMetadata) -> Self {
        let (rbm, log_variance) = model.into_parts();
        Self {
            rbm,
            metadata,
            state: None,
            labels: None,
            gaussian: Some(GaussianVisibles { log_variance, standardisation }),
        }
    }

    /// The Gaussian model and its standardisation, if the file holds one.
    pub fn gaussian_model(&self) -> Option<(GaussianRbm, &Standardisation)> {
        let parts = self.gaussian.as_ref()?;
        let model = GaussianRbm::from_parts(self.rbm.clone(), parts.log_variance.clone()).ok()?;
        Some((model, &parts.standardisation))
    }

    /// `Err` naming `what` for a Gaussian–Bernoulli model, which code made for binary visibles
    /// (inpainting, probes, the window's trainer, resuming) cannot use.
    pub fn require_binary(&self, what: &str) -> Result<(), ModelFileError> {
        match self.metadata.spec.visible {
            VisibleType::Binary => Ok(()),
            VisibleType::Gaussian => Err(ModelFileError::GaussianNotSupported(what.to_owned())),
        }
    }
}
