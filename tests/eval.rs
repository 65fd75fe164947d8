//! Quality measures against brute force on tiny models, AIS against the exact log Z on 784x16 models
//! (random and CD-trained on binarised MNIST), sklearn's pseudo-likelihood written out by hand, the
//! binarisation, cancellation and determinism.
//!
//! Timings (ignored by default, run with `cargo test --release --test eval -- --ignored --nocapture`):
//! AIS on 784x500 with the paper's 100 runs x 14,501 betas, and exact log Z of a 784x20 model.
//!
//! One file past 500 lines: each test is independent and short; they share the tiny models and
//! the enumerations they are checked against.

use std::sync::OnceLock;
use std::time::Instant;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::data::Dataset;
use rbm_lab::model::ais::{AisConfig, BetaSchedule, ais_log_z, ais_summary, base_log_z, base_rate_visible_bias};
use rbm_lab::model::eval::{
    EvalError, MAX_EXACT_UNITS, average_log_likelihood, average_log_likelihood_of_images, binarise,
    exact_average_log_likelihood, exact_log_z, free_energy_gap, log_sum_exp, pixel_means, pseudo_likelihood,
    pseudo_likelihood_with_flips, reconstruction_error,
};
use rbm_lab::model::rng::normal_f32;
use rbm_lab::model::{CdWorkspace, Initialisation, Rbm, Threads, TrainingConfig, VisibleSampling};
use rbm_lab::quality::{EvaluationEvent, EvaluationJob, EvaluationSettings, evaluate};

fn mnist() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| Dataset::embedded_mnist().expect("embedded MNIST"))
}

/// An RBM with N(0, w_std²) weights and N(0, b_std²) biases.
fn random_rbm(nv: usize, nh: usize, w_std: f32, b_std: f32, seed: u64) -> Rbm {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut normals = |n: usize, s: f32| (0..n).map(|_| s * normal_f32(&mut rng)).collect::<Vec<f32>>();
    let w = normals(nv * nh, w_std);
    let b_v = normals(nv, b_std);
    let b_h = normals(nh, b_std);
    Rbm::from_parameters(nv, nh, w, b_v, b_h).unwrap()
}

fn bits(state: usize, n: usize) -> Vec<f32> {
    (0..n).map(|i| ((state >> i) & 1) as f32).collect()
}

/// log Z by brute force over all 2^(V+H) joint states, straight from the energy.
fn brute_force_log_z(rbm: &Rbm) -> f64 {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let mut terms = Vec::new();
    for vs in 0..1usize << nv {
        let v = bits(vs, nv);
        for hs in 0..1usize << nh {
            terms.push(-rbm.energy(&v, &bits(hs, nh)));
        }
    }
    log_sum_exp(&terms)
}

#[test]
fn exact_log_z_matches_brute_force_over_joint_states() {
    // 5x3 enumerates the hidden layer, 3x6 the visible one, 4x4 is a tie (hidden).
    for (nv, nh, seed) in [(5, 3, 1), (3, 6, 2), (4, 4, 3), (1, 1, 4), (7, 2, 5)] {
        let rbm = random_rbm(nv, nh, 1.5, 1.0, seed);
        let brute = brute_force_log_z(&rbm);
        for threads in [Threads(1), Threads(2)] {
            let exact = exact_log_z(&rbm, threads).unwrap();
            assert!((exact - brute).abs() < 1e-9, "{nv}x{nh}: exact {exact} vs brute force {brute}");
        }
    }
}

#[test]
fn exact_log_z_enumerates_many_chunks_correctly() {
    // 15 visible x 14 hidden enumerates the hidden layer in four 2^12-state Gray-code chunks; the
    // transposed 14x15 model has the same Z and enumerates its 14 visible units. The independent
    // route: log Z = logsumexp over the 2^15 visible states of −F(v).
    let (nv, nh) = (15, 14);
    let rbm = random_rbm(nv, nh, 0.8, 0.5, 6);
    let minus_f: Vec<f64> = (0..1usize << nv).map(|vs| -rbm.free_energy(&bits(vs, nv))).collect();
    let want = log_sum_exp(&minus_f);
    let transposed = Rbm::from_parameters(
        nh,
        nv,
        (0..nh * nv).map(|idx| rbm.weights_slice()[(idx % nv) * nh + idx / nv]).collect(),
        rbm.hidden_bias().to_vec(),
        rbm.visible_bias().to_vec(),
    )
    .unwrap();
    let got = exact_log_z(&rbm, Threads(2)).unwrap();
    let got_t = exact_log_z(&transposed, Threads(1)).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    assert!((got_t - want).abs() < 1e-9, "transposed {got_t} vs {want}");
}

