//! The linear probe as a monitor: a softmax classifier on the model's p(h|v), trained on the first
//! training images and scored on the first test images (see [`crate::model::probe`]), and, once
//! per dataset, the same classifier on the raw pixels as the baseline. Runs as a [`Job`] so that
//! neither the window nor the trainer waits for it.

use std::sync::Arc;

use super::job::{Job, JobStop, JobWork};
use crate::data::{Dataset, ImageSet};
use crate::model::probe::{Accuracy, Features, Probe, ProbeConfig, ProbeError};
use crate::model::{MathPool, Rbm};

/// What the window's probe does.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSettings {
    /// The first this many training images train the probe (fewer than the set's 60,000, so that a
    /// probe takes seconds, not minutes, beside training).
    pub train_images: usize,
    /// The first this many test images score it.
    pub test_images: usize,
    pub config: ProbeConfig,
    pub threads: usize,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self { train_images: 10_000, test_images: 10_000, config: ProbeConfig::default(), threads: 1 }
    }
}

/// The raw-pixel probe of one dataset: trained once, kept for the later probes and for labelling
/// the Gibbs chains' samples.
#[derive(Clone, Debug)]
pub struct PixelBaseline {
    pub probe: Arc<Probe>,
    pub accuracy: Accuracy,
}

/// One probe of the model at a moment of training.
#[derive(Clone, Debug)]
pub struct ProbeMeasurement {
    /// Training samples the model had seen, and its position in epochs.
    pub samples_seen: u64,
    pub epoch: f64,
    pub n_hidden: usize,
    /// Test accuracy of the probe on p(h|v).
    pub accuracy: Accuracy,
    /// The raw-pixel baseline, when this job had to train it.
    pub baseline: Option<PixelBaseline>,
}

/// The first `count` images of `set` (pixels and labels).
fn first_images(set: &ImageSet, count: usize) -> (&[u8], &[u8]) {
    let count = count.min(set.count);
    (&set.pixels[..count * set.pixels_per_image], &set.labels[..count])
}

/// Trains the probe on `rbm`'s p(h|v) and, without a `baseline`, the raw-pixel probe first.
/// `progress` gets the fraction done, weighted by each probe's cost per image (features times
/// classes, plus the feature product for p(h|v)); returning false cancels.
///
/// # Errors
/// [`ProbeError`] for bad settings, a model whose visible layer does not fit the images, no
/// images, or cancellation.
pub fn measure_probe(
    rbm: &Rbm,
    dataset: &Dataset,
    settings: &ProbeSettings,
    baseline: Option<PixelBaseline>,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<(Accuracy, Option<PixelBaseline>), ProbeError> {
    let nv = dataset.pixels_per_image();
    if rbm.n_visible() != nv {
        return Err(ProbeError::ImageSize { expected: rbm.n_visible(), got: nv });
    }
    let pool = MathPool::new(settings.threads.clamp(1, crate::limits::MAX_THREADS));
    let (train_pixels, train_labels) = first_images(&dataset.train, settings.train_images);
    let (test_pixels, test_labels) = first_images(&dataset.test, settings.test_images);
    if test_labels.is_empty() {
        return Err(ProbeError::NoImages);
    }
    // Ten classes for MNIST; the cost weights only split the progress bar.
    let classes = 10.0;
    let pixel_cost = if baseline.is_some() { 0.0 } else { nv as f64 * classes };
    let hidden_cost = (nv * rbm.n_hidden()) as f64 + rbm.n_hidden() as f64 * classes;
    let pixel_share = pixel_cost / (pixel_cost + hidden_cost);
    let new_baseline = match baseline {
        Some(_) => None,
        None => {
            let probe =
                Probe::train(Features::Pixels(nv), train_pixels, train_labels, &settings.config, &pool, &mut |f| {
                    progress(f * pixel_share)
                })?;
            let accuracy = probe.accuracy(test_pixels, test_labels, &pool)?;
            Some(PixelBaseline { probe: Arc::new(probe), accuracy })
        }
    };
    let probe =
        Probe::train(Features::Hidden(rbm.clone()), train_pixels, train_labels, &settings.config, &pool, &mut |f| {
            progress(pixel_share + f * (1.0 - pixel_share))
        })?;
    let accuracy = probe.accuracy(test_pixels, test_labels, &pool)?;
    Ok((accuracy, new_baseline))
}

/// A probe on its own thread.
pub type ProbeJob = Job<ProbeMeasurement>;

impl Job<ProbeMeasurement> {
    /// Starts probing `rbm` (a copy) after `samples_seen` samples (epoch `epoch`); `baseline` is
    /// the dataset's raw-pixel probe if it has one already. `wake` is called after each event.
    pub fn start_probe(
        rbm: Rbm,
        dataset: Arc<Dataset>,
        (samples_seen, epoch): (u64, f64),
        settings: ProbeSettings,
        baseline: Option<PixelBaseline>,
        wake: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> std::io::Result<Self> {
        let work: JobWork<ProbeMeasurement> = Box::new(move |progress| {
            let (accuracy, baseline) =
                measure_probe(&rbm, &dataset, &settings, baseline, progress).map_err(|e| match e {
                    ProbeError::Cancelled => JobStop::Cancelled,
                    e => JobStop::Failed(e.to_string()),
                })?;
            Ok(ProbeMeasurement { samples_seen, epoch, n_hidden: rbm.n_hidden(), accuracy, baseline })
        });
        Job::spawn_work("probe", work, wake)
    }
}
