//! The session file's layout: the model file plus the `rbm_lab_session` JSON ([`SessionState`]),
//! in types of its own so that the file's format does not change when the window's structs do,
//! with every list bounded while it is read and every value checked on write and read alike.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{SESSION_KEY, SESSION_VERSION, SessionError};
use crate::app::Tab;
use crate::app::loss_plot::{MAX_BATCH_POINTS, MAX_EPOCH_MEANS, MAX_MARKERS};
use crate::app::quality::{MAX_MONITOR_POINTS, MAX_PROBES};
use crate::app::runs::KeptRuns;
use crate::app::swap_plot::{MAX_SWAP_POINTS, SwapHistory, SwapPoint};
use crate::data::Dataset;
use crate::io::{ModelFile, labelled_model_from_bytes, metadata_entry};
use crate::limits::{MAX_GIBBS_CHAINS, MAX_MARKER_LABEL_CHARS, MAX_SESSION_EVALUATIONS, MAX_TEMPERATURES};
use crate::model::probe::Accuracy;
use crate::model::raise::RaiseEstimate;
use crate::model::{ModelSpec, TrainingConfig, VisibleSampling};
use crate::quality::{Evaluation, GaussianDensity, MonitorPoint, ProbeMeasurement};
use crate::trainer::ChainStart;

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
    /// A Gaussian model's standardised densities: the evaluation's figures are log densities
    /// (absent for binary models, and in sessions written before Gaussian models were evaluated).
    #[serde(default)]
    pub gaussian: Option<SavedGaussianDensity>,
}

convert_both_ways!(SavedEvaluation <-> Evaluation {
    epoch, n_hidden, log_z, log_z_low, log_z_high, exact, test_log_likelihood, train_log_likelihood, images, runs,
    betas, seconds; raise, gaussian
});

/// One [`GaussianDensity`], in the session's own layout.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct SavedGaussianDensity {
    #[serde(with = "any_f64")]
    pub test_standardised: f64,
    #[serde(with = "any_f64")]
    pub train_standardised: f64,
}

convert_both_ways!(SavedGaussianDensity <-> GaussianDensity { test_standardised, train_standardised });

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

/// Classes a probe's result may count (labels are bytes).
const MAX_PROBE_CLASSES: usize = 256;

/// One linear probe's result ([`ProbeMeasurement`]), in the session's own layout. The raw-pixel
/// baseline is not kept: the next probe measures it again.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedProbe {
    pub samples_seen: u64,
    #[serde(with = "any_f64")]
    pub epoch: f64,
    pub n_hidden: usize,
    pub correct: usize,
    pub total: usize,
    /// (correct, images) of each class, by label.
    pub per_class: Bounded<(usize, usize), MAX_PROBE_CLASSES>,
}

impl From<&ProbeMeasurement> for SavedProbe {
    fn from(probe: &ProbeMeasurement) -> Self {
        let ProbeMeasurement { samples_seen, epoch, n_hidden, accuracy, baseline: _ } = probe;
        let Accuracy { correct, total, per_class } = accuracy;
        Self {
            samples_seen: *samples_seen,
            epoch: *epoch,
            n_hidden: *n_hidden,
            correct: *correct,
            total: *total,
            per_class: Bounded(per_class.iter().take(MAX_PROBE_CLASSES).copied().collect()),
        }
    }
}

impl From<&SavedProbe> for ProbeMeasurement {
    fn from(probe: &SavedProbe) -> Self {
        let SavedProbe { samples_seen, epoch, n_hidden, correct, total, per_class } = probe;
        Self {
            samples_seen: *samples_seen,
            epoch: *epoch,
            n_hidden: *n_hidden,
            accuracy: Accuracy { correct: *correct, total: *total, per_class: per_class.0.clone() },
            baseline: None,
        }
    }
}

impl SavedProbe {
    /// Counts that a probe can give: no class with more right than it has images, and the classes
    /// adding up to the totals.
    fn check(&self) -> Result<(), String> {
        let classes = &self.per_class.0;
        let (correct, images) =
            classes.iter().fold((0usize, 0usize), |(c, n), &(cc, cn)| (c.saturating_add(cc), n.saturating_add(cn)));
        if classes.iter().any(|&(c, n)| c > n) || correct != self.correct || images != self.total {
            return Err(format!(
                "a linear probe's counts do not add up ({} of {} right, classes {classes:?})",
                self.correct, self.total
            ));
        }
        Ok(())
    }
}