#[test]
fn exact_log_z_refuses_two_large_layers() {
    let n = MAX_EXACT_UNITS + 1;
    let rbm = Rbm::zeros(n, n);
    assert_eq!(exact_log_z(&rbm, Threads(1)), Err(EvalError::TooLarge { visible: n, hidden: n, max: MAX_EXACT_UNITS }));
    // One small layer is enough: 100 visible x 2 hidden, zero parameters: Z = 2^102.
    let z = exact_log_z(&Rbm::zeros(100, 2), Threads(1)).unwrap();
    assert!((z - 102.0 * std::f64::consts::LN_2).abs() < 1e-9);
}

#[test]
fn exact_average_log_likelihood_matches_enumerated_probabilities() {
    let (nv, nh) = (5, 3);
    let rbm = random_rbm(nv, nh, 1.2, 0.7, 11);
    // p(v) by enumeration of the joint: Σ_h e^{−E(v,h)} / Σ_{v,h} e^{−E(v,h)}.
    let unnormalised: Vec<f64> = (0..1usize << nv)
        .map(|vs| (0..1usize << nh).map(|hs| (-rbm.energy(&bits(vs, nv), &bits(hs, nh))).exp()).sum())
        .collect();
    let z: f64 = unnormalised.iter().sum();
    let states = [0usize, 3, 7, 7, 18, 31, 22];
    let data: Vec<f32> = states.iter().flat_map(|&s| bits(s, nv)).collect();
    let want = states.iter().map(|&s| (unnormalised[s] / z).ln()).sum::<f64>() / states.len() as f64;
    let got = exact_average_log_likelihood(&rbm, &data, states.len(), Threads(2)).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    // The same through average_log_likelihood with the exact log Z, on one thread.
    let again = average_log_likelihood(&rbm, &data, states.len(), z.ln(), Threads(1));
    assert!((again - want).abs() < 1e-9, "{again} vs {want}");
}

/// Visible biases from MNIST's pixel means (logit of the means clamped to [1e-3, 1 − 1e-3]).
fn mnist_visible_bias() -> Vec<f32> {
    mnist()
        .train_pixel_means()
        .iter()
        .map(|&m| {
            let p = m.clamp(1e-3, 1.0 - 1e-3);
            (p / (1.0 - p)).ln()
        })
        .collect()
}

/// The paper's AIS settings (100 runs over 14,501 betas), not fewer: the ±3σ interval is about ±0.01
/// nats on the random model but about ±0.09 on the trained one (±0.13 with 50 runs).
fn test_ais_config(seed: u64) -> AisConfig {
    AisConfig::paper(seed, Threads(2))
}

fn check_ais_against_exact(rbm: &Rbm, what: &str) {
    let exact = exact_log_z(rbm, Threads(2)).unwrap();
    let base = base_rate_visible_bias(&mnist().train_pixel_means());
    let config = test_ais_config(7);
    let result = ais_log_z(rbm, &base, &config, &mut |_| true).unwrap();
    eprintln!(
        "{what}: exact log Z {exact:.4}, AIS {:.4} [{:.4}, {:.4}], base {:.4}",
        result.log_z, result.log_z_low, result.log_z_high, result.log_z_base
    );
    assert_eq!(result.runs, 100);
    assert_eq!(result.betas, 14_501);
    assert_eq!(result.log_weights.len(), 100);
    assert!((result.log_z - exact).abs() < 0.1, "{what}: AIS {} vs exact {exact}", result.log_z);
    assert!(
        result.log_z_low <= exact && exact <= result.log_z_high,
        "{what}: exact {exact} outside [{}, {}]",
        result.log_z_low,
        result.log_z_high
    );
    assert!((result.log_z_base - base_log_z(&base, 16)).abs() < 1e-12);
}

