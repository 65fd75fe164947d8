//! The filter grid: every hidden unit's incoming weights as a small image, updated live.

use std::sync::Arc;

use crate::images::{Contrast, GridLayout, filter_atlas, unit_ranges};
use crate::trainer::ModelSnapshot;

use super::software_render::Render;
use super::texture::{GrayTexture, fit_size};

#[derive(Default)]
pub struct FilterView {
    pub contrast: Contrast,
    snapshot: Option<Arc<ModelSnapshot>>,
    ranges: Vec<(f32, f32)>,
    layout: Option<GridLayout>,
    texture: GrayTexture,
    dirty: bool,
}

impl FilterView {
    pub fn set_snapshot(&mut self, snapshot: Arc<ModelSnapshot>) {
        self.snapshot = Some(snapshot);
        self.dirty = true;
    }

    pub fn has_texture(&self) -> bool {
        self.texture.size().is_some()
    }

    /// Draw the atlas as `render` draws images.
    pub fn use_render(&mut self, render: &Render) {
        self.texture.use_render(render);
        self.dirty = true;
    }

    pub fn snapshot(&self) -> Option<&Arc<ModelSnapshot>> {
        self.snapshot.as_ref()
    }

    /// The atlas as it is shown, for PNG export.
    pub fn render(snapshot: &ModelSnapshot, contrast: Contrast) -> crate::images::GrayImage {
        let layout = GridLayout::square(snapshot.n_hidden, snapshot.image_cols, snapshot.image_rows);
        filter_atlas(&snapshot.weights, snapshot.n_hidden, snapshot.image_rows, snapshot.image_cols, contrast, &layout)
    }

    fn refresh(&mut self, ctx: &egui::Context) {
        let Some(snapshot) = &self.snapshot else { return };
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let layout = GridLayout::square(snapshot.n_hidden, snapshot.image_cols, snapshot.image_rows);
        let image = filter_atlas(
            &snapshot.weights,
            snapshot.n_hidden,
            snapshot.image_rows,
            snapshot.image_cols,
            self.contrast,
            &layout,
        );
        self.ranges = unit_ranges(&snapshot.weights, snapshot.n_visible, snapshot.n_hidden);
        self.layout = Some(layout);
        self.texture.set(ctx, "filters", &image);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.refresh(ui.ctx());
        let width = ui.available_width();
        ui.horizontal(|ui| {
            let units = self.snapshot.as_ref().map_or(0, |s| s.n_hidden);
            ui.strong(format!("Filters ({units} hidden units)"));
            let before = self.contrast;
            ui.selectable_value(&mut self.contrast, Contrast::PerUnit, "Per-unit contrast")
                .on_hover_text("Stretch each unit's weights from its own minimum (black) to maximum (white)");
            ui.selectable_value(&mut self.contrast, Contrast::Global, "Global contrast").on_hover_text(
                "One scale for all units: black = most negative weight, grey = 0, white = most positive",
            );
            if before != self.contrast {
                self.dirty = true;
            }
        });
        let (Some(pixels), Some(layout), Some(snapshot)) = (self.texture.size(), self.layout, &self.snapshot) else {
            ui.label("Waiting for the first weights…");
            return;
        };
        let size = fit_size(pixels, egui::vec2(width, ui.available_height()));
        let response = self.texture.show(ui, size, egui::Sense::hover());
        if let Some(pos) = response.hover_pos() {
            let rel = (pos - response.rect.min) / response.rect.size();
            let x = (rel.x * layout.width() as f32) as usize;
            let y = (rel.y * layout.height() as f32) as usize;
            if let Some(unit) = layout.tile_at(x, y) {
                let (lo, hi) = self.ranges.get(unit).copied().unwrap_or((0.0, 0.0));
                let bias = snapshot.hidden_bias.get(unit).copied().unwrap_or(0.0);
                response.on_hover_text_at_pointer(format!("unit {unit}\nweights {lo:+.3} … {hi:+.3}\nbias {bias:+.3}"));
            }
        }
    }
}
