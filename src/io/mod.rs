//! Files in and out: model files (safetensors + JSON metadata) and exports (PNG, CSV).
//!
//! Every write goes through [`atomic_write`], so a crash, a full disk or a power cut in the middle of
//! a save never leaves a half-written file where a good one used to be: the old file stays until the
//! new one is complete and on disk.

pub mod export;
pub mod model_file;

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub use export::{ExportError, LossCsvRow, write_loss_csv, write_png_gray};
pub use model_file::{
    FORMAT_VERSION, ModelFile, ModelFileError, ModelMetadata, load_model, model_from_bytes, model_to_bytes, save_model,
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
    let file_name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp_name = OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp-{}-{}", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
    let temp_path = dir.join(temp_name);

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
