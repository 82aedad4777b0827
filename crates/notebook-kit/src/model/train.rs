//! `fit`, `evaluate` and `predict`: the loops over batches, and Keras's output lines.
//!
//! Rules that keep a GPU busy (and cost nothing on the CPU): the data move to the device
//! once per call; batches are gathered there with `index_select`; per-step loss and
//! accuracy stay on the device and are read back only when a line is printed (at most every
//! few seconds) and at the end of the epoch.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::loss::Labels;
use super::progress::{self, PROGRESS_INTERVAL};
use super::{fused, History, Sequential, TrainingPath};
use crate::error::{Error, Result};

/// Options of `fit`, Keras's keyword arguments:
/// `Fit::epochs(5).batch_size(32).shuffle(true).validation_data(&x_val, &y_val).verbose(true)`.
#[derive(Debug, Clone, Copy)]
pub struct Fit<'a> {
    epochs: usize,
    batch_size: usize,
    shuffle: bool,
    validation: Option<(&'a Tensor, &'a Tensor)>,
    verbose: bool,
}

impl Default for Fit<'_> {
    fn default() -> Self {
        Fit {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation: None,
            verbose: true,
        }
    }
}

impl<'a> Fit<'a> {
    /// Train for `epochs` passes over the data, with Keras's other defaults (batch 32,
    /// shuffled, progress printed).
    pub fn epochs(epochs: usize) -> Self {
        Fit {
            epochs,
            ..Fit::default()
        }
    }

    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Reshuffle the samples every epoch (drawn from tch's generator, so
    /// `tch::manual_seed` makes it repeatable).
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Data to evaluate after every epoch (`val_loss`, `val_accuracy`).
    pub fn validation_data(mut self, x: &'a Tensor, y: &'a Tensor) -> Self {
        self.validation = Some((x, y));
        self
    }

    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
}

/// Options of `evaluate_with` and `predict_with`: batch size (32) and whether to print
/// Keras's line (yes).
#[derive(Debug, Clone, Copy)]
pub struct Eval {
    batch_size: usize,
    verbose: bool,
}

impl Default for Eval {
    fn default() -> Self {
        Eval {
            batch_size: 32,
            verbose: true,
        }
    }
}

impl Eval {
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
}

/// Batches of `batch_size` rows out of `n`; the last one may be shorter.
fn batches(n: i64, batch_size: usize) -> impl Iterator<Item = (i64, i64)> {
    let bs = batch_size as i64;
    (0..n)
        .step_by(batch_size)
        .map(move |start| (start, bs.min(n - start)))
}

fn check_batch_size(batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::invalid("batch_size must be at least 1"));
    }
    Ok(())
}

impl Sequential {
    /// Trains the model, Keras's `model.fit(x, y, ...)`. Returns the per-epoch history.
    ///
    /// Errors (nothing panics): not compiled; shapes of `x` or `y` that do not fit the
    /// model; `x` and `y` of different lengths; an empty data set; `batch_size` 0; a loss
    /// that becomes NaN or infinite (the error names the epoch and step).
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, options: Fit<'_>) -> Result<History> {
        let metric = self
            .compiled
            .as_ref()
            .ok_or(Error::NotCompiled("fit"))?
            .metric;
        check_batch_size(options.batch_size)?;
        let (x, labels) = self.prepare_data(x, y, "fit")?;
        let validation = match options.validation {
            Some((xv, yv)) => Some(self.prepare_data(xv, yv, "validation_data")?),
            None => None,
        };
        let path = self.training_path().unwrap_or(TrainingPath::Autograd);

