//! Random streams, one per batch row, so that row-parallel sampling gives the same numbers whatever
//! the thread count: row r always draws from stream r, whichever thread runs it.

use rand::{RngCore, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Independent xoshiro256++ streams, separated by `jump()` (2^128 draws apart).
#[derive(Clone, Debug)]
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
}

/// A uniform draw in [0, 1) with 24 bits, the resolution of an f32 mantissa.
#[inline]
pub fn uniform_f32(rng: &mut Xoshiro256PlusPlus) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A standard normal draw (ziggurat).
#[inline]
pub fn normal_f32(rng: &mut Xoshiro256PlusPlus) -> f32 {
    StandardNormal.sample(rng)
}
