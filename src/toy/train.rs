//! Learning on the toy: the exact log-likelihood gradient (possible because Z is a sum of a few
//! terms) and CD-k (what a real RBM has to use), one data row at a time as the tutorial walks it.
//!
//! Gradient of `ln p(v)` for one row `v` (Hinton, "A Practical Guide to Training RBMs", §2):
//! `∂/∂w_ij = v_i p(h_j=1|v) - <v_i h_j>_model`, `∂/∂a_i = v_i - <v_i>_model`,
//! `∂/∂b_j = p(h_j=1|v) - <h_j>_model`. The exact method sums the model term over all states;
//! CD-k replaces it with the statistics of a k-step Gibbs chain started at the row.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::data::ToyDataset;
use super::gibbs::{sample_hidden, sample_visible};
use super::rbm::ToyRbm;

/// How the negative (model) half of the gradient is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainMethod {
    /// The model expectation summed exactly over every state.
    Exact,
    /// Contrastive divergence: the statistics after `k` Gibbs steps from the data row.
    ContrastiveDivergence {
        /// Number of Gibbs steps (at least 1).
        k: usize,
    },
}

/// Sufficient statistics `<v_i>`, `<h_j>`, `<v_i h_j>` under some distribution; also the shape of
/// a gradient (their difference).
#[derive(Clone, Debug, PartialEq)]
pub struct Statistics {
    /// `<v_i>` (or its gradient entry).
    pub visible: Vec<f64>,
    /// `<h_j>`.
    pub hidden: Vec<f64>,
    /// `<v_i h_j>`, row-major like [`ToyRbm::weights`].
    pub pairs: Vec<f64>,
}

impl Statistics {
    fn zeros(rbm: &ToyRbm) -> Self {
        Self {
            visible: vec![0.0; rbm.n_visible()],
            hidden: vec![0.0; rbm.n_hidden()],
            pairs: vec![0.0; rbm.n_visible() * rbm.n_hidden()],
        }
    }

    /// Add `weight ×` the statistics of visible configuration `v` with the hidden units replaced
    /// by their conditional probabilities (Rao-Blackwellised: lower variance, same expectation).
    fn add_visible(&mut self, rbm: &ToyRbm, v: u32, weight: f64) {
        let nh = rbm.n_hidden();
        let hidden: Vec<f64> = (0..nh).map(|j| rbm.hidden_probability(v, j)).collect();
        for (i, vis) in self.visible.iter_mut().enumerate() {
            if v >> i & 1 == 1 {
                *vis += weight;
                for (pair, h) in self.pairs[i * nh..(i + 1) * nh].iter_mut().zip(&hidden) {
                    *pair += weight * h;
                }
            }
        }
        for (acc, h) in self.hidden.iter_mut().zip(&hidden) {
            *acc += weight * h;
        }
    }

    fn minus(mut self, other: &Self) -> Self {
        for (a, b) in self.visible.iter_mut().zip(&other.visible) {
            *a -= b;
        }
        for (a, b) in self.hidden.iter_mut().zip(&other.hidden) {
            *a -= b;
        }
        for (a, b) in self.pairs.iter_mut().zip(&other.pairs) {
            *a -= b;
        }
        self
    }
}

/// Positive phase: statistics of the data rows, hidden units at `p(h|v)`.
pub fn data_statistics(rbm: &ToyRbm, rows: &[u32]) -> Statistics {
    let mut stats = Statistics::zeros(rbm);
    let weight = 1.0 / rows.len().max(1) as f64;
    for &v in rows {
        stats.add_visible(rbm, v, weight);
    }
    stats
}

/// Negative phase, exactly: `Σ_v p(v) × statistics(v)` over all visible configurations.
pub fn model_statistics(rbm: &ToyRbm) -> Statistics {
    let marginals = rbm.enumerate().visible_marginals;
    let mut stats = Statistics::zeros(rbm);
    for (v, p) in marginals.iter().enumerate() {
        stats.add_visible(rbm, v as u32, *p);
    }
    stats
}