        let n = x.size()[0];
        let steps = batches(n, options.batch_size).count();
        let mut history = History::default();
        for epoch in 1..=options.epochs {
            if options.verbose {
                println!("Epoch {epoch}/{}", options.epochs);
            }
            let start = Instant::now();
            let order = match options.shuffle {
                true => Some(
                    Tensor::f_randperm(n, (Kind::Int64, Device::Cpu))?.f_to_device(self.device)?,
                ),
                false => None,
            };
            let mut tally = Tally::new(epoch, steps, self.device)?;
            let mut last_line = Instant::now();
            for (step, (begin, len)) in batches(n, options.batch_size).enumerate() {
                let (xb, lb) = match &order {
                    Some(perm) => {
                        let index = perm.f_narrow(0, begin, len)?;
                        (x.f_index_select(0, &index)?, labels.rows(&index)?)
                    }
                    None => (x.f_narrow(0, begin, len)?, labels.narrow(begin, len)?),
                };
                let (loss, output) = match path {
                    TrainingPath::Fused => self.fused_step(&xb, &lb)?,
                    TrainingPath::Autograd => self.autograd_step(&xb, &lb)?,
                };
                tally.record(step, len, &loss, &metric.correct(&output, &lb.class)?)?;

                if last_line.elapsed() >= PROGRESS_INTERVAL && step + 1 < steps {
                    // Reading also checks for NaN, so a diverging run stops within seconds
                    // even when nothing is printed.
                    let (mean_loss, accuracy) = tally.read(step + 1)?;
                    if options.verbose {
                        let seconds = start.elapsed().as_secs_f64();
                        let remaining = seconds / (step + 1) as f64 * (steps - step - 1) as f64;
                        println!(
                            "{}{}{}{}",
                            progress::bar(step + 1, steps),
                            progress::eta(remaining),
                            progress::value("loss", mean_loss),
                            progress::value(metric.name(), accuracy)
                        );
                    }
                    last_line = Instant::now();
                }
            }
            let (mean_loss, accuracy) = tally.read(steps)?;
            crate::device::synchronize_device(self.device);
            let train_seconds = start.elapsed().as_secs_f64();

            history.loss.push(mean_loss);
            history.accuracy.push(accuracy);
            history.epoch_seconds.push(train_seconds);
            let mut line = format!(
                "{}{}",
                progress::value("loss", mean_loss),
                progress::value(metric.name(), accuracy)
            );
            if let Some((xv, lv)) = &validation {
                let (val_loss, val_accuracy) =
                    self.evaluate_prepared(xv, lv, options.batch_size)?;
                history.val_loss.push(val_loss);
                history.val_accuracy.push(val_accuracy);
                line += &progress::value("val_loss", val_loss);
                line += &progress::value(&format!("val_{}", metric.name()), val_accuracy);
            }
            if options.verbose {
                // Like Keras, the time printed includes validation.
                let seconds = start.elapsed().as_secs_f64();
                println!(
                    "{}{}{line}",
                    progress::bar(steps, steps),
                    progress::elapsed(seconds, steps)
                );
            }
        }
        Ok(history)
    }

    /// Loss and accuracy on `(x, y)`, Keras's `model.evaluate(x, y)`; prints Keras's line.
    pub fn evaluate(&self, x: &Tensor, y: &Tensor) -> Result<(f64, f64)> {
        self.evaluate_with(x, y, Eval::default())
    }

    pub fn evaluate_with(&self, x: &Tensor, y: &Tensor, options: Eval) -> Result<(f64, f64)> {
        let metric = self
            .compiled
            .as_ref()
            .ok_or(Error::NotCompiled("evaluate"))?
            .metric;
        check_batch_size(options.batch_size)?;
        let start = Instant::now();
        let (x, labels) = self.prepare_data(x, y, "evaluate")?;
        let (loss, accuracy) = self.evaluate_prepared(&x, &labels, options.batch_size)?;
        if options.verbose {
            let steps = batches(x.size()[0], options.batch_size).count();
            println!(
                "{}{}{}{}",
                progress::bar(steps, steps),
                progress::elapsed(start.elapsed().as_secs_f64(), steps),
                progress::value("loss", loss),
                progress::value(metric.name(), accuracy)
            );
        }
        Ok((loss, accuracy))
    }

    /// Output-layer values (probabilities) for every sample of `x`, on the CPU,
    /// Keras's `model.predict(x)`; prints Keras's line.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.predict_with(x, Eval::default())
    }

    pub fn predict_with(&self, x: &Tensor, options: Eval) -> Result<Tensor> {
        check_batch_size(options.batch_size)?;
        let start = Instant::now();
        let x = self.prepare_inputs(x, "predict")?;
        let n = x.size()[0];
        if n == 0 {
            return Err(Error::invalid("predict: x holds no samples"));
        }
        let _no_grad = tch::no_grad_guard();
        let mut outputs = Vec::new();
        for (begin, len) in batches(n, options.batch_size) {
            let (z, activation) = self.forward_logits(&x.f_narrow(0, begin, len)?, false)?;
            outputs.push(activation.apply(&z)?);
        }
        // One copy to the host for the whole result.
        let result = Tensor::f_cat(&outputs, 0)?.f_to_device(Device::Cpu)?;
        if options.verbose {
            let steps = outputs.len();
            println!(
                "{}{}",
                progress::bar(steps, steps),
                progress::elapsed(start.elapsed().as_secs_f64(), steps)
            );
        }
        Ok(result)
    }

    /// Inputs and labels checked against the model and each other, on the model's device.
    fn prepare_data(&self, x: &Tensor, y: &Tensor, what: &'static str) -> Result<(Tensor, Labels)> {
        let loss = self.compiled.as_ref().ok_or(Error::NotCompiled(what))?.loss;
        let x = self.prepare_inputs(x, what)?;
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

    /// Mean loss and accuracy over prepared data, without printing.
    fn evaluate_prepared(
        &self,
        x: &Tensor,
        labels: &Labels,
        batch_size: usize,
    ) -> Result<(f64, f64)> {
        let compiled = self
            .compiled
            .as_ref()
            .ok_or(Error::NotCompiled("evaluate"))?;
        let _no_grad = tch::no_grad_guard();
        let n = x.size()[0];
        let mut loss_sum = Tensor::f_zeros([], (Kind::Double, self.device))?;
        let mut correct = Tensor::f_zeros([], (Kind::Int64, self.device))?;
        for (begin, len) in batches(n, batch_size) {
            let lb = labels.narrow(begin, len)?;
            let (z, activation) = self.forward_logits(&x.f_narrow(0, begin, len)?, false)?;
            let loss = compiled.loss.compute(&z, activation, &lb.target)?;
            // Keras weights each batch's mean loss by the batch's size.
            let _ = loss_sum.f_add_(&loss.f_to_kind(Kind::Double)?.f_mul_scalar(len)?)?;
            let _ = correct.f_add_(&compiled.metric.correct(&activation.apply(&z)?, &lb.class)?)?;
        }
        let loss = loss_sum.f_double_value(&[])? / n as f64;
        let accuracy = correct.f_int64_value(&[])? as f64 / n as f64;
        Ok((loss, accuracy))
    }

    /// One step with autograd: forward, backward, optimizer update. Returns the batch's
    /// mean loss and the output layer's values, both detached.
    fn autograd_step(&mut self, x: &Tensor, labels: &Labels) -> Result<(Tensor, Tensor)> {
        let mut params = self.parameters();
        let (z, activation) = self.forward_logits(x, true)?;
        let compiled = self.compiled.as_mut().ok_or(Error::NotCompiled("fit"))?;
        let loss = compiled.loss.compute(&z, activation, &labels.target)?;
        // Gradients returned rather than accumulated into `.grad()`: nothing to zero, and
        // the optimizer may reuse their memory.
        let grads = Tensor::f_run_backward(&[&loss], &params, false, false)?;
        let _no_grad = tch::no_grad_guard();
        compiled.optimizer.apply(&mut params, grads)?;
        Ok((loss.f_detach()?, activation.apply(&z.f_detach()?)?))
    }

    /// One step on the fused path (see `fused.rs`).
    fn fused_step(&mut self, x: &Tensor, labels: &Labels) -> Result<(Tensor, Tensor)> {
        let compiled = self.compiled.as_ref().ok_or(Error::NotCompiled("fit"))?;
        let rate = compiled
            .optimizer
            .config
            .plain_sgd_rate()
            .ok_or_else(|| Error::invalid("internal: fused path needs plain SGD"))?;
        let layers: Vec<_> = self.dense_layers().collect();
        fused::sgd_step(&layers, x, labels, compiled.loss, rate)
    }
}

