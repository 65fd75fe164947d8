//! `rbm-lab inpaint`: hide part of test images, let a saved model complete them, write a PNG of
//! examples, and score the completions on the binarised test set beside the per-pixel-means
//! baseline.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::signals::StopSignals;
use super::{WindowArgs, default_threads, load_dataset};
use crate::images::{GrayImage, GridLayout, image_grid};
use crate::io::check_destination;
use crate::limits::{MAX_AIS_BETAS, MAX_AIS_RUNS, MAX_AIS_STATE_VALUES, MAX_CHAIN_VALUES};
use crate::model::ais::{AisConfig, BetaSchedule};
use crate::model::inpaint::{
    CompletionConfig, CompletionMode, CompletionSampler, Half, InpaintError, InpaintScore, Mask, ScorePhase,
    ScoreSettings, StartFill, score_completion,
};
use crate::model::{MathPool, Threads};
use crate::quality::{BINARISATION_SEED, binarised_subset};

/// Examples in the PNG: as many as `rbm-lab sample` draws chains.
const MAX_EXAMPLES: usize = 1000;

/// Values of the binarised images scored, images x visible (2^24, 64 MiB of f32): the whole MNIST
/// test set takes 7.8 million. The completion itself runs in parts of bounded size.
const MAX_SCORE_VALUES: usize = 1 << 24;

#[derive(Args, Debug)]
pub struct InpaintArgs {
    /// A model saved by rbm-lab (safetensors).
    pub model: PathBuf,
    /// The hidden pixels: bottom-half, top-half, left-half, right-half, random:FRACTION (that
    /// fraction of the pixels, drawn for each image) or box:X,Y,W,H (W x H pixels from column X,
    /// row Y).
    #[arg(long)]
    pub mask: String,
    /// clamped Gibbs sampling of p(v_u | v_k), mean-field iteration to a fixed point, or free
    /// (unclamped) Gibbs chains from the same start, for comparison.
    #[arg(long, value_enum, default_value_t = ModeArg::Gibbs)]
    pub mode: ModeArg,
    /// Steps (for mean-field, the most: it stops when every image has converged).
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Gibbs steps left out of the completion's average (default: a tenth of --steps).
    #[arg(long)]
    pub burn_in: Option<u64>,
    /// Mean-field damping: the fraction of the old value kept at each iteration (0 to below 1).
    #[arg(long, default_value_t = 0.0)]
    pub damping: f32,
    /// Mean-field tolerance: converged when one more iteration moves no hidden pixel by this much.
    #[arg(long, default_value_t = 1e-4)]
    pub tolerance: f32,
    /// Test images in the PNG (one of each class in turn).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// The PNG to write: per example the original, the input (hidden pixels chequered) and the
    /// completion.
    #[arg(long)]
    pub out: PathBuf,
    /// Binarised test images to score (0: no score).
    #[arg(long, default_value_t = 1000)]
    pub score_images: usize,
    /// How many of them (the first) also get log p(v_u | v_k); each needs its own AIS when both of
    /// the conditional model's layers are over 20 units.
    #[arg(long, default_value_t = 100)]
    pub log_prob_images: usize,
    /// AIS runs per image.
    #[arg(long, default_value_t = 100)]
    pub ais_runs: usize,
    /// Equally spaced inverse temperatures of each image's AIS.
    #[arg(long, default_value_t = 300)]
    pub ais_betas: usize,
    /// Seed of the chains, the random masks and the AIS runs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ModeArg {
    /// Clamped Gibbs sampling: the true conditional p(v_u | v_k).
    Gibbs,
    /// Mean-field iteration of p(v_u | h) to a fixed point (deterministic).
    MeanField,
    /// Unclamped Gibbs chains from the same start.
    Free,
}

impl From<ModeArg> for CompletionMode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Gibbs => CompletionMode::ClampedGibbs,
            ModeArg::MeanField => CompletionMode::MeanField,
            ModeArg::Free => CompletionMode::Free,
        }
    }
}

