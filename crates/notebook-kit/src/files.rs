//! Writing files and folders so that they appear whole or not at all.
//!
//! Everything is first written under a temporary name in the destination's own folder and
//! then renamed into place: a rename within one file system is atomic, so an interrupted
//! run (a killed cell, a full disk, a broken download) leaves the old file or nothing,
//! never half a file. The temporary is removed when it is dropped unpersisted.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempDir};

use crate::error::{Error, Result};

/// Writes `bytes` to `path`: a synced temporary file beside it, renamed over it. On failure
/// `path` is untouched and the temporary file is gone.
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let mut file = temp_file_beside(path)?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| Error::io(path, e))?;
    persist(file, path)
}

/// Fails now if `path` could not be written by [`write_atomically`] later (its folder is
/// missing or read-only, or it names a folder), so that a long run can check its output
/// paths before it starts rather than after.
pub fn check_writable(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{} is a directory; give a file name",
            path.display()
        )));
    }
    temp_file_beside(path).map(drop)
}

/// An empty temporary file in `path`'s folder, with the permissions a plain new file gets
/// (tempfile's default, 0600, would hide saved figures and data from other users).
pub(crate) fn temp_file_beside(path: &Path) -> Result<NamedTempFile> {
    let dir = folder_of(path);
    tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(path)))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| Error::io(path, e))
}

/// An empty temporary folder beside `path`, for assembling a folder that then replaces it.
pub(crate) fn temp_dir_beside(path: &Path) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(path)))
        .suffix(".tmp")
        .tempdir_in(folder_of(path))
        .map_err(|e| Error::io(path, e))
}

/// Renames a finished temporary file to `path`.
pub(crate) fn persist(file: NamedTempFile, path: &Path) -> Result<()> {
    file.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// The folder `path` is in (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomically(&path, b"{}").unwrap();
        write_atomically(&path, b"[1]").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"[1]");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the file itself: {names:?}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_ne!(
            mode & 0o044,
            0,
            "readable by others like any new file: {mode:o}"
        );
    }

    #[test]
    fn a_missing_folder_is_an_error_that_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-folder").join("out.json");
        let err = write_atomically(&path, b"{}").unwrap_err().to_string();
        assert!(err.contains("out.json"), "{err}");
        assert!(check_writable(&path).is_err());
        assert!(check_writable(dir.path())
            .unwrap_err()
            .to_string()
            .contains("is a directory"));
        assert!(!path.exists());
    }
}
