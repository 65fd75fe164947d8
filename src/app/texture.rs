//! A grey image kept on the GPU side, re-uploaded only when its pixels change: an egui texture, or
//! under a software renderer a texture of its image program (`software_render`), which llvmpipe
//! draws at a fraction of the cost of egui's blended mesh.

use egui::{ColorImage, TextureHandle, TextureOptions};

use crate::images::GrayImage;

use super::software_render::{ProgramImage, Render};

#[derive(Default)]
pub struct GrayTexture {
    handle: Option<TextureHandle>,
    program: Option<ProgramImage>,
    /// The image's size in pixels, once it has pixels.
    size: Option<[usize; 2]>,
}

impl GrayTexture {
    /// Draw as `render` draws images: through its image program if it has one, else as an egui
    /// texture. The pixels are set again after this.
    pub fn use_render(&mut self, render: &Render) {
        self.handle = None;
        self.size = None;
        self.program = render.program_image();
    }

    pub fn set(&mut self, ctx: &egui::Context, name: &str, image: &GrayImage) {
        self.size = Some([image.width, image.height]);
        if let Some(program) = &self.program {
            program.set(image);
            return;
        }
        let color = ColorImage::from_gray([image.width, image.height], &image.pixels);
        match &mut self.handle {
            Some(handle) => handle.set(color, TextureOptions::NEAREST),
            None => self.handle = Some(ctx.load_texture(name, color, TextureOptions::NEAREST)),
        }
    }

    /// The image's size in pixels; `None` until it has pixels.
    pub fn size(&self) -> Option<[usize; 2]> {
        self.size
    }

    /// Shows the image stretched to `size` points (nearest texel, like egui's NEAREST textures).
    pub fn show(&self, ui: &mut egui::Ui, size: egui::Vec2, sense: egui::Sense) -> egui::Response {
        let (rect, response) = ui.allocate_exact_size(size, sense);
        if ui.is_rect_visible(rect) {
            if let Some(program) = &self.program {
                ui.painter().add(program.paint(rect));
            } else if let Some(handle) = &self.handle {
                egui::Image::new(handle).paint_at(ui, rect);
            }
        }
        response
    }
}

/// The largest size with the image's aspect ratio that fits in `available`, in whole multiples of
/// the image's pixels when it is magnified a lot (even pixels), never below a quarter of its size.
pub fn fit_size(image: [usize; 2], available: egui::Vec2) -> egui::Vec2 {
    let (w, h) = (image[0].max(1) as f32, image[1].max(1) as f32);
    let mut scale = (available.x / w).min(available.y / h);
    if scale >= 3.0 {
        scale = scale.floor();
    }
    let scale = scale.max(0.25);
    egui::vec2(w * scale, h * scale)
}
