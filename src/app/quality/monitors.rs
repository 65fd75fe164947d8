//! The Quality tab's cheap monitors against epochs, the histograms of the parameters and the
//! latest update, and the hidden units' probabilities for a batch.

use std::sync::Arc;

use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};

use super::{MAX_MONITOR_POINTS, QualityView};
use crate::decimate::merge_pairs;
use crate::images::{GrayImage, GridLayout, image_grid};
use crate::quality::{Histogram, MonitorPoint};
use crate::trainer::Diagnostics;

use super::super::software_render::Render;
use super::super::texture::fit_size;

impl QualityView {
    pub fn push_monitor(&mut self, point: MonitorPoint) {
        if self.monitors.len() >= MAX_MONITOR_POINTS {
            // The older half's neighbours merged pairwise: the curve keeps its shape, and the
            // recent points, the ones looked at, stay as measured.
            let half = self.monitors.len() / 2;
            let mut kept = merge_pairs(&self.monitors[..half], average_monitors);
            kept.extend_from_slice(&self.monitors[half..]);
            self.monitors = kept;
        }
        self.monitors.push(point);
    }

    pub fn set_diagnostics(&mut self, ctx: &egui::Context, diagnostics: Arc<Diagnostics>) {
        let image = hidden_image(&diagnostics);
        self.hidden_texture.set(ctx, "hidden_probabilities", &image);
        self.diagnostics = Some(diagnostics);
    }

    /// The monitors' plot; for a Gaussian–Bernoulli model (`gaussian`) it says they are not kept.
    pub(super) fn monitor_plot(&self, ui: &mut egui::Ui, gaussian: bool) {
        ui.vertical(|ui| {
            if gaussian {
                ui.label("The cheap monitors are computed for binary models only.");
                return;
            }
            ui.label("Cheap monitors on 1,000 held-out images, every quarter epoch");
            let series = |f: fn(&MonitorPoint) -> f64| -> Vec<[f64; 2]> {
                self.monitors.iter().map(|m| [m.epoch, f(m)]).collect()
            };
            let plot = Plot::new("monitor_plot").legend(Legend::default()).x_axis_label("epoch");
            self.render.show_plot(ui, plot, |plot| {
                plot.line(Line::new("pseudo-likelihood", PlotPoints::from(series(|m| m.pseudo_likelihood))));
                plot.line(Line::new(
                    "free-energy gap (held-out − train)",
                    PlotPoints::from(series(|m| m.free_energy_gap)),
                ));
                plot.line(Line::new(
                    "reconstruction MSE × 1000",
                    PlotPoints::from(series(|m| m.reconstruction_mse * 1000.0)),
                ));
            });
        });
    }

    /// The parameter histograms; for a Gaussian–Bernoulli model (`gaussian`) it says they are not
    /// kept (any shown before belong to an earlier binary model).
    pub(super) fn histograms_ui(&self, ui: &mut egui::Ui, gaussian: bool) {
        ui.vertical(|ui| {
            if gaussian {
                ui.label("Histograms are computed for binary models only.");
                return;
            }
            let Some(d) = &self.diagnostics else {
                ui.label("Histograms appear once training runs.");
                return;
            };
            ui.label(format!("Update / weight ratio {:.1e} (Hinton's rule of thumb: about 1e-3)", d.update_ratio));
            let cell = egui::vec2(ui.available_width() / 2.0 - 6.0, (ui.available_height() - 24.0) / 2.0);
            let rows = [
                [("weights W", &d.weights), ("last update ΔW", &d.update)],
                [("visible biases", &d.visible_bias), ("hidden biases", &d.hidden_bias)],
            ];
            for row in rows {
                ui.horizontal(|ui| {
                    for (name, histogram) in row {
                        histogram_plot(ui, &self.render, name, histogram, cell);
                    }
                });
            }
        });
    }

