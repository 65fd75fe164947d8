//! The control panel: run state, hyperparameters (applied at the next batch) and the model's shape
//! and seed (applied on Reset).

use crate::model::{
    GradientMethod, Initialisation, LrSchedule, ModelSpec, TrainingConfig, VisibleSampling, VisibleType,
};
use crate::trainer::Command;

use super::labels;
use super::swap_plot::SwapHistory;

pub struct ControlPanel {
    /// What the sliders show; sent to the trainer whenever it differs from `sent`.
    pub config: TrainingConfig,
    sent: TrainingConfig,
    /// Shape and seed for the next Reset.
    pub spec: ModelSpec,
    /// Whether the trainer says it is training.
    pub running: bool,
    /// The trainer has died: nothing here can reach it (the window's banner says what to do).
    pub trainer_stopped: bool,
    /// Parallel tempering's swap rates as the trainer reported them over training.
    pub swap_history: SwapHistory,
    /// The visible units of the model training now (not of the next Reset's): a Gaussian model has
    /// no choice of visible sampling, noise or binary data.
    pub model_visible: VisibleType,
}

/// Why Start, Step and Reset are greyed out once the trainer has died.
const STOPPED_HINT: &str = "The trainer has stopped: save the last weights or restart it (see the message above)";

impl ControlPanel {
    pub fn new(config: TrainingConfig, spec: ModelSpec) -> Self {
        let model_visible = spec.visible;
        Self {
            sent: config.clone(),
            config,
            spec,
            running: false,
            trainer_stopped: false,
            swap_history: SwapHistory::default(),
            model_visible,
        }
    }

