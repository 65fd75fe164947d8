//! RAISE (reverse annealing): its weights have the annealing model's exact probabilities as their
//! mean (a 4x3 model, enumerated); on a 784x16 model whose log-likelihoods are exact, AIS's
//! estimate and RAISE's bound bracket the exact value, both closing on it as the schedule grows;
//! the same numbers on 1 and 2 threads; cancellation and bad input as AIS's.

mod common;

use common::{cd1_trained, mnist, mnist_slice};
use rbm_lab::model::ais::{AisConfig, BetaSchedule, ais_log_z, base_rate_visible_bias};
use rbm_lab::model::eval::{EvalError, binarise, exact_log_z, free_energies};
use rbm_lab::model::raise::{RaiseConfig, raise_log_likelihood};
use rbm_lab::model::{Initialisation, MathPool, ModelSpec, Rbm, Threads, TrainingConfig};
use rbm_lab::quality::{EvaluationSettings, evaluate};
use rbm_lab::trainer::{BatchOutcome, TrainingRun};

const IMAGES: usize = 40;

struct Setup {
    rbm: Rbm,
    base: Vec<f32>,
    images: Vec<f32>,
    /// Exact log p(v) of each image.
    exact: Vec<f64>,
    free_energy: Vec<f64>,
}

/// A 784x16 model trained by centered PCD-1 for 5 epochs on 20,000 digits (a CD-1 model puts mass
/// on states its data never visit, and short annealing misses them, so that its annealing model can
/// be the better model of the test digits: see below).
fn pcd_trained() -> Rbm {
    let config = TrainingConfig { planned_epochs: 5.0, learning_rate: 0.05, ..TrainingConfig::quality_recipe() };
    let spec = ModelSpec { n_hidden: 16, seed: 3, initialisation: Initialisation::Hinton, ..ModelSpec::default() };
    let mut run = TrainingRun::new(mnist_slice(20_000, 100), spec, config, MathPool::new(2));
    for _ in 0..1000 {
        assert!(matches!(run.train_batch(), BatchOutcome::Trained(_)));
    }
    run.rbm().clone()
}

fn setup() -> Setup {
    setup_with(cd1_trained(16, 300, 2))
}

