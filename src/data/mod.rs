//! Reading MNIST-style IDX files (plain or gzip) into a [`Dataset`], with errors that say what is
//! wrong and what to do, and the full MNIST embedded as the default; [`known`] names the datasets
//! rbm-lab recognises and where their packages put them.
//!
//! The app has its own reader rather than the `mnist` crate because that one panics on bad input,
//! and a person choosing a wrong folder deserves a message, not a crash.

mod dataset;
mod error;
mod idx;
pub mod known;

pub use dataset::{Dataset, ImageSet, THRESHOLD, THRESHOLDED_SUFFIX, is_thresholded_name};
pub use error::IdxError;
pub use idx::{ImageArray, MAX_DATA_BYTES, parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels};
pub use known::{DatasetSource, KnownDataset};
