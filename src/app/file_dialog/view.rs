//! Drawing the dialog: the modal, the path field, the listing and its rows.

use egui::accesskit::Role;

use super::listing::human_size;
use super::{DialogAnswer, Entry, FileDialog, MAX_ENTRIES, PathKind, home_folder};

impl FileDialog {
    /// Draws the dialog over the window; returns its answer once the person has given one.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<DialogAnswer> {
        let ctx = ui.ctx().clone();
        let modal = egui::Modal::new(egui::Id::unique("rbm_file_dialog")).show(&ctx, |ui| self.contents(ui));
        let mut answer = modal.inner;
        // Escape: first the replace question, then the dialog. The backdrop is not a way out: a
        // stray click beside a file dialog should not throw away what was typed.
        if answer.is_none() && modal.is_top_modal && ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
            if self.confirm_overwrite.take().is_some() {
                self.focus_path = true;
            } else {
                answer = Some(DialogAnswer::Cancelled);
            }
        }
        answer
    }

    fn contents(&mut self, ui: &mut egui::Ui) -> Option<DialogAnswer> {
        const WIDTH: f32 = 620.0;
        let mut answer = None;
        ui.set_width(WIDTH);
        ui.heading(&self.request.title);
        ui.add_space(4.0);

        ui.horizontal(|ui| {
            let up = ui
                .add_enabled(self.folder.parent().is_some(), egui::Button::new("Parent folder"))
                .on_hover_text("Go to the folder that contains this one");
            if up.clicked() {
                self.go_up();
            }
            if ui.button("Home").on_hover_text("Go to your home folder").clicked()
                && let Some(home) = home_folder()
            {
                self.enter(&home);
            }
            ui.add(egui::Label::new(egui::RichText::new(self.folder.display().to_string()).strong()).truncate())
                .on_hover_text("The folder shown below");
        });
        ui.add_space(4.0);

        let field_id = egui::Id::unique("rbm_file_dialog_path");
        ui.horizontal(|ui| {
            let label = ui.label("Path");
            let width = ui.available_width();
            let output = egui::TextEdit::singleline(&mut self.path_text)
                .id(field_id)
                .desired_width(width)
                .hint_text("a full path, or a name in the folder shown")
                .show(ui);
            let response = output.response.response.labelled_by(label.id);
            if self.focus_path {
                self.focus_path = false;
                response.request_focus();
                let mut state = output.state;
                let end = egui::text::CCursor::new(self.path_text.chars().count());
                state.cursor.set_char_range(Some(egui::text::CCursorRange::two(egui::text::CCursor::new(0), end)));
                state.store(ui.ctx(), field_id);
            }
            if response.changed() {
                self.error = None;
                self.confirm_overwrite = None;
                self.selected = None;
            }
            if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                answer = self.submit();
                if answer.is_none() && self.confirm_overwrite.is_none() {
                    self.focus_path = true;
                }
            }
        });
        ui.add_space(6.0);

        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 8.0;
        let list_height = 14.0 * row_height;
        egui::Frame::new()
            .fill(ui.visuals().extreme_bg_color)
            .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
            .inner_margin(egui::Margin::same(2))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.set_min_height(list_height);
                if self.listing.entries.is_empty() {
                    ui.add_space(8.0);
                    ui.horizontal(|ui| {
                        ui.add_space(8.0);
                        ui.weak(match self.request.kind {
                            PathKind::OpenFolder => "No folders here".to_string(),
                            _ if self.request.extensions.is_empty() => "This folder is empty".to_string(),
                            _ => format!("No folders or {} here", self.request.filter_name),
                        });
                    });
                    return;
                }
                // One scroll position per folder: a folder just entered shows its first entries.
                egui::ScrollArea::vertical()
                    .id_salt(("rbm_file_dialog_list", &self.folder))
                    .max_height(list_height)
                    .min_scrolled_height(list_height)
                    .show_rows(ui, row_height, self.listing.entries.len(), |ui, rows| {
                        ui.spacing_mut().item_spacing.y = 0.0;
                        let mut clicked = None;
                        let mut opened = None;
                        for index in rows {
                            let entry = &self.listing.entries[index];
                            let selected = !entry.is_folder && self.selected.as_deref() == Some(entry.name.as_str());
                            let response = entry_row(ui, entry, selected, row_height);
                            // The second click of a double click opens the file the first one
                            // picked. On any other row it is ignored: its first click entered a
                            // folder, and the row now under the pointer was never aimed at.
                            if response.double_clicked() {
                                if selected {
                                    opened = Some(index);
                                }
                            } else if response.clicked() {
                                clicked = Some(index);
                            }
                        }
                        if let Some(index) = clicked {
                            self.click_entry(index);
                        }
                        if let Some(index) = opened {
                            self.click_entry(index);
                            answer = self.submit();
                        }
                    });
            });

        ui.add_space(4.0);
        ui.add(egui::Label::new(egui::RichText::new(self.listing_note()).weak()).wrap());
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        ui.add_space(6.0);
        ui.separator();

        if let Some(existing) = self.confirm_overwrite.clone() {
            let name = existing.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new(format!("{name} already exists in this folder. Replace it?"))
                        .color(ui.visuals().warn_fg_color),
                );
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Replace").on_hover_text("Write over the existing file").clicked() {
                        answer = Some(DialogAnswer::Chosen(existing.clone()));
                    }
                    if ui.button("Keep it").on_hover_text("Go back and choose another name").clicked() {
                        self.confirm_overwrite = None;
                        self.focus_path = true;
                    }
                });
            });
        } else {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let action = match self.request.kind {
                    PathKind::OpenFolder => "Open folder",
                    PathKind::OpenFile => "Open",
                    PathKind::SaveFile => "Save",
                };
                if ui.button(action).clicked() {
                    answer = self.submit();
                }
                if ui.button("Cancel").clicked() {
                    answer = Some(DialogAnswer::Cancelled);
                }
            });
        }
        answer
    }

    /// What the listing shows and leaves out, in one line.
    fn listing_note(&self) -> String {
        let mut note = match self.request.kind {
            PathKind::OpenFolder => "Folders".to_string(),
            _ if self.request.extensions.is_empty() => "Folders and all files".to_string(),
            _ => format!(
                "Folders and {} ({})",
                self.request.filter_name,
                self.request.extensions.iter().map(|e| format!("*.{e}")).collect::<Vec<_>>().join(", ")
            ),
        };
        match self.listing.filtered_out {
            0 => {}
            1 => note.push_str("; 1 other file not shown"),
            n => note.push_str(&format!("; {n} other files not shown")),
        }
        if self.listing.truncated {
            note.push_str(&format!(
                ". Only the first {MAX_ENTRIES} entries of this large folder are listed: type a name to reach others"
            ));
        }
        note
    }
}

