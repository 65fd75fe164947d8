//! Property test of the readers: real files (the embedded MNIST's IDX bytes, slices of them plain
//! and gzipped, small model files saved by `save_model`, one with extra tensors) mutated by a
//! seeded mutator and fed to `parse_idx_images`, `parse_idx_labels`, `model_from_bytes` and, through
//! temporary files, `load_model`.
//!
//! Asserted for every case: no panic (each call runs under `catch_unwind`; a failure names the
//! case's seed and mutations), and no single allocation above the stated cap for that input:
//!   - plain IDX and model bytes: 1 MiB + 8 x the input's length (the readers copy the data once and
//!     build their tables from the header text, which the input holds);
//!   - gzip IDX: 1 MiB + 2 x 1032 x the input's length (deflate expands at most 1032:1, and a
//!     vector that grows while reading doubles);
//!   - a model file extended (sparsely) beyond the written bytes: the plain cap plus the header
//!     limit, `MAX_MODEL_HEADER_BYTES`, since such a file really holds a header that long.
//!
//! A reader that reserves what a header or a file length claims (a 1 TiB sparse file, an IDX
//! header announcing gigabytes) breaks that cap. Requests above 4 GiB are not even attempted: the
//! allocator prints the case and refuses them, which aborts the test binary with that message.
//!
//! `RBM_FUZZ_CASES` (per reader family) and `RBM_FUZZ_SEED` change the run; the default runs 50,000
//! cases in a few seconds in release mode.
//!
//! One file past 500 lines: one mutator and one property per reader family, which share the
//! corpus and the seeded mutations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use rand::{Rng, RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rbm_lab::data::{parse_idx_images, parse_idx_labels};
use rbm_lab::io::{ModelFile, ModelMetadata, load_model, model_from_bytes, model_to_bytes};
use rbm_lab::model::{ModelSpec, Rbm, TrainingConfig};
use safetensors::Dtype;
use safetensors::tensor::TensorView;

// ---------------------------------------------------------------------------------------------
// Allocation tracking: the largest single request made by this thread while a case runs.

struct CountingAllocator;

/// Requests above this are refused (after printing the case), since they would not fit in memory.
const REFUSED_ABOVE: usize = 4 << 30;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static CASE_SEED: Cell<u64> = const { Cell::new(0) };
}

/// Notes a request; false when it must be refused.
fn note(size: usize) -> bool {
    // try_with: thread-locals may already be gone while a thread shuts down.
    let tracking = TRACKING.try_with(Cell::get).unwrap_or(false);
    if !tracking {
        return true;
    }
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    if size > REFUSED_ABOVE {
        let seed = CASE_SEED.try_with(Cell::get).unwrap_or(0);
        report_refusal(size, seed);
        return false;
    }
    true
}

/// Writes "allocation of N bytes refused in the case with seed S" without allocating.
fn report_refusal(size: usize, seed: u64) {
    fn push_number(buffer: &mut [u8; 160], at: &mut usize, mut n: u64, base: u64) {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b"0123456789abcdef"[(n % base) as usize];
            count += 1;
            n /= base;
            if n == 0 {
                break;
            }
        }
        for &digit in digits[..count].iter().rev() {
            buffer[*at] = digit;
            *at += 1;
        }
    }
    fn push_text(buffer: &mut [u8; 160], at: &mut usize, text: &[u8]) {
        buffer[*at..*at + text.len()].copy_from_slice(text);
        *at += text.len();
    }
    let mut buffer = [0u8; 160];
    let mut at = 0;
    push_text(&mut buffer, &mut at, b"fuzz_readers: an allocation of ");
    push_number(&mut buffer, &mut at, size as u64, 10);
    push_text(&mut buffer, &mut at, b" bytes refused in the case with seed 0x");
    push_number(&mut buffer, &mut at, seed, 16);
    push_text(&mut buffer, &mut at, b"\n");
    let _ = std::io::stderr().write_all(&buffer[..at]);
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note(new_size) {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs one case: `f` under `catch_unwind` with allocation tracking; fails the test, naming the
/// case, on a panic or on an allocation above `cap`.
fn run_case<T>(seed: u64, what: &dyn Fn() -> String, cap: usize, f: impl FnOnce() -> T) {
    CASE_SEED.with(|s| s.set(seed));
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    TRACKING.with(|t| t.set(false));
    let largest = LARGEST.with(Cell::get);
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        panic!("case with seed {seed:#x} ({}) panicked: {message}", what());
    }
    assert!(
        largest <= cap,
        "case with seed {seed:#x} ({}) allocated {largest} bytes at once, above its cap of {cap}",
        what()
    );
}

