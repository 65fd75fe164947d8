//! Plot backgrounds, grey images and (in the light look) the loss plot's dense batch line drawn
//! without egui's blended shading, when the window runs on glow.
//!
//! egui draws every mesh blended, through its general shader (a texture fetch, a colour
//! multiply, blending with what is below). On a machine without a GPU the window's OpenGL is Mesa's
//! llvmpipe, on the same cores as the trainer, and the plot backgrounds and the filter atlas are the
//! largest areas of the frame. Drawn here by small programs with blending off (one writes a
//! colour, one copies a texture's texels, one draws opaque column spans), they are the same pixels
//! at a fraction of llvmpipe's work. Without glow (egui_kittest's wgpu) or if a program does not
//! build, egui draws them itself.
//!
//! Much of llvmpipe's time goes to texel fetches, so the images are one byte per texel, and
//! egui's font texture (which every egui shape samples) is switched to nearest texels, which draws
//! the same pixels at 1:1 (see [`OpaquePainter::nearest_font_texels`]). The measurements behind
//! each of these, with the commands that repeat them: docs/performance.md.

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
    spans: Arc<SpanProgram>,
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

struct SpanProgram {
    program: glow::Program,
    spans: Option<glow::UniformLocation>,
    size: Option<glow::UniformLocation>,
    color: Option<glow::UniformLocation>,
    /// The spans of the line being drawn (one per pixel column, [`SPAN_ROW`] to a texture row),
    /// and the texture's size once it has one.
    texture: Mutex<Option<(glow::Texture, [i32; 2])>>,
}

/// Columns per row of the span texture: any width fits under the smallest maximum texture size.
const SPAN_ROW: usize = 1024;

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

