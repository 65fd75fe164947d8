//! Recording the current run: its progress reports (dataset, size, settings, position, training
//! time) and, when it ends, its curves thinned and its filters as a thumbnail.

use std::time::Instant;

use egui_plot::PlotPoint;

use super::{
    MAX_RUN_EPOCH_MEANS, MAX_RUN_EVALUATIONS, MAX_RUN_LOSS_POINTS, MAX_RUN_NAME_CHARS, MAX_RUNS, Run, RunEntry,
    RunHistory, RunLikelihood, RunSettings, THUMBNAIL_COLUMNS, THUMBNAIL_FILTERS, THUMBNAIL_TILE, Thumbnail,
};
use crate::app::loss_plot::LossHistory;
use crate::app::session::Bounded;
use crate::decimate::merge_pairs;
use crate::model::{ModelSpec, TrainingConfig};
use crate::quality::Evaluation;
use crate::trainer::{ModelSnapshot, Progress};

impl RunHistory {
    /// The current run's progress: its dataset, size, settings, position and training time.
    /// Whether the dataset changed under a run that has trained, which ends that run (the app
    /// then calls [`Self::start_new`]).
    pub fn observe(&mut self, progress: &Progress, now: Instant) -> bool {
        let dataset: String = progress.dataset.chars().take(MAX_RUN_NAME_CHARS).collect();
        let run_dataset = &self.current.run.dataset;
        if !run_dataset.is_empty() && *run_dataset != dataset && self.has_trained() {
            return true;
        }
        let run = &mut self.current.run;
        if let Some((at, true)) = self.last_report {
            run.training_seconds += now.saturating_duration_since(at).as_secs_f64();
        }
        self.last_report = Some((now, progress.running));
        if !std::mem::replace(&mut self.started, true) {
            run.samples_at_start = progress.samples_seen;
            run.first = RunSettings { spec: progress.spec.clone(), config: progress.config.clone() };
        }
        run.dataset = dataset;
        run.n_visible = progress.n_visible;
        run.n_hidden = progress.n_hidden;
        run.last = RunSettings { spec: progress.spec.clone(), config: progress.config.clone() };
        run.epochs = progress.epoch_position();
        run.samples_seen = progress.samples_seen;
        false
    }

    /// Whether the current run's model has trained since the run began.
    pub fn has_trained(&self) -> bool {
        self.started && self.current.run.samples_seen > self.current.run.samples_at_start
    }

    /// The current run with its curves as the plots hold them now, and its filters' thumbnail.
    pub fn current_run(&self, loss: &LossHistory, evaluations: &[Evaluation], snapshot: Option<&ModelSnapshot>) -> Run {
        let mut run = self.current.run.clone();
        run.loss = Bounded(thinned(loss.batch_points(), MAX_RUN_LOSS_POINTS));
        run.epoch_means = Bounded(thinned(loss.epoch_means(), MAX_RUN_EPOCH_MEANS));
        run.likelihood = Bounded(likelihood_points(evaluations));
        run.thumbnail = snapshot.and_then(thumbnail);
        run
    }

    /// Ends the current run (kept if it trained, with its curves as they are now) and starts a new
    /// one with `spec` and `config` (its dataset and the rest come with the next progress report).
    /// Returns the name of an earlier run dropped to stay within [`MAX_RUNS`].
    pub fn start_new(
        &mut self,
        loss: &LossHistory,
        evaluations: &[Evaluation],
        snapshot: Option<&ModelSnapshot>,
        spec: ModelSpec,
        config: TrainingConfig,
    ) -> Option<String> {
        let mut dropped = None;
        let trained = self.has_trained();
        // A run that never trained is not kept: the new one takes its place and its name.
        let name = if trained { format!("Run {}", self.next_number()) } else { self.current.run.name.clone() };
        if trained {
            let run = self.current_run(loss, evaluations, snapshot);
            if self.earlier.len() + 1 >= MAX_RUNS {
                dropped = Some(self.earlier.remove(0).run.name);
            }
            self.earlier.push(RunEntry { id: self.current.id, run, selected: false });
        }
        self.current = RunEntry { id: self.take_id(), run: Run::starting(name, spec, config), selected: false };
        self.started = false;
        self.last_report = None;
        self.generation += 1;
        dropped
    }
}

