use super::*;
use crate::data::Dataset;
use crate::model::probe::{Features, ProbeConfig};

/// Twenty chains clamped one per class (chain i to class i mod 10): the first ten show a test
/// image of their own class, the next ten one of the following class. The counts per class
/// are of the samples the probe reads as the chain's clamped class, not as any class.
#[test]
fn one_per_class_counts_the_samples_read_as_their_clamped_class() {
    let mnist = Dataset::embedded_mnist().expect("MNIST");
    let (train, nv) = (2000, mnist.pixels_per_image());
    let pool = MathPool::with_mode(1, SubnormalMode::Keep);
    let (pixels, labels) = (&mnist.train.pixels[..train * nv], &mnist.train.labels[..train]);
    let probe = Probe::train(Features::Pixels(nv), pixels, labels, &ProbeConfig::default(), &pool, &mut |_| true)
        .expect("a probe");
    // Image i of `shown` is a test image of class i mod 10.
    let shown = mnist.test_digits(20);
    let mut samples = shown.clone();
    for class in 0..10 {
        let next = 10 + (class + 1) % 10;
        samples[(10 + class) * nv..(11 + class) * nv].copy_from_slice(&shown[next * nv..(next + 1) * nv]);
    }
    let snapshot = ChainSnapshot {
        count: 20,
        image_rows: 28,
        image_cols: 28,
        start_images: shown,
        mean_images: samples,
        steps: 1,
        running: false,
        steps_per_second: 10.0,
        start: ChainStart::TestDigits,
        clamp: ChainClamp::EachClass,
        label_classes: 10,
    };
    let ctx = egui::Context::default();
    let mut view = ChainView::default();
    view.set_classifier(Some((Arc::new(probe), 0.9)));
    view.set_snapshot(&ctx, Arc::new(snapshot.clone()));
    let drawn = view.drawn_counts();
    assert_eq!(drawn.iter().map(|&(_, total)| total).collect::<Vec<_>>(), vec![2; 10]);
    let read = view.sample_classes();
    for (class, &(seen, _)) in drawn.iter().enumerate() {
        let right = [class, 10 + class].iter().filter(|&&chain| usize::from(read[chain]) == class).count();
        assert_eq!(seen, right, "class {class}: the probe read {read:?}");
    }
    // The probe reads most test digits right: most of the first ten count, few of the rest.
    let seen: usize = drawn.iter().map(|&(seen, _)| seen).sum();
    assert!((7..=11).contains(&seen), "{drawn:?}, the probe read {read:?}");

    // Free labels: no per-class counts, the counts of every class instead.
    view.set_snapshot(&ctx, Arc::new(ChainSnapshot { clamp: ChainClamp::Free, ..snapshot }));
    assert!(view.drawn_counts().is_empty());
    assert_eq!(view.class_counts().iter().sum::<usize>(), 20);
}
