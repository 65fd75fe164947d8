//! The window's start-up from the command line: the trainer's first options, the renderer (with a
//! software one, `software_render`'s programs, look and thread priority), the frame rate and the
//! frame statistics.

use std::sync::Arc;
use std::time::Duration;

use super::RbmLabApp;
use super::files::DialogMode;
use super::frame_rate::{GPU_RATE, PUBLISH_INTERVAL, SOFTWARE_RENDERER_RATE};
use super::session;
use super::software_render::{SoftwareRender, look};
use crate::cli::{FileDialogArg, LookArg, WindowArgs, default_threads, load_dataset};
use crate::model::ModelSpec;
use crate::trainer::TrainerOptions;

/// Opens the window with the command line's settings and returns when it closes.
pub fn run(window: &WindowArgs) -> anyhow::Result<()> {
    // Refused before anything starts.
    if window.thresholded {
        anyhow::bail!(
            "--thresholded is for the command-line tools (train, eval, sample, inpaint, probe, bench); \
             the window trains on the grey images (Controls > binary data draws binary pixels from them)"
        );
    }
    let stats_every = window.stats_every;
    let look = window.look;
    let ui_nice = window.ui_nice;
    let fps = window.fps;
    let dialog_mode = match window.file_dialog {
        FileDialogArg::Auto => DialogMode::Auto,
        FileDialogArg::System => DialogMode::System,
        FileDialogArg::Builtin => DialogMode::Builtin,
    };
    // Before the window lowers its own priority: evaluations and file jobs start from here.
    crate::threads::start_launcher()?;
    let dataset = Arc::new(load_dataset(window)?);
    let sessions = session::for_window(window.session_dir.clone(), window.fresh, window.paused);
    // While the last session is offered, training waits for the answer.
    let offer = sessions.as_ref().is_some_and(|(store, options)| session::will_offer(store, options));
    let visible = window.window_visible.unwrap_or_default();
    let config = visible.default_config();
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: window.window_hidden as usize, visible, ..ModelSpec::default() },
        config,
        threads: default_threads(window.threads),
        start_running: !window.paused && !offer,
        // Often enough for the fastest frame rate; the window draws at most at the rate chosen.
        publish_interval: PUBLISH_INTERVAL,
        ..TrainerOptions::default()
    };
    // Before the window opens, so that a model too large for these images is a message here.
    options.spec.validate_with(&options.config, dataset.pixels_per_image())?;
    let native = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        // The views are flat colours and 8-bit images, with no gradients to band; dithering would
        // only add shader work per pixel (the whole cost of a frame on a software renderer).
        dithering: false,
        viewport: egui::ViewportBuilder::default().with_inner_size([1440.0, 900.0]).with_title("rbm-lab"),
        ..Default::default()
    };
    eframe::run_native(
        "rbm-lab",
        native,
        Box::new(move |cc| {
            super::clear_instead_of_panel_fill(&cc.egui_ctx);
            // The one switch: decided here, once, from GL_RENDERER.
            let software = SoftwareRender::detect(&cc.egui_ctx, cc.gl.as_ref());
            let light = match look {
                LookArg::Auto => software.is_some(),
                LookArg::Full => false,
                LookArg::Light => true,
            };
            if let Some(software) = &software
                && look == LookArg::Auto
            {
                eprintln!(
                    "rbm-lab: OpenGL renders on the CPU ({}): light look, see View (--look full to keep egui's)",
                    software.renderer()
                );
            }
            look::set_light_look(&cc.egui_ctx, light);
            let mut app = RbmLabApp::new(&cc.egui_ctx, dataset, options)?;
            app.restore_settings(cc.storage);
            app.files.set_mode(dialog_mode);
            if let Some((store, options)) = sessions {
                app.keep_sessions(&cc.egui_ctx, store, options);
            }
            let default_rate = if software.is_some() { SOFTWARE_RENDERER_RATE } else { GPU_RATE };
            app.frame_rate.start(default_rate, fps);
            if let Some(interval) = stats_every.and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()) {
                app.log_stats_every(interval);
            }
            if let Some(software) = software {
                // The trainer's threads exist by now, at normal priority; the window's give way.
                software.give_way_to_training(ui_nice);
                app.use_software_render(software);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}
