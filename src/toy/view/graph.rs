//! The network drawn as a graph: people (visible units) in a row on top, fruits (hidden units)
//! below, an edge per weight coloured by sign and thick by size, each unit ringed by its bias.
//! Dragging an edge or a unit up or down changes that weight or bias; the state lit on the graph
//! is the hovered table row or else the Gibbs chain's current state.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Ui, Vec2, WidgetInfo, vec2};

use super::{LIT, NEGATIVE, POSITIVE, ToyExplorer};

/// Pixels of vertical drag per unit of weight when dragging on the graph.
const DRAG_PIXELS_PER_UNIT: f32 = 40.0;

/// Which parameter a drag on the graph edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GraphTarget {
    Weight(usize, usize),
    VisibleBias(usize),
    HiddenBias(usize),
}

impl ToyExplorer {
    /// Draws the graph and applies a drag on it to the weight or bias the press started on.
    pub(super) fn graph_ui(&mut self, ui: &mut Ui) {
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

/// Distance from `p` to the nearest point of the segment from `a` to `b`.
fn distance_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab: Vec2 = b - a;
    let t = ((p - a).dot(ab) / ab.length_sq().max(1e-6)).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}
