//! The optional training-state section of a model file: what a training run needs beyond the
//! parameters to continue exactly where it stopped ([`TrainingState`]).
//!
//! Layout (inside format version 1 files; readers that do not know the section ignore it):
//! - `__metadata__` entry `rbm_lab_state`: JSON (`StateEntry` below): `state_version` (1, or 2 with
//!   parallel tempering), `epoch`, `cursor`, `train_images`, `epoch_loss_sum`, `epoch_batches`,
//!   `workspace_generation`, `workspace_seed`, `workspace_capacity`, and which optional tensors
//!   follow (`particles` as a count, `velocity`, `visible_offset`, `hidden_activity` as booleans);
//!   version 2 adds `tempering` (the ladder `betas`, the swap `rounds` done and the running
//!   `swap_rates`, while tempered chains are alive) and `tempering_base` (a boolean), both left out
//!   when absent, so that files without them stay version 1 and older builds read them;
//! - tensors named `state.*`, little-endian like the parameters:
//!   - `state.shuffle_stream` U64 `[4]`, `state.data_streams` U64 `[capacity, 4]`,
//!     `state.chain_streams` U64 `[chains, 4]`: xoshiro256++ states, words s0..s3;
//!   - `state.particles` F32 `[particles, V]` (PCD's fantasy particles, or parallel tempering's
//!     chains at every temperature, β = 1 first, when alive);
//!   - `state.velocity_W` F32 `[V, H]`, `state.velocity_b_v` F32 `[V]`, `state.velocity_b_h` F32 `[H]`
//!     (momentum buffers, once the full update has run);
//!   - `state.visible_offset` F32 `[V]` (centering, once set), `state.hidden_offset` F32 `[H]`,
//!     `state.hidden_activity` F32 `[H]` (the sparsity penalty's running means, once used);
//!   - `state.tempering_base` F32 `[V]` (the base biases of parallel tempering's hot end, once set).
//!
//! Checked on load as strictly as the rest of the file: every tensor the entry announces is there
//! with its dtype and shape and nothing else is called `state.*`, the values are finite, the
//! position lies inside the epoch and agrees with the metadata's `epochs_trained`.

use serde::{Deserialize, Serialize};

use safetensors::Dtype;
use safetensors::tensor::Metadata;

use super::container::{NamedTensor, RawTensor, TensorValues, decode_f32, decode_u64, raw_tensor};
use super::model_file::{ModelFileError, ModelMetadata};
use crate::model::rng::RowStreams;
use crate::model::rng::{stream_from_words, stream_words};
use crate::model::{Tempering, TrainingState, Velocity, WorkspaceState};

/// The `__metadata__` entry holding the section's JSON.
pub const STATE_KEY: &str = "rbm_lab_state";
/// The newest version of the section this build reads and writes (it reads version 1 too, and
/// writes it when the state has nothing of version 2).
pub const STATE_VERSION: u32 = 2;
/// The version before parallel tempering.
const STATE_VERSION_WITHOUT_TEMPERING: u32 = 1;
/// Every tensor of the section starts with this.
pub const STATE_PREFIX: &str = "state.";

const SHUFFLE_STREAM: &str = "state.shuffle_stream";
const DATA_STREAMS: &str = "state.data_streams";
const CHAIN_STREAMS: &str = "state.chain_streams";
const PARTICLES: &str = "state.particles";
const VELOCITY_W: &str = "state.velocity_W";
const VELOCITY_B_V: &str = "state.velocity_b_v";
const VELOCITY_B_H: &str = "state.velocity_b_h";
const VISIBLE_OFFSET: &str = "state.visible_offset";
const HIDDEN_OFFSET: &str = "state.hidden_offset";
const HIDDEN_ACTIVITY: &str = "state.hidden_activity";
const TEMPERING_BASE: &str = "state.tempering_base";

/// The section's scalars and the list of optional tensors, as JSON.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct StateEntry {
    state_version: u32,
    epoch: u64,
    cursor: u64,
    train_images: u64,
    epoch_loss_sum: f64,
    epoch_batches: u64,
    workspace_generation: u64,
    workspace_seed: u64,
    workspace_capacity: u64,
    /// PCD particles alive (0: none, and no `state.particles`).
    particles: u64,
    velocity: bool,
    visible_offset: bool,
    hidden_activity: bool,
    /// Version 2: parallel tempering's ladder and rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tempering: Option<TemperingEntry>,
    /// Version 2: whether `state.tempering_base` follows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    tempering_base: bool,
}

