//! How good the model is, in nats: the cheap monitors the trainer computes as it goes (`monitors`:
//! plain values and functions, no threads), the full evaluation (`evaluation`: AIS estimate of
//! log Z, then the average log-likelihood of the binarised test images and of a training subset of
//! the same size; `gaussian`: the same for a Gaussian–Bernoulli model, as log densities of the
//! real-valued images), and the job that runs an evaluation on its own thread (`job`: cancellation,
//! progress and result events), and the linear probe as a monitor (`probe_monitor`: a classifier on
//! p(h|v) against one on the raw pixels, on a job of its own).
//!
//! The protocol is the standard one for MNIST RBMs (Salakhutdinov & Murray 2008): test images
//! binarised once by sampling each pixel from its intensity with a fixed seed; AIS from a base-rate
//! model fitted to the training pixel marginals; 100 runs, ~14,500 inverse temperatures.

mod evaluation;
mod gaussian;
mod job;
mod monitors;
mod probe_monitor;

pub use evaluation::{DEFAULT_RAISE_RUNS, EXACT_LIMIT, Evaluation, EvaluationSettings, evaluate};
pub use gaussian::{GaussianDensity, evaluate_gaussian, standardised_images};
pub use job::{EvaluationEvent, EvaluationJob, EvaluationWork, Job, JobEvent, JobStop, JobWork, ThreadEnded};
pub use monitors::{Histogram, MONITOR_VALUES, MonitorData, MonitorPoint, update_ratio};
pub use probe_monitor::{PixelBaseline, ProbeJob, ProbeMeasurement, ProbeSettings, measure_probe};

use crate::data::ImageSet;
use crate::model::eval::binarise;

/// The seed of the test-set binarisation: fixed, so that every evaluation sees the same images.
pub const BINARISATION_SEED: u64 = 0x5EED_0B17;

/// The first `count` images of a set, binarised with `seed`.
pub fn binarised_subset(set: &ImageSet, count: usize, seed: u64) -> (Vec<f32>, usize) {
    let count = count.min(set.count);
    (binarise(&set.pixels[..count * set.pixels_per_image], seed), count)
}
