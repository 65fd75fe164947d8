//! The loss plot: per-batch L1 and per-epoch means against epochs, with a marker wherever the
//! hyperparameters changed. The history is decimated so memory stays bounded over hours.

use egui_plot::{Legend, Line, Plot, PlotPoint, PlotPoints, Points, Text, VLine};

use crate::model::TrainingConfig;
use crate::trainer::LossPoint;

/// Above this many plotted points, neighbours are merged pairwise (and later batches averaged
/// twice as many at a time). 20k points is far more than a plot's width in pixels.
const MAX_BATCH_POINTS: usize = 20_000;
const MAX_MARKERS: usize = 500;

/// A hyperparameter change, drawn as a vertical line.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigMarker {
    pub epoch: f64,
    pub label: String,
}

/// Per-batch losses, averaged over `stride` batches per stored point once the history is long.
#[derive(Default)]
pub struct LossHistory {
    points: Vec<PlotPoint>,
    stride: usize,
    bucket_sum: (f64, f64),
    bucket_len: usize,
    epoch_means: Vec<PlotPoint>,
    markers: Vec<ConfigMarker>,
    total_batches: u64,
    max_loss: f64,
}

impl LossHistory {
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    pub fn push(&mut self, point: LossPoint) {
        self.total_batches += 1;
        self.max_loss = self.max_loss.max(point.loss as f64);
        let stride = self.stride.max(1);
        self.bucket_sum.0 += point.epoch;
        self.bucket_sum.1 += point.loss as f64;
        self.bucket_len += 1;
        if self.bucket_len >= stride {
            let n = self.bucket_len as f64;
            self.points.push(PlotPoint::new(self.bucket_sum.0 / n, self.bucket_sum.1 / n));
            self.bucket_sum = (0.0, 0.0);
            self.bucket_len = 0;
        }
        if self.points.len() > MAX_BATCH_POINTS {
            self.points = self
                .points
                .chunks(2)
                .map(|pair| {
                    let n = pair.len() as f64;
                    PlotPoint::new(pair.iter().map(|p| p.x).sum::<f64>() / n, pair.iter().map(|p| p.y).sum::<f64>() / n)
                })
                .collect();
            self.stride = stride * 2;
        }
    }

    pub fn push_epoch_mean(&mut self, epoch: usize, mean: f64) {
        // At the middle of the epoch it averages.
        self.epoch_means.push(PlotPoint::new(epoch as f64 + 0.5, mean));
    }

    /// Records a change at `epoch`. With `merge`, the change replaces the last marker (the app
    /// merges the stream of changes from one slider drag into one marker).
    pub fn push_marker(&mut self, epoch: f64, label: String, merge: bool) {
        if merge && let Some(last) = self.markers.last_mut() {
            last.label = label;
            return;
        }
        if self.markers.len() >= MAX_MARKERS {
            self.markers.remove(0);
        }
        self.markers.push(ConfigMarker { epoch, label });
    }

    pub fn batch_points(&self) -> &[PlotPoint] {
        &self.points
    }
    pub fn epoch_means(&self) -> &[PlotPoint] {
        &self.epoch_means
    }
    pub fn markers(&self) -> &[ConfigMarker] {
        &self.markers
    }
    /// How many batches each stored point averages.
    pub fn stride(&self) -> usize {
        self.stride.max(1)
    }
    pub fn total_batches(&self) -> u64 {
        self.total_batches
    }
    /// The largest plotted loss (0 when empty).
    pub fn max_loss(&self) -> f64 {
        self.max_loss
    }
}

/// A short description of what changed between two configurations, for the marker's label.
pub fn describe_change(old: &TrainingConfig, new: &TrainingConfig) -> String {
    let mut parts = Vec::new();
    if old.learning_rate != new.learning_rate {
        parts.push(format!("lr {:.2e}", new.learning_rate));
    }
    if old.k != new.k {
        parts.push(format!("k {}", new.k));
    }
    if old.noise_std != new.noise_std {
        parts.push(format!("noise {:.2}", new.noise_std));
    }
    if old.batch_size != new.batch_size {
        parts.push(format!("batch {}", new.batch_size));
    }
    if old.sampling != new.sampling {
        parts.push(new.sampling.cli_name().to_string());
    }
    if parts.is_empty() { "settings".to_string() } else { parts.join(", ") }
}

#[derive(Default)]
pub struct LossPlotView {
    pub history: LossHistory,
}

impl LossPlotView {
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let history = &self.history;
        let batches = if history.stride() > 1 {
            format!("batch L1 (mean of {} batches)", history.stride())
        } else {
            "batch L1".to_string()
        };
        Plot::new("loss_plot")
            .legend(Legend::default())
            .x_axis_label("epoch")
            .y_axis_label("L1 reconstruction loss")
            .include_y(0.0)
            .include_x(0.0)
            .include_x(if history.batch_points().is_empty() { 1.0 } else { 0.0 })
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new(batches, PlotPoints::Borrowed(history.batch_points())).width(1.0));
                if !history.epoch_means().is_empty() {
                    plot.line(Line::new("epoch mean", PlotPoints::Borrowed(history.epoch_means())).width(2.0));
                    plot.points(Points::new("epoch mean", PlotPoints::Borrowed(history.epoch_means())).radius(3.0));
                }
                // One legend entry for all changes; each line carries its own label at the top.
                let color = egui::Color32::from_rgb(200, 150, 40);
                // At the data's top: a position from the plot's bounds would grow them every frame.
                let top = history.max_loss();
                for marker in history.markers() {
                    plot.vline(VLine::new("settings changed", marker.epoch).color(color));
                    plot.text(
                        Text::new("settings changed", PlotPoint::new(marker.epoch, top), marker.label.clone())
                            .anchor(egui::Align2::LEFT_TOP)
                            .color(color),
                    );
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_stays_bounded_and_keeps_the_mean() {
        let mut h = LossHistory::default();
        let n = 3 * MAX_BATCH_POINTS + 17;
        for i in 0..n {
            h.push(LossPoint { epoch: i as f64, loss: 1.0 });
        }
        assert!(h.batch_points().len() <= MAX_BATCH_POINTS);
        assert!(h.stride() >= 2);
        assert_eq!(h.total_batches(), n as u64);
        assert!(h.batch_points().iter().all(|p| (p.y - 1.0).abs() < 1e-12));
        let xs: Vec<f64> = h.batch_points().iter().map(|p| p.x).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "x stays increasing after merging");
    }

    #[test]
    fn merged_markers_keep_the_latest_label() {
        let mut h = LossHistory::default();
        h.push_marker(1.0, "lr 1".into(), false);
        h.push_marker(1.001, "lr 2".into(), true);
        h.push_marker(2.0, "k 3".into(), false);
        assert_eq!(h.markers().len(), 2);
        assert_eq!(h.markers()[0].label, "lr 2");
    }
}
