//! A Keras-style `Sequential` model on `tch`.
//!
//! ```no_run
//! use notebook_kit::prelude::*;
//!
//! fn get_model(device: Device) -> Result<Sequential> {
//!     let mut model = Sequential::new()
//!         .add(Flatten::new([32, 32, 3]))
//!         .add(Dense::new(3000, Relu))
//!         .add(Dense::new(1000, Relu))
//!         .add(Dense::new(10, Sigmoid))
//!         .build(device)?;
//!     model.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
//!     Ok(model)
//! }
//! # fn main() -> Result<()> {
//! # let (x_train, y_train) = (Tensor::zeros([64, 32, 32, 3], (Kind::Float, Device::Cpu)), Tensor::zeros([64, 10], (Kind::Float, Device::Cpu)));
//! let mut model = get_model(Device::Cpu)?;
//! println!("{}", model.summary());
//! let history = model.fit(&x_train, &y_train, Fit::epochs(1))?;
//! let (loss, accuracy) = model.evaluate(&x_train, &y_train)?;
//! let probabilities = model.predict(&x_train)?;
//! let first_class = argmax(&probabilities.get(0))?;
//! # let _ = (history, loss, accuracy, first_class);
//! # Ok(())
//! # }
//! ```
//!
//! How training runs (see `train.rs`; progress lines: `progbar.rs`): the whole data set
//! moves to the model's device once per `fit`, each epoch shuffles a permutation with tch's
//! generator (so `tch::manual_seed` reproduces a run), and batches are gathered on the
//! device, ~1,024 rows at a time (`batches.rs`). Two interchangeable step implementations
//! exist:
//! - the *autograd* path: forward, gradients from libtorch's autograd, optimizer update;
//!   works for every model and optimizer;
//! - the *fused* path (`fused.rs`), chosen automatically for Dense stacks whose hidden
//!   activations are elementwise: it computes each Dense layer's gradient explicitly and
//!   updates in place without per-step gradient buffers (on the lesson's model, autograd
//!   allocates and page-faults a fresh 37 MB buffer every step). Plain SGD folds
//!   `W -= lr * x^T dZ` into one `addmm_`; Adam and momentum reuse one buffer per weight,
//!   and Adam on the CPU updates each weight in one loop (`adam_cpu.rs`). The loss head's
//!   gradient is written out for sigmoid and softmax outputs (`loss_head.rs`), which cuts
//!   a step's fixed cost by about 40 %: what a small-batch GPU step mostly consists of.
//!   Results agree with the autograd path to rounding (tested). Force the autograd path
//!   with `model.set_fused(false)` or the environment variable `NOTEBOOK_KIT_FUSED=0`.
//!
//! Kernels are stored `[inputs, units]`, Keras's layout (MKL's fastest for every product of
//! a step, see `dense.rs`), and `get_weights()` returns copies of them as they are.

mod activation;
mod adam_cpu;
mod batches;
mod dense;
mod flatten;
mod fused;
mod history;
mod infer;
mod inner_split;
mod loss;
mod loss_head;
mod optimizer;
mod options;
mod progbar;
mod summary;
mod train;

use tch::{Device, Kind, Tensor};

pub use activation::Activation;
pub use dense::Dense;
pub use flatten::Flatten;
pub use history::History;
pub use loss::{Loss, LossSpec, Metric, ProbabilityRule};
pub use optimizer::{Adam, Optimizer, Sgd};
pub use options::{max_epochs, set_max_epochs, Eval, Fit, Inference, Predict, Verbose};
pub use summary::{Summary, SummaryRow};

use dense::DenseWeights;
use optimizer::OptimizerState;

use crate::error::{Error, Result};
use crate::shape::{is_integer, Shape, TensorShape};

/// A layer to `add` to a [`Sequential`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    Flatten(Flatten),
    Dense(Dense),
}

impl From<Flatten> for Layer {
    fn from(l: Flatten) -> Self {
        Layer::Flatten(l)
    }
}

impl From<Dense> for Layer {
    fn from(l: Dense) -> Self {
        Layer::Dense(l)
    }
}

/// Layers being stacked; `build(device)` turns them into a [`Sequential`].
#[derive(Debug, Clone, Default)]
pub struct SequentialBuilder {
    layers: Vec<Layer>,
}

impl SequentialBuilder {
    #[allow(clippy::should_implement_trait)] // Keras's name: `model.add(layer)`.
    pub fn add(mut self, layer: impl Into<Layer>) -> Self {
        self.layers.push(layer.into());
        self
    }

