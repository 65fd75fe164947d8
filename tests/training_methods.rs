//! The training methods beyond the tutorial's CD: PCD and CD against the exact gradient (by
//! enumeration) on a tiny RBM, centering, and weight decay, momentum and sparsity against their
//! formulas within rounding (the same step with and without the extra, same random numbers),
//! schedules.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::model::{
    CdWorkspace, GradientMethod, Initialisation, LrSchedule, Rbm, Threads, TrainingConfig, VisibleSampling,
};

const NV: usize = 4;
const NH: usize = 3;

fn tiny_rbm() -> Rbm {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let mut rbm = Rbm::initialised(NV, NH, Initialisation::Xavier, &[], &mut rng);
    let (w, b_v, b_h) = rbm.parameters_mut();
    for (i, x) in w.iter_mut().enumerate() {
        *x = *x * 2.0 + 0.3 * ((i as f32) * 0.7).cos();
    }
    b_v.copy_from_slice(&[0.2, -0.4, 0.1, -0.1]);
    b_h.copy_from_slice(&[-0.3, 0.25, 0.05]);
    rbm
}

fn bits(state: usize, n: usize) -> Vec<f32> {
    (0..n).map(|i| ((state >> i) & 1) as f32).collect()
}

/// A fixed batch of binary data vectors.
fn data(rows: usize) -> Vec<f32> {
    let patterns = [[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 1.0]];
    (0..rows).flat_map(|r| patterns[r % patterns.len()]).collect()
}

/// The exact log-likelihood gradient for the batch: ⟨v p(h|v)ᵀ⟩_data − ⟨v hᵀ⟩_model, by enumeration.
fn exact_gradient(rbm: &Rbm, batch: &[f32]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let rows = batch.len() / NV;
    let mut gw = vec![0.0; NV * NH];
    let mut gv = vec![0.0; NV];
    let mut gh = vec![0.0; NH];
    let p = rbm.hidden_probabilities(batch, rows, Threads(1));
    for r in 0..rows {
        for i in 0..NV {
            gv[i] += batch[r * NV + i] as f64 / rows as f64;
            for j in 0..NH {
                gw[i * NH + j] += (batch[r * NV + i] * p[r * NH + j]) as f64 / rows as f64;
            }
        }
        for j in 0..NH {
            gh[j] += p[r * NH + j] as f64 / rows as f64;
        }
    }
    let mut z = 0.0;
    let mut model_w = vec![0.0; NV * NH];
    let mut model_v = vec![0.0; NV];
    let mut model_h = vec![0.0; NH];
    for vs in 0..1 << NV {
        for hs in 0..1 << NH {
            let (v, h) = (bits(vs, NV), bits(hs, NH));
            let weight = (-rbm.energy(&v, &h)).exp();
            z += weight;
            for i in 0..NV {
                model_v[i] += weight * v[i] as f64;
                for j in 0..NH {
                    model_w[i * NH + j] += weight * (v[i] * h[j]) as f64;
                }
            }
            for j in 0..NH {
                model_h[j] += weight * h[j] as f64;
            }
        }
    }
    gw.iter_mut().zip(&model_w).for_each(|(g, m)| *g -= m / z);
    gv.iter_mut().zip(&model_v).for_each(|(g, m)| *g -= m / z);
    gh.iter_mut().zip(&model_h).for_each(|(g, m)| *g -= m / z);
    (gw, gv, gh)
}

/// The update one step makes, divided by the learning rate: the step's gradient estimate.
fn estimated_gradient(config: &TrainingConfig, rows: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let before = tiny_rbm();
    let mut rbm = before.clone();
    let mut ws = CdWorkspace::new(NV, NH, rows, seed);
    ws.data_mut(rows).copy_from_slice(&data(rows));
    ws.step(&mut rbm, config, rows, Threads(2));
    let lr = config.learning_rate as f64;
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64) / lr).collect::<Vec<_>>();
    (
        diff(rbm.weights_slice(), before.weights_slice()),
        diff(rbm.visible_bias().as_slice().unwrap(), before.visible_bias().as_slice().unwrap()),
        diff(rbm.hidden_bias().as_slice().unwrap(), before.hidden_bias().as_slice().unwrap()),
    )
}

fn assert_close(name: &str, got: &[f64], want: &[f64], tolerance: f64) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < tolerance, "{name}[{i}]: estimate {g:.4} vs exact {w:.4}");
    }
}

