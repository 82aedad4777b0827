//! The model API on small synthetic data: summary, training paths, reproducibility, and
//! every user mistake the issue lists (each must be an `Err`, never a panic).

use std::sync::{Mutex, MutexGuard};

use notebook_kit::model::TrainingPath;
use notebook_kit::prelude::*;

/// tch's random generator is global to the process and the test harness runs tests on
/// several threads: tests that seed it take this lock, so that no other test draws from
/// the generator between their `manual_seed` and their last random number.
fn rng_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Random images `[n, 4, 4, 3]` in [0, 1) and labels that depend on them, so that a model
/// can learn something.
fn toy_data(n: i64, classes: i64, seed: i64) -> (Tensor, Tensor) {
    tch::manual_seed(seed);
    let x = Tensor::rand([n, 4, 4, 3], (Kind::Float, Device::Cpu));
    let labels = x.reshape([n, 48]).narrow(1, 0, classes).argmax(-1, false);
    (x, labels)
}

fn one_hot(labels: &Tensor, classes: i64) -> Tensor {
    labels.onehot(classes)
}

fn small_model(output: Activation, classes: i64) -> Result<Sequential> {
    Sequential::new()
        .add(Flatten::new([4, 4, 3]))
        .add(Dense::new(64, Relu))
        .add(Dense::new(32, Tanh))
        .add(Dense::new(classes, output))
        .build(Device::Cpu)
}

fn max_abs_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs().max().double_value(&[]))
        .fold(0.0, f64::max)
}

#[test]
fn lesson_summary_matches_keras() -> Result<()> {
    let _rng = rng_lock();
    let model = notebook_kit::models::lesson(Device::Cpu)?;
    let expected = [
        "Model: \"sequential\"",
        "_________________________________________________________________",
        " Layer (type)                Output Shape              Param #   ",
        "=================================================================",
        " flatten (Flatten)           (None, 3072)              0         ",
        "                                                                 ",
        " dense (Dense)               (None, 3000)              9219000   ",
        "                                                                 ",
        " dense_1 (Dense)             (None, 1000)              3001000   ",
        "                                                                 ",
        " dense_2 (Dense)             (None, 10)                10010     ",
        "                                                                 ",
        "=================================================================",
        "Total params: 12,230,010",
        "Trainable params: 12,230,010",
        "Non-trainable params: 0",
        "_________________________________________________________________",
    ]
    .join("\n");
    assert_eq!(model.summary().to_string(), expected);
    assert_eq!(format!("{:?}", model.summary()), expected);
    assert_eq!(model.count_params(), 12_230_010);
    Ok(())
}

#[test]
fn glorot_uniform_kernel_and_zero_bias() -> Result<()> {
    let _rng = rng_lock();
    tch::manual_seed(1);
    let model = Sequential::new()
        .add(Dense::new(500, Relu).input_shape([784]))
        .add(Dense::new(10, Softmax))
        .build(Device::Cpu)?;
    let w = model.get_weights()?;
    assert_eq!(w[0].size(), [784, 500]);
    assert_eq!(w[1].size(), [500]);
    let limit = (6.0f64 / (784.0 + 500.0)).sqrt();
    let max = w[0].abs().max().double_value(&[]);
    assert!(
        max <= limit && max > 0.95 * limit,
        "max |w| {max} vs limit {limit}"
    );
    assert_eq!(w[1].abs().sum(Kind::Float).double_value(&[]), 0.0);
    Ok(())
}

#[test]
fn fused_path_is_chosen_for_stacks_of_elementwise_layers() -> Result<()> {
    let _rng = rng_lock();
    let mut model = small_model(Sigmoid, 10)?;
    assert_eq!(model.training_path(), None);
    model.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
    assert_eq!(model.training_path(), Some(TrainingPath::Fused));
    model.set_fused(false);
    assert_eq!(model.training_path(), Some(TrainingPath::Autograd));
    model.set_fused(true);
    model.compile(
        Sgd::new(0.01).momentum(0.9),
        CategoricalCrossentropy,
        Accuracy,
    )?;
    assert_eq!(model.training_path(), Some(TrainingPath::Fused));
    model.compile(Adam::default(), CategoricalCrossentropy, Accuracy)?;
    assert_eq!(model.training_path(), Some(TrainingPath::Fused));

    let mut softmax_inside = Sequential::new()
        .add(Flatten::new([4, 4, 3]))
        .add(Dense::new(8, Softmax))
        .add(Dense::new(10, Sigmoid))
        .build(Device::Cpu)?;
    softmax_inside.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
    assert_eq!(softmax_inside.training_path(), Some(TrainingPath::Autograd));
    Ok(())
}

