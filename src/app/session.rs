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

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use egui_plot::PlotPoint;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::loss_plot::{ConfigMarker, MAX_BATCH_POINTS, MAX_EPOCH_MEANS, MAX_MARKERS};
use super::quality_view::MAX_MONITOR_POINTS;
use super::{RbmLabApp, Tab};
use crate::data::Dataset;
use crate::io::{ModelFile, ModelFileError, atomic_write, metadata_entry, model_from_bytes, read_model_bytes};
use crate::limits::{MAX_GIBBS_CHAINS, MAX_MARKER_LABEL_CHARS, MAX_SESSION_EVALUATIONS};
use crate::model::raise::RaiseEstimate;
use crate::model::{ModelSpec, TrainingConfig, VisibleSampling};
use crate::quality::{Evaluation, MonitorPoint};
use crate::trainer::{ChainCommand, ChainStart, Command, Update};

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
/// Visible units of the embedded MNIST's 28x28 images: a session on a folder that has gone can
/// continue on the embedded set only with a model of this size.
const MNIST_PIXELS: usize = 28 * 28;

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

/// Where the window trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DatasetSource {
    EmbeddedMnist,
    Folder(PathBuf),
}

impl DatasetSource {
    pub fn of(dataset: &Dataset) -> Self {
        dataset.folder.clone().map_or(DatasetSource::EmbeddedMnist, DatasetSource::Folder)
    }
}

/// At most `MAX` items, refused while they are read once there are more, so that a damaged file
/// never makes a longer list than the window itself would keep.
#[derive(Clone, Debug, PartialEq)]
pub struct Bounded<T, const MAX: usize>(pub Vec<T>);

impl<T, const MAX: usize> Default for Bounded<T, MAX> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: Serialize, const MAX: usize> Serialize for Bounded<T, MAX> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Bounded<T, MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> serde::de::Visitor<'de> for Visitor<T, MAX> {
            type Value = Bounded<T, MAX>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a list of at most {MAX} entries")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == MAX {
                        return Err(serde::de::Error::custom(format!(
                            "a list has more than {MAX} entries, more than the window keeps"
                        )));
                    }
                    items.push(item);
                }
                Ok(Bounded(items))
            }
        }
        deserializer.deserialize_seq(Visitor(PhantomData))
    }
}

/// f64 values that may be infinite or NaN (an AIS interval with too few runs reaches ±inf), which
/// JSON numbers cannot hold: those are written as the strings "inf", "-inf" and "NaN".
mod any_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        match *value {
            v if v.is_finite() => serializer.serialize_f64(v),
            v if v.is_nan() => serializer.serialize_str("NaN"),
            v if v > 0.0 => serializer.serialize_str("inf"),
            _ => serializer.serialize_str("-inf"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Number(v) => Ok(v),
            Repr::Text(text) => match text.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "NaN" => Ok(f64::NAN),
                other => Err(serde::de::Error::custom(format!("`{other}` is not a number"))),
            },
        }
    }
}

/// `From` both ways between a session's copy of a struct and the struct itself, field by field
/// (destructured, so that a field added to either one is a compile error here, not a silent loss).
/// Fields after `;` are optional structs of their own, converted the same way.
macro_rules! convert_both_ways {
    ($saved:ident <-> $live:ident { $($field:ident),* $(,)? $(; $($optional:ident),*)? }) => {
        impl From<&$live> for $saved {
            fn from(value: &$live) -> Self {
                let $live { $($field,)* $($($optional),*)? } = value;
                Self { $($field: *$field,)* $($($optional: $optional.as_ref().map(Into::into)),*)? }
            }
        }
        impl From<&$saved> for $live {
            fn from(value: &$saved) -> Self {
                let $saved { $($field,)* $($($optional),*)? } = value;
                Self { $($field: *$field,)* $($($optional: $optional.as_ref().map(Into::into)),*)? }
            }
        }
    };
}

