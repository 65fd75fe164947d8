//! The Quality tab's likelihood plot: the test and training-subset figures of each evaluation
//! against epochs, with log Z's ±3σ bars, RAISE's bands and earlier runs' test figures.
//!
//! A binary model's log-likelihoods of binarised images and a Gaussian model's log densities of
//! real-valued images are different quantities: the plot shows one kind at a time (the current
//! model's), and says how many evaluations and runs of the other kind it leaves out.

use egui_plot::{Legend, Line, Plot, PlotPoints, Points};

use super::QualityView;
use crate::quality::Evaluation;

/// One evaluation's RAISE band in the log-likelihood plot: between RAISE's stochastic lower bound
/// and the estimate from AIS's log Z, both on the same test images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RaiseBand {
    pub epoch: f64,
    pub images: usize,
    pub raise_bound: f64,
    pub ais_estimate: f64,
}

impl QualityView {
    /// The bands the log-likelihood plot draws, one per evaluation with a RAISE bound.
    pub fn raise_bands(&self) -> Vec<RaiseBand> {
        self.evaluations
            .iter()
            .filter_map(|e| {
                let r = e.raise.as_ref()?;
                Some(RaiseBand {
                    epoch: e.epoch,
                    images: r.images,
                    raise_bound: r.bound,
                    ais_estimate: r.log_z_estimate,
                })
            })
            .collect()
    }

    /// The plot of the evaluations of one kind: log densities when `densities`, else
    /// log-likelihoods.
    pub(super) fn likelihood_plot(&self, ui: &mut egui::Ui, densities: bool) {
        ui.vertical(|ui| {
            if densities {
                ui.label("Average log-density, nats, of the test images' [0, 1] intensities; bars: ±3σ of AIS")
                    .on_hover_text(
                        "A Gaussian–Bernoulli model's density of real-valued images: not comparable with a binary \
                         model's log-likelihood of binarised images, which this plot leaves out",
                    );
            } else {
                ui.label("Average log-likelihood (nats) of binarised images; bars: ±3σ of AIS").on_hover_text(
                    "With RAISE on, a wide pale band per evaluation joins RAISE's lower bound (upward triangle) \
                     and AIS's estimate (downward triangle) on the same test images: the true value most likely \
                     lies between them. RAISE above AIS means the schedule is too short for either to be trusted \
                     (RAISE then bounds the annealed model, not the RBM): use the paper's schedule",
                );
            }
            let shown: Vec<&Evaluation> = self.evaluations.iter().filter(|e| e.is_density() == densities).collect();
            let runs = self.run_overlays.iter().filter(|r| r.density == densities);
            let left_out = (self.evaluations.len() - shown.len(), self.run_overlays.len() - runs.clone().count());
            if left_out != (0, 0) {
                let other = if densities { "binary models' log-likelihoods" } else { "Gaussian models' log densities" };
                ui.weak(format!(
                    "Not shown: {} evaluations and {} runs of {other} (a different quantity)",
                    left_out.0, left_out.1
                ));
            }
            let (test_name, train_name) =
                if densities { ("test log-density", "train subset log-density") } else { ("test", "train subset") };
            let test: Vec<[f64; 2]> = shown.iter().map(|e| [e.epoch, e.test_log_likelihood]).collect();
            let train: Vec<[f64; 2]> = shown.iter().map(|e| [e.epoch, e.train_log_likelihood]).collect();
            let plot = Plot::new("likelihood_plot")
                .legend(Legend::default().position(egui_plot::Corner::RightBottom))
                .x_axis_label("epoch")
                .y_axis_label(if densities { "log-density, nats" } else { "log-likelihood, nats" });
            self.render.show_plot(ui, plot, |plot| {
                for run in runs {
                    let points = PlotPoints::Borrowed(&run.points);
                    plot.points(Points::new(run.name.as_str(), points).radius(3.0).color(run.color));
                    plot.line(Line::new(run.name.as_str(), PlotPoints::Borrowed(&run.points)).color(run.color));
                }
                plot.points(Points::new(test_name, PlotPoints::from(test.clone())).radius(4.0).color(TEST_COLOUR));
                plot.line(Line::new(test_name, PlotPoints::from(test)).color(TEST_COLOUR));
                plot.points(Points::new(train_name, PlotPoints::from(train)).radius(3.0).color(TRAIN_COLOUR));
                for e in &shown {
                    let (low, high) = e.test_interval();
                    if low.is_finite() && high.is_finite() {
                        plot.line(
                            Line::new(test_name, PlotPoints::from(vec![[e.epoch, low], [e.epoch, high]]))
                                .width(2.0)
                                .color(TEST_COLOUR),
                        );
                    }
                }
                if !densities {
                    raise_bands(plot, &self.raise_bands());
                }
            });
        });
    }
}

// Each series has one colour, given here: egui_plot would give every item of a series (points,
// line, interval bars) a colour of its own, and the legend would show only the first.
const TEST_COLOUR: egui::Color32 = egui::Color32::from_rgb(90, 150, 230);
const TRAIN_COLOUR: egui::Color32 = egui::Color32::from_rgb(110, 190, 110);
const RAISE_COLOUR: egui::Color32 = egui::Color32::from_rgb(230, 160, 60);
const AIS_SAME_IMAGES_COLOUR: egui::Color32 = egui::Color32::from_rgb(190, 120, 220);

/// RAISE's bands and their ends, drawn into `plot`.
fn raise_bands(plot: &mut egui_plot::PlotUi<'_>, bands: &[RaiseBand]) {
    let band_color = RAISE_COLOUR.gamma_multiply(0.35);
    for band in bands {
        let name = format!("RAISE–AIS band ({} images)", band.images);
        let ends = vec![[band.epoch, band.raise_bound], [band.epoch, band.ais_estimate]];
        plot.line(Line::new(name, PlotPoints::from(ends)).width(10.0).color(band_color));
    }
    let ends = |f: fn(&RaiseBand) -> f64| -> Vec<[f64; 2]> { bands.iter().map(|b| [b.epoch, f(b)]).collect() };
    if !bands.is_empty() {
        plot.points(
            Points::new("RAISE: lower bound", PlotPoints::from(ends(|b| b.raise_bound)))
                .shape(egui_plot::MarkerShape::Up)
                .radius(5.0)
                .color(RAISE_COLOUR),
        );
        plot.points(
            Points::new("AIS: estimate, same images", PlotPoints::from(ends(|b| b.ais_estimate)))
                .shape(egui_plot::MarkerShape::Down)
                .radius(5.0)
                .color(AIS_SAME_IMAGES_COLOUR),
        );
    }
}
