//! File dialogs and file work on background threads: the UI thread never waits for a dialog, a
//! disk or a parser. A cancelled dialog, or no dialog service at all (rfd returns `None`), is a
//! quiet no-op.

use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::data::Dataset;
use crate::images::GrayImage;
use crate::io::ModelFile;
use crate::io::export::{LossCsvRow, write_loss_csv, write_png_gray};

/// What the person asked for from the File menu.
pub enum FileRequest {
    OpenDataset,
    LoadModel,
    /// Pick where to save; the trainer writes the file (it owns the model).
    ChooseSavePath,
    ExportFilters(GrayImage),
    ExportSamples(GrayImage),
    ExportLossCsv(Vec<LossCsvRow>),
}

/// What came back.
pub enum FileOutcome {
    DatasetLoaded(Arc<Dataset>),
    ModelLoaded(Box<ModelFile>, PathBuf),
    SavePathChosen(PathBuf),
    Exported(PathBuf),
    Cancelled,
    Failed(String),
}

pub struct FileJobs {
    tx: Sender<FileOutcome>,
    rx: Receiver<FileOutcome>,
    in_flight: usize,
}

impl Default for FileJobs {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Self { tx, rx, in_flight: 0 }
    }
}

fn png_dialog(name: &str) -> rfd::FileDialog {
    rfd::FileDialog::new().add_filter("PNG image", &["png"]).set_file_name(name)
}

impl FileJobs {
    /// Dialogs or file work still running.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub fn start(&mut self, ctx: &egui::Context, request: FileRequest) {
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        let spawned = crate::threads::spawn("rbm-file-job", move || {
            let outcome = run(request);
            let _ = tx.send(outcome);
            ctx.request_repaint();
        });
        match spawned {
            Ok(_) => self.in_flight += 1,
            Err(e) => {
                let _ = self.tx.send(FileOutcome::Failed(format!("could not start a file job: {e}")));
            }
        }
    }

    /// Outcomes that have arrived since the last call.
    pub fn finished(&mut self) -> Vec<FileOutcome> {
        let done: Vec<FileOutcome> = self.rx.try_iter().collect();
        self.in_flight = self.in_flight.saturating_sub(done.len());
        done
    }
}

fn run(request: FileRequest) -> FileOutcome {
    match request {
        FileRequest::OpenDataset => {
            let Some(dir) = rfd::FileDialog::new().set_title("Open an IDX dataset folder").pick_folder() else {
                return FileOutcome::Cancelled;
            };
            match Dataset::load_dir(&dir) {
                Ok(dataset) => FileOutcome::DatasetLoaded(Arc::new(dataset)),
                Err(e) => FileOutcome::Failed(format!("Could not open dataset {}: {e}", dir.display())),
            }
        }
        FileRequest::LoadModel => {
            let Some(path) = rfd::FileDialog::new().add_filter("rbm-lab model", &["safetensors"]).pick_file() else {
                return FileOutcome::Cancelled;
            };
            match crate::io::load_model(&path) {
                Ok(model) => FileOutcome::ModelLoaded(Box::new(model), path),
                Err(e) => FileOutcome::Failed(format!("Could not load {}: {e}", path.display())),
            }
        }
        FileRequest::ChooseSavePath => {
            match rfd::FileDialog::new()
                .add_filter("rbm-lab model", &["safetensors"])
                .set_file_name("rbm.safetensors")
                .save_file()
            {
                Some(path) => FileOutcome::SavePathChosen(path),
                None => FileOutcome::Cancelled,
            }
        }
        FileRequest::ExportFilters(image) => write_image(png_dialog("filters.png").save_file(), &image),
        FileRequest::ExportSamples(image) => write_image(png_dialog("samples.png").save_file(), &image),
        FileRequest::ExportLossCsv(rows) => {
            let Some(path) = rfd::FileDialog::new().add_filter("CSV", &["csv"]).set_file_name("loss.csv").save_file()
            else {
                return FileOutcome::Cancelled;
            };
            match write_loss_csv(&path, &rows) {
                Ok(()) => FileOutcome::Exported(path),
                Err(e) => FileOutcome::Failed(format!("Could not write {}: {e}", path.display())),
            }
        }
    }
}

fn write_image(path: Option<PathBuf>, image: &GrayImage) -> FileOutcome {
    let Some(path) = path else { return FileOutcome::Cancelled };
    match write_png_gray(&path, image.width as u32, image.height as u32, &image.pixels) {
        Ok(()) => FileOutcome::Exported(path),
        Err(e) => FileOutcome::Failed(format!("Could not write {}: {e}", path.display())),
    }
}
