//! The window's side of keeping sessions: where and how ([`SessionOptions`]), the phases from
//! reading the last session through its offer to this window's own, and the reports of the
//! session's threads, handled once a frame.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender};

use super::AUTOSAVE_EVERY;
use super::format::{Session, SessionState};
use super::offer::{Answer, offer_ui};
use super::saving::{AutosaveClock, SessionWriter, Written};
use super::store::SessionStore;
use crate::app::RbmLabApp;
use crate::data::Dataset;
use crate::trainer::Command;

/// How the window keeps its session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// `--fresh`: no offer; the old session is kept until the new one is written.
    pub fresh: bool,
    /// Train once the offer is answered (the window was not started with `--paused`).
    pub start_when_answered: bool,
    pub autosave_every: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self { fresh: false, start_when_answered: true, autosave_every: AUTOSAVE_EVERY }
    }
}

/// Where the window keeps its session and how: `--session-dir`, else the app's data folder
/// (`None`, with a line on stderr, where there is none); `--fresh`; `--paused`.
pub fn for_window(dir: Option<PathBuf>, fresh: bool, paused: bool) -> Option<(SessionStore, SessionOptions)> {
    let Some(store) = dir.map(SessionStore::new).or_else(SessionStore::in_app_data_folder) else {
        eprintln!(
            "rbm-lab: this system has no data folder for the session: closing will not keep it (--session-dir DIR)"
        );
        return None;
    };
    Some((store, SessionOptions { fresh, start_when_answered: !paused, ..SessionOptions::default() }))
}

/// Whether a window started with these options will offer the session in `store`, and so must
/// start its trainer paused (training waits for the answer).
pub fn will_offer(store: &SessionStore, options: &SessionOptions) -> bool {
    !options.fresh && store.has_session()
}

/// What the offer is about, and what went wrong with Continue, if anything.
pub struct Offer {
    pub session: Session,
    pub error: Option<String>,
}

/// Where the session stands.
pub(super) enum Phase {
    /// The last session is being read.
    Reading,
    /// "Continue where you left off" is shown.
    Offered(Box<Offer>),
    /// Continue was chosen and the session's dataset is loading.
    Loading(Box<Offer>),
    /// This window's session: written on close and autosaved.
    Live,
}

/// What the session's threads report.
pub(super) enum Report {
    Read(Result<Option<Box<Session>>, String>),
    /// The dataset for a continued session, with a note when it is not the session's own.
    DatasetLoaded(Result<(Arc<Dataset>, Option<String>), String>),
}

/// What was kept of a continued session until the trainer has loaded its model.
pub(super) struct PendingRestore {
    pub(super) state: SessionState,
    pub(super) samples_seen: u64,
    /// Model replacements to let pass first (a dataset of another image size makes one).
    pub(super) replacements_to_skip: usize,
    /// The model has been replaced; the loaded model's settings come next.
    pub(super) loaded: bool,
    pub(super) note: Option<String>,
}

/// The window's side of keeping sessions: the offer, the autosave clock and the writer.
pub struct SessionKeeper {
    pub(super) store: SessionStore,
    pub(super) options: SessionOptions,
    pub(super) phase: Phase,
    /// The file on disk is a session the person did not continue: the first write keeps it as
    /// the previous session.
    pub(super) keep_old: bool,
    pub(super) reports: (Sender<Report>, Receiver<Report>),
    pub(super) writer: Option<SessionWriter>,
    pub(super) autosave: AutosaveClock,
    /// `RequestModelFile` commands not answered yet.
    pub(super) files_requested: usize,
    pub(super) restore: Option<PendingRestore>,
    /// The offer has been announced on stderr (once).
    pub(super) announced: bool,
    /// The window's context, woken by the session's threads when they report.
    pub(super) ctx: egui::Context,
}

impl SessionKeeper {
    pub fn store(&self) -> &SessionStore {
        &self.store
    }

    /// The offer, while it is shown (also while Continue loads a dataset).
    pub fn offer(&self) -> Option<&Offer> {
        match &self.phase {
            Phase::Offered(offer) | Phase::Loading(offer) => Some(offer),
            Phase::Reading | Phase::Live => None,
        }
    }

    /// Whether the last session is still being read.
    pub fn is_reading(&self) -> bool {
        matches!(self.phase, Phase::Reading)
    }

    /// Whether this window's session is the one kept (the offer, if any, has been answered).
    pub fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Live)
    }

    /// Sessions waiting to be written or being written.
    pub fn writes_in_flight(&self) -> usize {
        self.writer.as_ref().map_or(0, |w| w.in_flight)
    }
}

