//! The threads that do the model's math: one rayon pool type for the trainer, the evaluations, AIS
//! and the benchmark, and the floating-point mode those threads run in.
//!
//! Subnormal numbers (nonzero, |x| < 1.18e-38 in f32) cost Intel cores a microcode assist of the
//! order of 100 cycles in every multiply that reads or produces one, inside the matrix products
//! too; AMD's Zen cores handle most of them at full speed. Training produces them in ordinary use:
//! the sigmoid of an input below about −87.3 is subnormal (a saturated unit), and a centering
//! offset that the data no longer feeds decays geometrically, μ ← (1 − ν)μ, through the subnormal
//! range after ~8,700 updates at ν = 0.01, and so do the updates it feeds. So every thread that
//! does model math runs with flush-to-zero (a subnormal result becomes 0) and denormals-are-zero
//! (a subnormal operand reads as 0): MXCSR's FTZ and DAZ bits on x86_64, FPCR.FZ on aarch64
//! (there FZ flushes both, for f32 and f64 alike). This changes results only where
//! such values occur, and the same way on every thread, so results stay bit-identical across
//! thread counts and instruction sets. `RBM_LAB_KEEP_SUBNORMALS=1` keeps IEEE subnormals (for
//! comparison; `rbm-lab bench` prints which mode it ran in).
//!
//! The mode is a per-thread register: [`MathPool`] sets it on its own threads when they start and
//! on the thread that builds the pool and each thread that calls [`MathPool::run`], where it stays
//! (the trainer thread, which also steps the Gibbs chains; the evaluation thread; the command
//! line's main thread). [`SubnormalMode::apply_here`] sets it on any other thread that does model
//! math without a pool.
//!
//! (The compiler assumes the default floating-point environment when it folds constants; no
//! constant expression in the model's math produces a subnormal, so folding and run time agree.)

use std::cell::Cell;
use std::sync::OnceLock;

use super::linalg::Threads;

/// The environment variable that keeps IEEE subnormals (any non-empty value other than "0").
pub const KEEP_SUBNORMALS_VAR: &str = "RBM_LAB_KEEP_SUBNORMALS";

/// How the threads doing model math treat subnormal numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubnormalMode {
    /// Flush-to-zero and denormals-are-zero: subnormal results and operands are 0.
    Flush,
    /// IEEE behaviour: subnormals are computed with (slowly, on Intel cores).
    Keep,
}

impl SubnormalMode {
    /// `Keep` when `RBM_LAB_KEEP_SUBNORMALS` is set (to anything but "" or "0"), else `Flush`;
    /// read once per process.
    pub fn configured() -> Self {
        static CONFIGURED: OnceLock<SubnormalMode> = OnceLock::new();
        *CONFIGURED.get_or_init(|| {
            let keep = std::env::var_os(KEEP_SUBNORMALS_VAR).is_some_and(|v| !v.is_empty() && v != "0");
            if keep { SubnormalMode::Keep } else { SubnormalMode::Flush }
        })
    }

    /// Puts the calling thread in this mode (other floating-point settings unchanged). A no-op on
    /// architectures other than x86_64 and aarch64.
    pub fn apply_here(self) {
        let flush = self == SubnormalMode::Flush;
        fp_control::set_flush_bits(flush);
    }

    /// The calling thread's mode, read back from the control register; `None` where the
    /// architecture's register is not handled, or only part of the bits are set.
    pub fn of_this_thread() -> Option<Self> {
        match fp_control::flush_bits()? {
            fp_control::Bits::All => Some(SubnormalMode::Flush),
            fp_control::Bits::None => Some(SubnormalMode::Keep),
            fp_control::Bits::Some => None,
        }
    }

