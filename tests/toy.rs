//! The toy RBM's math against hand calculation and brute-force enumeration.

use rbm_lab::toy::data::DatasetError;
use rbm_lab::toy::numbers::{exp_text, nice_step, partition_function_text, three_decimals, tick_text};
use rbm_lab::toy::order::{ScenarioOrder, sorted_scenarios};
use rbm_lab::toy::rbm::{log_sum_exp, sigmoid, tutorial_order};
use rbm_lab::toy::train::{exact_gradient, model_statistics};
use rbm_lab::toy::{
    Discrepancy, GibbsChain, ToyDataset, ToyRbm, ToyTrainer, TrainMethod, discrepancy, kl_divergence, mass_on_data,
};

/// A 3 x 2 model with every parameter different, so a mixed-up index shows.
fn hand_set() -> ToyRbm {
    let mut rbm = ToyRbm::zeros(3, 2);
    rbm.visible_bias = vec![0.1, -0.2, 0.3];
    rbm.hidden_bias = vec![-0.4, 0.5];
    rbm.weights = vec![1.0, -2.0, 3.0, 0.25, -0.5, 0.75];
    rbm
}

/// Deterministic, varied parameters for larger sizes (no RNG needed).
fn patterned(n_visible: usize, n_hidden: usize) -> ToyRbm {
    let mut rbm = ToyRbm::zeros(n_visible, n_hidden);
    for (k, a) in rbm.visible_bias.iter_mut().enumerate() {
        *a = ((k * 7 % 5) as f64 - 2.0) * 0.3;
    }
    for (k, b) in rbm.hidden_bias.iter_mut().enumerate() {
        *b = ((k * 3 % 4) as f64 - 1.5) * 0.4;
    }
    for (k, w) in rbm.weights.iter_mut().enumerate() {
        *w = ((k * 11 % 9) as f64 - 4.0) * 0.35;
    }
    rbm
}

fn state_by_name(rbm: &ToyRbm, name: &str) -> u32 {
    (0..rbm.n_states() as u32).find(|&s| rbm.state_name(s) == name).unwrap_or_else(|| panic!("no state named {name}"))
}

#[test]
fn probabilities_sum_to_one() {
    for rbm in [ToyRbm::tutorial(), ToyRbm::zeros(3, 2), hand_set(), patterned(6, 4)] {
        let e = rbm.enumerate();
        let total: f64 = e.probabilities.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "joint sums to {total}");
        let marginal_total: f64 = e.visible_marginals.iter().sum();
        assert!((marginal_total - 1.0).abs() < 1e-12);
        assert_eq!(e.probabilities.len(), rbm.n_states());
    }
    assert_eq!(ToyRbm::tutorial().n_states(), 32);
    assert_eq!(patterned(6, 4).n_states(), 1024);
}

#[test]
fn scores_match_the_formula_for_hand_set_weights() {
    let rbm = hand_set();
    // ACD: a_A + a_C + b_D + w_AD + w_CD
    let acd = 0.1 + 0.3 - 0.4 + 1.0 - 0.5;
    assert!((rbm.score(state_by_name(&rbm, "ACD")) - acd).abs() < 1e-12);
    // BE: a_B + b_E + w_BE
    let be = -0.2 + 0.5 + 0.25;
    assert!((rbm.score(state_by_name(&rbm, "BE")) - be).abs() < 1e-12);
    assert_eq!(rbm.score(state_by_name(&rbm, "None")), 0.0);
    // Every state against the formula written over 0/1 vectors.
    for s in 0..32u32 {
        let v: Vec<f64> = (0..3).map(|i| f64::from(s >> i & 1)).collect();
        let h: Vec<f64> = (0..2).map(|j| f64::from(s >> (3 + j) & 1)).collect();
        let mut score = 0.0;
        for (a, vi) in rbm.visible_bias.iter().zip(&v) {
            score += a * vi;
        }
        for (j, (b, hj)) in rbm.hidden_bias.iter().zip(&h).enumerate() {
            score += b * hj;
            for (i, vi) in v.iter().enumerate() {
                score += vi * rbm.weight(i, j) * hj;
            }
        }
        assert!((rbm.score(s) - score).abs() < 1e-12, "state {s}");
        assert_eq!(rbm.energy(s), -rbm.score(s));
        let e = rbm.enumerate();
        let z: f64 = (0..32u32).map(|t| rbm.score(t).exp()).sum();
        assert!((e.probabilities[s as usize] - score.exp() / z).abs() < 1e-12);
        assert!((e.partition_function() - z).abs() < 1e-9);
    }
}

