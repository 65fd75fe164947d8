//! The offer at start ("Continue where you left off" or "Start fresh") and Continue: the session's
//! dataset, then its model through the trainer, its settings at once and its history once the
//! trainer has loaded the model.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use egui_plot::PlotPoint;

use super::dates::{describe_age, utc_minutes};
use super::format::{DatasetSource, Session};
use super::keeper::{Offer, PendingRestore, Phase, Report};
use crate::app::RbmLabApp;
use crate::app::loss_plot::ConfigMarker;
use crate::app::swap_plot::SwapHistory;
use crate::data::Dataset;
use crate::quality::{Evaluation, MonitorPoint, ProbeMeasurement};
use crate::trainer::{ChainCommand, Command};

/// Visible units of the embedded MNIST's 28x28 images: a session on a folder that has gone can
/// continue on the embedded set only with a model of this size.
const MNIST_PIXELS: usize = 28 * 28;

/// The person's answer to the offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answer {
    Continue,
    StartFresh,
}

/// The offer's modal. Continue is greyed out while the session's dataset loads.
pub(super) fn offer_ui(ui: &mut egui::Ui, offer: &Offer, loading: bool) -> Option<Answer> {
    let session = &offer.session;
    let state = &session.state;
    let modal = egui::Modal::new(egui::Id::unique("rbm_session_offer")).show(ui.ctx(), |ui| {
        ui.set_width(480.0);
        ui.heading("Continue where you left off");
        ui.add_space(6.0);
        let saved_at = UNIX_EPOCH + Duration::from_secs(state.saved_at);
        ui.label(format!("A {}.", session.describe()));
        ui.label(format!("Saved {} ({}).", describe_age(state.saved_at, SystemTime::now()), utc_minutes(saved_at)));
        ui.label(if session.model.state.is_some() {
            "Training continues exactly where it stopped."
        } else {
            "Without its training state (the trainer did not answer when the window closed): training \
             continues from its last weights with a fresh optimiser state."
        });
        let counted = |n: usize, one: &str, many: &str| match n {
            0 => None,
            1 => Some(format!("the {one}")),
            n => Some(format!("{n} {many}")),
        };
        let parts: Vec<String> = std::iter::once("the monitors".to_string())
            .chain(counted(state.evaluations.0.len(), "evaluation", "evaluations"))
            .chain(counted(state.probes.0.len(), "linear probe", "linear probes"))
            .collect();
        ui.label(format!("The loss plot, {} and the settings come back.", parts.join(", ")));
        if let Some(error) = &offer.error {
            ui.add_space(4.0);
            ui.colored_label(egui::Color32::from_rgb(220, 80, 60), error);
        }
        ui.add_space(10.0);
        let mut answer = None;
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .add_enabled(!loading, egui::Button::new("Continue"))
                .on_hover_text("Load the last session's model, its history and settings")
                .clicked()
            {
                answer = Some(Answer::Continue);
            }
            if ui
                .button("Start fresh")
                .on_hover_text(
                    "A new model; the last session stays on disk until this one is saved over it (then as \
                     session.previous.safetensors)",
                )
                .clicked()
            {
                answer = Some(Answer::StartFresh);
            }
            if loading {
                ui.spinner();
                ui.label("Loading the session's dataset…");
            }
        });
        answer
    });
    modal.inner
}

