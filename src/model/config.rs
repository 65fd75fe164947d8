//! Training hyperparameters as one validated, serialisable struct whose defaults are the tutorial's.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::cd::CdWorkspace;
pub use super::tempering::TemperatureSpacing;

/// How the Gibbs chain produces the visible layer from p(v|h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VisibleSampling {
    /// The tutorial's chain: v = sigmoid(hWᵀ + b_v) + noise·N(0,1). Not a true Gibbs sampler of the
    /// RBM (visibles are real-valued and noisy), kept because it is what the tutorial trains with.
    #[default]
    NoisyMeanField,
    /// Standard binary Gibbs sampling: v ~ Bernoulli(sigmoid(hWᵀ + b_v)).
    Bernoulli,
    /// The probabilities themselves, v = sigmoid(hWᵀ + b_v): Hinton's practical choice for the
    /// visible reconstructions during learning (less sampling noise in the statistics).
    Probabilities,
}

impl VisibleSampling {
    /// Every value, in the order the window and the command line list them.
    pub const ALL: [VisibleSampling; 3] =
        [VisibleSampling::NoisyMeanField, VisibleSampling::Bernoulli, VisibleSampling::Probabilities];
}

/// Where the negative phase's chains start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum GradientMethod {
    /// Contrastive divergence: k Gibbs steps from each data vector (the tutorial).
    #[default]
    Cd,
    /// Persistent CD (Tieleman 2008): fantasy particles that carry on from one update to the next.
    Pcd,
    /// Parallel tempering (Desjardins et al. 2010, Cho et al. 2010): each particle is a ladder of
    /// persistent chains at `temperatures` inverse temperatures from 1 down to `min_beta`, which
    /// swap states between neighbours; the β = 1 chains give the negative statistics (see
    /// [`super::tempering`]).
    Pt,
}

impl GradientMethod {
    /// Every value, in the order the window and the command line list them.
    pub const ALL: [GradientMethod; 3] = [GradientMethod::Cd, GradientMethod::Pcd, GradientMethod::Pt];
}

/// How the learning rate changes over the planned epochs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LrSchedule {
    #[default]
    Constant,
    /// From lr down to lr·final_lr_fraction, linearly over `planned_epochs`.
    Linear,
    /// From lr down to lr·final_lr_fraction, geometrically over `planned_epochs`.
    Exponential,
}

impl LrSchedule {
    /// Every value, in the order the window and the command line list them.
    pub const ALL: [LrSchedule; 3] = [LrSchedule::Constant, LrSchedule::Linear, LrSchedule::Exponential];
}

/// Hyperparameters that may change between any two batches. Every method beyond the tutorial's is
/// off by default, so the defaults are exactly the tutorial's algorithm.
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
    pub method: GradientMethod,
    /// Fantasy particles for PCD; 0 means "as many as the batch size".
    pub pcd_particles: usize,
    /// Momentum after the warm-up (Hinton's guide: 0.9); 0 disables momentum.
    pub momentum: f32,
    /// Momentum during the first `momentum_warmup_epochs` (Hinton's guide: 0.5).
    pub initial_momentum: f32,
    pub momentum_warmup_epochs: f32,
    /// L2 weight decay on W (not on biases), as a coefficient on the gradient (e.g. 1e-4).
    pub weight_decay: f32,
    /// Desired mean activation of each hidden unit (e.g. 0.05); used when `sparsity_cost` > 0.
    pub sparsity_target: f32,
    pub sparsity_cost: f32,
    /// Centering (Melchior, Fischer & Wiskott 2016): gradients of the model with visible and
    /// hidden offsets, which are moving averages of the data means.
    pub centering: bool,
    /// Moving-average rate ν of the centering offsets (paper: 0.01).
    pub centering_rate: f32,
    pub lr_schedule: LrSchedule,
    /// Length of the learning-rate schedule in epochs.
    pub planned_epochs: f32,
    /// Learning rate at the end of the schedule, as a fraction of `learning_rate`.
    pub final_lr_fraction: f32,
    /// Train on binary images: each pixel drawn as 1 with probability intensity/255, afresh for
    /// every batch (the standard protocol behind published MNIST log-likelihoods).
    pub binarize_data: bool,
    /// Parallel tempering: chains per particle, one per inverse temperature (1 = PCD).
    pub temperatures: usize,
    /// Parallel tempering: the lowest inverse temperature of the ladder.
    pub min_beta: f32,
    /// Parallel tempering: how the inverse temperatures are spaced between 1 and `min_beta`.
    pub temperature_spacing: TemperatureSpacing,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            learning_rate: 0.005,
            k: 10,
            noise_std: 0.1,
            batch_size: 64,
            sampling: VisibleSampling::NoisyMeanField,
            method: GradientMethod::Cd,
            pcd_particles: 0,
            momentum: 0.0,
            initial_momentum: 0.5,
            momentum_warmup_epochs: 5.0,
            weight_decay: 0.0,
            sparsity_target: 0.05,
            sparsity_cost: 0.0,
            centering: false,
            centering_rate: 0.01,
            lr_schedule: LrSchedule::Constant,
            planned_epochs: 100.0,
            final_lr_fraction: 0.01,
            binarize_data: false,
            temperatures: DEFAULT_TEMPERATURES,
            min_beta: DEFAULT_MIN_BETA,
            temperature_spacing: TemperatureSpacing::Geometric,
        }
    }
}

