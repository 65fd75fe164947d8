//! Matrix products whose left operand is mostly zeros: binary Gibbs states, binarised data, MNIST's
//! background. Such a product only needs the rows of the right operand at the nonzero entries, so
//! `v W` for an image with 15% of its pixels on costs about 15% of the dense product.
//!
//! Each output row is `bias + Σ_i a_i · w_i` over the nonzero `a_i` in increasing `i`, accumulated
//! in one lane per output column: a row's result depends on that row alone, never on how rows are
//! split over threads, and skipping a zero gives the same bits as adding it. The dense products of
//! [`super::linalg`] sum in the `gemm` crate's order, so the two agree to rounding, not bit for bit;
//! callers pick one for each operand from whole-batch figures (see `cd`), never per thread block.
//!
//! The loops run over column blocks of the right operand (64 columns with AVX2, 128 with AVX-512)
//! with the block's accumulators in registers, and within a block over chunks of its rows (24 KiB
//! of it) and then every output row, so each chunk stays in cache while all rows use it.

use std::cell::RefCell;

/// Nonzero entries of a block of rows: row `r`'s are `columns[starts[r]..starts[r + 1]]` with
/// `values` beside them, in increasing column order.
#[derive(Default)]
struct Entries {
    starts: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<f32>,
    /// Scratch of [`ColumnEntries::fill`]: the next free slot of each column.
    cursor: Vec<usize>,
}

impl Entries {
    /// The nonzero entries of `rows` rows of `width` (row-major `a`). Branch-free: every value is
    /// written and the count moves only past nonzeros, so random sparsity costs no mispredictions.
    fn fill_rows(&mut self, a: &[f32], rows: usize, width: usize) {
        self.starts.clear();
        self.starts.push(0);
        let mut count = 0;
        for row in a[..rows * width].chunks_exact(width) {
            // Room for a whole row past the entries so far (the lists grow with the entries, not
            // with the operand's full size).
            if self.columns.len() < count + width {
                let room = (count + width).max(2 * self.columns.len());
                self.columns.resize(room, 0);
                self.values.resize(room, 0.0);
            }
            let (columns, values) = (&mut self.columns[count..count + width], &mut self.values[count..count + width]);
            let mut n = 0;
            for (i, &x) in row.iter().enumerate() {
                columns[n] = i as u32;
                values[n] = x;
                n += usize::from(x != 0.0);
            }
            count += n;
            self.starts.push(count);
        }
    }

    fn bytes(&self) -> usize {
        8 * (self.starts.capacity() + self.cursor.capacity()) + 4 * (self.columns.capacity() + self.values.capacity())
    }

    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let range = self.starts[r]..self.starts[r + 1];
        (&self.columns[range.clone()], &self.values[range])
    }
}

