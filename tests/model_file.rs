//! Model files and exports against good, malformed and hand-made files, and the atomic-save promise.
//!
//! One file past 500 lines: one short test per way a file can be wrong, sharing the file builders.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

use common::Raw;
use rbm_lab::io::model_file::{FORMAT_NAME, METADATA_KEY, created_by};
use rbm_lab::io::{
    ExportError, FORMAT_VERSION, LossCsvRow, ModelFile, ModelFileError, ModelMetadata, atomic_write, load_model,
    model_from_bytes, model_to_bytes, save_model, write_loss_csv, write_png_gray,
};
use rbm_lab::model::{Initialisation, ModelSpec, Rbm, ShapeError, TrainingConfig, VisibleSampling};
use safetensors::{Dtype, SafeTensors};

// ---------------------------------------------------------------- helpers

/// Values that a lossy encoding would change: signed zero, subnormals, extremes, non-terminating
/// decimals.
const TRICKY: [f32; 8] = [-0.0, 1e-45, f32::MIN_POSITIVE, f32::MAX, -f32::MAX, 1.0 / 3.0, -0.1, 12345.679];

fn values(count: usize, salt: u32) -> Vec<f32> {
    (0..count)
        .map(|i| {
            let i = i as u32;
            if (i + salt).is_multiple_of(3) {
                TRICKY[((i + salt) as usize) % TRICKY.len()]
            } else {
                (i as f32 - 7.5) * 0.37 + salt as f32
            }
        })
        .collect()
}

fn metadata(rows: usize, cols: usize, hidden: usize) -> ModelMetadata {
    ModelMetadata {
        format_version: FORMAT_VERSION,
        created_by: created_by(),
        dataset: "MNIST (test \"quoted\" ünïcode)".into(),
        image_rows: rows,
        image_cols: cols,
        epochs_trained: 1.0 / 3.0 + 2.0,
        samples_seen: rbm_lab::limits::MAX_SAMPLES_SEEN - 7,
        training: TrainingConfig {
            learning_rate: 0.1 + f32::EPSILON,
            k: 3,
            noise_std: 0.0,
            batch_size: 17,
            sampling: VisibleSampling::Bernoulli,
            method: rbm_lab::model::GradientMethod::Pcd,
            centering: true,
            momentum: 0.9,
            ..TrainingConfig::default()
        },
        spec: ModelSpec {
            n_hidden: hidden,
            seed: 0xDEAD_BEEF_CAFE_F00D,
            initialisation: Initialisation::Hinton,
            ..ModelSpec::default()
        },
    }
}

