//! The window's sampler and quality lab on a played trainer: parallel tempering's swap-rate plot,
//! RAISE's band in the log-likelihood plot, the linear probe as a monitor, and the chains
//! labelled by the probe's raw-pixel classifier.

mod played;

use std::sync::Arc;

use egui_kittest::kittest::Queryable;
use rbm_lab::app::Tab;
use rbm_lab::model::GradientMethod;
use rbm_lab::trainer::{ChainClamp, ChainSnapshot, ChainStart, Progress, Update};

use played::{HIDDEN, feed, lab, mnist, progress, snapshot, step_until};

/// A PT progress report: the default ladder's pairs, each with its own rate.
fn pt_progress(samples_seen: u64, rates: &[f64]) -> Progress {
    let mut p = progress(samples_seen, true);
    p.config.method = GradientMethod::Pt;
    p.config.temperatures = rates.len() + 1;
    p.swap_rates = rates.to_vec();
    p
}

#[test]
fn a_pt_progress_with_swap_rates_draws_the_swap_plot() {
    let (mut harness, side) = lab(|app, _| app.controls.config.method = GradientMethod::Pt);
    harness.run_steps(2);
    harness.get_by_label("Method").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("swap acceptance per neighbouring pair").is_none(), "no rates yet, no plot");
    feed(
        &mut harness,
        &side,
        vec![
            Update::Progress(pt_progress(6_400, &[0.8, 0.5, 0.1])),
            Update::Progress(pt_progress(12_800, &[0.7, 0.4, 0.05])),
        ],
    );
    harness.get_by_label("swap acceptance per neighbouring pair");
    let series = harness.state().controls.swap_history.series();
    let ladder = pt_progress(0, &[0.0; 3]).config.temperature_ladder();
    assert_eq!(series.len(), 3, "a line per neighbouring pair");
    let x = |samples: u64| pt_progress(samples, &[]).epoch_position();
    assert_eq!(series[2].1, vec![[x(6_400), 0.1], [x(12_800), 0.05]]);
    assert_eq!(series[0].0, format!("β {:.2}–{:.2}", ladder[0], ladder[1]));
    harness.get_by_label(&format!("lowest now: β {:.2}–{:.2} at 0.05", ladder[2], ladder[3]));
}

#[test]
fn an_evaluation_with_raise_yields_a_band() {
    let (mut harness, side) = lab(|app, _| {
        app.tab = Tab::Quality;
        // A short uniform schedule: 16 hidden units, so log Z is exact and RAISE's runs are short.
        app.quality.paper_schedule = false;
        app.quality.fast_betas = 200;
    });
    side.mailboxes.model.put(Arc::new(snapshot(1)));
    harness.run_steps(2);
    harness.get_by_label("RAISE lower bound").click();
    harness.run_steps(2);
    harness.state_mut().quality.raise_images = 8;
    harness.get_by_label("Evaluate now").click();
    step_until(&mut harness, "the evaluation", |app| !app.quality.evaluations.is_empty());
    let bands = harness.state().quality.raise_bands();
    assert_eq!(bands.len(), 1, "one evaluation with RAISE, one band");
    let (band, evaluation) = (bands[0], harness.state().quality.evaluations[0].clone());
    let raise = evaluation.raise.expect("RAISE ran");
    assert_eq!((band.epoch, band.images), (evaluation.epoch, 8));
    assert_eq!((band.raise_bound, band.ais_estimate), (raise.bound, raise.log_z_estimate));
    assert!(band.raise_bound.is_finite() && (band.raise_bound - band.ais_estimate).abs() < 5.0, "{band:?}");
    // Without RAISE, no band.
    harness.get_by_label("RAISE lower bound").click();
    harness.run_steps(2);
    harness.get_by_label("Evaluate now").click();
    step_until(&mut harness, "the second evaluation", |app| app.quality.evaluations.len() == 2);
    assert_eq!(harness.state().quality.raise_bands().len(), 1);
}

