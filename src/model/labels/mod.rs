//! Label units: the joint RBM of an image and its one-hot class (Hinton, Osindero & Teh 2006;
//! Larochelle & Bengio 2008, "Classification using discriminative restricted Boltzmann machines",
//! trained generatively here).
//!
//! Visibles are the image x (binary) and a softmax group y of C classes (one-hot), so that
//!   E(x, y, h) = −bᵀx − dᵀy − cᵀh − hᵀWx − hᵀUy,
//! with the image part (W, b = b_v, c = b_h) an ordinary [`Rbm`] and the label part in
//! [`LabelUnits`]: U (C x H, row y holds class y's weights to the hidden units) and d (C).
//! Summing out the binary hidden units gives the free energy
//!   F(x, y) = −bᵀx − d_y − Σ_j softplus(c_j + (Wᵀx)_j + U_{y,j}),
//! so that p(y | x) = exp(−F(x, y)) / Σ_y' exp(−F(x, y')): classification is exact and costs one
//! product x W per image (the class only adds a row of U before the softplus).
//! The conditionals of the Gibbs chain: p(h_j = 1 | x, y) = σ(c_j + (Wᵀx)_j + U_{y,j}),
//! p(x_i = 1 | h) = σ(b_i + (Wh)_i), p(y | h) = softmax_y(d_y + (Uh)_y).
//!
//! Beside this file: `train/` (the CD-k / PCD-k update of W, U, b, c, d), `sample.rs` (chains
//! with the label clamped to a class, or free).

pub mod sample;
pub mod train;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use thiserror::Error;

use super::linalg::{self, Threads};
use super::rbm::{Initialisation, Rbm, softplus};

pub use sample::{ChainClamp, LabelledChains};
pub use train::{LabelledCd, LabelledStepStats};

/// Most label classes a model may have: labels are stored as bytes (IDX label files).
pub const MAX_LABEL_CLASSES: usize = 256;

/// Rows per block of the batched computations. Fixed (not derived from the thread count), so that
/// every block runs the same products whichever thread takes it: 1 and 2 threads give the same bits.
pub(crate) const ROW_BLOCK: usize = 16;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum LabelError {
    #[error("label units need between 1 and {MAX_LABEL_CLASSES} classes (got {0})")]
    Classes(usize),
    #[error("the label weights hold {found} values, but {classes} classes x {hidden} hidden units need {expected}")]
    Shape { found: usize, expected: usize, classes: usize, hidden: usize },
    #[error("the label biases hold {found} values, one per class is {classes}")]
    BiasShape { found: usize, classes: usize },
    #[error("class {class} does not exist: the model's label units have classes 0 to {}", .classes - 1)]
    NoSuchClass { class: usize, classes: usize },
    #[error(
        "the training set has an image labelled {label}, but the model has {classes} label classes (0 to {}); use \
         at least {} classes",
        .classes - 1, .label + 1
    )]
    LabelOutOfRange { label: usize, classes: usize },
    #[error("the model's hidden layer has {model} units but its label units are for {labels}")]
    HiddenMismatch { model: usize, labels: usize },
}

