//! The IDX reader against the real MNIST files, synthetic datasets of other sizes, and malformed
//! input, each of which must give its own error variant.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;
use rbm_lab::data::{Dataset, IdxError, ImageArray, parse_idx_images, parse_idx_labels, read_idx_images};

// ---------------------------------------------------------------------------------------------
// Allocation tracking: records the largest single allocation made by the current thread, so a
// test can show that a lying header does not make the parser reserve what the header claims.

struct TrackingAllocator;

thread_local! {
    static LARGEST_ALLOCATION: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation(size: usize) {
    // try_with: the thread-local may already be gone while a thread shuts down.
    let _ = LARGEST_ALLOCATION.try_with(|largest| largest.set(largest.get().max(size)));
}

unsafe impl GlobalAlloc for TrackingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: TrackingAllocator = TrackingAllocator;

/// Runs `f` and returns its result with the largest single allocation it made on this thread.
fn largest_allocation_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST_ALLOCATION.with(|l| l.set(0));
    let result = f();
    (result, LARGEST_ALLOCATION.with(Cell::get))
}

// ---------------------------------------------------------------------------------------------
// Builders for synthetic IDX files.

/// IDX bytes with the given element type code, dimensions and data (data length not checked, so
/// malformed files can be built too).
fn idx_bytes(type_code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `count` images of `rows × cols` whose pixel values encode image, row and column.
fn synthetic_images(count: u32, rows: u32, cols: u32) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::new();
    for i in 0..count {
        for r in 0..rows {
            for c in 0..cols {
                pixels.push((i * 50 + r * 7 + c) as u8);
            }
        }
    }
    (idx_bytes(0x08, &[count, rows, cols], &pixels), pixels)
}

fn synthetic_labels(count: u32) -> Vec<u8> {
    let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    idx_bytes(0x08, &[count], &labels)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A folder with all four files of a small 5×7 dataset (10 train, 4 test images).
fn synthetic_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train-images-idx3-ubyte", &synthetic_images(10, 5, 7).0);
    write(dir.path(), "train-labels-idx1-ubyte", &synthetic_labels(10));
    write(dir.path(), "t10k-images-idx3-ubyte", &synthetic_images(4, 5, 7).0);
    write(dir.path(), "t10k-labels-idx1-ubyte", &synthetic_labels(4));
    dir
}

fn assets_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))
}

// ---------------------------------------------------------------------------------------------
// Real MNIST.

