//! `evaluate` and `predict`: batched forward passes without gradients, and the checks that
//! inputs and labels fit the model.

use tch::{Device, Kind, Tensor};

use super::activation::Activation;
use super::batches::batches;
use super::loss::Labels;
use super::options::{check_batch_size, Eval, Predict};
use super::progbar::{Pace, Progbar};
use super::{BuiltLayer, Sequential};
use crate::device::packed::PackedMatrix;
use crate::error::{Error, Result};
use crate::interrupt::Watch;

/// Rows that `predict` and `evaluate` pass through the model at once: as many whole batches
/// of `batch_size` as fit in this many rows (at least one). Each row's output is its own
/// product, so the grouping changes what is computed by float rounding at most; on the CPU it
/// changes how often the weights are read from memory: for the lesson's model at batch 32
/// the 37 MB first-layer kernel would be streamed 313 times per 10,000 images, at 256 rows
/// 40 times (predict 0.79 s -> 0.535 s on the 2-core development VM, 2026-11-28; at 256
/// rows MKL's ordinary product still gave the same bits as at 32).
const ROWS_AT_ONCE: usize = 256;

fn group_rows(batch_size: usize) -> usize {
    batch_size * (ROWS_AT_ONCE / batch_size).max(1)
}

/// `(first row, rows, Keras batches done after it)` for each group of whole batches.
fn batch_groups(n: i64, batch_size: usize) -> impl Iterator<Item = (i64, i64, usize)> {
    batches(n, group_rows(batch_size)).map(move |(begin, len)| {
        let end = (begin + len) as usize;
        (begin, len, end.div_ceil(batch_size))
    })
}

fn interrupted(what: &str, done: usize, steps: usize) -> Error {
    Error::Interrupted(format!(
        "{what} interrupted after batch {done}/{steps}; the model and the notebook's variables are kept"
    ))
}

impl Sequential {
    /// Each Dense kernel packed by MKL once for a call over `n` samples, for products of up
    /// to one group's rows; empty where that saves nothing (a single group: MKL's ordinary
    /// product packs each kernel once anyway) or is not available (another device, a
    /// libtorch without MKL).
    fn packed_kernels(&self, n: i64, batch_size: usize) -> Result<Vec<Option<PackedMatrix>>> {
        let rows = group_rows(batch_size) as i64;
        if n <= rows || self.device != Device::Cpu {
            return Ok(Vec::new());
        }
        self.layers
            .iter()
            .filter_map(BuiltLayer::dense)
            .map(|d| PackedMatrix::new(&d.kernel, rows))
            .collect()
    }

    /// As [`Sequential::forward_logits`], under `no_grad` (`predict`, `evaluate`): the i-th
    /// Dense layer's kernel is taken from `packed[i]` where there is one (see
    /// [`Sequential::packed_kernels`]).
    fn forward_logits_packed(
        &self,
        x: &Tensor,
        packed: &[Option<PackedMatrix>],
    ) -> Result<(Tensor, Activation)> {
        let mut packed = packed.iter();
        self.forward_with(x, |d, a| match packed.next() {
            Some(Some(kernel)) => d.pre_activation_packed(a, kernel),
            _ => d.pre_activation_no_grad(a),
        })
    }

    /// Loss and accuracy on `(x, y)`, Keras's `model.evaluate(x, y)`; prints Keras's line.
    pub fn evaluate(&self, x: &Tensor, y: &Tensor) -> Result<(f64, f64)> {
        self.evaluate_with(x, y, Eval::default())
    }

    pub fn evaluate_with(&self, x: &Tensor, y: &Tensor, options: Eval) -> Result<(f64, f64)> {
        let metric = self.compiled("evaluate")?.metric;
        let verbosity = options.verbose.verbosity()?;
        check_batch_size(options.batch_size)?;
        let (x, labels) = self.prepare_data(x, y, "evaluate")?;
        let steps = batches(x.size()[0], options.batch_size).count();
        let mut bar = Progbar::new(steps, verbosity, Pace::FIRST);
        let (loss, accuracy) =
            self.evaluate_prepared(&x, &labels, options.batch_size, Some(&mut bar))?;
        bar.finish(&[("loss", loss), (metric.name(), accuracy)]);
        Ok((loss, accuracy))
    }

