//! Parallel tempering (PT-K) for the negative phase of training: Desjardins, Courville, Bengio,
//! Vincent & Delalleau 2010 ("Tempered Markov chain Monte Carlo for training of restricted
//! Boltzmann machines") and Cho, Raiko & Ilin 2010 ("Parallel tempering is efficient for learning
//! restricted Boltzmann machines").
//!
//! Each of the P particles is a ladder of K persistent chains at inverse temperatures
//! 1 = β_1 > β_2 > … > β_K ≥ 0. Chain k samples the tempered distribution of AIS (see
//! [`super::ais`]), between a base model A (independent pixels, visible biases b_A, no weights)
//! and the RBM:
//!
//!   p*_β(v) = exp((1−β) b_A·v + β b_v·v) · Π_j (1 + exp(β a_j)),   a = vW + b_h,
//!
//! which is p_β(v, h) ∝ exp((1−β) b_A·v − β E(v, h)) with h summed out. With b_A = 0 this is plain
//! tempering, exp(−β E), whose β → 0 end is the uniform distribution over images; with b_A the
//! base-rate biases of the training pixels (what [`super::CdWorkspace::set_tempering_base`] gets
//! from training) the hot end is the data's independent-pixel model instead, so that the hot chains
//! keep the border pixels off and neighbouring temperatures overlap more.
//!
//! One round (k rounds per update, one for PT-1's "one Gibbs step per chain"):
//! 1. a = vW + b_h for every chain;
//! 2. Metropolis swaps between neighbouring temperatures of each particle, the even pairs (1,2),
//!    (3,4), … in even rounds and the odd pairs (2,3), … in odd ones: the states v, v' at β, β'
//!    trade places with probability min(1, p*_β(v') p*_β'(v) / (p*_β(v) p*_β'(v'))). The ratio
//!    uses the marginals over v (h summed out), which accepts more often than swapping joint
//!    states (v, h), whose ratio also carries the noise of the hidden samples;
//! 3. one Gibbs step at each chain's own temperature: h ~ σ(β a), then
//!    v ~ σ(β (hWᵀ + b_v) + (1−β) b_A).
//!
//! Both moves leave the product Π_k p_βk invariant (the swap by detailed balance), so the β = 1
//! chains sample the model, and they give the negative statistics, as PCD's particles do. With one
//! temperature there are no swaps and no draws for them: PT-1 is PCD, bit for bit.
//!
//! Random numbers: chain (k, p) always draws from its own stream, and the swap of a pair from the
//! stream of its colder chain, so the result does not depend on how rows are split over threads.

use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::cd::{ChainParams, SparsePlan};
use super::config::{TrainingConfig, VisibleSampling};
use super::linalg::Threads;
use super::rbm::{Rbm, exp_f32};
use super::rng::{RowStreams, uniform_f32};
use super::sampling;
use crate::limits::MAX_TEMPERATURES;

/// How the inverse temperatures of a ladder are spaced between 1 and the lowest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TemperatureSpacing {
    /// A constant ratio β_{k+1}/β_k: the usual choice for parallel tempering (Kofke 2002; Earl &
    /// Deem 2005), which gives about equal swap rates when the heat capacity is about constant.
    #[default]
    Geometric,
    /// Equal steps in β (Cho et al. 2010 use 0, 0.1, …, 1).
    Linear,
}

impl TemperatureSpacing {
    /// Every value, in the order the command line lists them.
    pub const ALL: [TemperatureSpacing; 2] = [TemperatureSpacing::Geometric, TemperatureSpacing::Linear];
}

/// `count` inverse temperatures from 1 down to `min_beta`, spaced as asked: β_1 = 1 and, for
/// count ≥ 2, β_count = min_beta. Geometric: β_k = min_beta^((k−1)/(count−1)) (so min_beta must be
/// above 0); linear: β_k = 1 − (1 − min_beta)(k−1)/(count−1). Computed in f64, the same on every
/// machine.
pub fn temperature_ladder(count: usize, min_beta: f64, spacing: TemperatureSpacing) -> Vec<f64> {
    let count = count.max(1);
    if count == 1 {
        return vec![1.0];
    }
    let last = (count - 1) as f64;
    (0..count)
        .map(|k| match k {
            0 => 1.0,
            k if k == count - 1 => min_beta,
            k => match spacing {
                TemperatureSpacing::Geometric => min_beta.powf(k as f64 / last),
                TemperatureSpacing::Linear => 1.0 - (1.0 - min_beta) * k as f64 / last,
            },
        })
        .collect()
}

