//! The frame rate while training (View > Frame rate while training, `--fps`): how often the data
//! views repaint while the trainer publishes. Input still repaints at once (egui's own requests).
//!
//! The trainer calls its waker each time it publishes; [`FramePacer::wake`] turns the first call
//! after a frame into one repaint request, due one frame interval after that frame began, and the
//! calls after it into nothing. Every frame the window draws under a software renderer is CPU time
//! taken from training, so there it starts at 15 frames/s; with a GPU at 60.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::trainer::Waker;

/// The rates View > Frame rate while training offers, fastest first.
pub const MENU_RATES: [u32; 4] = [60, 30, 15, 5];
/// The highest rate `--fps` accepts: the trainer publishes no more often than this (see
/// [`PUBLISH_INTERVAL`]).
pub const MAX_FRAMES_PER_SECOND: u32 = 60;
/// How often the window's trainer publishes: often enough for the fastest rate.
pub const PUBLISH_INTERVAL: Duration = Duration::from_micros(1_000_000 / MAX_FRAMES_PER_SECOND as u64);
/// The starting rate with a software renderer (each frame is CPU time taken from training).
pub const SOFTWARE_RENDERER_RATE: u32 = 15;
/// The starting rate with a GPU.
pub const GPU_RATE: u32 = 60;
/// Where the person's choice is kept between runs (eframe's storage).
pub const FRAME_RATE_KEY: &str = "rbm-lab-frame-rate";

/// The shortest delay asked of egui: a zero-delay request makes egui paint twice.
const MIN_DELAY: Duration = Duration::from_millis(1);
/// A repaint asked for this long after the last frame began without a frame since is taken for
/// lost (a window that could not paint), and the next publication asks again.
const LOST_REQUEST: Duration = Duration::from_secs(1);

/// Shared by the trainer's waker (called on the trainer thread) and the window's frames.
pub struct FramePacer {
    ctx: egui::Context,
    origin: Instant,
    interval_micros: AtomicU64,
    /// Microseconds from `origin` to the start of the last frame.
    last_frame_micros: AtomicU64,
    /// A repaint has been asked for since the last frame began.
    requested: AtomicBool,
}

impl FramePacer {
    pub fn new(ctx: &egui::Context, frames_per_second: u32) -> Self {
        let pacer = Self {
            ctx: ctx.clone(),
            origin: Instant::now(),
            interval_micros: AtomicU64::new(0),
            last_frame_micros: AtomicU64::new(0),
            requested: AtomicBool::new(false),
        };
        pacer.set_rate(frames_per_second);
        pacer
    }

    pub fn set_rate(&self, frames_per_second: u32) {
        self.interval_micros.store(interval(frames_per_second).as_micros() as u64, Ordering::Relaxed);
    }

    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.interval_micros.load(Ordering::Relaxed))
    }

    fn now_micros(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }

    /// A frame begins (before it drains the trainer's messages).
    pub fn frame_started(&self) {
        self.last_frame_micros.store(self.now_micros(), Ordering::Relaxed);
        self.requested.store(false, Ordering::Release);
    }

    /// The delay until the next frame is due: one interval after the last frame began, at least
    /// [`MIN_DELAY`] from `now_micros`.
    fn delay_at(&self, now_micros: u64) -> Duration {
        let due = self.last_frame_micros.load(Ordering::Relaxed) + self.interval_micros.load(Ordering::Relaxed);
        Duration::from_micros(due.saturating_sub(now_micros)).max(MIN_DELAY)
    }

    /// The trainer has published: asks for the next frame, unless that is done already.
    pub fn wake(&self) {
        let now = self.now_micros();
        let since_frame = Duration::from_micros(now.saturating_sub(self.last_frame_micros.load(Ordering::Relaxed)));
        if self.requested.swap(true, Ordering::AcqRel) && since_frame < self.interval() + LOST_REQUEST {
            return;
        }
        self.ctx.request_repaint_after(self.delay_at(now));
    }
}

/// The time between frames at `frames_per_second` (at least 1).
fn interval(frames_per_second: u32) -> Duration {
    Duration::from_secs(1) / frames_per_second.max(1)
}

/// The setting: the person's choice (kept), `--fps` (for this run) or the renderer's default.
pub struct FrameRate {
    pacer: Arc<FramePacer>,
    /// Chosen in the View menu, this run or an earlier one.
    chosen: Option<u32>,
    /// `--fps`, until the person picks a rate in the menu.
    from_command_line: Option<u32>,
    default: u32,
}

impl FrameRate {
    /// At [`GPU_RATE`] until [`Self::start`] says otherwise.
    pub fn new(ctx: &egui::Context) -> Self {
        Self {
            pacer: Arc::new(FramePacer::new(ctx, GPU_RATE)),
            chosen: None,
            from_command_line: None,
            default: GPU_RATE,
        }
    }

    /// What the trainer calls when it publishes.
    pub fn waker(&self) -> Waker {
        let pacer = self.pacer.clone();
        Arc::new(move || pacer.wake())
    }

    /// The window's start-up: `default` for this renderer, and `--fps` if given.
    pub fn start(&mut self, default: u32, from_command_line: Option<u32>) {
        self.default = default;
        self.from_command_line = from_command_line;
        self.apply();
    }

