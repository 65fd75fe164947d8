//! The full evaluation: log Z (exact for small models, AIS otherwise), then the average
//! log-likelihood of the binarised test images and of a training subset of the same size.

use std::time::Instant;

use super::BINARISATION_SEED;
use super::gaussian::GaussianDensity;
use crate::data::{Dataset, ImageSet};
use crate::limits::MAX_THREADS;
use crate::model::ais::{AisConfig, BetaSchedule, ais_log_z, base_rate_visible_bias};
use crate::model::eval::{EvalError, average_log_likelihood_of_images, exact_log_z};
use crate::model::raise::{RaiseConfig, RaiseEstimate, raise_log_likelihood};
use crate::model::{Rbm, Threads};

/// Exact log Z is used instead of AIS when the smaller layer has at most this many units.
pub const EXACT_LIMIT: usize = 20;

/// What the full evaluation does.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationSettings {
    /// AIS runs (paper: 100).
    pub runs: usize,
    /// Number of inverse temperatures; `None` is the paper's schedule (~14,500).
    pub betas: Option<usize>,
    /// Test images evaluated, and the size of the training subset (standard: all 10,000).
    pub images: usize,
    pub seed: u64,
    pub threads: usize,
    /// RAISE's lower bound on this many of the test images (0: none), with `raise_runs` reverse
    /// runs each, on the same schedule as AIS (see [`crate::model::raise`]).
    pub raise_images: usize,
    pub raise_runs: usize,
}

impl EvaluationSettings {
    /// What can be checked before the model is known: at least 2 runs, 2 betas and 1 image, a
    /// sane thread count, and runs and betas within [`crate::limits::MAX_AIS_RUNS`] and
    /// [`crate::limits::MAX_AIS_BETAS`].
    pub fn validate(&self) -> Result<(), EvalError> {
        self.validate_ais(0, 0)
    }

    /// [`EvaluationSettings::validate`], and, when log Z of a `n_visible` x `n_hidden` model is
    /// estimated by AIS, its state within [`crate::limits::MAX_AIS_STATE_VALUES`].
    pub fn validate_for(&self, n_visible: usize, n_hidden: usize) -> Result<(), EvalError> {
        if n_visible.min(n_hidden) <= EXACT_LIMIT { self.validate() } else { self.validate_ais(n_visible, n_hidden) }
    }

    fn validate_ais(&self, n_visible: usize, n_hidden: usize) -> Result<(), EvalError> {
        if self.runs < 2 {
            return Err(EvalError::TooFewRuns(self.runs));
        }
        if self.betas.is_some_and(|betas| betas < 2) {
            return Err(EvalError::Schedule("a schedule needs at least two betas (0 and 1)"));
        }
        if self.images == 0 {
            return Err(EvalError::NoImages);
        }
        if !(1..=MAX_THREADS).contains(&self.threads) {
            return Err(EvalError::Threads { threads: self.threads });
        }
        let betas = self.betas.unwrap_or(BetaSchedule::SALAKHUTDINOV_MURRAY_LEN);
        crate::limits::check_ais(self.runs, betas, n_visible, n_hidden)?;
        if self.raise_images > 0 {
            if self.raise_runs == 0 {
                return Err(EvalError::NoRuns);
            }
            crate::limits::check_ais(self.raise_images.saturating_mul(self.raise_runs), betas, n_visible, n_hidden)?;
        }
        Ok(())
    }
}

impl EvaluationSettings {
    /// The AIS schedule asked for: `betas` uniform ones, or the paper's.
    pub fn schedule(&self) -> Result<BetaSchedule, EvalError> {
        Ok(match self.betas {
            Some(n) => BetaSchedule::uniform(n)?,
            None => BetaSchedule::salakhutdinov_murray(),
        })
    }
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        Self {
            runs: AisConfig::PAPER_RUNS,
            betas: None,
            images: 10_000,
            seed: 1,
            threads: 1,
            raise_images: 0,
            raise_runs: DEFAULT_RAISE_RUNS,
        }
    }
}

/// The model's quality in nats.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub epoch: f64,
    pub n_hidden: usize,
    pub log_z: f64,
    /// The ±3σ interval of the AIS estimate (equal to `log_z` when exact).
    pub log_z_low: f64,
    pub log_z_high: f64,
    /// True when log Z was computed exactly by enumeration.
    pub exact: bool,
    /// Average log-likelihood of the binarised test images, in nats.
    pub test_log_likelihood: f64,
    /// The same for a training subset of the same size (the gap shows overfitting).
    pub train_log_likelihood: f64,
    pub images: usize,
    pub runs: usize,
    pub betas: usize,
    pub seconds: f64,
    /// RAISE's lower bound on some test images, when asked for.
    pub raise: Option<RaiseEstimate>,
    /// Present for a Gaussian–Bernoulli model: `test_log_likelihood` and `train_log_likelihood`
    /// are then log densities of the [0, 1] intensities, not comparable with a binary model's
    /// log-likelihoods of binarised images; here are the same on the standardised data.
    pub gaussian: Option<GaussianDensity>,
}

/// Reverse runs per image of RAISE unless asked otherwise (Burda et al. use 10 or more).
pub const DEFAULT_RAISE_RUNS: usize = 10;

impl Evaluation {
    /// The test log-likelihood's interval implied by log Z's ±3σ (a larger log Z lowers it).
    pub fn test_interval(&self) -> (f64, f64) {
        (
            self.test_log_likelihood - (self.log_z_high - self.log_z),
            self.test_log_likelihood + (self.log_z - self.log_z_low),
        )
    }

