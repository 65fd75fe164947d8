//! Turning model numbers into grey images: the filter atlas and grids of digits. Shared by the
//! window (textures), the PNG exports and the headless `sample` command.

/// An 8-bit grey image, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct GrayImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// How weights are mapped to grey levels in the filter atlas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Contrast {
    /// Each unit stretched from its own min (black) to max (white): shows every unit's shape.
    #[default]
    PerUnit,
    /// One scale for all units, −max|W| black, 0 grey, +max|W| white: shows which units are strong.
    Global,
}

/// Where tile `index` sits in a grid of `columns` columns of `tile_w` x `tile_h` tiles, 1 px apart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridLayout {
    pub tiles: usize,
    pub columns: usize,
    pub tile_w: usize,
    pub tile_h: usize,
    pub gap: usize,
}

impl GridLayout {
    /// A nearly square grid for `tiles` tiles.
    pub fn square(tiles: usize, tile_w: usize, tile_h: usize) -> Self {
        let columns = (tiles as f64).sqrt().ceil().max(1.0) as usize;
        Self { tiles, columns, tile_w, tile_h, gap: 1 }
    }
    pub fn with_columns(tiles: usize, columns: usize, tile_w: usize, tile_h: usize) -> Self {
        Self { tiles, columns: columns.max(1), tile_w, tile_h, gap: 1 }
    }
    pub fn rows(&self) -> usize {
        self.tiles.div_ceil(self.columns).max(1)
    }
    pub fn width(&self) -> usize {
        self.columns * (self.tile_w + self.gap) + self.gap
    }
    pub fn height(&self) -> usize {
        self.rows() * (self.tile_h + self.gap) + self.gap
    }
    /// Top-left pixel of tile `index`.
    pub fn origin(&self, index: usize) -> (usize, usize) {
        let (r, c) = (index / self.columns, index % self.columns);
        (self.gap + c * (self.tile_w + self.gap), self.gap + r * (self.tile_h + self.gap))
    }
    /// Which tile contains pixel (x, y), if any.
    pub fn tile_at(&self, x: usize, y: usize) -> Option<usize> {
        let (cx, cy) = (x.checked_sub(self.gap)?, y.checked_sub(self.gap)?);
        let (c, r) = (cx / (self.tile_w + self.gap), cy / (self.tile_h + self.gap));
        let inside = cx % (self.tile_w + self.gap) < self.tile_w && cy % (self.tile_h + self.gap) < self.tile_h;
        let index = r * self.columns + c;
        (inside && c < self.columns && index < self.tiles).then_some(index)
    }
}

/// Min and max of each hidden unit's incoming weights (`weights` is row-major V x H).
pub fn unit_ranges(weights: &[f32], n_visible: usize, n_hidden: usize) -> Vec<(f32, f32)> {
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); n_hidden];
    for row in weights.chunks_exact(n_hidden).take(n_visible) {
        for (range, &w) in ranges.iter_mut().zip(row) {
            range.0 = range.0.min(w);
            range.1 = range.1.max(w);
        }
    }
    ranges
}

/// Every hidden unit's incoming weights as a `rows x cols` tile (`weights` is row-major V x H, V = rows·cols).
pub fn filter_atlas(
    weights: &[f32],
    n_hidden: usize,
    rows: usize,
    cols: usize,
    contrast: Contrast,
    layout: &GridLayout,
) -> GrayImage {
    let n_visible = rows * cols;
    let mut image = GrayImage {
        width: layout.width(),
        height: layout.height(),
        pixels: vec![40; layout.width() * layout.height()],
    };
    if weights.len() < n_visible * n_hidden {
        return image;
    }
    let ranges = unit_ranges(weights, n_visible, n_hidden);
    let global = ranges.iter().fold(0.0f32, |m, &(lo, hi)| m.max(lo.abs()).max(hi.abs())).max(1e-12);
    for (unit, &(lo, hi)) in ranges.iter().enumerate().take(layout.tiles) {
        let (offset, scale) = match contrast {
            Contrast::PerUnit => (lo, 255.0 / (hi - lo).max(1e-12)),
            Contrast::Global => (-global, 255.0 / (2.0 * global)),
        };
        let (x0, y0) = layout.origin(unit);
        for r in 0..rows {
            let dst = (y0 + r) * image.width + x0;
            for c in 0..cols {
                let w = weights[(r * cols + c) * n_hidden + unit];
                image.pixels[dst + c] = ((w - offset) * scale).clamp(0.0, 255.0) as u8;
            }
        }
    }
    image
}

