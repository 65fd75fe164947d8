//! The Inpaint tab, an inference lab: draw, erase or hide part of an image and watch the RBM
//! complete it with clamped Gibbs sampling, mean-field and a free chain from the same start, with
//! F(v) and the error per step, and the hidden units behind the completion.
//!
//! The parts: `canvas.rs` (the picture, its hidden pixels, brush and undo), `runner.rs` (the
//! thread that steps the chains and its mailbox), `curves.rs` (the plots) and `panel.rs` (the
//! units behind a completion). The model is a copy of the trainer's latest weights (a loaded model
//! is the trainer's model after File > Load), taken when the tab opens, on "Refresh model" or every
//! few seconds; the stepping never runs on the trainer's thread or in the frame.

pub mod canvas;
pub mod curves;
pub mod panel;
pub mod runner;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::data::Dataset;
use crate::images::GrayImage;
use crate::model::inpaint::{CompletionMode, Half, StartFill};
use crate::trainer::{ModelSnapshot, Waker};

use super::software_render::Render;
use super::texture::{GrayTexture, fit_size};
use canvas::{Canvas, Tool};
use curves::CurvePlots;
use panel::{WhyPanel, chain_name};
use runner::{InpaintFrame, MAX_STEPS_PER_SECOND, MODES, Runner, RunnerCommand, RunnerReport, StartRequest};

/// What the hidden pixels hold when a chain starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fill {
    /// 0.5: no guess.
    #[default]
    Grey,
    /// Each pixel's mean over the training images.
    TrainingMeans,
    /// Whatever the canvas shows there (salt-and-pepper's flipped values, say).
    AsDrawn,
}

/// Which image of each chain is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Show {
    /// The chain's current state: Bernoulli samples (μ for mean-field).
    #[default]
    Samples,
    /// The running average of p(v|h): the estimated conditional marginals.
    Probabilities,
}

pub struct InpaintView {
    pub canvas: Canvas,
    runner: Option<Runner>,
    /// Why no thread could be started, or why the chains cannot run.
    problem: Option<String>,
    frame: Option<Arc<InpaintFrame>>,
    /// The model version last sent to the thread, and when.
    model_sent: Option<(u64, Instant)>,
    /// The canvas version last sent.
    start_sent: Option<u64>,
    /// The frame number of the last draw: a gap means the tab was just opened.
    last_drawn_frame: Option<u64>,
    pub auto_refresh: bool,
    pub refresh_seconds: f32,
    pub test_class: u8,
    pub test_index: usize,
    pub random_fraction: f64,
    pub noise_rate: f64,
    pub fill: Fill,
    pub show: Show,
    pub steps_per_second: f32,
    pub running: bool,
    /// Seeds the chains, the noise and the random masks; moves on with each use.
    seed: u64,
    chain_textures: Vec<GrayTexture>,
    chains_shown: Option<(Arc<InpaintFrame>, Show)>,
    pub why: WhyPanel,
    curves: CurvePlots,
    /// What the thread calls after each frame: the window's paced repaint.
    waker: Option<Waker>,
}

impl Default for InpaintView {
    fn default() -> Self {
        Self {
            canvas: Canvas::new(0, 0),
            runner: None,
            problem: None,
            frame: None,
            model_sent: None,
            start_sent: None,
            last_drawn_frame: None,
            auto_refresh: false,
            refresh_seconds: 5.0,
            test_class: 0,
            test_index: 0,
            random_fraction: 0.5,
            noise_rate: 0.1,
            fill: Fill::Grey,
            show: Show::Samples,
            steps_per_second: 20.0,
            running: false,
            seed: 1,
            chain_textures: (0..MODES.len()).map(|_| GrayTexture::default()).collect(),
            chains_shown: None,
            why: WhyPanel::default(),
            curves: CurvePlots::default(),
            waker: None,
        }
    }
}

impl InpaintView {
    /// A view whose frames repaint the window through `waker` (the window's frame pacer, so that
    /// running chains repaint no faster than the frame rate chosen for training).
    pub fn with_waker(waker: Waker) -> Self {
        Self { waker: Some(waker), ..Self::default() }
    }

