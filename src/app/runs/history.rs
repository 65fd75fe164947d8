//! [`RunHistory`]: the earlier runs and the current one, each keyed by a number that gives its
//! colour; renaming, deleting, showing and selecting them, and the shown runs' plot overlays.
//! Recording the current run from the trainer's progress is in `recording`, runs from files and
//! sessions in `kept`.

use std::time::Instant;

use egui::Color32;
use egui_plot::PlotPoint;

use super::{MAX_RUN_NAME_CHARS, Run};
use crate::model::{ModelSpec, TrainingConfig};

/// A run in the history: the run, the number that keys its colour and thumbnail, and whether it
/// is selected for export.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEntry {
    pub id: u64,
    pub run: Run,
    pub selected: bool,
}

/// A line a plot overlays for a shown run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSeries {
    pub name: String,
    pub color: Color32,
    pub points: Vec<PlotPoint>,
    /// The run's model has Gaussian visibles: its log-likelihood points are log densities.
    pub density: bool,
}

/// The colour of the run keyed `id`: egui_plot's automatic hues from the fourth on (the loss
/// plot's own lines take the first three), so neighbouring runs differ by the golden angle.
pub fn run_color(id: u64) -> Color32 {
    let hue = ((id + 3) as f32 * (std::f32::consts::GOLDEN_RATIO - 1.0)).fract();
    egui::ecolor::Hsva::new(hue, 0.85, 0.75, 1.0).into()
}

/// The earlier runs and the current one.
pub struct RunHistory {
    pub(super) earlier: Vec<RunEntry>,
    pub(super) current: RunEntry,
    /// The current run has had its first progress report (which gives its starting point).
    pub(super) started: bool,
    /// When the last progress report came, and whether training ran then.
    pub(super) last_report: Option<(Instant, bool)>,
    pub(super) next_id: u64,
    /// Counts changes that the plots' overlays follow.
    pub(super) generation: u64,
}

impl Default for RunHistory {
    fn default() -> Self {
        Self::new(ModelSpec::default(), TrainingConfig::default())
    }
}

impl RunHistory {
    /// The first run, with the settings the window starts with.
    pub fn new(spec: ModelSpec, config: TrainingConfig) -> Self {
        let current = RunEntry { id: 0, run: Run::starting("Run 1".into(), spec, config), selected: false };
        Self { earlier: Vec::new(), current, started: false, last_report: None, next_id: 1, generation: 0 }
    }

    pub fn earlier(&self) -> &[RunEntry] {
        &self.earlier
    }
    pub fn current(&self) -> &RunEntry {
        &self.current
    }
    /// Changes since the start; the plots rebuild their overlays when it moves.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// All runs, the earlier ones first and the current one last.
    pub fn all(&self) -> impl Iterator<Item = &RunEntry> {
        self.earlier.iter().chain(std::iter::once(&self.current))
    }

    /// Renames the run keyed `id` (the current one too); the name is cut to [`MAX_RUN_NAME_CHARS`].
    pub fn rename(&mut self, id: u64, name: &str) {
        let name: String = name.chars().take(MAX_RUN_NAME_CHARS).collect();
        if let Some(entry) = self.entry_mut(id) {
            entry.run.name = name;
            self.generation += 1;
        }
    }

    /// Deletes the earlier run keyed `id`; the current run is never deleted. Whether one was.
    pub fn delete(&mut self, id: u64) -> bool {
        let before = self.earlier.len();
        self.earlier.retain(|e| e.id != id);
        let deleted = self.earlier.len() != before;
        self.generation += u64::from(deleted);
        deleted
    }

    /// Shows or hides the run keyed `id` on the plots.
    pub fn set_shown(&mut self, id: u64, shown: bool) {
        if let Some(entry) = self.entry_mut(id) {
            entry.run.shown = shown;
            self.generation += 1;
        }
    }

    pub fn set_selected(&mut self, id: u64, selected: bool) {
        if let Some(entry) = self.entry_mut(id) {
            entry.selected = selected;
        }
    }

    pub(super) fn entry_mut(&mut self, id: u64) -> Option<&mut RunEntry> {
        self.earlier.iter_mut().chain(std::iter::once(&mut self.current)).find(|e| e.id == id)
    }

    pub(super) fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    /// The smallest "Run N" number above every run named so.
    pub(super) fn next_number(&self) -> u64 {
        let numbered = self.all().filter_map(|e| e.run.name.strip_prefix("Run ")?.trim().parse::<u64>().ok());
        numbered.max().unwrap_or(0) + 1
    }

    /// The shown earlier runs' loss curves, each in its run's colour and named after it.
    pub fn loss_overlays(&self) -> Vec<RunSeries> {
        self.shown_series(|run| run.loss.0.iter().map(|&[x, y]| PlotPoint::new(x, y)).collect())
    }

    /// The shown earlier runs' test log-likelihoods.
    pub fn likelihood_overlays(&self) -> Vec<RunSeries> {
        self.shown_series(|run| run.likelihood.0.iter().map(|l| PlotPoint::new(l.epoch, l.test)).collect())
    }

    fn shown_series(&self, points: impl Fn(&Run) -> Vec<PlotPoint>) -> Vec<RunSeries> {
        self.earlier
            .iter()
            .filter(|e| e.run.shown)
            .map(|e| RunSeries {
                name: e.run.name.clone(),
                color: run_color(e.id),
                points: points(&e.run),
                density: e.run.first.spec.visible == crate::model::VisibleType::Gaussian,
            })
            .collect()
    }
}