#[test]
fn ais_matches_exact_log_z_on_a_random_784x16_model() {
    let mut rbm = random_rbm(784, 16, 0.1, 0.0, 21);
    let b_v = mnist_visible_bias();
    rbm.parameters_mut().1.copy_from_slice(&b_v);
    check_ais_against_exact(&rbm, "random 784x16");
}

#[test]
fn ais_matches_exact_log_z_on_a_cd_trained_784x16_model() {
    // 900 CD-1 updates of 64 binarised images (just under one epoch), Bernoulli Gibbs sampling.
    let data = mnist();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let mut rbm = Rbm::initialised(784, 16, Initialisation::Hinton, &data.train_pixel_means(), &mut rng);
    let config = TrainingConfig {
        sampling: VisibleSampling::Bernoulli,
        k: 1,
        learning_rate: 0.05,
        batch_size: 64,
        ..TrainingConfig::default()
    };
    let updates = 900;
    let images = &data.train.pixels[..updates * 64 * 784];
    let binary = binarise(images, 3);
    let mut workspace = CdWorkspace::new(784, 16, 64, 9);
    for batch in binary.chunks_exact(64 * 784) {
        workspace.data_mut(64).copy_from_slice(batch);
        workspace.step(&mut rbm, &config, 64, Threads(2));
    }
    assert!(rbm.is_finite());
    // Training moved the model well away from its start (it would fail on an untrained model).
    let test_binary = binarise(&data.test.pixels[..1000 * 784], 4);
    let exact = exact_log_z(&rbm, Threads(2)).unwrap();
    let ll = average_log_likelihood(&rbm, &test_binary, 1000, exact, Threads(2));
    eprintln!("trained 784x16: test log-likelihood {ll:.2} nats");
    assert!(ll > -200.0 && ll < -100.0, "implausible test log-likelihood {ll}");
    check_ais_against_exact(&rbm, "CD-1 trained 784x16");
}

#[test]
fn ais_is_deterministic_for_a_seed_on_any_thread_count() {
    let rbm = random_rbm(30, 8, 0.5, 0.5, 31);
    let base = base_rate_visible_bias(&[0.3; 30]);
    let run = |seed: u64, threads: usize| {
        let config = AisConfig::uniform(300, 7, seed, Threads(threads)).unwrap();
        ais_log_z(&rbm, &base, &config, &mut |_| true).unwrap()
    };
    let one = run(1, 1);
    let two = run(1, 2);
    assert_eq!(one, two);
    assert_ne!(one.log_weights, run(2, 2).log_weights);
    // A short uniform schedule is already close on this small model (the exact value is 2^8 states).
    let exact = exact_log_z(&rbm, Threads(1)).unwrap();
    assert!((one.log_z - exact).abs() < 0.2, "{} vs {exact}", one.log_z);
}

#[test]
fn ais_stops_when_progress_returns_false() {
    let rbm = random_rbm(50, 10, 0.1, 0.0, 41);
    let base = base_rate_visible_bias(&[0.2; 50]);
    let config = AisConfig::paper(1, Threads(2));
    let mut calls = Vec::new();
    let result = ais_log_z(&rbm, &base, &config, &mut |fraction| {
        calls.push(fraction);
        false
    });
    assert_eq!(result, Err(EvalError::Cancelled));
    assert_eq!(calls.len(), 1, "ran on after cancelling: {calls:?}");
    assert!(calls[0] > 0.0 && calls[0] < 0.05);

    // Cancelling half way: progress is reported in increasing fractions up to the cancel.
    let mut seen = Vec::new();
    let result = ais_log_z(&rbm, &base, &config, &mut |fraction| {
        seen.push(fraction);
        fraction < 0.5
    });
    assert_eq!(result, Err(EvalError::Cancelled));
    assert!(seen.windows(2).all(|p| p[0] < p[1]));
    assert!(*seen.last().unwrap() >= 0.5 && *seen.last().unwrap() < 0.6);

    // Running to the end reports 1.0 last.
    let config = AisConfig::uniform(50, 3, 1, Threads(1)).unwrap();
    let mut last = 0.0;
    ais_log_z(&rbm, &base, &config, &mut |fraction| {
        last = fraction;
        true
    })
    .unwrap();
    assert_eq!(last, 1.0);
}

