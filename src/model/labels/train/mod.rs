//! Generative training of the classification RBM: CD-k or PCD-k on the joint (image, label)
//! visibles, the label group sampled from its softmax (Larochelle & Bengio 2008, section 2).
//!
//! One step on a batch of images x0 with labels y0 (one-hot), B rows, and N negative chains:
//!   p0 = σ(c + x0 W + U[y0])
//!   chains (CD: start at the data, reusing p0; PCD: carry on from the particles), k times:
//!     h ~ Bernoulli(σ(c + x W + U[y])),  x from σ(b + h Wᵀ) (the configured visible sampling),
//!     y ~ softmax(d + h Uᵀ)
//!   pk = σ(c + xk W + U[yk])
//!   W += lr (x0ᵀp0 / B − xkᵀpk / N),  U += lr (y0ᵀp0 / B − ykᵀpk / N),
//!   b += lr (⟨x0⟩ − ⟨xk⟩),  c += lr (⟨p0⟩ − ⟨pk⟩),  d += lr (⟨y0⟩ − ⟨yk⟩)
//! The loss reported is the tutorial's mean |xk − x0| for CD, and the mean-field reconstruction
//! error mean |σ(b + p0 Wᵀ) − x0| for PCD (whose chains are not tied to the data).
//!
//! Every row draws from its own random stream and rows are processed in blocks of a fixed size
//! ([`ROW_BLOCK`]), as are the rows of W in the update, so the result is the same bit for bit
//! whatever the number of threads. Momentum, weight decay, sparsity, centering and parallel
//! tempering are not part of this step: [`check_config`] refuses them.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::super::config::{GradientMethod, MAX_BATCH, TrainingConfig, VisibleSampling};
use super::super::linalg::{self, Threads};
use super::super::rbm::Rbm;
use super::super::rng::{RowStreams, uniform_f32};
use super::super::sampling;
use super::{LabelUnits, ROW_BLOCK};

/// Rows of W per block of the weight update (fixed, for the same bits on any thread count).
const WEIGHT_BLOCK: usize = 32;

/// What one step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelledStepStats {
    pub reconstruction_l1: f32,
    pub rows: usize,
    pub learning_rate: f32,
}

/// Why a training configuration cannot train label units.
pub fn check_config(config: &TrainingConfig) -> Result<(), String> {
    let refused = [
        (config.method == GradientMethod::Pt, "parallel tempering"),
        (config.momentum > 0.0, "momentum"),
        (config.weight_decay > 0.0, "weight decay"),
        (config.sparsity_cost > 0.0, "a sparsity penalty"),
        (config.centering, "centering"),
    ];
    match refused.iter().find(|(on, _)| *on) {
        Some((_, what)) => Err(format!(
            "label units are trained with plain CD-k or PCD-k; turn off {what} to train a model with label units"
        )),
        None => Ok(()),
    }
}

/// Buffers and random streams for labelled CD-k / PCD-k on batches of up to `capacity` rows.
pub struct LabelledCd {
    n_visible: usize,
    n_hidden: usize,
    classes: usize,
    capacity: usize,
    /// The batch's images (capacity x V) and labels.
    data_visible: Vec<f32>,
    data_labels: Vec<u32>,
    /// p(h | x0, y0), capacity x H.
    data_hidden: Vec<f32>,
    /// The negative chains' images, labels, hidden samples and p(h | xk, yk); PCD's particles.
    chain_visible: Vec<f32>,
    chain_labels: Vec<u32>,
    chain_hidden: Vec<f32>,
    chain_probabilities: Vec<f32>,
    /// PCD particles alive in the chain buffers (0 until the first PCD step).
    particles: usize,
    data_streams: RowStreams,
    chain_streams: RowStreams,
    seed: u64,
}

