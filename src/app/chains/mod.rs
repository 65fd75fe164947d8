//! The Gibbs chain panel: what the model generates, beside where each chain started, and, once
//! the Quality tab has a raw-pixel probe, which class each chain's sample looks like and how many
//! chains show each class (a sampler stuck on a few classes shows as a few tall bars).
//!
//! A model with label units can draw chosen classes: every chain one class, or one per class
//! (chain i clamped to class i mod C), shown as one column per class under the class's name,
//! with, once the probe exists, how many of each column's samples the probe reads as its class.

use std::sync::Arc;

use egui_plot::{Bar, BarChart, Plot};

use crate::data::known::{class_name, image_noun};
use crate::images::{CHAINS_PER_ROW, GrayImage, GridLayout, chain_grid_in_columns};
use crate::model::probe::{Probe, class_counts};
use crate::model::{MathPool, SubnormalMode, VisibleSampling};
use crate::trainer::{ChainClamp, ChainCommand, ChainSnapshot, ChainStart, Command};

use super::labels;
use super::software_render::Render;
use super::texture::{GrayTexture, fit_size};

/// Height of the class-count bars.
const COUNTS_HEIGHT: f32 = 90.0;

/// Height of the strip of class names above the columns of "one per class" (two lines of text:
/// long names wrap), and of the strip of probe counts below them.
const NAMES_HEIGHT: f32 = 30.0;
const DRAWN_HEIGHT: f32 = 16.0;

