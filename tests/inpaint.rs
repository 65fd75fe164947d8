//! Inpainting against exact enumeration on small models: clamped Gibbs sampling visits the exact
//! conditional p(v_u | v_k), free chains the exact p(v), mean-field stops at a fixed point, and the
//! conditional log-probability is exact by enumeration and bracketed by AIS; on MNIST a trained
//! model completes hidden halves better than the per-pixel means.
//!
//! One file past 500 lines: independent tests sharing the small models and their enumerations.

mod common;

use std::sync::OnceLock;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::model::ais::{AisConfig, BetaSchedule};
use rbm_lab::model::eval::binarise;
use rbm_lab::model::inpaint::{
    CompletionConfig, CompletionMode, CompletionSampler, Half, InpaintError, Mask, ScoreSettings, StartFill,
    UnitRanking, ais_conditional_log_prob, conditional_log_prob, exact_conditional_log_prob, pixel_means_log_prob,
    salt_and_pepper, score_completion, top_hidden_units,
};
use rbm_lab::model::rng::normal_f32;
use rbm_lab::model::{Rbm, Threads};
use rbm_lab::quality::BINARISATION_SEED;

fn random_rbm(nv: usize, nh: usize, w_std: f32, b_std: f32, seed: u64) -> Rbm {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut draw = |n: usize, std: f32| (0..n).map(|_| normal_f32(&mut rng) * std).collect::<Vec<f32>>();
    let (w, b_v, b_h) = (draw(nv * nh, w_std), draw(nv, b_std), draw(nh, b_std));
    Rbm::from_parameters(nv, nh, w, b_v, b_h).unwrap()
}

/// A model trained for 300 CD-1 batches, shared by the tests that need one.
fn trained_784x64() -> &'static Rbm {
    static MODEL: OnceLock<Rbm> = OnceLock::new();
    MODEL.get_or_init(|| common::cd1_trained(64, 300, 11))
}

/// `count` MNIST test images as intensities in [0, 1].
fn test_images(count: usize) -> Vec<f32> {
    common::mnist().test.pixels[..count * 784].iter().map(|&p| f32::from(p) / 255.0).collect()
}

fn binary_test_images(count: usize) -> Vec<f32> {
    binarise(&common::mnist().test.pixels[..count * 784], BINARISATION_SEED)
}

fn config(mode: CompletionMode) -> CompletionConfig {
    CompletionConfig { mode, seed: 5, ..CompletionConfig::default() }
}