    /// For printing: "flushed to zero (FTZ|DAZ)" or "kept (RBM_LAB_KEEP_SUBNORMALS)".
    pub fn describe(self) -> &'static str {
        match self {
            SubnormalMode::Flush => fp_control::FLUSH_DESCRIPTION,
            SubnormalMode::Keep => "kept (IEEE, RBM_LAB_KEEP_SUBNORMALS set)",
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod fp_control {
    use std::arch::asm;

    /// MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero (Intel SDM vol. 1, 10.2.3).
    const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);
    pub const FLUSH_DESCRIPTION: &str = "flushed to zero (MXCSR FTZ|DAZ)";

    pub enum Bits {
        All,
        None,
        Some,
    }

    fn read() -> u32 {
        let mut csr = 0u32;
        // SAFETY: stmxcsr stores the 32-bit MXCSR into the given, writable u32.
        unsafe { asm!("stmxcsr [{}]", in(reg) &mut csr as *mut u32, options(nostack, preserves_flags)) };
        csr
    }

    pub fn set_flush_bits(flush: bool) {
        let old = read();
        let new = if flush { old | FTZ_DAZ } else { old & !FTZ_DAZ };
        if new != old {
            // SAFETY: ldmxcsr loads a value read from MXCSR with only FTZ and DAZ changed; every
            // x86_64 CPU supports both bits (no reserved bit is set, so no #GP).
            unsafe { asm!("ldmxcsr [{}]", in(reg) &new as *const u32, options(nostack, preserves_flags, readonly)) };
        }
    }

    pub fn flush_bits() -> Option<Bits> {
        Some(match read() & FTZ_DAZ {
            FTZ_DAZ => Bits::All,
            0 => Bits::None,
            _ => Bits::Some,
        })
    }
}

#[cfg(target_arch = "aarch64")]
mod fp_control {
    use std::arch::asm;

    /// FPCR bit 24, FZ: subnormal operands and results of single and double precision are zero
    /// (Arm ARM, FPCR).
    const FZ: u64 = 1 << 24;
    pub const FLUSH_DESCRIPTION: &str = "flushed to zero (FPCR.FZ)";

    pub enum Bits {
        All,
        None,
        #[allow(dead_code)]
        Some,
    }

    fn read() -> u64 {
        let value: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe { asm!("mrs {}, fpcr", out(reg) value, options(nostack, preserves_flags)) };
        value
    }

    pub fn set_flush_bits(flush: bool) {
        let old = read();
        let new = if flush { old | FZ } else { old & !FZ };
        if new != old {
            // SAFETY: writes FPCR back with only FZ changed.
            unsafe { asm!("msr fpcr, {}", in(reg) new, options(nostack, preserves_flags)) };
        }
    }