fn check_is_mnist(ds: &Dataset) {
    assert_eq!((ds.rows, ds.cols, ds.pixels_per_image()), (28, 28, 784));
    assert_eq!(ds.train.count, 60_000);
    assert_eq!(ds.test.count, 10_000);
    assert_eq!(ds.train.pixels.len(), 60_000 * 784);
    assert_eq!(ds.test.pixels.len(), 10_000 * 784);
    assert_eq!(ds.train.labels.len(), 60_000);
    assert_eq!(ds.test.labels.len(), 10_000);
    assert!(!ds.test_is_holdout);

    let mut test_counts = [0usize; 10];
    for &l in &ds.test.labels {
        test_counts[usize::from(l)] += 1;
    }
    assert_eq!(test_counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // Sums of the uncompressed data, computed independently with Python's gzip module.
    let sum = |bytes: &[u8]| bytes.iter().map(|&b| u64::from(b)).sum::<u64>();
    assert_eq!(sum(&ds.train.labels), 267_236);
    assert_eq!(sum(&ds.test.labels), 44_434);
    assert_eq!(sum(&ds.train.pixels), 1_567_298_545);
    assert_eq!(sum(&ds.test.pixels), 264_923_200);
    assert_eq!(&ds.train.labels[..5], &[5, 0, 4, 1, 9]);
    assert_eq!(&ds.test.labels[..5], &[7, 2, 1, 0, 4]);
}

#[test]
fn embedded_mnist_is_the_real_mnist() {
    let start = Instant::now();
    let ds = Dataset::embedded_mnist().unwrap();
    eprintln!("embedded_mnist() took {:?}", start.elapsed());
    assert_eq!(ds.name, "MNIST");
    check_is_mnist(&ds);
}

#[test]
fn load_dir_reads_the_gzipped_assets() {
    let ds = Dataset::load_dir(assets_dir()).unwrap();
    // Named by its contents, not by the folder ("assets").
    assert_eq!(ds.name, "MNIST");
    check_is_mnist(&ds);
}

#[test]
fn mnist_pixel_means_and_f32_images() {
    let ds = Dataset::embedded_mnist().unwrap();
    let means = ds.train_pixel_means();
    assert_eq!(means.len(), 784);
    // The corners are blank in every MNIST image; the centre pixel's mean was computed in Python.
    assert_eq!(means[0], 0.0);
    assert!((means[14 * 28 + 14] - 0.510_852).abs() < 1e-5);
    // The well-known MNIST mean intensity, 0.1307.
    let overall = means.iter().sum::<f32>() / 784.0;
    assert!((overall - 0.130_66).abs() < 1e-4, "{overall}");

    let mut image = vec![-1.0f32; 784];
    ds.test_image_f32(0, &mut image);
    let expected: Vec<f32> = ds.test.image(0).iter().map(|&p| f32::from(p) / 255.0).collect();
    assert_eq!(image, expected);
    assert!(image.iter().all(|&x| (0.0..=1.0).contains(&x)));
    assert!(image.contains(&1.0));
}

// ---------------------------------------------------------------------------------------------
// Other image sizes and file layouts.

#[test]
fn non_square_images_round_trip_plain_and_gzip() {
    let (bytes, pixels) = synthetic_images(3, 5, 7);
    for input in [bytes.clone(), gzip(&bytes)] {
        let images = parse_idx_images(&input).unwrap();
        assert_eq!(images, ImageArray { count: 3, rows: 5, cols: 7, pixels: pixels.clone() });
    }
    let labels = synthetic_labels(3);
    assert_eq!(parse_idx_labels(&labels).unwrap(), vec![0, 1, 2]);
    assert_eq!(parse_idx_labels(&gzip(&labels)).unwrap(), vec![0, 1, 2]);
}

#[test]
fn load_dir_with_all_four_files() {
    let dir = synthetic_dir();
    let ds = Dataset::load_dir(dir.path()).unwrap();
    assert_eq!((ds.rows, ds.cols, ds.pixels_per_image()), (5, 7, 35));
    assert_eq!((ds.train.count, ds.test.count), (10, 4));
    assert!(!ds.test_is_holdout);
    assert_eq!(ds.train.image(2)[..3], [100, 101, 102]);
    assert_eq!(ds.train.label(2), 2);
    assert_eq!(ds.test.image(3)[8], 150 + 7 + 1);

    let mut out = [0.0f32; 35];
    ds.train_image_f32(1, &mut out);
    assert_eq!(out[0], 50.0 / 255.0);
    let means = ds.train_pixel_means();
    // Pixel 0 of image i is 50·i (mod 256): mean over i = 0..10.
    let expected = (0..10).map(|i| (i * 50 % 256) as f32).sum::<f32>() / 10.0 / 255.0;
    assert!((means[0] - expected).abs() < 1e-6);
}

#[test]
fn load_dir_accepts_gz_and_dotted_names() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train-images.idx3-ubyte", &synthetic_images(6, 2, 3).0);
    write(dir.path(), "train-labels-idx1-ubyte.gz", &gzip(&synthetic_labels(6)));
    write(dir.path(), "t10k-images.idx3-ubyte.gz", &gzip(&synthetic_images(2, 2, 3).0));
    write(dir.path(), "t10k-labels.idx1-ubyte", &synthetic_labels(2));
    let ds = Dataset::load_dir(dir.path()).unwrap();
    assert_eq!((ds.train.count, ds.test.count, ds.rows, ds.cols), (6, 2, 2, 3));
}