    /// Creates the weights on `device` (`Device::Cpu` or `Device::Cuda(0)`). Asking for a
    /// GPU that this machine lacks is an error that says why.
    pub fn build(self, device: Device) -> Result<Sequential> {
        let device = crate::device::require(device)?;
        let input_shape = match self.layers.first() {
            None => {
                return Err(Error::invalid(
                    "a Sequential model needs at least one layer",
                ))
            }
            Some(Layer::Flatten(l)) => l.input_shape.clone(),
            Some(Layer::Dense(l)) => l.input_shape.clone(),
        }
        .ok_or_else(|| {
            Error::invalid(
                "the first layer needs an input shape, e.g. Flatten::new([32, 32, 3]) or \
                 Dense::new(500, Relu).input_shape([784])",
            )
        })?;
        if input_shape.is_empty() || input_shape.iter().any(|&d| d <= 0) {
            return Err(Error::invalid(format!(
                "input shape {} must have at least one dimension, all positive",
                Shape(input_shape)
            )));
        }

        let mut layers = Vec::with_capacity(self.layers.len());
        let mut shape = input_shape.clone(); // of one sample
        let (mut flattens, mut denses) = (0, 0);
        for (i, layer) in self.layers.into_iter().enumerate() {
            let has_input_shape = match &layer {
                Layer::Flatten(l) => l.input_shape.is_some(),
                Layer::Dense(l) => l.input_shape.is_some(),
            };
            if i > 0 && has_input_shape {
                return Err(Error::invalid(format!(
                    "layer {} has an input shape, but only the first layer takes one",
                    i + 1
                )));
            }
            let built = match layer {
                Layer::Flatten(_) => {
                    let values = shape.iter().try_fold(1i64, |n, &d| n.checked_mul(d));
                    let Some(values) = values else {
                        return Err(Error::shape(format!(
                            "Flatten layer {} gets samples of shape {}, more values than a \
                             64-bit count holds; check the input shape",
                            i + 1,
                            Shape(shape)
                        )));
                    };
                    shape = vec![values];
                    BuiltLayer::Flatten {
                        name: keras_name("flatten", &mut flattens),
                        output: shape.clone(),
                    }
                }
                Layer::Dense(d) => {
                    if d.units <= 0 {
                        return Err(Error::invalid(format!(
                            "Dense units must be positive, got {}",
                            d.units
                        )));
                    }
                    if shape.len() != 1 {
                        return Err(Error::shape(format!(
                            "Dense layer {} gets samples of shape {}; add Flatten before it",
                            i + 1,
                            Shape(shape)
                        )));
                    }
                    // Kernel and bias: inputs * units + units weights.
                    let count = shape[0]
                        .checked_mul(d.units)
                        .and_then(|n| n.checked_add(d.units));
                    if count.is_none() {
                        return Err(Error::invalid(format!(
                            "Dense layer {} of {} units on samples of shape {} would have more \
                             weights than a 64-bit count holds; use fewer units or smaller inputs",
                            i + 1,
                            d.units,
                            Shape(shape)
                        )));
                    }
                    let weights = DenseWeights::init(shape[0], d.units, d.activation, device)?;
                    shape = vec![d.units];
                    BuiltLayer::Dense {
                        name: keras_name("dense", &mut denses),
                        output: shape.clone(),
                        weights,
                    }
                }
            };
            layers.push(built);
        }
        if layers.last().is_some_and(|l| l.dense().is_none()) {
            return Err(Error::invalid(
                "the last layer must be a Dense layer (the model's outputs)",
            ));
        }
        Ok(Sequential {
            layers,
            input_shape,
            units: shape[0],
            device,
            compiled: None,
            fused: true,
            history: History::default(),
        })
    }
}

/// Keras names layers `dense`, `dense_1`, `dense_2`, ... (here counted per model).
fn keras_name(base: &str, count: &mut usize) -> String {
    let name = if *count == 0 {
        base.to_string()
    } else {
        format!("{base}_{count}")
    };
    *count += 1;
    name
}

/// One built layer: its Keras name, its output shape (of one sample), and its weights.
#[derive(Debug)]
enum BuiltLayer {
    Flatten {
        name: String,
        output: Vec<i64>,
    },
    Dense {
        name: String,
        output: Vec<i64>,
        weights: DenseWeights,
    },
}

impl BuiltLayer {
    fn name(&self) -> &str {
        match self {
            BuiltLayer::Flatten { name, .. } | BuiltLayer::Dense { name, .. } => name,
        }
    }

