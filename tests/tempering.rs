//! Parallel tempering: with one temperature it is PCD, bit for bit; its swaps keep the joint chain
//! over temperatures at the exact product of the tempered distributions (checked by visit counts
//! on a tiny model); swap rates are rates and fall as the temperatures spread; the same numbers on
//! 1 and 2 threads; its chains count against the limits.

mod common;

use common::{cd1_trained, mnist, mnist_slice};
use rbm_lab::model::ais::base_rate_visible_bias;
use rbm_lab::model::eval::binarise;
use rbm_lab::model::{
    ConfigError, GradientMethod, Initialisation, MathPool, ModelSpec, Rbm, TemperatureSpacing, TemperedSampler,
    Threads, TrainingConfig, VisibleSampling,
};
use rbm_lab::trainer::{BatchOutcome, TrainingRun};

fn spec() -> ModelSpec {
    ModelSpec { n_hidden: 24, seed: 5, initialisation: Initialisation::Hinton, ..ModelSpec::default() }
}

/// Centered PCD on binary data with more particles than the batch and two Gibbs steps per update.
fn pcd_config() -> TrainingConfig {
    TrainingConfig { batch_size: 25, pcd_particles: 40, k: 2, planned_epochs: 3.0, ..TrainingConfig::quality_recipe() }
}

fn pt_config(temperatures: usize) -> TrainingConfig {
    TrainingConfig { method: GradientMethod::Pt, temperatures, min_beta: 0.6, ..pcd_config() }
}

/// The run's losses, batch by batch, as bits.
fn train(run: &mut TrainingRun, batches: usize) -> Vec<u32> {
    (0..batches)
        .map(|_| match run.train_batch() {
            BatchOutcome::Trained(report) => report.loss.loss.to_bits(),
            other => panic!("the batch did not train: {other:?}"),
        })
        .collect()
}

fn parameter_bits(rbm: &Rbm) -> Vec<u32> {
    let (w, b_v, b_h) = (rbm.weights_slice(), rbm.visible_bias(), rbm.hidden_bias());
    w.iter().chain(b_v.iter()).chain(b_h.iter()).map(|x| x.to_bits()).collect()
}

#[test]
fn one_temperature_is_pcd_bit_for_bit() {
    let dataset = mnist_slice(300, 30);
    for threads in [1, 2] {
        let mut pcd = TrainingRun::new(dataset.clone(), spec(), pcd_config(), MathPool::new(threads));
        let mut pt = TrainingRun::new(dataset.clone(), spec(), pt_config(1), MathPool::new(threads));
        // 30 batches of 25: over two epochs.
        assert_eq!(train(&mut pt, 30), train(&mut pcd, 30), "{threads} threads: the same losses");
        assert!(parameter_bits(pt.rbm()) == parameter_bits(pcd.rbm()), "{threads} threads: the same model");
        assert!(pt.swap_rates().is_empty(), "one temperature has no pairs");
    }
    // The control: with ten temperatures the swaps change the β = 1 chains, so the model differs.
    let mut pcd = TrainingRun::new(dataset.clone(), spec(), pcd_config(), MathPool::new(2));
    let mut pt = TrainingRun::new(dataset, spec(), pt_config(10), MathPool::new(2));
    train(&mut pcd, 30);
    train(&mut pt, 30);
    assert!(parameter_bits(pt.rbm()) != parameter_bits(pcd.rbm()));
    assert_eq!(pt.swap_rates().len(), 9);
}

#[test]
fn tempered_training_gives_the_same_bits_on_one_and_two_threads() {
    let dataset = mnist_slice(300, 30);
    // 50 particles x 4 temperatures on 60 hidden units: split into two blocks per thread, the 200
    // chains' products would have 100 rows on one thread and 50 on two, and the gemm crate sums
    // some rows of such products in another order; the blocks have one size on any thread count.
    let config = TrainingConfig { temperatures: 4, min_beta: 0.3, pcd_particles: 50, ..pt_config(4) };
    let spec = ModelSpec { n_hidden: 60, ..spec() };
    let runs: Vec<TrainingRun> = [1, 2]
        .into_iter()
        .map(|threads| {
            let mut run = TrainingRun::new(dataset.clone(), spec.clone(), config.clone(), MathPool::new(threads));
            train(&mut run, 15);
            run
        })
        .collect();
    assert!(parameter_bits(runs[0].rbm()) == parameter_bits(runs[1].rbm()));
    assert!(runs[0].model_file() == runs[1].model_file(), "the chains, rates and streams too");
    assert!(runs[0].swap_rates().iter().any(|&rate| rate > 0.0), "{:?}", runs[0].swap_rates());
}

