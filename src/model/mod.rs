//! The RBM's math: no UI, no threads of its own, no files. Unit-tested against exact enumeration.

pub mod cd;
pub mod config;
pub mod gibbs;
pub mod linalg;
pub mod rbm;
pub mod rng;
pub mod sampling;

pub use cd::{CdWorkspace, StepStats};
pub use config::{ConfigError, ModelSpec, TrainingConfig, VisibleSampling};
pub use gibbs::GibbsChains;
pub use linalg::Threads;
pub use rbm::{Initialisation, Rbm, ShapeError, sigmoid, softplus};
