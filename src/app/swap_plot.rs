//! Parallel tempering's swap acceptance over training, a line per neighbouring pair of the ladder,
//! for the Method section: a pair whose line sits near 0 is where the ladder is too coarse (states
//! no longer travel between the hot and the cold chains), a ladder that works keeps every line
//! well above it (Desjardins et al. 2010 aim at rates of about 0.2 or more).

use egui_plot::{Line, Plot, PlotPoints};

use crate::decimate::merge_pairs;

/// Keeps the history bounded: the older half is merged pairwise beyond this many points.
pub const MAX_SWAP_POINTS: usize = 500;

/// The swap rates of every pair at one moment of training.
#[derive(Clone, Debug, PartialEq)]
pub struct SwapPoint {
    pub epoch: f64,
    /// Coldest pair first.
    pub rates: Vec<f64>,
}

/// The swap rates as training went on, and the ladder they belong to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SwapHistory {
    pub points: Vec<SwapPoint>,
    /// The ladder's inverse temperatures, 1 first (empty when unknown).
    pub betas: Vec<f64>,
}

impl SwapHistory {
    /// Records the rates the trainer reported at `epoch` for the ladder `betas`. Rates of a ladder
    /// with another number of pairs start the history over (its pairs are other pairs); a report
    /// at the same position as the last (training paused) adds nothing.
    pub fn push(&mut self, epoch: f64, betas: &[f64], rates: &[f64]) {
        if rates.is_empty() {
            return;
        }
        if self.points.last().is_some_and(|p| p.rates.len() != rates.len()) {
            self.points.clear();
        }
        if betas.len() == rates.len() + 1 {
            self.betas = betas.to_vec();
        } else if self.betas.len() != rates.len() + 1 {
            self.betas.clear();
        }
        if self.points.last().is_some_and(|p| p.epoch >= epoch) {
            return;
        }
        if self.points.len() >= MAX_SWAP_POINTS {
            let half = self.points.len() / 2;
            let mut kept = merge_pairs(&self.points[..half], average_points);
            kept.extend_from_slice(&self.points[half..]);
            self.points = kept;
        }
        self.points.push(SwapPoint { epoch, rates: rates.to_vec() });
    }

    pub fn clear(&mut self) {
        self.points.clear();
        self.betas.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// One line per pair as the plot draws it: the pair's name and its (epoch, rate) points.
    pub fn series(&self) -> Vec<(String, Vec<[f64; 2]>)> {
        let pairs = self.points.last().map_or(0, |p| p.rates.len());
        (0..pairs)
            .map(|k| {
                let points = self.points.iter().filter_map(|p| p.rates.get(k).map(|&r| [p.epoch, r])).collect();
                (self.pair_name(k), points)
            })
            .collect()
    }

    /// "β 1.00–0.93" for pair `k` when the ladder is known, "pair k+1" otherwise.
    fn pair_name(&self, k: usize) -> String {
        match (self.betas.get(k), self.betas.get(k + 1)) {
            (Some(cold), Some(hot)) => format!("β {cold:.2}–{hot:.2}"),
            _ => format!("pair {}", k + 1),
        }
    }

    /// The pair with the lowest latest rate: its name and rate.
    pub fn weakest_pair(&self) -> Option<(String, f64)> {
        let rates = &self.points.last()?.rates;
        let (k, &rate) = rates.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
        Some((self.pair_name(k), rate))
    }

    /// The plot: rates in [0, 1] against epochs, cold pairs blue, hot pairs red.
    pub fn ui(&self, ui: &mut egui::Ui) {
        let series = self.series();
        if series.is_empty() {
            return;
        }
        ui.label("swap acceptance per neighbouring pair").on_hover_text(
            "How often neighbouring temperatures exchanged states lately (a running average), \
             coldest pair blue, hottest red. Lines near 0 mean the ladder is too coarse there: \
             add temperatures or raise the lowest β",
        );
        let count = series.len().max(2) - 1;
        let plot = Plot::new("swap_rate_plot")
            .height(110.0)
            .include_y(0.0)
            .include_y(1.0)
            .allow_scroll(false)
            .x_axis_label("epoch");
        plot.show(ui, |plot| {
            for (k, (name, points)) in series.into_iter().enumerate() {
                let hot = k as f32 / count as f32;
                let color = egui::Color32::from_rgb((60.0 + 190.0 * hot) as u8, 110, (240.0 - 180.0 * hot) as u8);
                plot.line(Line::new(name, PlotPoints::from(points)).color(color));
            }
        });
        if let Some((name, rate)) = self.weakest_pair() {
            ui.label(format!("lowest now: {name} at {rate:.2}"));
        }
    }
}

/// The mean of one or two neighbouring points, epoch and every pair's rate, for [`merge_pairs`].
fn average_points(pair: &[SwapPoint]) -> SwapPoint {
    let n = pair.len() as f64;
    let pairs = pair.iter().map(|p| p.rates.len()).min().unwrap_or(0);
    SwapPoint {
        epoch: pair.iter().map(|p| p.epoch).sum::<f64>() / n,
        rates: (0..pairs).map(|k| pair.iter().map(|p| p.rates[k]).sum::<f64>() / n).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_per_line_named_by_its_temperatures() {
        let mut history = SwapHistory::default();
        history.push(0.1, &[1.0, 0.8, 0.5], &[0.6, 0.2]);
        history.push(0.2, &[1.0, 0.8, 0.5], &[0.5, 0.1]);
        // Paused: the same position again adds nothing.
        history.push(0.2, &[1.0, 0.8, 0.5], &[0.5, 0.1]);
        let series = history.series();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0], ("β 1.00–0.80".to_string(), vec![[0.1, 0.6], [0.2, 0.5]]));
        assert_eq!(series[1], ("β 0.80–0.50".to_string(), vec![[0.1, 0.2], [0.2, 0.1]]));
        assert_eq!(history.weakest_pair(), Some(("β 0.80–0.50".to_string(), 0.1)));
    }

    #[test]
    fn a_ladder_of_another_length_starts_over() {
        let mut history = SwapHistory::default();
        history.push(0.1, &[1.0, 0.8, 0.5], &[0.6, 0.2]);
        history.push(0.2, &[1.0, 0.9, 0.7, 0.5], &[0.7, 0.6, 0.5]);
        assert_eq!(history.points.len(), 1);
        assert_eq!(history.series().len(), 3);
        // Betas that do not fit the rates (the ladder changed, the sampler not yet): pairs unnamed.
        history.push(0.3, &[1.0, 0.5], &[0.7, 0.6, 0.5]);
        assert_eq!(history.series()[0].0, "β 1.00–0.90");
        history.push(0.4, &[1.0, 0.5], &[0.7, 0.6]);
        assert_eq!(history.series()[0].0, "pair 1");
    }

    #[test]
    fn a_long_history_merges_its_older_half() {
        let mut history = SwapHistory::default();
        for i in 0..MAX_SWAP_POINTS {
            history.push(i as f64, &[1.0, 0.5], &[(i % 2) as f64]);
        }
        history.push(MAX_SWAP_POINTS as f64, &[1.0, 0.5], &[1.0]);
        let half = MAX_SWAP_POINTS / 2;
        assert_eq!(history.points.len(), half / 2 + half + 1);
        assert_eq!(history.points[0], SwapPoint { epoch: 0.5, rates: vec![0.5] });
        assert!(history.points.windows(2).all(|w| w[0].epoch < w[1].epoch));
    }
}