impl LabelledCd {
    pub fn new(n_visible: usize, n_hidden: usize, classes: usize, capacity: usize, seed: u64) -> Self {
        let capacity = capacity.clamp(1, MAX_BATCH);
        Self {
            n_visible,
            n_hidden,
            classes,
            capacity,
            data_visible: vec![0.0; capacity * n_visible],
            data_labels: vec![0; capacity],
            data_hidden: vec![0.0; capacity * n_hidden],
            chain_visible: Vec::new(),
            chain_labels: Vec::new(),
            chain_hidden: Vec::new(),
            chain_probabilities: Vec::new(),
            particles: 0,
            data_streams: RowStreams::new(seed ^ 0x5EED_DA7A, capacity),
            chain_streams: RowStreams::new(seed, 0),
            seed,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The first `rows` image rows and labels to fill with the next batch (rows ≤ capacity).
    pub fn data_mut(&mut self, rows: usize) -> (&mut [f32], &mut [u32]) {
        let rows = rows.min(self.capacity);
        (&mut self.data_visible[..rows * self.n_visible], &mut self.data_labels[..rows])
    }

    /// One update of `rbm` and `labels` on the `rows` rows given through [`LabelledCd::data_mut`]
    /// (labels below the class count), at `epoch` for the learning-rate schedule.
    pub fn step(
        &mut self,
        rbm: &mut Rbm,
        labels: &mut LabelUnits,
        config: &TrainingConfig,
        rows: usize,
        epoch: f64,
        threads: Threads,
    ) -> LabelledStepStats {
        let rows = rows.clamp(1, self.capacity);
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let pcd = config.method == GradientMethod::Pcd;
        let chains = if pcd { config.particles().clamp(1, MAX_BATCH) } else { rows };
        self.ensure_chains(chains);
        if config.binarize_data {
            let (x, streams) = (&mut self.data_visible[..rows * nv], self.data_streams.streams_mut());
            in_blocks(x.chunks_mut(ROW_BLOCK * nv).zip(streams.chunks_mut(ROW_BLOCK)), threads, |(x, s)| {
                sampling::binarize_rows(x, nv, x.len() / nv, s, Threads(1))
            });
        }
        let learning_rate = config.learning_rate_at(epoch);
        let stats = {
            let model = ChainModel::of(rbm, labels, config);
            // Positive phase: p0 = σ(c + x0 W + U[y0]).
            let (x0, y0) = (&self.data_visible[..rows * nv], &self.data_labels[..rows]);
            let p0 = &mut self.data_hidden[..rows * nh];
            in_blocks(
                x0.chunks(ROW_BLOCK * nv).zip(y0.chunks(ROW_BLOCK)).zip(p0.chunks_mut(ROW_BLOCK * nh)),
                threads,
                |((x, y), p)| model.hidden_probabilities(p, x, y),
            );
            // Negative phase.
            let start_from_data = !pcd || self.particles != chains;
            if start_from_data {
                for i in 0..chains {
                    let r = i % rows;
                    self.chain_visible[i * nv..(i + 1) * nv].copy_from_slice(&x0[r * nv..(r + 1) * nv]);
                    self.chain_labels[i] = y0[r];
                }
            }
            let p0: &[f32] = &self.data_hidden[..rows * nh];
            let cd_start = (!pcd).then_some(p0);
            let blocks = self.chain_visible[..chains * nv]
                .chunks_mut(ROW_BLOCK * nv)
                .zip(self.chain_labels[..chains].chunks_mut(ROW_BLOCK))
                .zip(self.chain_hidden[..chains * nh].chunks_mut(ROW_BLOCK * nh))
                .zip(self.chain_probabilities[..chains * nh].chunks_mut(ROW_BLOCK * nh))
                .zip(self.chain_streams.streams_mut()[..chains].chunks_mut(ROW_BLOCK))
                .enumerate();
            in_blocks(blocks, threads, |(index, ((((x, y), h), p), streams))| {
                let start = cd_start.map(|p0| &p0[index * ROW_BLOCK * nh..index * ROW_BLOCK * nh + h.len()]);
                model.run_chain(x, y, h, p, streams, start)
            });
            self.particles = if pcd { chains } else { 0 };
            self.loss(&model, rows, pcd, threads)
        };
        self.update(rbm, labels, rows, chains, learning_rate, threads);
        LabelledStepStats { reconstruction_l1: stats, rows, learning_rate }
    }

    /// Chain buffers and streams for `chains` chains; new streams continue from the seed.
    fn ensure_chains(&mut self, chains: usize) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        if self.chain_labels.len() < chains {
            self.chain_visible.resize(chains * nv, 0.0);
            self.chain_labels.resize(chains, 0);
            self.chain_hidden.resize(chains * nh, 0.0);
            self.chain_probabilities.resize(chains * nh, 0.0);
        }
        if self.chain_streams.len() < chains {
            // Streams already in use keep going; the longer set starts with the same ones.
            let mut streams = RowStreams::new(self.seed, chains);
            let old = self.chain_streams.streams_mut();
            streams.streams_mut()[..old.len()].clone_from_slice(old);
            self.chain_streams = streams;
        }
    }

    /// mean |xk − x0| (CD) or mean |σ(b + p0 Wᵀ) − x0| (PCD).
    fn loss(&self, model: &ChainModel<'_>, rows: usize, pcd: bool, threads: Threads) -> f32 {
        let nv = self.n_visible;
        let x0 = &self.data_visible[..rows * nv];
        let mut sums = vec![0.0f64; rows.div_ceil(ROW_BLOCK)];
        if pcd {
            let p0 = &self.data_hidden[..rows * self.n_hidden];
            let blocks = x0.chunks(ROW_BLOCK * nv).zip(p0.chunks(ROW_BLOCK * self.n_hidden)).zip(sums.iter_mut());
            in_blocks(blocks, threads, |((x, p), sum)| {
                let mut reconstruction = vec![0.0f32; x.len()];
                model.visible_inputs(&mut reconstruction, p);
                sampling::sigmoid_rows(&mut reconstruction, nv, x.len() / nv, Threads(1));
                *sum = x.iter().zip(&reconstruction).map(|(a, b)| (a - b).abs() as f64).sum();
            });
        } else {
            let xk = &self.chain_visible[..rows * nv];
            let blocks = x0.chunks(ROW_BLOCK * nv).zip(xk.chunks(ROW_BLOCK * nv)).zip(sums.iter_mut());
            in_blocks(blocks, threads, |((a, b), sum)| {
                *sum = a.iter().zip(b).map(|(a, b)| (a - b).abs() as f64).sum();
            });
        }
        (sums.iter().sum::<f64>() / (rows * nv) as f64) as f32
    }

    /// The parameter update of the module header.
    fn update(&self, rbm: &mut Rbm, labels: &mut LabelUnits, rows: usize, chains: usize, lr: f32, threads: Threads) {
        let (nv, nh, classes) = (self.n_visible, self.n_hidden, self.classes);
        let (x0, p0) = (&self.data_visible[..rows * nv], &self.data_hidden[..rows * nh]);
        let (xk, pk) = (&self.chain_visible[..chains * nv], &self.chain_probabilities[..chains * nh]);
        let (y0, yk) = (&self.data_labels[..rows], &self.chain_labels[..chains]);
        let (positive, negative) = (lr / rows as f32, -lr / chains as f32);
        let (mean_x0, mean_xk) = (column_means(x0, nv), column_means(xk, nv));
        let (mean_p0, mean_pk) = (column_means(p0, nh), column_means(pk, nh));
        let (w, b, c) = rbm.parameters_mut();
        let blocks = w.chunks_mut(WEIGHT_BLOCK * nh).enumerate();
        in_blocks(blocks, threads, |(index, w_rows)| {
            let (first, count) = (index * WEIGHT_BLOCK, w_rows.len() / nh);
            let one = Threads(1);
            linalg::add_outer_products_columns(w_rows, count, nh, &x0[first..], nv, p0, rows, positive, one);
            linalg::add_outer_products_columns(w_rows, count, nh, &xk[first..], nv, pk, chains, negative, one);
        });
        b.iter_mut().zip(mean_x0.iter().zip(&mean_xk)).for_each(|(b, (d, m))| *b += lr * (d - m));
        c.iter_mut().zip(mean_p0.iter().zip(&mean_pk)).for_each(|(c, (d, m))| *c += lr * (d - m));
        let (u, d) = labels.parameters_mut();
        for (ys, ps, alpha) in [(y0, p0, positive), (yk, pk, negative)] {
            for (&y, p) in ys.iter().zip(ps.chunks_exact(nh)) {
                let y = (y as usize).min(classes - 1);
                u[y * nh..(y + 1) * nh].iter_mut().zip(p).for_each(|(u, &p)| *u += alpha * p);
                d[y] += alpha;
            }
        }
    }
}

/// The model and settings the chains of one step run with.
pub(super) struct ChainModel<'a> {
    pub w: &'a [f32],
    pub b: &'a [f32],
    pub c: &'a [f32],
    pub u: &'a [f32],
    pub d: &'a [f32],
    pub nv: usize,
    pub nh: usize,
    pub classes: usize,
    pub k: usize,
    pub sampling: VisibleSampling,
    pub noise_std: f32,
}

