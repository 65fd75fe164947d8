//! A grey image kept as one egui texture, re-uploaded only when its pixels change.

use egui::{ColorImage, TextureHandle, TextureOptions};

use crate::images::GrayImage;

#[derive(Default)]
pub struct GrayTexture {
    handle: Option<TextureHandle>,
}

impl GrayTexture {
    pub fn set(&mut self, ctx: &egui::Context, name: &str, image: &GrayImage) {
        let color = ColorImage::from_gray([image.width, image.height], &image.pixels);
        match &mut self.handle {
            Some(handle) => handle.set(color, TextureOptions::NEAREST),
            None => self.handle = Some(ctx.load_texture(name, color, TextureOptions::NEAREST)),
        }
    }

    pub fn handle(&self) -> Option<&TextureHandle> {
        self.handle.as_ref()
    }

    pub fn clear(&mut self) {
        self.handle = None;
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
