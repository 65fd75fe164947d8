//! The Gibbs chain panel: what the model generates, beside where each chain started.

use std::sync::Arc;

use crate::images::{GrayImage, chain_grid};
use crate::model::VisibleSampling;
use crate::trainer::{ChainCommand, ChainSnapshot, ChainStart, Command};

use super::labels;
use super::software_render::Render;
use super::texture::{GrayTexture, fit_size};

pub struct ChainView {
    pub count: usize,
    pub start: ChainStart,
    pub steps_per_second: f32,
    pub running: bool,
    pub restart_every: u64,
    /// `None`: as in training.
    pub sampling: Option<VisibleSampling>,
    /// Label classes of the current model (0: no label units, no class choice).
    pub label_classes: usize,
    /// The class the chains of a model with label units are clamped to; `None`: any.
    pub class: Option<usize>,
    snapshot: Option<Arc<ChainSnapshot>>,
    texture: GrayTexture,
}

impl Default for ChainView {
    fn default() -> Self {
        let options = crate::trainer::TrainerOptions::default();
        Self::new(
            options.chain_count,
            options.chain_start,
            options.chain_steps_per_second,
            options.chains_running,
            options.chain_restart_every,
        )
    }
}

impl ChainView {
    /// The view of chains the trainer runs with these settings (its [`TrainerOptions`]'s).
    ///
    /// [`TrainerOptions`]: crate::trainer::TrainerOptions
    pub fn new(count: usize, start: ChainStart, steps_per_second: f32, running: bool, restart_every: u64) -> Self {
        Self {
            count,
            start,
            steps_per_second,
            running,
            restart_every,
            sampling: None,
            label_classes: 0,
            class: None,
            snapshot: None,
            texture: GrayTexture::default(),
        }
    }

    pub fn set_snapshot(&mut self, ctx: &egui::Context, snapshot: Arc<ChainSnapshot>) {
        self.running = snapshot.running;
        self.texture.set(ctx, "chains", &Self::render(&snapshot));
        self.snapshot = Some(snapshot);
    }

    pub fn has_texture(&self) -> bool {
        self.texture.size().is_some()
    }

    /// Draw the chains as `render` draws images (the next snapshot brings the pixels).
    pub fn use_render(&mut self, render: &Render) {
        self.texture.use_render(render);
    }

    pub fn snapshot(&self) -> Option<&Arc<ChainSnapshot>> {
        self.snapshot.as_ref()
    }

    /// Rows of up to ten chains: the start images, then the chains' current p(v|h) below them.
    pub fn render(snapshot: &ChainSnapshot) -> GrayImage {
        chain_grid(
            &snapshot.start_images,
            &snapshot.mean_images,
            snapshot.count,
            snapshot.image_rows,
            snapshot.image_cols,
        )
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let steps = self.snapshot.as_ref().map_or(0, |s| s.steps);
        // Taken before any widget: an overflowing row would widen the Ui for what follows.
        let width = ui.available_width();
        ui.spacing_mut().slider_width = 90.0;
        ui.horizontal_wrapped(|ui| {
            ui.strong("Gibbs chains");
            let label = if self.running { "Pause chains" } else { "Run chains" };
            if ui
                .button(label)
                .on_hover_text("Run or pause the Gibbs chains (they run even while training is paused)")
                .clicked()
            {
                self.running = !self.running;
                commands.push(Command::Chains(ChainCommand::Run(self.running)));
            }
            if ui.button("Step chains").on_hover_text("One Gibbs step v → h → v for every chain").clicked() {
                self.running = false;
                commands.push(Command::Chains(ChainCommand::Step));
            }
            if ui.button("Reset chains").on_hover_text("Start the chains again from the chosen start images").clicked()
            {
                commands.push(Command::Chains(ChainCommand::Reset { start: self.start, count: self.count }));
            }
            ui.label(format!("step {steps}"));
        });
        ui.horizontal_wrapped(|ui| {
            let before = (self.start, self.count);
            egui::ComboBox::from_label("start from")
                .selected_text(match self.start {
                    ChainStart::TestDigits => "test digits",
                    ChainStart::Noise => "noise",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.start, ChainStart::TestDigits, "test digits");
                    ui.selectable_value(&mut self.start, ChainStart::Noise, "noise");
                })
                .response
                .on_hover_text("Where new chains start: one test image of each digit, or uniform random pixels");
            ui.add(egui::Slider::new(&mut self.count, 1..=40).text("chains"))
                .on_hover_text("How many chains run side by side");
            if before != (self.start, self.count) {
                commands.push(Command::Chains(ChainCommand::Reset { start: self.start, count: self.count }));
            }
        });
        ui.horizontal(|ui| {
            let rate = ui
                .add(egui::Slider::new(&mut self.steps_per_second, 0.5..=500.0).logarithmic(true).text("steps/s"))
                .on_hover_text("Gibbs steps per second of the live chains");
            if rate.changed() {
                commands.push(Command::Chains(ChainCommand::SetStepsPerSecond(self.steps_per_second)));
            }
            let restart = ui
                .add(egui::Slider::new(&mut self.restart_every, 0..=5000).logarithmic(true).text("restart every"))
                .on_hover_text("Start the chains again from their start images every this many steps (0: never)");
            if restart.changed() {
                commands.push(Command::Chains(ChainCommand::SetRestartEvery(self.restart_every)));
            }
        });
        let before = self.sampling;
        let name = |s: Option<VisibleSampling>| s.map_or("as in training", labels::sampling);
        egui::ComboBox::from_label("chain visibles")
            .selected_text(name(self.sampling))
            .show_ui(ui, |ui| {
                for option in std::iter::once(None).chain(VisibleSampling::ALL.map(Some)) {
                    ui.selectable_value(&mut self.sampling, option, name(option));
                }
            })
            .response
            .on_hover_text("How the chains sample the visibles: Bernoulli draws true samples of the RBM");
        if before != self.sampling {
            commands.push(Command::Chains(ChainCommand::SetSampling(self.sampling)));
        }
        if self.label_classes > 0 {
            self.class_ui(ui, commands);
        }
        ui.label("Top row of each pair: where the chain started. Below: p(v|h) now.");
        match self.texture.size() {
            Some(pixels) => {
                let size = fit_size(pixels, egui::vec2(width, ui.available_height()));
                self.texture.show(ui, size, egui::Sense::hover());
            }
            None => {
                ui.label("Waiting for the chains…");
            }
        }
    }

    /// The class choice of a model with label units: Any, or a class every chain draws.
    fn class_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let before = self.class;
        let name = |class: Option<usize>| class.map_or("any".to_string(), |c| c.to_string());
        egui::ComboBox::from_label("class")
            .selected_text(name(self.class))
            .show_ui(ui, |ui| {
                for option in std::iter::once(None).chain((0..self.label_classes).map(Some)) {
                    ui.selectable_value(&mut self.class, option, name(option));
                }
            })
            .response
            .on_hover_text("Clamp the label units to a class, so that every chain draws it; any: the label is sampled");
        if before != self.class {
            commands.push(Command::Chains(ChainCommand::SetClass(self.class)));
        }
    }
}
