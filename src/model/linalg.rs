//! Dense f32 matrix products on row-major slices, backed by the `gemm` crate (AVX2/AVX-512 kernels,
//! optional rayon threads). The three shapes the RBM needs are spelled out as functions so that every
//! call site states its shapes and the unsafe strided call lives in one place.
//!
//! On the few x86 CPUs where `gemm` would panic (see [`gemm_runs_here`]) the same products run
//! through the `matrixmultiply` crate on one thread: slower, and as reproducible (a product's bits
//! never depend on the thread count there).

use gemm::Parallelism;

/// How many threads the matrix products may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads(pub usize);

impl Threads {
    fn parallelism(self) -> Parallelism {
        if self.0 <= 1 { Parallelism::None } else { Parallelism::Rayon(self.0) }
    }
}

/// Row-major strides of a matrix view: element (r, c) is at `r * row + c * col`.
#[derive(Clone, Copy)]
struct Strides {
    row: isize,
    col: isize,
}

/// The element types of the products: f32 for training, f64 for the evaluation's free energies.
pub trait Scalar: Copy + Send + Sync + 'static {
    const ONE: Self;
    const ZERO: Self;

    /// `c = alpha a b + beta c` through `matrixmultiply` (m x k times k x n, strides in elements).
    ///
    /// # Safety
    /// As `matrixmultiply::sgemm`: every strided element of `a`, `b` and `c` lies in its
    /// allocation, and `c` aliases neither `a` nor `b`.
    unsafe fn portable_gemm(
        mkn: (usize, usize, usize),
        alpha: Self,
        a: (*const Self, isize, isize),
        b: (*const Self, isize, isize),
        beta: Self,
        c: (*mut Self, isize, isize),
    );
}
impl Scalar for f32 {
    const ONE: Self = 1.0;
    const ZERO: Self = 0.0;

    unsafe fn portable_gemm(
        (m, k, n): (usize, usize, usize),
        alpha: f32,
        a: (*const f32, isize, isize),
        b: (*const f32, isize, isize),
        beta: f32,
        c: (*mut f32, isize, isize),
    ) {
        // SAFETY: the caller's contract is sgemm's.
        unsafe { matrixmultiply::sgemm(m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2) }
    }
}
impl Scalar for f64 {
    const ONE: Self = 1.0;
    const ZERO: Self = 0.0;

    unsafe fn portable_gemm(
        (m, k, n): (usize, usize, usize),
        alpha: f64,
        a: (*const f64, isize, isize),
        b: (*const f64, isize, isize),
        beta: f64,
        c: (*mut f64, isize, isize),
    ) {
        // SAFETY: the caller's contract is dgemm's.
        unsafe { matrixmultiply::dgemm(m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, c.2) }
    }
}

