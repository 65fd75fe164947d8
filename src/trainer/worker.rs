//! The trainer thread's loop: a [`TrainingRun`] driven by commands, with the display chains
//! (`chains.rs`), the outbox of updates (`outbox.rs`), the model and chain mailboxes, and the
//! quality monitors around it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::chains::DisplayChains;
use super::outbox::{Outbox, Throughput};
use super::run::{BatchOutcome, Continuation, TrainingRun};
use super::{Command, Diagnostics, Mailboxes, ModelSnapshot, Progress, TrainerError, TrainerOptions, Update};
use crate::data::Dataset;
use crate::io::{GaussianVisibles, ModelFile};
use crate::model::{ConfigError, MathPool, Threads, TrainingConfig};
use crate::quality::{Histogram, MonitorData, update_ratio};

/// Trainer options checked against the dataset they train on
/// ([`ModelSpec::validate_with`](crate::model::ModelSpec::validate_with)): the only way to make a
/// [`Worker`], which therefore never meets a model or settings it would have to refuse or replace.
pub(super) struct CheckedOptions {
    dataset: Arc<Dataset>,
    options: TrainerOptions,
}

impl CheckedOptions {
    pub(super) fn new(dataset: Arc<Dataset>, options: TrainerOptions) -> Result<Self, ConfigError> {
        options.spec.validate_with(&options.config, dataset.pixels_per_image())?;
        Ok(Self { dataset, options })
    }
}