/// The label part of a classification RBM: U (classes x hidden, row-major) and d (one per class).
#[derive(Clone, Debug, PartialEq)]
pub struct LabelUnits {
    classes: usize,
    n_hidden: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl LabelUnits {
    pub fn from_parameters(
        classes: usize,
        n_hidden: usize,
        weights: Vec<f32>,
        bias: Vec<f32>,
    ) -> Result<Self, LabelError> {
        check_classes(classes)?;
        let expected = classes.saturating_mul(n_hidden);
        if weights.len() != expected {
            return Err(LabelError::Shape { found: weights.len(), expected, classes, hidden: n_hidden });
        }
        if bias.len() != classes {
            return Err(LabelError::BiasShape { found: bias.len(), classes });
        }
        Ok(Self { classes, n_hidden, weights, bias })
    }

    /// Label units with U drawn at the image weights' scale for `scheme` on a `n_visible`-pixel
    /// model (Xavier counts the label units among the visibles), and d = 0. Called after the
    /// image weights are drawn from the same `rng`, so that they stay what an unlabelled model has.
    pub fn initialised<R: Rng + ?Sized>(
        classes: usize,
        n_visible: usize,
        n_hidden: usize,
        scheme: Initialisation,
        rng: &mut R,
    ) -> Self {
        let scale = match scheme {
            Initialisation::Xavier => (2.0 / (n_visible + n_hidden) as f64).sqrt() as f32,
            Initialisation::Hinton => 0.01,
        };
        let weights = (0..classes * n_hidden)
            .map(|_| {
                let z: f32 = StandardNormal.sample(rng);
                z * scale
            })
            .collect();
        Self { classes, n_hidden, weights, bias: vec![0.0; classes] }
    }

    pub fn classes(&self) -> usize {
        self.classes
    }
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }
    /// U, row-major classes x hidden.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }
    /// d, one per class.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }
    /// Row y of U: class y's weights to the hidden units.
    pub fn class_weights(&self, class: usize) -> &[f32] {
        &self.weights[class * self.n_hidden..(class + 1) * self.n_hidden]
    }
    pub fn parameters_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        (&mut self.weights, &mut self.bias)
    }
    pub fn is_finite(&self) -> bool {
        self.weights.iter().chain(&self.bias).all(|x| x.is_finite())
    }

    /// An error unless `class` is one of the model's classes.
    pub fn check_class(&self, class: usize) -> Result<(), LabelError> {
        if class < self.classes { Ok(()) } else { Err(LabelError::NoSuchClass { class, classes: self.classes }) }
    }

    /// An error unless these label units fit `rbm`'s hidden layer.
    pub fn check_fits(&self, rbm: &Rbm) -> Result<(), LabelError> {
        if self.n_hidden == rbm.n_hidden() {
            Ok(())
        } else {
            Err(LabelError::HiddenMismatch { model: rbm.n_hidden(), labels: self.n_hidden })
        }
    }
}

/// An error unless `classes` is a usable number of label classes.
pub fn check_classes(classes: usize) -> Result<(), LabelError> {
    if (1..=MAX_LABEL_CLASSES).contains(&classes) { Ok(()) } else { Err(LabelError::Classes(classes)) }
}

/// F(x, y) in f64 (the formula in the module header), one image.
pub fn free_energy(rbm: &Rbm, labels: &LabelUnits, x: &[f32], class: usize) -> f64 {
    let pre = hidden_inputs_f64(rbm, x);
    class_free_energy(rbm, labels, x, &pre, class)
}

/// −bᵀx − d_y − Σ_j softplus(pre_j + U_{y,j}) given pre = c + Wᵀx.
fn class_free_energy(rbm: &Rbm, labels: &LabelUnits, x: &[f32], pre: &[f64], class: usize) -> f64 {
    let visible: f64 = rbm.visible_bias().iter().zip(x).map(|(&b, &xi)| b as f64 * xi as f64).sum();
    let hidden: f64 = pre.iter().zip(labels.class_weights(class)).map(|(&p, &u)| softplus(p + u as f64)).sum();
    -visible - labels.bias[class] as f64 - hidden
}

/// c + Wᵀx in f64.
fn hidden_inputs_f64(rbm: &Rbm, x: &[f32]) -> Vec<f64> {
    let nh = rbm.n_hidden();
    let mut pre: Vec<f64> = rbm.hidden_bias().iter().map(|&b| b as f64).collect();
    for (row, &xi) in rbm.weights_slice().chunks_exact(nh).zip(x) {
        if xi != 0.0 {
            pre.iter_mut().zip(row).for_each(|(p, &w)| *p += xi as f64 * w as f64);
        }
    }
    pre
}