    /// The trainer changed the configuration itself (e.g. a model was loaded): show that.
    pub fn adopt_config(&mut self, config: TrainingConfig) {
        self.sent = config.clone();
        self.config = config;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, commands: &mut Vec<Command>) {
        ui.spacing_mut().slider_width = 120.0;
        ui.heading("Training");
        ui.horizontal(|ui| {
            let (label, hint) = if self.running {
                ("Pause", "Stop training after the current batch")
            } else {
                ("Start", "Train continuously on the training images")
            };
            let enabled = !self.trainer_stopped;
            if ui
                .add_enabled(enabled, egui::Button::new(label))
                .on_hover_text(hint)
                .on_disabled_hover_text(STOPPED_HINT)
                .clicked()
            {
                commands.push(if self.running { Command::Pause } else { Command::Start });
                self.running = !self.running;
            }
            if ui
                .add_enabled(enabled, egui::Button::new("Step"))
                .on_hover_text("Train exactly one batch, then pause")
                .on_disabled_hover_text(STOPPED_HINT)
                .clicked()
            {
                commands.push(Command::Step);
                self.running = false;
            }
        });
        ui.add_space(6.0);
        ui.label("Applied at the next batch:");
        // The model training now, not the next Reset's: a Gaussian one has no binary choices.
        let binary = self.model_visible == VisibleType::Binary;
        let c = &mut self.config;
        ui.add(egui::Slider::new(&mut c.learning_rate, 1e-5..=10.0).logarithmic(true).text("learning rate"))
            .on_hover_text("Step size of each update (tutorial: 0.005); too large and training diverges");
        ui.add(egui::Slider::new(&mut c.k, 1..=50).text("CD-k"))
            .on_hover_text("Gibbs steps between the data and the negative sample (tutorial: 10)");
        if binary {
            ui.add_enabled(
                c.sampling == VisibleSampling::NoisyMeanField,
                egui::Slider::new(&mut c.noise_std, 0.0..=1.0).text("noise"),
            )
            .on_hover_text("Std. dev. of the Gaussian noise added to the visibles in the tutorial's chain (0.1)");
        }
        ui.add(egui::Slider::new(&mut c.batch_size, 1..=1024).logarithmic(true).text("batch size"))
            .on_hover_text("Images per update (tutorial: 64)");
        if binary {
            egui::ComboBox::from_label("visibles")
                .selected_text(labels::sampling(c.sampling))
                .show_ui(ui, |ui| {
                    for mode in VisibleSampling::ALL {
                        ui.selectable_value(&mut c.sampling, mode, labels::sampling(mode));
                    }
                })
                .response
                .on_hover_text(
                    "Tutorial: sigmoid + Gaussian noise (not a true Gibbs sampler). Bernoulli: binary samples",
                );
        } else {
            ui.label("visibles: Gaussian, drawn from N(b + W h, σ²)").on_hover_text(
                "This model's pixels are real-valued with learned variances; the binary models' choices \
                 (tutorial noise, Bernoulli samples, probabilities, binary data) do not apply to it",
            );
        }
        let mut recipe_chosen = false;
        ui.horizontal(|ui| {
            if ui
                .button("Tutorial defaults")
                .on_hover_text("lr 0.005, k 10, noise 0.1, batch 64, tutorial visibles")
                .clicked()
            {
                *c = TrainingConfig::default();
            }
            if ui
                .button("Quality recipe")
                .on_hover_text(
                    "Centered PCD-1 on binary data, lr 0.01 decaying to 0.0002 over 650 epochs, batch 100; Reset uses Hinton initialisation",
                )
                .clicked()
            {
                *c = TrainingConfig::quality_recipe();
                recipe_chosen = true;
            }
        });
        if recipe_chosen {
            // The recipe starts from Hinton's initialisation: the next Reset uses it.
            self.spec.initialisation = Initialisation::Hinton;
        }
        let c = &mut self.config;
        let swaps = &self.swap_history;
        egui::CollapsingHeader::new("Method").default_open(false).show(ui, |ui| method_ui(ui, c, swaps, binary));
        if self.config != self.sent && self.config.validate().is_ok() {
            self.sent = self.config.clone();
            commands.push(Command::SetConfig(self.config.clone()));
        }

        ui.separator();
        ui.label("Applied on Reset:");
        let s = &mut self.spec;
        ui.add(egui::Slider::new(&mut s.n_hidden, 1..=2000).logarithmic(true).text("hidden units"))
            .on_hover_text("Number of hidden units of the new model (tutorial: 256)");
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut s.seed).range(0..=u64::MAX)).on_hover_text(
                "Fixes initialisation, shuffling and sampling: the same seed and settings give the same run",
            );
            ui.label("seed");
        });
        egui::ComboBox::from_label("initialisation")
            .selected_text(labels::initialisation(s.initialisation))
            .show_ui(ui, |ui| {
                for initialisation in Initialisation::ALL {
                    ui.selectable_value(&mut s.initialisation, initialisation, labels::initialisation(initialisation));
                }
            })
            .response
            .on_hover_text("Xavier: W ~ N(0, 2/(V+H)), zero biases. Hinton: W ~ N(0, 0.01²), b_v = logit(pixel means)");
        egui::ComboBox::from_label("visible units")
            .selected_text(visible_type_name(s.visible))
            .show_ui(ui, |ui| {
                for visible in VisibleType::ALL {
                    ui.selectable_value(&mut s.visible, visible, visible_type_name(visible));
                }
            })
            .response
            .on_hover_text(
                "Binary: pixels are on/off units (every method). Gaussian: real-valued pixels, standardised per \
                 pixel, with learned variances (CD or PCD, no momentum, centering or sparsity; lr about 0.001). \
                 Its loss is the mean squared reconstruction error",
            );
        let mut with_labels = s.label_classes > 0;
        ui.checkbox(&mut with_labels, "label units").on_hover_text(
            "A classification RBM: one softmax unit per class beside the pixels, trained on each image with its \
             label (plain CD or PCD). The Quality tab then measures its accuracy and the chains can draw one class",
        );
        // The trainer sets the count to the training set's classes on Reset.
        s.label_classes = if with_labels { s.label_classes.max(1) } else { 0 };
        if ui
            .add_enabled(!self.trainer_stopped, egui::Button::new("Reset model"))
            .on_hover_text("Start over with a new model of this size and seed")
            .on_disabled_hover_text(STOPPED_HINT)
            .clicked()
        {
            commands.push(Command::Reset(self.spec.clone()));
        }
    }
}

