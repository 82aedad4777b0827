//! `Flatten`: reshapes each sample to one dimension (no parameters).

/// Keras's `Flatten(input_shape=...)`: turns `[batch, 32, 32, 3]` into `[batch, 3072]`,
/// in the same (row-major, channels-last) order as Keras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flatten {
    pub(crate) input_shape: Option<Vec<i64>>,
}

impl Flatten {
    /// A first layer that takes samples of `input_shape` (without the batch dimension),
    /// e.g. `Flatten::new([32, 32, 3])`.
    pub fn new(input_shape: impl AsRef<[i64]>) -> Self {
        Flatten {
            input_shape: Some(input_shape.as_ref().to_vec()),
        }
    }

    /// A `Flatten` placed after other layers: its input shape comes from them.
    pub fn inner() -> Self {
        Flatten { input_shape: None }
    }
}