/// Trains the same seeded model on both paths and returns (weights, history) of each.
fn both_paths(
    output: Activation,
    loss: Loss,
    samples: i64,
    options: impl Fn() -> Fit<'static>,
) -> Result<[(Vec<Tensor>, History); 2]> {
    both_paths_with(Sgd::new(0.05).into(), output, loss, samples, options)
}

fn both_paths_with(
    optimizer: Optimizer,
    output: Activation,
    loss: Loss,
    samples: i64,
    options: impl Fn() -> Fit<'static>,
) -> Result<[(Vec<Tensor>, History); 2]> {
    let (x, labels) = toy_data(samples, 10, 7);
    let y = match loss {
        Loss::CategoricalCrossentropy => one_hot(&labels, 10),
        Loss::SparseCategoricalCrossentropy => labels.to_kind(Kind::Uint8),
    };
    let run = |fast: bool| -> Result<(Vec<Tensor>, History)> {
        tch::manual_seed(42);
        let mut model = small_model(output, 10)?;
        model.compile(optimizer, loss, Accuracy)?;
        model.set_fused(fast);
        let expected = if fast {
            TrainingPath::Fused
        } else {
            TrainingPath::Autograd
        };
        assert_eq!(model.training_path(), Some(expected));
        tch::manual_seed(43);
        let history = model.fit(&x, &y, options())?;
        Ok((model.get_weights()?, history))
    };
    Ok([run(true)?, run(false)?])
}

#[test]
fn fused_path_matches_autograd_after_one_step() -> Result<()> {
    let _rng = rng_lock();
    for (output, loss) in [
        (Sigmoid, CategoricalCrossentropy),
        (Softmax, CategoricalCrossentropy),
        (Softmax, SparseCategoricalCrossentropy),
        (Linear, SparseCategoricalCrossentropy),
    ] {
        let [(fast_w, fast_h), (plain_w, plain_h)] = both_paths(output, loss, 32, || {
            Fit::epochs(1).batch_size(32).verbose(false)
        })?;
        let diff = max_abs_diff(&fast_w, &plain_w);
        assert!(diff < 1e-5, "{output:?}/{loss:?}: weights differ by {diff}");
        assert!((fast_h.loss[0] - plain_h.loss[0]).abs() < 1e-6);
    }
    Ok(())
}

/// Adam (Keras's formula, eps 1e-7) and momentum on the fused path, with their gradient
/// buffers reused from step to step, against the autograd path after 8 steps.
#[test]
fn fused_adam_and_momentum_match_autograd_after_several_steps() -> Result<()> {
    let _rng = rng_lock();
    for optimizer in [
        Optimizer::from(Adam::default()),
        Adam::new(0.01).into(),
        Sgd::new(0.05).momentum(0.9).into(),
        Sgd::new(0.05).momentum(0.9).nesterov(true).into(),
    ] {
        for (output, loss) in [
            (Sigmoid, SparseCategoricalCrossentropy),
            (Softmax, CategoricalCrossentropy),
        ] {
            let [(fast_w, fast_h), (plain_w, plain_h)] =
                both_paths_with(optimizer, output, loss, 256, || {
                    Fit::epochs(1).batch_size(32).verbose(false)
                })?;
            let diff = max_abs_diff(&fast_w, &plain_w);
            assert!(
                diff < 1e-5,
                "{optimizer:?}/{output:?}: weights differ by {diff}"
            );
            let (a, b) = (fast_h.loss[0], plain_h.loss[0]);
            assert!((a - b).abs() < 1e-5, "{optimizer:?}: loss {a} vs {b}");
        }
    }
    Ok(())
}

