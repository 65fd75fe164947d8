//! The Training tab: the loss plot above, the filters and the chains side by side below.

use super::RbmLabApp;
use crate::trainer::Command;

impl RbmLabApp {
    pub(super) fn training_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let plot_height = (ui.available_height() * 0.32).clamp(140.0, 320.0);
        ui.allocate_ui(egui::vec2(ui.available_width(), plot_height), |ui| self.loss.ui(ui));
        ui.separator();
        // Filters on the left (55%), chains on the right, each clipped to its own rectangle.
        let area = ui.available_rect_before_wrap();
        let split = area.left() + (area.width() * 0.55).max(200.0);
        let gap = ui.spacing().item_spacing.x;
        let left = egui::Rect::from_min_max(area.min, egui::pos2(split - gap, area.bottom()));
        let right = egui::Rect::from_min_max(egui::pos2(split + gap, area.top()), area.max);
        let mut filters_ui =
            ui.new_child(egui::UiBuilder::new().max_rect(left).layout(egui::Layout::top_down(egui::Align::Min)));
        filters_ui.set_clip_rect(left);
        self.filters.ui(&mut filters_ui);
        let mut chains_ui =
            ui.new_child(egui::UiBuilder::new().max_rect(right).layout(egui::Layout::top_down(egui::Align::Min)));
        chains_ui.set_clip_rect(right);
        self.chains.ui(&mut chains_ui, commands);
        ui.painter().vline(split, area.y_range(), ui.visuals().widgets.noninteractive.bg_stroke);
        ui.allocate_rect(area, egui::Sense::hover());
    }
}