fn sample_model(rows: usize, cols: usize, hidden: usize) -> ModelFile {
    let visible = rows * cols;
    let rbm = Rbm::from_parameters(visible, hidden, values(visible * hidden, 0), values(visible, 1), values(hidden, 2))
        .expect("consistent shapes");
    ModelFile::new(rbm, metadata(rows, cols, hidden))
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn assert_bit_exact(a: &ModelFile, b: &ModelFile) {
    assert_eq!(a.rbm.n_visible(), b.rbm.n_visible());
    assert_eq!(a.rbm.n_hidden(), b.rbm.n_hidden());
    assert_eq!(bits(a.rbm.weights_slice()), bits(b.rbm.weights_slice()));
    assert_eq!(bits(&a.rbm.visible_bias().to_vec()), bits(&b.rbm.visible_bias().to_vec()));
    assert_eq!(bits(&a.rbm.hidden_bias().to_vec()), bits(&b.rbm.hidden_bias().to_vec()));
    assert_eq!(a.metadata, b.metadata);
    assert_eq!(a.metadata.epochs_trained.to_bits(), b.metadata.epochs_trained.to_bits());
}

fn rbm_lab_entry(json: String) -> Option<HashMap<String, String>> {
    Some(HashMap::from([(METADATA_KEY.to_owned(), json)]))
}

/// Valid metadata for a 2x2-pixel (V = 4) model with 3 hidden units.
fn good_entries() -> Option<HashMap<String, String>> {
    rbm_lab_entry(serde_json::to_string(&metadata(2, 2, 3)).unwrap())
}

fn raw_file(tensors: Vec<(&str, Raw)>, entries: Option<HashMap<String, String>>) -> Vec<u8> {
    safetensors::serialize(tensors, entries).expect("test file encodes")
}

/// W [4, 3], b_v [4], b_h [3], with the given replacements.
fn file_with(w: Raw, b_v: Raw, b_h: Raw) -> Vec<u8> {
    raw_file(vec![("W", w), ("b_v", b_v), ("b_h", b_h)], good_entries())
}

fn good_w() -> Raw {
    Raw::f32(&[4, 3], &values(12, 0))
}
fn good_b_v() -> Raw {
    Raw::f32(&[4], &values(4, 1))
}
fn good_b_h() -> Raw {
    Raw::f32(&[3], &values(3, 2))
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

// ---------------------------------------------------------------- round trips

#[test]
fn round_trip_through_file_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let model = sample_model(3, 5, 7);
    save_model(&path, &model).unwrap();
    let loaded = load_model(&path).unwrap();
    assert_bit_exact(&model, &loaded);
    assert_eq!(loaded, model);
    assert_eq!(dir_entries(dir.path()), ["model.safetensors"], "no temporary file left behind");
}

#[test]
fn round_trip_through_bytes_is_bit_exact() {
    let model = sample_model(2, 2, 3);
    let loaded = model_from_bytes(&model_to_bytes(&model).unwrap()).unwrap();
    assert_bit_exact(&model, &loaded);
    // The hand-made helper files are valid too, so each malformed variant below differs only in its flaw.
    let hand_made = model_from_bytes(&file_with(good_w(), good_b_v(), good_b_h())).unwrap();
    assert_bit_exact(&model, &hand_made);
}

#[test]
fn saved_file_reads_with_the_safetensors_crate() {
    let model = sample_model(4, 6, 5);
    let bytes = model_to_bytes(&model).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(names, ["W", "b_h", "b_v"]);

    let w = file.tensor("W").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[24, 5][..]));
    let decoded: Vec<f32> = w.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(bits(&decoded), bits(model.rbm.weights_slice()), "W is row-major visible x hidden, little-endian");
    let b_v = file.tensor("b_v").unwrap();
    assert_eq!((b_v.dtype(), b_v.shape()), (Dtype::F32, &[24][..]));
    let b_h = file.tensor("b_h").unwrap();
    assert_eq!((b_h.dtype(), b_h.shape()), (Dtype::F32, &[5][..]));

    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let entries = header.metadata().as_ref().unwrap();
    assert_eq!(entries["format"], FORMAT_NAME);
    assert_eq!(entries["format_version"], FORMAT_VERSION.to_string());
    assert_eq!(entries["image_rows"], "4");
    assert_eq!(entries["image_cols"], "6");
    let parsed: ModelMetadata = serde_json::from_str(&entries[METADATA_KEY]).unwrap();
    assert_eq!(parsed, model.metadata);
}

#[test]
fn saving_is_deterministic() {
    // Same model, same bytes: files can be checksummed and compared, and seeded runs reproduced.
    let model = sample_model(3, 3, 4);
    let first = model_to_bytes(&model).unwrap();
    for _ in 0..5 {
        assert_eq!(model_to_bytes(&model.clone()).unwrap(), first);
    }
    let header_len = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    assert_eq!(header_len % 8, 0, "data starts 8-byte aligned");
}

// ---------------------------------------------------------------- malformed files

