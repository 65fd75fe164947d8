//! The window: one struct per view, each owning its state; this file wires them to the trainer.

pub mod chains;
pub mod controls;
pub mod files;
pub mod filters;
pub mod gl_paint;
pub mod look;
pub mod loss_plot;
pub mod quality_view;
pub mod status;
pub mod texture;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::data::Dataset;
use crate::io::export::LossCsvRow;
use crate::model::TrainingConfig;
use crate::toy::view::ToyExplorer;
use crate::trainer::{ChainCommand, Command, Progress, TrainerHandle, TrainerOptions, Update};

use chains::ChainView;
use controls::ControlPanel;
use files::{FileJobs, FileOutcome, FileRequest};
use filters::FilterView;
use loss_plot::{LossPlotView, describe_change};
use quality_view::QualityView;
use status::{FrameStats, status_ui};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Training,
    Quality,
    Toy,
}

/// A message for the person, shown above the views until dismissed or replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

pub struct RbmLabApp {
    trainer: TrainerHandle,
    dataset: Arc<Dataset>,
    pub controls: ControlPanel,
    pub loss: LossPlotView,
    pub filters: FilterView,
    pub chains: ChainView,
    pub toy: ToyExplorer,
    pub quality: QualityView,
    pub tab: Tab,
    progress: Option<Progress>,
    notice: Option<Notice>,
    files: FileJobs,
    frames: FrameStats,
    last_frame_at: Option<Instant>,
    /// When the last hyperparameter marker was placed, and the settings before that gesture began.
    last_marker_at: Option<Instant>,
    gesture_base: Option<TrainingConfig>,
    /// Frame times in the status bar (off in snapshot tests, where they would differ run to run).
    pub show_frame_timing: bool,
    stats_log: Option<StatsLog>,
}

/// Periodic one-line reports on stderr (`--stats-every`), for measuring the window from scripts.
struct StatsLog {
    every: Duration,
    since: Instant,
    samples_at_start: u64,
}

impl RbmLabApp {
    /// Starts the trainer (woken repaints go to `ctx`) and builds the views.
    pub fn new(ctx: &egui::Context, dataset: Arc<Dataset>, mut options: TrainerOptions) -> std::io::Result<Self> {
        let repaint_ctx = ctx.clone();
        // A zero-delay request makes egui paint twice; a 1 ms delay paints once per publication,
        // so the window draws at the trainer's publishing rate (~30 Hz) and no faster.
        options.waker = Some(Arc::new(move || repaint_ctx.request_repaint_after(Duration::from_millis(1))));
        let controls = ControlPanel::new(options.config.clone(), options.spec.clone());
        let chains = ChainView::new(
            options.chain_count,
            options.chain_start,
            options.chain_steps_per_second,
            options.chains_running,
        );
        let trainer = TrainerHandle::spawn(dataset.clone(), options)?;
        Ok(Self {
            trainer,
            dataset,
            controls,
            loss: LossPlotView::default(),
            filters: FilterView::default(),
            chains,
            toy: ToyExplorer::default(),
            quality: QualityView::default(),
            tab: Tab::Training,
            progress: None,
            notice: None,
            files: FileJobs::default(),
            frames: FrameStats::default(),
            last_frame_at: None,
            last_marker_at: None,
            gesture_base: None,
            show_frame_timing: true,
            stats_log: None,
        })
    }