/// Chains per block of the tempered negative phase's products (a fixed size, see
/// [`negative_phase`]).
const CHAIN_BLOCK: usize = 64;

/// Swap attempts over which [`Tempering::swap_rates`] average (an exponential moving average of
/// window ~100 attempts, a plain mean before that many).
pub const SWAP_RATE_WINDOW: f64 = 100.0;

/// What a tempered negative phase carries from one update to the next besides its chains.
#[derive(Clone, Debug, PartialEq)]
pub struct Tempering {
    /// The ladder, β_1 = 1 first.
    pub betas: Vec<f64>,
    /// Swap rounds done with this ladder: its parity picks the pairs of the next round, and it
    /// counts each pair's attempts for the running rates.
    pub rounds: u64,
    /// Running acceptance rate of the swaps of each neighbouring pair (β_k, β_k+1), K − 1 of them.
    pub swap_rates: Vec<f64>,
}

impl Tempering {
    pub fn new(betas: Vec<f64>) -> Self {
        let pairs = betas.len().saturating_sub(1);
        Self { betas, rounds: 0, swap_rates: vec![0.0; pairs] }
    }

    /// Checks a saved state: at least one β and at most [`MAX_TEMPERATURES`], the first 1, then
    /// non-increasing values in [0, 1]; one rate in [0, 1] per neighbouring pair. Returns a
    /// description of what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let betas = &self.betas;
        if betas.len() > MAX_TEMPERATURES {
            return Err(format!("its ladder has {} temperatures; the limit is {MAX_TEMPERATURES}", betas.len()));
        }
        if betas.first() != Some(&1.0) {
            return Err(format!("its temperature ladder {betas:?} does not start at β = 1"));
        }
        if betas.windows(2).any(|pair| !(pair[1] >= 0.0 && pair[1] <= pair[0])) {
            return Err(format!("its temperature ladder {betas:?} is not a decreasing list of β in [0, 1]"));
        }
        if self.swap_rates.len() != betas.len() - 1 {
            return Err(format!(
                "it has {} swap rates for {} temperatures (one per neighbouring pair)",
                self.swap_rates.len(),
                betas.len()
            ));
        }
        if !self.swap_rates.iter().all(|r| (0.0..=1.0).contains(r)) {
            return Err(format!("its swap rates {:?} are not all in [0, 1]", self.swap_rates));
        }
        Ok(())
    }

    /// Whether pair k (between β_k+1 and β_k+2, counting from 0) is tried in round `round`.
    fn pair_active(k: usize, round: u64) -> bool {
        k as u64 % 2 == round % 2
    }

    /// Attempts pair k has had before round `round` (every other round, from round k mod 2).
    fn attempts_before(k: usize, round: u64) -> u64 {
        (round + 1 - k as u64 % 2) / 2
    }
}

/// Parallel tempering on its own, outside training: P particles, each a ladder of chains at the
/// given inverse temperatures, run round after round on a fixed model (the same code as training's
/// negative phase, with Bernoulli visibles). For looking at what the chains at each temperature
/// hold and for checking the sampler against exact probabilities.
pub struct TemperedSampler {
    n_visible: usize,
    n_hidden: usize,
    particles: usize,
    visible: Vec<f32>,
    hidden: Vec<f32>,
    cold_hidden: Vec<f32>,
    streams: RowStreams,
    log_probabilities: Vec<f64>,
    tempering: Tempering,
    base: Option<Vec<f32>>,
}

impl TemperedSampler {
    /// Ladders started at `start` (P x V: every temperature of particle p at row p), at inverse
    /// temperatures `betas` (1 first, non-increasing, in [0, 1]), with base biases `base` (None:
    /// plain tempering), drawing from streams seeded with `seed`.
    ///
    /// # Errors
    /// A description of what is wrong with the ladder or the sizes.
    pub fn new(
        start: &[f32],
        n_visible: usize,
        n_hidden: usize,
        betas: Vec<f64>,
        base: Option<Vec<f32>>,
        seed: u64,
    ) -> Result<Self, String> {
        let tempering = Tempering::new(betas);
        tempering.check()?;
        if n_visible == 0 || n_hidden == 0 || start.is_empty() || !start.len().is_multiple_of(n_visible) {
            return Err(format!("the start must be whole rows of {n_visible} visible units"));
        }
        if base.as_ref().is_some_and(|b| b.len() != n_visible) {
            return Err(format!("the base needs {n_visible} visible biases"));
        }
        let particles = start.len() / n_visible;
        let chains = particles * tempering.betas.len();
        crate::limits::check_chains(chains, n_visible, n_hidden).map_err(|e| e.to_string())?;
        let visible = (0..chains).flat_map(|r| &start[(r % particles) * n_visible..][..n_visible]).copied().collect();
        Ok(Self {
            n_visible,
            n_hidden,
            particles,
            visible,
            hidden: vec![0.0; chains * n_hidden],
            cold_hidden: vec![0.0; particles * n_hidden],
            streams: RowStreams::new(seed, chains),
            log_probabilities: Vec::new(),
            tempering,
            base,
        })
    }

