//! One contrastive-divergence update (CD-k or PCD-k), allocation-free once the buffers are sized.
//!
//! The tutorial's step (the defaults: CD, `VisibleSampling::NoisyMeanField`, no extras):
//!   p0 = σ(v0 W + b_h);  v = v0
//!   repeat k: h ~ Bernoulli(σ(v W + b_h));  v = σ(h Wᵀ + b_v) + noise·N(0,1)
//!   pk = σ(v W + b_h)
//!   W += lr (v0ᵀ p0 − vᵀ pk) / B;  b_v += lr·mean(v0 − v);  b_h += lr·mean(p0 − pk)
//!   loss = mean |v − v0|
//! The first chain step reuses p0 (the tutorial recomputes the same product), so a step costs 2k+3
//! matrix products. Both halves of the weight update go through one product with 2B rows.
//!
//! Beyond the tutorial (all off by default, see `TrainingConfig`): persistent chains (PCD) or ladders
//! of them at several temperatures (parallel tempering, see [`super::tempering`]), momentum,
//! L2 weight decay, a sparsity penalty on the hidden activations, centering (Melchior, Fischer &
//! Wiskott, JMLR 2016), a learning-rate schedule and binarised data. The model is always stored in
//! the standard parametrisation (W, b_v, b_h); centering only changes the direction of the update:
//! with offsets μ (visible) and λ (hidden), the centered gradients are
//!   ∇W = ⟨(v−μ)(h−λ)ᵀ⟩_data − ⟨(v−μ)(h−λ)ᵀ⟩_model,  ∇b = ⟨v⟩_d − ⟨v⟩_m,  ∇c = ⟨h⟩_d − ⟨h⟩_m
//! for the centered biases b = b_v + Wλ, c = b_h + Wᵀμ, so that after the step
//!   b_v += Δb − ΔW λ,  b_h += Δc − ΔWᵀ μ.
//! Moving the offsets afterwards does not change the modelled distribution (it is defined by the
//! standard parameters), which is the reparametrisation of the paper.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::{GradientMethod, MAX_BATCH, TrainingConfig};
use super::linalg::{self, Threads};
use super::pool::count_subnormals;
use super::rbm::{Rbm, copy_parallel};
use super::rng::RowStreams;
use super::sampling;
use super::state::StateError;
use super::tempering::{self, TemperedChains, Tempering};

/// What one update reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// The tutorial's loss for CD: mean |v_k − v0| between the chain's last visible state and the
    /// data. For PCD (whose chains are not tied to the data) the mean-field reconstruction
    /// mean |σ(p(h|v0) Wᵀ + b_v) − v0|.
    pub reconstruction_l1: f32,
    pub rows: usize,
    /// The learning rate and momentum the schedules gave for this step.
    pub learning_rate: f32,
    pub momentum: f32,
}

/// How many subnormal values (see [`super::pool`]) the operands of the last step held, by buffer:
/// each one costs an Intel core a microcode assist in every product it enters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubnormalCensus {
    /// The hidden sigmoid outputs p(h|v0) and p(h|v_k).
    pub hidden_probabilities: usize,
    /// The chains' last visible and hidden states (PCD's particles): sigmoid outputs for
    /// mean-field visibles.
    pub chains: usize,
    /// The weight update's left operand: [v0 − μ; −s(v_k − μ)] (no μ without centering).
    pub update_visible: usize,
    /// The weight update's right operand: [p(h|v0) − λ; p(h|v_k) − λ] (no λ without centering).
    pub update_hidden: usize,
    /// The centering offsets μ and λ.
    pub offsets: usize,
    /// The momentum buffers.
    pub velocity: usize,
    /// W, b_v and b_h.
    pub parameters: usize,
}

impl SubnormalCensus {
    pub fn total(&self) -> usize {
        self.hidden_probabilities
            + self.chains
            + self.update_visible
            + self.update_hidden
            + self.offsets
            + self.velocity
            + self.parameters
    }
}

impl std::fmt::Display for SubnormalCensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (hidden probabilities {}, chains {}, update visible {}, update hidden {}, offsets {}, velocity {}, \
             parameters {})",
            self.total(),
            self.hidden_probabilities,
            self.chains,
            self.update_visible,
            self.update_hidden,
            self.offsets,
            self.velocity,
            self.parameters
        )
    }
}

/// Momentum buffers: the last applied change of each parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Velocity {
    /// V x H, row-major like W.
    pub w: Vec<f32>,
    pub b_v: Vec<f32>,
    pub b_h: Vec<f32>,
}

/// Everything a [`CdWorkspace`] carries from one step to the next, so that a run can be saved and
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

