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

use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::atomic_write;
use super::state_section;
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

/// Safetensors files start with the header's length as a little-endian u64.
const LENGTH_PREFIX: usize = 8;
/// The safetensors crate's own limit. Checking it up front lets [`load_model`] reject a file picked
/// by mistake (a video, an archive) after reading 8 bytes instead of all of it.
const MAX_HEADER_BYTES: u64 = 100_000_000;

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
}

impl ModelFile {
    /// A model file without a training state.
    pub fn new(rbm: Rbm, metadata: ModelMetadata) -> Self {
        Self { rbm, metadata, state: None }
    }
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

/// Reads and checks a model file.
pub fn load_model(path: &Path) -> Result<ModelFile, ModelFileError> {
    let io_error = |source| ModelFileError::Io { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    let mut bytes = Vec::new();
    (&mut file).take(LENGTH_PREFIX as u64).read_to_end(&mut bytes).map_err(io_error)?;
    declared_header_len(&bytes, file_len)?;
    bytes.reserve(usize::try_from(file_len).unwrap_or(0).saturating_sub(bytes.len()));
    file.read_to_end(&mut bytes).map_err(io_error)?;
    model_from_bytes(&bytes)
}

/// Parses and checks a model file held in memory.
pub fn model_from_bytes(bytes: &[u8]) -> Result<ModelFile, ModelFileError> {
    let total_len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let header_len = declared_header_len(bytes, total_len)?;
    check_offsets_fit(bytes, header_len)?;
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
    let state = state_section::read(&header, data, &metadata, n_visible, n_hidden)?;
    Ok(ModelFile { rbm, metadata, state })
}

/// Encodes a model as the bytes of a safetensors file. Refuses models that [`model_from_bytes`]
/// would refuse (NaN/inf parameters, inconsistent or unencodable metadata).
pub fn model_to_bytes(model: &ModelFile) -> Result<Vec<u8>, ModelFileError> {
    let ModelFile { rbm, metadata, state } = model;
    if !rbm.is_finite() {
        return Err(ModelFileError::NonFinite);
    }
    let (n_visible, n_hidden) = (rbm.n_visible(), rbm.n_hidden());
    check_metadata(metadata, n_visible)?;
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
    if let Some(state) = state {
        let (entry, state_tensors) = state_section::write(state, metadata, n_visible, n_hidden)?;
        entries.insert(state_section::STATE_KEY, entry);
        tensors.extend(state_tensors);
    }
    encode_safetensors(&tensors, &entries)
}

/// A tensor to write: its name, shape and values.
pub(super) type NamedTensor<'a> = (&'static str, Vec<usize>, TensorValues<'a>);

/// A tensor's values for [`encode_safetensors`]: parameters are F32; random-stream states are
/// U64 words, which F32 could not hold.
pub(super) enum TensorValues<'a> {
    F32(&'a [f32]),
    U64(Vec<u64>),
}

impl TensorValues<'_> {
    fn dtype(&self) -> Dtype {
        match self {
            TensorValues::F32(_) => Dtype::F32,
            TensorValues::U64(_) => Dtype::U64,
        }
    }

    fn byte_len(&self) -> Option<usize> {
        match self {
            TensorValues::F32(values) => values.len().checked_mul(4),
            TensorValues::U64(values) => values.len().checked_mul(8),
        }
    }

    fn append_le_bytes(&self, bytes: &mut Vec<u8>) {
        match self {
            TensorValues::F32(values) => values.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes())),
            TensorValues::U64(values) => values.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes())),
        }
    }
}

