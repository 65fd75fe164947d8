//! The window's per-frame CPU cost while the trainer runs at full speed, headless: egui_kittest
//! steps the real app (all views: loss plot, filters of 500 units, 10 live chains) at ~60 frames
//! per second for a while, and this prints the app's own CPU time per frame and egui's whole frame
//! (layout and tessellation; no GPU), plus the trainer's throughput beside the window.
//!
//! Run: `cargo bench --bench ui_frames` (set WGPU_BACKEND=vulkan where there is no GPU).

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use rbm_lab::app::RbmLabApp;
use rbm_lab::data::Dataset;
use rbm_lab::model::{ModelSpec, TrainingConfig};
use rbm_lab::trainer::TrainerOptions;

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn main() {
    let seconds: f64 = std::env::var("UI_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(15.0);
    let dataset = Arc::new(Dataset::embedded_mnist().expect("embedded MNIST"));
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: 500, ..ModelSpec::default() },
        config: TrainingConfig::default(),
        start_running: true,
        chains_running: true,
        chain_count: 10,
        chain_steps_per_second: 30.0,
        ..TrainerOptions::default()
    };
    let mut harness: Harness<'static, RbmLabApp> = Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_eframe(move |cc| RbmLabApp::new(&cc.egui_ctx, dataset, options).expect("trainer"));

    // Warm up: first snapshots, textures, fonts.
    for _ in 0..30 {
        harness.step();
        std::thread::sleep(Duration::from_millis(16));
    }
    let mut whole_frame_ms = Vec::new();
    let started = Instant::now();
    let samples_at_start = harness.state().progress().map_or(0, |p| p.samples_seen);
    while started.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        harness.step();
        whole_frame_ms.push(t.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(16).saturating_sub(t.elapsed()));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let app = harness.state();
    let samples = app.progress().map_or(0, |p| p.samples_seen) - samples_at_start;
    let stats = app.frame_stats();
    println!(
        "ui_frames: {} frames in {elapsed:.1} s with training 784x500 CD-10 and 10 chains at 30 steps/s",
        whole_frame_ms.len()
    );
    println!(
        "  app code per frame: p95 {:.2} ms, mean {:.2} ms (last 240 frames)",
        stats.cpu_p95_ms(),
        stats.cpu_mean_ms()
    );
    println!(
        "  whole egui frame (layout + tessellation, no GPU): p50 {:.2} ms, p95 {:.2} ms",
        percentile(whole_frame_ms.clone(), 0.5),
        percentile(whole_frame_ms, 0.95)
    );
    println!("  trainer beside the window: {:.0} samples/s", samples as f64 / elapsed);
}
