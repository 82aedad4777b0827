//! The measurements: the lesson's models, timed training runs, the warm-up step and the
//! matmul rate that the achieved GFLOP/s are compared with.

use std::time::Instant;

use notebook_kit::device::synchronize_device;
use notebook_kit::model::TrainingPath;
use notebook_kit::prelude::*;

use crate::cli::{Dataset, ModelKind};
use crate::flops::{Architecture, ADAM_UPDATE, SGD_UPDATE};

/// Every timed model starts from the same weights and shuffles the same way.
const SEED: i64 = 42;

/// A model as the lesson defines it, for one data set's input shape.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub kind: ModelKind,
    /// One sample's shape, e.g. `[32, 32, 3]`.
    pub input_shape: Vec<i64>,
}

const CLASSES: i64 = 10;

impl ModelSpec {
    pub fn new(kind: ModelKind, dataset: Dataset) -> ModelSpec {
        let input_shape = match dataset {
            Dataset::Cifar10 => vec![32, 32, 3],
            Dataset::FashionMnist => vec![28, 28],
        };
        ModelSpec { kind, input_shape }
    }

    fn hidden_units(&self) -> Vec<i64> {
        match self.kind {
            ModelKind::Lesson => vec![3000, 1000],
            ModelKind::Exercise1 => vec![500],
            ModelKind::Exercise5 => vec![500; 5],
        }
    }

    /// The lesson trains with one-hot labels; the exercise with class numbers.
    pub fn loss(&self) -> Loss {
        match self.kind {
            ModelKind::Lesson => CategoricalCrossentropy,
            ModelKind::Exercise1 | ModelKind::Exercise5 => SparseCategoricalCrossentropy,
        }
    }

    /// The layers as Keras would summarise them, e.g. `3072-3000-1000-10, SGD(0.01)`.
    pub fn describe(&self) -> String {
        let inputs: i64 = self.input_shape.iter().product();
        let mut sizes = vec![inputs];
        sizes.extend(self.hidden_units());
        sizes.push(CLASSES);
        let sizes: Vec<String> = sizes.iter().map(i64::to_string).collect();
        let training = match self.kind {
            ModelKind::Lesson => "relu/sigmoid, SGD lr 0.01, categorical cross-entropy",
            _ => "relu/sigmoid, Adam lr 0.001, sparse categorical cross-entropy",
        };
        format!("{} ({}), {training}", self.kind.name(), sizes.join("-"))
    }

    pub fn architecture(&self) -> Architecture {
        let mut dense = Vec::new();
        let mut inputs: i64 = self.input_shape.iter().product();
        for units in self.hidden_units().into_iter().chain([CLASSES]) {
            dense.push((inputs, units));
            inputs = units;
        }
        let update = match self.kind {
            ModelKind::Lesson => SGD_UPDATE,
            _ => ADAM_UPDATE,
        };
        Architecture {
            dense,
            update_flops_per_param: update,
        }
    }

    /// A fresh, compiled model on `device`, always with the same starting weights.
    pub fn build(&self, device: Device) -> Result<Sequential> {
        tch::manual_seed(SEED);
        let mut builder = Sequential::new().add(Flatten::new(&self.input_shape));
        for units in self.hidden_units() {
            builder = builder.add(Dense::new(units, Relu));
        }
        let mut model = builder.add(Dense::new(CLASSES, Sigmoid)).build(device)?;
        match self.kind {
            ModelKind::Lesson => model.compile(Sgd::new(0.01), self.loss(), Accuracy)?,
            _ => model.compile(Adam::default(), self.loss(), Accuracy)?,
        }
        Ok(model)
    }

    /// Inputs scaled to [0, 1] as `f32`, and the labels in the form the loss expects.
    pub fn prepare(&self, x: &Tensor, y: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = scale(x)?;
        let y = match self.loss() {
            CategoricalCrossentropy => to_categorical(y, CLASSES)?,
            SparseCategoricalCrossentropy => y.shallow_clone(),
        };
        Ok((x, y))
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
    /// How notebook-kit trains this model (see its `model` module): "fused SGD" or "autograd".
    pub training_path: &'static str,
}

/// One training step on a throwaway model, so that one-time costs (loading CUDA kernels,
/// creating the cuBLAS handle, the allocator's first blocks, OpenMP's thread pool) do not
/// land in the first timed run.
pub fn warm_up(spec: &ModelSpec, data: &DeviceData, batch_size: usize) -> Result<WarmUp> {
    let mut model = spec.build(data.device)?;
    let training_path = match model.training_path() {
        Some(TrainingPath::Fused) => "fused SGD",
        _ => "autograd",
    };
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
#[derive(Debug, Clone, Copy)]
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
