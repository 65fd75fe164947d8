//! What a CD step reports: its loss and schedules ([`StepStats`]) and, as a diagnostic, how many
//! subnormal values its operands held ([`SubnormalCensus`]).

/// What one update reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// The tutorial's loss for CD: mean |v_k − v0| between the chain's last visible state and the
    /// data. For PCD (whose chains are not tied to the data) the mean-field reconstruction
    /// mean |σ(p(h|v0) Wᵀ + b_v) − v0|.
    pub reconstruction_l1: f32,
    pub rows: usize,
    /// The learning rate and momentum the schedules gave for this step.
    pub learning_rate: f32,
    pub momentum: f32,
}

/// How many subnormal values (see [`crate::model::pool`]) the operands of the last step held, by buffer:
/// each one costs an Intel core a microcode assist in every product it enters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubnormalCensus {
    /// The hidden sigmoid outputs p(h|v0) and p(h|v_k).
    pub hidden_probabilities: usize,
    /// The chains' last visible and hidden states (PCD's particles): sigmoid outputs for
    /// mean-field visibles.
    pub chains: usize,
    /// The weight update's left operand: [v0 − μ; −s(v_k − μ)] (no μ without centering).
    pub update_visible: usize,
    /// The weight update's right operand: [p(h|v0) − λ; p(h|v_k) − λ] (no λ without centering).
    pub update_hidden: usize,
    /// The centering offsets μ and λ.
    pub offsets: usize,
    /// The momentum buffers.
    pub velocity: usize,
    /// W, b_v and b_h.
    pub parameters: usize,
}

impl SubnormalCensus {
    pub fn total(&self) -> usize {
        self.hidden_probabilities
            + self.chains
            + self.update_visible
            + self.update_hidden
            + self.offsets
            + self.velocity
            + self.parameters
    }
}

impl std::fmt::Display for SubnormalCensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (hidden probabilities {}, chains {}, update visible {}, update hidden {}, offsets {}, velocity {}, \
             parameters {})",
            self.total(),
            self.hidden_probabilities,
            self.chains,
            self.update_visible,
            self.update_hidden,
            self.offsets,
            self.velocity,
            self.parameters
        )
    }
}