    /// The figures are log densities of a Gaussian model's real-valued images.
    pub fn is_density(&self) -> bool {
        self.gaussian.is_some()
    }
}

/// Runs the full evaluation, reporting progress in [0, 1]; `progress` returning false cancels.
///
/// The settings (against the limits, for this model), the dataset's image size and that both sets
/// have images are checked first, before any work. More images than a set holds means all of it;
/// the images are binarised a chunk at a time, so their number does not change the memory used.
pub fn evaluate(
    rbm: &Rbm,
    dataset: &Dataset,
    epoch: f64,
    settings: &EvaluationSettings,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Evaluation, EvalError> {
    let started = Instant::now();
    // This thread (the evaluation's, or the command line's) does model math outside the pools too.
    crate::model::SubnormalMode::configured().apply_here();
    let (n_visible, n_hidden) = (rbm.n_visible(), rbm.n_hidden());
    settings.validate_for(n_visible, n_hidden)?;
    let (test_rows, train_rows) = rows_to_evaluate(dataset, n_visible, settings.images)?;
    let threads = Threads(settings.threads);
    let smaller = n_visible.min(n_hidden);
    let schedule = settings.schedule()?;
    let base = base_rate_visible_bias(&dataset.train_pixel_means());
    // Progress shares by work: AIS's runs, then RAISE's.
    let raise_rows = settings.raise_images.min(test_rows);
    let raise_chains = (raise_rows * settings.raise_runs) as f64;
    let ais_chains = if smaller <= EXACT_LIMIT { 0.0 } else { settings.runs as f64 };
    let ais_share = ais_chains / (ais_chains + raise_chains).max(1.0);
    let (log_z, low, high, exact, runs, betas) = if smaller <= EXACT_LIMIT {
        let log_z = exact_log_z(rbm, threads)?;
        (log_z, log_z, log_z, true, 0, 0)
    } else {
        let betas = schedule.len();
        let config = AisConfig { runs: settings.runs, schedule: schedule.clone(), seed: settings.seed, threads };
        let result = ais_log_z(rbm, &base, &config, &mut |fraction| progress(fraction * ais_share))?;
        (result.log_z, result.log_z_low, result.log_z_high, false, result.runs, betas)
    };
    let raise = if raise_rows > 0 {
        let images = crate::model::eval::binarise(&dataset.test.pixels[..raise_rows * n_visible], BINARISATION_SEED);
        let config = RaiseConfig { runs: settings.raise_runs, schedule, seed: settings.seed ^ RAISE_SEED, threads };
        let result = raise_log_likelihood(rbm, &base, &images, raise_rows, &config, &mut |fraction| {
            progress(ais_share + fraction * (1.0 - ais_share))
        })?;
        Some(RaiseEstimate {
            images: raise_rows,
            runs: settings.raise_runs,
            bound: result.mean,
            low: result.low,
            high: result.high,
            log_z_estimate: images_log_likelihood(rbm, &dataset.test, raise_rows, BINARISATION_SEED, log_z, threads),
        })
    } else {
        None
    };
    Ok(Evaluation {
        epoch,
        n_hidden: rbm.n_hidden(),
        log_z,
        log_z_low: low,
        log_z_high: high,
        exact,
        test_log_likelihood: images_log_likelihood(rbm, &dataset.test, test_rows, BINARISATION_SEED, log_z, threads),
        train_log_likelihood: images_log_likelihood(
            rbm,
            &dataset.train,
            train_rows,
            BINARISATION_SEED ^ 1,
            log_z,
            threads,
        ),
        images: test_rows,
        runs,
        betas,
        seconds: started.elapsed().as_secs_f64(),
        raise,
        gaussian: None,
    })
}

/// The test images and the training subset an evaluation of a model with `n_visible` visible units
/// averages over: `images` of each, or all a set holds if fewer.
///
/// # Errors
/// [`EvalError::Shape`] when the dataset's images do not have `n_visible` pixels,
/// [`EvalError::EmptySet`] when a set has no images.
pub(super) fn rows_to_evaluate(
    dataset: &Dataset,
    n_visible: usize,
    images: usize,
) -> Result<(usize, usize), EvalError> {
    if dataset.pixels_per_image() != n_visible {
        return Err(EvalError::Shape {
            what: "each of the dataset's images",
            expected: n_visible,
            got: dataset.pixels_per_image(),
        });
    }
    let test_rows = images.min(dataset.test.count);
    if test_rows == 0 {
        return Err(EvalError::EmptySet { set: "test" });
    }
    let train_rows = images.min(dataset.train.count);
    if train_rows == 0 {
        return Err(EvalError::EmptySet { set: "training" });
    }
    Ok((test_rows, train_rows))
}

/// Mixed into the seed of RAISE's runs, so that they draw other numbers than AIS's.
const RAISE_SEED: u64 = 0x0052_4149_5345;

/// The average log-likelihood of the first `rows` images of `set`, binarised with `seed`.
fn images_log_likelihood(rbm: &Rbm, set: &ImageSet, rows: usize, seed: u64, log_z: f64, threads: Threads) -> f64 {
    let pixels = &set.pixels[..rows * set.pixels_per_image];
    average_log_likelihood_of_images(rbm, pixels, rows, seed, log_z, threads)
}