impl TrainingConfig {
    /// Centered PCD-1 on binary data, lr 0.01 without momentum: the recipe behind the best
    /// log-likelihood in docs/quality.md (with Hinton's initialisation and a linear decay of the
    /// learning rate).
    pub fn quality_recipe() -> Self {
        Self {
            learning_rate: 0.01,
            k: 1,
            batch_size: 100,
            sampling: VisibleSampling::Bernoulli,
            method: GradientMethod::Pcd,
            centering: true,
            binarize_data: true,
            lr_schedule: LrSchedule::Linear,
            planned_epochs: 650.0,
            final_lr_fraction: 0.02,
            ..Self::default()
        }
    }

    /// The learning rate in force at `epoch` (fractional epochs since the start).
    pub fn learning_rate_at(&self, epoch: f64) -> f32 {
        let t = (epoch / self.planned_epochs.max(1e-6) as f64).clamp(0.0, 1.0) as f32;
        let end = self.final_lr_fraction.clamp(0.0, 1.0);
        let factor = match self.lr_schedule {
            LrSchedule::Constant => 1.0,
            LrSchedule::Linear => 1.0 + (end - 1.0) * t,
            LrSchedule::Exponential => end.max(1e-12).powf(t),
        };
        self.learning_rate * factor
    }

    /// The momentum in force at `epoch`.
    pub fn momentum_at(&self, epoch: f64) -> f32 {
        if self.momentum <= 0.0 {
            0.0
        } else if epoch < self.momentum_warmup_epochs as f64 {
            self.initial_momentum
        } else {
            self.momentum
        }
    }

    /// Whether the update needs more than the tutorial's plain step.
    pub fn needs_full_update(&self) -> bool {
        self.momentum > 0.0 || self.weight_decay > 0.0 || self.sparsity_cost > 0.0 || self.centering
    }

    pub fn particles(&self) -> usize {
        if self.pcd_particles == 0 { self.batch_size } else { self.pcd_particles }
    }

    /// The inverse temperatures of parallel tempering's ladder, 1 first.
    pub fn temperature_ladder(&self) -> Vec<f64> {
        super::tempering::temperature_ladder(self.temperatures, self.min_beta as f64, self.temperature_spacing)
    }
}

/// Parallel tempering's default ladder: 10 chains per particle, geometric from β = 1 to 0.5 (with
/// the base-rate model at the hot end, see [`super::tempering`]). Desjardins et al. 2010 and Cho et
/// al. 2010 use about ten temperatures; ten keeps a PT-1 update at about ten PCD-1 updates of Gibbs
/// work. Cho et al. spread plain tempering down to β = 0, but on a trained 784-pixel model the
/// energy changes so fast near β = 1 that neighbours ten steps apart over [0, 1] rarely swap; a
/// geometric ladder down to 0.5 puts the steps where AIS's schedule puts most of its
/// temperatures too (it spends 14,000 of its 14,501 steps above β = 0.5). Both are flags.
pub const DEFAULT_TEMPERATURES: usize = 10;
pub const DEFAULT_MIN_BETA: f32 = 0.5;

