//! A Keras-style `Sequential` model on `tch`.

mod history;

pub use history::History;
