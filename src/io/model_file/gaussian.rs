//! The parts a Gaussian–Bernoulli model stores beside W, b and c ([`GaussianVisibles`]: the log
//! variances and the standardisation of the data), read and checked as saving checks them.

use safetensors::tensor::Metadata;

use super::ModelFileError::{self, BadMetadata, WrongShape};
use super::{DATA_MEAN, DATA_SCALE, LOG_VARIANCE, ModelMetadata};
use crate::io::container::f32_tensor;
use crate::model::gaussian::{Standardisation, VisibleType};

/// What a Gaussian–Bernoulli model stores beside W, b and c.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianVisibles {
    pub log_variance: Vec<f32>,
    pub standardisation: Standardisation,
}

/// The Gaussian model's tensors, each of shape [V], checked as saving checks them.
pub(super) fn read_gaussian(
    header: &Metadata,
    data: &[u8],
    n_visible: usize,
) -> Result<GaussianVisibles, ModelFileError> {
    let vector = |name: &'static str| -> Result<Vec<f32>, ModelFileError> {
        let (values, shape) = f32_tensor(header, data, name)?;
        if shape != [n_visible] {
            return Err(WrongShape {
                tensor: name,
                found: shape,
                expected: format!("[{n_visible}], one value per visible unit of the Gaussian model"),
            });
        }
        Ok(values)
    };
    let parts = GaussianVisibles {
        log_variance: vector(LOG_VARIANCE)?,
        standardisation: Standardisation { mean: vector(DATA_MEAN)?, scale: vector(DATA_SCALE)? },
    };
    Ok(parts)
}

/// A Gaussian model's parts are present exactly when its spec says Gaussian, with one finite log
/// variance per visible unit and a valid standardisation.
pub(super) fn check_gaussian(
    metadata: &ModelMetadata,
    gaussian: Option<&GaussianVisibles>,
    n_visible: usize,
) -> Result<(), ModelFileError> {
    match (metadata.spec.visible, gaussian) {
        (VisibleType::Binary, None) => Ok(()),
        (VisibleType::Binary, Some(_)) => {
            Err(BadMetadata("it says the visible units are binary but the model has Gaussian variances".into()))
        }
        (VisibleType::Gaussian, None) => {
            Err(BadMetadata("it says the visible units are Gaussian but the model has no variances".into()))
        }
        (VisibleType::Gaussian, Some(parts)) => {
            if parts.log_variance.len() != n_visible || !parts.log_variance.iter().all(|z| z.is_finite()) {
                return Err(BadMetadata(format!(
                    "the Gaussian model needs {n_visible} finite log variances (`{LOG_VARIANCE}`)"
                )));
            }
            if !parts.standardisation.is_valid_for(n_visible) {
                return Err(BadMetadata(format!(
                    "the Gaussian model's standardisation (`{DATA_MEAN}`, `{DATA_SCALE}`) needs {n_visible} finite \
                     means and scales of at least {}",
                    crate::model::gaussian::MIN_SCALE
                )));
            }
            Ok(())
        }
    }
}
