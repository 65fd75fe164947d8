//! The cheap monitors, measured every quarter epoch by the trainer on fixed binarised subsets, and
//! the summaries of the parameters and of the last update (histograms, update/weight ratio).

use super::{BINARISATION_SEED, binarised_subset};
use crate::data::Dataset;
use crate::model::eval::{free_energy_gap, pseudo_likelihood, reconstruction_error};
use crate::model::{Rbm, Threads};

/// Cheap quality measures computed every so often during training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonitorPoint {
    pub epoch: f64,
    /// scikit-learn's pseudo-likelihood (`BernoulliRBM.score_samples`), mean over held-out images.
    pub pseudo_likelihood: f64,
    /// Mean free energy of held-out images minus that of training images: grows when overfitting.
    pub free_energy_gap: f64,
    /// Mean squared error of the mean-field reconstruction p(v|p(h|v)) of held-out images.
    pub reconstruction_mse: f64,
    /// Mean |ΔW| / mean |W| of the last update (Hinton's rule of thumb: about 1e-3).
    pub update_ratio: f64,
}

/// Values (pixels) in each of the monitors' two binarised sets, 16 MiB of f32: 1,000 MNIST images
/// take 784,000; images of 256x256 pixels get 64 rows, so that the monitors' memory stays small
/// whatever the image size.
pub const MONITOR_VALUES: usize = 1 << 22;

/// Binarised image subsets kept for the monitors (same images every time, so curves compare).
pub struct MonitorData {
    train: Vec<f32>,
    held_out: Vec<f32>,
    rows: usize,
}

impl MonitorData {
    /// `rows` training and `rows` test images (1,000 is enough for a smooth curve and costs a few ms),
    /// fewer for large images, so that each set holds at most [`MONITOR_VALUES`] values.
    pub fn new(dataset: &Dataset, rows: usize) -> Self {
        let fit = MONITOR_VALUES / dataset.pixels_per_image().max(1);
        let rows = rows.min(fit).min(dataset.train.count).min(dataset.test.count);
        let (train, _) = binarised_subset(&dataset.train, rows, BINARISATION_SEED ^ 1);
        let (held_out, _) = binarised_subset(&dataset.test, rows, BINARISATION_SEED);
        Self { train, held_out, rows }
    }

    pub fn measure(&self, rbm: &Rbm, epoch: f64, update_ratio: f64, threads: Threads) -> Option<MonitorPoint> {
        if self.rows == 0 || rbm.n_visible() * self.rows != self.held_out.len() {
            return None;
        }
        let pl = pseudo_likelihood(rbm, &self.held_out, self.rows, BINARISATION_SEED, threads);
        let gap = free_energy_gap(rbm, &self.train, &self.held_out, self.rows, threads);
        let recon = reconstruction_error(rbm, &self.held_out, self.rows, threads);
        Some(MonitorPoint {
            epoch,
            pseudo_likelihood: pl.mean,
            free_energy_gap: gap.gap,
            reconstruction_mse: recon.mse,
            update_ratio,
        })
    }
}

/// Counts of values in equal-width bins between their minimum and maximum.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub min: f32,
    pub max: f32,
    pub counts: Vec<u32>,
}

impl Histogram {
    /// Non-finite values are left out.
    pub fn of(values: &[f32], bins: usize) -> Self {
        let bins = bins.max(1);
        let (min, max) = values
            .iter()
            .filter(|x| x.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let mut counts = vec![0u32; bins];
        if min > max {
            return Self { min: 0.0, max: 0.0, counts };
        }
        let width = (max - min).max(f32::MIN_POSITIVE);
        for &x in values.iter().filter(|x| x.is_finite()) {
            let bin = (((x - min) / width) * bins as f32) as usize;
            counts[bin.min(bins - 1)] += 1;
        }
        Self { min, max, counts }
    }

    /// The centre of bin `i`.
    pub fn bin_centre(&self, i: usize) -> f32 {
        self.min + (i as f32 + 0.5) * (self.max - self.min) / self.counts.len().max(1) as f32
    }
}

/// Mean |after − before| / mean |after| over two weight matrices.
pub fn update_ratio(before: &[f32], after: &[f32]) -> f64 {
    let (mut change, mut size) = (0.0f64, 0.0f64);
    for (b, a) in before.iter().zip(after) {
        change += (a - b).abs() as f64;
        size += a.abs() as f64;
    }
    if size > 0.0 { change / size } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageArray;

    fn dataset(count: usize, rows: usize, cols: usize) -> Dataset {
        let images = ImageArray { count, rows, cols, pixels: vec![128; count * rows * cols] };
        Dataset::from_arrays("test", images, vec![0; count], None).unwrap()
    }

    #[test]
    fn monitor_sets_stay_within_their_budget_for_large_images() {
        // MNIST-sized images: all 1,000 rows asked for (up to what the sets hold).
        assert_eq!(MonitorData::new(&dataset(6_000, 28, 28), 1000).rows, 1000);
        // 512x512 images: 16 rows of 262,144 values each.
        let large = MonitorData::new(&dataset(120, 512, 512), 1000);
        assert_eq!(large.rows, MONITOR_VALUES / (512 * 512));
        assert!(large.train.len() <= MONITOR_VALUES && large.held_out.len() <= MONITOR_VALUES);
    }
}