#[test]
fn pcd_gradient_matches_the_exact_gradient_within_sampling_error() {
    // 20,000 particles, 40 Gibbs steps: on a 4x3 model the chains are at equilibrium, so the only
    // difference left is sampling error (std of a mean of 20,000 products ≲ 0.004).
    let rows = 64;
    let config = TrainingConfig {
        learning_rate: 1e-3,
        k: 40,
        batch_size: rows,
        sampling: VisibleSampling::Bernoulli,
        method: GradientMethod::Pcd,
        pcd_particles: 20_000,
        ..TrainingConfig::default()
    };
    let (gw, gv, gh) = estimated_gradient(&config, rows, 3);
    let (ew, ev, eh) = exact_gradient(&tiny_rbm(), &data(rows));
    assert_close("W", &gw, &ew, 0.02);
    assert_close("b_v", &gv, &ev, 0.02);
    assert_close("b_h", &gh, &eh, 0.02);
}

#[test]
fn long_cd_chains_match_the_exact_gradient_and_short_ones_do_not() {
    // CD-k is biased for small k; with k = 60 the chains from the data forget where they started.
    let rows = 20_000;
    let long = TrainingConfig {
        learning_rate: 1e-3,
        k: 60,
        batch_size: rows,
        sampling: VisibleSampling::Bernoulli,
        ..TrainingConfig::default()
    };
    let (gw, gv, gh) = estimated_gradient(&long, rows, 5);
    let (ew, ev, eh) = exact_gradient(&tiny_rbm(), &data(rows));
    assert_close("W", &gw, &ew, 0.02);
    assert_close("b_v", &gv, &ev, 0.02);
    assert_close("b_h", &gh, &eh, 0.02);
    // CD-1 on the same data is measurably different: the test can tell the two apart.
    let (gw1, _, _) = estimated_gradient(&TrainingConfig { k: 1, ..long }, rows, 5);
    let worst = gw1.iter().zip(&ew).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst > 0.03, "CD-1 should be biased here (max deviation {worst})");
}

#[test]
fn centered_step_equals_the_plain_step_reparametrised() {
    // Same data, same random numbers: the chains are identical, and the centered weight change is
    // ΔW_c = ΔW − μ Δb_hᵀ − Δb_v λᵀ, with the biases corrected by −ΔW_c λ and −ΔW_cᵀ μ.
    let rows = 16;
    let plain = TrainingConfig {
        learning_rate: 0.05,
        k: 2,
        batch_size: rows,
        sampling: VisibleSampling::Bernoulli,
        centering_rate: 1e-9,
        ..TrainingConfig::default()
    };
    let centered = TrainingConfig { centering: true, ..plain.clone() };
    let mu = [0.6f32, 0.3, 0.45, 0.2];
    let lambda = 0.5f32; // the workspace's initial hidden offset
    let run = |config: &TrainingConfig| {
        let mut rbm = tiny_rbm();
        let mut ws = CdWorkspace::new(NV, NH, rows, 9);
        ws.set_visible_offset(&mu);
        ws.data_mut(rows).copy_from_slice(&data(rows));
        ws.step(&mut rbm, config, rows, Threads(1));
        rbm
    };
    let start = tiny_rbm();
    let (p, c) = (run(&plain), run(&centered));
    let d = |a: &Rbm| {
        let dw: Vec<f32> = a.weights_slice().iter().zip(start.weights_slice()).map(|(x, y)| x - y).collect();
        let dv: Vec<f32> = a.visible_bias().iter().zip(start.visible_bias()).map(|(x, y)| x - y).collect();
        let dh: Vec<f32> = a.hidden_bias().iter().zip(start.hidden_bias()).map(|(x, y)| x - y).collect();
        (dw, dv, dh)
    };
    let (dw, dv, dh) = d(&p);
    let (cw, cv, ch) = d(&c);
    let mut want_w = vec![0.0f32; NV * NH];
    for i in 0..NV {
        for j in 0..NH {
            want_w[i * NH + j] = dw[i * NH + j] - mu[i] * dh[j] - dv[i] * lambda;
        }
    }
    for (g, w) in cw.iter().zip(&want_w) {
        assert!((g - w).abs() < 1e-5, "ΔW centered {g} vs {w}");
    }
    for i in 0..NV {
        let want = dv[i] - (0..NH).map(|j| want_w[i * NH + j] * lambda).sum::<f32>();
        assert!((cv[i] - want).abs() < 1e-5, "Δb_v[{i}] {} vs {want}", cv[i]);
    }
    for j in 0..NH {
        let want = dh[j] - (0..NV).map(|i| want_w[i * NH + j] * mu[i]).sum::<f32>();
        assert!((ch[j] - want).abs() < 1e-5, "Δb_h[{j}] {} vs {want}", ch[j]);
    }
    assert!(cw.iter().zip(&dw).any(|(a, b)| (a - b).abs() > 1e-4), "centering must change the direction");
}

