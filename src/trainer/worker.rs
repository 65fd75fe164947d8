//! The trainer thread's loop: a [`TrainingRun`] driven by commands, with the display chains, the
//! outbox of updates, the model and chain mailboxes, and the quality monitors around it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};
use rand::Rng;

use super::run::{BatchOutcome, Continuation, Stream, TrainingRun, stream_rng};
use super::{
    ChainCommand, ChainSnapshot, ChainStart, Command, Diagnostics, LossPoint, Mailboxes, ModelSnapshot, Progress,
    TrainerOptions, Update, Waker,
};
use crate::data::Dataset;
use crate::io::ModelFile;
use crate::model::{GibbsChains, MathPool, ModelSpec, Threads, TrainingConfig, VisibleSampling};
use crate::quality::{Histogram, MonitorData, update_ratio};

/// Sends small updates without ever blocking; losses and one-off events wait in order until
/// the channel has room. While nobody reads (a hidden window), the backlog stays bounded: losses are
/// thinned, and of the periodic events only the newest are kept; one-off events (a divergence, a
/// save, an error, a replaced model, a requested file) are never dropped.
struct Outbox {
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

    fn new(tx: Sender<Update>, waker: Option<Waker>) -> Self {
        Self {
            tx,
            pending_losses: Vec::new(),
            pending_events: VecDeque::new(),
            pending_periodic: [0; Periodic::KINDS],
            waker,
        }
    }

    fn push_loss(&mut self, point: LossPoint) {
        self.pending_losses.push(point);
        if self.pending_losses.len() > Self::MAX_PENDING_LOSSES {
            self.pending_losses = self
                .pending_losses
                .chunks(2)
                .map(|pair| LossPoint {
                    epoch: pair.iter().map(|p| p.epoch).sum::<f64>() / pair.len() as f64,
                    loss: pair.iter().map(|p| p.loss).sum::<f32>() / pair.len() as f32,
                })
                .collect();
        }
    }