#[test]
fn rejects_bias_shapes_that_disagree_with_w() {
    let cases = [
        (file_with(good_w(), Raw::f32(&[5], &values(5, 1)), good_b_h()), "b_v"),
        (file_with(good_w(), Raw::f32(&[3], &values(3, 1)), good_b_h()), "b_v"),
        (file_with(good_w(), Raw::f32(&[4, 1], &values(4, 1)), good_b_h()), "b_v"),
        (file_with(good_w(), good_b_v(), Raw::f32(&[4], &values(4, 2))), "b_h"),
        (file_with(good_w(), good_b_v(), Raw::f32(&[], &[1.0])), "b_h"),
    ];
    for (bytes, expected_tensor) in cases {
        let error = model_from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(&error, ModelFileError::WrongShape { tensor, .. } if *tensor == expected_tensor),
            "{expected_tensor}: {error:?}"
        );
        assert!(error.to_string().contains("expected"), "{error}");
    }
}

#[test]
fn rejects_weights_that_are_not_a_matrix() {
    for shape in [&[12][..], &[2, 2, 3], &[]] {
        let count = shape.iter().product::<usize>();
        let bytes = file_with(Raw::f32(shape, &values(count, 0)), good_b_v(), good_b_h());
        let error = model_from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(&error, ModelFileError::WrongShape { tensor: "W", found, .. } if found == shape),
            "{shape:?}: {error:?}"
        );
    }
}

#[test]
fn rejects_wrong_dtypes() {
    let f64_w = file_with(Raw::f64(&[4, 3], &[0.5; 12]), good_b_v(), good_b_h());
    let error = model_from_bytes(&f64_w).unwrap_err();
    assert!(matches!(&error, ModelFileError::WrongDtype { tensor: "W", found } if found == "F64"), "{error:?}");
    assert!(error.to_string().contains("F32"), "says what is expected: {error}");

    let i32_b_h = file_with(good_w(), good_b_v(), Raw::i32(&[3], &[1, 2, 3]));
    let error = model_from_bytes(&i32_b_h).unwrap_err();
    assert!(matches!(&error, ModelFileError::WrongDtype { tensor: "b_h", found } if found == "I32"), "{error:?}");
}

#[test]
fn rejects_garbage() {
    let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let json_only = b"{\"W\": {\"dtype\": \"F32\", \"shape\": [1, 1], \"data_offsets\": [0, 4]}}".to_vec();
    let mut bad_json_header = 16u64.to_le_bytes().to_vec();
    bad_json_header.extend_from_slice(b"{not json at all");
    let mut unknown_dtype = Vec::new();
    let header = br#"{"W":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#;
    unknown_dtype.extend_from_slice(&(header.len() as u64).to_le_bytes());
    unknown_dtype.extend_from_slice(header);
    unknown_dtype.extend_from_slice(&[0; 16]);
    let inputs: [&[u8]; 7] = [
        b"",
        b"hello, this is not a model",
        &noise,
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        &json_only,
        &bad_json_header,
        &unknown_dtype,
    ];
    for input in inputs {
        let error = model_from_bytes(input).unwrap_err();
        assert!(matches!(error, ModelFileError::NotSafetensors(_)), "{:?}: {error:?}", &input[..input.len().min(16)]);
    }
}

#[test]
fn rejects_every_truncation_and_trailing_bytes() {
    let full = model_to_bytes(&sample_model(2, 3, 2)).unwrap();
    for len in 0..full.len() {
        let error = model_from_bytes(&full[..len]).unwrap_err();
        assert!(matches!(error, ModelFileError::NotSafetensors(_)), "truncated to {len}: {error:?}");
    }
    let mut longer = full.clone();
    longer.push(0);
    assert!(matches!(model_from_bytes(&longer), Err(ModelFileError::NotSafetensors(_))));
}

#[test]
fn truncated_file_on_disk_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.safetensors");
    let full = model_to_bytes(&sample_model(2, 2, 3)).unwrap();
    fs::write(&path, &full[..full.len() - 5]).unwrap();
    let error = load_model(&path).unwrap_err();
    assert!(matches!(&error, ModelFileError::NotSafetensors(message) if message.contains("truncated")), "{error}");
}

