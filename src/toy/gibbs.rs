//! Block Gibbs sampling on the toy, counting how often each joint state is visited, so the
//! empirical frequencies can be laid beside the exact probabilities and seen to converge.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::rbm::ToyRbm;

/// Draw `h ~ p(h | v)`: each hidden unit independently on with `σ(b_j + Σ_i v_i w_ij)`.
pub fn sample_hidden(rbm: &ToyRbm, visible: u32, rng: &mut impl Rng) -> u32 {
    (0..rbm.n_hidden()).filter(|&j| rng.random::<f64>() < rbm.hidden_probability(visible, j)).map(|j| 1u32 << j).sum()
}

/// Draw `v ~ p(v | h)`: each visible unit independently on with `σ(a_i + Σ_j w_ij h_j)`.
pub fn sample_visible(rbm: &ToyRbm, hidden: u32, rng: &mut impl Rng) -> u32 {
    (0..rbm.n_visible()).filter(|&i| rng.random::<f64>() < rbm.visible_probability(hidden, i)).map(|i| 1u32 << i).sum()
}

/// One Gibbs chain over the joint states of a toy RBM, with visit counts.
///
/// A step is one sweep, `h ~ p(h|v)` then `v ~ p(v|h)`; the joint state after the sweep is
/// recorded. Each half-step leaves `p(v, h)` invariant, so the visit frequencies converge to the
/// exact probabilities.
#[derive(Clone, Debug)]
pub struct GibbsChain {
    n_states: usize,
    seed: u64,
    rng: Xoshiro256PlusPlus,
    state: u32,
    visits: Vec<u64>,
    steps: u64,
}

impl GibbsChain {
    /// A chain for `rbm`'s size, at the all-off state (None), with no visits.
    pub fn new(rbm: &ToyRbm, seed: u64) -> Self {
        Self {
            n_states: rbm.n_states(),
            seed,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            state: 0,
            visits: vec![0; rbm.n_states()],
            steps: 0,
        }
    }

    /// The seed the chain was started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current joint state.
    pub fn state(&self) -> u32 {
        self.state
    }

    /// Number of sweeps counted since the visits were last cleared.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Visit count per joint state.
    pub fn visits(&self) -> &[u64] {
        &self.visits
    }

    /// Forget the visit counts but keep the chain where it is: used when the model changes, since
    /// counts gathered under the old parameters describe a different distribution.
    pub fn clear_visits(&mut self) {
        self.visits.iter_mut().for_each(|c| *c = 0);
        self.steps = 0;
    }

    /// One sweep; returns the new joint state.
    ///
    /// # Panics
    /// If `rbm` is not the size the chain was made for.
    pub fn step(&mut self, rbm: &ToyRbm) -> u32 {
        assert_eq!(rbm.n_states(), self.n_states, "chain and model sizes differ");
        let h = sample_hidden(rbm, rbm.visible_part(self.state), &mut self.rng);
        let v = sample_visible(rbm, h, &mut self.rng);
        self.state = rbm.join(v, h);
        self.visits[self.state as usize] += 1;
        self.steps += 1;
        self.state
    }

    /// `n` sweeps.
    pub fn run(&mut self, rbm: &ToyRbm, n: u64) {
        for _ in 0..n {
            self.step(rbm);
        }
    }

    /// Visit frequency per joint state (all zero before the first step).
    pub fn frequencies(&self) -> Vec<f64> {
        let total = self.steps.max(1) as f64;
        self.visits.iter().map(|&c| c as f64 / total).collect()
    }
}
