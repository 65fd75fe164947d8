//! The loss plot: per-batch L1 and per-epoch means against epochs, with a marker wherever the
//! hyperparameters changed. The history is decimated so memory stays bounded over hours.

use std::ops::RangeInclusive;

use egui::Color32;
use egui::epaint::{TessellationOptions, Tessellator};
use egui_plot::{
    Legend, Line, Plot, PlotBounds, PlotGeometry, PlotItem, PlotItemBase, PlotPoint, PlotPoints, PlotTransform, Points,
    Text, VLine,
};

use super::software_render::Render;
use crate::cli::command_line_name;
use crate::decimate::merge_pairs;
use crate::model::TrainingConfig;
use crate::trainer::LossPoint;

/// Above this many plotted points, neighbours are merged pairwise (and later batches averaged
/// twice as many at a time). 20k points is far more than a plot's width in pixels.
pub const MAX_BATCH_POINTS: usize = 20_000;
pub const MAX_MARKERS: usize = 500;
/// Per-epoch means are merged the same way past this many (years of epochs at any realistic speed,
/// but nothing else bounds them).
pub const MAX_EPOCH_MEANS: usize = 5_000;

/// The mean of one or two neighbouring points (x and y), for [`merge_pairs`].
fn average_points(pair: &[PlotPoint]) -> PlotPoint {
    let n = pair.len() as f64;
    PlotPoint::new(pair.iter().map(|p| p.x).sum::<f64>() / n, pair.iter().map(|p| p.y).sum::<f64>() / n)
}

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
            self.points = merge_pairs(&self.points, average_points);
            self.stride = stride * 2;
        }
    }

    pub fn push_epoch_mean(&mut self, epoch: usize, mean: f64) {
        // At the middle of the epoch it averages.
        self.epoch_means.push(PlotPoint::new(epoch as f64 + 0.5, mean));
        if self.epoch_means.len() > MAX_EPOCH_MEANS {
            self.epoch_means = merge_pairs(&self.epoch_means, average_points);
        }
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

    /// A history as it was kept (a session): the stored points, each averaging `stride` batches,
    /// the epoch means and the markers. Each list keeps at most its limit (its newest entries);
    /// the batches of a partly filled average were not kept and start a new one.
    pub fn restore(
        &mut self,
        points: Vec<PlotPoint>,
        stride: usize,
        epoch_means: Vec<PlotPoint>,
        markers: Vec<ConfigMarker>,
        total_batches: u64,
    ) {
        fn newest<T>(mut list: Vec<T>, limit: usize) -> Vec<T> {
            list.drain(..list.len().saturating_sub(limit));
            list
        }
        let points: Vec<PlotPoint> = newest(points, MAX_BATCH_POINTS);
        let max_loss = points.iter().map(|p| p.y).fold(0.0, f64::max);
        *self = Self {
            points,
            stride: stride.max(1),
            epoch_means: newest(epoch_means, MAX_EPOCH_MEANS),
            markers: newest(markers, MAX_MARKERS),
            total_batches,
            max_loss,
            ..Self::default()
        };
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
        parts.push(command_line_name(new.sampling));
    }
    if parts.is_empty() { "settings".to_string() } else { parts.join(", ") }
}

/// The points to draw for a line over `x_range` drawn `columns` pixels wide: at most each pixel
/// column's lowest and highest point (in x order), plus the neighbours just outside the range so
/// the line runs on to the edges. The picture is the same as drawing every point, from a fraction
/// of the segments: thousands of segments a frame are what a software renderer spends its time on.
/// `points` must be sorted by x.
pub fn pixel_envelope(points: &[PlotPoint], x_range: (f64, f64), columns: usize) -> Vec<PlotPoint> {
    let (x0, x1) = x_range;
    let first = points.partition_point(|p| p.x < x0).saturating_sub(1);
    let end = (points.partition_point(|p| p.x <= x1) + 1).min(points.len());
    let visible = &points[first..end.max(first)];
    let columns = columns.max(1);
    if visible.len() <= 2 * columns || x1 <= x0 {
        return visible.to_vec();
    }
    let scale = columns as f64 / (x1 - x0);
    let column_of = |x: f64| ((x - x0) * scale).floor().clamp(-1.0, columns as f64) as i64;
    let mut out = Vec::with_capacity(2 * columns + 4);
    let mut column = column_of(visible[0].x);
    let (mut low, mut high) = (0, 0);
    let flush = |low: usize, high: usize, out: &mut Vec<PlotPoint>| {
        let (a, b) = if low <= high { (low, high) } else { (high, low) };
        out.push(visible[a]);
        if b != a {
            out.push(visible[b]);
        }
    };
    for (i, p) in visible.iter().enumerate().skip(1) {
        let c = column_of(p.x);
        if c != column {
            flush(low, high, &mut out);
            column = c;
            (low, high) = (i, i);
        } else if p.y < visible[low].y {
            low = i;
        } else if p.y > visible[high].y {
            high = i;
        }
    }
    flush(low, high, &mut out);
    out
}