#[test]
fn without_test_files_part_of_training_is_held_out() {
    let dir = tempfile::tempdir().unwrap();
    let (images, pixels) = synthetic_images(12, 5, 7);
    write(dir.path(), "train-images-idx3-ubyte", &images);
    write(dir.path(), "train-labels-idx1-ubyte", &synthetic_labels(12));
    let ds = Dataset::load_dir(dir.path()).unwrap();
    assert!(ds.test_is_holdout);
    // 12 / 6 = 2 images held out, moved rather than copied.
    assert_eq!((ds.train.count, ds.test.count), (10, 2));
    assert_eq!(ds.train.pixels, pixels[..10 * 35]);
    assert_eq!(ds.test.pixels, pixels[10 * 35..]);
    assert_eq!(ds.test.labels, vec![0, 1]);
}

#[test]
fn holdout_is_at_most_ten_thousand() {
    let ds = Dataset::from_arrays(
        "big",
        ImageArray { count: 70_000, rows: 1, cols: 1, pixels: vec![0; 70_000] },
        vec![0; 70_000],
        None,
    )
    .unwrap();
    assert_eq!((ds.train.count, ds.test.count), (60_000, 10_000));
    assert!(ds.test_is_holdout);
}

#[test]
fn browser_decompressed_file_keeping_its_gz_name_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    std::fs::write(&path, synthetic_images(3, 5, 7).0).unwrap();
    assert_eq!(read_idx_images(&path).unwrap().count, 3);
}

// ---------------------------------------------------------------------------------------------
// Malformed input: each must give its own variant.

#[test]
fn truncated_data() {
    let (bytes, _) = synthetic_images(3, 5, 7);
    let cut = &bytes[..bytes.len() - 1];
    let err = parse_idx_images(cut).unwrap_err();
    assert!(matches!(err, IdxError::Truncated { expected_bytes: 121, found_bytes: 120 }), "{err:?}");
    // Cut inside the header, and in the gzip form too.
    assert!(matches!(
        parse_idx_images(&bytes[..10]).unwrap_err(),
        IdxError::Truncated { expected_bytes: 16, found_bytes: 10 }
    ));
    assert!(matches!(parse_idx_images(&[]).unwrap_err(), IdxError::Truncated { expected_bytes: 4, found_bytes: 0 }));
    assert!(matches!(
        parse_idx_images(&gzip(cut)).unwrap_err(),
        IdxError::Truncated { expected_bytes: 121, found_bytes: 120 }
    ));
}

#[test]
fn gzip_stream_cut_off() {
    let gz = gzip(&synthetic_images(3, 5, 7).0);
    let err = parse_idx_images(&gz[..gz.len() - 6]).unwrap_err();
    assert!(matches!(err, IdxError::Gzip(_)), "{err:?}");
}

#[test]
fn trailing_data() {
    let (mut bytes, _) = synthetic_images(3, 5, 7);
    bytes.extend_from_slice(&[1, 2]);
    for input in [bytes.clone(), gzip(&bytes)] {
        let err = parse_idx_images(&input).unwrap_err();
        assert!(matches!(err, IdxError::TrailingData { expected_bytes: 121, found_bytes: 123 }), "{err:?}");
    }
}

#[test]
fn bad_magic() {
    let mut bytes = synthetic_labels(3);
    bytes[0] = 0x12;
    let err = parse_idx_labels(&bytes).unwrap_err();
    assert!(matches!(err, IdxError::BadMagic { found: 0x1200_0801 }), "{err:?}");
    let html = b"<!DOCTYPE html><html>404</html>";
    assert!(matches!(parse_idx_images(html).unwrap_err(), IdxError::BadMagic { .. }));
}

#[test]
fn unsupported_type_code() {
    // Type 0x0D is f32; the header is otherwise valid.
    let bytes = idx_bytes(0x0D, &[2, 2, 2], &[0; 32]);
    let err = parse_idx_images(&bytes).unwrap_err();
    assert!(matches!(err, IdxError::UnsupportedType { code: 0x0D }), "{err:?}");
}

#[test]
fn labels_given_as_images_is_wrong_dimensions() {
    let err = parse_idx_images(&synthetic_labels(5)).unwrap_err();
    assert!(matches!(err, IdxError::WrongDimensions { expected: 3, found: 1 }), "{err:?}");
    let err = parse_idx_labels(&synthetic_images(1, 2, 2).0).unwrap_err();
    assert!(matches!(err, IdxError::WrongDimensions { expected: 1, found: 3 }), "{err:?}");
}

