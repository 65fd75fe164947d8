//! The Inpaint tab's pictures: the canvas and the three chains side by side at one size, the
//! chains' images made from the latest frame only when it or the choice of image changed.

use std::sync::Arc;

use super::panel::chain_name;
use super::{InpaintView, Show};
use crate::app::texture::fit_size;
use crate::images::GrayImage;
use crate::model::inpaint::CompletionMode;

impl InpaintView {
    /// The canvas and the three chains side by side, at the same size.
    pub(super) fn pictures_ui(&mut self, ui: &mut egui::Ui) {
        let (rows, cols) = (self.canvas.rows(), self.canvas.cols());
        let width = (ui.available_width() - 4.0 * 12.0) / 4.0;
        // About half the height left, the rest for the plots and the units below.
        let height = (ui.available_height() * 0.5 - 24.0).clamp(120.0, 420.0);
        let size = fit_size([cols, rows], egui::vec2(width, height));
        self.refresh_chain_textures(ui.ctx(), rows, cols);
        let frame = self.frame.clone();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                let hidden = self.canvas.mask().hidden_count();
                ui.label(format!("Canvas ({cols}x{rows}, {hidden} hidden)"))
                    .on_hover_text("Hidden pixels are the orange checkerboard; painting one makes it known again");
                self.canvas.ui(ui, size);
            });
            for (i, texture) in self.chain_textures.iter().enumerate() {
                ui.vertical(|ui| {
                    let chain = frame.as_ref().and_then(|f| f.chains.get(i));
                    let status = match (chain, frame.as_ref()) {
                        (Some(c), _) if c.mode == CompletionMode::MeanField && c.converged => ", converged".to_string(),
                        (Some(_), Some(f)) => format!(", step {}", f.steps),
                        _ => String::new(),
                    };
                    ui.label(format!("{}{status}", chain_name(i))).on_hover_text(chain_hover(i));
                    if texture.size().is_some() && chain.is_some() {
                        texture.show(ui, size, egui::Sense::hover());
                    } else {
                        ui.allocate_exact_size(size, egui::Sense::hover());
                    }
                });
            }
        });
    }

    fn refresh_chain_textures(&mut self, ctx: &egui::Context, rows: usize, cols: usize) {
        let Some(frame) = &self.frame else { return };
        if self.chains_shown.as_ref().is_some_and(|(shown, show)| Arc::ptr_eq(shown, frame) && *show == self.show) {
            return;
        }
        for (i, (chain, texture)) in frame.chains.iter().zip(&mut self.chain_textures).enumerate() {
            let values = match self.show {
                Show::Samples => &chain.state,
                Show::Probabilities => &chain.estimate,
            };
            if values.len() == rows * cols {
                texture.set(ctx, &format!("inpaint-chain-{i}"), &gray_image(values, rows, cols));
            }
        }
        self.chains_shown = Some((frame.clone(), self.show));
    }
}

/// Values in [0, 1] as a `cols x rows` grey image.
fn gray_image(values: &[f32], rows: usize, cols: usize) -> GrayImage {
    let pixels = values.iter().map(|&x| (x.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    GrayImage { width: cols, height: rows, pixels }
}

fn chain_hover(index: usize) -> &'static str {
    match index {
        0 => "Known pixels fixed, hidden ones resampled from p(v_u | h): samples of p(v_u | v_k)",
        1 => "Known pixels fixed, hidden ones iterated μ ← σ(b + W σ(c + Wᵀv)) to a fixed point",
        _ => "Every pixel resampled from the same start: what the model does without the known pixels",
    }
}
