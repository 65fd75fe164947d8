//! The Inpaint tab's stepping thread: it owns a copy of the model and one [`CompletionSampler`]
//! per dynamics (clamped Gibbs, mean-field, free) started from the same picture, steps them at the
//! rate asked for, and leaves the latest frame in a single-slot mailbox. The window only sends
//! [`RunnerCommand`]s and takes frames: nothing it does waits for a step, and nothing here touches
//! the trainer.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::model::Rbm;
use crate::model::inpaint::{
    CompletionConfig, CompletionMode, CompletionSampler, Mask, StartFill, TopHiddenUnits, UnitRanking, top_hidden_units,
};
use crate::model::linalg::Threads;
use crate::trainer::{Latest, ModelSnapshot, Waker};

/// The dynamics shown side by side, in this order.
pub const MODES: [CompletionMode; 3] = [CompletionMode::ClampedGibbs, CompletionMode::MeanField, CompletionMode::Free];

/// The fastest animation: beyond this a person sees nothing more, and the thread would take a
/// core from training.
pub const MAX_STEPS_PER_SECOND: f32 = 200.0;

/// Steps made at once for one Step press, at most.
pub const MAX_STEPS_AT_ONCE: u32 = 1000;

/// Points kept per curve; older ones are dropped (the plots show the recent steps).
pub const MAX_HISTORY: usize = 2000;

/// Frames published per second while running, at most: more than the eye needs, few enough that
/// copying the curves stays cheap.
const MAX_FRAMES_PER_SECOND: f64 = 30.0;

/// The most units the "why" panel asks for.
pub const MAX_TOP_UNITS: usize = 64;

/// What to complete: the canvas at the time it was sent.
#[derive(Clone, Debug)]
pub struct StartRequest {
    /// Which canvas version this is; frames carry it back.
    pub id: u64,
    pub image: Vec<f32>,
    pub mask: Mask,
    pub original: Option<Vec<f32>>,
    pub fill: StartFill,
    pub seed: u64,
}

/// What the window asks of the thread.
pub enum RunnerCommand {
    /// A newer copy of the model: the chains go on from where they are when its shape is the
    /// same, and start over otherwise.
    Model(Arc<ModelSnapshot>),
    /// A new picture: the chains start over from it.
    Start(Box<StartRequest>),
    /// Make this many steps now (and pause).
    Step(u32),
    /// Step continuously at this many steps per second.
    Run(f32),
    Pause,
    /// Back to the start picture.
    Restart,
    /// The chain whose units "why" shows (an index into [`MODES`]) and how many.
    Why {
        chain: usize,
        k: usize,
    },
}

/// One chain as it is now, and its curves.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainFrame {
    pub mode: CompletionMode,
    /// The sampler's state: Bernoulli samples at the resampled pixels (μ for mean-field).
    pub state: Vec<f32>,
    /// The completion: the running average of p(v|h) (μ for mean-field).
    pub estimate: Vec<f32>,
    /// (step, mean F(v)) per step.
    pub free_energy: Vec<[f64; 2]>,
    /// (step, mean |completion − original| over the hidden pixels) per step, with an original.
    pub error: Vec<[f64; 2]>,
    /// Mean-field only: at a fixed point within its tolerance.
    pub converged: bool,
}

/// What the window shows: the latest state of every chain.
#[derive(Clone, Debug, PartialEq)]
pub struct InpaintFrame {
    /// The picture's [`StartRequest::id`].
    pub start_id: u64,
    /// The model's [`ModelSnapshot::version`] and epoch.
    pub model_version: u64,
    pub model_epoch: f64,
    pub steps: u64,
    pub running: bool,
    pub chains: Vec<ChainFrame>,
    /// The most active hidden units of the chosen chain's state, and which chain that is.
    pub why: Option<(usize, TopHiddenUnits)>,
}

/// What the thread says when it cannot complete.
#[derive(Clone, Debug, PartialEq)]
pub enum RunnerReport {
    Frame(Arc<InpaintFrame>),
    /// A one-line reason (a model that does not fit the picture, say).
    Problem(String),
}