use crate::limits::LimitError;
pub use crate::limits::{MAX_BATCH, MAX_HIDDEN_UNITS, MAX_K, MAX_LEARNING_RATE, MAX_TEMPERATURES};

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    #[error("learning rate must be a positive finite number of at most {MAX_LEARNING_RATE} (got {0})")]
    LearningRate(f32),
    #[error("k (Gibbs steps) must be between 1 and {MAX_K} (got {0})")]
    K(usize),
    #[error("noise must be a finite number between 0 and 10 (got {0})")]
    Noise(f32),
    #[error("batch size must be between 1 and {MAX_BATCH} (got {0})")]
    Batch(usize),
    #[error("hidden units must be between 1 and {MAX_HIDDEN_UNITS} (got {0})")]
    Hidden(usize),
    #[error("{0}")]
    Labels(String),
    /// Settings or a spec the Gaussian–Bernoulli model cannot be trained with.
    #[error("{0}")]
    Gaussian(String),
    #[error("{name} must be a finite number in {range} (got {value})")]
    OutOfRange { name: &'static str, range: &'static str, value: f32 },
    #[error("PCD particles must be between 0 (= batch size) and {MAX_BATCH} (got {0})")]
    Particles(usize),
    #[error("parallel tempering's temperatures must be between 1 and {MAX_TEMPERATURES} (got {0})")]
    Temperatures(usize),
    #[error(
        "parallel tempering's lowest inverse temperature must be in (0, 1] for a geometric ladder and in [0, 1] \
         for a linear one (got {0})"
    )]
    MinBeta(f32),
    #[error(
        "parallel tempering with {particles} particles x {temperatures} temperatures needs {} chains; rbm-lab's \
         limit is {MAX_BATCH}: use fewer particles or temperatures", .particles * .temperatures
    )]
    TemperedChains { particles: usize, temperatures: usize },
    /// The model or its training buffers would be larger than rbm-lab's limits.
    #[error(transparent)]
    Limit(#[from] LimitError),
}