/// A parsed `--mask`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaskSpec {
    Half(Half),
    /// This fraction of the pixels hidden, drawn for each image.
    Random(f64),
    Box {
        x: usize,
        y: usize,
        width: usize,
        height: usize,
    },
}

impl MaskSpec {
    /// Reads `bottom-half`, `top-half`, `left-half`, `right-half`, `random:FRACTION` (0 < FRACTION
    /// ≤ 1) or `box:X,Y,W,H`.
    pub fn parse(spec: &str) -> Result<Self> {
        let expected = "expected bottom-half, top-half, left-half, right-half, random:FRACTION or box:X,Y,W,H";
        Ok(match spec {
            "bottom-half" => Self::Half(Half::Bottom),
            "top-half" => Self::Half(Half::Top),
            "left-half" => Self::Half(Half::Left),
            "right-half" => Self::Half(Half::Right),
            _ => {
                if let Some(fraction) = spec.strip_prefix("random:") {
                    match fraction.parse::<f64>() {
                        Ok(f) if f > 0.0 && f <= 1.0 => Self::Random(f),
                        _ => bail!("--mask {spec}: the fraction of hidden pixels must be above 0 and at most 1"),
                    }
                } else if let Some(numbers) = spec.strip_prefix("box:") {
                    let numbers: Vec<usize> = numbers
                        .split(',')
                        .map(|n| n.trim().parse())
                        .collect::<Result<_, _>>()
                        .ok()
                        .filter(|n: &Vec<usize>| n.len() == 4)
                        .with_context(|| format!("--mask {spec}: a box is four whole numbers X,Y,W,H"))?;
                    Self::Box { x: numbers[0], y: numbers[1], width: numbers[2], height: numbers[3] }
                } else {
                    bail!("--mask {spec}: {expected}");
                }
            }
        })
    }

    /// Hidden pixels of one `rows x cols` image's mask (for random masks, the number each has).
    fn hidden_pixels(&self, rows: usize, cols: usize) -> Result<usize> {
        Ok(self.masks(rows, cols, 1, &mut Xoshiro256PlusPlus::seed_from_u64(0))?[0].hidden_count())
    }

    /// The masks of `count` images: one for all, or one drawn per image from `rng`.
    fn masks(&self, rows: usize, cols: usize, count: usize, rng: &mut Xoshiro256PlusPlus) -> Result<Vec<Mask>> {
        Ok(match *self {
            Self::Half(half) => vec![Mask::hide_half(rows, cols, half)],
            Self::Box { x, y, width, height } => {
                vec![Mask::hide_box(rows, cols, x, y, width, height).context("--mask")?]
            }
            Self::Random(fraction) => (0..count)
                .map(|_| Mask::hide_random_with(rows * cols, fraction, rng))
                .collect::<Result<_, InpaintError>>()
                .context("--mask")?,
        })
    }
}

/// Checks what needs no file, so that a wrong flag costs nothing.
fn check_arguments(args: &InpaintArgs) -> Result<MaskSpec> {
    let spec = MaskSpec::parse(&args.mask)?;
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    if args.count == 0 || args.count > MAX_EXAMPLES {
        bail!("--count must be between 1 and {MAX_EXAMPLES}");
    }
    if !(0.0..1.0).contains(&args.damping) {
        bail!("--damping must be at least 0 and below 1 (got {})", args.damping);
    }
    if !(args.tolerance > 0.0 && args.tolerance.is_finite()) {
        bail!("--tolerance must be a positive number (got {})", args.tolerance);
    }
    if args.burn_in.is_some_and(|b| b >= args.steps) && args.mode != ModeArg::MeanField {
        bail!("--burn-in must be below --steps, or nothing is averaged");
    }
    if !(2..=MAX_AIS_RUNS).contains(&args.ais_runs) {
        bail!("--ais-runs must be between 2 and {MAX_AIS_RUNS} (the interval needs a spread)");
    }
    if !(2..=MAX_AIS_BETAS).contains(&args.ais_betas) {
        bail!("--ais-betas must be between 2 and {MAX_AIS_BETAS}");
    }
    Ok(spec)
}