/// The loss plot as it was: the stored points (each averaging `stride` batches), the epoch means
/// and the hyperparameter markers, x in epochs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedLoss {
    pub batch_points: Bounded<[f64; 2], MAX_BATCH_POINTS>,
    pub stride: u64,
    pub total_batches: u64,
    pub epoch_means: Bounded<[f64; 2], MAX_EPOCH_MEANS>,
    pub markers: Bounded<SavedMarker, MAX_MARKERS>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedMarker {
    pub epoch: f64,
    pub label: String,
}

/// One [`MonitorPoint`], in the session's own layout (so that the file's format does not change
/// when the monitor's struct does).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SavedMonitor {
    #[serde(with = "any_f64")]
    pub epoch: f64,
    #[serde(with = "any_f64")]
    pub pseudo_likelihood: f64,
    #[serde(with = "any_f64")]
    pub free_energy_gap: f64,
    #[serde(with = "any_f64")]
    pub reconstruction_mse: f64,
    #[serde(with = "any_f64")]
    pub update_ratio: f64,
}

convert_both_ways!(SavedMonitor <-> MonitorPoint {
    epoch, pseudo_likelihood, free_energy_gap, reconstruction_mse, update_ratio
});

/// One [`Evaluation`], in the session's own layout.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SavedEvaluation {
    #[serde(with = "any_f64")]
    pub epoch: f64,
    pub n_hidden: usize,
    #[serde(with = "any_f64")]
    pub log_z: f64,
    #[serde(with = "any_f64")]
    pub log_z_low: f64,
    #[serde(with = "any_f64")]
    pub log_z_high: f64,
    pub exact: bool,
    #[serde(with = "any_f64")]
    pub test_log_likelihood: f64,
    #[serde(with = "any_f64")]
    pub train_log_likelihood: f64,
    pub images: usize,
    pub runs: usize,
    pub betas: usize,
    #[serde(with = "any_f64")]
    pub seconds: f64,
    /// RAISE's bound, when the evaluation had one (absent in sessions written before it existed).
    #[serde(default)]
    pub raise: Option<SavedRaise>,
}

convert_both_ways!(SavedEvaluation <-> Evaluation {
    epoch, n_hidden, log_z, log_z_low, log_z_high, exact, test_log_likelihood, train_log_likelihood, images, runs,
    betas, seconds; raise
});

/// One [`RaiseEstimate`], in the session's own layout.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SavedRaise {
    pub images: usize,
    pub runs: usize,
    #[serde(with = "any_f64")]
    pub bound: f64,
    #[serde(with = "any_f64")]
    pub low: f64,
    #[serde(with = "any_f64")]
    pub high: f64,
    #[serde(with = "any_f64")]
    pub log_z_estimate: f64,
}

convert_both_ways!(SavedRaise <-> RaiseEstimate { images, runs, bound, low, high, log_z_estimate });

/// Compared bit for bit, so that NaN equals NaN (a round trip must give back what was written).
macro_rules! bitwise_eq {
    ($type:ty: $($float:ident),* ; $($other:ident),*) => {
        impl PartialEq for $type {
            fn eq(&self, other: &Self) -> bool {
                $(self.$float.to_bits() == other.$float.to_bits() &&)* $(self.$other == other.$other &&)* true
            }
        }
    };
}
bitwise_eq!(SavedMonitor: epoch, pseudo_likelihood, free_energy_gap, reconstruction_mse, update_ratio;);
bitwise_eq!(SavedEvaluation: epoch, log_z, log_z_low, log_z_high, test_log_likelihood, train_log_likelihood, seconds;
    n_hidden, exact, images, runs, betas, raise);
bitwise_eq!(SavedRaise: bound, low, high, log_z_estimate; images, runs);

/// The Gibbs chain panel's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainSettings {
    pub count: usize,
    pub start: ChainStart,
    pub steps_per_second: f32,
    pub running: bool,
    pub restart_every: u64,
    /// `None`: as in training.
    pub sampling: Option<VisibleSampling>,
}

/// The tab that was shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SavedTab {
    Training,
    Quality,
    Toy,
}

