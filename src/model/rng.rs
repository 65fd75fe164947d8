//! Random streams, one per batch row, so that row-parallel sampling gives the same numbers whatever
//! the thread count: row r always draws from stream r, whichever thread runs it.

use rand::{RngCore, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Independent xoshiro256++ streams, separated by `jump()` (2^128 draws apart).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowStreams {
    streams: Vec<Xoshiro256PlusPlus>,
}

impl RowStreams {
    pub fn new(seed: u64, rows: usize) -> Self {
        let mut base = Xoshiro256PlusPlus::seed_from_u64(seed);
        let streams = (0..rows)
            .map(|_| {
                let s = base.clone();
                base.jump();
                s
            })
            .collect();
        Self { streams }
    }

    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    pub fn streams_mut(&mut self) -> &mut [Xoshiro256PlusPlus] {
        &mut self.streams
    }

    /// Each stream's state as four words (see [`stream_words`]), to be saved and continued exactly.
    pub fn to_words(&self) -> Vec<[u64; 4]> {
        self.streams.iter().map(stream_words).collect()
    }

    /// Streams continued from saved words; `None` if any of them is all zeros (see [`stream_from_words`]).
    pub fn from_words(words: &[[u64; 4]]) -> Option<Self> {
        words.iter().map(|&w| stream_from_words(w)).collect::<Option<Vec<_>>>().map(|streams| Self { streams })
    }
}

/// The four 64-bit words of a xoshiro256++ state (s0..s3 of the reference code), so that a stream
/// can be saved and later continued exactly where it was.
///
/// `rand_xoshiro` keeps the state private but serialises it (its `serde` feature) as `{"s": [u64; 4]}`;
/// that representation is read back here rather than relying on the struct's memory layout.
pub fn stream_words(rng: &Xoshiro256PlusPlus) -> [u64; 4] {
    #[derive(serde::Deserialize)]
    struct State {
        s: [u64; 4],
    }
    serde_json::to_value(rng)
        .and_then(serde_json::from_value::<State>)
        .map(|state| state.s)
        // Both steps only fail if rand_xoshiro changed its representation; the round-trip test
        // below would catch that at once.
        .unwrap_or_default()
}

/// A xoshiro256++ stream in the state given by [`stream_words`]. `None` for all-zero words: no
/// stream ever reaches that state (the generator would output only zeros), so they mean a damaged file.
pub fn stream_from_words(words: [u64; 4]) -> Option<Xoshiro256PlusPlus> {
    if words == [0; 4] {
        return None;
    }
    // `from_seed` reads the 32 bytes as the four state words, little-endian.
    let mut seed = [0u8; 32];
    for (chunk, word) in seed.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    Some(Xoshiro256PlusPlus::from_seed(seed))
}

/// A uniform draw in [0, 1) with 24 bits, the resolution of an f32 mantissa.
#[inline]
pub fn uniform_f32(rng: &mut Xoshiro256PlusPlus) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A standard normal draw (ziggurat), for single draws outside the hot loops.
#[inline]
pub fn normal_f32(rng: &mut Xoshiro256PlusPlus) -> f32 {
    StandardNormal.sample(rng)
}

/// Two independent standard normal draws from the 64 bits of one xoshiro output (Box–Muller,
/// as PyTorch's CPU `randn` does). Written for vectorisation: no branches, no libm calls.
///
/// Bits 40..63 give u ∈ (0, 1] (24 bits, so |z| ≤ 5.8: the cut tail has probability 7e-9),
/// bits 38..39 the quadrant q and bits 14..37 the angle φ ∈ (−π/4, π/4) inside it;
/// θ = q·π/2 + φ is uniform on the circle and (r cos θ, r sin θ) with r = √(−2 ln u) is a pair
/// of independent N(0, 1) draws.
#[inline(always)]
pub fn normal_pair_from_bits(bits: u64) -> (f32, f32) {
    const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;
    let u = ((bits >> 40) as i32 + 1) as f32 * TWO_POW_M24;
    let quadrant = ((bits >> 38) & 3) as u32;
    let fraction = (((bits >> 14) & 0xFF_FFFF) as i32 as f32 + 0.5) * TWO_POW_M24;
    let phi = (fraction - 0.5) * std::f32::consts::FRAC_PI_2;
    let radius = (-2.0 * ln_f32(u)).sqrt();
    let (sin, cos) = sin_cos_quarter(phi);
    // Rotate (cos φ, sin φ) by q·π/2: swap for odd q, then flip signs.
    let odd = quadrant & 1 != 0;
    let (c, s) = if odd { (sin, cos) } else { (cos, sin) };
    let flip_c = ((quadrant + 1) & 2) << 30;
    let flip_s = (quadrant & 2) << 30;
    let c = f32::from_bits(c.to_bits() ^ flip_c);
    let s = f32::from_bits(s.to_bits() ^ flip_s);
    (radius * c, radius * s)
}

/// Two uniform draws in [0, 1) with 24 bits each, from the two halves of one xoshiro output.
#[inline(always)]
pub fn uniform_pair_from_bits(bits: u64) -> (f32, f32) {
    const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;
    let lo = ((bits as u32) >> 8) as i32 as f32 * TWO_POW_M24;
    let hi = ((bits >> 40) as i32) as f32 * TWO_POW_M24;
    (lo, hi)
}

/// ln x for normal positive f32 (Cephes `logf`: x = m·2^e with m ∈ [√½, √2), a degree-9
/// polynomial in m − 1; about 1 ulp).
#[inline(always)]
fn ln_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut exponent = ((bits >> 23) & 0xFF) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    exponent += big as i32;
    let e = exponent as f32;
    let x = m - 1.0;
    let z = x * x;
    let mut p = 7.037_683_6e-2;
    p = p * x - 1.151_461e-1;
    p = p * x + 1.167_699_9e-1;
    p = p * x - 1.242_014_1e-1;
    p = p * x + 1.424_932_3e-1;
    p = p * x - 1.666_805_8e-1;
    p = p * x + 2.000_071_4e-1;
    p = p * x - 2.499_999_4e-1;
    p = p * x + 3.333_333e-1;
    let mut y = x * z * p;
    y += -2.121_944_4e-4 * e;
    y += -0.5 * z;
    (x + y) + 0.693_359_4 * e
}

