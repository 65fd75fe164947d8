//! The Gibbs chain panel: what the model generates, beside where each chain started, and, once
//! the Quality tab has a raw-pixel probe, which digit each chain's sample looks like and how many
//! chains show each digit (a sampler stuck on a few classes shows as a few tall bars).

use std::sync::Arc;

use egui_plot::{Bar, BarChart, Plot};

use crate::images::{CHAINS_PER_ROW, GrayImage, GridLayout, chain_grid};
use crate::model::probe::{Probe, class_counts};
use crate::model::{MathPool, SubnormalMode, VisibleSampling};
use crate::trainer::{ChainCommand, ChainSnapshot, ChainStart, Command};

use super::labels;
use super::software_render::Render;
use super::texture::{GrayTexture, fit_size};

/// Height of the class-count bars.
const COUNTS_HEIGHT: f32 = 90.0;

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
    /// The classifier of the samples and its test accuracy.
    classifier: Option<(Arc<Probe>, f64)>,
    /// The class of each chain's current p(v|h), by `classifier`.
    classes: Vec<u8>,
    /// A one-thread pool for the classifier (made when the first classifier comes).
    pool: Option<MathPool>,
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
            classifier: None,
            classes: Vec::new(),
            pool: None,
        }
    }

    pub fn set_snapshot(&mut self, ctx: &egui::Context, snapshot: Arc<ChainSnapshot>) {
        self.running = snapshot.running;
        self.texture.set(ctx, "chains", &Self::render(&snapshot));
        self.snapshot = Some(snapshot);
        self.classify();
    }

    /// The classifier of the samples (`None`: no labels); the samples are labelled again when it
    /// changes.
    pub fn set_classifier(&mut self, classifier: Option<(Arc<Probe>, f64)>) {
        let same = match (&self.classifier, &classifier) {
            (Some((a, _)), Some((b, _))) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.classifier = classifier;
            self.classify();
        }
    }

    /// Labels the current samples: tens of small images through a linear classifier, cheap enough
    /// for the window's thread at the chains' snapshot rate.
    fn classify(&mut self) {
        self.classes.clear();
        let (Some((probe, _)), Some(snapshot)) = (&self.classifier, &self.snapshot) else { return };
        let pixels: Vec<u8> = snapshot.mean_images.iter().map(|&p| (p.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
        // Subnormals kept (IEEE), as on the window's thread everywhere else.
        let pool = self.pool.get_or_insert_with(|| MathPool::with_mode(1, SubnormalMode::Keep));
        if let Ok(classes) = probe.classify(&pixels, pool) {
            self.classes = classes;
        }
    }

    /// The class of each chain's current sample (empty without a classifier or chains).
    pub fn sample_classes(&self) -> &[u8] {
        &self.classes
    }

    /// How many chains' samples look like each class (empty without a classifier).
    pub fn class_counts(&self) -> Vec<usize> {
        match &self.classifier {
            Some((probe, _)) if !self.classes.is_empty() => class_counts(&self.classes, probe.classes()),
            _ => Vec::new(),
        }
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
        let counts = self.class_counts();
        // Room for the class counts below the chains.
        let below = if counts.is_empty() { 0.0 } else { COUNTS_HEIGHT + 40.0 };
        match self.texture.size() {
            Some(pixels) => {
                let size = fit_size(pixels, egui::vec2(width, (ui.available_height() - below).max(60.0)));
                let response = self.texture.show(ui, size, egui::Sense::hover());
                self.class_labels_ui(ui, response.rect, pixels);
            }
            None => {
                ui.label("Waiting for the chains…");
            }
        }
        if let Some((_, accuracy)) = &self.classifier
            && !counts.is_empty()
        {
            self.counts_ui(ui, &counts, *accuracy, width);
        }
    }

    /// Each chain's class in a corner of its current sample's tile.
    fn class_labels_ui(&self, ui: &egui::Ui, rect: egui::Rect, pixels: [usize; 2]) {
        let Some(snapshot) = &self.snapshot else { return };
        if self.classes.len() != snapshot.count || pixels[0] == 0 {
            return;
        }
        let per_row = snapshot.count.clamp(1, CHAINS_PER_ROW);
        let layout = GridLayout::with_columns(usize::MAX, per_row, snapshot.image_cols, snapshot.image_rows);
        let scale = rect.width() / pixels[0] as f32;
        let font = egui::FontId::proportional((10.0 * scale).clamp(9.0, 14.0));
        let painter = ui.painter_at(rect);
        for (chain, &class) in self.classes.iter().enumerate() {
            // Chain c's current sample is in the second row of its group of `per_row` chains.
            let tile = (2 * (chain / per_row) + 1) * per_row + chain % per_row;
            let (x, y) = layout.origin(tile);
            let corner = rect.min
                + egui::vec2((x + snapshot.image_cols) as f32, (y + snapshot.image_rows) as f32) * scale
                - egui::vec2(2.0, 1.0);
            let galley = painter.layout_no_wrap(class.to_string(), font.clone(), egui::Color32::from_rgb(255, 200, 80));
            let text_rect = egui::Align2::RIGHT_BOTTOM.anchor_size(corner, galley.size());
            painter.rect_filled(text_rect.expand(1.0), 2.0, egui::Color32::from_black_alpha(170));
            painter.galley(text_rect.min, galley, egui::Color32::WHITE);
        }
    }

    fn counts_ui(&self, ui: &mut egui::Ui, counts: &[usize], accuracy: f64, width: f32) {
        ui.label(format!("Chains per class, by the raw-pixel probe ({:.1}% on test images)", 100.0 * accuracy))
            .on_hover_text(
                "Each chain's p(v|h) classified by the linear probe on raw pixels trained in the Quality tab \
                 (it does not change with the model it judges). A few tall bars: the chains are stuck on \
                 a few digits",
            );
        let bars: Vec<Bar> = counts
            .iter()
            .enumerate()
            .map(|(class, &n)| Bar::new(class as f64, n as f64).width(0.7).name(class))
            .collect();
        let plot = Plot::new("chain_class_counts")
            .width(width.min(360.0))
            .height(COUNTS_HEIGHT)
            .include_y(0.0)
            .include_x(-0.6)
            .include_x(counts.len() as f64 - 0.4)
            // A tick per class.
            .x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 5.0, 10.0]))
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show_axes([true, true]);
        plot.show(ui, |plot| plot.bar_chart(BarChart::new("chains", bars)));
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
