//! The parameter half of a step: the stacked outer products that give
//! lr(⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model) in one matrix product, and the full update with momentum, L2
//! weight decay, the sparsity penalty and centering (formulas in the module header of
//! [`super`]).

use super::chain::SparsePlan;
use super::{CdWorkspace, Velocity};
use crate::model::config::TrainingConfig;
use crate::model::linalg::{self, Threads};
use crate::model::rbm::Rbm;
use crate::model::sparse;

impl CdWorkspace {
    /// Turns the stacked buffers into [v0−μ; −s(v_k−μ)] and [p0−λ; pk−λ] with s = rows/chains,
    /// so that one product with alpha = lr/rows gives lr(⟨·⟩_data − ⟨·⟩_model).
    ///
    /// When the data and the chains' visible states are sparse together (binary rows), the
    /// visible rows stay uncentered, [v0; −s·v_k], so that the sparse product can skip their
    /// zeros; the centering then enters as the rank-one term −μ (Σ_b c_b (p_b − λ))ᵀ with c_b = 1
    /// for the data rows and −s for the chains, since
    /// Σ_b c_b (v_b − μ)(p_b − λ)ᵀ = Σ_b c_b v_b (p_b − λ)ᵀ − μ Σ_b c_b (p_b − λ)ᵀ.
    /// When only the data is sparse (grey images with dense reconstructions), the data rows go
    /// through the sparse product, uncentered, and the chains' through the dense one; with
    /// centering, `outer_sums` then holds Σ_data (p_b − λ) alone.
    pub(super) fn prepare_outer_products(
        &mut self,
        rows: usize,
        chain_rows: usize,
        config: &TrainingConfig,
        plan: SparsePlan,
    ) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        if config.centering && self.visible_offset.is_none() {
            self.visible_offset = Some(self.mean_v0.clone());
        }
        // The chains' states were not judged by the step's plan: the update reads them sparse only
        // if the data and chain rows together are (a whole-batch figure, so the same on any thread
        // count).
        let sparse = plan.chain_visible && {
            let chain_nonzeros = self.chain_visible[..chain_rows * nv].iter().filter(|&&v| v != 0.0).count();
            (plan.data_nonzeros + chain_nonzeros) as f64 <= sparse::MAX_DENSITY * ((rows + chain_rows) * nv) as f64
        };
        // The data rows alone: listed now, while they hold the data as it is (the lists take them
        // or not; the rows are centered below only if they go through the dense product).
        let sparse_data = !sparse && plan.data && self.outer_entries.fill(&self.stacked_visible[..rows * nv], rows, nv);
        self.sparse_outer_rows = match (sparse, sparse_data) {
            (true, _) => rows + chain_rows,
            (false, true) => rows,
            (false, false) => 0,
        };
        let scale = rows as f32 / chain_rows as f32;
        let (data_v, negative_v) = self.stacked_visible.split_at_mut(rows * nv);
        let negative_v = &mut negative_v[..chain_rows * nv];
        let chain_v = &self.chain_visible[..chain_rows * nv];
        match (&self.visible_offset, config.centering) {
            (Some(_), true) if sparse => {
                negative_v.iter_mut().zip(chain_v).for_each(|(d, s)| *d = -scale * s);
                let lambda = &self.hidden_offset;
                let hidden = &mut self.stacked_hidden[..(rows + chain_rows) * nh];
                for row in hidden.chunks_exact_mut(nh) {
                    row.iter_mut().zip(lambda).for_each(|(x, l)| *x -= l);
                }
                let sums = &mut self.outer_sums;
                sums.iter_mut().for_each(|x| *x = 0.0);
                let (data_h, chain_h) = hidden.split_at(rows * nh);
                for row in data_h.chunks_exact(nh) {
                    sums.iter_mut().zip(row).for_each(|(s, x)| *s += x);
                }
                for row in chain_h.chunks_exact(nh) {
                    sums.iter_mut().zip(row).for_each(|(s, x)| *s -= scale * x);
                }
            }
            (Some(mu), true) => {
                if !sparse_data {
                    for row in data_v.chunks_exact_mut(nv) {
                        row.iter_mut().zip(mu).for_each(|(x, m)| *x -= m);
                    }
                }
                for (dst, src) in negative_v.chunks_exact_mut(nv).zip(chain_v.chunks_exact(nv)) {
                    for ((d, s), m) in dst.iter_mut().zip(src).zip(mu) {
                        *d = -scale * (s - m);
                    }
                }
                let lambda = &self.hidden_offset;
                let hidden = &mut self.stacked_hidden[..(rows + chain_rows) * nh];
                for row in hidden.chunks_exact_mut(nh) {
                    row.iter_mut().zip(lambda).for_each(|(x, l)| *x -= l);
                }
                if sparse_data {
                    // The rank-one correction of the uncentered data rows: −μ (Σ_data (p_b − λ))ᵀ.
                    let sums = &mut self.outer_sums;
                    sums.iter_mut().for_each(|x| *x = 0.0);
                    for row in hidden[..rows * nh].chunks_exact(nh) {
                        sums.iter_mut().zip(row).for_each(|(s, x)| *s += x);
                    }
                }
            }
            _ => negative_v.iter_mut().zip(chain_v).for_each(|(d, s)| *d = -scale * s),
        }
        if sparse {
            let stacked_rows = rows + chain_rows;
            let filled = self.outer_entries.fill(&self.stacked_visible[..stacked_rows * nv], stacked_rows, nv);
            debug_assert!(filled, "the caller checked the density");
        }
    }

    /// `target (V x H) += alpha · stacked_visibleᵀ stacked_hidden`, rows of the target split over threads.
    /// With a sparse update (see [`CdWorkspace::prepare_outer_products`]) and `centered`, the
    /// rank-one centering term is added in the same pass.
    pub(super) fn add_outer_products(
        &self,
        target: &mut [f32],
        rows: usize,
        chain_rows: usize,
        alpha: f32,
        centered: bool,
        threads: Threads,
    ) {
        let (nv, nh) = (self.n_visible, self.n_hidden);
        let stacked_rows = rows + chain_rows;
        let stacked_visible = &self.stacked_visible[..stacked_rows * nv];
        let stacked_hidden = &self.stacked_hidden[..stacked_rows * nh];
        let parts = threads.0.clamp(1, nv);
        let w_block = nv.div_ceil(parts);
        let correction = match (&self.visible_offset, centered) {
            (Some(mu), true) => Some((&mu[..], &self.outer_sums[..])),
            _ => None,
        };
        let sparse_rows = self.sparse_outer_rows;
        let update = |(index, w_rows): (usize, &mut [f32])| {
            let count = w_rows.len() / nh;
            let first = index * w_block;
            if sparse_rows > 0 {
                let (a, b) = (&self.outer_entries, stacked_hidden);
                sparse::add_outer_products(w_rows, (first, count), a, b, nh, alpha, correction);
            }
            if sparse_rows < stacked_rows {
                linalg::add_outer_products_columns(
                    w_rows,
                    count,
                    nh,
                    &stacked_visible[sparse_rows * nv + first..],
                    nv,
                    &stacked_hidden[sparse_rows * nh..],
                    stacked_rows - sparse_rows,
                    alpha,
                    Threads(1),
                );
            }
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
    pub(super) fn full_update(
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
        self.add_outer_products(&mut velocity.w, rows, chain_rows, lr / rows as f32, config.centering, threads);

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