#[test]
fn changing_the_offsets_leaves_the_energy_unchanged_up_to_a_constant() {
    // The centered energy E_c(v,h) = −(v−μ)·b − (h−λ)·c − (v−μ)ᵀW(h−λ) with b = b_v + Wλ and
    // c = b_h + Wᵀμ differs from the standard energy by a constant in (v, h), for any offsets: so
    // moving the offsets while keeping (W, b_v, b_h) does not change the distribution.
    let rbm = tiny_rbm();
    let w = rbm.weights_slice();
    for (mu, lambda) in [([0.1f32, 0.5, 0.9, 0.3], [0.5f32, 0.2, 0.7]), ([0.0; 4], [0.0; 3]), ([0.7; 4], [0.4; 3])] {
        let b: Vec<f32> =
            (0..NV).map(|i| rbm.visible_bias()[i] + (0..NH).map(|j| w[i * NH + j] * lambda[j]).sum::<f32>()).collect();
        let c: Vec<f32> =
            (0..NH).map(|j| rbm.hidden_bias()[j] + (0..NV).map(|i| w[i * NH + j] * mu[i]).sum::<f32>()).collect();
        let centered = |v: &[f32], h: &[f32]| -> f64 {
            let mut e = 0.0f64;
            for i in 0..NV {
                e -= ((v[i] - mu[i]) * b[i]) as f64;
                for j in 0..NH {
                    e -= ((v[i] - mu[i]) * w[i * NH + j] * (h[j] - lambda[j])) as f64;
                }
            }
            for j in 0..NH {
                e -= ((h[j] - lambda[j]) * c[j]) as f64;
            }
            e
        };
        let reference = centered(&bits(0, NV), &bits(0, NH)) - rbm.energy(&bits(0, NV), &bits(0, NH));
        for vs in 0..1 << NV {
            for hs in 0..1 << NH {
                let (v, h) = (bits(vs, NV), bits(hs, NH));
                let gap = centered(&v, &h) - rbm.energy(&v, &h);
                assert!((gap - reference).abs() < 1e-5, "offsets {mu:?}/{lambda:?}: gap {gap} vs {reference}");
            }
        }
    }
}

#[test]
fn learning_rate_and_momentum_schedules() {
    let c = TrainingConfig {
        learning_rate: 0.1,
        lr_schedule: LrSchedule::Linear,
        planned_epochs: 10.0,
        final_lr_fraction: 0.1,
        momentum: 0.9,
        initial_momentum: 0.5,
        momentum_warmup_epochs: 5.0,
        ..TrainingConfig::default()
    };
    assert!((c.learning_rate_at(0.0) - 0.1).abs() < 1e-7);
    assert!((c.learning_rate_at(5.0) - 0.055).abs() < 1e-6);
    assert!((c.learning_rate_at(20.0) - 0.01).abs() < 1e-7);
    let e = TrainingConfig { lr_schedule: LrSchedule::Exponential, ..c.clone() };
    assert!((e.learning_rate_at(5.0) - 0.1 * 0.1f32.sqrt()).abs() < 1e-6);
    assert_eq!((c.momentum_at(4.9), c.momentum_at(5.0)), (0.5, 0.9));
    assert_eq!(TrainingConfig::default().momentum_at(100.0), 0.0);
    assert!(TrainingConfig { momentum: 1.5, ..TrainingConfig::default() }.validate().is_err());
}

#[test]
fn pcd_and_extras_are_the_same_on_one_and_two_threads() {
    let run = |threads| {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let mut rbm = Rbm::initialised(784, 64, Initialisation::Hinton, &[], &mut rng);
        let mut ws = CdWorkspace::new(784, 64, 32, 4);
        let config = TrainingConfig {
            learning_rate: 0.01,
            k: 1,
            batch_size: 32,
            sampling: VisibleSampling::Bernoulli,
            method: GradientMethod::Pcd,
            pcd_particles: 50,
            momentum: 0.9,
            weight_decay: 1e-4,
            sparsity_cost: 0.1,
            centering: true,
            binarize_data: true,
            ..TrainingConfig::default()
        };
        for b in 0..3 {
            ws.data_mut(32).iter_mut().enumerate().for_each(|(i, x)| *x = ((i * 13 + b) % 11) as f32 / 10.0);
            ws.step_at(&mut rbm, &config, 32, threads, b as f64);
        }
        rbm
    };
    assert_eq!(run(Threads(1)), run(Threads(2)));
}