    /// Keras's class name, as the summary shows it.
    fn kind(&self) -> &'static str {
        match self {
            BuiltLayer::Flatten { .. } => "Flatten",
            BuiltLayer::Dense { .. } => "Dense",
        }
    }

    fn output(&self) -> &[i64] {
        match self {
            BuiltLayer::Flatten { output, .. } | BuiltLayer::Dense { output, .. } => output,
        }
    }

    fn dense(&self) -> Option<&DenseWeights> {
        match self {
            BuiltLayer::Dense { weights, .. } => Some(weights),
            BuiltLayer::Flatten { .. } => None,
        }
    }
}

#[derive(Debug)]
struct Compiled {
    optimizer: OptimizerState,
    loss: LossSpec,
    metric: Metric,
}

/// A stack of layers with its weights on one device, Keras's `Sequential`.
#[derive(Debug)]
pub struct Sequential {
    layers: Vec<BuiltLayer>,
    input_shape: Vec<i64>,
    units: i64,
    device: Device,
    compiled: Option<Compiled>,
    fused: bool,
    /// The epochs of the last `fit`, also when it was interrupted.
    history: History,
}

/// Which step implementation `fit` uses; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingPath {
    /// Explicit Dense gradients applied in place, without per-step gradient buffers.
    Fused,
    /// libtorch autograd and a separate optimizer update.
    Autograd,
}

impl TrainingPath {
    /// `fused` or `autograd`, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            TrainingPath::Fused => "fused",
            TrainingPath::Autograd => "autograd",
        }
    }
}