impl TrainingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate <= MAX_LEARNING_RATE) {
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
        if self.pcd_particles > MAX_BATCH {
            return Err(ConfigError::Particles(self.pcd_particles));
        }
        let ranges: [(&'static str, &'static str, f32, f32, f32); 9] = [
            ("momentum", "[0, 1)", self.momentum, 0.0, 0.999),
            ("initial momentum", "[0, 1)", self.initial_momentum, 0.0, 0.999),
            ("momentum warm-up epochs", "[0, 1e6]", self.momentum_warmup_epochs, 0.0, 1e6),
            ("weight decay", "[0, 1]", self.weight_decay, 0.0, 1.0),
            ("sparsity target", "(0, 1)", self.sparsity_target, 1e-6, 0.999_999),
            ("sparsity cost", "[0, 100]", self.sparsity_cost, 0.0, 100.0),
            ("centering rate", "(0, 1]", self.centering_rate, 1e-9, 1.0),
            ("planned epochs", "(0, 1e6]", self.planned_epochs, 1e-3, 1e6),
            ("final learning-rate fraction", "[0, 1]", self.final_lr_fraction, 0.0, 1.0),
        ];
        for (name, range, value, lo, hi) in ranges {
            if !(value.is_finite() && value >= lo && value <= hi) {
                return Err(ConfigError::OutOfRange { name, range, value });
            }
        }
        if !(1..=MAX_TEMPERATURES).contains(&self.temperatures) {
            return Err(ConfigError::Temperatures(self.temperatures));
        }
        let lowest = match self.temperature_spacing {
            TemperatureSpacing::Geometric => f32::MIN_POSITIVE,
            TemperatureSpacing::Linear => 0.0,
        };
        if !(self.min_beta.is_finite() && self.min_beta >= lowest && self.min_beta <= 1.0) {
            return Err(ConfigError::MinBeta(self.min_beta));
        }
        if self.method == GradientMethod::Pt && self.particles().saturating_mul(self.temperatures) > MAX_BATCH {
            return Err(ConfigError::TemperedChains { particles: self.particles(), temperatures: self.temperatures });
        }
        Ok(())
    }

    /// Negative chains a step keeps: the PCD particles, PT's particles times temperatures, or one
    /// per batch row for CD.
    pub fn chains(&self) -> usize {
        match self.method {
            GradientMethod::Pcd => self.particles().max(1),
            GradientMethod::Pt => self.particles().max(1).saturating_mul(self.temperatures.max(1)),
            GradientMethod::Cd => self.batch_size,
        }
    }

    /// [`TrainingConfig::validate`], and that training a `n_visible` x `n_hidden` model with these
    /// settings stays within rbm-lab's limits: the model's size and the training buffers' bytes
    /// ([`CdWorkspace::training_bytes`] against [`crate::limits::MAX_TRAINING_BYTES`]). Checked
    /// before the buffers are made (a new model, a loaded one, a batch-size or method change).
    pub fn validate_for(&self, n_visible: usize, n_hidden: usize) -> Result<(), ConfigError> {
        self.validate()?;
        crate::limits::check_model_shape(n_visible, n_hidden)?;
        let (batch, chains) = (self.batch_size, self.chains());
        let bytes = CdWorkspace::training_bytes(n_visible, n_hidden, batch, chains);
        if bytes > crate::limits::MAX_TRAINING_BYTES {
            return Err(LimitError::TrainingBytes { visible: n_visible, hidden: n_hidden, batch, chains, bytes }.into());
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
    /// Classes of the softmax label group (see [`super::labels`]); 0, the default, is a plain RBM
    /// of the images. Left out of the JSON when 0, so files of plain models are as before.
    #[serde(skip_serializing_if = "is_zero")]
    pub label_classes: usize,
    /// Binary or Gaussian visible units (older files, without it, are binary).
    pub visible: super::VisibleType,
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            n_hidden: 256,
            seed: 0,
            initialisation: super::Initialisation::Xavier,
            label_classes: 0,
            visible: super::VisibleType::Binary,
        }
    }
}

impl ModelSpec {
    /// Checks what does not depend on the data: the hidden layer's size.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_HIDDEN_UNITS).contains(&self.n_hidden) {
            return Err(ConfigError::Hidden(self.n_hidden));
        }
        if self.label_classes > 0 {
            super::labels::check_classes(self.label_classes).map_err(|e| ConfigError::Labels(e.to_string()))?;
        }
        Ok(())
    }

    /// [`ModelSpec::validate`], and that a model of this spec on images of `n_visible` pixels stays
    /// within [`crate::limits::MAX_IMAGE_PIXELS`] and [`crate::limits::MAX_PARAMETERS`]: checked
    /// before a model is made (Reset, `train`, a dataset switch).
    pub fn validate_for(&self, n_visible: usize) -> Result<(), ConfigError> {
        self.validate()?;
        Ok(crate::limits::check_model_shape(n_visible, self.n_hidden)?)
    }

    /// Everything a new model of this spec on images of `n_visible` pixels, trained with `config`,
    /// must satisfy: [`ModelSpec::validate_for`] and [`TrainingConfig::validate_for`] for its shape.
    pub fn validate_with(&self, config: &TrainingConfig, n_visible: usize) -> Result<(), ConfigError> {
        self.validate_for(n_visible)?;
        config.validate_for(n_visible, self.n_hidden)?;
        if self.label_classes > 0 {
            super::labels::train::check_config(config).map_err(ConfigError::Labels)?;
        }
        if self.visible == super::VisibleType::Gaussian {
            if self.label_classes > 0 {
                return Err(ConfigError::Gaussian(
                    "label units beside Gaussian visibles are not a model rbm-lab has: turn label units off".into(),
                ));
            }
            super::gaussian::check_config(config).map_err(|e| ConfigError::Gaussian(e.to_string()))?;
        }
        Ok(())
    }
}
