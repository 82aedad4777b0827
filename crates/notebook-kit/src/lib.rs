//! notebook-kit: the Rust side of the Keras lesson "small image classification with an
//! artificial neural network: GPU benchmarking", for Jupyter notebooks on the evcxr kernel.
//!
//! A notebook needs one line: `use notebook_kit::prelude::*;`.
//!
//! - [`data`]: CIFAR-10 and Fashion-MNIST loaders shaped like `keras.datasets`, plus scaling
//!   and one-hot encoding. Knows nothing of training.
//! - [`model`]: a Keras-style `Sequential` on `tch` (`Dense`, `compile`, `fit`, `evaluate`,
//!   `predict`, `summary`). Prints progress lines; draws nothing.
//! - [`display`]: inline PNG figures and HTML tables through evcxr's display protocol.
//! - [`timing`]: `timeit!` with IPython's `%timeit` semantics, and CPU-vs-GPU comparisons.
//! - [`device`]: which devices exist, and making CUDA visible inside evcxr.
//! - [`models`]: the lesson's and the exercise's models, defined once for benchmarks and tests.
//! - [`check`]: feedback for the exercise's cells (`✓` or a hint).
//! - [`files`], [`numbers`]: atomic file writes; thousands separators, GiB and medians.

pub mod check;
pub mod data;
pub mod device;
pub mod display;
pub mod error;
pub mod files;
pub mod interrupt;
pub mod model;
pub mod models;
pub mod numbers;
pub mod prelude;
pub mod shape;
pub mod timing;

pub use error::{Error, Result};
