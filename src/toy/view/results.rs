//! The results half of the tab: Z, KL(data || model) and the model's mass on the data rows; a
//! bar chart of every joint probability (with the Gibbs visit frequencies over it); the people's
//! patterns p(v) beside the data's shares and the chain's; and below them the scenario table.

use egui::{Color32, RichText, Ui, vec2};
use egui_plot::{Bar, BarChart, Legend, MarkerShape, Plot, Points};

use super::{CONSISTENT, LIT, ToyExplorer, show_toy_plot};
use crate::toy::data::mass_on_data;
use crate::toy::numbers::{nice_step, partition_function_text, tick_text};

impl ToyExplorer {
    /// Z, KL and the mass on the data rows, then the chart beside the marginals, then the table.
    pub(super) fn results_ui(&mut self, ui: &mut Ui) {
        let kl = self.kl();
        let mass = mass_on_data(&self.data, &self.enumeration.visible_marginals);
        ui.horizontal_wrapped(|ui| {
            let z_text = partition_function_text(self.enumeration.partition_function());
            ui.label(RichText::new(z_text).strong())
                .on_hover_text("Partition function: the sum of exp(score) over all scenarios");
            ui.label(format!("ln Z = {:.4}", self.enumeration.log_z))
                .on_hover_text("Computed by log-sum-exp, exact for any weights");
            ui.label(RichText::new(format!("KL(data || model) = {kl:.4}")).strong())
                .on_hover_text("Σ p_data(v) ln(p_data(v) / p(v)) in nats: 0 when the model matches");
            ui.label(format!("p(data rows) = {:.1}%", 100.0 * mass))
                .on_hover_text("Model probability of the people-patterns that occur in the data");
        });
        ui.add_space(2.0);

        let gibbs = (self.chain.steps() > 0).then(|| self.chain.frequencies());
        let marginals_width = 250.0;
        ui.horizontal_top(|ui| {
            let chart_width = (ui.available_width() - marginals_width - 12.0).max(200.0);
            ui.vertical(|ui| {
                ui.set_width(chart_width);
                self.chart_ui(ui, gibbs.as_deref());
            });
            ui.vertical(|ui| {
                ui.set_width(marginals_width);
                self.marginals_ui(ui, gibbs.as_deref());
            });
        });
        ui.add_space(4.0);
        self.table_ui(ui, gibbs.as_deref());
    }

    /// Bars of every joint probability in the tutorial's order, green where the people's part is a
    /// data row, with the Gibbs visit frequencies as dots once the chain has run.
    fn chart_ui(&self, ui: &mut Ui, gibbs: Option<&[f64]>) {
        let order = self.rbm.states_in_tutorial_order();
        let names: Vec<String> = order.iter().map(|&s| self.rbm.state_name(s)).collect();
        let mut consistent = Vec::new();
        let mut other = Vec::new();
        for (x, &s) in order.iter().enumerate() {
            let p = self.enumeration.probabilities[s as usize];
            let bar = Bar::new(x as f64, p).width(0.8).name(&names[x]);
            if self.data.contains(self.rbm.visible_part(s)) {
                consistent.push(bar);
            } else {
                other.push(bar);
            }
        }
        let x_names = names.clone();
        // Headroom above the tallest bar or dot so the legend does not cover it.
        let tallest =
            self.enumeration.probabilities.iter().chain(gibbs.unwrap_or_default()).copied().fold(0.0, f64::max);
        let plot = Plot::new("toy_probability_chart")
            .height(190.0)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .include_y(0.0)
            .include_y(tallest * 1.45)
            .y_axis_min_width(30.0)
            // Steps of 1, 2 or 5 x 10^k: egui_plot's default powers of ten leave a single "0"
            // label when the range is, say, 0 to 0.8.
            .y_grid_spacer(egui_plot::uniform_grid_spacer(|input| {
                let step = nice_step((input.bounds.1 - input.bounds.0) / 4.0);
                [step / 2.0, step, step * 10.0]
            }))
            .y_axis_formatter(|mark, _| tick_text(mark.value))
            .legend(Legend::default().position(egui_plot::Corner::LeftTop))
            .x_axis_formatter(move |mark, _| {
                let x = mark.value;
                // Names only where they fit: past 64 states they run into each other, and the
                // hover on a bar still names it.
                if x_names.len() <= 64 && (x - x.round()).abs() < 1e-6 && x >= 0.0 {
                    x_names.get(x as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            });
        show_toy_plot(ui, plot, |plot| {
            plot.bar_chart(BarChart::new("agrees with data", consistent).color(CONSISTENT));
            plot.bar_chart(BarChart::new("other scenarios", other).color(Color32::from_gray(140)));
            if let Some(freq) = gibbs {
                let points: Vec<[f64; 2]> =
                    order.iter().enumerate().map(|(x, &s)| [x as f64, freq[s as usize]]).collect();
                plot.add(Points::new("Gibbs frequency", points).shape(MarkerShape::Diamond).radius(3.5).color(LIT));
            }
        })
        .response
        .on_hover_text("Probability of each scenario, in the tutorial's order");
    }

    /// The people's patterns p(v): the model's marginal beside the data's share and the chain's.
    fn marginals_ui(&self, ui: &mut Ui, gibbs: Option<&[f64]>) {
        ui.label(RichText::new("People's patterns p(v)").strong())
            .on_hover_text("p(v) = Σ_h p(v, h): the model's marginal beside the data frequency");
        let gibbs_marginals = gibbs.map(|frequencies| self.rbm.marginalise_hidden(frequencies));
        egui::ScrollArea::vertical().id_salt("toy_marginals").max_height(176.0).show(ui, |ui| {
            egui::Grid::new("toy_marginals_grid").striped(true).spacing(vec2(8.0, 2.0)).show(ui, |ui| {
                ui.label(RichText::new("v").strong());
                ui.label(RichText::new("who").strong());
                ui.label(RichText::new("model").strong());
                ui.label(RichText::new("data").strong());
                if gibbs_marginals.is_some() {
                    ui.label(RichText::new("Gibbs").strong());
                }
                ui.end_row();
                for v in self.rbm.visible_states_in_tutorial_order() {
                    let in_data = self.data.contains(v);
                    let bits = RichText::new(self.rbm.visible_bits(v)).monospace();
                    ui.label(if in_data { bits.color(CONSISTENT) } else { bits });
                    ui.label(self.rbm.visible_name(v));
                    ui.label(format!("{:.4}", self.enumeration.visible_marginals[v as usize]));
                    ui.label(self.data.fraction_text(v));
                    if let Some(m) = &gibbs_marginals {
                        ui.label(format!("{:.4}", m[v as usize]));
                    }
                    ui.end_row();
                }
            });
        });
    }
}
