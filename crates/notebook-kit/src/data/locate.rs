//! Finding a data set's folder: the search order shared by CIFAR-10 and Fashion-MNIST.
//!
//! The rule that matters: a folder the user named (argument or environment variable) must be
//! complete, or loading stops with an error naming it. Only when the user named nothing do we
//! fall through to system folders, the cache and finally a download.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The environment variable that turns downloads off.
pub(crate) const OFFLINE_VAR: &str = "NOTEBOOK_KIT_OFFLINE";

/// What differs between the data sets, for searching and for error messages.
pub(crate) struct DataSet {
    /// "CIFAR-10"
    pub name: &'static str,
    /// "CIFAR10_DIR": names the folder holding the files.
    pub dir_var: &'static str,
    /// The folder name under `NOTEBOOK_KIT_DATA` and under the cache.
    pub subdir: &'static str,
    /// Folders a system package installs (used only when complete).
    pub system_dirs: &'static [&'static str],
    /// The files a folder must hold, for the error message: "data_batch_1.bin ... test_batch.bin".
    pub files_hint: &'static str,
    /// The files missing from a folder (empty when complete).
    pub missing_files: fn(&Path) -> Vec<String>,
}

/// Where a folder came from: decides whether an incomplete folder is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Argument,
    EnvVar(&'static str),
}

impl Origin {
    fn describe(&self) -> String {
        match self {
            Origin::Argument => "given to load_data_from".to_string(),
            Origin::EnvVar(var) => format!("from ${var}"),
        }
    }
}

/// The result of a search.
#[derive(Debug)]
pub(crate) enum Found {
    /// A complete folder, ready to load.
    Ready(PathBuf),
    /// Nothing usable; the data belongs in this cache folder (the `datasets/` one).
    NotFound {
        cache: PathBuf,
        looked_in: Vec<PathBuf>,
    },
}

/// Looks up an environment variable; an empty value counts as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `${NOTEBOOK_KIT_CACHE:-${XDG_CACHE_HOME:-~/.cache}/notebook-kit}/datasets`: where downloads go.
pub fn cache_dir() -> Result<PathBuf> {
    let root = if let Some(dir) = env_var("NOTEBOOK_KIT_CACHE") {
        PathBuf::from(dir)
    } else if let Some(dir) = env_var("XDG_CACHE_HOME") {
        PathBuf::from(dir).join("notebook-kit")
    } else if let Some(home) = env_var("HOME") {
        PathBuf::from(home).join(".cache").join("notebook-kit")
    } else {
        return Err(Error::DataNotFound(
            "no cache folder: HOME is not set; set NOTEBOOK_KIT_CACHE to a writable folder".into(),
        ));
    };
    Ok(root.join("datasets"))
}

/// Checks a folder the user named: it must exist and hold every file.
pub(crate) fn require_complete(set: &DataSet, dir: &Path, origin: &Origin) -> Result<()> {
    let problem = if !dir.is_dir() {
        if dir.exists() {
            "is not a folder".to_string()
        } else {
            "does not exist".to_string()
        }
    } else {
        let missing = (set.missing_files)(dir);
        if missing.is_empty() {
            return Ok(());
        }
        let missing: Vec<String> = missing
            .iter()
            .map(|f| dir.join(f).display().to_string())
            .collect();
        format!("is incomplete: missing {}", missing.join(", "))
    };
    let fix = match origin {
        Origin::Argument => format!(
            "load_data_from needs a folder holding {}; load_data() without a folder finds or downloads the data by itself.",
            set.files_hint
        ),
        Origin::EnvVar(var) if *var == set.dir_var => format!(
            "Set {var} to a folder holding {}, or unset it to use the cache (and the download).",
            set.files_hint
        ),
        Origin::EnvVar(var) => format!(
            "Set {var} to a folder holding {}/ (with {} in it), or unset it to use the cache (and the download).",
            set.subdir, set.files_hint
        ),
    };
    Err(Error::DataNotFound(format!(
        "{} folder {} ({}) {problem}. {fix}",
        set.name,
        dir.display(),
        origin.describe()
    )))
}

