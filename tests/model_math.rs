//! The RBM's math against brute-force enumeration on tiny models, and one CD step against the
//! tutorial's formulas written out by hand with the same random numbers.

use rand::RngCore;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::model::rng::{RowStreams, normal_pair_from_bits, uniform_pair_from_bits};
use rbm_lab::model::{
    CdWorkspace, Initialisation, MathPool, Rbm, SubnormalCensus, SubnormalMode, Threads, TrainingConfig,
    VisibleSampling,
};

const NV: usize = 4;
const NH: usize = 3;

fn tiny_rbm(seed: u64) -> Rbm {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut rbm = Rbm::initialised(NV, NH, Initialisation::Xavier, &[], &mut rng);
    // Non-zero biases and larger weights so that every term matters.
    let (w, b_v, b_h) = rbm.parameters_mut();
    for (i, x) in w.iter_mut().enumerate() {
        *x = *x * 3.0 + (i as f32 * 0.13).sin() * 0.5;
    }
    for (i, x) in b_v.iter_mut().enumerate() {
        *x = 0.3 - 0.2 * i as f32;
    }
    for (j, x) in b_h.iter_mut().enumerate() {
        *x = -0.4 + 0.35 * j as f32;
    }
    rbm
}

fn bits(state: usize, n: usize) -> Vec<f32> {
    (0..n).map(|i| ((state >> i) & 1) as f32).collect()
}

fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

#[test]
fn free_energy_equals_minus_log_sum_over_hidden_states() {
    let rbm = tiny_rbm(1);
    for vs in 0..1 << NV {
        let v = bits(vs, NV);
        let neg_energies: Vec<f64> = (0..1 << NH).map(|hs| -rbm.energy(&v, &bits(hs, NH))).collect();
        let brute = -log_sum_exp(&neg_energies);
        let f = rbm.free_energy(&v);
        assert!((f - brute).abs() < 1e-9, "v={vs:04b}: F={f} brute={brute}");
    }
}

#[test]
fn energy_matches_the_formula_for_a_hand_set_model() {
    // W = [[1, -2], [0.5, 0]], b_v = [0.1, -0.3], b_h = [0.2, 0.7]; v = (1, 1), h = (1, 0):
    // -E = 0.1 - 0.3 + 0.2 + (1 + 0.5) = 1.5
    let rbm = Rbm::from_parameters(2, 2, vec![1.0, -2.0, 0.5, 0.0], vec![0.1, -0.3], vec![0.2, 0.7]).unwrap();
    assert!((rbm.energy(&[1.0, 1.0], &[1.0, 0.0]) + 1.5).abs() < 1e-6);
    assert!((rbm.energy(&[1.0, 0.0], &[0.0, 1.0]) - (-0.1 - 0.7 + 2.0)).abs() < 1e-6);
}