#[test]
fn lying_header_beyond_the_limit_is_refused_without_allocating() {
    // 0xFFFFFFFF images of 28×28 (3.4 TB) and a header whose product overflows u64.
    for dims in [[u32::MAX, 28, 28], [u32::MAX, u32::MAX, u32::MAX]] {
        let bytes = idx_bytes(0x08, &dims, &[7; 784]);
        for input in [bytes.clone(), gzip(&bytes)] {
            let (result, largest) = largest_allocation_during(|| parse_idx_images(&input));
            let err = result.unwrap_err();
            assert!(matches!(err, IdxError::TooLarge { .. }), "{err:?}");
            assert!(largest < 1 << 20, "allocated {largest} bytes");
        }
    }
    // Zero images, but rows × cols absurd.
    let bytes = idx_bytes(0x08, &[0, u32::MAX, u32::MAX], &[]);
    assert!(matches!(parse_idx_images(&bytes).unwrap_err(), IdxError::TooLarge { .. }));
}

#[test]
fn lying_header_within_the_limit_allocates_only_what_is_there() {
    // 1 000 000 images of 28×28 = 784 MB claimed, one image present.
    let bytes = idx_bytes(0x08, &[1_000_000, 28, 28], &[7; 784]);
    let gz = gzip(&bytes);
    for input in [&bytes, &gz] {
        let (result, largest) = largest_allocation_during(|| parse_idx_images(input));
        let err = result.unwrap_err();
        assert!(matches!(err, IdxError::Truncated { expected_bytes: 784_000_016, found_bytes: 800 }), "{err:?}");
        assert!(largest < 1 << 20, "allocated {largest} bytes");
    }
}

#[test]
fn count_mismatch_between_images_and_labels() {
    let dir = synthetic_dir();
    write(dir.path(), "train-labels-idx1-ubyte", &synthetic_labels(9));
    let err = Dataset::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, IdxError::CountMismatch { set: "training", images: 10, labels: 9 }), "{err:?}");
}

#[test]
fn gz_named_garbage_is_not_gzip() {
    let dir = synthetic_dir();
    std::fs::remove_file(dir.path().join("train-images-idx3-ubyte")).unwrap();
    write(dir.path(), "train-images-idx3-ubyte.gz", b"<html>Not Found</html>");
    let err = Dataset::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err.root(), IdxError::NotGzip), "{err:?}");
    // The message names the file.
    assert!(err.to_string().contains("train-images-idx3-ubyte.gz"), "{err}");
}

#[test]
fn corrupt_gzip() {
    let mut bytes = vec![0x1f, 0x8b];
    bytes.extend_from_slice(b"this is not a deflate stream at all");
    let err = parse_idx_images(&bytes).unwrap_err();
    assert!(matches!(err, IdxError::Gzip(_)), "{err:?}");

    // A flipped byte in the compressed data is caught (by the decoder or the CRC at the end).
    let mut gz = gzip(&synthetic_images(3, 5, 7).0);
    let middle = gz.len() / 2;
    gz[middle] ^= 0x55;
    let err = parse_idx_images(&gz).unwrap_err();
    assert!(matches!(err, IdxError::Gzip(_) | IdxError::Truncated { .. } | IdxError::TrailingData { .. }), "{err:?}");
}

#[test]
fn missing_file_in_folder() {
    let dir = synthetic_dir();
    std::fs::remove_file(dir.path().join("train-labels-idx1-ubyte")).unwrap();
    let err = Dataset::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, IdxError::MissingFile { which: "train-labels-idx1-ubyte", .. }), "{err:?}");
    // One test file without the other is a mistake, not a request for a holdout.
    let dir = synthetic_dir();
    std::fs::remove_file(dir.path().join("t10k-images-idx3-ubyte")).unwrap();
    let err = Dataset::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, IdxError::MissingFile { which: "t10k-images-idx3-ubyte", .. }), "{err:?}");
}

