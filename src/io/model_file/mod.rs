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

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use safetensors::SafeTensors;
use safetensors::tensor::Metadata;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::atomic_write;
use super::container::{
    TensorValues, check_header, declared_header_len, describe_safetensors_error, encode_safetensors, f32_tensor,
    raw_tensor,
};
use super::state_section;
use crate::limits::{
    LimitError, MAX_EPOCHS_TRAINED, MAX_MODEL_DATA_BYTES, MAX_MODEL_HEADER_BYTES, MAX_SAMPLES_SEEN, grouped,
};
use crate::model::gaussian::{GaussianRbm, Standardisation, VisibleType};
use crate::model::labels::LabelUnits;
use crate::model::{ModelSpec, Rbm, ShapeError, TrainingConfig, TrainingState};

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

/// What a Gaussian–Bernoulli model stores beside W, b and c.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianVisibles {
    pub log_variance: Vec<f32>,
    pub standardisation: Standardisation,
}

/// Why a model file could not be read or written. Each message says what was expected.
#[derive(Debug, Error)]
pub enum ModelFileError {
    #[error("could not read or write the model file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// Garbage, truncated, or a malformed safetensors header.
    #[error("not a valid safetensors model file: {0}")]
    NotSafetensors(String),
    #[error(
        "the model file has no tensor `{0}`; an rbm-lab model needs W [visible, hidden], b_v [visible] and b_h [hidden]"
    )]
    MissingTensor(&'static str),
    #[error("tensor `{tensor}` holds {found} values, but rbm-lab models store 32-bit floats (F32)")]
    WrongDtype { tensor: &'static str, found: String },
    #[error("tensor `{tensor}` has shape {found:?}, expected {expected}")]
    WrongShape { tensor: &'static str, found: Vec<usize>, expected: String },
    /// The `rbm_lab` metadata entry is missing, unparsable, inconsistent with the tensors, or from a
    /// newer format version.
    #[error("the model file's metadata is unusable: {0}")]
    BadMetadata(String),
    #[error("the model has NaN or infinite parameters (training diverged?), so it cannot be used")]
    NonFinite,
    #[error("the parameters do not form an RBM: {0}")]
    Shape(#[from] ShapeError),
    /// The optional training-state section is present but damaged or inconsistent with the model.
    #[error("the model file's training state (the `rbm_lab_state` entry and the `state.*` tensors) is unusable: {0}")]
    BadState(String),
    /// A directory, a pipe, a device: refused before reading, since a pipe may never end (and
    /// opening one waits for a writer) and a device such as /dev/zero is endless.
    #[error("{} is {what}, not a model file; choose a .safetensors file saved by rbm-lab", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error(
        "the file is {} bytes long, more than any model file rbm-lab reads ({} bytes: a header of at most {} \
         bytes and at most {} bytes of tensors)",
        grouped(u128::from(*.bytes)), grouped(u128::from(MAX_MODEL_FILE_BYTES)),
        grouped(u128::from(MAX_MODEL_HEADER_BYTES)), grouped(u128::from(MAX_MODEL_DATA_BYTES))
    )]
    FileTooLarge { bytes: u64 },
    #[error(
        "the file's tensors take {} bytes; rbm-lab's limit is {} bytes of tensor data",
        grouped(u128::from(*.bytes)), grouped(u128::from(MAX_MODEL_DATA_BYTES))
    )]
    DataTooLarge { bytes: u64 },
    /// A Gaussian–Bernoulli model given to something that works on binary models only.
    #[error(
        "this is a Gaussian–Bernoulli model (real-valued visibles), and {0} works on binary models only; \
         use `rbm-lab eval` and `rbm-lab sample` with it"
    )]
    GaussianNotSupported(String),
    /// The model is larger than rbm-lab's limits (parameters, visible units).
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A classification RBM given to a reader of plain RBMs.
    #[error(
        "the model has label units ({classes} classes), which this part of rbm-lab cannot use; use a model trained \
         without --labels"
    )]
    HasLabels { classes: usize },
    /// The label units' tensors disagree with each other, the model or the metadata.
    #[error("the model file's label units (tensors `U` and `d`) are unusable: {0}")]
    BadLabels(String),
}