#[test]
fn ais_rejects_bad_input() {
    let rbm = random_rbm(6, 3, 0.1, 0.0, 1);
    let ok = vec![0.0; 6];
    let config = AisConfig { runs: 0, ..AisConfig::uniform(10, 5, 0, Threads(1)).unwrap() };
    assert_eq!(ais_log_z(&rbm, &ok, &config, &mut |_| true), Err(EvalError::NoRuns));
    let config = AisConfig::uniform(10, 5, 0, Threads(1)).unwrap();
    assert_eq!(
        ais_log_z(&rbm, &[0.0; 5], &config, &mut |_| true),
        Err(EvalError::Shape { what: "base visible bias", expected: 6, got: 5 })
    );
    assert_eq!(ais_log_z(&rbm, &[f32::NAN; 6], &config, &mut |_| true), Err(EvalError::NotFinite("base visible bias")));
    assert!(BetaSchedule::uniform(1).is_err());
    assert!(BetaSchedule::from_betas(vec![0.0, 0.6, 0.5, 1.0]).is_err());
    assert!(BetaSchedule::from_betas(vec![0.1, 1.0]).is_err());
    assert!(BetaSchedule::from_betas(vec![0.0, f64::NAN, 1.0]).is_err());
    assert_eq!(BetaSchedule::uniform(5).unwrap().betas(), &[0.0, 0.25, 0.5, 0.75, 1.0]);
}

#[test]
fn ais_summary_is_the_three_sigma_interval_in_log_space() {
    // Weights w = e^{l}: direct computation in linear space, shifted by a large constant in log space.
    let logs = [0.1f64, -0.3, 0.25, 0.0, -0.05];
    let w: Vec<f64> = logs.iter().map(|l| l.exp()).collect();
    let m = w.len() as f64;
    let mean = w.iter().sum::<f64>() / m;
    let sd = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0)).sqrt();
    let shifted: Vec<f64> = logs.iter().map(|l| l + 800.0).collect();
    let (z, low, high) = ais_summary(&shifted, 2.0);
    assert!((z - (2.0 + 800.0 + mean.ln())).abs() < 1e-9);
    assert!((low - (2.0 + 800.0 + (mean - 3.0 * sd / m.sqrt()).ln())).abs() < 1e-9);
    assert!((high - (2.0 + 800.0 + (mean + 3.0 * sd / m.sqrt()).ln())).abs() < 1e-9);
    // One dominant weight: mean − 3σ/√M ≤ 0, so the low end is −inf.
    let (_, low, high) = ais_summary(&[0.0, -50.0, -50.0, -50.0], 0.0);
    assert_eq!(low, f64::NEG_INFINITY);
    assert!(high.is_finite());
}

#[test]
fn base_rate_bias_is_the_logit_of_the_clamped_marginals() {
    let b = base_rate_visible_bias(&[0.0, 0.5, 0.2, 1.0]);
    let logit = |p: f64| (p / (1.0 - p)).ln();
    assert!((b[0] as f64 - logit(1e-3)).abs() < 1e-5);
    assert_eq!(b[1], 0.0);
    assert!((b[2] as f64 - logit(0.2)).abs() < 1e-6);
    assert!((b[3] as f64 - logit(1.0 - 1e-3)).abs() < 1e-5);
    // log Z_A = H ln 2 + Σ softplus(b_A), checked by enumeration of a zero-weight model.
    let base = Rbm::from_parameters(4, 2, vec![0.0; 8], b.clone(), vec![0.0; 2]).unwrap();
    assert!((base_log_z(&b, 2) - brute_force_log_z(&base)).abs() < 1e-9);
}