/// Layers of the lesson's size class (4M weights, batch 128): the fused path's explicit
/// products must give autograd's result, for SGD and for Adam over four steps.
#[test]
fn fused_path_with_large_layers_matches_autograd() -> Result<()> {
    let _rng = rng_lock();
    tch::manual_seed(11);
    let x = Tensor::rand([512, 4000], (Kind::Float, Device::Cpu));
    let y = x.narrow(1, 0, 10).argmax(-1, false);
    for optimizer in [Optimizer::from(Sgd::new(0.05)), Adam::default().into()] {
        let run = |fused: bool| -> Result<Vec<Tensor>> {
            tch::manual_seed(12);
            let mut model = Sequential::new()
                .add(Dense::new(1000, Relu).input_shape([4000]))
                .add(Dense::new(1000, Relu))
                .add(Dense::new(10, Sigmoid))
                .build(Device::Cpu)?;
            model.compile(optimizer, SparseCategoricalCrossentropy, Accuracy)?;
            model.set_fused(fused);
            tch::manual_seed(13);
            model.fit(&x, &y, Fit::epochs(1).batch_size(128).verbose(0))?;
            model.get_weights()
        };
        let diff = max_abs_diff(&run(true)?, &run(false)?);
        assert!(diff < 1e-5, "{optimizer:?}: weights differ by {diff}");
    }
    Ok(())
}

#[test]
fn fused_path_matches_autograd_over_an_epoch() -> Result<()> {
    let _rng = rng_lock();
    let [(fast_w, fast_h), (plain_w, plain_h)] =
        both_paths(Sigmoid, CategoricalCrossentropy, 400, || {
            Fit::epochs(2).verbose(false)
        })?;
    for epoch in 0..2 {
        let (a, b) = (fast_h.loss[epoch], plain_h.loss[epoch]);
        assert!(
            (a - b).abs() < 1e-3,
            "epoch {epoch}: fused loss {a} vs autograd {b}"
        );
        assert!((fast_h.accuracy[epoch] - plain_h.accuracy[epoch]).abs() < 0.01);
    }
    assert!(max_abs_diff(&fast_w, &plain_w) < 1e-3);
    Ok(())
}

#[test]
fn seeded_runs_reproduce_on_cpu() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(300, 10, 3);
    let run = |optimizer: Optimizer, loss: Loss| -> Result<History> {
        tch::manual_seed(5);
        let mut model = small_model(Softmax, 10)?;
        model.compile(optimizer, loss, Accuracy)?;
        let y = match loss {
            Loss::CategoricalCrossentropy => one_hot(&labels, 10),
            Loss::SparseCategoricalCrossentropy => labels.shallow_clone(),
        };
        model.fit(&x, &y, Fit::epochs(2).verbose(false))
    };
    for (opt, loss) in [
        (Optimizer::from(Sgd::default()), CategoricalCrossentropy),
        (Adam::default().into(), SparseCategoricalCrossentropy),
        (
            Sgd::new(0.01).momentum(0.9).nesterov(true).into(),
            CategoricalCrossentropy,
        ),
    ] {
        let (a, b) = (run(opt, loss)?, run(opt, loss)?);
        assert_eq!(a.loss, b.loss, "{opt:?}");
        assert_eq!(a.accuracy, b.accuracy);
    }
    Ok(())
}

#[test]
fn training_learns_and_history_is_filled() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(512, 4, 11);
    let (xv, lv) = toy_data(128, 4, 12);
    tch::manual_seed(0);
    let mut model = small_model(Softmax, 4)?;
    model.compile(Adam::default(), SparseCategoricalCrossentropy, Accuracy)?;
    let history = model.fit(
        &x,
        &labels.view([-1, 1]),
        Fit::epochs(8).validation_data(&xv, &lv),
    )?;
    assert_eq!(history.epochs(), 8);
    assert_eq!(history.val_loss.len(), 8);
    assert_eq!(history.val_accuracy.len(), 8);
    assert_eq!(history.epoch_seconds.len(), 8);
    assert!(history.loss[7] < history.loss[0], "{:?}", history.loss);
    assert!(history.accuracy[7] > 0.6, "{:?}", history.accuracy);

    let (loss, accuracy) = model.evaluate(&xv, &lv)?;
    assert!((loss - history.val_loss[7]).abs() < 1e-6);
    assert!((accuracy - history.val_accuracy[7]).abs() < 1e-9);

    let probs = model.predict(&xv)?;
    assert_eq!(probs.size(), [128, 4]);
    assert_eq!(probs.device(), Device::Cpu);
    let row_sums = probs.sum_dim_intlist(-1, false, None);
    assert!((row_sums - 1.0).abs().max().double_value(&[]) < 1e-5);
    let classes = argmax(&probs)?;
    assert_eq!(classes.kind(), Kind::Int64);
    assert_eq!(classes.size(), [128]);
    let predicted_accuracy = classes
        .eq_tensor(&lv)
        .to_kind(Kind::Float)
        .mean(None)
        .double_value(&[]);
    assert!((predicted_accuracy - accuracy).abs() < 1e-6);
    assert_eq!(
        argmax(&probs.get(0))?.int64_value(&[]),
        classes.int64_value(&[0])
    );
    Ok(())
}

