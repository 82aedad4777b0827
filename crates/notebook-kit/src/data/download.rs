//! Downloading, checking and unpacking data set files, so that an interrupted run leaves
//! nothing half-written: every file is written under a temporary name next to its final place,
//! checked, and only then renamed (a rename within one folder is atomic).
//!
//! The URL and checksum are parameters so tests can serve files from a local server.

use crate::files::{folder_of, persist, temp_dir_beside, temp_file_beside};
use crate::interrupt::Watch;
use crate::{Error, Result};
use md5::{Digest, Md5};
use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// How old a temporary file or folder must be before a new download deletes it as left
/// behind by a killed one. Another kernel may be downloading into the same cache right now:
/// its temporary file changes with every chunk, the 60-second read timeout ends a stalled
/// download, and unpacking takes seconds, so an hour without a change means nobody will come
/// back for it.
const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// Downloads `url` to `dest`, checking its MD5 (lower- or upper-case hex) on the way.
///
/// Progress goes to `log` as whole lines (evcxr shows stdout line by line, so a `\r` redraw
/// would not work): one line per 10 % or at most every 5 seconds. On any failure, or
/// Jupyter's Stop, nothing is left at `dest` or beside it. Proxies come from `HTTPS_PROXY`,
/// `HTTP_PROXY` or `ALL_PROXY` (lower case too), except for hosts in `NO_PROXY`.
pub fn download_file(
    url: &str,
    expected_md5: &str,
    dest: &Path,
    log: &mut dyn Write,
) -> Result<()> {
    let dir = folder_of(dest);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    remove_stale_temporaries(dest);
    let mut part = temp_file_beside(dest)?;

    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .try_proxy_from_env(!bypasses_proxy(url, &no_proxy()))
        .build();
    let watch = Watch::start();
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
        if watch.requested() {
            return Err(Error::Interrupted(format!(
                "download of {url} stopped by an interrupt after {}; nothing was saved, and \
                 the variables of the notebook are kept",
                mib(progress.done)
            )));
        }
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
        // The temporary file is deleted on the way out: name the file the user asked for.
        part.write_all(&buf[..n])
            .map_err(|e| write_error(dest, e))?;
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
        .map_err(|e| write_error(dest, e))?;

    let actual = hex(&hasher.finalize());
    let expected = expected_md5.trim().to_lowercase();
    if actual != expected {
        return Err(download_error(
            url,
            format!(
                "checksum mismatch: expected MD5 {expected}, got {actual}; the data is damaged \
                 or not the expected file, and nothing was saved"
            ),
        ));
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
    remove_stale_temporaries(dest);
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

/// Deletes the temporaries that `temp_file_beside(dest)` and `temp_dir_beside(dest)` name
/// `.NAME.XXXXXX.tmp` and that have not changed for [`STALE_AFTER`]: a killed kernel never
/// deletes its own. Anything else beside `dest` is left alone, and so is whatever cannot be
/// read or deleted: cleaning up must not stop the download.
fn remove_stale_temporaries(dest: &Path) {
    let Some(name) = dest.file_name() else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(folder_of(dest)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let is_ours = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix.as_str())?.strip_suffix(".tmp"))
            .is_some_and(|random| {
                random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        // symlink_metadata: a link is judged (and deleted) as itself, never followed.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let stale = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if is_ours && stale {
            let _ = if meta.is_dir() {
                fs::remove_dir_all(entry.path())
            } else {
                fs::remove_file(entry.path())
            };
        }
    }
}

fn no_proxy() -> String {
    std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default()
}

/// Whether `url`'s host is reached directly although a proxy variable is set: ureq 2 reads
/// the proxy variables but not `NO_PROXY` (a comma-separated list of hosts and domains), and
/// a server on this machine is never behind the proxy.
fn bypasses_proxy(url: &str, no_proxy: &str) -> bool {
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    }
    .to_ascii_lowercase();
    if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
        return true;
    }
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_start_matches('.').to_ascii_lowercase();
        entry == "*"
            || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
    })
}

fn write_error(dest: &Path, e: std::io::Error) -> Error {
    Error::io(
        dest,
        std::io::Error::new(
            e.kind(),
            format!("cannot write the download ({e}); nothing was saved"),
        ),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn set_age(path: &Path, age: Duration) {
        File::open(path)
            .unwrap()
            .set_modified(SystemTime::now() - age)
            .unwrap();
    }

    #[test]
    fn a_new_download_removes_only_its_own_stale_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let two_hours = Duration::from_secs(2 * 60 * 60);
        let entries = [
            (".f.bin.aB3xYz.tmp", two_hours, false), // stale file: removed
            (".f.bin.Qq9Zz0.tmp", two_hours, true),  // stale folder: removed
            (".f.bin.fresh1.tmp", Duration::ZERO, false), // being written by someone else
            (".f.bin.aB3xY.tmp", two_hours, false),  // not tempfile's 6 random characters
            (".g.bin.aB3xYz.tmp", two_hours, false), // another file's temporary
            (".f.bin.aB3xYz.tmp.keep", two_hours, false),
            ("f.bin", two_hours, false),
        ];
        for (name, age, is_dir) in entries {
            let path = dir.path().join(name);
            if is_dir {
                fs::create_dir(&path).unwrap();
                fs::write(path.join("data_batch_1.bin"), b"x").unwrap();
            } else {
                fs::write(&path, b"x").unwrap();
            }
            set_age(&path, age);
        }

        remove_stale_temporaries(&dest);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".f.bin.aB3xY.tmp",
                ".f.bin.aB3xYz.tmp.keep",
                ".f.bin.fresh1.tmp",
                ".g.bin.aB3xYz.tmp",
                "f.bin"
            ]
        );
    }

    #[test]
    fn local_hosts_and_no_proxy_hosts_bypass_the_proxy() {
        let url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
        assert!(!bypasses_proxy(url, ""));
        assert!(!bypasses_proxy(url, "example.org, toronto.com"));
        assert!(bypasses_proxy(url, "example.org, .toronto.edu"));
        assert!(bypasses_proxy(url, "www.cs.toronto.edu"));
        assert!(bypasses_proxy(url, "*"));
        assert!(bypasses_proxy("http://127.0.0.1:4123/f", ""));
        assert!(bypasses_proxy("http://user@LOCALHOST/f", ""));
        assert!(bypasses_proxy("http://[::1]:80/f", ""));
    }
}