use ModelFileError::{BadMetadata, NotSafetensors, WrongShape};

/// Writes `model` to `path` atomically (see [`atomic_write`]): an existing file is replaced only by
/// a complete new one.
pub fn save_model(path: &Path, model: &ModelFile) -> Result<(), ModelFileError> {
    // Encode first, so that an invalid model fails before anything touches the disk.
    let bytes = model_to_bytes(model)?;
    atomic_write(path, |writer| writer.write_all(&bytes))
        .map_err(|source| ModelFileError::Io { path: path.to_path_buf(), source })
}

/// Reads and checks a model file, header first: the 8-byte header length, then the JSON header
/// (at most [`MAX_MODEL_HEADER_BYTES`]), whose tensor table is checked against the limits (tensor
/// shapes, W's parameter count) and against the file's length before the tensor data is read.
/// Nothing is allocated for a size the file claims before that size has been checked; directories,
/// pipes and devices are refused before they are opened.
pub fn load_model(path: &Path) -> Result<ModelFile, ModelFileError> {
    model_from_bytes(&read_model_bytes(path)?)
}

/// [`load_model`] for readers that can use label units: files with them are read, not refused.
pub fn load_labelled_model(path: &Path) -> Result<ModelFile, ModelFileError> {
    labelled_model_from_bytes(&read_model_bytes(path)?)
}

/// The bytes of a model file, read as [`load_model`] reads them (header first, every length
/// checked before it is allocated), for callers that also want the file's other metadata entries
/// (see [`metadata_entry`]). The tensors are not checked yet: pass the bytes to [`model_from_bytes`].
pub fn read_model_bytes(path: &Path) -> Result<Vec<u8>, ModelFileError> {
    let io_error = |source| ModelFileError::Io { path: path.to_path_buf(), source };
    let kind = std::fs::metadata(path).map_err(io_error)?.file_type();
    if !kind.is_file() {
        return Err(ModelFileError::NotAFile { path: path.to_path_buf(), what: describe_file_type(kind) });
    }
    let mut file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    if file_len > MAX_MODEL_FILE_BYTES {
        return Err(ModelFileError::FileTooLarge { bytes: file_len });
    }
    let mut prefix = Vec::with_capacity(LENGTH_PREFIX);
    (&mut file).take(LENGTH_PREFIX as u64).read_to_end(&mut prefix).map_err(io_error)?;
    let header_len = declared_header_len(&prefix, file_len)?;
    // Both lengths are checked: the header against its limit and the file's length, the whole
    // against MAX_MODEL_FILE_BYTES.
    let mut bytes = Vec::with_capacity(LENGTH_PREFIX + header_len as usize);
    bytes.extend_from_slice(&prefix);
    (&mut file).take(header_len).read_to_end(&mut bytes).map_err(io_error)?;
    let data_len = check_header(&bytes[LENGTH_PREFIX..], file_len.saturating_sub(LENGTH_PREFIX as u64 + header_len))?;
    bytes.reserve_exact(data_len as usize);
    (&mut file).take(data_len).read_to_end(&mut bytes).map_err(io_error)?;
    // The file may have changed since its length was read.
    let mut extra = [0u8; 1];
    if bytes.len() as u64 != file_len || file.read(&mut extra).map_err(io_error)? != 0 {
        return Err(NotSafetensors("the file changed while it was read; try again".into()));
    }
    Ok(bytes)
}

/// What a path that is not a regular file is, for [`ModelFileError::NotAFile`].
fn describe_file_type(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() { "a directory" } else { "not a regular file" }
}

/// Parses and checks a model file held in memory, in the order [`load_model`] reads one: header
/// length, header (tensor table against the limits), then the tensors.
pub fn model_from_bytes(bytes: &[u8]) -> Result<ModelFile, ModelFileError> {
    let model = labelled_model_from_bytes(bytes)?;
    match &model.labels {
        Some(labels) => Err(ModelFileError::HasLabels { classes: labels.classes() }),
        None => Ok(model),
    }
}

