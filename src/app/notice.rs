//! The message line above the views: what just happened, or what went wrong and what to do.

use super::RbmLabApp;

/// A message for the person, shown above the views until dismissed or replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

impl RbmLabApp {
    /// Shows `text` above the views (as an error when `is_error`), in place of the message there.
    pub(super) fn say(&mut self, text: impl Into<String>, is_error: bool) {
        self.notice = Some(Notice { text: text.into(), is_error });
    }

    /// The message with its dismiss button, if there is one.
    pub(super) fn notice_ui(&mut self, ui: &mut egui::Ui) {
        let Some(notice) = &self.notice else { return };
        let mut dismiss = false;
        let color = if notice.is_error { egui::Color32::from_rgb(220, 80, 60) } else { ui.visuals().text_color() };
        ui.horizontal(|ui| {
            ui.colored_label(color, &notice.text);
            dismiss = ui.small_button("x").on_hover_text("Dismiss this message").clicked();
        });
        if dismiss {
            self.notice = None;
        }
    }
}
