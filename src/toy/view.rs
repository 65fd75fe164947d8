//! The toy explorer tab: the tutorial's 5-unit RBM with every number on screen.
//!
//! Left: the network drawn as a graph (drag an edge or a unit to change a weight or bias) and the
//! controls (parameters, training, Gibbs sampling, size and data). Right: Z and KL, a bar chart of
//! the 32 joint probabilities, the visible marginals beside the data, and the sortable table of all
//! scenarios. All arithmetic is in the pure modules; this file only decides what to call and draws.
//!
//! Run modes do a bounded amount of work per frame and ask for a repaint only while running, so
//! the tab costs nothing when idle.

use egui::{
    Align, Align2, Color32, FontId, Layout, Pos2, Rect, Response, RichText, Sense, Stroke, Ui, Vec2, WidgetInfo, vec2,
};
use egui_plot::{Bar, BarChart, Legend, Line, MarkerShape, Plot, PlotPoint, PlotPoints, Points};

use super::data::{DatasetError, ToyDataset, kl_divergence, mass_on_data};
use super::gibbs::GibbsChain;
use super::rbm::{Enumeration, MAX_HIDDEN, MAX_VISIBLE, ToyRbm, tutorial_order};
use super::train::{ToyTrainer, TrainMethod};

/// Positive weights and biases (also "agrees with the data" in the chart).
const POSITIVE: Color32 = Color32::from_rgb(66, 133, 244);
/// Negative weights and biases.
const NEGATIVE: Color32 = Color32::from_rgb(224, 82, 64);
/// Units that are on in the state shown on the graph.
const LIT: Color32 = Color32::from_rgb(245, 190, 40);
/// Data-consistent scenarios in the table and chart.
const CONSISTENT: Color32 = Color32::from_rgb(60, 170, 90);
/// Height of one table row; fixed so that the table can draw only the visible rows.
const ROW_HEIGHT: f32 = 18.0;
/// Longest KL history kept; older points are thinned by half when it is reached.
const MAX_HISTORY: usize = 2000;
/// Pixels of vertical drag per unit of weight when dragging on the graph.
const DRAG_PIXELS_PER_UNIT: f32 = 40.0;

/// Which column the scenario table is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortColumn {
    /// The tutorial's order: number of active units, then name.
    Scenario,
    /// Data-consistent scenarios first (or last).
    Data,
    /// Score, energy, exp(score) and probability all order the same way (energy reversed), but
    /// each header sorts so people can click the column they are reading.
    Score,
    Energy,
    ExpScore,
    Probability,
    /// Empirical Gibbs visit frequency.
    Gibbs,
}

impl SortColumn {
    const ALL: [Self; 7] =
        [Self::Data, Self::Scenario, Self::Score, Self::Energy, Self::ExpScore, Self::Probability, Self::Gibbs];

    fn title(self) -> &'static str {
        match self {
            Self::Scenario => "Scenario",
            Self::Data => "Data",
            Self::Score => "Score",
            Self::Energy => "Energy",
            Self::ExpScore => "exp(score)",
            Self::Probability => "Probability",
            Self::Gibbs => "Gibbs",
        }
    }

    fn width(self) -> f32 {
        match self {
            Self::Data => 44.0,
            Self::Scenario => 84.0,
            Self::Score | Self::Energy => 66.0,
            Self::ExpScore => 82.0,
            Self::Probability => 96.0,
            Self::Gibbs => 66.0,
        }
    }

    fn hover(self) -> &'static str {
        match self {
            Self::Scenario => "Sort in the tutorial's order: fewer active units first, then by name",
            Self::Data => "Sort by whether the people's part of the scenario is a data row",
            Self::Score => "Sort by score = -E = Σ a_i v_i + Σ b_j h_j + Σ v_i w_ij h_j",
            Self::Energy => "Sort by energy E = -score",
            Self::ExpScore => "Sort by exp(score), the unnormalised probability",
            Self::Probability => "Sort by probability exp(score) / Z",
            Self::Gibbs => "Sort by how often the Gibbs chain visited the scenario",
        }
    }

    /// Direction a first click sorts in: big numbers first, except for the tutorial order and
    /// energy (low energy = likely).
    fn default_descending(self) -> bool {
        !matches!(self, Self::Scenario | Self::Energy)
    }
}

/// Which parameter a drag on the graph edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GraphTarget {
    Weight(usize, usize),
    VisibleBias(usize),
    HiddenBias(usize),
}