#[test]
fn folder_that_does_not_exist_is_io() {
    let dir = tempfile::tempdir().unwrap();
    let err = Dataset::load_dir(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, IdxError::Io { .. }), "{err:?}");
}

#[test]
fn train_and_test_of_different_sizes() {
    let dir = synthetic_dir();
    write(dir.path(), "t10k-images-idx3-ubyte", &synthetic_images(4, 7, 5).0);
    let err = Dataset::load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(err, IdxError::SizeMismatch { train_rows: 5, train_cols: 7, test_rows: 7, test_cols: 5 }),
        "{err:?}"
    );
}

#[test]
fn empty_training_set() {
    let images = parse_idx_images(&synthetic_images(0, 28, 28).0).unwrap();
    let err = Dataset::from_arrays("empty", images, vec![], None).unwrap_err();
    assert!(matches!(err, IdxError::EmptyTrainingSet { count: 0, .. }), "{err:?}");
}

#[test]
fn file_errors_name_the_file_and_keep_the_variant() {
    let dir = synthetic_dir();
    write(dir.path(), "t10k-labels-idx1-ubyte", &synthetic_images(4, 5, 7).0);
    let err = Dataset::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, IdxError::InFile { .. }), "{err:?}");
    assert!(matches!(err.root(), IdxError::WrongDimensions { expected: 1, found: 3 }));
    let message = err.to_string();
    assert!(message.contains("t10k-labels-idx1-ubyte"), "{message}");
    assert!(message.contains("labels file"), "{message}");
}

#[test]
fn images_over_the_pixel_limit_are_refused_at_the_header() {
    use rbm_lab::limits::LimitError;
    // One image of 1 x 200,000,000 pixels: within the data limit, so only the pixel limit stops
    // it, before the pixels are read (plain) or decompressed (gzip).
    let header = idx_bytes(0x08, &[1, 1, 200_000_000], &[]);
    let plain = [header.clone(), vec![0; 1000]].concat();
    for input in [plain, gzip(&header)] {
        let (result, largest) = largest_allocation_during(|| parse_idx_images(&input));
        let err = result.unwrap_err();
        assert!(matches!(err, IdxError::Limit(LimitError::ImagePixels { rows: 1, cols: 200_000_000 })), "{err:?}");
        assert!(err.to_string().contains("262,144 pixels per image"), "{err}");
        assert!(largest < 1 << 20, "allocated {largest} bytes");
    }
    // 512x512 is the largest square image; one row more is refused.
    assert!(parse_idx_images(&synthetic_images(1, 512, 512).0).is_ok());
    assert!(matches!(parse_idx_images(&idx_bytes(0x08, &[0, 513, 512], &[])), Err(IdxError::Limit(_))));
    // Arrays built by hand go through the same limit.
    let wide = ImageArray { count: 1, rows: 1, cols: 300_000, pixels: vec![0; 300_000] };
    let err = Dataset::from_arrays("wide", wide, vec![0], None).unwrap_err();
    assert!(matches!(err, IdxError::Limit(LimitError::ImagePixels { .. })), "{err:?}");
}

#[test]
fn huge_and_special_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    // A sparse 1 TiB file with an IDX header: refused by its length, nothing reserved for it.
    let path = dir.path().join("train-images-idx3-ubyte");
    std::fs::write(&path, idx_bytes(0x08, &[1, 28, 28], &[])).unwrap();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(1 << 40).unwrap();
    let (result, largest) = largest_allocation_during(|| read_idx_images(&path));
    let err = result.unwrap_err();
    assert!(matches!(err.root(), IdxError::FileTooLarge { bytes: 1_099_511_627_776 }), "{err:?}");
    assert!(err.to_string().contains("train-images-idx3-ubyte"), "{err}");
    assert!(largest < 1 << 20, "allocated {largest} bytes");
    // A folder and a device in place of a file.
    for special in [dir.path(), Path::new("/dev/zero")] {
        let err = read_idx_images(special).unwrap_err();
        assert!(
            matches!(&err, IdxError::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidInput),
            "{err:?}"
        );
    }
}
