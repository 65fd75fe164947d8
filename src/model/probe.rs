//! A linear probe: multinomial logistic regression (softmax with an L2 penalty) trained by
//! minibatch SGD with momentum on features of labelled images, to say how much of the class an
//! RBM's hidden layer makes linearly readable, against the same classifier on the raw pixels.
//!
//! Features ([`Features`]): the pixel intensities x = pixel / 255, or the hidden probabilities
//! p(h = 1 | x) = σ(xW + b_h) of an RBM (its mean-field response to the grey image). They are
//! computed a minibatch at a time, so memory stays at one batch whatever the set's size.
//!
//! Training: for each minibatch B of a seeded shuffle, logits z = f W_c + b_c, p = softmax(z),
//! loss −(1/|B|) Σ ln p_label + (λ/2) ‖W_c‖²; gradient G = (p − onehot)/|B|, ∇W_c = fᵀG + λ W_c,
//! ∇b_c = Σ G; velocity u ← μ u − η_t ∇, W_c ← W_c + u, with η_t falling linearly from η to 0
//! over the planned updates (a schedule that lets plain SGD settle without a search). The
//! classifier's arithmetic runs on one thread in a fixed order and the features are computed row
//! by row, so a seed gives the same probe on any number of threads.
//!
//! [`Probe::classify`] labels images (e.g. the window's chain samples: with [`class_counts`], how
//! many look like each digit, so that a sampler stuck on a few classes shows).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use thiserror::Error;

use super::linalg::{self, Threads};
use super::pool::MathPool;
use super::rbm::Rbm;
use super::sampling;

/// Rows of one feature product.
const FEATURE_BLOCK: usize = 32;