    /// Images and plot backgrounds as `render` draws them.
    pub fn use_render(&mut self, render: &Render) {
        self.chain_textures.iter_mut().for_each(|t| t.use_render(render));
        self.chains_shown = None;
        self.why.use_render(render);
        self.curves.use_render(render);
    }

    /// The latest frame of the chains, if any.
    pub fn frame(&self) -> Option<&Arc<InpaintFrame>> {
        self.frame.as_ref()
    }

    /// Why the chains cannot run, if they cannot.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The tab is not shown: running chains pause (they would take a core from training unseen).
    pub fn hidden(&mut self) {
        if self.running {
            self.running = false;
            self.send(RunnerCommand::Pause);
        }
    }

    fn send(&mut self, command: RunnerCommand) {
        if let Some(runner) = &self.runner {
            runner.send(command);
        }
    }

    fn next_seed(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(1);
        self.seed
    }

    /// The thread, started on first use; `None` (and a problem said) if it cannot start.
    fn ensure_runner(&mut self, ctx: &egui::Context) -> bool {
        if self.runner.is_some() {
            return true;
        }
        let waker = self.waker.clone().unwrap_or_else(|| {
            let ctx = ctx.clone();
            Arc::new(move || ctx.request_repaint())
        });
        match Runner::spawn(Some(waker)) {
            Ok(runner) => {
                self.runner = Some(runner);
                let (chain, k) = (self.why.chain, self.why.k);
                self.send(RunnerCommand::Why { chain, k });
                true
            }
            Err(e) => {
                self.problem = Some(format!("Cannot start the inpainting thread: {e}"));
                false
            }
        }
    }

    fn poll(&mut self) {
        let Some(runner) = &self.runner else { return };
        match runner.take() {
            Some(RunnerReport::Frame(frame)) => {
                self.problem = None;
                self.frame = Some(frame);
            }
            Some(RunnerReport::Problem(message)) => {
                self.problem = Some(message);
                self.frame = None;
                self.running = false;
            }
            None => {}
        }
    }

    /// Test image `index` of the dataset as the canvas (and as the original to compare with).
    fn start_from_test(&mut self, dataset: &Dataset, index: usize) {
        if dataset.test.count == 0 {
            self.problem = Some("The dataset has no test images".into());
            return;
        }
        let index = index.min(dataset.test.count - 1);
        self.test_index = index;
        let mut image = vec![0.0; dataset.pixels_per_image()];
        dataset.test_image_f32(index, &mut image);
        self.canvas.set_image(&image, Some(image.clone()));
    }

    /// The next test image of the chosen class after the current index (wrapping around).
    fn start_from_class(&mut self, dataset: &Dataset) {
        let count = dataset.test.count;
        let start = self.test_index + 1;
        let found = (0..count).map(|i| (start + i) % count.max(1)).find(|&i| dataset.test.label(i) == self.test_class);
        match found {
            Some(index) => self.start_from_test(dataset, index),
            None => self.problem = Some(format!("The test set has no image of class {}", self.test_class)),
        }
    }

    fn start_request(&mut self, dataset: &Dataset) -> StartRequest {
        let fill = match self.fill {
            Fill::Grey => StartFill::Constant(0.5),
            Fill::TrainingMeans => StartFill::PerPixel(dataset.train_pixel_means()),
            Fill::AsDrawn => StartFill::Keep,
        };
        StartRequest {
            id: self.canvas.version(),
            image: self.canvas.pixels().to_vec(),
            mask: self.canvas.mask().clone(),
            original: self.canvas.original().map(<[f32]>::to_vec),
            fill,
            seed: self.seed,
        }
    }

