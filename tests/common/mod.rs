//! Small datasets cut from the embedded MNIST, in memory and as a folder of plain IDX files, raw
//! tensors for hand-made model files, and small models trained by CD-1.

#![allow(dead_code)] // each test binary uses some of these

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::data::{Dataset, ImageArray};
use rbm_lab::model::eval::binarise;
use rbm_lab::model::{CdWorkspace, Initialisation, Rbm, Threads, TrainingConfig, VisibleSampling};
use safetensors::{Dtype, View};

pub fn mnist() -> &'static Dataset {
    static MNIST: OnceLock<Dataset> = OnceLock::new();
    MNIST.get_or_init(|| Dataset::embedded_mnist().expect("embedded MNIST"))
}

/// `count` MNIST training images from `from` on, with their labels.
fn slice(from: usize, count: usize) -> (ImageArray, Vec<u8>) {
    let full = mnist();
    let pixels = full.pixels_per_image();
    let images = ImageArray {
        count,
        rows: full.rows,
        cols: full.cols,
        pixels: full.train.pixels[from * pixels..(from + count) * pixels].to_vec(),
    };
    (images, full.train.labels[from..from + count].to_vec())
}

/// The first `train` MNIST training images, with the next `test` as the test set.
pub fn mnist_slice(train: usize, test: usize) -> Arc<Dataset> {
    let (train_images, train_labels) = slice(0, train);
    let dataset = Dataset::from_arrays(format!("MNIST {train}"), train_images, train_labels, Some(slice(train, test)));
    Arc::new(dataset.expect("a slice of MNIST is a dataset"))
}

/// Writes a plain IDX file: `magic` (0x803 for images, 0x801 for labels), the dimensions, `body`.
pub fn write_idx(path: &Path, magic: u32, dims: &[usize], body: &[u8]) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(body);
    std::fs::write(path, bytes).expect("the test folder is writable");
}

/// Writes the same images as [`mnist_slice`] into `dir` as the four plain IDX files.
pub fn write_idx_folder(dir: &Path, train: usize, test: usize) {
    for (prefix, from, count) in [("train", 0, train), ("t10k", train, test)] {
        let (images, labels) = slice(from, count);
        let dims = [count, images.rows, images.cols];
        write_idx(&dir.join(format!("{prefix}-images-idx3-ubyte")), 0x803, &dims, &images.pixels);
        write_idx(&dir.join(format!("{prefix}-labels-idx1-ubyte")), 0x801, &[count], &labels);
    }
}

/// A 784 x `n_hidden` model after `batches` CD-1 updates (Bernoulli visibles, lr 0.05, batches of
/// 64 binarised MNIST training images from the first on, Hinton's initialisation).
pub fn cd1_trained(n_hidden: usize, batches: usize, seed: u64) -> Rbm {
    let data = mnist();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut rbm = Rbm::initialised(784, n_hidden, Initialisation::Hinton, &data.train_pixel_means(), &mut rng);
    let config = TrainingConfig {
        sampling: VisibleSampling::Bernoulli,
        k: 1,
        learning_rate: 0.05,
        batch_size: 64,
        ..TrainingConfig::default()
    };
    let binary = binarise(&data.train.pixels[..batches * 64 * 784], seed);
    let mut workspace = CdWorkspace::new(784, n_hidden, 64, seed);
    for batch in binary.chunks_exact(64 * 784) {
        workspace.data_mut(64).copy_from_slice(batch);
        workspace.step(&mut rbm, &config, 64, Threads(2));
    }
    assert!(rbm.is_finite());
    rbm
}

/// A tensor of any dtype, for writing malformed or edited files with the safetensors crate itself.
pub struct Raw {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl Raw {
    pub fn f32(shape: &[usize], values: &[f32]) -> Self {
        Self { dtype: Dtype::F32, shape: shape.to_vec(), bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }
    pub fn f64(shape: &[usize], values: &[f64]) -> Self {
        Self { dtype: Dtype::F64, shape: shape.to_vec(), bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }
    pub fn i32(shape: &[usize], values: &[i32]) -> Self {
        Self { dtype: Dtype::I32, shape: shape.to_vec(), bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }
}

impl View for Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The settings a model with label units trains with in the tests: CD-1 with Bernoulli visibles
/// on binarised images (what the labelled step implements).
pub fn labelled_config() -> TrainingConfig {
    TrainingConfig {
        learning_rate: 0.05,
        k: 1,
        batch_size: 50,
        sampling: VisibleSampling::Bernoulli,
        binarize_data: true,
        ..TrainingConfig::default()
    }
}
