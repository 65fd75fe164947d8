//! File dialogs and file work: the UI thread never waits for a dialog, a disk or a parser.
//!
//! A request (File menu) first gets a path, from the system's dialog on a thread of its own or
//! from rbm-lab's in-window dialog ([`FileDialog`]), then the file work (reading a dataset or a
//! model, writing an export) runs on a thread. rfd answers `None` both when the person cancels and
//! when it could not show any dialog (no desktop portal, no zenity): an answer faster than a
//! person could cancel ([`NO_DIALOG_BEFORE`]) is taken for the latter, the request goes to the
//! in-window dialog, and (in `auto` mode) so does every later one. Where the environment shows up
//! front that no system dialog can appear (no session bus and no zenity), `auto` uses the
//! in-window dialog from the start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::file_dialog::{DialogAnswer, FileDialog, PathKind, PathRequest};
use crate::data::{Dataset, DatasetSource};
use crate::images::GrayImage;
use crate::io::ModelFile;
use crate::io::export::{LossCsvRow, write_loss_csv, write_png_gray};

use super::runs::Run;
use super::runs::export::{read_runs_file, write_runs_csv, write_runs_json};

/// rfd returning `None` sooner than this after it was asked means no dialog was shown: nobody
/// opens a dialog and cancels it within a quarter of a second.
pub const NO_DIALOG_BEFORE: Duration = Duration::from_millis(250);

/// Which file dialog to use (`--file-dialog`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DialogMode {
    /// The system's, unless the person prefers rbm-lab's (View menu) or the system has none.
    #[default]
    Auto,
    /// Always try the system's first (a request it cannot show still gets rbm-lab's).
    System,
    /// Always rbm-lab's.
    Builtin,
}

/// What the person asked for from the File menu.
pub enum FileRequest {
    OpenDataset,
    LoadModel,
    /// Pick where to save; the trainer writes the file (it owns the model).
    ChooseSavePath,
    ExportFilters(GrayImage),
    ExportSamples(GrayImage),
    ExportLossCsv(Vec<LossCsvRow>),
    /// The runs table's selected runs.
    ExportRuns(RunsExport),
    ImportRuns,
}

/// Runs to export, and as what.
pub enum RunsExport {
    /// Everything the runs keep (Import JSON… reads it back).
    Json(Vec<Run>),
    /// One row per run.
    Csv(Vec<Run>),
}

/// Which request an outcome answers, where that matters (a cancelled save path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    OpenDataset,
    LoadModel,
    SaveModel,
    Export,
    ImportRuns,
}

impl FileRequest {
    pub fn purpose(&self) -> Purpose {
        match self {
            FileRequest::OpenDataset => Purpose::OpenDataset,
            FileRequest::LoadModel => Purpose::LoadModel,
            FileRequest::ChooseSavePath => Purpose::SaveModel,
            FileRequest::ExportFilters(_)
            | FileRequest::ExportSamples(_)
            | FileRequest::ExportLossCsv(_)
            | FileRequest::ExportRuns(_) => Purpose::Export,
            FileRequest::ImportRuns => Purpose::ImportRuns,
        }
    }

    /// What the dialog is asked for.
    pub fn path_request(&self) -> PathRequest {
        let save = |title: &str, filter: &str, extension: &str, name: &str| PathRequest {
            kind: PathKind::SaveFile,
            title: title.into(),
            filter_name: filter.into(),
            extensions: vec![extension.into()],
            file_name: Some(name.into()),
        };
        match self {
            FileRequest::OpenDataset => PathRequest {
                kind: PathKind::OpenFolder,
                title: "Open an IDX dataset folder".into(),
                filter_name: "folders".into(),
                extensions: Vec::new(),
                file_name: None,
            },
            FileRequest::LoadModel => PathRequest {
                kind: PathKind::OpenFile,
                title: "Load model".into(),
                filter_name: "rbm-lab models".into(),
                extensions: vec!["safetensors".into()],
                file_name: None,
            },
            FileRequest::ChooseSavePath => save("Save model", "rbm-lab models", "safetensors", "rbm.safetensors"),
            FileRequest::ExportFilters(_) => save("Export filters as PNG", "PNG images", "png", "filters.png"),
            FileRequest::ExportSamples(_) => save("Export samples as PNG", "PNG images", "png", "samples.png"),
            FileRequest::ExportLossCsv(_) => save("Export loss history as CSV", "CSV files", "csv", "loss.csv"),
            FileRequest::ExportRuns(RunsExport::Json(_)) => {
                save("Export runs as JSON", "JSON files", "json", "runs.json")
            }
            FileRequest::ExportRuns(RunsExport::Csv(_)) => save("Export runs as CSV", "CSV files", "csv", "runs.csv"),
            FileRequest::ImportRuns => PathRequest {
                kind: PathKind::OpenFile,
                title: "Import runs".into(),
                filter_name: "rbm-lab runs (JSON)".into(),
                extensions: vec!["json".into()],
                file_name: None,
            },
        }
    }
}