    fn event(&mut self, update: Update) {
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
    fn flush(&mut self) -> bool {
        let mut sent = false;
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
        while let Some(update) = self.pending_events.pop_front() {
            let kind = Periodic::of(&update);
            match self.tx.try_send(update) {
                Ok(()) => {
                    sent = true;
                    if let Some(kind) = kind {
                        self.pending_periodic[kind as usize] -= 1;
                    }
                }
                Err(TrySendError::Full(update) | TrySendError::Disconnected(update)) => {
                    self.pending_events.push_front(update);
                    break;
                }
            }
        }
        sent
    }

    /// Latest-only messages: dropped if the channel is full (the next one replaces them anyway).
    fn try_send_latest(&mut self, update: Update) -> bool {
        self.tx.try_send(update).is_ok()
    }

    fn wake(&self) {
        if let Some(waker) = &self.waker {
            waker();
        }
    }
}

/// Measures training throughput in wall-clock time over windows of about half a second: while
/// training runs continuously, the time between batch ends counts (chains, publishing and commands
/// included), so the figure is what a person gets, not just the batch's own compute time.
#[derive(Default)]
struct Throughput {
    samples: u64,
    elapsed: Duration,
    rate: f64,
    last_batch_end: Option<Instant>,
}

impl Throughput {
    fn record(&mut self, samples: usize, batch_started: Instant) {
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

    /// Training stopped: the pause must not count as training time.
    fn interrupt(&mut self) {
        self.last_batch_end = None;
    }
}

struct Chains {
    sampler: GibbsChains,
    running: bool,
    steps_per_second: f32,
    restart_every: u64,
    sampling: Option<VisibleSampling>,
    start: ChainStart,
    count: usize,
    generation: u64,
    next_step_at: Instant,
    changed: bool,
}

pub(super) struct Worker {
    run: TrainingRun,
    running: bool,
    steps_requested: usize,
    model_changed: bool,
    snapshot_version: u64,
    chains: Chains,
    throughput: Throughput,
    commands: Receiver<Command>,
    outbox: Outbox,
    mailboxes: Arc<Mailboxes>,
    publish_interval: Duration,
    last_publish: Instant,
    last_model_publish: Instant,
    last_progress: Option<Progress>,
    monitor_data: Option<MonitorData>,
    last_diagnostics: Instant,
}

impl Worker {
    pub(super) fn new(
        dataset: Arc<Dataset>,
        options: TrainerOptions,
        commands: Receiver<Command>,
        tx: Sender<Update>,
        mailboxes: Arc<Mailboxes>,
    ) -> Self {
        let spec = if options.spec.validate().is_ok() { options.spec } else { ModelSpec::default() };
        let config = if options.config.validate().is_ok() { options.config } else { TrainingConfig::default() };
        let (n_visible, n_hidden) = (dataset.pixels_per_image(), spec.n_hidden);
        let run = TrainingRun::new(dataset, spec, config, MathPool::new(options.threads));
        let now = Instant::now();
        let mut worker = Self {
            run,
            running: options.start_running,
            steps_requested: 0,
            model_changed: true,
            snapshot_version: 0,
            chains: Chains {
                sampler: GibbsChains::new(Vec::new(), n_visible, n_hidden, 0),
                running: options.chains_running,
                steps_per_second: options.chain_steps_per_second.max(0.1),
                restart_every: options.chain_restart_every,
                sampling: None,
                start: options.chain_start,
                count: options.chain_count,
                generation: 0,
                next_step_at: now,
                changed: true,
            },
            throughput: Throughput::default(),
            commands,
            outbox: Outbox::new(tx, options.waker),
            mailboxes,
            publish_interval: options.publish_interval,
            last_publish: now - options.publish_interval,
            last_model_publish: now - Duration::from_secs(1),
            last_progress: None,
            monitor_data: None,
            last_diagnostics: now,
        };
        worker.reset_chains();
        worker
    }

