//! The trainer thread: it owns a [`TrainingRun`] (the model, the data and everything a run carries
//! from batch to batch), trains batch after batch, runs the display chains, and talks to the window
//! only through `Command`s in and `Update`s out. `rbm-lab train` drives a `TrainingRun` directly.
//!
//! Nothing here blocks on the UI: small updates go through a bounded channel with `try_send`
//! (per-batch losses are kept and re-sent until they fit, so none is lost), and the large, latest-only
//! things (weights, chain images) are left in single-slot mailboxes that the UI empties when it draws.

mod chains;
mod error;
mod messages;
mod outbox;
pub mod run;
mod worker;

pub use error::TrainerError;
pub use messages::*;
pub use run::{AdoptError, BatchOutcome, BatchReport, Continuation, FinishedEpoch, TrainingRun};

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::data::Dataset;
use crate::model::{ModelSpec, TrainingConfig};

/// Called after the trainer publishes something (the window passes `ctx.request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A single-slot mailbox: `put` replaces whatever is there, `take` empties it.
pub struct Latest<T>(Mutex<Option<T>>);

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<T> Latest<T> {
    pub fn put(&self, value: T) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(value);
        }
    }
    pub fn take(&self) -> Option<T> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The mailboxes shared by the trainer thread and its handle.
#[derive(Default)]
pub struct Mailboxes {
    pub model: Latest<Arc<ModelSnapshot>>,
    pub chains: Latest<Arc<ChainSnapshot>>,
    pub diagnostics: Latest<Arc<Diagnostics>>,
}

/// How to start a trainer.
#[derive(Clone)]
pub struct TrainerOptions {
    pub spec: ModelSpec,
    pub config: TrainingConfig,
    /// Threads for the matrix products and sampling passes.
    pub threads: usize,
    pub start_running: bool,
    pub chain_count: usize,
    pub chain_start: ChainStart,
    pub chains_running: bool,
    pub chain_steps_per_second: f32,
    /// Chains restart from their start images every this many steps (0: never).
    pub chain_restart_every: u64,
    /// How often progress and losses are published (the UI cannot show more than its frame rate).
    pub publish_interval: Duration,
    pub waker: Option<Waker>,
}

impl Default for TrainerOptions {
    fn default() -> Self {
        Self {
            spec: ModelSpec::default(),
            config: TrainingConfig::default(),
            threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            start_running: false,
            chain_count: 10,
            chain_start: ChainStart::TestDigits,
            chains_running: true,
            chain_steps_per_second: 10.0,
            chain_restart_every: 200,
            publish_interval: Duration::from_millis(30),
            waker: None,
        }
    }
}

/// Capacity of the update channel: far more than the UI needs between two frames.
const UPDATE_CHANNEL_CAPACITY: usize = 1024;

/// How long a dying trainer waits for room in the update channel to say why it stopped.
const LAST_WORDS_TIMEOUT: Duration = Duration::from_secs(2);

/// The UI's end of the connection to a trainer: commands out, updates and mailboxes in, and a
/// liveness signal. Made by [`link`]; the trainer's end is a [`TrainerSide`].
pub struct TrainerLink {
    commands: Sender<Command>,
    updates: Receiver<Update>,
    mailboxes: Arc<Mailboxes>,
    /// Never carries a message: it disconnects when the trainer's end (its `alive` sender) is
    /// dropped, which tells the UI that the trainer has gone without consuming any update.
    alive: Receiver<()>,
}

/// The trainer's end of a [`TrainerLink`]. A test can play the trainer with it: read the
/// commands the window sends, feed it updates and snapshots, and drop it to make the trainer die.
pub struct TrainerSide {
    pub commands: Receiver<Command>,
    pub updates: Sender<Update>,
    pub mailboxes: Arc<Mailboxes>,
    pub alive: Sender<()>,
}

/// A connected pair of ends, with no thread behind them.
pub fn link() -> (TrainerLink, TrainerSide) {
    let (command_tx, command_rx) = crossbeam_channel::unbounded();
    let (update_tx, update_rx) = crossbeam_channel::bounded(UPDATE_CHANNEL_CAPACITY);
    let (alive_tx, alive_rx) = crossbeam_channel::bounded(0);
    let mailboxes = Arc::new(Mailboxes::default());
    let ui = TrainerLink { commands: command_tx, updates: update_rx, mailboxes: mailboxes.clone(), alive: alive_rx };
    let trainer = TrainerSide { commands: command_rx, updates: update_tx, mailboxes, alive: alive_tx };
    (ui, trainer)
}

