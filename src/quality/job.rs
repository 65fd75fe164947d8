//! Work on its own thread (an evaluation, a linear probe): progress and the result come back as
//! events, cancelling or dropping the job never waits for the thread, and a panic in it ends the
//! job with an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::evaluation::{Evaluation, EvaluationSettings, evaluate};
use super::gaussian::evaluate_gaussian;
use crate::data::Dataset;
use crate::model::Rbm;
use crate::model::eval::EvalError;
use crate::model::gaussian::{GaussianRbm, Standardisation};

/// What a job's thread says: progress (a fraction), then one final event.
#[derive(Clone, Debug, PartialEq)]
pub enum JobEvent<T> {
    Progress(f64),
    Done(T),
    Failed(String),
    Cancelled,
}

pub type EvaluationEvent = JobEvent<Evaluation>;

/// How a job's work ends when it brings no result.
#[derive(Clone, Debug, PartialEq)]
pub enum JobStop {
    Cancelled,
    Failed(String),
}

/// What a job's thread runs: given a progress callback (returning false cancels), a result.
pub type JobWork<T> = Box<dyn FnOnce(&mut dyn FnMut(f64) -> bool) -> Result<T, JobStop> + Send>;

/// Work on its own thread. Dropping the job cancels it without waiting: the thread stops by itself
/// at its next look at the cancel flag (see [`crate::model::ais::CHECK_INTERVAL`]), so the window
/// never waits for a worker.
pub struct Job<T> {
    events: Receiver<JobEvent<T>>,
    cancel: Arc<AtomicBool>,
    ended: ThreadEnded,
    /// A final event (done, failed, cancelled) has been handed out.
    answered: bool,
    /// What the thread does, for the message when it ends without a result ("the evaluation").
    what: &'static str,
}

/// An evaluation on its own thread.
pub type EvaluationJob = Job<Evaluation>;

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

impl Job<Evaluation> {
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

    /// Starts evaluating the Gaussian `model` (a copy), whose data is standardised with
    /// `standardisation`, at `epoch` (see [`evaluate_gaussian`]); `wake` is called after each event.
    pub fn start_gaussian(
        model: GaussianRbm,
        standardisation: Standardisation,
        dataset: Arc<Dataset>,
        epoch: f64,
        settings: EvaluationSettings,
        wake: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> std::io::Result<Self> {
        let work = move |progress: &mut dyn FnMut(f64) -> bool| {
            evaluate_gaussian(&model, &standardisation, &dataset, epoch, &settings, progress)
        };
        Self::spawn(Box::new(work), wake)
    }

    /// Runs `work` on its own thread as an evaluation. A panic in it ends the job with
    /// [`JobEvent::Failed`] instead of leaving the progress bar spinning.
    pub fn spawn(work: EvaluationWork, wake: Option<Arc<dyn Fn() + Send + Sync>>) -> std::io::Result<Self> {
        let work: JobWork<Evaluation> = Box::new(move |progress| {
            work(progress).map_err(|e| match e {
                EvalError::Cancelled => JobStop::Cancelled,
                e => JobStop::Failed(e.to_string()),
            })
        });
        Job::spawn_work("evaluation", work, wake)
    }
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on its own thread, named `rbm-{what}`; `what` also names the work in the message
    /// of a thread that ends without a result. A panic in `work` ends the job with
    /// [`JobEvent::Failed`].
    pub fn spawn_work(
        what: &'static str,
        work: JobWork<T>,
        wake: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        let ended = ThreadEnded::default();
        let guard = SetOnDrop(ended.clone());
        // At the process's priority, not the window's (see `crate::threads`). The join handle is
        // dropped: nothing ever waits for this thread.
        crate::threads::spawn(&format!("rbm-{what}"), move || {
            let _guard = guard;
            run_job(what, work, &tx, &stop, wake.as_deref());
        })?;
        Ok(Self { events: rx, cancel, ended, answered: false, what })
    }

    /// Events since the last call. Ends with [`JobEvent::Failed`] if the thread ended
    /// without a final event (it died in a way the job could not catch).
    pub fn poll(&mut self) -> Vec<JobEvent<T>> {
        // Looked at before draining: everything the thread sent before it ended is in the channel.
        let ended = self.ended.get();
        let mut events: Vec<JobEvent<T>> = self.events.try_iter().collect();
        self.answered |= events.iter().any(JobEvent::is_final);
        if ended && !self.answered {
            events.push(JobEvent::Failed(format!("the {} thread ended without a result", self.what)));
            self.answered = true;
        }
        events
    }

    /// Asks the thread to stop; it answers [`JobEvent::Cancelled`] at its next check.
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

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl<T> JobEvent<T> {
    /// Done, failed or cancelled: nothing follows it.
    pub fn is_final(&self) -> bool {
        !matches!(self, JobEvent::Progress(_))
    }
}

fn run_job<T>(
    what: &str,
    work: JobWork<T>,
    tx: &Sender<JobEvent<T>>,
    stop: &AtomicBool,
    wake: Option<&(dyn Fn() + Send + Sync)>,
) {
    let send = |event: JobEvent<T>| {
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
            send(JobEvent::Progress(fraction));
        }
        !stop.load(Ordering::Relaxed)
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut progress)));
    match outcome {
        Ok(Ok(result)) => send(JobEvent::Done(result)),
        Ok(Err(JobStop::Cancelled)) => send(JobEvent::Cancelled),
        Ok(Err(JobStop::Failed(message))) => send(JobEvent::Failed(message)),
        Err(payload) => send(JobEvent::Failed(format!(
            "the {what} stopped unexpectedly: {}",
            crate::threads::panic_message(payload.as_ref())
        ))),
    }
}