#[test]
fn masks_hide_what_they_say() {
    let bottom = Mask::hide_half(28, 28, Half::Bottom);
    assert_eq!(bottom.hidden_count(), 392);
    assert!(!bottom.is_hidden(13 * 28 + 27) && bottom.is_hidden(14 * 28));
    let right = Mask::hide_half(5, 5, Half::Right);
    // Odd widths keep the middle column: columns 3 and 4 hidden.
    assert_eq!(right.hidden_indices(), vec![3, 4, 8, 9, 13, 14, 18, 19, 23, 24]);
    assert_eq!(Mask::hide_half(5, 5, Half::Top).hidden_indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(Mask::hide_half(5, 5, Half::Left).hidden_count(), 10);

    let boxed = Mask::hide_box(28, 28, 3, 4, 10, 2).unwrap();
    assert_eq!(boxed.hidden_count(), 20);
    assert!(boxed.is_hidden(4 * 28 + 3) && boxed.is_hidden(5 * 28 + 12) && !boxed.is_hidden(6 * 28 + 3));
    assert!(matches!(Mask::hide_box(28, 28, 20, 0, 9, 1), Err(InpaintError::BoxOutside { .. })));
    assert!(matches!(Mask::hide_box(28, 28, 0, 0, 0, 5), Err(InpaintError::EmptyBox { .. })));
    assert!(Mask::hide_box(28, 28, usize::MAX, 0, 2, 2).is_err(), "no overflow");

    let random = Mask::hide_random(784, 0.3, 9).unwrap();
    assert_eq!(random.hidden_count(), 235, "exactly round(0.3 · 784)");
    assert_eq!(random, Mask::hide_random(784, 0.3, 9).unwrap(), "seeded");
    assert_ne!(random, Mask::hide_random(784, 0.3, 10).unwrap());
    assert!(matches!(Mask::hide_random(10, 1.5, 0), Err(InpaintError::Fraction(_))));
    assert_eq!(Mask::hide_random(10, 1.0, 0).unwrap().hidden_count(), 10);

    let mut drawn = Mask::all_known(4);
    drawn.set_hidden(2, true);
    drawn.set_hidden(99, true);
    assert_eq!(drawn, Mask::from_known(vec![true, true, false, true]));

    // Salt and pepper: hits at the rate (5σ), every hit pixel 0 or 1, the rest untouched.
    let image = vec![0.5f32; 100_000];
    let (noisy, hit) = salt_and_pepper(&image, 0.1, 3).unwrap();
    let hits = hit.hidden_count() as f64;
    assert!((hits / 1e5 - 0.1).abs() < 5.0 * (0.1 * 0.9 / 1e5f64).sqrt(), "{hits} hits");
    for (i, &x) in noisy.iter().enumerate() {
        assert_eq!(x == 0.5, !hit.is_hidden(i), "pixel {i}");
    }
    let ones = noisy.iter().filter(|&&x| x == 1.0).count() as f64;
    assert!((ones / hits - 0.5).abs() < 5.0 * (0.25 / hits).sqrt(), "salt and pepper in equal parts");
    assert!(salt_and_pepper(&image, -0.1, 3).is_err());
}

/// Known pixels hold their values in every buffer after every step of clamped Gibbs and
/// mean-field; free chains do rewrite them (so the check can see a write).
#[test]
fn clamped_pixels_never_change() {
    let rbm = trained_784x64();
    let images = test_images(6);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let per_image: Vec<Mask> = (0..6).map(|_| Mask::hide_random_with(784, 0.5, &mut rng).unwrap()).collect();
    for masks in [per_image, vec![Mask::hide_half(28, 28, Half::Bottom)]] {
        for mode in [CompletionMode::ClampedGibbs, CompletionMode::MeanField, CompletionMode::Free] {
            let config = CompletionConfig { burn_in: 3, fill: StartFill::Constant(0.25), ..config(mode) };
            let mut sampler = CompletionSampler::new(rbm, images.clone(), masks.clone(), config).unwrap();
            let mut known_rewritten = false;
            for step in 1..=25 {
                sampler.step(Threads(2));
                for r in 0..6 {
                    let mask = sampler.mask(r).clone();
                    let row = |buffer: &[f32]| buffer[r * 784..(r + 1) * 784].to_vec();
                    let buffers = [row(sampler.state()), row(sampler.probabilities()), row(sampler.average())];
                    for (i, original) in images[r * 784..(r + 1) * 784].iter().enumerate() {
                        if mask.is_hidden(i) {
                            continue;
                        }
                        let same = buffers.iter().all(|b| b[i].to_bits() == original.to_bits());
                        if mode == CompletionMode::Free {
                            known_rewritten |= !same;
                        } else {
                            assert!(same, "{mode:?}, step {step}, image {r}: known pixel {i} changed");
                        }
                    }
                }
            }
            assert_eq!(known_rewritten, mode == CompletionMode::Free, "{mode:?}");
        }
    }
}

/// p(h | v) of every hidden state (bit j of the index is h_j), for a real-valued v.
fn hidden_law(rbm: &Rbm, v: &[f32]) -> Vec<f64> {
    let nh = rbm.n_hidden();
    let w = rbm.weights_slice();
    let p: Vec<f64> = (0..nh)
        .map(|j| {
            let a = rbm.hidden_bias()[j] as f64
                + v.iter().enumerate().map(|(i, &x)| x as f64 * w[i * nh + j] as f64).sum::<f64>();
            1.0 / (1.0 + (-a).exp())
        })
        .collect();
    (0..1usize << nh).map(|h| (0..nh).map(|j| if h >> j & 1 == 1 { p[j] } else { 1.0 - p[j] }).product()).collect()
}

/// p(v_S = s | h) for the pixels `pixels` (bit k of s is pixel pixels[k]), every s.
fn visible_law(rbm: &Rbm, h: usize, pixels: &[usize]) -> Vec<f64> {
    let nh = rbm.n_hidden();
    let w = rbm.weights_slice();
    let p: Vec<f64> = pixels
        .iter()
        .map(|&i| {
            let x = rbm.visible_bias()[i] as f64
                + (0..nh).filter(|j| h >> j & 1 == 1).map(|j| w[i * nh + j] as f64).sum::<f64>();
            1.0 / (1.0 + (-x).exp())
        })
        .collect();
    (0..1usize << pixels.len())
        .map(|s| (0..pixels.len()).map(|k| if s >> k & 1 == 1 { p[k] } else { 1.0 - p[k] }).product())
        .collect()
}

/// `start` with the pixels `pixels` set to the bits of `s`.
fn with_bits(start: &[f32], pixels: &[usize], s: usize) -> Vec<f32> {
    let mut v = start.to_vec();
    for (k, &i) in pixels.iter().enumerate() {
        v[i] = (s >> k & 1) as f32;
    }
    v
}

/// The exact law of v_S after each of `steps` Gibbs steps that resample the pixels S and keep the
/// others at `start`'s values: h ~ p(h | v), then v_S ~ p(v_S | h), from `start` itself (whose S
/// pixels may be real-valued).
fn chain_laws(rbm: &Rbm, start: &[f32], pixels: &[usize], steps: usize) -> Vec<Vec<f64>> {
    let states = 1usize << pixels.len();
    let hidden_states = 1usize << rbm.n_hidden();
    let given_v: Vec<Vec<f64>> = (0..states).map(|s| hidden_law(rbm, &with_bits(start, pixels, s))).collect();
    let given_h: Vec<Vec<f64>> = (0..hidden_states).map(|h| visible_law(rbm, h, pixels)).collect();
    let mut laws = Vec::new();
    let mut h_law = hidden_law(rbm, start);
    for _ in 0..steps {
        let mut law = vec![0.0; states];
        for (h, &q) in h_law.iter().enumerate() {
            law.iter_mut().zip(&given_h[h]).for_each(|(l, &p)| *l += q * p);
        }
        h_law = vec![0.0; hidden_states];
        for (s, &q) in law.iter().enumerate() {
            h_law.iter_mut().zip(&given_v[s]).for_each(|(l, &p)| *l += q * p);
        }
        laws.push(law);
    }
    laws
}

/// The exact p(v_S = s | the other pixels at `start`'s values) ∝ exp(−F(v)).
fn exact_law(rbm: &Rbm, start: &[f32], pixels: &[usize]) -> Vec<f64> {
    let minus_f: Vec<f64> =
        (0..1usize << pixels.len()).map(|s| -rbm.free_energy(&with_bits(start, pixels, s))).collect();
    let top = minus_f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let unnormalised: Vec<f64> = minus_f.iter().map(|&x| (x - top).exp()).collect();
    let z: f64 = unnormalised.iter().sum();
    unnormalised.iter().map(|&u| u / z).collect()
}

fn total_variation(a: &[f64], b: &[f64]) -> f64 {
    0.5 * a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>()
}

/// Runs `chains` independent chains of `mode` from the same start for `steps` steps and checks
/// the frequencies of their final v_S against the exact law, state by state, and the running
/// average against the exact marginals.
///
/// Bounds: the chains are independent, so each state's count is Binomial(chains, q_T) with q_T
/// the exact law after `steps` steps (computed above). Each frequency must lie within 5 binomial
/// standard deviations of the target p plus |q_T − p| (the chain's remaining distance from
/// stationarity, asserted to be below 1e-3 in total variation). A correct sampler fails a 5σ
/// bound with probability 5.7e-7 per state (under 6e-4 over 1,024 states), and the seed is fixed.
/// The running average of p(v_i | h) over the steps after the burn-in has expectation within the
/// largest total variation of those steps of the exact marginal, and a variance no larger than
/// p(1 − p) / chains (an average of correlated terms, each with variance at most that of v_i).
fn check_chain_frequencies(rbm: &Rbm, start: &[f32], mask: &Mask, mode: CompletionMode, chains: usize) {
    let nv = rbm.n_visible();
    let pixels: Vec<usize> = if mode == CompletionMode::Free { (0..nv).collect() } else { mask.hidden_indices() };
    let (steps, burn_in) = (40, 10u64);
    let laws = chain_laws(rbm, start, &pixels, steps);
    let exact = exact_law(rbm, start, &pixels);
    let distance = total_variation(&laws[steps - 1], &exact);
    assert!(distance < 1e-3, "{mode:?}: the chains are {distance} from stationarity after {steps} steps");

    let images: Vec<f32> = start.iter().copied().cycle().take(chains * nv).collect();
    let config = CompletionConfig { fill: StartFill::Keep, burn_in, ..config(mode) };
    let mut sampler = CompletionSampler::new(rbm, images, vec![mask.clone()], config).unwrap();
    for _ in 0..steps {
        sampler.step(Threads(2));
    }
    let mut counts = vec![0usize; exact.len()];
    for v in sampler.state().chunks_exact(nv) {
        counts[pixels.iter().enumerate().map(|(k, &i)| (v[i] as usize) << k).sum::<usize>()] += 1;
    }
    let n = chains as f64;
    for (s, (&count, &p)) in counts.iter().zip(&exact).enumerate() {
        let f = count as f64 / n;
        let bound = 5.0 * (p * (1.0 - p) / n).sqrt() + (laws[steps - 1][s] - p).abs() + 1e-12;
        assert!((f - p).abs() <= bound, "{mode:?}: state {s:b} visited {f}, exact {p}, bound {bound}");
    }

    let bias = laws[burn_in as usize..].iter().map(|law| total_variation(law, &exact)).fold(0.0, f64::max);
    for (k, &i) in pixels.iter().enumerate() {
        let p: f64 = exact.iter().enumerate().filter(|(s, _)| s >> k & 1 == 1).map(|(_, &q)| q).sum();
        let average = sampler.average().chunks_exact(nv).map(|v| v[i] as f64).sum::<f64>() / n;
        let bound = 5.0 * (p * (1.0 - p) / n).sqrt() + bias + 1e-6;
        assert!((average - p).abs() <= bound, "{mode:?}: pixel {i} averages {average}, exact marginal {p}");
    }
}

/// A 10 x 8 model with weights of moderate size, and a start whose five known pixels are 1 0 1 1 0
/// and whose five hidden ones start at 0.5.
fn small_problem() -> (Rbm, Vec<f32>, Mask) {
    let rbm = random_rbm(10, 8, 1.0, 0.5, 17);
    let mask = Mask::from_known((0..10).map(|i| i < 5).collect());
    let start = vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5];
    (rbm, start, mask)
}

