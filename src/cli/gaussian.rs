//! `rbm-lab eval` and `rbm-lab sample` on a Gaussian–Bernoulli model.
//!
//! eval: [`evaluate_gaussian`], the window's evaluation too: log Z exactly for small hidden layers,
//! else by AIS from the model without weights; the average log density of test and training images
//! in nats, on the [0, 1] intensities (the standardised density plus ln |Jacobian| = −Σ ln s_i) and
//! on the standardised data the model sees. Densities of real-valued images are not comparable with the probabilities
//! of binarised MNIST that binary models' log-likelihoods measure.
//! sample: Gaussian Gibbs chains; the images are the means b + W h of the last step, un-standardised
//! and clipped to [0, 1].

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use super::eval::EvalArgs;
use super::sample::{SampleArgs, StartArg};
use super::signals::StopSignals;
use super::{WindowArgs, default_threads, load_dataset};
use crate::images::chain_grid;
use crate::io::ModelFile;
use crate::model::Threads;
use crate::model::eval::EvalError;
use crate::model::gaussian::{GaussianChains, Standardisation, reconstruction_error};
use crate::quality::{EvaluationSettings, evaluate_gaussian, standardised_images};

pub(super) fn eval_gaussian(args: &EvalArgs, window: &WindowArgs, file: &ModelFile) -> Result<ExitCode> {
    let Some((model, standardisation)) = file.gaussian_model() else {
        bail!("the model file's Gaussian parameters are unusable");
    };
    let dataset = load_dataset(window)?;
    let nv = model.n_visible();
    if dataset.pixels_per_image() != nv {
        bail!("the model has {nv} visible units but the dataset's images have {} pixels", dataset.pixels_per_image());
    }
    let settings = EvaluationSettings {
        runs: args.runs,
        betas: args.betas,
        images: args.images,
        seed: args.seed,
        threads: default_threads(window.threads),
        raise_images: 0,
        raise_runs: args.raise_runs,
    };
    let started = Instant::now();
    let signals = StopSignals::install().context("cannot catch Ctrl+C and termination signals")?;
    let bar = indicatif::ProgressBar::new(1000);
    let result =
        evaluate_gaussian(&model, standardisation, &dataset, file.metadata.epochs_trained, &settings, &mut |f| {
            bar.set_position((f * 1000.0) as u64);
            signals.received().is_none()
        });
    bar.finish_and_clear();
    let e = match result {
        Err(EvalError::Cancelled) => {
            let _ = writeln!(std::io::stderr(), "rbm-lab: evaluation cancelled; nothing was measured");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    let Some(density) = e.gaussian else { bail!("the evaluation of a Gaussian model gave no densities") };
    let how = if e.exact {
        "exact, by enumerating the hidden layer".to_owned()
    } else {
        format!(
            "AIS, {} runs, {} inverse temperatures, ±3σ interval [{:.4}, {:.4}]",
            e.runs, e.betas, e.log_z_low, e.log_z_high
        )
    };
    println!(
        "model {} (Gaussian–Bernoulli {}x{}, {:.2} epochs on {})",
        args.model.display(),
        nv,
        model.n_hidden(),
        file.metadata.epochs_trained,
        file.metadata.dataset
    );
    println!("log Z = {:.4} ({how}; standardised units)", e.log_z);
    println!(
        "test  log-density: {:.2} nats on [0, 1] intensities ({:.2} on the standardised data)  ({} test images)",
        e.test_log_likelihood, density.test_standardised, e.images
    );
    println!(
        "train log-density: {:.2} nats on [0, 1] intensities ({:.2} on the standardised data)  ({} training \
         images)",
        e.train_log_likelihood,
        density.train_standardised,
        args.images.min(dataset.train.count)
    );
    let threads = Threads(settings.threads);
    let test = standardised_images(&dataset.test, standardisation, e.images);
    println!(
        "test reconstruction error: {:.4} (mean squared, standardised units)",
        reconstruction_error(&model, &test, e.images, threads)
    );
    println!(
        "(densities of real-valued images, not comparable with binary models' log-likelihoods of binarised images)"
    );
    println!("evaluated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn sample_gaussian(args: &SampleArgs, window: &WindowArgs, file: &ModelFile) -> Result<()> {
    let Some((model, standardisation)) = file.gaussian_model() else {
        bail!("the model file's Gaussian parameters are unusable");
    };
    let (rows, cols) = (file.metadata.image_rows, file.metadata.image_cols);
    let nv = model.n_visible();
    crate::limits::check_chains(args.count, nv, model.n_hidden())?;
    let start = match args.start {
        StartArg::Noise => {
            // Standard normal in standardised units: noise with the data's per-pixel mean and spread.
            use rand::SeedableRng;
            use rand_distr::{Distribution, StandardNormal};
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(args.seed);
            (0..args.count * nv).map(|_| StandardNormal.sample(&mut rng)).collect()
        }
        StartArg::TestDigits => {
            let dataset = load_dataset(window)?;
            if dataset.pixels_per_image() != nv {
                bail!(
                    "the dataset's images have {} pixels but the model has {nv} visible units",
                    dataset.pixels_per_image()
                );
            }
            let mut digits = dataset.test_digits(args.count);
            standardisation.apply(&mut digits);
            digits
        }
    };
    let mut chains = GaussianChains::new(start, nv, model.n_hidden(), args.seed);
    crate::model::SubnormalMode::configured().apply_here();
    let threads = Threads(default_threads(window.threads));
    for _ in 0..args.steps {
        chains.step(&model, threads);
    }
    let shown = |values: &[f32], standardisation: &Standardisation| {
        let mut images = values.to_vec();
        standardisation.undo_for_display(&mut images);
        images
    };
    let image = chain_grid(
        &shown(chains.start(), standardisation),
        &shown(chains.means(), standardisation),
        args.count,
        rows,
        cols,
    );
    crate::io::export::write_png_gray(&args.out, image.width as u32, image.height as u32, &image.pixels)?;
    println!(
        "wrote {} ({} Gaussian chains after {} Gibbs steps; the means b + W h, un-standardised)",
        args.out.display(),
        args.count,
        args.steps
    );
    Ok(())
}
