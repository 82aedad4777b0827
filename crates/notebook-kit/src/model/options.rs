//! The keyword arguments of `fit`, `evaluate` and `predict`, and the global epoch cap.

use tch::Tensor;

use super::progbar::Verbosity;
use crate::error::{Error, Result};

/// Keras's `verbose=`: `0` silent, `1` a progress bar (the default), `2` one line per epoch.
/// `false` and `true` mean 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbose(i32);

impl From<i32> for Verbose {
    fn from(level: i32) -> Self {
        Verbose(level)
    }
}

impl From<bool> for Verbose {
    fn from(on: bool) -> Self {
        Verbose(i32::from(on))
    }
}

impl Verbose {
    pub(crate) fn verbosity(self) -> Result<Verbosity> {
        Verbosity::from_keras(self.0)
    }
}

/// Options of `fit`, Keras's keyword arguments:
/// `Fit::epochs(5).batch_size(32).shuffle(true).validation_data(&x_val, &y_val).verbose(2)`.
#[derive(Debug, Clone, Copy)]
pub struct Fit<'a> {
    pub(crate) epochs: usize,
    pub(crate) batch_size: usize,
    pub(crate) shuffle: bool,
    pub(crate) validation: Option<(&'a Tensor, &'a Tensor)>,
    pub(crate) verbose: Verbose,
}

impl Default for Fit<'_> {
    fn default() -> Self {
        Fit {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation: None,
            verbose: Verbose(1),
        }
    }
}

impl<'a> Fit<'a> {
    /// Train for `epochs` passes over the data, with Keras's other defaults (batch 32,
    /// shuffled, progress bar). [`set_max_epochs`] or `NOTEBOOK_KIT_MAX_EPOCHS` may cap it.
    pub fn epochs(epochs: usize) -> Self {
        Fit {
            epochs,
            ..Fit::default()
        }
    }

    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Reshuffle the samples every epoch (drawn from tch's generator, so
    /// `tch::manual_seed` makes it repeatable).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Data to evaluate after every epoch (`val_loss`, `val_accuracy`).
    pub fn validation_data(mut self, x: &'a Tensor, y: &'a Tensor) -> Self {
        self.validation = Some((x, y));
        self
    }

    /// `0`, `1` or `2` as in Keras (or `false`/`true`).
    pub fn verbose(mut self, verbose: impl Into<Verbose>) -> Self {
        self.verbose = verbose.into();
        self
    }
}

/// Options of `evaluate_with` and `predict_with`, which take the same two keyword
/// arguments in Keras: `batch_size` (32) and `verbose` (1). Progress and interrupts count
/// batches of `batch_size`; the model is run on as many whole batches at once as fit in
/// 256 rows, which gives the same outputs faster (a `batch_size` above 256 is used as is).
#[derive(Debug, Clone, Copy)]
pub struct Inference {
    pub(crate) batch_size: usize,
    pub(crate) verbose: Verbose,
}

/// `model.evaluate_with(&x, &y, Eval::default().batch_size(256))`.
pub type Eval = Inference;
/// `model.predict_with(&x, Predict::default().verbose(0))`.
pub type Predict = Inference;

impl Default for Inference {
    fn default() -> Self {
        Inference {
            batch_size: 32,
            verbose: Verbose(1),
        }
    }
}

impl Inference {
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    pub fn verbose(mut self, verbose: impl Into<Verbose>) -> Self {
        self.verbose = verbose.into();
        self
    }
}

pub(crate) fn check_batch_size(batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::invalid("batch_size must be at least 1"));
    }
    // Batches are cut with libtorch's i64 row counts.
    if i64::try_from(batch_size).is_err() {
        return Err(Error::invalid(format!(
            "batch_size {batch_size} is too large: at most {} (i64::MAX); a batch_size of at \
             least the number of samples already trains on all of them at once",
            i64::MAX
        )));
    }
    Ok(())
}

const MAX_EPOCHS_VAR: &str = "NOTEBOOK_KIT_MAX_EPOCHS";

/// Caps the epochs of every later `fit` (Keras's `keras.config.set_max_epochs`), e.g. for a
/// quick pass through a notebook; `None` removes the cap.
///
/// The cap lives in the kernel's environment as `NOTEBOOK_KIT_MAX_EPOCHS`, not in a static:
/// evcxr links a fresh copy of this crate, statics included, into every cell, so a static
/// set in one cell would be gone in the next.
pub fn set_max_epochs(limit: Option<usize>) -> Result<()> {
    match limit {
        Some(0) => Err(Error::invalid(
            "set_max_epochs: the cap must be at least 1 epoch (None removes it)",
        )),
        // Edition 2021: safe to call; called from a cell while no training thread runs.
        Some(n) => {
            std::env::set_var(MAX_EPOCHS_VAR, n.to_string());
            Ok(())
        }
        None => {
            std::env::remove_var(MAX_EPOCHS_VAR);
            Ok(())
        }
    }
}

/// The current epoch cap (Keras's `keras.config.max_epochs()`).
pub fn max_epochs() -> Result<Option<usize>> {
    match std::env::var(MAX_EPOCHS_VAR) {
        Err(_) => Ok(None),
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(Error::invalid(format!(
                "{MAX_EPOCHS_VAR} must be a whole number of epochs >= 1, got '{text}'"
            ))),
        },
    }
}

/// The epochs `fit` runs: the ones asked for, or fewer under the cap, which it then
/// announces in one line (unless silent).
pub(crate) fn capped_epochs(asked: usize, announce: bool) -> Result<usize> {
    let Some(cap) = max_epochs()? else {
        return Ok(asked);
    };
    if asked <= cap {
        return Ok(asked);
    }
    if announce {
        println!(
            "Training {cap} of the {asked} epochs asked for: {MAX_EPOCHS_VAR}={cap} caps every fit; \
             call set_max_epochs(None) or unset it to train them all."
        );
    }
    Ok(cap)
}
