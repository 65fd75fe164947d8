//! `rbm-lab sample`: Gibbs chains on a saved model, written as a PNG grid.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};

use super::{WindowArgs, load_dataset};
use crate::images::{GrayImage, GridLayout, chain_grid, image_grid};
use crate::model::labels::{ChainClamp, LabelledChains};
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
    /// every chain draws that class ("draw a 7"), or `all`: `--count` chains for each class, one
    /// row of samples per class. Without it the label is sampled with the image.
    #[arg(long)]
    pub class: Option<ClassArg>,
}

/// `--class`: one class, or every class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassArg {
    One(usize),
    All,
}

impl FromStr for ClassArg {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("all") {
            return Ok(ClassArg::All);
        }
        text.parse().map(ClassArg::One).map_err(|_| format!("`{text}` is neither a class number nor `all`"))
    }
}

impl std::fmt::Display for ClassArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassArg::One(class) => write!(f, "{class}"),
            ClassArg::All => f.write_str("all"),
        }
    }
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
            Some(labels) => match class {
                ClassArg::One(class) => labels.check_class(class).context("--class")?,
                ClassArg::All => {}
            },
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
    // With every class: `--count` chains of each, chain i drawing class i mod C.
    let classes = match (&model.labels, args.class) {
        (Some(labels), Some(ClassArg::All)) => Some(labels.classes()),
        _ => None,
    };
    let count = args.count * classes.unwrap_or(1);
    crate::limits::check_chains(count, nv, model.rbm.n_hidden())?;
    let start = match args.start {
        StartArg::Noise => {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(args.seed);
            (0..count * nv).map(|_| rng.random::<f32>()).collect()
        }
        StartArg::TestDigits => {
            let dataset = load_dataset(window)?;
            if dataset.pixels_per_image() != nv {
                bail!(
                    "the dataset's images have {} pixels but the model has {nv} visible units",
                    dataset.pixels_per_image()
                );
            }
            // Test image i is of class i mod 10: with every class drawn, a chain of a class up
            // to 9 starts from an image of its class.
            dataset.test_digits(count)
        }
    };
    // The chains run here, on the main thread: in the math threads' floating-point mode.
    crate::model::SubnormalMode::configured().apply_here();
    let image = match &model.labels {
        Some(labels) => {
            let clamp = match args.class {
                None => ChainClamp::Free,
                Some(ClassArg::One(class)) => ChainClamp::Class(class),
                Some(ClassArg::All) => ChainClamp::EachClass,
            };
            let mut chains = LabelledChains::new(start, nv, labels, clamp, args.seed)?;
            for _ in 0..args.steps {
                chains.step(&model.rbm, labels, args.sampling, args.noise);
            }
            match classes {
                Some(classes) => rows_per_class(chains.mean_images(), classes, args.count, rows, cols),
                None => chain_grid(chains.start_images(), chains.mean_images(), args.count, rows, cols),
            }
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
    let out = args.out.display();
    match (args.class, classes) {
        (Some(ClassArg::All), Some(classes)) => println!(
            "wrote {out} ({} chains of each of {classes} classes after {} Gibbs steps, one row per class)",
            args.count, args.steps
        ),
        _ => {
            let clamped = args.class.map_or(String::new(), |class| format!(", label clamped to class {class}"));
            println!("wrote {out} ({} chains after {} Gibbs steps{clamped})", args.count, args.steps);
        }
    }
    Ok(())
}

/// The current images of `classes x per_class` chains, chain i drawing class i mod `classes`, as
/// one row per class: row c holds chains c, c + C, c + 2C, …
fn rows_per_class(images: &[f32], classes: usize, per_class: usize, rows: usize, cols: usize) -> GrayImage {
    let pixels = rows * cols;
    let mut tiles = Vec::with_capacity(classes * per_class * pixels);
    for class in 0..classes {
        for k in 0..per_class {
            let chain = k * classes + class;
            tiles.extend_from_slice(&images[chain * pixels..(chain + 1) * pixels]);
        }
    }
    image_grid(&tiles, rows, cols, &GridLayout::with_columns(classes * per_class, per_class, cols, rows))
}