    /// One round (swaps, then a Gibbs step of every chain at its temperature) on `rbm`, whose shape
    /// must be the sampler's (a model of another shape is left alone and nothing happens).
    pub fn round(&mut self, rbm: &Rbm, threads: Threads) {
        if (rbm.n_visible(), rbm.n_hidden()) != (self.n_visible, self.n_hidden) {
            return;
        }
        let config = TrainingConfig { sampling: VisibleSampling::Bernoulli, ..TrainingConfig::default() };
        let m = ChainParams {
            w: rbm.weights_slice(),
            wt: None,
            b_v: rbm.visible_bias().as_slice().unwrap_or(&[]),
            b_h: rbm.hidden_bias().as_slice().unwrap_or(&[]),
            nv: self.n_visible,
            nh: self.n_hidden,
            k: 1,
            config: &config,
            sparse: SparsePlan::default(),
        };
        let chains = TemperedChains {
            visible: &mut self.visible,
            hidden: &mut self.hidden,
            negative_hidden: &mut self.cold_hidden,
            streams: self.streams.streams_mut(),
            log_probabilities: &mut self.log_probabilities,
        };
        negative_phase(&m, &mut self.tempering, self.base.as_deref(), chains, self.particles, 1, threads);
    }

    pub fn particles(&self) -> usize {
        self.particles
    }

    pub fn betas(&self) -> &[f64] {
        &self.tempering.betas
    }

    /// The P visible states at inverse temperature `betas()[k]` (P x V).
    pub fn chains_at(&self, k: usize) -> &[f32] {
        let size = self.particles * self.n_visible;
        &self.visible[k * size..(k + 1) * size]
    }

    /// The running swap acceptance rate of each neighbouring pair, coldest first.
    pub fn swap_rates(&self) -> &[f64] {
        &self.tempering.swap_rates
    }
}

/// The chains of a tempered negative phase, temperature-major: rows k·P .. (k+1)·P hold the P
/// particles' chains at β_k+1, so the first P rows are the β = 1 chains.
pub(super) struct TemperedChains<'a> {
    /// K·P x V visible states.
    pub visible: &'a mut [f32],
    /// K·P x H: the hidden inputs a, then the hidden samples.
    pub hidden: &'a mut [f32],
    /// P x H: p(h|v) of the β = 1 chains after the last round (the negative statistics).
    pub negative_hidden: &'a mut [f32],
    /// One stream per chain, K·P.
    pub streams: &'a mut [Xoshiro256PlusPlus],
    /// Scratch: the log-probabilities of the swap test, two per chain.
    pub log_probabilities: &'a mut Vec<f64>,
}

/// `rounds` tempered rounds (see the module's documentation) on `particles` ladders, then p(h|v)
/// of the β = 1 chains into `chains.negative_hidden`. `base` is b_A (None: plain tempering).
pub(super) fn negative_phase(
    m: &ChainParams<'_>,
    tempering: &mut Tempering,
    base: Option<&[f32]>,
    chains: TemperedChains<'_>,
    particles: usize,
    rounds: usize,
    threads: Threads,
) {
    let (nv, nh) = (m.nv, m.nh);
    let betas = tempering.betas.clone();
    let total = particles * betas.len();
    let TemperedChains { visible, hidden, negative_hidden, streams, log_probabilities } = chains;
    let (visible, hidden, streams) = (&mut visible[..total * nv], &mut hidden[..total * nh], &mut streams[..total]);
    // Blocks of one size on any thread count: the gemm crate sums some rows of a product in an
    // order that depends on the product's row count, so a split by threads could change bits.
    let block = CHAIN_BLOCK;
    for _ in 0..rounds.max(1) {
        for_blocks(threads, visible.chunks(block * nv).zip(hidden.chunks_mut(block * nh)), |(v, a)| {
            m.hidden_inputs(a, v, v.len() / nv, m.sparse.chain_visible);
        });
        if betas.len() > 1 {
            swap_round(m, tempering, base, visible, hidden, streams, particles, log_probabilities, threads);
        }
        let blocks = visible.chunks_mut(block * nv).zip(hidden.chunks_mut(block * nh)).zip(streams.chunks_mut(block));
        for_blocks(threads, blocks.enumerate(), |(index, ((v, h), s))| {
            let first = index * block;
            tempered_gibbs_step(m, &betas, base, particles, first, v, h, s);
        });
    }
    let cold = &visible[..particles * nv];
    let negative_hidden = &mut negative_hidden[..particles * nh];
    let cold_block = CHAIN_BLOCK;
    for_blocks(threads, cold.chunks(cold_block * nv).zip(negative_hidden.chunks_mut(cold_block * nh)), |(v, p)| {
        let rows = v.len() / nv;
        m.hidden_inputs(p, v, rows, m.sparse.chain_visible);
        sampling::sigmoid_rows(p, nh, rows, Threads(1));
    });
}

