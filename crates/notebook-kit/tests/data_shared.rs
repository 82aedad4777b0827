//! The real data sets in the shared data folder (see its PROVENANCE.md): counts, class
//! balance, known first labels, shapes.
//!
//! The folder is `$NOTEBOOK_KIT_DATA`, else `<repo>/../shared/data`. If neither exists these
//! tests fail on purpose: a silently skipped test would hide a broken setup.

use notebook_kit::data::{cifar10, fashion_mnist, view_u8};
use notebook_kit::prelude::*;
use std::path::PathBuf;

fn shared_data() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("NOTEBOOK_KIT_DATA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")])
        .collect();
    match candidates.iter().find(|p| p.is_dir()) {
        Some(dir) => dir.clone(),
        None => panic!(
            "no shared data folder: looked in {candidates:?}. Set NOTEBOOK_KIT_DATA to the folder \
             holding cifar-10-batches-bin/ and fashion-mnist/"
        ),
    }
}

/// How many labels of each class 0..=9.
fn class_counts(y: &Tensor) -> Vec<usize> {
    let mut counts = vec![0; 10];
    for &l in view_u8(y).unwrap().iter() {
        counts[l as usize] += 1;
    }
    counts
}

fn first_labels(y: &Tensor, n: usize) -> Vec<u8> {
    view_u8(y).unwrap().iter().take(n).copied().collect()
}

#[test]
fn cifar10_counts_labels_and_shapes() {
    let dir = shared_data().join("cifar-10-batches-bin");
    let ((x_train, y_train), (x_test, y_test)) = cifar10::load_data_from(&dir).unwrap();

    assert_eq!(x_train.shape(), [50000, 32, 32, 3]);
    assert_eq!(y_train.shape(), [50000, 1]);
    assert_eq!(x_test.shape(), [10000, 32, 32, 3]);
    assert_eq!(y_test.shape(), [10000, 1]);
    assert_eq!(x_train.shape().to_string(), "(50000, 32, 32, 3)");

    assert_eq!(class_counts(&y_train), vec![5000; 10]);
    assert_eq!(class_counts(&y_test), vec![1000; 10]);
    assert_eq!(first_labels(&y_train, 5), [6, 9, 9, 4, 1]);
    assert_eq!(first_labels(&y_test, 5), [3, 8, 8, 0, 6]);
    assert_eq!(cifar10::CLASSES[label(&y_train, 3).unwrap()], "deer");

    // Training image 0 starts R,G,B = 59,62,63 in the official data; these pixels went through
    // JPEG (PROVENANCE.md says ~6 grey levels average error), so allow a margin.
    let x = view_u8(&x_train).unwrap();
    let pixel = [x[[0, 0, 0, 0]], x[[0, 0, 0, 1]], x[[0, 0, 0, 2]]];
    for (got, official) in pixel.iter().zip([59u8, 62, 63]) {
        assert!(
            got.abs_diff(official) <= 30,
            "pixel (0,0) of train image 0 is {pixel:?}"
        );
    }
    assert_eq!(
        cifar10::class_names_from(&dir).unwrap(),
        cifar10::CLASSES.to_vec()
    );
}

#[test]
fn fashion_mnist_counts_labels_and_shapes() {
    let dir = shared_data().join("fashion-mnist");
    let ((x_train, y_train), (x_test, y_test)) = fashion_mnist::load_data_from(&dir).unwrap();

    assert_eq!(x_train.shape(), [60000, 28, 28]);
    assert_eq!(y_train.shape(), [60000]);
    assert_eq!(x_test.shape(), [10000, 28, 28]);
    assert_eq!(y_test.shape(), [10000]);

    assert_eq!(class_counts(&y_train), vec![6000; 10]);
    assert_eq!(class_counts(&y_test), vec![1000; 10]);
    assert_eq!(first_labels(&y_train, 1), [9]);
    assert_eq!(first_labels(&y_test, 5), [9, 2, 1, 1, 6]);
    assert_eq!(
        fashion_mnist::CLASSES[label(&y_train, 0).unwrap()],
        "Ankle boot"
    );
}

#[test]
fn shared_files_match_the_official_fashion_mnist_checksums() {
    let dir = shared_data().join("fashion-mnist");
    for (name, md5) in fashion_mnist::FILES {
        assert_eq!(
            notebook_kit::data::download::md5_file(&dir.join(name)).unwrap(),
            md5,
            "{name}"
        );
    }
}
