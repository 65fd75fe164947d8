//! A labelled image dataset (train and test), from the embedded MNIST or a folder of IDX files.

use std::path::{Path, PathBuf};

use super::IdxError;
use super::idx::{ImageArray, parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels};

/// The standard MNIST file names (without `.gz`); Fashion-MNIST and KMNIST use the same ones.
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Most images held out of training when a folder has no test files (MNIST's own test-set size).
const MAX_HOLDOUT: usize = 10_000;

/// Images with one label each, stored as one flat byte array so that image `i` is a slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSet {
    pub count: usize,
    /// rows × cols, kept here so an image can be sliced out without the dataset at hand.
    pub pixels_per_image: usize,
    /// `count * pixels_per_image` bytes, image after image, each row-major.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
}

impl ImageSet {
    /// Pairs images with their labels; their counts must agree.
    fn new(images: ImageArray, labels: Vec<u8>, set: &'static str) -> Result<Self, IdxError> {
        assert_eq!(
            images.pixels.len(),
            images.count * images.pixels_per_image(),
            "ImageArray pixels must hold count × rows × cols bytes"
        );
        if images.count != labels.len() {
            return Err(IdxError::CountMismatch { set, images: images.count, labels: labels.len() });
        }
        Ok(ImageSet { count: images.count, pixels_per_image: images.pixels_per_image(), pixels: images.pixels, labels })
    }

    /// The pixels of image `i`, row-major.
    ///
    /// # Panics
    /// If `i >= self.count`.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.count, "image {i} out of range (set has {})", self.count);
        &self.pixels[i * self.pixels_per_image..(i + 1) * self.pixels_per_image]
    }

    /// The label of image `i`.
    ///
    /// # Panics
    /// If `i >= self.count`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// Writes image `i` into `out` as intensities in [0, 1] (pixel / 255).
    ///
    /// # Panics
    /// If `i >= self.count` or `out.len() != self.pixels_per_image`.
    pub fn image_f32(&self, i: usize, out: &mut [f32]) {
        let image = self.image(i);
        assert_eq!(out.len(), image.len(), "output buffer must hold one image");
        for (o, &p) in out.iter_mut().zip(image) {
            *o = f32::from(p) / 255.0;
        }
    }

    /// Moves the images from `at` on into a new set, keeping the first `at` here.
    fn split_off(&mut self, at: usize) -> ImageSet {
        let tail = ImageSet {
            count: self.count - at,
            pixels_per_image: self.pixels_per_image,
            pixels: self.pixels.split_off(at * self.pixels_per_image),
            labels: self.labels.split_off(at),
        };
        self.count = at;
        tail
    }
}

/// The grey level from which [`Dataset::threshold`] makes a pixel white: 128 / 255 = 0.502, the
/// first level at or above half intensity.
pub const THRESHOLD: u8 = 128;

/// What [`Dataset::threshold`] appends to the dataset's name ("MNIST (thresholded)").
pub const THRESHOLDED_SUFFIX: &str = " (thresholded)";

/// Whether a dataset's name (also as a model's metadata keeps it) is that of a thresholded set.
pub fn is_thresholded_name(name: &str) -> bool {
    name.ends_with(THRESHOLDED_SUFFIX)
}

/// A training set and a test set of equally sized greyscale images.
///
/// When a folder has no test files, the last `min(10 000, count / 6)` training images are moved
/// (not copied) into the test set and `test_is_holdout` is set: the test set then still measures
/// images the model never trained on, and the UI can say that it is not the official test set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Shown to the person: "MNIST" or "Fashion-MNIST" when the contents are one of those (see
    /// [`super::known`]), else the folder's name.
    pub name: String,
    /// The folder it was read from (resolved, so that one folder is one path), `None` for the
    /// embedded MNIST and datasets built in memory.
    pub folder: Option<PathBuf>,
    pub rows: usize,
    pub cols: usize,
    pub train: ImageSet,
    pub test: ImageSet,
    /// True when `test` was split off the training files rather than read from test files.
    pub test_is_holdout: bool,
}