    pub fn flush_bits() -> Option<Bits> {
        Some(if read() & FZ != 0 { Bits::All } else { Bits::None })
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod fp_control {
    pub const FLUSH_DESCRIPTION: &str = "kept (this architecture's flush mode is not set)";

    #[allow(dead_code)]
    pub enum Bits {
        All,
        None,
        Some,
    }

    pub fn set_flush_bits(_flush: bool) {}

    pub fn flush_bits() -> Option<Bits> {
        None
    }
}

thread_local! {
    /// Set on the threads of a [`MathPool`] (their mode is the pool's).
    static ON_MATH_POOL: Cell<bool> = const { Cell::new(false) };
}

/// A rayon pool of named threads (`rbm-math-N`) in one [`SubnormalMode`], for the model's math.
/// When the pool cannot be built (the OS refuses threads), the work runs on the calling thread
/// with one thread.
pub struct MathPool {
    pool: Option<rayon::ThreadPool>,
    mode: SubnormalMode,
}

impl MathPool {
    /// A pool of `threads` threads (at least one) in the configured mode
    /// ([`SubnormalMode::configured`]); the calling thread is put in that mode too.
    pub fn new(threads: usize) -> Self {
        Self::with_mode(threads, SubnormalMode::configured())
    }

    /// A pool of `threads` threads (at least one) in `mode`; the calling thread is put in `mode`.
    ///
    /// Even one thread gets a pool: parallel iterators inside [`run`](Self::run) then stay on it
    /// instead of spreading over rayon's global pool, whose threads are in the default mode.
    pub fn with_mode(threads: usize, mode: SubnormalMode) -> Self {
        // Each thread sets its own mode when it starts: whether a new thread inherits its creator's
        // register is up to the OS (Linux copies it, others reset it).
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("rbm-math-{i}"))
            .start_handler(move |_| {
                mode.apply_here();
                ON_MATH_POOL.with(|on| on.set(true));
            })
            .build()
            .ok();
        mode.apply_here();
        Self { pool, mode }
    }

    /// The threads [`run`](Self::run) hands to its work: the pool's size, or 1 without a pool.
    pub fn threads(&self) -> Threads {
        Threads(self.pool.as_ref().map_or(1, |pool| pool.current_num_threads()))
    }

    pub fn mode(&self) -> SubnormalMode {
        self.mode
    }

    /// The mode each of the pool's threads reads back from its register (`None` where the
    /// architecture's register is not handled); the calling thread's alone without a pool.
    pub fn thread_modes(&self) -> Vec<Option<SubnormalMode>> {
        match &self.pool {
            Some(pool) => pool.install(|| rayon::broadcast(|_| SubnormalMode::of_this_thread())),
            None => vec![SubnormalMode::of_this_thread()],
        }
    }

    /// Runs `work` inside the pool (rayon's parallel iterators in it use the pool's threads),
    /// passing the thread count to split over; the calling thread is put in the pool's mode first.
    pub fn run<R: Send>(&self, work: impl FnOnce(Threads) -> R + Send) -> R {
        self.mode.apply_here();
        match &self.pool {
            Some(pool) => pool.install(|| work(self.threads())),
            None => work(Threads(1)),
        }
    }
}

/// Runs `op` on the math pool the caller is already on when it has `threads` threads (the
/// trainer's monitors), otherwise inside a fresh [`MathPool`] of that many threads.
pub fn on_math_pool<R: Send>(threads: Threads, op: impl FnOnce() -> R + Send) -> R {
    let threads = threads.0.max(1);
    if ON_MATH_POOL.with(Cell::get) && rayon::current_num_threads() == threads {
        return op();
    }
    MathPool::new(threads).run(|_| op())
}

/// Whether `x` is subnormal (nonzero and below f32's smallest normal magnitude, 1.18e-38). Tested
/// on the bits: under denormals-are-zero a float comparison sees a subnormal as 0.
pub fn is_subnormal(x: f32) -> bool {
    const EXPONENT: u32 = 0x7F80_0000;
    const MANTISSA: u32 = 0x007F_FFFF;
    let bits = x.to_bits();
    bits & EXPONENT == 0 && bits & MANTISSA != 0
}

/// How many values in `values` are subnormal.
pub fn count_subnormals(values: &[f32]) -> usize {
    values.iter().filter(|&&x| is_subnormal(x)).count()
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;

    use super::*;

    /// Half the smallest normal f32: subnormal unless the thread flushes it to zero.
    fn half_smallest_normal() -> f32 {
        black_box(f32::MIN_POSITIVE) * black_box(0.5)
    }

    /// On a fresh thread (so that no other test's setting is inherited) in the other mode, builds
    /// a 2-thread pool in `mode` and checks that the caller and every pool thread read back `mode`
    /// and flush, or keep, a subnormal product; then `more` on the same thread.
    fn check_a_pool_built_from_the_other_mode(mode: SubnormalMode, more: impl FnOnce(&MathPool) + Send + 'static) {
        std::thread::spawn(move || {
            let other = if mode == SubnormalMode::Flush { SubnormalMode::Keep } else { SubnormalMode::Flush };
            other.apply_here();
            let pool = MathPool::with_mode(2, mode);
            let keeps = mode == SubnormalMode::Keep;
            assert_eq!(SubnormalMode::of_this_thread(), Some(mode), "the caller's register");
            assert_eq!(is_subnormal(half_smallest_normal()), keeps, "the caller's arithmetic");
            let report = pool
                .run(|_| rayon::broadcast(|_| (SubnormalMode::of_this_thread(), is_subnormal(half_smallest_normal()))));
            assert_eq!(report.len(), 2);
            for (read_back, subnormal) in report {
                assert_eq!(read_back, Some(mode), "a pool thread's register");
                assert_eq!(subnormal, keeps, "a pool thread's arithmetic");
            }
            more(&pool);
        })
        .join()
        .expect("test thread");
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn the_pool_threads_and_the_caller_flush_subnormals() {
        check_a_pool_built_from_the_other_mode(SubnormalMode::Flush, |pool| {
            // `run` sets the mode on a caller that lost it.
            SubnormalMode::Keep.apply_here();
            pool.run(|_| ());
            assert_eq!(SubnormalMode::of_this_thread(), Some(SubnormalMode::Flush));
        });
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn keep_mode_computes_subnormals_everywhere() {
        check_a_pool_built_from_the_other_mode(SubnormalMode::Keep, |_| {});
    }

    #[test]
    fn one_thread_still_gets_its_own_named_pool() {
        let pool = MathPool::with_mode(1, SubnormalMode::Flush);
        assert_eq!(pool.threads(), Threads(1));
        let (name, on_pool, global_threads_used) = pool.run(|threads| {
            assert_eq!(threads, Threads(1));
            let name = std::thread::current().name().map(str::to_string);
            // A parallel iterator inside stays on the pool's one thread.
            let names: Vec<Option<String>> = {
                use rayon::prelude::*;
                (0..64).into_par_iter().map(|_| std::thread::current().name().map(str::to_string)).collect()
            };
            (name, ON_MATH_POOL.with(Cell::get), names.iter().any(|n| n.as_deref() != Some("rbm-math-0")))
        });
        assert_eq!(name.as_deref(), Some("rbm-math-0"));
        assert!(on_pool);
        assert!(!global_threads_used);
    }

    #[test]
    fn a_pool_that_could_not_be_built_runs_and_reports_one_thread() {
        // What `with_mode` makes when the OS refuses the pool's threads.
        let pool = MathPool { pool: None, mode: SubnormalMode::Flush };
        assert_eq!(pool.threads(), Threads(1));
        let (threads, caller) = pool.run(|threads| (threads, std::thread::current().id()));
        assert_eq!(threads, Threads(1));
        assert_eq!(caller, std::thread::current().id(), "the work runs on the calling thread");
        assert_eq!(pool.thread_modes().len(), 1);
    }

    #[test]
    fn work_already_on_a_math_pool_of_that_size_stays_there() {
        let pool = MathPool::with_mode(2, SubnormalMode::Flush);
        let outer = pool.run(|_| {
            let here = std::thread::current().name().map(str::to_string);
            let inner = on_math_pool(Threads(2), || std::thread::current().name().map(str::to_string));
            (here, inner)
        });
        assert_eq!(outer.0, outer.1, "no fresh pool for the same thread count");
        let other = pool.run(|_| on_math_pool(Threads(1), rayon::current_num_threads));
        assert_eq!(other, 1, "another size gets its own pool");
    }

    #[test]
    fn subnormals_are_counted_and_zero_is_not() {
        let values = [0.0, -0.0, f32::MIN_POSITIVE, 1e-39, -1e-40, f32::from_bits(1), 1.0, f32::NAN];
        assert_eq!(count_subnormals(&values), 3);
        // Also where the thread reads subnormal operands as zero.
        let counted = std::thread::spawn(move || {
            SubnormalMode::Flush.apply_here();
            count_subnormals(&values)
        })
        .join()
        .expect("test thread");
        assert_eq!(counted, 3);
    }
}
