use super::*;
use crate::model::rbm::softplus;

#[test]
fn ladders_start_at_one_and_end_at_the_lowest_beta() {
    assert_eq!(temperature_ladder(1, 0.3, TemperatureSpacing::Geometric), vec![1.0]);
    let geometric = temperature_ladder(5, 0.0625, TemperatureSpacing::Geometric);
    for (got, want) in geometric.iter().zip([1.0, 0.5, 0.25, 0.125, 0.0625]) {
        assert!((got - want).abs() < 1e-15, "{geometric:?}");
    }
    let linear = temperature_ladder(3, 0.0, TemperatureSpacing::Linear);
    assert_eq!(linear, vec![1.0, 0.5, 0.0]);
}

#[test]
fn pairs_alternate_and_their_attempts_are_counted() {
    let mut attempts = [0u64; 5];
    for round in 0..9 {
        for (k, count) in attempts.iter_mut().enumerate() {
            assert_eq!(Tempering::attempts_before(k, round), *count, "pair {k} before round {round}");
            if Tempering::pair_active(k, round) {
                *count += 1;
            }
        }
        // Neighbouring pairs never share a chain in one round.
        for k in 0..4 {
            assert!(!(Tempering::pair_active(k, round) && Tempering::pair_active(k + 1, round)));
        }
    }
}

#[test]
fn the_softplus_sum_matches_the_direct_sum() {
    let a: Vec<f32> = (0..1100).map(|i| ((i as f32) * 0.37).sin() * 30.0 - 2.0).collect();
    for len in [0, 1, 7, 8, 9, 511, 512, 513, 1100] {
        for beta in [1.0f32, 0.7, 0.05] {
            let want: f64 = a[..len].iter().map(|&x| softplus((beta * x) as f64)).sum();
            let got = softplus_sum_scaled(&a[..len], beta);
            assert!((got - want).abs() < 1e-5 * (1.0 + want.abs()), "len {len}, β {beta}: {got} vs {want}");
        }
    }
}

#[test]
fn swap_rows_exchanges_two_rows() {
    let mut data: Vec<f32> = (0..12).map(|x| x as f32).collect();
    swap_rows(&mut data, 3, 1, 3);
    assert_eq!(data, [0., 1., 2., 9., 10., 11., 6., 7., 8., 3., 4., 5.]);
}
