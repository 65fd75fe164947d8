//! What `train` shows while it runs: a progress bar over the whole run's images with the time
//! left, a line per epoch, and lines that survive a closed terminal.

use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::trainer::TrainingRun;

/// How long a run trains before its length is estimated for the default checkpoints.
const ESTIMATE_AFTER: Duration = Duration::from_secs(5);

/// A line on stdout; a closed terminal or pipe (SIGHUP, `| head`) must not end the run with a panic.
pub(super) fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

pub(super) fn say_err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `250 ms`, `30 s`, `10.0 min`.
pub(super) fn duration_text(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 60.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

/// The progress bar (images of the whole run, with indicatif's estimate of the time left) and a
/// line per epoch.
pub(super) struct ProgressReport {
    bar: indicatif::ProgressBar,
    pub(super) started: Instant,
    /// Images of the whole run and those done when this process started.
    total: u64,
    done_at_start: u64,
    done: u64,
    rate_window: (Instant, u64),
    epoch_started: (Instant, u64),
    loss_name: &'static str,
}

impl ProgressReport {
    pub(super) fn new(run: &TrainingRun, epochs: usize) -> Self {
        let per_epoch = run.images_per_epoch() as u64;
        let total = per_epoch * epochs as u64;
        let done = run.epoch() as u64 * per_epoch + run.images_into_epoch() as u64;
        let bar = indicatif::ProgressBar::new(total).with_position(done);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} images, {eta} left  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.reset_eta();
        let now = Instant::now();
        Self {
            bar,
            started: now,
            total,
            done_at_start: done,
            done,
            rate_window: (now, done),
            epoch_started: (now, done),
            // A Gaussian–Bernoulli step reports its squared reconstruction error in standardised
            // units; the binary steps their L1 loss.
            loss_name: if run.gaussian().is_some() {
                "mean squared reconstruction error (standardised)"
            } else {
                "mean L1"
            },
        }
    }

    pub(super) fn batch(&mut self, report: &crate::trainer::BatchReport, epochs: usize, swap_rates: &[f64]) {
        self.done += report.rows as u64;
        self.bar.inc(report.rows as u64);
        let now = Instant::now();
        let (since, from) = self.rate_window;
        if now.duration_since(since) >= Duration::from_millis(500) {
            let rate = (self.done - from) as f64 / now.duration_since(since).as_secs_f64();
            self.bar.set_message(format!("{rate:.0} samples/s"));
            self.rate_window = (now, self.done);
        }
        if let Some(finished) = report.finished_epoch {
            let (since, from) = self.epoch_started;
            let rate = (self.done - from) as f64 / now.duration_since(since).as_secs_f64().max(1e-9);
            let mut line = format!(
                "epoch {}/{epochs}: {} {:.5}, lr {}, {rate:.0} samples/s",
                finished.epoch + 1,
                self.loss_name,
                finished.mean_loss,
                report.learning_rate
            );
            if !swap_rates.is_empty() {
                line.push_str(&format!(", swap rates {}", swap_rates_text(swap_rates)));
            }
            // A hidden bar (output not a terminal) would swallow its println.
            if self.bar.is_hidden() {
                say(&line)
            } else {
                self.bar.println(line)
            }
            self.epoch_started = (now, self.done);
        }
    }

    /// The whole run's expected length, once it has trained long enough to tell.
    pub(super) fn estimated_total(&self) -> Option<Duration> {
        let elapsed = self.started.elapsed();
        let trained = self.done - self.done_at_start;
        if elapsed < ESTIMATE_AFTER || trained == 0 {
            return None;
        }
        let remaining = (self.total - self.done) as f64 * elapsed.as_secs_f64() / trained as f64;
        Some(elapsed + Duration::from_secs_f64(remaining.min(1e9)))
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Parallel tempering's swap rates, coldest pair first: `0.62 0.58 … 0.41`.
fn swap_rates_text(rates: &[f64]) -> String {
    rates.iter().map(|rate| format!("{rate:.2}")).collect::<Vec<_>>().join(" ")
}
