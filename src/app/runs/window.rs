//! The runs in the window: a new run at each model replacement and dataset change, the plots'
//! overlays following the runs, the Runs window's exports and imports through the file jobs.

use std::path::Path;
use std::time::Instant;

use super::Run;
use super::view::RunsAction;
use crate::app::RbmLabApp;
use crate::app::files::{FileRequest, RunsExport};
use crate::trainer::Progress;

impl RbmLabApp {
    /// A progress report: the current run follows it, and a dataset switch under a run that has
    /// trained ends that run (a switch to images of another size ends it through the model's
    /// replacement first).
    pub(in crate::app) fn runs_progress(&mut self, progress: &Progress) {
        if self.runs.observe(progress, Instant::now()) {
            self.start_new_run();
            // The plots start the new run's curves, as after a Reset.
            self.clear_run_plots();
            self.runs.observe(progress, Instant::now());
        }
    }

    /// The trainer replaced the model (Reset, Load, a dataset of another size): the current run
    /// ends with the curves the plots still hold.
    pub(in crate::app) fn runs_model_replaced(&mut self) {
        self.start_new_run();
    }

    fn start_new_run(&mut self) {
        let snapshot = self.filters.snapshot().map(|s| &**s);
        let (spec, config) = (self.controls.spec.clone(), self.controls.config.clone());
        let dropped = self.runs.start_new(&self.loss.history, &self.quality.evaluations, snapshot, spec, config);
        if let Some(name) = dropped {
            self.say(format!("{name} was dropped: at most {} runs are kept", super::MAX_RUNS), false);
        }
    }

    /// Once a frame, before the plots: their overlays follow the shown runs.
    pub(in crate::app) fn runs_overlays(&mut self) {
        let generation = self.runs.generation();
        if self.runs_window.synced == Some(generation) {
            return;
        }
        self.runs_window.synced = Some(generation);
        self.loss.overlays = self.runs.loss_overlays();
        self.quality.run_overlays = self.runs.likelihood_overlays();
    }

    /// The Runs window, while open, and what it asks for.
    pub(in crate::app) fn runs_ui(&mut self, ui: &mut egui::Ui) {
        if !self.runs_window.open {
            return;
        }
        self.runs_window.follow_current(self.filters.snapshot().map(|s| &**s));
        let ctx = ui.ctx().clone();
        let Some(action) = self.runs_window.ui(&ctx, &mut self.runs) else { return };
        match action {
            RunsAction::ExportJson => {
                self.files.start(&ctx, FileRequest::ExportRuns(RunsExport::Json(self.selected_runs())))
            }
            RunsAction::ExportCsv => {
                self.files.start(&ctx, FileRequest::ExportRuns(RunsExport::Csv(self.selected_runs())))
            }
            RunsAction::Import => self.files.start(&ctx, FileRequest::ImportRuns),
        }
    }

    /// The runs ticked "select", the current one with its curves as they are now.
    pub fn selected_runs(&self) -> Vec<Run> {
        let snapshot = self.filters.snapshot().map(|s| &**s);
        let current = self.runs.current();
        let mut runs: Vec<Run> = self.runs.earlier().iter().filter(|e| e.selected).map(|e| e.run.clone()).collect();
        if current.selected && self.runs.current_is_known() {
            runs.push(self.runs.current_run(&self.loss.history, &self.quality.evaluations, snapshot));
        }
        runs
    }

    /// A runs file was read: its runs join the table, all or none.
    pub(in crate::app) fn runs_imported(&mut self, runs: Vec<Run>, path: &Path) {
        match self.runs.import(runs) {
            Ok(count) => self.say(format!("Imported {count} runs from {}", path.display()), false),
            Err(e) => self.say(format!("Could not import {}: {e}; no run was added", path.display()), true),
        }
    }
}