/// Checks the sizes that depend on the model against the limits before anything is allocated.
fn check_sizes(args: &InpaintArgs, visible: usize, hidden: usize, hidden_pixels: usize) -> Result<()> {
    let example_values = args.count.saturating_mul(visible.saturating_add(hidden));
    if example_values > MAX_CHAIN_VALUES {
        bail!(
            "{} examples on a {visible}x{hidden} model need {example_values} values; the limit is \
             {MAX_CHAIN_VALUES}: use a smaller --count",
            args.count
        );
    }
    if args.score_images.saturating_mul(visible) > MAX_SCORE_VALUES {
        bail!(
            "--score-images {} of {visible} pixels is over the limit of {MAX_SCORE_VALUES} pixels in all: \
             score at most {} images",
            args.score_images,
            MAX_SCORE_VALUES / visible.max(1)
        );
    }
    let ais_values = args.ais_runs.saturating_mul(hidden_pixels.saturating_add(2 * hidden));
    if ais_values > MAX_AIS_STATE_VALUES {
        bail!(
            "{} AIS runs on {hidden_pixels} hidden pixels and {hidden} hidden units need {ais_values} values of \
             state; the limit is {MAX_AIS_STATE_VALUES}: use fewer --ais-runs",
            args.ais_runs
        );
    }
    Ok(())
}

