//! CIFAR-10 binary loading on tiny generated fixtures, and its errors.

#[path = "common/data_fixtures.rs"]
mod data_fixtures;

use data_fixtures::*;
use notebook_kit::data::{cifar10, label, view_u8};
use notebook_kit::prelude::*;
use std::path::Path;

fn error_text(result: Result<notebook_kit::data::Split>) -> String {
    match result {
        Ok(_) => panic!("expected an error, got data"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn loads_keras_shapes_dtypes_and_hwc_pixels() {
    let dir = temp_dir();
    write_cifar_dir(dir.path(), 3, 4);
    let ((x_train, y_train), (x_test, y_test)) = cifar10::load_data_from(dir.path()).unwrap();

    assert_eq!(x_train.shape().to_string(), "(15, 32, 32, 3)");
    assert_eq!(y_train.shape().to_string(), "(15, 1)");
    assert_eq!(x_test.shape().to_string(), "(4, 32, 32, 3)");
    assert_eq!(y_test.shape().to_string(), "(4, 1)");
    for t in [&x_train, &y_train, &x_test, &y_test] {
        assert_eq!(t.kind(), Kind::Uint8);
        assert!(t.is_contiguous());
    }

    // Every pixel lands at [image, row, column, channel], across batch boundaries.
    let x = view_u8(&x_train).unwrap();
    for img in 0..15 {
        for (y, xx, c) in [(0, 0, 0), (0, 0, 2), (5, 17, 1), (31, 31, 2), (31, 0, 0)] {
            assert_eq!(
                x[[img, y, xx, c]],
                cifar_pixel(img, y, xx, c),
                "train image {img} ({y},{xx},{c})"
            );
        }
        assert_eq!(label(&y_train, img).unwrap(), cifar_label(img) as usize);
    }
    let x = view_u8(&x_test).unwrap();
    for img in 0..4 {
        assert_eq!(x[[img, 9, 4, 1]], cifar_pixel(1000 + img, 9, 4, 1));
        assert_eq!(
            label(&y_test, img).unwrap(),
            cifar_label(1000 + img) as usize
        );
    }
}

#[test]
fn every_pixel_matches_the_record_layout() {
    let dir = temp_dir();
    write_cifar_dir(dir.path(), 1, 1);
    let ((x_train, _), _) = cifar10::load_data_from(dir.path()).unwrap();
    let x = view_u8(&x_train).unwrap();
    for img in 0..5 {
        let record = cifar_record(img);
        for c in 0..3 {
            for y in 0..32 {
                for xx in 0..32 {
                    assert_eq!(x[[img, y, xx, c]], record[1 + c * 1024 + y * 32 + xx]);
                }
            }
        }
    }
}

#[test]
fn class_names_read_like_the_lesson() {
    assert_eq!(
        cifar10::CLASSES.join(" "),
        "airplane automobile bird cat deer dog frog horse ship truck"
    );
    let y = Tensor::from_slice(&[6u8, 9, 9, 4, 1]).reshape([5, 1]);
    assert_eq!(cifar10::CLASSES[label(&y, 3).unwrap()], "deer");
}

#[test]
fn batches_meta_is_optional_and_blank_lines_are_ignored() {
    let dir = temp_dir();
    assert_eq!(
        cifar10::class_names_from(dir.path()).unwrap(),
        cifar10::CLASSES.to_vec()
    );

    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n\n";
    std::fs::write(dir.path().join("batches.meta.txt"), names).unwrap();
    assert_eq!(
        cifar10::class_names_from(dir.path()).unwrap(),
        cifar10::CLASSES.to_vec()
    );

    std::fs::write(
        dir.path().join("batches.meta.txt"),
        "airplane\nautomobile\n",
    )
    .unwrap();
    let err = cifar10::class_names_from(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("batches.meta.txt") && err.contains("holds 2 class names"),
        "{err}"
    );
}

#[test]
fn missing_directory_is_an_error_naming_it() {
    let dir = temp_dir();
    let missing = dir.path().join("no-such-folder");
    let err = error_text(cifar10::load_data_from(&missing));
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(
        err.contains("load_data_from needs a folder holding data_batch_1.bin"),
        "says what to do: {err}"
    );
}

#[test]
fn missing_batch_file_is_an_error_naming_it() {
    let dir = temp_dir();
    write_cifar_dir(dir.path(), 2, 2);
    std::fs::remove_file(dir.path().join("data_batch_3.bin")).unwrap();
    let err = error_text(cifar10::load_data_from(dir.path()));
    assert!(
        err.contains(&dir.path().join("data_batch_3.bin").display().to_string()),
        "{err}"
    );
    assert!(err.contains("incomplete"), "{err}");
    assert!(
        !err.contains("data_batch_2.bin,"),
        "only the missing file is listed: {err}"
    );
}

#[test]
fn truncated_file_is_an_error_naming_it() {
    let dir = temp_dir();
    write_cifar_dir(dir.path(), 2, 2);
    let path = dir.path().join("data_batch_4.bin");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = error_text(cifar10::load_data_from(dir.path()));
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("6046 bytes is not a whole number of 3073-byte records"),
        "{err}"
    );
}

#[test]
fn label_above_nine_is_an_error_naming_the_record() {
    let dir = temp_dir();
    write_cifar_dir(dir.path(), 2, 2);
    let path = dir.path().join("test_batch.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[CIFAR_RECORD] = 12; // the label of record 1
    std::fs::write(&path, bytes).unwrap();
    let err = error_text(cifar10::load_data_from(dir.path()));
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("record 1") && err.contains("label 12"),
        "{err}"
    );
}

#[test]
fn empty_file_is_an_error_naming_it() {
    let dir = temp_dir();
    write_cifar_dir(dir.path(), 2, 2);
    let path = dir.path().join("data_batch_1.bin");
    std::fs::write(&path, b"").unwrap();
    let err = error_text(cifar10::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn a_file_in_place_of_the_folder_is_an_error() {
    let dir = temp_dir();
    let file = dir.path().join("cifar");
    std::fs::write(&file, b"x").unwrap();
    let err = error_text(cifar10::load_data_from(Path::new(&file)));
    assert!(err.contains("is not a folder"), "{err}");
}