/// (sin x, cos x) for |x| ≤ π/4 (Cephes `sinf`/`cosf` polynomials, about 1 ulp).
#[inline(always)]
fn sin_cos_quarter(x: f32) -> (f32, f32) {
    let z = x * x;
    let sin = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * x + x;
    let cos = ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream saved as words and rebuilt continues with the same draws; the words are the
    /// reference code's state (seed bytes 1, 2, 3, 4 as little-endian words give s = [1, 2, 3, 4]).
    #[test]
    fn streams_continue_exactly_from_their_words() {
        let reference =
            Xoshiro256PlusPlus::from_seed(std::array::from_fn(|i| if i % 8 == 0 { i as u8 / 8 + 1 } else { 0 }));
        assert_eq!(stream_words(&reference), [1, 2, 3, 4]);
        let mut streams = RowStreams::new(42, 5);
        for (r, stream) in streams.streams_mut().iter_mut().enumerate() {
            for _ in 0..r * 3 {
                stream.next_u64();
            }
        }
        let words = streams.to_words();
        let mut copy = RowStreams::from_words(&words).expect("non-zero states");
        assert_eq!(copy, streams);
        for (a, b) in streams.streams_mut().iter_mut().zip(copy.streams_mut()) {
            for _ in 0..100 {
                assert_eq!(a.next_u64(), b.next_u64());
            }
        }
        assert!(stream_from_words([0; 4]).is_none());
        assert!(RowStreams::from_words(&[[1, 0, 0, 0], [0; 4]]).is_none());
    }

    #[test]
    fn ln_matches_libm_to_a_few_ulp() {
        let mut worst = 0.0f64;
        for i in 1..=1_000_000u32 {
            // (0, 1] at the 24-bit resolution the sampler uses, plus a sweep above 1.
            for x in [i as f32 / 1_000_000.0, (i as f32 * 16.777_216).max(1.0) / 16_777_216.0, 1.0 + i as f32 * 1e-5] {
                let want = (x as f64).ln();
                let err = (ln_f32(x) as f64 - want).abs() / want.abs().max(1e-30);
                if want.abs() > 1e-6 {
                    worst = worst.max(err);
                }
            }
        }
        assert!(worst < 5e-7, "relative error {worst}");
    }

    #[test]
    fn sin_cos_match_libm_on_the_quarter_circle() {
        for i in 0..=100_000 {
            let x = (i as f32 / 100_000.0 - 0.5) * std::f32::consts::FRAC_PI_2;
            let (s, c) = sin_cos_quarter(x);
            assert!((s as f64 - (x as f64).sin()).abs() < 2e-7, "sin {x}");
            assert!((c as f64 - (x as f64).cos()).abs() < 2e-7, "cos {x}");
        }
    }

    /// The Box–Muller pairs: moments of N(0, 1), the normal CDF at several points, the pair
    /// uncorrelated (also in their squares), and the angle uniform over all four quadrants.
    #[test]
    fn normal_pairs_are_standard_normal_and_independent() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let n = 2_000_000;
        let (mut sum, mut sum2, mut sum4, mut cross, mut cross2) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
        let thresholds = [-2.5f64, -1.0, -0.3, 0.0, 0.7, 1.5, 3.0];
        let mut below = [0usize; 7];
        let mut quadrant_counts = [0usize; 4];
        for _ in 0..n {
            let (a, b) = normal_pair_from_bits(rng.next_u64());
            for z in [a as f64, b as f64] {
                sum += z;
                sum2 += z * z;
                sum4 += z * z * z * z;
                for (t, count) in thresholds.iter().zip(&mut below) {
                    *count += (z < *t) as usize;
                }
            }
            cross += a as f64 * b as f64;
            cross2 += (a as f64 * a as f64 - 1.0) * (b as f64 * b as f64 - 1.0);
            quadrant_counts[(a < 0.0) as usize * 2 + (b < 0.0) as usize] += 1;
        }
        let m = (2 * n) as f64;
        let sigma = (1.0 / m).sqrt();
        assert!((sum / m).abs() < 5.0 * sigma, "mean {}", sum / m);
        assert!((sum2 / m - 1.0).abs() < 5.0 * (2.0 / m).sqrt(), "variance {}", sum2 / m);
        assert!((sum4 / m - 3.0).abs() < 5.0 * (96.0 / m).sqrt(), "fourth moment {}", sum4 / m);
        assert!((cross / n as f64).abs() < 5.0 / (n as f64).sqrt(), "correlation {}", cross / n as f64);
        assert!((cross2 / n as f64).abs() < 5.0 * (4.0 / n as f64).sqrt(), "square correlation");
        for (t, count) in thresholds.iter().zip(below) {
            let want = 0.5 * (1.0 + erf(t / std::f64::consts::SQRT_2));
            let got = count as f64 / m;
            assert!(
                (got - want).abs() < 5.0 * (want * (1.0 - want) / m).sqrt() + 1e-6,
                "P(z < {t}) = {got}, want {want}"
            );
        }
        for count in quadrant_counts {
            assert!((count as f64 / n as f64 - 0.25).abs() < 0.002, "quadrants {quadrant_counts:?}");
        }
    }

    #[test]
    fn uniform_pairs_use_both_halves() {
        let (lo, hi) = uniform_pair_from_bits(0xFFFF_FF00_0000_0100);
        assert_eq!((lo, hi), (1.0 / 16_777_216.0, 16_777_215.0 / 16_777_216.0));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let n = 1_000_000;
        let (mut s_lo, mut s_hi) = (0.0f64, 0.0f64);
        for _ in 0..n {
            let (a, b) = uniform_pair_from_bits(rng.next_u64());
            assert!((0.0..1.0).contains(&a) && (0.0..1.0).contains(&b));
            s_lo += a as f64;
            s_hi += b as f64;
        }
        let tol = 5.0 * (1.0 / 12.0 / n as f64).sqrt();
        assert!((s_lo / n as f64 - 0.5).abs() < tol && (s_hi / n as f64 - 0.5).abs() < tol);
    }

    /// Abramowitz & Stegun 7.1.26 (error < 1.5e-7), enough for the CDF checks above.
    fn erf(x: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
        let y = 1.0
            - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
                * t
                * (-x * x).exp();
        if x >= 0.0 { y } else { -y }
    }
}