impl Dataset {
    /// Builds a dataset from parsed arrays, checking that labels match images, that train and
    /// test images have the same size and that it is within [`crate::limits::MAX_IMAGE_PIXELS`]. Without a test set, part of the training set is held out
    /// (none if it has fewer than 6 images).
    ///
    /// # Panics
    /// If an array's `pixels` is not `count * rows * cols` long (arrays from the parsers always are).
    pub fn from_arrays(
        name: impl Into<String>,
        train_images: ImageArray,
        train_labels: Vec<u8>,
        test: Option<(ImageArray, Vec<u8>)>,
    ) -> Result<Dataset, IdxError> {
        let (rows, cols) = (train_images.rows, train_images.cols);
        crate::limits::check_image_pixels(rows, cols)?;
        if train_images.count == 0 || rows * cols == 0 {
            return Err(IdxError::EmptyTrainingSet { count: train_images.count, rows, cols });
        }
        let mut train = ImageSet::new(train_images, train_labels, "training")?;
        let test_is_holdout = test.is_none();
        let test = match test {
            Some((test_images, test_labels)) => {
                if (test_images.rows, test_images.cols) != (rows, cols) {
                    return Err(IdxError::SizeMismatch {
                        train_rows: rows,
                        train_cols: cols,
                        test_rows: test_images.rows,
                        test_cols: test_images.cols,
                    });
                }
                ImageSet::new(test_images, test_labels, "test")?
            }
            None => {
                let holdout = MAX_HOLDOUT.min(train.count / 6);
                train.split_off(train.count - holdout)
            }
        };
        Ok(Dataset { name: name.into(), folder: None, rows, cols, train, test, test_is_holdout })
    }

    /// The full MNIST (60 000 training, 10 000 test images) compiled into the binary, so the
    /// program works with no files beside it.
    pub fn embedded_mnist() -> Result<Dataset, IdxError> {
        const TRAIN_IMAGES_GZ: &[u8] = include_bytes!("../../assets/train-images-idx3-ubyte.gz");
        const TRAIN_LABELS_GZ: &[u8] = include_bytes!("../../assets/train-labels-idx1-ubyte.gz");
        const TEST_IMAGES_GZ: &[u8] = include_bytes!("../../assets/t10k-images-idx3-ubyte.gz");
        const TEST_LABELS_GZ: &[u8] = include_bytes!("../../assets/t10k-labels-idx1-ubyte.gz");

        let named = |name: &'static str| move |e: IdxError| e.in_file(format!("embedded {name}.gz"));
        // Decompression is nearly all of the load time: inflate the test images on a second
        // thread while this one inflates the (six times larger) training images.
        let (train_images, test_images) = std::thread::scope(|s| {
            let test = s.spawn(|| parse_idx_images(TEST_IMAGES_GZ));
            let train = parse_idx_images(TRAIN_IMAGES_GZ);
            (train, test.join())
        });
        let train_images = train_images.map_err(named(TRAIN_IMAGES))?;
        let test_images = match test_images {
            Ok(result) => result.map_err(named(TEST_IMAGES))?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let train_labels = parse_idx_labels(TRAIN_LABELS_GZ).map_err(named(TRAIN_LABELS))?;
        let test_labels = parse_idx_labels(TEST_LABELS_GZ).map_err(named(TEST_LABELS))?;
        Dataset::from_arrays("MNIST", train_images, train_labels, Some((test_images, test_labels)))
    }

    /// Loads the four MNIST-style IDX files from `dir` (each plain or `.gz`, also the
    /// `train-images.idx3-ubyte` spelling). The training files are required; if both test files
    /// are absent, part of the training set is held out as test set (see [`Dataset`]). Named by
    /// its contents when they are MNIST's or Fashion-MNIST's, else by the folder.
    pub fn load_dir(dir: &Path) -> Result<Dataset, IdxError> {
        let metadata = std::fs::metadata(dir).map_err(|source| IdxError::Io { path: dir.to_owned(), source })?;
        if !metadata.is_dir() {
            return Err(IdxError::Io {
                path: dir.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "expected a folder holding IDX files"),
            });
        }
        let require = |which: &'static str| {
            find_idx_file(dir, which).ok_or_else(|| IdxError::MissingFile { dir: dir.to_owned(), which })
        };

