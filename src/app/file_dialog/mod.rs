//! rbm-lab's own file dialog, shown inside the window when the system has none (no desktop portal
//! and no zenity, as on a bare X server or under Xvfb, where the system dialog would silently not
//! appear) or when the person prefers it (View menu, `--file-dialog builtin`).
//!
//! A path field (type a full path, a name relative to the folder shown, or `~/…`, then Enter), the
//! folder's entries (folders first, then the files the request asks for; click a folder to enter
//! it, a file to pick it, double-click to open it), buttons for the parent and home folders, a
//! confirmation before replacing a file, and a one-line error for a path that cannot be used.
//! Escape or Cancel closes it. The dialog only chooses a path: reading and writing happen on a
//! file job's thread afterwards (see `files.rs`). Listing a folder is done here, on the UI thread,
//! but bounded to its first [`MAX_ENTRIES`] entries.

mod listing;
mod view;

use std::path::{Path, PathBuf};

use listing::can_write_in;
pub use listing::{Entry, Listing, MAX_ENTRIES, has_extension, home_folder, list_folder, natural_order};

/// What the dialog picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// An existing folder (a dataset folder).
    OpenFolder,
    /// An existing file.
    OpenFile,
    /// A file to write, new or (after confirmation) existing.
    SaveFile,
}

/// What a dialog is asked for, whichever dialog (the system's or rbm-lab's) shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct PathRequest {
    pub kind: PathKind,
    pub title: String,
    /// What the listed files are, e.g. "rbm-lab models".
    pub filter_name: String,
    /// File name extensions to list, without the dot; empty lists every file.
    pub extensions: Vec<String>,
    /// The name a save starts with.
    pub file_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DialogAnswer {
    Chosen(PathBuf),
    Cancelled,
}

/// The in-window dialog: one per request, dropped when it answers.
pub struct FileDialog {
    request: PathRequest,
    folder: PathBuf,
    listing: Listing,
    /// What the path field holds.
    path_text: String,
    /// The listed entry the path field names, if any.
    selected: Option<String>,
    error: Option<String>,
    /// A save's target exists: the dialog asks before replacing it.
    confirm_overwrite: Option<PathBuf>,
    /// Focus the path field (with all its text selected) at the next frame.
    focus_path: bool,
    /// The name a save writes, kept while moving between folders.
    save_name: Option<String>,
}

impl FileDialog {
    /// Opens at `start` if it is a folder, otherwise at the home folder (or the working folder).
    pub fn new(request: PathRequest, start: Option<&Path>) -> Self {
        let folder = start
            .filter(|p| p.is_dir())
            .map(Path::to_path_buf)
            .or_else(home_folder)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        let mut dialog = Self {
            request: request.clone(),
            folder: folder.clone(),
            listing: Listing::default(),
            path_text: String::new(),
            selected: None,
            error: None,
            confirm_overwrite: None,
            focus_path: true,
            save_name: request.file_name.clone(),
        };
        if !dialog.enter(&folder) {
            // An unreadable start folder: the root can always be shown.
            dialog.enter(Path::new("/"));
        }
        dialog
    }

