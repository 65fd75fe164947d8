//! Plot backgrounds and grey images drawn without egui's blended shading, when the window runs on
//! glow.
//!
//! egui draws every mesh blended, through its general shader (a texture fetch, a colour
//! multiply, blending with what is below). On a machine without a GPU the window's OpenGL is Mesa's
//! llvmpipe, on the same cores as the trainer, and the plot backgrounds and the filter atlas are the
//! largest areas of the frame. Drawn here by two small programs with blending off (one writes a
//! colour, the other copies a texture's texels), they are the same pixels at a fraction of
//! llvmpipe's work: the loss plot's background went from ~4.8% of a core to ~1% at 32 frames/s, and
//! one draw of the 256-filter atlas from ~1.0 ms to ~0.28 ms of llvmpipe time. Without glow
//! (egui_kittest's wgpu) or if a program does not build, egui draws them itself.
//!
//! Where llvmpipe's time went after that (perf, 2026-11-27): its texel fetches. The images are
//! therefore one byte per texel, and egui's font texture (which every egui shape samples) is
//! switched to nearest texels, which draws the same pixels at 1:1 (see
//! [`OpaquePainter::nearest_font_texels`]).

use std::sync::{Arc, Mutex};

use eframe::egui_glow::{self, CallbackFn, ShaderVersion};
use eframe::glow::{self, HasContext as _};
use egui::{Color32, PaintCallback, Rect, Shape};
use egui_plot::{Plot, PlotResponse, PlotUi};

/// The GL programs, built once at start-up on the UI thread.
#[derive(Clone)]
pub struct OpaquePainter {
    program: Arc<FillProgram>,
    image: Arc<ImageProgram>,
    /// The images made by [`Self::image`], whose textures [`Self::destroy`] frees.
    images: Arc<Mutex<Vec<Arc<Mutex<ImageState>>>>>,
}

struct FillProgram {
    program: glow::Program,
    color: Option<glow::UniformLocation>,
}

struct ImageProgram {
    program: glow::Program,
    sampler: Option<glow::UniformLocation>,
}

// Four corners over the whole viewport (egui sets the viewport to the callback's rectangle), with
// texture coordinates for the image program: the image's first row at the top.
const VERTEX: &str = r#"
out vec2 v_tc;
void main() {
    vec2 corner = vec2(float(((gl_VertexID + 1) >> 1) & 1), float(gl_VertexID >> 1));
    v_tc = vec2(corner.x, 1.0 - corner.y);
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

const IMAGE_FRAGMENT: &str = r#"
uniform sampler2D u_image;
in vec2 v_tc;
out vec4 f_color;
void main() {
    float grey = texture(u_image, v_tc).r;
    f_color = vec4(grey, grey, grey, 1.0);
}
"#;

impl OpaquePainter {
    /// Builds the programs on `gl` (the UI thread's context, at start-up). On an error the plots
    /// keep egui_plot's own backgrounds and the images egui's textures.
    pub fn new(gl: &glow::Context) -> Result<Self, String> {
        let version = ShaderVersion::get(gl);
        if !version.is_new_shader_interface() {
            return Err(format!("GLSL {version:?} has no gl_VertexID"));
        }
        let precision = if matches!(version, ShaderVersion::Es300) { "precision mediump float;\n" } else { "" };
        let header = format!("{}{precision}", version.version_declaration());
        unsafe {
            let program = link(gl, &header, VERTEX, FRAGMENT)?;
            let color = gl.get_uniform_location(program, "u_color");
            let image = match link(gl, &header, VERTEX, IMAGE_FRAGMENT) {
                Ok(image) => image,
                Err(e) => {
                    gl.delete_program(program);
                    return Err(e);
                }
            };
            let sampler = gl.get_uniform_location(image, "u_image");
            Ok(Self {
                program: Arc::new(FillProgram { program, color }),
                image: Arc::new(ImageProgram { program: image, sampler }),
                images: Arc::default(),
            })
        }
    }

    /// Frees the programs and the images' textures (the window is closing).
    pub fn destroy(&self, gl: &glow::Context) {
        let images = self.images.lock().map(|images| images.clone()).unwrap_or_default();
        unsafe {
            for image in images {
                if let Some(texture) = image.lock().ok().and_then(|mut state| state.texture.take()) {
                    gl.delete_texture(texture);
                }
            }
            gl.delete_program(self.program.program);
            gl.delete_program(self.image.program);
        }
    }

    /// A grey image drawn by this painter (its texture is made at its first paint).
    pub fn image(&self) -> GlImage {
        let state = Arc::<Mutex<ImageState>>::default();
        if let Ok(mut images) = self.images.lock() {
            images.push(state.clone());
        }
        GlImage { program: self.image.clone(), state }
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

    /// A paint callback (draws nothing) that makes egui's font texture sample the nearest texel
    /// instead of blending four. egui draws text 1:1 from that texture at whole pixels, and every
    /// flat shape from its white texels, so the pixels stay the same; llvmpipe's bilinear fetch
    /// (four gathers per eight pixels) was the largest item in its profile of a frame. egui_glow
    /// sets the filter again whenever the texture grows, so this goes first in every frame.
    pub fn nearest_font_texels(&self) -> Shape {
        let callback = CallbackFn::new(|_info, painter| {
            let Some(texture) = painter.texture(egui::TextureId::default()) else { return };
            let gl = painter.gl();
            // SAFETY: plain state calls on the current context; egui_glow binds its own texture
            // before each mesh, so leaving this one bound is harmless.
            unsafe {
                gl.bind_texture(glow::TEXTURE_2D, Some(texture));
                gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAG_FILTER, glow::NEAREST as i32);
                gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MIN_FILTER, glow::NEAREST as i32);
            }
        });
        let rect = Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1.0, 1.0));
        Shape::Callback(PaintCallback { rect, callback: Arc::new(callback) })
    }
}

