//! [`ModelFileError`]: why a model file could not be read or written, each message saying what was
//! expected and what to do.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::MAX_MODEL_FILE_BYTES;
use crate::limits::{LimitError, MAX_MODEL_DATA_BYTES, MAX_MODEL_HEADER_BYTES, grouped};
use crate::model::ShapeError;

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
