//! Every size rbm-lab accepts from input (files, command line, the window), in one place.
//!
//! Each value allows every real use (MNIST, EMNIST, 256x256 images, 4,096 hidden units on 784
//! pixels, batches of 60,000 with 256 hidden units, 10,000 AIS runs on 784x500) and keeps the
//! memory any one of them can ask for far below what a 4-8 GiB machine has, so that a wrong
//! number or a damaged file ends in a message, never in an abort. Sizes that come from input are
//! checked against these before anything is allocated for them; the checks below say the value
//! and the limit.

use thiserror::Error;

/// Pixels in one image (rows x cols = visible units). Four times 256x256, the largest images an
/// RBM lab is used with; the per-image buffers (Gibbs chains, monitors, evaluation chunks) are
/// sized from it.
pub const MAX_IMAGE_PIXELS: usize = 512 * 512;

/// Weights in a model, visible x hidden (2^25). At 4 bytes each, one copy of W takes 128 MiB, and
/// training holds about four (the model, its last finite copy, Wᵀ and the momentum), so a model at
/// the limit trains in ~0.5 GiB. 4,096 hidden units on 784 pixels take a tenth of it; 256x256
/// images allow 512 hidden units.
pub const MAX_PARAMETERS: usize = 1 << 25;

/// Hidden units of a model. Far more than any RBM on these images uses; [`MAX_PARAMETERS`] is the
/// binding limit except for tiny images.
pub const MAX_HIDDEN_UNITS: usize = 100_000;

/// Bytes of the training buffers (batch and chain states, Wᵀ, momentum, the model and its last
/// finite copy; see `CdWorkspace::training_bytes`). Batches of 60,000 MNIST images with 256 hidden
/// units, the largest real use, take ~0.94 GB; 1.5 GiB leaves room for the dataset and the window
/// on a 4 GiB machine.
pub const MAX_TRAINING_BYTES: u64 = 3 << 29;

/// Gibbs steps per update. Beyond a thousand, CD-k is so slow that PCD is the better tool.
pub const MAX_K: usize = 1000;

/// Images per update and PCD fantasy particles: the size of MNIST's training set, the largest
/// batch that is still one pass over the data.
pub const MAX_BATCH: usize = 60_000;

/// Inverse temperatures of a parallel-tempering ladder. The literature uses 10 to 50 (Desjardins
/// et al. 2010, Cho et al. 2010); each costs a Gibbs step per particle and update, and beyond a
/// hundred the swaps between the ends take longer than training lets the chains run. The chains,
/// particles x temperatures, count against [`MAX_BATCH`] like PCD's particles.
pub const MAX_TEMPERATURES: usize = 100;

/// Largest learning rate: the top of the window's slider. Larger steps saturate every sigmoid or
/// overflow the weights within a batch or two, so they can only ruin a model.
pub const MAX_LEARNING_RATE: f32 = 10.0;

/// Independent AIS runs. Ten times the largest real use (10,000 runs); the interval narrows as
/// 1/√runs, so more buys nothing measurable.
pub const MAX_AIS_RUNS: usize = 100_000;

/// Inverse temperatures of an AIS schedule (8 MB of f64). About 69 times the paper's 14,501.
pub const MAX_AIS_BETAS: usize = 1_000_000;

/// AIS state in f32 values: runs x (visible + 2 x hidden) (each run's visible state, hidden inputs
/// and hidden sample), 2^26 values = 256 MiB. 10,000 runs on 784x500 take 17.8 million.
pub const MAX_AIS_STATE_VALUES: usize = 1 << 26;

/// Gibbs chains x (visible + hidden) for `rbm-lab sample` (2^24 values, 64 MiB per buffer): 1,000
/// chains on 784x500 take 1.3 million.
pub const MAX_CHAIN_VALUES: usize = 1 << 24;

/// Training samples a model file may say it has seen: a million samples per second for 30 years,
/// and below 2^53, so the count is exact as an f64 and never overflows when added to.
pub const MAX_SAMPLES_SEEN: u64 = 1_000_000_000_000_000;

/// Epochs a model file may say it was trained for: [`MAX_SAMPLES_SEEN`] as epochs of one image,
/// so no run can reach it, and an epoch count turned into an integer, or added to, stays exact
/// and far from overflowing.
pub const MAX_EPOCHS_TRAINED: f64 = 1e15;