#[test]
fn tutorial_weights_rank_acd_and_be_on_top() {
    let rbm = ToyRbm::tutorial();
    let e = rbm.enumerate();
    let mut states: Vec<u32> = (0..32).collect();
    states.sort_by(|&x, &y| e.probabilities[y as usize].total_cmp(&e.probabilities[x as usize]));
    let top: Vec<String> = states[..2].iter().map(|&s| rbm.state_name(s)).collect();
    assert_eq!(top, ["ACD", "BE"]);
    // Strictly above the third, so the ranking is not a tie broken by index.
    assert!(e.scores[states[1] as usize] > e.scores[states[2] as usize] + 0.1);
    // The tutorial's spirit, weight by weight.
    assert!(rbm.weight(0, 0) > 0.0 && rbm.weight(2, 0) > 0.0);
    assert!(rbm.weight(1, 1) > rbm.weight(0, 0));
    assert!(rbm.weight(2, 1) < 0.0);
}

#[test]
fn scenarios_are_named_and_ordered_as_in_the_tutorial() {
    let rbm = ToyRbm::tutorial();
    let names: Vec<String> = rbm.states_in_tutorial_order().into_iter().map(|s| rbm.state_name(s)).collect();
    assert_eq!(names.len(), 32);
    assert_eq!(&names[..7], ["None", "A", "B", "C", "D", "E", "AB"]);
    assert_eq!(&names[26..], ["ABCD", "ABCE", "ABDE", "ACDE", "BCDE", "ABCDE"]);
    let data = ToyDataset::tutorial();
    let mut consistent: Vec<String> =
        (0..32u32).filter(|&s| data.contains(rbm.visible_part(s))).map(|s| rbm.state_name(s)).collect();
    consistent.sort();
    assert_eq!(consistent, ["AC", "ACD", "ACDE", "ACE", "B", "BD", "BDE", "BE"]);
    assert_eq!(rbm.visible_bits(0b101), "101");
    assert_eq!(rbm.visible_name(0b101), "AC");
    // The mask comparison agrees with comparing names, on every pair of a 4 x 3 model.
    let mid = ToyRbm::zeros(4, 3);
    for x in 0..128u32 {
        for y in 0..128u32 {
            let by_name = x.count_ones().cmp(&y.count_ones()).then_with(|| mid.state_name(x).cmp(&mid.state_name(y)));
            assert_eq!(tutorial_order(x, y), by_name, "{x} vs {y}");
        }
    }
    // Larger sizes: letters continue after the visibles.
    let big = ToyRbm::zeros(6, 4);
    assert_eq!(big.state_name((1 << 10) - 1), "ABCDEFGHIJ");
    assert_eq!(big.unit_name(6), 'G');
}

#[test]
fn marginals_agree_with_free_energy_and_data_frequencies_are_four_and_two_sixths() {
    for rbm in [ToyRbm::tutorial(), hand_set(), patterned(6, 4), patterned(2, 3)] {
        let e = rbm.enumerate();
        let neg_f: Vec<f64> = (0..rbm.n_visible_states() as u32).map(|v| rbm.neg_free_energy(v)).collect();
        assert!((log_sum_exp(&neg_f) - e.log_z).abs() < 1e-10);
        for (v, p) in e.visible_marginals.iter().enumerate() {
            assert!((p - (neg_f[v] - e.log_z).exp()).abs() < 1e-12);
        }
    }
    let data = ToyDataset::tutorial();
    let f = data.frequencies();
    assert!((f[0b101] - 4.0 / 6.0).abs() < 1e-15);
    assert!((f[0b010] - 2.0 / 6.0).abs() < 1e-15);
    assert_eq!(f.iter().filter(|&&p| p > 0.0).count(), 2);
    assert_eq!(kl_divergence(&f, &f), 0.0);
    let uniform = vec![1.0 / 8.0; 8];
    let expected = 4.0 / 6.0 * (4.0f64 / 6.0 * 8.0).ln() + 2.0 / 6.0 * (2.0f64 / 6.0 * 8.0).ln();
    assert!((kl_divergence(&f, &uniform) - expected).abs() < 1e-12);
    assert!((mass_on_data(&data, &uniform) - 0.25).abs() < 1e-15);
}