#[test]
fn keras_categorical_loss_of_unnormalised_outputs() -> Result<()> {
    let _rng = rng_lock();
    // With every weight zero, a sigmoid output is 0.5 everywhere: Keras divides each row
    // by its sum (uniform 1/10), so the loss is ln(10) whatever the labels.
    let mut model = Sequential::new()
        .add(Dense::new(10, Sigmoid).input_shape([3]))
        .build(Device::Cpu)?;
    model.compile(Sgd::new(0.0), CategoricalCrossentropy, Accuracy)?;
    let x = Tensor::zeros([8, 3], (Kind::Float, Device::Cpu));
    let y = Tensor::arange(8, (Kind::Int64, Device::Cpu)).onehot(10);
    let (loss, _) = model.evaluate_with(&x, &y, Eval::default().verbose(false))?;
    assert!((loss - 10f64.ln()).abs() < 1e-5, "{loss}");
    Ok(())
}

// ---- mistakes: each is a clear error ----

fn compiled_model() -> Result<Sequential> {
    let mut model = small_model(Sigmoid, 10)?;
    model.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
    Ok(model)
}

fn message(result: Result<impl std::fmt::Debug>) -> String {
    result.expect_err("expected an error").to_string()
}

#[test]
fn x_and_y_of_different_lengths() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(64, 10, 1);
    let y = one_hot(&labels.narrow(0, 0, 60), 10);
    let msg = message(compiled_model()?.fit(&x, &y, Fit::epochs(1)));
    assert!(msg.contains("64") && msg.contains("60"), "{msg}");
    let msg = message(compiled_model()?.evaluate(&x, &y));
    assert!(msg.contains("64") && msg.contains("60"), "{msg}");
    Ok(())
}

#[test]
fn one_hot_width_differs_from_output_units() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(64, 5, 1);
    let msg = message(compiled_model()?.fit(&x, &one_hot(&labels, 5), Fit::epochs(1)));
    assert!(
        msg.contains("5 columns") && msg.contains("10 units"),
        "{msg}"
    );
    // Class numbers given to the categorical loss, as (n,) and as (n, 1).
    let msg = message(compiled_model()?.fit(&x, &labels, Fit::epochs(1)));
    assert!(msg.contains("SparseCategoricalCrossentropy"), "{msg}");
    let column = labels.view([-1, 1]).to_kind(Kind::Float);
    let msg = message(compiled_model()?.fit(&x, &column, Fit::epochs(1)));
    assert!(
        msg.contains("1 columns") && msg.contains("SparseCategoricalCrossentropy"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn sparse_label_out_of_range() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(64, 10, 1);
    let mut model = small_model(Softmax, 10)?;
    model.compile(Adam::default(), SparseCategoricalCrossentropy, Accuracy)?;
    let bad = labels.copy();
    let _ = bad.get(3).fill_(10);
    let msg = message(model.fit(&x, &bad, Fit::epochs(1)));
    assert!(msg.contains("0..10") && msg.contains("10"), "{msg}");
    let _ = bad.get(3).fill_(-1);
    assert!(model.fit(&x, &bad, Fit::epochs(1)).is_err());
    let msg = message(model.fit(&x, &labels.to_kind(Kind::Float), Fit::epochs(1)));
    assert!(msg.contains("integers"), "{msg}");
    Ok(())
}

#[test]
fn wrong_input_shape() -> Result<()> {
    let _rng = rng_lock();
    let mut model = compiled_model()?;
    let x = Tensor::rand([16, 28, 28], (Kind::Float, Device::Cpu));
    let y = Tensor::zeros([16, 10], (Kind::Float, Device::Cpu));
    let msg = message(model.fit(&x, &y, Fit::epochs(1)));
    assert!(
        msg.contains("(None, 4, 4, 3)") && msg.contains("(16, 28, 28)"),
        "{msg}"
    );
    assert!(model.predict(&x).is_err());
    let one = Tensor::rand([4, 4, 3], (Kind::Float, Device::Cpu));
    let msg = message(model.predict(&one));
    assert!(msg.contains("unsqueeze(0)"), "{msg}");
    Ok(())
}

#[test]
fn empty_data_set() -> Result<()> {
    let _rng = rng_lock();
    let x = Tensor::zeros([0, 4, 4, 3], (Kind::Float, Device::Cpu));
    let y = Tensor::zeros([0, 10], (Kind::Float, Device::Cpu));
    let msg = message(compiled_model()?.fit(&x, &y, Fit::epochs(1)));
    assert!(msg.contains("empty"), "{msg}");
    assert!(compiled_model()?.evaluate(&x, &y).is_err());
    assert!(compiled_model()?.predict(&x).is_err());
    Ok(())
}

#[test]
fn batch_size_zero() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(64, 10, 1);
    let y = one_hot(&labels, 10);
    let msg = message(compiled_model()?.fit(&x, &y, Fit::epochs(1).batch_size(0)));
    assert!(msg.contains("batch_size"), "{msg}");
    assert!(compiled_model()?
        .evaluate_with(&x, &y, Eval::default().batch_size(0))
        .is_err());
    assert!(compiled_model()?
        .predict_with(&x, Eval::default().batch_size(0))
        .is_err());
    Ok(())
}