    pub(super) fn hidden_ui(&self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            ui.label("p(h=1|v) for a batch: rows = images, columns = hidden units")
                .on_hover_text("All-black columns are dead units, all-white columns always-on units");
            let width = ui.available_width();
            if let Some(pixels) = self.hidden_texture.size() {
                // Stretched to the column's width: units are thin columns, images short rows.
                let height = fit_size(pixels, egui::vec2(width, ui.available_height())).y.max(120.0);
                self.hidden_texture.show(ui, egui::vec2(width, height), egui::Sense::hover());
            }
        });
    }
}

fn histogram_plot(ui: &mut egui::Ui, render: &Render, name: &str, histogram: &Histogram, size: egui::Vec2) {
    let width = ((histogram.max - histogram.min) / histogram.counts.len().max(1) as f32) as f64;
    let bars: Vec<Bar> = histogram
        .counts
        .iter()
        .enumerate()
        .map(|(i, &c)| Bar::new(histogram.bin_centre(i) as f64, c as f64).width(width.max(1e-9)))
        .collect();
    ui.vertical(|ui| {
        ui.label(name);
        let plot = Plot::new(name)
            .width(size.x)
            .height((size.y - 24.0).max(60.0))
            .show_axes([true, false])
            .allow_scroll(false)
            .allow_drag(false)
            .allow_zoom(false);
        render.show_plot(ui, plot, |plot| {
            plot.bar_chart(BarChart::new(name, bars));
        });
    });
}

/// The mean of one or two neighbouring monitor points, every measure and the epoch alike, for
/// [`merge_pairs`].
fn average_monitors(pair: &[MonitorPoint]) -> MonitorPoint {
    let mean = |value: fn(&MonitorPoint) -> f64| pair.iter().map(value).sum::<f64>() / pair.len() as f64;
    MonitorPoint {
        epoch: mean(|m| m.epoch),
        pseudo_likelihood: mean(|m| m.pseudo_likelihood),
        free_energy_gap: mean(|m| m.free_energy_gap),
        reconstruction_mse: mean(|m| m.reconstruction_mse),
        update_ratio: mean(|m| m.update_ratio),
    }
}

/// The hidden probabilities as a grey image (one pixel per unit and image).
fn hidden_image(d: &Diagnostics) -> GrayImage {
    let layout = GridLayout { tiles: 1, columns: 1, tile_w: d.n_hidden, tile_h: d.rows, gap: 0 };
    image_grid(&d.hidden_probabilities, d.rows, d.n_hidden, &layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(epoch: f64, value: f64) -> MonitorPoint {
        MonitorPoint {
            epoch,
            pseudo_likelihood: value,
            free_energy_gap: -value,
            reconstruction_mse: 2.0 * value,
            update_ratio: value / 1000.0,
        }
    }

    #[test]
    fn a_long_monitor_history_merges_its_older_half_pairwise() {
        let mut view = QualityView::default();
        // Measures alternating 0 and 1: merged neighbours average 0.5 in every measure.
        for i in 0..MAX_MONITOR_POINTS {
            view.push_monitor(point(i as f64, (i % 2) as f64));
        }
        assert_eq!(view.monitors.len(), MAX_MONITOR_POINTS);
        view.push_monitor(point(MAX_MONITOR_POINTS as f64, 0.0));
        let half = MAX_MONITOR_POINTS / 2;
        assert_eq!(view.monitors.len(), half / 2 + half + 1);
        for (k, merged) in view.monitors[..half / 2].iter().enumerate() {
            assert_eq!(*merged, point(2.0 * k as f64 + 0.5, 0.5), "merged point {k}");
        }
        for (k, kept) in view.monitors[half / 2..].iter().enumerate() {
            let i = half + k;
            let value = if i == MAX_MONITOR_POINTS { 0.0 } else { (i % 2) as f64 };
            assert_eq!(*kept, point(i as f64, value), "recent point {i} as measured");
        }
    }
}
