//! Data sets shaped like `keras.datasets`, and the preprocessing the lesson applies to them.
//!
//! ```no_run
//! use notebook_kit::prelude::*;
//! # fn main() -> notebook_kit::Result<()> {
//! let ((x_train, y_train), (x_test, y_test)) = cifar10::load_data()?;
//! println!("{}", x_train.shape());                          // (50000, 32, 32, 3)
//! println!("{}", cifar10::CLASSES[label(&y_train, 3)?]);    // deer
//! println!("{:?}", np(&y_train.narrow(0, 0, 3)));            // array([[6], [9], [9]], dtype=uint8)
//! let x_train_scaled = scale(&x_train)?;                     // f32 in [0, 1]
//! let y_train_categorical = to_categorical(&y_train, 10)?;   // f32 one-hot, (50000, 10)
//! # let _ = (x_test, y_test, x_train_scaled, y_train_categorical);
//! # Ok(())
//! # }
//! ```
//!
//! Where the files come from, first match wins:
//! 1. the folder given to `load_data_from(dir)`;
//! 2. `CIFAR10_DIR` / `FASHION_MNIST_DIR` (the folder holding the files), or `NOTEBOOK_KIT_DATA`
//!    (a root holding `cifar-10-batches-bin/` and `fashion-mnist/`);
//! 3. Fashion-MNIST only: the Debian package folder `/usr/share/datasets/fashion-mnist/`;
//! 4. the per-user cache, see [`cache_dir`];
//! 5. a download from the official location into that cache (unless `NOTEBOOK_KIT_OFFLINE` is
//!    `1`, `true`, `yes` or `on`), through the proxy that `HTTPS_PROXY` and the like name.
//!
//! A folder named in 1 or 2 must be complete: if it is not, loading fails and names it, rather
//! than quietly downloading 170 MB somewhere else.

pub mod cifar10;
pub mod download;
pub mod fashion_mnist;
mod idx;
mod locate;
mod lock;
mod numpy;
mod preprocess;
mod view;

pub use locate::cache_dir;
pub use numpy::{np, NpArray};
pub use preprocess::{label, scale, to_categorical};
pub use view::{view_f32, view_u8};

/// What `load_data()` returns, as in Keras: `((x_train, y_train), (x_test, y_test))`.
pub type Split = ((tch::Tensor, tch::Tensor), (tch::Tensor, tch::Tensor));