#[test]
fn conditionals_match_enumeration() {
    let rbm = tiny_rbm(2);
    for vs in 0..1 << NV {
        let v = bits(vs, NV);
        let weights: Vec<f64> = (0..1 << NH).map(|hs| (-rbm.energy(&v, &bits(hs, NH))).exp()).collect();
        let z: f64 = weights.iter().sum();
        let p = rbm.hidden_probabilities(&v, 1, Threads(1));
        for (j, &pj) in p.iter().enumerate() {
            let brute: f64 = (0..1 << NH).filter(|hs| hs >> j & 1 == 1).map(|hs| weights[hs]).sum::<f64>() / z;
            assert!((pj as f64 - brute).abs() < 1e-5, "p(h{j}|v={vs:04b}) {pj} vs {brute}");
        }
    }
    for hs in 0..1 << NH {
        let h = bits(hs, NH);
        let weights: Vec<f64> = (0..1 << NV).map(|vs| (-rbm.energy(&bits(vs, NV), &h)).exp()).collect();
        let z: f64 = weights.iter().sum();
        let p = rbm.visible_probabilities(&h, 1, Threads(1));
        for (i, &pi) in p.iter().enumerate() {
            let brute: f64 = (0..1 << NV).filter(|vs| vs >> i & 1 == 1).map(|vs| weights[vs]).sum::<f64>() / z;
            assert!((pi as f64 - brute).abs() < 1e-5, "p(v{i}|h={hs:03b}) {pi} vs {brute}");
        }
    }
}

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The tutorial's CD-k written out with plain loops, drawing from the same per-row streams in the
/// same order (per row: H uniforms for h, then V draws for v, k times).
fn cd_by_hand(rbm: &Rbm, v0: &[Vec<f64>], cfg: &TrainingConfig, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    let w: Vec<f64> = rbm.weights_slice().iter().map(|&x| x as f64).collect();
    let bv: Vec<f64> = rbm.visible_bias().iter().map(|&x| x as f64).collect();
    let bh: Vec<f64> = rbm.hidden_bias().iter().map(|&x| x as f64).collect();
    let ph = |v: &[f64]| -> Vec<f64> {
        (0..nh).map(|j| sig(bh[j] + (0..nv).map(|i| v[i] * w[i * nh + j]).sum::<f64>())).collect()
    };
    let pv = |h: &[f64]| -> Vec<f64> {
        (0..nv).map(|i| sig(bv[i] + (0..nh).map(|j| h[j] * w[i * nh + j]).sum::<f64>())).collect()
    };
    let rows = v0.len();
    let mut streams = RowStreams::new(seed, rows);
    let mut vk_all = Vec::new();
    for (r, v0r) in v0.iter().enumerate() {
        let rng = &mut streams.streams_mut()[r];
        let mut v = v0r.clone();
        for _ in 0..cfg.k {
            let u = row_draws(rng, NH, uniform_pair_from_bits);
            let h: Vec<f64> = ph(&v).iter().zip(u).map(|(&p, u)| if u < p { 1.0 } else { 0.0 }).collect();
            v = match cfg.sampling {
                VisibleSampling::Probabilities => pv(&h),
                VisibleSampling::NoisyMeanField => {
                    let z = row_draws(rng, NV, normal_pair_from_bits);
                    pv(&h).iter().zip(z).map(|(&p, z)| p + cfg.noise_std as f64 * z).collect()
                }
                VisibleSampling::Bernoulli => {
                    let u = row_draws(rng, NV, uniform_pair_from_bits);
                    pv(&h).iter().zip(u).map(|(&p, u)| if u < p { 1.0 } else { 0.0 }).collect()
                }
            };
        }
        vk_all.push(v);
    }
    let lr = cfg.learning_rate as f64;
    let b = rows as f64;
    let mut w_new = w.clone();
    let mut bv_new = bv.clone();
    let mut bh_new = bh.clone();
    let mut l1 = 0.0;
    for r in 0..rows {
        let (p0, pk) = (ph(&v0[r]), ph(&vk_all[r]));
        for i in 0..nv {
            for j in 0..nh {
                w_new[i * nh + j] += lr * (v0[r][i] * p0[j] - vk_all[r][i] * pk[j]) / b;
            }
            bv_new[i] += lr * (v0[r][i] - vk_all[r][i]) / b;
            l1 += (vk_all[r][i] - v0[r][i]).abs();
        }
        for j in 0..nh {
            bh_new[j] += lr * (p0[j] - pk[j]) / b;
        }
    }
    (w_new, bv_new, bh_new, l1 / (b * nv as f64))
}

/// The random numbers of one row of `len` elements, as the sampling passes document them: chunks of
/// 32 elements take one xoshiro output each for elements i and 16 + i (its two halves).
fn row_draws(rng: &mut Xoshiro256PlusPlus, len: usize, pair: fn(u64) -> (f32, f32)) -> Vec<f64> {
    let mut out = Vec::with_capacity(len);
    for start in (0..len).step_by(32) {
        let chunk = (len - start).min(32);
        let pairs: Vec<(f32, f32)> = (0..chunk.min(16)).map(|_| pair(rng.next_u64())).collect();
        out.extend((0..chunk).map(|i| if i < 16 { pairs[i].0 } else { pairs[i - 16].1 } as f64));
    }
    out
}

