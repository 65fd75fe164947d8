//! The RBM's math: no UI, no channels, no files (rayon only inside a computation, on a
//! [`MathPool`]).
//! Unit-tested against exact enumeration.

pub mod ais;
pub mod cd;
pub mod config;
pub mod eval;
pub mod gaussian;
pub mod gibbs;
pub mod inpaint;
pub mod labels;
pub mod linalg;
pub mod pool;
pub mod probe;
pub mod raise;
pub mod rbm;
pub mod rng;
pub mod sampling;
pub mod sparse;
pub mod state;
pub mod tempering;

pub use cd::{CdWorkspace, StepStats, SubnormalCensus, Velocity, WorkspaceState};
pub use config::{
    ConfigError, GradientMethod, LrSchedule, ModelSpec, TemperatureSpacing, TrainingConfig, VisibleSampling,
};
pub use gaussian::{GaussianRbm, VisibleType};
pub use gibbs::GibbsChains;
pub use inpaint::{CompletionConfig, CompletionMode, CompletionSampler, CompletionStats, InpaintError, Mask};
pub use linalg::Threads;
pub use pool::{MathPool, SubnormalMode};
pub use rbm::{Initialisation, Rbm, ShapeError, sigmoid, softplus};
pub use state::{StateError, TrainingState, epoch_position};
pub use tempering::{TemperedSampler, Tempering};
