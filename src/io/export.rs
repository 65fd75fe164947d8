//! Exports for use outside the app: grayscale PNGs (filter grids, samples, chains) and the loss
//! history as CSV. The app renders its own images into byte buffers; this module only writes them,
//! atomically like every file rbm-lab writes (see [`atomic_write`]).

use std::io;
use std::path::{Path, PathBuf};

use image::{ExtendedColorType, ImageEncoder, ImageError, codecs::png::PngEncoder};
use thiserror::Error;

use super::atomic_write;

#[derive(Debug, Error)]
pub enum ExportError {
    #[error("could not write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("a {width}x{height} grayscale image needs {expected} bytes (one per pixel), but {found} were given")]
    PixelCount { width: u32, height: u32, expected: u64, found: usize },
    #[error("an image needs a width and height of at least 1 pixel (got {width}x{height})")]
    EmptyImage { width: u32, height: u32 },
}

/// Writes an 8-bit grayscale PNG; `pixels` is row-major, `width * height` bytes, 0 = black.
pub fn write_png_gray(path: &Path, width: u32, height: u32, pixels: &[u8]) -> Result<(), ExportError> {
    if width == 0 || height == 0 {
        return Err(ExportError::EmptyImage { width, height });
    }
    let expected = u64::from(width) * u64::from(height);
    if u64::try_from(pixels.len()).ok() != Some(expected) {
        return Err(ExportError::PixelCount { width, height, expected, found: pixels.len() });
    }
    atomic_write(path, |writer| {
        PngEncoder::new(writer).write_image(pixels, width, height, ExtendedColorType::L8).map_err(|error| match error {
            ImageError::IoError(error) => error,
            other => io::Error::other(other),
        })
    })
    .map_err(|source| ExportError::Io { path: path.to_path_buf(), source })
}

/// One line of the loss CSV: a training batch, or an epoch's summary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossCsvRow {
    /// Position in epochs: epoch index + fraction of that epoch done.
    pub epoch: f64,
    /// The batch's mean L1 reconstruction error, the loss the plot shows; NaN on a row that only
    /// carries an epoch mean.
    pub batch_loss: f32,
    /// Mean batch loss over the epoch ending here; `None` on ordinary batch rows.
    pub epoch_mean: Option<f64>,
}

/// The CSV header written by [`write_loss_csv`].
pub const LOSS_CSV_HEADER: &str = "epoch,batch_l1,epoch_mean_l1";

/// Writes the loss history as CSV: the header `epoch,batch_l1,epoch_mean_l1`, then one line per
/// row, in the order given.
///
/// A missing value (NaN, or an `epoch_mean` of `None`) is an empty field, which pandas, R and
/// spreadsheets all read as missing, whereas a literal `NaN` is text to a spreadsheet; so
/// `pd.read_csv(path).dropna(subset=["epoch_mean_l1"])` gives the per-epoch curve. Numbers use
/// Rust's shortest round-trip formatting (never an exponent; infinity as `inf`), so values read
/// back are the values written.
pub fn write_loss_csv(path: &Path, rows: &[LossCsvRow]) -> Result<(), ExportError> {
    atomic_write(path, |writer| {
        writeln!(writer, "{LOSS_CSV_HEADER}")?;
        for row in rows {
            let epoch_mean = row.epoch_mean.unwrap_or(f64::NAN);
            writeln!(
                writer,
                "{},{},{}",
                csv_field(row.epoch, row.epoch.is_nan()),
                csv_field(row.batch_loss, row.batch_loss.is_nan()),
                csv_field(epoch_mean, epoch_mean.is_nan()),
            )?;
        }
        Ok(())
    })
    .map_err(|source| ExportError::Io { path: path.to_path_buf(), source })
}

/// A number as a CSV field, empty when missing. Generic so that an f32 prints as an f32 (`0.1`, not
/// the `0.10000000149011612` of its f64 widening).
fn csv_field(value: impl std::fmt::Display, missing: bool) -> String {
    if missing { String::new() } else { value.to_string() }
}