/// Buffers for CD-k / PCD-k on batches of up to `capacity` rows.
pub struct CdWorkspace {
    n_visible: usize,
    n_hidden: usize,
    capacity: usize,
    chain_capacity: usize,
    /// Data rows (v0, centered when centering), then the negative rows (−v_k, scaled and centered).
    stacked_visible: Vec<f32>,
    /// p(h|v0), then p(h|v_k), both centered when centering.
    stacked_hidden: Vec<f32>,
    /// The negative chains' visible and hidden states; for PCD the persistent fantasy particles.
    chain_visible: Vec<f32>,
    chain_hidden: Vec<f32>,
    /// Mean-field reconstructions of the data (PCD's loss).
    reconstruction: Vec<f32>,
    /// Wᵀ (hidden x visible), refreshed at the start of each step for the h → v products.
    weights_transposed: Vec<f32>,
    /// PCD particles alive in `chain_visible` (0 until the first PCD step).
    particles: usize,
    data_streams: RowStreams,
    chain_streams: RowStreams,
    seed: u64,
    velocity: Option<Velocity>,
    /// Centering offsets μ (visible) and λ (hidden).
    visible_offset: Option<Vec<f32>>,
    hidden_offset: Vec<f32>,
    /// Running mean of p(h=1|data) per hidden unit, for the sparsity penalty.
    hidden_activity: Option<Vec<f32>>,
    /// Parallel tempering's ladder and rates while its chains (`particles` of them, all
    /// temperatures) are alive; its base biases b_A; scratch for the swap tests.
    tempering: Option<Tempering>,
    tempering_base: Option<Vec<f32>>,
    swap_log_probabilities: Vec<f64>,
    mean_v0: Vec<f32>,
    mean_vk: Vec<f32>,
    mean_p0: Vec<f32>,
    mean_pk: Vec<f32>,
    /// The last step's subnormal census, while counting is on.
    census: Option<SubnormalCensus>,
}

impl CdWorkspace {
    pub fn new(n_visible: usize, n_hidden: usize, capacity: usize, seed: u64) -> Self {
        let capacity = capacity.max(1);
        let mut workspace = Self {
            n_visible,
            n_hidden,
            capacity,
            chain_capacity: 0,
            stacked_visible: Vec::new(),
            stacked_hidden: Vec::new(),
            chain_visible: Vec::new(),
            chain_hidden: Vec::new(),
            reconstruction: Vec::new(),
            weights_transposed: vec![0.0; n_visible * n_hidden],
            particles: 0,
            // Separate streams for the data and the chains, both one per row.
            data_streams: RowStreams::new(seed ^ 0x5EED_DA7A, capacity),
            chain_streams: RowStreams::new(seed, capacity),
            seed,
            velocity: None,
            visible_offset: None,
            hidden_offset: vec![0.5; n_hidden],
            hidden_activity: None,
            tempering: None,
            tempering_base: None,
            swap_log_probabilities: Vec::new(),
            mean_v0: vec![0.0; n_visible],
            mean_vk: vec![0.0; n_visible],
            mean_p0: vec![0.0; n_hidden],
            mean_pk: vec![0.0; n_hidden],
            census: None,
        };
        workspace.ensure_chain_capacity(capacity);
        workspace
    }

