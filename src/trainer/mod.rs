//! The trainer thread: it owns a [`TrainingRun`] (the model, the data and everything a run carries
//! from batch to batch), trains batch after batch, runs the display chains, and talks to the window
//! only through `Command`s in and `Update`s out. `rbm-lab train` drives a `TrainingRun` directly.
//!
//! Nothing here blocks on the UI: small updates go through a bounded channel with `try_send`
//! (per-batch losses are kept and re-sent until they fit, so none is lost), and the large, latest-only
//! things (weights, chain images) are left in single-slot mailboxes that the UI empties when it draws.

mod messages;
pub mod run;
mod worker;

pub use messages::*;
pub use run::{AdoptError, BatchOutcome, BatchReport, Continuation, FinishedEpoch, TrainingRun};

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

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

/// The UI's end of a running trainer. Dropping it stops and joins the thread.
pub struct TrainerHandle {
    commands: Sender<Command>,
    updates: Receiver<Update>,
    mailboxes: Arc<Mailboxes>,
    thread: Option<JoinHandle<()>>,
}

impl TrainerHandle {
    /// Starts the trainer thread. Options that do not fit the dataset (a model or training buffers
    /// over rbm-lab's limits, see [`ModelSpec::validate_with`]) are refused with an `InvalidInput`
    /// error carrying the message, before anything is allocated.
    pub fn spawn(dataset: Arc<Dataset>, options: TrainerOptions) -> std::io::Result<Self> {
        let n_visible = dataset.pixels_per_image();
        options
            .spec
            .validate_with(&options.config, n_visible)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?;
        let (command_tx, command_rx) = crossbeam_channel::unbounded();
        let (update_tx, update_rx) = crossbeam_channel::bounded(UPDATE_CHANNEL_CAPACITY);
        let mailboxes = Arc::new(Mailboxes::default());
        let worker_mailboxes = mailboxes.clone();
        let thread = std::thread::Builder::new().name("rbm-trainer".into()).spawn(move || {
            worker::Worker::new(dataset, options, command_rx, update_tx, worker_mailboxes).run();
        })?;
        Ok(Self { commands: command_tx, updates: update_rx, mailboxes, thread: Some(thread) })
    }

    /// Sends a command; a trainer that has already stopped ignores it.
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Updates received since the last call, without waiting.
    pub fn updates(&self) -> impl Iterator<Item = Update> + '_ {
        self.updates.try_iter()
    }

    /// Blocks up to `timeout` for the next update (for headless callers and tests).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Update> {
        self.updates.recv_timeout(timeout).ok()
    }

    pub fn take_model_snapshot(&self) -> Option<Arc<ModelSnapshot>> {
        self.mailboxes.model.take()
    }

    pub fn take_chain_snapshot(&self) -> Option<Arc<ChainSnapshot>> {
        self.mailboxes.chains.take()
    }

    pub fn take_diagnostics(&self) -> Option<Arc<Diagnostics>> {
        self.mailboxes.diagnostics.take()
    }

    pub fn is_alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Asks the thread to stop and waits for it up to `timeout`; true if it has ended.
    /// The trainer checks for commands between batches, so this takes at most one batch.
    pub fn shutdown(&mut self, timeout: Duration) -> bool {
        let _ = self.commands.send(Command::Shutdown);
        let Some(thread) = self.thread.take() else { return true };
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() && Instant::now() < deadline {
            // Keep the update channel drained so that a full channel never stalls the exit.
            while self.updates.try_recv().is_ok() {}
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
