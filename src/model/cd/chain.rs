//! The sampling half of a step: the positive phase p0 = σ(v0 W + b_h), the negative chains
//! (k Gibbs steps per row block, each block alone on a thread with its rows' own random streams),
//! and the column means the update is made of.

use rand_xoshiro::Xoshiro256PlusPlus;

use super::CdWorkspace;
use crate::model::config::{TrainingConfig, VisibleSampling};
use crate::model::linalg::{self, Threads};
use crate::model::{sampling, sparse};

impl CdWorkspace {
    /// p0 = σ(v0 W + b_h) for the data rows (and, for PCD, their mean-field reconstructions).
    pub(super) fn positive_phase(&mut self, m: &ChainParams<'_>, rows: usize, pcd: bool, threads: Threads) {
        let (nv, nh) = (m.nv, m.nh);
        let parts = threads.0.clamp(1, rows);
        let block = rows.div_ceil(parts);
        let v0 = &self.stacked_visible[..rows * nv];
        let p0 = &mut self.stacked_hidden[..rows * nh];
        let recon = &mut self.reconstruction[..rows * nv];
        let one = Threads(1);
        let work = |((v0, p0), recon): ((&[f32], &mut [f32]), &mut [f32])| {
            let block_rows = v0.len() / nv;
            m.hidden_inputs(p0, v0, block_rows, m.sparse.data);
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
    pub(super) fn negative_phase(
        &mut self,
        m: &ChainParams<'_>,
        rows: usize,
        chain_rows: usize,
        pcd: bool,
        threads: Threads,
    ) {
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
    pub(super) fn statistics(&mut self, rows: usize, chain_rows: usize, pcd: bool) -> f32 {
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
pub(in crate::model) struct ChainParams<'a> {
    pub w: &'a [f32],
    /// Wᵀ, row-major hidden x visible, when the step made one.
    pub wt: Option<&'a [f32]>,
    pub b_v: &'a [f32],
    pub b_h: &'a [f32],
    pub nv: usize,
    pub nh: usize,
    pub k: usize,
    pub config: &'a TrainingConfig,
    /// Which operands the step multiplies with the sparse products.
    pub sparse: SparsePlan,
}

/// The operands of a step that go through [`sparse`]'s products instead of the dense ones. Fixed
/// for the whole step from whole-batch figures (never per thread block), so results do not depend
/// on the thread count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(in crate::model) struct SparsePlan {
    /// The data rows.
    pub data: bool,
    /// The chains' binary visible states.
    pub chain_visible: bool,
    /// The chains' binary hidden states (their products need Wᵀ).
    pub chain_hidden: bool,
    /// Nonzero values among the data rows, as counted for `data` (the weight update reuses it).
    pub data_nonzeros: usize,
}

impl SparsePlan {
    /// The plan for a step on data rows `data` (V wide) whose positive hidden probabilities will
    /// be judged later ([`SparsePlan::with_hidden`]).
    pub fn for_data(data: &[f32], nv: usize, nh: usize, config: &TrainingConfig) -> Self {
        let usable = sparse::supports(nv.max(nh)) && !data.is_empty();
        let data_nonzeros = if usable { data.iter().filter(|&&x| x != 0.0).count() } else { 0 };
        let sparse_data = usable && data_nonzeros as f64 / data.len() as f64 <= sparse::MAX_DENSITY;
        Self {
            data: sparse_data,
            chain_visible: sparse_data && config.sampling == VisibleSampling::Bernoulli,
            chain_hidden: false,
            data_nonzeros,
        }
    }

    /// Hidden states go sparse when the data's mean hidden probability is low (PCD's and CD's
    /// chains are drawn towards the data's statistics) and the step stores Wᵀ.
    pub fn with_hidden(self, p0: &[f32], nh: usize) -> Self {
        let usable = sparse::supports(nh) && !p0.is_empty();
        let mean = || p0.iter().map(|&p| p as f64).sum::<f64>() / p0.len() as f64;
        Self { chain_hidden: usable && mean() <= sparse::MAX_DENSITY, ..self }
    }
}

impl ChainParams<'_> {
    /// `out = v W + b_h` on one thread, through the sparse products when `sparse`.
    pub fn hidden_inputs(&self, out: &mut [f32], v: &[f32], rows: usize, sparse: bool) {
        if sparse {
            sparse::affine(out, v, rows, self.w, self.nv, self.nh, self.b_h);
        } else {
            linalg::affine(out, v, rows, self.w, self.nv, self.nh, self.b_h, Threads(1));
        }
    }

    /// `out = h Wᵀ + b_v` on one thread for binary chain states `h`.
    pub fn visible_inputs_from_states(&self, out: &mut [f32], h: &[f32], rows: usize) {
        match self.wt {
            Some(wt) if self.sparse.chain_hidden => sparse::affine(out, h, rows, wt, self.nh, self.nv, self.b_v),
            _ => self.visible_inputs(out, h, rows),
        }
    }

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
    let ChainParams { nv, nh, k, config, sparse, .. } = *m;
    for step in 0..k {
        match start_p {
            Some(p0) if step == 0 => sampling::bernoulli_rows(p0, h, nh, rows, streams, one),
            _ => {
                m.hidden_inputs(h, vk, rows, sparse.chain_visible);
                sampling::sample_from_inputs(h, nh, rows, streams, one);
            }
        }
        m.visible_inputs_from_states(vk, h, rows);
        sampling::visible_state_from_inputs(vk, nv, rows, streams, one, config.sampling, config.noise_std);
    }
    m.hidden_inputs(pk, vk, rows, sparse.chain_visible);
    sampling::sigmoid_rows(pk, nh, rows, one);
}