impl RbmLabApp {
    /// Keeps this window's session in `store`: written on close and every few minutes of training,
    /// and, unless `options.fresh`, the last one offered back first. Start the trainer paused when
    /// [`will_offer`] says so: training waits for the answer.
    pub fn keep_sessions(&mut self, ctx: &egui::Context, store: SessionStore, options: SessionOptions) {
        let offer = will_offer(&store, &options);
        let keeper = SessionKeeper {
            phase: if offer { Phase::Reading } else { Phase::Live },
            keep_old: options.fresh && store.has_session(),
            reports: crossbeam_channel::unbounded(),
            writer: None,
            autosave: AutosaveClock::new(options.autosave_every),
            files_requested: 0,
            restore: None,
            announced: false,
            ctx: ctx.clone(),
            store: store.clone(),
            options,
        };
        let reports = keeper.reports.0.clone();
        let ctx = ctx.clone();
        // Reading a session (and the tidying before it) touches the disk: never on the window's thread.
        let reader = crate::threads::spawn("rbm-session-reader", move || {
            store.remove_stale_temporary_files();
            if offer {
                let result = store.read().map(|session| session.map(Box::new)).map_err(|error| {
                    let kept = match store.set_aside(SystemTime::now()) {
                        Ok(aside) => format!("it was renamed {}", aside.display()),
                        Err(e) => format!("it could not be renamed aside: {e}"),
                    };
                    format!("The last session could not be read: {error}; starting fresh ({kept})")
                });
                let _ = reports.send(Report::Read(result));
                ctx.request_repaint();
            }
        });
        self.session = Some(keeper);
        if let Err(e) = reader {
            self.session_answered(false);
            self.say(format!("Could not start the session reader: {e}; starting fresh"), true);
        }
    }

    pub fn session_keeper(&self) -> Option<&SessionKeeper> {
        self.session.as_ref()
    }

    /// Once a frame: the session's threads' reports, the autosave, and the offer while it is open.
    pub(in crate::app) fn session_ui(&mut self, ui: &mut egui::Ui) {
        let Some(keeper) = &mut self.session else { return };
        let reports: Vec<Report> = keeper.reports.1.try_iter().collect();
        let written: Vec<Written> = keeper.writer.as_mut().map_or_else(Vec::new, |w| w.written.try_iter().collect());
        if let Some(writer) = &mut keeper.writer {
            writer.in_flight = writer.in_flight.saturating_sub(written.len());
        }
        for report in reports {
            self.session_report(report);
        }
        for Written { result, .. } in written {
            if let Err(message) = result {
                self.say(format!("The session could not be saved: {message}"), true);
            }
        }
        self.autosave_if_due();
        let Some(keeper) = &mut self.session else { return };
        let (offer, loading) = match &keeper.phase {
            Phase::Offered(offer) => (offer, false),
            Phase::Loading(offer) => (offer, true),
            Phase::Reading | Phase::Live => return,
        };
        if !std::mem::replace(&mut keeper.announced, true) {
            eprintln!("rbm-lab: offering the last session ({}): Continue or Start fresh", offer.session.describe());
        }
        match offer_ui(ui, offer, loading) {
            Some(Answer::Continue) => self.continue_session(ui.ctx()),
            Some(Answer::StartFresh) => {
                if let Some(keeper) = &mut self.session {
                    keeper.keep_old = true;
                }
                self.session_answered(true);
                self.say(
                    "Started fresh: the last session stays on disk until this one is saved (then as \
                     session.previous.safetensors)",
                    false,
                );
            }
            None => {}
        }
    }

    fn session_report(&mut self, report: Report) {
        match report {
            Report::Read(Ok(Some(session))) => {
                if let Some(keeper) = &mut self.session {
                    keeper.phase = Phase::Offered(Box::new(Offer { session: *session, error: None }));
                }
            }
            Report::Read(Ok(None)) => self.session_answered(true),
            Report::Read(Err(message)) => {
                eprintln!("rbm-lab: {message}");
                self.session_answered(true);
                self.say(message, true);
            }
            Report::DatasetLoaded(result) => {
                let Some(keeper) = self.session.as_mut().filter(|k| matches!(k.phase, Phase::Loading(_))) else {
                    return;
                };
                let Phase::Loading(offer) = std::mem::replace(&mut keeper.phase, Phase::Reading) else { return };
                match result {
                    Ok((dataset, note)) => self.restore_session(offer.session, Some(dataset), note),
                    Err(error) => keeper.phase = Phase::Offered(Box::new(Offer { error: Some(error), ..*offer })),
                }
            }
        }
    }

    /// The offer is answered (or there was none to answer): this window's session is the one kept,
    /// and training starts if the window was meant to train.
    pub(super) fn session_answered(&mut self, start: bool) {
        let Some(keeper) = &mut self.session else { return };
        keeper.phase = Phase::Live;
        if start && keeper.options.start_when_answered {
            self.trainer.send(Command::Start);
            self.controls.running = true;
        }
    }
}