/// The first [`THUMBNAIL_FILTERS`] filters, each with its own contrast (as the filter view's
/// default), box-averaged down to tiles of at most [`THUMBNAIL_TILE`] pixels a side.
pub fn thumbnail(snapshot: &ModelSnapshot) -> Option<Thumbnail> {
    let (rows, cols, n_hidden) = (snapshot.image_rows, snapshot.image_cols, snapshot.n_hidden);
    if rows == 0 || cols == 0 || n_hidden == 0 || snapshot.weights.len() < rows * cols * n_hidden {
        return None;
    }
    let factor = rows.max(cols).div_ceil(THUMBNAIL_TILE);
    let (tile_h, tile_w) = (rows.div_ceil(factor), cols.div_ceil(factor));
    let units = n_hidden.min(THUMBNAIL_FILTERS);
    let columns = units.min(THUMBNAIL_COLUMNS);
    let layout = crate::images::GridLayout::with_columns(units, columns, tile_w, tile_h);
    let (width, height) = (layout.width(), layout.height());
    let mut pixels = vec![40u8; width * height];
    let weight = |pixel: usize, unit: usize| snapshot.weights[pixel * n_hidden + unit];
    let mut block = vec![0.0f32; tile_w * tile_h];
    for unit in 0..units {
        block.iter_mut().for_each(|b| *b = 0.0);
        let mut counts = vec![0u32; tile_w * tile_h];
        for r in 0..rows {
            for c in 0..cols {
                let cell = (r / factor) * tile_w + c / factor;
                block[cell] += weight(r * cols + c, unit);
                counts[cell] += 1;
            }
        }
        block.iter_mut().zip(&counts).for_each(|(b, &n)| *b /= n.max(1) as f32);
        let (lo, hi) = block.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &b| (lo.min(b), hi.max(b)));
        let scale = 255.0 / (hi - lo).max(1e-12);
        let (x0, y0) = layout.origin(unit);
        for ty in 0..tile_h {
            for tx in 0..tile_w {
                let value = ((block[ty * tile_w + tx] - lo) * scale).clamp(0.0, 255.0);
                pixels[(y0 + ty) * width + x0 + tx] = if value.is_finite() { value as u8 } else { 0 };
            }
        }
    }
    Some(Thumbnail { width, height, pixels })
}

/// `points` as [x, y] pairs, non-finite ones left out, merged pairwise until at most `limit`.
pub(super) fn thinned(points: &[PlotPoint], limit: usize) -> Vec<[f64; 2]> {
    let mut pairs: Vec<[f64; 2]> =
        points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()).map(|p| [p.x, p.y]).collect();
    while pairs.len() > limit {
        pairs = merge_pairs(&pairs, |pair| {
            let n = pair.len() as f64;
            [pair.iter().map(|p| p[0]).sum::<f64>() / n, pair.iter().map(|p| p[1]).sum::<f64>() / n]
        });
    }
    pairs
}

/// The newest finite evaluations as a run's log-likelihood points.
pub(super) fn likelihood_points(evaluations: &[Evaluation]) -> Vec<RunLikelihood> {
    let points: Vec<RunLikelihood> = evaluations
        .iter()
        .map(|e| RunLikelihood { epoch: e.epoch, test: e.test_log_likelihood, train: e.train_log_likelihood })
        .filter(|l| l.epoch.is_finite() && l.test.is_finite() && l.train.is_finite())
        .collect();
    points[points.len().saturating_sub(MAX_RUN_EVALUATIONS)..].to_vec()
}
