//! Downloading, checking and unpacking data set files, so that an interrupted run leaves
//! nothing half-written: every file is written under a temporary name next to its final place,
//! checked, and only then renamed (a rename within one folder is atomic).
//!
//! The URL and checksum are parameters so tests can serve files from a local server.

use crate::files::{folder_of, persist, temp_dir_beside, temp_file_beside};
use crate::{Error, Result};
use md5::{Digest, Md5};
use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Downloads `url` to `dest`, checking its MD5 (lower- or upper-case hex) on the way.
///
/// Progress goes to `log` as whole lines (evcxr shows stdout line by line, so a `\r` redraw
/// would not work): one line per 10 % or at most every 5 seconds. On any failure nothing is
/// left at `dest` or beside it.
pub fn download_file(
    url: &str,
    expected_md5: &str,
    dest: &Path,
    log: &mut dyn Write,
) -> Result<()> {
    let dir = folder_of(dest);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut part = temp_file_beside(dest)?;

    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .build();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| download_error(url, describe_ureq(e)))?;
    let total: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    let _ = writeln!(
        log,
        "Downloading {url} ({}) to {}",
        total.map_or("size unknown".to_string(), mib),
        dest.display()
    );

    let mut body = response.into_reader();
    let mut hasher = Md5::new();
    let mut progress = Progress::new(total);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(download_error(
                    url,
                    format!("the connection broke after {}: {e}", mib(progress.done)),
                ))
            }
        };
        hasher.update(&buf[..n]);
        part.write_all(&buf[..n])
            .map_err(|e| Error::io(part.path(), e))?;
        if let Some(line) = progress.advance(n as u64) {
            let _ = writeln!(log, "{line}");
        }
    }
    if let Some(total) = total {
        if progress.done != total {
            return Err(download_error(
                url,
                format!(
                    "the server sent {} of {total} bytes; run again to retry",
                    progress.done
                ),
            ));
        }
    }
    part.as_file()
        .sync_all()
        .map_err(|e| Error::io(part.path(), e))?;

    let actual = hex(&hasher.finalize());
    if !actual.eq_ignore_ascii_case(expected_md5.trim()) {
        return Err(Error::Checksum {
            path: dest.to_path_buf(),
            expected: expected_md5.trim().to_lowercase(),
            actual,
        });
    }
    persist(part, dest)?;
    let _ = writeln!(log, "Downloaded {} (MD5 ok)", dest.display());
    Ok(())
}

/// Unpacks the folder `member` of the `.tar.gz` at `archive` to `dest` (replacing what is
/// there), after checking that it holds every file in `required`.
///
/// Everything is unpacked into a temporary folder beside `dest` first and moved into place
/// with one rename, so `dest` is either the complete new folder or untouched.
pub fn extract_tar_gz(archive: &Path, member: &str, dest: &Path, required: &[&str]) -> Result<()> {
    let dir = folder_of(dest);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let staging = temp_dir_beside(dest)?;

    let file = File::open(archive).map_err(|e| Error::io(archive, e))?;
    let gz = flate2::read::GzDecoder::new(BufReader::new(file));
    // `unpack` refuses entries that would land outside the staging folder.
    tar::Archive::new(gz).unpack(staging.path()).map_err(|e| {
        Error::bad_file(
            archive,
            format!("cannot unpack this .tar.gz ({e}); delete it and run again to download a fresh copy"),
        )
    })?;

    let unpacked = staging.path().join(member);
    for name in required {
        if !unpacked.join(name).is_file() {
            return Err(Error::bad_file(
                archive,
                format!("the archive has no {member}/{name}; is it the right file?"),
            ));
        }
    }
    // An old, incomplete copy at `dest` goes into the staging folder, to be deleted with it.
    if dest.exists() {
        fs::rename(dest, staging.path().join(".old")).map_err(|e| Error::io(dest, e))?;
    }
    fs::rename(&unpacked, dest).map_err(|e| Error::io(dest, e))?;
    Ok(())
}

/// The MD5 of a file as lower-case hex.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Md5::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hex(&hasher.finalize()))
}

/// Decides when to print a progress line: each time another 10 % is done, or when 5 seconds
/// have passed since the last line (also the rule when the size is unknown).
struct Progress {
    total: Option<u64>,
    done: u64,
    started: Instant,
    last_line: Instant,
    last_tenth: u64,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        let now = Instant::now();
        Progress {
            total,
            done: 0,
            started: now,
            last_line: now,
            last_tenth: 0,
        }
    }

    fn advance(&mut self, n: u64) -> Option<String> {
        self.done += n;
        let tenth = match self.total {
            Some(total) if total > 0 => self.done * 10 / total,
            _ => 0,
        };
        if tenth <= self.last_tenth && self.last_line.elapsed() < Duration::from_secs(5) {
            return None;
        }
        self.last_tenth = tenth;
        self.last_line = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = format!("{:.1} MiB/s", self.done as f64 / secs / (1024.0 * 1024.0));
        Some(match self.total {
            Some(total) if total > 0 => format!(
                "  {:>3}%  {} of {}  {rate}",
                self.done * 100 / total,
                mib(self.done),
                mib(total)
            ),
            _ => format!("  {}  {rate}", mib(self.done)),
        })
    }
}

/// Standard output through `print!`, so the test harness captures it like any notebook output.
pub(crate) struct PrintLines;

impl Write for PrintLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        print!("{}", String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

fn download_error(url: &str, message: String) -> Error {
    Error::Download {
        url: url.to_string(),
        message,
    }
}

fn describe_ureq(e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, response) => {
            format!("the server answered HTTP {code} {}", response.status_text())
        }
        ureq::Error::Transport(t) => format!("{t} (is this machine online?)"),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