pub fn run_inpaint(args: &InpaintArgs, window: &WindowArgs) -> Result<ExitCode> {
    let spec = check_arguments(args)?;
    check_destination(&args.out).context("--out")?;
    let model = crate::io::load_model(&args.model).with_context(|| format!("cannot load {}", args.model.display()))?;
    model.require_binary("`rbm-lab inpaint`")?;
    let rbm = &model.rbm;
    let (rows, cols) = (model.metadata.image_rows, model.metadata.image_cols);
    let (nv, nh) = (rbm.n_visible(), rbm.n_hidden());
    if rows.checked_mul(cols) != Some(nv) {
        bail!("the model's metadata says {rows}x{cols} images but it has {nv} visible units");
    }
    let hidden_pixels = spec.hidden_pixels(rows, cols)?;
    check_sizes(args, nv, nh, hidden_pixels)?;
    let dataset = load_dataset(window)?;
    if dataset.pixels_per_image() != nv {
        bail!("the dataset's images have {} pixels but the model has {nv} visible units", dataset.pixels_per_image());
    }
    if dataset.test.count == 0 {
        bail!("the dataset has no test images to complete");
    }
    let threads = default_threads(window.threads);
    let pixel_means = dataset.train_pixel_means();
    let burn_in = args.burn_in.unwrap_or(args.steps / 10);
    let config = CompletionConfig {
        mode: args.mode.into(),
        seed: args.seed,
        fill: StartFill::PerPixel(pixel_means.clone()),
        burn_in,
        damping: args.damping,
        tolerance: args.tolerance,
    };
    let signals = StopSignals::install().context("cannot catch Ctrl+C and termination signals")?;
    let cancelled = |signals: &StopSignals| {
        let signal = signals.received()?;
        let _ =
            writeln!(std::io::stderr(), "rbm-lab: inpainting cancelled by {}; nothing more was written", signal.name());
        Some(ExitCode::from(signal.exit_status()))
    };

    println!(
        "model {} ({nv}x{nh}, {:.2} epochs on {}); hidden pixels: {} ({hidden_pixels} of {nv}{})",
        args.model.display(),
        model.metadata.epochs_trained,
        model.metadata.dataset,
        args.mask,
        if matches!(spec, MaskSpec::Random(_)) { ", drawn for each image" } else { "" }
    );
    println!("{}", describe_completion(&config, args.steps));

    // The examples: test digits as they are (intensities), one of each class in turn.
    let originals = dataset.test_digits(args.count.min(dataset.test.count));
    let examples = originals.len() / nv;
    let masks = spec.masks(rows, cols, examples, &mut Xoshiro256PlusPlus::seed_from_u64(args.seed))?;
    let mut sampler = CompletionSampler::new(rbm, originals.clone(), masks, config.clone())?;
    let pool = MathPool::new(threads);
    for _ in 0..args.steps {
        pool.run(|t| sampler.step(t));
        if let Some(status) = cancelled(&signals) {
            return Ok(status);
        }
        if sampler.converged() {
            break;
        }
    }
    let inputs: Vec<f32> = (0..examples)
        .flat_map(|e| hidden_pixels_chequered(&originals[e * nv..(e + 1) * nv], sampler.mask(e), cols))
        .collect();
    let image = comparison_grid([&originals, &inputs, sampler.estimate()], examples, rows, cols);
    crate::io::export::write_png_gray(&args.out, image.width as u32, image.height as u32, &image.pixels)?;
    println!(
        "wrote {}: {examples} test {}, each as original / input (hidden pixels chequered) / completion",
        args.out.display(),
        crate::data::known::image_noun(&dataset.name)
    );

    if args.score_images == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    let (binary, scored) = binarised_subset(&dataset.test, args.score_images, BINARISATION_SEED);
    // The same stream as the examples' masks: test image i gets the same random mask in both.
    let masks = spec.masks(rows, cols, scored, &mut Xoshiro256PlusPlus::seed_from_u64(args.seed))?;
    let settings = ScoreSettings {
        completion: config,
        steps: args.steps,
        log_prob_images: args.log_prob_images,
        ais: AisConfig {
            runs: args.ais_runs,
            schedule: BetaSchedule::uniform(args.ais_betas)?,
            seed: args.seed,
            threads: Threads(threads),
        },
    };
    let bar = indicatif::ProgressBar::new(1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {percent}% {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = score_completion(rbm, &binary, &masks, &pixel_means, &settings, &mut |phase, fraction| {
        bar.set_message(match phase {
            ScorePhase::Completion => "completing",
            ScorePhase::LogProbability => "log p(v_u | v_k)",
        });
        bar.set_position((fraction * 1000.0) as u64);
        signals.received().is_none()
    });
    bar.finish_and_clear();
    if let Some(status) = cancelled(&signals) {
        return Ok(status);
    }
    print_score(&result?, &settings, args.tolerance);
    Ok(ExitCode::SUCCESS)
}

fn describe_completion(config: &CompletionConfig, steps: u64) -> String {
    match config.mode {
        CompletionMode::MeanField => format!(
            "completion: mean-field, at most {steps} iterations, damping {}, tolerance {:e}",
            config.damping, config.tolerance
        ),
        mode => format!(
            "completion: {}, hidden pixels starting at the training pixel means, {steps} steps, p(v|h) averaged \
             after a burn-in of {}",
            if mode == CompletionMode::Free {
                "free Gibbs chains (every pixel resampled)"
            } else {
                "clamped Gibbs sampling"
            },
            config.burn_in
        ),
    }
}

fn print_score(score: &InpaintScore, settings: &ScoreSettings, tolerance: f32) {
    println!("score on {} binarised test images ({} hidden pixels in all):", score.images, score.hidden_pixels);
    if let Some(converged) = score.converged_images {
        println!(
            "  mean-field: {converged} of {} images at a fixed point (tolerance {tolerance:e}) after {} iterations",
            score.images, score.steps
        );
    }
    println!(
        "  mean |completion - original| per hidden pixel: {:.4}   (per-pixel means: {:.4})",
        score.error, score.baseline_error
    );
    if let Some(lp) = &score.log_prob {
        let interval = if lp.exact { String::new() } else { format!(" [{:.2}, {:.2}]", lp.low, lp.high) };
        println!(
            "  average log p(v_u | v_k): {:.2} nats{interval}   (per-pixel means: {:.2} nats), first {} images",
            lp.mean, lp.baseline, lp.images
        );
        if lp.exact {
            println!("    (exact: log Z of each image's conditional RBM by enumerating its smaller layer)");
        } else {
            println!(
                "    (AIS on each image's conditional RBM, from the completion's marginals, {} runs x {} betas; \
                 ±3σ of the mean from the images' standard errors)",
                settings.ais.runs,
                settings.ais.schedule.len()
            );
        }
    }
}

/// The image with its hidden pixels drawn as a grey checkerboard of 2x2 squares (0.35 and 0.65), so
/// that they differ from any stroke or background.
fn hidden_pixels_chequered(image: &[f32], mask: &Mask, cols: usize) -> Vec<f32> {
    image
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if !mask.is_hidden(i) {
                return x;
            }
            let (r, c) = (i / cols.max(1), i % cols.max(1));
            if (r / 2 + c / 2) % 2 == 0 { 0.35 } else { 0.65 }
        })
        .collect()
}

