//! placeholder
#[derive(Default)]
pub struct ToyExplorer;

impl ToyExplorer {
    /// Temporary stub so the crate builds until the toy view lands.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        ui.label("Toy RBM explorer: coming");
    }
}
