//! One error type for the whole kit, so a notebook cell can use `?` on anything; and
//! libtorch's failures told without its C++ stack trace.
//!
//! libtorch appends "Exception raised from <function> at <file>" and, often, dozens of C++
//! stack frames to every message. A learner needs the first line. [`Error::Torch`] shows
//! only that part (its `Debug` keeps all of it), and [`install_panic_hook`] does the same
//! for the panics of tch's non-`f_` methods (`t.i(99)` out of range, `a.matmul(&b)` on
//! mismatched shapes). `NOTEBOOK_KIT_FULL_ERRORS=1` shows everything.

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

    /// Jupyter's Stop (SIGINT) during a call that stops between steps.
    #[error("{0}")]
    Interrupted(String),

    // ---- rendering ----
    #[error("drawing failed: {0}")]
    Draw(String),

    /// A failure inside libtorch (or tch); shown without libtorch's C++ stack trace.
    #[error("{}", torch_summary(.0))]
    Torch(#[from] tch::TchError),
}

const FULL_ERRORS_VAR: &str = "NOTEBOOK_KIT_FULL_ERRORS";

fn full_errors() -> bool {
    std::env::var(FULL_ERRORS_VAR).is_ok_and(|v| v.trim() == "1")
}

fn torch_summary(error: &tch::TchError) -> String {
    let text = error.to_string();
    if full_errors() {
        return text;
    }
    match shorten_libtorch(&text) {
        Some(short) => format!("{short} ({FULL_ERRORS_VAR}=1 shows libtorch's C++ stack trace)"),
        None => text,
    }
}

/// libtorch's own message from a text that holds one, without the part from "Exception
/// raised from" on, and without tch's wrapping (`Internal torch error: `, or the escaped
/// `Torch("...")` of an `unwrap` panic). `None` when the text holds no C++ trace.
pub fn shorten_libtorch(text: &str) -> Option<String> {
    let cut = text.find("Exception raised from")?;
    let mut head = text[..cut].trim_end();
    // In a panic message the error is Debug-formatted: newlines appear as `\n`.
    while let Some(rest) = head.strip_suffix("\\n") {
        head = rest.trim_end();
    }
    for wrapper in [
        "called `Result::unwrap()` on an `Err` value: ",
        "Torch(\"",
        "Internal torch error: ",
    ] {
        head = head.strip_prefix(wrapper).unwrap_or(head);
    }
    let head = head.replace("\\n", "\n").replace("\\\"", "\"");
    Some(format!("libtorch: {}", head.trim()))
}

/// Makes panics that carry a libtorch message print only that message (and where the
/// panic happened); other panics print as before. Installed once, by the kit's entry
/// points (loading data, building a model, listing devices, plotting); calling it again
/// does nothing.
pub fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied());
            match message.and_then(shorten_libtorch) {
                Some(short) if !full_errors() => {
                    let thread = std::thread::current();
                    let location = info
                        .location()
                        .map_or_else(String::new, |l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()));
                    eprintln!(
                        "thread '{}' panicked{location}:\n{short}\n({FULL_ERRORS_VAR}=1 shows libtorch's C++ stack trace)",
                        thread.name().unwrap_or("<unnamed>")
                    );
                }
                _ => previous(info),
            }
        }));
    });
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