/// [`Tempering`] as JSON (f64 values round-trip exactly).
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct TemperingEntry {
    betas: Vec<f64>,
    rounds: u64,
    swap_rates: Vec<f64>,
}

fn bad(reason: impl Into<String>) -> ModelFileError {
    ModelFileError::BadState(reason.into())
}

/// The section's JSON entry and tensors for `state`, after checking it as loading would.
pub(super) fn write<'a>(
    state: &'a TrainingState,
    metadata: &ModelMetadata,
    n_visible: usize,
    n_hidden: usize,
) -> Result<(String, Vec<NamedTensor<'a>>), ModelFileError> {
    state.validate(n_visible, n_hidden).map_err(|e| bad(e.to_string()))?;
    check_position(state, metadata)?;
    let ws = &state.workspace;
    let particles = ws.particles.len() / n_visible;
    let tempering = ws.tempering.as_ref().map(|t| TemperingEntry {
        betas: t.betas.clone(),
        rounds: t.rounds,
        swap_rates: t.swap_rates.clone(),
    });
    let version = if tempering.is_some() || ws.tempering_base.is_some() {
        STATE_VERSION
    } else {
        STATE_VERSION_WITHOUT_TEMPERING
    };
    let entry = StateEntry {
        state_version: version,
        epoch: state.epoch,
        cursor: state.cursor,
        train_images: state.train_images,
        epoch_loss_sum: state.epoch_loss_sum,
        epoch_batches: state.epoch_batches,
        workspace_generation: state.workspace_generation,
        workspace_seed: ws.seed,
        workspace_capacity: ws.capacity as u64,
        particles: particles as u64,
        velocity: ws.velocity.is_some(),
        visible_offset: ws.visible_offset.is_some(),
        hidden_activity: ws.hidden_activity.is_some(),
        tempering,
        tempering_base: ws.tempering_base.is_some(),
    };
    let json = serde_json::to_string(&entry).map_err(|e| bad(format!("it cannot be written as JSON: {e}")))?;
    let words = |streams: &RowStreams| streams.to_words().concat();
    let mut tensors = vec![
        (SHUFFLE_STREAM, vec![4], TensorValues::U64(stream_words(&state.shuffle_stream).to_vec())),
        (DATA_STREAMS, vec![ws.data_streams.len(), 4], TensorValues::U64(words(&ws.data_streams))),
        (CHAIN_STREAMS, vec![ws.chain_streams.len(), 4], TensorValues::U64(words(&ws.chain_streams))),
    ];
    if particles > 0 {
        tensors.push((PARTICLES, vec![particles, n_visible], TensorValues::F32(&ws.particles)));
    }
    if let Some(velocity) = &ws.velocity {
        tensors.extend([
            (VELOCITY_W, vec![n_visible, n_hidden], TensorValues::F32(&velocity.w)),
            (VELOCITY_B_V, vec![n_visible], TensorValues::F32(&velocity.b_v)),
            (VELOCITY_B_H, vec![n_hidden], TensorValues::F32(&velocity.b_h)),
        ]);
    }
    if let Some(offset) = &ws.visible_offset {
        tensors.push((VISIBLE_OFFSET, vec![n_visible], TensorValues::F32(offset)));
    }
    tensors.push((HIDDEN_OFFSET, vec![n_hidden], TensorValues::F32(&ws.hidden_offset)));
    if let Some(activity) = &ws.hidden_activity {
        tensors.push((HIDDEN_ACTIVITY, vec![n_hidden], TensorValues::F32(activity)));
    }
    if let Some(base) = &ws.tempering_base {
        tensors.push((TEMPERING_BASE, vec![n_visible], TensorValues::F32(base)));
    }
    Ok((json, tensors))
}

