//! What the trainer thread sends: the outbox of small updates, which never blocks and keeps a
//! bounded backlog while nobody reads, and the training throughput meter shown with them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use super::{LossPoint, Update, Waker};
use crate::decimate::merge_pairs;

/// Sends small updates without ever blocking; losses and one-off events wait in order until
/// the channel has room. While nobody reads (a hidden window), the backlog stays bounded: losses are
/// thinned, and of the periodic events only the newest are kept; one-off events (a divergence, a
/// save, an error, a replaced model, a requested file) are never dropped.
pub(super) struct Outbox {
    tx: Sender<Update>,
    pending_losses: Vec<LossPoint>,
    pending_events: VecDeque<Update>,
    /// Pending events of each periodic kind (see [`Periodic`]).
    pending_periodic: [usize; Periodic::KINDS],
    waker: Option<Waker>,
}

/// Events that recur as training goes on, of which a backlog keeps only the newest.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Periodic {
    /// Every quarter epoch.
    Monitors = 0,
    /// Every epoch (many a second on a small training set).
    EpochFinished = 1,
}

impl Periodic {
    const KINDS: usize = 2;

    fn of(update: &Update) -> Option<Self> {
        match update {
            Update::Monitors(_) => Some(Periodic::Monitors),
            Update::EpochFinished { .. } => Some(Periodic::EpochFinished),
            _ => None,
        }
    }
}

impl Outbox {
    /// Keeps the backlog bounded if nobody drains the channel for a long time (a hidden window):
    /// past this many points, neighbours are averaged pairwise, as the plot itself does.
    const MAX_PENDING_LOSSES: usize = 100_000;
    /// Pending events kept of each periodic kind: 1,000 epochs of monitors, far more than a frame
    /// ever finds waiting; a long unread backlog loses its oldest points.
    const MAX_PENDING_PERIODIC: usize = 4_000;

    pub(super) fn new(tx: Sender<Update>, waker: Option<Waker>) -> Self {
        Self {
            tx,
            pending_losses: Vec::new(),
            pending_events: VecDeque::new(),
            pending_periodic: [0; Periodic::KINDS],
            waker,
        }
    }

    pub(super) fn push_loss(&mut self, point: LossPoint) {
        self.pending_losses.push(point);
        if self.pending_losses.len() > Self::MAX_PENDING_LOSSES {
            self.pending_losses = merge_pairs(&self.pending_losses, |pair| LossPoint {
                epoch: pair.iter().map(|p| p.epoch).sum::<f64>() / pair.len() as f64,
                loss: pair.iter().map(|p| p.loss).sum::<f32>() / pair.len() as f32,
            });
        }
    }

    pub(super) fn event(&mut self, update: Update) {
        if let Some(kind) = Periodic::of(&update) {
            if self.pending_periodic[kind as usize] >= Self::MAX_PENDING_PERIODIC {
                // The oldest of its kind; the backlog's front is mostly periodic events, so this is near.
                if let Some(oldest) = self.pending_events.iter().position(|u| Periodic::of(u) == Some(kind)) {
                    self.pending_events.remove(oldest);
                    self.pending_periodic[kind as usize] -= 1;
                }
            }
            self.pending_periodic[kind as usize] += 1;
        }
        self.pending_events.push_back(update);
    }

    /// Tries to deliver everything pending; returns true if anything was sent.
    pub(super) fn flush(&mut self) -> bool {
        let mut sent = false;
        // The losses waiting are all the new model's when a model replacement waits (the old
        // model's were discarded then): the replacement goes first, so that they start its history
        // instead of ending the old one's.
        let replaced = self.pending_events.iter().rposition(|u| matches!(u, Update::ModelReplaced { .. }));
        for _ in 0..replaced.map_or(0, |i| i + 1) {
            if !self.send_next_event() {
                return sent;
            }
            sent = true;
        }
        // Losses first, so that events such as Diverged come after the points before them.
        if !self.pending_losses.is_empty() {
            let batch = std::mem::take(&mut self.pending_losses);
            match self.tx.try_send(Update::Losses(batch)) {
                Ok(()) => sent = true,
                Err(TrySendError::Full(Update::Losses(batch)) | TrySendError::Disconnected(Update::Losses(batch))) => {
                    self.pending_losses = batch;
                    return sent;
                }
                Err(_) => return sent,
            }
        }
        while self.send_next_event() {
            sent = true;
        }
        sent
    }

