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
//!
//! The parts: this file holds the step and the workspace's buffers; `chain.rs` the positive phase,
//! the negative chains and the column means; `update.rs` the weight update with its extras;
//! `state.rs` what a workspace carries from step to step (and its checks); `stats.rs` what a step
//! reports.

mod chain;
mod state;
mod stats;
#[cfg(test)]
mod tests;
mod update;

use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::{GradientMethod, TrainingConfig};
use super::linalg::{self, Threads};
use super::pool::count_subnormals;
use super::rbm::{Rbm, copy_parallel};
use super::rng::RowStreams;
use super::state::StateError;
use super::tempering::{self, TemperedChains, Tempering};
use super::{sampling, sparse};

pub(in crate::model) use chain::{ChainParams, SparsePlan};
pub use state::{Velocity, WorkspaceState};
pub use stats::{StepStats, SubnormalCensus};

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
    /// How many of the stacked rows (from the first) this step's weight update reads as sparse
    /// (uncentered) rows: none, the data rows (the chains' rows then go through the dense
    /// product), or all. With centering, `outer_sums` holds Σ_b c_b (p_b − λ) over those rows
    /// for the rank-one correction −μ ⊗ that.
    sparse_outer_rows: usize,
    outer_sums: Vec<f32>,
    /// The sparse update's visible rows, column by column.
    outer_entries: sparse::ColumnEntries,
    /// Tests compare the sparse products with the dense ones on the same step.
    #[cfg(test)]
    dense_only: bool,
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
            sparse_outer_rows: 0,
            outer_sums: vec![0.0; n_hidden],
            outer_entries: sparse::ColumnEntries::default(),
            #[cfg(test)]
            dense_only: false,
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
        // Means, offsets, the sparsity activity, parallel tempering's base biases and the sparse
        // update's centering sums.
        let small_values = 4 * v + 7 * h;
        let streams = (batch + chain_capacity) * std::mem::size_of::<Xoshiro256PlusPlus>() as u128;
        // Parallel tempering's swap tests: two f64 log-probabilities per chain.
        let swap_tests = 16 * chain_capacity;
        // The sparse products' entry lists (at most one per value of their operands).
        let stacked_rows = usize::try_from(batch + chain_capacity).unwrap_or(usize::MAX);
        let sparse_lists = Self::sparse_list_bytes(stacked_rows, n_visible, n_hidden);
        let bytes = 4 * (row_values + parameter_values + small_values) + streams + swap_tests + sparse_lists;
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }

    /// Bytes the sparse products' entry lists may hold for `stacked_rows` rows of data and chains:
    /// the weight update's column lists, and one thread's row lists (each math thread holds at
    /// most that much, a few hundred KiB for images up to 256x256).
    fn sparse_list_bytes(stacked_rows: usize, n_visible: usize, n_hidden: usize) -> u128 {
        sparse::ColumnEntries::max_bytes(stacked_rows, n_visible)
            + sparse::affine_scratch_bytes(n_visible).max(sparse::affine_scratch_bytes(n_hidden))
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
        // CD-10 step in the profile; with one per block, as in CD-1, the gather is cheaper). A
        // single chain row needs no gather at all (h Wᵀ is then a dot product with each row of
        // W), and there the transpose, a pass over W for each sample, was a third of the step.
        let plan = SparsePlan::for_data(&self.stacked_visible[..rows * nv], nv, nh, config);
        #[cfg(test)]
        let plan = if self.dense_only { SparsePlan::default() } else { plan };
        let transpose = (k >= 2 || all_chains > chain_rows) && all_chains >= 2;
        if transpose {
            linalg::transpose_into(w, nv, nh, &mut self.weights_transposed, threads);
        }
        let wt = std::mem::take(&mut self.weights_transposed);
        let mut model = ChainParams { w, wt: transpose.then_some(&wt[..]), b_v, b_h, nv, nh, k, config, sparse: plan };
        self.positive_phase(&model, rows, pcd, threads);
        // Sparse hidden states need Wᵀ's rows: without the transpose there is nothing to judge.
        if transpose {
            model.sparse = plan.with_hidden(&self.stacked_hidden[..rows * nh], nh);
        }
        #[cfg(test)]
        if self.dense_only {
            model.sparse = SparsePlan::default();
        }
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
        let plan = model.sparse;
        self.weights_transposed = wt;
        if let Some(census) = &mut self.census {
            census.hidden_probabilities = count_subnormals(&self.stacked_hidden[..(rows + chain_rows) * nh]);
            census.chains = count_subnormals(&self.chain_visible[..all_chains * nv])
                + count_subnormals(&self.chain_hidden[..all_chains * nh]);
        }

        let stats = StepStats { reconstruction_l1: l1, rows, learning_rate: lr, momentum };
        self.prepare_outer_products(rows, chain_rows, config, plan);
        if self.census.is_some() {
            self.count_update_operands(rows + chain_rows);
        }
        if config.needs_full_update() {
            self.full_update(rbm, config, rows, chain_rows, lr, momentum, threads);
        } else {
            let (w, b_v, b_h) = rbm.parameters_mut();
            self.add_outer_products(w, rows, chain_rows, lr / rows as f32, config.centering, threads);
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
}