/// Probes the played weights on the first 600 training and 500 test images, and waits for it.
fn probe(harness: &mut egui_kittest::Harness<'static, rbm_lab::app::RbmLabApp>, count: usize) {
    harness.get_by_label("Linear probe").click();
    step_until(harness, "the probe", move |app| app.quality.probes.len() == count && !app.quality.is_probing());
}

fn probing_lab() -> (egui_kittest::Harness<'static, rbm_lab::app::RbmLabApp>, rbm_lab::trainer::TrainerSide) {
    let (mut harness, side) = lab(|app, _| {
        app.tab = Tab::Quality;
        app.quality.probe_settings.train_images = 600;
        app.quality.probe_settings.test_images = 500;
        app.quality.probe_settings.config.epochs = 5;
    });
    side.mailboxes.model.put(Arc::new(snapshot(1)));
    feed(&mut harness, &side, vec![Update::Progress(progress(6_400, false))]);
    (harness, side)
}

#[test]
fn the_probe_runs_to_completion_and_shows_an_accuracy_over_training_samples() {
    let (mut harness, side) = probing_lab();
    probe(&mut harness, 1);
    let app = harness.state();
    let first = app.quality.probes[0].clone();
    assert_eq!((first.samples_seen, first.n_hidden, first.accuracy.total), (6_400, HIDDEN, 500));
    let baseline = app.quality.pixel_baseline(&mnist()).expect("the raw-pixel baseline").clone();
    // Raw pixels of 600 MNIST digits already tell most test digits apart.
    assert!(baseline.accuracy.rate() > 0.6, "{:?}", baseline.accuracy);
    assert!(first.accuracy.rate() > 0.1, "better than chance on 16 features: {:?}", first.accuracy);
    assert_eq!(first.accuracy.per_class.iter().map(|&(_, n)| n).sum::<usize>(), 500);
    let shown = format!("test accuracy {:.2}%", 100.0 * first.accuracy.rate());
    assert!(harness.query_by_label_contains(&shown).is_some(), "the status says {shown}");
    // A later probe is a later point, and reuses the dataset's baseline.
    feed(&mut harness, &side, vec![Update::Progress(progress(12_800, false))]);
    probe(&mut harness, 2);
    let app = harness.state();
    let second = &app.quality.probes[1];
    assert_eq!(second.samples_seen, 12_800);
    let kept = app.quality.pixel_baseline(&mnist()).expect("kept");
    assert!(Arc::ptr_eq(&kept.probe, &baseline.probe), "the baseline is trained once per dataset");
}

#[test]
fn the_chains_show_class_counts_that_sum_to_the_chain_count() {
    let (mut harness, side) = probing_lab();
    probe(&mut harness, 1);
    harness.state_mut().tab = Tab::Training;
    // Twelve chains showing test digits: two rows of the chain picture.
    let test = &mnist().test;
    let count = 12;
    let images: Vec<f32> = test.pixels[..count * 784].iter().map(|&p| f32::from(p) / 255.0).collect();
    side.mailboxes.chains.put(Arc::new(ChainSnapshot {
        count,
        image_rows: 28,
        image_cols: 28,
        start_images: images.clone(),
        mean_images: images,
        steps: 3,
        running: false,
        steps_per_second: 10.0,
        start: ChainStart::TestDigits,
        clamp: ChainClamp::Free,
        label_classes: 0,
    }));
    harness.run_steps(3);
    let app = harness.state();
    let counts = app.chains.class_counts();
    assert_eq!(counts.len(), 10);
    assert_eq!(counts.iter().sum::<usize>(), count, "{counts:?}");
    // The baseline reads most of these test digits right.
    let classes = app.chains.sample_classes();
    let right = classes.iter().zip(&test.labels).filter(|(c, l)| c == l).count();
    assert!(right >= count / 2, "{classes:?} vs {:?}", &test.labels[..count]);
    assert!(harness.query_by_label_contains("Chains per class, by the raw-pixel probe").is_some());
}
