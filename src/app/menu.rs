//! The menu bar: File (with its Dataset submenu), View, and the tabs, whose first names the dataset
//! being trained on, as the window's title does.
//!
//! File > Dataset offers the embedded MNIST, the known datasets ([`crate::data::known`]; absent ones
//! greyed out with how to install them), the last folders opened (kept between runs) and Open
//! folder…. Every dataset is read by a file job, never on the UI thread, and goes through the
//! question before unsaved training is replaced.

use std::path::{Path, PathBuf};

use super::chains::ChainView;
use super::files::{self, FileRequest};
use super::filters::FilterView;
use super::{RbmLabApp, Tab, look};
use crate::data::Dataset;
use crate::data::known::{self, DatasetSource};
use crate::io::export::LossCsvRow;

/// Where the recent dataset folders are kept between runs (eframe's storage).
pub const RECENT_FOLDERS_KEY: &str = "rbm-lab-recent-datasets";

/// Folders File > Dataset remembers: enough for the few datasets a person switches between,
/// few enough that the menu stays short.
pub const MAX_RECENT_FOLDERS: usize = 5;

/// Longest folder path shown in the menu, in characters; longer ones keep their end (the folder's
/// own name), and the whole path is in the hover text.
const SHOWN_PATH_CHARS: usize = 48;

/// Dataset folders opened, most recent first, without repeats, at most [`MAX_RECENT_FOLDERS`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RecentFolders {
    folders: Vec<PathBuf>,
}

impl RecentFolders {
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    /// Puts `folder` first (moving it there if it was already listed) and drops the oldest beyond
    /// the limit.
    pub fn add(&mut self, folder: PathBuf) {
        self.folders.retain(|f| *f != folder);
        self.folders.insert(0, folder);
        self.folders.truncate(MAX_RECENT_FOLDERS);
    }

    /// Forgets `folder`; whether it was listed.
    pub fn remove(&mut self, folder: &Path) -> bool {
        let before = self.folders.len();
        self.folders.retain(|f| f != folder);
        self.folders.len() != before
    }

    /// The same list held to the rules (what was stored may have been edited by hand).
    fn tidied(self) -> Self {
        let mut tidy = RecentFolders::default();
        for folder in self.folders.into_iter().rev() {
            tidy.add(folder);
        }
        tidy
    }
}

/// What File > Dataset needs besides the app: the recent folders and where known datasets are.
pub struct DatasetMenu {
    pub recent: RecentFolders,
    /// Where Fashion-MNIST is looked for: [`known::FASHION_MNIST_DIR`], another folder in tests.
    pub fashion_mnist_dir: PathBuf,
    /// The title the window was last given (sent again only when it changes).
    shown_title: Option<String>,
}

impl Default for DatasetMenu {
    fn default() -> Self {
        Self {
            recent: RecentFolders::default(),
            fashion_mnist_dir: PathBuf::from(known::FASHION_MNIST_DIR),
            shown_title: None,
        }
    }
}

impl DatasetMenu {
    pub fn restore(&mut self, storage: &dyn eframe::Storage) {
        if let Some(recent) = eframe::get_value::<RecentFolders>(storage, RECENT_FOLDERS_KEY) {
            self.recent = recent.tidied();
        }
    }

    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, RECENT_FOLDERS_KEY, &self.recent);
    }

    /// A dataset has been read: its folder goes first among the recent ones, unless it is a known
    /// dataset's, which has an entry of its own.
    pub fn opened(&mut self, dataset: &Dataset) {
        let Some(folder) = &dataset.folder else { return };
        // `folder` is resolved (see `Dataset::folder`); resolve the known ones alike.
        let is_known = known::known_datasets(&self.fashion_mnist_dir)
            .iter()
            .any(|k| k.dir.canonicalize().is_ok_and(|dir| dir == *folder));
        if !is_known {
            self.recent.add(folder.clone());
        }
    }
}

/// `path` for a menu entry: its end, when it is long.
fn shown_path(path: &Path) -> String {
    let text = path.display().to_string();
    let chars = text.chars().count();
    if chars <= SHOWN_PATH_CHARS {
        return text;
    }
    let tail: String = text.chars().skip(chars - (SHOWN_PATH_CHARS - 1)).collect();
    format!("…{tail}")
}

impl RbmLabApp {
    /// The dataset being trained on, as the trainer last said (the window's own until it has).
    pub fn dataset_name(&self) -> &str {
        self.progress.as_ref().map_or(&self.dataset.name, |p| &p.dataset)
    }

    /// "rbm-lab — Fashion-MNIST".
    pub fn window_title(&self) -> String {
        format!("rbm-lab — {}", self.dataset_name())
    }

