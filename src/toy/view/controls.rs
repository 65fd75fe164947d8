//! The controls under the graph, in collapsible sections: the weights grid (every weight and
//! bias as an editable number, plus preset models), training (method, learning rate, Step /
//! Epoch / Run and the KL history), Gibbs sampling (run a chain, see how close its visit
//! frequencies are to the exact probabilities), and size and data (up to 6 x 4 units, own rows).

use egui::{RichText, Ui, vec2};
use egui_plot::{Line, Plot, PlotPoints};

use super::{POSITIVE, ToyExplorer, show_toy_plot};
use crate::toy::data::{ToyDataset, discrepancy};
use crate::toy::gibbs::GibbsChain;
use crate::toy::rbm::{MAX_HIDDEN, MAX_VISIBLE, ToyRbm};

/// Whether the training buttons use the exact gradient or CD-k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MethodChoice {
    Exact,
    Cd,
}

impl ToyExplorer {
    /// The four collapsible sections under the graph.
    pub(super) fn controls_ui(&mut self, ui: &mut Ui) {
        // Each section: title, open at first, hover text on its header, what draws its contents.
        type SectionUi = fn(&mut ToyExplorer, &mut Ui);
        let sections: [(&str, bool, &str, SectionUi); 4] = [
            (
                "Weights and biases",
                true,
                "Every number of the model, editable; the graph and table follow",
                Self::parameters_ui,
            ),
            ("Training", true, "Learn the data rows by the exact gradient or by CD-k", Self::training_ui),
            (
                "Gibbs sampling",
                true,
                "Sample the model and compare visit frequencies with the exact probabilities",
                Self::gibbs_ui,
            ),
            ("Size and data", false, "Up to 6 people x 4 fruits (1024 states) and your own data rows", Self::size_ui),
        ];
        for (title, open, hover, section_ui) in sections {
            egui::CollapsingHeader::new(title)
                .default_open(open)
                .show(ui, |ui| section_ui(self, ui))
                .header_response
                .on_hover_text(hover);
        }
    }

    fn parameters_ui(&mut self, ui: &mut Ui) {
        let nv = self.rbm.n_visible();
        let nh = self.rbm.n_hidden();
        egui::Grid::new("toy_parameters").spacing(vec2(6.0, 3.0)).show(ui, |ui| {
            ui.label("");
            for j in 0..nh {
                ui.label(RichText::new(self.hidden_title(j)).strong())
                    .on_hover_text("Hidden unit: its weights to each person in this column");
            }
            ui.label(RichText::new("bias a").strong())
                .on_hover_text("Visible bias a_i: added to the score when the person is on");
            ui.end_row();
            for i in 0..nv {
                let person = self.rbm.unit_name(i);
                ui.label(RichText::new(person.to_string()).strong());
                for j in 0..nh {
                    let fruit = self.rbm.unit_name(nv + j);
                    let name = format!("Weight {person}–{fruit}");
                    let hover = format!("w_{person}{fruit}: added to the score when {person} and {fruit} are both on");
                    parameter_drag(ui, self.rbm.weight_mut(i, j), &name, &hover);
                }
                let name = format!("Bias {person}");
                let hover = format!("a_{person}: added to the score when {person} is on");
                parameter_drag(ui, &mut self.rbm.visible_bias[i], &name, &hover);
                ui.end_row();
            }
            ui.label(RichText::new("bias b").strong())
                .on_hover_text("Hidden bias b_j: added to the score when the fruit is on");
            for j in 0..nh {
                let fruit = self.rbm.unit_name(nv + j);
                let name = format!("Bias {fruit}");
                let hover = format!("b_{fruit}: added to the score when {fruit} is on");
                parameter_drag(ui, &mut self.rbm.hidden_bias[j], &name, &hover);
            }
            ui.end_row();
        });
        ui.horizontal_wrapped(|ui| {
            let is_tutorial_size = nv == 3 && nh == 2;
            if ui
                .add_enabled(is_tutorial_size, egui::Button::new("Tutorial weights"))
                .on_hover_text("A-apple and C-apple positive, B-mango strongly positive, C-mango negative")
                .on_disabled_hover_text("The tutorial's weights exist only for 3 people x 2 fruits")
                .clicked()
            {
                self.reset_model(ToyRbm::tutorial());
            }
            if ui.button("All zero").on_hover_text("Every weight and bias 0: all scenarios equally likely").clicked() {
                self.reset_model(ToyRbm::zeros(nv, nh));
            }
            if ui
                .button("Small random")
                .on_hover_text("Weights from N(0, 0.1²) seeded by the training seed; biases 0")
                .clicked()
            {
                self.reset_model(ToyRbm::small_random(nv, nh, self.train_seed));
            }
        });
    }

