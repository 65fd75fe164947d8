//! What the trainer refuses or fails to do, with the underlying error. The window shows the
//! Display text; a command that is refused changes nothing.

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

use super::AdoptError;
use crate::io::ModelFileError;
use crate::model::ConfigError;

#[derive(Debug, Error, Clone)]
pub enum TrainerError {
    /// A Reset whose model (or its training buffers with the current settings) is over the limits.
    #[error("Reset refused: {0}")]
    ResetRefused(#[source] ConfigError),
    /// Settings that are invalid, or that do not fit the current model within the limits.
    #[error("Setting refused: {0}")]
    SettingsRefused(#[source] ConfigError),
    /// A model file that does not fit the current dataset or whose settings do not fit it.
    #[error("Load refused: {0}. The current model is unchanged.")]
    LoadRefused(#[source] AdoptError),
    /// A dataset on which the current model and settings would be over the limits.
    #[error("Dataset {dataset} refused: {source}; training continues on {current}")]
    DatasetRefused { dataset: String, current: String, source: ConfigError },
    /// Writing the model file failed (nothing was replaced: saves are atomic).
    #[error("Save failed: {source}")]
    SaveFailed { path: PathBuf, source: Arc<ModelFileError> },
}
