//! The window: one struct per view, each owning its state; this file wires them to the trainer.

pub mod chains;
pub mod controls;
pub mod file_dialog;
pub mod files;
pub mod filters;
pub mod frame_rate;
pub mod inpaint;
pub mod labels;
pub mod loss_plot;
#[cfg(test)]
mod memory_storage;
pub mod menu;
pub mod quality_view;
pub mod replace;
mod run;
pub mod runs;
pub mod session;
pub mod software_render;
pub mod status;
pub mod swap_plot;
pub mod texture;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::data::Dataset;
use crate::io::export::LossCsvRow;
use crate::io::{ModelFile, ModelMetadata};
use crate::model::TrainingConfig;
use crate::toy::view::ToyExplorer;
use crate::trainer::{
    ChainCommand, Command, ModelSnapshot, Progress, TrainerError, TrainerHandle, TrainerLink, TrainerOptions, Update,
};

use chains::ChainView;
use controls::ControlPanel;
use files::{FileDialogSettings, FileJobs, FileOutcome, FileRequest, Purpose};
use filters::FilterView;
use frame_rate::FrameRate;
use loss_plot::{LossPlotView, describe_change};
use quality_view::QualityView;
use replace::{Choice, ReplaceConfirmation, Replacement, SaveTracker};
use software_render::SoftwareRender;
use status::{FrameStats, status_ui};

pub use run::run;
pub use software_render::look;

/// Where the file dialog's settings are kept between runs (eframe's storage).
pub const FILE_DIALOG_SETTINGS_KEY: &str = "rbm-lab-file-dialog";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Training,
    Quality,
    Toy,
    Inpaint,
}

/// A message for the person, shown above the views until dismissed or replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

pub struct RbmLabApp {
    trainer: TrainerHandle,
    /// What the trainer was started with (and its waker), for restarting it.
    trainer_options: TrainerOptions,
    /// Why the trainer stopped, once it has died.
    trainer_stopped: Option<String>,
    /// A restarted trainer's first model replacement is the window's own weights, not a new model:
    /// it keeps whatever was unsaved.
    restarting: bool,
    dataset: Arc<Dataset>,
    /// The dataset in use before the last switch, until the trainer has answered it: a refusal
    /// puts it back, so the window never works on a dataset the trainer did not take.
    dataset_before_switch: Option<Arc<Dataset>>,
    pub controls: ControlPanel,
    pub loss: LossPlotView,
    pub filters: FilterView,
    pub chains: ChainView,
    pub toy: ToyExplorer,
    pub quality: QualityView,
    pub inpaint: inpaint::InpaintView,
    pub tab: Tab,
    progress: Option<Progress>,
    notice: Option<Notice>,
    pub files: FileJobs,
    /// File > Dataset's recent folders and where known datasets are looked for.
    pub menu: menu::DatasetMenu,
    saves: SaveTracker,
    confirmation: Option<ReplaceConfirmation>,
    frames: FrameStats,
    last_frame_at: Option<Instant>,
    /// When the last hyperparameter marker was placed, and the settings before that gesture began.
    last_marker_at: Option<Instant>,
    gesture_base: Option<TrainingConfig>,
    /// Frame times in the status bar (off in snapshot tests, where they would differ run to run).
    pub show_frame_timing: bool,
    /// View > Frame rate while training: the data views' repaint interval.
    pub frame_rate: FrameRate,
    /// The software renderer's programs, when OpenGL renders on the CPU (see `software_render`).
    software: Option<SoftwareRender>,
    stats_log: Option<StatsLog>,
    /// The kept session (see `session`): offered at start, written on close and while training.
    session: Option<session::SessionKeeper>,
    /// The earlier runs and the current one (see `runs`), and their window.
    pub runs: runs::RunHistory,
    pub runs_window: runs::view::RunsWindow,
}

/// Periodic one-line reports on stderr (`--stats-every`), for measuring the window from scripts.
struct StatsLog {
    every: Duration,
    since: Instant,
    samples_at_start: u64,
}

