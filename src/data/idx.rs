//! The IDX format (LeCun's MNIST container), plain or gzip-compressed.
//!
//! Layout: a big-endian u32 magic `0x0000_0800 | type << 8 | ndims`, one big-endian u32 per
//! dimension, then the elements row-major. Only unsigned bytes (type 0x08) are read, which covers
//! MNIST, Fashion-MNIST, KMNIST and EMNIST.
//!
//! Every size in a header is distrusted: the byte count is computed with checked arithmetic and
//! compared against a hard limit and against the bytes actually present before any data buffer is
//! sized from it, so a lying header cannot overflow or make us allocate gigabytes.

use std::io::{self, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::IdxError;

/// The most data bytes one IDX file may declare, [`crate::limits::MAX_IDX_DATA_BYTES`].
pub const MAX_DATA_BYTES: u64 = crate::limits::MAX_IDX_DATA_BYTES;

/// The longest IDX file read from disk: the data limit plus room for a header and for gzip's
/// worst case, stored blocks, which add 5 bytes per 65,535 (under 1/8192) plus a header and trailer.
pub const MAX_FILE_BYTES: u64 = MAX_DATA_BYTES + MAX_DATA_BYTES / 8192 + 4096;

/// The two bytes every gzip stream starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// IDX element type code of unsigned bytes.
const TYPE_U8: u8 = 0x08;

/// Deflate cannot expand data by more than about 1032:1 (RFC 1951 caps a match at 258 bytes per
/// 2 bits), so a gzip stream's decompressed size is at most this times its compressed size. We
/// reserve no more than that up front, so a header cannot make us reserve memory by itself.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// A stack of greyscale images as stored in an IDX file: `count` images of `rows × cols` bytes,
/// row-major, image after image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageArray {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` bytes, 0 = background, 255 = ink (for MNIST).
    pub pixels: Vec<u8>,
}

impl ImageArray {
    /// Bytes (pixels) in one image.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }
}

/// Parses a 3-D unsigned-byte IDX file (images), given its plain or gzip-compressed bytes.
///
/// Images of more than [`crate::limits::MAX_IMAGE_PIXELS`] pixels are refused as soon as the header
/// is read, before any pixel is.
pub fn parse_idx_images(bytes: &[u8]) -> Result<ImageArray, IdxError> {
    let (dims, pixels) = parse_idx_u8(bytes, 3)?;
    Ok(ImageArray { count: dims[0], rows: dims[1], cols: dims[2], pixels })
}

/// Parses a 1-D unsigned-byte IDX file (labels), given its plain or gzip-compressed bytes.
pub fn parse_idx_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    parse_idx_u8(bytes, 1).map(|(_, labels)| labels)
}

/// Reads an images file from disk; errors name the file.
pub fn read_idx_images(path: &Path) -> Result<ImageArray, IdxError> {
    let bytes = read_file(path)?;
    parse_idx_images(&bytes).map_err(|e| file_error(e, path, &bytes))
}

/// Reads a labels file from disk; errors name the file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    let bytes = read_file(path)?;
    parse_idx_labels(&bytes).map_err(|e| file_error(e, path, &bytes))
}

/// The file's bytes, after checking that it is a regular file (a pipe or a device could be endless)
/// and no longer than [`MAX_FILE_BYTES`], so that its length can be trusted for the buffer.
fn read_file(path: &Path) -> Result<Vec<u8>, IdxError> {
    let io_error = |source| IdxError::Io { path: path.to_owned(), source };
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if !metadata.is_file() {
        let source = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file (a folder, a pipe or a device)");
        return Err(io_error(source));
    }
    let file = std::fs::File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    if len > MAX_FILE_BYTES {
        return Err(IdxError::FileTooLarge { bytes: len }.in_file(path));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // One byte more than the limit, so that a file growing while it is read is caught too.
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(IdxError::FileTooLarge { bytes: bytes.len() as u64 }.in_file(path));
    }
    Ok(bytes)
}

/// Adds the file name to a parse error. A `.gz` file that is neither gzip nor IDX gets the more
/// telling [`IdxError::NotGzip`]; one that is plain IDX is accepted, since browsers often
/// decompress downloads but keep the `.gz` name.
fn file_error(error: IdxError, path: &Path, bytes: &[u8]) -> IdxError {
    let named_gz = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    let error = match error {
        IdxError::BadMagic { .. } if named_gz && !bytes.starts_with(&GZIP_MAGIC) => IdxError::NotGzip,
        e => e,
    };
    error.in_file(path)
}

/// Parses an unsigned-byte IDX array with `expected_ndims` dimensions; returns the dimensions and
/// the data.
fn parse_idx_u8(bytes: &[u8], expected_ndims: u8) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let len = bytes.len() as u64;
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut source = IdxSource::Gzip(MultiGzDecoder::new(bytes));
        parse_stream(&mut source, expected_ndims, StreamLen::AtMost(len.saturating_mul(MAX_DEFLATE_RATIO)))
    } else {
        let mut source = IdxSource::Plain(bytes);
        parse_stream(&mut source, expected_ndims, StreamLen::Exactly(len))
    }
}

