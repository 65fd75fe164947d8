//! The trainer thread's loop.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{
    ChainCommand, ChainSnapshot, ChainStart, Command, Diagnostics, LossPoint, Mailboxes, ModelSnapshot, Progress,
    TrainerOptions, Update, Waker,
};
use crate::data::Dataset;
use crate::io::{ModelFile, ModelMetadata};
use crate::model::{
    CdWorkspace, GibbsChains, Initialisation, MathPool, ModelSpec, Rbm, Threads, TrainingConfig, VisibleSampling,
};
use crate::quality::{Histogram, MonitorData, update_ratio};

/// Separate random streams derived from the one seed, so that e.g. changing the chain count does not
/// change the training run.
#[derive(Clone, Copy)]
enum Stream {
    Init = 1,
    Shuffle = 2,
    Cd = 3,
    Chains = 4,
}

fn stream_rng(seed: u64, stream: Stream, generation: u64) -> Xoshiro256PlusPlus {
    let salt = (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ generation.wrapping_mul(0xD1B5_4A32_D192_ED03);
    Xoshiro256PlusPlus::seed_from_u64(seed ^ salt)
}

/// Runs `work` on the trainer's math pool with its thread count (one thread, here, if the pool
/// could not be built).
fn on_pool<R: Send>(pool: &MathPool, work: impl FnOnce(Threads) -> R + Send) -> R {
    pool.run(work)
}

fn stream_seed(seed: u64, stream: Stream, generation: u64) -> u64 {
    stream_rng(seed, stream, generation).random()
}

/// Sends small updates without ever blocking; losses and one-off events wait in order until
/// the channel has room.
struct Outbox {
    tx: Sender<Update>,
    pending_losses: Vec<LossPoint>,
    pending_events: VecDeque<Update>,
    waker: Option<Waker>,
}

impl Outbox {
    /// Keeps the backlog bounded if nobody drains the channel for a long time (a hidden window):
    /// past this many points, neighbours are averaged pairwise, as the plot itself does.
    const MAX_PENDING_LOSSES: usize = 100_000;

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
            match self.tx.try_send(update) {
                Ok(()) => sent = true,
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
    dataset: Arc<Dataset>,
    spec: ModelSpec,
    config: TrainingConfig,
    rbm: Rbm,
    last_finite: Rbm,
    workspace: CdWorkspace,
    workspace_generation: u64,
    shuffle_rng: Xoshiro256PlusPlus,
    order: Vec<u32>,
    cursor: usize,
    epoch: usize,
    epoch_loss_sum: f64,
    epoch_batches: usize,
    samples_seen: u64,
    running: bool,
    steps_requested: usize,
    model_changed: bool,
    snapshot_version: u64,
    chains: Chains,
    threads: usize,
    pool: MathPool,
    throughput: Throughput,
    commands: Receiver<Command>,
    outbox: Outbox,
    mailboxes: Arc<Mailboxes>,
    publish_interval: Duration,
    last_publish: Instant,
    last_model_publish: Instant,
    pixel_means: Option<Vec<f32>>,
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
        let threads = options.threads.max(1);
        // Built on the trainer thread, which it puts in the math threads' floating-point mode (the
        // Gibbs chains step here).
        let pool = MathPool::new(threads);
        let spec = if options.spec.validate().is_ok() { options.spec } else { ModelSpec::default() };
        let config = if options.config.validate().is_ok() { options.config } else { TrainingConfig::default() };
        let n_visible = dataset.pixels_per_image();
        let rbm = Rbm::zeros(n_visible, spec.n_hidden);
        let now = Instant::now();
        let mut worker = Self {
            workspace: CdWorkspace::new(n_visible, spec.n_hidden, 1, 0),
            workspace_generation: 0,
            last_finite: rbm.clone(),
            rbm,
            shuffle_rng: stream_rng(spec.seed, Stream::Shuffle, 0),
            order: Vec::new(),
            cursor: 0,
            epoch: 0,
            epoch_loss_sum: 0.0,
            epoch_batches: 0,
            samples_seen: 0,
            running: options.start_running,
            steps_requested: 0,
            model_changed: true,
            snapshot_version: 0,
            chains: Chains {
                sampler: GibbsChains::new(Vec::new(), n_visible, spec.n_hidden, 0),
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
            threads,
            pool,
            throughput: Throughput::default(),
            commands,
            outbox: Outbox { tx, pending_losses: Vec::new(), pending_events: VecDeque::new(), waker: options.waker },
            mailboxes,
            publish_interval: options.publish_interval,
            last_publish: now - options.publish_interval,
            last_model_publish: now - Duration::from_secs(1),
            pixel_means: None,
            last_progress: None,
            monitor_data: None,
            last_diagnostics: now,
            dataset,
            spec,
            config,
        };
        worker.reset_model(worker.spec.clone());
        // The first model is no news: nothing was replaced.
        worker.outbox.pending_events.clear();
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
            Command::Reset(spec) => match spec.validate() {
                Ok(()) => self.reset_model(spec),
                Err(e) => self.outbox.event(Update::Error(format!("Reset refused: {e}"))),
            },
            Command::SetConfig(config) => match config.validate() {
                Ok(()) if config != self.config => {
                    self.config = config;
                    self.outbox.event(Update::ConfigApplied {
                        epoch_position: self.epoch_position(),
                        config: self.config.clone(),
                    });
                }
                Ok(()) => {}
                Err(e) => self.outbox.event(Update::Error(format!("Setting refused: {e}"))),
            },
            Command::LoadModel(file) => self.load_model(*file),
            Command::SaveModel(path) => {
                let file = self.model_file();
                match crate::io::save_model(&path, &file) {
                    Ok(()) => self.outbox.event(Update::Saved(path)),
                    Err(e) => self.outbox.event(Update::Error(format!("Save failed: {e}"))),
                }
            }
            Command::SetDataset(dataset) => {
                let same_shape = dataset.pixels_per_image() == self.rbm.n_visible();
                self.dataset = dataset;
                self.pixel_means = None;
                self.monitor_data = None;
                self.order.clear();
                self.cursor = 0;
                self.epoch_loss_sum = 0.0;
                self.epoch_batches = 0;
                if same_shape {
                    self.reset_chains();
                    self.model_changed = true;
                } else {
                    self.reset_model(self.spec.clone());
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

    fn epoch_position(&self) -> f64 {
        self.epoch as f64 + self.cursor as f64 / self.dataset.train.count.max(1) as f64
    }

    fn pixel_means(&mut self) -> &[f32] {
        let dataset = &self.dataset;
        self.pixel_means.get_or_insert_with(|| dataset.train_pixel_means())
    }

    fn reset_model(&mut self, spec: ModelSpec) {
        let n_visible = self.dataset.pixels_per_image();
        let means =
            if spec.initialisation == Initialisation::Hinton { self.pixel_means().to_vec() } else { Vec::new() };
        let mut init_rng = stream_rng(spec.seed, Stream::Init, 0);
        self.rbm = Rbm::initialised(n_visible, spec.n_hidden, spec.initialisation, &means, &mut init_rng);
        self.spec = spec;
        self.start_history(0, 0);
        self.outbox.event(Update::ModelReplaced {
            description: format!("new {}x{} model, seed {}", n_visible, self.spec.n_hidden, self.spec.seed),
            epoch_position: 0.0,
        });
    }

    /// Common to Reset and Load: fresh buffers, streams and counters for the current model.
    fn start_history(&mut self, epoch: usize, samples_seen: u64) {
        self.last_finite = self.rbm.clone();
        self.shuffle_rng = stream_rng(self.spec.seed, Stream::Shuffle, epoch as u64);
        self.order.clear();
        self.cursor = 0;
        self.epoch = epoch;
        self.epoch_loss_sum = 0.0;
        self.epoch_batches = 0;
        self.samples_seen = samples_seen;
        self.workspace_generation = 0;
        self.workspace = self.new_workspace(self.config.batch_size);
        self.outbox.pending_losses.clear();
        self.throughput = Throughput::default();
        self.model_changed = true;
        self.reset_chains();
    }

    fn new_workspace(&mut self, capacity: usize) -> CdWorkspace {
        let seed = stream_seed(self.spec.seed, Stream::Cd, self.workspace_generation);
        let mut workspace = CdWorkspace::new(self.rbm.n_visible(), self.rbm.n_hidden(), capacity, seed);
        if self.config.centering {
            // Centering's visible offset starts at the training pixel means, as in the paper.
            workspace.set_visible_offset(self.pixel_means());
        }
        workspace
    }

    fn reset_chains(&mut self) {
        self.chains.generation += 1;
        let (count, nv) = (self.chains.count.max(1), self.rbm.n_visible());
        let mut rng = stream_rng(self.spec.seed, Stream::Chains, self.chains.generation);
        let start = match self.chains.start {
            ChainStart::TestDigits => self.dataset.test_digits(count),
            ChainStart::Noise => (0..count * nv).map(|_| rng.random::<f32>()).collect(),
        };
        self.chains.sampler = GibbsChains::new(start, nv, self.rbm.n_hidden(), rng.random());
        self.chains.changed = true;
        self.chains.next_step_at = Instant::now();
    }

    fn load_model(&mut self, file: ModelFile) {
        let pixels = self.dataset.pixels_per_image();
        if file.rbm.n_visible() != pixels {
            self.outbox.event(Update::Error(format!(
                "This model has {} visible units but the current dataset's images have {}x{} = {} pixels; \
                 load a dataset of that image size first. The current model is unchanged.",
                file.rbm.n_visible(),
                self.dataset.rows,
                self.dataset.cols,
                pixels
            )));
            return;
        }
        let meta = file.metadata;
        self.rbm = file.rbm;
        self.spec = ModelSpec { n_hidden: self.rbm.n_hidden(), ..meta.spec };
        if meta.training.validate().is_ok() {
            self.config = meta.training;
        }
        let epoch = if meta.epochs_trained.is_finite() && meta.epochs_trained >= 0.0 {
            meta.epochs_trained.ceil() as usize
        } else {
            0
        };
        self.start_history(epoch, meta.samples_seen);
        self.outbox.event(Update::ModelReplaced {
            description: format!(
                "loaded {}x{} model ({} epochs on {})",
                self.rbm.n_visible(),
                self.rbm.n_hidden(),
                meta.epochs_trained,
                meta.dataset
            ),
            epoch_position: epoch as f64,
        });
        self.outbox.event(Update::ConfigApplied { epoch_position: epoch as f64, config: self.config.clone() });
    }

    fn model_file(&self) -> ModelFile {
        ModelFile {
            rbm: self.rbm.clone(),
            metadata: ModelMetadata {
                format_version: crate::io::FORMAT_VERSION,
                created_by: crate::io::model_file::created_by(),
                dataset: self.dataset.name.clone(),
                image_rows: self.dataset.rows,
                image_cols: self.dataset.cols,
                epochs_trained: self.epoch_position(),
                samples_seen: self.samples_seen,
                training: self.config.clone(),
                spec: self.spec.clone(),
            },
        }
    }

    fn train_one_batch(&mut self) {
        let n = self.dataset.train.count;
        if n == 0 {
            self.running = false;
            return;
        }
        if self.cursor == 0 || self.order.len() != n {
            self.order = (0..n as u32).collect();
            self.order.shuffle(&mut self.shuffle_rng);
            self.cursor = 0;
        }
        let batch = self.config.batch_size.min(n);
        if self.workspace.capacity() < batch {
            self.workspace_generation += 1;
            self.workspace = self.new_workspace(batch);
        }
        let rows = batch.min(n - self.cursor);
        let nv = self.rbm.n_visible();
        let started = Instant::now();
        {
            let data = self.workspace.data_mut(rows);
            for (row, &index) in data.chunks_exact_mut(nv).zip(&self.order[self.cursor..self.cursor + rows]) {
                self.dataset.train_image_f32(index as usize, row);
            }
        }
        let epoch = self.epoch_position();
        let (workspace, rbm, config) = (&mut self.workspace, &mut self.rbm, &self.config);
        let stats = on_pool(&self.pool, |threads| workspace.step_at(rbm, config, rows, threads, epoch));
        self.throughput.record(rows, started);
        self.cursor += rows;
        self.samples_seen += rows as u64;
        let position = self.epoch_position();

        if !(stats.reconstruction_l1.is_finite() && self.rbm.is_finite()) {
            self.rbm.clone_from(&self.last_finite);
            self.running = false;
            self.steps_requested = 0;
            self.model_changed = true;
            self.outbox.event(Update::Diverged {
                epoch_position: position,
                message: format!(
                    "Training diverged at epoch {position:.3} (learning rate {}): the weights became NaN or infinite. \
                     Paused and restored the last finite weights; lower the learning rate and press Start.",
                    self.config.learning_rate
                ),
            });
            return;
        }
        // Every quarter epoch: the cheap quality monitors (a few ms on 1,000 + 1,000 images).
        let quarter = |samples: usize| (4 * samples) / n;
        if quarter(self.cursor) != quarter(self.cursor - rows) {
            let ratio = update_ratio(self.last_finite.weights_slice(), self.rbm.weights_slice());
            let data = self.monitor_data.get_or_insert_with(|| MonitorData::new(&self.dataset, 1000));
            let rbm = &self.rbm;
            let measured = on_pool(&self.pool, |threads| data.measure(rbm, position, ratio, threads));
            if let Some(point) = measured {
                self.outbox.event(Update::Monitors(point));
            }
        }
        if self.last_diagnostics.elapsed() >= Duration::from_millis(500) {
            self.last_diagnostics = Instant::now();
            let batch = &self.order[self.cursor - rows..self.cursor];
            self.mailboxes.diagnostics.put(Arc::new(self.diagnostics(batch, position)));
        }
        let (rbm, last_finite) = (&self.rbm, &mut self.last_finite);
        on_pool(&self.pool, |_| rbm.copy_into(last_finite));
        self.model_changed = true;
        self.outbox.push_loss(LossPoint { epoch: position, loss: stats.reconstruction_l1 });
        self.epoch_loss_sum += stats.reconstruction_l1 as f64;
        self.epoch_batches += 1;
        if self.cursor >= n {
            let mean_loss = self.epoch_loss_sum / self.epoch_batches.max(1) as f64;
            self.outbox.event(Update::EpochFinished { epoch: self.epoch, mean_loss });
            self.epoch += 1;
            self.cursor = 0;
            self.epoch_loss_sum = 0.0;
            self.epoch_batches = 0;
        }
    }

    /// Histograms of the parameters and of the last update, and p(h|v) for the last batch.
    fn diagnostics(&self, batch: &[u32], epoch: f64) -> Diagnostics {
        let (w, before) = (self.rbm.weights_slice(), self.last_finite.weights_slice());
        let update: Vec<f32> = w.iter().zip(before).map(|(a, b)| a - b).collect();
        let nv = self.rbm.n_visible();
        let rows = batch.len().min(64);
        let mut images = vec![0.0; rows * nv];
        for (row, &index) in images.chunks_exact_mut(nv).zip(batch) {
            self.dataset.train_image_f32(index as usize, row);
        }
        Diagnostics {
            epoch,
            weights: Histogram::of(w, 60),
            visible_bias: Histogram::of(self.rbm.visible_bias().as_slice().unwrap_or(&[]), 60),
            hidden_bias: Histogram::of(self.rbm.hidden_bias().as_slice().unwrap_or(&[]), 60),
            update: Histogram::of(&update, 60),
            update_ratio: update_ratio(before, w),
            hidden_probabilities: self.rbm.hidden_probabilities(&images, rows, Threads(1)),
            rows,
            n_hidden: self.rbm.n_hidden(),
        }
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
        let sampling = chains.sampling.unwrap_or(self.config.sampling);
        chains.sampler.step(&self.rbm, sampling, self.config.noise_std);
    }

    fn publish_if_due(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.last_publish) < self.publish_interval {
            return;
        }
        self.last_publish = now;
        let mut sent = self.outbox.flush();
        let progress = Progress {
            running: self.running || self.steps_requested > 0,
            epoch: self.epoch,
            batch_in_epoch: self.cursor.div_ceil(self.config.batch_size.max(1)),
            batches_per_epoch: self.dataset.train.count.div_ceil(self.config.batch_size.max(1)),
            samples_seen: self.samples_seen,
            samples_per_second: if self.running { self.throughput.rate } else { 0.0 },
            n_visible: self.rbm.n_visible(),
            n_hidden: self.rbm.n_hidden(),
            dataset: self.dataset.name.clone(),
            config: self.config.clone(),
            spec: self.spec.clone(),
            threads: self.threads,
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
            self.mailboxes.model.put(Arc::new(ModelSnapshot {
                n_visible: self.rbm.n_visible(),
                n_hidden: self.rbm.n_hidden(),
                image_rows: self.dataset.rows,
                image_cols: self.dataset.cols,
                weights: self.rbm.weights_slice().to_vec(),
                visible_bias: self.rbm.visible_bias().to_vec(),
                hidden_bias: self.rbm.hidden_bias().to_vec(),
                epoch_position: self.epoch_position(),
                version: self.snapshot_version,
            }));
            sent = true;
        }
        if self.chains.changed {
            self.chains.changed = false;
            let sampler = &self.chains.sampler;
            self.mailboxes.chains.put(Arc::new(ChainSnapshot {
                count: sampler.count(),
                image_rows: self.dataset.rows,
                image_cols: self.dataset.cols,
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