/// [`model_from_bytes`] for readers that can use label units: files with them are read, not refused.
pub fn labelled_model_from_bytes(bytes: &[u8]) -> Result<ModelFile, ModelFileError> {
    let total_len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let header_len = declared_header_len(bytes, total_len)?;
    let header_end = LENGTH_PREFIX + header_len as usize;
    check_header(&bytes[LENGTH_PREFIX..header_end], total_len - header_end as u64)?;
    let (header_len, header) =
        SafeTensors::read_metadata(bytes).map_err(|error| NotSafetensors(describe_safetensors_error(&error)))?;
    let data = LENGTH_PREFIX.checked_add(header_len).and_then(|start| bytes.get(start..)).unwrap_or(&[]);

    let (weights, weights_shape) = f32_tensor(&header, data, WEIGHTS)?;
    let &[n_visible, n_hidden] = weights_shape.as_slice() else {
        return Err(WrongShape {
            tensor: WEIGHTS,
            found: weights_shape,
            expected: "2 dimensions, [visible units, hidden units]".into(),
        });
    };
    let (visible_bias, visible_shape) = f32_tensor(&header, data, VISIBLE_BIAS)?;
    if visible_shape != [n_visible] {
        return Err(WrongShape {
            tensor: VISIBLE_BIAS,
            found: visible_shape,
            expected: format!("[{n_visible}], one bias per visible unit (W is {n_visible}x{n_hidden})"),
        });
    }
    let (hidden_bias, hidden_shape) = f32_tensor(&header, data, HIDDEN_BIAS)?;
    if hidden_shape != [n_hidden] {
        return Err(WrongShape {
            tensor: HIDDEN_BIAS,
            found: hidden_shape,
            expected: format!("[{n_hidden}], one bias per hidden unit (W is {n_visible}x{n_hidden})"),
        });
    }

    let json = header.metadata().as_ref().and_then(|entries| entries.get(METADATA_KEY)).ok_or_else(|| {
        BadMetadata(format!(
            "there is no `{METADATA_KEY}` entry in the safetensors metadata, so the file was not saved by rbm-lab \
             (it needs that entry, holding the model's JSON description)"
        ))
    })?;
    let metadata = parse_metadata(json)?;
    check_metadata(&metadata, n_visible)?;

    let rbm = Rbm::from_parameters(n_visible, n_hidden, weights, visible_bias, hidden_bias)?;
    if !rbm.is_finite() {
        return Err(ModelFileError::NonFinite);
    }
    let labels = read_labels(&header, data, &metadata, n_hidden)?;
    let state = state_section::read(&header, data, &metadata, n_visible, n_hidden)?;
    let gaussian = match metadata.spec.visible {
        VisibleType::Binary => None,
        VisibleType::Gaussian => Some(read_gaussian(&header, data, n_visible)?),
    };
    check_gaussian(&metadata, gaussian.as_ref(), n_visible)?;
    if gaussian.is_some() && labels.is_some() {
        return Err(ModelFileError::BadLabels(
            "label units beside Gaussian visibles are not a model rbm-lab has".into(),
        ));
    }
    Ok(ModelFile { rbm, metadata, state, labels, gaussian })
}

/// The label units, if the file has them, checked against the model and the metadata.
fn read_labels(
    header: &Metadata,
    data: &[u8],
    metadata: &ModelMetadata,
    n_hidden: usize,
) -> Result<Option<LabelUnits>, ModelFileError> {
    let classes = metadata.spec.label_classes;
    if raw_tensor(header, data, LABEL_WEIGHTS)?.is_none() {
        if classes > 0 {
            return Err(ModelFileError::BadLabels(format!(
                "the metadata says {classes} label classes but the file has no tensor `{LABEL_WEIGHTS}`"
            )));
        }
        return Ok(None);
    }
    let (weights, shape) = f32_tensor(header, data, LABEL_WEIGHTS)?;
    if shape != [classes, n_hidden] {
        return Err(WrongShape {
            tensor: LABEL_WEIGHTS,
            found: shape,
            expected: format!(
                "[{classes}, {n_hidden}]: the metadata's {classes} label classes x {n_hidden} hidden units"
            ),
        });
    }
    let (bias, shape) = f32_tensor(header, data, LABEL_BIAS)?;
    if shape != [classes] {
        return Err(WrongShape {
            tensor: LABEL_BIAS,
            found: shape,
            expected: format!("[{classes}], one bias per class"),
        });
    }
    let labels = LabelUnits::from_parameters(classes, n_hidden, weights, bias)
        .map_err(|error| ModelFileError::BadLabels(error.to_string()))?;
    if !labels.is_finite() {
        return Err(ModelFileError::NonFinite);
    }
    Ok(Some(labels))
}

