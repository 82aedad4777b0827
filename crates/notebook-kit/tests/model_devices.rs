//! Training, inference and Keras parity on each device: every test body takes a `Device`, and
//! `on_each_device!` stamps it as `cpu::<name>` and `cuda::<name>`.
//!
//! Why both: the CPU and CUDA run different code (MKL's packed and split products and the
//! one-loop Adam are CPU-only), and a GPU machine is rarely at hand. The CPU copies run in
//! every test run, so the test code itself is proven before a GPU sees it. Without a GPU the
//! CUDA copies say "skipped" and pass; with `NOTEBOOK_KIT_EXPECT_CUDA=1` (set by
//! `benches/gpu-check.sh` on a GPU machine) a missing GPU fails them instead.
//!
//! Each test compares against a reference computed another way (the autograd path, a plain
//! forward pass written here, Keras's recorded losses, the same labels in another type), so a
//! CPU copy is a real check too. Float32 on both sides: a device that silently multiplied in
//! TF32 (10-bit mantissa) would miss these tolerances by orders of magnitude.

#[path = "common/parity_case.rs"]
mod parity_case;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use notebook_kit::model::{LossSpec, ProbabilityRule, TrainingPath};
use notebook_kit::prelude::*;

macro_rules! on_each_device {
    ($($name:ident),* $(,)?) => {
        mod cpu {
            $(
                #[test]
                fn $name() -> notebook_kit::Result<()> {
                    super::$name(tch::Device::Cpu)
                }
            )*
        }
        mod cuda {
            $(
                #[test]
                fn $name() -> notebook_kit::Result<()> {
                    match super::cuda_or_skip(stringify!($name)) {
                        Some(device) => super::$name(device),
                        None => Ok(()),
                    }
                }
            )*
        }
    };
}

on_each_device!(
    fused_path_matches_autograd,
    twenty_steps_match_the_cpu_autograd_path,
    predict_and_evaluate_match_a_plain_forward_pass,
    fit_scores_every_sample_once,
    every_label_type_trains_alike,
    every_step_matches_keras,
    a_diverging_loss_stops_fit_naming_the_step,
);

/// The first GPU; `None` (the test passes as skipped) when there is none, unless
/// `NOTEBOOK_KIT_EXPECT_CUDA=1` says this machine must have one.
fn cuda_or_skip(test: &str) -> Option<Device> {
    match notebook_kit::device::why_no_cuda() {
        None => Some(Device::Cuda(0)),
        Some(why) if std::env::var("NOTEBOOK_KIT_EXPECT_CUDA").is_ok_and(|v| v == "1") => {
            panic!("NOTEBOOK_KIT_EXPECT_CUDA=1 but there is no GPU: {why}")
        }
        Some(why) => {
            eprintln!("cuda::{test}: skipped, no GPU here ({why})");
            None
        }
    }
}

/// tch's generator is global and the harness runs tests on several threads: every test here
/// seeds it, so each holds this lock from its first seed to its last random number.
fn rng_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Random images `[n, 4, 4, 3]` in [0, 1) on the CPU, and class labels that depend on them.
fn toy_data(n: i64, seed: i64) -> (Tensor, Tensor) {
    tch::manual_seed(seed);
    let x = Tensor::rand([n, 4, 4, 3], (Kind::Float, Device::Cpu));
    let labels = x.reshape([n, 48]).narrow(1, 0, 10).argmax(-1, false);
    (x, labels)
}

/// The lesson's layer kinds at toy size: Flatten, two ReLU layers, a 10-unit output.
fn toy_model(output: Activation, device: Device) -> Result<Sequential> {
    Sequential::new()
        .add(Flatten::new([4, 4, 3]))
        .add(Dense::new(64, Relu))
        .add(Dense::new(32, Relu))
        .add(Dense::new(10, output))
        .build(device)
}

/// Weights drawn once on the CPU (seed 42), so that every device starts from the same ones.
fn initial_weights(output: Activation) -> Result<Vec<Tensor>> {
    tch::manual_seed(42);
    toy_model(output, Device::Cpu)?.get_weights()
}

