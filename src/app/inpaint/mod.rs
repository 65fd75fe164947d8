//! The Inpaint tab, an inference lab: draw, erase or hide part of an image and watch the RBM
//! complete it with clamped Gibbs sampling, mean-field and a free chain from the same start, with
//! F(v) and the error per step, and the hidden units behind the completion.
//!
//! The parts: `canvas.rs` (the picture, its hidden pixels, brush and undo), `runner.rs` (the
//! thread that steps the chains and its mailbox), `curves.rs` (the plots), `panel.rs` (the
//! units behind a completion), `controls.rs` (the rows of buttons and sliders) and `pictures.rs`
//! (the canvas and the chains' images); this file holds the tab's state, its thread and model
//! refresh, and the tab's layout. The model is a copy of the trainer's latest weights (a loaded model
//! is the trainer's model after File > Load), taken when the tab opens, on "Refresh model" or every
//! few seconds; the stepping never runs on the trainer's thread or in the frame.

pub mod canvas;
mod controls;
pub mod curves;
pub mod panel;
mod pictures;
pub mod runner;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::data::Dataset;
use crate::model::inpaint::StartFill;
use crate::trainer::{ModelSnapshot, Waker};

use super::software_render::Render;
use super::texture::GrayTexture;
use canvas::Canvas;
use curves::CurvePlots;
use panel::WhyPanel;
use runner::{InpaintFrame, MODES, Runner, RunnerCommand, RunnerReport, StartRequest};

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
        if snapshot.is_some_and(|s| s.is_gaussian()) {
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
}
