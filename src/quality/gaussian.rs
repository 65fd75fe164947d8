//! The full evaluation of a Gaussian–Bernoulli model, for the window's Quality tab and
//! `rbm-lab eval` alike: log Z exactly for at most [`MAX_EXACT_HIDDEN`] hidden units, else by AIS
//! from the model without weights; then the average log density of the test images and of a
//! training subset of the same size, in nats, on the standardised data the model sees and on the
//! [0, 1] intensities (the standardised density plus ln |Jacobian| = −Σ ln s_i, see
//! [`Standardisation::log_jacobian`]).
//!
//! These are densities of real-valued images, not probabilities of binarised ones: they are not
//! comparable with a binary model's log-likelihood (see docs/quality.md, "Gaussian–Bernoulli RBM").

use std::time::Instant;

use super::evaluation::{Evaluation, EvaluationSettings, rows_to_evaluate};
use crate::data::{Dataset, ImageSet};
use crate::model::Threads;
use crate::model::ais::AisConfig;
use crate::model::eval::EvalError;
use crate::model::gaussian::{
    GaussianRbm, MAX_EXACT_HIDDEN, Standardisation, exact_log_z, free_energies, gaussian_ais_log_z,
};

/// Images standardised and scored at a time: the memory an evaluation uses does not grow with the
/// number of images it averages over.
const CHUNK_IMAGES: usize = 256;

/// The standardised figures of a Gaussian model's evaluation; its [`Evaluation`]'s
/// `test_log_likelihood` and `train_log_likelihood` are then log densities on the [0, 1]
/// intensities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianDensity {
    /// Average log density of the test images as the model sees them (standardised), in nats.
    pub test_standardised: f64,
    /// The same for the training subset.
    pub train_standardised: f64,
}

impl EvaluationSettings {
    /// [`EvaluationSettings::validate`], and, when log Z of a Gaussian model with `n_hidden`
    /// hidden units is estimated by AIS, its state within [`crate::limits::MAX_AIS_STATE_VALUES`].
    /// RAISE's settings are not used for a Gaussian model (RAISE is implemented for binary ones).
    pub fn validate_for_gaussian(&self, n_visible: usize, n_hidden: usize) -> Result<(), EvalError> {
        let settings = EvaluationSettings { raise_images: 0, ..self.clone() };
        if n_hidden <= MAX_EXACT_HIDDEN { settings.validate() } else { settings.validate_for(n_visible, n_hidden) }
    }
}