#[test]
fn clamped_gibbs_visits_the_exact_conditional() {
    let (rbm, start, mask) = small_problem();
    // Clamping must matter here, or a sampler that ignored it would pass: the conditional of v_u
    // is far from v_u's marginal under the model.
    let conditional = exact_law(&rbm, &start, &mask.hidden_indices());
    let joint = exact_law(&rbm, &start, &(0..10).collect::<Vec<_>>());
    let mut marginal = vec![0.0; 32];
    for (s, &p) in joint.iter().enumerate() {
        marginal[s >> 5] += p;
    }
    let distance = total_variation(&conditional, &marginal);
    assert!(distance > 0.1, "clamping changes p(v_u) by only {distance}");
    check_chain_frequencies(&rbm, &start, &mask, CompletionMode::ClampedGibbs, 40_000);
}

#[test]
fn free_gibbs_visits_the_exact_marginal() {
    let (rbm, start, mask) = small_problem();
    check_chain_frequencies(&rbm, &start, &mask, CompletionMode::Free, 200_000);
}

/// Mean-field stops at a fixed point: one more iteration, computed here with the model's own
/// conditionals, moves no hidden pixel by the tolerance; with and without damping.
#[test]
fn mean_field_ends_at_a_fixed_point() {
    let rbm = trained_784x64();
    let images = test_images(8);
    let tolerance = 1e-5;
    for damping in [0.0, 0.5] {
        let config = CompletionConfig { damping, tolerance, ..config(CompletionMode::MeanField) };
        let masks = vec![Mask::hide_half(28, 28, Half::Bottom)];
        let mut sampler = CompletionSampler::new(rbm, images.clone(), masks.clone(), config).unwrap();
        sampler.step(Threads(1));
        assert!(!sampler.converged(), "damping {damping}: converged after one step from the pixel means");
        while !sampler.converged() && sampler.steps() < 5000 {
            sampler.step(Threads(1));
        }
        assert!(sampler.converged(), "damping {damping}: no fixed point in {} iterations", sampler.steps());
        let mu = sampler.state();
        let h = rbm.hidden_probabilities(mu, 8, Threads(1));
        let p = rbm.visible_probabilities(&h, 8, Threads(1));
        let hidden = masks[0].hidden_indices();
        let moved = (0..8).flat_map(|r| hidden.iter().map(move |&i| r * 784 + i)).map(|k| (p[k] - mu[k]).abs());
        let largest = moved.fold(0.0f32, f32::max);
        assert!(largest < tolerance, "damping {damping}: one more iteration moves a pixel by {largest}");
        let residual = sampler.stats().residual.unwrap();
        assert!(residual.iter().all(|&r| r < tolerance));
        eprintln!("damping {damping}: fixed point after {} iterations, next move {largest:e}", sampler.steps());
    }
}