    fn training_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.method, MethodChoice::Exact, "Exact gradient")
                .on_hover_text("Model term summed over all states: possible because Z has few terms");
            ui.radio_value(&mut self.method, MethodChoice::Cd, "CD-k")
                .on_hover_text("Model term from k Gibbs steps started at the row, as on MNIST");
            ui.add_enabled(
                self.method == MethodChoice::Cd,
                egui::DragValue::new(&mut self.cd_k).range(1..=100).prefix("k = "),
            )
            .on_hover_text("Gibbs steps per CD update");
        });
        self.trainer.method = self.train_method();
        ui.add(egui::Slider::new(&mut self.learning_rate, 0.001..=2.0).logarithmic(true).text("Learning rate"))
            .on_hover_text("Step size of every weight and bias update");
        self.trainer.learning_rate = self.learning_rate;
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut self.train_seed).prefix("Training seed "))
                .on_hover_text("Seed of CD's random stream and of 'Small random'; used on Restart");
            ui.add(egui::DragValue::new(&mut self.epochs_per_frame).range(1..=200).suffix(" epochs/frame"))
                .on_hover_text("How many epochs a running training does per drawn frame");
        });
        ui.horizontal_wrapped(|ui| {
            let next = self.trainer.next_row() % self.data.len().max(1);
            let next_bits = self.rbm.visible_bits(self.data.rows()[next]);
            if ui
                .add_enabled(!self.training, egui::Button::new("Step"))
                .on_hover_text(format!(
                    "One update on the next row (row {}: {next_bits}), as the tutorial walks it",
                    next + 1
                ))
                .clicked()
            {
                self.last_row = Some(self.trainer.step(&mut self.rbm, &self.data));
                self.record_kl();
            }
            if ui
                .add_enabled(!self.training, egui::Button::new("Epoch"))
                .on_hover_text("One update per row, all rows in order")
                .clicked()
            {
                self.trainer.epoch(&mut self.rbm, &self.data);
                self.last_row = None;
                self.record_kl();
            }
            run_toggle(
                ui,
                &mut self.training,
                "Run",
                "Stop",
                "Train continuously, a few epochs per frame, until stopped",
            );
            if ui
                .button("Restart")
                .on_hover_text("Back to row 1, reseed, clear the KL history (weights are kept)")
                .clicked()
            {
                self.restart_training();
            }
        });
        let mut status = format!("{} updates ({:.1} epochs)", self.trainer.steps(), self.trainer.epochs(&self.data));
        if let Some(row) = self.last_row {
            let bits = self.rbm.visible_bits(self.data.rows()[row]);
            status += &format!(" · last row {}: {bits}", row + 1);
        }
        ui.label(RichText::new(status).small());
        self.kl_history_ui(ui);
    }

    fn kl_history_ui(&mut self, ui: &mut Ui) {
        let plot = Plot::new("toy_kl_history")
            .height(90.0)
            .show_axes([true, true])
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .include_y(0.0)
            .y_axis_min_width(28.0)
            .x_axis_label("epochs");
        show_toy_plot(ui, plot, |plot| {
            if !self.kl_history.is_empty() {
                plot.line(Line::new("KL(data || model)", PlotPoints::Borrowed(&self.kl_history)).color(POSITIVE));
            }
        })
        .response
        .on_hover_text("KL(data || model) after each training action");
    }

    fn gibbs_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut self.gibbs_seed).prefix("Chain seed "))
                .on_hover_text("Seed of the chain's random stream; used on Reset chain");
            ui.add(
                egui::DragValue::new(&mut self.sweeps_per_frame).range(1..=20_000).speed(10.0).suffix(" sweeps/frame"),
            )
            .on_hover_text("How many h|v, v|h sweeps a running chain does per drawn frame");
        });
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(!self.sampling, egui::Button::new("Sweep"))
                .on_hover_text("One sweep: sample the fruits given the people, then the people")
                .clicked()
            {
                self.chain.step(&self.rbm);
            }
            let hover = "Sample continuously and count visits to each scenario";
            run_toggle(ui, &mut self.sampling, "Run chain", "Stop chain", hover);
            if ui
                .button("Reset chain")
                .on_hover_text("Restart the chain at None from the seed, with no visits")
                .clicked()
            {
                self.chain = GibbsChain::new(&self.rbm, self.gibbs_seed);
            }
        });
        let steps = self.chain.steps();
        let text = if steps == 0 {
            "no visits yet (counts reset whenever the model changes)".to_owned()
        } else {
            let gap = discrepancy(&self.chain.frequencies(), &self.enumeration.probabilities);
            format!(
                "{steps} sweeps · now {} · max |freq − p| {:.4} · TV {:.4}",
                self.rbm.state_name(self.chain.state()),
                gap.largest_difference,
                gap.total_variation
            )
        };
        ui.label(RichText::new(text).small());
    }

    fn size_ui(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.add(egui::DragValue::new(&mut self.new_visible).range(1..=MAX_VISIBLE).prefix("visible "))
                .on_hover_text(format!("Number of people (visible units), 1 to {MAX_VISIBLE}"));
            ui.add(egui::DragValue::new(&mut self.new_hidden).range(1..=MAX_HIDDEN).prefix("hidden "))
                .on_hover_text(format!("Number of fruits (hidden units), 1 to {MAX_HIDDEN}"));
            let states = 1usize << (self.new_visible + self.new_hidden);
            let changed = self.new_visible != self.rbm.n_visible() || self.new_hidden != self.rbm.n_hidden();
            if ui
                .add_enabled(changed, egui::Button::new("Apply size"))
                .on_hover_text(format!("Rebuild with {states} states: 3 x 2 gets the tutorial, others small random"))
                .clicked()
            {
                let rbm = if self.new_visible == 3 && self.new_hidden == 2 {
                    ToyRbm::tutorial()
                } else {
                    ToyRbm::small_random(self.new_visible, self.new_hidden, self.train_seed)
                };
                self.sampling = false;
                self.reset_model(rbm);
            }
        });
        let label = ui.label(format!("Data rows ({} digits each, first digit = A):", self.rbm.n_visible()));
        let edit = ui
            .add(egui::TextEdit::multiline(&mut self.data_text).desired_rows(2).desired_width(f32::INFINITY))
            .labelled_by(label.id)
            .on_hover_text("Rows of 0/1, separated by commas or spaces; applied as you type");
        if edit.changed() {
            match ToyDataset::parse(&self.data_text, self.rbm.n_visible()) {
                Ok(data) => {
                    self.data = data;
                    self.data_error = None;
                    self.restart_training();
                }
                Err(e) => self.data_error = Some(e),
            }
        }
        if let Some(error) = &self.data_error {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
        if ui
            .button("Tutorial rows")
            .on_hover_text("101, 010, 101, 101, 010, 101 (or the same pattern for other sizes)")
            .clicked()
        {
            self.data = ToyDataset::alternating(self.rbm.n_visible());
            self.data_text = self.data.to_text();
            self.data_error = None;
            self.restart_training();
        }
    }
}

/// A DragValue for one weight or bias, named for screen readers and tests.
fn parameter_drag(ui: &mut Ui, value: &mut f64, name: &str, hover: &str) {
    // Named before the tooltip is attached: a tooltip would otherwise become the name.
    ui.name_inputs(name, |ui| ui.add(egui::DragValue::new(value).speed(0.02).fixed_decimals(2))).on_hover_text(hover);
}

/// A button that starts and stops a run: labelled `stop` and shown pressed while `running`,
/// flipping it when clicked.
fn run_toggle(ui: &mut Ui, running: &mut bool, run: &str, stop: &str, hover: &str) {
    let text = if *running { stop } else { run };
    if ui.add(egui::Button::new(text).selected(*running)).on_hover_text(hover).clicked() {
        *running = !*running;
    }
}