    /// Sends the model when the tab has just opened, on request, every few seconds when asked, or
    /// when none was sent yet.
    fn take_model(&mut self, snapshot: Option<&Arc<ModelSnapshot>>, opened: bool, refresh: bool) {
        let Some(snapshot) = snapshot else { return };
        let due = match self.model_sent {
            None => true,
            Some((version, at)) => {
                let newer = version != snapshot.version;
                newer
                    && (opened
                        || refresh
                        || (self.auto_refresh && at.elapsed() >= Duration::from_secs_f32(self.refresh_seconds)))
            }
        };
        if due || refresh {
            self.model_sent = Some((snapshot.version, Instant::now()));
            self.send(RunnerCommand::Model(snapshot.clone()));
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, snapshot: Option<&Arc<ModelSnapshot>>, dataset: &Arc<Dataset>) {
        let frame_nr = ui.ctx().cumulative_frame_nr();
        let opened = self.last_drawn_frame.is_none_or(|last| last + 1 < frame_nr);
        self.last_drawn_frame = Some(frame_nr);
        if !self.ensure_runner(ui.ctx()) {
            if let Some(problem) = &self.problem {
                ui.colored_label(egui::Color32::from_rgb(220, 80, 60), problem);
            }
            return;
        }
        if snapshot.is_some_and(|s| s.gaussian) {
            // The completion sampler is the binary RBM's; a Gaussian model's conditionals differ.
            ui.label(
                "The Inpaint tab completes images with binary visible units; this model has Gaussian ones. \
                 Reset with binary visibles, or load a binary model, to inpaint.",
            );
            return;
        }
        if (self.canvas.rows(), self.canvas.cols()) != (dataset.rows, dataset.cols) {
            self.canvas = Canvas::new(dataset.rows, dataset.cols);
            self.start_from_test(dataset, 0);
        }
        self.poll();

        let mut refresh = false;
        ui.horizontal_wrapped(|ui| {
            ui.strong("Inpaint");
            match snapshot {
                Some(s) => ui.label(format!(
                    "model {}x{} of epoch {:.2}",
                    s.n_visible,
                    s.n_hidden,
                    self.frame.as_ref().map_or(s.epoch_position, |f| f.model_epoch)
                )),
                None => ui.label("No model yet: the trainer has not sent its weights"),
            };
            refresh = ui
                .add_enabled(snapshot.is_some(), egui::Button::new("Refresh model"))
                .on_hover_text("Take a copy of the model's latest weights (the chains go on from where they are)")
                .clicked();
            ui.checkbox(&mut self.auto_refresh, "every").on_hover_text("Take the latest weights again periodically");
            ui.add(egui::DragValue::new(&mut self.refresh_seconds).range(1.0..=600.0).suffix(" s"));
        });
        self.take_model(snapshot, opened, refresh);
        if snapshot.is_none() {
            ui.label("Start training or load a model (File > Load): the completions appear here then.");
        }
        if let Some(problem) = &self.problem {
            ui.colored_label(egui::Color32::from_rgb(220, 80, 60), problem);
        }

        self.start_ui(ui, dataset);
        self.tools_ui(ui);
        self.corruptions_ui(ui);
        if !ui.ctx().egui_wants_keyboard_input() && ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Z)) {
            self.canvas.undo();
        }
        self.inference_ui(ui);
        if self.start_sent != Some(self.canvas.version()) {
            self.start_sent = Some(self.canvas.version());
            let request = self.start_request(dataset);
            self.send(RunnerCommand::Start(Box::new(request)));
            if self.running {
                self.send(RunnerCommand::Run(self.steps_per_second));
            }
        }
        ui.separator();
        self.pictures_ui(ui);
        let frame = self.frame.clone();
        ui.horizontal_top(|ui| {
            let width = ui.available_width();
            ui.allocate_ui(egui::vec2(width * 0.58, ui.available_height()), |ui| {
                if let Some(frame) = &frame {
                    self.curves.ui(ui, frame, self.canvas.original().is_some());
                }
            });
            ui.separator();
            ui.vertical(|ui| {
                if self.why.ui(ui, frame.as_ref(), self.canvas.rows(), self.canvas.cols()) {
                    let (chain, k) = (self.why.chain, self.why.k);
                    self.send(RunnerCommand::Why { chain, k });
                }
            });
        });
    }

    fn start_ui(&mut self, ui: &mut egui::Ui, dataset: &Dataset) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Start from:");
            let last = dataset.test.count.saturating_sub(1);
            ui.add(egui::DragValue::new(&mut self.test_index).range(0..=last).prefix("test #"));
            if ui.button("Test image").on_hover_text("The test image of this index").clicked() {
                self.start_from_test(dataset, self.test_index);
            }
            ui.add(egui::DragValue::new(&mut self.test_class).range(0..=9).prefix("class "));
            if ui.button("Next of class").on_hover_text("The next test image of this class").clicked() {
                self.start_from_class(dataset);
            }
            if ui.button("Noise").on_hover_text("Each pixel 0 or 1 at random").clicked() {
                let seed = self.next_seed();
                self.canvas.fill_noise(seed);
            }
            if ui.button("Blank").on_hover_text("Every pixel 0 (and known)").clicked() {
                self.canvas.clear();
            }
        });
    }

    fn tools_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Tool:");
            ui.selectable_value(&mut self.canvas.tool, Tool::Brush, "Brush")
                .on_hover_text("Paint the intensity below; painted pixels become known");
            ui.selectable_value(&mut self.canvas.tool, Tool::Eraser, "Eraser")
                .on_hover_text("Paint 0; erased pixels become known");
            ui.selectable_value(&mut self.canvas.tool, Tool::HideBox, "Hide box")
                .on_hover_text("Drag a rectangle on the canvas to hide it");
            ui.add(egui::Slider::new(&mut self.canvas.brush_radius, 0.5..=4.0).text("size"))
                .on_hover_text("Brush radius in image pixels");
            ui.add(egui::Slider::new(&mut self.canvas.intensity, 0.0..=1.0).text("intensity"));
            if ui.add_enabled(self.canvas.undo_depth() > 0, egui::Button::new("Undo")).on_hover_text("Ctrl+Z").clicked()
            {
                self.canvas.undo();
            }
            if ui.button("Clear").on_hover_text("Every pixel 0 and known").clicked() {
                self.canvas.clear();
            }
        });
    }

    fn corruptions_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Hide:");
            for (label, half) in
                [("Bottom", Half::Bottom), ("Top", Half::Top), ("Left", Half::Left), ("Right", Half::Right)]
            {
                if ui.button(label).on_hover_text(format!("Hide the {} half", label.to_lowercase())).clicked() {
                    self.canvas.hide_half(half);
                }
            }
            ui.add(egui::Slider::new(&mut self.random_fraction, 0.0..=1.0).text("random"))
                .on_hover_text("The fraction of pixels the button hides at random");
            if ui.button("Hide random").clicked() {
                let seed = self.next_seed();
                // The slider keeps the fraction within [0, 1].
                let _ = self.canvas.hide_random(self.random_fraction, seed);
            }
            ui.add(egui::Slider::new(&mut self.noise_rate, 0.0..=1.0).text("rate"))
                .on_hover_text("The fraction of pixels salt-and-pepper noise hits (each becomes 0 or 1)");
            if ui.button("Salt & pepper").on_hover_text("Flip pixels at random to 0 or 1 and hide them").clicked() {
                let seed = self.next_seed();
                let _ = self.canvas.salt_and_pepper(self.noise_rate, seed);
            }
            if ui.button("Reveal all").on_hover_text("Every pixel known again").clicked() {
                self.canvas.reveal_all();
            }
        });
    }

    fn inference_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Inference:");
            if ui.button("Step chains").on_hover_text("One step of every chain").clicked() {
                self.running = false;
                self.send(RunnerCommand::Step(1));
            }
            let (label, hover) = if self.running {
                ("Pause chains", "Stop stepping")
            } else {
                ("Run chains", "Step continuously at the rate set")
            };
            if ui.button(label).on_hover_text(hover).clicked() {
                self.running = !self.running;
                let command =
                    if self.running { RunnerCommand::Run(self.steps_per_second) } else { RunnerCommand::Pause };
                self.send(command);
            }
            if ui.button("Restart chains").on_hover_text("Every chain back to the start picture").clicked() {
                self.send(RunnerCommand::Restart);
            }
            let before = self.steps_per_second;
            ui.add(
                egui::Slider::new(&mut self.steps_per_second, 1.0..=MAX_STEPS_PER_SECOND)
                    .logarithmic(true)
                    .text("steps/s"),
            );
            if self.running && before != self.steps_per_second {
                self.send(RunnerCommand::Run(self.steps_per_second));
            }
            ui.label("Hidden pixels start at:");
            let fill = self.fill;
            egui::ComboBox::from_id_salt("inpaint-fill").selected_text(fill_name(self.fill)).show_ui(ui, |ui| {
                for fill in [Fill::Grey, Fill::TrainingMeans, Fill::AsDrawn] {
                    ui.selectable_value(&mut self.fill, fill, fill_name(fill));
                }
            });
            if fill != self.fill {
                // Another start: the chains start over.
                self.start_sent = None;
            }
            ui.selectable_value(&mut self.show, Show::Samples, "Samples")
                .on_hover_text("Each chain's current state (μ for mean-field)");
            ui.selectable_value(&mut self.show, Show::Probabilities, "Probabilities")
                .on_hover_text("The running average of p(v|h): the estimated p(v_i = 1 | known pixels)");
        });
    }

    /// The canvas and the three chains side by side, at the same size.
    fn pictures_ui(&mut self, ui: &mut egui::Ui) {
        let (rows, cols) = (self.canvas.rows(), self.canvas.cols());
        let width = (ui.available_width() - 4.0 * 12.0) / 4.0;
        // About half the height left, the rest for the plots and the units below.
        let height = (ui.available_height() * 0.5 - 24.0).clamp(120.0, 420.0);
        let size = fit_size([cols, rows], egui::vec2(width, height));
        self.refresh_chain_textures(ui.ctx(), rows, cols);
        let frame = self.frame.clone();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                let hidden = self.canvas.mask().hidden_count();
                ui.label(format!("Canvas ({cols}x{rows}, {hidden} hidden)"))
                    .on_hover_text("Hidden pixels are the orange checkerboard; painting one makes it known again");
                self.canvas.ui(ui, size);
            });
            for (i, texture) in self.chain_textures.iter().enumerate() {
                ui.vertical(|ui| {
                    let chain = frame.as_ref().and_then(|f| f.chains.get(i));
                    let status = match (chain, frame.as_ref()) {
                        (Some(c), _) if c.mode == CompletionMode::MeanField && c.converged => ", converged".to_string(),
                        (Some(_), Some(f)) => format!(", step {}", f.steps),
                        _ => String::new(),
                    };
                    ui.label(format!("{}{status}", chain_name(i))).on_hover_text(chain_hover(i));
                    if texture.size().is_some() && chain.is_some() {
                        texture.show(ui, size, egui::Sense::hover());
                    } else {
                        ui.allocate_exact_size(size, egui::Sense::hover());
                    }
                });
            }
        });
    }

    fn refresh_chain_textures(&mut self, ctx: &egui::Context, rows: usize, cols: usize) {
        let Some(frame) = &self.frame else { return };
        if self.chains_shown.as_ref().is_some_and(|(shown, show)| Arc::ptr_eq(shown, frame) && *show == self.show) {
            return;
        }
        for (i, (chain, texture)) in frame.chains.iter().zip(&mut self.chain_textures).enumerate() {
            let values = match self.show {
                Show::Samples => &chain.state,
                Show::Probabilities => &chain.estimate,
            };
            if values.len() == rows * cols {
                texture.set(ctx, &format!("inpaint-chain-{i}"), &gray_image(values, rows, cols));
            }
        }
        self.chains_shown = Some((frame.clone(), self.show));
    }
}

/// Values in [0, 1] as a `cols x rows` grey image.
fn gray_image(values: &[f32], rows: usize, cols: usize) -> GrayImage {
    let pixels = values.iter().map(|&x| (x.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    GrayImage { width: cols, height: rows, pixels }
}

fn fill_name(fill: Fill) -> &'static str {
    match fill {
        Fill::Grey => "0.5",
        Fill::TrainingMeans => "training means",
        Fill::AsDrawn => "as drawn",
    }
}

fn chain_hover(index: usize) -> &'static str {
    match index {
        0 => "Known pixels fixed, hidden ones resampled from p(v_u | h): samples of p(v_u | v_k)",
        1 => "Known pixels fixed, hidden ones iterated μ ← σ(b + W σ(c + Wᵀv)) to a fixed point",
        _ => "Every pixel resampled from the same start: what the model does without the known pixels",
    }
}
