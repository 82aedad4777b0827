//! One download of a data set into a cache at a time, across kernels and users.
//!
//! Two kernels that download the same data set into the same cache would both fetch it and
//! then trip over each other's renames: unpacking CIFAR-10 moves the old folder away and
//! the new one into place, and deletes the shared archive afterwards. So the download and
//! unpacking run under an advisory `flock` on `.FOLDER.lock` beside the data set's folder.
//!
//! `flock`, not `fcntl`: its lock belongs to the open file, so two threads of one process
//! exclude each other too, and the kernel drops it when the process dies, killed or not; a
//! leftover lock file is therefore never a stale blocker. The holder deletes the file
//! before unlocking, to leave the cache as it found it; whoever then locks the deleted
//! file sees that the path no longer names it and starts over on the file that does.

use crate::files::folder_of;
use crate::interrupt::Watch;
use crate::{Error, Result};
use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a waiting kernel tries the lock again, and so how soon it sees Stop.
const POLL: Duration = Duration::from_millis(200);

/// The lock on downloading into `folder`; unlocked (and its file deleted) when dropped.
pub(crate) struct DownloadLock {
    /// `None` where the file system cannot lock: the download then runs as it did before
    /// locks existed, which is still right for the usual single kernel.
    held: Option<(File, PathBuf)>,
}

impl Drop for DownloadLock {
    fn drop(&mut self) {
        if let Some((file, path)) = &self.held {
            if names(path, file) {
                let _ = fs::remove_file(path);
            }
        }
    }
}

/// Waits until no other kernel downloads `what` (a data set's name, for messages) into
/// `folder`, then holds that off for others until the lock is dropped. While it waits it
/// says so once on `log`; Jupyter's Stop ends the wait with [`Error::Interrupted`].
pub(crate) fn lock_download(
    folder: &Path,
    what: &str,
    log: &mut dyn Write,
) -> Result<DownloadLock> {
    let path = lock_path(folder);
    let dir = folder_of(&path);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let watch = Watch::start();
    let mut said = false;
    loop {
        let file = open(&path)?;
        loop {
            // Before trying, so that a Stop pressed just as the lock comes free still counts.
            if watch.requested() {
                return Err(Error::Interrupted(format!(
                    "waiting for another download of {what} into {} stopped by an interrupt; \
                     nothing was downloaded, and the variables of the notebook are kept",
                    dir.display()
                )));
            }
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(Errno::WOULDBLOCK) => {}
                Err(Errno::INTR) => continue,
                Err(Errno::NOLCK | Errno::OPNOTSUPP | Errno::NOSYS) => {
                    let _ = writeln!(
                        log,
                        "{} cannot be locked on this file system; downloading {what} without \
                         waiting for other kernels",
                        path.display()
                    );
                    return Ok(DownloadLock { held: None });
                }
                Err(e) => return Err(Error::io(&path, e.into())),
            }
            if !said {
                let _ = writeln!(
                    log,
                    "Waiting for another download of {what} into {} to finish (lock file {}); \
                     Stop ends the wait",
                    dir.display(),
                    path.display()
                );
                said = true;
            }
            std::thread::sleep(POLL);
        }
        if names(&path, &file) {
            return Ok(DownloadLock {
                held: Some((file, path)),
            });
        }
    }
}

/// `.FOLDER.lock` beside `folder` (inside it when it has no name of its own, like `.`).
fn lock_path(folder: &Path) -> PathBuf {
    match folder.file_name() {
        Some(name) => folder_of(folder).join(format!(".{}.lock", name.to_string_lossy())),
        None => folder.join(".download.lock"),
    }
}

/// Opens or creates the lock file. Anyone may create it (0666 before the umask): a cache
/// shared by several users needs each of them to lock it. Where the file is another user's
/// and not writable for us, reading is enough: `flock` does not care how a file was opened.
fn open(path: &Path) -> Result<File> {
    let created = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(path);
    match created {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.is_file() => {
            File::open(path)
        }
        other => other,
    }
    .map_err(|e| Error::io(path, e))
}

/// Whether `path` still names the open `file`, rather than nothing or a newer lock file.
fn names(path: &Path, file: &File) -> bool {
    match (fs::metadata(path), file.metadata()) {
        (Ok(on_disk), Ok(open)) => on_disk.dev() == open.dev() && on_disk.ino() == open.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_folder_and_goes_with_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("datasets").join("fashion-mnist");
        let mut log = Vec::new();
        let lock = lock_download(&folder, "Fashion-MNIST", &mut log).unwrap();
        let path = dir.path().join("datasets").join(".fashion-mnist.lock");
        assert!(path.is_file());
        assert!(
            !folder.exists(),
            "the folder itself is the download's to create"
        );
        drop(lock);
        assert!(!path.exists());
        assert!(log.is_empty(), "no waiting, no message: {log:?}");
        assert_eq!(lock_path(Path::new(".")), Path::new("./.download.lock"));
    }

    /// A lock taken in a thread, with what it logged while waiting.
    fn lock_in_thread(folder: &Path) -> std::thread::JoinHandle<(DownloadLock, String)> {
        let folder = folder.to_path_buf();
        std::thread::spawn(move || {
            let mut log = Vec::new();
            let lock = lock_download(&folder, "CIFAR-10", &mut log).unwrap();
            (lock, String::from_utf8(log).unwrap())
        })
    }

    #[test]
    fn a_second_lock_waits_for_the_first_and_says_so_once() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("cifar-10-batches-bin");
        let first = lock_download(&folder, "CIFAR-10", &mut Vec::new()).unwrap();
        let second = lock_in_thread(&folder);
        std::thread::sleep(POLL * 4);
        assert!(!second.is_finished(), "the second lock must wait");
        drop(first);
        let (second, log) = second.join().unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(
            log.starts_with("Waiting for another download of CIFAR-10 into ")
                && log.contains(".cifar-10-batches-bin.lock"),
            "{log}"
        );

        // The second waited on the file the first deleted: it must hold the file a third
        // opens now, not the deleted one, or the third would not wait.
        let third = lock_in_thread(&folder);
        std::thread::sleep(POLL * 4);
        assert!(!third.is_finished(), "the third lock must wait");
        drop(second);
        drop(third.join().unwrap());
        assert!(!dir.path().join(".cifar-10-batches-bin.lock").exists());
    }
}