#[derive(Default)]
pub struct LossPlotView {
    pub history: LossHistory,
    /// How the plot's background is drawn.
    pub render: Render,
    /// The x-range and pixel width the plot had last frame, for [`pixel_envelope`].
    last_view: Option<((f64, f64), usize)>,
    /// Earlier runs' loss curves drawn under this run's, each named after its run.
    pub overlays: Vec<super::runs::RunSeries>,
    /// The names of the lines drawn last frame, in order.
    drawn: Vec<String>,
    /// The model has Gaussian visibles: its loss is the squared reconstruction error, not L1.
    pub squared_error: bool,
}

impl LossPlotView {
    /// The names of the lines the plot drew in its last frame: earlier runs' overlays first,
    /// then this run's batch line.
    pub fn drawn_series(&self) -> &[String] {
        &self.drawn
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let history = &self.history;
        let all = history.batch_points();
        let shown = match (self.last_view, all.first(), all.last()) {
            (Some((range, columns)), _, _) => pixel_envelope(all, range, columns),
            (None, Some(a), Some(b)) => pixel_envelope(all, (a.x, b.x), ui.available_width() as usize),
            _ => Vec::new(),
        };
        let (loss, axis) = if self.squared_error {
            ("batch squared error", "squared reconstruction error")
        } else {
            ("batch L1", "L1 reconstruction loss")
        };
        let batches = if history.stride() > 1 {
            format!("{loss} (mean of {} batches)", history.stride())
        } else {
            loss.to_string()
        };
        let plot = Plot::new("loss_plot")
            .legend(Legend::default())
            .x_axis_label("epoch")
            .y_axis_label(axis)
            .include_y(0.0)
            .include_x(0.0)
            .include_x(if all.is_empty() { 1.0 } else { 0.0 })
            .allow_scroll(false);
        // The colours are egui_plot's first three automatic ones.
        let batch_line = Line::new(batches.clone(), PlotPoints::Borrowed(&shown)).width(1.0).color(series_color(0));
        let plain = super::look::is_light_look(ui.ctx());
        let overlays: Vec<(&super::runs::RunSeries, Vec<PlotPoint>)> = self
            .overlays
            .iter()
            .map(|run| {
                let shown = match self.last_view {
                    Some((range, columns)) => pixel_envelope(&run.points, range, columns),
                    None => run.points.clone(),
                };
                (run, shown)
            })
            .collect();
        let mut drawn = Vec::new();
        let response = self.render.show_plot(ui, plot, |plot| {
            for (run, shown) in &overlays {
                plot.line(Line::new(run.name.as_str(), PlotPoints::Borrowed(shown)).width(1.5).color(run.color));
                drawn.push(run.name.clone());
            }
            drawn.push(batches.clone());
            if plain {
                plot.add(NotAntiAliased(batch_line));
            } else {
                plot.line(batch_line);
            }
            if !history.epoch_means().is_empty() {
                let means = PlotPoints::Borrowed(history.epoch_means());
                plot.line(Line::new("epoch mean", means).width(2.0).color(series_color(1)));
                let means = PlotPoints::Borrowed(history.epoch_means());
                plot.points(Points::new("epoch mean", means).radius(3.0).color(series_color(2)));
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
        self.drawn = drawn;
        let bounds = response.transform.bounds();
        let (x0, x1) = (*bounds.range_x().start(), *bounds.range_x().end());
        self.last_view = Some(((x0, x1), response.transform.frame().width().max(1.0) as usize));
    }
}

/// egui_plot's automatic colour for its `index`th series.
fn series_color(index: usize) -> Color32 {
    let hue = (index as f32 * (std::f32::consts::GOLDEN_RATIO - 1.0)).fract();
    egui::ecolor::Hsva::new(hue, 0.85, 0.5, 1.0).into()
}

/// In the light look: a plot item drawn as its shapes tessellated without feathering (egui's
/// anti-aliasing: a one-pixel fading band on each edge of every line, three times the triangles).
/// The batch line is a pixel envelope of hundreds of segments, the most triangles of any shape in
/// the window, and a software renderer's cost follows the triangles; plain edges are the look's
/// trade, as its square corners are. Hover and legend work as for the item itself.
struct NotAntiAliased<I>(I);

impl<I: PlotItem> PlotItem for NotAntiAliased<I> {
    fn shapes(&self, ui: &egui::Ui, transform: &PlotTransform, shapes: &mut Vec<egui::Shape>) {
        let mut own = Vec::new();
        self.0.shapes(ui, transform, &mut own);
        let ctx = ui.ctx();
        let options = TessellationOptions { feathering: false, ..ctx.tessellation_options(|o| *o) };
        let font_size = ctx.fonts(|fonts| fonts.font_image_size());
        let mut tessellator = Tessellator::new(ctx.pixels_per_point(), options, font_size, Vec::new());
        for shape in own {
            let mut mesh = egui::Mesh::default();
            tessellator.tessellate_shape(shape, &mut mesh);
            if !mesh.is_empty() {
                shapes.push(egui::Shape::mesh(mesh));
            }
        }
    }

    fn initialize(&mut self, x_range: RangeInclusive<f64>) {
        self.0.initialize(x_range);
    }

    fn color(&self) -> Color32 {
        self.0.color()
    }

    fn geometry(&self) -> PlotGeometry<'_> {
        self.0.geometry()
    }

    fn find_closest(&self, point: egui::Pos2, transform: &PlotTransform) -> Option<egui_plot::ClosestElem> {
        self.0.find_closest(point, transform)
    }

    fn bounds(&self) -> PlotBounds {
        self.0.bounds()
    }

    fn base(&self) -> &PlotItemBase {
        self.0.base()
    }

    fn base_mut(&mut self) -> &mut PlotItemBase {
        self.0.base_mut()
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
    fn epoch_means_stay_bounded_and_keep_their_mean() {
        let mut h = LossHistory::default();
        let n = 3 * MAX_EPOCH_MEANS + 5;
        for epoch in 0..n {
            h.push_epoch_mean(epoch, 2.0);
        }
        let means = h.epoch_means();
        assert!(means.len() <= MAX_EPOCH_MEANS, "{} epoch means kept", means.len());
        assert!(means.len() > MAX_EPOCH_MEANS / 4, "thinned too far: {}", means.len());
        assert!(means.iter().all(|p| (p.y - 2.0).abs() < 1e-12));
        assert!(means.windows(2).all(|w| w[0].x < w[1].x), "x stays increasing after merging");
        assert_eq!(means.last().map(|p| p.x), Some(n as f64 - 0.5), "the newest epoch is kept as it is");
    }

    #[test]
    fn pixel_envelope_keeps_each_columns_extremes() {
        // A noisy line: 10,000 points over x in [0, 10), drawn 100 pixels wide.
        let points: Vec<PlotPoint> =
            (0..10_000).map(|i| PlotPoint::new(i as f64 / 1000.0, ((i * 7919) % 101) as f64 / 100.0)).collect();
        let shown = pixel_envelope(&points, (0.0, 10.0), 100);
        assert!(shown.len() <= 2 * 100 + 4, "{} points", shown.len());
        assert!(shown.windows(2).all(|w| w[0].x <= w[1].x), "x order kept");
        for column in 0..100 {
            let inside: Vec<&PlotPoint> = points.iter().filter(|p| (p.x * 10.0).floor() as usize == column).collect();
            let lowest = inside.iter().map(|p| p.y).fold(f64::INFINITY, f64::min);
            let highest = inside.iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
            let drawn: Vec<f64> =
                shown.iter().filter(|p| (p.x * 10.0).floor() as usize == column).map(|p| p.y).collect();
            assert!(drawn.contains(&lowest) && drawn.contains(&highest), "column {column}");
        }
        // Zoomed in: only the visible range, with one neighbour on each side.
        let zoomed = pixel_envelope(&points, (2.0, 2.1), 1000);
        assert_eq!(zoomed.first().map(|p| p.x), Some(1.999));
        assert_eq!(zoomed.last().map(|p| p.x), Some(2.101));
        assert_eq!(zoomed.len(), 103);
        // Few points: all of them.
        assert_eq!(pixel_envelope(&points[..50], (0.0, 0.05), 100), points[..50].to_vec());
        assert!(pixel_envelope(&[], (0.0, 1.0), 100).is_empty());
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
