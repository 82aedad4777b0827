//! Tiny data sets in the official formats, and a throwaway HTTP server, for the data tests.
//! Include with `#[path = "common/data_fixtures.rs"] mod data_fixtures;`.
#![allow(dead_code)]

use flate2::write::GzEncoder;
use flate2::Compression;
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

pub const CIFAR_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const CIFAR_RECORD: usize = 3073;

/// The pixel our fixtures put at image `img`, row `y`, column `x`, channel `c` (0 = red).
pub fn cifar_pixel(img: usize, y: usize, x: usize, c: usize) -> u8 {
    ((img * 7 + c * 80 + y * 3 + x) % 256) as u8
}

/// The label our fixtures give image `img`.
pub fn cifar_label(img: usize) -> u8 {
    ((img * 3 + 1) % 10) as u8
}

/// One record in the official layout: label, then the R, G and B planes, row-major.
pub fn cifar_record(img: usize) -> Vec<u8> {
    let mut record = vec![cifar_label(img)];
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                record.push(cifar_pixel(img, y, x, c));
            }
        }
    }
    record
}

/// Writes `data_batch_1..5.bin` with `per_batch` records each and `test_batch.bin` with
/// `test` records. Training images are numbered 0.., test images 1000.., so they differ.
pub fn write_cifar_dir(dir: &Path, per_batch: usize, test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (b, name) in CIFAR_TRAIN_FILES.iter().enumerate() {
        let bytes: Vec<u8> = (0..per_batch)
            .flat_map(|i| cifar_record(b * per_batch + i))
            .collect();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let bytes: Vec<u8> = (0..test).flat_map(|i| cifar_record(1000 + i)).collect();
    std::fs::write(dir.join("test_batch.bin"), bytes).unwrap();
}

/// The Fashion-MNIST fixture pixel of image `img` at row `y`, column `x`.
pub fn fashion_pixel(img: usize, y: usize, x: usize) -> u8 {
    ((img * 11 + y * 28 + x) % 256) as u8
}

pub fn fashion_label(img: usize) -> u8 {
    ((img + 9) % 10) as u8
}

/// An IDX file: magic, big-endian dims, data.
pub fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn fashion_images(first: usize, n: usize) -> Vec<u8> {
    let data: Vec<u8> = (first..first + n)
        .flat_map(|i| (0..28 * 28).map(move |p| fashion_pixel(i, p / 28, p % 28)))
        .collect();
    idx_bytes(0x803, &[n as u32, 28, 28], &data)
}

pub fn fashion_labels(first: usize, n: usize) -> Vec<u8> {
    let data: Vec<u8> = (first..first + n).map(fashion_label).collect();
    idx_bytes(0x801, &[n as u32], &data)
}

/// The four official file names (with .gz).
pub const FASHION_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// The contents of the four files (gzipped when `gz`), train images numbered 0.., test 500...
pub fn fashion_file_bytes(train: usize, test: usize, gz: bool) -> Vec<(String, Vec<u8>)> {
    let raw = [
        fashion_images(0, train),
        fashion_labels(0, train),
        fashion_images(500, test),
        fashion_labels(500, test),
    ];
    FASHION_FILES
        .iter()
        .zip(raw)
        .map(|(name, bytes)| {
            if gz {
                (name.to_string(), gzip(&bytes))
            } else {
                (name.trim_end_matches(".gz").to_string(), bytes)
            }
        })
        .collect()
}

pub fn write_fashion_dir(dir: &Path, train: usize, test: usize, gz: bool) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in fashion_file_bytes(train, test, gz) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// A `.tar.gz` holding the folder `src` under the name `member`.
pub fn tar_gz_dir(src: &Path, member: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    builder.append_dir_all(member, src).unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every entry in `dir`, recursively, as paths relative to it (sorted).
pub fn list_tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// How the test server answers one path.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 claiming `claimed` bytes, sending `body`, then closing the connection.
    Truncated { body: Vec<u8>, claimed: usize },
    /// This status with an empty body.
    Status(u16),
}

/// Starts an HTTP/1.1 server on 127.0.0.1 that answers `routes` (path, reply) and 404
/// otherwise; returns its base URL, e.g. `http://127.0.0.1:41234`. It runs until the test
/// process ends.
pub fn serve(routes: Vec<(String, Reply)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = routes.clone();
            std::thread::spawn(move || answer(stream, &routes));
        }
    });
    base
}

fn answer(mut stream: TcpStream, routes: &[(String, Reply)]) {
    let Some(path) = request_path(&mut stream) else {
        return;
    };
    let reply = routes
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, r)| r.clone())
        .unwrap_or(Reply::Status(404));
    send(stream, reply);
}

/// Reads a request's head; its path, or `None` when the client went away first.
pub fn request_path(stream: &mut TcpStream) -> Option<String> {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => return None,
        }
    }
    let request = String::from_utf8_lossy(&request);
    Some(request.split_whitespace().nth(1).unwrap_or("/").to_string())
}

/// Answers with `reply` and closes the connection.
pub fn send(mut stream: TcpStream, reply: Reply) {
    let (status, claimed, body) = match reply {
        Reply::Body(body) => (200, body.len(), body),
        Reply::Truncated { body, claimed } => (200, claimed, body),
        Reply::Status(code) => (code, 0, Vec::new()),
    };
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {claimed}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// A fresh temporary folder (deleted when the guard drops).
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
