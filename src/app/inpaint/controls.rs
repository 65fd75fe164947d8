//! The Inpaint tab's rows of controls: where the picture starts, the drawing tools, the
//! corruptions that hide pixels, and the inference (stepping, rate, start fill, what is shown).

use super::canvas::Tool;
use super::runner::{MAX_STEPS_PER_SECOND, RunnerCommand};
use super::{Fill, InpaintView, Show};
use crate::data::Dataset;
use crate::model::inpaint::Half;

impl InpaintView {
    pub(super) fn start_ui(&mut self, ui: &mut egui::Ui, dataset: &Dataset) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Start from:");
            let last = dataset.test.count.saturating_sub(1);
            ui.add(egui::DragValue::new(&mut self.test_index).range(0..=last).prefix("test #"));
            if ui.button("Test image").on_hover_text("The test image of this index").clicked() {
                self.start_from_test(dataset, self.test_index);
            }
            ui.add(egui::DragValue::new(&mut self.test_class).range(0..=9).prefix("class "));
            if ui.button("Next of class").on_hover_text("The next test image of this class").clicked() {
                self.start_from_class(dataset);
            }
            if ui.button("Noise").on_hover_text("Each pixel 0 or 1 at random").clicked() {
                let seed = self.next_seed();
                self.canvas.fill_noise(seed);
            }
            if ui.button("Blank").on_hover_text("Every pixel 0 (and known)").clicked() {
                self.canvas.clear();
            }
        });
    }

    pub(super) fn tools_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Tool:");
            ui.selectable_value(&mut self.canvas.tool, Tool::Brush, "Brush")
                .on_hover_text("Paint the intensity below; painted pixels become known");
            ui.selectable_value(&mut self.canvas.tool, Tool::Eraser, "Eraser")
                .on_hover_text("Paint 0; erased pixels become known");
            ui.selectable_value(&mut self.canvas.tool, Tool::HideBox, "Hide box")
                .on_hover_text("Drag a rectangle on the canvas to hide it");
            ui.add(egui::Slider::new(&mut self.canvas.brush_radius, 0.5..=4.0).text("size"))
                .on_hover_text("Brush radius in image pixels");
            ui.add(egui::Slider::new(&mut self.canvas.intensity, 0.0..=1.0).text("intensity"));
            if ui.add_enabled(self.canvas.undo_depth() > 0, egui::Button::new("Undo")).on_hover_text("Ctrl+Z").clicked()
            {
                self.canvas.undo();
            }
            if ui.button("Clear").on_hover_text("Every pixel 0 and known").clicked() {
                self.canvas.clear();
            }
        });
    }

    pub(super) fn corruptions_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Hide:");
            for (label, half) in
                [("Bottom", Half::Bottom), ("Top", Half::Top), ("Left", Half::Left), ("Right", Half::Right)]
            {
                if ui.button(label).on_hover_text(format!("Hide the {} half", label.to_lowercase())).clicked() {
                    self.canvas.hide_half(half);
                }
            }
            ui.add(egui::Slider::new(&mut self.random_fraction, 0.0..=1.0).text("random"))
                .on_hover_text("The fraction of pixels the button hides at random");
            if ui.button("Hide random").clicked() {
                let seed = self.next_seed();
                // The slider keeps the fraction within [0, 1].
                let _ = self.canvas.hide_random(self.random_fraction, seed);
            }
            ui.add(egui::Slider::new(&mut self.noise_rate, 0.0..=1.0).text("rate"))
                .on_hover_text("The fraction of pixels salt-and-pepper noise hits (each becomes 0 or 1)");
            if ui.button("Salt & pepper").on_hover_text("Flip pixels at random to 0 or 1 and hide them").clicked() {
                let seed = self.next_seed();
                let _ = self.canvas.salt_and_pepper(self.noise_rate, seed);
            }
            if ui.button("Reveal all").on_hover_text("Every pixel known again").clicked() {
                self.canvas.reveal_all();
            }
        });
    }

    pub(super) fn inference_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Inference:");
            if ui.button("Step chains").on_hover_text("One step of every chain").clicked() {
                self.running = false;
                self.send(RunnerCommand::Step(1));
            }
            let (label, hover) = if self.running {
                ("Pause chains", "Stop stepping")
            } else {
                ("Run chains", "Step continuously at the rate set")
            };
            if ui.button(label).on_hover_text(hover).clicked() {
                self.running = !self.running;
                let command =
                    if self.running { RunnerCommand::Run(self.steps_per_second) } else { RunnerCommand::Pause };
                self.send(command);
            }
            if ui.button("Restart chains").on_hover_text("Every chain back to the start picture").clicked() {
                self.send(RunnerCommand::Restart);
            }
            let before = self.steps_per_second;
            ui.add(
                egui::Slider::new(&mut self.steps_per_second, 1.0..=MAX_STEPS_PER_SECOND)
                    .logarithmic(true)
                    .text("steps/s"),
            );
            if self.running && before != self.steps_per_second {
                self.send(RunnerCommand::Run(self.steps_per_second));
            }
            ui.label("Hidden pixels start at:");
            let fill = self.fill;
            egui::ComboBox::from_id_salt("inpaint-fill").selected_text(fill_name(self.fill)).show_ui(ui, |ui| {
                for fill in [Fill::Grey, Fill::TrainingMeans, Fill::AsDrawn] {
                    ui.selectable_value(&mut self.fill, fill, fill_name(fill));
                }
            });
            if fill != self.fill {
                // Another start: the chains start over.
                self.start_sent = None;
            }
            ui.selectable_value(&mut self.show, Show::Samples, "Samples")
                .on_hover_text("Each chain's current state (μ for mean-field)");
            ui.selectable_value(&mut self.show, Show::Probabilities, "Probabilities")
                .on_hover_text("The running average of p(v|h): the estimated p(v_i = 1 | known pixels)");
        });
    }
}

fn fill_name(fill: Fill) -> &'static str {
    match fill {
        Fill::Grey => "0.5",
        Fill::TrainingMeans => "training means",
        Fill::AsDrawn => "as drawn",
    }
}
