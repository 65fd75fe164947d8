//! egui's font texture sampled at the nearest texel instead of blending four.
//!
//! Every egui shape samples the font texture (text its glyphs, flat shapes its white texels), and
//! egui draws glyphs 1:1 at whole pixels, so nearest sampling gives the same pixels; llvmpipe's
//! bilinear fetch (four gathers per eight pixels) was the largest item in its profile of a frame
//! (docs/performance.md, build 4). egui asks for linear filtering, and egui_glow sets the filter
//! again whenever it uploads a change to the texture (a new glyph, a grown atlas). So the override
//! is a paint callback put first in the frames whose output changes the font texture, after
//! egui_glow's upload and before any mesh; in every other frame nothing runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use eframe::egui_glow::{self, CallbackFn};
use eframe::glow::{self, HasContext as _};
use egui::epaint::ClippedShape;
use egui::{FullOutput, PaintCallback, Rect, Shape, TextureId, TexturesDelta};

/// The egui plugin that adds the override (registered only for a software renderer).
#[derive(Default)]
pub(super) struct NearestFontTexels {
    /// Font-texture changes seen in the outputs so far.
    changes: u64,
    /// The highest change whose override has been painted (set by the paint callback).
    applied: Arc<AtomicU64>,
}

impl egui::Plugin for NearestFontTexels {
    fn debug_name(&self) -> &'static str {
        "rbm-lab nearest font texels"
    }

    fn output_hook(&mut self, _ctx: &egui::Context, output: &mut FullOutput) {
        let Some(change) = self.change_to_paint(&output.textures_delta) else { return };
        let applied = self.applied.clone();
        let callback = CallbackFn::new(move |_info, painter: &egui_glow::Painter| {
            let Some(texture) = painter.texture(TextureId::default()) else { return };
            let gl = painter.gl();
            // SAFETY: a paint callback runs on the UI thread with eframe's context current, and
            // `texture` is egui_glow's live font texture; egui_glow binds its own texture before
            // each mesh, so leaving this one bound is harmless.
            unsafe {
                gl.bind_texture(glow::TEXTURE_2D, Some(texture));
                gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MAG_FILTER, glow::NEAREST as i32);
                gl.tex_parameter_i32(glow::TEXTURE_2D, glow::TEXTURE_MIN_FILTER, glow::NEAREST as i32);
            }
            applied.fetch_max(change, Ordering::AcqRel);
        });
        // A callback's rectangle must have an area; this one draws nothing.
        let rect = Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1.0, 1.0));
        let shape = Shape::Callback(PaintCallback { rect, callback: Arc::new(callback) });
        let transform_after_tessellation = egui::emath::TSTransform::IDENTITY;
        output.shapes.insert(0, ClippedShape { clip_rect: rect, shape, transform_after_tessellation });
    }
}

impl NearestFontTexels {
    /// The change to paint the override for in an output with these texture changes, if any: one
    /// that changes the font texture, or any output while an earlier change has not been painted
    /// yet (egui drops the shapes of a discarded pass but keeps its texture changes).
    fn change_to_paint(&mut self, textures: &TexturesDelta) -> Option<u64> {
        if textures.set.contains_key(&TextureId::default()) {
            self.changes += 1;
        }
        (self.applied.load(Ordering::Acquire) < self.changes).then_some(self.changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::epaint::ImageDelta;
    use egui::{ColorImage, TextureOptions};

    fn delta(ids: &[TextureId]) -> TexturesDelta {
        let mut delta = TexturesDelta::default();
        for &id in ids {
            let image = ColorImage::filled([1, 1], egui::Color32::WHITE);
            delta.set.entry(id).or_default().push(ImageDelta::full(image, TextureOptions::LINEAR));
        }
        delta
    }

    #[test]
    fn the_override_is_painted_once_per_font_texture_change() {
        let mut plugin = NearestFontTexels::default();
        let font = TextureId::default();
        assert_eq!(plugin.change_to_paint(&delta(&[])), None, "nothing changed");
        assert_eq!(plugin.change_to_paint(&delta(&[TextureId::Managed(7)])), None, "another texture");
        assert_eq!(plugin.change_to_paint(&delta(&[font])), Some(1));
        // Not painted yet (a discarded pass): the next output carries it too.
        assert_eq!(plugin.change_to_paint(&delta(&[])), Some(1));
        plugin.applied.store(1, Ordering::Release);
        assert_eq!(plugin.change_to_paint(&delta(&[])), None, "painted: nothing more to do");
        assert_eq!(plugin.change_to_paint(&delta(&[font])), Some(2));
    }

    /// Runs one pass showing `text` and says whether its output starts with the override.
    fn frame_has_override(ctx: &egui::Context, text: &str) -> bool {
        let output = ctx.run_ui(egui::RawInput::default(), |ui| {
            ui.label(text);
        });
        matches!(output.shapes.first(), Some(ClippedShape { shape: Shape::Callback(_), .. }))
    }

    #[test]
    fn only_frames_that_change_the_font_texture_get_the_override() {
        let ctx = egui::Context::default();
        ctx.add_plugin(NearestFontTexels::default());
        let applied = ctx.with_plugin(|plugin: &mut NearestFontTexels| plugin.applied.clone()).expect("plugin");
        // The first frame uploads the whole font atlas.
        assert!(frame_has_override(&ctx, "filters"));
        // What the paint callback does once the frame is drawn.
        let seen = ctx.with_plugin(|plugin: &mut NearestFontTexels| plugin.changes).expect("plugin");
        applied.store(seen, Ordering::Release);
        assert!(!frame_has_override(&ctx, "filters"), "the same text: no new glyphs, no override");
        assert!(frame_has_override(&ctx, "filters ЖЩЮ 7½"), "new glyphs change the font texture");
    }
}
