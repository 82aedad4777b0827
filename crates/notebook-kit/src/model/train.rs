//! `fit`: the loop over epochs and batches, and its per-step bookkeeping.
//!
//! Rules that keep a GPU busy (and cost nothing on the CPU): the data move to the device
//! once per call; shuffled batches are views of groups gathered there (`batches.rs`); each
//! step's loss and output stay on the device and are read back and scored only when the
//! progress bar shows them, at most every few seconds for the NaN check, and at the end of
//! the epoch.

use std::time::{Duration, Instant};

use tch::{Device, Kind, Tensor};

use super::batches::{batches, EpochBatches};
use super::dense::DenseWeights;
use super::loss::{Labels, Metric};
use super::options::{capped_epochs, check_batch_size, Fit};
use super::progbar::{Pace, Progbar, Verbosity};
use super::{fused, History, Sequential, TrainingPath};
use crate::error::{Error, Result};
use crate::interrupt::Watch;

/// How often a quiet epoch still reads its running loss, so that a diverging run stops
/// within seconds (reading makes the host wait for the device).
const NAN_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// What one epoch gave: its mean loss and accuracy, and its training time.
struct EpochResult {
    loss: f64,
    accuracy: f64,
    seconds: f64,
}

impl Sequential {
    /// Trains the model, Keras's `model.fit(x, y, ...)`. Returns the per-epoch history.
    ///
    /// Errors (nothing panics): not compiled; shapes of `x` or `y` that do not fit the
    /// model; `x` and `y` of different lengths; an empty data set; `batch_size` 0 or above
    /// `i64::MAX`; a `verbose` other than 0, 1, 2; a loss that becomes NaN or infinite (the
    /// error names the epoch and step and, as that step's update was already applied, says
    /// whether the weights are still finite).
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, options: Fit<'_>) -> Result<History> {
        let metric = self.compiled("fit")?.metric;
        let verbosity = options.verbose.verbosity()?;
        check_batch_size(options.batch_size)?;
        let (x, labels) = self.prepare_data(x, y, "fit")?;
        let validation = match options.validation {
            Some((xv, yv)) => Some(self.prepare_data(xv, yv, "validation_data")?),
            None => None,
        };
        let epochs = capped_epochs(options.epochs, verbosity != Verbosity::Silent)?;
        let steps = batches(x.size()[0], options.batch_size).count();
        let val_metric = format!("val_{}", metric.name());

