//! Activation functions of a `Dense` layer, as Keras names them.

use std::fmt;

use tch::Tensor;

use crate::error::Result;

/// The `activation=` of a Keras `Dense` layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    Relu,
    Sigmoid,
    /// Row-wise softmax over the units. Used as the last layer's activation.
    Softmax,
    Tanh,
    /// No activation (`activation=None` or `"linear"` in Keras).
    Linear,
}

impl Activation {
    /// Keras's name for it: `relu`, `sigmoid`, `softmax`, `tanh`, `linear`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
            Activation::Tanh => "tanh",
            Activation::Linear => "linear",
        }
    }

    /// Applies the activation to pre-activations `z` of shape `[batch, units]`.
    pub fn apply(self, z: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Relu => z.f_relu()?,
            Activation::Sigmoid => z.f_sigmoid()?,
            Activation::Softmax => z.f_softmax(-1, None)?,
            Activation::Tanh => z.f_tanh()?,
            Activation::Linear => z.shallow_clone(),
        })
    }

    /// True when each output depends only on the same-position input, so that the
    /// derivative is a per-element factor (needed by the fused training path).
    pub(crate) fn is_elementwise(self) -> bool {
        !matches!(self, Activation::Softmax)
    }

    /// Gradient with respect to the pre-activation, given the gradient `grad_a` with
    /// respect to the output and the output `a` itself. Elementwise activations only.
    ///
    /// These are the same libtorch kernels autograd uses for `relu`, `sigmoid` and
    /// `tanh`, so the fused path rounds exactly as the autograd path does.
    pub(crate) fn backward(self, grad_a: &Tensor, a: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Relu => a.f_threshold_backward(grad_a, 0.0)?,
            Activation::Sigmoid => Tensor::f_sigmoid_backward(grad_a, a)?,
            Activation::Tanh => Tensor::f_tanh_backward(grad_a, a)?,
            Activation::Linear => grad_a.shallow_clone(),
            Activation::Softmax => {
                return Err(crate::error::Error::invalid(
                    "softmax has no elementwise derivative (internal: fused path misuse)",
                ))
            }
        })
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