/// The colours of a sample the probe reads as its clamped class, and of one it reads otherwise.
const DRAWN_COLOUR: egui::Color32 = egui::Color32::from_rgb(120, 220, 120);
const OTHER_COLOUR: egui::Color32 = egui::Color32::from_rgb(255, 200, 80);

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
    /// The classes the chains of a model with label units are clamped to.
    pub clamp: ChainClamp,
    /// The name of the dataset trained on (as [`crate::data::Dataset::name`]): it names the
    /// images and the classes.
    pub dataset: String,
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
            clamp: ChainClamp::Free,
            dataset: String::new(),
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

    /// With one chain per class: for each class, how many of its chains' samples the classifier
    /// reads as that class, and how many chains draw it ("did it draw a 7"). Empty without a
    /// classifier or without chains clamped one per class.
    pub fn drawn_counts(&self) -> Vec<(usize, usize)> {
        let Some(snapshot) = &self.snapshot else { return Vec::new() };
        let Some(columns) = class_columns(snapshot) else { return Vec::new() };
        if self.classifier.is_none() || self.classes.len() != snapshot.count {
            return Vec::new();
        }
        let mut counts = vec![(0, 0); columns];
        for (chain, &seen) in self.classes.iter().enumerate() {
            if let Some(class) = snapshot.clamp.class_of(chain, snapshot.label_classes)
                && let Some((drawn, total)) = counts.get_mut(class)
            {
                *total += 1;
                *drawn += usize::from(usize::from(seen) == class);
            }
        }
        counts
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

    /// Rows of up to ten chains (or one column per class when each chain draws a class of its
    /// own): the start images, then the chains' current p(v|h) below them.
    pub fn render(snapshot: &ChainSnapshot) -> GrayImage {
        chain_grid_in_columns(
            &snapshot.start_images,
            &snapshot.mean_images,
            snapshot.count,
            chains_per_row(snapshot),
            snapshot.image_rows,
            snapshot.image_cols,
        )
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let steps = self.snapshot.as_ref().map_or(0, |s| s.steps);
        // Taken before any widget: an overflowing row would widen the Ui for what follows.
        let width = ui.available_width();
        let images = format!("test {}", image_noun(&self.dataset));
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
                    ChainStart::TestDigits => images.as_str(),
                    ChainStart::Noise => "noise",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.start, ChainStart::TestDigits, images.as_str());
                    ui.selectable_value(&mut self.start, ChainStart::Noise, "noise");
                })
                .response
                .on_hover_text("Where new chains start: test images of each class in turn, or uniform random pixels");
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
        let columns = self.snapshot.as_ref().and_then(|s| class_columns(s));
        ui.label(if columns.is_some() {
            "One column per class. Top row of each pair: where the chain started. Below: p(v|h) now."
        } else {
            "Top row of each pair: where the chain started. Below: p(v|h) now."
        });
        let drawn = self.drawn_counts();
        let counts = if columns.is_some() { Vec::new() } else { self.class_counts() };
        // Room for the class names above and the counts below the chains.
        let mut around = if counts.is_empty() && drawn.is_empty() { 0.0 } else { COUNTS_HEIGHT + 40.0 };
        if columns.is_some() {
            around += NAMES_HEIGHT + if drawn.is_empty() { 0.0 } else { DRAWN_HEIGHT };
        }
        match self.texture.size() {
            Some(pixels) => {
                let size = fit_size(pixels, egui::vec2(width, (ui.available_height() - around).max(60.0)));
                if let Some(columns) = columns {
                    let (rect, _) = ui.allocate_exact_size(egui::vec2(size.x, NAMES_HEIGHT), egui::Sense::hover());
                    self.class_names_ui(ui, rect, pixels, columns);
                }
                let response = self.texture.show(ui, size, egui::Sense::hover());
                self.class_labels_ui(ui, response.rect, pixels);
                if !drawn.is_empty() {
                    let (rect, _) = ui.allocate_exact_size(egui::vec2(size.x, DRAWN_HEIGHT), egui::Sense::hover());
                    self.drawn_ui(ui, rect, pixels, &drawn);
                }
            }
            None => {
                ui.label("Waiting for the chains…");
            }
        }
        if let Some((_, accuracy)) = &self.classifier {
            if !drawn.is_empty() {
                self.drawn_chart_ui(ui, &drawn, *accuracy, width);
            } else if !counts.is_empty() {
                self.counts_ui(ui, &counts, *accuracy, width);
            }
        }
    }

    /// The x range of column `column` of the chain picture drawn in `rect`, in points.
    fn column_span(&self, rect: egui::Rect, pixels: [usize; 2], column: usize) -> Option<egui::Rangef> {
        let snapshot = self.snapshot.as_ref()?;
        let layout = GridLayout::with_columns(usize::MAX, chains_per_row(snapshot), snapshot.image_cols, 1);
        let scale = rect.width() / pixels[0].max(1) as f32;
        let left = rect.min.x + layout.origin(column).0 as f32 * scale;
        Some(egui::Rangef::new(left, left + snapshot.image_cols as f32 * scale))
    }

    /// Each class's name above its column (wrapped to two lines at most), as a label that
    /// assistive technology and tests find, with the name in full on hover.
    fn class_names_ui(&self, ui: &mut egui::Ui, rect: egui::Rect, pixels: [usize; 2], columns: usize) {
        let painter = ui.painter_at(rect);
        let colour = ui.visuals().strong_text_color();
        for class in 0..columns {
            let Some(span) = self.column_span(rect, pixels, class) else { return };
            let name = class_name(&self.dataset, class);
            let cell = egui::Rect::from_x_y_ranges(span, rect.y_range());
            let font = egui::FontId::proportional((span.span() / 4.5).clamp(9.0, 14.0));
            let mut job = egui::text::LayoutJob::simple(name.clone(), font, colour, span.span() + 4.0);
            job.halign = egui::Align::Center;
            job.wrap.max_rows = 2;
            let galley = painter.layout_job(job);
            painter.galley(egui::pos2(cell.center().x, cell.bottom() - galley.size().y), galley, colour);
            let id = ui.make_persistent_id(("chain class", class));
            ui.interact(cell, id, egui::Sense::hover())
                .on_hover_text(format!("The chains drawing class {class}: {name}"))
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &name));
        }
    }

    /// Under each class's column: how many of its samples the probe reads as the class.
    fn drawn_ui(&self, ui: &mut egui::Ui, rect: egui::Rect, pixels: [usize; 2], drawn: &[(usize, usize)]) {
        let painter = ui.painter_at(rect);
        for (class, &(seen, total)) in drawn.iter().enumerate() {
            let Some(span) = self.column_span(rect, pixels, class) else { return };
            let text = format!("✔ {seen}/{total}");
            let colour = if seen == total { DRAWN_COLOUR } else { OTHER_COLOUR };
            let font = egui::FontId::proportional((span.span() / 4.0).clamp(9.0, 13.0));
            let cell = egui::Rect::from_x_y_ranges(span, rect.y_range());
            painter.text(cell.center_top(), egui::Align2::CENTER_TOP, &text, font, colour);
            let id = ui.make_persistent_id(("chain class drawn", class));
            let name = class_name(&self.dataset, class);
            ui.interact(cell, id, egui::Sense::hover())
                .on_hover_text(format!("{seen} of the {total} chains drawing {name} look like {name} to the probe"))
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &text));
        }
    }

    /// Each chain's class in a corner of its current sample's tile; with one chain per class, a
    /// tick where that is the class the chain draws.
    fn class_labels_ui(&self, ui: &egui::Ui, rect: egui::Rect, pixels: [usize; 2]) {
        let Some(snapshot) = &self.snapshot else { return };
        if self.classes.len() != snapshot.count || pixels[0] == 0 {
            return;
        }
        let per_row = chains_per_row(snapshot);
        let layout = GridLayout::with_columns(usize::MAX, per_row, snapshot.image_cols, snapshot.image_rows);
        let scale = rect.width() / pixels[0] as f32;
        let font = egui::FontId::proportional((10.0 * scale).clamp(9.0, 14.0));
        let painter = ui.painter_at(rect);
        let each_class = class_columns(snapshot).is_some();
        for (chain, &class) in self.classes.iter().enumerate() {
            // Chain c's current sample is in the second row of its group of `per_row` chains.
            let tile = (2 * (chain / per_row) + 1) * per_row + chain % per_row;
            let (x, y) = layout.origin(tile);
            let corner = rect.min
                + egui::vec2((x + snapshot.image_cols) as f32, (y + snapshot.image_rows) as f32) * scale
                - egui::vec2(2.0, 1.0);
            let clamped = snapshot.clamp.class_of(chain, snapshot.label_classes);
            let (text, colour) = match clamped {
                Some(drawn) if each_class && drawn == usize::from(class) => ("✔".to_string(), DRAWN_COLOUR),
                _ => (class.to_string(), OTHER_COLOUR),
            };
            let galley = painter.layout_no_wrap(text, font.clone(), colour);
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
                 a few classes",
            );
        let bars = counts.iter().enumerate().map(|(class, &n)| Bar::new(class as f64, n as f64).width(0.7).name(class));
        self.bar_plot(ui, "chain_class_counts", width, counts.len(), vec![BarChart::new("chains", bars.collect())]);
    }

    /// With one chain per class: per class, its chains (grey) and those the probe reads as the
    /// class (green).
    fn drawn_chart_ui(&self, ui: &mut egui::Ui, drawn: &[(usize, usize)], accuracy: f64, width: f32) {
        let (seen, total) = drawn.iter().fold((0, 0), |(s, t), &(seen, total)| (s + seen, t + total));
        ui.label(format!(
            "Chains drawing their class, by the raw-pixel probe ({:.1}% on test images): {seen} of {total}",
            100.0 * accuracy
        ))
        .on_hover_text(
            "Each chain's p(v|h) classified by the linear probe on raw pixels trained in the Quality tab: a chain \
             counts when the probe reads its sample as the class its label is clamped to",
        );
        let bar =
            |class: usize, n: usize| Bar::new(class as f64, n as f64).width(0.7).name(class_name(&self.dataset, class));
        let totals = drawn.iter().enumerate().map(|(class, &(_, total))| bar(class, total));
        let seen = drawn.iter().enumerate().map(|(class, &(seen, _))| bar(class, seen));
        let charts = vec![
            BarChart::new("chains", totals.collect()).color(egui::Color32::GRAY),
            BarChart::new("drawn", seen.collect()).color(DRAWN_COLOUR),
        ];
        self.bar_plot(ui, "chain_class_drawn", width, drawn.len(), charts);
    }

    fn bar_plot(&self, ui: &mut egui::Ui, id: &str, width: f32, classes: usize, charts: Vec<BarChart>) {
        let plot = Plot::new(id)
            .width(width.min(360.0))
            .height(COUNTS_HEIGHT)
            .include_y(0.0)
            .include_x(-0.6)
            .include_x(classes as f64 - 0.4)
            // A tick per class.
            .x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 5.0, 10.0]))
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show_axes([true, true]);
        plot.show(ui, |plot| charts.into_iter().for_each(|chart| plot.bar_chart(chart)));
    }

    /// The class choice of a model with label units: any, one per class, or a class every chain
    /// draws.
    fn class_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        let before = self.clamp;
        let dataset = &self.dataset;
        let name = |clamp: ChainClamp| match clamp {
            ChainClamp::Free => "any".to_string(),
            ChainClamp::EachClass => "one per class".to_string(),
            ChainClamp::Class(class) => class_name(dataset, class),
        };
        let options = [ChainClamp::Free, ChainClamp::EachClass].into_iter();
        egui::ComboBox::from_label("class")
            .selected_text(name(self.clamp))
            .show_ui(ui, |ui| {
                for option in options.chain((0..self.label_classes).map(ChainClamp::Class)) {
                    ui.selectable_value(&mut self.clamp, option, name(option));
                }
            })
            .response
            .on_hover_text(
                "Clamp the label units: to a class, so that every chain draws it; one per class: chain i draws \
                 class i mod the number of classes, one column per class; any: the label is sampled",
            );
        if before != self.clamp {
            commands.push(Command::Chains(ChainCommand::SetClass(self.clamp)));
        }
    }
}

/// Chains per pair of rows of the picture: one per class when each chain draws a class of its own
/// (chain i in column i mod C is then in its class's column), else up to ten.
fn chains_per_row(snapshot: &ChainSnapshot) -> usize {
    class_columns(snapshot).unwrap_or(snapshot.count.clamp(1, CHAINS_PER_ROW))
}

/// The number of class columns when each chain draws a class of its own (the classes drawn: all
/// of them, or the first `count` with fewer chains), else `None`.
fn class_columns(snapshot: &ChainSnapshot) -> Option<usize> {
    let each_class = snapshot.clamp == ChainClamp::EachClass && snapshot.label_classes > 0;
    each_class.then(|| snapshot.label_classes.min(snapshot.count).max(1))
}

#[cfg(test)]
mod tests;