/// Whether the `gemm` crate's products can run on this CPU. Its dispatch (gemm-common's
/// `gemm_def!`) picks its x86-v4 kernels when the CPU has AVX-512F and its x86-v3 kernels when it
/// has FMA, then unwraps the whole feature set of that level (pulp's `V4`: AVX-512F/BW/CD/DQ/VL;
/// `V3`: AVX2, FMA, BMI1/2, LZCNT, …), so a CPU with FMA but not AVX2 (AMD's Piledriver, or a
/// virtual machine that hides AVX2) or with AVX-512F alone (Xeon Phi) would panic in the first
/// product. On those the products go to [`Scalar::portable_gemm`].
pub fn gemm_runs_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static RUNS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *RUNS.get_or_init(|| {
            #[cfg(feature = "avx512")]
            if std::arch::is_x86_feature_detected!("avx512f") {
                return pulp::x86::V4::try_new().is_some();
            }
            !std::arch::is_x86_feature_detected!("fma") || pulp::x86::V3::try_new().is_some()
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    true
}

#[cfg(test)]
thread_local! {
    /// Sends this thread's products to [`Scalar::portable_gemm`], so that tests check that path
    /// on any CPU.
    static FORCE_PORTABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this product goes to the `gemm` crate ([`gemm_runs_here`]).
fn use_gemm() -> bool {
    #[cfg(test)]
    if FORCE_PORTABLE.get() {
        return false;
    }
    gemm_runs_here()
}

/// The kernels the products run with on this CPU: the `gemm` crate's by its own dispatch rule
/// (gemm-common's `gemm_def!`): "AVX-512" when the build has its x86-v4 kernels (feature `avx512`)
/// and the CPU has AVX-512F, else "AVX2+FMA" when it has FMA, "NEON" on aarch64, else "scalar";
/// or "matrixmultiply" where `gemm` cannot run ([`gemm_runs_here`]).
pub fn gemm_instruction_set() -> &'static str {
    if !gemm_runs_here() {
        return "matrixmultiply";
    }
    #[cfg(target_arch = "x86_64")]
    {
        if cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f") {
            return "AVX-512";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "AVX2+FMA";
        }
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("neon") {
        return "NEON";
    }
    "scalar"
}

/// `dst (m x n) = [dst +] alpha * lhs (m x k) * rhs (k x n)`, with explicit strides.
fn gemm_strided<T: Scalar>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    accumulate: bool,
    lhs: &[T],
    lhs_strides: Strides,
    rhs: &[T],
    rhs_strides: Strides,
    alpha: T,
    threads: Threads,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |s: Strides, rows: usize, cols: usize| {
        (rows.saturating_sub(1)) as isize * s.row + (cols.saturating_sub(1)) as isize * s.col
    };
    assert!(dst.len() >= m * n, "dst too small");
    if k > 0 {
        assert!((last(lhs_strides, m, k) as usize) < lhs.len(), "lhs too small");
        assert!((last(rhs_strides, k, n) as usize) < rhs.len(), "rhs too small");
    }
    if !use_gemm() {
        let beta = if accumulate { T::ONE } else { T::ZERO };
        // SAFETY: as below.
        unsafe {
            T::portable_gemm(
                (m, k, n),
                alpha,
                (lhs.as_ptr(), lhs_strides.row, lhs_strides.col),
                (rhs.as_ptr(), rhs_strides.row, rhs_strides.col),
                beta,
                (dst.as_mut_ptr(), n as isize, 1),
            )
        };
        return;
    }
    // SAFETY: the asserts above keep every strided access inside the slices; dst does not alias
    // lhs or rhs because it is borrowed mutably.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_strides.col,
            lhs_strides.row,
            rhs.as_ptr(),
            rhs_strides.col,
            rhs_strides.row,
            T::ONE,
            alpha,
            false,
            false,
            false,
            threads.parallelism(),
        );
    }
}

/// `out (rows x n) = a (rows x k) * w (k x n) + bias`, where `w` is row-major k x n.
pub fn affine<T: Scalar>(
    out: &mut [T],
    a: &[T],
    rows: usize,
    w: &[T],
    k: usize,
    n: usize,
    bias: &[T],
    threads: Threads,
) {
    fill_rows_with(out, rows, bias);
    gemm_strided(
        (rows, n, k),
        out,
        true,
        a,
        Strides { row: k as isize, col: 1 },
        w,
        Strides { row: n as isize, col: 1 },
        T::ONE,
        threads,
    );
}

/// `out (rows x k) = a (rows x n) * w^T + bias`, where `w` is row-major k x n (so w^T is n x k).
pub fn affine_transposed(
    out: &mut [f32],
    a: &[f32],
    rows: usize,
    w: &[f32],
    k: usize,
    n: usize,
    bias: &[f32],
    threads: Threads,
) {
    fill_rows_with(out, rows, bias);
    gemm_strided(
        (rows, k, n),
        out,
        true,
        a,
        Strides { row: n as isize, col: 1 },
        w,
        Strides { row: 1, col: n as isize },
        1.0f32,
        threads,
    );
}

/// `w (k x n) += alpha * a^T b`, where `a` is rows x k and `b` is rows x n (both row-major).
pub fn add_outer_products(
    w: &mut [f32],
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    rows: usize,
    alpha: f32,
    threads: Threads,
) {
    add_outer_products_columns(w, k, n, a, k, b, rows, alpha, threads);
}

/// Like [`add_outer_products`] for a block of `k` consecutive columns of `a`: `a` starts at the
/// block's first column and its rows are `a_row_len` apart. Lets threads update disjoint rows of W.
pub fn add_outer_products_columns(
    w: &mut [f32],
    k: usize,
    n: usize,
    a: &[f32],
    a_row_len: usize,
    b: &[f32],
    rows: usize,
    alpha: f32,
    threads: Threads,
) {
    gemm_strided(
        (k, n, rows),
        w,
        true,
        a,
        Strides { row: 1, col: a_row_len as isize },
        b,
        Strides { row: n as isize, col: 1 },
        alpha,
        threads,
    );
}

