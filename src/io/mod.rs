//! Files in and out: model files (safetensors + JSON metadata) and exports (PNG, CSV).
//!
//! Every write goes through [`atomic_write`], so a crash, a full disk or a power cut in the middle of
//! a save never leaves a half-written file where a good one used to be: the old file stays until the
//! new one is complete and on disk.

mod container;
pub mod export;
pub mod model_file;
pub mod state_section;

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

pub use export::{ExportError, LossCsvRow, write_loss_csv, write_png_gray};
pub use model_file::{
    FORMAT_VERSION, GaussianVisibles, ModelFile, ModelFileError, ModelMetadata, labelled_model_from_bytes,
    load_labelled_model, load_model, metadata_entry, model_from_bytes, model_to_bytes, model_to_bytes_with_entries,
    read_model_bytes, save_model,
};

/// Distinguishes temporary files of concurrent saves within one process (say an autosave racing a
/// manual save to the same path), which the process id alone would not.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `path` atomically: `write` fills a temporary file in the same directory
/// (`.<name>.tmp-<pid>-<n>`), which is flushed, fsynced and then renamed over `path`.
///
/// The temporary file lives in the target's directory because a rename is only atomic within one
/// filesystem. On any error (from `write` or from the filesystem) the temporary file is removed and
/// an existing `path` is left untouched. Replacing a file does not keep its permissions, and a
/// symlink at `path` is replaced rather than followed.
pub fn atomic_write(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let (dir, temp_path) = temp_path_beside(path)?;
    // create_new: never truncate a file we did not create (e.g. a leftover from a crashed save
    // that another process may still be writing).
    let file = OpenOptions::new().write(true).create_new(true).open(&temp_path)?;
    let result = (|| {
        let mut writer = BufWriter::new(file);
        write(&mut writer)?;
        let file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
        // Without the fsync, a crash soon after the rename can leave an empty or partial file under
        // the final name on filesystems that reorder metadata and data writes.
        file.sync_all()?;
        // Closed before the rename, which Windows requires.
        drop(file);
        fs::rename(&temp_path, path)
    })();
    if let Err(error) = result {
        // Best effort: the error worth reporting is the one that made the save fail.
        let _ = fs::remove_file(&temp_path);
        return Err(error);
    }
    sync_directory(dir);
    Ok(())
}

/// The folder `path` is in and a fresh temporary name there (`.<name>.tmp-<pid>-<n>`).
fn temp_path_beside(path: &Path) -> io::Result<(&Path, PathBuf)> {
    let file_name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp_name = OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp-{}-{}", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
    Ok((dir, dir.join(temp_name)))
}

/// Why a file cannot be written at a path, found before any work that would be lost.
#[derive(Debug, Error)]
pub enum DestinationError {
    #[error("{} is a folder; give a file name inside it", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{} exists and is not a regular file (a device, pipe or socket); give a file name", path.display())]
    NotRegularFile { path: PathBuf },
    #[error("{} does not name a file", path.display())]
    NoFileName { path: PathBuf },
    #[error("cannot write in the folder of {}: {source}", path.display())]
    FolderNotWritable { path: PathBuf, source: io::Error },
}

/// Checks that [`atomic_write`] can later write `path`: it is not a folder or a device, and a file
/// can be created in its folder (tried by creating and removing a temporary file there, the same
/// way the save will, which also catches a missing folder, a path through a regular file,
/// a read-only filesystem and, for other users than root, permissions).
pub fn check_destination(path: &Path) -> Result<(), DestinationError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(DestinationError::IsDirectory { path: path.to_path_buf() }),
        Ok(meta) if !meta.is_file() => return Err(DestinationError::NotRegularFile { path: path.to_path_buf() }),
        _ => {}
    }
    let (_, temp_path) =
        temp_path_beside(path).map_err(|_| DestinationError::NoFileName { path: path.to_path_buf() })?;
    let not_writable = |source| DestinationError::FolderNotWritable { path: path.to_path_buf(), source };
    OpenOptions::new().write(true).create_new(true).open(&temp_path).map_err(not_writable)?;
    fs::remove_file(&temp_path).map_err(not_writable)
}

/// Makes the rename itself durable. Best effort: the new file is already in place, and some
/// filesystems cannot fsync a directory, so a failure here is not worth failing the save for.
fn sync_directory(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