#[test]
fn exact_gradient_matches_finite_differences_of_the_log_likelihood() {
    let data = ToyDataset::tutorial();
    let log_likelihood = |rbm: &ToyRbm| {
        let e = rbm.enumerate();
        data.rows().iter().map(|&v| e.visible_marginals[v as usize].ln()).sum::<f64>() / data.len() as f64
    };
    let rbm = hand_set();
    let g = exact_gradient(&rbm, data.rows());
    let eps = 1e-6;
    for k in 0..6 {
        let (mut plus, mut minus) = (rbm.clone(), rbm.clone());
        plus.weights[k] += eps;
        minus.weights[k] -= eps;
        let numeric = (log_likelihood(&plus) - log_likelihood(&minus)) / (2.0 * eps);
        assert!((numeric - g.pairs[k]).abs() < 1e-6, "w[{k}]");
    }
    for i in 0..3 {
        let (mut plus, mut minus) = (rbm.clone(), rbm.clone());
        plus.visible_bias[i] += eps;
        minus.visible_bias[i] -= eps;
        let numeric = (log_likelihood(&plus) - log_likelihood(&minus)) / (2.0 * eps);
        assert!((numeric - g.visible[i]).abs() < 1e-6, "a[{i}]");
    }
    for j in 0..2 {
        let (mut plus, mut minus) = (rbm.clone(), rbm.clone());
        plus.hidden_bias[j] += eps;
        minus.hidden_bias[j] -= eps;
        let numeric = (log_likelihood(&plus) - log_likelihood(&minus)) / (2.0 * eps);
        assert!((numeric - g.hidden[j]).abs() < 1e-6, "b[{j}]");
    }
    // <h_j>_model by brute force over joint states.
    let e = rbm.enumerate();
    let stats = model_statistics(&rbm);
    for j in 0..2 {
        let brute: f64 = (0..32usize).filter(|s| s >> (3 + j) & 1 == 1).map(|s| e.probabilities[s]).sum();
        assert!((brute - stats.hidden[j]).abs() < 1e-12);
    }
}

#[test]
fn exact_training_on_the_six_rows_fits_the_data() {
    let data = ToyDataset::tutorial();
    for start in [ToyRbm::tutorial(), ToyRbm::zeros(3, 2)] {
        let mut rbm = start;
        let mut trainer = ToyTrainer::new(TrainMethod::Exact, 0.1, 7);
        let kl_before = kl_divergence(&data.frequencies(), &rbm.enumerate().visible_marginals);
        for _ in 0..1000 {
            trainer.epoch(&mut rbm, &data);
        }
        let e = rbm.enumerate();
        let kl = kl_divergence(&data.frequencies(), &e.visible_marginals);
        let mass = e.visible_marginals[0b101] + e.visible_marginals[0b010];
        assert!(kl < 0.05, "KL {kl} (was {kl_before})");
        assert!(mass > 0.95, "mass on {{101, 010}}: {mass}");
        assert_eq!(trainer.steps(), 6000);
        assert!(mass_on_data(&data, &e.visible_marginals) > 0.95);
    }
}

#[test]
fn one_step_uses_one_row_in_order() {
    let data = ToyDataset::tutorial();
    let mut rbm = ToyRbm::zeros(3, 2);
    let mut trainer = ToyTrainer::new(TrainMethod::Exact, 0.5, 1);
    assert_eq!(trainer.step(&mut rbm, &data), 0);
    // Row 0 is 101: from zeros the model term is 1/2 for every unit, so A and C rise, B falls.
    assert!((rbm.visible_bias[0] - 0.25).abs() < 1e-12);
    assert!((rbm.visible_bias[1] + 0.25).abs() < 1e-12);
    assert_eq!(trainer.step(&mut rbm, &data), 1);
    for _ in 0..4 {
        trainer.step(&mut rbm, &data);
    }
    assert_eq!(trainer.next_row(), 0);
}

