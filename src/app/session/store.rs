//! The session folder: the session file written atomically (the last one first kept as the
//! previous session when asked), read back, set aside when unreadable, and the temporary files of
//! killed writers tidied away.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::dates::utc_stamp;
use super::format::{Session, decode_session, encode_session};
use super::{PREVIOUS_SESSION_FILE, SESSION_FILE, SessionError};
use crate::io::{atomic_write, read_model_bytes};

/// The session folder and its files.
#[derive(Clone, Debug)]
pub struct SessionStore {
    dir: PathBuf,
}

impl SessionStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The app's data folder (eframe's, where it keeps its own settings):
    /// `$XDG_DATA_HOME/rbm-lab` or `~/.local/share/rbm-lab` on Linux.
    pub fn in_app_data_folder() -> Option<Self> {
        eframe::storage_dir("rbm-lab").map(Self::new)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(SESSION_FILE)
    }

    pub fn previous_path(&self) -> PathBuf {
        self.dir.join(PREVIOUS_SESSION_FILE)
    }

    /// Whether there is a session to offer (something is there, readable or not).
    pub fn has_session(&self) -> bool {
        fs::symlink_metadata(self.path()).is_ok()
    }

    /// The kept session, `None` if there is none.
    pub fn read(&self) -> Result<Option<Session>, SessionError> {
        if !self.has_session() {
            return Ok(None);
        }
        let bytes = read_model_bytes(&self.path())?;
        decode_session(&bytes).map(Some)
    }

    /// Writes `session` atomically. With `keep_old`, the session file there before (the last run's,
    /// which the person did not continue) is first copied to [`PREVIOUS_SESSION_FILE`], atomically
    /// too, so that a session file is there at every moment.
    pub fn write(&self, session: &Session, keep_old: bool) -> Result<PathBuf, SessionError> {
        let bytes = encode_session(session)?;
        let write_error = |source| SessionError::Write { dir: self.dir.clone(), source };
        fs::create_dir_all(&self.dir).map_err(write_error)?;
        let path = self.path();
        if keep_old && path.is_file() {
            let mut old = fs::File::open(&path).map_err(write_error)?;
            atomic_write(&self.previous_path(), |out| io::copy(&mut old, out).map(|_| ())).map_err(write_error)?;
        }
        atomic_write(&path, |out| out.write_all(&bytes)).map_err(write_error)?;
        Ok(path)
    }

    /// Renames an unreadable session file out of the way (`session.unreadable-<UTC time>.safetensors`,
    /// kept for a bug report or a manual rescue); returns the new path.
    pub fn set_aside(&self, now: SystemTime) -> io::Result<PathBuf> {
        let aside = self.dir.join(format!("session.unreadable-{}.safetensors", utc_stamp(now)));
        fs::rename(self.path(), &aside)?;
        Ok(aside)
    }

    /// Removes temporary files of session writes that a killed process left behind
    /// (`.session.safetensors.tmp-<pid>-<n>`, see `atomic_write`), those of processes that are gone.
    pub fn remove_stale_temporary_files(&self) -> usize {
        let Ok(entries) = fs::read_dir(&self.dir) else { return 0 };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(temporary_file_pid) else { continue };
            if !process_is_running(pid) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// The writing process of a session's temporary file, from its name (`.session*.tmp-<pid>-<n>`).
fn temporary_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(".session.")?;
    let (_, after) = rest.split_once(".tmp-")?;
    let (pid, counter) = after.split_once('-')?;
    counter.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` is running. Where that cannot be told, every process counts as running
/// (its files are left alone).
fn process_is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        Path::new("/proc").join(pid.to_string()).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_name_their_writer() {
        assert_eq!(temporary_file_pid(".session.safetensors.tmp-4242-7"), Some(4242));
        assert_eq!(temporary_file_pid(".session.previous.safetensors.tmp-17-0"), Some(17));
        assert_eq!(temporary_file_pid("session.safetensors"), None);
        assert_eq!(temporary_file_pid(".session.safetensors.tmp-x-1"), None);
        assert_eq!(temporary_file_pid(".model.safetensors.tmp-4242-7"), None, "only the session's own");
    }
}
