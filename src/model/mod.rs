//! The RBM's math: no UI, no channels, no files (rayon only inside a computation).
//! Unit-tested against exact enumeration.

pub mod ais;
pub mod cd;
pub mod config;
pub mod eval;
pub mod gibbs;
pub mod linalg;
pub mod rbm;
pub mod rng;
pub mod sampling;

pub use cd::{CdWorkspace, StepStats};
pub use config::{ConfigError, GradientMethod, LrSchedule, ModelSpec, TrainingConfig, VisibleSampling};
pub use gibbs::GibbsChains;
pub use linalg::Threads;
pub use rbm::{Initialisation, Rbm, ShapeError, sigmoid, softplus};
