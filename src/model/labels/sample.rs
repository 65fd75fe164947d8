//! Chains of the classification RBM for watching what it generates: with the label clamped to a
//! class ("draw a 7": Gibbs sampling of x and h with y fixed, whose stationary distribution is
//! p(x, h | y)), each chain to a class of its own ("draw each class": chain i clamped to class
//! i mod C), or free (y resampled from softmax(d + h Uᵀ) at every step, p(x, y, h)).

use super::super::config::VisibleSampling;
use super::super::rbm::{Rbm, sigmoid};
use super::super::rng::RowStreams;
use super::train::ChainModel;
use super::{LabelError, LabelUnits};

/// Which class the label of each chain is clamped to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChainClamp {
    /// The label is sampled with the image.
    #[default]
    Free,
    /// Every chain draws this class.
    Class(usize),
    /// Chain i draws class i mod C, so that every class is drawn (C: the model's classes).
    EachClass,
}

impl ChainClamp {
    /// The class chain `chain` is clamped to by a model with `classes` classes (`None`: free).
    pub fn class_of(self, chain: usize, classes: usize) -> Option<usize> {
        match self {
            ChainClamp::Free => None,
            ChainClamp::Class(class) => Some(class),
            ChainClamp::EachClass => chain.checked_rem(classes),
        }
    }
}

/// `count` chains x → h → x (and y, unless clamped).
pub struct LabelledChains {
    count: usize,
    n_visible: usize,
    n_hidden: usize,
    /// Which class each chain's label is clamped to.
    clamp: ChainClamp,
    start: Vec<f32>,
    visible: Vec<f32>,
    labels: Vec<u32>,
    /// The labels the chains start (and restart) with.
    start_labels: Vec<u32>,
    hidden: Vec<f32>,
    /// σ(b + h Wᵀ) of the last step: what is displayed.
    visible_mean: Vec<f32>,
    streams: RowStreams,
    steps: u64,
}

impl LabelledChains {
    /// Chains starting at `start` (count x V, values in [0, 1]) with their labels clamped as
    /// `clamp` says or, free, starting at class 0 and sampled. Errors if a clamped class is not
    /// one of the model's.
    pub fn new(
        start: Vec<f32>,
        n_visible: usize,
        labels: &LabelUnits,
        clamp: ChainClamp,
        seed: u64,
    ) -> Result<Self, LabelError> {
        if let ChainClamp::Class(class) = clamp {
            labels.check_class(class)?;
        }
        let count = start.len() / n_visible.max(1);
        let n_hidden = labels.n_hidden();
        let start_labels: Vec<u32> =
            (0..count).map(|chain| clamp.class_of(chain, labels.classes()).unwrap_or(0) as u32).collect();
        Ok(Self {
            count,
            n_visible,
            n_hidden,
            clamp,
            visible: start.clone(),
            visible_mean: start.clone(),
            start,
            labels: start_labels.clone(),
            start_labels,
            hidden: vec![0.0; count * n_hidden],
            streams: RowStreams::new(seed, count),
            steps: 0,
        })
    }

    pub fn count(&self) -> usize {
        self.count
    }
    pub fn steps(&self) -> u64 {
        self.steps
    }
    pub fn clamp(&self) -> ChainClamp {
        self.clamp
    }
    pub fn start_images(&self) -> &[f32] {
        &self.start
    }
    /// The chains' current binary (or sampled) images.
    pub fn images(&self) -> &[f32] {
        &self.visible
    }
    /// The chains' current labels (the clamped class when clamped).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }
    /// σ(b + h Wᵀ) after the last step (the start images before the first).
    pub fn mean_images(&self) -> &[f32] {
        &self.visible_mean
    }

    /// Back to the start images (the label to its start), step counter at zero (the random
    /// streams go on).
    pub fn restart(&mut self) {
        self.visible.copy_from_slice(&self.start);
        self.visible_mean.copy_from_slice(&self.start);
        self.labels.copy_from_slice(&self.start_labels);
        self.steps = 0;
    }

