//! Which pixels of an image are known and which are hidden: halves, boxes, random subsets and
//! salt-and-pepper noise.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{InpaintError, check_len};

/// Which half of an image is hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Half {
    Top,
    Bottom,
    Left,
    Right,
}

/// Which pixels of an image are known (clamped) and which are hidden (to be completed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub(super) known: Vec<bool>,
}

impl Mask {
    /// Every one of `len` pixels known.
    pub fn all_known(len: usize) -> Self {
        Self { known: vec![true; len] }
    }

    /// From a boolean image: `known[i]` is true where pixel i is known.
    pub fn from_known(known: Vec<bool>) -> Self {
        Self { known }
    }

    /// A `rows x cols` image with one half hidden: the top `rows / 2` rows, the bottom `rows / 2`,
    /// the left `cols / 2` columns or the right `cols / 2` (an odd middle line stays known).
    pub fn hide_half(rows: usize, cols: usize, half: Half) -> Self {
        let known = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                match half {
                    Half::Top => r >= rows / 2,
                    Half::Bottom => r < rows - rows / 2,
                    Half::Left => c >= cols / 2,
                    Half::Right => c < cols - cols / 2,
                }
            })
            .collect();
        Self { known }
    }

    /// A `rows x cols` image with the box of `width x height` pixels whose top-left pixel is column
    /// `x`, row `y` hidden.
    ///
    /// # Errors
    /// [`InpaintError::EmptyBox`], or [`InpaintError::BoxOutside`] for a box that does not fit.
    pub fn hide_box(
        rows: usize,
        cols: usize,
        x: usize,
        y: usize,
        width: usize,
        height: usize,
    ) -> Result<Self, InpaintError> {
        if width == 0 || height == 0 {
            return Err(InpaintError::EmptyBox { width, height });
        }
        let fits = |start: usize, size: usize, limit: usize| start.checked_add(size).is_some_and(|end| end <= limit);
        if !fits(x, width, cols) || !fits(y, height, rows) {
            return Err(InpaintError::BoxOutside { x, y, width, height, rows, cols });
        }
        let known = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                !((y..y + height).contains(&r) && (x..x + width).contains(&c))
            })
            .collect();
        Ok(Self { known })
    }

    /// `len` pixels of which exactly round(`hidden_fraction` · len) are hidden, chosen uniformly at
    /// random from a stream seeded with `seed`.
    ///
    /// # Errors
    /// [`InpaintError::Fraction`] unless 0 ≤ `hidden_fraction` ≤ 1.
    pub fn hide_random(len: usize, hidden_fraction: f64, seed: u64) -> Result<Self, InpaintError> {
        Self::hide_random_with(len, hidden_fraction, &mut Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// [`Mask::hide_random`] drawing from `rng` (for one mask per image from one stream).
    ///
    /// # Errors
    /// [`InpaintError::Fraction`] unless 0 ≤ `hidden_fraction` ≤ 1.
    pub fn hide_random_with<R: Rng + ?Sized>(
        len: usize,
        hidden_fraction: f64,
        rng: &mut R,
    ) -> Result<Self, InpaintError> {
        if !(0.0..=1.0).contains(&hidden_fraction) {
            return Err(InpaintError::Fraction(hidden_fraction));
        }
        let hidden = ((hidden_fraction * len as f64).round() as usize).min(len);
        // The first `hidden` places of a partial Fisher–Yates shuffle: a uniform subset.
        let mut order: Vec<usize> = (0..len).collect();
        for i in 0..hidden {
            let j = rng.random_range(i..len);
            order.swap(i, j);
        }
        let mut known = vec![true; len];
        for &i in &order[..hidden] {
            known[i] = false;
        }
        Ok(Self { known })
    }

    /// Number of pixels.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// One flag per pixel, true where known.
    pub fn known(&self) -> &[bool] {
        &self.known
    }

    /// True where pixel `i` is hidden (false outside the image).
    pub fn is_hidden(&self, i: usize) -> bool {
        self.known.get(i).is_some_and(|&k| !k)
    }

    /// Hides or reveals pixel `i` (ignored outside the image), as a brush does.
    pub fn set_hidden(&mut self, i: usize, hidden: bool) {
        if let Some(k) = self.known.get_mut(i) {
            *k = !hidden;
        }
    }

    pub fn hidden_count(&self) -> usize {
        self.known.iter().filter(|&&k| !k).count()
    }

    /// The hidden pixels' indices, in increasing order.
    pub fn hidden_indices(&self) -> Vec<usize> {
        self.known.iter().enumerate().filter(|(_, k)| !**k).map(|(i, _)| i).collect()
    }
}

/// Salt-and-pepper noise: each pixel is hit with probability `rate` (drawn from a stream seeded
/// with `seed`), and a hit pixel becomes 0 or 1 with equal probability. Returns the corrupted image
/// and the mask whose hidden pixels are the hit ones (to clamp only the pixels known to be intact,
/// or to run free chains from the corrupted image).
///
/// # Errors
/// [`InpaintError::Rate`] unless 0 ≤ `rate` ≤ 1.
pub fn salt_and_pepper(image: &[f32], rate: f64, seed: u64) -> Result<(Vec<f32>, Mask), InpaintError> {
    if !(0.0..=1.0).contains(&rate) {
        return Err(InpaintError::Rate(rate));
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut corrupted = image.to_vec();
    let mut known = vec![true; image.len()];
    for (x, k) in corrupted.iter_mut().zip(&mut known) {
        if rng.random_bool(rate) {
            *x = if rng.random_bool(0.5) { 1.0 } else { 0.0 };
            *k = false;
        }
    }
    Ok((corrupted, Mask { known }))
}

/// The mask of image `row`: the only one, or its own.
pub(super) fn mask_for(masks: &[Mask], row: usize) -> &Mask {
    &masks[if masks.len() == 1 { 0 } else { row }]
}

pub(super) fn check_masks(masks: &[Mask], rows: usize, nv: usize) -> Result<(), InpaintError> {
    if masks.len() != 1 && masks.len() != rows {
        return Err(InpaintError::MaskCount { masks: masks.len(), images: rows });
    }
    masks.iter().try_for_each(|m| check_len("a mask", m.len(), nv))
}

/// Σ |image_i − original_i| over the hidden pixels of `mask`, and their number.
pub(super) fn hidden_error_sum(image: &[f32], original: &[f32], mask: &Mask) -> (f64, usize) {
    let mut sum = 0.0;
    let mut count = 0;
    for ((&x, &o), &known) in image.iter().zip(original).zip(&mask.known) {
        if !known {
            sum += (x - o).abs() as f64;
            count += 1;
        }
    }
    (sum, count)
}
