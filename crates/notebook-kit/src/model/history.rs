//! What `fit` returns: Keras's `history.history`, one entry per epoch.

/// Per-epoch metrics of one `fit` call, as Keras's `History.history` dictionary.
/// The `val_*` vectors are empty when `fit` had no validation data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub loss: Vec<f64>,
    pub accuracy: Vec<f64>,
    pub val_loss: Vec<f64>,
    pub val_accuracy: Vec<f64>,
    /// Wall-clock seconds of each epoch (training only, validation excluded).
    pub epoch_seconds: Vec<f64>,
}

impl History {
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }
}