/// One training set-up: optimizer, output activation, loss.
type Case = (Optimizer, Activation, LossSpec);

/// The lesson's (SGD, sigmoid, categorical cross-entropy under both rules), the exercise's
/// (Adam, sparse categorical cross-entropy), and momentum on a softmax output.
fn cases() -> Vec<Case> {
    vec![
        (
            Sgd::new(0.05).into(),
            Sigmoid,
            CategoricalCrossentropy.into(),
        ),
        (
            Sgd::new(0.05).into(),
            Sigmoid,
            CategoricalCrossentropy.as_in_todays_keras(),
        ),
        (
            Adam::default().into(),
            Sigmoid,
            SparseCategoricalCrossentropy.into(),
        ),
        (
            Sgd::new(0.05).momentum(0.9).into(),
            Softmax,
            CategoricalCrossentropy.into(),
        ),
    ]
}

fn targets(loss: LossSpec, labels: &Tensor) -> Tensor {
    match loss.loss {
        Loss::CategoricalCrossentropy => labels.onehot(10),
        Loss::SparseCategoricalCrossentropy => labels.to_kind(Kind::Uint8),
    }
}

/// Trains `case` on `device` from [`initial_weights`], shuffling with seed 43 (the order is
/// drawn on the CPU, so it is the same on every device); returns the weights (on the CPU)
/// and the history.
fn train(
    case: Case,
    device: Device,
    fused: bool,
    (x, labels): (&Tensor, &Tensor),
    fit: Fit<'_>,
) -> Result<(Vec<Tensor>, History)> {
    let (optimizer, output, loss) = case;
    let weights = initial_weights(output)?;
    let mut model = toy_model(output, device)?;
    model.set_weights(&weights)?;
    model.compile(optimizer, loss, Accuracy)?;
    model.set_fused(fused);
    let path = if fused {
        TrainingPath::Fused
    } else {
        TrainingPath::Autograd
    };
    assert_eq!(model.training_path(), Some(path), "{case:?}");
    tch::manual_seed(43);
    let history = model.fit(x, &targets(loss, labels), fit)?;
    let weights = model.get_weights()?;
    Ok((
        weights.iter().map(|w| w.to_device(Device::Cpu)).collect(),
        history,
    ))
}

/// How far two lists of weights are apart: the largest difference, and how many entries
/// differ by more than `tolerance`.
fn weight_difference(a: &[Tensor], b: &[Tensor], tolerance: f64) -> (f64, i64) {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold((0.0, 0), |(max, count), (a, b)| {
        let diff = (a - b).abs();
        let over = diff.gt(tolerance).sum(Kind::Int64).int64_value(&[]);
        (max.max(diff.max().double_value(&[])), count + over)
    })
}

fn weight_count(weights: &[Tensor]) -> i64 {
    weights.iter().map(Tensor::numel).sum::<usize>() as i64
}

/// Checks `ours` against `reference` to `tolerance`. Adam divides each gradient by its own
/// running size, so where a gradient is within rounding of zero its sign (rounding) decides
/// a step of about the learning rate: for Adam one weight in a thousand may differ by up
/// to `adam_step_bound`.
fn assert_weights_close(
    ours: &[Tensor],
    reference: &[Tensor],
    tolerance: f64,
    optimizer: Optimizer,
    what: &str,
) {
    let (max, over) = weight_difference(ours, reference, tolerance);
    let total = weight_count(ours);
    match optimizer {
        Optimizer::Adam(adam) => {
            let adam_step_bound = 10.0 * adam.learning_rate;
            assert!(
                over * 1000 <= total && max <= adam_step_bound,
                "{what}: {over} of {total} weights differ by more than {tolerance:e} \
                 (largest {max:e}, Adam's bound {adam_step_bound:e})"
            );
        }
        _ => assert!(
            over == 0,
            "{what}: {over} of {total} weights differ by more than {tolerance:e} (largest {max:e})"
        ),
    }
}