// One rectangle per pixel column, from the column's (top, bottom) in pixels below the viewport's
// top: two triangles, six vertices, no vertex buffer.
const SPAN_VERTEX: &str = r#"
uniform sampler2D u_spans;
uniform vec2 u_size;
void main() {
    int column = gl_VertexID / 6;
    int corner = gl_VertexID - 6 * column;
    vec2 span = texelFetch(u_spans, ivec2(column % SPAN_ROW, column / SPAN_ROW), 0).rg;
    float right = (corner == 1 || corner == 4 || corner == 5) ? 1.0 : 0.0;
    float y = (corner == 2 || corner == 3 || corner == 5) ? span.y : span.x;
    vec2 pixel = vec2(float(column) + right, y);
    gl_Position = vec4(pixel.x / u_size.x * 2.0 - 1.0, 1.0 - pixel.y / u_size.y * 2.0, 0.0, 1.0);
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
            let span_header = format!("{header}const int SPAN_ROW = {SPAN_ROW};\n");
            let spans = match link(gl, &span_header, SPAN_VERTEX, FRAGMENT) {
                Ok(spans) => spans,
                Err(e) => {
                    gl.delete_program(program);
                    gl.delete_program(image);
                    return Err(e);
                }
            };
            Ok(Self {
                program: Arc::new(FillProgram { program, color }),
                image: Arc::new(ImageProgram { program: image, sampler }),
                spans: Arc::new(SpanProgram {
                    program: spans,
                    spans: gl.get_uniform_location(spans, "u_spans"),
                    size: gl.get_uniform_location(spans, "u_size"),
                    color: gl.get_uniform_location(spans, "u_color"),
                    texture: Mutex::new(None),
                }),
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
            if let Some((texture, _)) = self.spans.texture.lock().ok().and_then(|mut t| t.take()) {
                gl.delete_texture(texture);
            }
            gl.delete_program(self.program.program);
            gl.delete_program(self.image.program);
            gl.delete_program(self.spans.program);
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

    /// A line drawn as one opaque vertical span per pixel column of `rect` (see [`column_spans`]):
    /// two triangles a column, one colour, no blending and no texture lookup per pixel. egui draws
    /// the same dense line as a band with feathered (anti-aliased) edges, six triangles a column
    /// through its blended shader, which under software OpenGL was a fifth of a frame's rendering.
    pub fn column_spans(&self, rect: Rect, spans: Vec<[f32; 2]>, color: Color32) -> Shape {
        let program = self.spans.clone();
        let [r, g, b, a] = color.to_normalized_gamma_f32();
        let callback = CallbackFn::new(move |info, painter: &egui_glow::Painter| {
            let columns = spans.len();
            if columns == 0 {
                return;
            }
            let viewport = info.viewport_in_pixels();
            let Ok(mut texture) = program.texture.lock() else { return };
            let gl = painter.gl();
            let size = [SPAN_ROW.min(columns) as i32, columns.div_ceil(SPAN_ROW) as i32];
            let mut texels: Vec<u8> = Vec::with_capacity(8 * (size[0] * size[1]) as usize);
            texels.extend(spans.iter().flatten().flat_map(|y| y.to_ne_bytes()));
            texels.resize(8 * (size[0] * size[1]) as usize, 0);
            unsafe {
                let handle = match *texture {
                    Some((handle, _)) => handle,
                    None => match gl.create_texture() {
                        Ok(handle) => handle,
                        Err(_) => return,
                    },
                };
                gl.active_texture(glow::TEXTURE0);
                gl.bind_texture(glow::TEXTURE_2D, Some(handle));
                gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
                let data = glow::PixelUnpackData::Slice(Some(&texels));
                if texture.is_some_and(|(_, allocated)| allocated == size) {
                    gl.tex_sub_image_2d(glow::TEXTURE_2D, 0, 0, 0, size[0], size[1], glow::RG, glow::FLOAT, data);
                } else {
                    for (parameter, value) in [
                        (glow::TEXTURE_MIN_FILTER, glow::NEAREST),
                        (glow::TEXTURE_MAG_FILTER, glow::NEAREST),
                        (glow::TEXTURE_MAX_LEVEL, 0),
                    ] {
                        gl.tex_parameter_i32(glow::TEXTURE_2D, parameter, value as i32);
                    }
                    let format = glow::RG32F as i32;
                    gl.tex_image_2d(glow::TEXTURE_2D, 0, format, size[0], size[1], 0, glow::RG, glow::FLOAT, data);
                }
                *texture = Some((handle, size));
                gl.disable(glow::BLEND);
                gl.use_program(Some(program.program));
                gl.uniform_1_i32(program.spans.as_ref(), 0);
                gl.uniform_2_f32(program.size.as_ref(), viewport.width_px as f32, viewport.height_px as f32);
                gl.uniform_4_f32(program.color.as_ref(), r, g, b, a);
                gl.draw_arrays(glow::TRIANGLES, 0, 6 * columns as i32);
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

/// A polyline rasterised into one vertical span per pixel column, for
/// [`OpaquePainter::column_spans`]: `points` in pixels from the left and top of an area `columns`
/// pixels wide and `height` high, in order of x. Each column's span runs from the highest to the
/// lowest y the line takes inside the column, widened by half the `pen` (the line's width in
/// pixels) at both ends; the spans of neighbouring columns therefore touch, and a flat line is
/// `pen` pixels tall. Columns the line does not reach get an empty span (top = bottom = 0).
pub fn column_spans(points: &[(f32, f32)], columns: usize, height: f32, pen: f32) -> Vec<[f32; 2]> {
    if columns == 0 {
        return Vec::new();
    }
    let mut reach = vec![[f32::INFINITY, f32::NEG_INFINITY]; columns];
    let mut extend = |column: usize, y0: f32, y1: f32| {
        let span = &mut reach[column];
        span[0] = span[0].min(y0.min(y1));
        span[1] = span[1].max(y0.max(y1));
    };
    let last = columns as f32;
    let finite: Vec<(f32, f32)> = points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    if let [(x, y)] = finite[..]
        && (0.0..last).contains(&x)
    {
        extend(x as usize, y, y);
    }
    for pair in finite.windows(2) {
        let [(ax, ay), (bx, by)] = [pair[0], pair[1]];
        let ((ax, ay), (bx, by)) = if ax <= bx { ((ax, ay), (bx, by)) } else { ((bx, by), (ax, ay)) };
        if bx < 0.0 || ax >= last {
            continue;
        }
        let y_at = |x: f32| ay + (by - ay) * (x - ax) / (bx - ax);
        for column in ax.max(0.0) as usize..=bx.min(last - 1.0) as usize {
            let (left, right) = (ax.max(column as f32), bx.min(column as f32 + 1.0));
            // A vertical segment (both ends in one column) spans its two ends.
            let (y0, y1) = if bx > ax { (y_at(left), y_at(right)) } else { (ay, by) };
            extend(column, y0, y1);
        }
    }
    reach
        .into_iter()
        .map(|[low, high]| {
            if low > high {
                return [0.0, 0.0];
            }
            [(low - 0.5 * pen).clamp(0.0, height), (high + 0.5 * pen).clamp(0.0, height)]
        })
        .collect()
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
    // a large share of a software renderer's time for lines barely visible.
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

#[cfg(test)]
mod tests {
    use super::column_spans;

    #[test]
    fn a_flat_line_is_one_pen_tall_in_every_column() {
        let spans = column_spans(&[(0.0, 10.3), (5.0, 10.3)], 5, 100.0, 1.0);
        assert_eq!(spans.len(), 5);
        for span in spans {
            assert!((span[0] - 9.8).abs() < 1e-5 && (span[1] - 10.8).abs() < 1e-5, "{span:?}");
        }
    }

    #[test]
    fn a_steep_segment_is_split_between_the_columns_it_crosses() {
        let spans = column_spans(&[(0.5, 0.0), (1.5, 20.0)], 4, 15.0, 1.0);
        // Column 0 holds x in [0.5, 1]: y 0 to 10; column 1, x in [1, 1.5]: y 10 to 20, cut at the
        // bottom (15). Neighbouring spans meet, so the line has no gap.
        assert_eq!(spans[0], [0.0, 10.5]);
        assert_eq!(spans[1], [9.5, 15.0]);
        assert_eq!(spans[2], [0.0, 0.0]);
        assert_eq!(spans[3], [0.0, 0.0]);
    }

    #[test]
    fn segments_beyond_the_edges_are_cut_and_bad_points_skipped() {
        let spans = column_spans(&[(-10.0, 5.0), (f32::NAN, 1.0), (10.0, 5.0), (30.0, 5.0)], 4, 50.0, 2.0);
        assert_eq!(spans, vec![[4.0, 6.0]; 4]);
        // Entirely outside: nothing drawn; a segment across the area is drawn in every column.
        assert_eq!(column_spans(&[(-3.0, 1.0), (-1.0, 2.0)], 4, 50.0, 1.0), vec![[0.0, 0.0]; 4]);
        assert_eq!(column_spans(&[(4.0, 1.0), (12.0, 1.0)], 4, 50.0, 1.0), vec![[0.0, 0.0]; 4]);
        let across = column_spans(&[(-1.0, 2.0), (9.0, 1.0)], 4, 50.0, 1.0);
        assert!(across.iter().all(|[top, bottom]| bottom - top > 1.0 - 1e-5), "{across:?}");
        assert!(column_spans(&[(1.0, 1.0), (2.0, 2.0)], 0, 50.0, 1.0).is_empty());
        // A single point marks its column.
        assert_eq!(column_spans(&[(2.5, 7.0)], 4, 50.0, 1.0)[2], [6.5, 7.5]);
    }

    #[test]
    fn every_point_of_a_noisy_line_is_covered() {
        let points: Vec<(f32, f32)> =
            (0..500).map(|i| (i as f32 * 0.37, 40.0 + ((i * 7919) % 61) as f32 - 30.0)).collect();
        let columns = 185;
        let spans = column_spans(&points, columns, 80.0, 1.0);
        for &(x, y) in &points {
            let span = spans[(x as usize).min(columns - 1)];
            assert!(span[0] <= y && y <= span[1], "({x}, {y}) outside {span:?}");
        }
        // And the line is connected: each column's span meets the next one's.
        for pair in spans.windows(2) {
            assert!(pair[0][0] <= pair[1][1] && pair[1][0] <= pair[0][1], "{pair:?}");
        }
    }
}
