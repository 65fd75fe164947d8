//! The Inpaint tab's small plots: F(v) per step for each chain, and, when the picture came from a
//! test image, the completion's mean error on the hidden pixels against that image.

use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::panel::chain_name;
use super::runner::{ChainFrame, InpaintFrame};
use crate::app::software_render::Render;

const PLOT_HEIGHT: f32 = 150.0;

#[derive(Default)]
pub struct CurvePlots {
    render: Render,
}

impl CurvePlots {
    pub fn use_render(&mut self, render: &Render) {
        self.render = render.clone();
    }

    pub fn ui(&self, ui: &mut egui::Ui, frame: &InpaintFrame, has_original: bool) {
        let plots = if has_original { 2.0 } else { 1.0 };
        let size = egui::vec2((ui.available_width() / plots - 8.0).max(120.0), PLOT_HEIGHT + 20.0);
        ui.horizontal_top(|ui| {
            ui.allocate_ui(size, |ui| {
                let title = "Free energy F(v) of the current state";
                let hover = "F(v) = −b·v − Σ_j softplus(c_j + (vW)_j): lower is more probable under the model";
                self.curve_plot(ui, "inpaint_free_energy", (title, hover), frame, |c| &c.free_energy);
            });
            if has_original {
                ui.allocate_ui(size, |ui| {
                    let title = "Error on the hidden pixels";
                    let hover =
                        "Mean |completion − original| over the hidden pixels, against the test image started from";
                    self.curve_plot(ui, "inpaint_error", (title, hover), frame, |c| &c.error);
                });
            }
        });
    }

    /// One plot of a curve of every chain.
    fn curve_plot(
        &self,
        ui: &mut egui::Ui,
        id: &str,
        (title, hover): (&str, &str),
        frame: &InpaintFrame,
        curve: fn(&ChainFrame) -> &Vec<[f64; 2]>,
    ) {
        ui.vertical(|ui| {
            ui.label(title).on_hover_text(hover);
            let plot = Plot::new(id).legend(Legend::default()).height(PLOT_HEIGHT).x_axis_label("step");
            let curves: Vec<(&'static str, Vec<[f64; 2]>)> =
                frame.chains.iter().enumerate().map(|(i, c)| (chain_name(i), curve(c).clone())).collect();
            self.render.show_plot(ui, plot, move |plot| {
                for (name, points) in curves {
                    plot.line(Line::new(name, PlotPoints::from(points)));
                }
            });
        });
    }
}