/// log Σ_h exp(−E(v, h)) by enumerating h.
fn log_sum_over_hidden(rbm: &Rbm, v: &[f32]) -> f64 {
    let nh = rbm.n_hidden();
    let terms: Vec<f64> =
        (0..1usize << nh).map(|h| -rbm.energy(v, &(0..nh).map(|j| (h >> j & 1) as f32).collect::<Vec<_>>())).collect();
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    top + terms.iter().map(|&t| (t - top).exp()).sum::<f64>().ln()
}

/// log p(v_u | v_k) by enumerating every v_u' and h of the full model's energy.
fn brute_force_conditional(rbm: &Rbm, image: &[f32], mask: &Mask) -> f64 {
    let pixels = mask.hidden_indices();
    let terms: Vec<f64> =
        (0..1usize << pixels.len()).map(|s| log_sum_over_hidden(rbm, &with_bits(image, &pixels, s))).collect();
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    log_sum_over_hidden(rbm, image) - top - terms.iter().map(|&t| (t - top).exp()).sum::<f64>().ln()
}

#[test]
fn exact_conditional_log_prob_equals_brute_force() {
    // 6 hidden pixels and 4 hidden units (the hidden units are enumerated), then 3 hidden pixels
    // and 7 hidden units (the pixels are).
    for (nh, hidden) in [(4, vec![0usize, 2, 3, 5, 7, 8]), (7, vec![1, 4, 6])] {
        let rbm = random_rbm(9, nh, 1.3, 0.8, 23 + nh as u64);
        let mask = Mask::from_known((0..9).map(|i| !hidden.contains(&i)).collect());
        for s in 0..1usize << 9 {
            let image = with_bits(&[0.0; 9], &(0..9).collect::<Vec<_>>(), s);
            let got = exact_conditional_log_prob(&rbm, &image, &mask, Threads(1)).unwrap();
            let want = brute_force_conditional(&rbm, &image, &mask);
            assert!((got.log_prob - want).abs() < 2e-5, "{nh} hidden units, image {s:09b}: {} vs {want}", got.log_prob);
            assert!(got.exact && got.hidden_pixels == hidden.len());
        }
        // Every conditional sums to one over the hidden pixels' states.
        let known_image = with_bits(&[0.0; 9], &(0..9).collect::<Vec<_>>(), 0b1_0110_0101);
        let sum: f64 = (0..1usize << hidden.len())
            .map(|s| {
                exact_conditional_log_prob(&rbm, &with_bits(&known_image, &hidden, s), &mask, Threads(2))
                    .unwrap()
                    .log_prob
                    .exp()
            })
            .sum();
        assert!((sum - 1.0).abs() < 1e-5, "{nh} hidden units: conditionals sum to {sum}");
    }
    let rbm = random_rbm(9, 4, 1.0, 0.5, 3);
    let nothing = exact_conditional_log_prob(&rbm, &[1.0; 9], &Mask::all_known(9), Threads(1)).unwrap();
    assert_eq!((nothing.log_prob, nothing.hidden_pixels), (0.0, 0));
    assert!(matches!(
        exact_conditional_log_prob(&rbm, &[0.5; 9], &Mask::all_known(9), Threads(1)),
        Err(InpaintError::NotBinary { index: 0, .. })
    ));
}