impl From<Tab> for SavedTab {
    fn from(tab: Tab) -> Self {
        match tab {
            Tab::Training => SavedTab::Training,
            Tab::Quality => SavedTab::Quality,
            Tab::Toy => SavedTab::Toy,
        }
    }
}

impl From<SavedTab> for Tab {
    fn from(tab: SavedTab) -> Self {
        match tab {
            SavedTab::Training => Tab::Training,
            SavedTab::Quality => Tab::Quality,
            SavedTab::Toy => Tab::Toy,
        }
    }
}

/// The window's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionSettings {
    /// What the controls showed (the hyperparameters in force).
    pub config: TrainingConfig,
    /// What the next Reset builds.
    pub spec: ModelSpec,
    pub chains: ChainSettings,
    pub tab: SavedTab,
}

/// Everything a session keeps besides the model, as the `rbm_lab_session` JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    /// Layout of this JSON; sessions newer than [`SESSION_VERSION`] are refused, not guessed at.
    pub version: u32,
    /// Seconds since 1970 (UTC) when it was written.
    pub saved_at: u64,
    pub dataset: DatasetSource,
    /// Training samples since the person last created, loaded or saved the model themselves.
    pub unsaved_samples: u64,
    pub loss: SavedLoss,
    pub monitors: Bounded<SavedMonitor, MAX_MONITOR_POINTS>,
    pub evaluations: Bounded<SavedEvaluation, MAX_SESSION_EVALUATIONS>,
    pub settings: SessionSettings,
}

impl SessionState {
    /// What the JSON's types cannot say: sizes and ranges the window accepts. Checked on write and
    /// on read alike, so that no write produces a session that cannot be read back.
    pub fn check(&self) -> Result<(), SessionError> {
        let bad = |text: String| Err(SessionError::BadState(text));
        if self.version == 0 || self.version > SESSION_VERSION {
            return bad(format!("session version {} does not exist", self.version));
        }
        let loss = &self.loss;
        if !(1..=1u64 << 40).contains(&loss.stride) {
            return bad(format!("the loss plot's points each average {} batches (1 to 2^40)", loss.stride));
        }
        if let Some(marker) = loss.markers.0.iter().find(|m| m.label.chars().count() > MAX_MARKER_LABEL_CHARS) {
            return bad(format!(
                "a loss-plot marker's label has {} characters, more than {MAX_MARKER_LABEL_CHARS}",
                marker.label.chars().count()
            ));
        }
        let settings = &self.settings;
        settings.config.validate().or_else(|e| bad(format!("its training settings are invalid: {e}")))?;
        settings.spec.validate().or_else(|e| bad(format!("its model settings are invalid: {e}")))?;
        let chains = &settings.chains;
        if !(1..=MAX_GIBBS_CHAINS).contains(&chains.count) {
            return bad(format!("{} Gibbs chains (1 to {MAX_GIBBS_CHAINS})", chains.count));
        }
        if !(chains.steps_per_second.is_finite() && (0.1..=1000.0).contains(&chains.steps_per_second)) {
            return bad(format!("{} chain steps per second (0.1 to 1000)", chains.steps_per_second));
        }
        if let DatasetSource::Folder(folder) = &self.dataset
            && folder.as_os_str().is_empty()
        {
            return bad("its dataset folder is an empty path".into());
        }
        Ok(())
    }
}

/// A kept session: the model file and the window around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub model: ModelFile,
    pub state: SessionState,
}

impl Session {
    /// One line for the offer and for stderr: "784x256 model trained for 3.27 epochs on the embedded MNIST".
    pub fn describe(&self) -> String {
        let m = &self.model;
        format!(
            "{}x{} model trained for {:.2} epochs on {}",
            m.rbm.n_visible(),
            m.rbm.n_hidden(),
            m.metadata.epochs_trained,
            match &self.state.dataset {
                DatasetSource::EmbeddedMnist => "the embedded MNIST".to_string(),
                DatasetSource::Folder(folder) => format!("{} ({})", m.metadata.dataset, folder.display()),
            }
        )
    }
}