impl std::fmt::Display for TrainingPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Sequential {
    /// Starts a model: `Sequential::new().add(...).add(...).build(device)?`.
    #[allow(clippy::new_ret_no_self)] // Keras's spelling; building needs the device first.
    pub fn new() -> SequentialBuilder {
        crate::error::install_panic_hook();
        SequentialBuilder::default()
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Shape of one input sample, e.g. `(32, 32, 3)`.
    pub fn input_shape(&self) -> Shape {
        Shape(self.input_shape.clone())
    }

    /// Width of the output layer.
    pub fn output_units(&self) -> i64 {
        self.units
    }

    /// Chooses the optimizer, loss and metric, and resets the optimizer's state.
    /// `loss` is a [`Loss`] (computed as in the lesson) or, e.g.,
    /// `CategoricalCrossentropy.as_in_todays_keras()` (see [`ProbabilityRule`]).
    pub fn compile(
        &mut self,
        optimizer: impl Into<Optimizer>,
        loss: impl Into<LossSpec>,
        metric: Metric,
    ) -> Result<()> {
        let loss = loss.into();
        // Every loss offered is a cross-entropy over the output units: over one unit the
        // probability is always 1, so the loss is constant and accuracy always 1.
        if self.units == 1 {
            return Err(Error::invalid(format!(
                "{}: cross-entropy over a 1-unit output layer is constant (one unit always gets \
                 probability 1), so the model would not learn; for two classes use \
                 Dense::new(2, Softmax) or Dense::new(2, Sigmoid) (binary cross-entropy is \
                 not offered)",
                loss.loss
            )));
        }
        let optimizer = OptimizerState::new(optimizer.into(), &self.parameters())?;
        self.compiled = Some(Compiled {
            optimizer,
            loss,
            metric,
        });
        Ok(())
    }

    /// Total number of weights.
    pub fn count_params(&self) -> i64 {
        self.dense_layers().map(DenseWeights::count_params).sum()
    }

    /// Keras's summary table; a cell ending in `model.summary()` shows it.
    pub fn summary(&self) -> Summary {
        let rows = self
            .layers
            .iter()
            .map(|l| SummaryRow {
                layer: format!("{} ({})", l.name(), l.kind()),
                output_shape: batch_shape(l.output()),
                params: l.dense().map_or(0, DenseWeights::count_params),
            })
            .collect();
        Summary {
            model_name: "sequential".into(),
            rows,
            trainable_params: self.count_params(),
            non_trainable_params: 0,
        }
    }

    /// Copies of the weights on the CPU, in Keras's order and layout: each Dense layer's
    /// kernel (`[inputs, units]`), then its bias.
    pub fn get_weights(&self) -> Result<Vec<Tensor>> {
        let mut out = Vec::new();
        for d in self.dense_layers() {
            for weight in [&d.kernel, &d.bias] {
                out.push(
                    weight
                        .f_detach()?
                        .f_to_device_(Device::Cpu, Kind::Float, false, true)?,
                );
            }
        }
        Ok(out)
    }

    /// Replaces the weights with `weights`, given as [`Sequential::get_weights`] returns
    /// them (Keras's `set_weights`): each Dense layer's kernel `[inputs, units]`, then its
    /// bias `[units]`. Checks every shape first, so a mistake changes nothing.
    pub fn set_weights(&mut self, weights: &[Tensor]) -> Result<()> {
        let expected: Vec<Vec<i64>> = self
            .dense_shapes()
            .into_iter()
            .flat_map(|(inputs, units)| [vec![inputs, units], vec![units]])
            .collect();
        if weights.len() != expected.len() {
            return Err(Error::invalid(format!(
                "set_weights: the model has {} weight arrays (a kernel and a bias per Dense \
                 layer), got {}",
                expected.len(),
                weights.len()
            )));
        }
        for (i, (w, shape)) in weights.iter().zip(&expected).enumerate() {
            if w.size() != *shape {
                return Err(Error::shape(format!(
                    "set_weights: array {i} should have shape {}, got {}",
                    Shape(shape.clone()),
                    w.shape()
                )));
            }
        }
        let _no_grad = tch::no_grad_guard();
        for (params, new) in self.parameters().chunks(2).zip(weights.chunks(2)) {
            let kernel = new[0].f_to_device_(self.device, Kind::Float, false, false)?;
            let bias = new[1].f_to_device_(self.device, Kind::Float, false, false)?;
            params[0].shallow_clone().f_copy_(&kernel)?;
            params[1].shallow_clone().f_copy_(&bias)?;
        }
        Ok(())
    }

    /// Turns the fused training path off (`false`) or back on (`true`, the default, which
    /// still applies only where it fits). The environment variable `NOTEBOOK_KIT_FUSED=0`
    /// turns it off for every model.
    pub fn set_fused(&mut self, enabled: bool) {
        self.fused = enabled;
    }

    /// The step implementation the next `fit` will use, or `None` before `compile`.
    pub fn training_path(&self) -> Option<TrainingPath> {
        self.compiled.as_ref()?;
        let env_off = std::env::var("NOTEBOOK_KIT_FUSED").is_ok_and(|v| v.trim() == "0");
        let fits = fused::supports(self.dense_layers());
        Some(if self.fused && !env_off && fits {
            TrainingPath::Fused
        } else {
            TrainingPath::Autograd
        })
    }

    /// Each Dense layer's `(inputs, units)`, first layer first: the sizes that decide how
    /// much arithmetic a step is.
    pub fn dense_shapes(&self) -> Vec<(i64, i64)> {
        self.dense_layers().map(DenseWeights::shape).collect()
    }

    /// Each Dense layer's activation, first layer first.
    pub fn dense_activations(&self) -> Vec<Activation> {
        self.dense_layers().map(|d| d.activation).collect()
    }

    /// The per-epoch history of the last `fit` (Keras's `model.history`), including the
    /// epochs that finished before an interrupted `fit` stopped.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The optimizer given to `compile`, or `None` before it.
    pub fn optimizer(&self) -> Option<Optimizer> {
        self.compiled.as_ref().map(|c| c.optimizer.config)
    }

    /// The loss given to `compile`, or `None` before it.
    pub fn loss(&self) -> Option<Loss> {
        self.compiled.as_ref().map(|c| c.loss.loss)
    }

    /// How the loss reads a sigmoid output, or `None` before `compile`.
    pub fn probability_rule(&self) -> Option<ProbabilityRule> {
        self.compiled.as_ref().map(|c| c.loss.rule)
    }

    /// The `compile` settings, or an error telling the learner to call `compile` before
    /// `what`.
    fn compiled(&self, what: &'static str) -> Result<&Compiled> {
        self.compiled.as_ref().ok_or(Error::NotCompiled(what))
    }

    fn dense_layers(&self) -> impl Iterator<Item = &DenseWeights> {
        self.layers.iter().filter_map(BuiltLayer::dense)
    }

    /// Shallow handles to every weight (kernel, bias, kernel, bias, ...).
    fn parameters(&self) -> Vec<Tensor> {
        self.dense_layers()
            .flat_map(|d| [d.kernel.shallow_clone(), d.bias.shallow_clone()])
            .collect()
    }

    /// Checks `x` against the input shape and returns it on the model's device as `f32`
    /// (no copy when it already is).
    fn prepare_inputs(&self, x: &Tensor, what: &str) -> Result<Tensor> {
        require_defined(x, what, "x")?;
        let dims = x.size();
        if dims.len() != self.input_shape.len() + 1 || dims[1..] != self.input_shape[..] {
            let hint = if dims[..] == self.input_shape[..] {
                " (one sample: add the batch dimension with x.unsqueeze(0))"
            } else {
                ""
            };
            return Err(Error::shape(format!(
                "{what}: the model expects input of shape {}, got {}{hint}",
                batch_shape(&self.input_shape),
                x.shape()
            )));
        }
        if !x.is_floating_point() && !is_integer(x.kind()) {
            return Err(Error::invalid(format!(
                "{what}: inputs must be numbers, got {:?}",
                x.kind()
            )));
        }
        Ok(x.f_to_device_(self.device, Kind::Float, false, false)?)
    }

    /// Forward pass up to the last layer's pre-activation. Returns `(z, output
    /// activation)`; the loss takes `z` so that softmax can use the fused log-softmax.
    fn forward_logits(&self, x: &Tensor) -> Result<(Tensor, Activation)> {
        self.forward_with(x, |d, a| d.pre_activation(a))
    }

    fn forward_with(
        &self,
        x: &Tensor,
        mut pre_activation: impl FnMut(&DenseWeights, &Tensor) -> Result<Tensor>,
    ) -> Result<(Tensor, Activation)> {
        let batch = x.size()[0];
        let (last, hidden) = self
            .layers
            .split_last()
            .ok_or_else(|| Error::invalid("the model has no layers"))?;
        let mut a = x.shallow_clone();
        for layer in hidden {
            a = match layer {
                BuiltLayer::Flatten { output, .. } => a.f_reshape([batch, output[0]])?,
                BuiltLayer::Dense { weights: d, .. } => {
                    d.activation.apply(&pre_activation(d, &a)?)?
                }
            };
        }
        let d = last
            .dense()
            .ok_or_else(|| Error::invalid("the last layer must be a Dense layer"))?;
        Ok((pre_activation(d, &a)?, d.activation))
    }
}

/// `(None, 32, 32, 3)`: a batch of samples of shape `sample`, as Keras prints it.
fn batch_shape(sample: &[i64]) -> String {
    let dims: Vec<String> = sample.iter().map(i64::to_string).collect();
    format!("(None, {})", dims.join(", "))
}

/// An error for a tensor that holds nothing at all (`Tensor::new()`), which tch would
/// otherwise report as shape `(0,)` or panic on.
pub(crate) fn require_defined(t: &Tensor, what: &str, name: &str) -> Result<()> {
    if t.defined() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "{what}: {name} is an undefined (empty) tensor, as Tensor::new() makes; pass a tensor \
         with data"
    )))
}