/// The window's end of the stepping thread. Dropping it ends the thread.
pub struct Runner {
    commands: Sender<RunnerCommand>,
    latest: Arc<Latest<RunnerReport>>,
    _thread: JoinHandle<()>,
}

impl Runner {
    /// Starts the thread; `waker` is called after each frame (the window's repaint).
    pub fn spawn(waker: Option<Waker>) -> std::io::Result<Self> {
        let (commands, receiver) = crossbeam_channel::unbounded();
        let latest = Arc::new(Latest::default());
        let mailbox = latest.clone();
        let thread = std::thread::Builder::new()
            .name("rbm-lab-inpaint".into())
            .spawn(move || Stepper::new(mailbox, waker).run(&receiver))?;
        Ok(Self { commands, latest, _thread: thread })
    }

    pub fn send(&self, command: RunnerCommand) {
        // A thread that has ended has nothing more to show; the view says so when no frame comes.
        let _ = self.commands.send(command);
    }

    /// The newest report since the last call.
    pub fn take(&self) -> Option<RunnerReport> {
        self.latest.take()
    }
}

/// (step, value) points.
type Curve = Vec<[f64; 2]>;

/// The thread's state.
struct Stepper {
    mailbox: Arc<Latest<RunnerReport>>,
    waker: Option<Waker>,
    model: Option<(Rbm, u64, f64)>,
    start: Option<StartRequest>,
    samplers: Vec<CompletionSampler>,
    /// Per chain: (step, F) and (step, error) points.
    curves: Vec<(Curve, Curve)>,
    rate: Option<f32>,
    why: (usize, usize),
}

impl Stepper {
    fn new(mailbox: Arc<Latest<RunnerReport>>, waker: Option<Waker>) -> Self {
        Self {
            mailbox,
            waker,
            model: None,
            start: None,
            samplers: Vec::new(),
            curves: Vec::new(),
            rate: None,
            why: (0, 8),
        }
    }

