//! Binary data sets drawn from grey images (the standard stochastic binarisation of MNIST), and
//! the pixel marginals of a batch.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::rng::uniform_f32;

/// The standard stochastic binarisation of grey images: each pixel is 1 with probability
/// intensity / 255, drawn once from one xoshiro256++ stream seeded with `seed` (pixel after pixel),
/// so the same seed always gives the same binary data set.
pub fn binarise(images: &[u8], seed: u64) -> Vec<f32> {
    let mut out = Vec::with_capacity(images.len());
    Binariser::new(seed).append(images, &mut out);
    out
}

/// [`binarise`] in pieces: binarising consecutive slices of the pixels, in order, gives the same
/// numbers as binarising them all at once, so that a large set need not be held in f32 at once.
pub struct Binariser {
    rng: Xoshiro256PlusPlus,
}

impl Binariser {
    pub fn new(seed: u64) -> Self {
        Self { rng: Xoshiro256PlusPlus::seed_from_u64(seed) }
    }

    /// Appends the binarised `pixels` to `out`.
    pub fn append(&mut self, pixels: &[u8], out: &mut Vec<f32>) {
        let rng = &mut self.rng;
        out.extend(pixels.iter().map(|&p| if uniform_f32(rng) < f32::from(p) / 255.0 { 1.0 } else { 0.0 }));
    }
}

/// Mean of each column (pixel) over the rows: the pixel marginals of a batch.
///
/// # Panics
/// If `width == 0`, `rows == 0` or `data.len() != rows * width`.
pub fn pixel_means(data: &[f32], rows: usize, width: usize) -> Vec<f32> {
    assert!(rows > 0 && width > 0 && data.len() == rows * width, "data must hold rows x width values");
    let mut sums = vec![0.0f64; width];
    for row in data.chunks_exact(width) {
        sums.iter_mut().zip(row).for_each(|(s, &x)| *s += x as f64);
    }
    sums.into_iter().map(|s| (s / rows as f64) as f32).collect()
}
