//! Losses and the accuracy metric, with Keras's numerics.

use std::fmt;

use tch::{Device, Kind, Tensor};

use super::activation::Activation;
use crate::error::{Error, Result};
use crate::shape::{is_integer, TensorShape};

/// Keras clips probabilities to `[EPSILON, 1 - EPSILON]` before taking logs
/// (`keras.backend.epsilon()`).
pub(crate) const EPSILON: f64 = 1e-7;

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
                    // One column is most likely class numbers, not a one-hot encoding.
                    let hint = match dims[1] {
                        1 => format!(
                            "; for class numbers use SparseCategoricalCrossentropy or \
                             to_categorical(&y, {units})"
                        ),
                        _ => String::new(),
                    };
                    return Err(Error::shape(format!(
                        "one-hot labels have {} columns but the output layer has {units} units \
                         (labels {}, expected (n, {units})){hint}",
                        dims[1],
                        y.shape()
                    )));
                }
                let target = y.f_to_device_(device, Kind::Float, false, false)?;
                let class = target.f_argmax(-1, false)?;
                Ok(Labels {
                    target,
                    class: Some(class),
                })
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
                    target: class,
                    class: None,
                })
            }
        }
    }
}

/// How the cross-entropies read a sigmoid (or any non-softmax) output layer. On a softmax
/// output both rules are the same: the log-softmax of the layer's pre-activation.
///
/// The lesson was recorded on TensorFlow 2.2, whose Keras took the layer's probabilities,
/// divided each row by its sum, clipped to `[1e-7, 1 - 1e-7]` and took the log. From
/// TensorFlow 2.4 on (tf-keras, Keras 3) a sigmoid output also remembers its input, and the
/// loss becomes the softmax cross-entropy of that input (the "logits"): the same code
/// trains on a different loss, and prints different numbers, on today's Keras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProbabilityRule {
    /// TensorFlow 2.2's normalise-and-clip, which the lesson's printed numbers come from.
    #[default]
    AsInTheLesson,
    /// Today's Keras (TensorFlow 2.4 and later, Keras 3): softmax cross-entropy of the
    /// output layer's pre-activation.
    AsInTodaysKeras,
}

/// The `loss=` of `compile`: a loss and how it reads a sigmoid output. A plain [`Loss`]
/// means the lesson's rule; `CategoricalCrossentropy.as_in_todays_keras()` today's Keras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LossSpec {
    pub loss: Loss,
    pub rule: ProbabilityRule,
}

impl From<Loss> for LossSpec {
    fn from(loss: Loss) -> Self {
        LossSpec {
            loss,
            rule: ProbabilityRule::default(),
        }
    }
}

impl Loss {
    /// This loss as today's Keras computes it on a sigmoid output (see [`ProbabilityRule`]).
    pub fn as_in_todays_keras(self) -> LossSpec {
        LossSpec {
            loss: self,
            rule: ProbabilityRule::AsInTodaysKeras,
        }
    }

    /// This loss as the lesson's TensorFlow 2.2 computed it (the default).
    pub fn as_in_the_lesson(self) -> LossSpec {
        LossSpec::from(self)
    }
}

impl LossSpec {
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
        let log_p = match self.reads_logits(activation) {
            true => z.f_log_softmax(-1, None)?,
            false => {
                let p = activation.apply(z)?;
                match self.loss {
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
        self.mean_of_log_probabilities(&log_p, target)
    }

    /// Does this loss read `activation`'s output through its pre-activation (log-softmax)?
    pub(crate) fn reads_logits(self, activation: Activation) -> bool {
        activation == Activation::Softmax
            || (self.rule == ProbabilityRule::AsInTodaysKeras && activation == Activation::Sigmoid)
    }

    /// The batch's mean loss from the log-probabilities `log_p` the loss's rule gave.
    pub(crate) fn mean_of_log_probabilities(
        self,
        log_p: &Tensor,
        target: &Tensor,
    ) -> Result<Tensor> {
        let per_sample = match self.loss {
            Loss::CategoricalCrossentropy => {
                target.f_mul(log_p)?.f_sum_dim_intlist(-1, false, None)?
            }
            Loss::SparseCategoricalCrossentropy => log_p
                .f_gather(1, &target.f_unsqueeze(1)?, false)?
                .f_squeeze_dim(1)?,
        };
        Ok(per_sample.f_mean(None)?.f_neg()?)
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
    /// `None` where the target is the class itself (sparse labels): a batch then gathers
    /// one tensor, not the same one twice.
    class: Option<Tensor>,
}

impl Labels {
    /// The class number of each sample (`i64 [n]`), for the accuracy metric.
    pub fn class(&self) -> &Tensor {
        self.class.as_ref().unwrap_or(&self.target)
    }

    pub fn rows(&self, index: &Tensor) -> Result<Labels> {
        Ok(Labels {
            target: self.target.f_index_select(0, index)?,
            class: self
                .class
                .as_ref()
                .map(|class| class.f_index_select(0, index))
                .transpose()?,
        })
    }

    pub fn narrow(&self, start: i64, len: i64) -> Result<Labels> {
        Ok(Labels {
            target: self.target.f_narrow(0, start, len)?,
            class: self
                .class
                .as_ref()
                .map(|class| class.f_narrow(0, start, len))
                .transpose()?,
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
