//! notebook-kit against Keras, step by step: the first 20 steps of scaled-down models of the
//! lesson (SGD, one-hot labels) and of the exercise (Adam, class numbers), each with the
//! same layer kinds, loss and optimizer, from recorded initial weights and batch order,
//! compared with the losses tf-keras and Keras 3 returned for the same steps (today's rule)
//! and with a NumPy implementation of TensorFlow 2.2's rule (the lesson's).
//! The fixtures and how they were made: `tests/fixtures/parity-*/README.md`.

#[path = "common/parity_case.rs"]
mod parity_case;

use std::path::{Path, PathBuf};

use notebook_kit::model::ProbabilityRule::{AsInTheLesson, AsInTodaysKeras};
use notebook_kit::prelude::*;
use parity_case::{largest_relative_difference, recorded_losses, Case};

/// Float32 rounding over 20 steps of a model with no ReLU near-ties (the fixtures' READMEs
/// check that there are none), with room to spare.
const TOLERANCE: f64 = 1e-5;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Both rules on both training paths against the fixture's references.
fn every_step_matches(dir: &Path) -> Result<()> {
    let case = Case::load(dir)?;
    let today = recorded_losses(dir, "tf_keras");
    let lesson = recorded_losses(dir, "numpy_lesson");
    assert_eq!(
        recorded_losses(dir, "keras3"),
        today,
        "the fixture's two Keras versions agree"
    );
    for fused in [true, false] {
        for (rule, theirs, name) in [
            (AsInTodaysKeras, &today, "tf-keras"),
            (AsInTheLesson, &lesson, "NumPy lesson rule"),
        ] {
            let ours = case.losses(rule, 20, fused)?;
            let diff = largest_relative_difference(&ours, theirs);
            assert!(
                diff < TOLERANCE,
                "{}: {rule:?}, fused {fused}: {diff:e}\nours {ours:?}\n{name} {theirs:?}",
                dir.display()
            );
        }
    }
    // The two rules really differ: the test would notice a rule that is ignored.
    assert!(largest_relative_difference(&today, &lesson) > 5e-3);
    Ok(())
}

#[test]
fn every_step_matches_keras_and_the_lesson_rule() -> Result<()> {
    every_step_matches(&fixture("parity-small"))
}

/// Adam's bias corrections, moments and epsilon, and sparse labels, as Keras has them.
#[test]
fn the_exercise_model_with_adam_matches_keras_step_by_step() -> Result<()> {
    let dir = fixture("parity-exercise-small");
    let case = Case::load(&dir)?;
    assert!(
        matches!(case.optimizer, Optimizer::Adam(_)) && case.loss == SparseCategoricalCrossentropy,
        "the exercise fixture trains with Adam on class numbers"
    );
    every_step_matches(&dir)
}
