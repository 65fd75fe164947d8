//! The Runs window: a table of the runs (thumbnail, name, dataset, model, method, epochs, best
//! log-likelihood, training time), with per run "show" (overlaid on the loss and likelihood plots
//! in the run's colour), "select" (for export), rename and delete, and the export and import
//! buttons. A window rather than a tab: the runs are compared on the loss plot (Training tab) and
//! the likelihood plot (Quality tab), which a tab of its own would hide.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{RunEntry, RunHistory, Thumbnail, run_color};
use crate::app::software_render::Render;
use crate::app::texture::GrayTexture;
use crate::images::GrayImage;

/// What the person asked of the runs that needs the rest of the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunsAction {
    ExportJson,
    ExportCsv,
    Import,
}

/// How often the current run's thumbnail follows its training weights while the window is open.
const CURRENT_THUMBNAIL_EVERY: Duration = Duration::from_secs(1);
/// A thumbnail's height in the table, in points.
const THUMBNAIL_HEIGHT: f32 = 44.0;

#[derive(Default)]
pub struct RunsWindow {
    pub open: bool,
    /// Each run's thumbnail as a texture, keyed by the run's id (with the thumbnail it shows).
    textures: HashMap<u64, (GrayTexture, Thumbnail)>,
    /// The name being edited, per run, until the edit ends.
    editing: HashMap<u64, String>,
    render: Render,
    /// The current run's thumbnail, remade from the newest weights at most every second.
    current_thumbnail: Option<(Instant, u64, Thumbnail)>,
    /// The runs' generation the plots' overlays were last made from.
    pub(super) synced: Option<u64>,
}

impl RunsWindow {
    /// Thumbnails drawn as `render` draws images.
    pub fn use_render(&mut self, render: &Render) {
        self.render = render.clone();
        self.textures.clear();
    }

    /// The current run's thumbnail from `snapshot` (kept for a second; a new model's weights at once).
    pub(super) fn follow_current(&mut self, snapshot: Option<&crate::trainer::ModelSnapshot>) {
        let Some(snapshot) = snapshot else { return };
        let fresh = self.current_thumbnail.as_ref().is_some_and(|(at, version, _)| {
            *version == snapshot.version || (at.elapsed() < CURRENT_THUMBNAIL_EVERY && *version < snapshot.version)
        });
        if !fresh && let Some(thumbnail) = super::thumbnail(snapshot) {
            self.current_thumbnail = Some((Instant::now(), snapshot.version, thumbnail));
        }
    }

    /// A run's thumbnail at `height` points, uploaded when it changed.
    fn thumbnail_ui(&mut self, ui: &mut egui::Ui, id: u64, thumbnail: Option<&Thumbnail>) {
        let Some(thumbnail) = thumbnail else {
            ui.weak("—");
            return;
        };
        let render = &self.render;
        let (texture, shown) = self.textures.entry(id).or_insert_with(|| {
            let mut texture = GrayTexture::default();
            texture.use_render(render);
            (texture, Thumbnail { width: 0, height: 0, pixels: Vec::new() })
        });
        if shown != thumbnail || texture.size().is_none() {
            let image =
                GrayImage { width: thumbnail.width, height: thumbnail.height, pixels: thumbnail.pixels.clone() };
            texture.set(ui.ctx(), &format!("run_thumbnail_{id}"), &image);
            *shown = thumbnail.clone();
        }
        let aspect = thumbnail.width as f32 / thumbnail.height.max(1) as f32;
        texture.show(ui, egui::vec2(THUMBNAIL_HEIGHT * aspect, THUMBNAIL_HEIGHT), egui::Sense::hover());
    }

    /// The window, when open; what it asks of the app.
    pub fn ui(&mut self, ctx: &egui::Context, runs: &mut RunHistory) -> Option<RunsAction> {
        let mut open = self.open;
        let mut action = None;
        // At first in the lower right, over the chains: the plots it overlays stay in view.
        let corner = ctx.content_rect().right_bottom() - egui::vec2(16.0, 40.0);
        let window = egui::Window::new("Runs").open(&mut open).pivot(egui::Align2::RIGHT_BOTTOM);
        window.default_pos(corner).default_width(900.0).resizable(true).show(ctx, |ui| {
            action = self.table_ui(ui, runs);
        });
        self.open = open;
        let live: Vec<u64> = runs.all().map(|e| e.id).collect();
        self.textures.retain(|id, _| live.contains(id));
        self.editing.retain(|id, _| live.contains(id));
        action
    }