/// W, b_v and b_h of `rbm` as f64, for differences between models.
fn parameters(rbm: &Rbm) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let f64s = |values: &[f32]| values.iter().map(|&x| x as f64).collect::<Vec<_>>();
    (
        f64s(rbm.weights_slice()),
        f64s(rbm.visible_bias().as_slice().unwrap()),
        f64s(rbm.hidden_bias().as_slice().unwrap()),
    )
}

/// |got − want| within a few f32 roundings of the magnitudes involved.
#[track_caller]
fn assert_within_rounding(name: &str, got: &[f64], want: &[f64], scale: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, ((g, w), s)) in got.iter().zip(want).zip(scale).enumerate() {
        let tolerance = 4.0 * f32::EPSILON as f64 * s.abs().max(1e-3);
        assert!((g - w).abs() <= tolerance, "{name}[{i}]: {g:e} vs {w:e} (tolerance {tolerance:e})");
    }
}

/// CD-2 with Bernoulli visibles and lr 0.1 on batches of `rows`: the plain step the extras are
/// compared against.
fn plain_step(rows: usize) -> TrainingConfig {
    TrainingConfig {
        learning_rate: 0.1,
        k: 2,
        batch_size: rows,
        sampling: VisibleSampling::Bernoulli,
        ..TrainingConfig::default()
    }
}

/// One step of `config` from `rbm` on the fixed data with a fresh workspace of `seed`.
fn one_step(rbm: &Rbm, config: &TrainingConfig, rows: usize, seed: u64) -> Rbm {
    let mut rbm = rbm.clone();
    let mut ws = CdWorkspace::new(NV, NH, rows, seed);
    ws.data_mut(rows).copy_from_slice(&data(rows));
    ws.step(&mut rbm, config, rows, Threads(1));
    rbm
}

#[test]
fn weight_decay_changes_w_by_exactly_lr_decay_w_and_leaves_the_biases_alone() {
    // The same step, same data and random numbers, with and without decay d: the chains are the
    // same, so W_plain − W_decay = lr·d·W0 up to rounding, and the biases are bit-identical.
    let rows = 8;
    let plain = plain_step(rows);
    let decayed = TrainingConfig { weight_decay: 0.5, ..plain.clone() };
    let start = tiny_rbm();
    let (a, b) = (one_step(&start, &plain, rows, 21), one_step(&start, &decayed, rows, 21));
    assert_eq!(a.visible_bias(), b.visible_bias(), "decay must not touch b_v");
    assert_eq!(a.hidden_bias(), b.hidden_bias(), "decay must not touch b_h");
    let (w0, _, _) = parameters(&start);
    let ((wa, _, _), (wb, _, _)) = (parameters(&a), parameters(&b));
    let difference: Vec<f64> = wa.iter().zip(&wb).map(|(x, y)| x - y).collect();
    let want: Vec<f64> = w0.iter().map(|w| 0.1 * 0.5 * w).collect();
    assert_within_rounding("W_plain − W_decay", &difference, &want, &wa);
    assert!(want.iter().any(|d| d.abs() > 1e-2), "the decay is far above rounding here");
}