/// Parallel tempering's swap rates over training ([`SwapHistory`]), in the session's own layout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedSwaps {
    /// The ladder's inverse temperatures, 1 first (empty when unknown).
    pub betas: Bounded<f64, MAX_TEMPERATURES>,
    pub points: Bounded<SavedSwapPoint, MAX_SWAP_POINTS>,
}

/// The rate of each neighbouring pair, coldest first, at `epoch`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedSwapPoint {
    pub epoch: f64,
    pub rates: Bounded<f64, MAX_TEMPERATURES>,
}

impl From<&SwapHistory> for SavedSwaps {
    fn from(history: &SwapHistory) -> Self {
        let SwapHistory { points, betas } = history;
        let point = |p: &SwapPoint| SavedSwapPoint { epoch: p.epoch, rates: Bounded(p.rates.clone()) };
        Self { betas: Bounded(betas.clone()), points: Bounded(points.iter().map(point).collect()) }
    }
}

impl From<&SavedSwaps> for SwapHistory {
    fn from(saved: &SavedSwaps) -> Self {
        let SavedSwaps { betas, points } = saved;
        let point = |p: &SavedSwapPoint| SwapPoint { epoch: p.epoch, rates: p.rates.0.clone() };
        Self { points: points.0.iter().map(point).collect(), betas: betas.0.clone() }
    }
}

impl SavedSwaps {
    /// What the window's history can hold: one pair count throughout, matching the ladder when it
    /// is known, rates in [0, 1], inverse temperatures in (0, 1], finite epochs.
    fn check(&self) -> Result<(), String> {
        let (betas, points) = (&self.betas.0, &self.points.0);
        let pairs = points.first().map_or(0, |p| p.rates.0.len());
        if points.iter().any(|p| p.rates.0.len() != pairs || p.rates.0.is_empty())
            || (!betas.is_empty() && !points.is_empty() && betas.len() != pairs + 1)
        {
            return Err("the swap-rate history's pairs do not match its ladder".into());
        }
        if !betas.iter().all(|b| *b > 0.0 && *b <= 1.0)
            || !points.iter().flat_map(|p| &p.rates.0).all(|r| (0.0..=1.0).contains(r))
        {
            return Err("the swap-rate history has rates outside [0, 1] or β outside (0, 1]".into());
        }
        if !points.iter().all(|p| p.epoch.is_finite()) {
            return Err("the swap-rate history has an epoch that is not a number".into());
        }
        Ok(())
    }
}

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
    n_hidden, exact, images, runs, betas, raise, gaussian);
bitwise_eq!(SavedRaise: bound, low, high, log_z_estimate; images, runs);
bitwise_eq!(SavedGaussianDensity: test_standardised, train_standardised;);
bitwise_eq!(SavedProbe: epoch; samples_seen, n_hidden, correct, total, per_class);

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
    Inpaint,
}

impl From<Tab> for SavedTab {
    fn from(tab: Tab) -> Self {
        match tab {
            Tab::Training => SavedTab::Training,
            Tab::Quality => SavedTab::Quality,
            Tab::Toy => SavedTab::Toy,
            Tab::Inpaint => SavedTab::Inpaint,
        }
    }
}

impl From<SavedTab> for Tab {
    fn from(tab: SavedTab) -> Self {
        match tab {
            SavedTab::Training => Tab::Training,
            SavedTab::Quality => Tab::Quality,
            SavedTab::Toy => Tab::Toy,
            SavedTab::Inpaint => Tab::Inpaint,
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
    /// The runs table (absent in sessions written before it existed).
    #[serde(default)]
    pub runs: KeptRuns,
    /// The linear probes' results, oldest first (absent in sessions written before they were kept).
    #[serde(default)]
    pub probes: Bounded<SavedProbe, MAX_PROBES>,
    /// Parallel tempering's swap rates (absent in sessions written before they were kept).
    #[serde(default)]
    pub swaps: SavedSwaps,
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
        self.probes.0.iter().try_for_each(SavedProbe::check).or_else(bad)?;
        self.swaps.check().or_else(bad)?;
        self.runs.check().or_else(|e| bad(format!("its runs table: {e}")))
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
    let model = labelled_model_from_bytes(bytes)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