        let train_images = read_idx_images(&require(TRAIN_IMAGES)?)?;
        let train_labels = read_idx_labels(&require(TRAIN_LABELS)?)?;
        let test = match (find_idx_file(dir, TEST_IMAGES), find_idx_file(dir, TEST_LABELS)) {
            (None, None) => None,
            _ => Some((read_idx_images(&require(TEST_IMAGES)?)?, read_idx_labels(&require(TEST_LABELS)?)?)),
        };
        let mut dataset = Dataset::from_arrays(folder_name(dir), train_images, train_labels, test)?;
        if let Some(name) = super::known::recognise(&dataset) {
            dataset.name = name.to_string();
        }
        dataset.folder = Some(dir.canonicalize().unwrap_or_else(|_| dir.to_owned()));
        Ok(dataset)
    }

    /// Binarises every image once, train and test alike: a pixel of [`THRESHOLD`] or more becomes
    /// 255, the rest 0 (PyDeep's and several papers' "binarised MNIST": intensity ≥ 0.5). The
    /// name gets [`THRESHOLDED_SUFFIX`], so models trained on it say so. Drawing binary pixels
    /// from these images, as `--binarize` and the evaluation do, then gives these images exactly.
    pub fn threshold(&mut self) {
        for set in [&mut self.train, &mut self.test] {
            for p in &mut set.pixels {
                *p = if *p >= THRESHOLD { 255 } else { 0 };
            }
        }
        if !self.is_thresholded() {
            self.name.push_str(THRESHOLDED_SUFFIX);
        }
    }

    /// Whether [`Dataset::threshold`] made this dataset (by its name).
    pub fn is_thresholded(&self) -> bool {
        is_thresholded_name(&self.name)
    }

    /// Pixels in one image (rows × cols), the number of visible units a model needs.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// Writes training image `i` into `out` as intensities in [0, 1].
    ///
    /// # Panics
    /// If `i` is out of range or `out.len() != self.pixels_per_image()`.
    pub fn train_image_f32(&self, i: usize, out: &mut [f32]) {
        self.train.image_f32(i, out);
    }

    /// Writes test image `i` into `out` as intensities in [0, 1].
    ///
    /// # Panics
    /// If `i` is out of range or `out.len() != self.pixels_per_image()`.
    pub fn test_image_f32(&self, i: usize, out: &mut [f32]) {
        self.test.image_f32(i, out);
    }

    /// `count` distinct test images cycling through the digit classes 0, 1, 2, … (as in the
    /// tutorial's figure), as intensities in [0, 1]; classes that run out are filled with any unused
    /// image. Used to start the Gibbs chains in the window and in `rbm-lab sample`.
    pub fn test_digits(&self, count: usize) -> Vec<f32> {
        let set = &self.test;
        let nv = self.pixels_per_image();
        let mut out = vec![0.0; count * nv];
        let mut used = vec![false; set.count];
        for (slot, image) in out.chunks_exact_mut(nv).enumerate() {
            let label = (slot % 10) as u8;
            let pick = (0..set.count)
                .find(|&i| !used[i] && set.labels.get(i) == Some(&label))
                .or_else(|| (0..set.count).find(|&i| !used[i]));
            if let Some(i) = pick {
                used[i] = true;
                self.test_image_f32(i, image);
            }
        }
        out
    }

    /// Mean intensity of each pixel over the training set, in [0, 1]; the usual initial visible
    /// bias is `ln(p / (1 - p))` of these (Hinton, "A Practical Guide to Training RBMs", 8.1).
    pub fn train_pixel_means(&self) -> Vec<f32> {
        let ppi = self.pixels_per_image();
        let mut sums = vec![0u64; ppi];
        for image in self.train.pixels.chunks_exact(ppi) {
            for (sum, &p) in sums.iter_mut().zip(image) {
                *sum += u64::from(p);
            }
        }
        let scale = 255.0 * self.train.count.max(1) as f64;
        sums.into_iter().map(|s| (s as f64 / scale) as f32).collect()
    }
}

