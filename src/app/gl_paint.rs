//! Plot backgrounds filled without egui's blended shading, when the window runs on glow.
//!
//! egui draws every mesh blended, through its general shader (a texture fetch, a colour
//! multiply, blending with what is below). On a machine without a GPU the window's OpenGL is Mesa's
//! llvmpipe, on the same cores as the trainer, and the plot backgrounds are the largest flat areas
//! of the frame. Filled here by a shader that writes one colour with blending off, they are the
//! same pixels at a fraction of llvmpipe's work (the loss plot's background went from ~4.8% of a
//! core to ~1% at 32 frames/s). Without glow (egui_kittest's wgpu) or if the program does not
//! build, egui_plot draws its own background.

use std::sync::Arc;

use eframe::egui_glow::{self, CallbackFn, ShaderVersion};
use eframe::glow::{self, HasContext as _};
use egui::{Color32, PaintCallback, Rect, Shape};
use egui_plot::{Plot, PlotResponse, PlotUi};

/// The GL program, built once at start-up on the UI thread.
#[derive(Clone)]
pub struct OpaquePainter {
    program: Arc<FillProgram>,
}

struct FillProgram {
    program: glow::Program,
    color: Option<glow::UniformLocation>,
}

// Four corners over the whole viewport (egui sets the viewport to the callback's rectangle).
const VERTEX: &str = r#"
void main() {
    vec2 corner = vec2(float(((gl_VertexID + 1) >> 1) & 1), float(gl_VertexID >> 1));
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
"#;

const FRAGMENT: &str = r#"
uniform vec4 u_color;
out vec4 f_color;
void main() {
    f_color = u_color;
}
"#;

impl OpaquePainter {
    /// Builds the program on `gl` (the UI thread's context, at start-up). On an error the plots
    /// keep egui_plot's own backgrounds.
    pub fn new(gl: &glow::Context) -> Result<Self, String> {
        let version = ShaderVersion::get(gl);
        if !version.is_new_shader_interface() {
            return Err(format!("GLSL {version:?} has no gl_VertexID"));
        }
        let precision = if matches!(version, ShaderVersion::Es300) { "precision mediump float;\n" } else { "" };
        let header = format!("{}{precision}", version.version_declaration());
        unsafe {
            let program = link(gl, &header)?;
            let color = gl.get_uniform_location(program, "u_color");
            Ok(Self { program: Arc::new(FillProgram { program, color }) })
        }
    }

    /// Frees the program (the window is closing).
    pub fn destroy(&self, gl: &glow::Context) {
        unsafe { gl.delete_program(self.program.program) };
    }

    /// `rect` filled with the opaque `color`, unblended.
    pub fn fill(&self, rect: Rect, color: Color32) -> Shape {
        let program = self.program.clone();
        let [r, g, b, a] = color.to_normalized_gamma_f32();
        let callback = CallbackFn::new(move |_info, painter: &egui_glow::Painter| {
            let gl = painter.gl();
            unsafe {
                // egui restores its own state (blending included) after each callback.
                gl.disable(glow::BLEND);
                gl.use_program(Some(program.program));
                gl.uniform_4_f32(program.color.as_ref(), r, g, b, a);
                gl.draw_arrays(glow::TRIANGLE_FAN, 0, 4);
            }
        });
        Shape::Callback(PaintCallback { rect, callback: Arc::new(callback) })
    }
}

/// Shows `plot` with grid lines no closer than 24 points and its background filled by `painter`
/// (when there is one) instead of egui_plot: the same rectangle in `extreme_bg_color` with the
/// widgets' hairline inside and a 2-point rounding. Its place is reserved before the plot draws;
/// the rectangle is known only after.
pub fn show_plot<'a, R>(
    ui: &mut egui::Ui,
    painter: Option<&OpaquePainter>,
    plot: Plot<'a>,
    build: impl FnOnce(&mut PlotUi<'a>) -> R + 'a,
) -> PlotResponse<R> {
    // Grid lines no closer than 24 points (egui_plot's default is 8, fading in to full strength at
    // 300): the faint sub-grid it drew between 8 and 24 points was up to ~150 long lines a frame,
    // up to ~5% of a core at 30 frames/s under software OpenGL, for lines barely visible.
    let plot = plot.grid_spacing(egui::Rangef::new(24.0, 300.0));
    let Some(painter) = painter else { return plot.show(ui, build) };
    let places = [ui.painter().add(Shape::Noop), ui.painter().add(Shape::Noop)];
    let response = plot.show_background(false).show(ui, build);
    let rect = *response.transform.frame();
    let clipped = ui.painter().with_clip_rect(rect);
    let stroke = ui.visuals().widgets.noninteractive.bg_stroke;
    // Inset by the hairline, which keeps the rounded corners egui draws with it.
    clipped.set(places[0], painter.fill(rect.shrink(stroke.width), ui.visuals().extreme_bg_color));
    clipped.set(places[1], egui::epaint::RectShape::stroke(rect, 2, stroke, egui::StrokeKind::Inside));
    response
}

unsafe fn link(gl: &glow::Context, header: &str) -> Result<glow::Program, String> {
    unsafe {
        let program = gl.create_program()?;
        let mut shaders = Vec::new();
        for (kind, body) in [(glow::VERTEX_SHADER, VERTEX), (glow::FRAGMENT_SHADER, FRAGMENT)] {
            let shader = gl.create_shader(kind)?;
            gl.shader_source(shader, &format!("{header}{body}"));
            gl.compile_shader(shader);
            let compiled = gl.get_shader_compile_status(shader);
            let log = gl.get_shader_info_log(shader);
            shaders.push(shader);
            if !compiled {
                shaders.into_iter().for_each(|s| gl.delete_shader(s));
                gl.delete_program(program);
                return Err(format!("shader: {log}"));
            }
            gl.attach_shader(program, shader);
        }
        gl.link_program(program);
        let linked = gl.get_program_link_status(program);
        let log = gl.get_program_info_log(program);
        for shader in shaders {
            gl.detach_shader(program, shader);
            gl.delete_shader(shader);
        }
        if linked {
            Ok(program)
        } else {
            gl.delete_program(program);
            Err(format!("program: {log}"))
        }
    }
}
