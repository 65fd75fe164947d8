//! Runs from outside the window: imported from a runs file (all or none, each checked), and kept
//! with a session and restored from it.

use serde::{Deserialize, Serialize};

use super::{MAX_RUNS, Run, RunEntry, RunError, RunHistory};
use crate::app::session::Bounded;

/// The runs as they are kept in a session: the earlier runs, and the current one without its
/// curves (those are the session's loss plot and evaluations).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeptRuns {
    pub earlier: Bounded<Run, MAX_RUNS>,
    pub current: Option<Run>,
}

impl KeptRuns {
    pub fn check(&self) -> Result<(), RunError> {
        let count = self.earlier.0.len() + 1;
        if count > MAX_RUNS {
            return Err(RunError::TooMany { count });
        }
        self.earlier.0.iter().chain(&self.current).enumerate().try_for_each(|(i, run)| run.check(i + 1))
    }
}

impl RunHistory {
    /// Adds runs read from a file as earlier runs, all or none: each is checked, and together
    /// with the runs kept they must stay within [`MAX_RUNS`].
    pub fn import(&mut self, runs: Vec<Run>) -> Result<usize, RunError> {
        let count = self.earlier.len() + 1 + runs.len();
        if count > MAX_RUNS {
            return Err(RunError::TooMany { count });
        }
        runs.iter().enumerate().try_for_each(|(i, run)| run.check(i + 1))?;
        let imported = runs.len();
        for run in runs {
            let id = self.take_id();
            self.earlier.push(RunEntry { id, run, selected: false });
        }
        self.generation += 1;
        Ok(imported)
    }

    /// Whether the trainer has reported on the current run (its dataset and sizes are known).
    pub fn current_is_known(&self) -> bool {
        self.current.run.n_visible > 0
    }

    /// The runs for a session: the earlier runs whole, the current one without its curves (once
    /// the trainer has reported on it).
    pub fn kept(&self) -> KeptRuns {
        KeptRuns {
            earlier: Bounded(self.earlier.iter().map(|e| e.run.clone()).collect()),
            current: self.current_is_known().then(|| self.current.run.clone()),
        }
    }

    /// The runs of a continued session; the current run carries on with its name, settings at the
    /// start and training time. Runs that fail their checks were refused when the session was read.
    pub fn restore(&mut self, kept: &KeptRuns) {
        self.earlier.clear();
        for run in &kept.earlier.0 {
            let id = self.take_id();
            self.earlier.push(RunEntry { id, run: run.clone(), selected: false });
        }
        if let Some(current) = &kept.current {
            let id = self.take_id();
            let mut run = current.clone();
            (run.loss, run.epoch_means, run.likelihood, run.thumbnail) = Default::default();
            self.current = RunEntry { id, run, selected: false };
            self.started = true;
            self.last_report = None;
        }
        self.generation += 1;
    }
}
