//! A notebook user's mistakes come back as errors that say what is wrong, never panics.

use notebook_kit::display::{
    confusion_matrix, plot_confusion_matrix, plot_history, plot_prediction, plot_sample,
    plot_sample_with, plot_samples,
};
use notebook_kit::model::History;
use notebook_kit::Error;
use tch::{Device, Kind, Tensor};

use notebook_kit::data::cifar10::CLASSES;

fn images(n: i64) -> Tensor {
    Tensor::zeros([n, 32, 32, 3], (Kind::Uint8, Device::Cpu))
}

fn labels(n: i64) -> Tensor {
    Tensor::zeros([n, 1], (Kind::Uint8, Device::Cpu))
}

fn message(result: notebook_kit::Result<impl std::fmt::Debug>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn empty_tensor() {
    let text = message(plot_sample(&images(0), 0));
    assert!(text.contains("empty"), "{text}");
    assert!(plot_samples(&images(0), &labels(0), &CLASSES, ..).is_err());
}

#[test]
fn wrong_rank() {
    for shape in [&[32i64, 32][..], &[1, 32, 32, 3, 1], &[5], &[2, 32, 32, 2]] {
        let x = Tensor::zeros(shape, (Kind::Uint8, Device::Cpu));
        assert!(
            matches!(plot_sample(&x, 0), Err(Error::Shape(_))),
            "{shape:?}"
        );
    }
    let text = message(plot_sample(
        &Tensor::zeros([32, 32], (Kind::Float, Device::Cpu)),
        0,
    ));
    assert!(text.contains("(32, 32)"), "{text}");
    // `x_train.get(0)` instead of `x_train`: one image, not a batch.
    let text = message(plot_sample(&images(1).get(0), 0));
    assert!(text.contains("one image"), "{text}");
}

#[test]
fn index_out_of_range() {
    let text = message(plot_sample(&images(5), 5));
    assert!(
        text.contains("index 5") && text.contains("0 to 4"),
        "{text}"
    );
    assert!(plot_sample_with(&images(5), &labels(5), &CLASSES, usize::MAX).is_err());
    assert!(plot_samples(&images(5), &labels(5), &CLASSES, 3..6).is_err());
    assert!(plot_samples(&images(5), &labels(5), &CLASSES, 3..3).is_err());
}

#[test]
fn too_many_images_for_one_figure() {
    let text = message(plot_samples(&images(200), &labels(200), &CLASSES, ..));
    assert!(text.contains("at most 100"), "{text}");
}

#[test]
fn labels_that_do_not_fit() {
    // Train images with test labels.
    assert!(matches!(
        plot_samples(&images(5), &labels(4), &CLASSES, 0..2),
        Err(Error::Shape(_))
    ));
    // A label with no class name.
    let y = Tensor::from_slice(&[12u8]).view([1, 1]);
    let text = message(plot_sample_with(&images(1), &y, &CLASSES, 0));
    assert!(text.contains("label 12"), "{text}");
    assert!(plot_sample_with(&images(1), &labels(1), &[], 0).is_err());
    let y = Tensor::from_slice(&[-1i64]);
    assert!(plot_sample_with(&images(1), &y, &CLASSES, 0).is_err());
    let y = Tensor::zeros([1, 1, 1], (Kind::Uint8, Device::Cpu));
    assert!(matches!(
        plot_sample_with(&images(1), &y, &CLASSES, 0),
        Err(Error::Shape(_))
    ));
}

#[test]
fn predictions_that_are_not_probabilities() {
    let (x, y) = (images(2), labels(2));
    let wrong_width = Tensor::full([2, 3], 0.1, (Kind::Float, Device::Cpu));
    assert!(matches!(
        plot_prediction(&x, &y, &wrong_width, &CLASSES, 0),
        Err(Error::Shape(_))
    ));
    let logits = Tensor::full([2, 10], 3.5, (Kind::Float, Device::Cpu));
    let text = message(plot_prediction(&x, &y, &logits, &CLASSES, 0));
    assert!(text.contains("softmax"), "{text}");
    let nan = Tensor::full([2, 10], f64::NAN, (Kind::Float, Device::Cpu));
    assert!(plot_prediction(&x, &y, &nan, &CLASSES, 0).is_err());
    let probs = Tensor::full([2, 10], 0.1, (Kind::Float, Device::Cpu));
    assert!(plot_prediction(&x, &y, &probs, &CLASSES, 2).is_err());
}

#[test]
fn nan_in_history() {
    let history = History {
        loss: vec![1.0, f64::NAN],
        accuracy: vec![0.3, 0.4],
        ..History::default()
    };
    let text = message(plot_history(&history));
    assert!(matches!(plot_history(&history), Err(Error::NonFinite(_))));
    assert!(
        text.contains("history.loss") && text.contains("epoch 2"),
        "{text}"
    );
    let history = History {
        loss: vec![1.0],
        val_accuracy: vec![f64::INFINITY],
        ..History::default()
    };
    assert!(matches!(plot_history(&history), Err(Error::NonFinite(_))));
}

#[test]
fn history_without_epochs_or_with_uneven_lengths() {
    assert!(plot_history(&History::default()).is_err());
    let uneven = History {
        loss: vec![1.0, 0.9],
        accuracy: vec![0.5],
        ..History::default()
    };
    assert!(matches!(plot_history(&uneven), Err(Error::Shape(_))));
}

#[test]
fn confusion_matrix_mistakes() {
    let three = Tensor::from_slice(&[0i64, 1, 2]);
    assert!(confusion_matrix(&three, &Tensor::from_slice(&[0i64, 1]), 3).is_err());
    let text = message(confusion_matrix(&three, &three, 2));
    assert!(text.contains("label 2"), "{text}");
    assert!(confusion_matrix(&three, &three, 0).is_err());
    assert!(plot_confusion_matrix(&[], &[]).is_err());
    assert!(plot_confusion_matrix(&[vec![1, 2], vec![3]], &["a", "b"]).is_err());
    assert!(plot_confusion_matrix(&[vec![1]], &["a", "b"]).is_err());
    assert!(plot_confusion_matrix(&[vec![-1]], &["a"]).is_err());
}
