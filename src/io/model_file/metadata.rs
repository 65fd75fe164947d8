//! [`ModelMetadata`], the `rbm_lab` JSON entry of a model file, and the checks it passes on save
//! and on load alike (format version first, so that a newer file is reported as such).

use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use super::ModelFileError::{self, BadMetadata, NotSafetensors};
use super::{FORMAT_VERSION, METADATA_KEY};
use crate::io::container::describe_safetensors_error;
use crate::limits::{MAX_EPOCHS_TRAINED, MAX_SAMPLES_SEEN, grouped};
use crate::model::{ModelSpec, TrainingConfig};

/// What rbm-lab knows about a model beyond its parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ModelMetadata {
    /// Version of this file layout; files newer than [`FORMAT_VERSION`] are refused, not guessed at.
    pub format_version: u32,
    /// `rbm-lab <version>` of the build that saved the file, for bug reports.
    pub created_by: String,
    /// Name of the training data, e.g. `MNIST`.
    pub dataset: String,
    /// Image geometry, so that the V = rows x cols visible units (and each filter) can be drawn.
    pub image_rows: usize,
    pub image_cols: usize,
    /// Epochs of training so far, fractional (epoch index + fraction of the current epoch done).
    pub epochs_trained: f64,
    pub samples_seen: u64,
    /// Hyperparameters in force when saved.
    pub training: TrainingConfig,
    /// What a Reset builds (hidden size, seed, initialisation). Recorded as it was at save time;
    /// the tensors, not `spec.n_hidden`, are authoritative for the model's shape.
    pub spec: ModelSpec,
}

impl ModelMetadata {
    /// Metadata for a model not trained yet, stamped with this build's format version and name.
    pub fn new(
        dataset: impl Into<String>,
        image_rows: usize,
        image_cols: usize,
        training: TrainingConfig,
        spec: ModelSpec,
    ) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            created_by: created_by(),
            dataset: dataset.into(),
            image_rows,
            image_cols,
            epochs_trained: 0.0,
            samples_seen: 0,
            training,
            spec,
        }
    }
}

/// `rbm-lab <CARGO_PKG_VERSION>`, the [`ModelMetadata::created_by`] of files this build saves.
pub fn created_by() -> String {
    format!("rbm-lab {}", env!("CARGO_PKG_VERSION"))
}

/// The `__metadata__` entry `key` of a model file held in memory, if it has one. Call it on bytes
/// that [`model_from_bytes`] accepted: their header has been checked against the limits.
///
/// [`model_from_bytes`]: super::model_from_bytes
pub fn metadata_entry(bytes: &[u8], key: &str) -> Result<Option<String>, ModelFileError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|error| NotSafetensors(describe_safetensors_error(&error)))?;
    Ok(header.metadata().as_ref().and_then(|entries| entries.get(key)).cloned())
}

/// Reads the `rbm_lab` JSON, looking at the format version before the fields so that a file from a
/// newer rbm-lab is reported as such rather than as a missing or unknown field.
pub(super) fn parse_metadata(json: &str) -> Result<ModelMetadata, ModelFileError> {
    /// Only the version; every other field is skipped unparsed, so that this first pass allocates
    /// nothing for them.
    #[derive(Deserialize)]
    struct VersionOnly {
        format_version: Option<u64>,
    }
    let VersionOnly { format_version } = serde_json::from_str(json)
        .map_err(|error| BadMetadata(format!("the `{METADATA_KEY}` entry is not valid JSON ({error})")))?;
    let version = format_version.ok_or_else(|| {
        BadMetadata(format!("the `{METADATA_KEY}` entry has no format_version number (expected {FORMAT_VERSION})"))
    })?;
    check_version(version)?;
    serde_json::from_str(json).map_err(|error| {
        BadMetadata(format!("the `{METADATA_KEY}` entry does not describe an rbm-lab model ({error})"))
    })
}

fn check_version(version: u64) -> Result<(), ModelFileError> {
    if version == 0 {
        return Err(BadMetadata("format version 0 does not exist (versions start at 1)".into()));
    }
    if version > u64::from(FORMAT_VERSION) {
        return Err(BadMetadata(format!(
            "the file has format version {version}, but this rbm-lab reads versions up to {FORMAT_VERSION}; \
             open it with a newer rbm-lab"
        )));
    }
    Ok(())
}

/// Consistency of the metadata with itself and with the model's visible layer, checked on save and
/// on load alike.
pub(super) fn check_metadata(metadata: &ModelMetadata, n_visible: usize) -> Result<(), ModelFileError> {
    check_version(u64::from(metadata.format_version))?;
    let (rows, cols) = (metadata.image_rows, metadata.image_cols);
    if rows.checked_mul(cols) != Some(n_visible) {
        return Err(BadMetadata(format!(
            "it says images are {rows}x{cols} pixels, but the model has {n_visible} visible units \
             (expected rows x cols = {n_visible})"
        )));
    }
    if !(metadata.epochs_trained.is_finite() && (0.0..=MAX_EPOCHS_TRAINED).contains(&metadata.epochs_trained)) {
        return Err(BadMetadata(format!(
            "epochs_trained must be a number from 0 to rbm-lab's limit of {MAX_EPOCHS_TRAINED:e} (got {:e})",
            metadata.epochs_trained
        )));
    }
    if metadata.samples_seen > MAX_SAMPLES_SEEN {
        return Err(BadMetadata(format!(
            "samples_seen must be at most rbm-lab's limit of {} (got {})",
            grouped(u128::from(MAX_SAMPLES_SEEN)),
            grouped(u128::from(metadata.samples_seen))
        )));
    }
    Ok(())
}