#[test]
fn pseudo_likelihood_matches_a_direct_computation() {
    let (nv, nh) = (6, 4);
    let rbm = random_rbm(nv, nh, 1.0, 0.5, 51);
    let states = [0usize, 5, 63, 42, 17];
    let data: Vec<f32> = states.iter().flat_map(|&s| bits(s, nv)).collect();
    let flips = [0usize, 2, 5, 3, 1];
    let got = pseudo_likelihood_with_flips(&rbm, &data, states.len(), &flips, Threads(2));
    let mut want = Vec::new();
    for (v, &i) in data.chunks(nv).zip(&flips) {
        let mut flipped = v.to_vec();
        flipped[i] = 1.0 - flipped[i];
        let x = rbm.free_energy(&flipped) - rbm.free_energy(v);
        // sklearn: V * log_logistic(F(ṽ) − F(v)), log_logistic(x) = −log(1 + e^{−x})
        want.push(nv as f64 * -(1.0 + (-x).exp()).ln());
    }
    for (g, w) in got.per_sample.iter().zip(&want) {
        assert!((g - w).abs() < 1e-10, "{g} vs {w}");
    }
    let mean = want.iter().sum::<f64>() / want.len() as f64;
    assert!((got.mean - mean).abs() < 1e-10);

    // The seeded version is reproducible and each value is one of the V possible flips.
    let a = pseudo_likelihood(&rbm, &data, states.len(), 9, Threads(1));
    assert_eq!(a, pseudo_likelihood(&rbm, &data, states.len(), 9, Threads(2)));
    for (row, value) in a.per_sample.iter().enumerate() {
        let v = &data[row * nv..(row + 1) * nv];
        let candidates: Vec<f64> =
            (0..nv).map(|i| pseudo_likelihood_with_flips(&rbm, v, 1, &[i], Threads(1)).per_sample[0]).collect();
        assert!(candidates.iter().any(|c| c == value), "row {row}: {value} not in {candidates:?}");
    }
}

#[test]
fn binarisation_is_seeded_and_keeps_the_mean_intensity() {
    let images = &mnist().train.pixels[..10_000 * 784];
    let a = binarise(images, 1);
    assert_eq!(a, binarise(images, 1));
    assert_ne!(a, binarise(images, 2));
    assert!(a.iter().all(|&x| x == 0.0 || x == 1.0));
    for (&p, &x) in images.iter().zip(&a) {
        match p {
            0 => assert_eq!(x, 0.0),
            255 => assert_eq!(x, 1.0),
            _ => {}
        }
    }
    let mean_intensity = images.iter().map(|&p| p as f64).sum::<f64>() / (images.len() as f64 * 255.0);
    let mean_binary = a.iter().map(|&x| x as f64).sum::<f64>() / a.len() as f64;
    // Standard error ~ sqrt(0.1 / 7.84e6) ≈ 1e-4.
    assert!((mean_binary - mean_intensity).abs() < 1e-3, "{mean_binary} vs {mean_intensity}");
    let means = pixel_means(&a, 10_000, 784);
    assert!((means.iter().map(|&m| m as f64).sum::<f64>() / 784.0 - mean_binary).abs() < 1e-6);
}

#[test]
fn log_likelihood_of_images_in_chunks_equals_binarising_the_whole_set_first() {
    // 10,000 MNIST images are two chunks (5,312 rows each at 784 pixels): the streamed
    // binarisation and the running sum must give the same bits as the whole set at once.
    let rbm = random_rbm(784, 24, 0.05, 0.5, 5);
    let images = &mnist().test.pixels[..10_000 * 784];
    for threads in [Threads(1), Threads(2)] {
        let whole = average_log_likelihood(&rbm, &binarise(images, 9), 10_000, 3.25, threads);
        let chunked = average_log_likelihood_of_images(&rbm, images, 10_000, 9, 3.25, threads);
        assert_eq!(chunked.to_bits(), whole.to_bits(), "{chunked} vs {whole}");
    }
    // A set smaller than one chunk, and one that is not a whole number of f64 blocks.
    let few = &images[..77 * 784];
    let whole = average_log_likelihood(&rbm, &binarise(few, 9), 77, 0.0, Threads(1));
    assert_eq!(average_log_likelihood_of_images(&rbm, few, 77, 9, 0.0, Threads(1)).to_bits(), whole.to_bits());
}

