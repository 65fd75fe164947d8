//! The Inpaint tab through egui_kittest, on a played trainer (no trainer thread: the test puts the
//! weights in the mailbox): draw on the canvas, hide a half, step the chains and see the
//! completion change while the known pixels stay as drawn.

mod common;
mod played;

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use played::{feed, progress, snapshot, step_until};
use rbm_lab::app::{RbmLabApp, Tab};
use rbm_lab::trainer::Update;

fn open_tab(harness: &mut Harness<'static, RbmLabApp>) {
    harness.get_by_label("Inpaint").click();
    harness.run_steps(3);
    assert_eq!(harness.state().tab, Tab::Inpaint);
}

#[test]
fn without_a_model_the_tab_says_so() {
    let (mut harness, _side) = played::lab(|_, _| {});
    open_tab(&mut harness);
    harness.get_by_label("No model yet: the trainer has not sent its weights");
    assert!(harness.state().inpaint.frame().is_none());
}

#[test]
fn drawing_hiding_and_stepping_complete_the_hidden_half_and_keep_the_known_pixels() {
    let (mut harness, side) = played::lab(|_, _| {});
    side.mailboxes.model.put(Arc::new(snapshot(7)));
    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    open_tab(&mut harness);
    step_until(&mut harness, "a first frame of the chains", |app| app.inpaint.frame().is_some());
    let frame = harness.state().inpaint.frame().unwrap().clone();
    assert_eq!(frame.model_version, 7, "the tab took the trainer's weights");
    let canvas = &harness.state().inpaint.canvas;
    assert_eq!((canvas.rows(), canvas.cols()), (28, 28));
    assert!(canvas.original().is_some(), "the tab starts from a test image");
    let before = canvas.pixels().to_vec();

    // A stroke across row 3, from column 2 to column 20 (the top rows of a digit are blank).
    let rect = harness.state().inpaint.canvas.rect().expect("the canvas is drawn");
    let point = |col: f32, row: f32| rect.min + egui::vec2(col + 0.5, row + 0.5) * (rect.width() / 28.0);
    harness.drag_at(point(2.0, 3.0));
    harness.run_steps(1);
    for col in [6.0, 10.0, 14.0, 18.0, 20.0] {
        harness.hover_at(point(col, 3.0));
        harness.run_steps(1);
    }
    harness.drop_at(point(20.0, 3.0));
    harness.run_steps(2);
    let canvas = &harness.state().inpaint.canvas;
    let drawn = canvas.pixels().to_vec();
    assert_eq!(canvas.undo_depth(), 2, "starting from the test image and the stroke");
    for col in 2..=20 {
        assert_eq!(drawn[3 * 28 + col], 1.0, "the stroke paints column {col} of row 3");
    }
    assert_eq!(before[3 * 28 + 10], 0.0, "row 3 was blank before the stroke");

    harness.get_by_label("Bottom").click();
    harness.run_steps(2);
    let canvas = &harness.state().inpaint.canvas;
    assert_eq!(canvas.mask().hidden_count(), 14 * 28);
    let (version, mask) = (canvas.version(), canvas.mask().clone());

    for _ in 0..5 {
        harness.get_by_label("Step chains").click();
        harness.run_steps(1);
    }
    step_until(&mut harness, "five steps from the half-hidden picture", |app| {
        app.inpaint.frame().is_some_and(|f| f.start_id == version && f.steps >= 5)
    });
    let frame = harness.state().inpaint.frame().unwrap().clone();
    let known: Vec<usize> = (0..784).filter(|&i| !mask.is_hidden(i)).collect();
    let hidden = mask.hidden_indices();
    for chain in &frame.chains[..2] {
        assert!(known.iter().all(|&i| chain.state[i] == drawn[i]), "{:?} keeps the known pixels", chain.mode);
        assert!(hidden.iter().any(|&i| chain.state[i] != 0.5), "{:?} completes the hidden pixels", chain.mode);
        assert_eq!(chain.free_energy.len(), 6);
        assert_eq!(chain.error.len(), 6, "a test image was the start: the error is plotted");
    }
    let free = &frame.chains[2];
    assert!(known.iter().any(|&i| free.state[i] != drawn[i]), "the free chain resamples the known pixels too");
    assert!(frame.why.as_ref().is_some_and(|(_, top)| top.units.len() == 8));

    // Ctrl+Z takes the hidden half back; the chains start over from the picture with the stroke.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run_steps(2);
    assert_eq!(harness.state().inpaint.canvas.mask().hidden_count(), 0);
    assert_eq!(harness.state().inpaint.canvas.pixels(), &drawn[..]);
    let version = harness.state().inpaint.canvas.version();
    step_until(&mut harness, "the chains to start over", |app| {
        app.inpaint.frame().is_some_and(|f| f.start_id == version && f.steps == 0)
    });
}

#[test]
fn running_steps_until_paused_and_a_hidden_tab_pauses() {
    let (mut harness, side) = played::lab(|_, _| {});
    side.mailboxes.model.put(Arc::new(snapshot(7)));
    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    open_tab(&mut harness);
    harness.get_by_label("Left").click();
    harness.run_steps(1);
    harness.get_by_label("Run chains").click();
    step_until(&mut harness, "the chains to run", |app| app.inpaint.frame().is_some_and(|f| f.running && f.steps >= 3));
    // Another tab: the chains stop.
    harness.get_by_label("Quality (log-likelihood)").click();
    harness.run_steps(2);
    assert!(!harness.state().inpaint.running);
    harness.get_by_label("Inpaint").click();
    step_until(&mut harness, "the chains to pause", |app| app.inpaint.frame().is_some_and(|f| !f.running));
}

#[test]
fn a_box_dragged_on_the_canvas_is_hidden_from_where_the_button_went_down() {
    let (mut harness, side) = played::lab(|_, _| {});
    side.mailboxes.model.put(Arc::new(snapshot(7)));
    feed(&mut harness, &side, vec![Update::Progress(progress(640, false))]);
    open_tab(&mut harness);
    harness.get_by_label("Hide box").click();
    harness.run_steps(1);
    let rect = harness.state().inpaint.canvas.rect().expect("the canvas is drawn");
    let point = |col: f32, row: f32| rect.min + egui::vec2(col + 0.5, row + 0.5) * (rect.width() / 28.0);
    harness.drag_at(point(2.0, 3.0));
    harness.run_steps(1);
    for (col, row) in [(3.0, 4.0), (5.0, 7.0)] {
        harness.hover_at(point(col, row));
        harness.run_steps(1);
    }
    harness.drop_at(point(5.0, 7.0));
    harness.run_steps(2);
    let hidden = harness.state().inpaint.canvas.mask().hidden_indices();
    let expected: Vec<usize> = (3..=7).flat_map(|r| (2..=5).map(move |c| r * 28 + c)).collect();
    assert_eq!(hidden, expected, "columns 2 to 5 of rows 3 to 7");
}