/// The fused step (explicit gradients, in-place updates, closed-form loss heads) against
/// libtorch's autograd on the same device, after 8 shuffled steps.
fn fused_path_matches_autograd(device: Device) -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(256, 7);
    for case in cases() {
        let fit = || Fit::epochs(1).batch_size(32).verbose(0);
        let (fused_w, fused_h) = train(case, device, true, (&x, &labels), fit())?;
        let (plain_w, plain_h) = train(case, device, false, (&x, &labels), fit())?;
        let what = format!("{device:?} {case:?}");
        assert_weights_close(&fused_w, &plain_w, 1e-5, case.0, &what);
        let (a, b) = (fused_h.loss[0], plain_h.loss[0]);
        assert!((a - b).abs() < 1e-5, "{what}: loss {a} vs {b}");
        assert_eq!(fused_h.accuracy, plain_h.accuracy, "{what}");
    }
    Ok(())
}

/// What a learner compares in the lesson: the same training on the GPU and the CPU. The
/// device's fused path against the CPU's autograd path over 20 steps from the same weights
/// and batch order: losses to 1e-4 relative, weights to 1e-4.
fn twenty_steps_match_the_cpu_autograd_path(device: Device) -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(640, 8);
    for case in cases() {
        let fit = || Fit::epochs(2).batch_size(64).verbose(0);
        let (ours_w, ours_h) = train(case, device, true, (&x, &labels), fit())?;
        let (cpu_w, cpu_h) = train(case, Device::Cpu, false, (&x, &labels), fit())?;
        let what = format!("{device:?} fused vs CPU autograd, {case:?}");
        for (a, b) in ours_h.loss.iter().zip(&cpu_h.loss) {
            assert!(((a - b) / b).abs() < 1e-4, "{what}: loss {a} vs {b}");
        }
        assert_weights_close(&ours_w, &cpu_w, 1e-4, case.0, &what);
    }
    Ok(())
}

/// The toy model's probabilities computed here with plain tensor operations on the CPU.
fn plain_forward(weights: &[Tensor], x: &Tensor, output: Activation) -> Tensor {
    let n = x.size()[0];
    let mut a = x.reshape([n, -1]);
    let layers = weights.len() / 2;
    for (i, w) in weights.chunks(2).enumerate() {
        let z = a.mm(&w[0]) + &w[1];
        a = match i + 1 == layers {
            false => z.relu(),
            true => match output {
                Softmax => z.softmax(-1, Kind::Float),
                _ => z.sigmoid(),
            },
        };
    }
    a
}

/// `predict` and `evaluate` (grouped batches, packed kernels on the CPU, a last short batch)
/// against [`plain_forward`] and a loss and accuracy computed from its output.
fn predict_and_evaluate_match_a_plain_forward_pass(device: Device) -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(1000, 9);
    for output in [Sigmoid, Softmax] {
        // Keras starts biases at zero; non-zero ones here, so that adding them is checked.
        let weights: Vec<Tensor> = initial_weights(output)?
            .into_iter()
            .map(|w| match w.dim() {
                1 => Tensor::rand_like(&w) - 0.5,
                _ => w,
            })
            .collect();
        let mut model = toy_model(output, device)?;
        model.set_weights(&weights)?;
        model.compile(Sgd::default(), SparseCategoricalCrossentropy, Accuracy)?;
        let expected = plain_forward(&weights, &x, output);
        for batch_size in [32, 300] {
            let options = Predict::default().batch_size(batch_size).verbose(0);
            let predicted = model.predict_with(&x, options)?;
            assert_eq!(predicted.device(), Device::Cpu);
            let diff = (&predicted - &expected).abs().max().double_value(&[]);
            assert!(
                diff < 1e-6,
                "{device:?} {output:?} batch {batch_size}: predictions differ by {diff}"
            );
        }
        let (loss, accuracy) = model.evaluate_with(&x, &labels, Eval::default().verbose(0))?;
        let hits = expected.argmax(-1, false).eq_tensor(&labels);
        let expected_accuracy = hits.to_kind(Kind::Double).mean(None).double_value(&[]);
        assert!(
            (accuracy - expected_accuracy).abs() < 1e-9,
            "{device:?} {output:?}: accuracy {accuracy} vs {expected_accuracy}"
        );
        // Sparse categorical cross-entropy: clip, then the log-softmax of the log-probabilities.
        let log_p = expected.clamp(1e-7, 1.0 - 1e-7).log();
        let expected_loss = -log_p
            .log_softmax(-1, Kind::Float)
            .gather(1, &labels.view([-1, 1]), false)
            .mean(Kind::Double)
            .double_value(&[]);
        assert!(
            ((loss - expected_loss) / expected_loss).abs() < 1e-5,
            "{device:?} {output:?}: loss {loss} vs {expected_loss}"
        );
    }
    Ok(())
}

