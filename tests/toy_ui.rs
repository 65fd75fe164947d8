//! The toy explorer tab driven through egui_kittest, by label and role, plus snapshots.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use rbm_lab::toy::{ToyExplorer, ToyRbm};

/// The tab at the size it gets inside the app window.
fn harness() -> Harness<'static, ToyExplorer> {
    Harness::builder()
        .with_size(egui::vec2(1000.0, 700.0))
        .build_ui_state(|ui, toy: &mut ToyExplorer| toy.ui(ui), ToyExplorer::default())
}

/// Labels of the table rows on screen, top to bottom.
fn table_rows(harness: &Harness<'_, ToyExplorer>) -> Vec<String> {
    let mut rows: Vec<(f32, String)> = harness
        .get_all_by_role(Role::Row)
        .filter_map(|node| {
            let label = node.accesskit_node().label()?;
            Some((node.rect().top(), label))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    rows.into_iter().map(|(_, label)| label).collect()
}

/// The label a table row carries for `state` under `rbm`.
fn row_label(rbm: &ToyRbm, state: u32) -> String {
    let e = rbm.enumerate();
    format!(
        "{} score {:.3} probability {:.4}",
        rbm.state_name(state),
        e.scores[state as usize],
        e.probabilities[state as usize]
    )
}

fn most_likely(rbm: &ToyRbm) -> u32 {
    let e = rbm.enumerate();
    (0..rbm.n_states() as u32)
        .max_by(|&x, &y| e.probabilities[x as usize].total_cmp(&e.probabilities[y as usize]))
        .expect("at least one state")
}

#[test]
fn editing_a_weight_changes_the_table() {
    let mut harness = harness();
    harness.run();
    harness.get_by_label("Probability").click();
    harness.run();

    let tutorial = ToyRbm::tutorial();
    let acd = 0b01101; // A, C and D on
    let rows = table_rows(&harness);
    assert_eq!(rows[0], row_label(&tutorial, acd), "ACD tops the tutorial's table");
    assert!(rows[1].starts_with("BE score"), "then BE: {rows:?}");

    // A dislikes apples now: ACD should fall and another scenario take the top.
    harness.get_by_role_and_label(Role::SpinButton, "Weight A–D").set_value_accesskit(-2.0);
    harness.run();

    let mut edited = tutorial.clone();
    edited.set_weight(0, 0, -2.0);
    assert_eq!(harness.state().model(), &edited);
    let rows = table_rows(&harness);
    assert_ne!(rows[0], row_label(&tutorial, acd));
    assert_eq!(rows[0], row_label(&edited, most_likely(&edited)));
    assert!(rows[0].starts_with("BE score"), "BE now on top: {rows:?}");
    assert!(!rows.iter().any(|r| r.starts_with("ACD score 1.500")), "the old ACD row is gone: {rows:?}");
    // Z follows the edit too.
    let z = edited.enumerate().partition_function();
    harness.get_by_label(&format!("Z = {z:.4}"));
}

#[test]
fn sorting_by_score_and_back_to_the_tutorial_order() {
    let mut harness = harness();
    harness.run();
    let rows = table_rows(&harness);
    let names: Vec<&str> = rows.iter().filter_map(|r| r.split(' ').next()).collect();
    assert_eq!(&names[..7], ["None", "A", "B", "C", "D", "E", "AB"]);

    harness.get_by_label("Score").click();
    harness.run();
    let rows = table_rows(&harness);
    assert!(rows[0].starts_with("ACD "), "{rows:?}");
    assert!(rows[1].starts_with("BE "), "{rows:?}");

    // A second click reverses.
    harness.get_by_label("Score").click();
    harness.run();
    let rows = table_rows(&harness);
    assert!(!rows[0].starts_with("ACD "), "{rows:?}");

    harness.get_by_label("Scenario").click();
    harness.run();
    assert!(table_rows(&harness)[0].starts_with("None "));
}

#[test]
fn step_and_epoch_train_the_model_and_lower_kl() {
    let mut harness = harness();
    harness.run();
    let kl_before = harness.state().kl();
    harness.get_by_label("Step").click();
    harness.run();
    assert_ne!(harness.state().model(), &ToyRbm::tutorial());
    for _ in 0..20 {
        harness.get_by_label("Epoch").click();
        harness.run();
    }
    let kl_after = harness.state().kl();
    assert!(kl_after < kl_before, "KL {kl_before} -> {kl_after}");
    harness.get_by_label(&format!("KL(data || model) = {kl_after:.4}"));
}

#[test]
fn runs_keep_going_only_while_running() {
    let mut harness = harness();
    harness.run();
    harness.get_by_label("Run chain").click();
    harness.run_steps(4);
    let sweeps = harness.state().chain().steps();
    assert!(sweeps >= 1000, "{sweeps} sweeps after 4 frames");
    assert!(harness.state().is_running());
    harness.get_by_label("Stop chain").click();
    // Idle again: `run` settles instead of hitting its step limit.
    harness.run();
    assert!(!harness.state().is_running());

    harness.get_by_label("Run").click();
    harness.run_steps(3);
    assert!(harness.state().is_running());
    harness.get_by_label("Stop").click();
    harness.run();
    assert!(!harness.state().is_running());
    assert_ne!(harness.state().model(), &ToyRbm::tutorial());
}

#[test]
fn a_bad_dataset_row_is_explained() {
    let mut harness = harness();
    harness.run();
    // The section sits below the fold of the controls' scroll area at 1000 x 700.
    harness.get_by_label("Size and data").scroll_to_me();
    harness.run();
    harness.get_by_label("Size and data").click();
    harness.run();
    let field = harness.get_by_label("Data rows (3 digits each, first digit = A):");
    field.scroll_to_me();
    harness.run();
    let field = harness.get_by_label("Data rows (3 digits each, first digit = A):");
    field.focus();
    harness.run();
    harness.key_press(egui::Key::End);
    harness.run();
    let field = harness.get_by_label("Data rows (3 digits each, first digit = A):");
    field.type_text(", 1x1");
    harness.run();
    harness.get_by_label("row 7 (\"1x1\") may only contain 0 and 1");
    // The last valid dataset is kept.
    assert_eq!(harness.state().dataset().len(), 6);
}

#[test]
fn snapshot_of_the_tutorial_toy() {
    let mut harness = harness();
    harness.remove_cursor();
    harness.run();
    harness.snapshot("toy_explorer");
}

#[test]
fn snapshot_after_training_and_sampling() {
    let mut harness = harness();
    harness.run();
    for _ in 0..30 {
        harness.get_by_label("Epoch").click();
        harness.run();
    }
    for _ in 0..4 {
        harness.get_by_label("Run chain").click();
        harness.run_steps(2);
        harness.get_by_label("Stop chain").click();
        harness.run();
    }
    harness.get_by_label("Probability").click();
    harness.run();
    harness.remove_cursor();
    harness.run();
    harness.snapshot("toy_explorer_trained");
}

#[test]
fn a_six_by_four_model_is_still_enumerated_exactly() {
    let mut harness = harness();
    harness.run();
    harness.get_by_label("Size and data").scroll_to_me();
    harness.run();
    harness.get_by_label("Size and data").click();
    harness.run();
    harness.get_by_role_and_label(Role::SpinButton, "visible").set_value_accesskit(6.0);
    harness.get_by_role_and_label(Role::SpinButton, "hidden").set_value_accesskit(4.0);
    harness.run();
    harness.get_by_label("Apply size").scroll_to_me();
    harness.run();
    harness.get_by_label("Apply size").click();
    harness.run();
    let toy = harness.state();
    assert_eq!(toy.model().n_states(), 1024);
    assert_eq!(toy.dataset().n_visible(), 6);
    let total: f64 = toy.enumeration().probabilities.iter().sum();
    assert!((total - 1.0).abs() < 1e-12);
    harness.get_by_label("All 1024 scenarios (ticked, green: the people's part is a data row)");
    for _ in 0..5 {
        harness.get_by_label("Epoch").click();
        harness.run();
    }
    harness.get_by_role_and_label(Role::SpinButton, "Weight F–J");
    harness.remove_cursor();
    harness.run();
    harness.snapshot("toy_explorer_6x4");
}

#[test]
fn dragging_an_edge_up_raises_its_weight() {
    let mut harness = harness();
    harness.run();
    let graph = harness.get_by_label_contains("Network graph").rect();
    // Where the view puts A (first of three people) and D (first of two fruits).
    let radius = (graph.width() * 0.84 / 3.0 * 0.3).clamp(9.0, 20.0);
    let a = egui::pos2(graph.left() + graph.width() * (0.08 + 0.84 * (0.5 / 3.0)), graph.top() + 22.0 + radius);
    let d = egui::pos2(graph.left() + graph.width() * (0.08 + 0.84 * 0.25), graph.bottom() - 38.0 - radius);
    let on_edge = a + (d - a) * 0.4;
    let before = harness.state().model().weight(0, 0);

    harness.hover_at(on_edge);
    harness.run();
    harness.drag_at(on_edge);
    harness.run();
    for k in 1..=4 {
        harness.hover_at(on_edge - egui::vec2(0.0, 10.0 * k as f32));
        harness.run();
    }
    harness.drop_at(on_edge - egui::vec2(0.0, 40.0));
    harness.run();

    let after = harness.state().model().weight(0, 0);
    // 40 px up at 40 px per unit: about +1, give or take the drag threshold.
    assert!(after - before > 0.5 && after - before < 1.5, "{before} -> {after}");
    // Nothing else moved.
    let mut expected = ToyRbm::tutorial();
    expected.set_weight(0, 0, after);
    assert_eq!(harness.state().model(), &expected);
}
