//! Known datasets: MNIST and Fashion-MNIST recognised by their contents, Fashion-MNIST found where
//! Debian's package installs it, and `--data`'s names.
//!
//! The tests on the real Fashion-MNIST need `apt install dataset-fashion-mnist` (.ci/run installs
//! it); without it they say so on stderr and return.

mod common;

use std::path::Path;

use rbm_lab::data::Dataset;
use rbm_lab::data::known::{self, DatasetSource, FASHION_MNIST, FASHION_MNIST_DIR, Fingerprint};

/// False, after saying why on stderr, when Fashion-MNIST's package is not installed.
fn fashion_mnist_installed() -> bool {
    let installed = known::present_datasets(Path::new(FASHION_MNIST_DIR)).iter().any(|k| k.name == FASHION_MNIST);
    if !installed {
        eprintln!("skipped: {FASHION_MNIST_DIR} not installed (apt install {})", known::FASHION_MNIST_PACKAGE);
    }
    installed
}

#[test]
fn the_embedded_mnist_is_recognised_by_its_contents_and_a_changed_copy_is_not() {
    let mnist = common::mnist();
    assert_eq!(known::recognise(mnist), Some("MNIST"), "fingerprint {:?}", Fingerprint::of(mnist));
    let mut changed = mnist.clone();
    changed.test.pixels[1234] ^= 1;
    assert_eq!(known::recognise(&changed), None, "one pixel differs");
    let mut relabelled = mnist.clone();
    relabelled.train.labels[0] = (relabelled.train.labels[0] + 1) % 10;
    assert_eq!(known::recognise(&relabelled), None, "one label differs");
}

#[test]
fn a_folder_is_named_by_its_contents_or_else_by_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("digits-sample");
    std::fs::create_dir(&folder).expect("mkdir");
    common::write_idx_folder(&folder, 120, 30);
    let dataset = Dataset::load_dir(&folder).expect("a valid folder");
    assert_eq!(dataset.name, "digits-sample");
    assert_eq!(dataset.folder.as_deref(), Some(folder.canonicalize().expect("exists").as_path()));
    // The same files opened as the known Fashion-MNIST folder take its name.
    let known = known::known_datasets(&folder).remove(0);
    assert!(known.is_present());
    let named = DatasetSource::Known(known).load().expect("a valid folder");
    assert_eq!((named.name.as_str(), named.train.count, named.test.count), (FASHION_MNIST, 120, 30));
}

#[test]
fn fashion_mnist_is_listed_only_when_its_files_are_there() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listed = |dir: &Path| known::present_datasets(dir).iter().map(|k| k.name).collect::<Vec<_>>();
    assert!(listed(dir.path()).is_empty(), "an empty folder");
    assert!(listed(&dir.path().join("missing")).is_empty(), "no folder");
    assert_eq!(known::known_datasets(dir.path()).len(), 1, "listed as known even when absent");
    let error = DatasetSource::Known(known::known_datasets(dir.path()).remove(0)).load().expect_err("absent");
    let message = error.to_string();
    assert!(message.contains("apt install dataset-fashion-mnist"), "{message}");
    common::write_idx_folder(dir.path(), 12, 0);
    assert_eq!(listed(dir.path()), [FASHION_MNIST], "training files are enough");
}

#[test]
fn data_arguments_name_known_datasets_and_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fashion = dir.path().join("fashion");
    let source = |argument: &str| DatasetSource::from_argument(Path::new(argument), &fashion);
    assert_eq!(source("mnist"), DatasetSource::Embedded);
    assert_eq!(source("MNIST"), DatasetSource::Embedded);
    assert!(matches!(source("fashion-mnist"), DatasetSource::Known(k) if k.name == FASHION_MNIST && k.dir == fashion));
    assert!(matches!(source("Fashion-MNIST"), DatasetSource::Known(_)));
    assert_eq!(source("kmnist"), DatasetSource::Folder("kmnist".into()));
    // A folder that exists wins over a known name.
    let local = dir.path().join("fashion-mnist");
    std::fs::create_dir(&local).expect("mkdir");
    let argument = local.to_str().expect("a UTF-8 temp path");
    assert_eq!(DatasetSource::from_argument(&local, &fashion), DatasetSource::Folder(local.clone()));
    assert_eq!(source(argument), DatasetSource::Folder(local));
}

#[test]
fn the_installed_fashion_mnist_reads_as_60000_and_10000_images_named_fashion_mnist() {
    if !fashion_mnist_installed() {
        return;
    }
    // As an arbitrary folder, recognised by its contents alone.
    let dataset = Dataset::load_dir(Path::new(FASHION_MNIST_DIR)).expect("the packaged files read");
    assert_eq!(dataset.name, FASHION_MNIST, "fingerprint {:?}", Fingerprint::of(&dataset));
    assert_eq!((dataset.train.count, dataset.test.count, dataset.rows, dataset.cols), (60_000, 10_000, 28, 28));
    assert!(!dataset.test_is_holdout);
    // Ten classes, 6,000 training images each (Zalando's split).
    let mut per_class = [0usize; 10];
    dataset.train.labels.iter().for_each(|&l| per_class[usize::from(l)] += 1);
    assert_eq!(per_class, [6_000; 10]);
    // By its command-line name.
    let by_name = DatasetSource::from_argument(Path::new("fashion-mnist"), Path::new(FASHION_MNIST_DIR));
    let by_name = by_name.load().expect("the packaged files read");
    assert_eq!(by_name.name, FASHION_MNIST);
    assert_eq!(by_name.train.pixels, dataset.train.pixels);
    assert_ne!(by_name.train.pixels, common::mnist().train.pixels, "not MNIST under another name");
}

#[test]
fn an_unpacked_copy_of_mnist_is_recognised_too() {
    // The IDX files as they are after `gunzip`, under the dotted names some copies use: other file
    // bytes, the same contents.
    let dir = tempfile::tempdir().expect("temp dir");
    let mnist = common::mnist();
    for (prefix, set) in [("train", &mnist.train), ("t10k", &mnist.test)] {
        let images = dir.path().join(format!("{prefix}-images.idx3-ubyte"));
        common::write_idx(&images, 0x803, &[set.count, 28, 28], &set.pixels);
        common::write_idx(&dir.path().join(format!("{prefix}-labels.idx1-ubyte")), 0x801, &[set.count], &set.labels);
    }
    let dataset = Dataset::load_dir(dir.path()).expect("valid files");
    assert_eq!(dataset.name, "MNIST");
}