const NV: usize = 4;
const NH: usize = 3;

/// A 4x3 model with strong weights, so that β = 1 and β = 0.3 are far apart.
fn tiny_rbm() -> Rbm {
    let w: Vec<f32> = (0..NV * NH).map(|i| 2.5 * ((i as f32) * 1.7 + 0.4).sin()).collect();
    Rbm::from_parameters(NV, NH, w, vec![0.4, -0.9, 0.2, -0.3], vec![-0.6, 0.5, 0.1]).unwrap()
}

/// ln p*_β(v) = (1−β) b_A·v + β b_v·v + Σ_j softplus(β (vW + b_h)_j), in f64.
fn tempered_log_probability(rbm: &Rbm, base: &[f32], beta: f64, v: &[f32]) -> f64 {
    let (w, b_v, b_h) = (rbm.weights_slice(), rbm.visible_bias(), rbm.hidden_bias());
    let linear: f64 = (0..NV).map(|i| ((1.0 - beta) * base[i] as f64 + beta * b_v[i] as f64) * v[i] as f64).sum();
    let hidden: f64 = (0..NH)
        .map(|j| {
            let a = b_h[j] as f64 + (0..NV).map(|i| v[i] as f64 * w[i * NH + j] as f64).sum::<f64>();
            rbm_lab::model::softplus(beta * a)
        })
        .sum();
    linear + hidden
}

fn bits(state: usize) -> Vec<f32> {
    (0..NV).map(|i| ((state >> i) & 1) as f32).collect()
}

/// Normalised p_β over the 16 visible states.
fn tempered_distribution(rbm: &Rbm, base: &[f32], beta: f64) -> Vec<f64> {
    let logs: Vec<f64> = (0..1 << NV).map(|s| tempered_log_probability(rbm, base, beta, &bits(s))).collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = logs.iter().map(|l| (l - max).exp()).sum();
    logs.iter().map(|l| (l - max).exp() / total).collect()
}

fn state_of(v: &[f32]) -> usize {
    v.iter().enumerate().map(|(i, &x)| (x as usize) << i).sum()
}

#[test]
fn the_joint_chain_over_temperatures_visits_states_with_the_exact_tempered_probabilities() {
    let rbm = tiny_rbm();
    let base = vec![0.8f32, -0.5, 0.3, -1.0];
    let betas = vec![1.0, 0.3];
    let particles = 4000;
    // Every particle starts in the same state, far from equilibrium.
    let start: Vec<f32> = (0..particles).flat_map(|_| bits(0b1010)).collect();
    let mut sampler = TemperedSampler::new(&start, NV, NH, betas.clone(), Some(base.clone()), 7).unwrap();
    // Burn-in, then one sample of the pair (v at β = 1, v at β = 0.3) per particle every 6 rounds:
    // the 4x3 chains forget their state within a few rounds, so the samples are nearly independent.
    for _ in 0..30 {
        sampler.round(&rbm, Threads(2));
    }
    let mut counts = vec![0u64; 1 << (2 * NV)];
    let samples_per_particle = 40;
    for _ in 0..samples_per_particle {
        for _ in 0..6 {
            sampler.round(&rbm, Threads(2));
        }
        for (cold, hot) in sampler.chains_at(0).chunks_exact(NV).zip(sampler.chains_at(1).chunks_exact(NV)) {
            counts[state_of(cold) + (state_of(hot) << NV)] += 1;
        }
    }
    let cold = tempered_distribution(&rbm, &base, betas[0]);
    let hot = tempered_distribution(&rbm, &base, betas[1]);
    // The two temperatures must differ for the check to say anything about the swaps.
    let distance: f64 = cold.iter().zip(&hot).map(|(a, b)| (a - b).abs()).sum::<f64>() / 2.0;
    assert!(distance > 0.3, "total variation between the temperatures {distance}");
    let n = (particles * samples_per_particle) as f64;
    let mut chi_square = 0.0;
    for (state, &count) in counts.iter().enumerate() {
        let p = cold[state & 0xF] * hot[state >> NV];
        let expected = n * p;
        let sigma = (n * p * (1.0 - p)).sqrt();
        assert!(
            (count as f64 - expected).abs() < 5.0 * sigma + 1.0,
            "joint state {state:08b}: {count} visits, exact {expected:.1} (σ {sigma:.1})"
        );
        chi_square += (count as f64 - expected).powi(2) / expected;
    }
    // 255 degrees of freedom: mean 255, standard deviation √510 ≈ 22.6.
    assert!(chi_square < 255.0 + 6.0 * 22.6, "χ² = {chi_square:.1} over 255 degrees of freedom");
    let rate = sampler.swap_rates()[0];
    assert!(rate > 0.05 && rate < 0.95, "the swaps are tried and sometimes refused: rate {rate}");
}