/// Whether the training buttons use the exact gradient or CD-k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MethodChoice {
    Exact,
    Cd,
}

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
        let epochs = self.trainer.steps() as f64 / self.data.len().max(1) as f64;
        let kl = self.kl();
        self.kl_history.push(PlotPoint::new(epochs, kl));
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

    // ---------------------------------------------------------------- graph

    fn graph_ui(&mut self, ui: &mut Ui) {
        let width = ui.available_width();
        let (response, painter) = ui.allocate_painter(vec2(width, 230.0), Sense::click_and_drag());
        response.widget_info(|| {
            WidgetInfo::labeled(
                egui::Role::Image,
                true,
                "Network graph: drag an edge or a unit up or down to change its weight or bias",
            )
        });
        let rect = response.rect;
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);

        let nv = self.rbm.n_visible();
        let nh = self.rbm.n_hidden();
        let (visible_pos, hidden_pos, radius) = unit_positions(rect, nv, nh);

        // Interaction: pick what the press started on, then move it with vertical drag.
        let hovered_target = response.hover_pos().and_then(|p| pick_target(p, &visible_pos, &hidden_pos, radius));
        if response.drag_started() {
            self.drag_target =
                response.interact_pointer_pos().and_then(|p| pick_target(p, &visible_pos, &hidden_pos, radius));
        }
        if response.dragged()
            && let Some(target) = self.drag_target
        {
            let delta = f64::from(-response.drag_delta().y / DRAG_PIXELS_PER_UNIT);
            if delta != 0.0 {
                *self.parameter_mut(target) += delta;
            }
        }
        if response.drag_stopped() {
            self.drag_target = None;
        }
        let active_target = self.drag_target.or(hovered_target);

        let lit = self.shown_state().map(|(s, _)| s);
        let is_on = |unit: usize| lit.is_some_and(|s| s >> unit & 1 == 1);
        let text_color = ui.visuals().text_color();
        let small = FontId::proportional(11.0);
        let label_edges = nv * nh <= 8;

        // Edges under units.
        for (i, &vp) in visible_pos.iter().enumerate() {
            for (j, &hp) in hidden_pos.iter().enumerate() {
                let w = self.rbm.weight(i, j);
                let mut color = if w >= 0.0 { POSITIVE } else { NEGATIVE };
                if w.abs() < 1e-9 {
                    color = ui.visuals().weak_text_color().gamma_multiply(0.5);
                }
                let both_on = is_on(i) && is_on(nv + j);
                if !both_on && lit.is_some() {
                    color = color.gamma_multiply(0.45);
                }
                let thickness = (1.0 + 1.6 * w.abs() as f32).min(12.0);
                painter.line_segment([vp, hp], Stroke::new(thickness, color));
                if active_target == Some(GraphTarget::Weight(i, j)) {
                    painter.line_segment([vp, hp], Stroke::new(1.5, text_color));
                }
                if label_edges || active_target == Some(GraphTarget::Weight(i, j)) {
                    let t = edge_label_fraction(j, nh);
                    let at = vp + (hp - vp) * t;
                    let text = format!("{w:.2}");
                    let galley = painter.layout_no_wrap(text, small.clone(), text_color);
                    let label_rect = Align2::CENTER_CENTER.anchor_size(at, galley.size());
                    painter.rect_filled(label_rect.expand(2.0), 3.0, ui.visuals().window_fill);
                    painter.galley(label_rect.min, galley, text_color);
                }
            }
        }

        // Units, with their bias beside them.
        let units = visible_pos
            .iter()
            .enumerate()
            .map(|(i, &p)| (i, p, GraphTarget::VisibleBias(i), self.rbm.visible_bias[i], true))
            .chain(
                hidden_pos
                    .iter()
                    .enumerate()
                    .map(|(j, &p)| (nv + j, p, GraphTarget::HiddenBias(j), self.rbm.hidden_bias[j], false)),
            )
            .collect::<Vec<_>>();
        for (unit, pos, target, bias, visible) in units {
            let fill = if is_on(unit) { LIT } else { ui.visuals().widgets.inactive.bg_fill };
            let ring = if bias >= 0.0 { POSITIVE } else { NEGATIVE };
            let ring_width = (1.0 + bias.abs() as f32).min(5.0);
            painter.circle(pos, radius, fill, Stroke::new(ring_width, ring));
            if active_target == Some(target) {
                painter.circle_stroke(pos, radius + 4.0, Stroke::new(1.5, text_color));
            }
            let letter_color = if is_on(unit) { Color32::BLACK } else { text_color };
            painter.text(
                pos,
                Align2::CENTER_CENTER,
                self.rbm.unit_name(unit),
                FontId::proportional(radius.clamp(10.0, 18.0)),
                letter_color,
            );
            // Visible biases above the top row, hidden biases (and the fruit) below the bottom row.
            let (anchor, offset) = if visible {
                (Align2::CENTER_BOTTOM, vec2(0.0, -radius - 3.0))
            } else {
                (Align2::CENTER_TOP, vec2(0.0, radius + 3.0))
            };
            let caption = match self.unit_caption(unit) {
                Some(c) => format!("{c} {bias:+.2}"),
                None => format!("{bias:+.2}"),
            };
            painter.text(pos + offset, anchor, caption, small.clone(), text_color);
        }

        let status = match self.shown_state() {
            Some((s, source)) => format!("lit: {} ({source})", self.rbm.state_name(s)),
            None => "people (visible) on top, fruits (hidden) below".to_owned(),
        };
        painter.text(
            rect.left_bottom() + vec2(6.0, -4.0),
            Align2::LEFT_BOTTOM,
            status,
            small,
            ui.visuals().weak_text_color(),
        );

        let response = match active_target {
            Some(target) => response.on_hover_text(format!(
                "{} = {:.3}: drag up to raise, down to lower",
                self.parameter_name(target),
                self.parameter(target)
            )),
            None => response
                .on_hover_text("Edge colour: blue positive, red negative; thickness: size. Drag an edge or unit."),
        };
        if response.dragged() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeVertical);
        }
    }

    fn parameter(&self, target: GraphTarget) -> f64 {
        match target {
            GraphTarget::Weight(i, j) => self.rbm.weight(i, j),
            GraphTarget::VisibleBias(i) => self.rbm.visible_bias[i],
            GraphTarget::HiddenBias(j) => self.rbm.hidden_bias[j],
        }
    }

    fn parameter_mut(&mut self, target: GraphTarget) -> &mut f64 {
        match target {
            GraphTarget::Weight(i, j) => self.rbm.weight_mut(i, j),
            GraphTarget::VisibleBias(i) => &mut self.rbm.visible_bias[i],
            GraphTarget::HiddenBias(j) => &mut self.rbm.hidden_bias[j],
        }
    }

    fn parameter_name(&self, target: GraphTarget) -> String {
        let nv = self.rbm.n_visible();
        match target {
            GraphTarget::Weight(i, j) => format!("weight {}–{}", self.rbm.unit_name(i), self.rbm.unit_name(nv + j)),
            GraphTarget::VisibleBias(i) => format!("bias of {}", self.rbm.unit_name(i)),
            GraphTarget::HiddenBias(j) => format!("bias of {}", self.rbm.unit_name(nv + j)),
        }
    }

    // ---------------------------------------------------------------- controls

    fn controls_ui(&mut self, ui: &mut Ui) {
        egui::CollapsingHeader::new("Weights and biases")
            .default_open(true)
            .show(ui, |ui| self.parameters_ui(ui))
            .header_response
            .on_hover_text("Every number of the model, editable; the graph and table follow");
        egui::CollapsingHeader::new("Training")
            .default_open(true)
            .show(ui, |ui| self.training_ui(ui))
            .header_response
            .on_hover_text("Learn the data rows by the exact gradient or by CD-k");
        egui::CollapsingHeader::new("Gibbs sampling")
            .default_open(true)
            .show(ui, |ui| self.gibbs_ui(ui))
            .header_response
            .on_hover_text("Sample the model and compare visit frequencies with the exact probabilities");
        egui::CollapsingHeader::new("Size and data")
            .default_open(false)
            .show(ui, |ui| self.size_ui(ui))
            .header_response
            .on_hover_text("Up to 6 people x 4 fruits (1024 states) and your own data rows");
    }

    fn parameters_ui(&mut self, ui: &mut Ui) {
        let nv = self.rbm.n_visible();
        let nh = self.rbm.n_hidden();
        egui::Grid::new("toy_parameters").spacing(vec2(6.0, 3.0)).show(ui, |ui| {
            ui.label("");
            for j in 0..nh {
                ui.label(RichText::new(self.hidden_title(j)).strong())
                    .on_hover_text("Hidden unit: its weights to each person in this column");
            }
            ui.label(RichText::new("bias a").strong())
                .on_hover_text("Visible bias a_i: added to the score when the person is on");
            ui.end_row();
            for i in 0..nv {
                let person = self.rbm.unit_name(i);
                ui.label(RichText::new(person.to_string()).strong());
                for j in 0..nh {
                    let fruit = self.rbm.unit_name(nv + j);
                    let name = format!("Weight {person}–{fruit}");
                    let hover = format!("w_{person}{fruit}: added to the score when {person} and {fruit} are both on");
                    parameter_drag(ui, self.rbm.weight_mut(i, j), &name, &hover);
                }
                let name = format!("Bias {person}");
                let hover = format!("a_{person}: added to the score when {person} is on");
                parameter_drag(ui, &mut self.rbm.visible_bias[i], &name, &hover);
                ui.end_row();
            }
            ui.label(RichText::new("bias b").strong())
                .on_hover_text("Hidden bias b_j: added to the score when the fruit is on");
            for j in 0..nh {
                let fruit = self.rbm.unit_name(nv + j);
                let name = format!("Bias {fruit}");
                let hover = format!("b_{fruit}: added to the score when {fruit} is on");
                parameter_drag(ui, &mut self.rbm.hidden_bias[j], &name, &hover);
            }
            ui.end_row();
        });
        ui.horizontal_wrapped(|ui| {
            let is_tutorial_size = nv == 3 && nh == 2;
            if ui
                .add_enabled(is_tutorial_size, egui::Button::new("Tutorial weights"))
                .on_hover_text("A-apple and C-apple positive, B-mango strongly positive, C-mango negative")
                .on_disabled_hover_text("The tutorial's weights exist only for 3 people x 2 fruits")
                .clicked()
            {
                self.reset_model(ToyRbm::tutorial());
            }
            if ui.button("All zero").on_hover_text("Every weight and bias 0: all scenarios equally likely").clicked() {
                self.reset_model(ToyRbm::zeros(nv, nh));
            }
            if ui
                .button("Small random")
                .on_hover_text("Weights from N(0, 0.1²) seeded by the training seed; biases 0")
                .clicked()
            {
                self.reset_model(ToyRbm::small_random(nv, nh, self.train_seed));
            }
        });
    }

    fn training_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.method, MethodChoice::Exact, "Exact gradient")
                .on_hover_text("Model term summed over all states: possible because Z has few terms");
            ui.radio_value(&mut self.method, MethodChoice::Cd, "CD-k")
                .on_hover_text("Model term from k Gibbs steps started at the row, as on MNIST");
            ui.add_enabled(
                self.method == MethodChoice::Cd,
                egui::DragValue::new(&mut self.cd_k).range(1..=100).prefix("k = "),
            )
            .on_hover_text("Gibbs steps per CD update");
        });
        self.trainer.method = self.train_method();
        ui.add(egui::Slider::new(&mut self.learning_rate, 0.001..=2.0).logarithmic(true).text("Learning rate"))
            .on_hover_text("Step size of every weight and bias update");
        self.trainer.learning_rate = self.learning_rate;
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut self.train_seed).prefix("Training seed "))
                .on_hover_text("Seed of CD's random stream and of 'Small random'; used on Restart");
            ui.add(egui::DragValue::new(&mut self.epochs_per_frame).range(1..=200).suffix(" epochs/frame"))
                .on_hover_text("How many epochs a running training does per drawn frame");
        });
        ui.horizontal_wrapped(|ui| {
            let next = self.trainer.next_row() % self.data.len().max(1);
            let next_bits = self.rbm.visible_bits(self.data.rows()[next]);
            if ui
                .add_enabled(!self.training, egui::Button::new("Step"))
                .on_hover_text(format!(
                    "One update on the next row (row {}: {next_bits}), as the tutorial walks it",
                    next + 1
                ))
                .clicked()
            {
                self.last_row = Some(self.trainer.step(&mut self.rbm, &self.data));
                self.record_kl();
            }
            if ui
                .add_enabled(!self.training, egui::Button::new("Epoch"))
                .on_hover_text("One update per row, all rows in order")
                .clicked()
            {
                self.trainer.epoch(&mut self.rbm, &self.data);
                self.last_row = None;
                self.record_kl();
            }
            let run_text = if self.training { "Stop" } else { "Run" };
            if ui
                .add(egui::Button::new(run_text).selected(self.training))
                .on_hover_text("Train continuously, a few epochs per frame, until stopped")
                .clicked()
            {
                self.training = !self.training;
            }
            if ui
                .button("Restart")
                .on_hover_text("Back to row 1, reseed, clear the KL history (weights are kept)")
                .clicked()
            {
                self.restart_training();
            }
        });
        let steps = self.trainer.steps();
        let epochs = steps as f64 / self.data.len().max(1) as f64;
        let mut status = format!("{steps} updates ({epochs:.1} epochs)");
        if let Some(row) = self.last_row {
            let bits = self.rbm.visible_bits(self.data.rows()[row]);
            status += &format!(" · last row {}: {bits}", row + 1);
        }
        ui.label(RichText::new(status).small());
        self.kl_history_ui(ui);
    }

    fn kl_history_ui(&mut self, ui: &mut Ui) {
        Plot::new("toy_kl_history")
            .height(90.0)
            .show_axes([true, true])
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .include_y(0.0)
            .y_axis_min_width(28.0)
            .x_axis_label("epochs")
            .show(ui, |plot| {
                if !self.kl_history.is_empty() {
                    plot.line(Line::new("KL(data || model)", PlotPoints::Borrowed(&self.kl_history)).color(POSITIVE));
                }
            })
            .response
            .on_hover_text("KL(data || model) after each training action");
    }

    fn gibbs_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut self.gibbs_seed).prefix("Chain seed "))
                .on_hover_text("Seed of the chain's random stream; used on Reset chain");
            ui.add(
                egui::DragValue::new(&mut self.sweeps_per_frame).range(1..=20_000).speed(10.0).suffix(" sweeps/frame"),
            )
            .on_hover_text("How many h|v, v|h sweeps a running chain does per drawn frame");
        });
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(!self.sampling, egui::Button::new("Sweep"))
                .on_hover_text("One sweep: sample the fruits given the people, then the people")
                .clicked()
            {
                self.chain.step(&self.rbm);
            }
            let run_text = if self.sampling { "Stop chain" } else { "Run chain" };
            if ui
                .add(egui::Button::new(run_text).selected(self.sampling))
                .on_hover_text("Sample continuously and count visits to each scenario")
                .clicked()
            {
                self.sampling = !self.sampling;
            }
            if ui
                .button("Reset chain")
                .on_hover_text("Restart the chain at None from the seed, with no visits")
                .clicked()
            {
                self.chain = GibbsChain::new(&self.rbm, self.gibbs_seed);
            }
        });
        let steps = self.chain.steps();
        let text = if steps == 0 {
            "no visits yet (counts reset whenever the model changes)".to_owned()
        } else {
            let freq = self.chain.frequencies();
            let (worst, tv) = compare(&freq, &self.enumeration.probabilities);
            format!(
                "{steps} sweeps · now {} · max |freq − p| {worst:.4} · TV {tv:.4}",
                self.rbm.state_name(self.chain.state())
            )
        };
        ui.label(RichText::new(text).small());
    }

    fn size_ui(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.add(egui::DragValue::new(&mut self.new_visible).range(1..=MAX_VISIBLE).prefix("visible "))
                .on_hover_text(format!("Number of people (visible units), 1 to {MAX_VISIBLE}"));
            ui.add(egui::DragValue::new(&mut self.new_hidden).range(1..=MAX_HIDDEN).prefix("hidden "))
                .on_hover_text(format!("Number of fruits (hidden units), 1 to {MAX_HIDDEN}"));
            let states = 1usize << (self.new_visible + self.new_hidden);
            let changed = self.new_visible != self.rbm.n_visible() || self.new_hidden != self.rbm.n_hidden();
            if ui
                .add_enabled(changed, egui::Button::new("Apply size"))
                .on_hover_text(format!("Rebuild with {states} states: 3 x 2 gets the tutorial, others small random"))
                .clicked()
            {
                let rbm = if self.new_visible == 3 && self.new_hidden == 2 {
                    ToyRbm::tutorial()
                } else {
                    ToyRbm::small_random(self.new_visible, self.new_hidden, self.train_seed)
                };
                self.sampling = false;
                self.reset_model(rbm);
            }
        });
        let label = ui.label(format!("Data rows ({} digits each, first digit = A):", self.rbm.n_visible()));
        let edit = ui
            .add(egui::TextEdit::multiline(&mut self.data_text).desired_rows(2).desired_width(f32::INFINITY))
            .labelled_by(label.id)
            .on_hover_text("Rows of 0/1, separated by commas or spaces; applied as you type");
        if edit.changed() {
            match ToyDataset::parse(&self.data_text, self.rbm.n_visible()) {
                Ok(data) => {
                    self.data = data;
                    self.data_error = None;
                    self.restart_training();
                }
                Err(e) => self.data_error = Some(e),
            }
        }
        if let Some(error) = &self.data_error {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
        }
        if ui
            .button("Tutorial rows")
            .on_hover_text("101, 010, 101, 101, 010, 101 (or the same pattern for other sizes)")
            .clicked()
        {
            self.data = ToyDataset::alternating(self.rbm.n_visible());
            self.data_text = self.data.to_text();
            self.data_error = None;
            self.restart_training();
        }
    }

    // ---------------------------------------------------------------- results

    fn results_ui(&mut self, ui: &mut Ui) {
        let frequencies = self.data.frequencies();
        let kl = kl_divergence(&frequencies, &self.enumeration.visible_marginals);
        let mass = mass_on_data(&self.data, &self.enumeration.visible_marginals);
        ui.horizontal_wrapped(|ui| {
            let z = self.enumeration.partition_function();
            let z_text = if z.is_finite() && z < 1e6 { format!("Z = {z:.4}") } else { format!("Z = {z:.4e}") };
            ui.label(RichText::new(z_text).strong())
                .on_hover_text("Partition function: the sum of exp(score) over all scenarios");
            ui.label(format!("ln Z = {:.4}", self.enumeration.log_z))
                .on_hover_text("Computed by log-sum-exp, exact for any weights");
            ui.label(RichText::new(format!("KL(data || model) = {kl:.4}")).strong())
                .on_hover_text("Σ p_data(v) ln(p_data(v) / p(v)) in nats: 0 when the model matches");
            ui.label(format!("p(data rows) = {:.1}%", 100.0 * mass))
                .on_hover_text("Model probability of the people-patterns that occur in the data");
        });
        ui.add_space(2.0);

        let gibbs = (self.chain.steps() > 0).then(|| self.chain.frequencies());
        let marginals_width = 250.0;
        ui.horizontal_top(|ui| {
            let chart_width = (ui.available_width() - marginals_width - 12.0).max(200.0);
            ui.vertical(|ui| {
                ui.set_width(chart_width);
                self.chart_ui(ui, gibbs.as_deref());
            });
            ui.vertical(|ui| {
                ui.set_width(marginals_width);
                self.marginals_ui(ui, &frequencies, gibbs.as_deref());
            });
        });
        ui.add_space(4.0);
        self.table_ui(ui, gibbs.as_deref());
    }

    fn chart_ui(&self, ui: &mut Ui, gibbs: Option<&[f64]>) {
        let order = self.rbm.states_in_tutorial_order();
        let names: Vec<String> = order.iter().map(|&s| self.rbm.state_name(s)).collect();
        let mut consistent = Vec::new();
        let mut other = Vec::new();
        for (x, &s) in order.iter().enumerate() {
            let p = self.enumeration.probabilities[s as usize];
            let bar = Bar::new(x as f64, p).width(0.8).name(&names[x]);
            if self.data.contains(self.rbm.visible_part(s)) {
                consistent.push(bar);
            } else {
                other.push(bar);
            }
        }
        let x_names = names.clone();
        // Headroom above the tallest bar or dot so the legend does not cover it.
        let tallest =
            self.enumeration.probabilities.iter().chain(gibbs.unwrap_or_default()).copied().fold(0.0, f64::max);
        Plot::new("toy_probability_chart")
            .height(190.0)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .include_y(0.0)
            .include_y(tallest * 1.45)
            .y_axis_min_width(30.0)
            // Steps of 1, 2 or 5 x 10^k: egui_plot's default powers of ten leave a single "0"
            // label when the range is, say, 0 to 0.8.
            .y_grid_spacer(egui_plot::uniform_grid_spacer(|input| {
                let step = nice_step((input.bounds.1 - input.bounds.0) / 4.0);
                [step / 2.0, step, step * 10.0]
            }))
            .y_axis_formatter(|mark, _| format!("{}", (mark.value * 1e4).round() / 1e4))
            .legend(Legend::default().position(egui_plot::Corner::LeftTop))
            .x_axis_formatter(move |mark, _| {
                let x = mark.value;
                // Names only where they fit: past 64 states they run into each other, and the
                // hover on a bar still names it.
                if x_names.len() <= 64 && (x - x.round()).abs() < 1e-6 && x >= 0.0 {
                    x_names.get(x as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .show(ui, |plot| {
                plot.bar_chart(BarChart::new("agrees with data", consistent).color(CONSISTENT));
                plot.bar_chart(BarChart::new("other scenarios", other).color(Color32::from_gray(140)));
                if let Some(freq) = gibbs {
                    let points: Vec<[f64; 2]> =
                        order.iter().enumerate().map(|(x, &s)| [x as f64, freq[s as usize]]).collect();
                    plot.add(Points::new("Gibbs frequency", points).shape(MarkerShape::Diamond).radius(3.5).color(LIT));
                }
            })
            .response
            .on_hover_text("Probability of each scenario, in the tutorial's order");
    }

    fn marginals_ui(&self, ui: &mut Ui, frequencies: &[f64], gibbs: Option<&[f64]>) {
        ui.label(RichText::new("People's patterns p(v)").strong())
            .on_hover_text("p(v) = Σ_h p(v, h): the model's marginal beside the data frequency");
        let gibbs_marginals = gibbs.map(|freq| {
            let mut m = vec![0.0; self.rbm.n_visible_states()];
            for (s, f) in freq.iter().enumerate() {
                m[self.rbm.visible_part(s as u32) as usize] += f;
            }
            m
        });
        egui::ScrollArea::vertical().id_salt("toy_marginals").max_height(176.0).show(ui, |ui| {
            egui::Grid::new("toy_marginals_grid").striped(true).spacing(vec2(8.0, 2.0)).show(ui, |ui| {
                ui.label(RichText::new("v").strong());
                ui.label(RichText::new("who").strong());
                ui.label(RichText::new("model").strong());
                ui.label(RichText::new("data").strong());
                if gibbs_marginals.is_some() {
                    ui.label(RichText::new("Gibbs").strong());
                }
                ui.end_row();
                let mut order: Vec<u32> = (0..self.rbm.n_visible_states() as u32).collect();
                order.sort_by(|&x, &y| tutorial_order(x, y));
                for v in order {
                    let in_data = frequencies[v as usize] > 0.0;
                    let bits = RichText::new(self.rbm.visible_bits(v)).monospace();
                    ui.label(if in_data { bits.color(CONSISTENT) } else { bits });
                    ui.label(self.rbm.visible_name(v));
                    ui.label(format!("{:.4}", self.enumeration.visible_marginals[v as usize]));
                    ui.label(data_fraction(frequencies[v as usize], self.data.len()));
                    if let Some(m) = &gibbs_marginals {
                        ui.label(format!("{:.4}", m[v as usize]));
                    }
                    ui.end_row();
                }
            });
        });
    }

    fn table_ui(&mut self, ui: &mut Ui, gibbs: Option<&[f64]>) {
        ui.label(
            RichText::new(format!(
                "All {} scenarios (ticked, green: the people's part is a data row)",
                self.rbm.n_states()
            ))
            .strong(),
        );
        // Header: sort buttons at the column widths the rows use.
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            for column in SortColumn::ALL {
                let active = self.sort == column;
                let response = ui
                    .add_sized(vec2(column.width(), ROW_HEIGHT + 2.0), egui::Button::selectable(active, column.title()))
                    .on_hover_text(column.hover());
                if active {
                    // Painted, not a glyph: the default proportional font has no arrows.
                    let color = ui.visuals().strong_text_color();
                    sort_triangle(ui.painter(), response.rect, self.descending, color);
                }
                if response.clicked() {
                    if active {
                        self.descending = !self.descending;
                    } else {
                        self.sort = column;
                        self.descending = column.default_descending();
                    }
                }
            }
        });

        let rows = self.sorted_states(gibbs);
        let max_p = self.enumeration.probabilities.iter().copied().fold(0.0, f64::max).max(1e-300);
        let mut hovered = None;
        egui::ScrollArea::vertical().id_salt("toy_table").auto_shrink([false, false]).show_rows(
            ui,
            ROW_HEIGHT,
            rows.len(),
            |ui, range| {
                ui.spacing_mut().item_spacing.y = 0.0;
                for &state in &rows[range] {
                    let response = self.row_ui(ui, state, gibbs, max_p);
                    if response.hovered() {
                        hovered = Some(state);
                    }
                }
            },
        );
        if hovered != self.hovered_state {
            self.hovered_state = hovered;
            // The graph was drawn before the table; draw it again lit for this row.
            ui.ctx().request_repaint();
        }
    }

    /// One table row, drawn as labels in fixed-width cells; returns the row's hover response.
    fn row_ui(&self, ui: &mut Ui, state: u32, gibbs: Option<&[f64]>, max_p: f64) -> Response {
        let s = state as usize;
        let score = self.enumeration.scores[s];
        let p = self.enumeration.probabilities[s];
        let consistent = self.data.contains(self.rbm.visible_part(state));
        let width: f32 = SortColumn::ALL.iter().map(|c| c.width() + 4.0).sum();
        let (row_rect, response) =
            ui.allocate_exact_size(vec2(width.max(ui.available_width()), ROW_HEIGHT), Sense::hover());
        if !ui.is_rect_visible(row_rect) {
            return response;
        }
        let painter = ui.painter();
        if response.hovered() {
            painter.rect_filled(row_rect, 0.0, ui.visuals().widgets.hovered.weak_bg_fill);
        } else if consistent {
            painter.rect_filled(row_rect, 0.0, CONSISTENT.gamma_multiply(0.18));
        }
        let text_color = ui.visuals().text_color();
        let font = FontId::proportional(13.0);
        let mono = FontId::monospace(12.0);
        let mut x = row_rect.left();
        for column in SortColumn::ALL {
            let cell = Rect::from_min_size(Pos2::new(x, row_rect.top()), vec2(column.width(), ROW_HEIGHT));
            x += column.width() + 4.0;
            let right = cell.right_center() - vec2(4.0, 0.0);
            match column {
                SortColumn::Data => {
                    if consistent {
                        check_mark(painter, cell.center(), CONSISTENT);
                    }
                }
                SortColumn::Scenario => {
                    painter.text(
                        cell.left_center() + vec2(4.0, 0.0),
                        Align2::LEFT_CENTER,
                        self.rbm.state_name(state),
                        font.clone(),
                        text_color,
                    );
                }
                SortColumn::Score => {
                    painter.text(right, Align2::RIGHT_CENTER, fixed3(score), mono.clone(), text_color);
                }
                SortColumn::Energy => {
                    painter.text(right, Align2::RIGHT_CENTER, fixed3(-score), mono.clone(), text_color);
                }
                SortColumn::ExpScore => {
                    painter.text(right, Align2::RIGHT_CENTER, format_exp(score), mono.clone(), text_color);
                }
                SortColumn::Probability => {
                    // A bar behind the number, so the table reads like the chart.
                    // The bar keeps left of the number so the digits stay readable.
                    let bar_width = (cell.width() - 56.0) * (p / max_p) as f32;
                    let bar = Rect::from_min_size(
                        cell.left_top() + vec2(2.0, 3.0),
                        vec2(bar_width.max(0.0), ROW_HEIGHT - 6.0),
                    );
                    let color = if consistent { CONSISTENT } else { Color32::from_gray(140) };
                    painter.rect_filled(bar, 2.0, color.gamma_multiply(0.45));
                    painter.text(right, Align2::RIGHT_CENTER, format!("{p:.4}"), mono.clone(), text_color);
                }
                SortColumn::Gibbs => {
                    let text = gibbs.map_or_else(|| "–".to_owned(), |f| format!("{:.4}", f[s]));
                    painter.text(right, Align2::RIGHT_CENTER, text, mono.clone(), text_color);
                }
            }
        }
        // Painted text is invisible to screen readers and tests: describe the row on its node.
        response.widget_info(|| {
            WidgetInfo::labeled(
                egui::Role::Row,
                true,
                format!("{} score {score:.3} probability {p:.4}", self.rbm.state_name(state)),
            )
        });
        response.on_hover_text(format!(
            "{}: score {score:.4}, exp(score) {}, p = exp(score)/Z = {p:.6}",
            self.rbm.state_name(state),
            format_exp(score)
        ))
    }

    /// The joint states in the table's current order.
    fn sorted_states(&self, gibbs: Option<&[f64]>) -> Vec<u32> {
        let mut states = self.rbm.states_in_tutorial_order();
        let scores = &self.enumeration.scores;
        let consistent = |s: u32| self.data.contains(self.rbm.visible_part(s));
        // Stable sort on top of the tutorial order: ties keep the tutorial's order.
        match self.sort {
            SortColumn::Scenario => states.sort_by(|&x, &y| tutorial_order(x, y)),
            SortColumn::Data => states.sort_by_key(|&s| consistent(s)),
            SortColumn::Score | SortColumn::ExpScore | SortColumn::Probability => {
                states.sort_by(|&x, &y| scores[x as usize].total_cmp(&scores[y as usize]));
            }
            SortColumn::Energy => {
                states.sort_by(|&x, &y| scores[y as usize].total_cmp(&scores[x as usize]));
            }
            SortColumn::Gibbs => {
                if let Some(f) = gibbs {
                    states.sort_by(|&x, &y| f[x as usize].total_cmp(&f[y as usize]));
                }
            }
        }
        if self.descending {
            states.reverse();
        }
        states
    }
}

/// A DragValue for one weight or bias, named for screen readers and tests.
fn parameter_drag(ui: &mut Ui, value: &mut f64, name: &str, hover: &str) {
    // Named before the tooltip is attached: a tooltip would otherwise become the name.
    ui.name_inputs(name, |ui| ui.add(egui::DragValue::new(value).speed(0.02).fixed_decimals(2))).on_hover_text(hover);
}

/// A small triangle at the right end of a header button: up for ascending, down for descending.
fn sort_triangle(painter: &egui::Painter, rect: Rect, descending: bool, color: Color32) {
    let c = rect.right_center() - vec2(8.0, 0.0);
    let (tip, base) = if descending { (4.0, -3.0) } else { (-4.0, 3.0) };
    let points = vec![c + vec2(0.0, tip), c + vec2(-4.0, base), c + vec2(4.0, base)];
    painter.add(egui::Shape::convex_polygon(points, color, Stroke::NONE));
}

/// A tick drawn with two strokes (the default fonts have no check-mark glyph).
fn check_mark(painter: &egui::Painter, center: Pos2, color: Color32) {
    let stroke = Stroke::new(2.0, color);
    let a = center + vec2(-5.0, 0.0);
    let b = center + vec2(-1.5, 4.0);
    let c = center + vec2(5.5, -5.0);
    painter.line_segment([a, b], stroke);
    painter.line_segment([b, c], stroke);
}

/// Where the units sit: people in a row at the top, fruits in a row at the bottom.
fn unit_positions(rect: Rect, nv: usize, nh: usize) -> (Vec<Pos2>, Vec<Pos2>, f32) {
    let row = |n: usize, y: f32| -> Vec<Pos2> {
        (0..n)
            .map(|k| {
                let fraction = (k as f32 + 0.5) / n as f32;
                Pos2::new(rect.left() + rect.width() * (0.08 + 0.84 * fraction), y)
            })
            .collect()
    };
    let spacing = rect.width() * 0.84 / nv.max(nh) as f32;
    let radius = (spacing * 0.3).clamp(9.0, 20.0);
    let top = rect.top() + 22.0 + radius;
    let bottom = rect.bottom() - 38.0 - radius;
    (row(nv, top), row(nh, bottom), radius)
}

/// Where along an edge (from the visible end) its weight label goes: a different height per
/// hidden unit so that labels of crossing edges do not overlap.
fn edge_label_fraction(j: usize, nh: usize) -> f32 {
    0.28 + 0.3 * (j as f32 + 0.5) / nh as f32
}

/// The unit or edge under `p`, units first (they sit on top of the edges).
fn pick_target(p: Pos2, visible: &[Pos2], hidden: &[Pos2], radius: f32) -> Option<GraphTarget> {
    if let Some(i) = visible.iter().position(|&c| c.distance(p) <= radius + 2.0) {
        return Some(GraphTarget::VisibleBias(i));
    }
    if let Some(j) = hidden.iter().position(|&c| c.distance(p) <= radius + 2.0) {
        return Some(GraphTarget::HiddenBias(j));
    }
    let mut best: Option<(f32, GraphTarget)> = None;
    for (i, &a) in visible.iter().enumerate() {
        for (j, &b) in hidden.iter().enumerate() {
            let d = distance_to_segment(p, a, b);
            if d <= 7.0 && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, GraphTarget::Weight(i, j)));
            }
        }
    }
    best.map(|(_, t)| t)
}

