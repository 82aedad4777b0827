//! The fused step's loss head: the batch's mean loss, its gradient with respect to the
//! output layer's pre-activation `z`, and the output layer's values, from `z` and the labels.
//!
//! Why a closed form: the head is a `[batch, units]` sliver of the arithmetic, but through
//! autograd it is about 25 small operations plus building and running a backward graph,
//! half of a step's fixed cost (measured with `examples/step_overhead.rs`). On a GPU every
//! operation is a kernel launch, and at batch 32 the lesson's step is mostly such fixed
//! cost. The closed forms below cover the lesson's and the exercise's heads (sigmoid with
//! either loss rule, softmax); any other output activation goes through autograd, which
//! every closed form is tested against.
//!
//! The loss value comes from the same operations as `LossSpec::compute`, so it is the same
//! to the bit; the gradient differs from autograd's by rounding only.

use tch::{Kind, Tensor};

use super::activation::Activation;
use super::loss::{Loss, LossSpec, EPSILON};
use crate::error::{Error, Result};

/// What the loss head gives a training step.
pub(crate) struct Head {
    /// The batch's mean loss (a scalar).
    pub loss: Tensor,
    /// d(loss)/dz, `[batch, units]`.
    pub dz: Tensor,
    /// The output layer's values, `activation(z)`, for the accuracy metric.
    pub output: Tensor,
}

/// The head for pre-activations `z` (`[batch, units]`, no gradient) of an output layer
/// with `activation`, and `target` as `Labels::target` holds it.
pub(crate) fn head(
    spec: LossSpec,
    z: &Tensor,
    activation: Activation,
    target: &Tensor,
) -> Result<Head> {
    match closed_form(spec, z, activation, target)? {
        Some(head) => Ok(head),
        None => with_autograd(spec, z, activation, target),
    }
}

/// The closed-form head, where one is written for this activation and rule.
fn closed_form(
    spec: LossSpec,
    z: &Tensor,
    activation: Activation,
    target: &Tensor,
) -> Result<Option<Head>> {
    let batch = z.size()[0] as f64;
    if spec.reads_logits(activation) {
        // -Σ y log_softmax(z) has the gradient softmax(z) Σy - y (per row).
        let log_p = z.f_log_softmax(-1, None)?;
        let loss = spec.mean_of_log_probabilities(&log_p, target)?;
        let softmax = log_p.f_exp()?;
        let gradient = match spec.loss {
            Loss::CategoricalCrossentropy => softmax
                .f_mul(&target.f_sum_dim_intlist(-1, true, None)?)?
                .f_sub(target)?,
            Loss::SparseCategoricalCrossentropy => minus_one_at_labels(softmax, target)?,
        };
        let dz = gradient.f_div_scalar(batch)?;
        let output = activation.apply(z)?;
        return Ok(Some(Head { loss, dz, output }));
    }
    if activation != Activation::Sigmoid {
        return Ok(None);
    }
    // The lesson's rule on a sigmoid output p. A clipped entry passes no gradient, as in
    // autograd's clamp (`q == clipped` is its mask).
    let p = z.f_sigmoid()?;
    let (loss, grad_p) = match spec.loss {
        Loss::CategoricalCrossentropy => {
            // q = p / Σp, clipped; loss -Σ y log q / batch. With g = y / q where unclipped,
            // d(loss)/dp_k = -(g_k - Σ_j g_j q_j) / Σp / batch.
            let sum = p.f_sum_dim_intlist(-1, true, None)?;
            let q = p.f_div(&sum)?;
            let clipped = q.f_clamp(EPSILON, 1.0 - EPSILON)?;
            let loss = spec.mean_of_log_probabilities(&clipped.f_log()?, target)?;
            let g = target.f_div(&clipped)?.f_mul(&q.f_eq_tensor(&clipped)?)?;
            let through_sum = g.f_mul(&q)?.f_sum_dim_intlist(-1, true, None)?;
            let grad_p = g
                .f_sub(&through_sum)?
                .f_div(&sum)?
                .f_mul_scalar(-1.0 / batch)?;
            (loss, grad_p)
        }
        Loss::SparseCategoricalCrossentropy => {
            // The loss is -log_softmax(log(clipped p))[label], averaged; with respect to
            // log(clipped p) its gradient is (softmax - one_hot) / batch, so with respect to
            // p it is (softmax - one_hot) / clipped p / batch where unclipped.
            let clipped = p.f_clamp(EPSILON, 1.0 - EPSILON)?;
            let log_p = clipped.f_log()?.f_log_softmax(-1, None)?;
            let loss = spec.mean_of_log_probabilities(&log_p, target)?;
            let grad_p = minus_one_at_labels(log_p.f_exp()?, target)?
                .f_div(&clipped)?
                .f_mul(&p.f_eq_tensor(&clipped)?)?
                .f_div_scalar(batch)?;
            (loss, grad_p)
        }
    };
    let dz = Tensor::f_sigmoid_backward(&grad_p, &p)?;
    Ok(Some(Head {
        loss,
        dz,
        output: p,
    }))
}

