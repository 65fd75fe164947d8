//! Everything that can go wrong while reading an IDX dataset, each with a message a person can act on.

use std::path::PathBuf;

use super::idx::{MAX_DATA_BYTES, MAX_FILE_BYTES};
use crate::limits::{LimitError, grouped};

/// Why an IDX file or dataset folder could not be read.
///
/// Errors about the bytes of one file are wrapped in [`IdxError::InFile`] when they came from disk,
/// so the message names the file; [`IdxError::root`] peels that context off for matching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdxError {
    /// The file or folder could not be opened or read.
    #[error("could not read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file named `.gz` that neither starts with the gzip signature nor is a plain IDX file.
    #[error(
        "the file is named .gz but is not gzip data (it does not start with the bytes 1f 8b) nor a plain IDX file; \
         it may be an HTML error page or an incomplete download — download it again"
    )]
    NotGzip,

    /// The bytes start like gzip but do not decompress (corrupt or cut-off download).
    #[error("the gzip data is corrupt ({0}); the download was probably damaged or cut off — download it again")]
    Gzip(#[source] std::io::Error),

    /// The first two bytes of an IDX file are always zero.
    #[error(
        "not an IDX file: it starts with {found:#010x}, but IDX files start with two zero bytes, a type code and a \
         dimension count (MNIST images start with 0x00000803, labels with 0x00000801)"
    )]
    BadMagic { found: u32 },

    /// Only unsigned bytes (type code 0x08) are supported, which is what every MNIST-like set uses.
    #[error(
        "unsupported IDX element type {code:#04x}: only 0x08 (unsigned byte) is supported, as used by MNIST, \
         Fashion-MNIST, KMNIST and EMNIST"
    )]
    UnsupportedType { code: u8 },

    /// Images must be 3-D (count × rows × cols) and labels 1-D (count).
    #[error(
        "expected a {expected}-D IDX array but the header declares {found}-D; image files are 3-D \
         (count × rows × cols) and label files 1-D — was a labels file given where images belong, or the other way round?"
    )]
    WrongDimensions { expected: u8, found: u8 },

    /// The header asks for more data than this program will ever hold in memory, or so much that
    /// its byte count does not even fit in 64 bits: a corrupt or hostile header, refused before
    /// anything is allocated.
    #[error(
        "the header declares dimensions {dims:?}, more than rbm-lab's limit of {} bytes of data; the header is \
         corrupt or this is not an image dataset",
        grouped(u128::from(MAX_DATA_BYTES))
    )]
    TooLarge { dims: Vec<u32> },

    /// The file is longer than any IDX file within [`MAX_DATA_BYTES`] can be; refused before reading.
    #[error(
        "the file is {} bytes long, more than an IDX file within rbm-lab's limit of {} bytes of data can be \
         ({} bytes with its header, plain or gzip)",
        grouped(u128::from(*.bytes)), grouped(u128::from(MAX_DATA_BYTES)), grouped(u128::from(MAX_FILE_BYTES))
    )]
    FileTooLarge { bytes: u64 },

    /// Images larger than rbm-lab's limit on pixels per image.
    #[error(transparent)]
    Limit(#[from] LimitError),

    /// The file ends before the header or the data it declares.
    #[error(
        "the file is truncated: its header needs {expected_bytes} bytes but there are only {found_bytes}; \
         the download was probably cut off — download it again"
    )]
    Truncated { expected_bytes: u64, found_bytes: u64 },

    /// The file holds more bytes than its header declares.
    #[error(
        "the file has {found_bytes} bytes but its header accounts for only {expected_bytes}; the header and the data \
         do not belong together (or two files were concatenated)"
    )]
    TrailingData { expected_bytes: u64, found_bytes: u64 },

    /// The images file and the labels file of one set disagree on how many examples there are.
    #[error(
        "the {set} set has {images} images but {labels} labels; the images and labels files must come from the same \
         dataset"
    )]
    CountMismatch { set: &'static str, images: usize, labels: usize },

    /// A dataset folder lacks a file it needs.
    #[error(
        "{} has no {which} file (looked for {which}, {which}.gz and the variant with a dot, e.g. \
         train-images.idx3-ubyte); choose a folder with the four MNIST-style IDX files",
        dir.display()
    )]
    MissingFile { dir: PathBuf, which: &'static str },

    /// Training and test images must have the same size for one model to see both.
    #[error(
        "training images are {train_rows}×{train_cols} but test images are {test_rows}×{test_cols}; both sets must \
         come from the same dataset"
    )]
    SizeMismatch { train_rows: usize, train_cols: usize, test_rows: usize, test_cols: usize },

    /// A training set with no pixels gives nothing to learn from.
    #[error("the training set is empty ({count} images of {rows}×{cols} pixels); there is nothing to train on")]
    EmptyTrainingSet { count: usize, rows: usize, cols: usize },

    /// A known dataset whose package is not installed.
    #[error("{name} is not installed: {how}; or use a folder with its IDX files")]
    NotInstalled { name: &'static str, how: String },

    /// A format error, with the file it was found in.
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<IdxError>,
    },
}

impl IdxError {
    /// The error without any [`IdxError::InFile`] context, for matching on what went wrong.
    pub fn root(&self) -> &IdxError {
        match self {
            IdxError::InFile { source, .. } => source.root(),
            other => other,
        }
    }

    /// Attaches the file the bytes came from, so the message says which file is at fault.
    pub(crate) fn in_file(self, path: impl Into<PathBuf>) -> IdxError {
        match self {
            // Io and MissingFile already name their path.
            e @ (IdxError::Io { .. } | IdxError::MissingFile { .. } | IdxError::InFile { .. }) => e,
            e => IdxError::InFile { path: path.into(), source: Box::new(e) },
        }
    }
}