    pub fn trainer(&self) -> &TrainerHandle {
        &self.trainer
    }
    pub fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }
    pub fn frame_stats(&self) -> &FrameStats {
        &self.frames
    }

    /// Draw the plot backgrounds and the images with `painter` (the window runs on glow) instead of
    /// egui_plot's backgrounds and egui textures.
    pub fn use_opaque_painter(&mut self, painter: gl_paint::OpaquePainter) {
        self.filters.use_gl(&painter);
        self.chains.use_gl(&painter);
        self.quality.use_opaque_painter(painter.clone());
        self.loss.opaque = Some(painter);
    }

    /// Print the trainer's rate over each period and the frame statistics every `every`.
    pub fn log_stats_every(&mut self, every: Duration) {
        self.stats_log = Some(StatsLog { every, since: Instant::now(), samples_at_start: 0 });
    }

    fn log_stats(&mut self, now: Instant) {
        let samples = self.progress.as_ref().map_or(0, |p| p.samples_seen);
        let Some(log) = &mut self.stats_log else { return };
        let elapsed = now.duration_since(log.since);
        if elapsed < log.every {
            return;
        }
        let rate = samples.saturating_sub(log.samples_at_start) as f64 / elapsed.as_secs_f64();
        eprintln!(
            "rbm-lab stats: {rate:.0} samples/s, {:.1} fps, app CPU {:.2} ms p95 ({:.2} mean) per frame, {samples} samples",
            self.frames.fps(),
            self.frames.cpu_p95_ms(),
            self.frames.cpu_mean_ms()
        );
        log.since = now;
        log.samples_at_start = samples;
    }

    fn say(&mut self, text: impl Into<String>, is_error: bool) {
        self.notice = Some(Notice { text: text.into(), is_error });
    }

    /// Folds one trainer update into the views.
    pub fn apply_update(&mut self, update: Update) {
        match update {
            Update::Losses(points) => points.into_iter().for_each(|p| self.loss.history.push(p)),
            Update::EpochFinished { epoch, mean_loss } => self.loss.history.push_epoch_mean(epoch, mean_loss),
            Update::Progress(progress) => {
                self.controls.running = progress.running;
                self.progress = Some(progress);
            }
            Update::ConfigApplied { epoch_position, config } => {
                let old = self.progress.as_ref().map(|p| p.config.clone()).unwrap_or_default();
                // Changes less than a second apart come from one gesture (a slider drag): one marker.
                let now = Instant::now();
                let merge = self.last_marker_at.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1));
                self.last_marker_at = Some(now);
                if !merge || self.gesture_base.is_none() {
                    self.gesture_base = Some(old.clone());
                }
                let label = describe_change(self.gesture_base.as_ref().unwrap_or(&old), &config);
                self.loss.history.push_marker(epoch_position, label, merge);
                if let Some(p) = &mut self.progress {
                    p.config = config.clone();
                }
                if config != self.controls.config {
                    self.controls.adopt_config(config);
                }
            }
            Update::Monitors(point) => self.quality.push_monitor(point),
            Update::ModelReplaced { description, .. } => {
                self.loss.history.clear();
                self.quality.clear();
                self.say(format!("Model: {description}"), false);
            }
            Update::Saved(path) => self.say(format!("Saved {}", path.display()), false),
            Update::ModelFile(_) => {}
            Update::Diverged { message, .. } => {
                self.controls.running = false;
                self.say(message, true);
            }
            Update::Error(message) => self.say(message, true),
        }
    }

    /// Drains the trainer's messages and mailboxes (cheap: no numerical work).
    fn receive(&mut self, ctx: &egui::Context) {
        let updates: Vec<Update> = self.trainer.updates().collect();
        for update in updates {
            self.apply_update(update);
        }
        if let Some(snapshot) = self.trainer.take_model_snapshot() {
            self.filters.set_snapshot(snapshot);
        }
        if let Some(snapshot) = self.trainer.take_chain_snapshot() {
            self.chains.set_snapshot(ctx, snapshot);
        }
        if let Some(diagnostics) = self.trainer.take_diagnostics() {
            self.quality.set_diagnostics(ctx, diagnostics);
        }
        for outcome in self.files.finished() {
            match outcome {
                FileOutcome::DatasetLoaded(dataset) => {
                    self.say(
                        format!(
                            "Dataset {}: {} training images of {}x{}",
                            dataset.name, dataset.train.count, dataset.rows, dataset.cols
                        ),
                        false,
                    );
                    self.dataset = dataset.clone();
                    self.trainer.send(Command::SetDataset(dataset));
                }
                FileOutcome::ModelLoaded(model, path) => {
                    self.say(format!("Loading {}", path.display()), false);
                    self.trainer.send(Command::LoadModel(model));
                }
                FileOutcome::SavePathChosen(path) => self.trainer.send(Command::SaveModel(path)),
                FileOutcome::Exported(path) => self.say(format!("Wrote {}", path.display()), false),
                FileOutcome::Cancelled => {}
                FileOutcome::Failed(message) => self.say(message, true),
            }
        }
    }

    fn loss_rows(&self) -> Vec<LossCsvRow> {
        let history = &self.loss.history;
        let mut rows: Vec<LossCsvRow> = history
            .batch_points()
            .iter()
            .map(|p| LossCsvRow { epoch: p.x, batch_loss: p.y as f32, epoch_mean: None })
            .collect();
        for mean in history.epoch_means() {
            rows.push(LossCsvRow { epoch: mean.x, batch_loss: f32::NAN, epoch_mean: Some(mean.y) });
        }
        rows.sort_by(|a, b| a.epoch.total_cmp(&b.epoch));
        rows
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                let ctx = ui.ctx().clone();
                if ui
                    .button("Open dataset folder…")
                    .on_hover_text("A folder with IDX files (MNIST, Fashion-MNIST, KMNIST…)")
                    .clicked()
                {
                    self.files.start(&ctx, FileRequest::OpenDataset);
                }
                if ui.button("Use embedded MNIST").clicked() {
                    match Dataset::embedded_mnist() {
                        Ok(dataset) => {
                            let dataset = Arc::new(dataset);
                            self.dataset = dataset.clone();
                            self.trainer.send(Command::SetDataset(dataset));
                        }
                        Err(e) => self.say(format!("Embedded MNIST unreadable: {e}"), true),
                    }
                }
                ui.separator();
                if ui.button("Load model…").clicked() {
                    self.files.start(&ctx, FileRequest::LoadModel);
                }
                if ui.button("Save model…").clicked() {
                    self.files.start(&ctx, FileRequest::ChooseSavePath);
                }
                ui.separator();
                if ui.button("Export filters as PNG…").clicked() {
                    match self.filters.snapshot() {
                        Some(s) => {
                            let image = FilterView::render(s, self.filters.contrast);
                            self.files.start(&ctx, FileRequest::ExportFilters(image));
                        }
                        None => self.say("No weights to export yet", true),
                    }
                }
                if ui.button("Export samples as PNG…").clicked() {
                    match self.chains.snapshot() {
                        Some(s) => {
                            let image = ChainView::render(s);
                            self.files.start(&ctx, FileRequest::ExportSamples(image));
                        }
                        None => self.say("No samples to export yet", true),
                    }
                }
                if ui.button("Export loss history as CSV…").clicked() {
                    let rows = self.loss_rows();
                    self.files.start(&ctx, FileRequest::ExportLossCsv(rows));
                }
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                let mut light = look::is_light_look(ui.ctx());
                let hint = "Square corners, no shadows and a plain (not anti-aliased) batch loss line: \
                            a third less drawing for a software renderer (on by default when OpenGL \
                            renders on the CPU, as in a VM)";
                if ui.checkbox(&mut light, "Light look").on_hover_text(hint).changed() {
                    look::set_light_look(ui.ctx(), light);
                }
                ui.checkbox(&mut self.show_frame_timing, "Frame timing in the status bar");
            });
            ui.separator();
            ui.selectable_value(&mut self.tab, Tab::Training, "MNIST training");
            ui.selectable_value(&mut self.tab, Tab::Quality, "Quality (log-likelihood)");
            ui.selectable_value(&mut self.tab, Tab::Toy, "Toy RBM (5 units)");
        });
    }

    fn notice_ui(&mut self, ui: &mut egui::Ui) {
        let Some(notice) = &self.notice else { return };
        let mut dismiss = false;
        let color = if notice.is_error { egui::Color32::from_rgb(220, 80, 60) } else { ui.visuals().text_color() };
        ui.horizontal(|ui| {
            ui.colored_label(color, &notice.text);
            dismiss = ui.small_button("x").on_hover_text("Dismiss this message").clicked();
        });
        if dismiss {
            self.notice = None;
        }
    }

    fn training_ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
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

    /// Everything the window draws, callable from eframe and from kittest.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.receive(&ctx);
        let mut commands = Vec::new();
        if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Q)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }

        if let Some(painter) = &self.loss.opaque {
            ctx.layer_painter(egui::LayerId::background()).add(painter.nearest_font_texels());
        }
        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status")
            .show(ui, |ui| status_ui(ui, self.progress.as_ref(), self.show_frame_timing.then_some(&self.frames)));
        if self.tab != Tab::Toy {
            egui::Panel::left("controls").resizable(false).exact_size(290.0).show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls.ui(ui, &mut commands));
            });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            self.notice_ui(ui);
            match self.tab {
                Tab::Training => self.training_ui(ui, &mut commands),
                Tab::Quality => {
                    let training = self.progress.as_ref().is_some_and(|p| p.running);
                    self.quality.ui(ui, self.filters.snapshot(), &self.dataset, training);
                }
                Tab::Toy => self.toy.ui(ui),
            }
        });

        for command in commands {
            if let Command::Chains(ChainCommand::Reset { .. }) = &command {
                self.chains.running = true;
            }
            self.trainer.send(command);
        }
        if self.files.in_flight() > 0 || self.quality.is_evaluating() {
            // Poll for the dialog's answer without spinning.
            ctx.request_repaint_after(Duration::from_millis(200));
        }
        let now = Instant::now();
        let interval = self.last_frame_at.map_or(0.0, |t| now.duration_since(t).as_secs_f32());
        self.last_frame_at = Some(now);
        self.frames.record(now.duration_since(started), interval);
        self.log_stats(now);
    }

    /// Stops and joins the trainer (the window is closing), and says what happened on stderr.
    pub fn shutdown(&mut self) -> bool {
        let started = Instant::now();
        let joined = self.trainer.shutdown(Duration::from_secs(2));
        let (samples, epochs) = self.progress.as_ref().map_or((0, 0.0), |p| (p.samples_seen, p.epoch_position()));
        eprintln!(
            "rbm-lab: window closed after training {samples} samples ({epochs:.3} epochs); trainer {} in {} ms",
            if joined { "stopped" } else { "did not stop" },
            started.elapsed().as_millis()
        );
        joined
    }
}

/// For the eframe window: the frame is cleared to the panels' colour and the panels paint no fill of
/// their own. The same picture, but a full-window layer fewer for the renderer each frame, which
/// is most of a frame's cost when OpenGL runs in software.
pub fn clear_instead_of_panel_fill(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| style.visuals.panel_fill = egui::Color32::TRANSPARENT);
}

impl eframe::App for RbmLabApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        let panels = if visuals.dark_mode { egui::Visuals::dark() } else { egui::Visuals::light() };
        panels.panel_fill.to_normalized_gamma_f32()
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        self.shutdown();
        // The views share one painter (see use_opaque_painter), which also made their images.
        if let (Some(painter), Some(gl)) = (&self.loss.opaque, gl) {
            painter.destroy(gl);
        }
    }
}
