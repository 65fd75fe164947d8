//! The toy RBM itself: parameters, unit and scenario names, scores, and exact enumeration.
//!
//! A *joint state* (a "scenario" in the tutorial) is a `u32` bit mask over all units: bit `i` for
//! visible unit `i` (`0..n_visible`), bit `n_visible + j` for hidden unit `j`. A *visible
//! configuration* is the low `n_visible` bits alone. Masks rather than `Vec<bool>` because every
//! state of a model this small can be enumerated by counting `0..2^(n_visible + n_hidden)`.

use std::cmp::Ordering;

/// Largest number of visible units the explorer accepts: 6 x 4 gives 1024 joint states, still
/// small enough to enumerate every frame.
pub const MAX_VISIBLE: usize = 6;
/// Largest number of hidden units the explorer accepts (see [`MAX_VISIBLE`]).
pub const MAX_HIDDEN: usize = 4;

/// A restricted Boltzmann machine small enough to enumerate: every number it has is visible.
///
/// Score (the tutorial's word for negative energy) of a joint state:
/// `score(v, h) = -E(v, h) = Σ_i a_i v_i + Σ_j b_j h_j + Σ_ij v_i w_ij h_j`.
#[derive(Clone, Debug, PartialEq)]
pub struct ToyRbm {
    n_visible: usize,
    n_hidden: usize,
    /// Visible biases `a_i`.
    pub visible_bias: Vec<f64>,
    /// Hidden biases `b_j`.
    pub hidden_bias: Vec<f64>,
    /// Weights `w_ij`, row-major: `weights[i * n_hidden + j]`.
    pub weights: Vec<f64>,
}

impl ToyRbm {
    /// A model with every weight and bias zero: all states equally likely.
    ///
    /// # Panics
    /// If a size is zero or above [`MAX_VISIBLE`] / [`MAX_HIDDEN`]: the explorer enumerates every
    /// state, and a size past those limits is a programming error, not a user input.
    pub fn zeros(n_visible: usize, n_hidden: usize) -> Self {
        assert!((1..=MAX_VISIBLE).contains(&n_visible), "n_visible must be in 1..={MAX_VISIBLE}, got {n_visible}");
        assert!((1..=MAX_HIDDEN).contains(&n_hidden), "n_hidden must be in 1..={MAX_HIDDEN}, got {n_hidden}");
        Self {
            n_visible,
            n_hidden,
            visible_bias: vec![0.0; n_visible],
            hidden_bias: vec![0.0; n_hidden],
            weights: vec![0.0; n_visible * n_hidden],
        }
    }

    /// The tutorial's toy in its spirit: people A, B, C; fruits D = apple, E = mango.
    ///
    /// A-apple and C-apple positive, B-mango strongly positive, C-mango negative. The other two
    /// weights are zero, so the biases are negative ("liking something has a cost"); without that
    /// cost, A would join B's mango for free and ABDE would tie with the states the data likes.
    /// With these numbers ACD scores 1.5 and BE 1.0, the two highest of the 32 scenarios.
    pub fn tutorial() -> Self {
        let mut rbm = Self::zeros(3, 2);
        rbm.visible_bias = vec![-1.0, -2.5, -1.0];
        rbm.hidden_bias = vec![-2.5, -1.5];
        //                 apple  mango
        rbm.weights = vec![
            3.0, 0.0, // A
            0.0, 5.0, // B
            3.0, -3.0, // C
        ];
        rbm
    }

    /// Zero biases and weights drawn from N(0, 0.1²) with a seeded generator.
    ///
    /// Why not zeros: from all-zero weights every hidden unit gets the same gradient and they stay
    /// identical forever; a little seeded noise lets them specialise and keeps runs reproducible.
    pub fn small_random(n_visible: usize, n_hidden: usize, seed: u64) -> Self {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rbm = Self::zeros(n_visible, n_hidden);
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let normal = Normal::new(0.0, 0.1).expect("0.1 is a valid standard deviation");
        for w in &mut rbm.weights {
            *w = normal.sample(&mut rng);
        }
        rbm
    }

    /// Number of visible units.
    pub fn n_visible(&self) -> usize {
        self.n_visible
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }

    /// Number of units, visible then hidden.
    pub fn n_units(&self) -> usize {
        self.n_visible + self.n_hidden
    }

    /// Number of joint states, `2^(n_visible + n_hidden)`.
    pub fn n_states(&self) -> usize {
        1 << self.n_units()
    }

    /// Number of visible configurations, `2^n_visible`.
    pub fn n_visible_states(&self) -> usize {
        1 << self.n_visible
    }

