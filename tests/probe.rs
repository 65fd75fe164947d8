//! The linear probe: a separable problem is learned perfectly; raw MNIST pixels reach the known
//! ~92%; an RBM's hidden probabilities give a probe whose accuracy is reported; the same probe on
//! 1 and 2 threads; classification and class counts; bad input and cancellation.

mod common;

use common::{cd1_trained, mnist};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::model::MathPool;
use rbm_lab::model::probe::{Features, Probe, ProbeConfig, ProbeError, class_counts};

const PIXELS: usize = 30;
const CLASSES: usize = 5;

/// Images of 30 pixels: class c lights pixels 6c..6c+6 brightly, every pixel also gets noise below
/// half the brightness, so a linear classifier separates the classes exactly.
fn separable(count: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut pixels = Vec::with_capacity(count * PIXELS);
    let mut labels = Vec::with_capacity(count);
    for _ in 0..count {
        let class = rng.random_range(0..CLASSES);
        labels.push(class as u8);
        for p in 0..PIXELS {
            let signal = if p / 6 == class { 160 } else { 0 };
            pixels.push(signal + rng.random_range(0..90u8));
        }
    }
    (pixels, labels)
}

#[test]
fn a_separable_problem_is_learned_perfectly() {
    let (train, train_labels) = separable(2000, 1);
    let (test, test_labels) = separable(500, 2);
    let pool = MathPool::new(2);
    let config = ProbeConfig { epochs: 5, ..ProbeConfig::default() };
    let probe = Probe::train(Features::Pixels(PIXELS), &train, &train_labels, &config, &pool, &mut |_| true).unwrap();
    assert_eq!(probe.classes(), CLASSES);
    let accuracy = probe.accuracy(&test, &test_labels, &pool).unwrap();
    assert_eq!(accuracy.correct, accuracy.total, "{accuracy:?}");
    assert_eq!(accuracy.per_class.iter().map(|&(_, n)| n).sum::<usize>(), 500);
    // The control: shuffled labels leave nothing to learn, so the same probe is near chance.
    let mut shuffled = train_labels.clone();
    shuffled.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(7));
    let probe = Probe::train(Features::Pixels(PIXELS), &train, &shuffled, &config, &pool, &mut |_| true).unwrap();
    let chance = probe.accuracy(&test, &test_labels, &pool).unwrap().rate();
    assert!(chance < 0.4, "{chance}");
}

#[test]
fn raw_mnist_pixels_reach_the_known_ninety_two_percent() {
    let data = mnist();
    let pool = MathPool::new(2);
    let config = ProbeConfig::default();
    let probe =
        Probe::train(Features::Pixels(784), &data.train.pixels, &data.train.labels, &config, &pool, &mut |_| true)
            .unwrap();
    let accuracy = probe.accuracy(&data.test.pixels, &data.test.labels, &pool).unwrap();
    println!("raw-pixel softmax regression, {} epochs: test accuracy {:.4}", config.epochs, accuracy.rate());
    // Multinomial logistic regression on MNIST pixels: about 92% (LeCun et al.'s linear
    // classifier 88% without the softmax and penalty; scikit-learn's ~92.5%).
    assert!((0.91..0.94).contains(&accuracy.rate()), "{accuracy:?}");
    assert_eq!(accuracy.total, 10_000);
    for label in 0..10 {
        let rate = accuracy.class_rate(label).unwrap();
        assert!(rate > 0.8, "class {label}: {rate}");
    }
}