/// What came back.
pub enum FileOutcome {
    DatasetLoaded(Arc<Dataset>),
    ModelLoaded(Box<ModelFile>, PathBuf),
    SavePathChosen(PathBuf),
    /// A model the window wrote itself (see [`FileJobs::write_model`]).
    ModelWritten(PathBuf),
    Exported(PathBuf),
    /// A runs file was read and its runs checked.
    RunsImported(Vec<Run>, PathBuf),
    Cancelled(Purpose),
    Failed(String),
    /// A folder chosen from File > Dataset's recent folders no longer reads (see
    /// [`FileJobs::load_dataset`]): the folder, and why.
    FolderUnreadable(PathBuf, String),
    /// The first time the in-window dialog stands in for a missing system dialog (said once).
    UsingBuiltinDialog,
}

/// What a job thread sends back.
enum JobMessage {
    Done {
        outcome: FileOutcome,
        chosen: Option<PathBuf>,
    },
    /// The system dialog could not be shown: the request goes to the in-window dialog.
    NoSystemDialog(FileRequest),
}

/// What the person chose last time, kept between runs.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FileDialogSettings {
    /// View > "Use rbm-lab's file dialog".
    pub use_builtin: bool,
    /// The folder of the last path chosen, where the next dialog opens.
    pub last_folder: Option<PathBuf>,
}

pub struct FileJobs {
    tx: Sender<JobMessage>,
    rx: Receiver<JobMessage>,
    in_flight: usize,
    mode: DialogMode,
    pub settings: FileDialogSettings,
    /// This process has no system dialog (seen up front, or from rfd's answer): rbm-lab's is used
    /// instead (in `auto` mode).
    system_missing: bool,
    said_builtin: bool,
    /// The in-window dialog and the request it answers.
    dialog: Option<(FileDialog, FileRequest)>,
    /// Outcomes produced on the UI thread (a cancelled in-window dialog, the notice).
    local: Vec<FileOutcome>,
}

impl Default for FileJobs {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Self {
            tx,
            rx,
            in_flight: 0,
            mode: DialogMode::Auto,
            settings: FileDialogSettings::default(),
            system_missing: !system_dialog_possible(),
            said_builtin: false,
            dialog: None,
            local: Vec::new(),
        }
    }
}

/// True unless the environment shows that rfd can show nothing: on Linux and the BSDs it asks the
/// desktop portal over the D-Bus session bus, then runs zenity.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn system_dialog_possible() -> bool {
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| Path::new(&dir).join("bus").exists());
    let zenity =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("zenity").is_file()));
    bus || zenity
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn system_dialog_possible() -> bool {
    true
}

impl FileJobs {
    pub fn set_mode(&mut self, mode: DialogMode) {
        self.mode = mode;
    }

    pub fn mode(&self) -> DialogMode {
        self.mode
    }

    /// Jobs (system dialogs, file work) still running.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The in-window dialog, while it is open.
    pub fn dialog(&self) -> Option<&FileDialog> {
        self.dialog.as_ref().map(|(dialog, _)| dialog)
    }

    /// Whether the next request goes to rbm-lab's dialog.
    pub fn uses_builtin(&self) -> bool {
        match self.mode {
            DialogMode::Builtin => true,
            DialogMode::System => false,
            DialogMode::Auto => self.settings.use_builtin || self.system_missing,
        }
    }

    /// In `auto` mode: this process has been seen to have no system file dialog.
    pub fn system_missing(&self) -> bool {
        self.system_missing
    }