/// Bytes of a model file's JSON header. rbm-lab writes a few KB; 16 MiB leaves room for other
/// tools' metadata and many extra tensors, while parsing it stays a small allocation.
pub const MAX_MODEL_HEADER_BYTES: u64 = 16 << 20;

/// Bytes of a model file's tensor data: eight times the weights of a model at [`MAX_PARAMETERS`],
/// room for optional sections (such as a saved training state) beside W and the biases.
pub const MAX_MODEL_DATA_BYTES: u64 = 1 << 30;

/// Dimensions of one tensor in a model file; rbm-lab's are 1-D and 2-D.
pub const MAX_TENSOR_DIMENSIONS: usize = 8;

/// Data bytes one IDX file may declare (2 GiB), which also bounds how far a gzip stream is
/// decompressed. Full EMNIST, the largest MNIST-like set, is about 0.6 GB.
pub const MAX_IDX_DATA_BYTES: u64 = 2 << 30;

/// Threads for training and evaluations: more than any desktop has cores; each thread reserves a
/// stack, so an absurd count would exhaust memory before doing any work.
pub const MAX_THREADS: usize = 1024;

/// Longest interval, in seconds, of `--stats-every` (one day).
pub const MAX_STATS_INTERVAL_SECONDS: f64 = 86_400.0;

/// Gibbs chains the window runs at once: the trainer clamps larger counts to this, and a kept
/// session with more is refused. Far more than the chain panel can show side by side.
pub const MAX_GIBBS_CHAINS: usize = 100;

/// Evaluations a kept session holds (each takes minutes, so this is days of them); older ones are
/// left out when it is written. The loss plot's and the monitors' lists are bounded by what the
/// window itself keeps (`app::loss_plot`, `app::quality`).
pub const MAX_SESSION_EVALUATIONS: usize = 1000;

/// Characters of a loss-plot marker's label in a kept session ("lr 5.00e-3, k 10, …" takes a few
/// dozen).
pub const MAX_MARKER_LABEL_CHARS: usize = 200;

/// A size from input that is over one of the limits above.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LimitError {
    #[error(
        "images of {rows}x{cols} = {} pixels are larger than rbm-lab's limit of {} pixels per image (512x512)",
        grouped(.rows * .cols), grouped(MAX_IMAGE_PIXELS as u128)
    )]
    ImagePixels { rows: u128, cols: u128 },
    #[error(
        "a model with {} visible units (one per pixel) is larger than rbm-lab's limit of {} pixels per image",
        grouped(*.visible as u128), grouped(MAX_IMAGE_PIXELS as u128)
    )]
    VisibleUnits { visible: usize },
    #[error(
        "the model would have {visible} x {hidden} = {} parameters; rbm-lab's limit is {} (use fewer hidden \
         units or smaller images)",
        grouped(.visible * .hidden), grouped(MAX_PARAMETERS as u128)
    )]
    Parameters { visible: u128, hidden: u128 },
    #[error(
        "training a {visible}x{hidden} model on batches of {batch} with {chains} chains needs {} bytes of \
         buffers; rbm-lab's limit is {} bytes (1.5 GiB): use a smaller batch, fewer PCD particles or fewer \
         hidden units",
        grouped(*.bytes as u128), grouped(MAX_TRAINING_BYTES as u128)
    )]
    TrainingBytes { visible: usize, hidden: usize, batch: usize, chains: usize, bytes: u64 },
    #[error("{runs} AIS runs are more than rbm-lab's limit of {}", grouped(MAX_AIS_RUNS as u128))]
    AisRuns { runs: usize },
    #[error("{betas} inverse temperatures are more than rbm-lab's limit of {}", grouped(MAX_AIS_BETAS as u128))]
    AisBetas { betas: usize },
    #[error(
        "{runs} AIS runs on a {visible}x{hidden} model need {} values of state (runs x (visible + 2 x hidden)); \
         rbm-lab's limit is {}: use fewer runs",
        grouped(*.runs as u128 * (*.visible as u128 + 2 * *.hidden as u128)), grouped(MAX_AIS_STATE_VALUES as u128)
    )]
    AisState { runs: usize, visible: usize, hidden: usize },
    #[error(
        "{count} chains on a {visible}x{hidden} model need {} values (chains x (visible + hidden)); rbm-lab's \
         limit is {}: use fewer chains",
        grouped(*.count as u128 * (*.visible as u128 + *.hidden as u128)), grouped(MAX_CHAIN_VALUES as u128)
    )]
    ChainValues { count: usize, visible: usize, hidden: usize },
}

