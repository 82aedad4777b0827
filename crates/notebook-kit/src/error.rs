//! One error type for the whole kit, so a notebook cell can use `?` on anything.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- files and data sets ----
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A file exists but its contents are not what its format promises.
    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },

    #[error("data set not found: {0}")]
    DataNotFound(String),

    #[error("download of {url} failed: {message}")]
    Download { url: String, message: String },

    #[error("checksum mismatch for {}: expected MD5 {expected}, got {actual}", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    // ---- arguments: shapes, values, settings ----
    /// A value the caller passed is out of range or inconsistent with another.
    #[error("{0}")]
    InvalidArgument(String),

    /// Tensor shapes or dtypes that do not fit together.
    #[error("shape error: {0}")]
    Shape(String),

    // ---- devices and training ----
    #[error("CUDA is not available: {0}")]
    CudaUnavailable(String),

    /// Training produced NaN or infinity.
    #[error("{0}")]
    NonFinite(String),

    #[error("model is not compiled: call `compile(...)` before `{0}`")]
    NotCompiled(&'static str),

    // ---- rendering ----
    #[error("drawing failed: {0}")]
    Draw(String),

    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    pub(crate) fn shape(message: impl Into<String>) -> Self {
        Error::Shape(message.into())
    }
}