    /// Sends the oldest pending event; false when there is none or the channel is full.
    fn send_next_event(&mut self) -> bool {
        let Some(update) = self.pending_events.pop_front() else { return false };
        let kind = Periodic::of(&update);
        match self.tx.try_send(update) {
            Ok(()) => {
                if let Some(kind) = kind {
                    self.pending_periodic[kind as usize] -= 1;
                }
                true
            }
            Err(TrySendError::Full(update) | TrySendError::Disconnected(update)) => {
                self.pending_events.push_front(update);
                false
            }
        }
    }

    /// Losses not yet sent are dropped (they belong to a model that has just been replaced).
    pub(super) fn discard_losses(&mut self) {
        self.pending_losses.clear();
    }

    /// Latest-only messages: dropped if the channel is full (the next one replaces them anyway).
    pub(super) fn try_send_latest(&mut self, update: Update) -> bool {
        self.tx.try_send(update).is_ok()
    }

    pub(super) fn wake(&self) {
        if let Some(waker) = &self.waker {
            waker();
        }
    }
}

/// Measures training throughput in wall-clock time over windows of about half a second: while
/// training runs continuously, the time between batch ends counts (chains, publishing and commands
/// included), so the figure is what a person gets, not just the batch's own compute time.
#[derive(Default)]
pub(super) struct Throughput {
    samples: u64,
    elapsed: Duration,
    rate: f64,
    last_batch_end: Option<Instant>,
}

impl Throughput {
    pub(super) fn record(&mut self, samples: usize, batch_started: Instant) {
        let now = Instant::now();
        let since = self.last_batch_end.filter(|&t| t <= batch_started).unwrap_or(batch_started);
        self.last_batch_end = Some(now);
        self.samples += samples as u64;
        self.elapsed += now.duration_since(since);
        if self.elapsed >= Duration::from_millis(500) {
            self.rate = self.samples as f64 / self.elapsed.as_secs_f64();
            self.samples = 0;
            self.elapsed = Duration::ZERO;
        }
    }

    /// Samples per second over the latest window (0 before the first).
    pub(super) fn rate(&self) -> f64 {
        self.rate
    }

    /// Training stopped: the pause must not count as training time.
    pub(super) fn interrupt(&mut self) {
        self.last_batch_end = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_models_losses_come_after_its_replacement() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut outbox = Outbox::new(tx, None);
        outbox.push_loss(LossPoint { epoch: 0.5, loss: 0.2 });
        outbox.flush();
        // Reset: the old model's unsent losses are dropped, the event waits, the new model trains.
        outbox.push_loss(LossPoint { epoch: 0.51, loss: 0.2 });
        outbox.discard_losses();
        outbox.event(Update::ModelReplaced { description: "new".into(), epoch_position: 0.0 });
        outbox.push_loss(LossPoint { epoch: 0.0, loss: 0.48 });
        outbox.flush();
        let names: Vec<String> = rx
            .try_iter()
            .map(|u| match u {
                Update::Losses(points) => format!("losses at {:?}", points.iter().map(|p| p.epoch).collect::<Vec<_>>()),
                Update::ModelReplaced { .. } => "replaced".into(),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(names, ["losses at [0.5]", "replaced", "losses at [0.0]"]);
    }

    #[test]
    fn an_unread_backlog_of_losses_is_halved_by_averaging_neighbours() {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let mut outbox = Outbox::new(tx, None);
        let points = Outbox::MAX_PENDING_LOSSES + 1;
        for i in 0..points {
            outbox.push_loss(LossPoint { epoch: i as f64, loss: (i % 2) as f32 });
        }
        let pending = &outbox.pending_losses;
        assert_eq!(pending.len(), points.div_ceil(2));
        assert!(pending[..pending.len() - 1].iter().all(|p| p.loss == 0.5), "neighbours 0 and 1 average 0.5");
        assert_eq!(pending[1], LossPoint { epoch: 2.5, loss: 0.5 });
        assert_eq!(pending.last(), Some(&LossPoint { epoch: (points - 1) as f64, loss: 0.0 }), "a lone last point");
    }
}
