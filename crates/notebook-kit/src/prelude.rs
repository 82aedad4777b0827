//! Everything a lesson cell needs: `use notebook_kit::prelude::*;`.

pub use crate::error::{Error, Result};
pub use crate::shape::{Shape, TensorShape};
pub use tch::{self, Device, Kind, Tensor};