/// With a learning rate of 0 the weights stay as they are, so `fit`'s running accuracy and
/// loss must be those of the starting weights over the whole set: every sample scored once,
/// against its own label, whatever the batch order. Shuffled batches are gathered in groups
/// (~1,024 rows) and scored when read, so this covers group edges, a short last batch and a
/// short last group, on both training paths and both label forms.
fn fit_scores_every_sample_once(device: Device) -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(2500, 13);
    let weights = initial_weights(Sigmoid)?;
    let expected = plain_forward(&weights, &x, Sigmoid);
    let hits = expected.argmax(-1, false).eq_tensor(&labels);
    let expected_accuracy = hits.to_kind(Kind::Double).mean(None).double_value(&[]);
    let one_hot = to_categorical(&labels, 10)?;
    for (loss, y) in [
        (LossSpec::from(CategoricalCrossentropy), &one_hot),
        (SparseCategoricalCrossentropy.into(), &labels),
    ] {
        for path in [TrainingPath::Fused, TrainingPath::Autograd] {
            for (batch_size, shuffle) in [(32, true), (100, true), (32, false)] {
                let case =
                    format!("{device:?} {loss:?} {path:?} batch {batch_size} shuffle {shuffle}");
                let mut model = toy_model(Sigmoid, device)?;
                model.set_weights(&weights)?;
                model.compile(Sgd::new(0.0), loss, Accuracy)?;
                model.set_fused(path == TrainingPath::Fused);
                let options = Fit::epochs(1)
                    .batch_size(batch_size)
                    .shuffle(shuffle)
                    .verbose(0);
                let history = model.fit(&x, y, options)?;
                assert_eq!(model.training_path(), Some(path), "{case}");
                assert!(
                    (history.accuracy[0] - expected_accuracy).abs() < 1e-9,
                    "{case}: fit's accuracy {} vs {expected_accuracy}",
                    history.accuracy[0]
                );
                let (eval_loss, _) = model.evaluate_with(&x, y, Eval::default().verbose(0))?;
                assert!(
                    ((history.loss[0] - eval_loss) / eval_loss).abs() < 1e-5,
                    "{case}: fit's loss {} vs evaluate's {eval_loss}",
                    history.loss[0]
                );
            }
        }
    }
    Ok(())
}

