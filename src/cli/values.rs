//! The command line's names for the model's settings: `--sampling tutorial|bernoulli|probabilities`,
//! `--method cd|pcd|pt`, `--temperature-spacing geometric|linear`, `--lr-schedule constant|linear|exponential`, `--init xavier|hinton`. The
//! model's enums are the arguments' values themselves (no mirror enums to keep in step), and each
//! value's name and help are written once, here; the window names them in `app::labels`.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::model::{GradientMethod, Initialisation, LrSchedule, TemperatureSpacing, VisibleSampling, VisibleType};

/// Implements [`ValueEnum`] for a model enum from its `ALL` list and one name (and optional help
/// text) per variant; the match is exhaustive, so a new variant cannot go without a name.
macro_rules! command_line_names {
    ($setting:ident { $($variant:ident => $name:literal $(, $help:literal)?;)+ }) => {
        impl ValueEnum for $setting {
            fn value_variants<'a>() -> &'a [Self] {
                &$setting::ALL
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $($setting::$variant => PossibleValue::new($name)$(.help($help))?,)+
                })
            }
        }
    };
}

command_line_names!(VisibleSampling {
    NoisyMeanField => "tutorial", "The tutorial's noisy mean-field visibles";
    Bernoulli => "bernoulli", "Binary Gibbs sampling";
    Probabilities => "probabilities", "The probabilities p(v|h) themselves (Hinton's choice during learning)";
});

command_line_names!(GradientMethod {
    Cd => "cd", "Contrastive divergence (chains start at the data)";
    Pcd => "pcd", "Persistent contrastive divergence (fantasy particles)";
    Pt => "pt", "Parallel tempering (persistent chains at several temperatures that swap states)";
});

command_line_names!(TemperatureSpacing {
    Geometric => "geometric", "A constant ratio between neighbouring inverse temperatures";
    Linear => "linear", "Equal steps in inverse temperature";
});

command_line_names!(LrSchedule {
    Constant => "constant";
    Linear => "linear";
    Exponential => "exponential";
});

command_line_names!(VisibleType {
    Binary => "binary", "Binary visible units (the tutorial's model)";
    Gaussian => "gaussian", "Real-valued visibles with learned per-pixel variances (Gaussian–Bernoulli RBM)";
});

command_line_names!(Initialisation {
    Xavier => "xavier";
    Hinton => "hinton";
});

/// How `value` is written on the command line (e.g. `bernoulli`), for messages that name a flag's
/// value and for labels that read as the flag that gives them.
pub fn command_line_name(value: impl ValueEnum) -> String {
    value.to_possible_value().map(|possible| possible.get_name().to_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The settings' flags as `train` declares them.
    #[derive(Parser, Debug)]
    struct Flags {
        #[arg(long, value_enum)]
        sampling: Option<VisibleSampling>,
        #[arg(long, value_enum)]
        method: Option<GradientMethod>,
        #[arg(long, value_enum)]
        lr_schedule: Option<LrSchedule>,
        #[arg(long, value_enum)]
        init: Option<Initialisation>,
    }

    fn parse(args: &[&str]) -> Flags {
        Flags::try_parse_from(std::iter::once("rbm-lab").chain(args.iter().copied())).expect("parses")
    }

    #[test]
    fn every_value_has_its_command_line_name() {
        let sampling = |name| parse(&["--sampling", name]).sampling;
        assert_eq!(sampling("tutorial"), Some(VisibleSampling::NoisyMeanField));
        assert_eq!(sampling("bernoulli"), Some(VisibleSampling::Bernoulli));
        assert_eq!(sampling("probabilities"), Some(VisibleSampling::Probabilities));
        assert_eq!(parse(&["--method", "cd"]).method, Some(GradientMethod::Cd));
        assert_eq!(parse(&["--method", "pcd"]).method, Some(GradientMethod::Pcd));
        assert_eq!(parse(&["--method", "pt"]).method, Some(GradientMethod::Pt));
        let schedule = |name| parse(&["--lr-schedule", name]).lr_schedule;
        assert_eq!(schedule("constant"), Some(LrSchedule::Constant));
        assert_eq!(schedule("linear"), Some(LrSchedule::Linear));
        assert_eq!(schedule("exponential"), Some(LrSchedule::Exponential));
        assert_eq!(parse(&["--init", "xavier"]).init, Some(Initialisation::Xavier));
        assert_eq!(parse(&["--init", "hinton"]).init, Some(Initialisation::Hinton));
        assert!(Flags::try_parse_from(["rbm-lab", "--sampling", "noisy-mean-field"]).is_err());
    }

    #[test]
    fn names_round_trip_for_every_value_of_every_setting() {
        fn check<T: ValueEnum + PartialEq + std::fmt::Debug>() {
            for value in T::value_variants() {
                let name = command_line_name(value.clone());
                assert!(!name.is_empty(), "{value:?} has no name");
                assert_eq!(T::from_str(&name, false).as_ref(), Ok(value), "{name}");
            }
        }
        check::<VisibleSampling>();
        check::<GradientMethod>();
        check::<LrSchedule>();
        check::<Initialisation>();
        check::<TemperatureSpacing>();
        assert_eq!(command_line_name(VisibleSampling::Bernoulli), "bernoulli");
    }
}