#[test]
fn non_finite_loss_stops_training() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(96, 10, 1);
    let y = one_hot(&labels, 10);
    let clean = x.copy();
    // A NaN pixel in the second batch (unshuffled): the loss of step 2 is NaN.
    let _ = x.get(40).get(0).get(0).get(0).fill_(f64::NAN);
    for fast in [true, false] {
        let mut model = compiled_model()?;
        model.set_fused(fast);
        let saved = model.get_weights()?;
        let err = model
            .fit(&x, &y, Fit::epochs(1).shuffle(false))
            .expect_err("NaN must stop fit");
        assert!(matches!(err, Error::NonFinite(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("epoch 1") && msg.contains("step 2/3"), "{msg}");
        // The NaN step's update was applied: the message must not send the learner back
        // to the data alone, since clean data now fails too.
        assert!(
            msg.contains("weights are now NaN or infinite")
                && msg.contains("build the model again")
                && msg.contains("set_weights"),
            "{msg}"
        );
        let again = message(model.fit(&clean, &y, Fit::epochs(1).verbose(0)));
        assert!(again.contains("build the model again"), "{again}");
        model.set_weights(&saved)?;
        model.fit(&clean, &y, Fit::epochs(1).verbose(0))?;
    }
    // Divergence: a huge learning rate sends the logits past f32's range.
    let mut model = Sequential::new()
        .add(Flatten::new([4, 4, 3]))
        .add(Dense::new(64, Relu))
        .add(Dense::new(10, Softmax))
        .build(Device::Cpu)?;
    model.compile(Sgd::new(1e30), SparseCategoricalCrossentropy, Accuracy)?;
    let (x, labels) = toy_data(96, 10, 2);
    let err = model
        .fit(&x, &labels, Fit::epochs(3).verbose(false))
        .expect_err("divergence must stop fit");
    assert!(matches!(err, Error::NonFinite(_)), "{err:?}");
    Ok(())
}

/// `train_on_batch` reads its loss anyway, so it checks it before the update: a NaN batch
/// is an error that leaves the weights as they were.
#[test]
fn train_on_batch_refuses_a_non_finite_update() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(32, 10, 1);
    let y = one_hot(&labels, 10);
    let _ = x.get(3).get(0).get(0).get(0).fill_(f64::NAN);
    for fast in [true, false] {
        for optimizer in [Optimizer::from(Sgd::default()), Adam::default().into()] {
            let mut model = small_model(Sigmoid, 10)?;
            model.compile(optimizer, CategoricalCrossentropy, Accuracy)?;
            model.set_fused(fast);
            let before = model.get_weights()?;
            let err = model.train_on_batch(&x, &y).expect_err("NaN loss");
            assert!(matches!(err, Error::NonFinite(_)), "{err:?}");
            let msg = err.to_string();
            assert!(
                msg.contains("not applied") && msg.contains("still finite"),
                "{msg}"
            );
            let diff = max_abs_diff(&before, &model.get_weights()?);
            assert_eq!(diff, 0.0, "fused {fast}, {optimizer:?}: weights changed");
        }
    }
    Ok(())
}