impl<'a> ChainModel<'a> {
    pub fn of(rbm: &'a Rbm, labels: &'a LabelUnits, config: &TrainingConfig) -> Self {
        Self::with_sampling(rbm, labels, config.k, config.sampling, config.noise_std)
    }

    pub fn with_sampling(
        rbm: &'a Rbm,
        labels: &'a LabelUnits,
        k: usize,
        sampling: VisibleSampling,
        noise_std: f32,
    ) -> Self {
        Self {
            w: rbm.weights_slice(),
            b: rbm.visible_bias().as_slice().unwrap_or(&[]),
            c: rbm.hidden_bias().as_slice().unwrap_or(&[]),
            u: labels.weights(),
            d: labels.bias(),
            nv: rbm.n_visible(),
            nh: rbm.n_hidden(),
            classes: labels.classes(),
            k,
            sampling,
            noise_std,
        }
    }

    /// `out = c + x W + U[y]` for the rows of `x` (one thread).
    pub fn hidden_inputs(&self, out: &mut [f32], x: &[f32], y: &[u32]) {
        let (nv, nh) = (self.nv, self.nh);
        linalg::affine(out, x, y.len(), self.w, nv, nh, self.c, Threads(1));
        for (row, &class) in out.chunks_exact_mut(nh).zip(y) {
            let class = (class as usize).min(self.classes - 1);
            row.iter_mut().zip(&self.u[class * nh..(class + 1) * nh]).for_each(|(o, u)| *o += u);
        }
    }

