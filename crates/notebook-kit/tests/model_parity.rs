//! notebook-kit against Keras, step by step: the first 20 steps of a scaled-down lesson
//! model (same layer kinds, loss and optimizer) from recorded initial weights and batch
//! order, compared with the losses tf-keras and Keras 3 returned for the same steps
//! (today's rule) and with a NumPy implementation of TensorFlow 2.2's rule (the lesson's).
//! The fixture and how it was made: `tests/fixtures/parity-small/README.md`.

#[path = "common/parity_case.rs"]
mod parity_case;

use std::path::Path;

use notebook_kit::prelude::*;
use parity_case::{largest_relative_difference, Case};

/// Float32 rounding over 20 steps of a model with no ReLU near-ties (the fixture's README
/// checks that there are none), with room to spare.
const TOLERANCE: f64 = 1e-5;

fn reference(name: &str) -> Vec<f64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity-small");
    parity_case::recorded_losses(&dir, name)
}

#[test]
fn every_step_matches_keras_and_the_lesson_rule() -> Result<()> {
    let case =
        Case::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity-small"))?;
    let today = reference("tf_keras");
    let lesson = reference("numpy_lesson");
    assert_eq!(
        reference("keras3"),
        today,
        "the fixture's two Keras versions agree"
    );
    for fused in [true, false] {
        let ours = case.losses(CategoricalCrossentropy.as_in_todays_keras(), 20, fused)?;
        let diff = largest_relative_difference(&ours, &today);
        assert!(
            diff < TOLERANCE,
            "today's rule, fused {fused}: {diff:e}\nours {ours:?}\ntf-keras {today:?}"
        );
        let ours = case.losses(CategoricalCrossentropy.as_in_the_lesson(), 20, fused)?;
        let diff = largest_relative_difference(&ours, &lesson);
        assert!(
            diff < TOLERANCE,
            "lesson rule, fused {fused}: {diff:e}\nours {ours:?}\nNumPy {lesson:?}"
        );
    }
    // The two rules really differ: the test would notice a rule that is ignored.
    assert!(largest_relative_difference(&today, &lesson) > 1e-2);
    Ok(())
}