/// Over one unit, a cross-entropy is constant and accuracy is always 1: refused at compile.
#[test]
fn cross_entropy_over_one_unit_is_refused() -> Result<()> {
    let _rng = rng_lock();
    for output in [Sigmoid, Softmax] {
        let mut model = Sequential::new()
            .add(Dense::new(4, Relu).input_shape([3]))
            .add(Dense::new(1, output))
            .build(Device::Cpu)?;
        for loss in [CategoricalCrossentropy, SparseCategoricalCrossentropy] {
            let msg = message(model.compile(Sgd::default(), loss, Accuracy));
            assert!(
                msg.contains("1-unit") && msg.contains("Dense::new(2, Softmax)"),
                "{output:?}/{loss:?}: {msg}"
            );
            assert_eq!(model.loss(), None, "a refused compile compiles nothing");
        }
    }
    Ok(())
}

/// Shapes whose sizes overflow i64: an error naming the shape, in every build profile.
#[test]
fn layer_sizes_beyond_i64_are_errors() {
    let _rng = rng_lock();
    let msg = message(
        Sequential::new()
            .add(Flatten::new([1 << 40, 1 << 40]))
            .add(Dense::new(10, Softmax))
            .build(Device::Cpu),
    );
    assert!(
        msg.contains("Flatten") && msg.contains("(1099511627776, 1099511627776)"),
        "{msg}"
    );
    let msg = message(
        Sequential::new()
            .add(Dense::new(10, Softmax).input_shape([i64::MAX]))
            .build(Device::Cpu),
    );
    assert!(
        msg.contains("Dense layer 1") && msg.contains(&format!("({},)", i64::MAX)),
        "{msg}"
    );
    let msg = message(
        Sequential::new()
            .add(Dense::new(i64::MAX, Softmax).input_shape([2]))
            .build(Device::Cpu),
    );
    assert!(
        msg.contains(&format!("{} units", i64::MAX)) && msg.contains("weights"),
        "{msg}"
    );
}

#[test]
fn batch_size_beyond_i64_is_an_error() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(64, 10, 1);
    let y = one_hot(&labels, 10);
    let quiet = Eval::default().verbose(0);
    for batch_size in [usize::MAX, i64::MAX as usize + 1] {
        let options = Fit::epochs(1).batch_size(batch_size).verbose(0);
        let msg = message(compiled_model()?.fit(&x, &y, options));
        assert!(msg.contains(&format!("batch_size {batch_size}")), "{msg}");
        let model = compiled_model()?;
        let msg = message(model.evaluate_with(&x, &y, quiet.batch_size(batch_size)));
        assert!(msg.contains("batch_size"), "{msg}");
        let msg = message(model.predict_with(&x, quiet.batch_size(batch_size)));
        assert!(msg.contains("batch_size"), "{msg}");
    }
    // The largest allowed is one batch of everything.
    let largest = i64::MAX as usize;
    let mut model = compiled_model()?;
    let history = model.fit(&x, &y, Fit::epochs(1).batch_size(largest).verbose(0))?;
    assert_eq!(history.epochs(), 1);
    model.evaluate_with(&x, &y, quiet.batch_size(largest))?;
    assert_eq!(
        model.predict_with(&x, quiet.batch_size(largest))?.size(),
        [64, 10]
    );
    Ok(())
}

#[test]
fn undefined_tensors_are_named_as_such() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(32, 10, 1);
    let y = one_hot(&labels, 10);
    let mut model = compiled_model()?;
    let msg = message(model.fit(&Tensor::new(), &y, Fit::epochs(1)));
    assert!(msg.contains("x is an undefined (empty) tensor"), "{msg}");
    let msg = message(model.fit(&x, &Tensor::new(), Fit::epochs(1)));
    assert!(msg.contains("y is an undefined (empty) tensor"), "{msg}");
    let msg = message(model.predict(&Tensor::new()));
    assert!(msg.contains("undefined"), "{msg}");
    let msg = message(predicted_class(&Tensor::new(), 0));
    assert!(msg.contains("undefined"), "{msg}");
    Ok(())
}

#[test]
fn cuda_requested_but_absent() {
    let _rng = rng_lock();
    let result = Sequential::new()
        .add(Dense::new(10, Softmax).input_shape([4]))
        .build(Device::Cuda(0));
    if notebook_kit::device::cuda_is_available() {
        assert!(result.is_ok());
    } else {
        let err = result.expect_err("no GPU here");
        assert!(matches!(err, Error::CudaUnavailable(_)), "{err:?}");
        assert!(err.to_string().contains("CUDA is not available"), "{err}");
    }
}

