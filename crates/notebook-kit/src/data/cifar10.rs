//! CIFAR-10 like `keras.datasets.cifar10`: x `u8 (n, 32, 32, 3)`, y `u8 (n, 1)`.
//!
//! Reads the official binary version: `data_batch_1.bin` ... `data_batch_5.bin` and
//! `test_batch.bin`, each a run of 3073-byte records (1 label byte, then the red, green and
//! blue 32x32 planes, row-major).

use super::download::{download_file, extract_tar_gz, PrintLines};
use super::locate::{self, DataSet, Origin};
use super::lock::lock_download;
use super::view::{advise_huge_pages, bytes_mut};
use super::Split;
use crate::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// The class names in label order: `CLASSES[6] == "frog"`.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The official archive of the binary version.
pub const URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// MD5 of [`URL`], as published on the CIFAR-10 page.
pub const MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";
/// Size of [`URL`] in bytes (for reference; the download checks the MD5).
pub const ARCHIVE_BYTES: u64 = 170_052_171;
/// The folder inside the archive, and under `NOTEBOOK_KIT_DATA` and the cache.
pub const FOLDER: &str = "cifar-10-batches-bin";

/// The training files, in Keras' order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";
/// Optional file with the class names, one per line.
pub const META_FILE: &str = "batches.meta.txt";

const SIDE: i64 = 32;
const PIXELS: usize = 3 * 32 * 32;
const RECORD: usize = 1 + PIXELS;

const DATA_SET: DataSet = DataSet {
    name: "CIFAR-10",
    dir_var: "CIFAR10_DIR",
    subdir: FOLDER,
    system_dirs: &[],
    files_hint: "data_batch_1.bin ... data_batch_5.bin and test_batch.bin",
    missing_files,
};

/// Loads CIFAR-10 from the first place that has it (see the [`data`](super) module), downloading
/// it into the cache if it is nowhere.
///
/// Returns `((x_train, y_train), (x_test, y_test))`: x `u8 (50000, 32, 32, 3)` and
/// `(10000, 32, 32, 3)`, y `u8 (50000, 1)` and `(10000, 1)`.
pub fn load_data() -> Result<Split> {
    locate::load_or_download(
        &DATA_SET,
        |cache| download_into(cache, URL, MD5),
        read_folder,
    )
}

/// Loads CIFAR-10 from `dir`, the folder holding `data_batch_1.bin` etc. Never downloads.
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<Split> {
    let dir = dir.as_ref();
    locate::require_complete(&DATA_SET, dir, &Origin::Argument)?;
    read_folder(dir)
}

/// Downloads the archive from `url` into `datasets_dir`, checks its MD5, and unpacks it to
/// `datasets_dir/cifar-10-batches-bin`, which it returns. The archive is deleted afterwards.
///
/// Another kernel downloading into the same `datasets_dir` is waited for (Stop ends the
/// wait); when the folder is then complete, it is returned without a download.
pub fn download_into(datasets_dir: &Path, url: &str, md5: &str) -> Result<PathBuf> {
    let archive = datasets_dir.join("cifar-10-binary.tar.gz");
    let dest = datasets_dir.join(FOLDER);
    let _lock = lock_download(&dest, DATA_SET.name, &mut PrintLines)?;
    // The search that sent us here ran before the lock: the kernel we waited for, or one
    // that finished just before, may have filled the folder since.
    if missing_files(&dest).is_empty() {
        return Ok(dest);
    }
    download_file(url, md5, &archive, &mut PrintLines)?;
    let mut required: Vec<&str> = TRAIN_FILES.to_vec();
    required.push(TEST_FILE);
    let unpacked = extract_tar_gz(&archive, FOLDER, &dest, &required);
    // Whether or not unpacking worked, a new run starts from a fresh download.
    let _ = std::fs::remove_file(&archive);
    unpacked?;
    Ok(dest)
}