#[test]
fn momentum_follows_the_velocity_formula_over_two_steps() {
    // v1 = m·0 + lr·g1, W1 = W0 + v1; v2 = m·v1 + lr·g2(W1), W2 = W1 + v2 (the same for the biases),
    // with lr·g taken from plain steps that see the same states and the same random numbers: a plain
    // step from W0, then (its workspace's streams now where the momentum run's are) a plain step
    // from the momentum run's W1.
    let rows = 8;
    let plain = plain_step(rows);
    let with_momentum =
        TrainingConfig { momentum: 0.9, initial_momentum: 0.5, momentum_warmup_epochs: 5.0, ..plain.clone() };
    let start = tiny_rbm();
    let run = |config: &TrainingConfig, second_from: Option<&Rbm>| {
        let mut ws = CdWorkspace::new(NV, NH, rows, 33);
        let mut rbm = start.clone();
        ws.data_mut(rows).copy_from_slice(&data(rows));
        ws.step_at(&mut rbm, config, rows, Threads(1), 0.0);
        let first = rbm.clone();
        if let Some(from) = second_from {
            rbm = from.clone();
        }
        let before_second = rbm.clone();
        ws.data_mut(rows).copy_from_slice(&data(rows));
        // Past the warm-up: m = 0.9 for the second step (the first has no history to scale).
        ws.step_at(&mut rbm, config, rows, Threads(1), 6.0);
        (first, before_second, rbm)
    };
    let (m1, _, m2) = run(&with_momentum, None);
    let (p1, p_from, p2) = run(&plain, Some(&m1));
    let (w0, v0, h0) = parameters(&start);
    let ((mw1, mv1, mh1), (mw2, mv2, mh2)) = (parameters(&m1), parameters(&m2));
    let ((pw1, pv1, ph1), (pfw, pfv, pfh), (pw2, pv2, ph2)) = (parameters(&p1), parameters(&p_from), parameters(&p2));
    let minus = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<f64>>();
    for (name, m_first, m_second, p_first, p_from, p_second, zero) in [
        ("W", &mw1, &mw2, &pw1, &pfw, &pw2, &w0),
        ("b_v", &mv1, &mv2, &pv1, &pfv, &pv2, &v0),
        ("b_h", &mh1, &mh2, &ph1, &pfh, &ph2, &h0),
    ] {
        // Step 1: v1 = lr·g1.
        let v1 = minus(m_first, zero);
        assert_within_rounding(&format!("{name} step 1"), &v1, &minus(p_first, zero), m_first);
        // Step 2: v2 = 0.9·v1 + lr·g2(W1).
        let lr_g2 = minus(p_second, p_from);
        let want: Vec<f64> = v1.iter().zip(&lr_g2).map(|(v, g)| 0.9 * v + g).collect();
        assert_within_rounding(&format!("{name} step 2"), &minus(m_second, m_first), &want, m_second);
        assert!(v1.iter().any(|v| v.abs() > 1e-3), "{name}: the first step is far above rounding");
    }
}

#[test]
fn sparsity_follows_hintons_running_mean_and_penalty() {
    // Hinton's guide §11 as `full_update` implements it: q ← 0.9·q + 0.1·mean p(h=1|v0) (q starts at
    // the target t), then the hidden biases get −lr·cost·(q − t) and each weight w_ij also
    // −lr·cost·(q_j − t)·mean v0_i, on top of the plain step. Checked over two steps (the second
    // from the sparse run's W1, with the plain run's random streams in step), against the plain
    // step from the same weights.
    let rows = 8;
    let (lr, cost, target) = (0.1, 1.0, 0.05);
    let plain = TrainingConfig { learning_rate: lr, ..plain_step(rows) };
    let sparse = TrainingConfig { sparsity_cost: cost, sparsity_target: target, ..plain.clone() };
    let batch = data(rows);
    let mean_v0: Vec<f64> =
        (0..NV).map(|i| (0..rows).map(|r| batch[r * NV + i] as f64).sum::<f64>() / rows as f64).collect();
    let mean_p0 = |rbm: &Rbm| {
        let p = rbm.hidden_probabilities(&batch, rows, Threads(1));
        (0..NH).map(|j| (0..rows).map(|r| p[r * NH + j] as f64).sum::<f64>() / rows as f64).collect::<Vec<f64>>()
    };
    let mut sparse_ws = CdWorkspace::new(NV, NH, rows, 44);
    let mut plain_ws = CdWorkspace::new(NV, NH, rows, 44);
    let mut sparse_rbm = tiny_rbm();
    let mut q = [target as f64; NH];
    for step in 0..2 {
        let from = sparse_rbm.clone();
        let mut plain_rbm = from.clone();
        for (ws, rbm, config) in [(&mut sparse_ws, &mut sparse_rbm, &sparse), (&mut plain_ws, &mut plain_rbm, &plain)] {
            ws.data_mut(rows).copy_from_slice(&batch);
            ws.step(rbm, config, rows, Threads(1));
        }
        let p0 = mean_p0(&from);
        q.iter_mut().zip(&p0).for_each(|(q, p)| *q = 0.9 * *q + 0.1 * p);
        let ((sw, sv, sh), (pw, pv, ph)) = (parameters(&sparse_rbm), parameters(&plain_rbm));
        let penalty: Vec<f64> = q.iter().map(|q| lr as f64 * cost as f64 * (q - target as f64)).collect();
        let want_w: Vec<f64> = (0..NV * NH).map(|k| pw[k] - penalty[k % NH] * mean_v0[k / NH]).collect();
        let want_h: Vec<f64> = ph.iter().zip(&penalty).map(|(p, d)| p - d).collect();
        assert_within_rounding(&format!("W after step {step}"), &sw, &want_w, &sw);
        assert_within_rounding(&format!("b_h after step {step}"), &sh, &want_h, &sh);
        assert_eq!(sv, pv, "sparsity must not touch b_v (step {step})");
        assert!(penalty.iter().all(|d| d.abs() > 1e-3), "the penalty is far above rounding: {penalty:?}");
    }
}