const FLOOR: usize = 1 << 20;

fn plain_cap(input: &[u8]) -> usize {
    FLOOR + 8 * input.len()
}

fn gzip_cap(input: &[u8]) -> usize {
    FLOOR + 2 * 1032 * input.len()
}

fn cases_per_family() -> usize {
    std::env::var("RBM_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(25_000)
}

fn base_seed() -> u64 {
    std::env::var("RBM_FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(0x00F0_221E)
}

// ---------------------------------------------------------------------------------------------
// Seed inputs: real files.

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).expect("the embedded assets are gzip");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    // Fast compression: the gzip seeds are small and many cases compress a mutated file again.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// The first `count` items of an IDX file as an IDX file of their own (header count rewritten).
fn idx_slice(plain: &[u8], header_len: usize, item_len: usize, count: usize) -> Vec<u8> {
    let mut out = plain[..header_len + count * item_len].to_vec();
    out[4..8].copy_from_slice(&(count as u32).to_be_bytes());
    out
}

/// Plain IDX seeds: the embedded test labels, and slices of the test images and labels.
fn idx_seeds() -> Vec<(String, Vec<u8>)> {
    let images = gunzip(include_bytes!("../assets/t10k-images-idx3-ubyte.gz"));
    let labels = gunzip(include_bytes!("../assets/t10k-labels-idx1-ubyte.gz"));
    let mut seeds = vec![("t10k labels".to_string(), labels.clone())];
    for count in [0, 1, 2, 3, 10] {
        seeds.push((format!("{count} test images"), idx_slice(&images, 16, 784, count)));
        seeds.push((format!("{count} test labels"), idx_slice(&labels, 8, 1, count)));
    }
    seeds
}

fn small_model(rows: usize, cols: usize, hidden: usize, seed: u64) -> ModelFile {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let visible = rows * cols;
    let mut values = |n: usize| (0..n).map(|_| rng.random::<f32>() - 0.5).collect::<Vec<f32>>();
    let rbm = Rbm::from_parameters(visible, hidden, values(visible * hidden), values(visible), values(hidden))
        .expect("consistent shapes");
    let spec = ModelSpec { n_hidden: hidden, seed, ..ModelSpec::default() };
    ModelFile::new(rbm, ModelMetadata::new("fuzz", rows, cols, TrainingConfig::default(), spec))
}

/// `model`'s file with two more tensors (a velocity shaped like W and a step counter), as a file
/// with an optional section would have; written by the safetensors crate.
fn with_extra_tensors(model: &ModelFile) -> Vec<u8> {
    let plain = model_to_bytes(model).expect("a valid model");
    let header_len = u64::from_le_bytes(plain[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&plain[8..8 + header_len]).unwrap();
    let metadata: HashMap<String, String> = serde_json::from_value(header["__metadata__"].clone()).unwrap();
    let (nv, nh) = (model.rbm.n_visible(), model.rbm.n_hidden());
    let le = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let w = le(model.rbm.weights_slice());
    let b_v = le(model.rbm.visible_bias().as_slice().unwrap());
    let b_h = le(model.rbm.hidden_bias().as_slice().unwrap());
    let velocity = vec![0u8; w.len()];
    let step = 12345u64.to_le_bytes().to_vec();
    let views = [
        ("W", TensorView::new(Dtype::F32, vec![nv, nh], &w).unwrap()),
        ("b_v", TensorView::new(Dtype::F32, vec![nv], &b_v).unwrap()),
        ("b_h", TensorView::new(Dtype::F32, vec![nh], &b_h).unwrap()),
        ("train_velocity", TensorView::new(Dtype::F32, vec![nv, nh], &velocity).unwrap()),
        ("train_step", TensorView::new(Dtype::U64, vec![1], &step).unwrap()),
    ];
    safetensors::serialize(views, Some(metadata)).unwrap()
}

fn model_seeds() -> Vec<(String, Vec<u8>)> {
    let tiny = small_model(2, 2, 3, 1);
    let mnist_sized = small_model(28, 28, 2, 2);
    let seeds = vec![
        ("2x2x3 model".to_string(), model_to_bytes(&tiny).unwrap()),
        ("784x2 model".to_string(), model_to_bytes(&mnist_sized).unwrap()),
        ("1x7x5 model".to_string(), model_to_bytes(&small_model(1, 7, 5, 3)).unwrap()),
        ("2x2x3 model with extra tensors".to_string(), with_extra_tensors(&tiny)),
        ("784x2 model with extra tensors".to_string(), with_extra_tensors(&mnist_sized)),
    ];
    for (name, bytes) in &seeds {
        assert!(model_from_bytes(bytes).is_ok(), "the unmutated {name} must load");
    }
    seeds
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// Values that break size arithmetic: zero, one, the largest of each width, powers of two.
const EXTREME_U64: [u64; 12] =
    [0, 1, 7, 255, 65_535, 1 << 31, u32::MAX as u64, 1 << 32, 1 << 40, 1 << 62, u64::MAX - 7, u64::MAX];
const EXTREME_U32: [u32; 9] = [0, 1, 2, 255, 28, 65_535, 1 << 24, 0x7FFF_FFFF, u32::MAX];

/// Byte-level damage: bit flips, bytes set to 0, 0xFF or random, truncation, appended bytes.
fn damage(rng: &mut Xoshiro256PlusPlus, bytes: &mut Vec<u8>, log: &mut Vec<String>) {
    match rng.random_range(0..5) {
        0 if !bytes.is_empty() => {
            let flips = rng.random_range(1..=8);
            for _ in 0..flips {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            log.push(format!("{flips} bit flips"));
        }
        1 if !bytes.is_empty() => {
            let value = [0u8, 0xFF, rng.random()][rng.random_range(0..3)];
            let count = rng.random_range(1..=8);
            for _ in 0..count {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = value;
            }
            log.push(format!("{count} bytes set to {value:#04x}"));
        }
        2 => {
            let at = rng.random_range(0..=bytes.len());
            bytes.truncate(at);
            log.push(format!("truncated to {at}"));
        }
        3 => {
            let count = rng.random_range(1..=64);
            bytes.extend((0..count).map(|_| rng.random::<u8>()));
            log.push(format!("{count} bytes appended"));
        }
        _ => {
            // A run of random bytes overwritten somewhere.
            if !bytes.is_empty() {
                let at = rng.random_range(0..bytes.len());
                let end = (at + rng.random_range(1..=16)).min(bytes.len());
                rng.fill_bytes(&mut bytes[at..end]);
                log.push(format!("bytes {at}..{end} randomised"));
            }
        }
    }
}

/// IDX-specific damage: a header word (magic, count, rows, cols) replaced with an extreme value.
fn damage_idx_header(rng: &mut Xoshiro256PlusPlus, bytes: &mut [u8], log: &mut Vec<String>) {
    let words = (bytes.len().min(16)) / 4;
    if words == 0 {
        return;
    }
    let word = rng.random_range(0..words);
    let value = if rng.random_bool(0.8) { EXTREME_U32[rng.random_range(0..EXTREME_U32.len())] } else { rng.random() };
    bytes[4 * word..4 * word + 4].copy_from_slice(&value.to_be_bytes());
    log.push(format!("header word {word} = {value:#x}"));
}

/// One mutated IDX input: the plain bytes damaged, then gzipped (a valid stream with damaged
/// content), or gzipped and then damaged (a corrupt stream), or left plain.
fn mutate_idx(rng: &mut Xoshiro256PlusPlus, seed: &[u8], log: &mut Vec<String>) -> (Vec<u8>, bool) {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        if rng.random_bool(0.4) {
            damage_idx_header(rng, &mut bytes, log);
        } else {
            damage(rng, &mut bytes, log);
        }
    }
    match rng.random_range(0..4) {
        0 => {
            log.push("gzipped".into());
            (gzip(&bytes), true)
        }
        1 => {
            let mut compressed = gzip(seed);
            log.clear();
            log.push("gzipped, then".into());
            damage(rng, &mut compressed, log);
            (compressed, true)
        }
        _ => (bytes, false),
    }
}

/// The model file's header as JSON, or None when the file is too damaged to have one.
fn split_model(bytes: &[u8]) -> Option<(serde_json::Map<String, serde_json::Value>, Vec<u8>)> {
    let header_len = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = bytes.get(8..8usize.checked_add(header_len)?)?;
    let serde_json::Value::Object(map) = serde_json::from_slice(header).ok()? else { return None };
    Some((map, bytes[8 + header_len..].to_vec()))
}

fn join_model(header_text: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header_text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header_text.as_bytes());
    out.extend_from_slice(data);
    out
}

/// JSON header edits: huge shapes and offsets, wrong dtypes, many dimensions, duplicated keys,
/// NaN strings and absurd numbers in the metadata, tensors removed or renamed.
fn edit_model_header(rng: &mut Xoshiro256PlusPlus, bytes: &[u8], log: &mut Vec<String>) -> Option<Vec<u8>> {
    use serde_json::{Value, json};
    let (mut header, data) = split_model(bytes)?;
    let tensors: Vec<String> = header.keys().filter(|k| *k != "__metadata__").cloned().collect();
    let name = tensors.get(rng.random_range(0..tensors.len().max(1)))?.clone();
    // Earlier damage may have left valid JSON of another form; only tables of objects are edited.
    if !header.get(&name).is_some_and(Value::is_object) || !header.get("__metadata__").is_some_and(Value::is_object) {
        return None;
    }
    let huge = |rng: &mut Xoshiro256PlusPlus| EXTREME_U64[rng.random_range(0..EXTREME_U64.len())];
    let mut text = None;
    match rng.random_range(0..9) {
        0 => {
            let shape = match rng.random_range(0..4) {
                0 => json!([100_000, 100_000]),
                1 => json!([huge(rng), huge(rng)]),
                2 => json!([huge(rng)]),
                _ => json!([1 << 20, 1 << 20, 1 << 20]),
            };
            log.push(format!("{name}.shape = {shape}"));
            header[&name]["shape"] = shape;
        }
        1 => {
            let (start, end) = (huge(rng), huge(rng));
            log.push(format!("{name}.data_offsets = [{start}, {end}]"));
            header[&name]["data_offsets"] = json!([start, end]);
        }
        2 => {
            let dtype = ["F64", "I32", "BOOL", "U8", "F8_E5M2", "XYZ", ""][rng.random_range(0..7)];
            log.push(format!("{name}.dtype = {dtype:?}"));
            header[&name]["dtype"] = json!(dtype);
        }
        3 => {
            let dims = rng.random_range(9..2000);
            log.push(format!("{name} with {dims} dimensions"));
            header[&name]["shape"] = Value::Array(vec![json!(1); dims]);
        }
        4 => {
            // A second entry with the same name, placed first in the text.
            let duplicate =
                json!({"dtype": "F32", "shape": [huge(rng) % 4096], "data_offsets": [0, huge(rng) % 65_536]});
            let rest = serde_json::to_string(&Value::Object(header.clone())).ok()?;
            log.push(format!("duplicated {name}: {duplicate}"));
            text = Some(format!("{{\"{name}\":{duplicate},{}", &rest[1..]));
        }
        5 => {
            header.remove(&name);
            log.push(format!("{name} removed"));
        }
        6 => {
            let entry = header.remove(&name)?;
            header.insert(format!("{name}_"), entry);
            log.push(format!("{name} renamed"));
        }
        _ => {
            // The rbm_lab metadata: a field set to NaN text, an absurd number or a wrong type.
            let json = header.get("__metadata__")?.get("rbm_lab")?.as_str()?.to_owned();
            let Value::Object(mut metadata) = serde_json::from_str::<Value>(&json).ok()? else { return None };
            let field = ["epochs_trained", "samples_seen", "image_rows", "image_cols", "format_version", "training"]
                [rng.random_range(0..6)];
            let value = [
                json!("NaN"),
                json!(1e300),
                json!(-1),
                json!(u64::MAX),
                json!(huge(rng)),
                json!({"learning_rate": "NaN"}),
                Value::Null,
            ][rng.random_range(0..7)]
            .clone();
            log.push(format!("rbm_lab.{field} = {value}"));
            metadata.insert(field.into(), value);
            let mut edited = serde_json::to_string(&Value::Object(metadata)).ok()?;
            if rng.random_bool(0.2) {
                // Raw NaN, which is not JSON.
                edited = edited.replacen("0.005", "NaN", 1);
                log.push("a learning rate written as NaN".into());
            }
            header["__metadata__"]["rbm_lab"] = Value::String(edited);
        }
    }
    let text = text.unwrap_or_else(|| serde_json::to_string(&Value::Object(header)).unwrap_or_default());
    Some(join_model(&text, &data))
}

/// One mutated model file.
fn mutate_model(rng: &mut Xoshiro256PlusPlus, seed: &[u8], log: &mut Vec<String>) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        match rng.random_range(0..10) {
            0..=3 => {
                if let Some(edited) = edit_model_header(rng, &bytes, log) {
                    bytes = edited;
                }
            }
            4 | 5 if bytes.len() >= 8 => {
                let value = if rng.random_bool(0.7) {
                    EXTREME_U64[rng.random_range(0..EXTREME_U64.len())]
                } else {
                    // Near the true length, or just past the header limit.
                    let near = u64::from_le_bytes(bytes[..8].try_into().unwrap());
                    [near.wrapping_add(rng.random_range(1..16)), near.wrapping_sub(rng.random_range(1..16)), 16 << 20]
                        [rng.random_range(0..3)]
                };
                bytes[..8].copy_from_slice(&value.to_le_bytes());
                log.push(format!("header length = {value}"));
            }
            _ => damage(rng, &mut bytes, log),
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// The properties.

#[test]
fn idx_readers_survive_mutated_mnist_files() {
    let seeds = idx_seeds();
    let base = base_seed();
    let cases = cases_per_family();
    // The unmutated seeds parse.
    for (name, bytes) in &seeds {
        let parsed = if name.contains("images") {
            parse_idx_images(bytes).map(|a| a.count)
        } else {
            parse_idx_labels(bytes).map(|l| l.len())
        };
        assert!(parsed.is_ok(), "{name}: {parsed:?}");
    }
    for case in 0..cases {
        let seed = base ^ (case as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let (name, original) = &seeds[rng.random_range(0..seeds.len())];
        let mut log = Vec::new();
        let (input, gzipped) = mutate_idx(&mut rng, original, &mut log);
        let what = || format!("{name}: {}", log.join(", "));
        let cap = if gzipped { gzip_cap(&input) } else { plain_cap(&input) };
        run_case(seed, &what, cap, || parse_idx_images(&input).map(|a| a.pixels.len()));
        run_case(seed, &what, cap, || parse_idx_labels(&input).map(|l| l.len()));
    }
    println!("fuzz_readers: {cases} mutated IDX inputs, each through parse_idx_images and parse_idx_labels");
}

#[test]
fn model_readers_survive_mutated_model_files() {
    let seeds = model_seeds();
    let base = base_seed() ^ 0x5AFE_7E45;
    let cases = cases_per_family();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (mut through_files, mut sparse) = (0, 0);
    for case in 0..cases {
        let seed = base ^ (case as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let (name, original) = &seeds[rng.random_range(0..seeds.len())];
        let mut log = Vec::new();
        let input = mutate_model(&mut rng, original, &mut log);
        let what = || format!("{name}: {}", log.join(", "));
        run_case(seed, &what, plain_cap(&input), || model_from_bytes(&input).map(|m| m.rbm.n_hidden()));
        if case % 8 == 0 {
            // The same bytes through a file; now and then the file is extended (sparsely) to a
            // huge length, as a disk image or a `truncate -s 1T` file would be.
            let path = dir.path().join(format!("case-{case}.safetensors"));
            std::fs::write(&path, &input).expect("writing a case");
            let (mut extended, mut cap) = (String::new(), plain_cap(&input));
            if rng.random_bool(0.1) {
                // The header may now really be as long as its limit (zeros past the written bytes).
                cap += 8 + rbm_lab::limits::MAX_MODEL_HEADER_BYTES as usize;
                let length = [1u64 << 40, (1 << 30) + 5, input.len() as u64 + (1 << 20)][rng.random_range(0..3)];
                std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(length)).expect("extending");
                extended = format!(", the file extended to {length} bytes");
                sparse += 1;
            }
            let what = || format!("{}{extended}", what());
            run_case(seed, &what, cap, || load_model(&path).map(|m| m.rbm.n_hidden()));
            std::fs::remove_file(&path).expect("removing a case");
            through_files += 1;
        }
    }
    println!(
        "fuzz_readers: {cases} mutated model files through model_from_bytes, {through_files} of them also \
         through load_model ({sparse} extended to a huge length)"
    );
}