        // Kept on the model too, so that an interrupted fit leaves its finished epochs.
        self.history = History::default();
        let watch = Watch::start();
        for epoch in 1..=epochs {
            if verbosity != Verbosity::Silent {
                println!("Epoch {epoch}/{epochs}");
            }
            let pace = if epoch == 1 { Pace::FIRST } else { Pace::LATER };
            let mut bar = Progbar::new(steps, verbosity, pace);
            let at = (epoch, epochs, &watch);
            let result = self
                .train_epoch(at, &x, &labels, &options, &mut bar)
                .map_err(|e| self.with_weight_advice(e))?;
            let history = &mut self.history;
            history.loss.push(result.loss);
            history.accuracy.push(result.accuracy);
            history.epoch_seconds.push(result.seconds);
            let mut values = vec![("loss", result.loss), (metric.name(), result.accuracy)];
            if let Some((xv, lv)) = &validation {
                let (val_loss, val_accuracy) =
                    self.evaluate_prepared(xv, lv, options.batch_size, None)?;
                self.history.val_loss.push(val_loss);
                self.history.val_accuracy.push(val_accuracy);
                values.extend([("val_loss", val_loss), (val_metric.as_str(), val_accuracy)]);
            }
            // Like Keras, the time on the final line includes validation.
            bar.finish(&values);
        }
        Ok(self.history.clone())
    }

    /// One training step on one batch, Keras's `model.train_on_batch(x, y)`: returns the
    /// batch's loss and accuracy before the update, as Keras does. A NaN or infinite loss is
    /// an error and leaves the weights as they were.
    pub fn train_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<(f64, f64)> {
        let metric = self.compiled("train_on_batch")?.metric;
        let (x, labels) = self.prepare_data(x, y, "train_on_batch")?;
        // The loss is read anyway, so checking it before the update costs nothing here
        // (in `fit` it would make every step wait for the device).
        let step = match self.training_path().unwrap_or(TrainingPath::Autograd) {
            TrainingPath::Fused => self.fused_step(&x, &labels, LossCheck::BeforeUpdate),
            TrainingPath::Autograd => self.autograd_step(&x, &labels, LossCheck::BeforeUpdate),
        };
        let (loss, output) = step.map_err(|e| self.with_weight_advice(e))?;
        let loss = loss.f_double_value(&[])?;
        let correct = metric
            .correct(&output, labels.class())?
            .f_int64_value(&[])?;
        Ok((loss, correct as f64 / x.size()[0] as f64))
    }

    /// One pass over the data in (shuffled) batches, showing progress on `bar`.
    fn train_epoch(
        &mut self,
        (epoch, epochs, watch): (usize, usize, &Watch),
        x: &Tensor,
        labels: &Labels,
        options: &Fit<'_>,
        bar: &mut Progbar,
    ) -> Result<EpochResult> {
        let metric = self.compiled("fit")?.metric;
        let path = self.training_path().unwrap_or(TrainingPath::Autograd);
        let n = x.size()[0];
        let steps = batches(n, options.batch_size).count();
        let start = Instant::now();
        let mut epoch_batches =
            EpochBatches::new(x, labels, options.batch_size, options.shuffle, self.device)?;
        let mut tally = Tally::new(epoch, steps, metric);
        let mut last_read = Instant::now();
        for (step, (begin, len)) in batches(n, options.batch_size).enumerate() {
            let (xb, lb) = epoch_batches.get(begin, len)?;
            let (loss, output) = match path {
                TrainingPath::Fused => self.fused_step(&xb, &lb, LossCheck::Later)?,
                TrainingPath::Autograd => self.autograd_step(&xb, &lb, LossCheck::Later)?,
            };
            tally.record(len, loss, output, lb.class());
            if watch.requested() {
                bar.abandon();
                return Err(Error::Interrupted(format!(
                    "interrupted at epoch {epoch}/{epochs}, step {}/{steps}; the model keeps the \
                     weights trained so far, and model.history() the {} finished epoch(s)",
                    step + 1,
                    epoch - 1
                )));
            }

            let show = bar.tick(step + 1);
            if show || last_read.elapsed() >= NAN_CHECK_INTERVAL {
                let (loss, accuracy) = tally.read()?;
                if show {
                    bar.update(step + 1, &[("loss", loss), (metric.name(), accuracy)]);
                }
                last_read = Instant::now();
            }
        }
        let (loss, accuracy) = tally.read()?;
        crate::device::synchronize_device(self.device);
        Ok(EpochResult {
            loss,
            accuracy,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// One step with autograd: forward, backward, optimizer update. Returns the batch's
    /// mean loss and the output layer's values, both detached.
    fn autograd_step(
        &mut self,
        x: &Tensor,
        labels: &Labels,
        check: LossCheck,
    ) -> Result<(Tensor, Tensor)> {
        let mut params = self.parameters();
        let (z, activation) = self.forward_logits(x)?;
        let compiled = self.compiled.as_mut().ok_or(Error::NotCompiled("fit"))?;
        let loss = compiled.loss.compute(&z, activation, &labels.target)?;
        check.before_update(&loss)?;
        // Gradients returned rather than accumulated into `.grad()`: nothing to zero, and
        // the optimizer may reuse their memory.
        let grads = Tensor::f_run_backward(&[&loss], &params, false, false)?;
        let _no_grad = tch::no_grad_guard();
        compiled.optimizer.apply(&mut params, grads)?;
        Ok((loss.f_detach()?, activation.apply(&z.f_detach()?)?))
    }

    /// One step on the fused path (see `fused.rs`).
    fn fused_step(
        &mut self,
        x: &Tensor,
        labels: &Labels,
        check: LossCheck,
    ) -> Result<(Tensor, Tensor)> {
        let layers: Vec<&DenseWeights> = self
            .layers
            .iter()
            .filter_map(super::BuiltLayer::dense)
            .collect();
        let compiled = self.compiled.as_mut().ok_or(Error::NotCompiled("fit"))?;
        fused::step(
            &layers,
            x,
            labels,
            compiled.loss,
            &mut compiled.optimizer,
            check,
        )
    }

    /// Adds to a non-finite-loss error what the weights' state means for the learner: once
    /// they are NaN or infinite, training again fails even on clean data.
    fn with_weight_advice(&self, error: Error) -> Error {
        let Error::NonFinite(message) = error else {
            return error;
        };
        let advice = if self.weights_are_finite() {
            "The weights are still finite: check the inputs for NaN or infinity, or try a \
             lower learning rate."
        } else {
            "The weights are now NaN or infinite, so training again fails even on clean data: \
             build the model again (or restore weights saved with get_weights, through \
             set_weights); then check the inputs for NaN or infinity, or try a lower learning \
             rate."
        };
        Error::NonFinite(format!("{message} {advice}"))
    }

    /// Are all weights finite? Only asked after a non-finite loss, where a read is cheap; a
    /// failed check counts as "no", whose advice (rebuild) is safe either way.
    fn weights_are_finite(&self) -> bool {
        self.parameters().iter().all(|p| {
            p.f_isfinite()
                .and_then(|finite| finite.f_all())
                .and_then(|all| all.f_int64_value(&[]))
                .is_ok_and(|all| all == 1)
        })
    }
}

/// When a step looks at its loss: `fit` leaves it on the device (`Tally` reads it later);
/// `train_on_batch` reads it before the update and refuses a NaN or infinite one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LossCheck {
    Later,
    BeforeUpdate,
}

impl LossCheck {
    pub(crate) fn before_update(self, loss: &Tensor) -> Result<()> {
        if self == LossCheck::Later {
            return Ok(());
        }
        let value = loss.f_double_value(&[])?;
        if value.is_finite() {
            return Ok(());
        }
        Err(Error::NonFinite(format!(
            "train_on_batch: the loss is {value}, so this step's update was not applied."
        )))
    }
}

/// Per-step losses and outputs of one epoch, kept on the device until read.
///
/// A step only hands over its loss, its output layer's values and its labels' classes,
/// with no operation of its own (on a GPU every operation is a launch); reading joins the
/// steps not read before and scores them in a few operations, so an epoch costs a handful
/// of small transfers, and the first step with a NaN or infinite loss can still be named
/// exactly. Outputs are values from before each step's update, as Keras's running metric.
struct Tally {
    epoch: usize,
    steps: usize,
    metric: Metric,
    /// Not read yet: each step's mean loss (a scalar), output (`[batch, units]`) and the
    /// class of each of its samples (`i64 [batch]`).
    losses: Vec<Tensor>,
    outputs: Vec<Tensor>,
    classes: Vec<Tensor>,
    batch_sizes: Vec<i64>,
    read_upto: usize,
    loss_sum: f64,
    correct_sum: i64,
    samples: i64,
}

impl Tally {
    fn new(epoch: usize, steps: usize, metric: Metric) -> Self {
        Tally {
            epoch,
            steps,
            metric,
            losses: Vec::new(),
            outputs: Vec::new(),
            classes: Vec::new(),
            batch_sizes: Vec::with_capacity(steps),
            read_upto: 0,
            loss_sum: 0.0,
            correct_sum: 0,
            samples: 0,
        }
    }

    fn record(&mut self, batch_size: i64, loss: Tensor, output: Tensor, class: &Tensor) {
        self.losses.push(loss);
        self.outputs.push(output);
        self.classes.push(class.shallow_clone());
        self.batch_sizes.push(batch_size);
    }

    /// Running mean loss and accuracy over the steps recorded so far. Fails on a
    /// non-finite loss.
    fn read(&mut self) -> Result<(f64, f64)> {
        if !self.losses.is_empty() {
            let losses = Tensor::f_stack(&self.losses, 0)?.f_to_device(Device::Cpu)?;
            let losses = Vec::<f32>::try_from(&losses.f_to_kind(Kind::Float)?)?;
            let correct = self
                .metric
                .correct(
                    &Tensor::f_cat(&self.outputs, 0)?,
                    &Tensor::f_cat(&self.classes, 0)?,
                )?
                .f_int64_value(&[])?;
            for (i, &loss) in losses.iter().enumerate() {
                let step = self.read_upto + i;
                if !loss.is_finite() {
                    return Err(Error::NonFinite(format!(
                        "training stopped: the loss became {loss} at epoch {}, step {}/{}, \
                         after that step's update (and perhaps a few more) had been applied.",
                        self.epoch,
                        step + 1,
                        self.steps
                    )));
                }
                let size = self.batch_sizes[step];
                self.loss_sum += f64::from(loss) * size as f64;
                self.samples += size;
            }
            self.correct_sum += correct;
            self.read_upto += losses.len();
            self.losses.clear();
            self.outputs.clear();
            self.classes.clear();
        }
        let samples = self.samples.max(1) as f64;
        Ok((self.loss_sum / samples, self.correct_sum as f64 / samples))
    }
}