/// log p(y | x) for every class y, in f64: −F(x, y) normalised over the classes.
pub fn class_log_probabilities(rbm: &Rbm, labels: &LabelUnits, x: &[f32]) -> Vec<f64> {
    let pre = hidden_inputs_f64(rbm, x);
    let negative: Vec<f64> = (0..labels.classes).map(|y| -class_free_energy(rbm, labels, x, &pre, y)).collect();
    let log_norm = super::eval::log_sum_exp(&negative);
    negative.iter().map(|&n| n - log_norm).collect()
}

/// The most probable class of each of `rows` images (rows x V): argmax_y p(y | x) = argmin_y
/// F(x, y). The hidden inputs c + Wᵀx come from one f32 product per block of rows; the softplus
/// sums are in f64. Ties go to the smaller class.
pub fn classify(rbm: &Rbm, labels: &LabelUnits, images: &[f32], rows: usize, threads: Threads) -> Vec<usize> {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let images = &images[..rows * nv];
    let mut classes = vec![0usize; rows];
    let w = rbm.weights_slice();
    let c = rbm.hidden_bias().as_slice().unwrap_or(&[]);
    let block = |(x, out): (&[f32], &mut [usize])| {
        let block_rows = out.len();
        let mut pre = vec![0.0f32; block_rows * nh];
        linalg::affine(&mut pre, x, block_rows, w, nv, nh, c, Threads(1));
        for (pre_row, class_out) in pre.chunks_exact(nh).zip(out.iter_mut()) {
            // b·x is the same for every class, so only −d_y − Σ softplus decides.
            let mut best = (f64::INFINITY, 0);
            for y in 0..labels.classes {
                let hidden: f64 =
                    pre_row.iter().zip(labels.class_weights(y)).map(|(&p, &u)| softplus(p as f64 + u as f64)).sum();
                let energy = -(labels.bias[y] as f64) - hidden;
                if energy < best.0 {
                    best = (energy, y);
                }
            }
            *class_out = best.1;
        }
    };
    let blocks = images.chunks(ROW_BLOCK * nv).zip(classes.chunks_mut(ROW_BLOCK));
    if threads.0 > 1 {
        use rayon::prelude::*;
        blocks.collect::<Vec<_>>().into_par_iter().for_each(block);
    } else {
        blocks.for_each(block);
    }
    classes
}

/// The fraction of `rows` images whose [`classify`] class is their label.
pub fn accuracy(rbm: &Rbm, labels: &LabelUnits, images: &[f32], targets: &[u8], threads: Threads) -> f64 {
    let rows = targets.len();
    let predicted = classify(rbm, labels, images, rows, threads);
    let right = predicted.iter().zip(targets).filter(|(p, t)| **p == **t as usize).count();
    right as f64 / rows.max(1) as f64
}

/// [`accuracy`] over `targets.len()` images that `image(i, out)` writes (as V values in [0, 1]),
/// a chunk of rows at a time, so that a whole test set never needs to be held as f32.
pub fn accuracy_of(
    rbm: &Rbm,
    labels: &LabelUnits,
    targets: &[u8],
    image: impl Fn(usize, &mut [f32]),
    threads: Threads,
) -> f64 {
    const CHUNK: usize = 1024;
    let nv = rbm.n_visible();
    let mut buffer = vec![0.0f32; CHUNK.min(targets.len()) * nv];
    let mut right = 0usize;
    for (chunk_index, chunk) in targets.chunks(CHUNK).enumerate() {
        let images = &mut buffer[..chunk.len() * nv];
        for (offset, row) in images.chunks_exact_mut(nv).enumerate() {
            image(chunk_index * CHUNK + offset, row);
        }
        let predicted = classify(rbm, labels, images, chunk.len(), threads);
        right += predicted.iter().zip(chunk).filter(|(p, t)| **p == **t as usize).count();
    }
    right as f64 / targets.len().max(1) as f64
}