    /// `out = σ(c + x W + U[y])`.
    pub fn hidden_probabilities(&self, out: &mut [f32], x: &[f32], y: &[u32]) {
        self.hidden_inputs(out, x, y);
        sampling::sigmoid_rows(out, self.nh, y.len(), Threads(1));
    }

    /// `out = b + h Wᵀ` for the rows of `h` (one thread).
    pub fn visible_inputs(&self, out: &mut [f32], h: &[f32]) {
        let rows = h.len() / self.nh;
        linalg::affine_transposed(out, h, rows, self.w, self.nv, self.nh, self.b, Threads(1));
    }

    /// y ~ softmax(d + h Uᵀ) for each row of `h`, one uniform draw from the row's stream.
    pub fn sample_labels(&self, y: &mut [u32], h: &[f32], streams: &mut [Xoshiro256PlusPlus]) {
        let mut inputs = vec![0.0f32; self.classes];
        for ((label, h), rng) in y.iter_mut().zip(h.chunks_exact(self.nh)).zip(streams) {
            linalg::affine_transposed(&mut inputs, h, 1, self.u, self.classes, self.nh, self.d, Threads(1));
            *label = sample_softmax(&inputs, uniform_f32(rng)) as u32;
        }
    }

    /// k Gibbs steps of the rows' chains from their state in `x`, `y` (or, with `start`, from
    /// hidden samples of those probabilities first), then `p = σ(c + x W + U[y])`. With `clamp`,
    /// the labels stay as they are.
    #[allow(clippy::too_many_arguments)]
    pub fn run_steps(
        &self,
        steps: usize,
        x: &mut [f32],
        y: &mut [u32],
        h: &mut [f32],
        streams: &mut [Xoshiro256PlusPlus],
        start: Option<&[f32]>,
        clamp: bool,
    ) {
        let (nv, nh, rows) = (self.nv, self.nh, y.len());
        let one = Threads(1);
        for step in 0..steps {
            match start {
                Some(p) if step == 0 => sampling::bernoulli_rows(p, h, nh, rows, streams, one),
                _ => {
                    self.hidden_inputs(h, x, y);
                    sampling::sample_from_inputs(h, nh, rows, streams, one);
                }
            }
            self.visible_inputs(x, h);
            sampling::visible_state_from_inputs(x, nv, rows, streams, one, self.sampling, self.noise_std);
            if !clamp {
                self.sample_labels(y, h, streams);
            }
        }
    }

    /// One training chain block: [`ChainModel::run_steps`] for k steps, then p(h | xk, yk).
    fn run_chain(
        &self,
        x: &mut [f32],
        y: &mut [u32],
        h: &mut [f32],
        p: &mut [f32],
        streams: &mut [Xoshiro256PlusPlus],
        start: Option<&[f32]>,
    ) {
        self.run_steps(self.k, x, y, h, streams, start, false);
        self.hidden_probabilities(p, x, y);
    }
}

/// The class a uniform draw `u` ∈ [0, 1) picks from softmax(`inputs`) (by the cumulative sum).
pub(super) fn sample_softmax(inputs: &[f32], u: f32) -> usize {
    let max = inputs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let weights: Vec<f64> = inputs.iter().map(|&x| ((x - max) as f64).exp()).collect();
    let target = u as f64 * weights.iter().sum::<f64>();
    let mut cumulative = 0.0;
    for (class, w) in weights.iter().enumerate() {
        cumulative += w;
        if target < cumulative {
            return class;
        }
    }
    inputs.len().saturating_sub(1)
}

/// `work` on every item, spread over the current rayon pool when there is more than one thread.
/// The items are the same either way, so the results are too.
fn in_blocks<T: Send>(items: impl Iterator<Item = T>, threads: Threads, work: impl Fn(T) + Sync + Send) {
    if threads.0 > 1 {
        use rayon::prelude::*;
        items.collect::<Vec<_>>().into_par_iter().for_each(work);
    } else {
        items.for_each(work);
    }
}

/// Mean of each column of a row-major matrix with `width` columns.
fn column_means(data: &[f32], width: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; width];
    let rows = data.len() / width.max(1);
    for row in data.chunks_exact(width) {
        out.iter_mut().zip(row).for_each(|(o, x)| *o += x);
    }
    out.iter_mut().for_each(|x| *x /= rows.max(1) as f32);
    out
}

#[cfg(test)]
mod tests;