/// A dataset whose training folder had `count` images and no test files (so none held out below 6).
fn tiny_dataset(count: usize) -> Dataset {
    use rbm_lab::data::ImageArray;
    let pixels = (0..count * 784).map(|i| (i % 251) as u8).collect();
    let images = ImageArray { count, rows: 28, cols: 28, pixels };
    Dataset::from_arrays("tiny", images, vec![0; count], None).unwrap()
}

/// A dataset (built by hand: folders always have training images) with test images only.
fn no_training_images() -> Dataset {
    let mut dataset = tiny_dataset(60);
    dataset.train = rbm_lab::data::ImageSet { count: 0, pixels_per_image: 784, pixels: Vec::new(), labels: Vec::new() };
    dataset
}

#[test]
fn evaluation_refuses_bad_settings_and_empty_sets_before_any_work() {
    let rbm = random_rbm(784, 40, 0.01, 0.1, 3);
    let settings =
        EvaluationSettings { runs: 10, betas: Some(100), images: 100, seed: 1, threads: 2, ..Default::default() };
    let run = |dataset: &Dataset, settings: &EvaluationSettings| {
        let mut calls = 0;
        let result = evaluate(&rbm, dataset, 0.0, settings, &mut |_| {
            calls += 1;
            true
        });
        (result, calls)
    };
    type Case = (Dataset, EvaluationSettings, fn(&EvalError) -> bool);
    let cases: [Case; 7] = [
        (tiny_dataset(5), settings.clone(), |e| matches!(e, EvalError::EmptySet { set: "test" })),
        (no_training_images(), settings.clone(), |e| matches!(e, EvalError::EmptySet { set: "training" })),
        (tiny_dataset(60), EvaluationSettings { images: 0, ..settings.clone() }, |e| matches!(e, EvalError::NoImages)),
        (tiny_dataset(60), EvaluationSettings { runs: 1, ..settings.clone() }, |e| {
            matches!(e, EvalError::TooFewRuns(1))
        }),
        (tiny_dataset(60), EvaluationSettings { runs: 100_000_000, ..settings.clone() }, |e| {
            matches!(e, EvalError::Limit(rbm_lab::limits::LimitError::AisRuns { runs: 100_000_000 }))
        }),
        (tiny_dataset(60), EvaluationSettings { betas: Some(100_000_000_000), ..settings.clone() }, |e| {
            matches!(e, EvalError::Limit(rbm_lab::limits::LimitError::AisBetas { .. }))
        }),
        (tiny_dataset(60), EvaluationSettings { runs: 90_000, ..settings.clone() }, |e| {
            matches!(e, EvalError::Limit(rbm_lab::limits::LimitError::AisState { runs: 90_000, .. }))
        }),
    ];
    for (dataset, settings, expected) in cases {
        let (result, calls) = run(&dataset, &settings);
        let error = result.unwrap_err();
        assert!(expected(&error), "{settings:?}: {error:?}");
        assert_eq!(calls, 0, "{settings:?}: AIS ran before the error");
    }
    // A dataset of another image size than the model's visible layer.
    let mut other = tiny_dataset(60);
    other.cols = 27;
    other.rows = 27;
    let (result, calls) = run(&other, &settings);
    assert!(matches!(result, Err(EvalError::Shape { expected: 784, got: 729, .. })), "{result:?}");
    assert_eq!(calls, 0);
}

