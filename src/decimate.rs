//! Thinning a long history to half its length, one way for every history that grows as training
//! goes on: the trainer's backlog of unsent losses, the loss plot's points and epoch means, and the
//! Quality tab's monitors. Neighbouring items are merged pairwise, so the curve keeps its shape and
//! its mean, and x stays in order.

/// Each pair of neighbouring items replaced by `average(pair)`: half as many items (rounded up).
/// A lone last item is passed to `average` alone, so an average that divides by the slice's length
/// keeps it as it is.
pub fn merge_pairs<T>(items: &[T], average: impl Fn(&[T]) -> T) -> Vec<T> {
    items.chunks(2).map(average).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(pair: &[(f64, f64)]) -> (f64, f64) {
        let n = pair.len() as f64;
        (pair.iter().map(|p| p.0).sum::<f64>() / n, pair.iter().map(|p| p.1).sum::<f64>() / n)
    }

    #[test]
    fn merging_pairs_averages_neighbours_and_keeps_a_lone_last_item() {
        let points: Vec<(f64, f64)> = (0..5).map(|i| (i as f64, (i * i) as f64)).collect();
        assert_eq!(merge_pairs(&points, mean), vec![(0.5, 0.5), (2.5, 6.5), (4.0, 16.0)]);
        assert_eq!(merge_pairs(&points[..4], mean), vec![(0.5, 0.5), (2.5, 6.5)]);
        assert!(merge_pairs(&[], mean).is_empty());
    }
}