fn setup_with(rbm: Rbm) -> Setup {
    let data = mnist();
    let base = base_rate_visible_bias(&data.train_pixel_means());
    let images = binarise(&data.test.pixels[..IMAGES * 784], 17);
    let log_z = exact_log_z(&rbm, Threads(2)).expect("16 hidden units enumerate");
    let free_energy = free_energies(&rbm, &images, IMAGES, Threads(2));
    let exact = free_energy.iter().map(|f| -f - log_z).collect();
    Setup { rbm, base, images, exact, free_energy }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// RAISE's bound and AIS's estimate of the images' average log-likelihood, each averaged over
/// `seeds` seeds, with `betas` equally spaced inverse temperatures.
fn bracket(s: &Setup, betas: usize, seeds: u64) -> (f64, f64) {
    let schedule = BetaSchedule::uniform(betas).unwrap();
    let (mut raise, mut ais) = (Vec::new(), Vec::new());
    for seed in 1..=seeds {
        let config = RaiseConfig { runs: 5, schedule: schedule.clone(), seed, threads: Threads(2) };
        let result = raise_log_likelihood(&s.rbm, &s.base, &s.images, IMAGES, &config, &mut |_| true).unwrap();
        assert_eq!(result.images(), IMAGES);
        raise.push(result.mean);
        let config = AisConfig { runs: 50, schedule: schedule.clone(), seed, threads: Threads(2) };
        let log_z = ais_log_z(&s.rbm, &s.base, &config, &mut |_| true).unwrap().log_z;
        ais.push(-mean(&s.free_energy) - log_z);
    }
    (mean(&raise), mean(&ais))
}

#[test]
fn ais_and_raise_bracket_the_exact_log_likelihood_and_close_on_it_with_a_long_schedule() {
    let s = setup_with(pcd_trained());
    let exact = mean(&s.exact);
    let (raise_short, ais_short) = bracket(&s, 30, 4);
    let (raise_long, ais_long) = bracket(&s, 3000, 2);
    let report = format!(
        "exact {exact:.4}; 30 betas: RAISE {raise_short:.4}, AIS {ais_short:.4}; 3000 betas: RAISE {raise_long:.4}, \
         AIS {ais_long:.4}"
    );
    // A lower bound and an over-estimate, up to the randomness left after averaging over seeds.
    for (raise, ais) in [(raise_short, ais_short), (raise_long, ais_long)] {
        assert!(raise <= exact + 0.02, "RAISE above the exact value: {report}");
        assert!(ais >= exact - 0.02, "AIS below the exact value: {report}");
    }
    // A short schedule leaves gaps on both sides that the long one closes.
    assert!(exact - raise_short > 0.1 && ais_short - exact > 0.1, "30 steps should show the bracket: {report}");
    assert!(exact - raise_long < 0.05 && ais_long - exact < 0.05, "3000 steps should be nearly exact: {report}");
}

/// RAISE bounds the annealing model, which need not be worse than the RBM: on the CD-1 model a
/// short schedule's bound lies *above* the exact value (measured: +0.34 nats with 30 betas,
/// +0.15 with 300), and only a long schedule brings it down to the RBM's.
#[test]
fn on_a_cd1_model_short_annealing_is_the_better_model_and_a_long_schedule_still_converges() {
    let s = setup();
    let exact = mean(&s.exact);
    let (raise_short, _) = bracket(&s, 30, 2);
    let (raise_long, _) = bracket(&s, 3000, 1);
    assert!(raise_short > exact + 0.1, "exact {exact:.4}, RAISE with 30 betas {raise_short:.4}");
    assert!((raise_long - exact).abs() < 0.05, "exact {exact:.4}, RAISE with 3000 betas {raise_long:.4}");
}

#[test]
fn each_image_s_bound_is_near_its_exact_log_likelihood_and_the_interval_holds_the_mean() {
    let s = setup();
    let config = RaiseConfig { runs: 10, schedule: BetaSchedule::uniform(2000).unwrap(), seed: 3, threads: Threads(2) };
    let result = raise_log_likelihood(&s.rbm, &s.base, &s.images, IMAGES, &config, &mut |_| true).unwrap();
    for (i, (bound, exact)) in result.log_likelihoods.iter().zip(&s.exact).enumerate() {
        assert!((bound - exact).abs() < 0.5, "image {i}: bound {bound:.3}, exact {exact:.3}");
    }
    assert!(result.low < result.mean && result.mean < result.high);
    // The interval is the spread of the images' values (tens of nats apart), over √40.
    let spread = result.high - result.low;
    assert!(spread > 1.0 && spread < 100.0, "{result:?}");
    assert_eq!((result.runs, result.betas), (10, 2000));
}

#[test]
fn raise_gives_the_same_bits_on_one_and_two_threads_and_depends_on_its_seed() {
    let s = setup();
    let run = |threads: usize, seed: u64| {
        let config =
            RaiseConfig { runs: 3, schedule: BetaSchedule::uniform(50).unwrap(), seed, threads: Threads(threads) };
        raise_log_likelihood(&s.rbm, &s.base, &s.images[..7 * 784], 7, &config, &mut |_| true).unwrap()
    };
    assert_eq!(run(1, 5), run(2, 5));
    assert_ne!(run(2, 5).log_likelihoods, run(2, 6).log_likelihoods);
}

#[test]
fn raise_stops_when_progress_returns_false_and_refuses_bad_input() {
    let s = setup();
    let config = RaiseConfig { runs: 2, schedule: BetaSchedule::uniform(500).unwrap(), seed: 1, threads: Threads(1) };
    let mut calls = 0;
    let cancelled = raise_log_likelihood(&s.rbm, &s.base, &s.images, IMAGES, &config, &mut |fraction| {
        calls += 1;
        fraction < 0.3
    });
    assert_eq!(cancelled, Err(EvalError::Cancelled));
    assert!(calls >= 2);
    let run = |images: &[f32], rows: usize, runs: usize| {
        let config = RaiseConfig { runs, ..config.clone() };
        raise_log_likelihood(&s.rbm, &s.base, images, rows, &config, &mut |_| true)
    };
    assert_eq!(run(&s.images, IMAGES, 0), Err(EvalError::NoRuns));
    assert_eq!(run(&[], 0, 2), Err(EvalError::NoImages));
    assert!(matches!(run(&s.images[..100], 1, 2), Err(EvalError::Shape { .. })));
    assert!(matches!(run(&s.images, IMAGES, 1_000_000), Err(EvalError::Limit(_))));
}

#[test]
fn the_full_evaluation_reports_raise_beside_the_log_z_estimate_of_the_same_images() {
    let s = setup();
    let settings = EvaluationSettings {
        betas: Some(1000),
        images: 200,
        threads: 2,
        raise_images: 12,
        raise_runs: 4,
        ..EvaluationSettings::default()
    };
    let mut last = 0.0;
    let e = evaluate(&s.rbm, mnist(), 1.0, &settings, &mut |fraction| {
        assert!(fraction >= last && fraction <= 1.0);
        last = fraction;
        true
    })
    .unwrap();
    assert!(e.exact, "16 hidden units: log Z by enumeration");
    assert_eq!(last, 1.0, "the progress reaches the end");
    let raise = e.raise.expect("asked for");
    assert_eq!((raise.images, raise.runs), (12, 4));
    // With the exact log Z the estimate is exact; the bound lies just below it.
    assert!(raise.bound <= raise.log_z_estimate + 0.05 && raise.bound > raise.log_z_estimate - 1.0, "{raise:?}");
    let none = evaluate(&s.rbm, mnist(), 1.0, &EvaluationSettings { raise_images: 0, ..settings }, &mut |_| true);
    assert_eq!(none.unwrap().raise, None);
}

const NV: usize = 4;
const NH: usize = 3;

fn tiny_rbm() -> Rbm {
    let w: Vec<f32> = (0..NV * NH).map(|i| 2.0 * ((i as f32) * 1.3 + 0.2).sin()).collect();
    Rbm::from_parameters(NV, NH, w, vec![0.5, -0.8, 0.3, -0.2], vec![-0.4, 0.6, 0.1]).unwrap()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn bit(state: usize, i: usize) -> f64 {
    ((state >> i) & 1) as f64
}

/// T_β(v → v') over the 16 visible states: Σ_h p_β(h|v) p_β(v'|h), with p_β(h_j|v) = σ(β a_j) and
/// p_β(v_i|h) = σ(β (hWᵀ + b_v)_i + (1 − β) b_A,i), in f64.
fn transition(rbm: &Rbm, base: &[f32], beta: f64) -> Vec<Vec<f64>> {
    let (w, b_v, b_h) = (rbm.weights_slice(), rbm.visible_bias(), rbm.hidden_bias());
    let on = |p: f64, x: f64| if x == 1.0 { p } else { 1.0 - p };
    (0..1 << NV)
        .map(|v| {
            let mut row = vec![0.0; 1 << NV];
            for h in 0..1 << NH {
                let p_h: f64 = (0..NH)
                    .map(|j| {
                        let a = b_h[j] as f64 + (0..NV).map(|i| bit(v, i) * w[i * NH + j] as f64).sum::<f64>();
                        on(sigmoid(beta * a), bit(h, j))
                    })
                    .product();
                for (next, p) in row.iter_mut().enumerate() {
                    let p_v: f64 = (0..NV)
                        .map(|i| {
                            let x = b_v[i] as f64 + (0..NH).map(|j| bit(h, j) * w[i * NH + j] as f64).sum::<f64>();
                            on(sigmoid(beta * x + (1.0 - beta) * base[i] as f64), bit(next, i))
                        })
                        .product();
                    *p += p_h * p_v;
                }
            }
            row
        })
        .collect()
}

#[test]
fn raise_weights_average_to_the_annealing_model_s_exact_probabilities() {
    let rbm = tiny_rbm();
    let base = vec![0.7f32, -0.4, 0.2, -1.1];
    let schedule = BetaSchedule::uniform(3).unwrap();
    // p_ann = p_A T_0.5 T_1, enumerated.
    let mut p_ann: Vec<f64> = (0..1 << NV)
        .map(|v| {
            (0..NV)
                .map(|i| if bit(v, i) == 1.0 { sigmoid(base[i] as f64) } else { 1.0 - sigmoid(base[i] as f64) })
                .product()
        })
        .collect();
    for &beta in &schedule.betas()[1..] {
        let t = transition(&rbm, &base, beta);
        p_ann = (0..1 << NV).map(|next| (0..1 << NV).map(|v| p_ann[v] * t[v][next]).sum()).collect();
    }
    let log_z = exact_log_z(&rbm, Threads(1)).unwrap();
    let states: Vec<f32> = (0..1 << NV).flat_map(|v| (0..NV).map(move |i| bit(v, i) as f32)).collect();
    let exact: Vec<f64> =
        free_energies(&rbm, &states, 1 << NV, Threads(1)).iter().map(|f| (-f - log_z).exp()).collect();
    // The check can tell the annealing model from the RBM: they differ by far more than the tolerance.
    let largest = p_ann.iter().zip(&exact).map(|(a, b)| (a / b - 1.0).abs()).fold(0.0, f64::max);
    assert!(largest > 0.3, "p_ann and p too close to tell apart: {largest}");

    // mean(w) over 5 seeds x 4000 runs: unbiased for p_ann(v); with two steps the weights spread
    // widely, so one seed's mean is within ~5% and five seeds' within ~2.5% (1σ).
    let seeds = 5;
    let mut mean_weight = [0.0; 1 << NV];
    for seed in 0..seeds {
        let config = RaiseConfig { runs: 4000, schedule: schedule.clone(), seed, threads: Threads(2) };
        let result = raise_log_likelihood(&rbm, &base, &states, 1 << NV, &config, &mut |_| true).unwrap();
        for (sum, bound) in mean_weight.iter_mut().zip(&result.log_likelihoods) {
            *sum += bound.exp() / seeds as f64;
        }
    }
    for (v, (&w, &p)) in mean_weight.iter().zip(&p_ann).enumerate() {
        assert!((w / p - 1.0).abs() < 0.1, "state {v:04b}: mean weight {w:.5}, p_ann {p:.5}, p {:.5}", exact[v]);
    }
    let error = |target: &[f64]| mean_weight.iter().zip(target).map(|(w, t)| (w / t).ln().abs()).sum::<f64>();
    assert!(error(&p_ann) * 3.0 < error(&exact), "closer to p_ann than to p: {} vs {}", error(&p_ann), error(&exact));
}
