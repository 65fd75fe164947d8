//! Where a run is: the random streams derived from its seed, and the order the training images
//! are visited in during the current epoch with how far the run is in it.

use std::ops::Range;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::epoch_position;

/// Separate random streams derived from the one seed, so that e.g. changing the chain count does not
/// change the training run.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Init = 1,
    Shuffle = 2,
    Cd = 3,
    Chains = 4,
}

pub(crate) fn stream_rng(seed: u64, stream: Stream, generation: u64) -> Xoshiro256PlusPlus {
    let salt = (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ generation.wrapping_mul(0xD1B5_4A32_D192_ED03);
    Xoshiro256PlusPlus::seed_from_u64(seed ^ salt)
}

/// The order the training images are visited in during the current epoch, and how far the run
/// is in it. Each epoch's order is a fresh shuffle from one continuing stream.
pub(super) struct EpochCursor {
    /// The shuffle stream before the current epoch's order was drawn (what a saved state records).
    pub(super) epoch_start: Xoshiro256PlusPlus,
    /// The shuffle stream after it, which draws the next epoch's order.
    shuffle: Xoshiro256PlusPlus,
    /// Image indices in the current epoch's order.
    pub(super) order: Vec<u32>,
    /// Images of the current epoch done; always less than the epoch's length (an epoch that is
    /// done moves on to the next at once).
    pub(super) cursor: usize,
    /// Completed epochs.
    pub(super) epoch: usize,
}

impl EpochCursor {
    /// `cursor` images into epoch `epoch` of `images` training images, whose order `epoch_start`
    /// draws.
    pub(super) fn new(epoch_start: Xoshiro256PlusPlus, images: usize, epoch: usize, cursor: usize) -> Self {
        let mut epochs = Self { shuffle: epoch_start.clone(), epoch_start, order: Vec::new(), cursor: 0, epoch };
        epochs.draw_order(images);
        epochs.cursor = cursor.min(images.saturating_sub(1));
        epochs
    }

    /// `cursor` images into epoch `epoch` with a fresh stream: the order the seed gives that
    /// epoch, as a run at its start would have had it.
    pub(super) fn fresh(seed: u64, images: usize, epoch: usize, cursor: usize) -> Self {
        Self::new(stream_rng(seed, Stream::Shuffle, epoch as u64), images, epoch, cursor)
    }

    fn draw_order(&mut self, images: usize) {
        self.epoch_start.clone_from(&self.shuffle);
        self.order.clear();
        self.order.extend(0..images as u32);
        self.order.shuffle(&mut self.shuffle);
        self.cursor = 0;
    }

    pub(super) fn images(&self) -> usize {
        self.order.len()
    }

    pub(super) fn position(&self) -> f64 {
        epoch_position(self.epoch as u64, self.cursor as u64, self.images() as u64)
    }

    /// The next batch of at most `batch` images, never past the end of the epoch; empty only when
    /// there are no images.
    pub(super) fn next_batch(&self, batch: usize) -> Range<usize> {
        self.cursor..(self.cursor + batch.max(1)).min(self.images())
    }

    /// Moves past `rows` trained images; true when that finished the epoch, whose next one then
    /// starts with a new order.
    pub(super) fn advance(&mut self, rows: usize) -> bool {
        self.cursor += rows;
        if self.cursor < self.images() {
            return false;
        }
        self.epoch += 1;
        self.draw_order(self.images());
        true
    }

    /// Another training set: its epoch starts over with an order from the continuing stream.
    pub(super) fn restart_epoch(&mut self, images: usize) {
        self.draw_order(images);
    }
}
