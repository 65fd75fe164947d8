use super::*;
use crate::model::MathPool;
use crate::model::labels::{LabelUnits, accuracy};
use crate::model::rbm::Initialisation;
use rand::SeedableRng;

/// A separable problem: C classes, each a block of 4 pixels on (plus one random pixel elsewhere).
fn separable(classes: usize, per_class: usize, seed: u64) -> (Vec<f32>, Vec<u8>, usize) {
    let nv = classes * 4;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut images, mut targets) = (Vec::new(), Vec::new());
    for i in 0..classes * per_class {
        let class = i % classes;
        let mut x = vec![0.0f32; nv];
        x[class * 4..class * 4 + 4].iter_mut().for_each(|p| *p = 1.0);
        x[(uniform_f32(&mut rng) * nv as f32) as usize % nv] = 1.0;
        images.extend(x);
        targets.push(class as u8);
    }
    (images, targets, nv)
}

/// Trains on the separable problem for `epochs` epochs of batches of 10, on `threads` threads.
fn train(config: &TrainingConfig, epochs: usize, threads: usize) -> (Rbm, LabelUnits, f64) {
    let (classes, nh) = (4, 8);
    let (images, targets, nv) = separable(classes, 50, 1);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let mut rbm = Rbm::initialised(nv, nh, Initialisation::Xavier, &[], &mut rng);
    let mut labels = LabelUnits::initialised(classes, nv, nh, Initialisation::Xavier, &mut rng);
    let before = accuracy(&rbm, &labels, &images, &targets, Threads(1));
    let pool = MathPool::new(threads);
    let batch = 10;
    let mut ws = LabelledCd::new(nv, nh, classes, batch, 3);
    for epoch in 0..epochs {
        for start in (0..targets.len()).step_by(batch) {
            let (x, y) = ws.data_mut(batch);
            x.copy_from_slice(&images[start * nv..(start + batch) * nv]);
            y.iter_mut().zip(&targets[start..start + batch]).for_each(|(y, &t)| *y = t as u32);
            pool.run(|threads| ws.step(&mut rbm, &mut labels, config, batch, epoch as f64, threads));
        }
    }
    (rbm, labels, before)
}

#[test]
fn training_on_a_separable_problem_classifies_it() {
    let (images, targets, _) = separable(4, 50, 1);
    for method in [GradientMethod::Cd, GradientMethod::Pcd] {
        let config = TrainingConfig {
            learning_rate: 0.1,
            k: 1,
            batch_size: 10,
            sampling: VisibleSampling::Bernoulli,
            method,
            ..TrainingConfig::default()
        };
        let (rbm, labels, before) = train(&config, 30, 1);
        let after = accuracy(&rbm, &labels, &images, &targets, Threads(1));
        assert!(after >= 0.95, "{method:?}: accuracy {after} (before training {before})");
        assert!(before < 0.6, "the untrained model should not classify it already ({before})");
    }
}

#[test]
fn one_and_two_threads_train_the_same_bits() {
    for method in [GradientMethod::Cd, GradientMethod::Pcd] {
        let config = TrainingConfig {
            learning_rate: 0.05,
            k: 2,
            batch_size: 10,
            method,
            pcd_particles: 37,
            binarize_data: true,
            ..TrainingConfig::default()
        };
        let one = train(&config, 2, 1);
        let two = train(&config, 2, 2);
        assert!(one.0 == two.0 && one.1 == two.1, "{method:?}: 1 and 2 threads differ");
    }
}

#[test]
fn softmax_draws_follow_their_probabilities() {
    let inputs = [0.0f32, 1.0, -1.0, 2.0];
    let total: f64 = inputs.iter().map(|&x| (x as f64).exp()).sum();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let draws = 100_000;
    let mut counts = [0usize; 4];
    for _ in 0..draws {
        counts[sample_softmax(&inputs, uniform_f32(&mut rng))] += 1;
    }
    for (class, &count) in counts.iter().enumerate() {
        let p = (inputs[class] as f64).exp() / total;
        let rate = count as f64 / draws as f64;
        // Five standard deviations of a binomial proportion.
        let tolerance = 5.0 * (p * (1.0 - p) / draws as f64).sqrt();
        assert!((rate - p).abs() < tolerance, "class {class}: rate {rate}, p {p}");
    }
}

#[test]
fn configurations_the_step_does_not_implement_are_refused() {
    assert!(check_config(&TrainingConfig::default()).is_ok());
    assert!(check_config(&TrainingConfig { method: GradientMethod::Pcd, ..TrainingConfig::default() }).is_ok());
    let error = check_config(&TrainingConfig::quality_recipe()).expect_err("centering");
    assert!(error.contains("centering"), "{error}");
    assert!(check_config(&TrainingConfig { momentum: 0.9, ..TrainingConfig::default() }).is_err());
}
