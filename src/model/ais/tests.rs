use rand_xoshiro::Xoshiro256PlusPlus;

use super::kernels::{bernoulli_in_place, fast_exp, fast_sigmoid, softplus_step, softplus_steps};
use super::*;

#[test]
fn softplus_step_matches_the_difference_of_softplus() {
    for &a in &[-40.0f64, -7.3, -1.0, -0.01, 0.0, 0.02, 0.9, 5.5, 33.0] {
        for &(b0, b1) in &[(0.3f64, 0.301f64), (0.95, 0.95001), (0.0, 0.001), (0.1, 0.2), (0.0, 1.0)] {
            let p = 1.0 / (1.0 + (-(b1 * a)).exp());
            let want = softplus(b1 * a) - softplus(b0 * a);
            let got = softplus_step(a, p, b0, b1);
            assert!((got - want).abs() <= 1e-12 * want.abs() + 2e-14, "a={a} {b0}->{b1}: {got} vs {want}");
        }
    }
}

#[test]
fn fast_exp_and_sigmoid_are_accurate_to_a_few_ulps() {
    let mut x = -87.0f32;
    while x < 88.0 {
        let want = (x as f64).exp();
        let got = fast_exp(x) as f64;
        assert!(((got - want) / want).abs() < 5e-7, "exp({x}) = {got}, want {want}");
        let s_want = 1.0 / (1.0 + (-x as f64).exp());
        let s_got = fast_sigmoid(x) as f64;
        assert!(((s_got - s_want) / s_want).abs() < 5e-7, "σ({x}) = {s_got}, want {s_want}");
        x += 0.0137;
    }
    assert_eq!(fast_sigmoid(-1e4), fast_sigmoid(-88.0));
    assert!(fast_sigmoid(-1e4) < 1e-38);
    assert_eq!(fast_sigmoid(1e4), 1.0);
}

#[test]
fn bernoulli_draws_have_the_right_frequencies() {
    use rand::SeedableRng;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let probabilities = [0.0f32, 0.1, 0.5, 0.9, 1.0];
    let mut counts = [0usize; 5];
    let n = 200_000;
    let mut row = [0.0f32; 5];
    for _ in 0..n {
        row.copy_from_slice(&probabilities);
        bernoulli_in_place(&mut row, &mut rng);
        for (c, &x) in counts.iter_mut().zip(&row) {
            *c += x as usize;
        }
    }
    for (&c, &p) in counts.iter().zip(&probabilities) {
        let f = c as f64 / n as f64;
        assert!((f - p as f64).abs() < 4e-3, "p={p}: frequency {f}");
    }
    assert_eq!(counts[0], 0);
    assert_eq!(counts[4], n);
}

#[test]
fn softplus_steps_agrees_with_the_elementwise_form() {
    let a: Vec<f32> = (0..37).map(|i| ((i as f32) * 0.77).sin() * 12.0).collect();
    for &(b0, b1) in &[(0.5, 0.5001), (0.2, 0.201), (0.0, 1.0), (0.3, 0.3)] {
        let p: Vec<f32> = a.iter().map(|&x| fast_sigmoid(b1 as f32 * x)).collect();
        let want: f64 = a.iter().zip(&p).map(|(&x, &q)| softplus_step(x as f64, q as f64, b0, b1)).sum();
        let got = softplus_steps(&a, &p, b0, b1);
        assert!((got - want).abs() < 1e-12 * (1.0 + want.abs()), "{b0}->{b1}: {got} vs {want}");
    }
}

#[test]
fn paper_schedule_has_the_papers_steps() {
    let s = BetaSchedule::salakhutdinov_murray();
    assert_eq!(s.len(), 14_501);
    assert_eq!(BetaSchedule::SALAKHUTDINOV_MURRAY_LEN, s.len());
    assert_eq!(s.betas()[0], 0.0);
    assert_eq!(s.betas()[500], 0.5);
    assert_eq!(s.betas()[4_500], 0.9);
    assert_eq!(*s.betas().last().unwrap(), 1.0);
    assert!(BetaSchedule::from_betas(s.betas().to_vec()).is_ok());
}