    /// One Gibbs step. Chains whose shape does not match the model are left alone.
    pub fn step(&mut self, rbm: &Rbm, labels: &LabelUnits, sampling: VisibleSampling, noise_std: f32) {
        if rbm.n_visible() != self.n_visible
            || rbm.n_hidden() != self.n_hidden
            || labels.check_fits(rbm).is_err()
            || self.labels.iter().any(|&l| labels.check_class(l as usize).is_err())
            || self.count == 0
        {
            return;
        }
        let model = ChainModel::with_sampling(rbm, labels, 1, sampling, noise_std);
        let streams = self.streams.streams_mut();
        let clamped = self.clamp != ChainClamp::Free;
        model.run_steps(1, &mut self.visible, &mut self.labels, &mut self.hidden, streams, None, clamped);
        // What is shown is p(x | h) of the hidden sample this step drew.
        model.visible_inputs(&mut self.visible_mean, &self.hidden);
        self.visible_mean.iter_mut().for_each(|x| *x = sigmoid(*x));
        self.steps += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::labels::tests::{bits, random_model};
    use crate::model::labels::{LabelUnits, free_energy};

    /// With the label clamped to y, the chains visit each image x with the frequency of the exact
    /// p(x | y) = exp(−F(x, y)) / Σ_x' exp(−F(x', y)), on a model small enough to enumerate.
    ///
    /// 200 chains x 2,500 steps after 100 of burn-in give 500,000 visits; the chains mix within a
    /// few steps at this weight scale, so the visits behave like ≥ 50,000 independent draws,
    /// whose proportion for an image of probability p has standard deviation ≤ √(p(1−p)/50,000)
    /// ≤ 0.0023. Each frequency must be within 5 such deviations (plus 0.002 for the rest of the
    /// correlation), far below the gap between the clamped classes' distributions, which the
    /// test checks is large enough to tell a wrong clamp apart.
    #[test]
    fn clamped_chains_visit_images_with_the_exact_conditional_frequencies() {
        let (nv, classes, nh) = (4, 3, 3);
        let (rbm, labels) = random_model(nv, classes, nh, 1.2, 11);
        let states = 1usize << nv;
        let exact = |y: usize| -> Vec<f64> {
            let negative: Vec<f64> = (0..states).map(|k| -free_energy(&rbm, &labels, &bits(k, nv), y)).collect();
            let norm = crate::model::eval::log_sum_exp(&negative);
            negative.iter().map(|n| (n - norm).exp()).collect()
        };
        let (chains, burn_in, steps) = (200, 100, 2_500);
        for y in 0..classes {
            let want = exact(y);
            let other = exact((y + 1) % classes);
            let gap = want.iter().zip(&other).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let mut sampler =
                LabelledChains::new(vec![0.0; chains * nv], nv, &labels, ChainClamp::Class(y), 5 + y as u64)
                    .expect("class");
            let mut visits = vec![0usize; states];
            for step in 0..burn_in + steps {
                sampler.step(&rbm, &labels, VisibleSampling::Bernoulli, 0.0);
                if step >= burn_in {
                    for x in sampler.images().chunks_exact(nv) {
                        visits[x.iter().enumerate().map(|(i, &b)| (b as usize) << i).sum::<usize>()] += 1;
                    }
                }
                assert!(sampler.labels().iter().all(|&l| l as usize == y), "the label moved");
            }
            let total = (chains * steps) as f64;
            for (k, (&count, &p)) in visits.iter().zip(&want).enumerate() {
                let rate = count as f64 / total;
                let tolerance = 5.0 * (p * (1.0 - p) / 50_000.0).sqrt() + 0.002;
                assert!((rate - p).abs() < tolerance, "class {y}, image {k}: visited {rate:.4}, p(x|y) {p:.4}");
                assert!(tolerance < gap, "class {y}: the classes' distributions are too close to tell apart");
            }
        }
    }

    #[test]
    fn a_class_the_model_lacks_is_refused() {
        let labels = LabelUnits::from_parameters(3, 2, vec![0.0; 6], vec![0.0; 3]).expect("shape");
        let error = LabelledChains::new(vec![0.0; 8], 4, &labels, ChainClamp::Class(3), 0).err().expect("refused");
        assert_eq!(error.to_string(), "class 3 does not exist: the model's label units have classes 0 to 2");
        assert!(LabelledChains::new(vec![0.0; 8], 4, &labels, ChainClamp::Free, 0).is_ok());
    }
}
