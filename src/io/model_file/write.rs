//! Writing a model file: encoded in memory first, refusing whatever loading would refuse, then
//! written atomically.

use std::collections::BTreeMap;
use std::path::Path;

use super::ModelFileError::{self, BadMetadata, WrongShape};
use super::gaussian::check_gaussian;
use super::metadata::{check_metadata, parse_metadata};
use super::{
    DATA_MEAN, DATA_SCALE, FORMAT_NAME, HIDDEN_BIAS, LABEL_BIAS, LABEL_WEIGHTS, LOG_VARIANCE, METADATA_KEY, ModelFile,
    VISIBLE_BIAS, WEIGHTS,
};
use crate::io::atomic_write;
use crate::io::container::{TensorValues, encode_safetensors};
use crate::io::state_section;

/// Writes `model` to `path` atomically (see [`atomic_write`]): an existing file is replaced only by
/// a complete new one.
pub fn save_model(path: &Path, model: &ModelFile) -> Result<(), ModelFileError> {
    // Encode first, so that an invalid model fails before anything touches the disk.
    let bytes = model_to_bytes(model)?;
    atomic_write(path, |writer| writer.write_all(&bytes))
        .map_err(|source| ModelFileError::Io { path: path.to_path_buf(), source })
}

/// Encodes a model as the bytes of a safetensors file. Refuses models that [`model_from_bytes`]
/// would refuse (NaN/inf parameters, inconsistent or unencodable metadata).
///
/// [`model_from_bytes`]: super::model_from_bytes
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