#[test]
fn crafted_huge_offsets_are_rejected_without_panicking() {
    // Eight U8 tensors of 2^61 - 1 bytes each: their offsets sum to just under 2^64, which
    // overflows when added to the header length.
    let size: u64 = (1 << 61) - 1;
    let mut header = String::from("{");
    for i in 0..8u64 {
        let sep = if i == 0 { "" } else { "," };
        header += &format!(
            r#"{sep}"t{i}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#,
            i * size,
            (i + 1) * size
        );
    }
    header += "}";
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    let error = model_from_bytes(&bytes).unwrap_err();
    assert!(matches!(error, ModelFileError::NotSafetensors(_)), "{error:?}");
}

#[test]
fn rejects_missing_tensors() {
    let no_b_h = raw_file(vec![("W", good_w()), ("b_v", good_b_v())], good_entries());
    assert!(matches!(model_from_bytes(&no_b_h), Err(ModelFileError::MissingTensor("b_h"))));
    let renamed_w = raw_file(vec![("weights", good_w()), ("b_v", good_b_v()), ("b_h", good_b_h())], good_entries());
    assert!(matches!(model_from_bytes(&renamed_w), Err(ModelFileError::MissingTensor("W"))));
    let no_b_v = raw_file(vec![("W", good_w()), ("b_h", good_b_h())], good_entries());
    assert!(matches!(model_from_bytes(&no_b_v), Err(ModelFileError::MissingTensor("b_v"))));
}

