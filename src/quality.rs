//! How good the model is, in nats: the cheap monitors the trainer computes as it goes, and the
//! full evaluation (AIS estimate of log Z, then the average log-likelihood of the binarised test
//! images and of a training subset of the same size), which runs on its own thread.
//!
//! The protocol is the standard one for MNIST RBMs (Salakhutdinov & Murray 2008): test images
//! binarised once by sampling each pixel from its intensity with a fixed seed; AIS from a base-rate
//! model fitted to the training pixel marginals; 100 runs, ~14,500 inverse temperatures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::data::{Dataset, ImageSet};
use crate::limits::MAX_THREADS;
use crate::model::ais::{AisConfig, BetaSchedule, ais_log_z, base_rate_visible_bias};
use crate::model::eval::{
    EvalError, average_log_likelihood_of_images, binarise, exact_log_z, free_energy_gap, pseudo_likelihood,
    reconstruction_error,
};
use crate::model::raise::{RaiseConfig, RaiseEstimate, raise_log_likelihood};
use crate::model::{Rbm, Threads};

/// The seed of the test-set binarisation: fixed, so that every evaluation sees the same images.
pub const BINARISATION_SEED: u64 = 0x5EED_0B17;

/// Exact log Z is used instead of AIS when the smaller layer has at most this many units.
pub const EXACT_LIMIT: usize = 20;

/// The first `count` images of a set, binarised with `seed`.
pub fn binarised_subset(set: &ImageSet, count: usize, seed: u64) -> (Vec<f32>, usize) {
    let count = count.min(set.count);
    (binarise(&set.pixels[..count * set.pixels_per_image], seed), count)
}

/// Cheap quality measures computed every so often during training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonitorPoint {
    pub epoch: f64,
    /// scikit-learn's pseudo-likelihood (`BernoulliRBM.score_samples`), mean over held-out images.
    pub pseudo_likelihood: f64,
    /// Mean free energy of held-out images minus that of training images: grows when overfitting.
    pub free_energy_gap: f64,
    /// Mean squared error of the mean-field reconstruction p(v|p(h|v)) of held-out images.
    pub reconstruction_mse: f64,
    /// Mean |ΔW| / mean |W| of the last update (Hinton's rule of thumb: about 1e-3).
    pub update_ratio: f64,
}

/// Values (pixels) in each of the monitors' two binarised sets, 16 MiB of f32: 1,000 MNIST images
/// take 784,000; images of 256x256 pixels get 64 rows, so that the monitors' memory stays small
/// whatever the image size.
pub const MONITOR_VALUES: usize = 1 << 22;

/// Binarised image subsets kept for the monitors (same images every time, so curves compare).
pub struct MonitorData {
    train: Vec<f32>,
    held_out: Vec<f32>,
    rows: usize,
}

impl MonitorData {
    /// `rows` training and `rows` test images (1,000 is enough for a smooth curve and costs a few ms),
    /// fewer for large images, so that each set holds at most [`MONITOR_VALUES`] values.
    pub fn new(dataset: &Dataset, rows: usize) -> Self {
        let fit = MONITOR_VALUES / dataset.pixels_per_image().max(1);
        let rows = rows.min(fit).min(dataset.train.count).min(dataset.test.count);
        let (train, _) = binarised_subset(&dataset.train, rows, BINARISATION_SEED ^ 1);
        let (held_out, _) = binarised_subset(&dataset.test, rows, BINARISATION_SEED);
        Self { train, held_out, rows }
    }

    pub fn measure(&self, rbm: &Rbm, epoch: f64, update_ratio: f64, threads: Threads) -> Option<MonitorPoint> {
        if self.rows == 0 || rbm.n_visible() * self.rows != self.held_out.len() {
            return None;
        }
        let pl = pseudo_likelihood(rbm, &self.held_out, self.rows, BINARISATION_SEED, threads);
        let gap = free_energy_gap(rbm, &self.train, &self.held_out, self.rows, threads);
        let recon = reconstruction_error(rbm, &self.held_out, self.rows, threads);
        Some(MonitorPoint {
            epoch,
            pseudo_likelihood: pl.mean,
            free_energy_gap: gap.gap,
            reconstruction_mse: recon.mse,
            update_ratio,
        })
    }
}