/// `rows` with 1 subtracted at each row's label (`labels`: `i64 [batch]`).
fn minus_one_at_labels(mut rows: Tensor, labels: &Tensor) -> Result<Tensor> {
    let minus_one = Tensor::f_full([labels.size()[0], 1], -1.0, (Kind::Float, rows.device()))?;
    let _ = rows.f_scatter_add_(1, &labels.f_unsqueeze(1)?, &minus_one)?;
    Ok(rows)
}

/// Any head, through autograd on the `[batch, units]` loss computation.
fn with_autograd(
    spec: LossSpec,
    z: &Tensor,
    activation: Activation,
    target: &Tensor,
) -> Result<Head> {
    let (loss, dz) = tch::with_grad(|| -> Result<(Tensor, Tensor)> {
        let z = z.f_detach()?.f_set_requires_grad(true)?;
        let value = spec.compute(&z, activation, target)?;
        let grads = Tensor::f_run_backward(&[&value], &[&z], false, false)?;
        let dz = grads
            .into_iter()
            .next()
            .ok_or_else(|| Error::invalid("internal: no gradient for the loss head"))?;
        Ok((value.f_detach()?, dz))
    })?;
    let output = activation.apply(z)?;
    Ok(Head { loss, dz, output })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation::{Linear, Sigmoid, Softmax, Tanh};
    use crate::model::Loss::{CategoricalCrossentropy, SparseCategoricalCrossentropy};
    use tch::Device;

    /// Pre-activations that saturate the sigmoid in places, so that clipping applies to
    /// some entries, labelled ones among them; labels as class numbers.
    fn batch() -> (Tensor, Tensor) {
        tch::manual_seed(3);
        let z = Tensor::randn([16, 10], (Kind::Float, Device::Cpu)) * 3.0;
        let labels = Tensor::randint(10, [16], (Kind::Int64, Device::Cpu));
        let _ = z.get(0).fill_(-25.0); // every q = 0.1: nothing clipped after normalising
        let _ = z.get(1).fill_(-17.0); // p ~ 4e-8, clipped ...
        let _ = z.get(1).get(4).fill_(20.0); // ... and q ~ 1 - 4e-7 at class 4
        let _ = labels.get(1).fill_(2);
        let _ = z.get(2).get(7).fill_(-17.0); // a labelled entry clipped
        let _ = labels.get(2).fill_(7);
        (z, labels)
    }

    #[test]
    fn closed_forms_match_autograd() -> Result<()> {
        let (z, labels) = batch();
        let one_hot = labels.one_hot(10).to_kind(Kind::Float);
        // Labels that are not one-hot (smoothed), which categorical cross-entropy accepts.
        let smoothed = &one_hot * 0.9 + 0.01;
        let mut covered = 0;
        for activation in [Sigmoid, Softmax, Tanh, Linear] {
            for loss in [CategoricalCrossentropy, SparseCategoricalCrossentropy] {
                for spec in [loss.as_in_the_lesson(), loss.as_in_todays_keras()] {
                    let targets = match loss {
                        CategoricalCrossentropy => vec![&one_hot, &smoothed],
                        SparseCategoricalCrossentropy => vec![&labels],
                    };
                    for target in targets {
                        let want = with_autograd(spec, &z, activation, target)?;
                        let Some(got) = closed_form(spec, &z, activation, target)? else {
                            assert!(!matches!(activation, Sigmoid | Softmax), "{activation:?}");
                            continue;
                        };
                        covered += 1;
                        let case = format!("{activation:?} {spec:?}");
                        assert!(got.loss.equal(&want.loss), "{case}: loss");
                        assert!(got.output.equal(&want.output), "{case}: output");
                        let scale = want.dz.abs().max().double_value(&[]);
                        let diff = (&got.dz - &want.dz).abs().max().double_value(&[]);
                        assert!(
                            scale > 0.0 && diff <= 1e-6 * scale,
                            "{case}: dz off by {diff}"
                        );
                    }
                }
            }
        }
        assert_eq!(covered, 12, "sigmoid and softmax, both losses and rules");
        Ok(())
    }

    /// Where the lesson's rule clips a labelled entry, its gradient is zero, although the
    /// sigmoid's own slope there is not (without the clip's mask it would be about 0.4).
    #[test]
    fn clipped_entries_pass_no_gradient() -> Result<()> {
        let (z, labels) = batch();
        let p = z.get(2).get(7).sigmoid().double_value(&[]);
        assert!(p > 0.0 && p < EPSILON);
        let one_hot = labels.one_hot(10).to_kind(Kind::Float);
        for (loss, target) in [
            (CategoricalCrossentropy, &one_hot),
            (SparseCategoricalCrossentropy, &labels),
        ] {
            let head =
                closed_form(loss.as_in_the_lesson(), &z, Sigmoid, target)?.expect("a closed form");
            assert_eq!(head.dz.get(2).get(7).double_value(&[]), 0.0, "{loss:?}");
            let label_3 = labels.get(3).int64_value(&[]);
            assert_ne!(
                head.dz.get(3).get(label_3).double_value(&[]),
                0.0,
                "{loss:?}"
            );
        }
        Ok(())
    }
}