#[test]
fn rejects_missing_or_invalid_metadata() {
    let tensors = || vec![("W", good_w()), ("b_v", good_b_v()), ("b_h", good_b_h())];
    let mut complete: serde_json::Value = serde_json::to_value(metadata(2, 2, 3)).unwrap();
    let mut without_rows = complete.clone();
    without_rows.as_object_mut().unwrap().remove("image_rows");
    let mut wrong_type = complete.clone();
    wrong_type["samples_seen"] = serde_json::json!("many");
    let mut newer = complete.clone();
    newer["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
    let mut zero = complete.clone();
    zero["format_version"] = serde_json::json!(0);
    complete.as_object_mut().unwrap().remove("format_version");
    let no_version = complete;

    let cases: Vec<(&str, Option<HashMap<String, String>>)> = vec![
        ("no __metadata__ at all", None),
        ("no rbm_lab entry", Some(HashMap::from([("format".to_owned(), "rbm-lab".to_owned())]))),
        ("not JSON", rbm_lab_entry("{format_version: 1".into())),
        ("JSON but not an object", rbm_lab_entry("[1, 2, 3]".into())),
        ("a field missing", rbm_lab_entry(without_rows.to_string())),
        ("a field of the wrong type", rbm_lab_entry(wrong_type.to_string())),
        ("newer format version", rbm_lab_entry(newer.to_string())),
        ("format version 0", rbm_lab_entry(zero.to_string())),
        ("no format version", rbm_lab_entry(no_version.to_string())),
    ];
    for (case, entries) in cases {
        let error = model_from_bytes(&raw_file(tensors(), entries)).unwrap_err();
        assert!(matches!(error, ModelFileError::BadMetadata(_)), "{case}: {error:?}");
        if case == "newer format version" {
            assert!(error.to_string().contains("newer rbm-lab"), "{error}");
        }
    }
}

#[test]
fn rejects_image_size_that_disagrees_with_visible_units() {
    // W says 4 visible units; metadata says 3x3 images.
    let bytes = raw_file(
        vec![("W", good_w()), ("b_v", good_b_v()), ("b_h", good_b_h())],
        rbm_lab_entry(serde_json::to_string(&metadata(3, 3, 3)).unwrap()),
    );
    assert!(matches!(model_from_bytes(&bytes), Err(ModelFileError::BadMetadata(_))));
    // And the save refuses to write such a file in the first place.
    let mut model = sample_model(2, 2, 3);
    model.metadata.image_cols = 3;
    assert!(matches!(model_to_bytes(&model), Err(ModelFileError::BadMetadata(_))));
}

#[test]
fn rejects_empty_layers_as_shape_error() {
    let bytes = raw_file(
        vec![("W", Raw::f32(&[4, 0], &[])), ("b_v", good_b_v()), ("b_h", Raw::f32(&[0], &[]))],
        good_entries(),
    );
    let error = model_from_bytes(&bytes).unwrap_err();
    assert!(matches!(error, ModelFileError::Shape(ShapeError::Empty { visible: 4, hidden: 0 })), "{error:?}");
}

#[test]
fn rejects_non_finite_parameters_on_load_and_save() {
    let mut w = values(12, 0);
    w[5] = f32::NAN;
    let nan_w = file_with(Raw::f32(&[4, 3], &w), good_b_v(), good_b_h());
    assert!(matches!(model_from_bytes(&nan_w), Err(ModelFileError::NonFinite)));
    let inf_b_h = file_with(good_w(), good_b_v(), Raw::f32(&[3], &[0.0, f32::NEG_INFINITY, 1.0]));
    assert!(matches!(model_from_bytes(&inf_b_h), Err(ModelFileError::NonFinite)));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("diverged.safetensors");
    fs::write(&path, b"previous good model").unwrap();
    let mut model = sample_model(2, 2, 3);
    model.rbm.parameters_mut().1[0] = f32::INFINITY;
    assert!(matches!(save_model(&path, &model), Err(ModelFileError::NonFinite)));
    assert_eq!(fs::read(&path).unwrap(), b"previous good model", "a refused save leaves the old file alone");
    assert_eq!(dir_entries(dir.path()), ["diverged.safetensors"]);
}

#[test]
fn refuses_to_save_metadata_that_could_not_be_loaded() {
    let mut model = sample_model(2, 2, 3);
    model.metadata.epochs_trained = f64::NAN;
    assert!(matches!(model_to_bytes(&model), Err(ModelFileError::BadMetadata(_))));
    let mut model = sample_model(2, 2, 3);
    model.metadata.training.learning_rate = f32::NAN; // JSON has no NaN: it would be written as null.
    assert!(matches!(model_to_bytes(&model), Err(ModelFileError::BadMetadata(_))));
    let mut model = sample_model(2, 2, 3);
    model.metadata.format_version = FORMAT_VERSION + 1;
    assert!(matches!(model_to_bytes(&model), Err(ModelFileError::BadMetadata(_))));
}

// ---------------------------------------------------------------- atomic saves

#[test]
fn loading_a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing-here.safetensors");
    let error = load_model(&path).unwrap_err();
    assert!(
        matches!(&error, ModelFileError::Io { path: p, source } if *p == path && source.kind() == io::ErrorKind::NotFound)
    );
    assert!(error.to_string().contains("nothing-here.safetensors"), "{error}");
}

#[test]
fn save_into_missing_directory_fails_with_io_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("model.safetensors");
    let error = save_model(&path, &sample_model(2, 2, 3)).unwrap_err();
    assert!(matches!(&error, ModelFileError::Io { path: p, .. } if *p == path), "{error:?}");
    assert!(!dir.path().join("missing").exists());
    assert!(dir_entries(dir.path()).is_empty(), "{:?}", dir_entries(dir.path()));
}

#[test]
fn save_over_existing_file_replaces_it_fully() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    // Larger than the new file: a save that overwrote in place without truncating would leave a tail.
    fs::write(&path, vec![0xAB; 100_000]).unwrap();
    let model = sample_model(2, 3, 4);
    save_model(&path, &model).unwrap();
    assert_eq!(fs::read(&path).unwrap(), model_to_bytes(&model).unwrap());
    assert_eq!(load_model(&path).unwrap(), model);

    // And again over a real model of a different size.
    let second = sample_model(5, 5, 9);
    save_model(&path, &second).unwrap();
    assert_bit_exact(&load_model(&path).unwrap(), &second);
    assert_eq!(dir_entries(dir.path()), ["model.safetensors"]);
}

