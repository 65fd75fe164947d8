//! What a [`CdWorkspace`](super::CdWorkspace) carries from one step to the next ([`WorkspaceState`],
//! with the momentum buffers [`Velocity`]), and the checks a saved state passes before a workspace
//! is rebuilt from it.

use crate::model::config::MAX_BATCH;
use crate::model::rng::RowStreams;
use crate::model::state::StateError;
use crate::model::tempering::Tempering;

/// Momentum buffers: the last applied change of each parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Velocity {
    /// V x H, row-major like W.
    pub w: Vec<f32>,
    pub b_v: Vec<f32>,
    pub b_h: Vec<f32>,
}

/// Everything a [`CdWorkspace`](super::CdWorkspace) carries from one step to the next, so that a run can be saved and
/// continued bit for bit (and a step that diverged undone). The other buffers are scratch space
/// that every step overwrites before reading.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkspaceState {
    /// Data rows per step the workspace holds (the batch size it was made for).
    pub capacity: usize,
    /// Seed of the row streams: the chain streams start again from it when more chains are needed.
    pub seed: u64,
    /// One stream per data row (binarisation draws), `capacity` of them.
    pub data_streams: RowStreams,
    /// One stream per negative chain; at least `capacity`, more when PCD has more particles.
    pub chain_streams: RowStreams,
    /// The PCD fantasy particles (particles x V, row-major); empty when none are alive (before the
    /// first PCD step, and after a CD step, whose chains overwrite them).
    pub particles: Vec<f32>,
    /// Momentum buffers, once the full update has run.
    pub velocity: Option<Velocity>,
    /// Centering's visible offset μ, once set.
    pub visible_offset: Option<Vec<f32>>,
    /// Centering's hidden offset λ (0.5 until centering moves it).
    pub hidden_offset: Vec<f32>,
    /// The sparsity penalty's running mean q of each hidden unit's activation, once used.
    pub hidden_activity: Option<Vec<f32>>,
    /// Parallel tempering's ladder, round count and swap rates, while its chains are alive (the
    /// chains themselves are `particles`, temperature-major: the β = 1 chains first).
    pub tempering: Option<Tempering>,
    /// The base model's visible biases b_A of parallel tempering, once set.
    pub tempering_base: Option<Vec<f32>>,
}

impl WorkspaceState {
    /// Checks the state against a V x H model: sizes, stream counts within [`MAX_BATCH`], finiteness.
    pub fn validate(&self, n_visible: usize, n_hidden: usize) -> Result<(), StateError> {
        let (nv, nh) = (n_visible, n_hidden);
        if !(1..=MAX_BATCH).contains(&self.capacity) {
            return Err(StateError::Inconsistent(format!(
                "the workspace is for batches of {} rows; rbm-lab's batches have 1 to {MAX_BATCH}",
                self.capacity
            )));
        }
        let size = |part, found: usize, expected: usize, described: String| {
            if found == expected { Ok(()) } else { Err(StateError::Size { part, found, expected: described }) }
        };
        size(
            "the data streams",
            self.data_streams.len(),
            self.capacity,
            format!("{} (one per batch row)", self.capacity),
        )?;
        let chains = self.chain_streams.len();
        if !(self.capacity..=MAX_BATCH).contains(&chains) {
            return Err(StateError::Size {
                part: "the chain streams",
                found: chains,
                expected: format!("{} to {MAX_BATCH} (one per chain, at least one per batch row)", self.capacity),
            });
        }
        let particles = self.particles.len() / nv.max(1);
        if !self.particles.len().is_multiple_of(nv.max(1)) || particles > chains {
            return Err(StateError::Size {
                part: "the PCD particles",
                found: self.particles.len(),
                expected: format!("a multiple of {nv} (whole visible vectors), at most {chains} of them"),
            });
        }
        let mut parts: Vec<(&'static str, &[f32])> = vec![("the PCD particles", &self.particles)];
        if let Some(velocity) = &self.velocity {
            size("the momentum of W", velocity.w.len(), nv * nh, format!("{nv}x{nh}"))?;
            size("the momentum of b_v", velocity.b_v.len(), nv, nv.to_string())?;
            size("the momentum of b_h", velocity.b_h.len(), nh, nh.to_string())?;
            parts.extend([
                ("the momentum of W", &velocity.w[..]),
                ("the momentum of b_v", &velocity.b_v[..]),
                ("the momentum of b_h", &velocity.b_h[..]),
            ]);
        }
        if let Some(offset) = &self.visible_offset {
            size("the visible centering offset", offset.len(), nv, nv.to_string())?;
            parts.push(("the visible centering offset", offset));
        }
        size("the hidden centering offset", self.hidden_offset.len(), nh, nh.to_string())?;
        parts.push(("the hidden centering offset", &self.hidden_offset));
        if let Some(activity) = &self.hidden_activity {
            size("the sparsity running means", activity.len(), nh, nh.to_string())?;
            parts.push(("the sparsity running means", activity));
        }
        if let Some(tempering) = &self.tempering {
            tempering.check().map_err(|why| StateError::Inconsistent(format!("parallel tempering: {why}")))?;
            let temperatures = tempering.betas.len();
            if particles == 0 || !particles.is_multiple_of(temperatures) {
                return Err(StateError::Size {
                    part: "the tempered chains",
                    found: particles,
                    expected: format!("a positive multiple of the {temperatures} temperatures"),
                });
            }
        }
        if let Some(base) = &self.tempering_base {
            size("the tempering base biases", base.len(), nv, nv.to_string())?;
            parts.push(("the tempering base biases", base));
        }
        match parts.into_iter().find(|(_, values)| !values.iter().all(|x| x.is_finite())) {
            Some((part, _)) => Err(StateError::NonFinite { part }),
            None => Ok(()),
        }
    }
}