/// Encodes a model as the bytes of a safetensors file. Refuses models that [`model_from_bytes`]
/// would refuse (NaN/inf parameters, inconsistent or unencodable metadata).
pub fn model_to_bytes(model: &ModelFile) -> Result<Vec<u8>, ModelFileError> {
    model_to_bytes_with_entries(model, &BTreeMap::new())
}

/// [`model_to_bytes`] with more `__metadata__` entries beside the model's own (which readers of
/// model files ignore, so the result still loads as a model). A key the format uses itself is
/// refused rather than overwritten.
pub fn model_to_bytes_with_entries(
    model: &ModelFile,
    extra_entries: &BTreeMap<&str, String>,
) -> Result<Vec<u8>, ModelFileError> {
    let ModelFile { rbm, metadata, state, labels, gaussian } = model;
    if !rbm.is_finite() {
        return Err(ModelFileError::NonFinite);
    }
    let (n_visible, n_hidden) = (rbm.n_visible(), rbm.n_hidden());
    check_metadata(metadata, n_visible)?;
    check_gaussian(metadata, gaussian.as_ref(), n_visible)?;
    let json = serde_json::to_string(metadata)
        .map_err(|error| BadMetadata(format!("it cannot be written as JSON: {error}")))?;
    // Some values do not survive JSON (a NaN learning rate becomes null); catch that now rather
    // than when the file is opened.
    parse_metadata(&json)?;

    let weights = rbm.weights_slice();
    if n_visible.checked_mul(n_hidden) != Some(weights.len()) {
        return Err(WrongShape {
            tensor: WEIGHTS,
            found: vec![weights.len()],
            expected: format!("{n_visible}x{n_hidden} values"),
        });
    }
    let (visible_bias, hidden_bias) = (rbm.visible_bias().to_vec(), rbm.hidden_bias().to_vec());
    let mut tensors = vec![
        (WEIGHTS, vec![n_visible, n_hidden], TensorValues::F32(weights)),
        (VISIBLE_BIAS, vec![n_visible], TensorValues::F32(&visible_bias)),
        (HIDDEN_BIAS, vec![n_hidden], TensorValues::F32(&hidden_bias)),
    ];
    let mut entries = BTreeMap::from([
        (METADATA_KEY, json),
        ("format", FORMAT_NAME.to_owned()),
        ("format_version", metadata.format_version.to_string()),
        ("created_by", metadata.created_by.clone()),
        ("dataset", metadata.dataset.clone()),
        ("image_rows", metadata.image_rows.to_string()),
        ("image_cols", metadata.image_cols.to_string()),
    ]);
    if let Some(labels) = labels {
        let classes = labels.classes();
        if classes != metadata.spec.label_classes || labels.n_hidden() != n_hidden {
            return Err(ModelFileError::BadLabels(format!(
                "they are {classes} classes x {} hidden units, but the metadata says {} classes and the model has {n_hidden} \
                 hidden units",
                labels.n_hidden(),
                metadata.spec.label_classes
            )));
        }
        if !labels.is_finite() {
            return Err(ModelFileError::NonFinite);
        }
        tensors.push((LABEL_WEIGHTS, vec![classes, n_hidden], TensorValues::F32(labels.weights())));
        tensors.push((LABEL_BIAS, vec![classes], TensorValues::F32(labels.bias())));
    } else if metadata.spec.label_classes > 0 {
        return Err(ModelFileError::BadLabels(format!(
            "the metadata says {} label classes but the model has no label units",
            metadata.spec.label_classes
        )));
    }
    if let Some(parts) = gaussian {
        tensors.push((LOG_VARIANCE, vec![n_visible], TensorValues::F32(&parts.log_variance)));
        tensors.push((DATA_MEAN, vec![n_visible], TensorValues::F32(&parts.standardisation.mean)));
        tensors.push((DATA_SCALE, vec![n_visible], TensorValues::F32(&parts.standardisation.scale)));
    }
    if let Some(state) = state {
        let (entry, state_tensors) = state_section::write(state, metadata, n_visible, n_hidden)?;
        entries.insert(state_section::STATE_KEY, entry);
        tensors.extend(state_tensors);
    }
    for (&key, value) in extra_entries {
        if entries.contains_key(key) || key == state_section::STATE_KEY {
            return Err(BadMetadata(format!("the metadata entry `{key}` is the model format's own")));
        }
        entries.insert(key, value.clone());
    }
    encode_safetensors(&tensors, &entries)
}