#[test]
fn cd_training_finds_the_data_and_is_reproducible() {
    let data = ToyDataset::tutorial();
    let run = |seed| {
        let mut rbm = ToyRbm::zeros(3, 2);
        rbm.weights = vec![0.1, -0.1, -0.1, 0.1, 0.1, -0.1];
        let mut trainer = ToyTrainer::new(TrainMethod::ContrastiveDivergence { k: 1 }, 0.1, seed);
        for _ in 0..2000 {
            trainer.epoch(&mut rbm, &data);
        }
        rbm
    };
    let rbm = run(3);
    assert_eq!(rbm, run(3), "same seed, same model");
    let e = rbm.enumerate();
    // CD-1 finds the two modes (mass) but, being a noisy estimate, jitters their 2:1 ratio, so
    // its KL stays well above the exact method's.
    let kl = kl_divergence(&data.frequencies(), &e.visible_marginals);
    let kl_uniform = kl_divergence(&data.frequencies(), &[1.0 / 8.0; 8]);
    assert!(kl < kl_uniform / 1.4, "CD-1 KL {kl}");
    assert!(mass_on_data(&data, &e.visible_marginals) > 0.95);
}

#[test]
fn gibbs_visit_frequencies_match_exact_probabilities() {
    let rbm = ToyRbm::tutorial();
    let exact = rbm.enumerate().probabilities;
    let mut chain = GibbsChain::new(&rbm, 2024);
    chain.run(&rbm, 200_000);
    assert_eq!(chain.steps(), 200_000);
    let freq = chain.frequencies();
    let worst = freq.iter().zip(&exact).map(|(f, p)| (f - p).abs()).fold(0.0, f64::max);
    assert!(worst < 0.01, "largest |frequency - p| = {worst}");
    // Same seed, same chain.
    let mut again = GibbsChain::new(&rbm, 2024);
    again.run(&rbm, 1000);
    let mut first = GibbsChain::new(&rbm, 2024);
    first.run(&rbm, 1000);
    assert_eq!(again.visits(), first.visits());
}

#[test]
fn gibbs_converges_on_a_larger_model_too() {
    let rbm = patterned(4, 3);
    let exact = rbm.enumerate().probabilities;
    let mut chain = GibbsChain::new(&rbm, 5);
    chain.run(&rbm, 200_000);
    let worst = chain.frequencies().iter().zip(&exact).map(|(f, p)| (f - p).abs()).fold(0.0, f64::max);
    assert!(worst < 0.01, "largest |frequency - p| = {worst}");
}

