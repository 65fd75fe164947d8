use super::*;
use crate::model::inpaint::TopHiddenUnits;

/// The window's view drives a sampler on its own thread.
#[test]
fn a_sampler_can_move_to_another_thread() {
    fn movable<T: Send + 'static>() {}
    movable::<CompletionSampler>();
    movable::<CompletionStats>();
    movable::<TopHiddenUnits>();
}

/// A set completed in two parts (split at a block boundary, each part with its images' own
/// streams) gives the same bits as in one batch: what lets [`score_completion`] bound its memory.
#[test]
fn parts_with_their_own_streams_give_the_same_numbers_as_one_batch() {
    let (nv, nh, rows) = (12, 5, 3 * ROW_BLOCK + 5);
    let rbm = Rbm::from_parameters(
        nv,
        nh,
        (0..nv * nh).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.2).collect(),
        (0..nv).map(|i| (i as f32 - 6.0) * 0.1).collect(),
        vec![0.1; nh],
    )
    .unwrap();
    let images: Vec<f32> = (0..rows * nv).map(|i| (i % 3) as f32 * 0.5).collect();
    let masks: Vec<Mask> = (0..rows).map(|r| Mask::hide_random(nv, 0.5, r as u64).unwrap()).collect();
    for mode in [CompletionMode::ClampedGibbs, CompletionMode::Free] {
        let config = CompletionConfig { mode, seed: 4, ..CompletionConfig::default() };
        let run = |first: usize, end: usize| {
            let streams = RowStreams::new(4, rows).streams_mut()[first..end].to_vec();
            let part = images[first * nv..end * nv].to_vec();
            let mut sampler =
                CompletionSampler::with_streams(&rbm, part, masks[first..end].to_vec(), config.clone(), streams)
                    .unwrap();
            for _ in 0..6 {
                sampler.step(Threads(2));
            }
            sampler.state().to_vec()
        };
        let whole = run(0, rows);
        let mut parts = run(0, 2 * ROW_BLOCK);
        parts.extend(run(2 * ROW_BLOCK, rows));
        assert_eq!(whole, parts, "{mode:?}");
    }
}