/// Counts of values in equal-width bins between their minimum and maximum.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub min: f32,
    pub max: f32,
    pub counts: Vec<u32>,
}

impl Histogram {
    /// Non-finite values are left out.
    pub fn of(values: &[f32], bins: usize) -> Self {
        let bins = bins.max(1);
        let (min, max) = values
            .iter()
            .filter(|x| x.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let mut counts = vec![0u32; bins];
        if min > max {
            return Self { min: 0.0, max: 0.0, counts };
        }
        let width = (max - min).max(f32::MIN_POSITIVE);
        for &x in values.iter().filter(|x| x.is_finite()) {
            let bin = (((x - min) / width) * bins as f32) as usize;
            counts[bin.min(bins - 1)] += 1;
        }
        Self { min, max, counts }
    }

    /// The centre of bin `i`.
    pub fn bin_centre(&self, i: usize) -> f32 {
        self.min + (i as f32 + 0.5) * (self.max - self.min) / self.counts.len().max(1) as f32
    }
}

/// Mean |after − before| / mean |after| over two weight matrices.
pub fn update_ratio(before: &[f32], after: &[f32]) -> f64 {
    let (mut change, mut size) = (0.0f64, 0.0f64);
    for (b, a) in before.iter().zip(after) {
        change += (a - b).abs() as f64;
        size += a.abs() as f64;
    }
    if size > 0.0 { change / size } else { 0.0 }
}

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
    if dataset.pixels_per_image() != n_visible {
        return Err(EvalError::Shape {
            what: "each of the dataset's images",
            expected: n_visible,
            got: dataset.pixels_per_image(),
        });
    }
    let test_rows = settings.images.min(dataset.test.count);
    if test_rows == 0 {
        return Err(EvalError::EmptySet { set: "test" });
    }
    let train_rows = settings.images.min(dataset.train.count);
    if train_rows == 0 {
        return Err(EvalError::EmptySet { set: "training" });
    }
    let threads = Threads(settings.threads);
    let smaller = n_visible.min(n_hidden);
    let schedule = match settings.betas {
        Some(n) => BetaSchedule::uniform(n)?,
        None => BetaSchedule::salakhutdinov_murray(),
    };
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
    })
}

/// Mixed into the seed of RAISE's runs, so that they draw other numbers than AIS's.
const RAISE_SEED: u64 = 0x0052_4149_5345;

/// The average log-likelihood of the first `rows` images of `set`, binarised with `seed`.
fn images_log_likelihood(rbm: &Rbm, set: &ImageSet, rows: usize, seed: u64, log_z: f64, threads: Threads) -> f64 {
    let pixels = &set.pixels[..rows * set.pixels_per_image];
    average_log_likelihood_of_images(rbm, pixels, rows, seed, log_z, threads)
}

/// Messages from a running evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum EvaluationEvent {
    Progress(f64),
    Done(Evaluation),
    Failed(String),
    Cancelled,
}

/// An evaluation on its own thread. Dropping the job cancels it without waiting: the thread stops
/// by itself at its next look at the cancel flag (see [`crate::model::ais::CHECK_INTERVAL`]), so
/// the window never waits for a worker.
pub struct EvaluationJob {
    events: Receiver<EvaluationEvent>,
    cancel: Arc<AtomicBool>,
    ended: ThreadEnded,
    /// A final event (done, failed, cancelled) has been handed out.
    answered: bool,
}

/// Whether a job's thread has ended (however it ended); stays readable after the job is dropped.
#[derive(Clone, Debug, Default)]
pub struct ThreadEnded(Arc<AtomicBool>);

impl ThreadEnded {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Sets the flag when dropped: at the end of the thread's closure, also when it unwinds.
struct SetOnDrop(ThreadEnded);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        (self.0).0.store(true, Ordering::Release);
    }
}

/// What an evaluation thread runs: given a progress callback (returning false cancels), a result.
pub type EvaluationWork = Box<dyn FnOnce(&mut dyn FnMut(f64) -> bool) -> Result<Evaluation, EvalError> + Send>;

