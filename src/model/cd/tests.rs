use super::*;
use crate::model::config::VisibleSampling;
use crate::model::rbm::Initialisation;
use rand::SeedableRng;

/// Bytes the workspace's buffers hold (their capacities).
fn held_bytes(ws: &CdWorkspace) -> usize {
    let f32s = |v: &Vec<f32>| v.capacity() * 4;
    let optional = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, f32s);
    let velocity = ws.velocity.as_ref().map_or(0, |v| f32s(&v.w) + f32s(&v.b_v) + f32s(&v.b_h));
    let stream = std::mem::size_of::<Xoshiro256PlusPlus>();
    [&ws.stacked_visible, &ws.stacked_hidden, &ws.chain_visible, &ws.chain_hidden, &ws.reconstruction]
        .into_iter()
        .chain([&ws.weights_transposed, &ws.hidden_offset, &ws.mean_v0, &ws.mean_vk, &ws.mean_p0, &ws.mean_pk])
        .map(f32s)
        .sum::<usize>()
        + optional(&ws.visible_offset)
        + optional(&ws.hidden_activity)
        + velocity
        + optional(&ws.tempering_base)
        + ws.swap_log_probabilities.capacity() * 8
        + (ws.data_streams.len() + ws.chain_streams.len()) * stream
        + f32s(&ws.outer_sums)
}

#[test]
fn training_bytes_covers_what_training_holds() {
    // PCD with more particles than the batch (so the chain buffers grow at the first step),
    // and every extra, so that every buffer exists.
    let (nv, nh, batch) = (50, 20, 16);
    let config = TrainingConfig {
        batch_size: batch,
        k: 2,
        method: GradientMethod::Pcd,
        pcd_particles: 40,
        momentum: 0.9,
        weight_decay: 1e-4,
        sparsity_cost: 0.1,
        centering: true,
        ..TrainingConfig::default()
    };
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let mut rbm = Rbm::initialised(nv, nh, Initialisation::Xavier, &[], &mut rng);
    let mut ws = CdWorkspace::new(nv, nh, batch, 3);
    for _ in 0..2 {
        ws.data_mut(batch).iter_mut().enumerate().for_each(|(i, x)| *x = (i % 7) as f32 / 7.0);
        ws.step(&mut rbm, &config, batch, Threads(1));
    }
    // The model and the trainer's last finite copy.
    let parameters = 2 * 4 * (nv * nh + nv + nh);
    let held = held_bytes(&ws) + parameters;
    let estimate = CdWorkspace::training_bytes(nv, nh, batch, config.chains()) as usize;
    assert!(held <= estimate, "training holds {held} bytes, more than the estimate {estimate}");
    // And not far above: the estimate is for checking, not a guess. The sparse products' lists are
    // estimated for the worst case (every entry nonzero) and checked on their own below.
    let lists = CdWorkspace::sparse_list_bytes(batch + config.chains(), nv, nh) as usize;
    assert!(estimate - lists - held <= estimate / 20, "estimate {estimate} for {held} bytes held");

    // Binary data and chains: the sparse products run (on this thread), and their lists stay
    // within their share of the estimate.
    let config = TrainingConfig { sampling: VisibleSampling::Bernoulli, ..config };
    // Visible biases of −3 keep the chains' visible states sparse like the data.
    rbm.parameters_mut().1.iter_mut().for_each(|b| *b = -3.0);
    for step in 0..3 {
        ws.data_mut(batch).iter_mut().enumerate().for_each(|(i, x)| *x = f32::from((i + step) % 11 == 0));
        ws.step(&mut rbm, &config, batch, Threads(1));
    }
    assert_eq!(ws.sparse_outer_rows, batch + config.particles(), "the binary data and chains took the sparse update");
    let sparse_held = ws.outer_entries.bytes() + sparse::scratch_bytes();
    assert!(sparse_held > 0 && sparse_held <= lists, "lists hold {sparse_held} bytes, estimate {lists}");
}

#[test]
fn sparse_products_give_the_dense_step_to_rounding() {
    // Binary data and chains (the sparse path) against the same steps through the dense products:
    // centered PCD with momentum, and CD-3 (which stores Wᵀ, so binary hidden states go sparse
    // too when they are rare), on one and two threads.
    let (nv, nh, batch) = (60, 24, 12);
    let pcd = TrainingConfig {
        batch_size: batch,
        k: 1,
        method: GradientMethod::Pcd,
        sampling: VisibleSampling::Bernoulli,
        momentum: 0.9,
        centering: true,
        learning_rate: 0.05,
        ..TrainingConfig::default()
    };
    let cd3 = TrainingConfig { k: 3, method: GradientMethod::Cd, centering: false, momentum: 0.0, ..pcd.clone() };
    // The tutorial's algorithm: sparse data, dense reconstructions (sigmoid plus Gaussian noise),
    // so only the data rows of the update go sparse.
    let tutorial = TrainingConfig { batch_size: batch, k: 1, learning_rate: 0.05, ..TrainingConfig::default() };
    // And with centering and momentum, whose correction then covers the data rows alone.
    let centered_tutorial = TrainingConfig { centering: true, momentum: 0.9, ..tutorial.clone() };
    for config in [pcd, cd3, tutorial, centered_tutorial] {
        let tutorial = config.sampling != VisibleSampling::Bernoulli;
        for threads in [Threads(1), Threads(2)] {
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
            // Biases of −3 keep the units mostly off, so the chains' visible states are sparse
            // like the data, and CD-3's hidden states are sparse too.
            let mut start = Rbm::initialised(nv, nh, Initialisation::Xavier, &[], &mut rng);
            let (_, b_v, b_h) = start.parameters_mut();
            b_v.iter_mut().chain(b_h.iter_mut()).for_each(|b| *b = -3.0);
            let mut models = [start.clone(), start];
            let mut plans = Vec::new();
            for (model, dense_only) in models.iter_mut().zip([false, true]) {
                let mut ws = CdWorkspace::new(nv, nh, batch, 9);
                ws.dense_only = dense_only;
                for step in 0..4 {
                    ws.data_mut(batch)
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, x)| *x = f32::from((i * 7 + step) % 9 == 0));
                    ws.step(model, &config, batch, threads);
                }
                plans.push(ws.sparse_outer_rows);
            }
            let chains = if config.method == GradientMethod::Cd { batch } else { config.particles() };
            let sparse_rows = if tutorial { batch } else { batch + chains };
            assert_eq!(plans, [sparse_rows, 0], "the sparse run took the sparse update");
            let values = |m: &Rbm| -> Vec<f32> {
                m.weights_slice().iter().chain(m.visible_bias()).chain(m.hidden_bias()).copied().collect()
            };
            let (a, b) = (values(&models[0]), values(&models[1]));
            assert!(a != b, "the two paths round differently, so the comparison is not of one path with itself");
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "k {} {threads:?}: {x} vs {y}", config.k);
            }
        }
    }
}
