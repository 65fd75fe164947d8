//! The window's start-up from the command line: the trainer's first options, the look (light on a
//! software renderer), the opaque painter, the frame statistics and the window threads' priority.

use std::sync::Arc;
use std::time::Duration;

use super::RbmLabApp;
use super::files::DialogMode;
use super::look;
use super::session;
use crate::cli::{FileDialogArg, LookArg, WindowArgs, default_threads, load_dataset};
use crate::model::ModelSpec;
use crate::trainer::TrainerOptions;

/// Opens the window with the command line's settings and returns when it closes.
pub fn run(window: &WindowArgs) -> anyhow::Result<()> {
    let stats_every = window.stats_every;
    let look = window.look;
    let ui_nice = window.ui_nice;
    let dialog_mode = match window.file_dialog {
        FileDialogArg::Auto => DialogMode::Auto,
        FileDialogArg::System => DialogMode::System,
        FileDialogArg::Builtin => DialogMode::Builtin,
    };
    // Before the window lowers its own priority: evaluations and file jobs start from here.
    crate::threads::start_launcher()?;
    let dataset = Arc::new(load_dataset(window.data.as_deref())?);
    let sessions = session::for_window(window.session_dir.clone(), window.fresh, window.paused);
    // While the last session is offered, training waits for the answer.
    let offer = sessions.as_ref().is_some_and(|(store, options)| session::will_offer(store, options));
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: window.window_hidden as usize, ..ModelSpec::default() },
        threads: default_threads(window.threads),
        start_running: !window.paused && !offer,
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
            let renderer = cc.gl.as_ref().map(|gl| super::gl_paint::renderer_name(gl)).unwrap_or_default();
            let light = match look {
                LookArg::Auto => look::is_software_renderer(&renderer),
                LookArg::Full => false,
                LookArg::Light => true,
            };
            if look == LookArg::Auto && light {
                eprintln!(
                    "rbm-lab: OpenGL renders on the CPU ({renderer}): light look, see View (--look full to keep egui's)"
                );
            }
            look::set_light_look(&cc.egui_ctx, light);
            let mut app = RbmLabApp::new(&cc.egui_ctx, dataset, options)?;
            app.restore_settings(cc.storage);
            app.files.set_mode(dialog_mode);
            if let Some((store, options)) = sessions {
                app.keep_sessions(&cc.egui_ctx, store, options);
            }
            if let Some(gl) = &cc.gl {
                match super::gl_paint::OpaquePainter::new(gl) {
                    Ok(painter) => app.use_opaque_painter(painter),
                    Err(e) => eprintln!("rbm-lab: plot backgrounds and images left to egui ({e})"),
                }
            }
            if let Some(interval) = stats_every.and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()) {
                app.log_stats_every(interval);
            }
            // The trainer's threads exist by now, at normal priority; the window's give way to them.
            if ui_nice > 0 {
                let lowered = crate::threads::lower_window_threads(ui_nice);
                if !lowered.is_empty() {
                    eprintln!(
                        "rbm-lab: window threads at nice {ui_nice} so that training keeps the cores ({}; --ui-nice 0 to keep them at normal priority)",
                        lowered.join(", ")
                    );
                }
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}