/// The class the model gives sample `index` of `predictions` (the output of `predict`):
/// the lesson's `np.argmax(y_pred[0])`, as a number that indexes the class names:
/// `classes[predicted_class(&predictions, 0)?]`.
pub fn predicted_class(predictions: &Tensor, index: i64) -> Result<usize> {
    require_defined(predictions, "predicted_class", "predictions")?;
    let dims = predictions.size();
    let [n, classes] = dims[..] else {
        return Err(Error::shape(format!(
            "predicted_class expects predictions of shape (n, classes), as predict returns; got {}",
            predictions.shape()
        )));
    };
    if classes == 0 {
        return Err(Error::shape(
            "predicted_class: the predictions have no classes (shape (n, 0))",
        ));
    }
    if !(0..n).contains(&index) {
        return Err(Error::invalid(format!(
            "predicted_class: sample {index} is out of range; the predictions hold {n} samples (0..{n})"
        )));
    }
    let class = predictions
        .f_get(index)?
        .f_argmax(-1, false)?
        .f_int64_value(&[])?;
    Ok(class as usize)
}

/// Row-wise class numbers: for `[n, classes]` an `i64` tensor `[n]`, for one row
/// `[classes]` a scalar (`np.argmax(y_pred[0])` in the lesson). A scalar gives 0 and no
/// rows give no classes, as in NumPy; a tensor that is not numbers, or has no classes to
/// choose from, is an error.
pub fn argmax(t: &Tensor) -> Result<Tensor> {
    require_defined(t, "argmax", "the tensor")?;
    if !t.is_floating_point() && !is_integer(t.kind()) {
        return Err(Error::invalid(format!(
            "argmax: expects numbers (such as predict's output), got {:?}",
            t.kind()
        )));
    }
    if t.dim() == 0 {
        return Ok(Tensor::f_zeros([], (Kind::Int64, t.device()))?);
    }
    if t.size().last() == Some(&0) {
        return Err(Error::shape(format!(
            "argmax: a tensor of shape {} has no classes to choose from",
            t.shape()
        )));
    }
    Ok(t.f_argmax(-1, false)?)
}