/// Reads the dataset a continued session trained on (off the window's thread): its folder, or, if
/// that is gone and the model fits 28x28 images, the embedded MNIST with a note saying so.
fn load_session_dataset(source: &DatasetSource, n_visible: usize) -> Result<(Arc<Dataset>, Option<String>), String> {
    let embedded =
        || Dataset::embedded_mnist().map(Arc::new).map_err(|e| format!("The embedded MNIST is unreadable: {e}"));
    let DatasetSource::Folder(folder) = source else { return embedded().map(|d| (d, None)) };
    let problem = match Dataset::load_dir(folder) {
        Ok(dataset) if dataset.pixels_per_image() == n_visible => return Ok((Arc::new(dataset), None)),
        Ok(dataset) => format!(
            "the session's dataset folder {} now holds {}x{} images, which do not fit its model's {n_visible} visible \
             units",
            folder.display(),
            dataset.rows,
            dataset.cols
        ),
        Err(e) => format!("the session's dataset folder {} is unavailable ({e})", folder.display()),
    };
    if n_visible == MNIST_PIXELS {
        let note = format!("{}: continuing on the embedded MNIST (same image size)", capitalised(&problem));
        embedded().map(|d| (d, Some(note)))
    } else {
        Err(format!(
            "{}, and the embedded MNIST's 28x28 images do not fit it either: make the folder available and press \
             Continue again, or Start fresh",
            capitalised(&problem)
        ))
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

impl RbmLabApp {
    /// Continue: the session's dataset first if the window trains on another one (read on a
    /// thread), then the model and everything else.
    pub(super) fn continue_session(&mut self, ctx: &egui::Context) {
        let Some(keeper) = &mut self.session else { return };
        let Phase::Offered(offer) = std::mem::replace(&mut keeper.phase, Phase::Reading) else { return };
        let wanted = offer.session.state.dataset.clone();
        if wanted == DatasetSource::of(&self.dataset) {
            return self.restore_session(offer.session, None, None);
        }
        let n_visible = offer.session.model.rbm.n_visible();
        let reports = keeper.reports.0.clone();
        let wake = ctx.clone();
        let loader = crate::threads::spawn("rbm-session-dataset", move || {
            let _ = reports.send(Report::DatasetLoaded(load_session_dataset(&wanted, n_visible)));
            wake.request_repaint();
        });
        keeper.phase = match loader {
            Ok(_) => Phase::Loading(offer),
            Err(e) => {
                Phase::Offered(Box::new(Offer { error: Some(format!("Could not start a thread: {e}")), ..*offer }))
            }
        };
    }

    /// Hands the session's model (and dataset) to the trainer; the history comes back once the
    /// trainer has loaded the model (see [`Self::session_model_replaced`]). The settings apply now.
    pub(super) fn restore_session(&mut self, session: Session, dataset: Option<Arc<Dataset>>, note: Option<String>) {
        let mut replacements_to_skip = 0;
        if let Some(dataset) = dataset {
            replacements_to_skip = usize::from(dataset.pixels_per_image() != self.dataset.pixels_per_image());
            self.dataset = dataset.clone();
            self.trainer.send(Command::SetDataset(dataset));
        }
        let Session { model, state } = session;
        let samples_seen = model.metadata.samples_seen;
        self.trainer.send(Command::LoadModel(Box::new(model)));
        let chains = &state.settings.chains;
        self.chains.count = chains.count;
        self.chains.start = chains.start;
        self.chains.steps_per_second = chains.steps_per_second;
        self.chains.running = chains.running;
        self.chains.restart_every = chains.restart_every;
        self.chains.sampling = chains.sampling;
        for command in [
            ChainCommand::Reset { start: chains.start, count: chains.count },
            ChainCommand::SetStepsPerSecond(chains.steps_per_second),
            ChainCommand::SetRestartEvery(chains.restart_every),
            ChainCommand::SetSampling(chains.sampling),
            ChainCommand::Run(chains.running),
        ] {
            self.trainer.send(Command::Chains(command));
        }
        self.controls.spec = state.settings.spec.clone();
        self.tab = state.settings.tab.into();
        self.say("Continuing the last session…", false);
        if let Some(keeper) = &mut self.session {
            keeper.restore = Some(PendingRestore { state, samples_seen, replacements_to_skip, loaded: false, note });
        }
        self.session_answered(true);
    }

    /// The trainer replaced its model: if that was the continued session's, its history comes back
    /// with the settings the load reports next.
    pub(in crate::app) fn session_model_replaced(&mut self) {
        let Some(restore) = self.session.as_mut().and_then(|k| k.restore.as_mut()) else { return };
        if restore.replacements_to_skip > 0 {
            restore.replacements_to_skip -= 1;
        } else {
            restore.loaded = true;
        }
    }

    /// The trainer reported the settings in force; after the continued session's model was
    /// loaded, these are its settings, and the session's history replaces the plot's (which has
    /// just marked them).
    pub(in crate::app) fn session_config_applied(&mut self) {
        let Some(keeper) = &mut self.session else { return };
        let Some(restore) = keeper.restore.take_if(|r| r.loaded) else { return };
        let PendingRestore { state, samples_seen, note, .. } = restore;
        let points = |list: &[[f64; 2]]| list.iter().map(|&[x, y]| PlotPoint::new(x, y)).collect();
        let loss = &state.loss;
        self.loss.history.restore(
            points(&loss.batch_points.0),
            usize::try_from(loss.stride).unwrap_or(usize::MAX),
            points(&loss.epoch_means.0),
            loss.markers.0.iter().map(|m| ConfigMarker { epoch: m.epoch, label: m.label.clone() }).collect(),
            loss.total_batches,
        );
        // A slider moved now starts a marker of its own rather than relabelling the restored last one.
        self.last_marker_at = None;
        self.quality.monitors = state.monitors.0.iter().map(MonitorPoint::from).collect();
        self.quality.evaluations = state.evaluations.0.iter().map(Evaluation::from).collect();
        self.quality.probes = state.probes.0.iter().map(ProbeMeasurement::from).collect();
        self.controls.swap_history = SwapHistory::from(&state.swaps);
        self.runs.restore(&state.runs);
        self.saves.continued(samples_seen, state.unsaved_samples);
        if state.settings.config != self.controls.config {
            // The panel sends what differs from the trainer's settings at its next frame.
            self.controls.config = state.settings.config;
        }
        match note {
            Some(note) => self.say(note, true),
            None => self.say(
                format!("Continued the last session (saved {})", describe_age(state.saved_at, SystemTime::now())),
                false,
            ),
        }
    }

    /// The trainer refused something (most likely the continued session's model): no history is
    /// waiting for it any more.
    pub(in crate::app) fn session_load_refused(&mut self) {
        if let Some(keeper) = &mut self.session {
            keeper.restore = None;
        }
    }
}
