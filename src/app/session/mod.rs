//! Closing never loses the work: the window keeps its session (the model with its training state,
//! the loss history, the Quality tab's monitors and evaluations, the dataset it trained on and the
//! window's settings) in the app's data folder, and offers it back at the next start.
//!
//! One file, `session.safetensors`, so that a save is one atomic rename: the model as a model file
//! (Load model… and `rbm-lab eval` open it like any other), with one more `__metadata__` entry,
//! `rbm_lab_session`, holding the rest as JSON ([`SessionState`]). A crash or kill -9 during a save
//! leaves the previous session whole ([`crate::io::atomic_write`]).
//! - On close (Ctrl+Q, File > Quit, the window manager's close) the trainer is asked for its model
//!   file, which it answers between two batches; after [`CLOSE_WAIT`] without an answer the last
//!   weights the window holds are kept instead (without training state), and stderr says so. The
//!   session goes to the writer thread and closing waits for it (bounded).
//! - While training runs, every [`AUTOSAVE_EVERY`] of training time, the same save happens on the
//!   writer thread: a crash loses at most that much. Neither the window nor the trainer waits for it.
//! - At the next start: "Continue where you left off" or "Start fresh"; training waits for the
//!   answer. Start fresh (and `--fresh`) keeps the old file until the new session is first
//!   written, which copies it to `session.previous.safetensors` (one level of undo).
//! - A file that cannot be read (damaged, from a newer rbm-lab, over the limits) is reported once,
//!   renamed `session.unreadable-<UTC time>.safetensors`, and the window starts fresh.
//!
//! A session is not a save of the person's model: the question before Reset (src/app/replace.rs)
//! still counts the training since their last own save, also across a continued session.
//!
//! The parts: [`format`] the file's layout (the JSON beside the model, checked on write and read),
//! [`store`] the folder (atomic writes, reading, setting unreadable files aside, the previous
//! session), [`keeper`] the window's side (the offer, its answers, the reports of the session's
//! threads), [`offer`] the modal and Continue bringing a session back, [`saving`] the autosave and
//! the close on the writer thread, [`dates`] times for file names and for people.

mod dates;
mod format;
mod keeper;
mod offer;
mod saving;
mod store;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::io::ModelFileError;

pub use dates::{describe_age, utc_minutes, utc_stamp};
pub use format::{
    Bounded, ChainSettings, DatasetSource, SavedEvaluation, SavedGaussianDensity, SavedLoss, SavedMarker, SavedMonitor,
    SavedProbe, SavedRaise, SavedSwapPoint, SavedSwaps, SavedTab, Session, SessionSettings, SessionState,
    decode_session, encode_session,
};
pub use keeper::{Offer, SessionKeeper, SessionOptions, for_window, will_offer};
pub use saving::AutosaveClock;
pub use store::SessionStore;

/// The session's file in the session folder.
pub const SESSION_FILE: &str = "session.safetensors";
/// The session before the last "Start fresh", kept when the new one is first written.
pub const PREVIOUS_SESSION_FILE: &str = "session.previous.safetensors";
/// The `__metadata__` entry holding [`SessionState`] as JSON.
pub const SESSION_KEY: &str = "rbm_lab_session";
/// The newest session layout this build reads, and the one it writes.
pub const SESSION_VERSION: u32 = 1;
/// Training time between two autosaves.
pub const AUTOSAVE_EVERY: Duration = Duration::from_secs(5 * 60);
/// How long closing waits for the trainer's model file (it answers between two batches; a
/// tutorial batch takes milliseconds) before keeping the window's last weights instead.
pub const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long closing waits for the session to be written (a few MB, fsynced).
pub const WRITE_WAIT: Duration = Duration::from_secs(20);

/// Why a session could not be read or written. Shown after "the last session could not be read: ".
#[derive(Debug, Error)]
pub enum SessionError {
    #[error(transparent)]
    Model(#[from] ModelFileError),
    #[error("it is a model file without rbm-lab's `{SESSION_KEY}` entry, not a session")]
    NotASession,
    #[error("it was written by a newer rbm-lab (session version {found}; this one reads up to {SESSION_VERSION})")]
    Newer { found: u64 },
    #[error("its description of the window is unusable: {0}")]
    BadState(String),
    #[error("could not write the session in {}: {source}", dir.display())]
    Write { dir: PathBuf, source: io::Error },
}
