//! Writing the session: on one writer thread, in order, every few minutes of training (the
//! autosave clock) and on close (the trainer's model file, or after a bounded wait the window's
//! last weights), without the window or the trainer waiting for it except at close.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use egui_plot::PlotPoint;

use super::format::{
    Bounded, ChainSettings, DatasetSource, SavedEvaluation, SavedLoss, SavedMarker, SavedMonitor, SavedProbe,
    SavedSwaps, Session, SessionSettings, SessionState,
};
use super::store::SessionStore;
use super::{CLOSE_WAIT, SESSION_VERSION, WRITE_WAIT};
use crate::app::RbmLabApp;
use crate::io::ModelFile;
use crate::limits::{MAX_MARKER_LABEL_CHARS, MAX_SESSION_EVALUATIONS};
use crate::trainer::{Command, Update};

/// Training time since the last autosave: it runs only while training does, so an idle window
/// never writes.
#[derive(Clone, Debug)]
pub struct AutosaveClock {
    every: Duration,
    trained: Duration,
    running_since: Option<Instant>,
}

impl AutosaveClock {
    pub fn new(every: Duration) -> Self {
        Self { every, trained: Duration::ZERO, running_since: None }
    }

    /// Whether training runs, as seen at `now`.
    pub fn observe(&mut self, running: bool, now: Instant) {
        match (running, self.running_since) {
            (true, None) => self.running_since = Some(now),
            (false, Some(since)) => {
                self.trained += now.saturating_duration_since(since);
                self.running_since = None;
            }
            _ => {}
        }
    }

    /// Training time since the last autosave.
    pub fn trained(&self, now: Instant) -> Duration {
        self.trained + self.running_since.map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }

    pub fn due(&self, now: Instant) -> bool {
        self.trained(now) >= self.every
    }

