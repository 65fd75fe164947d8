//! The toy explorer tab: the tutorial's 5-unit RBM with every number on screen.
//!
//! Left: the network drawn as a graph (drag an edge or a unit to change a weight or bias) and the
//! controls (parameters, training, Gibbs sampling, size and data). Right: Z and KL, a bar chart of
//! the 32 joint probabilities, the visible marginals beside the data, and the sortable table of all
//! scenarios. This file holds the tab's state, lays out the two halves and advances the runs; each
//! part draws in its own file ([`graph`], [`controls`], [`results`], [`scenarios`]). Every number
//! about the model and data comes from the toy's pure modules; the view computes only where things
//! go on screen, decides what to call and draws.
//!
//! Run modes do a bounded amount of work per frame and ask for a repaint only while running, so
//! the tab costs nothing when idle.

mod controls;
mod graph;
mod results;
mod scenarios;

use egui::{Align, Color32, Layout, Ui, vec2};
use egui_plot::{Plot, PlotPoint, PlotResponse, PlotUi};

use super::data::{DatasetError, ToyDataset, kl_divergence};
use super::gibbs::GibbsChain;
use super::rbm::{Enumeration, ToyRbm};
use super::train::{ToyTrainer, TrainMethod};
use crate::app::software_render::Render;
use controls::MethodChoice;
use graph::GraphTarget;
use scenarios::SortColumn;

/// Positive weights and biases (also "agrees with the data" in the chart).
const POSITIVE: Color32 = Color32::from_rgb(66, 133, 244);
/// Negative weights and biases.
const NEGATIVE: Color32 = Color32::from_rgb(224, 82, 64);
/// Units that are on in the state shown on the graph.
const LIT: Color32 = Color32::from_rgb(245, 190, 40);
/// Data-consistent scenarios in the table and chart.
const CONSISTENT: Color32 = Color32::from_rgb(60, 170, 90);
/// Longest KL history kept; older points are thinned by half when it is reached.
const MAX_HISTORY: usize = 2000;

/// The toy explorer tab. Owns its model, data, trainer and Gibbs chain; embed with
/// `explorer.ui(ui)`.
pub struct ToyExplorer {
    rbm: ToyRbm,
    /// The exact distribution of `enumerated_for`; recomputed whenever `rbm` differs from it, so
    /// any edit (drag value, graph drag, training) refreshes table, chart and KL the same frame.
    enumeration: Enumeration,
    enumerated_for: ToyRbm,
    data: ToyDataset,
    data_text: String,
    data_error: Option<DatasetError>,
    trainer: ToyTrainer,
    method: MethodChoice,
    cd_k: usize,
    learning_rate: f64,
    train_seed: u64,
    training: bool,
    epochs_per_frame: u32,
    last_row: Option<usize>,
    /// (epochs trained, KL(data || model)) after each training action.
    kl_history: Vec<PlotPoint>,
    chain: GibbsChain,
    gibbs_seed: u64,
    sampling: bool,
    sweeps_per_frame: u32,
    sort: SortColumn,
    descending: bool,
    /// Scenario under the pointer in the table last frame: shown lit on the graph.
    hovered_state: Option<u32>,
    drag_target: Option<GraphTarget>,
    new_visible: usize,
    new_hidden: usize,
}

impl Default for ToyExplorer {
    fn default() -> Self {
        let rbm = ToyRbm::tutorial();
        let data = ToyDataset::tutorial();
        let train_seed = 1;
        let gibbs_seed = 7;
        Self {
            enumeration: rbm.enumerate(),
            enumerated_for: rbm.clone(),
            chain: GibbsChain::new(&rbm, gibbs_seed),
            data_text: data.to_text(),
            data,
            data_error: None,
            trainer: ToyTrainer::new(TrainMethod::Exact, 0.1, train_seed),
            method: MethodChoice::Exact,
            cd_k: 1,
            learning_rate: 0.1,
            train_seed,
            training: false,
            epochs_per_frame: 1,
            last_row: None,
            kl_history: Vec::new(),
            gibbs_seed,
            sampling: false,
            sweeps_per_frame: 500,
            sort: SortColumn::Scenario,
            descending: false,
            hovered_state: None,
            drag_target: None,
            new_visible: rbm.n_visible(),
            new_hidden: rbm.n_hidden(),
            rbm,
        }
    }
}

impl ToyExplorer {
    /// The model as currently edited or trained.
    pub fn model(&self) -> &ToyRbm {
        &self.rbm
    }

    /// Replace the model (e.g. to start from chosen weights); views refresh on the next frame.
    pub fn set_model(&mut self, rbm: ToyRbm) {
        if rbm.n_states() != self.rbm.n_states() {
            self.chain = GibbsChain::new(&rbm, self.gibbs_seed);
        }
        self.new_visible = rbm.n_visible();
        self.new_hidden = rbm.n_hidden();
        if self.data.n_visible() != rbm.n_visible() {
            self.data = ToyDataset::alternating(rbm.n_visible());
            self.data_text = self.data.to_text();
            self.data_error = None;
        }
        self.rbm = rbm;
        self.refresh();
    }

    /// The exact distribution shown in the table (as of the last refresh).
    pub fn enumeration(&self) -> &Enumeration {
        &self.enumeration
    }