/// The session as the bytes of its file.
pub fn encode_session(session: &Session) -> Result<Vec<u8>, SessionError> {
    session.state.check()?;
    let json = serde_json::to_string(&session.state)
        .map_err(|e| SessionError::BadState(format!("it cannot be written as JSON: {e}")))?;
    Ok(crate::io::model_to_bytes_with_entries(&session.model, &BTreeMap::from([(SESSION_KEY, json)]))?)
}

/// Reads a session file's bytes: the model (every check a model file gets), then the session
/// entry, its version first, so that a newer session is reported as such.
pub fn decode_session(bytes: &[u8]) -> Result<Session, SessionError> {
    let model = model_from_bytes(bytes)?;
    let json = metadata_entry(bytes, SESSION_KEY)?.ok_or(SessionError::NotASession)?;
    #[derive(Deserialize)]
    struct VersionOnly {
        version: Option<u64>,
    }
    let VersionOnly { version } = serde_json::from_str(&json)
        .map_err(|e| SessionError::BadState(format!("the `{SESSION_KEY}` entry is not valid JSON ({e})")))?;
    match version {
        None => return Err(SessionError::BadState(format!("the `{SESSION_KEY}` entry has no version"))),
        Some(found) if found > u64::from(SESSION_VERSION) => return Err(SessionError::Newer { found }),
        Some(_) => {}
    }
    let state: SessionState = serde_json::from_str(&json).map_err(|e| SessionError::BadState(e.to_string()))?;
    state.check()?;
    Ok(Session { model, state })
}

/// The session folder and its files.
#[derive(Clone, Debug)]
pub struct SessionStore {
    dir: PathBuf,
}