/// Evaluates the Gaussian `model`, whose data is standardised with `standardisation`, reporting
/// progress in [0, 1]; `progress` returning false cancels. `settings.seed` seeds the AIS runs.
///
/// The settings (against the limits, for this model), the standardisation's width, the dataset's
/// image size and that both sets have images are checked before any work. More images than a set
/// holds means all of it.
///
/// # Errors
/// [`EvalError`] for bad settings, a model that does not fit the images, empty sets, a model with
/// non-finite parameters, or [`EvalError::Cancelled`].
pub fn evaluate_gaussian(
    model: &GaussianRbm,
    standardisation: &Standardisation,
    dataset: &Dataset,
    epoch: f64,
    settings: &EvaluationSettings,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Evaluation, EvalError> {
    let started = Instant::now();
    crate::model::SubnormalMode::configured().apply_here();
    let (n_visible, n_hidden) = (model.n_visible(), model.n_hidden());
    settings.validate_for_gaussian(n_visible, n_hidden)?;
    if standardisation.width() != n_visible {
        return Err(EvalError::Shape {
            what: "the model's standardisation",
            expected: n_visible,
            got: standardisation.width(),
        });
    }
    let (test_rows, train_rows) = rows_to_evaluate(dataset, n_visible, settings.images)?;
    let threads = Threads(settings.threads);
    let (log_z, low, high, exact, runs, betas) = if n_hidden <= MAX_EXACT_HIDDEN {
        let log_z = exact_log_z(model, threads)?;
        (log_z, log_z, log_z, true, 0, 0)
    } else {
        let config = AisConfig { runs: settings.runs, schedule: settings.schedule()?, seed: settings.seed, threads };
        let ais = gaussian_ais_log_z(model, &config, progress)?;
        (ais.log_z, ais.log_z_low, ais.log_z_high, false, ais.runs, ais.betas)
    };
    let test_standardised = average_log_density(model, standardisation, &dataset.test, test_rows, log_z, threads);
    let train_standardised = average_log_density(model, standardisation, &dataset.train, train_rows, log_z, threads);
    let jacobian = standardisation.log_jacobian();
    Ok(Evaluation {
        epoch,
        n_hidden,
        log_z,
        log_z_low: low,
        log_z_high: high,
        exact,
        test_log_likelihood: test_standardised + jacobian,
        train_log_likelihood: train_standardised + jacobian,
        images: test_rows,
        runs,
        betas,
        seconds: started.elapsed().as_secs_f64(),
        raise: None,
        gaussian: Some(GaussianDensity { test_standardised, train_standardised }),
    })
}

/// The first `count` images of `set` (or all), standardised.
pub fn standardised_images(set: &ImageSet, standardisation: &Standardisation, count: usize) -> Vec<f32> {
    let nv = set.pixels_per_image;
    let count = count.min(set.count);
    let mut data = vec![0.0; count * nv];
    data.chunks_exact_mut(nv.max(1)).enumerate().for_each(|(i, row)| set.image_f32(i, row));
    standardisation.apply(&mut data);
    data
}

/// −mean F(x) − log Z over the first `rows` images of `set`, standardised: the average log density
/// of the standardised images, in nats. The free energies are summed in image order, [`CHUNK_IMAGES`]
/// images standardised at a time, so that the result is the same for any chunking and thread count.
fn average_log_density(
    model: &GaussianRbm,
    standardisation: &Standardisation,
    set: &ImageSet,
    rows: usize,
    log_z: f64,
    threads: Threads,
) -> f64 {
    let nv = set.pixels_per_image;
    let mut chunk = vec![0.0f32; CHUNK_IMAGES.min(rows) * nv];
    let mut total = 0.0f64;
    for first in (0..rows).step_by(CHUNK_IMAGES) {
        let count = CHUNK_IMAGES.min(rows - first);
        let data = &mut chunk[..count * nv];
        data.chunks_exact_mut(nv).enumerate().for_each(|(i, row)| set.image_f32(first + i, row));
        standardisation.apply(data);
        for energy in free_energies(model, data, count, threads) {
            total += energy;
        }
    }
    -total / rows as f64 - log_z
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageArray;
    use crate::model::Rbm;
    use crate::model::gaussian::average_log_likelihood;

    fn tiny_dataset(count: usize) -> Dataset {
        let pixels = (0..count * 4).map(|i| (i * 53 % 256) as u8).collect();
        let images = ImageArray { count, rows: 2, cols: 2, pixels };
        Dataset::from_arrays("tiny", images, vec![0; count], None).unwrap()
    }

    fn tiny_model(n_hidden: usize) -> GaussianRbm {
        let rbm = Rbm::from_parameters(
            4,
            n_hidden,
            (0..4 * n_hidden).map(|i| (i as f32 * 0.7).sin() * 0.3).collect(),
            vec![0.1, -0.2, 0.0, 0.3],
            (0..n_hidden).map(|j| j as f32 * 0.1 - 0.2).collect(),
        )
        .unwrap();
        GaussianRbm::from_parts(rbm, vec![0.0, -0.5, 0.2, -0.1]).unwrap()
    }

    #[test]
    fn chunked_densities_equal_the_whole_set_at_once() {
        // More images than a chunk, and a last chunk that is not full.
        let dataset = tiny_dataset(2 * CHUNK_IMAGES + 7);
        let model = tiny_model(3);
        let standardisation = Standardisation { mean: vec![0.3, 0.5, 0.4, 0.2], scale: vec![0.2, 0.3, 0.1, 0.5] };
        let settings = EvaluationSettings { images: 10_000, ..EvaluationSettings::default() };
        let e = evaluate_gaussian(&model, &standardisation, &dataset, 1.5, &settings, &mut |_| true).unwrap();
        let rows = dataset.test.count;
        assert_eq!(e.images, rows);
        let whole = standardised_images(&dataset.test, &standardisation, rows);
        let log_z = exact_log_z(&model, Threads(1)).unwrap();
        let expected = average_log_likelihood(&model, &whole, rows, log_z, Threads(1)).unwrap();
        let density = e.gaussian.expect("a Gaussian evaluation");
        assert_eq!(density.test_standardised, expected);
        assert_eq!(e.test_log_likelihood, expected + standardisation.log_jacobian());
        assert!(e.exact && e.log_z == log_z && e.raise.is_none());
    }

    #[test]
    fn a_model_that_does_not_fit_the_images_is_refused_before_any_work() {
        let dataset = tiny_dataset(10);
        let model = tiny_model(3);
        let narrow = Standardisation::identity(3);
        let settings = EvaluationSettings::default();
        let mut asked = false;
        let error = evaluate_gaussian(&model, &narrow, &dataset, 0.0, &settings, &mut |_| {
            asked = true;
            true
        });
        assert!(matches!(error, Err(EvalError::Shape { expected: 4, got: 3, .. })), "{error:?}");
        assert!(!asked);
    }
}