#[test]
fn pixel_means_baseline_is_the_factorised_log_likelihood() {
    let image = [1.0, 0.0, 1.0, 0.0];
    let means = [0.2, 0.0, 1.0, 0.7];
    let mask = Mask::from_known(vec![false, false, false, true]);
    let got = pixel_means_log_prob(&image, &mask, &means).unwrap();
    // Means clamped to [1e-3, 1 − 1e-3]; the known pixel does not count.
    let want = 0.2f64.ln() + (1.0 - 1e-3f64).ln() + (1.0 - 1e-3f64).ln();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
}

/// AIS on the conditional RBM of 784x16 models (enumerable, so the exact value is known): its ±3σ
/// interval contains the exact log-probability, from the training pixel means as the base and
/// from a Gibbs completion's marginals (whose interval is narrower).
#[test]
fn ais_conditional_log_prob_brackets_the_exact_value() {
    let rbm = common::cd1_trained(16, 300, 13);
    let means = common::mnist().train_pixel_means();
    let images = binary_test_images(3);
    let mask = Mask::hide_half(28, 28, Half::Bottom);
    let fill = StartFill::PerPixel(means.clone());
    let mut sampler = CompletionSampler::new(
        &rbm,
        images.clone(),
        vec![mask.clone()],
        CompletionConfig { fill, burn_in: 20, ..config(CompletionMode::ClampedGibbs) },
    )
    .unwrap();
    for _ in 0..200 {
        sampler.step(Threads(2));
    }
    let ais = AisConfig { runs: 100, schedule: BetaSchedule::uniform(1000).unwrap(), seed: 3, threads: Threads(2) };
    for (r, image) in images.chunks_exact(784).enumerate() {
        let exact = exact_conditional_log_prob(&rbm, image, &mask, Threads(2)).unwrap().log_prob;
        let auto = conditional_log_prob(&rbm, image, &mask, &means, &ais, &mut |_| true).unwrap();
        assert!(auto.exact && auto.log_prob == exact, "16 hidden units are enumerated");
        let completion = &sampler.estimate()[r * 784..(r + 1) * 784];
        let mut widths = Vec::new();
        for (base_name, base) in [("pixel means", &means[..]), ("completion", completion)] {
            let result = ais_conditional_log_prob(&rbm, image, &mask, base, &ais, &mut |_| true).unwrap();
            eprintln!(
                "image {r}, base {base_name}: exact {exact:.4}, AIS {:.4} [{:.4}, {:.4}]",
                result.log_prob, result.low, result.high
            );
            assert!(!result.exact);
            assert!(result.low <= exact && exact <= result.high, "image {r}, base {base_name}: outside the interval");
            assert!((result.log_prob - exact).abs() < 0.2, "image {r}, base {base_name}");
            assert!(result.standard_error > 0.0 && result.standard_error < 0.1);
            widths.push(result.high - result.low);
        }
        assert!(widths[1] < widths[0], "image {r}: the completion's marginals are the closer base");
    }
}