/// Per-thread buffers, so that products on rayon's threads allocate only when a larger operand
/// first arrives.
#[derive(Default)]
struct Scratch {
    entries: Entries,
    /// Where each row's entries of each chunk of the right operand begin (see `kernels`).
    bounds: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Whether the sparse products can index a `k`-long dimension (u32 entries).
pub fn supports(k: usize) -> bool {
    u32::try_from(k).is_ok()
}

/// `out (rows x n) = a (rows x k) * w (k x n) + bias` on one thread, reading only the rows of `w`
/// at the nonzero entries of each row of `a`.
pub fn affine(out: &mut [f32], a: &[f32], rows: usize, w: &[f32], k: usize, n: usize, bias: &[f32]) {
    assert!(a.len() >= rows * k && out.len() >= rows * n && w.len() >= k * n && bias.len() >= n);
    assert!(supports(k), "sparse products index with u32");
    for row in out[..rows * n].chunks_exact_mut(n) {
        row.copy_from_slice(&bias[..n]);
    }
    // Rows in groups of about SCRATCH_ENTRIES values, so that a thread's lists stay small
    // whatever the operand's size (the rows of a group share each loaded slice of w).
    let group = (SCRATCH_ENTRIES / k.max(1)).max(1);
    SCRATCH.with_borrow_mut(|scratch| {
        for (out, a) in out[..rows * n].chunks_mut(group * n).zip(a[..rows * k].chunks(group * k)) {
            let rows = a.len() / k.max(1);
            let Scratch { entries, bounds } = scratch;
            entries.fill_rows(a, rows, k);
            kernels::run(kernels::Job::Affine { out, entries, bounds, rows, w, k, n });
        }
    });
}

/// Values of the left operand [`affine`] lists at a time on each thread.
const SCRATCH_ENTRIES: usize = 1 << 16;

/// Bytes [`affine`]'s lists may hold on each thread for an operand `width` wide: a group of rows
/// of about [`SCRATCH_ENTRIES`] values (one row if wider), 8 bytes each, with the spare row and
/// the doubling of growth; and the chunk bounds of the group's rows (the most chunks are those of
/// the widest block kernel).
pub fn affine_scratch_bytes(width: usize) -> u128 {
    let group = SCRATCH_ENTRIES.max(width) as u128;
    let group_rows = (SCRATCH_ENTRIES / width.max(1)).max(1) as u128;
    let chunks = width.div_ceil(kernels::chunk_rows(kernels::WIDEST_BLOCK)) as u128;
    2 * 8 * (group + width as u128) + 8 * (SCRATCH_ENTRIES as u128 + 1) + 2 * 8 * group_rows * (chunks + 1)
}

/// The nonzero entries of a matrix's columns, built once per weight update on the calling thread
/// and shared by the threads that update blocks of the target's rows.
#[derive(Default)]
pub struct ColumnEntries {
    columns: Entries,
    /// The matrix's shape when filled: (rows, width).
    shape: (usize, usize),
}

/// Nonzero fraction of a left operand at or below which the sparse products are used. Their flop
/// rate is about half the dense kernels' (a loaded slice of the right operand serves one output
/// row, where `gemm`'s register tile reuses it across six), so they win clearly below about a
/// third of the entries: MNIST's grey images (19% nonzero) and binary states, not Fashion-MNIST's
/// grey images (about half nonzero).
pub const MAX_DENSITY: f64 = 0.3;

impl ColumnEntries {
    /// The entries of `a` (row-major, `rows` x `width`), column by column, if at most
    /// [`MAX_DENSITY`] of its values are nonzero; `false` (and nothing kept)
    /// otherwise. Two passes over `a`: the counts per column, then the entries in place.
    pub fn fill(&mut self, a: &[f32], rows: usize, width: usize) -> bool {
        self.shape = (0, 0);
        if !supports(rows.max(width)) || a.len() < rows * width {
            return false;
        }
        let a = &a[..rows * width];
        let entries = &mut self.columns;
        entries.starts.clear();
        entries.starts.resize(width + 1, 0);
        for row in a.chunks_exact(width) {
            for (count, &x) in entries.starts[1..].iter_mut().zip(row) {
                *count += usize::from(x != 0.0);
            }
        }
        for c in 0..width {
            entries.starts[c + 1] += entries.starts[c];
        }
        let total = entries.starts[width];
        if total as f64 > MAX_DENSITY * a.len() as f64 {
            return false;
        }
        entries.columns.clear();
        entries.columns.resize(total, 0);
        entries.values.clear();
        entries.values.resize(total, 0.0);
        let mut next = std::mem::take(&mut entries.cursor);
        next.clone_from(&entries.starts);
        for (r, row) in a.chunks_exact(width).enumerate() {
            for (c, &x) in row.iter().enumerate() {
                if x != 0.0 {
                    let slot = &mut next[c];
                    entries.columns[*slot] = r as u32;
                    entries.values[*slot] = x;
                    *slot += 1;
                }
            }
        }
        entries.cursor = next;
        self.shape = (rows, width);
        true
    }

    /// Bytes the lists hold.
    pub fn bytes(&self) -> usize {
        self.columns.bytes()
    }