/// What is known about the length of the (decompressed) IDX bytes before reading them.
#[derive(Clone, Copy)]
enum StreamLen {
    /// Plain bytes: a size mismatch is reported before any data is copied.
    Exactly(u64),
    /// Gzip: only an upper bound, used to cap how much is reserved up front.
    AtMost(u64),
}

/// Where the IDX bytes come from; only decompression can fail mid-read.
enum IdxSource<'a> {
    Plain(&'a [u8]),
    Gzip(MultiGzDecoder<&'a [u8]>),
}

impl IdxSource<'_> {
    /// Reads up to `limit` bytes, appending them to `out`; returns how many were read.
    fn read_up_to(&mut self, limit: u64, out: &mut Vec<u8>) -> Result<u64, IdxError> {
        let read = match self {
            IdxSource::Plain(r) => r.take(limit).read_to_end(out),
            IdxSource::Gzip(r) => r.take(limit).read_to_end(out),
        };
        read.map(|n| n as u64).map_err(IdxError::Gzip)
    }

    /// Counts the bytes left, decompressing at most `limit` of them.
    fn count_rest(&mut self, limit: u64) -> Result<u64, IdxError> {
        let counted = match self {
            IdxSource::Plain(r) => io::copy(&mut r.take(limit), &mut io::sink()),
            IdxSource::Gzip(r) => io::copy(&mut r.take(limit), &mut io::sink()),
        };
        counted.map_err(IdxError::Gzip)
    }
}

/// Reads exactly `len` header bytes, or reports how far the stream got.
fn read_header_part(source: &mut IdxSource<'_>, buf: &mut Vec<u8>, len: u64) -> Result<(), IdxError> {
    let have = buf.len() as u64;
    if source.read_up_to(len - have, buf)? + have < len {
        return Err(IdxError::Truncated { expected_bytes: len, found_bytes: buf.len() as u64 });
    }
    Ok(())
}

fn parse_stream(
    source: &mut IdxSource<'_>,
    expected_ndims: u8,
    stream_len: StreamLen,
) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let mut header = Vec::with_capacity(16);
    read_header_part(source, &mut header, 4)?;
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let [zero_a, zero_b, type_code, ndims] = magic.to_be_bytes();
    if zero_a != 0 || zero_b != 0 {
        return Err(IdxError::BadMagic { found: magic });
    }
    if type_code != TYPE_U8 {
        return Err(IdxError::UnsupportedType { code: type_code });
    }
    if ndims != expected_ndims {
        return Err(IdxError::WrongDimensions { expected: expected_ndims, found: ndims });
    }

    let header_len = 4 + 4 * u64::from(ndims);
    read_header_part(source, &mut header, header_len)?;
    let raw_dims: Vec<u32> =
        header[4..].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();

    // Multiplying from the innermost dimension out bounds every partial product too, so the size
    // of one item (rows × cols) is sane even when the count is zero.
    let data_len = raw_dims
        .iter()
        .rev()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)).filter(|&n| n <= MAX_DATA_BYTES))
        .ok_or_else(|| IdxError::TooLarge { dims: raw_dims.clone() })?;
    if expected_ndims == 3 {
        // One image is rows x cols; refused before its data is read or anything is sized from it.
        crate::limits::check_image_pixels(raw_dims[1] as usize, raw_dims[2] as usize)?;
    }
    let expected_len = header_len + data_len;
    if let StreamLen::Exactly(found_len) = stream_len {
        if found_len < expected_len {
            return Err(IdxError::Truncated { expected_bytes: expected_len, found_bytes: found_len });
        }
        if found_len > expected_len {
            return Err(IdxError::TrailingData { expected_bytes: expected_len, found_bytes: found_len });
        }
    }

    // Below MAX_DATA_BYTES every dimension and the total fit in usize on 32- and 64-bit targets.
    let dims: Vec<usize> = raw_dims.iter().map(|&d| d as usize).collect();
    let reserve = match stream_len {
        StreamLen::Exactly(_) => data_len,
        StreamLen::AtMost(bound) => data_len.min(bound.saturating_sub(header_len)),
    };
    let mut data = Vec::with_capacity(reserve as usize);
    let got = source.read_up_to(data_len, &mut data)?;
    if got < data_len {
        return Err(IdxError::Truncated { expected_bytes: expected_len, found_bytes: header_len + got });
    }
    let extra = source.count_rest(MAX_DATA_BYTES)?;
    if extra > 0 {
        return Err(IdxError::TrailingData { expected_bytes: expected_len, found_bytes: expected_len + extra });
    }
    Ok((dims, data))
}