    /// An autosave started at `now`: the count starts again.
    pub fn restart(&mut self, now: Instant) {
        self.trained = Duration::ZERO;
        self.running_since = self.running_since.map(|_| now);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WritePurpose {
    Autosave,
    Close,
}

pub(super) struct WriteJob {
    session: Box<Session>,
    keep_old: bool,
    purpose: WritePurpose,
}

pub(super) struct Written {
    pub(super) purpose: WritePurpose,
    pub(super) result: Result<PathBuf, String>,
}

/// One thread writes the sessions, in the order they were made (an autosave never lands after
/// the close's save).
pub(super) struct SessionWriter {
    jobs: Sender<WriteJob>,
    pub(super) written: Receiver<Written>,
    pub(super) in_flight: usize,
}

impl SessionWriter {
    pub(super) fn start(store: SessionStore, ctx: egui::Context) -> io::Result<Self> {
        let (jobs, job_rx) = crossbeam_channel::unbounded::<WriteJob>();
        let (written_tx, written) = crossbeam_channel::unbounded();
        crate::threads::spawn("rbm-session-writer", move || {
            for job in job_rx {
                let result = store.write(&job.session, job.keep_old).map_err(|e| e.to_string());
                let _ = written_tx.send(Written { purpose: job.purpose, result });
                ctx.request_repaint();
            }
        })?;
        Ok(Self { jobs, written, in_flight: 0 })
    }

    pub(super) fn send(&mut self, job: WriteJob) -> bool {
        let sent = self.jobs.send(job).is_ok();
        self.in_flight += usize::from(sent);
        sent
    }
}

impl RbmLabApp {
    /// The trainer's answer to `RequestModelFile`: an autosave.
    pub(in crate::app) fn session_model_file(&mut self, file: ModelFile) {
        let Some(keeper) = &mut self.session else { return };
        keeper.files_requested = keeper.files_requested.saturating_sub(1);
        if keeper.is_live() {
            let session = self.session_of(file);
            self.write_session(session, WritePurpose::Autosave);
        }
    }

    /// The window around `model` as a session, now.
    fn session_of(&self, model: ModelFile) -> Session {
        let history = &self.loss.history;
        let finite = |p: &&PlotPoint| p.x.is_finite() && p.y.is_finite();
        let pairs = |list: &[PlotPoint]| list.iter().filter(finite).map(|p| [p.x, p.y]).collect();
        let evaluations = &self.quality.evaluations;
        let chains = &self.chains;
        let state = SessionState {
            version: SESSION_VERSION,
            saved_at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            dataset: DatasetSource::of(&self.dataset),
            unsaved_samples: self.unsaved_samples(),
            loss: SavedLoss {
                batch_points: Bounded(pairs(history.batch_points())),
                stride: history.stride() as u64,
                total_batches: history.total_batches(),
                epoch_means: Bounded(pairs(history.epoch_means())),
                markers: Bounded(
                    history
                        .markers()
                        .iter()
                        .map(|m| SavedMarker {
                            epoch: m.epoch,
                            label: m.label.chars().take(MAX_MARKER_LABEL_CHARS).collect(),
                        })
                        .collect(),
                ),
            },
            monitors: Bounded(self.quality.monitors.iter().map(SavedMonitor::from).collect()),
            probes: Bounded(self.quality.probes.iter().map(SavedProbe::from).collect()),
            swaps: SavedSwaps::from(&self.controls.swap_history),
            evaluations: Bounded(
                evaluations[evaluations.len().saturating_sub(MAX_SESSION_EVALUATIONS)..]
                    .iter()
                    .map(SavedEvaluation::from)
                    .collect(),
            ),
            settings: SessionSettings {
                config: self.controls.config.clone(),
                spec: self.controls.spec.clone(),
                chains: ChainSettings {
                    count: chains.count,
                    start: chains.start,
                    steps_per_second: chains.steps_per_second,
                    running: chains.running,
                    restart_every: chains.restart_every,
                    sampling: chains.sampling,
                },
                tab: self.tab.into(),
            },
            runs: self.runs.kept(),
        };
        Session { model, state }
    }

    /// Hands `session` to the writer thread (started the first time).
    fn write_session(&mut self, session: Session, purpose: WritePurpose) -> bool {
        let Some(keeper) = &mut self.session else { return false };
        if keeper.writer.is_none() {
            match SessionWriter::start(keeper.store.clone(), keeper.ctx.clone()) {
                Ok(writer) => keeper.writer = Some(writer),
                Err(e) => {
                    self.say(format!("The session could not be saved: no writer thread ({e})"), true);
                    return false;
                }
            }
        }
        let Some(keeper) = &mut self.session else { return false };
        let keep_old = std::mem::take(&mut keeper.keep_old);
        let sent =
            keeper.writer.as_mut().is_some_and(|w| w.send(WriteJob { session: Box::new(session), keep_old, purpose }));
        keeper.keep_old |= keep_old && !sent;
        sent
    }

    /// Asks the trainer for its model file once enough training time has passed; the answer is
    /// written by [`Self::session_model_file`].
    pub(super) fn autosave_if_due(&mut self) {
        let running = self.progress.as_ref().is_some_and(|p| p.running);
        let alive = self.trainer_stopped.is_none();
        let Some(keeper) = &mut self.session else { return };
        let now = Instant::now();
        keeper.autosave.observe(running, now);
        let idle = keeper.files_requested == 0 && keeper.writes_in_flight() == 0;
        if keeper.is_live() && alive && idle && keeper.autosave.due(now) {
            keeper.autosave.restart(now);
            keeper.files_requested += 1;
            self.trainer.send(Command::RequestModelFile);
        }
    }

    /// The window is closing: writes the session (the trainer's model file, or after
    /// [`CLOSE_WAIT`] the window's last weights) and says where on stderr. Nothing is written while
    /// the offer is unanswered (the last session stays as it was) or when nothing has trained.
    /// Returns the session file written.
    pub fn keep_session_on_close(&mut self) -> Option<PathBuf> {
        let keeper = self.session.as_ref()?;
        let dir = keeper.store.dir().display().to_string();
        if !keeper.is_live() {
            eprintln!("rbm-lab: the last session in {dir} was left as it was (its offer was not answered)");
            return None;
        }
        let model = match self.model_file_for_close() {
            Ok(model) => model,
            Err(message) => {
                eprintln!("rbm-lab: no session written: {message}");
                return None;
            }
        };
        if model.metadata.samples_seen == 0 {
            eprintln!("rbm-lab: the model has not trained: no session written (the one in {dir} is kept)");
            return None;
        }
        let samples = model.metadata.samples_seen;
        let session = self.session_of(model);
        let described = session.describe();
        let with_state = if session.model.state.is_some() { "with" } else { "without" };
        if !self.write_session(session, WritePurpose::Close) {
            eprintln!("rbm-lab: no session written: the writer thread is gone");
            return None;
        }
        let written = self.session.as_ref()?.writer.as_ref()?.written.clone();
        let deadline = Instant::now() + WRITE_WAIT;
        while let Ok(Written { purpose, result }) = written.recv_deadline(deadline) {
            if purpose != WritePurpose::Close {
                continue;
            }
            return match result {
                Ok(path) => {
                    eprintln!(
                        "rbm-lab: session written to {} ({described}: {samples} samples, {with_state} training state)",
                        path.display()
                    );
                    Some(path)
                }
                Err(message) => {
                    eprintln!("rbm-lab: the session could not be saved: {message}");
                    None
                }
            };
        }
        eprintln!(
            "rbm-lab: the session was not written within {} s; the last one in {dir} is kept",
            WRITE_WAIT.as_secs()
        );
        None
    }

    /// The model to keep at close: the trainer's file with its training state, answered between
    /// two batches, or after [`CLOSE_WAIT`] the last weights the window received.
    fn model_file_for_close(&mut self) -> Result<ModelFile, String> {
        if self.trainer_stopped.is_none() && self.trainer.is_alive() {
            self.trainer.send(Command::RequestModelFile);
            if let Some(keeper) = &mut self.session {
                keeper.files_requested += 1;
            }
            let deadline = Instant::now() + CLOSE_WAIT;
            while let Some(update) = self.trainer.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                match update {
                    Update::ModelFile(file) => {
                        let Some(keeper) = &mut self.session else { return Ok(*file) };
                        keeper.files_requested = keeper.files_requested.saturating_sub(1);
                        // Earlier requests (an autosave's) are answered first; the last answer is the newest.
                        if keeper.files_requested == 0 {
                            return Ok(*file);
                        }
                    }
                    // The losses and events before the file belong to the history kept with it.
                    other => self.apply_update(other),
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
            eprintln!(
                "rbm-lab: the trainer did not answer within {} s: the session keeps the last weights the window \
                 received, without training state",
                CLOSE_WAIT.as_secs()
            );
        }
        self.last_weights_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_autosave_clock_counts_training_time_only() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut clock = AutosaveClock::new(Duration::from_secs(300));
        clock.observe(false, at(0));
        assert!(!clock.due(at(10_000)), "an idle window never autosaves");
        clock.observe(true, at(100));
        assert!(!clock.due(at(399)));
        assert!(clock.due(at(400)));
        clock.observe(false, at(250));
        assert_eq!(clock.trained(at(5_000)), Duration::from_secs(150), "paused time does not count");
        clock.observe(true, at(5_000));
        assert!(clock.due(at(5_150)));
        clock.restart(at(5_150));
        assert_eq!(clock.trained(at(5_160)), Duration::from_secs(10));
    }
}