    /// Bytes the lists of a `rows` x `width` matrix may hold: 8 per entry up to
    /// [`MAX_DENSITY`] of the values, and the column starts. Saturates.
    pub fn max_bytes(rows: usize, width: usize) -> u128 {
        let values = rows as u128 * width as u128;
        let entries = (values as f64 * MAX_DENSITY).ceil() as u128;
        8 * entries + 16 * (width as u128 + 1)
    }
}

/// `target += alpha · (aᵀ b − offset · sumsᵀ)` for the rows `first..first + count` of the target
/// (k x n, `target` holds just those rows), on one thread, for `a` (rows x k, mostly zeros) given
/// by its column entries and `b` (rows x n). `offset` (k) and `sums` (n) give a rank-one
/// correction (the centering of a's columns), or nothing when `correction` is `None`. Row `i` of
/// the target reads the rows of `b` at the nonzero entries of column `i` of `a`; blocks of target
/// rows give the same bits as the whole.
#[allow(clippy::too_many_arguments)]
pub fn add_outer_products(
    target: &mut [f32],
    (first, count): (usize, usize),
    a: &ColumnEntries,
    b: &[f32],
    n: usize,
    alpha: f32,
    correction: Option<(&[f32], &[f32])>,
) {
    let (rows, k) = a.shape;
    assert!(b.len() >= rows * n && target.len() >= count * n && first + count <= k);
    if let Some((offset, sums)) = correction {
        assert!(offset.len() >= k && sums.len() >= n);
    }
    let correction = correction.map(|(offset, sums)| (&offset[first..first + count], &sums[..n]));
    kernels::run(kernels::Job::Outer { target, entries: &a.columns, first, count, b, n, alpha, correction });
}

/// Bytes this thread's scratch for [`affine`] holds.
pub fn scratch_bytes() -> usize {
    SCRATCH.with_borrow(|scratch| scratch.entries.bytes() + 8 * scratch.bounds.capacity())
}

mod kernels {
    //! The accumulation loops, compiled once per instruction set and picked at run time.

    use super::Entries;

    pub(super) enum Job<'a> {
        Affine {
            out: &'a mut [f32],
            entries: &'a Entries,
            /// Scratch for the chunk bounds of each row.
            bounds: &'a mut Vec<usize>,
            rows: usize,
            w: &'a [f32],
            k: usize,
            n: usize,
        },
        Outer {
            target: &'a mut [f32],
            entries: &'a Entries,
            first: usize,
            count: usize,
            b: &'a [f32],
            n: usize,
            alpha: f32,
            correction: Option<(&'a [f32], &'a [f32])>,
        },
    }

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(super) enum Isa {
        #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
        Avx512,
        #[cfg(target_arch = "x86_64")]
        Avx2Fma,
        Baseline,
    }

    /// The widest column block of any kernel (AVX-512's).
    pub(super) const WIDEST_BLOCK: usize = 128;

    /// Rows of the right operand per chunk for blocks of `block` columns: the chunk's block slices
    /// fit the first-level cache (24 KiB).
    pub(super) const fn chunk_rows(block: usize) -> usize {
        let rows = 24 * 1024 / (4 * block);
        if rows == 0 { 1 } else { rows }
    }