fn check_one_cd_step(sampling: VisibleSampling, threads: Threads) {
    let rbm0 = tiny_rbm(3);
    let v0: Vec<Vec<f64>> = (0..5).map(|r| (0..NV).map(|i| ((r * 7 + i * 3) % 10) as f64 / 9.0).collect()).collect();
    let cfg = TrainingConfig {
        learning_rate: 0.3,
        k: 3,
        noise_std: 0.1,
        batch_size: 5,
        sampling,
        ..TrainingConfig::default()
    };
    let seed = 42;
    let (w, bv, bh, loss) = cd_by_hand(&rbm0, &v0, &cfg, seed);

    let mut rbm = rbm0.clone();
    let mut ws = CdWorkspace::new(NV, NH, 8, seed);
    let data: Vec<f32> = v0.iter().flatten().map(|&x| x as f32).collect();
    ws.data_mut(5).copy_from_slice(&data);
    let stats = ws.step(&mut rbm, &cfg, 5, threads);

    for (a, b) in rbm.weights_slice().iter().zip(&w) {
        assert!((*a as f64 - b).abs() < 1e-5, "W {a} vs {b}");
    }
    for (a, b) in rbm.visible_bias().iter().zip(&bv) {
        assert!((*a as f64 - b).abs() < 1e-5, "b_v {a} vs {b}");
    }
    for (a, b) in rbm.hidden_bias().iter().zip(&bh) {
        assert!((*a as f64 - b).abs() < 1e-5, "b_h {a} vs {b}");
    }
    assert!((stats.reconstruction_l1 as f64 - loss).abs() < 1e-5, "loss {} vs {loss}", stats.reconstruction_l1);
    assert_ne!(rbm.weights_slice(), rbm0.weights_slice(), "the step must change the weights");
}

#[test]
fn one_tutorial_cd_step_equals_the_formulas_by_hand() {
    check_one_cd_step(VisibleSampling::NoisyMeanField, Threads(1));
}

#[test]
fn one_bernoulli_cd_step_equals_the_formulas_by_hand() {
    check_one_cd_step(VisibleSampling::Bernoulli, Threads(1));
}

#[test]
fn threads_do_not_change_the_result() {
    check_one_cd_step(VisibleSampling::NoisyMeanField, Threads(2));
    let run = |threads| {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut rbm = Rbm::initialised(784, 256, Initialisation::Xavier, &[], &mut rng);
        let mut ws = CdWorkspace::new(784, 256, 64, 5);
        let cfg = TrainingConfig::default();
        // Full batches and a ragged last one (37 rows: blocks of 19 and 18 on two threads).
        for (b, rows) in [64, 64, 37].into_iter().enumerate() {
            ws.data_mut(rows).iter_mut().enumerate().for_each(|(i, x)| *x = ((i * 31 + b) % 17) as f32 / 16.0);
            ws.step(&mut rbm, &cfg, rows, threads);
        }
        rbm
    };
    assert_eq!(run(Threads(1)), run(Threads(3)), "three threads");
    assert_eq!(run(Threads(1)), run(Threads(2)), "tutorial mode must be bit-for-bit the same on 1 and 2 threads");
}

/// A 784x64 model whose hidden units 0..32 and visible units 0..100 have biases of −90, so that their
/// sigmoids are below f32's smallest normal number (σ(x) ≈ eˣ < 1.18e-38 for x < −87.3): a model
/// with saturated units, as a large learning rate makes.
fn saturated_rbm() -> Rbm {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let mut rbm = Rbm::initialised(784, 64, Initialisation::Xavier, &[], &mut rng);
    let (_, b_v, b_h) = rbm.parameters_mut();
    b_v[..100].iter_mut().for_each(|b| *b = -90.0);
    b_h[..32].iter_mut().for_each(|b| *b = -90.0);
    rbm
}

