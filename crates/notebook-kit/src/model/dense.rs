//! `Dense`: a fully connected layer, `activation(x @ kernel + bias)`.

use tch::{Device, Kind, Tensor};

use super::activation::Activation;
use crate::error::Result;

/// Keras's `Dense(units, activation=...)`. The kernel starts Glorot-uniform and the bias
/// at zero, as in Keras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dense {
    pub(crate) units: i64,
    pub(crate) activation: Activation,
    pub(crate) input_shape: Option<Vec<i64>>,
}

impl Dense {
    pub fn new(units: i64, activation: Activation) -> Self {
        Dense {
            units,
            activation,
            input_shape: None,
        }
    }

    /// For a `Dense` that is the model's first layer: the shape of one sample,
    /// e.g. `Dense::new(500, Relu).input_shape([784])`.
    pub fn input_shape(mut self, shape: impl AsRef<[i64]>) -> Self {
        self.input_shape = Some(shape.as_ref().to_vec());
        self
    }
}

/// The trainable weights of one built `Dense` layer.
///
/// The kernel is stored `[units, inputs]`, PyTorch's layout, because libtorch's fast paths
/// (oneDNN's inner product, and the in-place update `W += dZ^T x`) want it that way;
/// `Sequential::get_weights` hands it out transposed, in Keras's `[inputs, units]`.
#[derive(Debug)]
pub(crate) struct DenseWeights {
    pub kernel: Tensor,
    pub bias: Tensor,
    pub activation: Activation,
}

/// From this many weights up, a CPU forward pass without autograd goes through oneDNN.
/// At batch 32 a large kernel is read from memory once per batch, and oneDNN streams it
/// faster: 3072x3000 (37 MB, more than the 32 MB L3 cache of the 2-core Zen 5 development
/// machine) took 2.25-2.31 ms with oneDNN and 2.81-2.83 ms with MKL's AVX-512 kernels.
/// Below that MKL wins: 3000x1000 0.52-0.54 ms vs 0.62-0.68, and 784x500 and smaller lose
/// most to oneDNN's format conversions. At batch 512 both take the same time
/// (`examples/step_profile.rs`, 2026-11-28).
const ONEDNN_MIN_WEIGHTS: i64 = 4_000_000;

impl DenseWeights {
    /// Glorot-uniform kernel, zero bias. The kernel is drawn on the CPU from tch's
    /// generator and then moved, so that one `tch::manual_seed` gives the same starting
    /// weights on every device.
    pub fn init(inputs: i64, units: i64, activation: Activation, device: Device) -> Result<Self> {
        let _no_grad = tch::no_grad_guard();
        let limit = (6.0 / (inputs + units) as f64).sqrt();
        let kernel = Tensor::f_empty([units, inputs], (Kind::Float, Device::Cpu))?
            .f_uniform_(-limit, limit)?
            .f_to_device(device)?
            .f_set_requires_grad(true)?;
        let bias = Tensor::f_zeros([units], (Kind::Float, device))?.f_set_requires_grad(true)?;
        Ok(DenseWeights {
            kernel,
            bias,
            activation,
        })
    }

    /// `x @ kernel^T + bias`, before the activation; differentiable.
    pub fn pre_activation(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.bias.f_addmm(x, &self.kernel.f_tr()?)?)
    }

    /// The same without autograd (call under `no_grad`), through oneDNN for large layers
    /// on the CPU.
    pub fn pre_activation_no_grad(&self, x: &Tensor) -> Result<Tensor> {
        let large = self.kernel.numel() as i64 >= ONEDNN_MIN_WEIGHTS;
        if large && self.kernel.device() == Device::Cpu && onednn_available() {
            let z = x
                .f_to_mkldnn(None)?
                .f_mkldnn_linear(&self.kernel, Some(&self.bias))?;
            return Ok(z.f_to_dense(None, false)?);
        }
        self.pre_activation(x)
    }

    pub fn count_params(&self) -> i64 {
        (self.kernel.numel() + self.bias.numel()) as i64
    }
}

fn onednn_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(tch::utils::has_mkldnn)
}