/// Class labels as u8, i32, i64 or `[n, 1]`, one-hot as f32 or f64, on the CPU or already on
/// the device: the same training. On a softmax output both cross-entropies are the
/// log-softmax of the pre-activation, so sparse and one-hot labels give the same numbers.
fn every_label_type_trains_alike(device: Device) -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(200, 10);
    let sparse = || -> LossSpec { SparseCategoricalCrossentropy.into() };
    let categorical = || -> LossSpec { CategoricalCrossentropy.into() };
    let variants: Vec<(&str, LossSpec, Tensor)> = vec![
        ("u8", sparse(), labels.to_kind(Kind::Uint8)),
        ("i32", sparse(), labels.to_kind(Kind::Int)),
        ("i64", sparse(), labels.shallow_clone()),
        ("i64 [n, 1]", sparse(), labels.view([-1, 1])),
        ("i64 on the device", sparse(), labels.to_device(device)),
        (
            "one-hot f32",
            categorical(),
            labels.onehot(10).to_kind(Kind::Float),
        ),
        (
            "one-hot f64",
            categorical(),
            labels.onehot(10).to_kind(Kind::Double),
        ),
        (
            "one-hot f32 on the device",
            categorical(),
            labels.onehot(10).to_kind(Kind::Float).to_device(device),
        ),
    ];
    let mut first: Option<(Vec<Tensor>, History)> = None;
    for (name, loss, y) in variants {
        let weights = initial_weights(Softmax)?;
        let mut model = toy_model(Softmax, device)?;
        model.set_weights(&weights)?;
        model.compile(Sgd::new(0.05), loss, Accuracy)?;
        tch::manual_seed(44);
        let history = model.fit(&x, &y, Fit::epochs(2).batch_size(32).verbose(0))?;
        let trained: Vec<Tensor> = model
            .get_weights()?
            .iter()
            .map(|w| w.to_device(Device::Cpu))
            .collect();
        match &first {
            None => first = Some((trained, history)),
            Some((w0, h0)) => {
                let (max, _) = weight_difference(&trained, w0, 0.0);
                assert!(
                    max < 1e-5,
                    "{device:?} labels {name}: weights differ by {max}"
                );
                for (a, b) in history.loss.iter().zip(&h0.loss) {
                    assert!(
                        (a - b).abs() < 1e-5,
                        "{device:?} labels {name}: loss {a} vs {b}"
                    );
                }
                assert_eq!(history.accuracy, h0.accuracy, "{device:?} labels {name}");
            }
        }
    }
    Ok(())
}

/// The parity fixtures (scaled-down lesson and exercise models, Keras's recorded losses for
/// 20 steps) on this device. `NOTEBOOK_KIT_TEST_FIXTURES` points at the fixtures where the
/// test binary runs away from its source tree (the GPU check).
fn every_step_matches_keras(device: Device) -> Result<()> {
    // Building the model draws from tch's generator, between another test's seed and its use.
    let _rng = rng_lock();
    let fixtures = std::env::var_os("NOTEBOOK_KIT_TEST_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    for fixture in ["parity-small", "parity-exercise-small"] {
        let dir = fixtures.join(fixture);
        let case = parity_case::Case::load(&dir)?;
        for (rule, name) in [
            (ProbabilityRule::AsInTodaysKeras, "tf_keras"),
            (ProbabilityRule::AsInTheLesson, "numpy_lesson"),
        ] {
            let theirs = parity_case::recorded_losses(&dir, name);
            for fused in [true, false] {
                let ours = case.losses_on(device, rule, 20, fused)?;
                let worst = parity_case::largest_relative_difference(&ours, &theirs);
                assert!(
                    worst < 1e-5,
                    "{device:?} {fixture} fused {fused} vs {name}: {worst:e}\nours {ours:?}\ntheirs {theirs:?}"
                );
            }
        }
    }
    Ok(())
}

/// A learning rate far too high: `fit` stops with an error naming the epoch and the step,
/// on both training paths.
fn a_diverging_loss_stops_fit_naming_the_step(device: Device) -> Result<()> {
    let _rng = rng_lock();
    let (x, labels) = toy_data(96, 11);
    let x = &x * 1e6;
    for fused in [true, false] {
        let mut model = toy_model(Softmax, device)?;
        model.compile(Sgd::new(1e6), SparseCategoricalCrossentropy, Accuracy)?;
        model.set_fused(fused);
        match model.fit(&x, &labels, Fit::epochs(1).batch_size(32).verbose(0)) {
            Err(Error::NonFinite(message)) => assert!(
                message.contains("epoch 1, step") && message.contains("/3"),
                "{device:?} fused {fused}: {message}"
            ),
            other => panic!("{device:?} fused {fused}: expected a non-finite loss, got {other:?}"),
        }
    }
    Ok(())
}