#[test]
fn an_evaluation_job_on_an_empty_held_out_set_ends_with_the_message() {
    // The window's evaluation thread: it must end with the error, not die.
    let settings =
        EvaluationSettings { runs: 10, betas: Some(100), images: 100, seed: 1, threads: 1, ..Default::default() };
    let dataset = std::sync::Arc::new(tiny_dataset(5));
    let mut job = EvaluationJob::start(random_rbm(784, 40, 0.01, 0.1, 3), dataset, 0.0, settings, None).unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !job.is_finished() {
        assert!(Instant::now() < deadline, "the evaluation thread did not end");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let events: Vec<EvaluationEvent> = job.poll();
    assert!(
        matches!(events.as_slice(), [EvaluationEvent::Failed(message)] if message.contains("the test set has no images")),
        "{events:?}"
    );
}

#[test]
fn free_energy_gap_and_reconstruction_error_match_direct_computations() {
    let (nv, nh) = (5, 3);
    let rbm = random_rbm(nv, nh, 1.0, 0.5, 61);
    let train: Vec<f32> = [1usize, 2, 30].iter().flat_map(|&s| bits(s, nv)).collect();
    let held_out: Vec<f32> = [7usize, 8, 31].iter().flat_map(|&s| bits(s, nv)).collect();
    let mean_f = |d: &[f32]| d.chunks(nv).map(|v| rbm.free_energy(v)).sum::<f64>() / 3.0;
    let gap = free_energy_gap(&rbm, &train, &held_out, 3, Threads(2));
    assert!((gap.train_mean - mean_f(&train)).abs() < 1e-12);
    assert!((gap.held_out_mean - mean_f(&held_out)).abs() < 1e-12);
    assert!((gap.gap - (mean_f(&held_out) - mean_f(&train))).abs() < 1e-12);

    // r = σ(b_v + W σ(b_h + vW)), written out in f64.
    let w = rbm.weights_slice();
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let (mut sq, mut ab) = (0.0, 0.0);
    for v in train.chunks(nv) {
        let ph: Vec<f64> = (0..nh)
            .map(|j| s(rbm.hidden_bias()[j] as f64 + (0..nv).map(|i| v[i] as f64 * w[i * nh + j] as f64).sum::<f64>()))
            .collect();
        for i in 0..nv {
            let r = s(rbm.visible_bias()[i] as f64 + (0..nh).map(|j| ph[j] * w[i * nh + j] as f64).sum::<f64>());
            sq += (v[i] as f64 - r).powi(2);
            ab += (v[i] as f64 - r).abs();
        }
    }
    let err = reconstruction_error(&rbm, &train, 3, Threads(2));
    assert!((err.mse - sq / 15.0).abs() < 1e-6, "{} vs {}", err.mse, sq / 15.0);
    assert!((err.l1 - ab / 15.0).abs() < 1e-6, "{} vs {}", err.l1, ab / 15.0);
}

/// AIS with the paper's settings (100 runs x 14,501 betas) on a 784x500 model, 2 threads.
#[test]
#[ignore = "timing: about 27 s of CPU, 14 s on two idle cores"]
fn timing_ais_784x500_paper_schedule() {
    let mut rbm = random_rbm(784, 500, 0.05, 0.0, 71);
    rbm.parameters_mut().1.copy_from_slice(&mnist_visible_bias());
    let base = base_rate_visible_bias(&mnist().train_pixel_means());
    let config = AisConfig::paper(1, Threads(2));
    let start = Instant::now();
    let result = ais_log_z(&rbm, &base, &config, &mut |_| true).unwrap();
    eprintln!(
        "AIS 784x500, {} runs x {} betas, 2 threads: {:.1} s, log Z {:.3} [{:.3}, {:.3}]",
        result.runs,
        result.betas,
        start.elapsed().as_secs_f64(),
        result.log_z,
        result.log_z_low,
        result.log_z_high
    );
}

/// Exact log Z of a 784x20 model (2^20 hidden states), 1 and 2 threads.
#[test]
#[ignore = "timing: about 1.5 s per thread count"]
fn timing_exact_log_z_784x20() {
    let mut rbm = random_rbm(784, 20, 0.1, 0.0, 81);
    rbm.parameters_mut().1.copy_from_slice(&mnist_visible_bias());
    for threads in [1, 2] {
        let start = Instant::now();
        let z = exact_log_z(&rbm, Threads(threads)).unwrap();
        eprintln!("exact log Z 784x20, {threads} thread(s): {:.2} s, log Z {z:.6}", start.elapsed().as_secs_f64());
    }
}
