use super::*;
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
    // And not far above: the estimate is for checking, not a guess.
    assert!(estimate - held <= estimate / 20, "estimate {estimate} for {held} bytes held");
}
