//! The tutorial's toy RBM, exactly: three people A, B, C (visible) and two fruits, D = apple and
//! E = mango (hidden), small enough that every one of its 2^5 = 32 joint states can be scored,
//! normalised and compared with six rows of data.
//!
//! Why a separate toy at all: on MNIST nobody can see Z, the model distribution or the true
//! gradient; here every number of an RBM fits on one screen, so the explorer can show the exact
//! answer beside what CD-k and Gibbs sampling estimate. Everything is `f64`, Z goes through
//! log-sum-exp, and every random stream is seeded.
//!
//! Layout: [`rbm`] (parameters, scores, enumeration, names), [`data`] (rows, frequencies, KL and
//! other distances), [`train`] (exact gradient and CD-k), [`gibbs`] (chains and visit counts),
//! [`order`] (the scenario table's sort orders) and [`numbers`] (how numbers are written, grid
//! steps) are pure, with no egui; [`view`] is the egui tab, [`view::ToyExplorer`], one file per
//! part of it.

pub mod data;
pub mod gibbs;
pub mod numbers;
pub mod order;
pub mod rbm;
pub mod train;
pub mod view;

pub use data::{DatasetError, Discrepancy, ToyDataset, discrepancy, kl_divergence, mass_on_data};
pub use gibbs::GibbsChain;
pub use rbm::{Enumeration, MAX_HIDDEN, MAX_VISIBLE, ToyRbm};
pub use train::{ToyTrainer, TrainMethod};
pub use view::ToyExplorer;