/// The training state in a file, if it has the section; checked against the model and metadata.
pub(super) fn read(
    header: &Metadata,
    data: &[u8],
    metadata: &ModelMetadata,
    n_visible: usize,
    n_hidden: usize,
) -> Result<Option<TrainingState>, ModelFileError> {
    let state_tensors: Vec<String> =
        header.offset_keys().into_iter().filter(|name| name.starts_with(STATE_PREFIX)).collect();
    let Some(json) = header.metadata().as_ref().and_then(|entries| entries.get(STATE_KEY)) else {
        return match state_tensors.first() {
            Some(name) => Err(bad(format!("the file has tensor `{name}` but no `{STATE_KEY}` entry describing it"))),
            None => Ok(None),
        };
    };
    let entry = parse_entry(json)?;
    let (nv, nh) = (n_visible, n_hidden);
    let particles = usize::try_from(entry.particles).unwrap_or(usize::MAX);
    let capacity = usize::try_from(entry.workspace_capacity).unwrap_or(usize::MAX);

    let mut expected: Vec<&'static str> = vec![SHUFFLE_STREAM, DATA_STREAMS, CHAIN_STREAMS, HIDDEN_OFFSET];
    let optional = [
        (particles > 0, &[PARTICLES][..]),
        (entry.velocity, &[VELOCITY_W, VELOCITY_B_V, VELOCITY_B_H][..]),
        (entry.visible_offset, &[VISIBLE_OFFSET][..]),
        (entry.hidden_activity, &[HIDDEN_ACTIVITY][..]),
        (entry.tempering_base, &[TEMPERING_BASE][..]),
    ];
    for (present, names) in optional {
        if present {
            expected.extend_from_slice(names);
        }
    }
    if let Some(stray) = state_tensors.iter().find(|name| !expected.contains(&name.as_str())) {
        return Err(bad(format!("tensor `{stray}` is not announced by the `{STATE_KEY}` entry")));
    }

    let tensor = |name: &'static str, dtype: Dtype| -> Result<RawTensor<'_>, ModelFileError> {
        let tensor = raw_tensor(header, data, name)?
            .ok_or_else(|| bad(format!("tensor `{name}` is announced by the `{STATE_KEY}` entry but missing")))?;
        if tensor.dtype != dtype {
            return Err(bad(format!("tensor `{name}` holds {} values, expected {dtype}", tensor.dtype)));
        }
        Ok(tensor)
    };
    let shaped = |tensor: &RawTensor<'_>, name: &str, shape: &[usize], meaning: &str| {
        if tensor.shape == shape {
            Ok(())
        } else {
            Err(bad(format!("tensor `{name}` has shape {:?}, expected {shape:?} ({meaning})", tensor.shape)))
        }
    };
    let f32s = |name: &'static str, shape: &[usize], meaning: &str| -> Result<Vec<f32>, ModelFileError> {
        let raw = tensor(name, Dtype::F32)?;
        shaped(&raw, name, shape, meaning)?;
        Ok(decode_f32(raw.bytes))
    };
    let streams = |name: &'static str, rows: Option<usize>, meaning: &str| -> Result<Vec<[u64; 4]>, ModelFileError> {
        let raw = tensor(name, Dtype::U64)?;
        let rows = rows.unwrap_or(raw.shape.first().copied().unwrap_or(0));
        shaped(&raw, name, &[rows, 4], meaning)?;
        let words = decode_u64(raw.bytes);
        Ok(words.chunks_exact(4).map(|w| [w[0], w[1], w[2], w[3]]).collect())
    };
    let row_streams = |name: &'static str, rows: Option<usize>, meaning: &str| -> Result<RowStreams, ModelFileError> {
        RowStreams::from_words(&streams(name, rows, meaning)?).ok_or_else(|| {
            bad(format!("tensor `{name}` holds an all-zero random-stream state, which no stream reaches"))
        })
    };

    let shuffle_words = {
        let raw = tensor(SHUFFLE_STREAM, Dtype::U64)?;
        shaped(&raw, SHUFFLE_STREAM, &[4], "one random-stream state")?;
        let w = decode_u64(raw.bytes);
        [w[0], w[1], w[2], w[3]]
    };
    let shuffle_stream = stream_from_words(shuffle_words)
        .ok_or_else(|| bad(format!("tensor `{SHUFFLE_STREAM}` holds an all-zero random-stream state")))?;
    let workspace = WorkspaceState {
        capacity,
        seed: entry.workspace_seed,
        data_streams: row_streams(DATA_STREAMS, Some(capacity), "one stream per batch row")?,
        chain_streams: row_streams(CHAIN_STREAMS, None, "one stream per chain")?,
        particles: if particles > 0 {
            f32s(PARTICLES, &[particles, nv], "particles x visible units")?
        } else {
            Vec::new()
        },
        velocity: match entry.velocity {
            true => Some(Velocity {
                w: f32s(VELOCITY_W, &[nv, nh], "the shape of W")?,
                b_v: f32s(VELOCITY_B_V, &[nv], "the shape of b_v")?,
                b_h: f32s(VELOCITY_B_H, &[nh], "the shape of b_h")?,
            }),
            false => None,
        },
        visible_offset: match entry.visible_offset {
            true => Some(f32s(VISIBLE_OFFSET, &[nv], "one offset per visible unit")?),
            false => None,
        },
        hidden_offset: f32s(HIDDEN_OFFSET, &[nh], "one offset per hidden unit")?,
        hidden_activity: match entry.hidden_activity {
            true => Some(f32s(HIDDEN_ACTIVITY, &[nh], "one running mean per hidden unit")?),
            false => None,
        },
        tempering: entry.tempering.map(|t| Tempering { betas: t.betas, rounds: t.rounds, swap_rates: t.swap_rates }),
        tempering_base: match entry.tempering_base {
            true => Some(f32s(TEMPERING_BASE, &[nv], "one base bias per visible unit")?),
            false => None,
        },
    };
    let state = TrainingState {
        epoch: entry.epoch,
        cursor: entry.cursor,
        train_images: entry.train_images,
        shuffle_stream,
        epoch_loss_sum: entry.epoch_loss_sum,
        epoch_batches: entry.epoch_batches,
        workspace_generation: entry.workspace_generation,
        workspace,
    };
    state.validate(nv, nh).map_err(|e| bad(e.to_string()))?;
    check_position(&state, metadata)?;
    Ok(Some(state))
}