/// 500 binarised test digits and a 784x16 model trained by CD-1.
fn trained_sampler_inputs() -> (Rbm, Vec<f32>, Vec<f32>) {
    let data = mnist();
    let rbm = cd1_trained(16, 200, 3);
    let start = binarise(&data.test.pixels[..500 * 784], 9);
    let base = base_rate_visible_bias(&data.train_pixel_means());
    (rbm, start, base)
}

#[test]
fn swap_rates_are_rates_and_fall_as_the_temperatures_spread() {
    let (rbm, start, base) = trained_sampler_inputs();
    let mut means = Vec::new();
    for min_beta in [0.95, 0.8, 0.6, 0.4] {
        let betas = rbm_lab::model::tempering::temperature_ladder(4, min_beta, TemperatureSpacing::Geometric);
        let mut sampler = TemperedSampler::new(&start, 784, 16, betas, Some(base.clone()), 3).unwrap();
        for _ in 0..60 {
            sampler.round(&rbm, Threads(2));
        }
        let rates = sampler.swap_rates().to_vec();
        assert_eq!(rates.len(), 3);
        assert!(rates.iter().all(|r| (0.0..=1.0).contains(r)), "β_min {min_beta}: {rates:?}");
        means.push(rates.iter().sum::<f64>() / 3.0);
    }
    for pair in means.windows(2) {
        assert!(pair[1] < pair[0] - 0.02, "mean swap rates by spreading ladders {means:?}");
    }
    // A ladder of equal temperatures accepts every swap.
    let mut flat = TemperedSampler::new(&start, 784, 16, vec![1.0, 1.0], Some(base), 3).unwrap();
    for _ in 0..4 {
        flat.round(&rbm, Threads(1));
    }
    assert_eq!(flat.swap_rates(), [1.0]);
}

