//! The hidden units behind a completion: the most active ones for an image and their filters.

use super::{InpaintError, check_len};
use crate::model::linalg::Threads;
use crate::model::rbm::Rbm;

/// How [`top_hidden_units`] ranks the hidden units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UnitRanking {
    /// By p(h_j = 1 | v).
    #[default]
    Probability,
    /// By p(h_j = 1 | v) · ‖W_j‖₂: how far the unit moves the visible inputs.
    Contribution,
}

/// One hidden unit and how active it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HiddenUnit {
    pub index: usize,
    /// p(h_j = 1 | v).
    pub probability: f32,
    /// p(h_j = 1 | v) · ‖W_j‖₂, with W_j the unit's filter (its column of W).
    pub contribution: f32,
}

/// The most active hidden units for an image: why the model completes it the way it does.
#[derive(Clone, Debug, PartialEq)]
pub struct TopHiddenUnits {
    /// The units, most active first (ties by index).
    pub units: Vec<HiddenUnit>,
    /// Their filters W_j, one `V`-pixel image per unit in the order of `units`.
    pub filters: Vec<f32>,
    /// Σ_j p(h_j = 1 | v) W_j over these units: what they add to the visible inputs.
    pub weighted_sum: Vec<f32>,
}

/// The `k` hidden units (at most H) with the largest p(h_j = 1 | v), or the largest contribution,
/// for one visible vector `v`.
///
/// # Errors
/// A shape error, or a non-finite value in `v`.
pub fn top_hidden_units(rbm: &Rbm, v: &[f32], k: usize, ranking: UnitRanking) -> Result<TopHiddenUnits, InpaintError> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    check_len("the image", v.len(), nv)?;
    if !v.iter().all(|x| x.is_finite()) {
        return Err(InpaintError::NotFinite("the image"));
    }
    let probabilities = rbm.hidden_probabilities(v, 1, Threads(1));
    let w = rbm.weights_slice();
    let mut squared = vec![0.0f64; nh];
    for row in w.chunks_exact(nh) {
        squared.iter_mut().zip(row).for_each(|(s, &x)| *s += x as f64 * x as f64);
    }
    let mut units: Vec<HiddenUnit> = (0..nh)
        .map(|j| HiddenUnit {
            index: j,
            probability: probabilities[j],
            contribution: (probabilities[j] as f64 * squared[j].sqrt()) as f32,
        })
        .collect();
    let key = |u: &HiddenUnit| match ranking {
        UnitRanking::Probability => u.probability,
        UnitRanking::Contribution => u.contribution,
    };
    units.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.index.cmp(&b.index)));
    units.truncate(k.min(nh));
    let mut filters = Vec::with_capacity(units.len() * nv);
    let mut weighted_sum = vec![0.0f64; nv];
    for unit in &units {
        for (i, sum) in weighted_sum.iter_mut().enumerate() {
            let weight = w[i * nh + unit.index];
            filters.push(weight);
            *sum += unit.probability as f64 * weight as f64;
        }
    }
    Ok(TopHiddenUnits { units, filters, weighted_sum: weighted_sum.into_iter().map(|x| x as f32).collect() })
}