/// `dst (cols x rows) = srcᵀ` for a row-major `src` (rows x cols), in cache-sized tiles, the rows
/// of `dst` split over `threads`. With Wᵀ stored, `h Wᵀ` is a plain [`affine`] product, which the
/// `gemm` crate runs without first gathering the strided columns of W (its slowest path).
pub fn transpose_into(src: &[f32], rows: usize, cols: usize, dst: &mut [f32], threads: Threads) {
    const TILE: usize = 32;
    let dst = &mut dst[..rows * cols];
    let src = &src[..rows * cols];
    // One task per band of TILE rows of dst (= TILE columns of src).
    let band = |(index, out): (usize, &mut [f32])| {
        let c0 = index * TILE;
        let band_cols = out.len() / rows;
        for r0 in (0..rows).step_by(TILE) {
            for c in 0..band_cols {
                let dst_row = &mut out[c * rows..(c + 1) * rows];
                for r in r0..(r0 + TILE).min(rows) {
                    dst_row[r] = src[r * cols + c0 + c];
                }
            }
        }
    };
    if threads.0 > 1 {
        use rayon::prelude::*;
        dst.par_chunks_mut(TILE * rows).enumerate().for_each(band);
    } else {
        dst.chunks_mut(TILE * rows).enumerate().for_each(band);
    }
}

fn fill_rows_with<T: Copy>(out: &mut [T], rows: usize, row: &[T]) {
    for dst in out.chunks_exact_mut(row.len()).take(rows) {
        dst.copy_from_slice(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn transpose_handles_ragged_tiles() {
        for (rows, cols) in [(1, 1), (3, 70), (784, 256), (33, 31)] {
            let src = pattern(rows * cols, 0.3);
            for threads in [Threads(1), Threads(2)] {
                let mut dst = vec![0.0; rows * cols];
                transpose_into(&src, rows, cols, &mut dst, threads);
                for r in 0..rows {
                    for c in 0..cols {
                        assert_eq!(dst[c * rows + r], src[r * cols + c]);
                    }
                }
            }
        }
    }

    fn pattern(len: usize, salt: f32) -> Vec<f32> {
        (0..len).map(|i| (i as f32 * 0.37 + salt).sin()).collect()
    }

    #[test]
    fn products_match_naive_loops() {
        // Through `gemm`, and through the portable products of CPUs `gemm` cannot run on.
        for portable in [false, true] {
            FORCE_PORTABLE.set(portable);
            products_match_naive_loops_on_this_path();
        }
        FORCE_PORTABLE.set(false);
    }

    fn products_match_naive_loops_on_this_path() {
        let (m, k, n) = (5, 7, 3);
        let a = pattern(m * k, 0.1);
        let w = pattern(k * n, 0.7);
        let bias = pattern(n, 1.3);
        for threads in [Threads(1), Threads(2)] {
            let mut out = vec![0.0; m * n];
            affine(&mut out, &a, m, &w, k, n, &bias, threads);
            let want = naive(&a, &w, m, k, n);
            for i in 0..m * n {
                assert!((out[i] - want[i] - bias[i % n]).abs() < 1e-5);
            }
            // a2 (m x n) * w^T (n x k)
            let a2 = pattern(m * n, 2.0);
            let bias_k = pattern(k, 0.2);
            let mut out2 = vec![0.0; m * k];
            affine_transposed(&mut out2, &a2, m, &w, k, n, &bias_k, threads);
            let wt: Vec<f32> = (0..n * k).map(|idx| w[(idx % k) * n + idx / k]).collect();
            let want2 = naive(&a2, &wt, m, n, k);
            for i in 0..m * k {
                assert!((out2[i] - want2[i] - bias_k[i % k]).abs() < 1e-5);
            }
            // w += 0.5 a^T b, a: m x k, b: m x n
            let mut acc = w.clone();
            let b = pattern(m * n, 3.0);
            add_outer_products(&mut acc, k, n, &a, &b, m, 0.5, threads);
            let at: Vec<f32> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
            let want3 = naive(&at, &b, k, m, n);
            for i in 0..k * n {
                assert!((acc[i] - w[i] - 0.5 * want3[i]).abs() < 1e-5);
            }
            // The stored transpose gives the same product as affine_transposed.
            let mut wt = vec![0.0; k * n];
            transpose_into(&w, k, n, &mut wt, threads);
            let mut out3 = vec![0.0; m * k];
            affine(&mut out3, &a2, m, &wt, n, k, &bias_k, threads);
            for i in 0..m * k {
                assert!((out3[i] - out2[i]).abs() < 1e-5);
            }
        }
    }
}