#[test]
fn a_probe_on_an_rbm_s_hidden_probabilities_is_reported_and_the_same_on_one_and_two_threads() {
    let data = mnist();
    let rbm = cd1_trained(64, 300, 4);
    let (train, labels) = (&data.train.pixels[..10_000 * 784], &data.train.labels[..10_000]);
    let config = ProbeConfig { epochs: 3, ..ProbeConfig::default() };
    let probes: Vec<Probe> = [1, 2]
        .into_iter()
        .map(|threads| {
            let features = Features::Hidden(rbm.clone());
            Probe::train(features, train, labels, &config, &MathPool::new(threads), &mut |_| true).unwrap()
        })
        .collect();
    assert!(probes[0] == probes[1], "the same weights to the bit on 1 and 2 threads");
    let pool = MathPool::new(2);
    let accuracy = probes[0].accuracy(&data.test.pixels, &data.test.labels, &pool).unwrap();
    println!("probe on p(h|v) of a 784x64 CD-1 model, 10,000 images, 3 epochs: {:.4}", accuracy.rate());
    assert!(accuracy.rate() > 0.5, "far above chance: {accuracy:?}");
    // Another seed shuffles differently.
    let other = ProbeConfig { seed: 2, ..config };
    let features = Features::Hidden(rbm);
    let probe = Probe::train(features, train, labels, &other, &pool, &mut |_| true).unwrap();
    assert!(probe != probes[0]);
}

#[test]
fn classify_labels_images_and_class_counts_count_them() {
    let (train, labels) = separable(1000, 3);
    let pool = MathPool::new(1);
    let config = ProbeConfig { epochs: 3, ..ProbeConfig::default() };
    let probe = Probe::train(Features::Pixels(PIXELS), &train, &labels, &config, &pool, &mut |_| true).unwrap();
    // Ten images of class 3 only: a "sampler" stuck on one class shows as one full count.
    let (pixels, truth) = separable(400, 4);
    let threes: Vec<u8> = truth
        .iter()
        .enumerate()
        .filter(|&(_, &l)| l == 3)
        .take(10)
        .flat_map(|(i, _)| pixels[i * PIXELS..(i + 1) * PIXELS].to_vec())
        .collect();
    let predicted = probe.classify(&threes, &pool).unwrap();
    assert_eq!(class_counts(&predicted, CLASSES), [0, 0, 0, 10, 0]);
    assert_eq!(probe.classify(&[], &pool).unwrap(), Vec::<u8>::new());
    assert!(matches!(probe.classify(&threes[..45], &pool), Err(ProbeError::ImageSize { expected: 30, got: 45 })));
}

#[test]
fn bad_settings_and_input_are_refused_and_progress_can_cancel() {
    let (train, labels) = separable(300, 5);
    let pool = MathPool::new(1);
    let good = ProbeConfig::default();
    let train_with = |config: &ProbeConfig, pixels: &[u8], labels: &[u8]| {
        Probe::train(Features::Pixels(PIXELS), pixels, labels, config, &pool, &mut |_| true)
    };
    assert_eq!(train_with(&ProbeConfig { epochs: 0, ..good.clone() }, &train, &labels), Err(ProbeError::Epochs(0)));
    assert_eq!(train_with(&ProbeConfig { batch_size: 0, ..good.clone() }, &train, &labels), Err(ProbeError::Batch));
    for bad in [ProbeConfig { learning_rate: f32::NAN, ..good.clone() }, ProbeConfig { momentum: 1.0, ..good.clone() }]
    {
        assert!(matches!(train_with(&bad, &train, &labels), Err(ProbeError::Setting { .. })), "{bad:?}");
    }
    assert_eq!(train_with(&good, &[], &[]), Err(ProbeError::NoImages));
    assert!(matches!(train_with(&good, &train, &labels[1..]), Err(ProbeError::Shape { .. })));
    assert!(matches!(train_with(&good, &train[1..], &labels), Err(ProbeError::ImageSize { .. })));
    let mut calls = 0;
    let cancelled = Probe::train(Features::Pixels(PIXELS), &train, &labels, &good, &pool, &mut |fraction| {
        calls += 1;
        fraction < 0.5
    });
    assert_eq!(cancelled, Err(ProbeError::Cancelled));
    assert_eq!(calls, 15, "3 batches per epoch, stopped at the first past half of 30");
}