/// A 784x64 model after 300 CD-1 batches completes the bottom halves of 200 binarised test images
/// better than the training pixel means, by the error and by log p(v_u | v_k); an untrained model
/// (Hinton's initialisation: visible biases at the pixel means' logits, tiny weights) does not.
#[test]
fn a_trained_model_completes_better_than_pixel_means() {
    let means = common::mnist().train_pixel_means();
    let images = binary_test_images(200);
    let masks = vec![Mask::hide_half(28, 28, Half::Bottom)];
    let settings = ScoreSettings {
        completion: CompletionConfig {
            fill: StartFill::PerPixel(means.clone()),
            burn_in: 10,
            ..config(CompletionMode::ClampedGibbs)
        },
        steps: 100,
        log_prob_images: 20,
        ais: AisConfig { runs: 50, schedule: BetaSchedule::uniform(300).unwrap(), seed: 1, threads: Threads(2) },
    };
    let untrained = common::cd1_trained(64, 0, 11);
    for (name, rbm, trained) in [("trained", trained_784x64(), true), ("untrained", &untrained, false)] {
        let score = score_completion(rbm, &images, &masks, &means, &settings, &mut |_, _| true).unwrap();
        let lp = score.log_prob.unwrap();
        eprintln!(
            "{name}: error {:.4} (means {:.4}); log p {:.2} [{:.2}, {:.2}] (means {:.2})",
            score.error, score.baseline_error, lp.mean, lp.low, lp.high, lp.baseline
        );
        assert_eq!((score.images, score.hidden_pixels, score.steps, lp.images), (200, 200 * 392, 100, 20));
        assert!(!lp.exact && lp.low < lp.mean && lp.mean < lp.high);
        let better = score.error < score.baseline_error - 0.01 && lp.low > lp.baseline + 5.0;
        assert_eq!(better, trained, "{name}");
    }
}

