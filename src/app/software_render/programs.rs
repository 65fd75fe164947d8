//! Plot backgrounds and grey images drawn by two small GL programs with blending off.
//!
//! egui draws every mesh blended, through its general shader (a texture fetch, a colour multiply,
//! blending with what is below). Under a software rasterizer the plot backgrounds and the filter
//! atlas are the largest areas of the frame; drawn here by a program that writes one colour and
//! one that copies a texture's texels, both unblended, they are the same pixels at a fraction of
//! llvmpipe's work (docs/performance.md, builds 1 and 3).
//!
//! Every GL call here runs on the UI thread, in eframe's creation context or in a paint callback,
//! where eframe keeps its OpenGL context current: that is the one precondition of glow's `unsafe`
//! functions that the arguments below do not already meet.

use std::sync::{Arc, Mutex};

use eframe::egui_glow::{self, CallbackFn, ShaderVersion};
use eframe::glow::{self, HasContext as _};
use egui::{Color32, PaintCallback, Rect, Shape};

/// The programs, built once at start-up on the UI thread.
#[derive(Clone)]
pub(super) struct Programs {
    fill: Arc<FillProgram>,
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

const FILL_FRAGMENT: &str = r#"
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

impl Programs {
    /// Builds the programs on `gl` (the UI thread's context, at start-up). On an error the plots
    /// keep egui_plot's own backgrounds and the images egui's textures.
    pub(super) fn new(gl: &glow::Context) -> Result<Self, String> {
        let version = ShaderVersion::get(gl);
        if !version.is_new_shader_interface() {
            return Err(format!("GLSL {version:?} has no gl_VertexID"));
        }
        let precision = if matches!(version, ShaderVersion::Es300) { "precision mediump float;\n" } else { "" };
        let header = format!("{}{precision}", version.version_declaration());
        // SAFETY: called from eframe's creation context on the UI thread (see the module header).
        let fill = unsafe { link(gl, &header, VERTEX, FILL_FRAGMENT) }?;
        // SAFETY: as above.
        let image = match unsafe { link(gl, &header, VERTEX, IMAGE_FRAGMENT) } {
            Ok(image) => image,
            Err(e) => {
                // SAFETY: as above; `fill` was made on this context and is used nowhere else.
                unsafe { gl.delete_program(fill) };
                return Err(e);
            }
        };
        // SAFETY: as above; queries on programs just linked on this context.
        let (color, sampler) =
            unsafe { (gl.get_uniform_location(fill, "u_color"), gl.get_uniform_location(image, "u_image")) };
        Ok(Self {
            fill: Arc::new(FillProgram { program: fill, color }),
            image: Arc::new(ImageProgram { program: image, sampler }),
            images: Arc::default(),
        })
    }

    /// Frees the programs and the images' textures (the window is closing).
    pub(super) fn destroy(&self, gl: &glow::Context) {
        let images = self.images.lock().map(|images| images.clone()).unwrap_or_default();
        for image in images {
            if let Some(texture) = image.lock().ok().and_then(|mut state| state.texture.take()) {
                // SAFETY: eframe's exit hook runs on the UI thread with the context current; the
                // texture was made on it and `take` leaves no other handle to it.
                unsafe { gl.delete_texture(texture) };
            }
        }
        // SAFETY: as above; no paint callback runs after the exit hook.
        unsafe {
            gl.delete_program(self.fill.program);
            gl.delete_program(self.image.program);
        }
    }

    /// A grey image drawn by the image program (its texture is made at its first paint).
    pub(super) fn image(&self) -> ProgramImage {
        let state = Arc::<Mutex<ImageState>>::default();
        if let Ok(mut images) = self.images.lock() {
            images.push(state.clone());
        }
        ProgramImage { program: self.image.clone(), state }
    }

    /// `rect` filled with the opaque `color`, unblended.
    pub(super) fn fill(&self, rect: Rect, color: Color32) -> Shape {
        let program = self.fill.clone();
        let [r, g, b, a] = color.to_normalized_gamma_f32();
        let callback = CallbackFn::new(move |_info, painter: &egui_glow::Painter| {
            let gl = painter.gl();
            // SAFETY: a paint callback (UI thread, context current); the program was linked on
            // this context and draws four vertices generated from gl_VertexID, with no buffers.
            // egui restores its own state (blending included) after each callback.
            unsafe {
                gl.disable(glow::BLEND);
                gl.use_program(Some(program.program));
                gl.uniform_4_f32(program.color.as_ref(), r, g, b, a);
                gl.draw_arrays(glow::TRIANGLE_FAN, 0, 4);
            }
        });
        Shape::Callback(PaintCallback { rect, callback: Arc::new(callback) })
    }
}

/// OpenGL's name for the renderer (`GL_RENDERER`), e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
pub(super) fn renderer_name(gl: &glow::Context) -> String {
    // SAFETY: a plain query, from eframe's creation context on the UI thread.
    unsafe { gl.get_parameter_string(glow::RENDERER) }
}

/// A grey image as a one-channel texture (R8, nearest sampling), drawn unblended by the image
/// program as (g, g, g, 1): the same pixels as egui's `Image` with `TextureOptions::NEAREST` over
/// an opaque image. One byte per texel rather than four: llvmpipe fetches texels by gathers, which
/// stall on cache misses, and a quarter of the bytes cut the image program's time by about a third.
#[derive(Clone)]
pub struct ProgramImage {
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

impl ProgramImage {
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
            let Some(texture) = state.upload(gl) else { return };
            // SAFETY: a paint callback (UI thread, context current); program and texture were
            // made on this context, and the draw reads four vertices generated from gl_VertexID.
            unsafe {
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
    /// Called from paint callbacks only (UI thread, context current).
    fn upload(&mut self, gl: &glow::Context) -> Option<glow::Texture> {
        let [width, height] = self.size;
        if width == 0 || height == 0 || self.texels.len() != width * height {
            return None;
        }
        let (Ok(w), Ok(h)) = (i32::try_from(width), i32::try_from(height)) else { return None };
        let texture = match self.texture {
            Some(texture) => texture,
            None => {
                // SAFETY: a paint callback (UI thread, context current); creating a name has no
                // other precondition.
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
        // SAFETY: context current as above. With UNPACK_ALIGNMENT 1, a w x h RED/UNSIGNED_BYTE
        // upload reads exactly w * h bytes, which is `texels.len()` (checked at the top); the
        // sub-image is written only into a texture allocated at this very size.
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

/// Compiles `vertex` and `fragment` (each after `header`) and links them into a program.
///
/// # Safety
/// `gl` must be the context current on the calling thread.
unsafe fn link(gl: &glow::Context, header: &str, vertex: &str, fragment: &str) -> Result<glow::Program, String> {
    // SAFETY: the caller makes sure `gl` is current; every object used below is made here, on it,
    // and deleted on every path that does not return it.
    unsafe {
        let program = gl.create_program()?;
        let mut shaders = Vec::new();
        for (kind, body) in [(glow::VERTEX_SHADER, vertex), (glow::FRAGMENT_SHADER, fragment)] {
            let shader = match gl.create_shader(kind) {
                Ok(shader) => shader,
                Err(e) => {
                    shaders.into_iter().for_each(|s| gl.delete_shader(s));
                    gl.delete_program(program);
                    return Err(e);
                }
            };
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
