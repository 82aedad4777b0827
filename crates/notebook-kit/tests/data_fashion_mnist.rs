//! Fashion-MNIST IDX loading (gzipped and plain) on tiny generated fixtures, and its errors.

#[path = "common/data_fixtures.rs"]
mod data_fixtures;

use data_fixtures::*;
use notebook_kit::data::{fashion_mnist, label, view_u8};
use notebook_kit::prelude::*;

fn error_text(result: Result<notebook_kit::data::Split>) -> String {
    match result {
        Ok(_) => panic!("expected an error, got data"),
        Err(e) => e.to_string(),
    }
}

fn check_fixture(split: notebook_kit::data::Split, train: usize, test: usize) {
    let ((x_train, y_train), (x_test, y_test)) = split;
    assert_eq!(x_train.shape().to_string(), format!("({train}, 28, 28)"));
    assert_eq!(y_train.shape().to_string(), format!("({train},)"));
    assert_eq!(x_test.shape().to_string(), format!("({test}, 28, 28)"));
    assert_eq!(y_test.shape().to_string(), format!("({test},)"));
    for t in [&x_train, &y_train, &x_test, &y_test] {
        assert_eq!(t.kind(), Kind::Uint8);
    }
    let x = view_u8(&x_train).unwrap();
    for img in 0..train {
        for (y, xx) in [(0, 0), (0, 27), (13, 5), (27, 27)] {
            assert_eq!(x[[img, y, xx]], fashion_pixel(img, y, xx));
        }
        assert_eq!(label(&y_train, img).unwrap(), fashion_label(img) as usize);
    }
    let x = view_u8(&x_test).unwrap();
    for img in 0..test {
        assert_eq!(x[[img, 20, 3]], fashion_pixel(500 + img, 20, 3));
        assert_eq!(
            label(&y_test, img).unwrap(),
            fashion_label(500 + img) as usize
        );
    }
}

#[test]
fn loads_gzipped_files() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 7, 3, true);
    check_fixture(fashion_mnist::load_data_from(dir.path()).unwrap(), 7, 3);
}

#[test]
fn loads_uncompressed_files() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 5, 2, false);
    check_fixture(fashion_mnist::load_data_from(dir.path()).unwrap(), 5, 2);
}

#[test]
fn first_label_names_an_ankle_boot() {
    assert_eq!(
        fashion_mnist::CLASSES.join("|"),
        "T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot"
    );
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 2, 2, true);
    let ((_, y_train), _) = fashion_mnist::load_data_from(dir.path()).unwrap();
    assert_eq!(
        fashion_mnist::CLASSES[label(&y_train, 0).unwrap()],
        "Ankle boot"
    );
}

#[test]
fn wrong_magic_is_an_error_naming_the_file() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 3, 2, true);
    // Labels where the images belong.
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    std::fs::write(&path, gzip(&fashion_labels(0, 3))).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("wrong magic number 0x00000801, expected 0x00000803"),
        "{err}"
    );
}

#[test]
fn gzip_data_under_a_plain_name_is_explained() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 3, 2, false);
    let path = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::write(&path, gzip(&fashion_labels(500, 2))).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("gzip-compressed"),
        "{err}"
    );
}

#[test]
fn dims_that_disagree_with_the_length_are_an_error() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 3, 2, false);
    // The header promises 4 images, the file holds 3.
    let path = dir.path().join("train-images-idx3-ubyte");
    let mut bytes = fashion_images(0, 3);
    bytes[4..8].copy_from_slice(&4u32.to_be_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("[4, 28, 28] need 3136 data bytes, but the file holds 2352"),
        "{err}"
    );
}

#[test]
fn gzipped_dims_that_disagree_with_the_data_are_an_error() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 3, 2, true);
    let path = dir.path().join("train-images-idx3-ubyte.gz");

    let mut short = fashion_images(0, 3);
    short[4..8].copy_from_slice(&4u32.to_be_bytes());
    std::fs::write(&path, gzip(&short)).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("the file holds 2352"),
        "{err}"
    );

    let mut long = fashion_images(0, 3);
    long[4..8].copy_from_slice(&2u32.to_be_bytes());
    std::fs::write(&path, gzip(&long)).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("the file holds more"),
        "{err}"
    );
}

