//! Training hyperparameters as one validated, serialisable struct whose defaults are the tutorial's.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How the Gibbs chain produces the visible layer from p(v|h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VisibleSampling {
    /// The tutorial's chain: v = sigmoid(hWᵀ + b_v) + noise·N(0,1). Not a true Gibbs sampler of the
    /// RBM (visibles are real-valued and noisy), kept because it is what the tutorial trains with.
    #[default]
    NoisyMeanField,
    /// Standard binary Gibbs sampling: v ~ Bernoulli(sigmoid(hWᵀ + b_v)).
    Bernoulli,
}

impl VisibleSampling {
    pub const ALL: [VisibleSampling; 2] = [VisibleSampling::NoisyMeanField, VisibleSampling::Bernoulli];

    pub fn label(self) -> &'static str {
        match self {
            VisibleSampling::NoisyMeanField => "Tutorial (mean-field + noise)",
            VisibleSampling::Bernoulli => "Bernoulli (binary Gibbs)",
        }
    }

    /// The command-line spelling.
    pub fn cli_name(self) -> &'static str {
        match self {
            VisibleSampling::NoisyMeanField => "tutorial",
            VisibleSampling::Bernoulli => "bernoulli",
        }
    }
}

/// Hyperparameters that may change between any two batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingConfig {
    /// Step size of the CD update (tutorial: 0.005).
    pub learning_rate: f32,
    /// Gibbs steps per CD update (tutorial: 10).
    pub k: usize,
    /// Standard deviation of the Gaussian noise added to the visibles in the tutorial's chain (0.1).
    pub noise_std: f32,
    /// Images per update (tutorial: 64).
    pub batch_size: usize,
    pub sampling: VisibleSampling,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self { learning_rate: 0.005, k: 10, noise_std: 0.1, batch_size: 64, sampling: VisibleSampling::NoisyMeanField }
    }
}

pub const MAX_K: usize = 1000;
pub const MAX_BATCH: usize = 60_000;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("learning rate must be a positive finite number (got {0})")]
    LearningRate(f32),
    #[error("k (Gibbs steps) must be between 1 and {MAX_K} (got {0})")]
    K(usize),
    #[error("noise must be a finite number between 0 and 10 (got {0})")]
    Noise(f32),
    #[error("batch size must be between 1 and {MAX_BATCH} (got {0})")]
    Batch(usize),
    #[error("hidden units must be between 1 and 100000 (got {0})")]
    Hidden(usize),
}

impl TrainingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ConfigError::LearningRate(self.learning_rate));
        }
        if !(1..=MAX_K).contains(&self.k) {
            return Err(ConfigError::K(self.k));
        }
        if !(self.noise_std.is_finite() && (0.0..=10.0).contains(&self.noise_std)) {
            return Err(ConfigError::Noise(self.noise_std));
        }
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            return Err(ConfigError::Batch(self.batch_size));
        }
        Ok(())
    }
}

/// What a Reset builds: the model's shape, initialisation and the seed of everything random.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSpec {
    pub n_hidden: usize,
    pub seed: u64,
    pub initialisation: super::Initialisation,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self { n_hidden: 256, seed: 0, initialisation: super::Initialisation::Xavier }
    }
}

impl ModelSpec {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=100_000).contains(&self.n_hidden) {
            return Err(ConfigError::Hidden(self.n_hidden));
        }
        Ok(())
    }
}