    pub fn start(&mut self, ctx: &egui::Context, request: FileRequest) {
        if self.uses_builtin() {
            if self.mode == DialogMode::Auto && !self.settings.use_builtin {
                self.say_builtin_once();
            }
            self.open_builtin(request);
            return;
        }
        let start_folder = self.settings.last_folder.clone();
        self.spawn(ctx, move || {
            let asked = Instant::now();
            match system_dialog(&request.path_request(), start_folder.as_deref()) {
                Some(path) => JobMessage::Done { outcome: run(request, &path), chosen: Some(path) },
                None if asked.elapsed() < NO_DIALOG_BEFORE => JobMessage::NoSystemDialog(request),
                None => JobMessage::Done { outcome: FileOutcome::Cancelled(request.purpose()), chosen: None },
            }
        });
    }

    /// Writes `model` to `path` on a job thread (the window's own copy of the weights, when the
    /// trainer that would write them is gone); answered by [`FileOutcome::ModelWritten`].
    pub fn write_model(&mut self, ctx: &egui::Context, path: PathBuf, model: ModelFile) {
        self.spawn(ctx, move || {
            let outcome = match crate::io::save_model(&path, &model) {
                Ok(()) => FileOutcome::ModelWritten(path),
                Err(e) => FileOutcome::Failed(format!("Save failed: {e}")),
            };
            JobMessage::Done { outcome, chosen: None }
        });
    }

    /// Reads a dataset on a job thread, with no dialog (File > Dataset's entries); answered by
    /// [`FileOutcome::DatasetLoaded`], or for a folder that fails by [`FileOutcome::FolderUnreadable`].
    pub fn load_dataset(&mut self, ctx: &egui::Context, source: DatasetSource) {
        self.spawn(ctx, move || {
            let outcome = match (source.load(), source) {
                (Ok(dataset), _) => FileOutcome::DatasetLoaded(Arc::new(dataset)),
                (Err(e), DatasetSource::Folder(dir)) => {
                    let message = format!("Could not open dataset {}: {e}", dir.display());
                    FileOutcome::FolderUnreadable(dir, message)
                }
                (Err(e), _) => FileOutcome::Failed(format!("Could not open the dataset: {e}")),
            };
            JobMessage::Done { outcome, chosen: None }
        });
    }

    fn spawn(&mut self, ctx: &egui::Context, job: impl FnOnce() -> JobMessage + Send + 'static) {
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        let spawned = crate::threads::spawn("rbm-file-job", move || {
            let _ = tx.send(job());
            ctx.request_repaint();
        });
        match spawned {
            Ok(_) => self.in_flight += 1,
            Err(e) => self.local.push(FileOutcome::Failed(format!("Could not start a file job: {e}"))),
        }
    }

    fn open_builtin(&mut self, request: FileRequest) {
        let dialog = FileDialog::new(request.path_request(), self.settings.last_folder.as_deref());
        // One dialog at a time: a newer request replaces an open one (the menu is behind the
        // dialog's backdrop, so only a fallback arriving from a thread can do this).
        if let Some((_, replaced)) = self.dialog.replace((dialog, request)) {
            self.local.push(FileOutcome::Cancelled(replaced.purpose()));
        }
    }

    fn say_builtin_once(&mut self) {
        if !self.said_builtin {
            self.said_builtin = true;
            self.local.push(FileOutcome::UsingBuiltinDialog);
        }
    }

    /// The next dialog opens where `chosen` is (beside a chosen dataset folder, not inside it).
    fn remember_folder(&mut self, chosen: &Path) {
        let folder = chosen.parent().unwrap_or(chosen);
        if !folder.as_os_str().is_empty() {
            self.settings.last_folder = Some(folder.to_path_buf());
        }
    }

    /// Shows the in-window dialog if one is open; once it answers, the file work starts.
    pub fn dialog_ui(&mut self, ui: &mut egui::Ui) {
        let Some((dialog, _)) = &mut self.dialog else { return };
        let Some(answer) = dialog.ui(ui) else { return };
        let Some((_, request)) = self.dialog.take() else { return };
        match answer {
            DialogAnswer::Chosen(path) => {
                self.remember_folder(&path);
                self.spawn(ui.ctx(), move || JobMessage::Done { outcome: run(request, &path), chosen: None });
            }
            DialogAnswer::Cancelled => self.local.push(FileOutcome::Cancelled(request.purpose())),
        }
    }

