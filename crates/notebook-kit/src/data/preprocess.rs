//! The lesson's preprocessing: `x / 255` and `keras.utils.to_categorical`, plus reading one
//! label (`classes[y_train[3][0]]` in Python).

use crate::shape::{is_integer, TensorShape};
use crate::{Error, Result};
use tch::{Kind, Tensor};

/// The label at `index` in `y` of shape `(n,)` or `(n, 1)`, any integer dtype, as a `usize`
/// ready to index a class list: `cifar10::CLASSES[label(&y_train, 3)?]` is `"deer"`.
pub fn label(y: &Tensor, index: usize) -> Result<usize> {
    let n = label_count(y, "label")?;
    if n == 0 {
        return Err(Error::invalid(format!(
            "label index {index} is out of range: y holds no labels"
        )));
    }
    // `as i64` would turn usize::MAX into -1, which libtorch reads as "the last label".
    let at = match i64::try_from(index) {
        Ok(i) if i < n => i,
        _ => {
            return Err(Error::invalid(format!(
                "label index {index} is out of range: y holds {n} labels (indices 0..={})",
                n - 1
            )))
        }
    };
    let at: &[i64] = if y.dim() == 1 { &[at] } else { &[at, 0] };
    let value = y.f_int64_value(at)?;
    usize::try_from(value)
        .map_err(|_| Error::invalid(format!("the label at index {index} is negative ({value})")))
}

/// Pixels as `f32` in [0, 1]: `x / 255`, on the same device. `x` must be `u8`, as loaded.
pub fn scale(x: &Tensor) -> Result<Tensor> {
    let kind = x.f_kind()?;
    if kind != Kind::Uint8 {
        return Err(Error::shape(format!(
            "scale expects u8 pixels (0..=255), got {kind:?}; was it scaled already?"
        )));
    }
    // Divide in place: a second 614 MB buffer for CIFAR-10 would double the time.
    let mut scaled = x.f_to_kind(Kind::Float)?;
    let _ = scaled.f_div_scalar_(255.0)?;
    Ok(scaled)
}

/// One-hot encoding like `keras.utils.to_categorical`: `y` of shape `(n,)` or `(n, 1)` with
/// integer labels in `0..num_classes` becomes `f32 (n, num_classes)`, on the same device.
pub fn to_categorical(y: &Tensor, num_classes: i64) -> Result<Tensor> {
    let n = label_count(y, "to_categorical")?;
    if num_classes <= 0 {
        return Err(Error::invalid(format!(
            "to_categorical: num_classes must be positive, got {num_classes}"
        )));
    }
    let y = y.f_reshape([n])?.f_to_kind(Kind::Int64)?;
    let out_of_range = y.f_lt(0)?.f_logical_or(&y.f_ge(num_classes)?)?;
    if n > 0 && out_of_range.f_any()?.f_int64_value(&[])? != 0 {
        // argmax returns the first maximum, i.e. the first offending label.
        let index = out_of_range
            .f_to_kind(Kind::Uint8)?
            .f_argmax(0, false)?
            .f_int64_value(&[])?;
        let value = y.f_int64_value(&[index])?;
        return Err(Error::invalid(format!(
            "to_categorical: the label at index {index} is {value}, outside 0..{num_classes}; \
             is num_classes right?"
        )));
    }
    Ok(y.f_one_hot(num_classes)?.f_to_kind(Kind::Float)?)
}

/// The number of labels in `y`, after checking it looks like a label vector.
fn label_count(y: &Tensor, func: &str) -> Result<i64> {
    let kind = y.f_kind()?;
    if !is_integer(kind) {
        return Err(Error::shape(format!(
            "{func} expects integer labels, got {kind:?}"
        )));
    }
    match y.size().as_slice() {
        [n] | [n, 1] => Ok(*n),
        _ => Err(Error::shape(format!(
            "{func} expects labels of shape (n,) or (n, 1), got {}",
            y.shape()
        ))),
    }
}