    /// Bytes of everything training a `n_visible` x `n_hidden` model on batches of `batch` rows with
    /// `chains` negative chains holds: this workspace's buffers as [`CdWorkspace::new`] and the
    /// chain growth of a step size them (stacked data and negative rows, chain states,
    /// reconstructions, Wᵀ, random streams, means and offsets), the momentum buffers, and two
    /// copies of the parameters (the model and the trainer's last finite copy). Computed in u128
    /// and saturated, so absurd sizes give a huge number rather than a wrapped small one.
    pub fn training_bytes(n_visible: usize, n_hidden: usize, batch: usize, chains: usize) -> u64 {
        let (v, h) = (n_visible as u128, n_hidden as u128);
        let (batch, chains) = (batch.max(1) as u128, chains.max(1) as u128);
        let chain_capacity = chains.max(batch);
        let row_values = (batch + chain_capacity) * (v + h) // stacked_visible, stacked_hidden
            + chain_capacity * (v + h) // chain_visible, chain_hidden
            + batch * v; // reconstruction
        let parameters = v * h + v + h;
        // Wᵀ, the momentum, the model and its last finite copy.
        let parameter_values = 4 * parameters;
        // Means, offsets, the sparsity activity and parallel tempering's base biases.
        let small_values = 4 * v + 6 * h;
        let streams = (batch + chain_capacity) * std::mem::size_of::<Xoshiro256PlusPlus>() as u128;
        // Parallel tempering's swap tests: two f64 log-probabilities per chain.
        let swap_tests = 16 * chain_capacity;
        let bytes = 4 * (row_values + parameter_values + small_values) + streams + swap_tests;
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Everything the workspace carries from one step to the next (see [`WorkspaceState`]).
    pub fn state(&self) -> WorkspaceState {
        let mut state = WorkspaceState::default();
        self.copy_state_into(&mut state, true);
        state
    }

    /// Keeps in `point` what the next step with `config` at `epoch` may change, so that
    /// [`CdWorkspace::from_state`] can undo that step. Reuses `point`'s buffers, and leaves out the
    /// momentum buffers when the step will not read them (no momentum at `epoch`: it overwrites
    /// them), which saves copying a V x H array per batch; the restored workspace then starts them
    /// from zero, which gives the same update (up to the sign of an exact zero).
    pub fn save_restore_point(&self, point: &mut WorkspaceState, config: &TrainingConfig, epoch: f64) {
        self.copy_state_into(point, config.momentum_at(epoch) > 0.0);
    }

    fn copy_state_into(&self, state: &mut WorkspaceState, with_velocity: bool) {
        state.capacity = self.capacity;
        state.seed = self.seed;
        state.data_streams.clone_from(&self.data_streams);
        state.chain_streams.clone_from(&self.chain_streams);
        state.particles.clear();
        state.particles.extend_from_slice(&self.chain_visible[..self.particles * self.n_visible]);
        match (&self.velocity, &mut state.velocity) {
            (Some(from), Some(to)) if with_velocity && to.w.len() == from.w.len() => {
                copy_parallel(&mut to.w, &from.w);
                to.b_v.clone_from(&from.b_v);
                to.b_h.clone_from(&from.b_h);
            }
            (Some(from), to) if with_velocity => *to = Some(from.clone()),
            (_, to) => *to = None,
        }
        state.visible_offset.clone_from(&self.visible_offset);
        state.hidden_offset.clone_from(&self.hidden_offset);
        state.hidden_activity.clone_from(&self.hidden_activity);
        state.tempering.clone_from(&self.tempering);
        state.tempering_base.clone_from(&self.tempering_base);
    }

    /// A workspace for a V x H model that continues from `state` exactly as the workspace it was
    /// taken from would; the state is checked first ([`WorkspaceState::validate`]).
    pub fn from_state(n_visible: usize, n_hidden: usize, state: &WorkspaceState) -> Result<Self, StateError> {
        state.validate(n_visible, n_hidden)?;
        let mut workspace = Self::new(n_visible, n_hidden, state.capacity, state.seed);
        workspace.ensure_chain_capacity(state.chain_streams.len());
        workspace.data_streams.clone_from(&state.data_streams);
        workspace.chain_streams.clone_from(&state.chain_streams);
        workspace.particles = state.particles.len() / n_visible;
        workspace.chain_visible[..state.particles.len()].copy_from_slice(&state.particles);
        workspace.velocity.clone_from(&state.velocity);
        workspace.visible_offset.clone_from(&state.visible_offset);
        workspace.hidden_offset.clone_from(&state.hidden_offset);
        workspace.hidden_activity.clone_from(&state.hidden_activity);
        workspace.tempering.clone_from(&state.tempering);
        workspace.tempering_base.clone_from(&state.tempering_base);
        Ok(workspace)
    }

    /// Grows the chain buffers to `rows` chains (PCD particles beyond the old count start afresh).
    fn ensure_chain_capacity(&mut self, rows: usize) {
        if rows <= self.chain_capacity {
            return;
        }
        let (nv, nh) = (self.n_visible, self.n_hidden);
        self.chain_capacity = rows;
        // Exactly these sizes (a plain resize may double a buffer), so that the buffers are what
        // `training_bytes` counts, which the limits are checked against.
        let grow = |buffer: &mut Vec<f32>, len: usize| {
            buffer.reserve_exact(len.saturating_sub(buffer.len()));
            buffer.resize(len, 0.0);
        };
        grow(&mut self.stacked_visible, (self.capacity + rows) * nv);
        grow(&mut self.stacked_hidden, (self.capacity + rows) * nh);
        grow(&mut self.chain_visible, rows * nv);
        grow(&mut self.chain_hidden, rows * nh);
        grow(&mut self.reconstruction, self.capacity * nv);
        self.chain_streams = RowStreams::new(self.seed, rows.max(self.capacity));
        self.particles = 0;
        self.tempering = None;
    }

    /// The centering offset of the visible units (normally the training pixel means); without it,
    /// the first batch's mean is used.
    pub fn set_visible_offset(&mut self, means: &[f32]) {
        if means.len() == self.n_visible {
            self.visible_offset = Some(means.to_vec());
        }
    }

    /// The visible biases b_A of parallel tempering's base model (normally
    /// [`super::ais::base_rate_visible_bias`] of the training pixel means), which its hot chains
    /// lean towards; without them, plain tempering exp(−βE).
    pub fn set_tempering_base(&mut self, base_visible_bias: &[f32]) {
        if base_visible_bias.len() == self.n_visible {
            self.tempering_base = Some(base_visible_bias.to_vec());
        }
    }

    pub fn has_tempering_base(&self) -> bool {
        self.tempering_base.is_some()
    }

    /// Parallel tempering's running swap acceptance rate of each neighbouring pair of
    /// temperatures (β_1, β_2), (β_2, β_3), …; empty without tempered chains.
    pub fn swap_rates(&self) -> &[f64] {
        self.tempering.as_ref().map_or(&[], |t| &t.swap_rates)
    }

    /// Counts the subnormal values in each step's operands from the next step on (`true`), or
    /// stops counting. A diagnostic: counting reads every buffer and W once more per step.
    pub fn count_subnormals(&mut self, on: bool) {
        self.census = on.then(SubnormalCensus::default);
    }

    /// The last step's census, while counting is on (all zero before the first counted step).
    pub fn subnormal_census(&self) -> Option<SubnormalCensus> {
        self.census
    }

    /// The buffer to fill with `rows` data vectors (row-major, values in [0, 1]) before `step`.
    pub fn data_mut(&mut self, rows: usize) -> &mut [f32] {
        &mut self.stacked_visible[..rows.min(self.capacity) * self.n_visible]
    }

    /// One update at the start of training (schedules at epoch 0).
    pub fn step(&mut self, rbm: &mut Rbm, config: &TrainingConfig, rows: usize, threads: Threads) -> StepStats {
        self.step_at(rbm, config, rows, threads, 0.0)
    }

    /// One CD-k or PCD-k update of `rbm` on the `rows` data vectors placed with `data_mut`, with
    /// the learning-rate and momentum schedules evaluated at `epoch`.
    ///
    /// With several threads, the rows are split into one block per thread and each block runs its
    /// whole chain alone (no synchronisation inside the k steps); the weight update is split by
    /// rows of W. Each row draws from its own random stream, so the result does not depend on the
    /// split.
    pub fn step_at(
        &mut self,
        rbm: &mut Rbm,
        config: &TrainingConfig,
        rows: usize,
        threads: Threads,
        epoch: f64,
    ) -> StepStats {
        let rows = rows.clamp(1, self.capacity);
        let (nv, nh) = (self.n_visible, self.n_hidden);
        debug_assert_eq!((rbm.n_visible(), rbm.n_hidden()), (nv, nh));
        // PCD and PT keep their chains between steps; `chain_rows` are the chains whose statistics
        // enter the update (PT's β = 1 chains), `all_chains` every chain the step runs.
        let pcd = config.method != GradientMethod::Cd;
        let ladder = (config.method == GradientMethod::Pt).then(|| config.temperature_ladder());
        let chain_rows = if pcd { config.particles().max(1) } else { rows };
        let all_chains = chain_rows * ladder.as_ref().map_or(1, Vec::len);
        self.ensure_chain_capacity(all_chains);
        let k = config.k.max(1);

        if config.binarize_data {
            let streams = &mut self.data_streams.streams_mut()[..rows];
            sampling::binarize_rows(&mut self.stacked_visible[..rows * nv], nv, rows, streams, threads);
        }
        if !pcd {
            // CD's chains run in the particle buffer: PCD, if switched on again, starts afresh.
            self.particles = 0;
        }
        if pcd && self.particles != all_chains {
            // New particles start at the data, cycling through the batch (every temperature of a
            // PT particle at the same image).
            for r in 0..all_chains {
                let src = (r % chain_rows % rows) * nv;
                self.chain_visible[r * nv..(r + 1) * nv].copy_from_slice(&self.stacked_visible[src..src + nv]);
            }
            self.particles = all_chains;
            self.tempering = None;
        }
        match &ladder {
            Some(betas) if self.tempering.as_ref().is_none_or(|t| &t.betas != betas) => {
                self.tempering = Some(Tempering::new(betas.clone()));
            }
            Some(_) => {}
            None => self.tempering = None,
        }

        let lr = config.learning_rate_at(epoch);
        let momentum = config.momentum_at(epoch);
        let (w, b_v, b_h) = rbm.parameters_mut();
        // Each h → v product through W itself makes the gemm crate gather W's strided columns;
        // with two or more per block, one transpose per step is cheaper (that gather was ~20% of a
        // CD-10 step in the profile; with one per block, as in CD-1, the gather is cheaper).
        let transpose = k >= 2 || all_chains > chain_rows;
        if transpose {
            linalg::transpose_into(w, nv, nh, &mut self.weights_transposed, threads);
        }
        let wt = std::mem::take(&mut self.weights_transposed);
        let model = ChainParams { w, wt: transpose.then_some(&wt[..]), b_v, b_h, nv, nh, k, config };
        self.positive_phase(&model, rows, pcd, threads);
        match self.tempering.as_mut() {
            Some(tempering) => {
                let chains = TemperedChains {
                    visible: &mut self.chain_visible,
                    hidden: &mut self.chain_hidden,
                    negative_hidden: &mut self.stacked_hidden[rows * nh..],
                    streams: self.chain_streams.streams_mut(),
                    log_probabilities: &mut self.swap_log_probabilities,
                };
                let base = self.tempering_base.as_deref();
                tempering::negative_phase(&model, tempering, base, chains, chain_rows, k, threads);
            }
            None => self.negative_phase(&model, rows, chain_rows, pcd, threads),
        }
        let l1 = self.statistics(rows, chain_rows, pcd);
        self.weights_transposed = wt;
        if let Some(census) = &mut self.census {
            census.hidden_probabilities = count_subnormals(&self.stacked_hidden[..(rows + chain_rows) * nh]);
            census.chains = count_subnormals(&self.chain_visible[..all_chains * nv])
                + count_subnormals(&self.chain_hidden[..all_chains * nh]);
        }

        let stats = StepStats { reconstruction_l1: l1, rows, learning_rate: lr, momentum };
        self.prepare_outer_products(rows, chain_rows, config);
        if self.census.is_some() {
            self.count_update_operands(rows + chain_rows);
        }
        if config.needs_full_update() {
            self.full_update(rbm, config, rows, chain_rows, lr, momentum, threads);
        } else {
            let (w, b_v, b_h) = rbm.parameters_mut();
            self.add_outer_products(w, rows, chain_rows, lr / rows as f32, threads);
            b_v.iter_mut().zip(self.mean_v0.iter().zip(&self.mean_vk)).for_each(|(b, (d, m))| *b += lr * (d - m));
            b_h.iter_mut().zip(self.mean_p0.iter().zip(&self.mean_pk)).for_each(|(b, (d, m))| *b += lr * (d - m));
        }
        if let Some(census) = &mut self.census {
            let (w, b_v, b_h) = rbm.parameters_mut();
            census.parameters = count_subnormals(w) + count_subnormals(b_v) + count_subnormals(b_h);
            census.velocity = self
                .velocity
                .as_ref()
                .map_or(0, |v| count_subnormals(&v.w) + count_subnormals(&v.b_v) + count_subnormals(&v.b_h));
            census.offsets = match (&self.visible_offset, config.centering) {
                (Some(mu), true) => count_subnormals(mu) + count_subnormals(&self.hidden_offset),
                _ => 0,
            };
        }
        stats
    }

    /// The census of the weight update's operands, as they enter the product.
    fn count_update_operands(&mut self, stacked_rows: usize) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        if let Some(census) = &mut self.census {
            census.update_visible = count_subnormals(&self.stacked_visible[..stacked_rows * nv]);
            census.update_hidden = count_subnormals(&self.stacked_hidden[..stacked_rows * nh]);
        }
    }