#[test]
fn fit_and_evaluate_before_compile() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(32, 10, 1);
    let y = one_hot(&labels, 10);
    let mut model = small_model(Sigmoid, 10)?;
    let err = model.fit(&x, &y, Fit::epochs(1)).expect_err("not compiled");
    assert!(matches!(err, Error::NotCompiled("fit")), "{err:?}");
    let err = model.evaluate(&x, &y).expect_err("not compiled");
    assert!(matches!(err, Error::NotCompiled("evaluate")), "{err:?}");
    // Keras allows predict before compile.
    assert_eq!(model.predict(&x)?.size(), [32, 10]);
    Ok(())
}

#[test]
fn bad_model_definitions() {
    let _rng = rng_lock();
    assert!(Sequential::new().build(Device::Cpu).is_err());
    assert!(Sequential::new()
        .add(Dense::new(10, Relu))
        .build(Device::Cpu)
        .is_err()); // no input shape
    assert!(Sequential::new()
        .add(Dense::new(0, Relu).input_shape([3]))
        .build(Device::Cpu)
        .is_err());
    let msg = Sequential::new()
        .add(Dense::new(10, Relu).input_shape([4, 4]))
        .build(Device::Cpu)
        .expect_err("Dense on 2-D samples")
        .to_string();
    assert!(msg.contains("Flatten"), "{msg}");
    assert!(Sequential::new()
        .add(Flatten::new([2, 2]))
        .build(Device::Cpu)
        .is_err()); // no Dense output
    let mut model = Sequential::new()
        .add(Dense::new(3, Softmax).input_shape([2]))
        .build(Device::Cpu)
        .unwrap();
    assert!(model
        .compile(Sgd::new(f64::NAN), CategoricalCrossentropy, Accuracy)
        .is_err());
    assert!(model
        .compile(
            Adam {
                beta_1: 1.0,
                ..Adam::default()
            },
            CategoricalCrossentropy,
            Accuracy
        )
        .is_err());
}