/// An error unless every label in `targets` is one of the model's classes.
pub fn check_targets(labels: &LabelUnits, targets: &[u8]) -> Result<(), LabelError> {
    match targets.iter().map(|&t| t as usize).find(|&t| t >= labels.classes) {
        Some(label) => Err(LabelError::LabelOutOfRange { label, classes: labels.classes }),
        None => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;

    /// A small random model: V pixels, C classes, H hidden units, weights of scale `scale`.
    pub(crate) fn random_model(nv: usize, classes: usize, nh: usize, scale: f32, seed: u64) -> (Rbm, LabelUnits) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    let z: f32 = StandardNormal.sample(&mut rng);
                    z * scale
                })
                .collect()
        };
        let rbm = Rbm::from_parameters(nv, nh, draw(nv * nh), draw(nv), draw(nh)).expect("shape");
        let labels = LabelUnits::from_parameters(classes, nh, draw(classes * nh), draw(classes)).expect("shape");
        (rbm, labels)
    }

    /// The energy E(x, y, h) of the module header, in f64.
    pub(crate) fn energy(rbm: &Rbm, labels: &LabelUnits, x: &[f32], y: usize, h: &[f32]) -> f64 {
        rbm.energy(x, h)
            - labels.bias[y] as f64
            - labels.class_weights(y).iter().zip(h).map(|(&u, &hj)| u as f64 * hj as f64).sum::<f64>()
    }

    /// The bits of `index` as a binary vector of `n` units.
    pub(crate) fn bits(index: usize, n: usize) -> Vec<f32> {
        (0..n).map(|i| ((index >> i) & 1) as f32).collect()
    }

    /// log Σ_h exp(−E(x, y, h)) by enumerating every hidden configuration.
    fn log_joint_by_enumeration(rbm: &Rbm, labels: &LabelUnits, x: &[f32], y: usize) -> f64 {
        let nh = rbm.n_hidden();
        let terms: Vec<f64> = (0..1usize << nh).map(|k| -energy(rbm, labels, x, y, &bits(k, nh))).collect();
        crate::model::eval::log_sum_exp(&terms)
    }

    /// Classification by free energy (the batched f32 product and f64 softplus) picks the class of
    /// the exact conditional p(y | x), computed by summing exp(−E) over all 2^H hidden states; the
    /// f64 free energy equals that sum's logarithm.
    #[test]
    fn classification_by_free_energy_is_the_argmax_of_the_exact_conditional() {
        let (nv, classes, nh) = (8, 3, 5);
        for seed in 0..4 {
            let (rbm, labels) = random_model(nv, classes, nh, 1.5, seed);
            let images: Vec<f32> = (0..1usize << nv).flat_map(|k| bits(k, nv)).collect();
            let rows = 1 << nv;
            let predicted = classify(&rbm, &labels, &images, rows, Threads(1));
            let mut disagreements_possible = 0;
            for (k, x) in images.chunks_exact(nv).enumerate() {
                let exact: Vec<f64> = (0..classes).map(|y| log_joint_by_enumeration(&rbm, &labels, x, y)).collect();
                for (y, &e) in exact.iter().enumerate() {
                    let f = free_energy(&rbm, &labels, x, y);
                    assert!((e + f).abs() < 1e-9 * (1.0 + e.abs()), "x {k}, y {y}: log Σ_h e^-E {e}, -F {}", -f);
                }
                let norm = crate::model::eval::log_sum_exp(&exact);
                let conditional = class_log_probabilities(&rbm, &labels, x);
                for (c, e) in conditional.iter().zip(&exact) {
                    assert!((c - (e - norm)).abs() < 1e-9, "x {k}: log p(y|x) {c} vs exact {}", e - norm);
                }
                let best = (0..classes).fold(0, |b, y| if exact[y] > exact[b] { y } else { b });
                // Only a near tie (within f32 rounding of the product) may be decided otherwise.
                let mut sorted = exact.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                if sorted[0] - sorted[1] < 1e-4 {
                    disagreements_possible += 1;
                    continue;
                }
                assert_eq!(predicted[k], best, "seed {seed}, image {k}: exact log p(x,y) {exact:?}");
            }
            assert!(disagreements_possible < 3, "{disagreements_possible} near ties");
            let two = classify(&rbm, &labels, &images, rows, Threads(2));
            assert_eq!(predicted, two);
        }
    }
}
