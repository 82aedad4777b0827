//! Everything a lesson cell needs: `use notebook_kit::prelude::*;`.

pub use crate::error::{Error, Result};
pub use crate::shape::{Shape, TensorShape};
pub use tch::{self, Device, IndexOp, Kind, Tensor};

pub use crate::check;
pub use crate::data::{
    cifar10, fashion_mnist, label, np, scale, to_categorical, view_f32, view_u8,
};
pub use crate::device::{
    cuda_is_available, devices, gpu, is_built_with_cuda, torch_version, why_no_cuda, with_gpu,
};
pub use crate::display::{
    confusion_matrix, plot_confusion_matrix, plot_history, plot_prediction, plot_sample,
    plot_sample_with, plot_samples, Figure, Html,
};
pub use crate::model::Activation::{Linear, Relu, Sigmoid, Softmax, Tanh};
pub use crate::model::Loss::{CategoricalCrossentropy, SparseCategoricalCrossentropy};
pub use crate::model::Metric::Accuracy;
pub use crate::model::{
    argmax, predicted_class, set_max_epochs, Activation, Adam, Dense, Eval, Fit, Flatten, History,
    Loss, Metric, Optimizer, Predict, Sequential, Sgd, Summary,
};
pub use crate::timeit;
pub use crate::timing::{Comparison, Timing};
