//! The chains view of a model with label units in the window (egui_kittest, a real trainer
//! thread): "one per class" clamps chain i to class i mod C and shows one column per class under
//! the class's name, named by the dataset (Fashion-MNIST's clothing names here), and the start
//! images are named by the dataset too.

mod common;
mod played;

use std::sync::Arc;
use std::time::Duration;

use played::step_until;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use rbm_lab::app::RbmLabApp;
use rbm_lab::app::chains::ChainView;
use rbm_lab::data::Dataset;
use rbm_lab::data::known::FASHION_MNIST_CLASSES;
use rbm_lab::model::ModelSpec;
use rbm_lab::trainer::{ChainClamp, TrainerOptions};

/// MNIST images under Fashion-MNIST's name: the names of the classes come from the dataset's name.
fn fashion_named() -> Arc<Dataset> {
    let mut dataset = (*common::mnist_slice(300, 100)).clone();
    dataset.name = "Fashion-MNIST".to_string();
    Arc::new(dataset)
}

fn labelled_lab(chains: usize) -> Harness<'static, RbmLabApp> {
    let options = TrainerOptions {
        spec: ModelSpec { n_hidden: 16, seed: 3, label_classes: 10, ..ModelSpec::default() },
        config: common::labelled_config(),
        start_running: false,
        chains_running: false,
        chain_count: chains,
        publish_interval: Duration::from_millis(10),
        ..TrainerOptions::default()
    };
    let dataset = fashion_named();
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| RbmLabApp::new(&cc.egui_ctx, dataset, options).expect("trainer thread"))
}

/// The combo box showing `value` (egui's combo boxes carry their choice as their value).
fn click_combo(harness: &Harness<'static, RbmLabApp>, value: &str) {
    let combo = harness.get_all_by_role(Role::ComboBox).find(|node| node.value().as_deref() == Some(value));
    combo.unwrap_or_else(|| panic!("no combo box showing {value}")).click();
}

fn combo_values(harness: &Harness<'static, RbmLabApp>) -> Vec<String> {
    harness.get_all_by_role(Role::ComboBox).filter_map(|node| node.value()).collect()
}

#[test]
fn one_per_class_shows_a_column_under_each_class_name() {
    let mut harness = labelled_lab(20);
    step_until(&mut harness, "a model with label units and its chains", |app| {
        app.chains.label_classes == 10 && app.chains.snapshot().is_some()
    });
    harness.run_steps(2);
    // The start images are named by the dataset: these are not digits.
    let values = combo_values(&harness);
    assert!(values.iter().any(|v| v == "test images") && !values.iter().any(|v| v.contains("digits")), "{values:?}");
    assert!(harness.query_by_label("Trouser").is_none(), "no class names while the label is free");

    click_combo(&harness, "any");
    harness.run_steps(2);
    harness.get_by_label("one per class").click();
    step_until(&mut harness, "chains clamped one per class", |app| {
        app.chains.snapshot().is_some_and(|s| s.clamp == ChainClamp::EachClass && s.label_classes == 10)
    });
    harness.run_steps(2);
    for name in FASHION_MNIST_CLASSES {
        harness.get_by_label(name);
    }
    // The names stand left to right in class order, above the picture's columns.
    let lefts: Vec<f32> = FASHION_MNIST_CLASSES.iter().map(|name| harness.get_by_label(name).rect().min.x).collect();
    assert!(lefts.windows(2).all(|pair| pair[0] < pair[1]), "{lefts:?}");
    // Twenty chains of ten classes: two pairs of rows (start, now) of ten columns, chain i in
    // column i mod 10.
    let snapshot = harness.state().chains.snapshot().expect("chains").clone();
    let image = ChainView::render(&snapshot);
    assert_eq!((image.width, image.height), (10 * 29 + 1, 4 * 29 + 1));

    // A single class again: its name in the combo box, no columns of names.
    click_combo(&harness, "one per class");
    harness.run_steps(2);
    // The choice in the open list (the column of that name is a label).
    let choice = harness.get_all_by_label("Trouser").find(|node| node.accesskit_node().role() != Role::Label);
    choice.expect("Trouser in the list").click();
    step_until(&mut harness, "chains clamped to Trouser", |app| {
        app.chains.snapshot().is_some_and(|s| s.clamp == ChainClamp::Class(1))
    });
    harness.run_steps(2);
    assert!(harness.query_by_label("Ankle boot").is_none());
    assert_eq!(combo_values(&harness).iter().filter(|v| *v == "Trouser").count(), 1);
    assert_eq!(ChainView::render(harness.state().chains.snapshot().expect("chains")).width, 10 * 29 + 1);
}