pub(super) struct Worker {
    run: TrainingRun,
    running: bool,
    steps_requested: usize,
    model_changed: bool,
    snapshot_version: u64,
    chains: DisplayChains,
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
        checked: CheckedOptions,
        commands: Receiver<Command>,
        tx: Sender<Update>,
        mailboxes: Arc<Mailboxes>,
    ) -> Self {
        let CheckedOptions { dataset, options } = checked;
        let (spec, config) = (options.spec.clone(), options.config.clone());
        let run = TrainingRun::new(dataset, spec, config, MathPool::new(options.threads));
        let chains = DisplayChains::new(&options, &run);
        let now = Instant::now();
        Self {
            run,
            running: options.start_running,
            steps_requested: 0,
            model_changed: true,
            snapshot_version: 0,
            chains,
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
        }
    }

    pub(super) fn run(mut self) {
        loop {
            let training = self.running || self.steps_requested > 0;
            // Block only when idle: until the next chain step is due, or briefly to keep publishing.
            let wait = if training {
                Duration::ZERO
            } else {
                self.chains.time_to_next_step(self.publish_interval).unwrap_or(Duration::from_millis(250))
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
            self.chains.step_if_due(&self.run);
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
            Command::Reset(mut spec) => {
                if spec.label_classes > 0 {
                    // One label unit per class of the training set.
                    let labels = &self.run.dataset().train.labels;
                    spec.label_classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1);
                }
                match spec.validate_with(self.run.config(), self.run.dataset().pixels_per_image()) {
                    Ok(()) => {
                        self.run.reset(spec);
                        self.model_replaced(self.new_model_description(), None);
                    }
                    Err(e) => self.outbox.event(Update::Error(TrainerError::ResetRefused(e))),
                }
            }
            Command::SetConfig(config) => {
                let labelled = self.run.labels().is_some();
                let gaussian = self.run.gaussian().is_some();
                let checked =
                    config.validate_for(self.run.rbm().n_visible(), self.run.rbm().n_hidden()).and_then(|()| {
                        match labelled {
                            true => crate::model::labels::train::check_config(&config).map_err(ConfigError::Labels),
                            false => Ok(()),
                        }
                    });
                let checked = checked.and_then(|()| match gaussian {
                    true => {
                        crate::model::gaussian::check_config(&config).map_err(|e| ConfigError::Gaussian(e.to_string()))
                    }
                    false => Ok(()),
                });
                match checked {
                    Ok(()) => {
                        if self.run.set_config(config) {
                            self.outbox.event(Update::ConfigApplied {
                                epoch_position: self.run.epoch_position(),
                                config: self.run.config().clone(),
                            });
                        }
                    }
                    Err(e) => self.outbox.event(Update::Error(TrainerError::SettingsRefused(e))),
                }
            }
            Command::LoadModel(file) => self.load_model(*file),
            Command::SaveModel(path) => match crate::io::save_model(&path, &self.run.model_file()) {
                Ok(()) => self.outbox.event(Update::Saved(path)),
                Err(e) => self.outbox.event(Update::Error(TrainerError::SaveFailed { path, source: Arc::new(e) })),
            },
            Command::RequestModelFile => self.outbox.event(Update::ModelFile(Box::new(self.run.model_file()))),
            Command::SetDataset(dataset) => {
                if let Err(source) = self.run.spec().validate_with(self.run.config(), dataset.pixels_per_image()) {
                    self.outbox.event(Update::Error(TrainerError::DatasetRefused {
                        dataset: dataset.name.clone(),
                        current: self.run.dataset().name.clone(),
                        source,
                    }));
                    return;
                }
                self.monitor_data = None;
                if self.run.set_dataset(dataset) {
                    self.model_replaced(self.new_model_description(), None);
                } else {
                    self.chains.reset(&self.run);
                    self.model_changed = true;
                }
            }
            Command::Chains(chain_command) => self.chains.handle(chain_command, &self.run),
            Command::Shutdown => {}
        }
    }

    fn new_model_description(&self) -> String {
        let rbm = self.run.rbm();
        let labels = self.run.labels().map_or(String::new(), |l| format!(" with {} label units", l.classes()));
        let kind = if self.run.gaussian().is_some() { "Gaussian–Bernoulli " } else { "" };
        format!("new {}x{} {kind}model{labels}, seed {}", rbm.n_visible(), rbm.n_hidden(), self.run.spec().seed)
    }

    /// Common to Reset, Load and a dataset of another size: the history shown so far ends.
    fn model_replaced(&mut self, description: String, config_applied: Option<TrainingConfig>) {
        let epoch_position = self.run.epoch_position();
        // Losses of the old model would be plotted into the new history (events are sent before it).
        self.outbox.discard_losses();
        self.throughput = Throughput::default();
        self.model_changed = true;
        self.chains.reset(&self.run);
        self.outbox.event(Update::ModelReplaced { description, epoch_position });
        if let Some(config) = config_applied {
            self.outbox.event(Update::ConfigApplied { epoch_position, config });
        }
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
                if crate::data::is_thresholded_name(&dataset) {
                    description.push_str(
                        "; the window trains and evaluates it on the grey images (`rbm-lab eval --thresholded` \
                         measures it on the thresholded ones)",
                    );
                }
                self.model_replaced(description, Some(self.run.config().clone()));
            }
            Err(e) => self.outbox.event(Update::Error(TrainerError::LoadRefused(e))),
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
        // The monitors and diagnostics compute binary units' quantities: not shown for Gaussian ones.
        let binary = self.run.gaussian().is_none();
        if binary && quarter(report.span.end) != quarter(report.span.start) {
            let ratio = update_ratio(self.run.weights_before_batch(), self.run.rbm().weights_slice());
            let data = self.monitor_data.get_or_insert_with(|| MonitorData::new(self.run.dataset(), 1000));
            let rbm = self.run.rbm();
            let measured = self.run.pool().run(|threads| data.measure(rbm, position, ratio, threads));
            if let Some(point) = measured {
                self.outbox.event(Update::Monitors(point));
            }
        }
        if binary && self.last_diagnostics.elapsed() >= Duration::from_millis(500) {
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
            samples_per_second: if self.running { self.throughput.rate() } else { 0.0 },
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
                labels: self.run.labels().cloned(),
                gaussian_visibles: self.run.gaussian().map(|(model, standardisation)| GaussianVisibles {
                    log_variance: model.log_variance().to_vec(),
                    standardisation: standardisation.clone(),
                }),
                epoch_position: self.run.epoch_position(),
                version: self.snapshot_version,
            }));
            sent = true;
        }
        sent |= self.chains.publish_if_changed(&self.mailboxes, &self.run);
        if sent {
            self.outbox.wake();
        }
    }
}
