//! rbm-lab: parse the command line, then open the window or run a headless command.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rbm_lab::app::files::DialogMode;
use rbm_lab::app::{RbmLabApp, look};
use rbm_lab::cli::{
    Cli, FileDialogArg, LookArg, Subcommands, default_threads, load_dataset, run_bench, run_eval, run_inpaint,
    run_probe, run_sample, run_train,
};
use rbm_lab::model::ModelSpec;
use rbm_lab::trainer::TrainerOptions;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print to stdout and succeed.
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "rbm-lab: {}", argument_error_line(&error));
            return ExitCode::FAILURE;
        }
    };
    let success = |()| ExitCode::SUCCESS;
    let result = match &cli.command {
        Some(Subcommands::Train(args)) => run_train(args, &cli.window),
        Some(Subcommands::Sample(args)) => run_sample(args, &cli.window).map(success),
        Some(Subcommands::Bench(args)) => run_bench(args, &cli.window).map(success),
        Some(Subcommands::Eval(args)) => run_eval(args, &cli.window),
        Some(Subcommands::Inpaint(args)) => run_inpaint(args, &cli.window),
        Some(Subcommands::Probe(args)) => run_probe(args, &cli.window),
        None => run_window(&cli).map(success),
    };
    match result {
        Ok(status) => status,
        Err(e) => {
            // Not eprintln!, which panics when stderr is gone (a closed terminal).
            let _ = writeln!(std::io::stderr(), "rbm-lab: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn run_window(cli: &Cli) -> anyhow::Result<()> {
    let stats_every = cli.window.stats_every;
    let look = cli.window.look;
    let ui_nice = cli.window.ui_nice;
    let dialog_mode = match cli.window.file_dialog {
        FileDialogArg::Auto => DialogMode::Auto,
        FileDialogArg::System => DialogMode::System,
        FileDialogArg::Builtin => DialogMode::Builtin,
    };
    // Before the window lowers its own priority: evaluations and file jobs start from here.
    rbm_lab::threads::start_launcher()?;
    let dataset = Arc::new(load_dataset(cli.window.data.as_deref())?);
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: cli.window.window_hidden as usize, ..ModelSpec::default() },
        threads: default_threads(cli.window.threads),
        start_running: !cli.window.paused,
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
            rbm_lab::app::clear_instead_of_panel_fill(&cc.egui_ctx);
            let renderer = cc.gl.as_ref().map(|gl| rbm_lab::app::gl_paint::renderer_name(gl)).unwrap_or_default();
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
            if let Some(gl) = &cc.gl {
                match rbm_lab::app::gl_paint::OpaquePainter::new(gl) {
                    Ok(painter) => app.use_opaque_painter(painter),
                    Err(e) => eprintln!("rbm-lab: plot backgrounds and images left to egui ({e})"),
                }
            }
            if let Some(interval) = stats_every.and_then(|seconds| Duration::try_from_secs_f64(seconds).ok()) {
                app.log_stats_every(interval);
            }
            // The trainer's threads exist by now, at normal priority; the window's give way to them.
            if ui_nice > 0 {
                let lowered = rbm_lab::threads::lower_window_threads(ui_nice);
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

/// clap's message for a bad argument, on one line: its first line without the `error: ` prefix
/// (the usage and tips that follow are left to `--help`).
fn argument_error_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let first = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("invalid arguments");
    format!("{}; see --help", first.strip_prefix("error: ").unwrap_or(first))
}

/// The error and its causes on one line, skipping a cause whose text its parent already shows.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}