/// The most epochs a probe trains for.
pub const MAX_PROBE_EPOCHS: usize = 1000;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ProbeError {
    #[error("a probe needs at least one labelled image")]
    NoImages,
    #[error("{what}: {got} values, expected {expected}")]
    Shape { what: &'static str, expected: usize, got: usize },
    #[error("the probe's features expect images of {expected} pixels, these have {got}")]
    ImageSize { expected: usize, got: usize },
    #[error("the probe's epochs must be between 1 and {MAX_PROBE_EPOCHS} (got {0})")]
    Epochs(usize),
    #[error("the probe's batch size must be at least 1")]
    Batch,
    #[error("the probe's {name} must be finite and in {range} (got {value})")]
    Setting { name: &'static str, range: &'static str, value: f32 },
    #[error("cancelled")]
    Cancelled,
}

/// What the classifier sees of an image.
#[derive(Clone, Debug, PartialEq)]
pub enum Features {
    /// The intensities pixel / 255 of images of this many pixels.
    Pixels(usize),
    /// p(h = 1 | pixel / 255) of this RBM.
    Hidden(Rbm),
}

impl Features {
    /// Pixels per image.
    pub fn n_pixels(&self) -> usize {
        match self {
            Features::Pixels(n) => *n,
            Features::Hidden(rbm) => rbm.n_visible(),
        }
    }

    /// Features per image.
    pub fn len(&self) -> usize {
        match self {
            Features::Pixels(n) => *n,
            Features::Hidden(rbm) => rbm.n_hidden(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The features of `rows` images (`pixels`, rows x V bytes) into `out` (rows x F), in blocks of
    /// [`FEATURE_BLOCK`] rows shared among `threads`.
    fn compute(&self, pixels: &[u8], rows: usize, out: &mut Vec<f32>, scratch: &mut Vec<f32>, threads: Threads) {
        let (nv, nf) = (self.n_pixels(), self.len());
        let intensities = |dest: &mut Vec<f32>| {
            dest.clear();
            dest.extend(pixels.iter().map(|&p| f32::from(p) / 255.0));
        };
        match self {
            Features::Pixels(_) => intensities(out),
            Features::Hidden(rbm) => {
                intensities(scratch);
                out.clear();
                out.resize(rows * nf, 0.0);
                let (w, b_h) = (rbm.weights_slice(), rbm.hidden_bias().as_slice().unwrap_or(&[]));
                // Blocks of a fixed size whatever the thread count, so that every product has the
                // same shape on any number of threads.
                let block = FEATURE_BLOCK;
                let work = |(x, p): (&[f32], &mut [f32])| {
                    let n = x.len() / nv;
                    linalg::affine(p, x, n, w, nv, nf, b_h, Threads(1));
                    sampling::sigmoid_rows(p, nf, n, Threads(1));
                };
                let blocks = scratch.chunks(block * nv).zip(out.chunks_mut(block * nf));
                if threads.0 > 1 {
                    blocks.collect::<Vec<_>>().into_par_iter().for_each(work);
                } else {
                    blocks.for_each(work);
                }
            }
        }
    }
}

/// How a probe is trained.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// η at the start (it falls linearly to 0).
    pub learning_rate: f32,
    pub momentum: f32,
    /// λ of the L2 penalty on the weights (not the biases).
    pub l2: f32,
    /// Seeds the shuffles.
    pub seed: u64,
}

impl Default for ProbeConfig {
    /// 10 epochs of batches of 100, η = 0.05 with momentum 0.9 (a step of about 0.5 once the
    /// velocity builds up), λ = 1e-4: raw MNIST pixels reach the usual ~92% with these.
    fn default() -> Self {
        Self { epochs: 10, batch_size: 100, learning_rate: 0.05, momentum: 0.9, l2: 1e-4, seed: 1 }
    }
}

impl ProbeConfig {
    pub fn validate(&self) -> Result<(), ProbeError> {
        if !(1..=MAX_PROBE_EPOCHS).contains(&self.epochs) {
            return Err(ProbeError::Epochs(self.epochs));
        }
        if self.batch_size == 0 {
            return Err(ProbeError::Batch);
        }
        let settings = [
            ("learning rate", "(0, 10]", self.learning_rate, self.learning_rate > 0.0 && self.learning_rate <= 10.0),
            ("momentum", "[0, 1)", self.momentum, (0.0..1.0).contains(&self.momentum)),
            ("L2 penalty", "[0, 1]", self.l2, (0.0..=1.0).contains(&self.l2)),
        ];
        match settings.into_iter().find(|&(_, _, value, ok)| !(ok && value.is_finite())) {
            Some((name, range, value, _)) => Err(ProbeError::Setting { name, range, value }),
            None => Ok(()),
        }
    }
}

/// Accuracy overall and per class.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
    /// (correct, images) of each class, by label.
    pub per_class: Vec<(usize, usize)>,
}

impl Accuracy {
    /// The fraction correct (0 without images).
    pub fn rate(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.correct as f64 / self.total as f64 }
    }

    /// The fraction correct of class `label` (`None` without images of it).
    pub fn class_rate(&self, label: usize) -> Option<f64> {
        self.per_class.get(label).filter(|(_, n)| *n > 0).map(|&(c, n)| c as f64 / n as f64)
    }
}

/// A trained linear probe: its features and the softmax classifier on them.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    features: Features,
    classes: usize,
    /// F x C, row-major.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// How many images are labelled with each class `0..classes` (labels ≥ classes are not counted).
pub fn class_counts(labels: &[u8], classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for &label in labels {
        if let Some(count) = counts.get_mut(label as usize) {
            *count += 1;
        }
    }
    counts
}

/// Checks `pixels` holds whole images for `features` and returns how many.
fn image_rows(features: &Features, pixels: &[u8]) -> Result<usize, ProbeError> {
    let nv = features.n_pixels();
    if nv == 0 || !pixels.len().is_multiple_of(nv) {
        return Err(ProbeError::ImageSize { expected: nv, got: pixels.len() });
    }
    Ok(pixels.len() / nv)
}

impl Probe {
    /// Trains a probe on `features` of the images `pixels` (N x V bytes) with their `labels`;
    /// the classes are 0 ..= the largest label. `progress` gets the fraction of updates done
    /// after each batch; returning false cancels.
    ///
    /// # Errors
    /// [`ProbeError`] for bad settings, no images, mismatched sizes, or cancellation.
    pub fn train(
        features: Features,
        pixels: &[u8],
        labels: &[u8],
        config: &ProbeConfig,
        pool: &MathPool,
        progress: &mut dyn FnMut(f64) -> bool,
    ) -> Result<Self, ProbeError> {
        config.validate()?;
        let rows = image_rows(&features, pixels)?;
        if rows == 0 {
            return Err(ProbeError::NoImages);
        }
        if labels.len() != rows {
            return Err(ProbeError::Shape { what: "the labels", expected: rows, got: labels.len() });
        }
        let nv = features.n_pixels();
        let nf = features.len();
        let classes = labels.iter().copied().max().map_or(1, |m| m as usize + 1);
        let mut probe = Self { features, classes, weights: vec![0.0; nf * classes], bias: vec![0.0; classes] };
        let mut velocity_w = vec![0.0f32; nf * classes];
        let mut velocity_b = vec![0.0f32; classes];
        let mut order: Vec<usize> = (0..rows).collect();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed);
        let batch = config.batch_size.min(rows);
        let updates = config.epochs * rows.div_ceil(batch);
        let (mut gathered, mut x, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
        let (mut logits, mut grad_w) = (Vec::new(), vec![0.0f32; nf * classes]);
        let mut done = 0;
        for _ in 0..config.epochs {
            order.shuffle(&mut rng);
            for indices in order.chunks(batch) {
                let n = indices.len();
                gathered.clear();
                for &i in indices {
                    gathered.extend_from_slice(&pixels[i * nv..(i + 1) * nv]);
                }
                pool.run(|threads| probe.features.compute(&gathered, n, &mut x, &mut scratch, threads));
                probe.logits(&x, n, &mut logits);
                // G = (softmax − onehot) / n, in place of the logits.
                for (row, &i) in logits.chunks_exact_mut(classes).zip(indices) {
                    softmax(row);
                    row[labels[i] as usize] -= 1.0;
                    row.iter_mut().for_each(|g| *g /= n as f32);
                }
                // ∇W = fᵀG + λW, summed row after row in a fixed order.
                for (g, &w) in grad_w.iter_mut().zip(&probe.weights) {
                    *g = config.l2 * w;
                }
                for (f, g) in x.chunks_exact(nf).zip(logits.chunks_exact(classes)) {
                    for (&fi, grad_row) in f.iter().zip(grad_w.chunks_exact_mut(classes)) {
                        if fi != 0.0 {
                            grad_row.iter_mut().zip(g).for_each(|(gw, &gc)| *gw += fi * gc);
                        }
                    }
                }
                let lr = config.learning_rate * (1.0 - done as f32 / updates as f32);
                let step = |params: &mut [f32], velocity: &mut [f32], grad: &mut dyn Iterator<Item = f32>| {
                    for ((p, u), g) in params.iter_mut().zip(velocity.iter_mut()).zip(grad) {
                        *u = config.momentum * *u - lr * g;
                        *p += *u;
                    }
                };
                step(&mut probe.weights, &mut velocity_w, &mut grad_w.iter().copied());
                let grad_b: Vec<f32> =
                    (0..classes).map(|c| logits.chunks_exact(classes).map(|g| g[c]).sum::<f32>()).collect();
                step(&mut probe.bias, &mut velocity_b, &mut grad_b.into_iter());
                done += 1;
                if !progress(done as f64 / updates as f64) && done < updates {
                    return Err(ProbeError::Cancelled);
                }
            }
        }
        Ok(probe)
    }

    /// `out` = f W_c + b_c for `rows` feature rows.
    fn logits(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        out.clear();
        out.resize(rows * self.classes, 0.0);
        linalg::affine(out, x, rows, &self.weights, self.features.len(), self.classes, &self.bias, Threads(1));
    }

    /// The classes the probe tells apart (0 .. classes).
    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The most likely class of each image (`pixels`, N x V bytes; ties go to the lower class).
    ///
    /// # Errors
    /// [`ProbeError::ImageSize`] when `pixels` is not whole images of the probe's size.
    pub fn classify(&self, pixels: &[u8], pool: &MathPool) -> Result<Vec<u8>, ProbeError> {
        let rows = image_rows(&self.features, pixels)?;
        let nv = self.features.n_pixels();
        // A thousand images at a time: the features of one chunk in memory.
        const CHUNK: usize = 1000;
        let (mut x, mut scratch, mut logits) = (Vec::new(), Vec::new(), Vec::new());
        let mut labels = Vec::with_capacity(rows);
        for chunk in pixels.chunks(CHUNK * nv) {
            let n = chunk.len() / nv;
            pool.run(|threads| self.features.compute(chunk, n, &mut x, &mut scratch, threads));
            self.logits(&x, n, &mut logits);
            labels.extend(logits.chunks_exact(self.classes).map(|row| {
                let best = row.iter().enumerate().fold(0, |best, (c, &z)| if z > row[best] { c } else { best });
                best as u8
            }));
        }
        Ok(labels)
    }

    /// Accuracy on `pixels` with their `labels`, overall and per class.
    ///
    /// # Errors
    /// As [`Probe::classify`], and [`ProbeError::Shape`] when the labels do not match the images.
    pub fn accuracy(&self, pixels: &[u8], labels: &[u8], pool: &MathPool) -> Result<Accuracy, ProbeError> {
        let predicted = self.classify(pixels, pool)?;
        if labels.len() != predicted.len() {
            return Err(ProbeError::Shape { what: "the labels", expected: predicted.len(), got: labels.len() });
        }
        let classes = self.classes.max(labels.iter().copied().max().map_or(0, |m| m as usize + 1));
        let mut per_class = vec![(0, 0); classes];
        for (&p, &l) in predicted.iter().zip(labels) {
            let entry = &mut per_class[l as usize];
            entry.1 += 1;
            entry.0 += usize::from(p == l);
        }
        let correct = per_class.iter().map(|(c, _)| c).sum();
        Ok(Accuracy { correct, total: labels.len(), per_class })
    }
}

/// In place: z → exp(z − max z) / Σ exp(z − max z).
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0f32;
    for z in row.iter_mut() {
        *z = (*z - max).exp();
        total += *z;
    }
    row.iter_mut().for_each(|z| *z /= total);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_the_order() {
        let mut row = [1.0f32, 3.0, -2.0, 10.0];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[3] > 0.99 && row[1] > row[0] && row[0] > row[2]);
        // Large logits do not overflow.
        let mut large = [0.0f32, 1000.0];
        softmax(&mut large);
        assert_eq!(large, [0.0, 1.0]);
    }

    #[test]
    fn class_counts_ignore_labels_beyond_the_classes() {
        assert_eq!(class_counts(&[0, 2, 2, 9, 3], 4), [1, 0, 2, 1]);
    }
}
