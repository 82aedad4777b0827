//! The IDX format of MNIST and Fashion-MNIST, plain or gzipped.
//!
//! A file is a big-endian header (magic `0x0000_08NN`: unsigned bytes, NN dimensions; then NN
//! u32 sizes) followed by the data in row-major order. We only need unsigned bytes.

use super::view::bytes_mut;
use crate::{Error, Result};
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Magic number of a u8 file with three dimensions (images).
pub(crate) const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a u8 file with one dimension (labels).
pub(crate) const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads an IDX file into a u8 tensor shaped as its header says. A name ending in `.gz` is
/// decompressed on the fly, straight into the tensor's memory.
pub(crate) fn read_idx(path: &Path, magic: u32) -> Result<Tensor> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if file_len == 0 {
        return Err(Error::bad_file(
            path,
            "the file is empty; copy or download it again",
        ));
    }
    let gzipped = path.extension().is_some_and(|e| e == "gz");
    let mut reader: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::GzDecoder::new(BufReader::with_capacity(
            1 << 20,
            file,
        )))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut read =
        |buf: &mut [u8]| read_full(&mut reader, buf).map_err(|e| read_error(path, gzipped, e));

    let mut word = [0u8; 4];
    let got = read(&mut word)?;
    let found = u32::from_be_bytes(word);
    if got < 4 || found != magic {
        let hint = if !gzipped && word[..2] == [0x1f, 0x8b] {
            " (this file is gzip-compressed: its name should end in .gz)"
        } else {
            ""
        };
        return Err(Error::bad_file(
            path,
            format!(
                "wrong magic number 0x{found:08x}, expected 0x{magic:08x} (IDX {}){hint}",
                if magic == IMAGES_MAGIC {
                    "images"
                } else {
                    "labels"
                }
            ),
        ));
    }

    let mut dims = Vec::new();
    for _ in 0..(magic & 0xff) {
        if read(&mut word)? < 4 {
            return Err(Error::bad_file(path, "the file ends inside its header"));
        }
        dims.push(i64::from(u32::from_be_bytes(word)));
    }
    let header_len = 4 + 4 * dims.len() as u64;
    // Three u32 sizes can describe up to 2^96 bytes: a damaged header must not overflow.
    let data_len = dims
        .iter()
        .try_fold(1u64, |len, &d| len.checked_mul(d as u64))
        .ok_or_else(|| {
            Error::bad_file(
                path,
                format!(
                    "the header's dimensions {dims:?} describe more than 2^64 bytes: \
                     the file is damaged or not an IDX file; copy or download it again"
                ),
            )
        })?;
    if !gzipped && file_len != header_len + data_len {
        return Err(size_mismatch(path, &dims, data_len, file_len - header_len));
    }
    // Deflate cannot compress better than about 1032:1; a larger promise is a damaged header,
    // and allocating for it could exhaust memory.
    if gzipped && data_len > file_len.saturating_mul(1032) {
        return Err(Error::bad_file(
            path,
            format!(
                "the header's dimensions {dims:?} need {data_len} bytes, more than a {file_len}-byte \
                 gzip file can hold: the file is damaged; copy or download it again"
            ),
        ));
    }

    let mut tensor = Tensor::f_empty(dims.as_slice(), (Kind::Uint8, Device::Cpu))?;
    let got = read(bytes_mut(&mut tensor)?)?;
    if got as u64 != data_len {
        return Err(size_mismatch(path, &dims, data_len, got as u64));
    }
    // Anything after the data means the header and the file disagree.
    let mut extra = [0u8; 1];
    if read(&mut extra)? != 0 {
        return Err(Error::bad_file(
            path,
            format!(
                "the header's dimensions {dims:?} account for {data_len} data bytes, but the file holds more; \
                 it is damaged or not an IDX file"
            ),
        ));
    }
    Ok(tensor)
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn read_error(path: &Path, gzipped: bool, e: std::io::Error) -> Error {
    if gzipped {
        Error::bad_file(
            path,
            format!("corrupt gzip data ({e}); copy or download the file again"),
        )
    } else {
        Error::io(path, e)
    }
}

fn size_mismatch(path: &Path, dims: &[i64], expected: u64, actual: u64) -> Error {
    Error::bad_file(
        path,
        format!(
            "the header's dimensions {dims:?} need {expected} data bytes, but the file holds {actual}: \
             it is truncated or damaged; copy or download it again"
        ),
    )
}