    /// The folder shown.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    pub fn listing(&self) -> &Listing {
        &self.listing
    }

    /// The error shown under the listing, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Asking whether to replace this existing file.
    pub fn confirming_overwrite(&self) -> Option<&Path> {
        self.confirm_overwrite.as_deref()
    }

    /// Shows `folder`'s entries; on failure keeps the current folder and says why. True if entered.
    pub fn enter(&mut self, folder: &Path) -> bool {
        let folder = &tidy(folder);
        let folders_only = self.request.kind == PathKind::OpenFolder;
        match list_folder(folder, &self.request.extensions, folders_only) {
            Ok(listing) => {
                // A save keeps the name typed so far when the person moves to another folder.
                if let Some(name) = self.name_in_path_field().filter(|_| self.request.kind == PathKind::SaveFile) {
                    self.save_name = Some(name);
                }
                self.folder = folder.to_path_buf();
                self.listing = listing;
                self.selected = None;
                self.error = None;
                self.path_text = self.default_path_text();
                self.focus_path = true;
                true
            }
            Err(e) => {
                self.error = Some(format!("Cannot open the folder {}: {e}", folder.display()));
                false
            }
        }
    }

    /// The path field after entering a folder: the folder itself, plus for a save the file name.
    fn default_path_text(&self) -> String {
        match (&self.request.kind, &self.save_name) {
            (PathKind::SaveFile, Some(name)) => self.folder.join(name).display().to_string(),
            (PathKind::OpenFolder, _) => self.folder.display().to_string(),
            _ => with_separator(&self.folder),
        }
    }

    /// The file name at the end of the path field, unless the field names a folder.
    fn name_in_path_field(&self) -> Option<String> {
        let text = self.path_text.trim();
        if text.is_empty() || text.ends_with(std::path::MAIN_SEPARATOR) || self.typed_path().is_dir() {
            return None;
        }
        Path::new(text).file_name().map(|n| n.to_string_lossy().into_owned())
    }

    /// The path the field names: `~` is the home folder, a relative path is inside the folder shown.
    fn typed_path(&self) -> PathBuf {
        let text = self.path_text.trim();
        let home = || home_folder().unwrap_or_else(|| PathBuf::from("/"));
        let path = if text == "~" {
            home()
        } else if let Some(rest) = text.strip_prefix("~/") {
            home().join(rest)
        } else {
            PathBuf::from(text)
        };
        if path.is_absolute() { path } else { self.folder.join(path) }
    }

    /// Acts on the path field (Enter, or the Open/Save button): opens a folder it names (except
    /// when choosing a folder), or answers with the path once it is usable.
    pub fn submit(&mut self) -> Option<DialogAnswer> {
        self.confirm_overwrite = None;
        if self.path_text.trim().is_empty() {
            self.error = Some("Type a path or pick an entry".into());
            return None;
        }
        let path = self.typed_path();
        let shows = |p: &Path| p.display().to_string();
        match self.request.kind {
            PathKind::OpenFile if path.is_dir() => {
                self.enter(&path);
            }
            kind @ (PathKind::OpenFolder | PathKind::OpenFile) => {
                let folder_wanted = kind == PathKind::OpenFolder;
                self.error = Some(match (path.exists(), path.is_dir()) {
                    (false, _) if folder_wanted => format!("{} does not exist", shows(&path)),
                    (false, _) => format!("There is no file {}", shows(&path)),
                    (true, false) if folder_wanted => format!("{} is not a folder", shows(&path)),
                    _ => return Some(DialogAnswer::Chosen(path)),
                });
            }
            PathKind::SaveFile => {
                if path.is_dir() {
                    self.enter(&path);
                    return None;
                }
                let path = self.with_default_extension(path);
                let folder = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
                if !folder.exists() {
                    self.error = Some(format!("The folder {} does not exist", shows(&folder)));
                } else if !folder.is_dir() {
                    self.error = Some(format!("{} is not a folder", shows(&folder)));
                } else if !can_write_in(&folder) {
                    self.error = Some(format!("rbm-lab may not write in {}: choose another folder", shows(&folder)));
                } else if path.exists() {
                    self.error = None;
                    self.confirm_overwrite = Some(path);
                } else {
                    return Some(DialogAnswer::Chosen(path));
                }
            }
        }
        None
    }

    /// A save named without any extension gets the request's first one ("rbm" → "rbm.safetensors").
    fn with_default_extension(&self, path: PathBuf) -> PathBuf {
        match self.request.extensions.first() {
            Some(extension) if path.extension().is_none() => path.with_extension(extension),
            _ => path,
        }
    }

    /// Clicking an entry: a folder is entered; a file is picked (the path field names it).
    fn click_entry(&mut self, index: usize) {
        let Some(entry) = self.listing.entries.get(index).cloned() else { return };
        let path = self.folder.join(&entry.name);
        if entry.is_folder {
            self.enter(&path);
        } else {
            self.path_text = path.display().to_string();
            self.selected = Some(entry.name);
            self.error = None;
            self.confirm_overwrite = None;
        }
    }

    fn go_up(&mut self) {
        if let Some(parent) = self.folder.parent().map(Path::to_path_buf) {
            self.enter(&parent);
        }
    }
}