/// Three CD-1 steps with probabilities as visibles (so that saturated visibles enter the update as
/// they are) on `pool`, counting subnormal operands; the model and the last step's census.
fn saturated_steps(pool: &MathPool) -> (Rbm, SubnormalCensus) {
    let mut rbm = saturated_rbm();
    let config =
        TrainingConfig { k: 1, batch_size: 32, sampling: VisibleSampling::Probabilities, ..Default::default() };
    let mut ws = CdWorkspace::new(784, 64, 32, 7);
    ws.count_subnormals(true);
    for b in 0..3 {
        ws.data_mut(32).iter_mut().enumerate().for_each(|(i, x)| *x = ((i * 13 + b) % 11) as f32 / 10.0);
        pool.run(|threads| ws.step(&mut rbm, &config, 32, threads));
    }
    (rbm, ws.subnormal_census().expect("counting is on"))
}

#[test]
fn saturated_units_give_subnormal_operands_unless_the_pool_flushes_them() {
    let (_, kept) = saturated_steps(&MathPool::with_mode(1, SubnormalMode::Keep));
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        assert!(kept.hidden_probabilities > 0, "IEEE arithmetic makes subnormal sigmoids: {kept}");
        assert!(kept.update_visible > 0, "and they enter the weight update: {kept}");
        for threads in [1, 2] {
            let (_, flushed) = saturated_steps(&MathPool::with_mode(threads, SubnormalMode::Flush));
            assert_eq!(flushed, SubnormalCensus::default(), "{threads} threads: {flushed}");
        }
    }
}

#[test]
fn flushed_subnormals_keep_one_and_two_threads_bit_identical() {
    let (one, _) = saturated_steps(&MathPool::with_mode(1, SubnormalMode::Flush));
    let (two, _) = saturated_steps(&MathPool::with_mode(2, SubnormalMode::Flush));
    assert_eq!(one, two);
    let (two_kept, _) = saturated_steps(&MathPool::with_mode(2, SubnormalMode::Keep));
    let (one_kept, _) = saturated_steps(&MathPool::with_mode(1, SubnormalMode::Keep));
    assert_eq!(one_kept, two_kept, "the same holds when every thread keeps them");
}

#[test]
fn xavier_initialisation_has_the_tutorial_scale() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let rbm = Rbm::initialised(784, 256, Initialisation::Xavier, &[], &mut rng);
    let w = rbm.weights_slice();
    let var = w.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / w.len() as f64;
    let want = 2.0 / (784.0 + 256.0);
    assert!((var / want - 1.0).abs() < 0.02, "variance {var} vs {want}");
    assert!(rbm.visible_bias().iter().chain(rbm.hidden_bias().iter()).all(|&b| b == 0.0));
}

/// Centering offsets that decayed into the subnormal range (a pixel the data stopped lighting)
/// enter the weight update as v − μ: kept, they make subnormal operands; flushed, none remain.
#[test]
fn decayed_centering_offsets_leave_no_subnormals_on_flushing_pools() {
    let config = TrainingConfig { k: 1, batch_size: 20, centering: true, ..TrainingConfig::quality_recipe() };
    let census = |mode| {
        let pool = MathPool::with_mode(2, mode);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let mut rbm = Rbm::initialised(784, 64, Initialisation::Hinton, &[], &mut rng);
        let mut ws = CdWorkspace::new(784, 64, 20, 7);
        let mut offsets = vec![0.1f32; 784];
        offsets[..10].iter_mut().for_each(|m| *m = f32::from_bits(1000)); // 1.4e-42
        ws.set_visible_offset(&offsets);
        ws.count_subnormals(true);
        ws.data_mut(20).iter_mut().enumerate().for_each(|(i, x)| *x = if i % 784 < 10 { 0.0 } else { 0.5 });
        pool.run(|threads| ws.step(&mut rbm, &config, 20, threads));
        ws.subnormal_census().expect("counting is on")
    };
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        let kept = census(SubnormalMode::Keep);
        assert_eq!(kept.offsets, 10, "{kept}");
        assert!(kept.update_visible >= 10 * 20, "every data row where the pixel is off: {kept}");
        assert_eq!(census(SubnormalMode::Flush), SubnormalCensus::default());
    }
}