fn distance_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab: Vec2 = b - a;
    let t = ((p - a).dot(ab) / ab.length_sq().max(1e-6)).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}

/// The 1-2-5 number nearest above `raw`: grid steps people read at a glance.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let mantissa = raw / magnitude;
    let nice = if mantissa <= 1.0 {
        1.0
    } else if mantissa <= 2.0 {
        2.0
    } else if mantissa <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Three decimals, with no "-0.000": the energy of a zero-score state is -0.0 in IEEE arithmetic.
fn fixed3(x: f64) -> String {
    let text = format!("{x:.3}");
    if text == "-0.000" { "0.000".to_owned() } else { text }
}

/// exp(score) in a fixed-width-friendly form: plain for ordinary sizes, scientific otherwise.
fn format_exp(score: f64) -> String {
    let value = score.exp();
    if (1e-3..1e5).contains(&value) { format!("{value:.4}") } else { format!("{value:.3e}") }
}

/// A data frequency as the tutorial writes it, e.g. `4/6`, or `0`.
fn data_fraction(frequency: f64, rows: usize) -> String {
    let count = (frequency * rows as f64).round() as usize;
    if count == 0 { "0".to_owned() } else { format!("{count}/{rows}") }
}

/// Largest absolute difference and total-variation distance between two distributions.
fn compare(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut worst: f64 = 0.0;
    let mut total = 0.0;
    for (x, y) in a.iter().zip(b) {
        worst = worst.max((x - y).abs());
        total += (x - y).abs();
    }
    (worst, total / 2.0)
}
