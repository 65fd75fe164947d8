//! The table of all scenarios (joint states): whether the people's part is a data row, the name,
//! score, energy, exp(score), probability (with a bar) and Gibbs frequency, sortable by any column.
//! Rows have a fixed height so only those in view are drawn (1024 of them at 6 x 4); hovering one
//! lights its units on the graph.

use egui::{Align2, Color32, FontId, Pos2, Rect, Response, RichText, Sense, Stroke, Ui, WidgetInfo, vec2};

use super::{CONSISTENT, ToyExplorer};
use crate::toy::numbers::{exp_text, three_decimals};
use crate::toy::order::{ScenarioOrder, sorted_scenarios};

/// Height of one table row; fixed so that the table can draw only the visible rows.
const ROW_HEIGHT: f32 = 18.0;

/// Which column the scenario table is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SortColumn {
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

    /// The order this column sorts the scenarios in.
    fn order(self) -> ScenarioOrder {
        match self {
            Self::Scenario => ScenarioOrder::Tutorial,
            Self::Data => ScenarioOrder::Data,
            Self::Score | Self::ExpScore | Self::Probability => ScenarioOrder::Score,
            Self::Energy => ScenarioOrder::Energy,
            Self::Gibbs => ScenarioOrder::Gibbs,
        }
    }

    /// Direction a first click sorts in: big numbers first, except for the tutorial order and
    /// energy (low energy = likely).
    fn default_descending(self) -> bool {
        !matches!(self, Self::Scenario | Self::Energy)
    }
}

impl ToyExplorer {
    /// The sortable table of every scenario: header buttons, then only the rows in view.
    pub(super) fn table_ui(&mut self, ui: &mut Ui, gibbs: Option<&[f64]>) {
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

        let rows = sorted_scenarios(
            &self.rbm,
            &self.enumeration.scores,
            &self.data,
            gibbs,
            self.sort.order(),
            self.descending,
        );
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
                    painter.text(right, Align2::RIGHT_CENTER, three_decimals(score), mono.clone(), text_color);
                }
                SortColumn::Energy => {
                    painter.text(right, Align2::RIGHT_CENTER, three_decimals(-score), mono.clone(), text_color);
                }
                SortColumn::ExpScore => {
                    painter.text(right, Align2::RIGHT_CENTER, exp_text(score), mono.clone(), text_color);
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
            exp_text(score)
        ))
    }
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
