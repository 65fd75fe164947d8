//! The Inpaint tab's drawing canvas: an image at the dataset's size, which pixels of it are hidden,
//! the brush, the eraser, the box to hide, and a bounded undo history.
//!
//! Painting (brush or eraser) on a hidden pixel makes it known again: what the person draws is
//! what they know, so it is clamped like every other known pixel.

use std::collections::VecDeque;

use egui::{Color32, ColorImage, TextureHandle, TextureOptions};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::inpaint::{Half, InpaintError, Mask, salt_and_pepper};

/// Pictures kept for undo: each is one image and mask (a few KiB for MNIST, 2 × 4 MiB at most for
/// the largest image a dataset may have), so 50 of them stay small.
pub const MAX_UNDO: usize = 50;

/// What a drag on the canvas does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tool {
    /// Sets pixels to the brush intensity (and makes them known).
    #[default]
    Brush,
    /// Sets pixels to 0 (and makes them known).
    Eraser,
    /// Hides the rectangle dragged out.
    HideBox,
}

/// One state of the canvas, as undo restores it.
#[derive(Clone, Debug, PartialEq)]
struct Picture {
    pixels: Vec<f32>,
    mask: Mask,
    original: Option<Vec<f32>>,
}

/// The image being completed, its mask and the original it came from (a test image).
pub struct Canvas {
    rows: usize,
    cols: usize,
    picture: Picture,
    undo: VecDeque<Picture>,
    pub tool: Tool,
    /// Brush radius in image pixels (0.5 paints one pixel).
    pub brush_radius: f32,
    /// The value the brush paints, in [0, 1].
    pub intensity: f32,
    /// Counts changes, so that the view knows when to restart inference and redraw.
    version: u64,
    /// The last pointer position of a stroke, in image coordinates.
    stroke_last: Option<egui::Pos2>,
    /// Where a box drag started, in image coordinates.
    box_start: Option<egui::Pos2>,
    texture: Option<TextureHandle>,
    texture_version: Option<u64>,
    /// Where the canvas was last drawn on screen.
    rect: Option<egui::Rect>,
}