    /// Weight between visible unit `i` and hidden unit `j`.
    pub fn weight(&self, i: usize, j: usize) -> f64 {
        self.weights[i * self.n_hidden + j]
    }

    /// Mutable weight between visible unit `i` and hidden unit `j`.
    pub fn weight_mut(&mut self, i: usize, j: usize) -> &mut f64 {
        &mut self.weights[i * self.n_hidden + j]
    }

    /// Set the weight between visible unit `i` and hidden unit `j`.
    pub fn set_weight(&mut self, i: usize, j: usize, value: f64) {
        *self.weight_mut(i, j) = value;
    }

    /// Visible part (low bits) of a joint state.
    pub fn visible_part(&self, state: u32) -> u32 {
        state & ((1 << self.n_visible) - 1)
    }

    /// Hidden part of a joint state, as a mask over hidden units (bit `j` = hidden unit `j`).
    pub fn hidden_part(&self, state: u32) -> u32 {
        state >> self.n_visible
    }

    /// Joint state from a visible configuration and a hidden mask.
    pub fn join(&self, visible: u32, hidden: u32) -> u32 {
        visible | (hidden << self.n_visible)
    }

    /// Score `-E(v, h)` of a joint state, straight from the formula.
    pub fn score(&self, state: u32) -> f64 {
        let v = self.visible_part(state);
        let h = self.hidden_part(state);
        let mut s = 0.0;
        for i in (0..self.n_visible).filter(|&i| v >> i & 1 == 1) {
            s += self.visible_bias[i];
        }
        for j in (0..self.n_hidden).filter(|&j| h >> j & 1 == 1) {
            s += self.hidden_bias[j];
            for i in (0..self.n_visible).filter(|&i| v >> i & 1 == 1) {
                s += self.weight(i, j);
            }
        }
        s
    }

    /// Energy `E(v, h) = -score`.
    pub fn energy(&self, state: u32) -> f64 {
        -self.score(state)
    }

    /// Input to hidden unit `j` from a visible configuration: `b_j + Σ_i v_i w_ij`.
    pub fn hidden_input(&self, visible: u32, j: usize) -> f64 {
        let mut x = self.hidden_bias[j];
        for i in (0..self.n_visible).filter(|&i| visible >> i & 1 == 1) {
            x += self.weight(i, j);
        }
        x
    }

    /// Input to visible unit `i` from a hidden mask: `a_i + Σ_j w_ij h_j`.
    pub fn visible_input(&self, hidden: u32, i: usize) -> f64 {
        let mut x = self.visible_bias[i];
        for j in (0..self.n_hidden).filter(|&j| hidden >> j & 1 == 1) {
            x += self.weight(i, j);
        }
        x
    }

    /// `p(h_j = 1 | v) = σ(b_j + Σ_i v_i w_ij)`: hidden units are independent given v.
    pub fn hidden_probability(&self, visible: u32, j: usize) -> f64 {
        sigmoid(self.hidden_input(visible, j))
    }

    /// `p(v_i = 1 | h) = σ(a_i + Σ_j w_ij h_j)`.
    pub fn visible_probability(&self, hidden: u32, i: usize) -> f64 {
        sigmoid(self.visible_input(hidden, i))
    }

    /// Free energy's negation, `-F(v) = Σ_i a_i v_i + Σ_j softplus(b_j + Σ_i v_i w_ij)`, so that
    /// `p(v) = exp(-F(v)) / Z`. Used to cross-check the enumeration's marginals.
    pub fn neg_free_energy(&self, visible: u32) -> f64 {
        let mut s = 0.0;
        for i in (0..self.n_visible).filter(|&i| visible >> i & 1 == 1) {
            s += self.visible_bias[i];
        }
        for j in 0..self.n_hidden {
            s += softplus(self.hidden_input(visible, j));
        }
        s
    }

    /// Score every joint state and normalise: the exact distribution.
    pub fn enumerate(&self) -> Enumeration {
        let scores: Vec<f64> = (0..self.n_states() as u32).map(|s| self.score(s)).collect();
        let log_z = log_sum_exp(&scores);
        let probabilities: Vec<f64> = scores.iter().map(|&s| (s - log_z).exp()).collect();
        let visible_marginals = self.marginalise_hidden(&probabilities);
        Enumeration { scores, log_z, probabilities, visible_marginals }
    }