    fn table_ui(&mut self, ui: &mut egui::Ui, runs: &mut RunHistory) -> Option<RunsAction> {
        ui.label(
            "Each Reset, Load or dataset change starts a new run. Tick \"show\" to overlay a run on the loss \
             and likelihood plots.",
        );
        let entries: Vec<RunEntry> = runs.all().cloned().collect();
        let current_id = runs.current().id;
        let mut changes = Vec::new();
        egui::ScrollArea::vertical().max_height(420.0).show(ui, |ui| {
            egui::Grid::new("runs_table").striped(true).num_columns(12).spacing([10.0, 4.0]).show(ui, |ui| {
                for heading in
                    ["show", "select", "", "name", "dataset", "model", "method", "epochs", "best LL", "time", ""]
                {
                    ui.strong(heading);
                }
                ui.end_row();
                for entry in &entries {
                    changes.extend(self.row_ui(ui, entry, entry.id == current_id));
                    ui.end_row();
                }
            });
        });
        for change in changes {
            match change {
                RowChange::Shown(id, shown) => runs.set_shown(id, shown),
                RowChange::Selected(id, selected) => runs.set_selected(id, selected),
                RowChange::Renamed(id, name) => runs.rename(id, &name),
                RowChange::Deleted(id) => {
                    runs.delete(id);
                }
            }
        }
        ui.separator();
        let selected = runs.all().filter(|e| e.selected).count();
        let mut action = None;
        ui.horizontal(|ui| {
            if ui.button("Select all").clicked() {
                let ids: Vec<u64> = runs.all().map(|e| e.id).collect();
                ids.into_iter().for_each(|id| runs.set_selected(id, true));
            }
            let export = |ui: &mut egui::Ui, text: &str, hint: &str| {
                ui.add_enabled(selected > 0, egui::Button::new(text))
                    .on_hover_text(hint)
                    .on_disabled_hover_text("Tick \"select\" for the runs to export")
                    .clicked()
            };
            if export(ui, "Export selected as JSON…", "Everything the runs keep; Import JSON… reads it back") {
                action = Some(RunsAction::ExportJson);
            }
            if export(ui, "Export selected as CSV…", "One row per run: the table's columns") {
                action = Some(RunsAction::ExportCsv);
            }
            if ui.button("Import JSON…").on_hover_text("Add the runs of a runs file exported by rbm-lab").clicked() {
                action = Some(RunsAction::Import);
            }
        });
        action
    }

    fn row_ui(&mut self, ui: &mut egui::Ui, entry: &RunEntry, current: bool) -> Vec<RowChange> {
        let mut changes = Vec::new();
        let (id, run) = (entry.id, &entry.run);
        if current {
            ui.add_enabled(false, egui::Checkbox::without_text(&mut true))
                .on_disabled_hover_text("The current run: the plots' own lines");
        } else {
            let mut shown = run.shown;
            let color = run_color(id);
            let response = ui.horizontal(|ui| {
                let response = ui.add(egui::Checkbox::without_text(&mut shown));
                let label = format!("show {}", run.name);
                response
                    .widget_info(|| egui::WidgetInfo::selected(egui::accesskit::Role::CheckBox, true, shown, &label));
                let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().rect_filled(rect, 2.0, color);
                response
            });
            if response.inner.on_hover_text(format!("Overlay {} on the plots", run.name)).changed() {
                changes.push(RowChange::Shown(id, shown));
            }
        }
        let mut selected = entry.selected;
        let response = ui.add(egui::Checkbox::without_text(&mut selected));
        let label = format!("select {}", run.name);
        response.widget_info(|| egui::WidgetInfo::selected(egui::accesskit::Role::CheckBox, true, selected, &label));
        if response.on_hover_text("Export this run").changed() {
            changes.push(RowChange::Selected(id, selected));
        }
        let current_thumbnail = self.current_thumbnail.as_ref().map(|(_, _, t)| t.clone());
        let thumbnail = if current { current_thumbnail.as_ref() } else { run.thumbnail.as_ref() };
        self.thumbnail_ui(ui, id, thumbnail);
        let mut name = self.editing.get(&id).cloned().unwrap_or_else(|| run.name.clone());
        // Sized, not left to the grid: a grid's first frame gives a text field the width of its text.
        let response = ui.add_sized(
            [150.0, ui.spacing().interact_size.y],
            egui::TextEdit::singleline(&mut name).char_limit(super::MAX_RUN_NAME_CHARS).id_salt(("run_name", id)),
        );
        if response.has_focus() {
            // Renamed when the edit ends, so that the legend does not change at every key.
            self.editing.insert(id, name);
        } else if self.editing.remove(&id).is_some() || response.lost_focus() {
            let name = name.trim();
            if !name.is_empty() && name != run.name {
                changes.push(RowChange::Renamed(id, name.to_string()));
            }
        }
        ui.label(&run.dataset);
        ui.label(run.model()).on_hover_text(format!("seed {}", run.last.spec.seed));
        ui.label(run.method()).on_hover_text(format!(
            "learning rate {} (at the start {}), batch {}",
            run.last.config.learning_rate, run.first.config.learning_rate, run.last.config.batch_size
        ));
        ui.label(format!("{:.2}", run.epochs));
        ui.label(run.best_log_likelihood().map_or_else(|| "—".to_string(), |ll| format!("{ll:.2}")));
        ui.label(duration_text(run.training_seconds));
        if current {
            ui.add_enabled(false, egui::Button::new("Delete"))
                .on_disabled_hover_text("The current run cannot be deleted: Reset starts a new one");
        } else if ui.button("Delete").on_hover_text(format!("Forget {}", run.name)).clicked() {
            // The row's position in the table is the run's: the button's label is the same on each row.
            changes.push(RowChange::Deleted(id));
        }
        changes
    }
}

enum RowChange {
    Shown(u64, bool),
    Selected(u64, bool),
    Renamed(u64, String),
    Deleted(u64),
}

/// "1 h 02 min", "3 min 05 s", "12 s".
pub fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_units() {
        assert_eq!(duration_text(12.4), "12 s");
        assert_eq!(duration_text(185.0), "3 min 05 s");
        assert_eq!(duration_text(3720.0), "1 h 02 min");
    }
}
