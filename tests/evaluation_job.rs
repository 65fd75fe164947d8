//! The evaluation job as the window uses it: cancelling or dropping a running job never makes the
//! caller wait for the thread, the thread stops soon after on its own, and a thread that dies
//! ends the job with an error instead of leaving it running forever.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rbm_lab::data::Dataset;
use rbm_lab::model::Rbm;
use rbm_lab::quality::{EvaluationEvent, EvaluationJob, EvaluationSettings, ThreadEnded};

/// Waits up to `timeout` for the job's thread to end; how long it took.
fn wait_for_end(ended: &ThreadEnded, timeout: Duration) -> Option<Duration> {
    let started = Instant::now();
    while !ended.get() {
        if started.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Some(started.elapsed())
}

/// A job evaluating a 784x500 model with 1000 AIS runs over the paper's ~14,500 temperatures
/// (many seconds of work), already inside AIS when returned.
fn running_large_job() -> EvaluationJob {
    let dataset = Arc::new(Dataset::embedded_mnist().expect("embedded MNIST"));
    let rbm = Rbm::zeros(784, 500);
    let settings = EvaluationSettings { runs: 1000, threads: 2, ..EvaluationSettings::default() };
    let mut job = EvaluationJob::start(rbm, dataset, 1.0, settings, None).expect("evaluation thread");
    // The first progress report comes from inside the annealing loop.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = job.poll();
        assert!(!events.iter().any(EvaluationEvent::is_final), "ended early: {events:?}");
        if events.iter().any(|e| matches!(e, EvaluationEvent::Progress(_))) {
            return job;
        }
        assert!(Instant::now() < deadline, "no progress within a minute");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dropping_a_running_evaluation_returns_at_once_and_the_thread_stops_soon_after() {
    let job = running_large_job();
    let ended = job.thread_ended();
    let started = Instant::now();
    drop(job);
    let drop_took = started.elapsed();
    let stopped_after = wait_for_end(&ended, Duration::from_secs(10));
    println!("drop took {drop_took:?}; the thread ended {stopped_after:?} later");
    assert!(drop_took < Duration::from_millis(50), "dropping the job waited {drop_took:?} for its thread");
    let stopped_after = stopped_after.expect("the evaluation thread still runs 10 s after its job was dropped");
    // Cancellation is looked at every ~20 ms of work (at least every temperature step), not every
    // 1% of the temperatures (145 steps of this model: seconds).
    assert!(stopped_after < Duration::from_secs(1), "the thread took {stopped_after:?} to notice");
}

#[test]
fn cancel_is_answered_promptly() {
    let mut job = running_large_job();
    let started = Instant::now();
    job.cancel();
    let cancel_took = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        if let Some(event) = job.poll().into_iter().find(EvaluationEvent::is_final) {
            break event;
        }
        assert!(Instant::now() < deadline, "no answer 10 s after Cancel");
        std::thread::sleep(Duration::from_millis(2));
    };
    let answered_after = started.elapsed();
    println!("cancel() took {cancel_took:?}; answered after {answered_after:?}");
    assert_eq!(answer, EvaluationEvent::Cancelled);
    assert!(cancel_took < Duration::from_millis(50));
    assert!(answered_after < Duration::from_secs(1), "Cancel answered after {answered_after:?}");
}

#[test]
fn an_evaluation_whose_thread_panics_ends_with_an_error() {
    let mut job = EvaluationJob::spawn(
        Box::new(|progress| {
            progress(0.25);
            panic!("injected failure in the evaluation");
        }),
        None,
    )
    .expect("evaluation thread");
    let deadline = Instant::now() + Duration::from_secs(10);
    let last = loop {
        let events = job.poll();
        if let Some(event) = events.into_iter().find(EvaluationEvent::is_final) {
            break event;
        }
        assert!(Instant::now() < deadline, "the job still runs 10 s after its thread panicked");
        std::thread::sleep(Duration::from_millis(2));
    };
    match last {
        EvaluationEvent::Failed(message) => {
            assert!(message.contains("injected failure in the evaluation"), "{message}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(job.is_finished());
    assert!(job.poll().is_empty(), "nothing follows the final event");
}