/// Images with values in [0, 1] (`count` of them, each rows x cols) laid out in a grid. Images of
/// no pixels (say p(h|v) of a batch of 0 rows) leave the grid's background.
pub fn image_grid(images: &[f32], rows: usize, cols: usize, layout: &GridLayout) -> GrayImage {
    let mut image = GrayImage {
        width: layout.width(),
        height: layout.height(),
        pixels: vec![40; layout.width() * layout.height()],
    };
    if rows * cols == 0 {
        return image;
    }
    for (index, src) in images.chunks_exact(rows * cols).enumerate().take(layout.tiles) {
        let (x0, y0) = layout.origin(index);
        for r in 0..rows {
            let dst = (y0 + r) * image.width + x0;
            for c in 0..cols {
                image.pixels[dst + c] = (src[r * cols + c].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    image
}

/// Chains per row of a chain picture.
pub const CHAINS_PER_ROW: usize = 10;

/// Pairs of rows for up to ten chains each: where each chain started, and below it where it is now
/// (the layout of the tutorial's final figure). Both inputs are `count` images of `rows x cols`.
pub fn chain_grid(start: &[f32], current: &[f32], count: usize, rows: usize, cols: usize) -> GrayImage {
    chain_grid_in_columns(start, current, count, count.clamp(1, CHAINS_PER_ROW), rows, cols)
}

/// [`chain_grid`] with `per_row` chains in each pair of rows (at least 1): chain i in column
/// i mod `per_row`, which puts the chains of one class in one column when chain i draws class
/// i mod `per_row`.
pub fn chain_grid_in_columns(
    start: &[f32],
    current: &[f32],
    count: usize,
    per_row: usize,
    rows: usize,
    cols: usize,
) -> GrayImage {
    let pixels = rows * cols;
    let per_row = per_row.max(1);
    let groups = count.div_ceil(per_row);
    let mut tiles = Vec::with_capacity(2 * groups * per_row * pixels);
    for group in 0..groups {
        for source in [start, current] {
            for chain in group * per_row..(group + 1) * per_row {
                match source.get(chain * pixels..(chain + 1) * pixels) {
                    Some(image) if chain < count => tiles.extend_from_slice(image),
                    _ => tiles.extend(std::iter::repeat_n(0.0, pixels)),
                }
            }
        }
    }
    let layout = GridLayout::with_columns(2 * groups * per_row, per_row, cols, rows);
    image_grid(&tiles, rows, cols, &layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_maps_pixels_back_to_tiles() {
        let layout = GridLayout::square(10, 3, 2);
        assert_eq!(layout.columns, 4);
        assert_eq!(layout.rows(), 3);
        for t in 0..10 {
            let (x, y) = layout.origin(t);
            assert_eq!(layout.tile_at(x, y), Some(t));
            assert_eq!(layout.tile_at(x + 2, y + 1), Some(t));
        }
        assert_eq!(layout.tile_at(0, 0), None, "gap");
        let (x, y) = layout.origin(9);
        assert_eq!(layout.tile_at(x + 4, y), None, "tile 10 does not exist");
    }

    /// The hidden-probability image of a batch with no rows (as the window's Quality tab builds it).
    #[test]
    fn a_grid_of_images_with_no_pixels_is_the_background() {
        let layout = GridLayout { tiles: 1, columns: 1, tile_w: 5, tile_h: 0, gap: 0 };
        let image = image_grid(&[], 0, 5, &layout);
        assert_eq!((image.width, image.height, image.pixels.len()), (5, 0, 0));
        let layout = GridLayout { tiles: 2, columns: 2, tile_w: 0, tile_h: 3, gap: 1 };
        let image = image_grid(&[], 3, 0, &layout);
        assert!(image.pixels.iter().all(|&p| p == 40));
    }

    #[test]
    fn atlas_contrast_modes() {
        // 2x1 images, 2 hidden units: unit 0 weights (0, 1), unit 1 weights (-2, 2).
        let weights = [0.0, -2.0, 1.0, 2.0];
        let layout = GridLayout::with_columns(2, 2, 1, 2);
        let per_unit = filter_atlas(&weights, 2, 2, 1, Contrast::PerUnit, &layout);
        let px = |img: &GrayImage, t: usize, r: usize| {
            let (x, y) = layout.origin(t);
            img.pixels[(y + r) * img.width + x]
        };
        assert_eq!((px(&per_unit, 0, 0), px(&per_unit, 0, 1)), (0, 255));
        assert_eq!((px(&per_unit, 1, 0), px(&per_unit, 1, 1)), (0, 255));
        let global = filter_atlas(&weights, 2, 2, 1, Contrast::Global, &layout);
        assert_eq!((px(&global, 0, 0), px(&global, 0, 1)), (127, 191));
        assert_eq!((px(&global, 1, 0), px(&global, 1, 1)), (0, 255));
    }
}