impl Canvas {
    /// A blank (all 0, all known) `rows x cols` canvas.
    pub fn new(rows: usize, cols: usize) -> Self {
        let len = rows * cols;
        Self {
            rows,
            cols,
            picture: Picture { pixels: vec![0.0; len], mask: Mask::all_known(len), original: None },
            undo: VecDeque::new(),
            tool: Tool::Brush,
            brush_radius: 1.2,
            intensity: 1.0,
            version: 0,
            stroke_last: None,
            box_start: None,
            texture: None,
            texture_version: None,
            rect: None,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn pixels(&self) -> &[f32] {
        &self.picture.pixels
    }
    pub fn mask(&self) -> &Mask {
        &self.picture.mask
    }
    /// The test image the canvas started from, while there is one.
    pub fn original(&self) -> Option<&[f32]> {
        self.picture.original.as_deref()
    }
    pub fn version(&self) -> u64 {
        self.version
    }
    /// How many changes undo can take back.
    pub fn undo_depth(&self) -> usize {
        self.undo.len()
    }
    /// Where the canvas was last drawn, in points (for tests driving the pointer).
    pub fn rect(&self) -> Option<egui::Rect> {
        self.rect
    }

    /// Keeps the current picture for undo (the oldest goes beyond [`MAX_UNDO`]).
    fn checkpoint(&mut self) {
        if self.undo.len() >= MAX_UNDO {
            self.undo.pop_front();
        }
        self.undo.push_back(self.picture.clone());
    }

    fn changed(&mut self) {
        self.version += 1;
    }

    /// Takes back the last change; false when there is none.
    pub fn undo(&mut self) -> bool {
        let Some(picture) = self.undo.pop_back() else { return false };
        self.picture = picture;
        self.changed();
        true
    }

    /// A new image, every pixel known; `original` is the image hidden pixels are compared with.
    /// Values outside [0, 1] are clamped (non-finite ones become 0).
    pub fn set_image(&mut self, pixels: &[f32], original: Option<Vec<f32>>) {
        if pixels.len() != self.picture.pixels.len() {
            return;
        }
        self.checkpoint();
        let clean = |x: f32| if x.is_finite() { x.clamp(0.0, 1.0) } else { 0.0 };
        self.picture.pixels = pixels.iter().map(|&x| clean(x)).collect();
        self.picture.mask = Mask::all_known(pixels.len());
        self.picture.original = original;
        self.changed();
    }

    /// Everything 0 and known, no original.
    pub fn clear(&mut self) {
        let blank = vec![0.0; self.rows * self.cols];
        self.set_image(&blank, None);
    }

    /// Each pixel 0 or 1 with equal probability, from a stream seeded with `seed`.
    pub fn fill_noise(&mut self, seed: u64) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let noise: Vec<f32> =
            (0..self.rows * self.cols).map(|_| if rng.random_bool(0.5) { 1.0 } else { 0.0 }).collect();
        self.set_image(&noise, None);
    }

    /// Hides one half (added to what is hidden already).
    pub fn hide_half(&mut self, half: Half) {
        self.hide(&Mask::hide_half(self.rows, self.cols, half));
    }

    /// Hides the box between two corners (inclusive, in pixels, any order; clipped to the image).
    pub fn hide_box(&mut self, a: (usize, usize), b: (usize, usize)) {
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        let (x0, x1) = (a.0.min(b.0).min(self.cols - 1), a.0.max(b.0).min(self.cols - 1));
        let (y0, y1) = (a.1.min(b.1).min(self.rows - 1), a.1.max(b.1).min(self.rows - 1));
        if let Ok(mask) = Mask::hide_box(self.rows, self.cols, x0, y0, x1 - x0 + 1, y1 - y0 + 1) {
            self.hide(&mask);
        }
    }

    /// Hides round(`fraction` · pixels) pixels chosen at random (with those hidden already).
    ///
    /// # Errors
    /// [`InpaintError::Fraction`] unless 0 ≤ `fraction` ≤ 1; the canvas is unchanged then.
    pub fn hide_random(&mut self, fraction: f64, seed: u64) -> Result<(), InpaintError> {
        let mask = Mask::hide_random(self.rows * self.cols, fraction, seed)?;
        self.hide(&mask);
        Ok(())
    }

    /// Salt-and-pepper noise at `rate`: the hit pixels become 0 or 1 and are hidden (the model is
    /// told which pixels it cannot trust).
    ///
    /// # Errors
    /// [`InpaintError::Rate`] unless 0 ≤ `rate` ≤ 1; the canvas is unchanged then.
    pub fn salt_and_pepper(&mut self, rate: f64, seed: u64) -> Result<(), InpaintError> {
        let (pixels, mask) = salt_and_pepper(&self.picture.pixels, rate, seed)?;
        self.checkpoint();
        self.picture.pixels = pixels;
        for i in mask.hidden_indices() {
            self.picture.mask.set_hidden(i, true);
        }
        self.changed();
        Ok(())
    }

    /// Every pixel known again (the values stay).
    pub fn reveal_all(&mut self) {
        if self.picture.mask.hidden_count() == 0 {
            return;
        }
        self.checkpoint();
        self.picture.mask = Mask::all_known(self.rows * self.cols);
        self.changed();
    }

    fn hide(&mut self, hidden: &Mask) {
        self.checkpoint();
        for i in hidden.hidden_indices() {
            self.picture.mask.set_hidden(i, true);
        }
        self.changed();
    }

    /// Starts a stroke at `at` (image coordinates, pixel (c, r) covering [c, c+1) x [r, r+1)):
    /// one undo step for the whole stroke.
    pub fn begin_stroke(&mut self, at: egui::Pos2) {
        self.checkpoint();
        self.stroke_last = Some(at);
        self.dab(at);
        self.changed();
    }

    /// Continues the stroke to `to`, painting every point of the segment (half a pixel apart).
    pub fn continue_stroke(&mut self, to: egui::Pos2) {
        let Some(from) = self.stroke_last else { return self.begin_stroke(to) };
        let steps = ((to - from).length() * 2.0).ceil().clamp(1.0, 4096.0) as usize;
        for s in 1..=steps {
            self.dab(from.lerp(to, s as f32 / steps as f32));
        }
        self.stroke_last = Some(to);
        self.changed();
    }

    pub fn end_stroke(&mut self) {
        self.stroke_last = None;
    }

    /// Paints the disc of the brush radius around `at`: pixels whose centres are inside it.
    fn dab(&mut self, at: egui::Pos2) {
        let value = match self.tool {
            Tool::Eraser => 0.0,
            _ => self.intensity.clamp(0.0, 1.0),
        };
        let r = self.brush_radius.max(0.5);
        let (rows, cols) = (self.rows as f32, self.cols as f32);
        let (x0, x1) = ((at.x - r).floor().max(0.0), (at.x + r).ceil().min(cols));
        let (y0, y1) = ((at.y - r).floor().max(0.0), (at.y + r).ceil().min(rows));
        let mut y = y0;
        while y < y1 {
            let mut x = x0;
            while x < x1 {
                let centre = egui::pos2(x + 0.5, y + 0.5);
                // A radius of 0.5 still paints the pixel under the pointer.
                if (centre - at).length() <= r || (x <= at.x && at.x < x + 1.0 && y <= at.y && at.y < y + 1.0) {
                    let i = y as usize * self.cols + x as usize;
                    self.picture.pixels[i] = value;
                    self.picture.mask.set_hidden(i, false);
                }
                x += 1.0;
            }
            y += 1.0;
        }
    }

    /// The picture as shown: grey pixels, hidden ones as an orange checkerboard.
    fn color_image(&self) -> ColorImage {
        let mut image = ColorImage::filled([self.cols, self.rows], Color32::BLACK);
        for (i, (&x, pixel)) in self.picture.pixels.iter().zip(image.pixels.iter_mut()).enumerate() {
            *pixel = if self.picture.mask.is_hidden(i) {
                let (r, c) = (i / self.cols, i % self.cols);
                if (r + c) % 2 == 0 { Color32::from_rgb(200, 110, 40) } else { Color32::from_rgb(120, 60, 20) }
            } else {
                let g = (x.clamp(0.0, 1.0) * 255.0).round() as u8;
                Color32::from_gray(g)
            };
        }
        image
    }

    /// Draws the canvas at `size` points and lets the pointer paint or hide a box on it.
    pub fn ui(&mut self, ui: &mut egui::Ui, size: egui::Vec2) -> egui::Response {
        if self.texture_version != Some(self.version) || self.texture.is_none() {
            let image = self.color_image();
            match &mut self.texture {
                Some(handle) => handle.set(image, TextureOptions::NEAREST),
                None => self.texture = Some(ui.ctx().load_texture("inpaint-canvas", image, TextureOptions::NEAREST)),
            }
            self.texture_version = Some(self.version);
        }
        let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
        self.rect = Some(rect);
        if let Some(texture) = &self.texture {
            egui::Image::new(texture).paint_at(ui, rect);
        }
        let to_image = |pos: egui::Pos2| {
            let rel = (pos - rect.min) / rect.size();
            egui::pos2(rel.x * self.cols as f32, rel.y * self.rows as f32)
        };
        let pixel = |p: egui::Pos2, canvas: &Self| {
            let x = (p.x.max(0.0) as usize).min(canvas.cols.saturating_sub(1));
            let y = (p.y.max(0.0) as usize).min(canvas.rows.saturating_sub(1));
            (x, y)
        };
        let pointer = response.interact_pointer_pos().map(to_image);
        match self.tool {
            Tool::Brush | Tool::Eraser => {
                if let Some(at) = pointer
                    && (response.drag_started() || response.clicked() || response.dragged())
                {
                    if self.stroke_last.is_none() {
                        // A drag is recognised only once the pointer has moved: it starts where
                        // the button went down.
                        let origin = ui.input(|i| i.pointer.press_origin()).map(to_image).unwrap_or(at);
                        self.begin_stroke(origin);
                        self.continue_stroke(at);
                    } else {
                        self.continue_stroke(at);
                    }
                }
                if response.drag_stopped() || response.clicked() {
                    self.end_stroke();
                }
            }
            Tool::HideBox => {
                if response.drag_started()
                    && let Some(at) = pointer
                {
                    // Where the button went down, not where the drag was recognised.
                    self.box_start = Some(ui.input(|i| i.pointer.press_origin()).map_or(at, to_image));
                }
                if let (Some(start), Some(now)) = (self.box_start, pointer) {
                    // The box being dragged, outlined.
                    let (a, b) = (pixel(start, self), pixel(now, self));
                    let scale = rect.size() / egui::vec2(self.cols as f32, self.rows as f32);
                    let min = rect.min + egui::vec2(a.0.min(b.0) as f32, a.1.min(b.1) as f32) * scale;
                    let max = rect.min + egui::vec2(a.0.max(b.0) as f32 + 1.0, a.1.max(b.1) as f32 + 1.0) * scale;
                    ui.painter().rect_stroke(
                        egui::Rect::from_min_max(min, max),
                        0.0,
                        egui::Stroke::new(2.0, Color32::from_rgb(255, 160, 60)),
                        egui::StrokeKind::Inside,
                    );
                }
                if response.drag_stopped()
                    && let Some(start) = self.box_start.take()
                {
                    let end = pointer.or_else(|| ui.input(|i| i.pointer.latest_pos()).map(to_image)).unwrap_or(start);
                    self.hide_box(pixel(start, self), pixel(end, self));
                }
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32, y: f32) -> egui::Pos2 {
        egui::pos2(x, y)
    }

    #[test]
    fn a_stroke_paints_the_brush_intensity_along_its_path_and_undo_takes_it_back() {
        let mut canvas = Canvas::new(8, 10);
        canvas.brush_radius = 0.5;
        canvas.intensity = 0.75;
        canvas.begin_stroke(at(1.5, 2.5));
        canvas.continue_stroke(at(6.5, 2.5));
        canvas.end_stroke();
        let row: Vec<f32> = canvas.pixels()[2 * 10..3 * 10].to_vec();
        assert_eq!(row, [0.0, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 0.0, 0.0, 0.0]);
        assert_eq!(canvas.pixels().iter().filter(|&&x| x > 0.0).count(), 6, "only the stroke's row");
        assert_eq!(canvas.undo_depth(), 1, "a stroke is one undo step");
        assert!(canvas.undo());
        assert!(canvas.pixels().iter().all(|&x| x == 0.0));
        assert!(!canvas.undo(), "nothing more to undo");
    }

    #[test]
    fn a_wider_brush_paints_a_disc_and_the_eraser_sets_zero() {
        let mut canvas = Canvas::new(9, 9);
        canvas.brush_radius = 1.5;
        canvas.begin_stroke(at(4.5, 4.5));
        canvas.end_stroke();
        let painted: Vec<usize> = (0..81).filter(|&i| canvas.pixels()[i] == 1.0).collect();
        // Centres within 1.5 of (4.5, 4.5): the 3x3 block around (4, 4) (corners at √2 ≈ 1.41).
        let block: Vec<usize> = (3..6).flat_map(|r| (3..6).map(move |c| r * 9 + c)).collect();
        assert_eq!(painted, block);
        canvas.tool = Tool::Eraser;
        canvas.brush_radius = 0.5;
        canvas.begin_stroke(at(4.5, 4.5));
        canvas.end_stroke();
        assert_eq!(canvas.pixels()[4 * 9 + 4], 0.0);
        assert_eq!(canvas.pixels()[3 * 9 + 3], 1.0);
    }

    #[test]
    fn painting_a_hidden_pixel_makes_it_known_again() {
        let mut canvas = Canvas::new(4, 4);
        canvas.hide_half(Half::Bottom);
        assert_eq!(canvas.mask().hidden_count(), 8);
        canvas.brush_radius = 0.5;
        canvas.begin_stroke(at(1.5, 3.5));
        canvas.end_stroke();
        assert!(!canvas.mask().is_hidden(3 * 4 + 1));
        assert_eq!(canvas.mask().hidden_count(), 7);
        canvas.undo();
        assert_eq!(canvas.mask().hidden_count(), 8, "undo hides it again");
    }

    #[test]
    fn corruptions_add_to_the_hidden_pixels_and_each_is_one_undo_step() {
        let mut canvas = Canvas::new(6, 6);
        canvas.hide_half(Half::Top);
        canvas.hide_half(Half::Left);
        // Top 3 rows (18) plus the left half of the bottom 3 rows (9).
        assert_eq!(canvas.mask().hidden_count(), 27);
        canvas.hide_box((5, 5), (4, 4));
        assert_eq!(canvas.mask().hidden_count(), 31, "the 2x2 box in the bottom-right corner");
        canvas.undo();
        canvas.undo();
        assert_eq!(canvas.mask().hidden_count(), 18);
        canvas.reveal_all();
        assert_eq!(canvas.mask().hidden_count(), 0);
        canvas.hide_random(0.5, 7).unwrap();
        assert_eq!(canvas.mask().hidden_count(), 18);
        assert!(canvas.hide_random(1.5, 7).is_err());
        assert_eq!(canvas.mask().hidden_count(), 18, "a bad fraction changes nothing");
    }

    #[test]
    fn salt_and_pepper_hides_exactly_the_pixels_it_changed_or_hit() {
        let mut canvas = Canvas::new(10, 10);
        canvas.set_image(&[0.5; 100], None);
        canvas.salt_and_pepper(0.3, 3).unwrap();
        let hit: Vec<usize> = (0..100).filter(|&i| canvas.pixels()[i] != 0.5).collect();
        assert!(!hit.is_empty());
        assert_eq!(canvas.mask().hidden_indices(), hit, "0.5 becomes 0 or 1 exactly where hit");
        assert!(canvas.salt_and_pepper(-0.1, 3).is_err());
    }

    #[test]
    fn a_box_dragged_in_any_direction_is_clipped_to_the_image() {
        let mut canvas = Canvas::new(5, 7);
        canvas.hide_box((9, 1), (5, 0));
        let hidden: Vec<usize> = canvas.mask().hidden_indices();
        assert_eq!(hidden, vec![5, 6, 7 + 5, 7 + 6]);
    }

    #[test]
    fn the_history_is_bounded() {
        let mut canvas = Canvas::new(3, 3);
        for i in 0..MAX_UNDO + 10 {
            canvas.set_image(&[i as f32 / 100.0; 9], None);
        }
        assert_eq!(canvas.undo_depth(), MAX_UNDO);
        while canvas.undo() {}
        // The oldest pictures kept are the ones just before the last MAX_UNDO changes.
        assert_eq!(canvas.pixels()[0], 9.0 / 100.0);
    }

    #[test]
    fn a_new_image_replaces_the_mask_and_the_original() {
        let mut canvas = Canvas::new(2, 2);
        canvas.hide_half(Half::Top);
        canvas.set_image(&[0.2, 2.0, f32::NAN, 1.0], Some(vec![1.0; 4]));
        assert_eq!(canvas.pixels(), [0.2, 1.0, 0.0, 1.0]);
        assert_eq!(canvas.mask().hidden_count(), 0);
        assert_eq!(canvas.original(), Some(&[1.0; 4][..]));
        canvas.clear();
        assert_eq!(canvas.original(), None);
        canvas.undo();
        assert_eq!(canvas.original(), Some(&[1.0; 4][..]));
    }
}