/// Exact gradient of the mean log-likelihood of `rows` (ascent direction).
pub fn exact_gradient(rbm: &ToyRbm, rows: &[u32]) -> Statistics {
    data_statistics(rbm, rows).minus(&model_statistics(rbm))
}

/// CD-k estimate of the gradient for one row, using `rng` for the chain.
pub fn cd_gradient(rbm: &ToyRbm, row: u32, k: usize, rng: &mut impl Rng) -> Statistics {
    let mut h = sample_hidden(rbm, row, rng);
    let mut v = row;
    for step in 0..k.max(1) {
        v = sample_visible(rbm, h, rng);
        if step + 1 < k.max(1) {
            h = sample_hidden(rbm, v, rng);
        }
    }
    data_statistics(rbm, &[row]).minus(&data_statistics(rbm, &[v]))
}

/// `θ += learning_rate × gradient`.
pub fn apply_gradient(rbm: &mut ToyRbm, gradient: &Statistics, learning_rate: f64) {
    for (p, g) in rbm.visible_bias.iter_mut().zip(&gradient.visible) {
        *p += learning_rate * g;
    }
    for (p, g) in rbm.hidden_bias.iter_mut().zip(&gradient.hidden) {
        *p += learning_rate * g;
    }
    for (p, g) in rbm.weights.iter_mut().zip(&gradient.pairs) {
        *p += learning_rate * g;
    }
}

/// Walks the data rows in order, one gradient step per row, remembering where it is and owning
/// the (seeded) random stream CD needs, so a run is reproducible from its seed.
#[derive(Clone, Debug)]
pub struct ToyTrainer {
    /// Exact or CD-k.
    pub method: TrainMethod,
    /// Step size for every parameter.
    pub learning_rate: f64,
    seed: u64,
    rng: Xoshiro256PlusPlus,
    next_row: usize,
    steps: u64,
}

impl ToyTrainer {
    /// A trainer at row 0 with its random stream seeded by `seed`.
    pub fn new(method: TrainMethod, learning_rate: f64, seed: u64) -> Self {
        Self { method, learning_rate, seed, rng: Xoshiro256PlusPlus::seed_from_u64(seed), next_row: 0, steps: 0 }
    }

    /// Back to row 0, zero steps, random stream restarted from `seed`.
    pub fn restart(&mut self, seed: u64) {
        *self = Self::new(self.method, self.learning_rate, seed);
    }

    /// The seed the random stream was last started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Index of the row the next [`ToyTrainer::step`] will use.
    pub fn next_row(&self) -> usize {
        self.next_row
    }

    /// Single-row steps taken since the last restart.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Epochs trained since the last restart: single-row steps over the rows of `data`, so 3 steps
    /// on the tutorial's six rows are half an epoch.
    pub fn epochs(&self, data: &ToyDataset) -> f64 {
        self.steps as f64 / data.len().max(1) as f64
    }

    /// One gradient step on the next row (wrapping around); returns the row index used.
    pub fn step(&mut self, rbm: &mut ToyRbm, data: &ToyDataset) -> usize {
        if data.is_empty() {
            return 0;
        }
        let index = self.next_row % data.len();
        let row = data.rows()[index];
        let gradient = match self.method {
            TrainMethod::Exact => exact_gradient(rbm, &[row]),
            TrainMethod::ContrastiveDivergence { k } => cd_gradient(rbm, row, k, &mut self.rng),
        };
        apply_gradient(rbm, &gradient, self.learning_rate);
        self.next_row = (index + 1) % data.len();
        self.steps += 1;
        index
    }

    /// One step per row, `data.len()` steps starting wherever the walk is.
    pub fn epoch(&mut self, rbm: &mut ToyRbm, data: &ToyDataset) {
        for _ in 0..data.len() {
            self.step(rbm, data);
        }
    }
}

impl Default for ToyTrainer {
    fn default() -> Self {
        Self::new(TrainMethod::Exact, 0.1, 1)
    }
}