/// The UI's end of a trainer: a [`TrainerLink`] and, when it runs in this process, its thread.
/// Dropping it stops and joins the thread.
pub struct TrainerHandle {
    link: TrainerLink,
    thread: Option<JoinHandle<()>>,
}

impl TrainerHandle {
    /// Starts the trainer thread on `dataset`. Options that do not fit the dataset (a model or
    /// training buffers over rbm-lab's limits, see [`ModelSpec::validate_with`]) are refused with an
    /// `InvalidInput` error carrying the message, before anything is allocated.
    pub fn spawn(dataset: Arc<Dataset>, options: TrainerOptions) -> std::io::Result<Self> {
        let waker = options.waker.clone();
        let checked = worker::CheckedOptions::new(dataset, options)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
        Self::spawn_with(waker, move |side| {
            worker::Worker::new(checked, side.commands, side.updates, side.mailboxes).run();
        })
    }

    /// Runs `work` as the trainer thread. A panic in it (or in the threads it waits for) is caught:
    /// the thread then sends [`Update::TrainerStopped`] with the panic's message and ends, so the
    /// window can say so instead of freezing on the last state. `waker` is called once the thread
    /// has ended, however it ended, so that an idle window looks.
    pub fn spawn_with(waker: Option<Waker>, work: impl FnOnce(TrainerSide) + Send + 'static) -> std::io::Result<Self> {
        let (link, side) = link();
        let last_words = side.updates.clone();
        let thread = std::thread::Builder::new().name("rbm-trainer".into()).spawn(move || {
            {
                // Held until the work is over (also when it unwinds): its disconnection is the
                // death notice.
                let _alive = side.alive.clone();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(side)));
                if let Err(payload) = outcome {
                    let update = Update::TrainerStopped(crate::threads::panic_message(payload.as_ref()));
                    let _ = last_words.send_timeout(update, LAST_WORDS_TIMEOUT);
                }
            }
            if let Some(wake) = &waker {
                wake();
            }
        })?;
        Ok(Self { link, thread: Some(thread) })
    }

    /// A handle on a trainer played by someone else through the [`TrainerSide`] (tests).
    pub fn from_link(link: TrainerLink) -> Self {
        Self { link, thread: None }
    }

    /// Sends a command; a trainer that has already stopped ignores it.
    pub fn send(&self, command: Command) {
        let _ = self.link.commands.send(command);
    }

    /// Updates received since the last call, without waiting.
    pub fn updates(&self) -> impl Iterator<Item = Update> + '_ {
        self.link.updates.try_iter()
    }

    /// Blocks up to `timeout` for the next update (for headless callers and tests).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Update> {
        self.link.updates.recv_timeout(timeout).ok()
    }

    pub fn take_model_snapshot(&self) -> Option<Arc<ModelSnapshot>> {
        self.link.mailboxes.model.take()
    }

    pub fn take_chain_snapshot(&self) -> Option<Arc<ChainSnapshot>> {
        self.link.mailboxes.chains.take()
    }

    pub fn take_diagnostics(&self) -> Option<Arc<Diagnostics>> {
        self.link.mailboxes.diagnostics.take()
    }

    /// False once the trainer has ended (its thread finished, or its end of the link was dropped),
    /// whether it was told to or it died. Updates it sent before ending can still be read.
    pub fn is_alive(&self) -> bool {
        let side_connected = !matches!(self.link.alive.try_recv(), Err(TryRecvError::Disconnected));
        side_connected && self.thread.as_ref().is_none_or(|t| !t.is_finished())
    }

    /// Asks the thread to stop and waits for it up to `timeout`; true if it has ended.
    /// The trainer checks for commands between batches, so this takes at most one batch.
    pub fn shutdown(&mut self, timeout: Duration) -> bool {
        let _ = self.link.commands.send(Command::Shutdown);
        let Some(thread) = self.thread.take() else { return true };
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() && Instant::now() < deadline {
            // Keep the update channel drained so that a full channel never stalls the exit.
            while self.link.updates.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(2));
        }
        if thread.is_finished() {
            let _ = thread.join();
            true
        } else {
            false // still inside a very long batch: leave it detached rather than hang the UI
        }
    }
}

impl Drop for TrainerHandle {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(5));
    }
}
