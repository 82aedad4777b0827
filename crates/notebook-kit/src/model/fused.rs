//! The fused training step: explicit Dense gradients, applied in place without per-step
//! gradient buffers.
//!
//! Why: with autograd, every step allocates a gradient buffer as large as each kernel
//! (37 MB for the lesson's first layer), and libtorch's CPU allocator hands out fresh,
//! untouched pages each time, so page faults cost more than the matmul that fills them
//! (measured on a 2-core machine: allocating and first touching the 37 MB take about
//! 14 ms a step, the weight-gradient matmul itself 6.8 ms). Plain SGD needs no gradient
//! buffer at all:
//! `W -= lr * x^T dZ` is one `addmm_` into `W` itself, if the small `dZ` is scaled by
//! `-lr` first (`addmm_` here has no alpha). The forward pass skips autograd's bookkeeping.
//!
//! The loss head (`[batch, units]`, tiny) has closed forms for sigmoid and softmax outputs
//! and uses autograd for any other (`loss_head.rs`). Hidden activations must be elementwise
//! (their derivative is applied with the same kernels autograd uses).

use tch::Tensor;

use super::dense::DenseWeights;
use super::loss::{Labels, LossSpec};
use super::loss_head::{self, Head};
use super::optimizer::OptimizerState;
use super::train::LossCheck;
use crate::error::{Error, Result};

/// Can the fused step train this stack of Dense layers?
pub(crate) fn supports<'a>(dense: impl Iterator<Item = &'a DenseWeights>) -> bool {
    let layers: Vec<_> = dense.collect();
    match layers.split_last() {
        Some((_, hidden)) => hidden.iter().all(|d| d.activation.is_elementwise()),
        None => false,
    }
}

/// One training step on batch `x`. Returns the batch's mean loss and the output layer's
/// values (for the accuracy metric). Plain SGD folds each update into an `addmm_`; any other
/// optimizer (Adam, momentum) gets each weight's gradient in a buffer reused every step.
/// `check` may refuse the update when the loss is not finite (see [`LossCheck`]).
pub(crate) fn step(
    layers: &[&DenseWeights],
    x: &Tensor,
    labels: &Labels,
    loss: LossSpec,
    optimizer: &mut OptimizerState,
    check: LossCheck,
) -> Result<(Tensor, Tensor)> {
    let (last, hidden) = layers
        .split_last()
        .ok_or_else(|| Error::invalid("the model has no Dense layer"))?;
    let _no_grad = tch::no_grad_guard();

    // Forward, keeping each layer's input: a kernel's gradient is input^T @ dZ.
    // Flatten layers only reshape, and only the first one can change a shape.
    let batch = x.size()[0];
    let mut inputs = Vec::with_capacity(layers.len());
    let mut a = x.f_reshape([batch, -1])?;
    for d in hidden {
        let z = d.pre_activation_no_grad(&a)?;
        inputs.push(a);
        a = d.activation.apply(&z)?;
    }
    let z = last.pre_activation_no_grad(&a)?;
    inputs.push(a);

    // dLoss/dz for the last layer's pre-activations (`loss_head.rs`).
    let Head {
        loss: loss_value,
        mut dz,
        output,
    } = loss_head::head(loss, &z, last.activation, &labels.target)?;
    check.before_update(&loss_value)?;

    // Backward and update, last layer first. Each layer's input gradient is taken from its
    // kernel before the kernel changes, exactly as autograd would.
    let plain_sgd_rate = optimizer.config.plain_sgd_rate();
    optimizer.begin_fused_step();
    for i in (0..layers.len()).rev() {
        let d = layers[i];
        let below = match i {
            0 => None, // the network's input needs no gradient
            _ => {
                let grad_a = dz.f_mm(&d.kernel.f_tr()?)?;
                Some(layers[i - 1].activation.backward(&grad_a, &inputs[i])?)
            }
        };
        match plain_sgd_rate {
            Some(rate) => {
                let scaled = dz.f_mul_scalar(-rate)?;
                let _ = d
                    .kernel
                    .shallow_clone()
                    .f_addmm_(&inputs[i].f_tr()?, &scaled)?;
                let _ = d
                    .bias
                    .shallow_clone()
                    .f_add_(&scaled.f_sum_dim_intlist(0, false, None)?)?;
            }
            None => {
                let mut kernel_grad = optimizer.scratch(2 * i, &d.kernel)?;
                let _ = inputs[i].f_tr()?.f_mm_out(&kernel_grad, &dz)?;
                optimizer.update_one(2 * i, &d.kernel, &mut kernel_grad)?;
                let mut bias_grad = optimizer.scratch(2 * i + 1, &d.bias)?;
                let _ = dz.f_sum_intlist_out(&bias_grad, 0, false, None)?;
                optimizer.update_one(2 * i + 1, &d.bias, &mut bias_grad)?;
            }
        }
        match below {
            Some(next) => dz = next,
            None => break,
        }
    }
    Ok((loss_value, output))
}
