//! Datasets rbm-lab knows by name: the embedded MNIST, Fashion-MNIST where Debian's package puts
//! it, and the same two recognised by their contents wherever their IDX files are.
//!
//! Recognition goes by a CRC-32 of the decoded images and labels (with the image counts and size),
//! not by the folder's name or the files' sizes or checksums: MNIST and Fashion-MNIST files have
//! identical shapes, so identical sizes once decoded, and the same data is shipped gzipped by
//! different tools, unpacked (torchvision keeps both) or under the dotted file names, each with
//! other file bytes. The decoded contents are the same in every copy and differ between the two
//! sets; hashing them costs milliseconds beside the decompression.

use std::path::{Path, PathBuf};

use super::{Dataset, IdxError};

/// Where Debian's `dataset-fashion-mnist` package installs the four gzipped IDX files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The package that installs Fashion-MNIST in [`FASHION_MNIST_DIR`].
pub const FASHION_MNIST_PACKAGE: &str = "dataset-fashion-mnist";

/// The names datasets are shown with.
pub const MNIST: &str = "MNIST";
pub const FASHION_MNIST: &str = "Fashion-MNIST";

/// Fashion-MNIST's class names, by label (Zalando's README of the dataset).
pub const FASHION_MNIST_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// The name of class `class` of the dataset shown as `dataset_name`: Fashion-MNIST's clothing
/// names, else the label's number (MNIST's labels are the digits themselves). Thresholding keeps
/// the classes.
pub fn class_name(dataset_name: &str, class: usize) -> String {
    match FASHION_MNIST_CLASSES.get(class) {
        Some(name) if unthresholded(dataset_name) == FASHION_MNIST => (*name).to_string(),
        _ => class.to_string(),
    }
}

/// What the images of the dataset shown as `dataset_name` are, in a caption: "digits" for MNIST,
/// "images" for any other dataset.
pub fn image_noun(dataset_name: &str) -> &'static str {
    if unthresholded(dataset_name) == MNIST { "digits" } else { "images" }
}

/// The name of the dataset a thresholded one was made from ([`super::Dataset::threshold`]).
fn unthresholded(dataset_name: &str) -> &str {
    dataset_name.strip_suffix(super::THRESHOLDED_SUFFIX).unwrap_or(dataset_name)
}

/// What identifies a dataset's contents: its shape and a CRC-32 (IEEE) of its training pixels,
/// training labels, test pixels and test labels, in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub train_count: usize,
    pub test_count: usize,
    pub rows: usize,
    pub cols: usize,
    pub crc32: u32,
}

impl Fingerprint {
    /// The fingerprint of `dataset` as read (`None` when its test set was split off the training
    /// images: no known dataset comes without its test files).
    pub fn of(dataset: &Dataset) -> Option<Fingerprint> {
        if dataset.test_is_holdout {
            return None;
        }
        let mut hasher = crc32fast::Hasher::new();
        for part in [&dataset.train.pixels, &dataset.train.labels, &dataset.test.pixels, &dataset.test.labels] {
            hasher.update(part);
        }
        Some(Fingerprint {
            train_count: dataset.train.count,
            test_count: dataset.test.count,
            rows: dataset.rows,
            cols: dataset.cols,
            crc32: hasher.finalize(),
        })
    }
}

/// The contents of the known datasets: 60,000 training and 10,000 test images of 28x28 each.
/// MNIST's from the files in `assets/` (LeCun's), Fashion-MNIST's from Zalando's release (the
/// files Debian packages). The same values as Python's `zlib.crc32` chained over the four files'
/// data after their headers (16 bytes for images, 8 for labels).
const KNOWN_CONTENTS: [(&str, u32); 2] = [(MNIST, 0x1939_f699), (FASHION_MNIST, 0xc7a9_5b27)];

/// The name of the known dataset with these contents, if it is one.
pub fn recognise(dataset: &Dataset) -> Option<&'static str> {
    // The shape first: other datasets are not hashed at all.
    if (dataset.train.count, dataset.test.count, dataset.rows, dataset.cols) != (60_000, 10_000, 28, 28) {
        return None;
    }
    let fingerprint = Fingerprint::of(dataset)?;
    KNOWN_CONTENTS.iter().find(|(_, crc)| *crc == fingerprint.crc32).map(|(name, _)| *name)
}

/// A dataset that a system package installs in a known folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownDataset {
    /// Shown in the window ("Fashion-MNIST").
    pub name: &'static str,
    /// Accepted by `--data` ("fashion-mnist").
    pub cli_name: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
    pub dir: PathBuf,
}

impl KnownDataset {
    /// Whether its training files are there (a few `stat` calls: cheap enough to ask while a
    /// menu is open).
    pub fn is_present(&self) -> bool {
        super::dataset::has_training_files(&self.dir)
    }

    /// What to do when it is absent, as the end of a sentence.
    pub fn how_to_install(&self) -> String {
        format!("`apt install {}` puts it in {}", self.package, self.dir.display())
    }
}

/// Every known dataset installed in a folder, present or not, in menu order; `fashion_mnist_dir`
/// is [`FASHION_MNIST_DIR`] except in tests.
pub fn known_datasets(fashion_mnist_dir: &Path) -> Vec<KnownDataset> {
    vec![KnownDataset {
        name: FASHION_MNIST,
        cli_name: "fashion-mnist",
        package: FASHION_MNIST_PACKAGE,
        dir: fashion_mnist_dir.to_path_buf(),
    }]
}

/// The known datasets whose files are present.
pub fn present_datasets(fashion_mnist_dir: &Path) -> Vec<KnownDataset> {
    known_datasets(fashion_mnist_dir).into_iter().filter(KnownDataset::is_present).collect()
}

/// Where a dataset comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatasetSource {
    /// The MNIST compiled into the binary.
    Embedded,
    /// A known dataset's folder: the dataset gets its name whatever its contents.
    Known(KnownDataset),
    /// Any folder of IDX files: named by its contents if it is a known dataset, else by the folder.
    Folder(PathBuf),
}

impl DatasetSource {
    /// `--data`'s value: an existing folder, else a known name ("mnist", "fashion-mnist", any
    /// case), else a folder (whose absence the load reports).
    pub fn from_argument(argument: &Path, fashion_mnist_dir: &Path) -> DatasetSource {
        if argument.is_dir() {
            return DatasetSource::Folder(argument.to_path_buf());
        }
        let Some(text) = argument.to_str() else { return DatasetSource::Folder(argument.to_path_buf()) };
        if text.eq_ignore_ascii_case("mnist") {
            return DatasetSource::Embedded;
        }
        known_datasets(fashion_mnist_dir)
            .into_iter()
            .find(|known| text.eq_ignore_ascii_case(known.cli_name))
            .map_or_else(|| DatasetSource::Folder(argument.to_path_buf()), DatasetSource::Known)
    }

    /// Reads it (seconds for a full dataset: call it off the UI thread).
    pub fn load(&self) -> Result<Dataset, IdxError> {
        match self {
            DatasetSource::Embedded => Dataset::embedded_mnist(),
            DatasetSource::Known(known) => {
                if !known.is_present() {
                    return Err(IdxError::NotInstalled { name: known.name, how: known.how_to_install() });
                }
                let mut dataset = Dataset::load_dir(&known.dir)?;
                dataset.name = known.name.to_string();
                Ok(dataset)
            }
            DatasetSource::Folder(dir) => Dataset::load_dir(dir),
        }
    }
}
