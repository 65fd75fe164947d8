//! The window: one struct per view, each owning its state; this file wires them to the trainer.
//!
//! The map: [`RbmLabApp`] holds the views and the trainer's handle, [`RbmLabApp::draw`] is one
//! frame (panels, tabs, dialogs, commands to the trainer) and `eframe::App` hands it to eframe.
//! The parts live beside it: `updates` (the trainer's updates, mailboxes and finished file jobs
//! into the views), `replace` (replacing the model, asking first), `trainer_stopped` (saving, and
//! what the window does when the trainer died), `menu` (the menu bar and its actions), `notice`
//! (the message line), `training_tab` (the Training tab's layout), `status` (the status bar and the
//! stats log), `session` (the kept session), `runs` (the run history) and `run` (start-up).

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
mod notice;
pub mod quality;
pub mod replace;
mod run;
pub mod runs;
pub mod session;
pub mod software_render;
pub mod status;
pub mod swap_plot;
pub mod texture;
mod trainer_stopped;
mod training_tab;
mod updates;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::data::Dataset;
use crate::model::TrainingConfig;
use crate::toy::view::ToyExplorer;
use crate::trainer::{ChainCommand, Command, Progress, TrainerHandle, TrainerLink, TrainerOptions};

use chains::ChainView;
use controls::ControlPanel;
use files::{FileDialogSettings, FileJobs};
use filters::FilterView;
use frame_rate::FrameRate;
use loss_plot::LossPlotView;
use quality::QualityView;
use replace::{ReplaceConfirmation, Replacement, SaveTracker};
use software_render::SoftwareRender;
use status::{FrameStats, StatsLog, status_ui};

pub use notice::Notice;
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
