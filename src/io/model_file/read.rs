//! Reading a model file, header first: every length is checked against rbm-lab's limits and the
//! file's own length before it is allocated, then the tensors, the metadata and the optional
//! sections (label units, training state, Gaussian parts) are checked against each other.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use safetensors::SafeTensors;
use safetensors::tensor::Metadata;

use super::ModelFileError::{self, BadMetadata, NotSafetensors, WrongShape};
use super::gaussian::{check_gaussian, read_gaussian};
use super::metadata::{check_metadata, parse_metadata};
use super::{
    HIDDEN_BIAS, LABEL_BIAS, LABEL_WEIGHTS, LENGTH_PREFIX, MAX_MODEL_FILE_BYTES, METADATA_KEY, ModelFile,
    ModelMetadata, VISIBLE_BIAS, WEIGHTS,
};
use crate::io::container::{check_header, declared_header_len, describe_safetensors_error, f32_tensor, raw_tensor};
use crate::io::state_section;
use crate::model::Rbm;
use crate::model::gaussian::VisibleType;
use crate::model::labels::LabelUnits;

/// Reads and checks a model file, header first: the 8-byte header length, then the JSON header
/// (at most [`MAX_MODEL_HEADER_BYTES`]), whose tensor table is checked against the limits (tensor
/// shapes, W's parameter count) and against the file's length before the tensor data is read.
/// Nothing is allocated for a size the file claims before that size has been checked; directories,
/// pipes and devices are refused before they are opened.
///
/// [`MAX_MODEL_HEADER_BYTES`]: crate::limits::MAX_MODEL_HEADER_BYTES
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
///
/// [`metadata_entry`]: super::metadata_entry
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
