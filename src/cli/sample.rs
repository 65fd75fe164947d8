//! `rbm-lab sample`: Gibbs chains on a saved model, written as a PNG grid.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};

use super::{WindowArgs, load_dataset};
use crate::images::chain_grid;
use crate::model::labels::LabelledChains;
use crate::model::{GibbsChains, VisibleSampling};

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// A model saved by rbm-lab (safetensors).
    pub model: PathBuf,
    /// Gibbs steps per chain.
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of chains.
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Start from test digits or from noise.
    #[arg(long, value_enum, default_value_t = StartArg::TestDigits)]
    pub start: StartArg,
    /// How the chains produce visibles (Bernoulli: true Gibbs sampling of the RBM).
    #[arg(long, value_enum, default_value_t = VisibleSampling::Bernoulli)]
    pub sampling: VisibleSampling,
    /// Noise for tutorial sampling.
    #[arg(long, default_value_t = 0.1)]
    pub noise: f32,
    /// Seed of the chains' random numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// For a model with label units (`train --labels`): clamp the label to this class, so that
    /// every chain draws that class ("draw a 7"). Without it the label is sampled with the image.
    #[arg(long)]
    pub class: Option<usize>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum StartArg {
    TestDigits,
    Noise,
}

pub fn run_sample(args: &SampleArgs, window: &WindowArgs) -> Result<()> {
    // The arguments first, so that a wrong number is reported before anything is read.
    if args.count == 0 || args.count > 1000 {
        bail!("--count must be between 1 and 1000");
    }
    if !(args.noise.is_finite() && (0.0..=10.0).contains(&args.noise)) {
        bail!("--noise must be a finite number between 0 and 10 (got {})", args.noise);
    }
    let model =
        crate::io::load_labelled_model(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    if let Some(class) = args.class {
        match &model.labels {
            Some(labels) => labels.check_class(class).context("--class")?,
            None => bail!(
                "--class {class}: {} has no label units, so its chains cannot be clamped to a class; train one \
                 with `rbm-lab train --labels`",
                args.model.display()
            ),
        }
    }
    if model.gaussian.is_some() {
        return super::gaussian::sample_gaussian(args, window, &model);
    }
    let (rows, cols) = (model.metadata.image_rows, model.metadata.image_cols);
    let nv = model.rbm.n_visible();
    if rows * cols != nv {
        bail!("the model's metadata says {rows}x{cols} images but it has {nv} visible units");
    }
    crate::limits::check_chains(args.count, nv, model.rbm.n_hidden())?;
    let start = match args.start {
        StartArg::Noise => {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(args.seed);
            (0..args.count * nv).map(|_| rng.random::<f32>()).collect()
        }
        StartArg::TestDigits => {
            let dataset = load_dataset(window.data.as_deref())?;
            if dataset.pixels_per_image() != nv {
                bail!(
                    "the dataset's images have {} pixels but the model has {nv} visible units",
                    dataset.pixels_per_image()
                );
            }
            dataset.test_digits(args.count)
        }
    };
    // The chains run here, on the main thread: in the math threads' floating-point mode.
    crate::model::SubnormalMode::configured().apply_here();
    let image = match &model.labels {
        Some(labels) => {
            let mut chains = LabelledChains::new(start, nv, labels, args.class, args.seed)?;
            for _ in 0..args.steps {
                chains.step(&model.rbm, labels, args.sampling, args.noise);
            }
            chain_grid(chains.start_images(), chains.mean_images(), args.count, rows, cols)
        }
        None => {
            let mut chains = GibbsChains::new(start, nv, model.rbm.n_hidden(), args.seed);
            for _ in 0..args.steps {
                chains.step(&model.rbm, args.sampling, args.noise);
            }
            chain_grid(chains.start_images(), chains.mean_images(), args.count, rows, cols)
        }
    };
    crate::io::export::write_png_gray(&args.out, image.width as u32, image.height as u32, &image.pixels)?;
    let clamped = args.class.map_or(String::new(), |class| format!(", label clamped to class {class}"));
    println!("wrote {} ({} chains after {} Gibbs steps{clamped})", args.out.display(), args.count, args.steps);
    Ok(())
}
