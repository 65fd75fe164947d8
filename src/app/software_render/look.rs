//! The light look: square widget corners and no shadows under popups and windows (and the loss
//! plot draws its batch line without anti-aliasing, see `LossPlotView`).
//!
//! On software OpenGL (Mesa's llvmpipe in a VM, a remote desktop or Xvfb) the frame is rasterized
//! on the cores the trainer uses, and llvmpipe's cost grows with the number of anti-aliased
//! triangles: egui's 2-point rounded corners triple a widget frame's triangles and a popup's
//! shadow is a wide feathered band, so the light look cuts llvmpipe's time per frame by about a
//! third (docs/performance.md). With a GPU it saves nothing worth a different look, so it is on by
//! default only for a software renderer.

use egui::{CornerRadius, Shadow, Visuals};

/// Whether `renderer` (OpenGL's `GL_RENDERER` string) names a software rasterizer.
pub fn is_software_renderer(renderer: &str) -> bool {
    let renderer = renderer.to_ascii_lowercase();
    ["llvmpipe", "softpipe", "swrast", "swiftshader", "software rasterizer", "software renderer", "gdi generic"]
        .iter()
        .any(|name| renderer.contains(name))
}

/// Switches every theme's style to the light look, or back to egui's corners and shadows.
pub fn set_light_look(ctx: &egui::Context, light: bool) {
    ctx.all_styles_mut(|style| {
        let base = if style.visuals.dark_mode { Visuals::dark() } else { Visuals::light() };
        let visuals = &mut style.visuals;
        let w = &mut visuals.widgets;
        let b = &base.widgets;
        for (widget, full) in [
            (&mut w.noninteractive, &b.noninteractive),
            (&mut w.inactive, &b.inactive),
            (&mut w.hovered, &b.hovered),
            (&mut w.active, &b.active),
            (&mut w.open, &b.open),
        ] {
            widget.corner_radius = if light { CornerRadius::ZERO } else { full.corner_radius };
        }
        visuals.popup_shadow = if light { Shadow::NONE } else { base.popup_shadow };
        visuals.window_shadow = if light { Shadow::NONE } else { base.window_shadow };
    });
}

/// Whether the context currently draws the light look (its widgets' corners are square).
pub fn is_light_look(ctx: &egui::Context) -> bool {
    ctx.global_style().visuals.widgets.inactive.corner_radius == CornerRadius::ZERO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_renderers_are_recognised() {
        assert!(is_software_renderer("llvmpipe (LLVM 15.0.6, 256 bits)"));
        assert!(is_software_renderer("softpipe"));
        assert!(is_software_renderer("Google SwiftShader"));
        assert!(is_software_renderer("GDI Generic"));
        assert!(!is_software_renderer("AMD Radeon RX 6600 (radeonsi, navi23, LLVM 15.0.6, DRM 3.49)"));
        assert!(!is_software_renderer("Mesa Intel(R) UHD Graphics 620 (KBL GT2)"));
        assert!(!is_software_renderer("NVIDIA GeForce RTX 3060/PCIe/SSE2"));
    }

    #[test]
    fn light_look_switches_on_and_back() {
        let ctx = egui::Context::default();
        let full = ctx.global_style().visuals.clone();
        assert!(!is_light_look(&ctx));
        set_light_look(&ctx, true);
        assert!(is_light_look(&ctx));
        let light = ctx.global_style().visuals.clone();
        assert_eq!(light.widgets.active.corner_radius, CornerRadius::ZERO);
        assert_eq!(light.popup_shadow, Shadow::NONE);
        assert_eq!(light.window_shadow, Shadow::NONE);
        set_light_look(&ctx, false);
        assert!(!is_light_look(&ctx));
        let back = ctx.global_style().visuals.clone();
        assert_eq!(back.widgets.inactive.corner_radius, full.widgets.inactive.corner_radius);
        assert_eq!(back.popup_shadow, full.popup_shadow);
        assert_eq!(back.window_shadow, full.window_shadow);
    }
}
