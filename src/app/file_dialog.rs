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

use std::path::{Path, PathBuf};

use egui::accesskit::Role;

/// Entries read from one folder at most: listing stays quick even for a huge folder (the rest can
/// still be reached by typing a name).
pub const MAX_ENTRIES: usize = 5_000;

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
fn can_write_in(folder: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(folder.as_os_str().as_bytes()) else { return false };
    // SAFETY: access(2) reads a NUL-terminated path and has no other preconditions.
    unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn can_write_in(folder: &Path) -> bool {
    std::fs::metadata(folder).is_ok_and(|m| !m.permissions().readonly())
}

/// "1.2 MB": a file's size for the listing.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
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

    /// Draws the dialog over the window; returns its answer once the person has given one.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<DialogAnswer> {
        let ctx = ui.ctx().clone();
        let modal = egui::Modal::new(egui::Id::unique("rbm_file_dialog")).show(&ctx, |ui| self.contents(ui));
        let mut answer = modal.inner;
        // Escape: first the replace question, then the dialog. The backdrop is not a way out: a
        // stray click beside a file dialog should not throw away what was typed.
        if answer.is_none() && modal.is_top_modal && ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            if self.confirm_overwrite.take().is_some() {
                self.focus_path = true;
            } else {
                answer = Some(DialogAnswer::Cancelled);
            }
        }
        answer
    }

    fn contents(&mut self, ui: &mut egui::Ui) -> Option<DialogAnswer> {
        const WIDTH: f32 = 620.0;
        let mut answer = None;
        ui.set_width(WIDTH);
        ui.heading(&self.request.title);
        ui.add_space(4.0);

        ui.horizontal(|ui| {
            let up = ui
                .add_enabled(self.folder.parent().is_some(), egui::Button::new("Parent folder"))
                .on_hover_text("Go to the folder that contains this one");
            if up.clicked() {
                self.go_up();
            }
            if ui.button("Home").on_hover_text("Go to your home folder").clicked()
                && let Some(home) = home_folder()
            {
                self.enter(&home);
            }
            ui.add(egui::Label::new(egui::RichText::new(self.folder.display().to_string()).strong()).truncate())
                .on_hover_text("The folder shown below");
        });
        ui.add_space(4.0);

        let field_id = egui::Id::unique("rbm_file_dialog_path");
        ui.horizontal(|ui| {
            let label = ui.label("Path");
            let width = ui.available_width();
            let output = egui::TextEdit::singleline(&mut self.path_text)
                .id(field_id)
                .desired_width(width)
                .hint_text("a full path, or a name in the folder shown")
                .show(ui);
            let response = output.response.response.labelled_by(label.id);
            if self.focus_path {
                self.focus_path = false;
                response.request_focus();
                let mut state = output.state;
                let end = egui::text::CCursor::new(self.path_text.chars().count());
                state.cursor.set_char_range(Some(egui::text::CCursorRange::two(egui::text::CCursor::new(0), end)));
                state.store(ui.ctx(), field_id);
            }
            if response.changed() {
                self.error = None;
                self.confirm_overwrite = None;
                self.selected = None;
            }
            if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                answer = self.submit();
                if answer.is_none() && self.confirm_overwrite.is_none() {
                    self.focus_path = true;
                }
            }
        });
        ui.add_space(6.0);

        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 8.0;
        let list_height = 14.0 * row_height;
        egui::Frame::new()
            .fill(ui.visuals().extreme_bg_color)
            .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
            .inner_margin(egui::Margin::same(2))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.set_min_height(list_height);
                if self.listing.entries.is_empty() {
                    ui.add_space(8.0);
                    ui.horizontal(|ui| {
                        ui.add_space(8.0);
                        ui.weak(match self.request.kind {
                            PathKind::OpenFolder => "No folders here".to_string(),
                            _ if self.request.extensions.is_empty() => "This folder is empty".to_string(),
                            _ => format!("No folders or {} here", self.request.filter_name),
                        });
                    });
                    return;
                }
                // One scroll position per folder: a folder just entered shows its first entries.
                egui::ScrollArea::vertical()
                    .id_salt(("rbm_file_dialog_list", &self.folder))
                    .max_height(list_height)
                    .min_scrolled_height(list_height)
                    .show_rows(ui, row_height, self.listing.entries.len(), |ui, rows| {
                        ui.spacing_mut().item_spacing.y = 0.0;
                        let mut clicked = None;
                        let mut opened = None;
                        for index in rows {
                            let entry = &self.listing.entries[index];
                            let selected = !entry.is_folder && self.selected.as_deref() == Some(entry.name.as_str());
                            let response = entry_row(ui, entry, selected, row_height);
                            // The second click of a double click opens the file the first one
                            // picked. On any other row it is ignored: its first click entered a
                            // folder, and the row now under the pointer was never aimed at.
                            if response.double_clicked() {
                                if selected {
                                    opened = Some(index);
                                }
                            } else if response.clicked() {
                                clicked = Some(index);
                            }
                        }
                        if let Some(index) = clicked {
                            self.click_entry(index);
                        }
                        if let Some(index) = opened {
                            self.click_entry(index);
                            answer = self.submit();
                        }
                    });
            });

        ui.add_space(4.0);
        ui.add(egui::Label::new(egui::RichText::new(self.listing_note()).weak()).wrap());
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        ui.add_space(6.0);
        ui.separator();

        if let Some(existing) = self.confirm_overwrite.clone() {
            let name = existing.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new(format!("{name} already exists in this folder. Replace it?"))
                        .color(ui.visuals().warn_fg_color),
                );
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Replace").on_hover_text("Write over the existing file").clicked() {
                        answer = Some(DialogAnswer::Chosen(existing.clone()));
                    }
                    if ui.button("Keep it").on_hover_text("Go back and choose another name").clicked() {
                        self.confirm_overwrite = None;
                        self.focus_path = true;
                    }
                });
            });
        } else {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let action = match self.request.kind {
                    PathKind::OpenFolder => "Open folder",
                    PathKind::OpenFile => "Open",
                    PathKind::SaveFile => "Save",
                };
                if ui.button(action).clicked() {
                    answer = self.submit();
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(DialogAnswer::Cancelled);
                }
            });
        }
        answer
    }

    /// What the listing shows and leaves out, in one line.
    fn listing_note(&self) -> String {
        let mut note = match self.request.kind {
            PathKind::OpenFolder => "Folders".to_string(),
            _ if self.request.extensions.is_empty() => "Folders and all files".to_string(),
            _ => format!(
                "Folders and {} ({})",
                self.request.filter_name,
                self.request.extensions.iter().map(|e| format!("*.{e}")).collect::<Vec<_>>().join(", ")
            ),
        };
        match self.listing.filtered_out {
            0 => {}
            1 => note.push_str("; 1 other file not shown"),
            n => note.push_str(&format!("; {n} other files not shown")),
        }
        if self.listing.truncated {
            note.push_str(&format!(
                ". Only the first {MAX_ENTRIES} entries of this large folder are listed: type a name to reach others"
            ));
        }
        note
    }
}

