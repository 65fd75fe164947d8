//! One CD-k or PCD-k update of a Gaussian–Bernoulli RBM (Cho, Ilin & Raiko 2011's gradients).
//!
//! With s_i = 1/σ_i² = e^{−z_i} and ⟨·⟩ a mean over the data rows (with h replaced by
//! p = p(h | v), which the gradient allows since it is linear in h) minus the same mean over the
//! chains after k Gibbs steps (also with p(h | v_k)):
//!   ΔW_ij ∝ ⟨v_i s_i p_j⟩,   Δb_i ∝ ⟨(v_i − b_i) s_i⟩,   Δc_j ∝ ⟨p_j⟩,
//!   Δz_i ∝ ⟨s_i (½ (v_i − b_i)² − v_i Σ_j W_ij p_j)⟩   (= ⟨−∂E/∂z_i⟩),
//! each times the learning rate; W also decays by lr·weight_decay·W when asked. After the step,
//! z_i ≥ ln [`MIN_VARIANCE`](super::MIN_VARIANCE). CD chains start at the batch; PCD's particles
//! start at the first batch's rows and carry on.
//!
//! Learning rates must be lower than the binary model's: with σ² free, a step of 0.005 or more on
//! 784x256 MNIST makes some σ² collapse to the floor within an epoch and the 1/σ² factors then
//! make the updates explode; 0.001 ([`default_config`]) trains stably.
//!
//! Deterministic: rows are processed in fixed blocks with single-threaded products, every chain
//! row has its own random stream, partial sums are added in block order, and W is updated in fixed
//! blocks of visible units; so 1 and 2 threads give the same bits.

use rayon::prelude::*;

use super::chains::{BlockScratch, gibbs_steps, sigmoid_in_place, standard_deviations};
use super::{GaussianError, GaussianRbm, ROW_BLOCK, min_log_variance};
use crate::model::config::{GradientMethod, TrainingConfig};
use crate::model::linalg::{self, Threads};
use crate::model::pool::on_math_pool;
use crate::model::rng::RowStreams;

/// Visible units per task in the weight update.
const WEIGHT_BLOCK: usize = 64;

/// The Gaussian model's defaults: the binary defaults with CD-1 and a learning rate of 0.001.
pub fn default_config() -> TrainingConfig {
    TrainingConfig { learning_rate: 0.001, k: 1, ..TrainingConfig::default() }
}

/// Refuses what this update does not implement, with what to use instead.
pub fn check_config(config: &TrainingConfig) -> Result<(), GaussianError> {
    let refuse = |what: &str| Err(GaussianError::Unsupported(what.to_owned()));
    if config.method == GradientMethod::Pt {
        return refuse("parallel tempering is not available for Gaussian visibles: use --method cd or pcd");
    }
    if config.momentum > 0.0 {
        return refuse("momentum is not available for Gaussian visibles: set it to 0");
    }
    if config.sparsity_cost > 0.0 {
        return refuse("the sparsity penalty is not available for Gaussian visibles: set its cost to 0");
    }
    if config.centering {
        return refuse("centering is not available for Gaussian visibles: turn it off");
    }
    if config.binarize_data {
        return refuse("Gaussian visibles model intensities, not binarised images: turn binarising off");
    }
    Ok(())
}

/// What one update measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianStepStats {
    /// Mean squared difference between the batch (standardised) and b + W p(h | v).
    pub reconstruction_error: f64,
    pub learning_rate: f32,
}

/// Sums over rows of one phase (data or chains): ⟨(v − b)s⟩, ⟨s(½(v − b)² − v W p)⟩, ⟨p⟩ and the
/// squared reconstruction error.
struct PhaseSums {
    b: Vec<f64>,
    z: Vec<f64>,
    c: Vec<f64>,
    squared_error: f64,
}

impl PhaseSums {
    fn zeros(nv: usize, nh: usize) -> Self {
        Self { b: vec![0.0; nv], z: vec![0.0; nv], c: vec![0.0; nh], squared_error: 0.0 }
    }

    fn add(mut self, other: &PhaseSums) -> Self {
        let add = |a: &mut Vec<f64>, b: &Vec<f64>| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.b, &other.b);
        add(&mut self.z, &other.z);
        add(&mut self.c, &other.c);
        self.squared_error += other.squared_error;
        self
    }
}

