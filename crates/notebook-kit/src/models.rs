//! The lesson's and the exercise's models, defined once for gpu-bench, the benchmarks and
//! the tests. (The notebooks write them out layer by layer, as the lesson does.)

use tch::Device;

use crate::error::Result;
use crate::model::Activation::{Relu, Sigmoid};
use crate::model::Loss::{CategoricalCrossentropy, SparseCategoricalCrossentropy};
use crate::model::Metric::Accuracy;
use crate::model::{Adam, Dense, Flatten, Sequential, Sgd};

/// The lesson's network, compiled as the lesson compiles it:
/// `Flatten(32, 32, 3) -> Dense(3000, relu) -> Dense(1000, relu) -> Dense(10, sigmoid)`,
/// SGD (learning rate 0.01), categorical cross-entropy, accuracy.
pub fn lesson(device: Device) -> Result<Sequential> {
    lesson_network(&[32, 32, 3], device)
}

/// The exercise's network on Fashion-MNIST: `Flatten(28, 28)`, `hidden_layers` x
/// `Dense(500, relu)`, `Dense(10, sigmoid)`; Adam, sparse categorical cross-entropy,
/// accuracy.
pub fn fashion(hidden_layers: usize, device: Device) -> Result<Sequential> {
    exercise_network(&[28, 28], hidden_layers, device)
}

/// [`lesson`]'s layers and training settings for samples of any shape (gpu-bench trains
/// it on Fashion-MNIST too).
pub fn lesson_network(input_shape: &[i64], device: Device) -> Result<Sequential> {
    let mut model = Sequential::new()
        .add(Flatten::new(input_shape))
        .add(Dense::new(3000, Relu))
        .add(Dense::new(1000, Relu))
        .add(Dense::new(10, Sigmoid))
        .build(device)?;
    model.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
    Ok(model)
}

/// [`fashion`]'s layers and training settings for samples of any shape.
pub fn exercise_network(
    input_shape: &[i64],
    hidden_layers: usize,
    device: Device,
) -> Result<Sequential> {
    let mut builder = Sequential::new().add(Flatten::new(input_shape));
    for _ in 0..hidden_layers {
        builder = builder.add(Dense::new(500, Relu));
    }
    let mut model = builder.add(Dense::new(10, Sigmoid)).build(device)?;
    model.compile(Adam::default(), SparseCategoricalCrossentropy, Accuracy)?;
    Ok(model)
}
