//! The window's sampler and quality lab on a played trainer: parallel tempering's swap-rate plot,
//! RAISE's band in the log-likelihood plot, the linear probe as a monitor, and the chains
//! labelled by the probe's raw-pixel classifier.

mod played;

use std::sync::Arc;

use egui_kittest::kittest::Queryable;
use rbm_lab::app::Tab;
use rbm_lab::model::GradientMethod;
use rbm_lab::quality::{Evaluation, EvaluationSettings, evaluate_gaussian};
use rbm_lab::trainer::{ChainClamp, ChainSnapshot, ChainStart, ModelSnapshot, Progress, Update};

use played::{HIDDEN, feed, gaussian_snapshot, lab, mnist, progress, snapshot, step_until};

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

/// The window evaluates the Gaussian model in `snapshot` as set up by `setup`, and the result is
/// what [`evaluate_gaussian`] gives for the same model and settings on one thread (the window uses
/// every core while training is paused: the figures do not depend on the count).
fn gaussian_evaluation_in_the_window(
    snapshot: ModelSnapshot,
    setup: impl FnOnce(&mut rbm_lab::app::RbmLabApp),
) -> (egui_kittest::Harness<'static, rbm_lab::app::RbmLabApp>, Evaluation) {
    let (mut harness, side) = lab(|app, _| app.tab = Tab::Quality);
    setup(harness.state_mut());
    let (model, standardisation) = snapshot.gaussian_model().expect("a Gaussian snapshot").expect("its model");
    side.mailboxes.model.put(Arc::new(snapshot.clone()));
    harness.run_steps(2);
    harness.get_by_label("Evaluate now").click();
    let evaluated = |app: &rbm_lab::app::RbmLabApp| app.quality.evaluations.iter().find(|e| e.is_density()).cloned();
    step_until(&mut harness, "the Gaussian evaluation", move |app| evaluated(app).is_some());
    let app = harness.state();
    let mut shown = evaluated(app).expect("found");
    let settings = EvaluationSettings {
        betas: (!app.quality.paper_schedule).then_some(app.quality.fast_betas),
        ..app.quality.settings.clone()
    };
    let mut expected =
        evaluate_gaussian(&model, &standardisation, &mnist(), snapshot.epoch_position, &settings, &mut |_| true)
            .expect("the model function evaluates it");
    (shown.seconds, expected.seconds) = (0.0, 0.0);
    assert_eq!(shown, expected);
    let density = shown.gaussian.expect("log densities");
    // The status line gives the density on the [0, 1] intensities, the standardised one beside.
    let said = format!(
        "test log-density {:.2} nats on [0, 1] intensities ({:.2} on the standardised data)",
        shown.test_log_likelihood, density.test_standardised
    );
    assert!(harness.query_by_label_contains(&said).is_some(), "the status says {said}");
    harness.get_by_label("Average log-density, nats, of the test images' [0, 1] intensities; bars: ±3σ of AIS");
    // The monitors and histograms are computed for binary models only, and the tab says so.
    harness.get_by_label("The cheap monitors are computed for binary models only.");
    harness.get_by_label("Histograms are computed for binary models only.");
    (harness, shown)
}

#[test]
fn a_small_gaussian_model_is_evaluated_with_exact_log_z_as_the_model_function_does() {
    let (_, evaluation) = gaussian_evaluation_in_the_window(gaussian_snapshot(HIDDEN), |_| {});
    assert!(evaluation.exact && evaluation.raise.is_none(), "{evaluation:?}");
    assert_eq!(evaluation.images, 10_000);
    assert!(evaluation.test_log_likelihood.is_finite(), "{evaluation:?}");
}

#[test]
fn a_larger_gaussian_model_is_evaluated_by_ais_and_its_densities_are_kept_apart() {
    let setup = |app: &mut rbm_lab::app::RbmLabApp| {
        app.quality.paper_schedule = false;
        app.quality.fast_betas = 100;
        app.quality.settings.runs = 16;
        app.quality.settings.images = 500;
        // RAISE is switched on, but a Gaussian model has no RAISE bound to compute.
        app.quality.raise = true;
        app.quality.raise_images = 4;
        // A binary model's evaluation from before: a different quantity, not drawn with the densities.
        app.quality.evaluations.push(Evaluation {
            epoch: 0.1,
            n_hidden: HIDDEN,
            log_z: 100.0,
            log_z_low: 99.0,
            log_z_high: 101.0,
            exact: false,
            test_log_likelihood: -150.0,
            train_log_likelihood: -149.0,
            images: 500,
            runs: 16,
            betas: 100,
            seconds: 1.0,
            raise: None,
            gaussian: None,
        });
    };
    // More hidden units than exact log Z enumerates.
    let n_hidden = rbm_lab::model::gaussian::MAX_EXACT_HIDDEN + 4;
    let (harness, evaluation) = gaussian_evaluation_in_the_window(gaussian_snapshot(n_hidden), setup);
    assert!(!evaluation.exact && evaluation.runs == 16 && evaluation.betas == 100, "{evaluation:?}");
    assert!(evaluation.log_z_low < evaluation.log_z_high && evaluation.raise.is_none(), "{evaluation:?}");
    assert_eq!(evaluation.images, 500);
    harness
        .get_by_label("Not shown: 1 evaluations and 0 runs of binary models' log-likelihoods (a different quantity)");
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