/// The class names from `batches.meta.txt` in `dir` (blank lines ignored), or [`CLASSES`]
/// when the file is absent. An error if it exists but does not hold exactly 10 names.
pub fn class_names_from(dir: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = dir.as_ref().join(META_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(CLASSES.iter().map(|c| c.to_string()).collect())
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != CLASSES.len() {
        return Err(Error::bad_file(
            &path,
            format!(
                "holds {} class names, expected 10 (one per line); delete it to use the defaults",
                names.len()
            ),
        ));
    }
    Ok(names)
}

fn missing_files(dir: &Path) -> Vec<String> {
    TRAIN_FILES
        .iter()
        .chain([TEST_FILE].iter())
        .filter(|f| !dir.join(f).is_file())
        .map(|f| f.to_string())
        .collect()
}

fn read_folder(dir: &Path) -> Result<Split> {
    let train: Vec<PathBuf> = TRAIN_FILES.iter().map(|f| dir.join(f)).collect();
    let train = read_batches(&train)?;
    let test = read_batches(&[dir.join(TEST_FILE)])?;
    Ok((train, test))
}

/// Reads batch files into one `(x, y)` pair. The file sizes are checked first, so the output
/// is allocated once at full size; the files are then read one at a time into one reused
/// buffer and rearranged into place: the extra memory is one file (31 MB).
fn read_batches(paths: &[PathBuf]) -> Result<(Tensor, Tensor)> {
    let counts = paths
        .iter()
        .map(|p| record_count(p))
        .collect::<Result<Vec<usize>>>()?;
    let total: usize = counts.iter().sum();
    let cpu_u8 = (Kind::Uint8, Device::Cpu);
    let mut x = Tensor::f_empty([total as i64, SIDE, SIDE, 3], cpu_u8)?;
    let mut y = Tensor::f_empty([total as i64, 1], cpu_u8)?;
    let x_bytes = bytes_mut(&mut x)?;
    advise_huge_pages(x_bytes);
    let y_bytes = bytes_mut(&mut y)?;

    let mut records = Vec::new();
    let mut start = 0;
    for (path, &n) in paths.iter().zip(&counts) {
        records.resize(n * RECORD, 0);
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        file.read_exact(&mut records)
            .map_err(|e| Error::io(path, e))?;
        check_labels(path, &records)?;
        records_to_hwc(&records, &mut x_bytes[start * PIXELS..(start + n) * PIXELS]);
        for (label, record) in y_bytes[start..start + n]
            .iter_mut()
            .zip(records.chunks_exact(RECORD))
        {
            *label = record[0];
        }
        start += n;
    }
    Ok((x, y))
}

/// Rearranges records `[label, 1024 R, 1024 G, 1024 B]` into Keras' pixel order
/// `[R, G, B, R, G, B, ...]`, split over the CPU cores.
///
/// A plain loop rather than libtorch's `permute(...).contiguous()`: for u8 that copy measured
/// about 5x slower here (0.4 s against 0.08 s for the training set).
fn records_to_hwc(records: &[u8], out: &mut [u8]) {
    let n = records.len() / RECORD;
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8);
    let per_thread = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (records, out) in records
            .chunks(per_thread * RECORD)
            .zip(out.chunks_mut(per_thread * PIXELS))
        {
            scope.spawn(move || {
                for (record, image) in records
                    .chunks_exact(RECORD)
                    .zip(out.chunks_exact_mut(PIXELS))
                {
                    let (red, rest) = record[1..].split_at(1024);
                    let (green, blue) = rest.split_at(1024);
                    for (((pixel, &r), &g), &b) in
                        image.chunks_exact_mut(3).zip(red).zip(green).zip(blue)
                    {
                        pixel.copy_from_slice(&[r, g, b]);
                    }
                }
            });
        }
    });
}

/// The number of records in a batch file, from its length.
fn record_count(path: &Path) -> Result<usize> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len == 0 {
        return Err(Error::bad_file(
            path,
            "the file is empty; copy or download the CIFAR-10 binary version again",
        ));
    }
    if len % RECORD as u64 != 0 {
        return Err(Error::bad_file(
            path,
            format!(
                "{len} bytes is not a whole number of {RECORD}-byte records (1 label + {PIXELS} pixels): \
                 the file is truncated or is not the CIFAR-10 binary version; copy or download it again"
            ),
        ));
    }
    Ok((len / RECORD as u64) as usize)
}

fn check_labels(path: &Path, records: &[u8]) -> Result<()> {
    let bad = records
        .chunks_exact(RECORD)
        .map(|r| r[0])
        .enumerate()
        .find(|&(_, label)| label > 9);
    match bad {
        Some((i, label)) => Err(Error::bad_file(
            path,
            format!(
                "record {i} (byte {}) has label {label}, but CIFAR-10 labels are 0..=9: \
                 this is not a CIFAR-10 batch file (CIFAR-100's binary format differs)",
                i * RECORD
            ),
        )),
        None => Ok(()),
    }
}
