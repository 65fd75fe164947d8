use super::kernels::{self, Isa, Job};
use super::*;

/// Deterministic values with about `density` of them nonzero (some rows all zero, one all nonzero).
fn sparse_pattern(rows: usize, width: usize, density: f64, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut a = vec![0.0; rows * width];
    for r in 0..rows {
        for c in 0..width {
            let keep = match r % 5 {
                3 => false,
                4 => true,
                _ => next() < density,
            };
            if keep {
                a[r * width + c] = (next() * 2.0 - 0.5) as f32;
            }
        }
    }
    a
}

fn dense(rows: usize, width: usize, seed: u64) -> Vec<f32> {
    (0..rows * width).map(|i| (i as f32 * 0.731 + seed as f32).sin() * 0.5).collect()
}

fn supported_isas() -> Vec<Isa> {
    let mut isas = vec![kernels::isa()];
    #[cfg(target_arch = "x86_64")]
    if isas[0] != Isa::Avx2Fma
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        isas.push(Isa::Avx2Fma);
    }
    if isas[0] != Isa::Baseline {
        isas.push(Isa::Baseline);
    }
    isas
}

fn close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()), "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn affine_matches_the_dense_sum_on_every_instruction_set() {
    // Widths around the block sizes (32, 64, 128) and a single column.
    for (rows, k, n) in [(7, 13, 1), (10, 30, 31), (9, 784, 64), (6, 50, 129), (11, 40, 500), (0, 5, 8)] {
        let a = sparse_pattern(rows, k, 0.2, (k * n) as u64);
        let w = dense(k, n, 3);
        let bias = dense(1, n, 9);
        let want: Vec<f64> = (0..rows * n)
            .map(|idx| {
                let (r, c) = (idx / n, idx % n);
                bias[c] as f64 + (0..k).map(|i| a[r * k + i] as f64 * w[i * n + c] as f64).sum::<f64>()
            })
            .collect();
        for isa in supported_isas() {
            let mut out = vec![f32::NAN; rows * n];
            SCRATCH.with_borrow_mut(|scratch| {
                let Scratch { entries, bounds } = scratch;
                entries.fill_rows(&a, rows, k);
                for row in out.chunks_exact_mut(n) {
                    row.copy_from_slice(&bias);
                }
                kernels::run_on(isa, Job::Affine { out: &mut out, entries, bounds, rows, w: &w, k, n });
            });
            close(&out, &want, &format!("{isa:?} {rows}x{k}x{n}"));
        }
    }
}

#[test]
fn a_row_depends_on_that_row_alone() {
    let (rows, k, n) = (12, 200, 300);
    let a = sparse_pattern(rows, k, 0.15, 5);
    let w = dense(k, n, 1);
    let bias = dense(1, n, 2);
    let mut whole = vec![0.0; rows * n];
    affine(&mut whole, &a, rows, &w, k, n, &bias);
    for split in [1, 5, 7] {
        let mut parts = vec![0.0; rows * n];
        for (out, a) in parts.chunks_mut(split * n).zip(a.chunks(split * k)) {
            affine(out, a, a.len() / k, &w, k, n, &bias);
        }
        assert_eq!(
            parts.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            whole.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn outer_products_match_the_dense_sum_with_and_without_the_correction() {
    let (rows, k, n) = (17, 70, 150);
    // One dense row (row 4), two empty ones (3, 8) and ~5% elsewhere: under the lists' 15%.
    let mut a = sparse_pattern(rows, k, 0.05, 11);
    for r in [9, 14] {
        a[r * k..(r + 1) * k].iter_mut().for_each(|x| *x = 0.0);
    }
    let too_dense = sparse_pattern(rows, k, 0.3, 11);
    let b = dense(rows, n, 4);
    let start = dense(k, n, 6);
    let offset = dense(1, k, 7);
    let sums = dense(1, n, 8);
    let alpha = 0.37f32;
    for corrected in [false, true] {
        let want: Vec<f64> = (0..k * n)
            .map(|idx| {
                let (i, j) = (idx / n, idx % n);
                let product: f64 = (0..rows).map(|r| a[r * k + i] as f64 * b[r * n + j] as f64).sum();
                let fix = if corrected { offset[i] as f64 * sums[j] as f64 } else { 0.0 };
                start[idx] as f64 + alpha as f64 * (product - fix)
            })
            .collect();
        let correction = corrected.then_some((&offset[..], &sums[..]));
        let mut columns = ColumnEntries::default();
        assert!(!columns.fill(&too_dense, rows, k), "denser than the lists take");
        assert!(columns.fill(&a, rows, k));
        let mut whole = start.clone();
        add_outer_products(&mut whole, (0, k), &columns, &b, n, alpha, correction);
        close(&whole, &want, &format!("corrected {corrected}"));
        // Blocks of target rows, as threads update them, give the same bits.
        let mut blocks = start.clone();
        for (index, target) in blocks.chunks_mut(30 * n).enumerate() {
            let count = target.len() / n;
            add_outer_products(target, (index * 30, count), &columns, &b, n, alpha, correction);
        }
        assert!(blocks.iter().zip(&whole).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert!(columns.bytes() as u128 <= ColumnEntries::max_bytes(rows, k));
    }
}

#[test]
fn zeros_are_skipped_without_changing_the_result() {
    // A row of zeros gives the bias exactly; a binary row gives bias + the sum of the chosen rows.
    let (k, n) = (6, 5);
    let w = dense(k, n, 2);
    let bias = dense(1, n, 3);
    let a = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let mut out = vec![0.0; 2 * n];
    affine(&mut out, &a, 2, &w, k, n, &bias);
    for c in 0..n {
        let want = (bias[c] as f64 + w[n + c] as f64 + w[4 * n + c] as f64) as f32;
        assert!((out[c] - want).abs() < 1e-6);
        assert_eq!(out[n + c].to_bits(), bias[c].to_bits());
    }
}