/// One listing row, the full width: icon, name, and a file's size on the right.
fn entry_row(ui: &mut egui::Ui, entry: &Entry, selected: bool, height: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(ui.available_width(), height), egui::Sense::click());
    let role = if entry.is_folder { Role::Button } else { Role::ListBoxOption };
    response.widget_info(|| egui::WidgetInfo::selected(role, true, selected, &entry.name));
    if ui.is_rect_visible(rect) {
        let visuals = ui.visuals();
        if selected {
            ui.painter().rect_filled(rect, 0.0, visuals.selection.bg_fill);
        } else if response.hovered() {
            ui.painter().rect_filled(rect, 0.0, visuals.widgets.hovered.weak_bg_fill);
        }
        let text_color = if selected { visuals.selection.stroke.color } else { visuals.text_color() };
        let font = egui::TextStyle::Body.resolve(ui.style());
        let left = rect.left() + 8.0;
        let painter = ui.painter_at(rect);
        let icon = egui::Rect::from_center_size(egui::pos2(left + 8.0, rect.center().y), egui::vec2(16.0, 14.0));
        if entry.is_folder {
            folder_icon(&painter, icon);
        } else {
            file_icon(&painter, icon, visuals.weak_text_color());
        }
        let name = if entry.is_folder { format!("{}/", entry.name) } else { entry.name.clone() };
        painter.text(
            egui::pos2(left + 24.0, rect.center().y),
            egui::Align2::LEFT_CENTER,
            name,
            font.clone(),
            text_color,
        );
        if let Some(size) = entry.size {
            let weak = if selected { text_color } else { visuals.weak_text_color() };
            painter.text(
                egui::pos2(rect.right() - 10.0, rect.center().y),
                egui::Align2::RIGHT_CENTER,
                human_size(size),
                font,
                weak,
            );
        }
    }
    response
}

/// A folder drawn in `rect` (a card with a tab), in the colour file managers give folders. Drawn
/// rather than taken from a font: egui's own fonts have no folder or file symbols.
fn folder_icon(painter: &egui::Painter, rect: egui::Rect) {
    let color = egui::Color32::from_rgb(196, 160, 82);
    let body = egui::Rect::from_min_max(egui::pos2(rect.left(), rect.top() + 3.0), rect.max - egui::vec2(0.0, 1.0));
    let tab = egui::Rect::from_min_size(egui::pos2(rect.left(), rect.top() + 1.0), egui::vec2(7.0, 3.0));
    painter.rect_filled(tab, 1.0, color);
    painter.rect_filled(body, 1.5, color);
}

/// A page with a folded corner, outlined, for a file.
fn file_icon(painter: &egui::Painter, rect: egui::Rect, color: egui::Color32) {
    let (l, t, b) = (rect.left() + 3.0, rect.top(), rect.bottom());
    let r = l + 10.0;
    let fold = 3.5;
    let outline = vec![
        egui::pos2(l, t),
        egui::pos2(r - fold, t),
        egui::pos2(r, t + fold),
        egui::pos2(r, b),
        egui::pos2(l, b),
        egui::pos2(l, t),
    ];
    let stroke = egui::Stroke::new(1.0, color);
    painter.add(egui::Shape::line(outline, stroke));
    painter.add(egui::Shape::line(
        vec![egui::pos2(r - fold, t), egui::pos2(r - fold, t + fold), egui::pos2(r, t + fold)],
        stroke,
    ));
}
