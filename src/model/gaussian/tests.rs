//! The Gaussian model's math against independent computations: quadrature, moments of samples,
//! finite differences, exact log Z for AIS, and bit-identity across thread counts.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::train::update;
use super::*;
use crate::model::ais::AisConfig;

/// A model with given W (V x H), b, c and z, all drawn from `seed` at the given scales.
fn random_model(nv: usize, nh: usize, weight_scale: f32, seed: u64) -> GaussianRbm {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut normal = |scale: f32| -> f32 {
        let z: f32 = StandardNormal.sample(&mut rng);
        scale * z
    };
    let w: Vec<f32> = (0..nv * nh).map(|_| normal(weight_scale)).collect();
    let b: Vec<f32> = (0..nv).map(|_| normal(0.5)).collect();
    let c: Vec<f32> = (0..nh).map(|_| normal(0.5)).collect();
    let z: Vec<f32> = (0..nv).map(|_| normal(0.4)).collect();
    GaussianRbm::from_parts(Rbm::from_parameters(nv, nh, w, b, c).unwrap(), z).unwrap()
}

/// ∫ exp(−F(v)) dv over R³ by the midpoint rule on a 240³ grid spanning, in each dimension, the
/// component means b_i + (W h)_i of every h widened by 9σ_i each side. The integrand is a mixture of
/// 16 Gaussians; the rule's error for a Gaussian sampled at 1/10 of its σ or finer is far below
/// 1e-9 and the tails cut off beyond 9σ weigh below 1e-18, so the tolerance 1e-6 on log Z is
/// limited by f32 rounding of the grid points.
#[test]
fn exact_log_z_equals_quadrature_on_3x4() {
    let model = random_model(3, 4, 0.6, 11);
    let (nv, nh) = (3, 4);
    let w = model.rbm().weights_slice();
    let b = model.rbm().visible_bias();
    let sd: Vec<f64> = model.variances().iter().map(|v| v.sqrt()).collect();
    let n = 240usize;
    let mut grids = Vec::new();
    for i in 0..nv {
        let means: Vec<f64> = (0..1u32 << nh)
            .map(|h| b[i] as f64 + (0..nh).filter(|j| h >> j & 1 == 1).map(|j| w[i * nh + j] as f64).sum::<f64>())
            .collect();
        let lo = means.iter().cloned().fold(f64::INFINITY, f64::min) - 9.0 * sd[i];
        let hi = means.iter().cloned().fold(f64::NEG_INFINITY, f64::max) + 9.0 * sd[i];
        let step = (hi - lo) / n as f64;
        assert!(step < 0.1 * sd[i], "grid too coarse");
        grids.push(((0..n).map(|k| (lo + (k as f64 + 0.5) * step) as f32).collect::<Vec<f32>>(), step));
    }
    let mut terms = Vec::with_capacity(n * n * n);
    for &x in &grids[0].0 {
        for &y in &grids[1].0 {
            for &z in &grids[2].0 {
                terms.push(-model.free_energy(&[x, y, z]));
            }
        }
    }
    let cell: f64 = grids.iter().map(|(_, step)| step.ln()).sum();
    let quadrature = crate::model::eval::log_sum_exp(&terms) + cell;
    let exact = exact_log_z(&model, Threads(1)).unwrap();
    assert!((exact - quadrature).abs() < 1e-6, "exact {exact} vs quadrature {quadrature}");
    assert_eq!(exact.to_bits(), exact_log_z(&model, Threads(2)).unwrap().to_bits());
}

