//! `rbm-lab train --visible gaussian`: a Gaussian–Bernoulli RBM on the dataset's intensities,
//! standardised per pixel with the training set's statistics (recorded in the model file).
//!
//! Reproducible like the binary run: the seed fixes the initialisation, the order of the images
//! (a fresh shuffle each epoch) and the sampling, and the thread count does not change a bit. Its
//! runs do not resume (the file has no training state); a stop signal saves the model where the
//! run is.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::report::{say, say_err};
use super::{TrainArgs, WindowArgs, default_threads, load_dataset};
use crate::cli::signals::StopSignals;
use crate::data::Dataset;
use crate::io::{ModelFile, ModelMetadata, check_destination, save_model};
use crate::model::gaussian::{self, GaussianWorkspace, Standardisation};
use crate::model::{GaussianRbm, MathPool, ModelSpec, Threads};

/// Salts that separate the initialisation, shuffling and sampling streams of one seed.
const INIT_SALT: u64 = 0x4742_5242_4D5F_494E;
const SHUFFLE_SALT: u64 = 0x4742_5242_4D5F_5348;
const CHAIN_SALT: u64 = 0x4742_5242_4D5F_4348;

/// All training images as intensities in [0, 1], row after row.
pub(crate) fn train_intensities(dataset: &Dataset) -> Vec<f32> {
    let nv = dataset.pixels_per_image();
    let mut data = vec![0.0; dataset.train.count * nv];
    data.chunks_exact_mut(nv).enumerate().for_each(|(i, row)| dataset.train_image_f32(i, row));
    data
}

pub(super) fn run_train_gaussian(args: &TrainArgs, window: &WindowArgs) -> Result<ExitCode> {
    if args.resume.is_some() {
        bail!("Gaussian–Bernoulli runs do not resume (their files hold no training state); train anew");
    }
    if args.checkpoint_every.is_some() {
        bail!("--checkpoint-every is not available with --visible gaussian (a stop signal still saves the run)");
    }
    check_destination(&args.out).context("--out")?;
    let config = args.config(&gaussian::default_config());
    let spec = args.spec(&ModelSpec::default());
    gaussian::check_config(&config)?;
    let dataset = Arc::new(load_dataset(window)?);
    let nv = dataset.pixels_per_image();
    spec.validate_with(&config, nv)?;
    let images = dataset.train.count;
    if images == 0 {
        bail!("the training set has no images");
    }
    let threads = Threads(default_threads(window.threads));
    let pool = MathPool::new(threads.0);
    let mut data = train_intensities(&dataset);
    let standardisation = Standardisation::from_data(&data, images, nv);
    standardisation.apply(&mut data);

    let mut init_rng = Xoshiro256PlusPlus::seed_from_u64(spec.seed ^ INIT_SALT);
    let mut model = GaussianRbm::initialised(nv, spec.n_hidden, spec.initialisation, &mut init_rng);
    let batch = config.batch_size.min(images);
    let mut workspace = GaussianWorkspace::new(nv, spec.n_hidden, batch, spec.seed ^ CHAIN_SALT);
    let mut shuffle = Xoshiro256PlusPlus::seed_from_u64(spec.seed ^ SHUFFLE_SALT);
    let mut order: Vec<usize> = (0..images).collect();
    say(&format!(
        "training a Gaussian–Bernoulli RBM {nv}x{} on {} ({images} images, standardised per pixel) for {} epochs, \
         {} {}-{}, lr {}, {}",
        spec.n_hidden,
        dataset.name,
        args.epochs,
        batch,
        crate::cli::command_line_name(config.method),
        config.k,
        config.learning_rate,
        super::threads_phrase(threads.0)
    ));
    let signals = StopSignals::install().context("cannot catch Ctrl+C and termination signals")?;
    let started = std::time::Instant::now();
    let mut samples_seen = 0u64;
    let mut position = 0.0;
    let mut stopped = None;
    'epochs: for epoch in 0..args.epochs {
        order.shuffle(&mut shuffle);
        let (mut error_sum, mut batches) = (0.0, 0usize);
        for (index, rows) in order.chunks(batch).enumerate() {
            if let Some(signal) = signals.received() {
                stopped = Some(signal);
                break 'epochs;
            }
            for (slot, &image) in workspace.data_mut(rows.len()).chunks_exact_mut(nv).zip(rows) {
                slot.copy_from_slice(&data[image * nv..(image + 1) * nv]);
            }
            position = epoch as f64 + (index * batch) as f64 / images as f64;
            let stats = pool.run(|threads| workspace.step(&mut model, &config, rows.len(), position, threads));
            if !model.is_finite() {
                bail!(
                    "training diverged at epoch {position:.3} (learning rate {}): the parameters became NaN or \
                     infinite; Gaussian visibles need a small --lr (try {})",
                    stats.learning_rate,
                    stats.learning_rate / 2.0
                );
            }
            samples_seen += rows.len() as u64;
            error_sum += stats.reconstruction_error;
            batches += 1;
        }
        position = (epoch + 1) as f64;
        say(&format!(
            "epoch {:>3}: reconstruction error {:.4} (mean squared, standardised units)  {:.1} s",
            epoch + 1,
            error_sum / batches.max(1) as f64,
            started.elapsed().as_secs_f64()
        ));
    }
    let metadata = ModelMetadata {
        epochs_trained: position,
        samples_seen,
        ..ModelMetadata::new(dataset.name.clone(), dataset.rows, dataset.cols, config, spec)
    };
    let file = ModelFile::new_gaussian(model, standardisation, metadata);
    save_model(&args.out, &file).with_context(|| format!("could not write {}", args.out.display()))?;
    if let Some(signal) = stopped {
        say_err(&format!("rbm-lab: stopped by {} at epoch {position:.3}: saved {}", signal.name(), args.out.display()));
        return Ok(ExitCode::from(signal.exit_status()));
    }
    say(&format!(
        "saved {} ({} epochs) after {:.1} s",
        args.out.display(),
        args.epochs,
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