/// Checks the pixels of one image, rows x cols, against [`MAX_IMAGE_PIXELS`]; returns them.
pub fn check_image_pixels(rows: usize, cols: usize) -> Result<usize, LimitError> {
    let error = || LimitError::ImagePixels { rows: rows as u128, cols: cols as u128 };
    rows.checked_mul(cols).filter(|&pixels| pixels <= MAX_IMAGE_PIXELS).ok_or_else(error)
}

/// Checks a model's parameter count, visible x hidden, against [`MAX_PARAMETERS`]; returns it.
pub fn check_parameters(visible: usize, hidden: usize) -> Result<usize, LimitError> {
    let error = || LimitError::Parameters { visible: visible as u128, hidden: hidden as u128 };
    visible.checked_mul(hidden).filter(|&count| count <= MAX_PARAMETERS).ok_or_else(error)
}

/// Checks a `visible` x `hidden` model: visible units are pixels, so at most [`MAX_IMAGE_PIXELS`],
/// and at most [`MAX_PARAMETERS`] weights.
pub fn check_model_shape(visible: usize, hidden: usize) -> Result<(), LimitError> {
    if visible > MAX_IMAGE_PIXELS {
        return Err(LimitError::VisibleUnits { visible });
    }
    check_parameters(visible, hidden).map(|_| ())
}

/// Checks `count` Gibbs chains on a `visible` x `hidden` model against [`MAX_CHAIN_VALUES`].
pub fn check_chains(count: usize, visible: usize, hidden: usize) -> Result<(), LimitError> {
    let values = count as u128 * (visible as u128 + hidden as u128);
    if values > MAX_CHAIN_VALUES as u128 {
        return Err(LimitError::ChainValues { count, visible, hidden });
    }
    Ok(())
}

/// Checks AIS settings against [`MAX_AIS_RUNS`], [`MAX_AIS_BETAS`] and, for a model of this shape,
/// [`MAX_AIS_STATE_VALUES`].
pub fn check_ais(runs: usize, betas: usize, visible: usize, hidden: usize) -> Result<(), LimitError> {
    if runs > MAX_AIS_RUNS {
        return Err(LimitError::AisRuns { runs });
    }
    if betas > MAX_AIS_BETAS {
        return Err(LimitError::AisBetas { betas });
    }
    if runs as u128 * (visible as u128 + 2 * hidden as u128) > MAX_AIS_STATE_VALUES as u128 {
        return Err(LimitError::AisState { runs, visible, hidden });
    }
    Ok(())
}

/// `n` with a comma between each group of three digits (20,000,000,000), for messages.
pub fn grouped(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_puts_commas_between_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(33_554_432), "33,554,432");
        assert_eq!(grouped(20_000_000_000), "20,000,000,000");
    }

    #[test]
    fn real_uses_fit_and_the_messages_say_value_and_limit() {
        assert_eq!(check_image_pixels(256, 256), Ok(65_536));
        assert!(check_parameters(784, 4096).is_ok());
        assert!(check_parameters(256 * 256, 512).is_ok());
        assert!(check_ais(10_000, 14_501, 784, 500).is_ok());
        assert!(check_chains(1000, 784, 500).is_ok());

        let error = check_parameters(200_000, 100_000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the model would have 200000 x 100000 = 20,000,000,000 parameters; rbm-lab's limit is 33,554,432 \
             (use fewer hidden units or smaller images)"
        );
        let error = check_image_pixels(1, 200_000_000).unwrap_err();
        assert!(error.to_string().contains("200,000,000 pixels"), "{error}");
        assert!(error.to_string().contains("262,144"), "{error}");
        // Products that overflow usize are over the limit, not wrapped.
        assert!(check_parameters(usize::MAX, 2).is_err());
        assert!(check_image_pixels(usize::MAX, usize::MAX).is_err());
        assert!(matches!(check_ais(100_000_000, 100, 784, 40), Err(LimitError::AisRuns { .. })));
        assert!(matches!(check_ais(2, 100_000_000_000, 784, 40), Err(LimitError::AisBetas { .. })));
        assert!(matches!(check_ais(50_000, 100, 784, 500), Err(LimitError::AisState { .. })));
    }
}
