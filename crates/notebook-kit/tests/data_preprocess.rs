//! `scale`, `to_categorical` and `label`: results and errors.

use notebook_kit::data::{label, scale, to_categorical};
use notebook_kit::prelude::*;

fn labels_u8(values: &[u8]) -> Tensor {
    Tensor::from_slice(values).reshape([values.len() as i64, 1])
}

#[test]
fn scale_maps_u8_to_f32_in_unit_range() {
    let x = Tensor::from_slice(&[0u8, 51, 255]).reshape([1, 3]);
    let scaled = scale(&x).unwrap();
    assert_eq!(scaled.kind(), Kind::Float);
    assert_eq!(scaled.size(), [1, 3]);
    let values: Vec<f32> = Vec::try_from(scaled.reshape([-1])).unwrap();
    assert_eq!(values, [0.0, 0.2, 1.0]);
}

#[test]
fn scale_refuses_what_is_not_u8() {
    let err = scale(&Tensor::from_slice(&[0.5f32]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("u8") && err.contains("Float") && err.contains("scaled already"),
        "{err}"
    );
}

#[test]
fn to_categorical_one_hot_from_n_by_1_and_n() {
    for y in [labels_u8(&[6, 9, 0]), Tensor::from_slice(&[6i64, 9, 0])] {
        let one_hot = to_categorical(&y, 10).unwrap();
        assert_eq!(one_hot.kind(), Kind::Float);
        assert_eq!(one_hot.size(), [3, 10]);
        let rows: Vec<f32> = Vec::try_from(one_hot.reshape([-1])).unwrap();
        let mut expected = vec![0.0f32; 30];
        expected[6] = 1.0;
        expected[10 + 9] = 1.0;
        expected[20] = 1.0;
        assert_eq!(rows, expected);
    }
}

#[test]
fn to_categorical_names_the_first_out_of_range_label() {
    let err = to_categorical(&labels_u8(&[1, 2, 12, 3, 15]), 10)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("index 2 is 12") && err.contains("0..10"),
        "{err}"
    );

    let err = to_categorical(&Tensor::from_slice(&[0i64, -1, 4]), 5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("index 1 is -1"), "{err}");

    let err = to_categorical(&Tensor::from_slice(&[3i32, 4]), 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("index 1 is 4") && err.contains("0..4"),
        "{err}"
    );
}

#[test]
fn to_categorical_rejects_bad_arguments() {
    let y = labels_u8(&[1, 2]);
    assert!(to_categorical(&y, 0)
        .unwrap_err()
        .to_string()
        .contains("num_classes must be positive"));
    let err = to_categorical(&Tensor::from_slice(&[1.0f32, 2.0]), 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("integer labels"), "{err}");
    let err = to_categorical(&Tensor::zeros([2, 2], (Kind::Uint8, Device::Cpu)), 3)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("(n,) or (n, 1)") && err.contains("(2, 2)"),
        "{err}"
    );
}

#[test]
fn to_categorical_of_no_labels_is_empty() {
    let y = Tensor::zeros([0], (Kind::Uint8, Device::Cpu));
    assert_eq!(to_categorical(&y, 10).unwrap().size(), [0, 10]);
}

#[test]
fn label_reads_any_integer_labels() {
    assert_eq!(label(&labels_u8(&[6, 9, 9, 4]), 3).unwrap(), 4);
    assert_eq!(label(&Tensor::from_slice(&[7i64, 8]), 1).unwrap(), 8);
    assert_eq!(label(&Tensor::from_slice(&[5i32]), 0).unwrap(), 5);
    assert_eq!(label(&Tensor::from_slice(&[2i16]), 0).unwrap(), 2);
}

#[test]
fn label_errors() {
    let err = label(&labels_u8(&[6, 9, 9]), 3).unwrap_err().to_string();
    assert!(
        err.contains("index 3 is out of range") && err.contains("holds 3 labels"),
        "{err}"
    );
    // Indices beyond i64: `as i64` made usize::MAX -1, which read the last label.
    for index in [usize::MAX, 1 << 63] {
        let err = label(&labels_u8(&[6, 9, 9]), index)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("index {index} is out of range"))
                && err.contains("holds 3 labels"),
            "{err}"
        );
    }
    let err = label(&Tensor::zeros([0], (Kind::Uint8, Device::Cpu)), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds no labels"), "{err}");
    let err = label(&Tensor::from_slice(&[-2i64]), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("negative"), "{err}");
    let err = label(&Tensor::from_slice(&[0.5f32]), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("integer labels"), "{err}");
    let err = label(&Tensor::zeros([2, 3], (Kind::Int64, Device::Cpu)), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("(2, 3)"), "{err}");
}
