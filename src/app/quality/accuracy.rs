//! A classification RBM's test accuracy in the Quality tab: the class of least free energy for
//! each test image, measured on demand on its own thread.

use std::sync::Arc;

use super::QualityView;
use crate::data::Dataset;
use crate::trainer::ModelSnapshot;

/// A test accuracy measured on its own thread: the epoch of the model, and the result to come.
pub(super) struct AccuracyJob {
    epoch: f64,
    result: std::sync::mpsc::Receiver<f64>,
}

impl QualityView {
    /// The accuracy's button and its last result (or that it is being measured).
    pub(super) fn accuracy_ui(&mut self, ui: &mut egui::Ui, snapshot: &Arc<ModelSnapshot>, dataset: &Arc<Dataset>) {
        if let Some(job) = &self.accuracy {
            match job.result.try_recv() {
                Ok(accuracy) => {
                    let images = dataset.test.count;
                    self.accuracy_text =
                        Some(format!("Epoch {:.2}: {:.2}% of {images} test images", job.epoch, 100.0 * accuracy));
                    self.accuracy = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.accuracy_text = Some("The accuracy could not be measured".into());
                    self.accuracy = None;
                }
            }
        }
        ui.horizontal(|ui| {
            ui.strong("Classification");
            let button = ui.add_enabled(self.accuracy.is_none(), egui::Button::new("Measure accuracy")).on_hover_text(
                "Classify every test image by the label of least free energy F(x, y), on its own thread",
            );
            if button.clicked() {
                self.accuracy_text = Some(match start_accuracy(ui.ctx(), snapshot, dataset) {
                    Ok(job) => {
                        self.accuracy = Some(job);
                        format!("Measuring the model of epoch {:.2}…", snapshot.epoch_position)
                    }
                    Err(why) => why,
                });
            }
            if let Some(text) = &self.accuracy_text {
                ui.label(text);
            }
        });
        ui.separator();
    }
}

/// Starts measuring the test accuracy of the classification RBM in `snapshot` on a new thread.
fn start_accuracy(
    ctx: &egui::Context,
    snapshot: &ModelSnapshot,
    dataset: &Arc<Dataset>,
) -> Result<AccuracyJob, String> {
    let labels = snapshot.labels.clone().ok_or("The model has no label units")?;
    if dataset.pixels_per_image() != snapshot.n_visible {
        return Err("The model does not fit the dataset's images".into());
    }
    let rbm = snapshot.rbm().map_err(|e| format!("Cannot measure the accuracy: {e}"))?;
    let (sender, result) = std::sync::mpsc::channel();
    let (dataset, ctx) = (dataset.clone(), ctx.clone());
    std::thread::Builder::new()
        .name("accuracy".into())
        .spawn(move || {
            let image = |i, out: &mut [f32]| dataset.test_image_f32(i, out);
            let targets = &dataset.test.labels;
            let accuracy = crate::model::labels::accuracy_of(&rbm, &labels, targets, image, crate::model::Threads(1));
            let _ = sender.send(accuracy);
            ctx.request_repaint();
        })
        .map_err(|e| format!("Cannot start the accuracy thread: {e}"))?;
    Ok(AccuracyJob { epoch: snapshot.epoch_position, result })
}