    pub(super) fn menu_ui(&mut self, ui: &mut egui::Ui) {
        let title = self.window_title();
        if self.menu.shown_title.as_ref() != Some(&title) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.menu.shown_title = Some(title);
        }
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                let ctx = ui.ctx().clone();
                ui.menu_button("Dataset", |ui| self.dataset_menu_ui(ui));
                ui.separator();
                if ui.button("Load model…").clicked() {
                    self.files.start(&ctx, FileRequest::LoadModel);
                }
                if ui.button("Save model…").clicked() {
                    self.files.start(&ctx, FileRequest::ChooseSavePath);
                }
                ui.separator();
                if ui.button("Export filters as PNG…").clicked() {
                    match self.filters.snapshot() {
                        Some(s) => {
                            let image = FilterView::render(s, self.filters.contrast);
                            self.files.start(&ctx, FileRequest::ExportFilters(image));
                        }
                        None => self.say("No weights to export yet", true),
                    }
                }
                if ui.button("Export samples as PNG…").clicked() {
                    match self.chains.snapshot() {
                        Some(s) => {
                            let image = ChainView::render(s);
                            self.files.start(&ctx, FileRequest::ExportSamples(image));
                        }
                        None => self.say("No samples to export yet", true),
                    }
                }
                if ui.button("Export loss history as CSV…").clicked() {
                    let rows = self.loss_rows();
                    self.files.start(&ctx, FileRequest::ExportLossCsv(rows));
                }
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                let mut light = look::is_light_look(ui.ctx());
                let hint = "Square corners, no shadows and a plain (not anti-aliased) batch loss line: \
                            a third less drawing for a software renderer (on by default when OpenGL \
                            renders on the CPU, as in a VM)";
                if ui.checkbox(&mut light, "Light look").on_hover_text(hint).changed() {
                    look::set_light_look(ui.ctx(), light);
                }
                ui.checkbox(&mut self.show_frame_timing, "Frame timing in the status bar");
                ui.checkbox(&mut self.runs_window.open, "Runs").on_hover_text(
                    "Earlier runs and the current one side by side: show them on the plots, rename, delete, export, import",
                );
                self.frame_rate.menu_ui(ui);
                let (hint, fixed) = match self.files.mode() {
                    files::DialogMode::Auto if self.files.system_missing() => (
                        "This system shows no file dialog (no desktop portal, no zenity): rbm-lab's is used",
                        Some(true),
                    ),
                    files::DialogMode::Auto => ("Choose files in rbm-lab's own dialog instead of the system's", None),
                    files::DialogMode::System => {
                        ("Started with --file-dialog system: the system's dialog is used", Some(false))
                    }
                    files::DialogMode::Builtin => {
                        ("Started with --file-dialog builtin: rbm-lab's dialog is used", Some(true))
                    }
                };
                let label = "Use rbm-lab's file dialog";
                match fixed {
                    None => ui.checkbox(&mut self.files.settings.use_builtin, label).on_hover_text(hint),
                    Some(mut used) => {
                        ui.add_enabled(false, egui::Checkbox::new(&mut used, label)).on_disabled_hover_text(hint)
                    }
                };
            });
            ui.separator();
            let training = format!("{} training", self.dataset_name());
            ui.selectable_value(&mut self.tab, Tab::Training, training);
            ui.selectable_value(&mut self.tab, Tab::Quality, "Quality (log-likelihood)");
            ui.selectable_value(&mut self.tab, Tab::Toy, "Toy RBM (5 units)");
            ui.selectable_value(&mut self.tab, Tab::Inpaint, "Inpaint");
        });
    }

    /// File > Dataset. The entry of the dataset in use is shown selected.
    fn dataset_menu_ui(&mut self, ui: &mut egui::Ui) {
        let current_folder = self.dataset.folder.clone();
        let current_name = self.dataset.name.clone();
        let mut chosen: Option<(DatasetSource, String)> = None;

        let embedded = current_folder.is_none() && current_name == known::MNIST;
        if ui
            .add(egui::Button::selectable(embedded, "MNIST (built in)"))
            .on_hover_text("The 60,000 + 10,000 handwritten digits compiled into rbm-lab")
            .clicked()
        {
            chosen = Some((DatasetSource::Embedded, known::MNIST.into()));
        }
        // A few `stat` calls per frame, only while this submenu is open: a package installed or
        // removed meanwhile shows at once.
        for dataset in known::known_datasets(&self.menu.fashion_mnist_dir) {
            let present = dataset.is_present();
            let selected = current_name == dataset.name;
            let response = ui.add_enabled(present, egui::Button::selectable(selected, dataset.name));
            let response =
                response.on_hover_text(format!("Read from {}", dataset.dir.display())).on_disabled_hover_text(format!(
                    "Not installed: {}; or Open folder… with its IDX files",
                    dataset.how_to_install()
                ));
            if response.clicked() {
                let name = dataset.name.to_string();
                chosen = Some((DatasetSource::Known(dataset), name));
            }
        }
        if !self.menu.recent.folders().is_empty() {
            ui.separator();
            ui.weak("Recent folders");
            for folder in self.menu.recent.folders() {
                let selected = current_folder.as_ref() == Some(folder);
                if ui
                    .add(egui::Button::selectable(selected, shown_path(folder)))
                    .on_hover_text(folder.display().to_string())
                    .clicked()
                {
                    chosen = Some((DatasetSource::Folder(folder.clone()), folder.display().to_string()));
                }
            }
        }
        ui.separator();
        if ui
            .button("Open folder…")
            .on_hover_text("A folder with the four MNIST-style IDX files (Fashion-MNIST, KMNIST, EMNIST…)")
            .clicked()
        {
            self.files.start(ui.ctx(), FileRequest::OpenDataset);
        }
        if let Some((source, what)) = chosen {
            self.say(format!("Reading {what}…"), false);
            self.files.load_dataset(ui.ctx(), source);
        }
    }

    /// The loss history as the rows of File > Export loss CSV, in order of position.
    fn loss_rows(&self) -> Vec<LossCsvRow> {
        let history = &self.loss.history;
        let mut rows: Vec<LossCsvRow> = history
            .batch_points()
            .iter()
            .map(|p| LossCsvRow { epoch: p.x, batch_loss: p.y as f32, epoch_mean: None })
            .collect();
        for mean in history.epoch_means() {
            rows.push(LossCsvRow { epoch: mean.x, batch_loss: f32::NAN, epoch_mean: Some(mean.y) });
        }
        rows.sort_by(|a, b| a.epoch.total_cmp(&b.epoch));
        rows
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn recent_folders_are_most_recent_first_without_repeats_and_at_most_five() {
        let mut recent = RecentFolders::default();
        let folder = |n: usize| PathBuf::from(format!("/data/set{n}"));
        for n in 1..=3 {
            recent.add(folder(n));
        }
        assert_eq!(recent.folders(), [folder(3), folder(2), folder(1)]);
        // Opened again: moved to the front, not listed twice.
        recent.add(folder(1));
        assert_eq!(recent.folders(), [folder(1), folder(3), folder(2)]);
        for n in 4..=7 {
            recent.add(folder(n));
        }
        assert_eq!(recent.folders(), [folder(7), folder(6), folder(5), folder(4), folder(1)]);
        assert!(recent.remove(&folder(5)));
        assert!(!recent.remove(&folder(5)), "already gone");
        assert_eq!(recent.folders(), [folder(7), folder(6), folder(4), folder(1)]);
    }

    use crate::app::memory_storage::Memory;

    #[test]
    fn recent_folders_are_kept_between_runs_and_held_to_the_rules_when_read_back() {
        let mut storage = Memory::default();
        let mut menu = DatasetMenu::default();
        menu.recent.add("/data/a".into());
        menu.recent.add("/data/b".into());
        menu.save(&mut storage);
        let mut next_run = DatasetMenu::default();
        next_run.restore(&storage);
        assert_eq!(next_run.recent, menu.recent);

        // A stored list with repeats and too many entries (edited by hand, or from another build).
        let stored = RecentFolders { folders: ["a", "b", "a", "c", "d", "e", "f", "g"].map(PathBuf::from).to_vec() };
        eframe::set_value(&mut storage, RECENT_FOLDERS_KEY, &stored);
        next_run.restore(&storage);
        assert_eq!(next_run.recent.folders(), ["a", "b", "c", "d", "e"].map(PathBuf::from));
    }

    #[test]
    fn long_paths_keep_their_end() {
        assert_eq!(shown_path(Path::new("/data/fashion")), "/data/fashion");
        let long = Path::new("/home/someone/datasets/downloads/2026/november/kmnist-unpacked");
        let shown = shown_path(long);
        assert_eq!(shown.chars().count(), SHOWN_PATH_CHARS);
        assert!(shown.starts_with('…') && shown.ends_with("/november/kmnist-unpacked"), "{shown}");
    }

    #[test]
    fn a_known_datasets_folder_is_not_a_recent_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fashion = dir.path().join("fashion");
        let other = dir.path().join("other");
        std::fs::create_dir(&fashion).expect("mkdir");
        std::fs::create_dir(&other).expect("mkdir");
        let mut menu = DatasetMenu { fashion_mnist_dir: fashion.clone(), ..DatasetMenu::default() };
        let images = crate::data::ImageArray { count: 6, rows: 2, cols: 2, pixels: vec![0; 24] };
        let mut dataset = Dataset::from_arrays("tiny", images, vec![0; 6], None).expect("a dataset");
        menu.opened(&dataset);
        assert!(menu.recent.folders().is_empty(), "a dataset made in memory has no folder");
        dataset.folder = Some(fashion.canonicalize().expect("exists"));
        menu.opened(&dataset);
        assert!(menu.recent.folders().is_empty(), "Fashion-MNIST's folder has its own entry");
        dataset.folder = Some(other.canonicalize().expect("exists"));
        menu.opened(&dataset);
        assert_eq!(menu.recent.folders(), [other.canonicalize().expect("exists")]);
    }
}