    pub fn frames_per_second(&self) -> u32 {
        self.from_command_line.or(self.chosen).unwrap_or(self.default).clamp(1, MAX_FRAMES_PER_SECOND)
    }

    /// The interval the waker's repaint requests keep between frames.
    pub fn interval(&self) -> Duration {
        self.pacer.interval()
    }

    /// A frame begins.
    pub fn frame_started(&self) {
        self.pacer.frame_started();
    }

    /// The person's choice from an earlier run, if it is one the menu offers.
    pub fn restore(&mut self, storage: Option<&dyn eframe::Storage>) {
        let kept = storage.and_then(|s| eframe::get_value::<u32>(s, FRAME_RATE_KEY));
        if let Some(rate) = kept.filter(|rate| MENU_RATES.contains(rate)) {
            self.chosen = Some(rate);
            self.apply();
        }
    }

    /// Keeps the person's choice (nothing if they never made one: the default may differ next run).
    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        if let Some(rate) = self.chosen {
            eframe::set_value(storage, FRAME_RATE_KEY, &rate);
        }
    }

    pub fn choose(&mut self, frames_per_second: u32) {
        self.chosen = Some(frames_per_second.clamp(1, MAX_FRAMES_PER_SECOND));
        self.from_command_line = None;
        self.apply();
    }

    fn apply(&self) {
        self.pacer.set_rate(self.frames_per_second());
    }

    /// View > Frame rate while training.
    pub fn menu_ui(&mut self, ui: &mut egui::Ui) {
        let current = self.frames_per_second();
        ui.menu_button("Frame rate while training", |ui| {
            let hint = "How often the loss plot, filters and chains redraw while the trainer runs; the mouse and \
                        keys still redraw at once. Each frame drawn without a GPU is CPU time taken from training.";
            ui.label("While the trainer runs").on_hover_text(hint);
            if !MENU_RATES.contains(&current) {
                ui.add_enabled(false, egui::RadioButton::new(true, format!("{current} frames/s (--fps)")));
            }
            for rate in MENU_RATES {
                if ui.radio(current == rate, format!("{rate} frames/s")).on_hover_text(hint).clicked() {
                    self.choose(rate);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eframe::Storage as _;

    use crate::app::memory_storage::Memory;

    #[test]
    fn the_next_frame_is_due_one_interval_after_the_last_began() {
        let pacer = FramePacer::new(&egui::Context::default(), 20);
        pacer.last_frame_micros.store(1_000_000, Ordering::Relaxed);
        assert_eq!(pacer.delay_at(1_010_000), Duration::from_millis(40));
        assert_eq!(pacer.delay_at(1_049_500), MIN_DELAY, "due now: the shortest delay");
        assert_eq!(pacer.delay_at(2_000_000), MIN_DELAY, "overdue");
        pacer.set_rate(5);
        assert_eq!(pacer.delay_at(1_010_000), Duration::from_millis(190));
    }

    #[test]
    fn publications_after_the_first_ask_for_nothing_until_a_frame() {
        let ctx = egui::Context::default();
        let delays = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = delays.clone();
        ctx.set_repaint_observer(move |info| seen.lock().unwrap_or_else(|e| e.into_inner()).push(info.delay));
        let pacer = FramePacer::new(&ctx, 5);
        pacer.frame_started();
        for _ in 0..3 {
            pacer.wake();
        }
        pacer.frame_started();
        pacer.wake();
        let delays = delays.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(delays.len(), 2, "one request per frame: {delays:?}");
        assert!(
            delays.iter().all(|d| *d > Duration::from_millis(100) && *d <= Duration::from_millis(200)),
            "{delays:?}"
        );
    }

    #[test]
    fn the_choice_is_kept_and_the_command_line_wins_for_one_run() {
        let ctx = egui::Context::default();
        let mut rate = FrameRate::new(&ctx);
        rate.start(SOFTWARE_RENDERER_RATE, None);
        assert_eq!(rate.frames_per_second(), 15);
        assert_eq!(rate.interval(), Duration::from_micros(66_666));
        let mut storage = Memory::default();
        rate.save(&mut storage);
        assert!(storage.0.is_empty(), "no choice made: nothing kept");
        rate.choose(30);
        rate.save(&mut storage);

        let mut next = FrameRate::new(&ctx);
        next.start(GPU_RATE, None);
        next.restore(Some(&storage));
        assert_eq!(next.frames_per_second(), 30);
        assert_eq!(next.interval(), Duration::from_micros(33_333));
        let mut forced = FrameRate::new(&ctx);
        forced.start(GPU_RATE, Some(24));
        forced.restore(Some(&storage));
        assert_eq!(forced.frames_per_second(), 24, "--fps wins over the kept choice");
        forced.choose(5);
        assert_eq!(forced.frames_per_second(), 5, "until the person picks one");

        storage.set_string(FRAME_RATE_KEY, "7000".to_string());
        let mut odd = FrameRate::new(&ctx);
        odd.restore(Some(&storage));
        assert_eq!(odd.frames_per_second(), GPU_RATE, "a kept value the menu does not offer is ignored");
    }
}