#[test]
fn argmax_of_odd_shapes_does_not_panic() -> Result<()> {
    let _rng = rng_lock();
    assert_eq!(
        argmax(&Tensor::from_slice(&[0.1f32, 0.7, 0.2]))?.int64_value(&[]),
        1
    );
    assert_eq!(
        argmax(&Tensor::from_slice(&[3u8, 9, 4]))?.int64_value(&[]),
        1
    );
    let none = argmax(&Tensor::zeros([0, 10], (Kind::Float, Device::Cpu)))?;
    assert_eq!((none.size(), none.kind()), (vec![0], Kind::Int64));
    assert_eq!(argmax(&Tensor::from(3.0f32))?.int64_value(&[]), 0);
    // Errors, not panics and not an empty result that hides the mistake.
    let msg = message(argmax(&Tensor::new()));
    assert!(msg.contains("undefined"), "{msg}");
    let msg = message(argmax(&Tensor::from_slice(&[true, false])));
    assert!(msg.contains("numbers") && msg.contains("Bool"), "{msg}");
    let msg = message(argmax(&Tensor::zeros([3, 0], (Kind::Float, Device::Cpu))));
    assert!(
        msg.contains("(3, 0)") && msg.contains("no classes"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn predicted_class_indexes_the_class_names() -> Result<()> {
    let predictions = Tensor::from_slice(&[0.1f32, 0.7, 0.2, 0.9, 0.05, 0.05]).reshape([2, 3]);
    let classes = ["cat", "dog", "frog"];
    assert_eq!(classes[predicted_class(&predictions, 0)?], "dog");
    assert_eq!(classes[predicted_class(&predictions, 1)?], "cat");
    let err = predicted_class(&predictions, 2).unwrap_err().to_string();
    assert!(
        err.contains("sample 2") && err.contains("2 samples"),
        "{err}"
    );
    assert!(predicted_class(&predictions, -1).is_err());
    let err = predicted_class(&predictions.get(0), 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("(n, classes)") && err.contains("(3,)"),
        "{err}"
    );
    Ok(())
}

#[test]
fn verbose_takes_keras_numbers_and_rejects_others() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(16, 3, 5);
    let mut model = small_model(Softmax, 3)?;
    model.compile(Sgd::default(), SparseCategoricalCrossentropy, Accuracy)?;
    for verbose in [0, 1, 2] {
        model.fit(&x, &labels, Fit::epochs(1).verbose(verbose))?;
    }
    model.fit(&x, &labels, Fit::epochs(1).verbose(false))?;
    let err = model
        .fit(&x, &labels, Fit::epochs(1).verbose(3))
        .unwrap_err()
        .to_string();
    assert!(err.contains("verbose must be 0"), "{err}");
    let err = model
        .evaluate_with(&x, &labels, Eval::default().verbose(-1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("got -1"), "{err}");
    let _ = model.predict_with(&x, Predict::default().verbose(2))?;
    Ok(())
}

#[test]
fn with_gpu_runs_the_cell_on_a_gpu_or_says_why_not() -> Result<()> {
    let mut ran_on = None;
    let value = with_gpu(|gpu| {
        ran_on = Some(gpu);
        Ok(7)
    })?;
    if notebook_kit::device::cuda_is_available() {
        assert_eq!((ran_on, value), (Some(Device::Cuda(0)), Some(7)));
    } else {
        assert_eq!(
            (ran_on, value),
            (None, None),
            "no GPU: the cell must not run"
        );
    }
    // An error inside the cell reaches the caller.
    if notebook_kit::device::cuda_is_available() {
        let failed: Result<Option<()>> = with_gpu(|_| Err(Error::NotCompiled("fit")));
        assert!(failed.is_err());
    }
    Ok(())
}

#[test]
fn shared_model_definitions_describe_the_lesson_and_the_exercise() -> Result<()> {
    let _rng = rng_lock();
    let lesson = notebook_kit::models::lesson(Device::Cpu)?;
    assert_eq!(
        lesson.dense_shapes(),
        [(3072, 3000), (3000, 1000), (1000, 10)]
    );
    assert!(matches!(lesson.optimizer(), Some(Optimizer::Sgd(s)) if s.learning_rate == 0.01));
    assert_eq!(lesson.loss(), Some(CategoricalCrossentropy));
    let deep = notebook_kit::models::fashion(5, Device::Cpu)?;
    assert_eq!(deep.dense_shapes().len(), 6);
    assert_eq!(deep.dense_shapes()[0], (784, 500));
    assert_eq!(deep.loss(), Some(SparseCategoricalCrossentropy));
    assert!(matches!(deep.optimizer(), Some(Optimizer::Adam(_))));
    Ok(())
}

/// `predict` and `evaluate` send several batches through the model at once and, on the CPU,
/// multiply by kernels packed once per call: whatever the batch size, they give what the
/// layers compute.
#[test]
fn inference_in_groups_of_batches_matches_the_layers() -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(1000, 4, 21);
    tch::manual_seed(5);
    let mut model = small_model(Softmax, 4)?;
    model.compile(Sgd::default(), SparseCategoricalCrossentropy, Accuracy)?;
    // Biases start at zero: give them values, so that leaving one out shows.
    let w: Vec<Tensor> = model
        .get_weights()?
        .iter()
        .map(|w| {
            if w.dim() == 1 {
                w.rand_like() - 0.5
            } else {
                w.shallow_clone()
            }
        })
        .collect();
    model.set_weights(&w)?;
    // The forward pass written out from the weights, one product per layer for all rows.
    let h = x.reshape([1000, 48]).matmul(&w[0]).g_add(&w[1]).relu();
    let h = h.matmul(&w[2]).g_add(&w[3]).tanh();
    let z = h.matmul(&w[4]).g_add(&w[5]);
    let expected = z.softmax(-1, Kind::Float);
    let expected_loss = -z
        .log_softmax(-1, Kind::Double)
        .gather(1, &labels.view([-1, 1]), false)
        .mean(Kind::Double)
        .double_value(&[]);
    let expected_accuracy = expected
        .argmax(-1, false)
        .eq_tensor(&labels)
        .to_kind(Kind::Double)
        .mean(None)
        .double_value(&[]);
    // 1000 rows: groups of 256 rows and a shorter last one; 300 and 5000: one batch per group.
    for batch_size in [1, 32, 100, 300, 5000] {
        let quiet = Predict::default().batch_size(batch_size).verbose(0);
        let probs = model.predict_with(&x, quiet)?;
        let diff = (&probs - &expected).abs().max().double_value(&[]);
        assert!(
            diff < 1e-5,
            "batch_size {batch_size}: predictions differ by {diff}"
        );
        let (loss, accuracy) = model.evaluate_with(&x, &labels, quiet)?;
        assert!(
            (loss - expected_loss).abs() < 1e-5,
            "batch_size {batch_size}: loss {loss} vs {expected_loss}"
        );
        assert!((accuracy - expected_accuracy).abs() < 1e-9);
    }
    Ok(())
}