/// The images are split into one block per thread; every image has its own stream, so 1, 2 or 3
/// threads give the same bits.
#[test]
fn threads_do_not_change_the_numbers() {
    let rbm = trained_784x64();
    let images = test_images(7);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let masks: Vec<Mask> = (0..7).map(|_| Mask::hide_random_with(784, 0.4, &mut rng).unwrap()).collect();
    for mode in [CompletionMode::ClampedGibbs, CompletionMode::MeanField, CompletionMode::Free] {
        let run = |threads| {
            let mut sampler = CompletionSampler::new(rbm, images.clone(), masks.clone(), config(mode)).unwrap();
            for _ in 0..5 {
                sampler.step(Threads(threads));
            }
            (sampler.state().to_vec(), sampler.average().to_vec(), sampler.stats())
        };
        let one = run(1);
        assert_eq!(one, run(2), "{mode:?} on two threads");
        assert_eq!(one, run(3), "{mode:?} on three threads");
    }
}

#[test]
fn top_hidden_units_are_the_most_active_with_their_weighted_filters() {
    let rbm = trained_784x64();
    let image = &test_images(1)[..];
    let p = rbm.hidden_probabilities(image, 1, Threads(1));
    let w = rbm.weights_slice();
    let norm = |j: usize| (0..784).map(|i| (w[i * 64 + j] as f64).powi(2)).sum::<f64>().sqrt();
    for ranking in [UnitRanking::Probability, UnitRanking::Contribution] {
        let top = top_hidden_units(rbm, image, 5, ranking).unwrap();
        assert_eq!(top.units.len(), 5);
        let key = |j: usize| match ranking {
            UnitRanking::Probability => p[j] as f64,
            UnitRanking::Contribution => p[j] as f64 * norm(j),
        };
        let mut order: Vec<usize> = (0..64).collect();
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
        let chosen: Vec<usize> = top.units.iter().map(|u| u.index).collect();
        assert_eq!(chosen, order[..5], "{ranking:?}");
        for (k, unit) in top.units.iter().enumerate() {
            assert_eq!(unit.probability, p[unit.index]);
            assert!((unit.contribution as f64 - p[unit.index] as f64 * norm(unit.index)).abs() < 1e-4);
            for i in 0..784 {
                assert_eq!(top.filters[k * 784 + i], w[i * 64 + unit.index]);
            }
        }
        for i in 0..784 {
            let want: f64 = top.units.iter().map(|u| u.probability as f64 * w[i * 64 + u.index] as f64).sum();
            assert!((top.weighted_sum[i] as f64 - want).abs() < 1e-5, "pixel {i}");
        }
    }
    assert_eq!(top_hidden_units(rbm, image, 1000, UnitRanking::Probability).unwrap().units.len(), 64);
    assert!(top_hidden_units(rbm, &image[..10], 3, UnitRanking::Probability).is_err());
}

