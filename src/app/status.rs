//! The status bar, the frame-time statistics it shows, and the periodic stats line on stderr.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::RbmLabApp;
use crate::trainer::Progress;

const FRAME_WINDOW: usize = 240;

/// The app's own CPU time per frame (its `ui` code, not egui's painting) over the last frames.
#[derive(Default)]
pub struct FrameStats {
    cpu: VecDeque<Duration>,
    intervals: VecDeque<f32>,
}

impl FrameStats {
    pub fn record(&mut self, cpu: Duration, interval_seconds: f32) {
        if self.cpu.len() == FRAME_WINDOW {
            self.cpu.pop_front();
            self.intervals.pop_front();
        }
        self.cpu.push_back(cpu);
        self.intervals.push_back(interval_seconds);
    }

    /// 95th percentile of the app's CPU time per frame, in milliseconds.
    pub fn cpu_p95_ms(&self) -> f64 {
        let mut v: Vec<f64> = self.cpu.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * 0.95) as usize).min(v.len() - 1)]
    }

    pub fn cpu_mean_ms(&self) -> f64 {
        if self.cpu.is_empty() {
            return 0.0;
        }
        self.cpu.iter().map(|d| d.as_secs_f64() * 1e3).sum::<f64>() / self.cpu.len() as f64
    }

    /// Frames per second over the window (from egui's frame-to-frame intervals).
    pub fn fps(&self) -> f64 {
        let total: f32 = self.intervals.iter().sum();
        if total <= 0.0 { 0.0 } else { self.intervals.len() as f64 / total as f64 }
    }
}

pub fn status_ui(ui: &mut egui::Ui, progress: Option<&Progress>, frames: Option<&FrameStats>) {
    ui.horizontal(|ui| {
        match progress {
            Some(p) => {
                ui.label(format!("dataset: {}", p.dataset));
                ui.separator();
                ui.label(format!("model {}x{}", p.n_visible, p.n_hidden));
                ui.separator();
                ui.label(format!(
                    "epoch {:.3} (batch {}/{})",
                    p.epoch_position(),
                    p.batch_in_epoch,
                    p.batches_per_epoch
                ));
                ui.separator();
                if p.running {
                    ui.label(format!("{:.0} samples/s on {} threads", p.samples_per_second, p.threads));
                } else {
                    ui.label("paused");
                }
            }
            None => {
                ui.label("starting trainer…");
            }
        }
        let Some(frames) = frames else { return };
        ui.separator();
        ui.label(format!(
            "frame: {:.1} ms p95 ({:.1} mean) app CPU, {:.0} fps",
            frames.cpu_p95_ms(),
            frames.cpu_mean_ms(),
            frames.fps()
        ))
        .on_hover_text(
            "CPU time of rbm-lab's own UI code per frame (95th percentile and mean over the last 240 frames)",
        );
    });
}

/// Periodic one-line reports on stderr (`--stats-every`), for measuring the window from scripts.
pub(super) struct StatsLog {
    every: Duration,
    since: Instant,
    samples_at_start: u64,
}

impl RbmLabApp {
    /// Print the trainer's rate over each period and the frame statistics every `every`.
    pub fn log_stats_every(&mut self, every: Duration) {
        self.stats_log = Some(StatsLog { every, since: Instant::now(), samples_at_start: 0 });
    }

    pub(super) fn log_stats(&mut self, now: Instant) {
        let samples = self.progress.as_ref().map_or(0, |p| p.samples_seen);
        let Some(log) = &mut self.stats_log else { return };
        let elapsed = now.duration_since(log.since);
        if elapsed < log.every {
            return;
        }
        let rate = samples.saturating_sub(log.samples_at_start) as f64 / elapsed.as_secs_f64();
        eprintln!(
            "rbm-lab stats: {rate:.0} samples/s, {:.1} fps, app CPU {:.2} ms p95 ({:.2} mean) per frame, {samples} samples",
            self.frames.fps(),
            self.frames.cpu_p95_ms(),
            self.frames.cpu_mean_ms()
        );
        log.since = now;
        log.samples_at_start = samples;
    }
}