impl RbmLabApp {
    /// Starts the trainer (woken repaints go to `ctx`) and builds the views.
    pub fn new(ctx: &egui::Context, dataset: Arc<Dataset>, options: TrainerOptions) -> std::io::Result<Self> {
        let frame_rate = FrameRate::new(ctx);
        let options = TrainerOptions { waker: Some(frame_rate.waker()), ..options };
        let trainer = TrainerHandle::spawn(dataset.clone(), options.clone())?;
        Ok(Self::with_trainer(dataset, trainer, options, frame_rate))
    }

    /// The window on a trainer played through `link` (a test feeds it updates and reads its
    /// commands); `options` are what the views start with, as if the trainer had them.
    pub fn from_link(ctx: &egui::Context, dataset: Arc<Dataset>, link: TrainerLink, options: TrainerOptions) -> Self {
        let frame_rate = FrameRate::new(ctx);
        let options = TrainerOptions { waker: Some(frame_rate.waker()), ..options };
        Self::with_trainer(dataset, TrainerHandle::from_link(link), options, frame_rate)
    }

    fn with_trainer(
        dataset: Arc<Dataset>,
        trainer: TrainerHandle,
        options: TrainerOptions,
        frame_rate: FrameRate,
    ) -> Self {
        let controls = ControlPanel::new(options.config.clone(), options.spec.clone());
        let runs = runs::RunHistory::new(options.spec.clone(), options.config.clone());
        let chains = ChainView::new(
            options.chain_count,
            options.chain_start,
            options.chain_steps_per_second,
            options.chains_running,
            options.chain_restart_every,
        );
        Self {
            trainer,
            trainer_options: options,
            trainer_stopped: None,
            restarting: false,
            dataset,
            dataset_before_switch: None,
            controls,
            loss: LossPlotView::default(),
            filters: FilterView::default(),
            chains,
            toy: ToyExplorer::default(),
            quality: QualityView::default(),
            inpaint: inpaint::InpaintView::with_waker(frame_rate.waker()),
            tab: Tab::Training,
            progress: None,
            notice: None,
            files: FileJobs::default(),
            menu: menu::DatasetMenu::default(),
            saves: SaveTracker::default(),
            confirmation: None,
            frames: FrameStats::default(),
            last_frame_at: None,
            last_marker_at: None,
            gesture_base: None,
            show_frame_timing: true,
            frame_rate,
            software: None,
            stats_log: None,
            session: None,
            runs,
            runs_window: runs::view::RunsWindow::default(),
        }
    }

    /// Restores what was kept from the last run (eframe's storage, if any).
    pub fn restore_settings(&mut self, storage: Option<&dyn eframe::Storage>) {
        if let Some(settings) =
            storage.and_then(|s| eframe::get_value::<FileDialogSettings>(s, FILE_DIALOG_SETTINGS_KEY))
        {
            self.files.settings = settings;
        }
        if let Some(storage) = storage {
            self.menu.restore(storage);
        }
        self.frame_rate.restore(storage);
    }

