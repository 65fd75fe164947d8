//! The safetensors layer under the model files: encoding tensors and metadata entries, reading a
//! header with every length bounded before it is trusted, and tensors by name with their bytes
//! checked against their shapes. What the tensors mean is `model_file`'s and `state_section`'s.

use std::collections::BTreeMap;

use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensorError};
use serde::{Deserialize, Serialize};

use std::fmt;

use super::model_file::ModelFileError::{BadMetadata, NotSafetensors};
use super::model_file::{LENGTH_PREFIX, MAX_HEADER_BYTES, ModelFileError, WEIGHTS};
use crate::limits::{MAX_MODEL_DATA_BYTES, MAX_TENSOR_DIMENSIONS, grouped};

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
pub(super) fn encode_safetensors(
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
pub(super) fn declared_header_len(bytes: &[u8], total_len: u64) -> Result<u64, ModelFileError> {
    let Some(prefix) = bytes.first_chunk::<LENGTH_PREFIX>() else {
        return Err(NotSafetensors(format!(
            "the file is only {total_len} bytes long, but a safetensors file starts with an 8-byte header \
             length followed by a JSON header"
        )));
    };
    let header_len = u64::from_le_bytes(*prefix);
    if header_len > MAX_HEADER_BYTES {
        return Err(NotSafetensors(format!(
            "its first 8 bytes announce a {}-byte header, more than rbm-lab's limit of {} bytes; this is \
             probably not a safetensors file",
            grouped(u128::from(header_len)),
            grouped(u128::from(MAX_HEADER_BYTES))
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

/// Checks the header's tensor table before any tensor data is read, and returns the bytes of
/// tensor data it names (the largest `data_offsets` end over all tensors, whatever their names:
/// files may hold more than W and the biases). `data_len` is how many bytes follow the header.
///
/// In order: each tensor's shape (at most [`MAX_TENSOR_DIMENSIONS`] dimensions) and byte range
/// agree with each other, W's parameter count is within [`crate::limits::MAX_PARAMETERS`], the
/// tensors end exactly where the file does, and they take at most [`MAX_MODEL_DATA_BYTES`]. The
/// safetensors crate checks the table again afterwards (contiguity, names); checking here first
/// means that a crafted header never reaches its unchecked arithmetic, and a file is refused with
/// a message that says what is wrong before its data is read.
pub(super) fn check_header(header: &[u8], data_len: u64) -> Result<u64, ModelFileError> {
    let text = std::str::from_utf8(header).map_err(|_| NotSafetensors("the header is not UTF-8 text".into()))?;
    let table: TensorTable = serde_json::from_str(text).map_err(|error| {
        NotSafetensors(format!("the header is not the JSON table of tensors safetensors expects ({error})"))
    })?;
    let mut end_of_data = 0u64;
    for tensor in &table.tensors {
        if tensor.name == WEIGHTS
            && let &[visible, hidden] = tensor.shape.as_slice()
        {
            let visible = usize::try_from(visible).unwrap_or(usize::MAX);
            let hidden = usize::try_from(hidden).unwrap_or(usize::MAX);
            crate::limits::check_model_shape(visible, hidden)?;
        }
        let (start, end) = tensor.data_offsets;
        let elements = tensor.shape.iter().try_fold(1u128, |count, &dim| count.checked_mul(u128::from(dim)));
        let bits = elements.and_then(|count| count.checked_mul(tensor.dtype.bitsize() as u128));
        if end < start || bits != Some(u128::from(end - start) * 8) {
            return Err(NotSafetensors(format!(
                "tensor `{}` ({:?}, shape {:?}) does not fit its data_offsets [{start}, {end}]",
                tensor.name, tensor.dtype, tensor.shape
            )));
        }
        end_of_data = end_of_data.max(end);
    }
    if end_of_data > data_len {
        return Err(NotSafetensors(format!(
            "its tensors end at byte {end_of_data} of the tensor data, but the file holds only {data_len} bytes \
             of it; the file is truncated or corrupt"
        )));
    }
    if end_of_data < data_len {
        return Err(NotSafetensors(format!(
            "the file has {} bytes after its last tensor; it is corrupt or two files were joined",
            data_len - end_of_data
        )));
    }
    if end_of_data > MAX_MODEL_DATA_BYTES {
        return Err(ModelFileError::DataTooLarge { bytes: end_of_data });
    }
    Ok(end_of_data)
}

/// The tensors a safetensors header lists, read without the `__metadata__` entry (which is
/// skipped unparsed here) and with each shape's length bounded while it is read.
struct TensorTable {
    tensors: Vec<TableEntry>,
}

struct TableEntry {
    name: String,
    dtype: Dtype,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

impl<'de> Deserialize<'de> for TensorTable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TableVisitor;
        impl<'de> serde::de::Visitor<'de> for TableVisitor {
            type Value = TensorTable;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object of tensors")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TensorTable, A::Error> {
                #[derive(Deserialize)]
                struct Entry {
                    dtype: Dtype,
                    shape: BoundedShape,
                    data_offsets: (u64, u64),
                }
                let mut tensors = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if name == "__metadata__" {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    }
                    let Entry { dtype, shape, data_offsets } = map.next_value()?;
                    tensors.push(TableEntry { name, dtype, shape: shape.0, data_offsets });
                }
                Ok(TensorTable { tensors })
            }
        }
        deserializer.deserialize_map(TableVisitor)
    }
}

/// A tensor's shape, refused as soon as it has more than [`MAX_TENSOR_DIMENSIONS`] entries, so that
/// a header cannot make the reader build a huge list.
struct BoundedShape(Vec<u64>);

impl<'de> Deserialize<'de> for BoundedShape {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> serde::de::Visitor<'de> for ShapeVisitor {
            type Value = BoundedShape;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list of at most {MAX_TENSOR_DIMENSIONS} dimensions")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<BoundedShape, A::Error> {
                let mut dims = Vec::new();
                while let Some(dim) = seq.next_element::<u64>()? {
                    if dims.len() == MAX_TENSOR_DIMENSIONS {
                        return Err(serde::de::Error::custom(format!(
                            "a tensor has more than {MAX_TENSOR_DIMENSIONS} dimensions, rbm-lab's limit"
                        )));
                    }
                    dims.push(dim);
                }
                Ok(BoundedShape(dims))
            }
        }
        deserializer.deserialize_seq(ShapeVisitor)
    }
}

/// The safetensors crate's errors, phrased for someone who picked a file.
pub(super) fn describe_safetensors_error(error: &SafeTensorError) -> String {
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
pub(super) fn f32_tensor(
    header: &Metadata,
    data: &[u8],
    name: &'static str,
) -> Result<(Vec<f32>, Vec<usize>), ModelFileError> {
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