    /// p0 = σ(v0 W + b_h) for the data rows (and, for PCD, their mean-field reconstructions).
    fn positive_phase(&mut self, m: &ChainParams<'_>, rows: usize, pcd: bool, threads: Threads) {
        let (nv, nh) = (m.nv, m.nh);
        let parts = threads.0.clamp(1, rows);
        let block = rows.div_ceil(parts);
        let v0 = &self.stacked_visible[..rows * nv];
        let p0 = &mut self.stacked_hidden[..rows * nh];
        let recon = &mut self.reconstruction[..rows * nv];
        let one = Threads(1);
        let work = |((v0, p0), recon): ((&[f32], &mut [f32]), &mut [f32])| {
            let block_rows = v0.len() / nv;
            linalg::affine(p0, v0, block_rows, m.w, nv, nh, m.b_h, one);
            sampling::sigmoid_rows(p0, nh, block_rows, one);
            if pcd {
                m.visible_inputs(recon, p0, block_rows);
                sampling::sigmoid_rows(recon, nv, block_rows, one);
            }
        };
        let blocks = v0.chunks(block * nv).zip(p0.chunks_mut(block * nh)).zip(recon.chunks_mut(block * nv));
        if parts > 1 {
            use rayon::prelude::*;
            blocks.collect::<Vec<_>>().into_par_iter().for_each(work);
        } else {
            blocks.for_each(work);
        }
    }

