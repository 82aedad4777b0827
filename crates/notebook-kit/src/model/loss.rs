//! Losses and the accuracy metric, with Keras's numerics.

use std::fmt;

use tch::{Device, Kind, Tensor};

use super::activation::Activation;
use crate::error::{Error, Result};
use crate::shape::{is_integer, TensorShape};

/// Keras clips probabilities to `[EPSILON, 1 - EPSILON]` before taking logs
/// (`keras.backend.epsilon()`).
const EPSILON: f64 = 1e-7;

/// The `loss=` of `compile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loss {
    /// Labels one-hot encoded, shape `[n, units]` (float).
    CategoricalCrossentropy,
    /// Labels as class numbers, shape `[n]` or `[n, 1]` (any integer kind, e.g. `u8`).
    SparseCategoricalCrossentropy,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        }
    }

    /// Mean loss over the batch, computed from the last layer's pre-activations `z`.
    ///
    /// Taking `z` rather than the probabilities lets a softmax output use the fused,
    /// stable log-softmax, which is what Keras does too (it keeps the logits of a softmax
    /// layer). Any other output follows Keras's probability path: categorical
    /// cross-entropy divides each row by its sum and clips to `[1e-7, 1 - 1e-7]`, sparse
    /// clips and then normalises through a log-softmax of the log-probabilities. That
    /// normalisation is what lets the lesson's sigmoid output layer train.
    pub(crate) fn compute(
        self,
        z: &Tensor,
        activation: Activation,
        target: &Tensor,
    ) -> Result<Tensor> {
        let log_p = match activation {
            Activation::Softmax => z.f_log_softmax(-1, None)?,
            _ => {
                let p = activation.apply(z)?;
                match self {
                    Loss::CategoricalCrossentropy => p
                        .f_div(&p.f_sum_dim_intlist(-1, true, None)?)?
                        .f_clamp(EPSILON, 1.0 - EPSILON)?
                        .f_log()?,
                    Loss::SparseCategoricalCrossentropy => p
                        .f_clamp(EPSILON, 1.0 - EPSILON)?
                        .f_log()?
                        .f_log_softmax(-1, None)?,
                }
            }
        };
        let per_sample = match self {
            Loss::CategoricalCrossentropy => {
                target.f_mul(&log_p)?.f_sum_dim_intlist(-1, false, None)?
            }
            Loss::SparseCategoricalCrossentropy => log_p
                .f_gather(1, &target.f_unsqueeze(1)?, false)?
                .f_squeeze_dim(1)?,
        };
        Ok(per_sample.f_mean(None)?.f_neg()?)
    }

    /// Checks labels against the model's output width and returns them on `device`, in
    /// the form training uses: `f32 [n, units]` one-hot, or `i64 [n]` class numbers.
    /// Also returns the class number of each sample, for the accuracy metric.
    pub(crate) fn prepare_labels(self, y: &Tensor, units: i64, device: Device) -> Result<Labels> {
        match self {
            Loss::CategoricalCrossentropy => {
                let dims = y.size();
                if dims.len() != 2 {
                    return Err(Error::shape(format!(
                        "categorical_crossentropy needs one-hot labels of shape (n, {units}), got \
                         {}; for class numbers use SparseCategoricalCrossentropy or \
                         to_categorical(&y, {units})",
                        y.shape()
                    )));
                }
                if dims[1] != units {
                    return Err(Error::shape(format!(
                        "one-hot labels have {} columns but the output layer has {units} units \
                         (labels {}, expected (n, {units}))",
                        dims[1],
                        y.shape()
                    )));
                }
                let target = y.f_to_device_(device, Kind::Float, false, false)?;
                let class = target.f_argmax(-1, false)?;
                Ok(Labels { target, class })
            }
            Loss::SparseCategoricalCrossentropy => {
                let dims = y.size();
                let flat = match dims.as_slice() {
                    [_] => y.shallow_clone(),
                    [n, 1] => y.f_reshape([*n])?,
                    _ => {
                        return Err(Error::shape(format!(
                            "sparse_categorical_crossentropy needs class numbers of shape (n,) or \
                             (n, 1), got {}; for one-hot labels use CategoricalCrossentropy",
                            y.shape()
                        )))
                    }
                };
                if !is_integer(flat.kind()) {
                    return Err(Error::invalid(format!(
                        "sparse labels must be integers (u8, i32, i64, ...), got {:?}",
                        flat.kind()
                    )));
                }
                let class = flat.f_to_device_(device, Kind::Int64, false, false)?;
                if class.numel() > 0 {
                    // One read per call: cheap next to training, and it turns libtorch's
                    // opaque "index out of bounds" into a message about the labels.
                    let lo = class.f_min()?.f_int64_value(&[])?;
                    let hi = class.f_max()?.f_int64_value(&[])?;
                    if lo < 0 || hi >= units {
                        return Err(Error::invalid(format!(
                            "sparse labels must lie in 0..{units} (the output layer has {units} \
                             units), found labels from {lo} to {hi}"
                        )));
                    }
                }
                Ok(Labels {
                    target: class.shallow_clone(),
                    class,
                })
            }
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Labels on the training device: what the loss consumes, and the class of each sample.
pub(crate) struct Labels {
    pub target: Tensor,
    pub class: Tensor,
}

impl Labels {
    pub fn rows(&self, index: &Tensor) -> Result<Labels> {
        Ok(Labels {
            target: self.target.f_index_select(0, index)?,
            class: self.class.f_index_select(0, index)?,
        })
    }

    pub fn narrow(&self, start: i64, len: i64) -> Result<Labels> {
        Ok(Labels {
            target: self.target.f_narrow(0, start, len)?,
            class: self.class.f_narrow(0, start, len)?,
        })
    }
}

/// The `metrics=` of `compile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Share of samples whose highest output is the true class (Keras picks categorical
    /// or sparse accuracy from the loss; so does this).
    Accuracy,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
        }
    }

    /// Number of correct predictions in a batch, as an `i64` scalar on the device
    /// (not read back, so that training does not wait for the device).
    pub(crate) fn correct(self, output: &Tensor, class: &Tensor) -> Result<Tensor> {
        match self {
            Metric::Accuracy => Ok(output
                .f_argmax(-1, false)?
                .f_eq_tensor(class)?
                .f_sum(Kind::Int64)?),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