/// Runs `work` on each item, in parallel on the current pool when `threads` > 1.
fn for_blocks<I, F>(threads: Threads, items: I, work: F)
where
    I: Iterator,
    I::Item: Send,
    F: Fn(I::Item) + Sync + Send,
{
    if threads.0 > 1 {
        use rayon::prelude::*;
        items.collect::<Vec<_>>().into_par_iter().for_each(work);
    } else {
        items.for_each(work);
    }
}

/// One Gibbs step of the chains in rows `first ..` (a block of the temperature-major layout),
/// each at its own temperature: `h` holds a = vW + b_h on entry and the hidden sample on exit.
#[allow(clippy::too_many_arguments)]
fn tempered_gibbs_step(
    m: &ChainParams<'_>,
    betas: &[f64],
    base: Option<&[f32]>,
    particles: usize,
    first: usize,
    v: &mut [f32],
    h: &mut [f32],
    streams: &mut [Xoshiro256PlusPlus],
) {
    let (nv, nh) = (m.nv, m.nh);
    let rows = v.len() / nv;
    let one = Threads(1);
    let beta_of = |row: usize| betas[(first + row) / particles];
    // β = 1 rows are left exactly as PCD computes them (no multiplication, no base term).
    for (row, a) in h.chunks_exact_mut(nh).enumerate() {
        let beta = beta_of(row) as f32;
        if beta != 1.0 {
            a.iter_mut().for_each(|x| *x *= beta);
        }
    }
    sampling::sample_from_inputs(h, nh, rows, streams, one);
    m.visible_inputs(v, h, rows);
    for (row, x) in v.chunks_exact_mut(nv).enumerate() {
        let beta = beta_of(row);
        if beta != 1.0 {
            let (beta, rest) = (beta as f32, (1.0 - beta) as f32);
            match base {
                Some(base) => x.iter_mut().zip(base).for_each(|(x, &b)| *x = beta * *x + rest * b),
                None => x.iter_mut().for_each(|x| *x *= beta),
            }
        }
    }
    sampling::visible_state_from_inputs(v, nv, rows, streams, one, m.config.sampling, m.config.noise_std);
}