    /// Outcomes that have arrived since the last call.
    pub fn finished(&mut self) -> Vec<FileOutcome> {
        let messages: Vec<JobMessage> = self.rx.try_iter().collect();
        self.in_flight = self.in_flight.saturating_sub(messages.len());
        for message in messages {
            match message {
                JobMessage::Done { outcome, chosen } => {
                    if let Some(path) = chosen {
                        self.remember_folder(&path);
                    }
                    self.local.push(outcome);
                }
                JobMessage::NoSystemDialog(request) => {
                    // Never a silent no-op: this request gets rbm-lab's dialog, and in `auto` mode
                    // every later one too (asking the system again would only fail again).
                    if self.mode == DialogMode::Auto {
                        self.system_missing = true;
                    }
                    self.say_builtin_once();
                    self.open_builtin(request);
                }
            }
        }
        std::mem::take(&mut self.local)
    }
}

/// The system's dialog for `request` (blocks this thread until it closes); `None` for a cancel or
/// for no dialog at all.
fn system_dialog(request: &PathRequest, start_folder: Option<&Path>) -> Option<PathBuf> {
    let mut dialog = rfd::FileDialog::new().set_title(&request.title);
    if !request.extensions.is_empty() {
        dialog = dialog.add_filter(&request.filter_name, &request.extensions);
    }
    if let Some(folder) = start_folder.filter(|f| f.is_dir()) {
        dialog = dialog.set_directory(folder);
    }
    if let Some(name) = &request.file_name {
        dialog = dialog.set_file_name(name);
    }
    match request.kind {
        PathKind::OpenFolder => dialog.pick_folder(),
        PathKind::OpenFile => dialog.pick_file(),
        PathKind::SaveFile => dialog.save_file(),
    }
}

/// The file work for a chosen path.
fn run(request: FileRequest, path: &Path) -> FileOutcome {
    let path = path.to_path_buf();
    match request {
        FileRequest::OpenDataset => match Dataset::load_dir(&path) {
            Ok(dataset) => FileOutcome::DatasetLoaded(Arc::new(dataset)),
            Err(e) => FileOutcome::Failed(format!("Could not open dataset {}: {e}", path.display())),
        },
        FileRequest::LoadModel => match crate::io::load_labelled_model(&path) {
            Ok(model) => FileOutcome::ModelLoaded(Box::new(model), path),
            Err(e) => FileOutcome::Failed(format!("Could not load {}: {e}", path.display())),
        },
        FileRequest::ChooseSavePath => FileOutcome::SavePathChosen(path),
        FileRequest::ExportFilters(image) | FileRequest::ExportSamples(image) => write_image(path, &image),
        FileRequest::ExportLossCsv(rows) => match write_loss_csv(&path, &rows) {
            Ok(()) => FileOutcome::Exported(path),
            Err(e) => FileOutcome::Failed(format!("Could not write {}: {e}", path.display())),
        },
        FileRequest::ExportRuns(export) => {
            let written = match &export {
                RunsExport::Json(runs) => write_runs_json(&path, runs).map_err(|e| e.to_string()),
                RunsExport::Csv(runs) => write_runs_csv(&path, runs).map_err(|e| e.to_string()),
            };
            match written {
                Ok(()) => FileOutcome::Exported(path),
                Err(e) => FileOutcome::Failed(format!("Could not write {}: {e}", path.display())),
            }
        }
        FileRequest::ImportRuns => match read_runs_file(&path) {
            Ok(runs) => FileOutcome::RunsImported(runs, path),
            Err(e) => FileOutcome::Failed(format!("Could not import {}: {e}; no run was added", path.display())),
        },
    }
}

fn write_image(path: PathBuf, image: &GrayImage) -> FileOutcome {
    match write_png_gray(&path, image.width as u32, image.height as u32, &image.pixels) {
        Ok(()) => FileOutcome::Exported(path),
        Err(e) => FileOutcome::Failed(format!("Could not write {}: {e}", path.display())),
    }
}