/// Per-step loss and correct counts of one epoch, kept on the device until read.
///
/// Reading copies only the steps not read before, so an epoch costs a handful of small
/// transfers, and the first step with a NaN or infinite loss can still be named exactly.
struct Tally {
    epoch: usize,
    steps: usize,
    losses: Tensor,
    correct: Tensor,
    batch_sizes: Vec<i64>,
    read_upto: usize,
    loss_sum: f64,
    correct_sum: i64,
    samples: i64,
}

impl Tally {
    fn new(epoch: usize, steps: usize, device: Device) -> Result<Self> {
        Ok(Tally {
            epoch,
            steps,
            losses: Tensor::f_zeros([steps as i64], (Kind::Float, device))?,
            correct: Tensor::f_zeros([steps as i64], (Kind::Int64, device))?,
            batch_sizes: Vec::with_capacity(steps),
            read_upto: 0,
            loss_sum: 0.0,
            correct_sum: 0,
            samples: 0,
        })
    }

    fn record(
        &mut self,
        step: usize,
        batch_size: i64,
        loss: &Tensor,
        correct: &Tensor,
    ) -> Result<()> {
        let step = step as i64;
        self.losses
            .f_narrow(0, step, 1)?
            .f_copy_(&loss.f_reshape([1])?)?;
        self.correct
            .f_narrow(0, step, 1)?
            .f_copy_(&correct.f_reshape([1])?)?;
        self.batch_sizes.push(batch_size);
        Ok(())
    }

    /// Running mean loss and accuracy over steps `0..upto`. Fails on a non-finite loss.
    fn read(&mut self, upto: usize) -> Result<(f64, f64)> {
        if upto > self.read_upto {
            let (from, count) = (self.read_upto as i64, (upto - self.read_upto) as i64);
            let losses = self
                .losses
                .f_narrow(0, from, count)?
                .f_to_device(Device::Cpu)?;
            let correct = self
                .correct
                .f_narrow(0, from, count)?
                .f_to_device(Device::Cpu)?;
            let losses = Vec::<f32>::try_from(&losses)?;
            let correct = Vec::<i64>::try_from(&correct)?;
            for (i, (&loss, &hits)) in losses.iter().zip(&correct).enumerate() {
                let step = self.read_upto + i;
                if !loss.is_finite() {
                    return Err(Error::NonFinite(format!(
                        "training stopped: the loss became {loss} at epoch {}, step {}/{}. \
                         Try a lower learning rate, and check the inputs for NaN or infinity.",
                        self.epoch,
                        step + 1,
                        self.steps
                    )));
                }
                let size = self.batch_sizes[step];
                self.loss_sum += f64::from(loss) * size as f64;
                self.correct_sum += hits;
                self.samples += size;
            }
            self.read_upto = upto;
        }
        let samples = self.samples.max(1) as f64;
        Ok((self.loss_sum / samples, self.correct_sum as f64 / samples))
    }
}