#[test]
fn huge_weights_stay_finite() {
    let mut rbm = ToyRbm::tutorial();
    rbm.weights.iter_mut().for_each(|w| *w *= 400.0);
    let e = rbm.enumerate();
    assert!(e.log_z.is_finite());
    assert!(e.probabilities.iter().all(|p| p.is_finite()));
    assert!((e.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(sigmoid(-1000.0), 0.0);
    assert_eq!(sigmoid(1000.0), 1.0);
}

#[test]
fn datasets_parse_and_reject_with_reasons() {
    let data = ToyDataset::parse("101, 010;101\n101 010\t101", 3).unwrap();
    assert_eq!(data, ToyDataset::tutorial());
    assert_eq!(data.to_text(), "101, 010, 101, 101, 010, 101");
    assert_eq!(ToyDataset::alternating(3), ToyDataset::tutorial());
    assert_eq!(ToyDataset::alternating(6).rows()[0], 0b010101);
    assert_eq!(ToyDataset::parse(" ,, ", 3), Err(DatasetError::Empty));
    assert!(matches!(
        ToyDataset::parse("101, 01", 3),
        Err(DatasetError::WrongLength { row: 2, found: 2, expected: 3, .. })
    ));
    assert!(matches!(ToyDataset::parse("1x1", 3), Err(DatasetError::NotBinary { row: 1, .. })));
    let too_many = vec!["1"; 300].join(",");
    assert!(matches!(ToyDataset::parse(&too_many, 1), Err(DatasetError::TooManyRows { found: 300 })));
}

#[test]
fn marginalising_hidden_units_sums_each_visible_configuration_over_h() {
    // 2 visible x 1 hidden: state = v_A + 2 v_B + 4 h. With "probability" s at state s, each
    // visible configuration v collects v + (v + 4).
    let rbm = ToyRbm::zeros(2, 1);
    let joint: Vec<f64> = (0..8).map(f64::from).collect();
    assert_eq!(rbm.marginalise_hidden(&joint), vec![4.0, 6.0, 8.0, 10.0]);
    // The enumeration's marginals are this sum of its joint probabilities.
    let rbm = hand_set();
    let e = rbm.enumerate();
    assert_eq!(rbm.marginalise_hidden(&e.probabilities), e.visible_marginals);
    // A chain's visit frequencies land on the visible part of the state it sits in.
    let mut visits = vec![0.0; rbm.n_states()];
    visits[state_by_name(&rbm, "ACD") as usize] = 0.75;
    visits[state_by_name(&rbm, "AC") as usize] = 0.25;
    let marginals = rbm.marginalise_hidden(&visits);
    assert_eq!(marginals[0b101], 1.0);
    assert_eq!(marginals.iter().sum::<f64>(), 1.0);
}

#[test]
fn visible_configurations_list_in_the_tutorial_order() {
    let rbm = ToyRbm::tutorial();
    let names: Vec<String> = rbm.visible_states_in_tutorial_order().iter().map(|&v| rbm.visible_name(v)).collect();
    assert_eq!(names, ["None", "A", "B", "C", "AB", "AC", "BC", "ABC"]);
}

#[test]
fn data_rows_are_counted_and_written_as_the_tutorial_does() {
    let data = ToyDataset::tutorial();
    // Bit i = unit i, so the row typed 101 is A and C on, 0b101; 010 is B alone.
    assert_eq!((data.count(0b101), data.count(0b010), data.count(0b000)), (4, 2, 0));
    assert_eq!(data.fraction_text(0b101), "4/6");
    assert_eq!(data.fraction_text(0b010), "2/6");
    assert_eq!(data.fraction_text(0b111), "0");
    let one_row = ToyDataset::parse("11", 2).unwrap();
    assert_eq!(one_row.fraction_text(0b11), "1/1");
}

#[test]
fn discrepancy_is_the_largest_difference_and_half_the_summed_differences() {
    let gap = discrepancy(&[0.5, 0.5, 0.0], &[0.25, 0.5, 0.25]);
    assert_eq!(gap, Discrepancy { largest_difference: 0.25, total_variation: 0.25 });
    let gap = discrepancy(&[0.5, 0.3, 0.2], &[0.2, 0.3, 0.5]);
    assert_eq!(gap, Discrepancy { largest_difference: 0.3, total_variation: 0.3 });
    // Disjoint supports: as far apart as distributions get.
    assert_eq!(discrepancy(&[1.0, 0.0], &[0.0, 1.0]), Discrepancy { largest_difference: 1.0, total_variation: 1.0 });
    assert_eq!(discrepancy(&[0.2, 0.8], &[0.2, 0.8]), Discrepancy { largest_difference: 0.0, total_variation: 0.0 });
}

#[test]
fn epochs_are_single_row_steps_over_the_number_of_rows() {
    let data = ToyDataset::tutorial();
    let mut rbm = ToyRbm::tutorial();
    let mut trainer = ToyTrainer::default();
    assert_eq!(trainer.epochs(&data), 0.0);
    for _ in 0..3 {
        trainer.step(&mut rbm, &data);
    }
    assert_eq!(trainer.epochs(&data), 0.5);
    trainer.epoch(&mut rbm, &data);
    assert_eq!(trainer.epochs(&data), 1.5);
}

#[test]
fn three_decimals_never_write_minus_zero() {
    // The energy of a zero-score state is -0.0: no minus sign on a zero.
    assert_eq!(three_decimals(-0.0), "0.000");
    assert_eq!(three_decimals(-0.0004), "0.000");
    assert_eq!(three_decimals(-1.5), "-1.500");
    assert_eq!(three_decimals(2.4696), "2.470");
}

#[test]
fn exp_of_a_score_is_plain_from_a_thousandth_to_a_hundred_thousand() {
    assert_eq!(exp_text(0.0), "1.0000");
    assert_eq!(exp_text(2f64.ln()), "2.0000");
    assert_eq!(exp_text(10.0), "22026.4658");
    assert_eq!(exp_text(20.0), "4.852e8");
    assert_eq!(exp_text(-10.0), "4.540e-5");
}

#[test]
fn the_partition_function_turns_scientific_past_a_million() {
    assert_eq!(partition_function_text(49.748_23), "Z = 49.7482");
    assert_eq!(partition_function_text(2.5e6), "Z = 2.5000e6");
    assert_eq!(partition_function_text(f64::INFINITY), "Z = inf");
}

#[test]
fn chart_ticks_lose_the_noise_of_summed_steps() {
    assert_eq!(tick_text(0.1 + 0.2), "0.3");
    assert_eq!(tick_text(0.25), "0.25");
    assert_eq!(tick_text(1.0), "1");
    assert_eq!(tick_text(0.00004), "0");
}

#[test]
fn grid_steps_round_up_to_one_two_or_five_times_a_power_of_ten() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b;
    for (raw, step) in [(0.2, 0.2), (0.3, 0.5), (0.75, 1.0), (1.0, 1.0), (1.5, 2.0), (7.0, 10.0), (150.0, 200.0)] {
        assert!(close(nice_step(raw), step), "nice_step({raw}) = {}, expected {step}", nice_step(raw));
    }
    assert!(close(nice_step(0.0123), 0.02));
    for bad in [0.0, -2.0, f64::NAN, f64::INFINITY] {
        assert_eq!(nice_step(bad), 1.0, "nice_step({bad})");
    }
}

#[test]
fn scenarios_sort_by_a_column_with_ties_in_the_tutorial_order() {
    let rbm = ToyRbm::tutorial();
    let data = ToyDataset::tutorial();
    let scores = rbm.enumerate().scores;
    let tutorial = rbm.states_in_tutorial_order();
    let sort = |order, descending| sorted_scenarios(&rbm, &scores, &data, None, order, descending);

    assert_eq!(sort(ScenarioOrder::Tutorial, false), tutorial);
    let mut reversed = tutorial.clone();
    reversed.reverse();
    assert_eq!(sort(ScenarioOrder::Tutorial, true), reversed);

    // Highest score first: ACD (1.5) then BE (1.0), then never rising.
    let by_score = sort(ScenarioOrder::Score, true);
    assert_eq!(&by_score[..2], [state_by_name(&rbm, "ACD"), state_by_name(&rbm, "BE")]);
    assert!(by_score.windows(2).all(|w| scores[w[0] as usize] >= scores[w[1] as usize]));
    // Lowest energy is highest score.
    assert_eq!(&sort(ScenarioOrder::Energy, false)[..2], &by_score[..2]);

    // Data: scenarios whose people are a data row (101 or 010) last, each group in tutorial order.
    let in_data = |s: &u32| data.contains(rbm.visible_part(*s));
    let expected: Vec<u32> =
        tutorial.iter().copied().filter(|s| !in_data(s)).chain(tutorial.iter().copied().filter(in_data)).collect();
    assert_eq!(sort(ScenarioOrder::Data, false), expected);
    assert_eq!(expected.iter().filter(|s| in_data(s)).count(), 8);

    // Without visits the Gibbs column keeps the tutorial's order.
    assert_eq!(sort(ScenarioOrder::Gibbs, false), tutorial);
}

#[test]
fn score_and_energy_orders_keep_tied_scenarios_in_the_tutorial_order() {
    // All scores 0: every order by value is a tie, so the tutorial's order survives ascending
    // score and ascending energy alike, and descending reverses it.
    let rbm = ToyRbm::zeros(3, 2);
    let data = ToyDataset::tutorial();
    let scores = rbm.enumerate().scores;
    let tutorial = rbm.states_in_tutorial_order();
    let sort = |order, descending| sorted_scenarios(&rbm, &scores, &data, None, order, descending);
    assert_eq!(sort(ScenarioOrder::Score, false), tutorial);
    assert_eq!(sort(ScenarioOrder::Energy, false), tutorial);
    let mut reversed = tutorial.clone();
    reversed.reverse();
    assert_eq!(sort(ScenarioOrder::Score, true), reversed);
    assert_eq!(sort(ScenarioOrder::Energy, true), reversed);
}

#[test]
fn scenarios_sort_by_gibbs_frequency() {
    // 1 x 1: states None, A, B, AB are masks 0, 1, 2, 3.
    let rbm = ToyRbm::zeros(1, 1);
    let data = ToyDataset::parse("1", 1).unwrap();
    let scores = rbm.enumerate().scores;
    let frequencies = [0.1, 0.4, 0.2, 0.3];
    let sort =
        |descending| sorted_scenarios(&rbm, &scores, &data, Some(&frequencies), ScenarioOrder::Gibbs, descending);
    assert_eq!(sort(false), [0, 2, 3, 1]);
    assert_eq!(sort(true), [1, 3, 2, 0]);
}