impl SessionStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The app's data folder (eframe's, where it keeps its own settings):
    /// `$XDG_DATA_HOME/rbm-lab` or `~/.local/share/rbm-lab` on Linux.
    pub fn in_app_data_folder() -> Option<Self> {
        eframe::storage_dir("rbm-lab").map(Self::new)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(SESSION_FILE)
    }

    pub fn previous_path(&self) -> PathBuf {
        self.dir.join(PREVIOUS_SESSION_FILE)
    }

    /// Whether there is a session to offer (something is there, readable or not).
    pub fn has_session(&self) -> bool {
        fs::symlink_metadata(self.path()).is_ok()
    }

    /// The kept session, `None` if there is none.
    pub fn read(&self) -> Result<Option<Session>, SessionError> {
        if !self.has_session() {
            return Ok(None);
        }
        let bytes = read_model_bytes(&self.path())?;
        decode_session(&bytes).map(Some)
    }

    /// Writes `session` atomically. With `keep_old`, the session file there before (the last run's,
    /// which the person did not continue) is first copied to [`PREVIOUS_SESSION_FILE`], atomically
    /// too, so that a session file is there at every moment.
    pub fn write(&self, session: &Session, keep_old: bool) -> Result<PathBuf, SessionError> {
        let bytes = encode_session(session)?;
        let write_error = |source| SessionError::Write { dir: self.dir.clone(), source };
        fs::create_dir_all(&self.dir).map_err(write_error)?;
        let path = self.path();
        if keep_old && path.is_file() {
            let mut old = fs::File::open(&path).map_err(write_error)?;
            atomic_write(&self.previous_path(), |out| io::copy(&mut old, out).map(|_| ())).map_err(write_error)?;
        }
        atomic_write(&path, |out| out.write_all(&bytes)).map_err(write_error)?;
        Ok(path)
    }

    /// Renames an unreadable session file out of the way (`session.unreadable-<UTC time>.safetensors`,
    /// kept for a bug report or a manual rescue); returns the new path.
    pub fn set_aside(&self, now: SystemTime) -> io::Result<PathBuf> {
        let aside = self.dir.join(format!("session.unreadable-{}.safetensors", utc_stamp(now)));
        fs::rename(self.path(), &aside)?;
        Ok(aside)
    }

    /// Removes temporary files of session writes that a killed process left behind
    /// (`.session.safetensors.tmp-<pid>-<n>`, see `atomic_write`), those of processes that are gone.
    pub fn remove_stale_temporary_files(&self) -> usize {
        let Ok(entries) = fs::read_dir(&self.dir) else { return 0 };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(temporary_file_pid) else { continue };
            if !process_is_running(pid) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// The writing process of a session's temporary file, from its name (`.session*.tmp-<pid>-<n>`).
fn temporary_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(".session.")?;
    let (_, after) = rest.split_once(".tmp-")?;
    let (pid, counter) = after.split_once('-')?;
    counter.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` is running. Where that cannot be told, every process counts as running
/// (its files are left alone).
fn process_is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        Path::new("/proc").join(pid.to_string()).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// `20261127T101500Z`: a UTC time for file names.
pub fn utc_stamp(time: SystemTime) -> String {
    let (date, (h, m, s)) = utc_parts(time);
    format!("{}{:02}{:02}T{h:02}{m:02}{s:02}Z", date.0, date.1, date.2)
}

/// `2026-11-27 10:15 UTC`, for people.
pub fn utc_minutes(time: SystemTime) -> String {
    let ((y, mo, d), (h, mi, _)) = utc_parts(time);
    format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// Date and time of day in UTC (times before 1970 count as 1970).
fn utc_parts(time: SystemTime) -> ((i64, u32, u32), (u64, u64, u64)) {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    (civil_from_days(days as i64), (of_day / 3600, of_day % 3600 / 60, of_day % 60))
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// "chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// "just now", "12 minutes ago", "3 hours ago", "2 days ago".
pub fn describe_age(saved_at: u64, now: SystemTime) -> String {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let age = now.saturating_sub(saved_at);
    let plural = |n: u64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match age {
        0..60 => "just now".to_string(),
        60..7200 => plural(age / 60, "minute"),
        7200..172_800 => plural(age / 3600, "hour"),
        _ => plural(age / 86_400, "day"),
    }
}

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
enum Phase {
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
enum Report {
    Read(Result<Option<Box<Session>>, String>),
    /// The dataset for a continued session, with a note when it is not the session's own.
    DatasetLoaded(Result<(Arc<Dataset>, Option<String>), String>),
}

/// What was kept of a continued session until the trainer has loaded its model.
struct PendingRestore {
    state: SessionState,
    samples_seen: u64,
    /// Model replacements to let pass first (a dataset of another image size makes one).
    replacements_to_skip: usize,
    /// The model has been replaced; the loaded model's settings come next.
    loaded: bool,
    note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WritePurpose {
    Autosave,
    Close,
}

struct WriteJob {
    session: Box<Session>,
    keep_old: bool,
    purpose: WritePurpose,
}

struct Written {
    purpose: WritePurpose,
    result: Result<PathBuf, String>,
}

/// One thread writes the sessions, in the order they were made (an autosave never lands after
/// the close's save).
struct SessionWriter {
    jobs: Sender<WriteJob>,
    written: Receiver<Written>,
    in_flight: usize,
}

impl SessionWriter {
    fn start(store: SessionStore, ctx: egui::Context) -> io::Result<Self> {
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

    fn send(&mut self, job: WriteJob) -> bool {
        let sent = self.jobs.send(job).is_ok();
        self.in_flight += usize::from(sent);
        sent
    }
}

/// The window's side of keeping sessions: the offer, the autosave clock and the writer.
pub struct SessionKeeper {
    store: SessionStore,
    options: SessionOptions,
    phase: Phase,
    /// The file on disk is a session the person did not continue: the first write keeps it as
    /// the previous session.
    keep_old: bool,
    reports: (Sender<Report>, Receiver<Report>),
    writer: Option<SessionWriter>,
    autosave: AutosaveClock,
    /// `RequestModelFile` commands not answered yet.
    files_requested: usize,
    restore: Option<PendingRestore>,
    /// The offer has been announced on stderr (once).
    announced: bool,
    /// The window's context, woken by the session's threads when they report.
    ctx: egui::Context,
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

/// The person's answer to the offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Continue,
    StartFresh,
}

/// The offer's modal. Continue is greyed out while the session's dataset loads.
fn offer_ui(ui: &mut egui::Ui, offer: &Offer, loading: bool) -> Option<Answer> {
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
        ui.label(match state.evaluations.0.len() {
            0 => "The loss plot, the monitors and the settings come back.".to_string(),
            1 => "The loss plot, the monitors, the evaluation and the settings come back.".to_string(),
            n => format!("The loss plot, the monitors, {n} evaluations and the settings come back."),
        });
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
    pub(super) fn session_ui(&mut self, ui: &mut egui::Ui) {
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
    fn session_answered(&mut self, start: bool) {
        let Some(keeper) = &mut self.session else { return };
        keeper.phase = Phase::Live;
        if start && keeper.options.start_when_answered {
            self.trainer.send(Command::Start);
            self.controls.running = true;
        }
    }

    /// Continue: the session's dataset first if the window trains on another one (read on a
    /// thread), then the model and everything else.
    fn continue_session(&mut self, ctx: &egui::Context) {
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
    fn restore_session(&mut self, session: Session, dataset: Option<Arc<Dataset>>, note: Option<String>) {
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
    pub(super) fn session_model_replaced(&mut self) {
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
    pub(super) fn session_config_applied(&mut self) {
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
    pub(super) fn session_load_refused(&mut self) {
        if let Some(keeper) = &mut self.session {
            keeper.restore = None;
        }
    }

    /// The trainer's answer to `RequestModelFile`: an autosave.
    pub(super) fn session_model_file(&mut self, file: ModelFile) {
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
    fn autosave_if_due(&mut self) {
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
    fn dates_follow_the_gregorian_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        // 2000 was a leap year (divisible by 400), 2100 will not be.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        let time = UNIX_EPOCH + Duration::from_secs(1_795_774_500);
        assert_eq!(utc_stamp(time), "20261127T101500Z");
        assert_eq!(utc_minutes(time), "2026-11-27 10:15 UTC");
    }

    #[test]
    fn ages_read_in_the_largest_sensible_unit() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(describe_age(1_000_000 - 59, now), "just now");
        assert_eq!(describe_age(1_000_000 - 60, now), "1 minute ago");
        assert_eq!(describe_age(1_000_000 - 7199, now), "119 minutes ago");
        assert_eq!(describe_age(1_000_000 - 7200, now), "2 hours ago");
        assert_eq!(describe_age(1_000_000 - 3 * 86_400, now), "3 days ago");
        assert_eq!(describe_age(2_000_000, now), "just now", "a clock set back is not the future");
    }

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

    #[test]
    fn temporary_files_name_their_writer() {
        assert_eq!(temporary_file_pid(".session.safetensors.tmp-4242-7"), Some(4242));
        assert_eq!(temporary_file_pid(".session.previous.safetensors.tmp-17-0"), Some(17));
        assert_eq!(temporary_file_pid("session.safetensors"), None);
        assert_eq!(temporary_file_pid(".session.safetensors.tmp-x-1"), None);
        assert_eq!(temporary_file_pid(".model.safetensors.tmp-4242-7"), None, "only the session's own");
    }

    #[test]
    fn lists_longer_than_their_limit_are_refused_while_read() {
        let ok: Bounded<u8, 3> = serde_json::from_str("[1,2,3]").expect("three fit");
        assert_eq!(ok.0, [1, 2, 3]);
        let error = serde_json::from_str::<Bounded<u8, 3>>("[1,2,3,4]").expect_err("four do not");
        assert!(error.to_string().contains("more than 3 entries"), "{error}");
    }

    #[test]
    fn infinite_and_nan_values_survive_json() {
        #[derive(Serialize, Deserialize)]
        struct Value(#[serde(with = "any_f64")] f64);
        for v in [1.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -0.0] {
            let json = serde_json::to_string(&Value(v)).expect("written");
            let back: Value = serde_json::from_str(&json).expect("read");
            assert_eq!(back.0.to_bits(), v.to_bits(), "{json}");
        }
        assert!(serde_json::from_str::<Value>("\"many\"").is_err());
    }
}