impl EvaluationJob {
    /// Starts evaluating `rbm` (a copy) at `epoch`; `wake` is called after each event.
    pub fn start(
        rbm: Rbm,
        dataset: Arc<Dataset>,
        epoch: f64,
        settings: EvaluationSettings,
        wake: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> std::io::Result<Self> {
        Self::spawn(Box::new(move |progress| evaluate(&rbm, &dataset, epoch, &settings, progress)), wake)
    }

    /// Runs `work` on its own thread as an evaluation. A panic in it ends the job with
    /// [`EvaluationEvent::Failed`] instead of leaving the progress bar spinning.
    pub fn spawn(work: EvaluationWork, wake: Option<Arc<dyn Fn() + Send + Sync>>) -> std::io::Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let ended = ThreadEnded::default();
        let guard = SetOnDrop(ended.clone());
        // At the process's priority, not the window's (see `crate::threads`). The join handle is
        // dropped: nothing ever waits for this thread.
        crate::threads::spawn("rbm-evaluation", move || {
            let _guard = guard;
            run_job(work, &tx, &stop, wake.as_deref());
        })?;
        Ok(Self { events: rx, cancel, ended, answered: false })
    }

    /// Events since the last call. Ends with [`EvaluationEvent::Failed`] if the thread ended
    /// without a final event (it died in a way the job could not catch).
    pub fn poll(&mut self) -> Vec<EvaluationEvent> {
        // Looked at before draining: everything the thread sent before it ended is in the channel.
        let ended = self.ended.get();
        let mut events: Vec<EvaluationEvent> = self.events.try_iter().collect();
        self.answered |= events.iter().any(EvaluationEvent::is_final);
        if ended && !self.answered {
            events.push(EvaluationEvent::Failed("the evaluation thread ended without a result".into()));
            self.answered = true;
        }
        events
    }

    /// Asks the thread to stop; it answers [`EvaluationEvent::Cancelled`] at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_finished(&self) -> bool {
        self.ended.get()
    }

    /// A flag that says when the thread has ended, also after the job has been dropped.
    pub fn thread_ended(&self) -> ThreadEnded {
        self.ended.clone()
    }
}

impl Drop for EvaluationJob {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl EvaluationEvent {
    /// Done, failed or cancelled: nothing follows it.
    pub fn is_final(&self) -> bool {
        !matches!(self, EvaluationEvent::Progress(_))
    }
}

fn run_job(
    work: EvaluationWork,
    tx: &Sender<EvaluationEvent>,
    stop: &AtomicBool,
    wake: Option<&(dyn Fn() + Send + Sync)>,
) {
    let send = |event: EvaluationEvent| {
        let _ = tx.send(event);
        if let Some(wake) = wake {
            wake();
        }
    };
    let mut last_sent = Instant::now();
    let mut progress = |fraction: f64| {
        // A few updates per second are plenty for a progress bar.
        if last_sent.elapsed().as_millis() >= 200 {
            last_sent = Instant::now();
            send(EvaluationEvent::Progress(fraction));
        }
        !stop.load(Ordering::Relaxed)
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut progress)));
    match outcome {
        Ok(Ok(evaluation)) => send(EvaluationEvent::Done(evaluation)),
        Ok(Err(EvalError::Cancelled)) => send(EvaluationEvent::Cancelled),
        Ok(Err(e)) => send(EvaluationEvent::Failed(e.to_string())),
        Err(payload) => send(EvaluationEvent::Failed(format!(
            "the evaluation stopped unexpectedly: {}",
            crate::threads::panic_message(payload.as_ref())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageArray;

    fn dataset(count: usize, rows: usize, cols: usize) -> Dataset {
        let images = ImageArray { count, rows, cols, pixels: vec![128; count * rows * cols] };
        Dataset::from_arrays("test", images, vec![0; count], None).unwrap()
    }

    #[test]
    fn monitor_sets_stay_within_their_budget_for_large_images() {
        // MNIST-sized images: all 1,000 rows asked for (up to what the sets hold).
        assert_eq!(MonitorData::new(&dataset(6_000, 28, 28), 1000).rows, 1000);
        // 512x512 images: 16 rows of 262,144 values each.
        let large = MonitorData::new(&dataset(120, 512, 512), 1000);
        assert_eq!(large.rows, MONITOR_VALUES / (512 * 512));
        assert!(large.train.len() <= MONITOR_VALUES && large.held_out.len() <= MONITOR_VALUES);
    }
}