/// The swap moves of one round: the log-probabilities each swap test needs (in parallel), then
/// the tests pair by pair in a fixed order, then the running rates.
#[allow(clippy::too_many_arguments)]
fn swap_round(
    m: &ChainParams<'_>,
    tempering: &mut Tempering,
    base: Option<&[f32]>,
    visible: &mut [f32],
    inputs: &mut [f32],
    streams: &mut [Xoshiro256PlusPlus],
    particles: usize,
    log_probabilities: &mut Vec<f64>,
    threads: Threads,
) {
    let (nv, nh) = (m.nv, m.nh);
    let temperatures = tempering.betas.len();
    let round = tempering.rounds;
    let betas = &tempering.betas;
    // The temperature each chain is compared at: its partner's in this round's pairing.
    let partner = |k: usize| -> Option<usize> {
        if k + 1 < temperatures && Tempering::pair_active(k, round) {
            Some(k + 1)
        } else if k >= 1 && Tempering::pair_active(k - 1, round) {
            Some(k - 1)
        } else {
            None
        }
    };
    // Two per chain: log p* at its own β and at its partner's.
    log_probabilities.clear();
    log_probabilities.resize(2 * temperatures * particles, 0.0);
    let total = temperatures * particles;
    let block = total.div_ceil((threads.0 * 2).clamp(1, total));
    let tasks = visible
        .chunks(block * nv)
        .zip(inputs.chunks(block * nh))
        .zip(log_probabilities.chunks_mut(2 * block))
        .enumerate();
    for_blocks(threads, tasks, |(index, ((v, a), out))| {
        for (row, ((v, a), out)) in v.chunks_exact(nv).zip(a.chunks_exact(nh)).zip(out.chunks_exact_mut(2)).enumerate()
        {
            let chain = index * block + row;
            let k = chain / particles;
            let Some(other) = partner(k) else { continue };
            let visible_bias_term: f64 = m.b_v.iter().zip(v).map(|(&b, &x)| b as f64 * x as f64).sum();
            let base_term: f64 = base.map_or(0.0, |b| b.iter().zip(v).map(|(&b, &x)| b as f64 * x as f64).sum());
            out[0] = tempered_log_probability(betas[k], visible_bias_term, base_term, a);
            out[1] = tempered_log_probability(betas[other], visible_bias_term, base_term, a);
        }
    });

    let mut accepted = vec![0usize; temperatures - 1];
    for (k, accepted) in accepted.iter_mut().enumerate() {
        if !Tempering::pair_active(k, round) {
            continue;
        }
        for p in 0..particles {
            let (x, y) = (k * particles + p, (k + 1) * particles + p);
            // ln of p*_k(v_y) p*_k+1(v_x) / (p*_k(v_x) p*_k+1(v_y))
            let log_ratio = log_probabilities[2 * y + 1] + log_probabilities[2 * x + 1]
                - log_probabilities[2 * x]
                - log_probabilities[2 * y];
            let u = uniform_f32(&mut streams[x]) as f64;
            if u < log_ratio.exp() {
                *accepted += 1;
                swap_rows(visible, nv, x, y);
                swap_rows(inputs, nh, x, y);
            }
        }
    }
    for (k, (rate, &count)) in tempering.swap_rates.iter_mut().zip(&accepted).enumerate() {
        if Tempering::pair_active(k, round) {
            let attempts = Tempering::attempts_before(k, round) + 1;
            let weight = (1.0 / attempts as f64).max(1.0 / SWAP_RATE_WINDOW);
            *rate += weight * (count as f64 / particles as f64 - *rate);
        }
    }
    tempering.rounds += 1;
}

/// ln p*_β(v) = (1−β) b_A·v + β b_v·v + Σ_j softplus(β a_j), given b_v·v, b_A·v and a = vW + b_h.
pub fn tempered_log_probability(beta: f64, visible_bias_term: f64, base_term: f64, inputs: &[f32]) -> f64 {
    (1.0 - beta) * base_term + beta * visible_bias_term + softplus_sum_scaled(inputs, beta as f32)
}

/// Σ_j softplus(β a_j) = Σ max(β a_j, 0) + ln Π (1 + e^{−|β a_j|}): eight lanes of f32 products of
/// at most 64 factors in (1, 2] each (below 2^64), one ln per lane and block, summed in f64, so
/// that the loop vectorises. Relative error of each term about 3e-7 (that of [`exp_f32`]).
pub fn softplus_sum_scaled(inputs: &[f32], beta: f32) -> f64 {
    const LANES: usize = 8;
    const BLOCK: usize = 64 * LANES;
    let mut total = 0.0f64;
    for block in inputs.chunks(BLOCK) {
        let mut positive = [0.0f32; LANES];
        let mut product = [1.0f32; LANES];
        let chunks = block.chunks_exact(LANES);
        let rest = chunks.remainder();
        for xs in chunks {
            for l in 0..LANES {
                let x = beta * xs[l];
                positive[l] += x.max(0.0);
                product[l] *= 1.0 + exp_f32(-x.abs());
            }
        }
        for (l, &a) in rest.iter().enumerate() {
            let x = beta * a;
            positive[l] += x.max(0.0);
            product[l] *= 1.0 + exp_f32(-x.abs());
        }
        total +=
            positive.iter().map(|&p| p as f64).sum::<f64>() + product.iter().map(|&p| (p as f64).ln()).sum::<f64>();
    }
    total
}

/// Exchanges rows `x` < `y` (of `width` values) of `data`.
fn swap_rows(data: &mut [f32], width: usize, x: usize, y: usize) {
    let (low, high) = data.split_at_mut(y * width);
    low[x * width..(x + 1) * width].swap_with_slice(&mut high[..width]);
}

#[cfg(test)]
mod tests;
