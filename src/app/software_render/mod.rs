//! What the window does differently when OpenGL renders on the CPU, behind one switch.
//!
//! Without a GPU the window's OpenGL is Mesa's llvmpipe (a VM, a remote desktop, Xvfb), which
//! rasterizes every frame on the cores the trainer uses. [`SoftwareRender`] is decided once at
//! start-up, from `GL_RENDERER`, and is present only for a software rasterizer. Then:
//! - plot backgrounds and grey images are drawn by two small unblended GL programs
//!   (`programs`), reached by the views only through the opaque [`Render`] handle;
//! - egui's font texture is sampled at the nearest texel (`font_texels`), re-applied only in
//!   frames that change that texture;
//! - the UI and llvmpipe threads get a lower priority (`renice`, `--ui-nice`);
//! - the light look (`look`: square corners, no shadows, the batch loss line not anti-aliased) is
//!   on unless `--look full`; and the frame rate while training starts at 15 frames/s rather than
//!   60 (`super::frame_rate`).
//!
//! With a GPU (or egui_kittest's wgpu) none of this runs: no programs, no font override, no
//! renicing, and the views draw with egui's own meshes. `--look light` there turns on the look
//! only. The measurements behind each piece: docs/performance.md.

mod font_texels;
pub mod look;
mod programs;
pub mod renice;

use std::sync::Arc;

use eframe::glow;
use egui_plot::{Plot, PlotResponse, PlotUi};

pub use programs::ProgramImage;
pub use renice::DEFAULT_UI_NICE;

/// How the views draw plot backgrounds and grey images: egui's own meshes (the default: a GPU,
/// egui_kittest), or the software renderer's programs. Cheap to clone.
#[derive(Clone, Default)]
pub struct Render {
    programs: Option<programs::Programs>,
}

impl Render {
    /// An image for the image program, when there is one (`GrayTexture` draws through it).
    pub fn program_image(&self) -> Option<ProgramImage> {
        self.programs.as_ref().map(|programs| programs.image())
    }

    /// Shows `plot` with grid lines no closer than 24 points and, with the programs, its
    /// background filled by the fill program instead of egui_plot: the same rectangle in
    /// `extreme_bg_color` with the widgets' hairline inside and their rounding (egui_plot's 2
    /// points, square in the light look). Its place is reserved before the plot draws; the
    /// rectangle is known only after.
    pub fn show_plot<'a, R>(
        &self,
        ui: &mut egui::Ui,
        plot: Plot<'a>,
        build: impl FnOnce(&mut PlotUi<'a>) -> R + 'a,
    ) -> PlotResponse<R> {
        // Grid lines no closer than 24 points (egui_plot's default is 8, fading in to full strength
        // at 300): the faint sub-grid it drew between 8 and 24 points was up to ~150 long lines a
        // frame, a large share of a software renderer's time for lines barely visible.
        let plot = plot.grid_spacing(egui::Rangef::new(24.0, 300.0));
        let Some(programs) = &self.programs else { return plot.show(ui, build) };
        let places = [ui.painter().add(egui::Shape::Noop), ui.painter().add(egui::Shape::Noop)];
        let response = plot.show_background(false).show(ui, build);
        let rect = *response.transform.frame();
        let clipped = ui.painter().with_clip_rect(rect);
        let stroke = ui.visuals().widgets.noninteractive.bg_stroke;
        // Inset by the hairline, which keeps the rounded corners egui draws with it.
        clipped.set(places[0], programs.fill(rect.shrink(stroke.width), ui.visuals().extreme_bg_color));
        let corners = ui.visuals().widgets.noninteractive.corner_radius; // 2, as egui_plot's; 0 in the light look
        clipped.set(places[1], egui::epaint::RectShape::stroke(rect, corners, stroke, egui::StrokeKind::Inside));
        response
    }
}

/// The software renderer's workarounds, decided once at start-up (see the module header).
pub struct SoftwareRender {
    renderer: String,
    render: Render,
}

impl SoftwareRender {
    /// Present when `gl` (eframe's context, on the UI thread at start-up) renders in software: the
    /// programs are built (if one does not build, egui draws those shapes, as with a GPU) and the
    /// font override is installed on `ctx`. `None` with a GPU or without glow.
    pub fn detect(ctx: &egui::Context, gl: Option<&Arc<glow::Context>>) -> Option<Self> {
        let gl = gl?;
        let renderer = programs::renderer_name(gl);
        if !look::is_software_renderer(&renderer) {
            return None;
        }
        let programs = programs::Programs::new(gl)
            .map_err(|e| eprintln!("rbm-lab: plot backgrounds and images left to egui ({e})"))
            .ok();
        ctx.add_plugin(font_texels::NearestFontTexels::default());
        Some(Self { renderer, render: Render { programs } })
    }

    /// OpenGL's name for the renderer, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub fn renderer(&self) -> &str {
        &self.renderer
    }

    /// The views' handle on the programs.
    pub fn render(&self) -> &Render {
        &self.render
    }

    /// The window's threads (this one, the UI thread, and llvmpipe's) take nice value `nice` once
    /// the trainer's threads exist, and the person is told which (0: left alone).
    pub fn give_way_to_training(&self, nice: i32) {
        if nice <= 0 {
            return;
        }
        let lowered = renice::lower_window_threads(nice);
        if !lowered.is_empty() {
            eprintln!(
                "rbm-lab: window threads at nice {nice} so that training keeps the cores ({}; --ui-nice 0 to keep them at normal priority)",
                lowered.join(", ")
            );
        }
    }

    /// Frees the programs and their images' textures (eframe's exit hook, context current).
    pub fn destroy(&self, gl: &glow::Context) {
        if let Some(programs) = &self.render.programs {
            programs.destroy(gl);
        }
    }
}
