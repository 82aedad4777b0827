//! Fashion-MNIST like `keras.datasets.fashion_mnist`: x `u8 (n, 28, 28)`, y `u8 (n,)`.
//!
//! Reads the official IDX files, gzipped (`train-images-idx3-ubyte.gz`, ...) or not (the same
//! names without `.gz`).

use super::download::{download_file, PrintLines};
use super::idx::{read_idx, IMAGES_MAGIC, LABELS_MAGIC};
use super::locate::{self, DataSet, Origin};
use super::lock::lock_download;
use super::view::bytes;
use super::Split;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use tch::Tensor;

/// The class names in label order: `CLASSES[9] == "Ankle boot"`.
pub const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The official download folder.
pub const BASE_URL: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/// The four official files with their published MD5s, in the order
/// train images, train labels, test images, test labels.
pub const FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
];

/// The folder name under `NOTEBOOK_KIT_DATA` and the cache.
pub const FOLDER: &str = "fashion-mnist";

/// Where Debian's `dataset-fashion-mnist` package puts the files.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

const DATA_SET: DataSet = DataSet {
    name: "Fashion-MNIST",
    dir_var: "FASHION_MNIST_DIR",
    subdir: FOLDER,
    system_dirs: &[DEBIAN_DIR],
    files_hint:
        "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz \
                 and t10k-labels-idx1-ubyte.gz (or the same names without .gz)",
    missing_files,
};

/// Loads Fashion-MNIST from the first place that has it (see the [`data`](super) module),
/// downloading it into the cache if it is nowhere.
///
/// Returns `((x_train, y_train), (x_test, y_test))`: x `u8 (60000, 28, 28)` and
/// `(10000, 28, 28)`, y `u8 (60000,)` and `(10000,)`.
pub fn load_data() -> Result<Split> {
    let download = |cache: &Path| download_into(&cache.join(FOLDER), BASE_URL, &FILES);
    locate::load_or_download(&DATA_SET, download, read_folder)
}

/// Loads Fashion-MNIST from `dir`, the folder holding the four IDX files. Never downloads.
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<Split> {
    let dir = dir.as_ref();
    locate::require_complete(&DATA_SET, dir, &Origin::Argument)?;
    read_folder(dir)
}

/// Downloads each of `files` (name, MD5) that `dir` lacks from `base_url` + name, checking
/// its MD5. Each file appears under its name only once complete and checked. Returns `dir`.
///
/// Another kernel downloading into the same `dir` is waited for (Stop ends the wait); the
/// files it fetched are then not fetched again.
pub fn download_into(dir: &Path, base_url: &str, files: &[(&str, &str)]) -> Result<PathBuf> {
    // Under the lock, so that what the kernel we waited for fetched counts as there.
    let _lock = lock_download(dir, DATA_SET.name, &mut PrintLines)?;
    for (name, md5) in files {
        let dest = dir.join(name);
        if !dest.is_file() {
            let url = format!("{}/{name}", base_url.trim_end_matches('/'));
            download_file(&url, md5, &dest, &mut PrintLines)?;
        }
    }
    Ok(dir.to_path_buf())
}

/// The path of one of the four files in `dir`: the `.gz` name, else the uncompressed one.
fn find_file(dir: &Path, gz_name: &str) -> Option<PathBuf> {
    let gz = dir.join(gz_name);
    let plain = dir.join(gz_name.trim_end_matches(".gz"));
    [gz, plain].into_iter().find(|p| p.is_file())
}

fn missing_files(dir: &Path) -> Vec<String> {
    FILES
        .iter()
        .filter(|(name, _)| find_file(dir, name).is_none())
        .map(|(name, _)| name.to_string())
        .collect()
}

fn read_folder(dir: &Path) -> Result<Split> {
    let path = |i: usize| {
        find_file(dir, FILES[i].0).ok_or_else(|| {
            Error::DataNotFound(format!("{} vanished", dir.join(FILES[i].0).display()))
        })
    };
    let (train_images, train_labels, test_images, test_labels) =
        (path(0)?, path(1)?, path(2)?, path(3)?);
    // Decompressing is most of the time; the two halves go on two threads.
    let (train, test) = std::thread::scope(|s| {
        let train = s.spawn(|| read_pair(&train_images, &train_labels));
        let test = read_pair(&test_images, &test_labels);
        let train = train
            .join()
            .unwrap_or_else(|_| Err(Error::invalid("reading the training files panicked")));
        (train, test)
    });
    Ok((train?, test?))
}

fn read_pair(images_path: &Path, labels_path: &Path) -> Result<(Tensor, Tensor)> {
    let images = read_idx(images_path, IMAGES_MAGIC)?;
    // Another IDX image set would load fine and fail only later, in the model, far from the file.
    let dims = images.size();
    if dims[1..] != [28, 28] {
        return Err(Error::bad_file(
            images_path,
            format!(
                "holds images of dimensions {dims:?}, but Fashion-MNIST images are 28x28; \
                 is this the right file?"
            ),
        ));
    }
    let labels = read_idx(labels_path, LABELS_MAGIC)?;
    let (n_images, n_labels) = (images.size()[0], labels.size()[0]);
    if n_images != n_labels {
        return Err(Error::bad_file(
            labels_path,
            format!(
                "holds {n_labels} labels, but {} holds {n_images} images; the two files do not belong together",
                images_path.display()
            ),
        ));
    }
    if let Some((i, &label)) = bytes(&labels)?.iter().enumerate().find(|&(_, &l)| l > 9) {
        return Err(Error::bad_file(
            labels_path,
            format!(
                "label {i} is {label}, but Fashion-MNIST labels are 0..=9; is this the right file?"
            ),
        ));
    }
    Ok((images, labels))
}
