//! "Why": the hidden units most active for a chain's current state, their filters and p(h=1|v),
//! and what they add together to the visible inputs, Σ_j p(h_j=1|v) W_j.

use std::sync::Arc;

use crate::images::{GridLayout, image_grid};
use crate::model::inpaint::TopHiddenUnits;

use super::runner::{InpaintFrame, MAX_TOP_UNITS, MODES};
use crate::app::software_render::Render;
use crate::app::texture::{GrayTexture, fit_size};

/// Filters per row of the panel's grid.
const COLUMNS: usize = 8;

pub struct WhyPanel {
    /// How many units to show.
    pub k: usize,
    /// Which chain's state they are for (an index into [`MODES`]).
    pub chain: usize,
    filters: GrayTexture,
    sum: GrayTexture,
    /// The frame the textures were made from.
    shown: Option<Arc<InpaintFrame>>,
}

impl Default for WhyPanel {
    fn default() -> Self {
        Self { k: 8, chain: 0, filters: GrayTexture::default(), sum: GrayTexture::default(), shown: None }
    }
}

impl WhyPanel {
    pub fn use_render(&mut self, render: &Render) {
        self.filters.use_render(render);
        self.sum.use_render(render);
        self.shown = None;
    }

    /// The filters, each stretched from its own min (black) to max (white), and the weighted sum on
    /// one scale centred on grey (0): white pushes pixels on, black off.
    fn refresh(&mut self, ctx: &egui::Context, frame: &Arc<InpaintFrame>, rows: usize, cols: usize) {
        if self.shown.as_ref().is_some_and(|shown| Arc::ptr_eq(shown, frame)) {
            return;
        }
        self.shown = Some(frame.clone());
        let Some((_, top)) = &frame.why else { return };
        let nv = rows * cols;
        if nv == 0 || top.filters.len() != top.units.len() * nv {
            return;
        }
        let stretched: Vec<f32> = top
            .filters
            .chunks_exact(nv)
            .flat_map(|filter| {
                let (lo, hi) =
                    filter.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &w| (lo.min(w), hi.max(w)));
                let span = (hi - lo).max(1e-12);
                filter.iter().map(move |&w| (w - lo) / span)
            })
            .collect();
        let layout = GridLayout::with_columns(top.units.len(), COLUMNS.min(top.units.len()), cols, rows);
        self.filters.set(ctx, "inpaint-why-filters", &image_grid(&stretched, rows, cols, &layout));
        self.sum.set(ctx, "inpaint-why-sum", &signed_image(&top.weighted_sum, rows, cols));
    }

    /// Returns true when the person changed k or the chain.
    pub fn ui(&mut self, ui: &mut egui::Ui, frame: Option<&Arc<InpaintFrame>>, rows: usize, cols: usize) -> bool {
        let (k, chain) = (self.k, self.chain);
        ui.horizontal(|ui| {
            ui.strong("Why");
            ui.add(egui::Slider::new(&mut self.k, 1..=MAX_TOP_UNITS).text("units"))
                .on_hover_text("How many of the most active hidden units to show");
            egui::ComboBox::from_id_salt("inpaint-why-chain")
                .selected_text(chain_name(self.chain))
                .show_ui(ui, |ui| {
                    for (i, _) in MODES.iter().enumerate() {
                        ui.selectable_value(&mut self.chain, i, chain_name(i));
                    }
                })
                .response
                .on_hover_text("Whose current state the units are ranked for");
        });
        let Some(frame) = frame else { return false };
        self.refresh(ui.ctx(), frame, rows, cols);
        let Some((_, top)) = &frame.why else {
            ui.label("No units yet");
            return (k, chain) != (self.k, self.chain);
        };
        ui.label("The most active hidden units, p(h=1|v), and their filters:").on_hover_text(
            "Each filter stretched from its own most negative weight (black) to its most positive (white)",
        );
        let width = ui.available_width();
        if let Some(pixels) = self.filters.size() {
            let size = fit_size(pixels, egui::vec2(width, 180.0));
            let response = self.filters.show(ui, size, egui::Sense::hover());
            if let Some(pos) = response.hover_pos() {
                let rel = (pos - response.rect.min) / response.rect.size();
                let layout = GridLayout::with_columns(top.units.len(), COLUMNS.min(top.units.len()), cols, rows);
                let (x, y) = ((rel.x * layout.width() as f32) as usize, (rel.y * layout.height() as f32) as usize);
                if let Some(unit) = layout.tile_at(x, y).and_then(|t| top.units.get(t)) {
                    response.on_hover_text_at_pointer(format!(
                        "unit {}\np(h=1|v) = {:.3}\np · ‖W_j‖ = {:.3}",
                        unit.index, unit.probability, unit.contribution
                    ));
                }
            }
        }
        ui.label(units_line(top)).on_hover_text("unit index: p(h=1|v), most active first");
        ui.label("Their weighted sum, Σ p(h=1|v) W_j:")
            .on_hover_text("What these units add to every pixel's input: white on, black off, grey nothing");
        if let Some(pixels) = self.sum.size() {
            let size = fit_size(pixels, egui::vec2(width.min(140.0), 140.0));
            self.sum.show(ui, size, egui::Sense::hover());
        }
        (k, chain) != (self.k, self.chain)
    }
}

pub fn chain_name(index: usize) -> &'static str {
    match index {
        0 => "Clamped Gibbs",
        1 => "Mean-field",
        _ => "Free chain",
    }
}

/// "#12 0.98 · #40 0.95 · …": the units and their probabilities, in the order shown.
fn units_line(top: &TopHiddenUnits) -> String {
    let parts: Vec<String> = top.units.iter().map(|u| format!("#{} {:.2}", u.index, u.probability)).collect();
    parts.join(" · ")
}

/// Values of either sign on one scale: 0 grey, ±max|x| white or black.
fn signed_image(values: &[f32], rows: usize, cols: usize) -> crate::images::GrayImage {
    let largest = values.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-12);
    let scaled: Vec<f32> = values.iter().map(|&x| 0.5 + 0.5 * x / largest).collect();
    image_grid(&scaled, rows, cols, &GridLayout::with_columns(1, 1, cols, rows))
}