    pub(super) fn isa() -> Isa {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                #[cfg(feature = "avx512")]
                if std::arch::is_x86_feature_detected!("avx512f") {
                    return Isa::Avx512;
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    return Isa::Avx2Fma;
                }
            }
            Isa::Baseline
        })
    }

    pub(super) fn run(job: Job<'_>) {
        run_on(isa(), job)
    }

    /// `job` compiled for `isa`, which must be this CPU's [`isa`] or a set below it.
    pub(super) fn run_on(isa: Isa, job: Job<'_>) {
        match isa {
            // SAFETY: callers pass `isa()` or a set below it, so the CPU has AVX-512F.
            #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
            Isa::Avx512 => unsafe { run_avx512(job) },
            // SAFETY: as above: AVX2 and FMA were detected (every AVX-512F CPU has both).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { run_avx2(job) },
            Isa::Baseline => run_generic::<32, Baseline>(job),
        }
    }

    #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn run_avx512(job: Job<'_>) {
        run_generic::<128, x86::Avx512>(job)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn run_avx2(job: Job<'_>) {
        run_generic::<64, x86::Avx2>(job)
    }

    /// A block kernel: `acc[l] += Σ_e values[e] · m[indices[e] · n + start + l]` for every lane of
    /// a block whose source rows all hold `B` columns from `start` on (the caller checks). A type
    /// rather than a function pointer, so that it inlines into the loops compiled for its set.
    trait Accumulate<const B: usize> {
        fn accumulate(acc: &mut [f32; B], indices: &[u32], values: &[f32], m: &[f32], n: usize, start: usize);
    }

    #[inline(always)]
    fn run_generic<const B: usize, K: Accumulate<B>>(job: Job<'_>) {
        match job {
            Job::Affine { out, entries, bounds, rows, w, k, n } => {
                // Rows of w in chunks whose block slices fit the first-level cache, so that every
                // output row reuses the chunk from there; each row's partial sums wait in `out`
                // between chunks, which keeps the order of the additions.
                let chunk = chunk_rows(B);
                let chunks = k.div_ceil(chunk);
                // Where each row's entries of each chunk begin (the same for every column block).
                bounds.clear();
                bounds.reserve_exact(rows * (chunks + 1));
                for r in 0..rows {
                    let (columns, _) = entries.row(r);
                    let base = entries.starts[r];
                    let mut e = 0;
                    bounds.push(base);
                    for c in 0..chunks {
                        let end = ((c + 1) * chunk).min(k);
                        while e < columns.len() && (columns[e] as usize) < end {
                            e += 1;
                        }
                        bounds.push(base + e);
                    }
                }
                for_blocks::<B>(n, |start, len| {
                    for c in 0..chunks {
                        for r in 0..rows {
                            let (lo, hi) = (bounds[r * (chunks + 1) + c], bounds[r * (chunks + 1) + c + 1]);
                            if lo == hi {
                                continue;
                            }
                            let (columns, values) = (&entries.columns[lo..hi], &entries.values[lo..hi]);
                            let row = &mut out[r * n + start..r * n + start + len];
                            if let Ok(acc) = <&mut [f32; B]>::try_from(&mut *row) {
                                accumulate_block::<B, K>(acc, len, columns, values, w, n, start);
                            } else {
                                let mut acc = [0f32; B];
                                acc[..len].copy_from_slice(row);
                                accumulate_block::<B, K>(&mut acc, len, columns, values, w, n, start);
                                row.copy_from_slice(&acc[..len]);
                            }
                        }
                    }
                });
            }
            Job::Outer { target, entries, first, count, b, n, alpha, correction } => {
                for_blocks::<B>(n, |start, len| {
                    for i in 0..count {
                        let (rows, values) = entries.row(first + i);
                        let mut acc = [0f32; B];
                        accumulate_block::<B, K>(&mut acc, len, rows, values, b, n, start);
                        let row = &mut target[i * n + start..i * n + start + len];
                        match correction {
                            Some((offset, sums)) => {
                                let o = offset[i];
                                let sums = &sums[start..start + len];
                                for ((t, a), s) in row.iter_mut().zip(&acc[..len]).zip(sums) {
                                    *t += alpha * (a - o * s);
                                }
                            }
                            None => row.iter_mut().zip(&acc[..len]).for_each(|(t, a)| *t += alpha * a),
                        }
                    }
                });
            }
        }
    }

    /// Calls `body(start, len)` for each block of `B` columns of `n`, then the last partial block.
    #[inline(always)]
    fn for_blocks<const B: usize>(n: usize, mut body: impl FnMut(usize, usize)) {
        let mut start = 0;
        while start < n {
            let len = B.min(n - start);
            body(start, len);
            start += len;
        }
    }

    /// The entries' sum into the first `len` lanes of `acc`. Partial blocks (`len` < B) read whole
    /// blocks too (the lanes past `len` read the next row and are discarded); only entries whose
    /// block would pass the end of `m` (the last row, or all rows of a matrix narrower than a
    /// block) go lane by lane. Every lane sees the same operations in the same order either way.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn accumulate_block<const B: usize, K: Accumulate<B>>(
        acc: &mut [f32; B],
        len: usize,
        indices: &[u32],
        values: &[f32],
        m: &[f32],
        n: usize,
        start: usize,
    ) {
        // Indices increase, so the entries whose whole block fits come first.
        let fits = |index: u32| index as usize * n + start + B <= m.len();
        let whole = match indices.last() {
            Some(&last) if !fits(last) => indices.partition_point(|&index| fits(index)),
            _ => indices.len(),
        };
        K::accumulate(acc, &indices[..whole], &values[..whole], m, n, start);
        for (&index, &x) in indices[whole..].iter().zip(&values[whole..]) {
            let offset = index as usize * n + start;
            for (a, &s) in acc[..len].iter_mut().zip(&m[offset..offset + len]) {
                *a = fused(x, s, *a);
            }
        }
    }

    /// `x · s + a` rounded once where the block kernels use fused multiply-adds, twice otherwise,
    /// so that a lane computed on its own gives the kernel's bits.
    #[inline(always)]
    fn fused(x: f32, s: f32, a: f32) -> f32 {
        if isa() == Isa::Baseline { a + x * s } else { x.mul_add(s, a) }
    }

    /// The portable block kernel: separate multiply and add (no FMA in the baseline x86_64 set).
    struct Baseline;

    impl Accumulate<32> for Baseline {
        #[inline(always)]
        fn accumulate(acc: &mut [f32; 32], indices: &[u32], values: &[f32], m: &[f32], n: usize, start: usize) {
            for (&index, &x) in indices.iter().zip(values) {
                let offset = index as usize * n + start;
                let source: &[f32; 32] = m[offset..offset + 32].try_into().expect("block in bounds");
                for (a, &s) in acc.iter_mut().zip(source) {
                    *a += x * s;
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        //! The block kernels with explicit vector registers: 8 accumulators of 8 (AVX2) or 16
        //! (AVX-512) lanes, one broadcast and 8 fused multiply-adds per entry.

        use std::arch::x86_64::*;

        use super::Accumulate;

        pub struct Avx2;

        impl Accumulate<64> for Avx2 {
            #[inline(always)]
            fn accumulate(acc: &mut [f32; 64], indices: &[u32], values: &[f32], m: &[f32], n: usize, start: usize) {
                accumulate_avx2(acc, indices, values, m, n, start)
            }
        }

        #[cfg(feature = "avx512")]
        pub struct Avx512;

        #[cfg(feature = "avx512")]
        impl Accumulate<128> for Avx512 {
            #[inline(always)]
            fn accumulate(acc: &mut [f32; 128], indices: &[u32], values: &[f32], m: &[f32], n: usize, start: usize) {
                accumulate_avx512(acc, indices, values, m, n, start)
            }
        }

        #[inline(always)]
        fn accumulate_avx2(acc: &mut [f32; 64], indices: &[u32], values: &[f32], m: &[f32], n: usize, start: usize) {
            // SAFETY: called only from `run_avx2`, compiled with AVX2 and FMA, which run only on
            // CPUs that have both; every load reads inside `m[offset..offset + 64]`, which the
            // slice index checks, and `acc` holds 64 lanes.
            unsafe {
                let p = acc.as_mut_ptr();
                let mut r = [_mm256_setzero_ps(); 8];
                for (j, v) in r.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(p.add(8 * j));
                }
                for (&index, &x) in indices.iter().zip(values) {
                    let offset = index as usize * n + start;
                    let source = m[offset..offset + 64].as_ptr();
                    let b = _mm256_set1_ps(x);
                    for (j, v) in r.iter_mut().enumerate() {
                        *v = _mm256_fmadd_ps(b, _mm256_loadu_ps(source.add(8 * j)), *v);
                    }
                }
                for (j, v) in r.iter().enumerate() {
                    _mm256_storeu_ps(p.add(8 * j), *v);
                }
            }
        }

        #[cfg(feature = "avx512")]
        #[inline(always)]
        fn accumulate_avx512(acc: &mut [f32; 128], indices: &[u32], values: &[f32], m: &[f32], n: usize, start: usize) {
            // SAFETY: called only from `run_avx512`, compiled with AVX-512F, which runs only on
            // CPUs that have it; every load reads inside `m[offset..offset + 128]`, which the
            // slice index checks, and `acc` holds 128 lanes.
            unsafe {
                let p = acc.as_mut_ptr();
                let mut r = [_mm512_setzero_ps(); 8];
                for (j, v) in r.iter_mut().enumerate() {
                    *v = _mm512_loadu_ps(p.add(16 * j));
                }
                for (&index, &x) in indices.iter().zip(values) {
                    let offset = index as usize * n + start;
                    let source = m[offset..offset + 128].as_ptr();
                    let b = _mm512_set1_ps(x);
                    for (j, v) in r.iter_mut().enumerate() {
                        *v = _mm512_fmadd_ps(b, _mm512_loadu_ps(source.add(16 * j)), *v);
                    }
                }
                for (j, v) in r.iter().enumerate() {
                    _mm512_storeu_ps(p.add(16 * j), *v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