    /// k Gibbs steps per chain, then pk = p(h|v_k). CD chains start at the data (reusing p0);
    /// PCD chains carry on from the particles.
    fn negative_phase(&mut self, m: &ChainParams<'_>, rows: usize, chain_rows: usize, pcd: bool, threads: Threads) {
        let (nv, nh) = (m.nv, m.nh);
        // Two blocks per thread when the chains are long (and Wᵀ is stored, so small blocks cost no
        // extra packing): a thread that finishes early takes the other's second block, so a thread
        // preempted by the window's rendering holds the step up less (window +5%, headless equal).
        let blocks_per_thread = if m.wt.is_some() && threads.0 > 1 { 2 } else { 1 };
        let parts = (threads.0 * blocks_per_thread).clamp(1, chain_rows);
        let block = chain_rows.div_ceil(parts);
        let (data_hidden, rest) = self.stacked_hidden.split_at_mut(rows * nh);
        let p0: &[f32] = data_hidden;
        let pk = &mut rest[..chain_rows * nh];
        let vk = &mut self.chain_visible[..chain_rows * nv];
        let h = &mut self.chain_hidden[..chain_rows * nh];
        let streams = &mut self.chain_streams.streams_mut()[..chain_rows];
        let chain = |(index, (((pk, vk), h), streams)): ChainBlock<'_>| {
            let block_rows = vk.len() / nv;
            let start = (!pcd).then(|| &p0[index * block * nh..(index * block + block_rows) * nh]);
            run_chain(m, block_rows, start, pk, vk, h, streams);
        };
        let blocks = pk
            .chunks_mut(block * nh)
            .zip(vk.chunks_mut(block * nv))
            .zip(h.chunks_mut(block * nh))
            .zip(streams.chunks_mut(block))
            .enumerate();
        if parts > 1 {
            use rayon::prelude::*;
            blocks.collect::<Vec<_>>().into_par_iter().for_each(chain);
        } else {
            blocks.for_each(chain);
        }
    }

    /// Column means of the four phases, and the step's L1 loss.
    fn statistics(&mut self, rows: usize, chain_rows: usize, pcd: bool) -> f32 {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        column_means(&self.stacked_visible[..rows * nv], nv, &mut self.mean_v0);
        column_means(&self.chain_visible[..chain_rows * nv], nv, &mut self.mean_vk);
        column_means(&self.stacked_hidden[..rows * nh], nh, &mut self.mean_p0);
        column_means(&self.stacked_hidden[rows * nh..(rows + chain_rows) * nh], nh, &mut self.mean_pk);
        let v0 = &self.stacked_visible[..rows * nv];
        let other = if pcd { &self.reconstruction[..rows * nv] } else { &self.chain_visible[..rows * nv] };
        let l1: f64 = v0.iter().zip(other).map(|(a, b)| (a - b).abs() as f64).sum();
        (l1 / (rows * nv) as f64) as f32
    }

    /// Turns the stacked buffers into [v0−μ; −s(v_k−μ)] and [p0−λ; pk−λ] with s = rows/chains,
    /// so that one product with alpha = lr/rows gives lr(⟨·⟩_data − ⟨·⟩_model).
    fn prepare_outer_products(&mut self, rows: usize, chain_rows: usize, config: &TrainingConfig) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        if config.centering && self.visible_offset.is_none() {
            self.visible_offset = Some(self.mean_v0.clone());
        }
        let scale = rows as f32 / chain_rows as f32;
        let (data_v, negative_v) = self.stacked_visible.split_at_mut(rows * nv);
        let negative_v = &mut negative_v[..chain_rows * nv];
        let chain_v = &self.chain_visible[..chain_rows * nv];
        match (&self.visible_offset, config.centering) {
            (Some(mu), true) => {
                for row in data_v.chunks_exact_mut(nv) {
                    row.iter_mut().zip(mu).for_each(|(x, m)| *x -= m);
                }
                for (dst, src) in negative_v.chunks_exact_mut(nv).zip(chain_v.chunks_exact(nv)) {
                    for ((d, s), m) in dst.iter_mut().zip(src).zip(mu) {
                        *d = -scale * (s - m);
                    }
                }
                let lambda = &self.hidden_offset;
                for row in self.stacked_hidden[..(rows + chain_rows) * nh].chunks_exact_mut(nh) {
                    row.iter_mut().zip(lambda).for_each(|(x, l)| *x -= l);
                }
            }
            _ => negative_v.iter_mut().zip(chain_v).for_each(|(d, s)| *d = -scale * s),
        }
    }

    /// `target (V x H) += alpha · stacked_visibleᵀ stacked_hidden`, rows of the target split over threads.
    fn add_outer_products(&self, target: &mut [f32], rows: usize, chain_rows: usize, alpha: f32, threads: Threads) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let stacked_rows = rows + chain_rows;
        let stacked_visible = &self.stacked_visible[..stacked_rows * nv];
        let stacked_hidden = &self.stacked_hidden[..stacked_rows * nh];
        let parts = threads.0.clamp(1, nv);
        let w_block = nv.div_ceil(parts);
        let update = |(index, w_rows): (usize, &mut [f32])| {
            let count = w_rows.len() / nh;
            let first = index * w_block;
            linalg::add_outer_products_columns(
                w_rows,
                count,
                nh,
                &stacked_visible[first..],
                nv,
                stacked_hidden,
                stacked_rows,
                alpha,
                Threads(1),
            );
        };
        if parts > 1 {
            use rayon::prelude::*;
            target.par_chunks_mut(w_block * nh).enumerate().for_each(update);
        } else {
            target.chunks_mut(w_block * nh).enumerate().for_each(update);
        }
    }

    /// The update with momentum, weight decay, sparsity and centering.
    #[allow(clippy::too_many_arguments)]
    fn full_update(
        &mut self,
        rbm: &mut Rbm,
        config: &TrainingConfig,
        rows: usize,
        chain_rows: usize,
        lr: f32,
        momentum: f32,
        threads: Threads,
    ) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let mut velocity = self.velocity.take().unwrap_or_else(|| Velocity {
            w: vec![0.0; nv * nh],
            b_v: vec![0.0; nv],
            b_h: vec![0.0; nh],
        });
        {
            let (w, _, _) = rbm.parameters_mut();
            let decay = lr * config.weight_decay;
            velocity.w.iter_mut().zip(w.iter()).for_each(|(v, &w)| *v = momentum * *v - decay * w);
        }
        self.add_outer_products(&mut velocity.w, rows, chain_rows, lr / rows as f32, threads);

        // Sparsity (Hinton's practical guide, section 11): push the running mean q of each hidden
        // unit's activation towards the target through its bias and its weights.
        let mut hidden_gradient: Vec<f32> = self.mean_p0.iter().zip(&self.mean_pk).map(|(d, m)| d - m).collect();
        if config.sparsity_cost > 0.0 {
            let q = self.hidden_activity.get_or_insert_with(|| vec![config.sparsity_target; nh]);
            for (q, &p) in q.iter_mut().zip(&self.mean_p0) {
                *q = 0.9 * *q + 0.1 * p;
            }
            for (row, &v) in velocity.w.chunks_exact_mut(nh).zip(&self.mean_v0) {
                for (x, &qj) in row.iter_mut().zip(q.iter()) {
                    *x -= lr * config.sparsity_cost * (qj - config.sparsity_target) * v;
                }
            }
            for (g, &qj) in hidden_gradient.iter_mut().zip(q.iter()) {
                *g -= config.sparsity_cost * (qj - config.sparsity_target);
            }
        }
        for ((v, d), m) in velocity.b_v.iter_mut().zip(&self.mean_v0).zip(&self.mean_vk) {
            *v = momentum * *v + lr * (d - m);
        }
        for (v, g) in velocity.b_h.iter_mut().zip(&hidden_gradient) {
            *v = momentum * *v + lr * g;
        }

        let (w, b_v, b_h) = rbm.parameters_mut();
        w.iter_mut().zip(&velocity.w).for_each(|(w, dw)| *w += dw);
        b_v.iter_mut().zip(&velocity.b_v).for_each(|(b, d)| *b += d);
        b_h.iter_mut().zip(&velocity.b_h).for_each(|(b, d)| *b += d);
        if config.centering {
            // Back from the centered biases: b_v −= ΔW λ, b_h −= ΔWᵀ μ.
            let mu = self.visible_offset.clone().unwrap_or_else(|| vec![0.0; nv]);
            let lambda = &self.hidden_offset;
            let mut correction_h = vec![0.0f32; nh];
            for (i, row) in velocity.w.chunks_exact(nh).enumerate() {
                b_v[i] -= row.iter().zip(lambda).map(|(dw, l)| dw * l).sum::<f32>();
                correction_h.iter_mut().zip(row).for_each(|(c, dw)| *c += dw * mu[i]);
            }
            b_h.iter_mut().zip(&correction_h).for_each(|(b, c)| *b -= c);
            // Then move the offsets towards the data means (the mean statistics are uncentered).
            let nu = config.centering_rate;
            if let Some(mu) = &mut self.visible_offset {
                mu.iter_mut().zip(&self.mean_v0).for_each(|(m, d)| *m = (1.0 - nu) * *m + nu * d);
            }
            self.hidden_offset.iter_mut().zip(&self.mean_p0).for_each(|(l, d)| *l = (1.0 - nu) * *l + nu * d);
        }
        self.velocity = Some(velocity);
    }
}