#[test]
fn absurd_dims_in_a_small_gzip_are_an_error_not_an_allocation() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 3, 2, true);
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    std::fs::write(
        &path,
        gzip(&idx_bytes(
            0x803,
            &[4_000_000_000, 60_000, 60_000],
            &[0; 16],
        )),
    )
    .unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("damaged"),
        "{err}"
    );
}

#[test]
fn dims_whose_product_overflows_are_an_error_naming_the_file() {
    // 2^22 cubed is 2^66 bytes: more than a u64 counts.
    let header = idx_bytes(0x803, &[1 << 22; 3], &[0; 16]);
    for (gz, name) in [
        (false, "train-images-idx3-ubyte"),
        (true, "t10k-images-idx3-ubyte.gz"),
    ] {
        let dir = temp_dir();
        write_fashion_dir(dir.path(), 3, 2, gz);
        let path = dir.path().join(name);
        std::fs::write(&path, if gz { gzip(&header) } else { header.clone() }).unwrap();
        let err = error_text(fashion_mnist::load_data_from(dir.path()));
        assert!(
            err.contains(&path.display().to_string())
                && err.contains("[4194304, 4194304, 4194304]")
                && err.contains("more than 2^64 bytes"),
            "{err}"
        );
    }
}

#[test]
fn images_that_are_not_28_by_28_are_an_error_naming_the_file() {
    for gz in [false, true] {
        let dir = temp_dir();
        write_fashion_dir(dir.path(), 3, 2, gz);
        let name = if gz {
            "t10k-images-idx3-ubyte.gz"
        } else {
            "t10k-images-idx3-ubyte"
        };
        let path = dir.path().join(name);
        let images = idx_bytes(0x803, &[2, 32, 32], &[7; 2 * 32 * 32]);
        std::fs::write(&path, if gz { gzip(&images) } else { images }).unwrap();
        let err = error_text(fashion_mnist::load_data_from(dir.path()));
        assert!(
            err.contains(&path.display().to_string())
                && err.contains("[2, 32, 32]")
                && err.contains("28x28"),
            "{err}"
        );
    }
}

#[test]
fn corrupt_gzip_is_an_error_naming_the_file() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 50, 2, true);
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    let mut bytes = std::fs::read(&path).unwrap();
    // Damage the deflate stream in the middle.
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("corrupt gzip") || err.contains("truncated or damaged"),
        "{err}"
    );

    // Not gzip at all.
    std::fs::write(&path, b"this is not a gzip file at all").unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("corrupt gzip"),
        "{err}"
    );
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 50, 2, true);
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(err.contains(&path.display().to_string()), "{err}");
}

#[test]
fn image_and_label_count_mismatch_is_an_error_naming_both_files() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 4, 2, true);
    let labels = dir.path().join("train-labels-idx1-ubyte.gz");
    std::fs::write(&labels, gzip(&fashion_labels(0, 3))).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(err.contains(&labels.display().to_string()), "{err}");
    assert!(
        err.contains("holds 3 labels") && err.contains("4 images"),
        "{err}"
    );
    assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
}

#[test]
fn label_above_nine_is_an_error() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 4, 2, false);
    let path = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::write(&path, idx_bytes(0x801, &[2], &[3, 10])).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("label 1 is 10"),
        "{err}"
    );
}

#[test]
fn empty_file_is_an_error_naming_it() {
    let dir = temp_dir();
    write_fashion_dir(dir.path(), 4, 2, true);
    let path = dir.path().join("t10k-images-idx3-ubyte.gz");
    std::fs::write(&path, b"").unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains(&path.display().to_string()) && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn missing_directory_and_missing_file_are_errors_naming_them() {
    let dir = temp_dir();
    let missing = dir.path().join("nowhere");
    let err = error_text(fashion_mnist::load_data_from(&missing));
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        err.contains("needs a folder holding train-images-idx3-ubyte.gz"),
        "says what to do: {err}"
    );

    write_fashion_dir(dir.path(), 4, 2, true);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = error_text(fashion_mnist::load_data_from(dir.path()));
    assert!(
        err.contains("t10k-labels-idx1-ubyte.gz") && err.contains("incomplete"),
        "{err}"
    );
}