    /// Output-layer values (probabilities) for every sample of `x`, on the CPU,
    /// Keras's `model.predict(x)`; prints Keras's line.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.predict_with(x, Predict::default())
    }

    pub fn predict_with(&self, x: &Tensor, options: Predict) -> Result<Tensor> {
        let verbosity = options.verbose.verbosity()?;
        check_batch_size(options.batch_size)?;
        let x = self.prepare_inputs(x, "predict")?;
        let n = x.size()[0];
        if n == 0 {
            return Err(Error::invalid("predict: x holds no samples"));
        }
        let steps = batches(n, options.batch_size).count();
        let mut bar = Progbar::new(steps, verbosity, Pace::FIRST);
        let _no_grad = tch::no_grad_guard();
        let watch = Watch::start();
        let packed = self.packed_kernels(n, options.batch_size)?;
        let mut outputs = Vec::new();
        for (begin, len, done) in batch_groups(n, options.batch_size) {
            let (z, activation) =
                self.forward_logits_packed(&x.f_narrow(0, begin, len)?, &packed)?;
            outputs.push(activation.apply(&z)?);
            if watch.requested() {
                bar.abandon();
                return Err(interrupted("predict", done, steps));
            }
            if bar.tick(done) {
                bar.update(done, &[]);
            }
        }
        // One copy to the host for the whole result.
        let result = Tensor::f_cat(&outputs, 0)?.f_to_device(Device::Cpu)?;
        bar.finish(&[]);
        Ok(result)
    }

    /// Inputs and labels checked against the model and each other, on the model's device.
    pub(crate) fn prepare_data(
        &self,
        x: &Tensor,
        y: &Tensor,
        what: &'static str,
    ) -> Result<(Tensor, Labels)> {
        let loss = self.compiled(what)?.loss.loss;
        let x = self.prepare_inputs(x, what)?;
        super::require_defined(y, what, "y")?;
        let n = x.size()[0];
        let y_len = y.size().first().copied().unwrap_or(0);
        if y.dim() == 0 || n != y_len {
            return Err(Error::shape(format!(
                "{what}: x holds {n} samples but y holds {}; they must match",
                if y.dim() == 0 {
                    "a single value".to_string()
                } else {
                    y_len.to_string()
                }
            )));
        }
        if n == 0 {
            return Err(Error::invalid(format!(
                "{what}: the data set is empty (0 samples)"
            )));
        }
        let labels = loss.prepare_labels(y, self.units, self.device)?;
        Ok((x, labels))
    }

    /// Mean loss and accuracy over prepared data; shows progress on `bar` when given.
    pub(crate) fn evaluate_prepared(
        &self,
        x: &Tensor,
        labels: &Labels,
        batch_size: usize,
        mut bar: Option<&mut Progbar>,
    ) -> Result<(f64, f64)> {
        let compiled = self.compiled("evaluate")?;
        let _no_grad = tch::no_grad_guard();
        let n = x.size()[0];
        let mut loss_sum = Tensor::f_zeros([], (Kind::Double, self.device))?;
        let mut correct = Tensor::f_zeros([], (Kind::Int64, self.device))?;
        let mut seen = 0;
        let watch = Watch::start();
        let steps = batches(n, batch_size).count();
        let packed = self.packed_kernels(n, batch_size)?;
        let mut done = 0;
        for (begin, len, done_after) in batch_groups(n, batch_size) {
            if watch.requested() {
                if let Some(bar) = bar.as_deref_mut() {
                    bar.abandon();
                }
                return Err(interrupted("evaluate", done, steps));
            }
            done = done_after;
            let lb = labels.narrow(begin, len)?;
            let (z, activation) =
                self.forward_logits_packed(&x.f_narrow(0, begin, len)?, &packed)?;
            let loss = compiled.loss.compute(&z, activation, &lb.target)?;
            // Keras weights each batch's mean loss by the batch's size; a group's mean
            // weighted by the group's size is the same sum.
            let _ = loss_sum.f_add_(&loss.f_to_kind(Kind::Double)?.f_mul_scalar(len)?)?;
            let _ = correct.f_add_(
                &compiled
                    .metric
                    .correct(&activation.apply(&z)?, lb.class())?,
            )?;
            seen += len;
            if let Some(bar) = bar.as_deref_mut() {
                if bar.tick(done) {
                    let loss = loss_sum.f_double_value(&[])? / seen as f64;
                    let accuracy = correct.f_int64_value(&[])? as f64 / seen as f64;
                    bar.update(done, &[("loss", loss), (compiled.metric.name(), accuracy)]);
                }
            }
        }
        let loss = loss_sum.f_double_value(&[])? / n as f64;
        let accuracy = correct.f_int64_value(&[])? as f64 / n as f64;
        Ok((loss, accuracy))
    }
}