/// One Gibbs step from a fixed v: v' = b + W h + σ ε with h ~ p(h | v), so per visible unit
/// E[v'_i] = b_i + Σ_j W_ij p_j and Var[v'_i] = σ_i² + Σ_j W_ij² p_j (1 − p_j), p_j = sigmoid(c_j +
/// Σ_i W_ij v_i / σ_i²) computed here in f64. With n = 40,000 chains the sample mean and variance
/// must lie within 5 standard errors (√(Var/n), and √((m4 − Var²)/n) with m4 the sample's fourth
/// central moment) of the formulas: a false alarm has probability below 1e-5 per unit.
#[test]
fn one_gibbs_step_has_the_conditional_moments() {
    let (nv, nh) = (5, 3);
    let model = random_model(nv, nh, 0.8, 5);
    let v0: Vec<f32> = vec![0.3, -1.2, 0.8, 0.0, 2.0];
    let n = 40_000;
    let start: Vec<f32> = (0..n).flat_map(|_| v0.iter().copied()).collect();
    let mut chains = GaussianChains::new(start, nv, nh, 9);
    chains.step(&model, Threads(2));
    let p: Vec<f64> = model.hidden_inputs_f64(&v0).iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect();
    let w = model.rbm().weights_slice();
    let state = chains.state();
    for i in 0..nv {
        let row = &w[i * nh..(i + 1) * nh];
        let mean =
            model.rbm().visible_bias()[i] as f64 + row.iter().zip(&p).map(|(&wij, &pj)| wij as f64 * pj).sum::<f64>();
        let variance = model.variances()[i]
            + row.iter().zip(&p).map(|(&wij, &pj)| (wij as f64).powi(2) * pj * (1.0 - pj)).sum::<f64>();
        let xs: Vec<f64> = (0..n).map(|r| state[r * nv + i] as f64).collect();
        let sample_mean = xs.iter().sum::<f64>() / n as f64;
        let sample_var = xs.iter().map(|x| (x - sample_mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let m4 = xs.iter().map(|x| (x - sample_mean).powi(4)).sum::<f64>() / n as f64;
        let mean_se = (variance / n as f64).sqrt();
        let var_se = ((m4 - sample_var * sample_var) / n as f64).sqrt();
        assert!((sample_mean - mean).abs() < 5.0 * mean_se, "unit {i}: mean {sample_mean} vs {mean} (se {mean_se})");
        assert!(
            (sample_var - variance).abs() < 5.0 * var_se,
            "unit {i}: variance {sample_var} vs {variance} (se {var_se})"
        );
        // The means the chains show are b + W h of the step: their average is the same E[v'_i].
        let shown = (0..n).map(|r| chains.means()[r * nv + i] as f64).sum::<f64>() / n as f64;
        assert!((shown - mean).abs() < 5.0 * mean_se);
    }
}

/// AIS from the weightless model agrees with the exact log Z of a 12x10 model: the exact value
/// lies in AIS's ±3σ interval, and that interval is narrower than 0.2 nats (so the check has teeth).
#[test]
fn ais_agrees_with_exact_log_z() {
    let model = random_model(12, 10, 0.35, 21);
    let exact = exact_log_z(&model, Threads(2)).unwrap();
    let config = AisConfig::uniform(2000, 200, 3, Threads(2)).unwrap();
    let ais = gaussian_ais_log_z(&model, &config, &mut |_| true).unwrap();
    assert!(ais.log_z_high - ais.log_z_low < 0.2, "interval [{}, {}]", ais.log_z_low, ais.log_z_high);
    assert!(
        ais.log_z_low <= exact && exact <= ais.log_z_high,
        "exact {exact} outside AIS's [{}, {}] (estimate {})",
        ais.log_z_low,
        ais.log_z_high,
        ais.log_z
    );
    // The same seed on one thread gives the same bits.
    let one = gaussian_ais_log_z(&model, &AisConfig { threads: Threads(1), ..config }, &mut |_| true).unwrap();
    assert_eq!(one.log_z.to_bits(), ais.log_z.to_bits());
}

/// ∂F/∂v against central differences of F, and the training update against central differences of
/// F in every parameter: with one data row v and one chain state v', the update is
/// lr·(−∂F/∂θ(v) + ∂F/∂θ(v')), since E_{h|v}[−∂E/∂θ] = −∂F/∂θ.
#[test]
fn free_energy_derivatives_match_finite_differences() {
    let (nv, nh) = (4, 3);
    let model = random_model(nv, nh, 0.5, 8);
    let v: Vec<f32> = vec![0.5, -0.75, 1.25, 0.25];
    let v2: Vec<f32> = vec![-0.25, 0.5, 0.75, -1.5];
    let eps = 1.0 / 256.0;
    let gradient = model.free_energy_gradient(&v);
    for i in 0..nv {
        let (mut up, mut down) = (v.clone(), v.clone());
        up[i] += eps;
        down[i] -= eps;
        let numeric = (model.free_energy(&up) - model.free_energy(&down)) / (2.0 * eps as f64);
        assert!(
            (numeric - gradient[i]).abs() < 1e-3 * (1.0 + numeric.abs()),
            "dF/dv_{i}: {numeric} vs {}",
            gradient[i]
        );
    }

    let lr = 1e-3f32;
    let mut updated = model.clone();
    update(&mut updated, &model.inverse_variances(), &v, 1, &v2, 1, lr, 0.0);
    let difference = |m: &GaussianRbm| m.free_energy(&v2) - m.free_energy(&v);
    // Parameter k of (W, b, c, z) in that order, perturbed by ±eps.
    let count = nv * nh + nv + nh + nv;
    let flat = |m: &GaussianRbm| -> Vec<f32> {
        let mut m = m.clone();
        let (w, b, c, z) = m.parameters_mut();
        [&*w, &*b, &*c, &*z].concat()
    };
    let (before, after) = (flat(&model), flat(&updated));
    for k in 0..count {
        let shifted = |delta: f32| {
            let mut m = model.clone();
            let (w, b, c, z) = m.parameters_mut();
            let mut all: Vec<&mut f32> =
                w.iter_mut().chain(b.iter_mut()).chain(c.iter_mut()).chain(z.iter_mut()).collect();
            *all[k] += delta;
            difference(&m)
        };
        let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
        let step = (after[k] as f64 - before[k] as f64) / lr as f64;
        assert!((numeric - step).abs() < 2e-3 * (1.0 + numeric.abs()), "parameter {k}: {numeric} vs {step}");
    }
}

/// Three clusters in 6 dimensions (standardised), a 6x4 model trained with PCD-1: the exact average
/// log-likelihood rises by more than 0.5 nats and the reconstruction error falls. (With CD-1 and
/// these settings the likelihood first rises, −10.4 to −6.2 nats, then falls to −40 as the
/// variances shrink towards the clusters' and the short chains no longer visit the modes the model
/// grows away from the data: CD's known bias, which PCD's persistent chains correct.)
#[test]
fn training_raises_the_exact_likelihood_and_lowers_the_reconstruction_error() {
    let (nv, nh, rows) = (6, 4, 600);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let centres =
        [[1.5f32, 1.5, 1.5, -1.0, -1.0, -1.0], [-1.5, -1.5, 1.0, 1.0, 1.5, 1.5], [0.0, 1.0, -1.5, 1.5, -1.0, 0.5]];
    let data: Vec<f32> = (0..rows)
        .flat_map(|r| {
            let centre = centres[r % 3];
            (0..nv)
                .map(|i| {
                    let z: f32 = StandardNormal.sample(&mut rng);
                    centre[i] + 0.3 * z
                })
                .collect::<Vec<f32>>()
        })
        .collect();
    let mut model = GaussianRbm::initialised(nv, nh, Initialisation::Hinton, &mut rng);
    let ll = |m: &GaussianRbm| {
        average_log_likelihood(m, &data, rows, exact_log_z(m, Threads(1)).unwrap(), Threads(1)).unwrap()
    };
    let (ll_before, error_before) = (ll(&model), reconstruction_error(&model, &data, rows, Threads(1)));
    let config = TrainingConfig {
        learning_rate: 0.01,
        k: 1,
        batch_size: 20,
        method: GradientMethod::Pcd,
        pcd_particles: 100,
        ..default_config()
    };
    let mut workspace = GaussianWorkspace::new(nv, nh, 20, 1);
    for step in 0..3000 {
        let first = (step * 20) % rows;
        workspace.data_mut(20).copy_from_slice(&data[first * nv..(first + 20) * nv]);
        workspace.step(&mut model, &config, 20, 0.0, Threads(1));
    }
    let (ll_after, error_after) = (ll(&model), reconstruction_error(&model, &data, rows, Threads(1)));
    assert!(ll_after > ll_before + 0.5, "log-likelihood {ll_before} -> {ll_after}");
    assert!(error_after < 0.8 * error_before, "reconstruction error {error_before} -> {error_after}");
    assert!(model.log_variance().iter().all(|&z| z >= min_log_variance()));
}

use crate::model::config::{GradientMethod, TrainingConfig};

/// CD and PCD steps on 1 and 2 threads give the same bits (batches larger than a row block, and
/// more visible units than a weight block).
#[test]
fn one_and_two_threads_train_the_same_bits() {
    let (nv, nh, batch) = (150, 20, 40);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let data: Vec<f32> = (0..batch * nv).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    for method in [GradientMethod::Cd, GradientMethod::Pcd] {
        let config = TrainingConfig { method, pcd_particles: 35, k: 2, ..default_config() };
        let train = |threads: Threads| {
            let mut model = random_model(nv, nh, 0.05, 1);
            let mut workspace = GaussianWorkspace::new(nv, nh, batch, 7);
            let mut errors = Vec::new();
            for _ in 0..3 {
                workspace.data_mut(batch).copy_from_slice(&data);
                errors.push(workspace.step(&mut model, &config, batch, 0.0, threads).reconstruction_error.to_bits());
            }
            let (w, b, c, z) = model.parameters_mut();
            let bits: Vec<u32> = [&*w, &*b, &*c, &*z].concat().iter().map(|x| x.to_bits()).collect();
            (bits, errors, workspace.particles().to_vec())
        };
        let (one, two) = (train(Threads(1)), train(Threads(2)));
        assert!(one == two, "{method:?}: 1 and 2 threads differ");
    }
}

#[test]
fn standardisation_floors_the_scale_and_undoes_itself() {
    let data = vec![0.0, 0.2, 1.0, 0.0, 0.4, 0.0];
    let s = Standardisation::from_data(&data, 2, 3);
    assert!((s.mean[1] - 0.3).abs() < 1e-6 && (s.mean[2] - 0.5).abs() < 1e-6);
    assert_eq!(s.scale[0], MIN_SCALE, "a constant pixel gets the floor");
    assert!((s.scale[2] - 0.5).abs() < 1e-6);
    let mut x = data.clone();
    s.apply(&mut x);
    s.undo_for_display(&mut x);
    x.iter().zip(&data).for_each(|(a, b)| assert!((a - b).abs() < 1e-6));
    assert!((s.log_jacobian() + (MIN_SCALE.ln() + 0.1f32.ln() + 0.5f32.ln()) as f64).abs() < 1e-5);
}