/// Whether `dir` holds the training images and labels (in any spelling [`Dataset::load_dir`] reads).
pub(super) fn has_training_files(dir: &Path) -> bool {
    find_idx_file(dir, TRAIN_IMAGES).is_some() && find_idx_file(dir, TRAIN_LABELS).is_some()
}

/// The first existing spelling of an IDX file in `dir`: plain before gzip, the standard
/// `train-images-idx3-ubyte` before the dotted `train-images.idx3-ubyte`.
fn find_idx_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    let dotted = stem.replacen("-idx", ".idx", 1);
    [stem.to_owned(), format!("{stem}.gz"), dotted.clone(), format!("{dotted}.gz")]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// The folder's own name ("fashion" for `data/fashion/`), resolving `.` and `..` when possible.
fn folder_name(dir: &Path) -> String {
    let resolved = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    resolved.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plain_before_gz_before_dotted() {
        let dir = tempfile::tempdir().unwrap();
        let touch = |name: &str| std::fs::write(dir.path().join(name), b"").unwrap();
        assert_eq!(find_idx_file(dir.path(), TRAIN_IMAGES), None);
        touch("train-images.idx3-ubyte.gz");
        let found = |stem| find_idx_file(dir.path(), stem).unwrap();
        assert!(found(TRAIN_IMAGES).ends_with("train-images.idx3-ubyte.gz"));
        touch("train-images.idx3-ubyte");
        assert!(found(TRAIN_IMAGES).ends_with("train-images.idx3-ubyte"));
        touch("train-images-idx3-ubyte.gz");
        assert!(found(TRAIN_IMAGES).ends_with("train-images-idx3-ubyte.gz"));
        touch("train-images-idx3-ubyte");
        assert!(found(TRAIN_IMAGES).ends_with("train-images-idx3-ubyte"));
    }

    /// 127 goes to 0 and 128 to 255 in both sets; the name says so once, however often it is applied;
    /// and the binarisation used by the evaluation reproduces the thresholded pixels exactly.
    #[test]
    fn thresholding_splits_at_128_and_survives_binarising() {
        let images = |pixels: Vec<u8>| ImageArray { count: 2, rows: 1, cols: 4, pixels };
        let mut dataset = Dataset::from_arrays(
            "MNIST",
            images(vec![0, 1, 127, 128, 129, 200, 254, 255]),
            vec![0, 1],
            Some((images(vec![127, 128, 64, 192, 0, 255, 100, 150]), vec![1, 0])),
        )
        .unwrap();
        assert!(!dataset.is_thresholded());
        dataset.threshold();
        assert_eq!(dataset.train.pixels, [0, 0, 0, 255, 255, 255, 255, 255]);
        assert_eq!(dataset.test.pixels, [0, 255, 0, 255, 0, 255, 0, 255]);
        dataset.threshold();
        assert_eq!(dataset.name, "MNIST (thresholded)");
        assert!(dataset.is_thresholded());
        for seed in 0..20 {
            let binary = crate::model::eval::binarise(&dataset.test.pixels, seed);
            let expected: Vec<f32> = dataset.test.pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
            assert_eq!(binary, expected);
        }
    }

    /// Thresholding keeps what the images are and their class names.
    #[test]
    fn a_thresholded_set_keeps_its_image_noun_and_class_names() {
        use super::super::known::{class_name, image_noun};
        assert_eq!(image_noun("MNIST (thresholded)"), "digits");
        assert_eq!(class_name("Fashion-MNIST (thresholded)", 9), "Ankle boot");
        assert_eq!(image_noun("fashion (thresholded)"), "images");
        assert!(is_thresholded_name("MNIST (thresholded)") && !is_thresholded_name("MNIST"));
    }

    #[test]
    fn folder_name_resolves_dot() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("fashion");
        std::fs::create_dir_all(inner.join("sub")).unwrap();
        assert_eq!(folder_name(&inner), "fashion");
        assert_eq!(folder_name(&inner.join(".")), "fashion");
        assert_eq!(folder_name(&inner.join("sub").join("..")), "fashion");
    }
}