/// A newer model of the same shape is taken without restarting; another shape is refused and
/// leaves the sampler as it was; a restart goes back to the start.
#[test]
fn models_can_change_between_steps() {
    let rbm = trained_784x64();
    let images = test_images(2);
    let masks = vec![Mask::hide_half(28, 28, Half::Left)];
    let mut sampler = CompletionSampler::new(rbm, images.clone(), masks, config(CompletionMode::ClampedGibbs))
        .unwrap()
        .with_originals(images.clone())
        .unwrap();
    sampler.step(Threads(1));
    let other = random_rbm(784, 64, 0.05, 0.1, 8);
    sampler.set_model(&other).unwrap();
    assert_eq!(sampler.model(), &other);
    // F of the current state is now the new model's.
    let f = sampler.stats().free_energy;
    assert!((f[0] - other.free_energy(&sampler.state()[..784])).abs() < 1e-3 * f[0].abs().max(1.0));
    let before = sampler.state().to_vec();
    let error = sampler.set_model(&random_rbm(784, 32, 0.05, 0.1, 8)).unwrap_err();
    assert!(matches!(error, InpaintError::ModelShape { hidden: 32, want_hidden: 64, .. }), "{error}");
    assert_eq!(sampler.state(), before);
    assert!(sampler.stats().estimate_error.unwrap().iter().all(|&e| e > 0.0 && e < 1.0));
    sampler.restart();
    assert_eq!((sampler.steps(), sampler.averaged_steps()), (0, 0));
    assert_eq!(sampler.state(), sampler.start());
}

#[test]
fn bad_input_is_refused() {
    let rbm = random_rbm(6, 3, 0.5, 0.5, 1);
    let mask = vec![Mask::all_known(6)];
    let make = |images: Vec<f32>, masks: Vec<Mask>, config: CompletionConfig| {
        CompletionSampler::new(&rbm, images, masks, config).map(|_| ()).unwrap_err()
    };
    let good = CompletionConfig::default();
    assert!(matches!(make(vec![], mask.clone(), good.clone()), InpaintError::ImageBatch { .. }));
    assert!(matches!(make(vec![0.0; 7], mask.clone(), good.clone()), InpaintError::ImageBatch { .. }));
    assert!(matches!(make(vec![1.5; 6], mask.clone(), good.clone()), InpaintError::OutOfRange { .. }));
    assert!(matches!(make(vec![f32::NAN; 6], mask.clone(), good.clone()), InpaintError::NotFinite(_)));
    assert!(matches!(make(vec![0.0; 18], vec![Mask::all_known(6); 2], good.clone()), InpaintError::MaskCount { .. }));
    assert!(matches!(make(vec![0.0; 6], vec![Mask::all_known(5)], good.clone()), InpaintError::Shape { .. }));
    let damped = CompletionConfig { damping: 1.0, ..good.clone() };
    assert!(matches!(make(vec![0.0; 6], mask.clone(), damped), InpaintError::Damping(_)));
    let tolerance = CompletionConfig { tolerance: 0.0, ..good.clone() };
    assert!(matches!(make(vec![0.0; 6], mask.clone(), tolerance), InpaintError::Tolerance(_)));
    let fill = CompletionConfig { fill: StartFill::PerPixel(vec![0.5; 5]), ..good };
    assert!(matches!(make(vec![0.0; 6], mask, fill), InpaintError::Shape { .. }));
}
