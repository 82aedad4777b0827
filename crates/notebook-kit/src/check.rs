//! Feedback for the exercise notebook: each check looks at what a learner's cell made and
//! shows `✓ ...` when it is right, or `✗ ...` with a hint saying what is wrong and what to
//! try. A check never panics and never fails the cell: it is advice, not an assertion.
//!
//! ```no_run
//! # use notebook_kit::prelude::*;
//! # fn cell(history: &History) -> notebook_kit::check::Check {
//! check::trained(history, 5, 0.80)   // a cell ending here shows the verdict
//! # }
//! ```

use std::fmt;

use tch::{Kind, Tensor};

use crate::model::{Activation, History, Loss, Optimizer, Sequential};
use crate::timing::Comparison;

/// A verdict: passed, with what was found, or not, with a hint.
#[derive(Clone, PartialEq, Eq)]
pub struct Check {
    passed: bool,
    message: String,
}

impl Check {
    fn pass(message: impl Into<String>) -> Check {
        Check {
            passed: true,
            message: message.into(),
        }
    }

    fn hint(message: impl Into<String>) -> Check {
        Check {
            passed: false,
            message: message.into(),
        }
    }

    pub fn passed(&self) -> bool {
        self.passed
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.passed { '\u{2713}' } else { '\u{2717}' };
        write!(f, "{mark} {}", self.message)
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The first failing check, or all of them passed (the messages joined).
fn all(checks: Vec<Check>) -> Check {
    match checks.iter().find(|c| !c.passed) {
        Some(failed) => failed.clone(),
        None => Check::pass(
            checks
                .iter()
                .map(|c| c.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// Images scaled to 0.0..1.0: floating point, same shape as `original`, largest value 1.
pub fn scaled(scaled: &Tensor, original: &Tensor) -> Check {
    if scaled.size() != original.size() {
        return Check::hint(format!(
            "the scaled images have shape {:?} but the originals {:?}; scaling must keep the shape \
             (hint: scale(&train_images)?)",
            scaled.size(),
            original.size()
        ));
    }
    if !scaled.is_floating_point() {
        return Check::hint(format!(
            "the scaled images are {:?}; they should be floating point (hint: scale() returns f32)",
            scaled.kind()
        ));
    }
    if scaled.numel() == 0 {
        return Check::hint("there are no images to check");
    }
    let (low, high) = (min_value(scaled), max_value(scaled));
    if low < 0.0 || high > 1.0 + 1e-6 {
        return Check::hint(format!(
            "values run from {low} to {high}; scaled pixels lie in 0.0..1.0 (divide by 255)"
        ));
    }
    if high < 0.5 {
        return Check::hint(format!(
            "the largest value is {high}; after dividing by 255 the brightest pixels are 1.0 \
             (divided twice?)"
        ));
    }
    if high > 1.0 - 1e-6 && !(low..=high).contains(&0.0) {
        return Check::hint(format!(
            "values run from {low} to {high}; black pixels should be 0.0"
        ));
    }
    Check::pass(format!(
        "{} images scaled to {low:.1}..{high:.1}",
        scaled.size().first().copied().unwrap_or(0)
    ))
}

fn min_value(t: &Tensor) -> f64 {
    t.f_min()
        .and_then(|m| m.f_double_value(&[]))
        .unwrap_or(f64::NAN)
}

fn max_value(t: &Tensor) -> f64 {
    t.f_max()
        .and_then(|m| m.f_double_value(&[]))
        .unwrap_or(f64::NAN)
}

/// The exercise's model: `hidden_layers` Dense(500, relu), a Dense(10, sigmoid) output,
/// compiled with Adam and sparse categorical cross-entropy.
pub fn model_has_hidden_layers(model: &Sequential, hidden_layers: usize) -> Check {
    let shapes = model.dense_shapes();
    let activations = model.dense_activations();
    let Some(((_, outputs), hidden)) = shapes.split_last() else {
        return Check::hint("the model has no Dense layer; add Dense(500, Relu) layers and a Dense(10, Sigmoid) output");
    };
    if hidden.len() != hidden_layers {
        return Check::hint(format!(
            "the model has {} hidden Dense layer(s), the task asks for {hidden_layers} \
             (Dense layers before the output layer)",
            hidden.len()
        ));
    }
    if let Some((i, (_, units))) = hidden.iter().enumerate().find(|(_, (_, u))| *u != 500) {
        return Check::hint(format!(
            "hidden layer {} has {units} neurons; the task asks for 500",
            i + 1
        ));
    }
    if let Some(i) = activations[..hidden.len()]
        .iter()
        .position(|a| *a != Activation::Relu)
    {
        return Check::hint(format!(
            "hidden layer {} uses {}; the task uses relu",
            i + 1,
            activations[i]
        ));
    }
    if *outputs != 10 {
        return Check::hint(format!(
            "the output layer has {outputs} units; Fashion-MNIST has 10 classes"
        ));
    }
    let compiled = match (model.optimizer(), model.loss()) {
        (None, _) | (_, None) => {
            return Check::hint("the model is not compiled: call model.compile(Adam::default(), SparseCategoricalCrossentropy, Accuracy)?")
        }
        (Some(optimizer), Some(loss)) => (optimizer, loss),
    };
    if !matches!(compiled.0, Optimizer::Adam(_)) {
        return Check::hint("the task trains with Adam: compile with Adam::default()");
    }
    if compiled.1 != Loss::SparseCategoricalCrossentropy {
        return Check::hint(
            "the labels are class numbers (0..9), so the loss is SparseCategoricalCrossentropy",
        );
    }
    Check::pass(format!(
        "{hidden_layers} hidden layer(s) of 500, 10 outputs, Adam, sparse categorical cross-entropy"
    ))
}

/// A `fit` of `epochs` epochs that reached at least `accuracy` on the training data.
pub fn trained(history: &History, epochs: usize, accuracy: f64) -> Check {
    if history.epochs() == 0 {
        return Check::hint(format!(
            "nothing trained yet: let history = model.fit(&train_images_scaled, &train_labels, \
             Fit::epochs({epochs}))?;"
        ));
    }
    let capped = crate::model::max_epochs().ok().flatten();
    let expected = capped.map_or(epochs, |cap| epochs.min(cap));
    if history.epochs() != expected {
        return Check::hint(format!(
            "the history has {} epoch(s); the task trains {epochs}{}",
            history.epochs(),
            if expected < epochs {
                format!(" (capped to {expected} by NOTEBOOK_KIT_MAX_EPOCHS here)")
            } else {
                String::new()
            }
        ));
    }
    let reached = history.accuracy.last().copied().unwrap_or(f64::NAN);
    if reached.is_nan() || reached < accuracy {
        return Check::hint(format!(
            "training accuracy reached {reached:.4}; expected at least {accuracy:.2}. Scaled \
             images, Adam and sparse categorical cross-entropy get there"
        ));
    }
    Check::pass(format!(
        "{} epoch(s), training accuracy {reached:.4}",
        history.epochs()
    ))
}

/// `predict` on all `samples` test images: one row of 10 probabilities per image.
pub fn predictions(predictions: &Tensor, samples: i64) -> Check {
    let dims = predictions.size();
    if dims.len() != 2 || dims[1] != 10 {
        return Check::hint(format!(
            "predictions have shape {dims:?}; predict returns one row of 10 values per image: \
             model.predict(&test_images_scaled)?"
        ));
    }
    if dims[0] != samples {
        return Check::hint(format!(
            "there are {} prediction rows for {samples} test images; predict on all of them",
            dims[0]
        ));
    }
    let in_range = predictions
        .f_to_kind(Kind::Float)
        .map(|p| min_value(&p) >= 0.0 && max_value(&p) <= 1.0)
        .unwrap_or(false);
    if !in_range {
        return Check::hint("predicted values should lie in 0..1 (the sigmoid output layer's)");
    }
    Check::pass(format!("{samples} predictions of 10 class scores"))
}

/// `evaluate`'s accuracy on the test images is at least `accuracy`.
pub fn test_accuracy(test_accuracy: f64, accuracy: f64) -> Check {
    if test_accuracy.is_nan() {
        return Check::hint(
            "no test accuracy yet: let (test_loss, test_accuracy) = \
             model.evaluate(&test_images_scaled, &test_labels)?;",
        );
    }
    if test_accuracy < accuracy {
        return Check::hint(format!(
            "test accuracy {test_accuracy:.4}; expected at least {accuracy:.2}: did the model \
             train on scaled images?"
        ));
    }
    Check::pass(format!("test accuracy {test_accuracy:.4}"))
}

/// The CPU-vs-GPU table holds a CPU time for every task (and a GPU time where a GPU is).
pub fn comparison_has(results: &Comparison, tasks: &[&str]) -> Check {
    let gpu = crate::device::cuda_is_available();
    let mut checks = Vec::new();
    for task in tasks {
        let timed_on = |want_gpu: bool| {
            results
                .entries()
                .iter()
                .any(|e| e.task == *task && e.device.is_cuda() == want_gpu)
        };
        if !timed_on(false) {
            return Check::hint(format!(
                "no CPU time for \"{task}\" yet: time it with timeit! and results.add(\"{task}\", Device::Cpu, &timing)"
            ));
        }
        if gpu && !timed_on(true) {
            return Check::hint(format!(
                "this machine has a GPU, but \"{task}\" has no GPU time: with_gpu(|gpu| ...) runs it there"
            ));
        }
        checks.push(Check::pass(format!("\"{task}\" timed")));
    }
    all(checks)
}