/// `path` without `.` components, trailing separators or `name/..` pairs (worked out from the
/// text, so a symbolic link is shown by the name it was reached by).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // The root's parent is the root.
                Some(Component::RootDir) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    out
}

/// `folder` with a trailing separator, so that typing a name after it gives a path inside it.
fn with_separator(folder: &Path) -> String {
    let text = folder.display().to_string();
    if text.ends_with(std::path::MAIN_SEPARATOR) { text } else { format!("{text}{}", std::path::MAIN_SEPARATOR) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: PathKind) -> PathRequest {
        PathRequest {
            kind,
            title: "Save model".into(),
            filter_name: "rbm-lab models".into(),
            extensions: vec!["safetensors".into()],
            file_name: Some("rbm.safetensors".into()),
        }
    }

    #[test]
    fn a_save_gets_the_extension_and_is_checked_before_answering() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut dialog = FileDialog::new(request(PathKind::SaveFile), Some(dir.path()));
        assert_eq!(dialog.folder(), dir.path());
        assert_eq!(dialog.path_text, dir.path().join("rbm.safetensors").display().to_string());
        dialog.path_text = "mine".into();
        assert_eq!(dialog.submit(), Some(DialogAnswer::Chosen(dir.path().join("mine.safetensors"))));
        dialog.path_text = dir.path().join("missing/x.safetensors").display().to_string();
        assert_eq!(dialog.submit(), None);
        assert!(dialog.error().is_some_and(|e| e.contains("does not exist")), "{:?}", dialog.error());
        std::fs::write(dir.path().join("plain"), b"x").expect("write");
        dialog.path_text = dir.path().join("plain/x.safetensors").display().to_string();
        assert_eq!(dialog.submit(), None);
        assert!(dialog.error().is_some_and(|e| e.contains("is not a folder")), "{:?}", dialog.error());
    }

    #[test]
    fn a_save_keeps_its_name_from_folder_to_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let mut dialog = FileDialog::new(request(PathKind::SaveFile), Some(dir.path()));
        dialog.path_text = "mine.safetensors".into();
        dialog.enter(&dir.path().join("sub"));
        assert_eq!(dialog.path_text, dir.path().join("sub/mine.safetensors").display().to_string());
        // A typed folder is entered, not taken for the name.
        dialog.path_text = dir.path().display().to_string();
        assert_eq!(dialog.submit(), None);
        assert_eq!(dialog.folder(), dir.path());
        assert_eq!(dialog.path_text, dir.path().join("mine.safetensors").display().to_string());
    }

    #[test]
    fn a_typed_folder_is_entered_and_a_missing_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let mut dialog = FileDialog::new(request(PathKind::OpenFile), Some(dir.path()));
        dialog.path_text = "sub".into();
        assert_eq!(dialog.submit(), None);
        assert_eq!(dialog.folder(), dir.path().join("sub"));
        dialog.path_text = "nothing.safetensors".into();
        assert_eq!(dialog.submit(), None);
        assert!(dialog.error().is_some_and(|e| e.contains("There is no file")), "{:?}", dialog.error());
    }

    #[test]
    fn typed_folders_are_tidied() {
        assert_eq!(tidy(Path::new("/tmp/a/")), PathBuf::from("/tmp/a"));
        assert_eq!(tidy(Path::new("/tmp/./a/../b")), PathBuf::from("/tmp/b"));
        assert_eq!(tidy(Path::new("/..")), PathBuf::from("/"));
        assert_eq!(tidy(Path::new("../x")), PathBuf::from("../x"));
    }
}