/// One listing row, the full width: icon, name, and a file's size on the right.
fn entry_row(ui: &mut egui::Ui, entry: &Entry, selected: bool, height: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(ui.available_width(), height), egui::Sense::click());
    let role = if entry.is_folder { Role::Button } else { Role::ListBoxOption };
    response.widget_info(|| egui::WidgetInfo::selected(role, true, selected, &entry.name));
    if ui.is_rect_visible(rect) {
        let visuals = ui.visuals();
        if selected {
            ui.painter().rect_filled(rect, 0.0, visuals.selection.bg_fill);
        } else if response.hovered() {
            ui.painter().rect_filled(rect, 0.0, visuals.widgets.hovered.weak_bg_fill);
        }
        let text_color = if selected { visuals.selection.stroke.color } else { visuals.text_color() };
        let font = egui::TextStyle::Body.resolve(ui.style());
        let left = rect.left() + 8.0;
        let painter = ui.painter_at(rect);
        let icon = egui::Rect::from_center_size(egui::pos2(left + 8.0, rect.center().y), egui::vec2(16.0, 14.0));
        if entry.is_folder {
            folder_icon(&painter, icon);
        } else {
            file_icon(&painter, icon, visuals.weak_text_color());
        }
        let name = if entry.is_folder { format!("{}/", entry.name) } else { entry.name.clone() };
        painter.text(
            egui::pos2(left + 24.0, rect.center().y),
            egui::Align2::LEFT_CENTER,
            name,
            font.clone(),
            text_color,
        );
        if let Some(size) = entry.size {
            let weak = if selected { text_color } else { visuals.weak_text_color() };
            painter.text(
                egui::pos2(rect.right() - 10.0, rect.center().y),
                egui::Align2::RIGHT_CENTER,
                human_size(size),
                font,
                weak,
            );
        }
    }
    response
}

/// A folder drawn in `rect` (a card with a tab), in the colour file managers give folders. Drawn
/// rather than taken from a font: egui's own fonts have no folder or file symbols.
fn folder_icon(painter: &egui::Painter, rect: egui::Rect) {
    let color = egui::Color32::from_rgb(196, 160, 82);
    let body = egui::Rect::from_min_max(egui::pos2(rect.left(), rect.top() + 3.0), rect.max - egui::vec2(0.0, 1.0));
    let tab = egui::Rect::from_min_size(egui::pos2(rect.left(), rect.top() + 1.0), egui::vec2(7.0, 3.0));
    painter.rect_filled(tab, 1.0, color);
    painter.rect_filled(body, 1.5, color);
}

/// A page with a folded corner, outlined, for a file.
fn file_icon(painter: &egui::Painter, rect: egui::Rect, color: egui::Color32) {
    let (l, t, b) = (rect.left() + 3.0, rect.top(), rect.bottom());
    let r = l + 10.0;
    let fold = 3.5;
    let outline = vec![
        egui::pos2(l, t),
        egui::pos2(r - fold, t),
        egui::pos2(r, t + fold),
        egui::pos2(r, b),
        egui::pos2(l, b),
        egui::pos2(l, t),
    ];
    let stroke = egui::Stroke::new(1.0, color);
    painter.add(egui::Shape::line(outline, stroke));
    painter.add(egui::Shape::line(
        vec![egui::pos2(r - fold, t), egui::pos2(r - fold, t + fold), egui::pos2(r, t + fold)],
        stroke,
    ));
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