/// The Gaussian model's tensors, each of shape [V], checked as saving checks them.
fn read_gaussian(header: &Metadata, data: &[u8], n_visible: usize) -> Result<GaussianVisibles, ModelFileError> {
    let vector = |name: &'static str| -> Result<Vec<f32>, ModelFileError> {
        let (values, shape) = f32_tensor(header, data, name)?;
        if shape != [n_visible] {
            return Err(WrongShape {
                tensor: name,
                found: shape,
                expected: format!("[{n_visible}], one value per visible unit of the Gaussian model"),
            });
        }
        Ok(values)
    };
    let parts = GaussianVisibles {
        log_variance: vector(LOG_VARIANCE)?,
        standardisation: Standardisation { mean: vector(DATA_MEAN)?, scale: vector(DATA_SCALE)? },
    };
    Ok(parts)
}

/// A Gaussian model's parts are present exactly when its spec says Gaussian, with one finite log
/// variance per visible unit and a valid standardisation.
fn check_gaussian(
    metadata: &ModelMetadata,
    gaussian: Option<&GaussianVisibles>,
    n_visible: usize,
) -> Result<(), ModelFileError> {
    match (metadata.spec.visible, gaussian) {
        (VisibleType::Binary, None) => Ok(()),
        (VisibleType::Binary, Some(_)) => {
            Err(BadMetadata("it says the visible units are binary but the model has Gaussian variances".into()))
        }
        (VisibleType::Gaussian, None) => {
            Err(BadMetadata("it says the visible units are Gaussian but the model has no variances".into()))
        }
        (VisibleType::Gaussian, Some(parts)) => {
            if parts.log_variance.len() != n_visible || !parts.log_variance.iter().all(|z| z.is_finite()) {
                return Err(BadMetadata(format!(
                    "the Gaussian model needs {n_visible} finite log variances (`{LOG_VARIANCE}`)"
                )));
            }
            if !parts.standardisation.is_valid_for(n_visible) {
                return Err(BadMetadata(format!(
                    "the Gaussian model's standardisation (`{DATA_MEAN}`, `{DATA_SCALE}`) needs {n_visible} finite \
                     means and scales of at least {}",
                    crate::model::gaussian::MIN_SCALE
                )));
            }
            Ok(())
        }
    }
}

/// The `__metadata__` entry `key` of a model file held in memory, if it has one. Call it on bytes
/// that [`model_from_bytes`] accepted: their header has been checked against the limits.
pub fn metadata_entry(bytes: &[u8], key: &str) -> Result<Option<String>, ModelFileError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|error| NotSafetensors(describe_safetensors_error(&error)))?;
    Ok(header.metadata().as_ref().and_then(|entries| entries.get(key)).cloned())
}