    /// The training rows.
    pub fn dataset(&self) -> &ToyDataset {
        &self.data
    }

    /// The Gibbs chain and its visit counts.
    pub fn chain(&self) -> &GibbsChain {
        &self.chain
    }

    /// Whether a training or Gibbs run is in progress (the tab then repaints continuously).
    pub fn is_running(&self) -> bool {
        self.training || self.sampling
    }

    /// KL(data || model marginal) of the current model, in nats.
    pub fn kl(&self) -> f64 {
        kl_divergence(&self.data.frequencies(), &self.enumeration.visible_marginals)
    }

    /// Draw the tab and advance any run by one frame's worth of work.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.advance_runs();
        self.refresh();

        let available = ui.available_size();
        let height = if available.y.is_finite() { available.y.max(400.0) } else { 700.0 };
        let left_width = (available.x * 0.37).clamp(300.0, 420.0);
        ui.horizontal_top(|ui| {
            ui.allocate_ui_with_layout(vec2(left_width, height), Layout::top_down(Align::Min), |ui| {
                ui.set_width(left_width);
                self.graph_ui(ui);
                egui::ScrollArea::vertical()
                    .id_salt("toy_controls")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.controls_ui(ui));
            });
            // Edits made by the controls above show in the right half this same frame.
            self.refresh();
            ui.separator();
            ui.vertical(|ui| {
                ui.set_height(height);
                self.results_ui(ui);
            });
        });

        if self.is_running() {
            ui.ctx().request_repaint();
        }
    }

    /// One frame of each active run: a bounded number of epochs and of Gibbs sweeps.
    fn advance_runs(&mut self) {
        if self.training {
            for _ in 0..self.epochs_per_frame {
                self.trainer.epoch(&mut self.rbm, &self.data);
            }
            self.last_row = None;
            self.record_kl();
        }
        if self.sampling {
            self.refresh();
            self.chain.run(&self.rbm, u64::from(self.sweeps_per_frame));
        }
    }

    /// Recompute the exact distribution if the model changed since the last enumeration; Gibbs
    /// counts from the old model describe another distribution, so they are cleared too.
    fn refresh(&mut self) {
        if self.rbm != self.enumerated_for {
            if self.rbm.n_states() != self.chain.visits().len() {
                self.chain = GibbsChain::new(&self.rbm, self.gibbs_seed);
            } else {
                self.chain.clear_visits();
            }
            self.enumeration = self.rbm.enumerate();
            self.enumerated_for = self.rbm.clone();
        }
    }

    fn record_kl(&mut self) {
        self.refresh();
        self.kl_history.push(PlotPoint::new(self.trainer.epochs(&self.data), self.kl()));
        if self.kl_history.len() > MAX_HISTORY {
            // Thin by half rather than drop the start: the early fall is the interesting part.
            let mut keep = 0;
            self.kl_history.retain(|_| {
                keep += 1;
                keep % 2 == 1
            });
        }
    }

    /// Start training afresh: row 0, random stream from the seed, empty history.
    fn restart_training(&mut self) {
        self.trainer = ToyTrainer::new(self.train_method(), self.learning_rate, self.train_seed);
        self.kl_history.clear();
        self.last_row = None;
    }

    fn train_method(&self) -> TrainMethod {
        match self.method {
            MethodChoice::Exact => TrainMethod::Exact,
            MethodChoice::Cd => TrainMethod::ContrastiveDivergence { k: self.cd_k },
        }
    }

    fn reset_model(&mut self, rbm: ToyRbm) {
        self.training = false;
        self.set_model(rbm);
        self.restart_training();
    }

    fn unit_caption(&self, unit: usize) -> Option<&'static str> {
        // The fruits only mean something in the tutorial's own 3 x 2 toy.
        if self.rbm.n_visible() == 3 && self.rbm.n_hidden() == 2 {
            match unit {
                3 => Some("apple"),
                4 => Some("mango"),
                _ => None,
            }
        } else {
            None
        }
    }

    /// Column title of hidden unit `j`, e.g. `D (apple)`.
    fn hidden_title(&self, j: usize) -> String {
        let unit = self.rbm.n_visible() + j;
        let letter = self.rbm.unit_name(unit);
        match self.unit_caption(unit) {
            Some(caption) => format!("{letter} ({caption})"),
            None => letter.to_string(),
        }
    }

    /// The state lit on the graph: a hovered table row, else the Gibbs chain's current state.
    fn shown_state(&self) -> Option<(u32, &'static str)> {
        if let Some(s) = self.hovered_state {
            Some((s, "hovered row"))
        } else if self.sampling || self.chain.steps() > 0 {
            Some((self.chain.state(), "Gibbs chain"))
        } else {
            None
        }
    }
}

/// Shows a toy plot the way the main plots are shown, for their grid: lines no closer than the
/// main plots space theirs, where egui_plot's default adds a faint sub-grid down to 8 points
/// apart (a line per bar across the probability chart). The toy plots keep egui_plot's own
/// background (egui's meshes) with any renderer.
fn show_toy_plot<'a, R>(ui: &mut Ui, plot: Plot<'a>, build: impl FnOnce(&mut PlotUi<'a>) -> R + 'a) -> PlotResponse<R> {
    Render::default().show_plot(ui, plot, build)
}