/// `out[j]` = mean over rows of `data[r * width + j]`.
fn column_means(data: &[f32], width: usize, out: &mut [f32]) {
    out.iter_mut().for_each(|x| *x = 0.0);
    let rows = data.len() / width.max(1);
    for row in data.chunks_exact(width) {
        out.iter_mut().zip(row).for_each(|(o, x)| *o += x);
    }
    let inv = 1.0 / rows.max(1) as f32;
    out.iter_mut().for_each(|x| *x *= inv);
}

type ChainBlock<'a> = (usize, (((&'a mut [f32], &'a mut [f32]), &'a mut [f32]), &'a mut [Xoshiro256PlusPlus]));

/// The model and settings the chains of one step run with.
#[derive(Clone, Copy)]
pub(super) struct ChainParams<'a> {
    pub w: &'a [f32],
    /// Wᵀ, row-major hidden x visible, when the step made one.
    pub wt: Option<&'a [f32]>,
    pub b_v: &'a [f32],
    pub b_h: &'a [f32],
    pub nv: usize,
    pub nh: usize,
    pub k: usize,
    pub config: &'a TrainingConfig,
}

impl ChainParams<'_> {
    /// `out = h Wᵀ + b_v` on one thread.
    pub fn visible_inputs(&self, out: &mut [f32], h: &[f32], rows: usize) {
        match self.wt {
            Some(wt) => linalg::affine(out, h, rows, wt, self.nh, self.nv, self.b_v, Threads(1)),
            None => linalg::affine_transposed(out, h, rows, self.w, self.nv, self.nh, self.b_v, Threads(1)),
        }
    }
}