/// Buffers of one update, sized for `capacity` data rows.
#[derive(Clone, Debug)]
pub struct GaussianWorkspace {
    n_visible: usize,
    n_hidden: usize,
    capacity: usize,
    data: Vec<f32>,
    /// CD's chains (one per batch row) and their streams.
    chains: Vec<f32>,
    chain_streams: RowStreams,
    /// PCD's fantasy particles and their streams; empty until the first PCD step.
    particles: Vec<f32>,
    particle_streams: RowStreams,
    seed: u64,
}

impl GaussianWorkspace {
    pub fn new(n_visible: usize, n_hidden: usize, capacity: usize, seed: u64) -> Self {
        Self {
            n_visible,
            n_hidden,
            capacity,
            data: vec![0.0; capacity * n_visible],
            chains: vec![0.0; capacity * n_visible],
            chain_streams: RowStreams::new(seed, capacity),
            particles: Vec::new(),
            particle_streams: RowStreams::default(),
            seed,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The first `rows` data rows (standardised), to be filled before [`GaussianWorkspace::step`].
    pub fn data_mut(&mut self, rows: usize) -> &mut [f32] {
        &mut self.data[..rows.min(self.capacity) * self.n_visible]
    }

    /// PCD's particles (standardised), empty before the first PCD step.
    pub fn particles(&self) -> &[f32] {
        &self.particles
    }

    /// One update from the first `rows` data rows at `epoch` (for the learning-rate schedule).
    /// The caller checks [`check_config`] once and the model's finiteness after the step.
    pub fn step(
        &mut self,
        model: &mut GaussianRbm,
        config: &TrainingConfig,
        rows: usize,
        epoch: f64,
        threads: Threads,
    ) -> GaussianStepStats {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let rows = rows.min(self.capacity);
        let learning_rate = config.learning_rate_at(epoch);
        if rows == 0 {
            return GaussianStepStats { reconstruction_error: 0.0, learning_rate };
        }
        on_math_pool(threads, || {
            let (inv_var, sd) = (model.inverse_variances(), standard_deviations(model));
            let data = &self.data[..rows * nv];
            // Negative phase: k Gibbs steps from the data (CD) or the particles (PCD).
            let (chains, streams, chain_rows) = match config.method {
                GradientMethod::Pcd => {
                    let particles = config.particles().max(1);
                    if self.particles.len() != particles * nv {
                        self.particles = (0..particles).flat_map(|r| data[(r % rows) * nv..][..nv].to_vec()).collect();
                        self.particle_streams = RowStreams::new(self.seed ^ 0x5043_445F_5041_5254, particles);
                    }
                    (&mut self.particles, &mut self.particle_streams, particles)
                }
                _ => {
                    self.chains[..rows * nv].copy_from_slice(data);
                    (&mut self.chains, &mut self.chain_streams, rows)
                }
            };
            let chains = &mut chains[..chain_rows * nv];
            let mut means = vec![0.0; chain_rows * nv];
            let blocks: Vec<_> = chains
                .chunks_mut(ROW_BLOCK * nv)
                .zip(means.chunks_mut(ROW_BLOCK * nv))
                .zip(streams.streams_mut()[..chain_rows].chunks_mut(ROW_BLOCK))
                .collect();
            blocks.into_par_iter().for_each(|((v, means), streams)| {
                let block_rows = streams.len();
                let mut scratch = BlockScratch::new(block_rows, nv, nh);
                gibbs_steps(model, &inv_var, &sd, v, means, block_rows, config.k, &mut scratch, streams);
            });
            let squared_error =
                update(model, &inv_var, data, rows, chains, chain_rows, learning_rate, config.weight_decay);
            GaussianStepStats { reconstruction_error: squared_error, learning_rate }
        })
    }
}

/// The parameter update from `rows` data rows and `chain_rows` chain states (both standardised),
/// with the statistics of the parameters before it (see the module header): lr·(data term − chain
/// term), W decayed first. Returns the data's mean squared reconstruction error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn update(
    model: &mut GaussianRbm,
    inv_var: &[f32],
    data: &[f32],
    rows: usize,
    chains: &[f32],
    chain_rows: usize,
    learning_rate: f32,
    weight_decay: f32,
) -> f64 {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let mut data_p = vec![0.0; rows * nh];
    let mut data_scaled = vec![0.0; rows * nv];
    let positive = phase(model, inv_var, data, rows, &mut data_p, &mut data_scaled);
    let mut chain_p = vec![0.0; chain_rows * nh];
    let mut chain_scaled = vec![0.0; chain_rows * nv];
    let negative = phase(model, inv_var, chains, chain_rows, &mut chain_p, &mut chain_scaled);

    let (data_rate, chain_rate) = (learning_rate / rows as f32, learning_rate / chain_rows as f32);
    let decay = 1.0 - learning_rate * weight_decay;
    let (w, b, c, z) = model.parameters_mut();
    w.par_chunks_mut(WEIGHT_BLOCK * nh).enumerate().for_each(|(index, w_block)| {
        let first = index * WEIGHT_BLOCK;
        let units = w_block.len() / nh;
        if decay != 1.0 {
            w_block.iter_mut().for_each(|x| *x *= decay);
        }
        let add = |w_block: &mut [f32], scaled: &[f32], p: &[f32], count: usize, alpha: f32| {
            linalg::add_outer_products_columns(w_block, units, nh, &scaled[first..], nv, p, count, alpha, Threads(1));
        };
        add(w_block, &data_scaled, &data_p, rows, data_rate);
        add(w_block, &chain_scaled, &chain_p, chain_rows, -chain_rate);
    });
    let (data_n, chain_n) = (rows as f64, chain_rows as f64);
    let rate = learning_rate as f64;
    let step = |x: &mut f32, data_sum: f64, chain_sum: f64| {
        *x = (*x as f64 + rate * (data_sum / data_n - chain_sum / chain_n)) as f32;
    };
    b.iter_mut().zip(positive.b.iter().zip(&negative.b)).for_each(|(x, (&d, &m))| step(x, d, m));
    c.iter_mut().zip(positive.c.iter().zip(&negative.c)).for_each(|(x, (&d, &m))| step(x, d, m));
    let floor = min_log_variance();
    z.iter_mut().zip(positive.z.iter().zip(&negative.z)).for_each(|(x, (&d, &m))| {
        step(x, d, m);
        *x = x.max(floor);
    });
    positive.squared_error / (rows * nv) as f64
}

/// p(h | v), v/σ² and the sums of [`PhaseSums`] for `rows` rows of `v`, in fixed blocks of rows on
/// the current pool; the sums are added in block order.
fn phase(model: &GaussianRbm, inv_var: &[f32], v: &[f32], rows: usize, p: &mut [f32], scaled: &mut [f32]) -> PhaseSums {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let b = model.rbm().visible_bias().as_slice().unwrap_or(&[]);
    let blocks: Vec<_> = v[..rows * nv]
        .chunks(ROW_BLOCK * nv)
        .zip(p.chunks_mut(ROW_BLOCK * nh))
        .zip(scaled.chunks_mut(ROW_BLOCK * nv))
        .collect();
    let partials: Vec<PhaseSums> = blocks
        .into_par_iter()
        .map(|((v, p), scaled)| {
            let block_rows = v.len() / nv;
            let mut means = vec![0.0; block_rows * nv];
            model.hidden_inputs_into(p, v, block_rows, inv_var, scaled);
            sigmoid_in_place(p);
            model.visible_means_into(&mut means, p, block_rows);
            // `hidden_inputs_into` leaves v/σ² in `scaled`, which the weight update reads.
            let mut sums = PhaseSums::zeros(nv, nh);
            for ((v_row, m_row), p_row) in v.chunks_exact(nv).zip(means.chunks_exact(nv)).zip(p.chunks_exact(nh)) {
                for i in 0..nv {
                    let (x, bias, s) = (v_row[i] as f64, b[i] as f64, inv_var[i] as f64);
                    let (d, wp, m) = (x - bias, m_row[i] as f64 - bias, m_row[i] as f64);
                    sums.b[i] += d * s;
                    sums.z[i] += s * (0.5 * d * d - x * wp);
                    sums.squared_error += (x - m) * (x - m);
                }
                sums.c.iter_mut().zip(p_row).for_each(|(c, &pj)| *c += pj as f64);
            }
            sums
        })
        .collect();
    partials.iter().fold(PhaseSums::zeros(nv, nh), |acc, part| acc.add(part))
}