#[test]
fn the_sampler_gives_the_same_bits_on_one_and_two_threads() {
    let (rbm, start, base) = trained_sampler_inputs();
    let betas = rbm_lab::model::tempering::temperature_ladder(5, 0.5, TemperatureSpacing::Linear);
    let run = |threads: usize| {
        let mut sampler = TemperedSampler::new(&start[..37 * 784], 784, 16, betas.clone(), Some(base.clone()), 1)
            .expect("a valid ladder");
        for _ in 0..9 {
            sampler.round(&rbm, Threads(threads));
        }
        let chains: Vec<Vec<f32>> = (0..5).map(|k| sampler.chains_at(k).to_vec()).collect();
        (chains, sampler.swap_rates().to_vec())
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn bad_ladders_and_too_many_chains_are_refused() {
    let config = pt_config(10);
    assert_eq!(config.validate(), Ok(()));
    let cases = [
        (TrainingConfig { temperatures: 0, ..config.clone() }, "temperatures must be between 1 and 100"),
        (TrainingConfig { temperatures: 101, ..config.clone() }, "(got 101)"),
        (TrainingConfig { min_beta: 0.0, ..config.clone() }, "lowest inverse temperature"),
        (TrainingConfig { min_beta: 1.5, ..config.clone() }, "(got 1.5)"),
        (TrainingConfig { min_beta: f32::NAN, ..config.clone() }, "lowest inverse temperature"),
        (
            TrainingConfig { pcd_particles: 10_000, temperatures: 7, ..config.clone() },
            "10000 particles x 7 temperatures needs 70000 chains; rbm-lab's limit is 60000",
        ),
    ];
    for (bad, message) in cases {
        let error = bad.validate().expect_err(message);
        assert!(error.to_string().contains(message), "{error}");
    }
    assert!(matches!(
        TrainingConfig { pcd_particles: 10_000, temperatures: 7, ..config.clone() }.validate(),
        Err(ConfigError::TemperedChains { .. })
    ));
    // β = 0 is a valid end of a linear ladder (the base model itself).
    let linear = TrainingConfig { min_beta: 0.0, temperature_spacing: TemperatureSpacing::Linear, ..config.clone() };
    assert_eq!(linear.validate(), Ok(()));
    assert_eq!(linear.temperature_ladder().last(), Some(&0.0));
    // PCD ignores the ladder's chain count.
    let pcd = TrainingConfig { method: GradientMethod::Pcd, pcd_particles: 10_000, ..config };
    assert_eq!(pcd.validate(), Ok(()));
    assert_eq!(pcd.chains(), 10_000);
    // The sampler refuses ladders that do not start at 1 or that rise.
    assert!(TemperedSampler::new(&[0.0; 4], 4, 3, vec![0.9, 0.5], None, 1).is_err());
    assert!(TemperedSampler::new(&[0.0; 4], 4, 3, vec![1.0, 0.5, 0.7], None, 1).is_err());
}

#[test]
fn tempered_chains_start_at_the_data_and_the_hot_end_leans_towards_the_base() {
    // A model with zero parameters: at β = 1 every pixel is on with probability 1/2; the hottest
    // chain (β = 0) samples the base model, whose pixels are nearly always off here.
    let rbm = Rbm::zeros(NV, NH);
    let base = vec![-6.0f32; NV];
    let start = vec![1.0f32; 2000 * NV];
    let mut sampler = TemperedSampler::new(&start, NV, NH, vec![1.0, 0.5, 0.0], Some(base), 2).unwrap();
    assert!(sampler.chains_at(2).iter().all(|&x| x == 1.0), "every temperature starts at the data");
    for _ in 0..5 {
        sampler.round(&rbm, Threads(1));
    }
    let mean = |k: usize| sampler.chains_at(k).iter().sum::<f32>() / (2000 * NV) as f32;
    assert!((mean(0) - 0.5).abs() < 0.05, "β = 1: {}", mean(0));
    assert!(mean(2) < 0.05, "β = 0: {}", mean(2));
    // β = 0.5: σ(0.5·0 + 0.5·(−6)) = σ(−3) ≈ 0.047 per pixel, mixed with what the swaps bring.
    assert!(mean(1) < 0.3 && mean(1) > mean(2), "β = 0.5: {}", mean(1));
}

#[test]
fn a_pt_model_file_records_the_ladder_and_the_bernoulli_sampling_is_kept() {
    let mut run = TrainingRun::new(mnist_slice(200, 20), spec(), pt_config(3), MathPool::new(1));
    train(&mut run, 3);
    let file = run.model_file();
    let state = file.state.as_ref().expect("a training run's file has its state");
    let tempering = state.workspace.tempering.as_ref().expect("the ladder is saved");
    assert_eq!(tempering.betas, pt_config(3).temperature_ladder());
    assert_eq!(state.workspace.particles.len(), 3 * 40 * 784, "40 particles at 3 temperatures");
    assert_eq!(state.workspace.tempering_base.as_ref().map(Vec::len), Some(784));
    assert_eq!(file.metadata.training.sampling, VisibleSampling::Bernoulli);
}
