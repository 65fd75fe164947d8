//! The control panel: run state, hyperparameters (applied at the next batch) and the model's shape
//! and seed (applied on Reset).

use crate::model::{Initialisation, ModelSpec, TrainingConfig, VisibleSampling};
use crate::trainer::Command;

pub struct ControlPanel {
    /// What the sliders show; sent to the trainer whenever it differs from `sent`.
    pub config: TrainingConfig,
    sent: TrainingConfig,
    /// Shape and seed for the next Reset.
    pub spec: ModelSpec,
    /// Whether the trainer says it is training.
    pub running: bool,
}

impl ControlPanel {
    pub fn new(config: TrainingConfig, spec: ModelSpec) -> Self {
        Self { sent: config.clone(), config, spec, running: false }
    }

    /// The trainer changed the configuration itself (e.g. a model was loaded): show that.
    pub fn adopt_config(&mut self, config: TrainingConfig) {
        self.sent = config.clone();
        self.config = config;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.spacing_mut().slider_width = 120.0;
        ui.heading("Training");
        ui.horizontal(|ui| {
            let (label, hint) = if self.running {
                ("Pause", "Stop training after the current batch")
            } else {
                ("Start", "Train continuously on the training images")
            };
            if ui.button(label).on_hover_text(hint).clicked() {
                commands.push(if self.running { Command::Pause } else { Command::Start });
                self.running = !self.running;
            }
            if ui.button("Step").on_hover_text("Train exactly one batch, then pause").clicked() {
                commands.push(Command::Step);
                self.running = false;
            }
        });
        ui.add_space(6.0);
        ui.label("Applied at the next batch:");
        let c = &mut self.config;
        ui.add(egui::Slider::new(&mut c.learning_rate, 1e-5..=10.0).logarithmic(true).text("learning rate"))
            .on_hover_text("Step size of each update (tutorial: 0.005); too large and training diverges");
        ui.add(egui::Slider::new(&mut c.k, 1..=50).text("CD-k"))
            .on_hover_text("Gibbs steps between the data and the negative sample (tutorial: 10)");
        ui.add_enabled(
            c.sampling == VisibleSampling::NoisyMeanField,
            egui::Slider::new(&mut c.noise_std, 0.0..=1.0).text("noise"),
        )
        .on_hover_text("Std. dev. of the Gaussian noise added to the visibles in the tutorial's chain (0.1)");
        ui.add(egui::Slider::new(&mut c.batch_size, 1..=1024).logarithmic(true).text("batch size"))
            .on_hover_text("Images per update (tutorial: 64)");
        egui::ComboBox::from_label("visibles")
            .selected_text(c.sampling.label())
            .show_ui(ui, |ui| {
                for mode in VisibleSampling::ALL {
                    ui.selectable_value(&mut c.sampling, mode, mode.label());
                }
            })
            .response
            .on_hover_text("Tutorial: sigmoid + Gaussian noise (not a true Gibbs sampler). Bernoulli: binary samples");
        if ui
            .button("Tutorial defaults")
            .on_hover_text("lr 0.005, k 10, noise 0.1, batch 64, tutorial visibles")
            .clicked()
        {
            *c = TrainingConfig::default();
        }
        if self.config != self.sent && self.config.validate().is_ok() {
            self.sent = self.config.clone();
            commands.push(Command::SetConfig(self.config.clone()));
        }

        ui.separator();
        ui.label("Applied on Reset:");
        let s = &mut self.spec;
        ui.add(egui::Slider::new(&mut s.n_hidden, 1..=2000).logarithmic(true).text("hidden units"))
            .on_hover_text("Number of hidden units of the new model (tutorial: 256)");
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut s.seed).range(0..=u64::MAX)).on_hover_text(
                "Fixes initialisation, shuffling and sampling: the same seed and settings give the same run",
            );
            ui.label("seed");
        });
        egui::ComboBox::from_label("initialisation")
            .selected_text(match s.initialisation {
                Initialisation::Xavier => "Xavier (tutorial)",
                Initialisation::Hinton => "Hinton",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut s.initialisation, Initialisation::Xavier, "Xavier (tutorial)");
                ui.selectable_value(&mut s.initialisation, Initialisation::Hinton, "Hinton");
            })
            .response
            .on_hover_text("Xavier: W ~ N(0, 2/(V+H)), zero biases. Hinton: W ~ N(0, 0.01²), b_v = logit(pixel means)");
        if ui.button("Reset model").on_hover_text("Start over with a new model of this size and seed").clicked() {
            commands.push(Command::Reset(self.spec.clone()));
        }
    }
}