    /// Sum a distribution over joint states onto the visible configurations,
    /// `p(v) = Σ_h p(v, h)`: the exact marginals from the enumeration, and the same for the Gibbs
    /// chain's visit frequencies so both can be laid beside the data.
    ///
    /// # Panics
    /// If `joint` has more entries than the model has joint states.
    pub fn marginalise_hidden(&self, joint: &[f64]) -> Vec<f64> {
        assert!(joint.len() <= self.n_states(), "{} values for {} joint states", joint.len(), self.n_states());
        let mut marginals = vec![0.0; self.n_visible_states()];
        for (state, p) in joint.iter().enumerate() {
            marginals[self.visible_part(state as u32) as usize] += p;
        }
        marginals
    }

    /// Unit name: letters in order, visible units first, so the tutorial's 3 x 2 toy gets exactly
    /// A B C (people) and D E (apple, mango), and every scenario name stays alphabetical.
    pub fn unit_name(&self, unit: usize) -> char {
        unit_letter(unit)
    }

    /// Scenario name as in the tutorial: the active units' letters in order, `None` if none.
    pub fn state_name(&self, state: u32) -> String {
        state_name(state, self.n_units())
    }

    /// Name of a visible configuration (e.g. `AC` for `101`), `None` if empty.
    pub fn visible_name(&self, visible: u32) -> String {
        state_name(visible, self.n_visible)
    }

    /// A visible configuration as the tutorial writes data rows: unit A first, e.g. `101`.
    pub fn visible_bits(&self, visible: u32) -> String {
        (0..self.n_visible).map(|i| if visible >> i & 1 == 1 { '1' } else { '0' }).collect()
    }

    /// All joint states in the tutorial's order: by number of active units, then by name
    /// (None, A, B, ..., ACDE, ABCDE for 3 x 2).
    pub fn states_in_tutorial_order(&self) -> Vec<u32> {
        masks_in_tutorial_order(self.n_states())
    }

    /// All visible configurations in the tutorial's order (None, A, B, C, AB, ..., ABC for 3).
    pub fn visible_states_in_tutorial_order(&self) -> Vec<u32> {
        masks_in_tutorial_order(self.n_visible_states())
    }
}

impl Default for ToyRbm {
    fn default() -> Self {
        Self::tutorial()
    }
}

/// Letter of unit `unit` (0 = A).
pub fn unit_letter(unit: usize) -> char {
    char::from(b'A' + unit as u8)
}

/// Name of a mask over the first `n_units` units: active letters in order, or `None`.
pub fn state_name(state: u32, n_units: usize) -> String {
    let name: String = (0..n_units).filter(|&k| state >> k & 1 == 1).map(unit_letter).collect();
    if name.is_empty() { "None".to_owned() } else { name }
}

/// The tutorial's listing order: fewer active units first, then alphabetical by name.
///
/// Names list active units in index order, so "alphabetical" is the lexicographic order of the
/// set bits from the lowest up; compared on the masks directly because sorting 1024 states by
/// allocated names every frame would be wasteful.
pub fn tutorial_order(x: u32, y: u32) -> Ordering {
    x.count_ones().cmp(&y.count_ones()).then_with(|| {
        let (mut a, mut b) = (x, y);
        while a != 0 && b != 0 {
            let (ia, ib) = (a.trailing_zeros(), b.trailing_zeros());
            if ia != ib {
                return ia.cmp(&ib);
            }
            a &= a - 1;
            b &= b - 1;
        }
        // Same number of set bits, so both ran out together.
        Ordering::Equal
    })
}

/// The masks `0..count` sorted by [`tutorial_order`].
fn masks_in_tutorial_order(count: usize) -> Vec<u32> {
    let mut masks: Vec<u32> = (0..count as u32).collect();
    masks.sort_by(|&x, &y| tutorial_order(x, y));
    masks
}

/// The exact distribution of a [`ToyRbm`], by scoring all `2^n` joint states.
#[derive(Clone, Debug, PartialEq)]
pub struct Enumeration {
    /// Score `-E` of each joint state, indexed by state mask.
    pub scores: Vec<f64>,
    /// `ln Z`, computed by log-sum-exp so that large scores do not overflow.
    pub log_z: f64,
    /// `p(v, h) = exp(score - ln Z)`, indexed by state mask.
    pub probabilities: Vec<f64>,
    /// `p(v) = Σ_h p(v, h)`, indexed by visible configuration.
    pub visible_marginals: Vec<f64>,
}

impl Enumeration {
    /// `Z = Σ exp(score)`; may be `inf` for huge weights, which is why `log_z` is what gets used.
    pub fn partition_function(&self) -> f64 {
        self.log_z.exp()
    }
}

/// Logistic function, written so neither branch overflows.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)` and log Σ exp(x), without overflow (shared with the model and evaluation code).
pub use crate::model::eval::log_sum_exp;
pub use crate::model::rbm::softplus;