/// Reads the entry, looking at its version first so that a newer layout is reported as such.
fn parse_entry(json: &str) -> Result<StateEntry, ModelFileError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|error| bad(format!("the `{STATE_KEY}` entry is not valid JSON ({error})")))?;
    let version = value.get("state_version").and_then(serde_json::Value::as_u64);
    match version {
        Some(v) if (u64::from(STATE_VERSION_WITHOUT_TEMPERING)..=u64::from(STATE_VERSION)).contains(&v) => {}
        Some(v) if v > u64::from(STATE_VERSION) => {
            return Err(bad(format!(
                "it has version {v}, but this rbm-lab reads version {STATE_VERSION}; open it with a newer rbm-lab"
            )));
        }
        _ => return Err(bad(format!("the `{STATE_KEY}` entry has no valid state_version (expected {STATE_VERSION})"))),
    }
    let entry: StateEntry = serde_json::from_value(value)
        .map_err(|error| bad(format!("the `{STATE_KEY}` entry is malformed ({error})")))?;
    if entry.state_version == STATE_VERSION_WITHOUT_TEMPERING && (entry.tempering.is_some() || entry.tempering_base) {
        return Err(bad(format!(
            "the `{STATE_KEY}` entry has version {STATE_VERSION_WITHOUT_TEMPERING} but parallel tempering's fields, \
             which came with version {STATE_VERSION}"
        )));
    }
    Ok(entry)
}

/// The state's position must be the one the metadata records (same formula, so equal up to the
/// rounding of a hand-edited decimal).
fn check_position(state: &TrainingState, metadata: &ModelMetadata) -> Result<(), ModelFileError> {
    let position = state.epoch_position();
    let recorded = metadata.epochs_trained;
    if (position - recorded).abs() > 1e-9 * recorded.abs().max(1.0) {
        return Err(bad(format!(
            "it is at epoch {position} ({} of {} images into epoch {}), but the metadata says epochs_trained {recorded}",
            state.cursor,
            state.train_images,
            state.epoch + 1
        )));
    }
    Ok(())
}