    /// The dataset the window trains on, evaluates and names in saved models.
    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }

    /// Why the trainer stopped, if it died.
    pub fn trainer_stopped(&self) -> Option<&str> {
        self.trainer_stopped.as_deref()
    }

    /// Training samples since the model was created, loaded or last saved.
    pub fn unsaved_samples(&self) -> u64 {
        self.saves.unsaved(self.progress.as_ref().map_or(0, |p| p.samples_seen))
    }

    /// The question asked before replacing a model with unsaved training, while it is open.
    pub fn confirmation(&self) -> Option<&ReplaceConfirmation> {
        self.confirmation.as_ref()
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

    /// OpenGL renders on the CPU: the views draw plot backgrounds and images with its programs.
    pub fn use_software_render(&mut self, software: SoftwareRender) {
        let render = software.render();
        self.filters.use_render(render);
        self.chains.use_render(render);
        self.quality.use_render(render);
        self.inpaint.use_render(render);
        self.runs_window.use_render(render);
        self.loss.render = render.clone();
        self.software = Some(software);
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
                let ladder = progress.config.temperature_ladder();
                self.controls.swap_history.push(progress.epoch_position(), &ladder, &progress.swap_rates);
                self.quality.samples_seen = progress.samples_seen;
                self.chains.label_classes = progress.spec.label_classes;
                self.chains.dataset.clone_from(&progress.dataset);
                self.loss.squared_error = progress.spec.visible == crate::model::VisibleType::Gaussian;
                self.saves.progress(progress.samples_seen);
                self.runs_progress(&progress);
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
                self.session_config_applied();
            }
            Update::Monitors(point) => self.quality.push_monitor(point),
            Update::ModelReplaced { description, .. } => {
                // A restarted trainer's model is the same run's.
                let restarted = std::mem::take(&mut self.restarting);
                if !restarted {
                    self.runs_model_replaced();
                }
                self.loss.history.clear();
                self.quality.clear();
                self.controls.swap_history.clear();
                if !restarted {
                    self.saves.replaced(self.samples_seen());
                }
                self.say(format!("Model: {description}"), false);
                self.session_model_replaced();
            }
            Update::Saved(path) => self.saved(&path),
            Update::ModelFile(file) => self.session_model_file(*file),
            Update::Diverged { message, .. } => {
                self.controls.running = false;
                self.say(message, true);
            }
            Update::Error(error) => {
                if matches!(error, TrainerError::DatasetRefused { .. })
                    && let Some(previous) = self.dataset_before_switch.take()
                {
                    self.dataset = previous;
                }
                self.session_load_refused();
                self.report_error(error.to_string());
            }
            Update::TrainerStopped(message) => {
                self.controls.running = false;
                self.trainer_stopped = Some(message);
            }
        }
    }

    /// Shows an error. A replacement waiting for a save is called off: most likely the save itself
    /// failed, and what waited for it must not go ahead.
    fn report_error(&mut self, message: String) {
        if self.confirmation.take_if(|c| c.waiting_for_save).is_some() {
            self.say(format!("{message} The model was not replaced."), true);
        } else {
            self.say(message, true);
        }
    }

    fn samples_seen(&self) -> u64 {
        self.progress.as_ref().map_or(0, |p| p.samples_seen)
    }

    /// The model is on disk at `path`; a replacement that waited for this save goes ahead.
    fn saved(&mut self, path: &std::path::Path) {
        self.saves.saved(self.samples_seen());
        self.say(format!("Saved {}", path.display()), false);
        if let Some(confirmation) = self.confirmation.take_if(|c| c.waiting_for_save) {
            self.replace(confirmation.replacement);
        }
    }

    /// Replaces the model, asking first if that would lose unsaved training.
    pub fn request_replacement(&mut self, replacement: Replacement) {
        if self.trainer_stopped.is_some() {
            self.say("The trainer has stopped: save the last weights or restart it first (see above)", true);
            return;
        }
        if self.unsaved_samples() > 0 && replacement.loses_model(self.dataset.pixels_per_image()) {
            self.confirmation = Some(ReplaceConfirmation::new(replacement));
        } else {
            self.replace(replacement);
        }
    }

    fn replace(&mut self, replacement: Replacement) {
        match replacement {
            Replacement::Reset(spec) => self.trainer.send(Command::Reset(spec)),
            Replacement::Load(model, path) => {
                self.say(format!("Loading {}", path.display()), false);
                self.trainer.send(Command::LoadModel(model));
            }
            Replacement::Dataset(dataset) => {
                self.say(
                    format!(
                        "Dataset {}: {} training images of {}x{}",
                        dataset.name, dataset.train.count, dataset.rows, dataset.cols
                    ),
                    false,
                );
                self.dataset_before_switch = Some(std::mem::replace(&mut self.dataset, dataset.clone()));
                self.trainer.send(Command::SetDataset(dataset));
            }
        }
    }

    fn confirmation_ui(&mut self, ui: &mut egui::Ui) {
        let unsaved = self.unsaved_samples();
        let Some(choice) = self.confirmation.as_ref().and_then(|c| c.ui(ui, unsaved)) else { return };
        match choice {
            Choice::SaveFirst => {
                if let Some(c) = &mut self.confirmation {
                    c.waiting_for_save = true;
                }
                self.files.start(ui.ctx(), FileRequest::ChooseSavePath);
            }
            Choice::Discard => {
                if let Some(confirmation) = self.confirmation.take() {
                    self.replace(confirmation.replacement);
                }
            }
            Choice::Cancel => self.confirmation = None,
        }
    }

    /// The weights the window last received, as a model file (no training state: the trainer
    /// that had it is gone).
    fn last_weights_file(&self) -> Result<ModelFile, String> {
        let snapshot: &ModelSnapshot =
            self.filters.snapshot().ok_or("The trainer stopped before it sent any weights")?;
        if snapshot.gaussian {
            return Err("The last weights are a Gaussian–Bernoulli model's without its variances: Reset".into());
        }
        let rbm = snapshot.rbm().map_err(|e| format!("The last weights cannot be used: {e}"))?;
        let (config, spec) = match &self.progress {
            Some(p) => (p.config.clone(), p.spec.clone()),
            None => (self.trainer_options.config.clone(), self.trainer_options.spec.clone()),
        };
        let spec = crate::model::ModelSpec { n_hidden: snapshot.n_hidden, ..spec };
        let mut metadata =
            ModelMetadata::new(self.dataset.name.clone(), snapshot.image_rows, snapshot.image_cols, config, spec);
        metadata.epochs_trained = snapshot.epoch_position;
        metadata.samples_seen = self.samples_seen();
        Ok(ModelFile::new(rbm, metadata))
    }

    /// A save path was chosen: the trainer writes its model, or, if it has died, the window writes
    /// the last weights it received.
    fn save_to(&mut self, ctx: &egui::Context, path: std::path::PathBuf) {
        if self.trainer_stopped.is_none() {
            self.trainer.send(Command::SaveModel(path));
            return;
        }
        match self.last_weights_file() {
            Ok(file) => self.files.write_model(ctx, path, file),
            Err(message) => {
                self.confirmation = None;
                self.say(message, true);
            }
        }
    }

    /// A new trainer thread from the last weights the window received (the loss history restarts).
    fn restart_trainer(&mut self) {
        let file = match self.last_weights_file() {
            Ok(file) => file,
            Err(message) => return self.say(message, true),
        };
        let epoch = file.metadata.epochs_trained;
        let mut options = self.trainer_options.clone();
        options.start_running = false;
        options.chains_running = self.chains.running;
        options.config = file.metadata.training.clone();
        options.spec = file.metadata.spec.clone();
        match TrainerHandle::spawn(self.dataset.clone(), options) {
            Ok(trainer) => {
                trainer.send(Command::LoadModel(Box::new(file)));
                // The old handle's thread has ended: dropping it joins at once.
                self.trainer = trainer;
                self.trainer_stopped = None;
                self.restarting = true;
                self.say(
                    format!("Trainer restarted from the weights of epoch {epoch:.3}; press Start to train"),
                    false,
                );
            }
            Err(e) => self.say(format!("Could not start a trainer thread: {e}"), true),
        }
    }

    /// The dead trainer's banner: what happened, and what can be done about it.
    fn stopped_banner_ui(&mut self, ui: &mut egui::Ui) {
        let Some(message) = &self.trainer_stopped else { return };
        let epoch = self.filters.snapshot().map(|s| s.epoch_position);
        let mut save = false;
        let mut restart = false;
        egui::Frame::new()
            .fill(egui::Color32::from_rgb(90, 24, 20))
            .stroke(egui::Stroke::new(1.0, egui::Color32::from_rgb(220, 80, 60)))
            .inner_margin(egui::Margin::same(8))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(
                    egui::RichText::new(format!("Training stopped unexpectedly: {message}"))
                        .strong()
                        .color(egui::Color32::from_rgb(255, 220, 210)),
                );
                ui.horizontal(|ui| {
                    let weights = match epoch {
                        Some(epoch) => format!("The window holds the last weights it received (epoch {epoch:.3})."),
                        None => "The trainer sent no weights before it stopped.".to_string(),
                    };
                    ui.label(egui::RichText::new(weights).color(egui::Color32::from_rgb(255, 220, 210)));
                    let has_weights = epoch.is_some();
                    save = ui
                        .add_enabled(has_weights, egui::Button::new("Save last weights…"))
                        .on_hover_text("Write those weights to a model file (without the training state)")
                        .clicked();
                    restart = ui
                        .add_enabled(has_weights, egui::Button::new("Restart trainer"))
                        .on_hover_text("Start a new trainer from those weights (paused; the loss plot starts over)")
                        .clicked();
                });
            });
        if save {
            self.files.start(ui.ctx(), FileRequest::ChooseSavePath);
        }
        if restart {
            self.restart_trainer();
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
                    self.menu.opened(&dataset);
                    self.request_replacement(Replacement::Dataset(dataset));
                }
                FileOutcome::ModelLoaded(model, path) => self.request_replacement(Replacement::Load(model, path)),
                FileOutcome::SavePathChosen(path) => self.save_to(ctx, path),
                FileOutcome::ModelWritten(path) => self.saved(&path),
                FileOutcome::Exported(path) => self.say(format!("Wrote {}", path.display()), false),
                FileOutcome::RunsImported(runs, path) => self.runs_imported(runs, &path),
                FileOutcome::Cancelled(Purpose::SaveModel)
                    if self.confirmation.as_ref().is_some_and(|c| c.waiting_for_save) =>
                {
                    self.confirmation = None;
                    self.say("Save cancelled: the model was not replaced", false);
                }
                FileOutcome::Cancelled(_) => {}
                FileOutcome::Failed(message) => self.report_error(message),
                FileOutcome::FolderUnreadable(folder, message) => {
                    let forgotten =
                        if self.menu.recent.remove(&folder) { " (removed from the recent folders)" } else { "" };
                    self.report_error(format!("{message}{forgotten}"));
                }
                FileOutcome::UsingBuiltinDialog => self.say(
                    "This system shows no file dialog (no desktop portal, no zenity): rbm-lab uses its own",
                    false,
                ),
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
        self.frame_rate.frame_started();
        let ctx = ui.ctx().clone();
        // Looked at before draining: the last words of a trainer that has ended are already queued.
        let alive = self.trainer.is_alive();
        self.receive(&ctx);
        if !alive && self.trainer_stopped.is_none() {
            self.controls.running = false;
            self.trainer_stopped = Some("the trainer thread ended without saying why".into());
        }
        self.controls.trainer_stopped = self.trainer_stopped.is_some();
        self.runs_overlays();
        let mut commands = Vec::new();
        if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Q)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status")
            .show(ui, |ui| status_ui(ui, self.progress.as_ref(), self.show_frame_timing.then_some(&self.frames)));
        if self.tab != Tab::Toy {
            egui::Panel::left("controls").resizable(false).exact_size(290.0).show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.controls.ui(ui, &mut commands));
            });
        }
        self.chains.set_classifier(self.quality.sample_classifier(&self.dataset));
        egui::CentralPanel::default().show(ui, |ui| {
            self.stopped_banner_ui(ui);
            self.notice_ui(ui);
            match self.tab {
                Tab::Training => self.training_ui(ui, &mut commands),
                Tab::Quality => {
                    let training = self.progress.as_ref().is_some_and(|p| p.running);
                    self.quality.ui(ui, self.filters.snapshot(), &self.dataset, training);
                }
                Tab::Toy => self.toy.ui(ui),
                Tab::Inpaint => self.inpaint.ui(ui, self.filters.snapshot(), &self.dataset),
            }
        });
        if self.tab != Tab::Inpaint {
            self.inpaint.hidden();
        }

        self.runs_ui(ui);
        self.files.dialog_ui(ui);
        self.confirmation_ui(ui);
        self.session_ui(ui);

        for command in commands {
            match command {
                Command::Reset(spec) => self.request_replacement(Replacement::Reset(spec)),
                command => {
                    if let Command::Chains(ChainCommand::Reset { .. }) = &command {
                        self.chains.running = true;
                    }
                    self.trainer.send(command);
                }
            }
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

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, FILE_DIALOG_SETTINGS_KEY, &self.files.settings);
        self.menu.save(storage);
        self.frame_rate.save(storage);
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        let panels = if visuals.dark_mode { egui::Visuals::dark() } else { egui::Visuals::light() };
        panels.panel_fill.to_normalized_gamma_f32()
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        // Before the trainer stops: it hands over the model with its training state.
        self.keep_session_on_close();
        self.shutdown();
        if let (Some(software), Some(gl)) = (&self.software, gl) {
            software.destroy(gl);
        }
    }
}