/// Steps 2 to 4 of the search order (the argument, step 1, never gets here).
pub(crate) fn find(set: &DataSet) -> Result<Found> {
    if let Some(dir) = env_var(set.dir_var) {
        let dir = PathBuf::from(dir);
        require_complete(set, &dir, &Origin::EnvVar(set.dir_var))?;
        return Ok(Found::Ready(dir));
    }
    if let Some(root) = env_var("NOTEBOOK_KIT_DATA") {
        let dir = PathBuf::from(root).join(set.subdir);
        require_complete(set, &dir, &Origin::EnvVar("NOTEBOOK_KIT_DATA"))?;
        return Ok(Found::Ready(dir));
    }
    let mut looked_in = Vec::new();
    for dir in set.system_dirs.iter().map(PathBuf::from) {
        if dir.is_dir() && (set.missing_files)(&dir).is_empty() {
            return Ok(Found::Ready(dir));
        }
        looked_in.push(dir);
    }
    let cache = cache_dir()?;
    let dir = cache.join(set.subdir);
    if dir.is_dir() && (set.missing_files)(&dir).is_empty() {
        return Ok(Found::Ready(dir));
    }
    looked_in.push(dir);
    Ok(Found::NotFound { cache, looked_in })
}

/// Steps 2 to 5 for a data set: the folder `find` gives, or else the one `download`
/// fills in the cache (unless downloads are off), read with `read`.
pub(crate) fn load_or_download<T>(
    set: &DataSet,
    download: impl FnOnce(&Path) -> Result<PathBuf>,
    read: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    crate::error::install_panic_hook();
    match find(set)? {
        Found::Ready(dir) => read(&dir),
        Found::NotFound { cache, looked_in } => {
            if offline()? {
                return Err(not_found_offline(set, &looked_in));
            }
            let dir = download(&cache).map_err(|e| explain_download_failure(set, e))?;
            read(&dir)
        }
    }
}

/// Whether the user has turned downloads off with `NOTEBOOK_KIT_OFFLINE=1` (or `true`,
/// `yes`, `on`); `0`, `false`, `no`, `off`, empty or unset allow them.
fn offline() -> Result<bool> {
    parse_offline(std::env::var_os(OFFLINE_VAR).as_deref())
}

/// A value we cannot read is an error rather than a guess: guessing "online" would start a
/// 170 MB download the user meant to forbid, guessing "offline" would hide a typo in `=flase`.
fn parse_offline(value: Option<&std::ffi::OsStr>) -> Result<bool> {
    let Some(value) = value else {
        return Ok(false);
    };
    match value
        .to_str()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("" | "0" | "false" | "no" | "off") => Ok(false),
        _ => Err(Error::invalid(format!(
            "{OFFLINE_VAR}={value:?} is not understood: set it to 1, true, yes or on to turn \
             downloads off, or to 0, false, no or off (or unset it) to allow them"
        ))),
    }
}

/// The error when nothing was found and downloads are off.
fn not_found_offline(set: &DataSet, looked_in: &[PathBuf]) -> Error {
    Error::DataNotFound(format!(
        "{} is not on this machine (looked in {}) and downloads are off (${OFFLINE_VAR} is set). \
         To use a copy on disk, {}; or unset {OFFLINE_VAR} to allow the download into the cache.",
        set.name,
        looked_in
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        local_copy(set)
    ))
}

/// Adds what to do to a failed download.
fn explain_download_failure(set: &DataSet, e: Error) -> Error {
    match e {
        Error::Download { url, message } => Error::Download {
            url,
            message: format!(
                "{message}. Run again to retry, or to use a copy on disk, {}.",
                local_copy(set)
            ),
        },
        other => other,
    }
}

/// How to point the kit at a copy on disk.
fn local_copy(set: &DataSet) -> String {
    format!(
        "set {} to a folder holding {} (or NOTEBOOK_KIT_DATA to a folder holding {}/)",
        set.dir_var, set.files_hint, set.subdir
    )
}

#[cfg(test)]
mod tests {
    use super::parse_offline;
    use std::ffi::OsStr;

    fn parse(value: &str) -> Result<bool, String> {
        parse_offline(Some(OsStr::new(value))).map_err(|e| e.to_string())
    }

    #[test]
    fn offline_values() {
        assert!(!parse_offline(None).unwrap());
        for on in ["1", "true", "TRUE", " yes ", "On"] {
            assert_eq!(parse(on), Ok(true), "{on:?}");
        }
        for off in ["", "  ", "0", "false", "False", "no", " off\n"] {
            assert_eq!(parse(off), Ok(false), "{off:?}");
        }
        let err = parse("flase").unwrap_err();
        assert!(
            err.contains("NOTEBOOK_KIT_OFFLINE=\"flase\"") && err.contains("not understood"),
            "{err}"
        );
    }
}