/// The chain of one block of rows: k Gibbs steps into `vk`, then pk = p(h|vk). With `start_p`
/// (CD), the first hidden sample is drawn from those probabilities (p(h|v0)); otherwise (PCD) the
/// chain starts from the visible state already in `vk`.
fn run_chain(
    m: &ChainParams<'_>,
    rows: usize,
    start_p: Option<&[f32]>,
    pk: &mut [f32],
    vk: &mut [f32],
    h: &mut [f32],
    streams: &mut [Xoshiro256PlusPlus],
) {
    let one = Threads(1);
    let ChainParams { w, b_h, nv, nh, k, config, .. } = *m;
    for step in 0..k {
        match start_p {
            Some(p0) if step == 0 => sampling::bernoulli_rows(p0, h, nh, rows, streams, one),
            _ => {
                linalg::affine(h, vk, rows, w, nv, nh, b_h, one);
                sampling::sample_from_inputs(h, nh, rows, streams, one);
            }
        }
        m.visible_inputs(vk, h, rows);
        sampling::visible_state_from_inputs(vk, nv, rows, streams, one, config.sampling, config.noise_std);
    }
    linalg::affine(pk, vk, rows, w, nv, nh, b_h, one);
    sampling::sigmoid_rows(pk, nh, rows, one);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rbm::Initialisation;
    use rand::SeedableRng;

    /// Bytes the workspace's buffers hold (their capacities).
    fn held_bytes(ws: &CdWorkspace) -> usize {
        let f32s = |v: &Vec<f32>| v.capacity() * 4;
        let optional = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, f32s);
        let velocity = ws.velocity.as_ref().map_or(0, |v| f32s(&v.w) + f32s(&v.b_v) + f32s(&v.b_h));
        let stream = std::mem::size_of::<Xoshiro256PlusPlus>();
        [&ws.stacked_visible, &ws.stacked_hidden, &ws.chain_visible, &ws.chain_hidden, &ws.reconstruction]
            .into_iter()
            .chain([&ws.weights_transposed, &ws.hidden_offset, &ws.mean_v0, &ws.mean_vk, &ws.mean_p0, &ws.mean_pk])
            .map(f32s)
            .sum::<usize>()
            + optional(&ws.visible_offset)
            + optional(&ws.hidden_activity)
            + velocity
            + optional(&ws.tempering_base)
            + ws.swap_log_probabilities.capacity() * 8
            + (ws.data_streams.len() + ws.chain_streams.len()) * stream
    }

    #[test]
    fn training_bytes_covers_what_training_holds() {
        // PCD with more particles than the batch (so the chain buffers grow at the first step),
        // and every extra, so that every buffer exists.
        let (nv, nh, batch) = (50, 20, 16);
        let config = TrainingConfig {
            batch_size: batch,
            k: 2,
            method: GradientMethod::Pcd,
            pcd_particles: 40,
            momentum: 0.9,
            weight_decay: 1e-4,
            sparsity_cost: 0.1,
            centering: true,
            ..TrainingConfig::default()
        };
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut rbm = Rbm::initialised(nv, nh, Initialisation::Xavier, &[], &mut rng);
        let mut ws = CdWorkspace::new(nv, nh, batch, 3);
        for _ in 0..2 {
            ws.data_mut(batch).iter_mut().enumerate().for_each(|(i, x)| *x = (i % 7) as f32 / 7.0);
            ws.step(&mut rbm, &config, batch, Threads(1));
        }
        // The model and the trainer's last finite copy.
        let parameters = 2 * 4 * (nv * nh + nv + nh);
        let held = held_bytes(&ws) + parameters;
        let estimate = CdWorkspace::training_bytes(nv, nh, batch, config.chains()) as usize;
        assert!(held <= estimate, "training holds {held} bytes, more than the estimate {estimate}");
        // And not far above: the estimate is for checking, not a guess.
        assert!(estimate - held <= estimate / 20, "estimate {estimate} for {held} bytes held");
    }
}
