//! A job of the Quality tab (an evaluation, a probe) with its progress and status line: started,
//! polled, shown and cancelled the same way whatever it computes.

use crate::quality::{Job, JobEvent};

/// A job of the tab while it runs, the fraction it has done, and the line that says how it went.
pub(super) struct JobSlot<T> {
    pub job: Option<Job<T>>,
    pub progress: f64,
    pub status: Option<String>,
    /// What the work is called in the status line, in lower case ("evaluation", "probe").
    what: &'static str,
}

impl<T: Send + 'static> JobSlot<T> {
    pub fn new(what: &'static str) -> Self {
        Self { job: None, progress: 0.0, status: None, what }
    }

    /// Takes a job that was just started (saying `status` while it runs), or says why it could not.
    pub fn start(&mut self, started: std::io::Result<Job<T>>, status: String) {
        match started {
            Ok(job) => {
                self.job = Some(job);
                self.progress = 0.0;
                self.status = Some(status);
            }
            Err(e) => self.status = Some(format!("Cannot start the {} thread: {e}", self.what)),
        }
    }

    /// Takes in the job's events: its result once it is done. A failed or cancelled job ends with
    /// a status that says so, and no result.
    pub fn poll(&mut self) -> Option<T> {
        let job = self.job.as_mut()?;
        let (mut result, mut finished) = (None, false);
        for event in job.poll() {
            match event {
                JobEvent::Progress(p) => self.progress = p,
                JobEvent::Done(value) => {
                    result = Some(value);
                    finished = true;
                }
                JobEvent::Failed(message) => {
                    self.status = Some(format!("{} failed: {message}", self.capitalised()));
                    finished = true;
                }
                JobEvent::Cancelled => {
                    self.status = Some(format!("{} cancelled", self.capitalised()));
                    finished = true;
                }
            }
        }
        if finished {
            self.job = None;
        }
        result
    }

    /// Forgets the job (it is cancelled and left to stop on its own) and the status.
    pub fn clear(&mut self) {
        self.job = None;
        self.status = None;
    }

    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// While the job runs: its progress bar and a button that cancels it.
    pub fn progress_ui(&self, ui: &mut egui::Ui, cancel: &str) {
        if let Some(job) = &self.job {
            ui.add(egui::ProgressBar::new(self.progress as f32).desired_width(160.0).show_percentage());
            if ui.button(cancel).on_hover_text(format!("Stop the {}", self.what)).clicked() {
                job.cancel();
            }
        }
    }

    fn capitalised(&self) -> String {
        let mut chars = self.what.chars();
        chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
    }
}
