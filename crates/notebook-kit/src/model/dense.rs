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

/// From this many weights up, a CPU forward pass without autograd goes through oneDNN:
/// measured here at batch 32, oneDNN is 1.4x faster for 3072x3000 and 1.2x for
/// 3000x1000, but slower for 784x500 and below (its format conversions dominate).
const ONEDNN_MIN_WEIGHTS: i64 = 1_000_000;

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

    /// Whether this layer's backward products go through oneDNN at this batch size (see
    /// [`onednn_matmul`]): on the CPU, for large layers and batches of at least
    /// [`ONEDNN_BACKWARD_MIN_BATCH`]. `NOTEBOOK_KIT_ONEDNN_BACKWARD=0` turns it off.
    pub fn onednn_backward(&self, batch: i64) -> bool {
        static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let off = *OFF.get_or_init(|| {
            std::env::var("NOTEBOOK_KIT_ONEDNN_BACKWARD").is_ok_and(|v| v.trim() == "0")
        });
        let on = !off
            && batch >= onednn_backward_min_batch()
            && self.kernel.numel() as i64 >= ONEDNN_MIN_WEIGHTS
            && self.kernel.device() == Device::Cpu
            && onednn_available();
        if on {
            keep_large_allocations();
        }
        on
    }

    /// `dZ @ kernel`: the gradient for this layer's input, through oneDNN.
    pub fn input_gradient_onednn(&self, dz: &Tensor) -> Result<Tensor> {
        onednn_matmul(dz, &self.kernel.f_tr()?)
    }

    pub fn count_params(&self) -> i64 {
        (self.kernel.numel() + self.bias.numel()) as i64
    }
}

/// From this batch size up, the fused step also computes the backward products (input and
/// weight gradients) with oneDNN. libtorch's own CPU matmul is MKL's, which reaches about
/// 210 GFLOP/s on the 2-core AMD EPYC (Zen 5) development machine against oneDNN's 440 at
/// batch 512 (`examples/step_profile.rs`): MKL does not use AVX-512 on AMD CPUs. oneDNN
/// costs extra passes over the weights (a fresh weight gradient, a transposed kernel), which
/// its speed pays for only with enough rows: half an epoch of the lesson's model took
/// 5.48 -> 4.08 s at batch 512, 6.49 -> 5.92 s at 128, but 6.71 -> 8.06 s at 64 and
/// 7.68 -> 12.22 s at 32. `NOTEBOOK_KIT_ONEDNN_MIN_BATCH` moves the threshold.
pub(crate) const ONEDNN_BACKWARD_MIN_BATCH: i64 = 128;

fn onednn_backward_min_batch() -> i64 {
    std::env::var("NOTEBOOK_KIT_ONEDNN_MIN_BATCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(ONEDNN_BACKWARD_MIN_BATCH)
}

/// The oneDNN weight gradient is a fresh tensor every step (37 MB for the lesson's first
/// layer). glibc serves allocations that large with mmap and unmaps them on free, so every
/// step would fault in 9,000 new pages; with mmap off and the heap never trimmed, the
/// freed block is reused as it is. Done once per process, when the oneDNN path first runs:
/// the process then keeps its largest heap size until it exits.
fn keep_large_allocations() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        // SAFETY: mallopt only changes glibc's allocation policy for later allocations.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    });
}

/// `a @ b^T` through oneDNN's inner product (`mkldnn_linear` with `b` as its weight); `b`
/// is made contiguous first, as oneDNN wants.
pub(crate) fn onednn_matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let b = b.f_contiguous()?;
    let out = a
        .f_contiguous()?
        .f_to_mkldnn(None)?
        .f_mkldnn_linear(&b, None::<&Tensor>)?;
    Ok(out.f_to_dense(None, false)?)
}

fn onednn_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(tch::utils::has_mkldnn)
}
