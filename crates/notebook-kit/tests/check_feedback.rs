//! The exercise's feedback: every check passes on a right answer and gives a hint that
//! names the problem on a wrong one, without panicking.

use notebook_kit::prelude::*;
use notebook_kit::timing::Timing;

fn passes(c: &check::Check) -> bool {
    let shown = c.to_string();
    assert_eq!(shown.starts_with('\u{2713}'), c.passed(), "{shown}");
    c.passed()
}

fn hint(c: check::Check, needle: &str) {
    assert!(
        !c.passed(),
        "expected a hint containing {needle:?}, got {c}"
    );
    assert!(c.to_string().starts_with('\u{2717}'), "{c}");
    assert!(c.message().contains(needle), "{needle:?} not in {c}");
}

#[test]
fn scaling() -> Result<()> {
    let images = Tensor::from_slice(&[0u8, 128, 255, 7]).reshape([1, 2, 2]);
    assert!(passes(&check::scaled(&scale(&images)?, &images)));
    hint(
        check::scaled(&images.to_kind(Kind::Float), &images),
        "0.0..1.0",
    );
    hint(check::scaled(&images, &images), "floating point");
    let twice = scale(&images)? / 255.0;
    hint(check::scaled(&twice, &images), "divided twice");
    hint(
        check::scaled(&scale(&images)?.reshape([4]), &images),
        "keep the shape",
    );
    Ok(())
}

#[test]
fn model_shape_and_compile_settings() -> Result<()> {
    let one = notebook_kit::models::fashion(1, Device::Cpu)?;
    assert!(passes(&check::model_has_hidden_layers(&one, 1)));
    hint(
        check::model_has_hidden_layers(&one, 5),
        "1 hidden Dense layer(s)",
    );
    let five = notebook_kit::models::fashion(5, Device::Cpu)?;
    assert!(passes(&check::model_has_hidden_layers(&five, 5)));

    let uncompiled = Sequential::new()
        .add(Flatten::new([28, 28]))
        .add(Dense::new(500, Relu))
        .add(Dense::new(10, Sigmoid))
        .build(Device::Cpu)?;
    hint(
        check::model_has_hidden_layers(&uncompiled, 1),
        "not compiled",
    );
    let mut sgd = Sequential::new()
        .add(Flatten::new([28, 28]))
        .add(Dense::new(500, Tanh))
        .add(Dense::new(10, Sigmoid))
        .build(Device::Cpu)?;
    hint(check::model_has_hidden_layers(&sgd, 1), "uses tanh");
    sgd = Sequential::new()
        .add(Flatten::new([28, 28]))
        .add(Dense::new(300, Relu))
        .add(Dense::new(10, Sigmoid))
        .build(Device::Cpu)?;
    hint(check::model_has_hidden_layers(&sgd, 1), "300 neurons");
    let mut wrong_loss = notebook_kit::models::fashion(1, Device::Cpu)?;
    wrong_loss.compile(Adam::default(), CategoricalCrossentropy, Accuracy)?;
    hint(
        check::model_has_hidden_layers(&wrong_loss, 1),
        "SparseCategoricalCrossentropy",
    );
    Ok(())
}

#[test]
fn training_prediction_and_evaluation() {
    hint(
        check::trained(&History::default(), 5, 0.8),
        "nothing trained yet",
    );
    let history = History {
        loss: vec![0.6; 5],
        accuracy: vec![0.7, 0.8, 0.85, 0.86, 0.87],
        ..History::default()
    };
    if notebook_kit::model::max_epochs().ok().flatten().is_none() {
        assert!(passes(&check::trained(&history, 5, 0.8)));
        hint(check::trained(&history, 5, 0.9), "expected at least 0.90");
        hint(check::trained(&history, 3, 0.8), "the task trains 3");
    }

    hint(
        check::predictions(&Tensor::zeros([0, 10], (Kind::Float, Device::Cpu)), 100),
        "100 test images",
    );
    hint(
        check::predictions(&Tensor::zeros([100], (Kind::Float, Device::Cpu)), 100),
        "shape [100]",
    );
    assert!(passes(&check::predictions(
        &Tensor::rand([100, 10], (Kind::Float, Device::Cpu)),
        100
    )));

    hint(check::test_accuracy(f64::NAN, 0.8), "no test accuracy yet");
    hint(check::test_accuracy(0.5, 0.8), "0.5000");
    assert!(passes(&check::test_accuracy(0.85, 0.8)));
}

#[test]
fn the_results_table() -> Result<()> {
    let tasks = ["1 hidden layer", "5 hidden layers"];
    let mut results = Comparison::new();
    hint(
        check::comparison_has(&results, &tasks),
        "no CPU time for \"1 hidden layer\"",
    );
    let timing = Timing::new(1, vec![3.0])?;
    results.add("1 hidden layer", Device::Cpu, &timing);
    results.add("5 hidden layers", Device::Cpu, &timing);
    let verdict = check::comparison_has(&results, &tasks);
    if notebook_kit::device::cuda_is_available() {
        hint(verdict, "no GPU time");
    } else {
        assert!(passes(&verdict));
    }
    Ok(())
}