/// The methods beyond the tutorial's CD (all off by default); `binary`: the model's visible units
/// are binary, so that drawing binary data applies.
fn method_ui(ui: &mut egui::Ui, c: &mut TrainingConfig, swaps: &SwapHistory, binary: bool) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut c.method, GradientMethod::Cd, "CD")
            .on_hover_text("Contrastive divergence: each chain starts at its data vector");
        ui.selectable_value(&mut c.method, GradientMethod::Pcd, "PCD")
            .on_hover_text("Persistent CD: fantasy particles carry on between updates (Tieleman 2008)");
        ui.selectable_value(&mut c.method, GradientMethod::Pt, "PT").on_hover_text(
            "Parallel tempering: each particle is a ladder of persistent chains at several temperatures \
                 that swap states (Desjardins et al. 2010); costs about one PCD update per temperature",
        );
    });
    if matches!(c.method, GradientMethod::Pcd | GradientMethod::Pt) {
        ui.add(egui::Slider::new(&mut c.pcd_particles, 0..=2000).logarithmic(true).text("particles"))
            .on_hover_text("Number of persistent chains (PT: ladders); 0 means as many as the batch size");
    }
    if c.method == GradientMethod::Pt {
        ui.add(egui::Slider::new(&mut c.temperatures, 1..=30).text("temperatures"))
            .on_hover_text("Chains per particle, one per inverse temperature from 1 down to the lowest");
        ui.add(egui::Slider::new(&mut c.min_beta, 0.05..=1.0).text("lowest β"))
            .on_hover_text("The hottest chain's inverse temperature (0.5: half-way to the pixels' base rates)");
        // Beside the ladder's settings, so that the effect of a change shows where it is made.
        swaps.ui(ui);
    }
    ui.add(egui::Slider::new(&mut c.momentum, 0.0..=0.99).text("momentum"))
        .on_hover_text("Momentum after the warm-up (0 = none; Hinton's guide: 0.9)");
    if c.momentum > 0.0 {
        ui.add(egui::Slider::new(&mut c.initial_momentum, 0.0..=0.99).text("initial momentum"))
            .on_hover_text("Momentum during the first epochs (Hinton's guide: 0.5)");
        ui.add(egui::Slider::new(&mut c.momentum_warmup_epochs, 0.0..=50.0).text("warm-up epochs"))
            .on_hover_text("Epochs with the initial momentum");
    }
    ui.add(egui::Slider::new(&mut c.weight_decay, 0.0..=0.01).logarithmic(true).text("weight decay"))
        .on_hover_text("L2 penalty on the weights (not the biases), e.g. 0.0002");
    ui.add(egui::Slider::new(&mut c.sparsity_cost, 0.0..=10.0).logarithmic(true).text("sparsity cost"))
        .on_hover_text("Strength of the push of each hidden unit's mean activation towards the target");
    if c.sparsity_cost > 0.0 {
        ui.add(egui::Slider::new(&mut c.sparsity_target, 0.001..=0.5).logarithmic(true).text("sparsity target"))
            .on_hover_text("Desired mean activation of each hidden unit");
    }
    ui.checkbox(&mut c.centering, "centering")
        .on_hover_text("Centered gradients with moving-average offsets (Melchior, Fischer & Wiskott 2016)");
    if binary {
        ui.checkbox(&mut c.binarize_data, "binary data")
            .on_hover_text("Train on binary images: each pixel drawn from its intensity at every batch");
    }
    egui::ComboBox::from_label("lr schedule")
        .selected_text(labels::lr_schedule(c.lr_schedule))
        .show_ui(ui, |ui| {
            for schedule in LrSchedule::ALL {
                ui.selectable_value(&mut c.lr_schedule, schedule, labels::lr_schedule(schedule));
            }
        })
        .response
        .on_hover_text("How the learning rate falls over the planned epochs");
    if c.lr_schedule != LrSchedule::Constant {
        ui.add(egui::Slider::new(&mut c.planned_epochs, 1.0..=1000.0).logarithmic(true).text("planned epochs"))
            .on_hover_text("Length of the schedule");
        ui.add(egui::Slider::new(&mut c.final_lr_fraction, 0.0..=1.0).text("final lr fraction"))
            .on_hover_text("Learning rate at the end, as a fraction of the learning rate");
    }
}

fn visible_type_name(visible: VisibleType) -> &'static str {
    match visible {
        VisibleType::Binary => "binary",
        VisibleType::Gaussian => "Gaussian",
    }
}