/// Writes the safetensors layout: the header's length (u64, little-endian), the JSON header padded
/// with spaces to a multiple of 8 bytes (so the data is aligned for memory mapping), then each
/// tensor's little-endian bytes at the offsets the header gives.
///
/// Written here rather than with `safetensors::serialize`, which takes the metadata as a `HashMap`
/// and so orders the header differently on every call. Sorted keys make a save deterministic: the
/// same model always gives the same bytes, which checksums, diffs and reproducibility checks rely
/// on. The tests read the result back with the safetensors crate.
fn encode_safetensors(
    tensors: &[NamedTensor<'_>],
    entries: &BTreeMap<&str, String>,
) -> Result<Vec<u8>, ModelFileError> {
    #[derive(Serialize)]
    struct TensorEntry<'a> {
        dtype: Dtype,
        shape: &'a [usize],
        data_offsets: [usize; 2],
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum HeaderEntry<'a> {
        Metadata(&'a BTreeMap<&'a str, String>),
        Tensor(TensorEntry<'a>),
    }

    let too_large = || BadMetadata("the model is too large to be written as one safetensors file".into());
    let mut header = BTreeMap::from([("__metadata__", HeaderEntry::Metadata(entries))]);
    let mut data_len = 0usize;
    for (name, shape, values) in tensors {
        let end = values.byte_len().and_then(|bytes| bytes.checked_add(data_len)).ok_or_else(too_large)?;
        header.insert(
            *name,
            HeaderEntry::Tensor(TensorEntry { dtype: values.dtype(), shape, data_offsets: [data_len, end] }),
        );
        data_len = end;
    }
    let mut json = serde_json::to_vec(&header)
        .map_err(|error| BadMetadata(format!("the safetensors header cannot be written: {error}")))?;
    json.resize(json.len().next_multiple_of(LENGTH_PREFIX), b' ');
    let header_len = u64::try_from(json.len()).map_err(|_| too_large())?;
    if header_len > MAX_HEADER_BYTES {
        return Err(BadMetadata(format!(
            "the metadata takes {header_len} bytes, more than the {MAX_HEADER_BYTES} a safetensors header may have"
        )));
    }

    let total =
        LENGTH_PREFIX.checked_add(json.len()).and_then(|len| len.checked_add(data_len)).ok_or_else(too_large)?;
    let mut bytes = Vec::with_capacity(total);
    bytes.extend_from_slice(&header_len.to_le_bytes());
    bytes.extend_from_slice(&json);
    for (_, _, values) in tensors {
        values.append_le_bytes(&mut bytes);
    }
    Ok(bytes)
}

/// The header length declared by the first 8 bytes, checked against the file's total length, so
/// that garbage and truncated files get a message about what is wrong with them.
fn declared_header_len(bytes: &[u8], total_len: u64) -> Result<u64, ModelFileError> {
    let Some(prefix) = bytes.first_chunk::<LENGTH_PREFIX>() else {
        return Err(NotSafetensors(format!(
            "the file is only {total_len} bytes long, but a safetensors file starts with an 8-byte header \
             length followed by a JSON header"
        )));
    };
    let header_len = u64::from_le_bytes(*prefix);
    if header_len > MAX_HEADER_BYTES {
        return Err(NotSafetensors(format!(
            "its first 8 bytes announce a {header_len}-byte header, more than the {MAX_HEADER_BYTES} bytes \
             safetensors allows; this is probably not a safetensors file"
        )));
    }
    let after_prefix = total_len.saturating_sub(LENGTH_PREFIX as u64);
    if header_len > after_prefix {
        return Err(NotSafetensors(format!(
            "it announces a {header_len}-byte header but only {after_prefix} bytes follow; the file is \
             truncated or not a safetensors file"
        )));
    }
    Ok(header_len)
}

/// Checks that no tensor claims bytes beyond the end of the file, before the safetensors crate sees
/// the header: the crate adds the claimed end to the header length unchecked, which overflows (and
/// panics in debug builds) on a crafted header, and a clear "truncated" message is more use to the
/// person than the crate's "incomplete metadata".
fn check_offsets_fit(bytes: &[u8], header_len: u64) -> Result<(), ModelFileError> {
    let header_end = usize::try_from(header_len).ok().and_then(|len| len.checked_add(LENGTH_PREFIX));
    let Some(header) = header_end.and_then(|end| bytes.get(LENGTH_PREFIX..end)) else {
        return Err(NotSafetensors("the header extends past the end of the file".into()));
    };
    let data_len = bytes.len().saturating_sub(LENGTH_PREFIX + header.len()) as u64;
    // A malformed header is left for the safetensors crate to describe.
    let Ok(serde_json::Value::Object(entries)) = serde_json::from_slice::<serde_json::Value>(header) else {
        return Ok(());
    };
    for (name, entry) in &entries {
        if name == "__metadata__" {
            continue;
        }
        let end = entry.get("data_offsets").and_then(|offsets| offsets.get(1)).and_then(serde_json::Value::as_u64);
        if let Some(end) = end
            && end > data_len
        {
            return Err(NotSafetensors(format!(
                "tensor `{name}` ends at byte {end} of the tensor data, but the file holds only {data_len} \
                 bytes of it; the file is truncated or corrupt"
            )));
        }
    }
    Ok(())
}

/// The safetensors crate's errors, phrased for someone who picked a file.
fn describe_safetensors_error(error: &SafeTensorError) -> String {
    match error {
        SafeTensorError::InvalidHeader(_) => "the header is not UTF-8 text".into(),
        SafeTensorError::InvalidHeaderDeserialization(error) => {
            format!("the header is not the JSON table of tensors safetensors expects ({error})")
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensors do not exactly cover the file (it is truncated or has extra bytes at the end)".into()
        }
        other => other.to_string(),
    }
}

/// One F32 tensor's values and shape, by name.
fn f32_tensor(header: &Metadata, data: &[u8], name: &'static str) -> Result<(Vec<f32>, Vec<usize>), ModelFileError> {
    let tensor = raw_tensor(header, data, name)?.ok_or(ModelFileError::MissingTensor(name))?;
    if tensor.dtype != Dtype::F32 {
        return Err(ModelFileError::WrongDtype { tensor: name, found: tensor.dtype.to_string() });
    }
    Ok((decode_f32(tensor.bytes), tensor.shape))
}

/// A tensor as stored: its dtype, shape and little-endian bytes.
pub(super) struct RawTensor<'a> {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: &'a [u8],
}