#[test]
fn failed_write_leaves_existing_file_intact_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loss.csv");
    fs::write(&path, "the old contents").unwrap();
    let result = atomic_write(&path, |writer| {
        writer.write_all(b"half of the new ")?;
        Err(io::Error::other("disk full, say"))
    });
    assert_eq!(result.unwrap_err().to_string(), "disk full, say");
    assert_eq!(fs::read_to_string(&path).unwrap(), "the old contents");
    assert_eq!(dir_entries(dir.path()), ["loss.csv"]);
}

#[test]
fn saving_to_a_directory_path_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("taken")).unwrap();
    let error = save_model(&dir.path().join("taken"), &sample_model(2, 2, 3)).unwrap_err();
    assert!(matches!(error, ModelFileError::Io { .. }), "{error:?}");
    assert_eq!(dir_entries(dir.path()), ["taken"]);
}

// ---------------------------------------------------------------- exports

#[test]
fn png_round_trips_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("filters.png");
    let (width, height) = (7u32, 5u32);
    let pixels: Vec<u8> = (0..width * height).map(|i| (i * 37 % 256) as u8).collect();
    write_png_gray(&path, width, height, &pixels).unwrap();
    let image = image::open(&path).unwrap();
    assert_eq!(image.color(), image::ColorType::L8);
    let gray = image.to_luma8();
    assert_eq!(gray.dimensions(), (width, height));
    assert_eq!(gray.into_raw(), pixels);
    assert_eq!(dir_entries(dir.path()), ["filters.png"]);
}

#[test]
fn png_with_wrong_pixel_count_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let error = write_png_gray(&path, 4, 3, &[0; 11]).unwrap_err();
    assert!(matches!(error, ExportError::PixelCount { width: 4, height: 3, expected: 12, found: 11 }), "{error:?}");
    assert!(error.to_string().contains("12"), "{error}");
    assert!(matches!(write_png_gray(&path, 0, 3, &[]), Err(ExportError::EmptyImage { .. })));
    assert!(dir_entries(dir.path()).is_empty());
    let missing = dir.path().join("missing").join("x.png");
    assert!(matches!(write_png_gray(&missing, 1, 1, &[9]), Err(ExportError::Io { .. })));
}

#[test]
fn loss_csv_has_header_and_one_line_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loss.csv");
    let rows = [
        LossCsvRow { epoch: 0.5, batch_loss: 0.25, epoch_mean: None },
        LossCsvRow { epoch: 1.0, batch_loss: 0.125, epoch_mean: Some(0.1875) },
        // An epoch-mean-only row, as the app writes them: NaN batch loss becomes an empty field.
        LossCsvRow { epoch: 2.0, batch_loss: f32::NAN, epoch_mean: Some(0.15) },
        LossCsvRow { epoch: 1.0 / 3.0, batch_loss: 0.1, epoch_mean: None },
    ];
    write_loss_csv(&path, &rows).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), rows.len() + 1);
    assert_eq!(lines[0], "epoch,batch_l1,epoch_mean_l1");
    assert_eq!(lines[1], "0.5,0.25,");
    assert_eq!(lines[2], "1,0.125,0.1875");
    assert_eq!(lines[3], "2,,0.15");
    // Values read back are the values written (f32 printed as f32, not widened).
    assert_eq!(lines[4], format!("{},0.1,", 1.0 / 3.0));
    assert_eq!(lines[4].split(',').next().unwrap().parse::<f64>().unwrap(), 1.0 / 3.0);
    assert!(text.ends_with('\n'));
    assert_eq!(dir_entries(dir.path()), ["loss.csv"]);

    write_loss_csv(&path, &[]).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "epoch,batch_l1,epoch_mean_l1\n");
}