    fn run(mut self, commands: &Receiver<RunnerCommand>) {
        let mut next_step = Instant::now();
        let mut last_publish = Instant::now();
        loop {
            let command = match self.rate {
                Some(_) if !self.samplers.is_empty() => {
                    match commands.recv_timeout(next_step.saturating_duration_since(Instant::now())) {
                        Ok(command) => Some(command),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                _ => match commands.recv() {
                    Ok(command) => Some(command),
                    Err(_) => return,
                },
            };
            if let Some(command) = command {
                let was_running = self.rate.is_some();
                self.handle(command);
                if self.rate.is_some() && !was_running {
                    next_step = Instant::now();
                }
                self.publish();
                last_publish = Instant::now();
                continue;
            }
            let Some(rate) = self.rate else { continue };
            let interval = Duration::from_secs_f64(1.0 / f64::from(rate.clamp(0.1, MAX_STEPS_PER_SECOND)));
            // Steps that fell due, a bounded number at once so that commands are never kept waiting.
            let now = Instant::now();
            let mut due = 0u32;
            while next_step <= now && due < 20 {
                next_step += interval;
                due += 1;
            }
            if next_step <= now {
                // Far behind (the machine is busy): carry on from now rather than catch up.
                next_step = now + interval;
            }
            for _ in 0..due {
                self.step();
            }
            if last_publish.elapsed().as_secs_f64() >= 1.0 / MAX_FRAMES_PER_SECOND {
                self.publish();
                last_publish = Instant::now();
            }
        }
    }

    fn handle(&mut self, command: RunnerCommand) {
        match command {
            RunnerCommand::Model(snapshot) => self.set_model(&snapshot),
            RunnerCommand::Start(request) => {
                self.start = Some(*request);
                self.build();
            }
            RunnerCommand::Step(n) => {
                self.rate = None;
                for _ in 0..n.min(MAX_STEPS_AT_ONCE) {
                    self.step();
                }
            }
            RunnerCommand::Run(rate) => self.rate = Some(rate.clamp(0.1, MAX_STEPS_PER_SECOND)),
            RunnerCommand::Pause => self.rate = None,
            RunnerCommand::Restart => {
                self.samplers.iter_mut().for_each(CompletionSampler::restart);
                self.clear_curves();
            }
            RunnerCommand::Why { chain, k } => self.why = (chain.min(MODES.len() - 1), k.clamp(1, MAX_TOP_UNITS)),
        }
    }

    fn set_model(&mut self, snapshot: &ModelSnapshot) {
        let rbm = match snapshot.rbm() {
            Ok(rbm) => rbm,
            Err(e) => return self.problem(format!("The model's weights cannot be used: {e}")),
        };
        let same_shape =
            self.samplers.iter().all(|s| s.n_visible() == rbm.n_visible() && s.n_hidden() == rbm.n_hidden());
        if same_shape && !self.samplers.is_empty() {
            for sampler in &mut self.samplers {
                if let Err(e) = sampler.set_model(&rbm) {
                    return self.problem(format!("The model cannot be used: {e}"));
                }
            }
            self.model = Some((rbm, snapshot.version, snapshot.epoch_position));
        } else {
            self.model = Some((rbm, snapshot.version, snapshot.epoch_position));
            self.build();
        }
    }

    /// New samplers for the start picture and the model, when both are there and fit.
    fn build(&mut self) {
        self.samplers.clear();
        self.clear_curves();
        let (Some((rbm, ..)), Some(start)) = (&self.model, &self.start) else { return };
        if rbm.n_visible() != start.image.len() {
            let message = format!(
                "The model has {} visible units but the images have {} pixels: train or load a model for this dataset",
                rbm.n_visible(),
                start.image.len()
            );
            return self.problem(message);
        }
        let mut samplers = Vec::with_capacity(MODES.len());
        for mode in MODES {
            let config =
                CompletionConfig { mode, seed: start.seed, fill: start.fill.clone(), ..CompletionConfig::default() };
            let sampler =
                CompletionSampler::new(rbm, start.image.clone(), vec![start.mask.clone()], config).and_then(|s| {
                    match &start.original {
                        Some(original) => s.with_originals(original.clone()),
                        None => Ok(s),
                    }
                });
            match sampler {
                Ok(sampler) => samplers.push(sampler),
                Err(e) => return self.problem(format!("Cannot complete this picture: {e}")),
            }
        }
        self.samplers = samplers;
        self.clear_curves();
    }

    fn clear_curves(&mut self) {
        self.curves = vec![(Vec::new(), Vec::new()); self.samplers.len()];
        self.record();
    }

    fn step(&mut self) {
        for sampler in &mut self.samplers {
            sampler.step(Threads(1));
        }
        self.record();
    }

    /// The curves' points of the current step.
    fn record(&mut self) {
        for (sampler, (free_energy, error)) in self.samplers.iter().zip(&mut self.curves) {
            let stats = sampler.stats();
            let step = stats.step as f64;
            push_bounded(free_energy, [step, stats.mean_free_energy()]);
            if let Some(e) = stats.mean_estimate_error() {
                push_bounded(error, [step, e]);
            }
        }
    }

    fn problem(&mut self, message: String) {
        self.samplers.clear();
        self.rate = None;
        self.mailbox.put(RunnerReport::Problem(message));
        self.wake();
    }

    fn wake(&self) {
        if let Some(waker) = &self.waker {
            waker();
        }
    }

    fn publish(&mut self) {
        let (Some((_, version, epoch)), Some(start)) = (&self.model, &self.start) else { return };
        if self.samplers.is_empty() {
            return;
        }
        let chains: Vec<ChainFrame> = self
            .samplers
            .iter()
            .zip(&self.curves)
            .map(|(s, (free_energy, error))| ChainFrame {
                mode: s.config().mode,
                state: s.state().to_vec(),
                estimate: s.estimate().to_vec(),
                free_energy: free_energy.clone(),
                error: error.clone(),
                converged: s.converged(),
            })
            .collect();
        let (chain, k) = self.why;
        let why = self
            .samplers
            .get(chain)
            .and_then(|s| top_hidden_units(s.model(), s.state(), k, UnitRanking::Probability).ok())
            .map(|units| (chain, units));
        let frame = InpaintFrame {
            start_id: start.id,
            model_version: *version,
            model_epoch: *epoch,
            steps: self.samplers.first().map_or(0, CompletionSampler::steps),
            running: self.rate.is_some(),
            chains,
            why,
        };
        self.mailbox.put(RunnerReport::Frame(Arc::new(frame)));
        self.wake();
    }
}

fn push_bounded(curve: &mut Curve, point: [f64; 2]) {
    if curve.len() >= MAX_HISTORY {
        curve.drain(..MAX_HISTORY / 4);
    }
    curve.push(point);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(nv: usize, nh: usize, version: u64) -> Arc<ModelSnapshot> {
        Arc::new(ModelSnapshot {
            n_visible: nv,
            n_hidden: nh,
            image_rows: 1,
            image_cols: nv,
            weights: (0..nv * nh).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.3).collect(),
            visible_bias: vec![0.0; nv],
            hidden_bias: vec![0.0; nh],
            epoch_position: 1.0,
            version,
            labels: None,
            gaussian_visibles: None,
        })
    }

    fn next_frame(runner: &Runner) -> Result<Arc<InpaintFrame>, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match runner.take() {
                Some(RunnerReport::Frame(frame)) => return Ok(frame),
                Some(RunnerReport::Problem(message)) => return Err(message),
                None if Instant::now() > deadline => return Err("no frame".into()),
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    fn start(nv: usize) -> Box<StartRequest> {
        let mut mask = Mask::all_known(nv);
        (nv / 2..nv).for_each(|i| mask.set_hidden(i, true));
        Box::new(StartRequest {
            id: 5,
            image: vec![1.0; nv],
            mask,
            original: Some(vec![1.0; nv]),
            fill: StartFill::Constant(0.5),
            seed: 1,
        })
    }

    #[test]
    fn steps_leave_the_known_pixels_of_the_clamped_chains_and_move_the_free_one() {
        let runner = Runner::spawn(None).unwrap();
        runner.send(RunnerCommand::Model(snapshot(12, 6, 3)));
        runner.send(RunnerCommand::Start(start(12)));
        runner.send(RunnerCommand::Step(40));
        let mut frame = next_frame(&runner).unwrap();
        while frame.steps < 40 {
            frame = next_frame(&runner).unwrap();
        }
        assert_eq!((frame.start_id, frame.model_version), (5, 3));
        assert_eq!(frame.chains.len(), 3);
        for chain in &frame.chains[..2] {
            assert!(chain.state[..6].iter().all(|&x| x == 1.0), "{:?}: known pixels clamped", chain.mode);
            assert_eq!(chain.free_energy.len(), 41, "one point at the start and one per step");
            assert_eq!(chain.error.len(), 41);
        }
        assert!(frame.chains[2].state[..6].iter().any(|&x| x != 1.0), "the free chain resamples every pixel");
        assert!(frame.why.is_some());
    }

    #[test]
    fn a_model_of_another_size_is_a_problem_not_a_panic() {
        let runner = Runner::spawn(None).unwrap();
        runner.send(RunnerCommand::Model(snapshot(10, 4, 1)));
        runner.send(RunnerCommand::Start(start(12)));
        let message = next_frame(&runner).unwrap_err();
        assert!(message.contains("10 visible units"), "{message}");
    }

    #[test]
    fn running_steps_on_its_own_until_paused() {
        let runner = Runner::spawn(None).unwrap();
        runner.send(RunnerCommand::Model(snapshot(12, 6, 1)));
        runner.send(RunnerCommand::Start(start(12)));
        runner.send(RunnerCommand::Run(MAX_STEPS_PER_SECOND));
        let mut frame = next_frame(&runner).unwrap();
        while frame.steps < 5 {
            frame = next_frame(&runner).unwrap();
        }
        runner.send(RunnerCommand::Pause);
        let mut paused = next_frame(&runner).unwrap();
        while paused.running {
            paused = next_frame(&runner).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(runner.take().is_none(), "no steps while paused");
        runner.send(RunnerCommand::Restart);
        let restarted = next_frame(&runner).unwrap();
        assert_eq!(restarted.steps, 0);
    }
}
