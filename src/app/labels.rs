//! The names the window shows for the model's settings, one per value. The command line has its
//! own spellings (`cli::command_line_name`), which the loss plot's markers use.

use crate::model::{Initialisation, LrSchedule, VisibleSampling};

/// How the visibles are produced, as the training controls and the chains' control name it.
pub fn sampling(sampling: VisibleSampling) -> &'static str {
    match sampling {
        VisibleSampling::NoisyMeanField => "Tutorial (mean-field + noise)",
        VisibleSampling::Bernoulli => "Bernoulli (binary Gibbs)",
        VisibleSampling::Probabilities => "Probabilities (mean-field)",
    }
}

pub fn initialisation(initialisation: Initialisation) -> &'static str {
    match initialisation {
        Initialisation::Xavier => "Xavier (tutorial)",
        Initialisation::Hinton => "Hinton",
    }
}

pub fn lr_schedule(schedule: LrSchedule) -> &'static str {
    match schedule {
        LrSchedule::Constant => "constant",
        LrSchedule::Linear => "linear decay",
        LrSchedule::Exponential => "exponential decay",
    }
}