    pub(super) fn run(mut self) {
        loop {
            let training = self.running || self.steps_requested > 0;
            // Block only when idle: until the next chain step is due, or briefly to keep publishing.
            let wait = if training {
                Duration::ZERO
            } else if self.chains.running {
                self.chains.next_step_at.saturating_duration_since(Instant::now()).min(self.publish_interval)
            } else {
                Duration::from_millis(250)
            };
            if !wait.is_zero() {
                match self.commands.recv_timeout(wait) {
                    Ok(Command::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
                    Ok(command) => self.handle(command),
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => return,
                    Ok(command) => self.handle(command),
                    Err(TryRecvError::Empty) => break,
                }
            }
            if self.running || self.steps_requested > 0 {
                self.train_one_batch();
                if self.steps_requested > 0 {
                    self.steps_requested -= 1;
                }
            }
            if !self.running {
                self.throughput.interrupt();
            }
            self.step_chains_if_due();
            self.publish_if_due();
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Start => self.running = true,
            Command::Pause => {
                self.running = false;
                self.steps_requested = 0;
            }
            Command::Step => {
                self.running = false;
                self.steps_requested += 1;
            }
            Command::Reset(spec) => {
                match spec.validate_with(self.run.config(), self.run.dataset().pixels_per_image()) {
                    Ok(()) => {
                        self.run.reset(spec);
                        self.model_replaced(self.new_model_description(), None);
                    }
                    Err(e) => self.outbox.event(Update::Error(format!("Reset refused: {e}"))),
                }
            }
            Command::SetConfig(config) => {
                match config.validate_for(self.run.rbm().n_visible(), self.run.rbm().n_hidden()) {
                    Ok(()) => {
                        if self.run.set_config(config) {
                            self.outbox.event(Update::ConfigApplied {
                                epoch_position: self.run.epoch_position(),
                                config: self.run.config().clone(),
                            });
                        }
                    }
                    Err(e) => self.outbox.event(Update::Error(format!("Setting refused: {e}"))),
                }
            }
            Command::LoadModel(file) => self.load_model(*file),
            Command::SaveModel(path) => match crate::io::save_model(&path, &self.run.model_file()) {
                Ok(()) => self.outbox.event(Update::Saved(path)),
                Err(e) => self.outbox.event(Update::Error(format!("Save failed: {e}"))),
            },
            Command::RequestModelFile => self.outbox.event(Update::ModelFile(Box::new(self.run.model_file()))),
            Command::SetDataset(dataset) => {
                if let Err(e) = self.run.spec().validate_with(self.run.config(), dataset.pixels_per_image()) {
                    let message = format!(
                        "Dataset {} refused: {e}; training continues on {}",
                        dataset.name,
                        self.run.dataset().name
                    );
                    self.outbox.event(Update::Error(message));
                    return;
                }
                self.monitor_data = None;
                if self.run.set_dataset(dataset) {
                    self.model_replaced(self.new_model_description(), None);
                } else {
                    self.reset_chains();
                    self.model_changed = true;
                }
            }
            Command::Chains(chain_command) => self.handle_chains(chain_command),
            Command::Shutdown => {}
        }
    }

    fn handle_chains(&mut self, command: ChainCommand) {
        match command {
            ChainCommand::Run(run) => {
                self.chains.running = run;
                self.chains.next_step_at = Instant::now();
            }
            ChainCommand::Step => {
                self.chains.running = false;
                self.step_chains_once();
            }
            ChainCommand::Reset { start, count } => {
                self.chains.start = start;
                self.chains.count = count.clamp(1, 100);
                self.reset_chains();
            }
            ChainCommand::SetStepsPerSecond(rate) if rate.is_finite() => {
                self.chains.steps_per_second = rate.clamp(0.1, 1000.0);
            }
            ChainCommand::SetStepsPerSecond(_) => {}
            ChainCommand::SetRestartEvery(steps) => self.chains.restart_every = steps,
            ChainCommand::SetSampling(sampling) => self.chains.sampling = sampling,
        }
        self.chains.changed = true;
    }

    fn new_model_description(&self) -> String {
        let rbm = self.run.rbm();
        format!("new {}x{} model, seed {}", rbm.n_visible(), rbm.n_hidden(), self.run.spec().seed)
    }

    /// Common to Reset, Load and a dataset of another size: the history shown so far ends.
    fn model_replaced(&mut self, description: String, config_applied: Option<TrainingConfig>) {
        let epoch_position = self.run.epoch_position();
        // Losses of the old model would be plotted into the new history (events are sent before it).
        self.outbox.pending_losses.clear();
        self.throughput = Throughput::default();
        self.model_changed = true;
        self.reset_chains();
        self.outbox.event(Update::ModelReplaced { description, epoch_position });
        if let Some(config) = config_applied {
            self.outbox.event(Update::ConfigApplied { epoch_position, config });
        }
    }

    fn reset_chains(&mut self) {
        self.chains.generation += 1;
        let (count, nv, nh) = (self.chains.count.max(1), self.run.rbm().n_visible(), self.run.rbm().n_hidden());
        let mut rng = stream_rng(self.run.spec().seed, Stream::Chains, self.chains.generation);
        let start = match self.chains.start {
            ChainStart::TestDigits => self.run.dataset().test_digits(count),
            ChainStart::Noise => (0..count * nv).map(|_| rng.random::<f32>()).collect(),
        };
        self.chains.sampler = GibbsChains::new(start, nv, nh, rng.random());
        self.chains.changed = true;
        self.chains.next_step_at = Instant::now();
    }

    fn load_model(&mut self, file: ModelFile) {
        let (epochs, dataset) = (file.metadata.epochs_trained, file.metadata.dataset.clone());
        match self.run.adopt(file) {
            Ok(continuation) => {
                let rbm = self.run.rbm();
                let mut description =
                    format!("loaded {}x{} model ({epochs} epochs on {dataset})", rbm.n_visible(), rbm.n_hidden());
                if let Continuation::FreshState(why) = continuation {
                    description.push_str(&format!("; training continues with a fresh optimiser state: {why}"));
                }
                self.model_replaced(description, Some(self.run.config().clone()));
            }
            Err(e) => self.outbox.event(Update::Error(format!("Load refused: {e}. The current model is unchanged."))),
        }
    }

    fn train_one_batch(&mut self) {
        let started = Instant::now();
        let report = match self.run.train_batch() {
            BatchOutcome::Trained(report) => report,
            BatchOutcome::NoTrainingData => {
                self.running = false;
                return;
            }
            BatchOutcome::Diverged { epoch_position, learning_rate } => {
                self.running = false;
                self.steps_requested = 0;
                self.model_changed = true;
                self.outbox.event(Update::Diverged {
                    epoch_position,
                    message: format!(
                        "Training diverged at epoch {epoch_position:.3} (learning rate {learning_rate}): the weights \
                         became NaN or infinite. Paused and restored the state before that batch; lower the learning \
                         rate (and the weight decay) and press Start, or Reset if the weights had already grown \
                         huge."
                    ),
                });
                return;
            }
        };
        self.throughput.record(report.rows, started);
        let position = report.loss.epoch;
        // Every quarter epoch: the cheap quality monitors (a few ms on 1,000 + 1,000 images).
        let quarter = |images: usize| (4 * images) / report.images_per_epoch;
        if quarter(report.span.end) != quarter(report.span.start) {
            let ratio = update_ratio(self.run.weights_before_batch(), self.run.rbm().weights_slice());
            let data = self.monitor_data.get_or_insert_with(|| MonitorData::new(self.run.dataset(), 1000));
            let rbm = self.run.rbm();
            let measured = self.run.pool().run(|threads| data.measure(rbm, position, ratio, threads));
            if let Some(point) = measured {
                self.outbox.event(Update::Monitors(point));
            }
        }
        if self.last_diagnostics.elapsed() >= Duration::from_millis(500) {
            self.last_diagnostics = Instant::now();
            if let Some(diagnostics) = self.diagnostics(position) {
                self.mailboxes.diagnostics.put(Arc::new(diagnostics));
            }
        }
        self.model_changed = true;
        self.outbox.push_loss(report.loss);
        if let Some(finished) = report.finished_epoch {
            self.outbox.event(Update::EpochFinished { epoch: finished.epoch, mean_loss: finished.mean_loss });
        }
    }

    /// Histograms of the parameters and of the last update, and p(h|v) for the last batch (none
    /// before the first batch).
    fn diagnostics(&self, epoch: f64) -> Option<Diagnostics> {
        let rbm = self.run.rbm();
        let (w, before) = (rbm.weights_slice(), self.run.weights_before_batch());
        let update: Vec<f32> = w.iter().zip(before).map(|(a, b)| a - b).collect();
        let nv = rbm.n_visible();
        let batch = self.run.last_batch();
        let rows = batch.len().min(64);
        if rows == 0 {
            return None;
        }
        let mut images = vec![0.0; rows * nv];
        for (row, &index) in images.chunks_exact_mut(nv).zip(batch) {
            self.run.dataset().train_image_f32(index as usize, row);
        }
        Some(Diagnostics {
            epoch,
            weights: Histogram::of(w, 60),
            visible_bias: Histogram::of(rbm.visible_bias().as_slice().unwrap_or(&[]), 60),
            hidden_bias: Histogram::of(rbm.hidden_bias().as_slice().unwrap_or(&[]), 60),
            update: Histogram::of(&update, 60),
            update_ratio: update_ratio(before, w),
            hidden_probabilities: rbm.hidden_probabilities(&images, rows, Threads(1)),
            rows,
            n_hidden: rbm.n_hidden(),
        })
    }

    fn step_chains_if_due(&mut self) {
        if !self.chains.running {
            return;
        }
        let now = Instant::now();
        let period = Duration::from_secs_f32(1.0 / self.chains.steps_per_second);
        // Bounded catch-up so that a slow batch never makes the chains monopolise the thread.
        let mut steps = 0;
        while self.chains.next_step_at <= now && steps < 50 {
            self.step_chains_once();
            self.chains.next_step_at += period;
            steps += 1;
        }
        if self.chains.next_step_at <= now {
            self.chains.next_step_at = now + period;
        }
        if steps > 0 {
            self.chains.changed = true;
        }
    }

    fn step_chains_once(&mut self) {
        let chains = &mut self.chains;
        if chains.restart_every > 0 && chains.sampler.steps() >= chains.restart_every {
            chains.sampler.restart();
        }
        let config = self.run.config();
        let sampling = chains.sampling.unwrap_or(config.sampling);
        chains.sampler.step(self.run.rbm(), sampling, config.noise_std);
    }

    fn publish_if_due(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.last_publish) < self.publish_interval {
            return;
        }
        self.last_publish = now;
        let mut sent = self.outbox.flush();
        let run = &self.run;
        let batch_size = run.config().batch_size.max(1);
        let progress = Progress {
            running: self.running || self.steps_requested > 0,
            epoch: run.epoch(),
            batch_in_epoch: run.images_into_epoch().div_ceil(batch_size),
            batches_per_epoch: run.images_per_epoch().div_ceil(batch_size),
            samples_seen: run.samples_seen(),
            samples_per_second: if self.running { self.throughput.rate } else { 0.0 },
            n_visible: run.rbm().n_visible(),
            n_hidden: run.rbm().n_hidden(),
            dataset: run.dataset().name.clone(),
            config: run.config().clone(),
            spec: run.spec().clone(),
            threads: run.pool().threads().0,
            swap_rates: run.swap_rates().to_vec(),
        };
        // Unchanged progress is not news: an idle trainer leaves the window idle too.
        if self.last_progress.as_ref() != Some(&progress)
            && self.outbox.try_send_latest(Update::Progress(progress.clone()))
        {
            self.last_progress = Some(progress);
            sent = true;
        }
        // Weights at most ~10 times a second: the filter view cannot usefully show more.
        if self.model_changed && now.duration_since(self.last_model_publish) >= Duration::from_millis(100) {
            self.last_model_publish = now;
            self.model_changed = false;
            self.snapshot_version += 1;
            let (rbm, dataset) = (self.run.rbm(), self.run.dataset());
            self.mailboxes.model.put(Arc::new(ModelSnapshot {
                n_visible: rbm.n_visible(),
                n_hidden: rbm.n_hidden(),
                image_rows: dataset.rows,
                image_cols: dataset.cols,
                weights: rbm.weights_slice().to_vec(),
                visible_bias: rbm.visible_bias().to_vec(),
                hidden_bias: rbm.hidden_bias().to_vec(),
                epoch_position: self.run.epoch_position(),
                version: self.snapshot_version,
            }));
            sent = true;
        }
        if self.chains.changed {
            self.chains.changed = false;
            let sampler = &self.chains.sampler;
            let dataset = self.run.dataset();
            self.mailboxes.chains.put(Arc::new(ChainSnapshot {
                count: sampler.count(),
                image_rows: dataset.rows,
                image_cols: dataset.cols,
                start_images: sampler.start_images().to_vec(),
                mean_images: sampler.mean_images().to_vec(),
                steps: sampler.steps(),
                running: self.chains.running,
                steps_per_second: self.chains.steps_per_second,
                start: self.chains.start,
            }));
            sent = true;
        }
        if sent {
            self.outbox.wake();
        }
    }
}