/// Reads the `rbm_lab` JSON, looking at the format version before the fields so that a file from a
/// newer rbm-lab is reported as such rather than as a missing or unknown field.
fn parse_metadata(json: &str) -> Result<ModelMetadata, ModelFileError> {
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
fn check_metadata(metadata: &ModelMetadata, n_visible: usize) -> Result<(), ModelFileError> {
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

#[cfg(test)]
mod gaussian_tests {
    use super::*;
    use crate::model::VisibleType;

    fn gaussian_file() -> ModelFile {
        let (nv, nh) = (6, 3);
        let rbm = Rbm::from_parameters(
            nv,
            nh,
            (0..nv * nh).map(|i| (i as f32 * 0.37).sin()).collect(),
            (0..nv).map(|i| i as f32 * 0.1).collect(),
            vec![0.2, -0.1, 0.05],
        )
        .unwrap();
        let model = GaussianRbm::from_parts(rbm, (0..nv).map(|i| -0.3 * i as f32).collect()).unwrap();
        let standardisation = Standardisation {
            mean: (0..nv).map(|i| 0.05 * i as f32).collect(),
            scale: vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        };
        let spec = ModelSpec { n_hidden: nh, visible: VisibleType::Gaussian, ..ModelSpec::default() };
        ModelFile::new_gaussian(
            model,
            standardisation,
            ModelMetadata::new("test", 2, 3, TrainingConfig::default(), spec),
        )
    }

    #[test]
    fn a_gaussian_model_round_trips_with_its_variances_and_standardisation() {
        let file = gaussian_file();
        let loaded = model_from_bytes(&model_to_bytes(&file).unwrap()).unwrap();
        assert_eq!(loaded, file);
        let (model, standardisation) = loaded.gaussian_model().unwrap();
        let (original, _) = file.gaussian_model().unwrap();
        let v = [0.3, -0.2, 1.0, 0.0, 0.5, -1.5];
        assert_eq!(model.free_energy(&v).to_bits(), original.free_energy(&v).to_bits());
        assert_eq!(standardisation.scale[5], 0.6);
        // Code made for binary models says what it is given.
        let refused = loaded.require_binary("inpainting").unwrap_err().to_string();
        assert!(refused.contains("Gaussian") && refused.contains("inpainting"), "{refused}");
    }

    #[test]
    fn visible_type_and_gaussian_tensors_must_agree() {
        let mut says_binary = gaussian_file();
        says_binary.metadata.spec.visible = VisibleType::Binary;
        assert!(matches!(model_to_bytes(&says_binary), Err(BadMetadata(_))));
        let mut no_variances = gaussian_file();
        no_variances.gaussian = None;
        assert!(matches!(model_to_bytes(&no_variances), Err(BadMetadata(_))));
        let mut bad_scale = gaussian_file();
        if let Some(parts) = bad_scale.gaussian.as_mut() {
            parts.standardisation.scale[0] = 0.0;
        }
        assert!(matches!(model_to_bytes(&bad_scale), Err(BadMetadata(_))));
    }

    /// A file written before models had a visible type (its spec has no `visible`) loads as binary.
    #[test]
    fn files_without_a_visible_type_load_as_binary() {
        let spec = ModelSpec { n_hidden: 3, ..ModelSpec::default() };
        let file = ModelFile::new(Rbm::zeros(6, 3), ModelMetadata::new("test", 2, 3, TrainingConfig::default(), spec));
        let bytes = model_to_bytes(&file).unwrap();
        // Rewrite the header with `visible` taken out of the spec, as older builds wrote it.
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        let entry = header["__metadata__"][METADATA_KEY].as_str().unwrap().to_owned();
        let mut metadata: serde_json::Value = serde_json::from_str(&entry).unwrap();
        assert!(metadata["spec"].as_object_mut().unwrap().remove("visible").is_some());
        header["__metadata__"][METADATA_KEY] = serde_json::Value::String(metadata.to_string());
        let mut json = serde_json::to_vec(&header).unwrap();
        json.resize(json.len().next_multiple_of(8), b' ');
        let mut old = (json.len() as u64).to_le_bytes().to_vec();
        old.extend_from_slice(&json);
        old.extend_from_slice(&bytes[8 + header_len..]);
        let loaded = model_from_bytes(&old).unwrap();
        assert_eq!(loaded.metadata.spec.visible, VisibleType::Binary);
        assert_eq!(loaded.gaussian, None);
        assert_eq!(loaded.rbm, file.rbm);
        assert!(loaded.require_binary("inpainting").is_ok());
    }
}