/// The tensor called `name`, if the file has one, with its bytes checked against its shape.
pub(super) fn raw_tensor<'a>(
    header: &Metadata,
    data: &'a [u8],
    name: &str,
) -> Result<Option<RawTensor<'a>>, ModelFileError> {
    let Some(info) = header.info(name) else { return Ok(None) };
    let (start, end) = info.data_offsets;
    let bytes =
        data.get(start..end).ok_or_else(|| NotSafetensors(format!("tensor `{name}` lies outside the file's data")))?;
    // The crate has checked this already; checked again because the decoding relies on it.
    let element_count = info.shape.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim));
    if element_count.and_then(|count| count.checked_mul(info.dtype.bitsize() / 8)) != Some(bytes.len()) {
        return Err(NotSafetensors(format!(
            "tensor `{name}` has {} bytes, which does not match its shape",
            bytes.len()
        )));
    }
    Ok(Some(RawTensor { dtype: info.dtype, shape: info.shape.clone(), bytes }))
}

pub(super) fn decode_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

pub(super) fn decode_u64(bytes: &[u8]) -> Vec<u64> {
    bytes.chunks_exact(8).map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

/// Reads the `rbm_lab` JSON, looking at the format version before the fields so that a file from a
/// newer rbm-lab is reported as such rather than as a missing or unknown field.
fn parse_metadata(json: &str) -> Result<ModelMetadata, ModelFileError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|error| BadMetadata(format!("the `{METADATA_KEY}` entry is not valid JSON ({error})")))?;
    let version = value.get("format_version").and_then(serde_json::Value::as_u64).ok_or_else(|| {
        BadMetadata(format!("the `{METADATA_KEY}` entry has no format_version number (expected {FORMAT_VERSION})"))
    })?;
    check_version(version)?;
    serde_json::from_value(value).map_err(|error| {
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
    if !(metadata.epochs_trained.is_finite() && metadata.epochs_trained >= 0.0) {
        return Err(BadMetadata(format!(
            "epochs_trained must be a finite number of at least 0 (got {})",
            metadata.epochs_trained
        )));
    }
    Ok(())
}
