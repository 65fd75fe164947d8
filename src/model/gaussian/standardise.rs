//! Per-pixel standardisation of intensities for the Gaussian model: x = (v − m_i) / s_i, with m_i
//! and s_i the training set's mean and standard deviation of pixel i (intensities in [0, 1]).
//!
//! Why per pixel: the model's b starts at 0 and σ² at 1, which then fit every pixel from the first
//! batch, and one learning rate suits every pixel (Cho et al. 2011 standardise the same way).
//! Why a floor on s_i ([`MIN_SCALE`]): MNIST's border pixels are almost always 0, with standard
//! deviations from 0 to a few hundredths; dividing by those would turn one rare stroke pixel in a
//! test image into a value 50–1000 standard deviations out, which would dominate both the
//! gradients and the test density. With the floor, a standardised value stays within ±1/0.1 = 10.
//! The mean and scale are recorded with the model, so samples are shown un-standardised and
//! densities can be given on the [0, 1] scale too (see [`Standardisation::log_jacobian`]).

/// The smallest per-pixel scale s_i, in intensity units (intensities in [0, 1]).
pub const MIN_SCALE: f32 = 0.1;

/// Per-pixel mean and scale of the training data.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardisation {
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
}

impl Standardisation {
    /// Mean and floored standard deviation of each pixel over `rows` rows of `width` intensities.
    /// Accumulated in f64 in row order, so the result is the same on every machine.
    pub fn from_data(data: &[f32], rows: usize, width: usize) -> Self {
        // Rows past the end of `data` add nothing, as zeros add nothing to the sums.
        Self::from_rows(rows, width, |r, row| match data.get(r * width..(r + 1) * width) {
            Some(values) => row.copy_from_slice(values),
            None => row.fill(0.0),
        })
    }

    /// [`Standardisation::from_data`] of `rows` rows that `fill(r, row)` writes one at a time, so
    /// that a whole training set need not be held as intensities at once.
    pub fn from_rows(rows: usize, width: usize, mut fill: impl FnMut(usize, &mut [f32])) -> Self {
        let mut sum = vec![0.0f64; width];
        let mut sum_sq = vec![0.0f64; width];
        let mut row = vec![0.0f32; width];
        for r in 0..rows {
            fill(r, &mut row);
            for ((s, q), &x) in sum.iter_mut().zip(&mut sum_sq).zip(&row) {
                *s += x as f64;
                *q += x as f64 * x as f64;
            }
        }
        let n = rows.max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let scale =
            sum_sq.iter().zip(&mean).map(|(q, m)| ((q / n - m * m).max(0.0).sqrt() as f32).max(MIN_SCALE)).collect();
        Self { mean: mean.iter().map(|&m| m as f32).collect(), scale }
    }

    /// No change: mean 0, scale 1 (tests, and data that is already standardised).
    pub fn identity(width: usize) -> Self {
        Self { mean: vec![0.0; width], scale: vec![1.0; width] }
    }

    pub fn width(&self) -> usize {
        self.mean.len()
    }

    /// Whether the vectors have `width` entries, the means are finite and the scales finite and at
    /// least [`MIN_SCALE`] (what a model file must hold).
    pub fn is_valid_for(&self, width: usize) -> bool {
        self.mean.len() == width
            && self.scale.len() == width
            && self.mean.iter().all(|m| m.is_finite())
            && self.scale.iter().all(|&s| s.is_finite() && s >= MIN_SCALE)
    }

    /// In place: intensities → standardised values, row by row.
    pub fn apply(&self, data: &mut [f32]) {
        for row in data.chunks_exact_mut(self.width()) {
            row.iter_mut().zip(&self.mean).zip(&self.scale).for_each(|((x, &m), &s)| *x = (*x - m) / s);
        }
    }

    /// In place: standardised values → intensities, clipped to [0, 1] for display.
    pub fn undo_for_display(&self, data: &mut [f32]) {
        for row in data.chunks_exact_mut(self.width()) {
            row.iter_mut().zip(&self.mean).zip(&self.scale).for_each(|((x, &m), &s)| *x = (*x * s + m).clamp(0.0, 1.0));
        }
    }

    /// ln |∂x/∂v| = −Σ_i ln s_i: a density of standardised vectors plus this is the density of the
    /// intensity vectors (in nats per image).
    pub fn log_jacobian(&self) -> f64 {
        -self.scale.iter().map(|&s| (s as f64).ln()).sum::<f64>()
    }
}