/// OpenGL's name for the renderer (`GL_RENDERER`), e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
pub fn renderer_name(gl: &glow::Context) -> String {
    // SAFETY: a plain query; eframe keeps its context current on the thread that calls this.
    unsafe { gl.get_parameter_string(glow::RENDERER) }
}

/// Shows `plot` with grid lines no closer than 24 points and its background filled by `painter`
/// (when there is one) instead of egui_plot: the same rectangle in `extreme_bg_color` with the
/// widgets' hairline inside and their rounding (egui_plot's 2 points, square in the light look).
/// Its place is reserved before the plot draws; the rectangle is known only after.
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
    let corners = ui.visuals().widgets.noninteractive.corner_radius; // 2, as egui_plot's; 0 in the light look
    clipped.set(places[1], egui::epaint::RectShape::stroke(rect, corners, stroke, egui::StrokeKind::Inside));
    response
}

/// A grey image as a one-channel texture (R8, nearest sampling), drawn unblended by
/// [`OpaquePainter`]'s image program as (g, g, g, 1): the same pixels as egui's `Image` with
/// `TextureOptions::NEAREST` over an opaque image. One byte per texel rather than four: llvmpipe
/// fetches texels by gathers, which stall on cache misses, and a quarter of the bytes cut the
/// image program's time by about a third.
#[derive(Clone)]
pub struct GlImage {
    program: Arc<ImageProgram>,
    state: Arc<Mutex<ImageState>>,
}

#[derive(Default)]
struct ImageState {
    texture: Option<glow::Texture>,
    /// The texture's size, once it has one.
    allocated: Option<[usize; 2]>,
    /// The latest grey levels (one byte per pixel) and their size, uploaded at the next paint when
    /// `changed`.
    size: [usize; 2],
    texels: Vec<u8>,
    changed: bool,
}

impl GlImage {
    /// New pixels, uploaded when the image is next painted (on the UI thread, where GL is).
    pub fn set(&self, image: &crate::images::GrayImage) {
        let Ok(mut state) = self.state.lock() else { return };
        state.size = [image.width, image.height];
        state.texels.clear();
        state.texels.extend_from_slice(&image.pixels);
        state.changed = true;
    }

    /// The image stretched over `rect`.
    pub fn paint(&self, rect: Rect) -> Shape {
        let program = self.program.clone();
        let state = self.state.clone();
        let callback = CallbackFn::new(move |_info, painter: &egui_glow::Painter| {
            let Ok(mut state) = state.lock() else { return };
            let gl = painter.gl();
            unsafe {
                let Some(texture) = state.upload(gl) else { return };
                gl.disable(glow::BLEND);
                gl.use_program(Some(program.program));
                gl.active_texture(glow::TEXTURE0);
                gl.bind_texture(glow::TEXTURE_2D, Some(texture));
                gl.uniform_1_i32(program.sampler.as_ref(), 0);
                gl.draw_arrays(glow::TRIANGLE_FAN, 0, 4);
            }
        });
        Shape::Callback(PaintCallback { rect, callback: Arc::new(callback) })
    }
}

impl ImageState {
    /// Makes or refreshes the texture from the latest pixels; `None` if there is nothing to draw.
    unsafe fn upload(&mut self, gl: &glow::Context) -> Option<glow::Texture> {
        let [width, height] = self.size;
        if width == 0 || height == 0 || self.texels.len() != width * height {
            return None;
        }
        let texture = match self.texture {
            Some(texture) => texture,
            None => {
                let texture = unsafe { gl.create_texture() }.ok()?;
                self.texture = Some(texture);
                self.allocated = None;
                self.changed = true;
                texture
            }
        };
        if !self.changed {
            return Some(texture);
        }
        self.changed = false;
        let pixels = glow::PixelUnpackData::Slice(Some(&self.texels));
        let (w, h) = (width as i32, height as i32);
        unsafe {
            gl.bind_texture(glow::TEXTURE_2D, Some(texture));
            gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 1);
            if self.allocated == Some(self.size) {
                gl.tex_sub_image_2d(glow::TEXTURE_2D, 0, 0, 0, w, h, glow::RED, glow::UNSIGNED_BYTE, pixels);
            } else {
                for (parameter, value) in [
                    (glow::TEXTURE_MIN_FILTER, glow::NEAREST),
                    (glow::TEXTURE_MAG_FILTER, glow::NEAREST),
                    (glow::TEXTURE_WRAP_S, glow::CLAMP_TO_EDGE),
                    (glow::TEXTURE_WRAP_T, glow::CLAMP_TO_EDGE),
                ] {
                    gl.tex_parameter_i32(glow::TEXTURE_2D, parameter, value as i32);
                }
                // One level: no mipmaps to complete.
                gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAX_LEVEL, 0);
                let format = glow::R8 as i32;
                gl.tex_image_2d(glow::TEXTURE_2D, 0, format, w, h, 0, glow::RED, glow::UNSIGNED_BYTE, pixels);
                self.allocated = Some(self.size);
            }
        }
        Some(texture)
    }
}

unsafe fn link(gl: &glow::Context, header: &str, vertex: &str, fragment: &str) -> Result<glow::Program, String> {
    unsafe {
        let program = gl.create_program()?;
        let mut shaders = Vec::new();
        for (kind, body) in [(glow::VERTEX_SHADER, vertex), (glow::FRAGMENT_SHADER, fragment)] {
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