/// Examples per row of the PNG.
const EXAMPLES_PER_ROW: usize = 10;

/// Groups of three rows for up to ten examples each: the images of `sources[0]`, `[1]` and `[2]`
/// (`count` images of `rows x cols` each) one above the other.
fn comparison_grid(sources: [&[f32]; 3], count: usize, rows: usize, cols: usize) -> GrayImage {
    let pixels = rows * cols;
    let per_row = count.clamp(1, EXAMPLES_PER_ROW);
    let groups = count.div_ceil(per_row);
    let mut tiles = vec![0.0; 3 * groups * per_row * pixels];
    for example in 0..count {
        let (group, column) = (example / per_row, example % per_row);
        for (source_index, source) in sources.iter().enumerate() {
            let tile = (3 * group + source_index) * per_row + column;
            tiles[tile * pixels..(tile + 1) * pixels]
                .copy_from_slice(&source[example * pixels..(example + 1) * pixels]);
        }
    }
    image_grid(&tiles, rows, cols, &GridLayout::with_columns(3 * groups * per_row, per_row, cols, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_specs_parse_and_refuse_bad_ones() {
        assert_eq!(MaskSpec::parse("bottom-half").unwrap(), MaskSpec::Half(Half::Bottom));
        assert_eq!(MaskSpec::parse("left-half").unwrap(), MaskSpec::Half(Half::Left));
        assert_eq!(MaskSpec::parse("random:0.25").unwrap(), MaskSpec::Random(0.25));
        assert_eq!(MaskSpec::parse("box:3,4,10,12").unwrap(), MaskSpec::Box { x: 3, y: 4, width: 10, height: 12 });
        for bad in [
            "",
            "middle",
            "random:",
            "random:0",
            "random:1.5",
            "random:nan",
            "box:1,2,3",
            "box:1,2,3,-4",
            "box:a,b,c,d",
        ] {
            let error = MaskSpec::parse(bad).expect_err(bad).to_string();
            assert!(error.starts_with("--mask") && !error.contains('\n'), "{bad}: {error}");
        }
        // A box is checked against the image once its size is known.
        let outside = MaskSpec::parse("box:20,20,10,10").unwrap();
        assert!(outside.hidden_pixels(28, 28).is_err());
        assert_eq!(MaskSpec::parse("box:20,20,8,8").unwrap().hidden_pixels(28, 28).unwrap(), 64);
    }

    #[test]
    fn the_grid_puts_original_input_and_completion_in_three_rows() {
        let (rows, cols) = (2, 2);
        let sources: [Vec<f32>; 3] = [vec![1.0; 8], vec![0.5; 8], vec![0.0; 8]];
        let image = comparison_grid([&sources[0], &sources[1], &sources[2]], 2, rows, cols);
        let layout = GridLayout::with_columns(6, 2, cols, rows);
        assert_eq!((image.width, image.height), (layout.width(), layout.height()));
        for (tile, want) in [(0, 255), (1, 255), (2, 128), (3, 128), (4, 0), (5, 0)] {
            let (x, y) = layout.origin(tile);
            assert_eq!(image.pixels[y * image.width + x], want, "tile {tile}");
        }
    }
}
