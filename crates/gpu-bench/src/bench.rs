//! The measurements: the lesson's models, timed training runs, the warm-up step and the
//! matmul rate that the achieved GFLOP/s are compared with.

use std::time::Instant;

use notebook_kit::device::synchronize_device;
use notebook_kit::model::TrainingPath;
use notebook_kit::models;
use notebook_kit::prelude::*;

use crate::cli::{Dataset, ModelKind};
use crate::flops::{Architecture, ADAM_UPDATE, SGD_UPDATE};
use crate::report::InferenceRuns;

/// Every timed model starts from the same weights and shuffles the same way.
const SEED: i64 = 42;

const CLASSES: i64 = 10;

/// A model of notebook-kit's `models` on one data set's samples, with what the report
/// says about it (read off one model built on the CPU).
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub kind: ModelKind,
    /// One sample's shape, e.g. `[32, 32, 3]`.
    pub input_shape: Vec<i64>,
    /// E.g. `lesson (3072-3000-1000-10), SGD lr 0.01, categorical_crossentropy`.
    pub description: String,
    pub architecture: Architecture,
    loss: Loss,
}

impl ModelSpec {
    pub fn new(kind: ModelKind, dataset: Dataset) -> Result<ModelSpec> {
        let input_shape = dataset.input_shape().to_vec();
        let model = build(kind, &input_shape, Device::Cpu)?;
        let shapes = model.dense_shapes();
        let mut sizes: Vec<String> = shapes
            .iter()
            .take(1)
            .map(|&(inputs, _)| inputs.to_string())
            .collect();
        sizes.extend(shapes.iter().map(|&(_, units)| units.to_string()));
        let (optimizer, update_flops_per_param) = match model.optimizer() {
            Some(Optimizer::Adam(a)) => (format!("Adam lr {}", a.learning_rate), ADAM_UPDATE),
            Some(Optimizer::Sgd(s)) => (format!("SGD lr {}", s.learning_rate), SGD_UPDATE),
            None => {
                return Err(Error::InvalidArgument(
                    "internal: the benchmark model is not compiled".into(),
                ))
            }
        };
        let loss = model.loss().ok_or_else(|| {
            Error::InvalidArgument("internal: the benchmark model has no loss".into())
        })?;
        Ok(ModelSpec {
            kind,
            description: format!("{} ({}), {optimizer}, {loss}", kind.name(), sizes.join("-")),
            architecture: Architecture {
                dense: shapes,
                update_flops_per_param,
            },
            input_shape,
            loss,
        })
    }

    /// A fresh, compiled model on `device`, always with the same starting weights.
    pub fn build(&self, device: Device) -> Result<Sequential> {
        build(self.kind, &self.input_shape, device)
    }

    /// Class numbers (`i64`, on the labels' device) from labels in the loss's form.
    pub fn class_numbers(&self, y: &Tensor) -> Result<Tensor> {
        Ok(match self.loss {
            CategoricalCrossentropy => y.f_argmax(-1, false)?,
            SparseCategoricalCrossentropy => y.f_reshape([-1])?.f_to_kind(Kind::Int64)?,
        })
    }

    /// Inputs scaled to [0, 1] as `f32`, and the labels in the form the loss expects.
    pub fn prepare(&self, x: &Tensor, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = scale(x)?;
        let y = match self.loss {
            CategoricalCrossentropy => to_categorical(y, CLASSES)?,
            SparseCategoricalCrossentropy => y.shallow_clone(),
        };
        Ok((x, y))
    }
}

fn build(kind: ModelKind, input_shape: &[i64], device: Device) -> Result<Sequential> {
    tch::manual_seed(SEED);
    match kind {
        ModelKind::Lesson => models::lesson_network(input_shape, device),
        ModelKind::Exercise1 => models::exercise_network(input_shape, 1, device),
        ModelKind::Exercise5 => models::exercise_network(input_shape, 5, device),
    }
}

/// Training data already on one device, so that no timed run pays for a copy.
pub struct DeviceData {
    pub device: Device,
    pub x: Tensor,
    pub y: Tensor,
    /// Seconds the copy took (0 for the CPU, where nothing moves).
    pub transfer_seconds: f64,
}

impl DeviceData {
    pub fn to_device(x: &Tensor, y: &Tensor, device: Device) -> Result<DeviceData> {
        synchronize_device(device);
        let start = Instant::now();
        let (x, y) = (x.f_to_device(device)?, y.f_to_device(device)?);
        synchronize_device(device);
        Ok(DeviceData {
            device,
            x,
            y,
            transfer_seconds: start.elapsed().as_secs_f64(),
        })
    }

    pub fn samples(&self) -> usize {
        self.x.size()[0] as usize
    }
}

/// One timed `fit`.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub seconds: f64,
    /// The last epoch's mean training loss and accuracy, as Keras prints them.
    pub loss: f64,
    pub accuracy: f64,
}

