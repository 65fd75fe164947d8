//! Reading a folder for the dialog: which entries it lists, in what order, and how sizes read.

use std::path::{Path, PathBuf};

/// Entries read from one folder at most: listing stays quick even for a huge folder (the rest can
/// still be reached by typing a name).
pub const MAX_ENTRIES: usize = 5_000;

/// One row of the listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: String,
    pub is_folder: bool,
    /// Bytes, for files.
    pub size: Option<u64>,
}

/// A folder's entries as the dialog shows them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// Folders first, then files, each sorted by name ignoring case.
    pub entries: Vec<Entry>,
    /// The folder has more than [`MAX_ENTRIES`] entries; only the first ones were read.
    pub truncated: bool,
    /// Files left out because their extension is not one asked for.
    pub filtered_out: usize,
}

/// Reads up to [`MAX_ENTRIES`] entries of `folder`: folders (not hidden ones, whose names start
/// with a dot) and, unless `folders_only`, files whose extension is one of `extensions` (all
/// files when it is empty).
pub fn list_folder(folder: &Path, extensions: &[String], folders_only: bool) -> std::io::Result<Listing> {
    let mut listing = Listing::default();
    for (read, entry) in std::fs::read_dir(folder)?.enumerate() {
        if read == MAX_ENTRIES {
            listing.truncated = true;
            break;
        }
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Follows symbolic links, so a link to a folder is entered like one.
        let metadata = std::fs::metadata(entry.path()).ok();
        let is_folder = metadata.as_ref().is_some_and(|m| m.is_dir());
        if !is_folder {
            if folders_only {
                continue;
            }
            if !has_extension(Path::new(&name), extensions) {
                listing.filtered_out += 1;
                continue;
            }
        }
        let size = metadata.filter(|m| m.is_file()).map(|m| m.len());
        listing.entries.push(Entry { name, is_folder, size });
    }
    listing.entries.sort_by(|a, b| b.is_folder.cmp(&a.is_folder).then_with(|| natural_order(&a.name, &b.name)));
    Ok(listing)
}

/// The order file managers list names in: ignoring case, and runs of digits by their value, so
/// that "model-2" comes before "model-10".
pub fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    /// The next run of digits (as a number and its text) or of other characters (lower-cased).
    fn next_part(s: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<(Option<u128>, String)> {
        let first = *s.peek()?;
        let digits = first.is_ascii_digit();
        let mut text = String::new();
        while let Some(&c) = s.peek() {
            if c.is_ascii_digit() != digits {
                break;
            }
            text.extend(c.to_lowercase());
            s.next();
        }
        // A run of digits too long for a u128 compares as text.
        Some((if digits { text.parse().ok() } else { None }, text))
    }
    let (mut a_parts, mut b_parts) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (next_part(&mut a_parts), next_part(&mut b_parts)) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some((a_number, a_text)), Some((b_number, b_text))) => {
                let order = match (a_number, b_number) {
                    (Some(x), Some(y)) => x.cmp(&y).then_with(|| a_text.len().cmp(&b_text.len())),
                    _ => a_text.cmp(&b_text),
                };
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
}

/// True when `path`'s extension is one of `extensions` (ignoring case), or `extensions` is empty.
pub fn has_extension(path: &Path, extensions: &[String]) -> bool {
    extensions.is_empty()
        || path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The person's home folder, if known.
pub fn home_folder() -> Option<PathBuf> {
    std::env::home_dir().filter(|home| home.is_dir())
}

/// Whether this process may create files in `folder`.
#[cfg(target_os = "linux")]
pub(super) fn can_write_in(folder: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(folder.as_os_str().as_bytes()) else { return false };
    // SAFETY: access(2) reads a NUL-terminated path and has no other preconditions.
    unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn can_write_in(folder: &Path) -> bool {
    std::fs::metadata(folder).is_ok_and(|m| !m.permissions().readonly())
}

/// "1.2 MB": a file's size for the listing.
pub(super) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_in_a_file_manager() {
        let mut names =
            vec!["model-10", "Model-2", "model-1", "b", "A", "model-02", "x99999999999999999999999999999999999999999"];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            names,
            ["A", "b", "model-1", "Model-2", "model-02", "model-10", "x99999999999999999999999999999999999999999"]
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(1_234_567), "1.2 MB");
    }

    #[test]
    fn listing_is_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        for i in 0..MAX_ENTRIES + 3 {
            std::fs::write(dir.path().join(format!("{i}.safetensors")), b"").expect("write");
        }
        let listing = list_folder(dir.path(), &["safetensors".into()], false).expect("list");
        assert!(listing.truncated);
        assert_eq!(listing.entries.len(), MAX_ENTRIES);
    }
}