/// Trains a fresh model for `epochs` and times it; building the model is not timed.
pub fn timed_fit(
    spec: &ModelSpec,
    data: &DeviceData,
    epochs: usize,
    batch_size: usize,
) -> Result<Run> {
    let mut model = spec.build(data.device)?;
    // CUDA work is queued asynchronously: wait for it before each clock reading, so the
    // clock measures finished training rather than kernel launches.
    synchronize_device(data.device);
    let start = Instant::now();
    let history = model.fit(
        &data.x,
        &data.y,
        Fit::epochs(epochs).batch_size(batch_size).verbose(false),
    )?;
    synchronize_device(data.device);
    let seconds = start.elapsed().as_secs_f64();
    let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
    Ok(Run {
        seconds,
        loss: last(&history.loss),
        accuracy: last(&history.accuracy),
    })
}

/// What the warm-up found.
#[derive(Debug, Clone, Copy)]
pub struct WarmUp {
    pub seconds: f64,
    /// How notebook-kit trains this model (see its `model` module).
    pub training_path: TrainingPath,
}

/// One training step on a throwaway model, so that one-time costs (loading CUDA kernels,
/// creating the cuBLAS handle, the allocator's first blocks, OpenMP's thread pool) do not
/// land in the first timed run.
pub fn warm_up(spec: &ModelSpec, data: &DeviceData, batch_size: usize) -> Result<WarmUp> {
    let mut model = spec.build(data.device)?;
    let training_path = model.training_path().unwrap_or(TrainingPath::Autograd);
    let n = (batch_size as i64).min(data.x.size()[0]);
    let (x, y) = (data.x.f_narrow(0, 0, n)?, data.y.f_narrow(0, 0, n)?);
    synchronize_device(data.device);
    let start = Instant::now();
    model.fit(&x, &y, Fit::epochs(1).batch_size(batch_size).verbose(false))?;
    synchronize_device(data.device);
    Ok(WarmUp {
        seconds: start.elapsed().as_secs_f64(),
        training_path,
    })
}

/// Tries of the matmul-rate measurement; the best counts.
pub const GEMM_TRIES: usize = 3;

/// The device's fp32 matrix-multiply rate: the best of a few `size³` products.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct GemmRate {
    pub size: i64,
    pub gflops: f64,
    /// Seconds spent measuring, warm-up included.
    pub seconds: f64,
}

/// The rate of a `size x size` by `size x size` fp32 product (`c = a @ b`) on `device`,
/// best of [`GEMM_TRIES`] after one untimed product. The output buffer is reused, so no
/// run pays for allocating and first-touching it.
pub fn measure_gemm(device: Device, size: i64) -> Result<GemmRate> {
    let began = Instant::now();
    let options = (Kind::Float, device);
    let a = Tensor::f_randn([size, size], options)?;
    let b = Tensor::f_randn([size, size], options)?;
    let c = Tensor::f_empty([size, size], options)?;
    let _ = a.f_mm_out(&c, &b)?;
    let mut best = f64::INFINITY;
    for _ in 0..GEMM_TRIES {
        synchronize_device(device);
        let start = Instant::now();
        let _ = a.f_mm_out(&c, &b)?;
        synchronize_device(device);
        best = best.min(start.elapsed().as_secs_f64());
    }
    let flops = 2.0 * (size as f64).powi(3);
    Ok(GemmRate {
        size,
        gflops: flops / best / 1e9,
        seconds: began.elapsed().as_secs_f64(),
    })
}

/// `predict` then `evaluate` of a fresh model on `(x, y)` (already on the device): one
/// untimed call each (libraries, oneDNN primitives, CUDA kernels), then `repeat` timed ones.
pub fn time_inference(
    spec: &ModelSpec,
    data: &DeviceData,
    repeat: usize,
    batch_size: usize,
) -> Result<Vec<InferenceRuns>> {
    let model = spec.build(data.device)?;
    let timed =
        |f: &dyn Fn() -> Result<(Option<f64>, f64)>| -> Result<(f64, Vec<f64>, Option<f64>, f64)> {
            let clock = || -> Result<(f64, Option<f64>, f64)> {
                synchronize_device(data.device);
                let start = Instant::now();
                let (loss, accuracy) = f()?;
                synchronize_device(data.device);
                Ok((start.elapsed().as_secs_f64(), loss, accuracy))
            };
            let (warmup, _, _) = clock()?;
            let mut seconds = Vec::with_capacity(repeat);
            let mut last = (None, f64::NAN);
            for _ in 0..repeat {
                let (s, loss, accuracy) = clock()?;
                seconds.push(s);
                last = (loss, accuracy);
            }
            Ok((warmup, seconds, last.0, last.1))
        };
    let options = Eval::default().batch_size(batch_size).verbose(0);
    let labels = spec.class_numbers(&data.y)?;
    let predict = timed(&|| {
        let p = model.predict_with(&data.x, options)?;
        let hits = argmax(&p)?
            .f_eq_tensor(&labels)?
            .f_sum(Kind::Int64)?
            .f_int64_value(&[])?;
        Ok((None, hits as f64 / data.samples() as f64))
    })?;
    let evaluate = timed(&|| {
        let (loss, accuracy) = model.evaluate_with(&data.x, &data.y, options)?;
        Ok((Some(loss), accuracy))
    })?;
    Ok([("predict", predict), ("evaluate", evaluate)]
        .into_iter()
        .map(
            |(task, (warmup_seconds, seconds, loss, accuracy))| InferenceRuns {
                task,
                samples: data.samples(),
                warmup_seconds,
                seconds,
                loss,
                accuracy,
            },
        )
        .collect())
}
