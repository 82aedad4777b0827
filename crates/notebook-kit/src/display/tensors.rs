//! Reading one image, one label or a column of labels out of the lesson's tensors, with
//! errors (not panics) for the shapes and indices a notebook user can get wrong.

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::shape::Shape;

/// One picture as 8-bit RGB, row by row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

/// How the channels of a batch of images are laid out.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// `[n, h, w]`: grey, as Fashion-MNIST.
    Grey,
    /// `[n, h, w, c]` with c = 1 or 3: Keras's channels-last, as CIFAR-10.
    ChannelsLast,
    /// `[n, c, h, w]` with c = 1 or 3: PyTorch's channels-first.
    ChannelsFirst,
}

/// Number of images in `x` and their layout, or why `x` is not a batch of images.
fn image_batch(x: &Tensor) -> Result<(usize, Layout)> {
    let size = x.size();
    let layout = match size.as_slice() {
        [_, _, 1 | 3] => {
            return Err(Error::shape(format!(
                "expected a batch of images, got {}, which looks like one image: pass the whole \
                 batch (e.g. x_train) and the index of the image",
                Shape(size)
            )))
        }
        [_, h, w] if *h > 0 && *w > 0 => Layout::Grey,
        [_, h, w, 1 | 3] if *h > 0 && *w > 0 => Layout::ChannelsLast,
        [_, 1 | 3, h, w] if *h > 0 && *w > 0 => Layout::ChannelsFirst,
        _ => {
            return Err(Error::shape(format!(
                "expected a batch of images shaped (n, height, width) or (n, height, width, 3), \
                 got {}",
                Shape(size)
            )))
        }
    };
    Ok((size[0] as usize, layout))
}

/// Checks `index` against a batch of `count` items.
pub(crate) fn check_index(index: usize, count: usize, what: &str) -> Result<()> {
    if count == 0 {
        return Err(Error::invalid(format!("the {what} tensor is empty")));
    }
    if index >= count {
        return Err(Error::invalid(format!(
            "index {index} is out of range: there are {count} {what} (indices 0 to {})",
            count - 1
        )));
    }
    Ok(())
}

/// Number of images in `x`, checking that it is a batch of images.
pub(crate) fn image_count(x: &Tensor) -> Result<usize> {
    image_batch(x).map(|(count, _)| count)
}

/// Image `index` of the batch `x`, as 8-bit RGB.
///
/// `u8` (and other integer) tensors are taken as 0-255. Floating-point images are taken as
/// scaled to 0-1 (the lesson's `x / 255`), unless a value above 1 shows they are 0-255.
pub(crate) fn picture(x: &Tensor, index: usize) -> Result<Picture> {
    let (count, layout) = image_batch(x)?;
    check_index(index, count, "images")?;
    let mut image = x.f_select(0, index as i64)?;
    if let Layout::ChannelsFirst = layout {
        image = image.f_permute([1, 2, 0])?;
    }
    let size = image.size();
    let (height, width) = (size[0] as usize, size[1] as usize);
    let channels = if let Layout::Grey = layout {
        1
    } else {
        size[2] as usize
    };

    let values = flat_f32(&image)?;
    let float_input = matches!(
        x.kind(),
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    );
    let max = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max);
    let scale = if float_input && max <= 1.0 {
        255.0
    } else {
        1.0
    };
    let to_byte = |v: f32| {
        if v.is_nan() {
            0
        } else {
            (v * scale).round().clamp(0.0, 255.0) as u8
        }
    };

    let mut rgb = Vec::with_capacity(width * height * 3);
    for pixel in values.chunks_exact(channels) {
        match pixel {
            [grey] => rgb.extend_from_slice(&[to_byte(*grey); 3]),
            [r, g, b] => rgb.extend_from_slice(&[to_byte(*r), to_byte(*g), to_byte(*b)]),
            _ => unreachable!("channels is 1 or 3"),
        }
    }
    Ok(Picture { width, height, rgb })
}

/// The class label of item `index`: `y` may be labels `[n]`, Keras's `[n, 1]`, or one-hot
/// or probability rows `[n, classes]` (their largest entry is the label).
pub(crate) fn label(y: &Tensor, index: usize) -> Result<i64> {
    let count = label_count(y)?;
    check_index(index, count, "labels")?;
    let row = y.f_select(0, index as i64)?;
    Ok(labels_of(&row.f_unsqueeze(0)?)?[0])
}

/// Every label in `y`, in the forms [`label`] accepts.
pub(crate) fn labels(y: &Tensor) -> Result<Vec<i64>> {
    label_count(y)?;
    labels_of(y)
}

/// Number of labels in `y`, checking its shape.
pub(crate) fn label_count(y: &Tensor) -> Result<usize> {
    match y.size().as_slice() {
        [n] | [n, _] => Ok(*n as usize),
        _ => Err(Error::shape(format!(
            "expected labels shaped (n,), (n, 1) or (n, classes), got {}",
            Shape(y.size())
        ))),
    }
}

fn labels_of(y: &Tensor) -> Result<Vec<i64>> {
    let flat = match y.size().as_slice() {
        [_, 0] => {
            return Err(Error::shape(format!(
                "labels shaped {} hold no classes",
                Shape(y.size())
            )))
        }
        [_, k] if *k > 1 => y.f_argmax(1, false)?,
        _ => y.f_reshape([-1])?,
    };
    if matches!(
        flat.kind(),
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    ) {
        let values = flat_f32(&flat)?;
        return values
            .iter()
            .map(|v| {
                if v.fract() == 0.0 {
                    Ok(*v as i64)
                } else {
                    Err(Error::invalid(format!("label {v} is not a whole number")))
                }
            })
            .collect();
    }
    let flat = flat
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Int64)?
        .f_contiguous()?;
    Ok(Vec::<i64>::try_from(&flat)?)
}

/// Row `index` of a `[n, classes]` tensor of probabilities.
pub(crate) fn probability_row(probs: &Tensor, index: usize, classes: usize) -> Result<Vec<f32>> {
    let size = probs.size();
    let [count, k] = size.as_slice() else {
        return Err(Error::shape(format!(
            "expected probabilities shaped (n, classes), got {}",
            Shape(size)
        )));
    };
    if *k as usize != classes {
        return Err(Error::shape(format!(
            "probabilities have {k} columns but {classes} class names were given"
        )));
    }
    check_index(index, *count as usize, "probability rows")?;
    let row = flat_f32(&probs.f_select(0, index as i64)?)?;
    if let Some(bad) = row.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return Err(Error::invalid(format!(
            "probabilities must lie in [0, 1], found {bad}: apply softmax to the model's output first"
        )));
    }
    Ok(row)
}

/// Any tensor's values as `f32`, copied to the CPU.
fn flat_f32(t: &Tensor) -> Result<Vec<f32>> {
    let flat = t
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Float)?
        .f_contiguous()?
        .f_reshape([-1])?;
    Ok(Vec::<f32>::try_from(&flat)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_every_form() {
        let plain = Tensor::from_slice(&[3i64, 1, 4]);
        assert_eq!(labels(&plain).unwrap(), vec![3, 1, 4]);
        let keras = Tensor::from_slice(&[3u8, 1, 4]).reshape([3, 1]);
        assert_eq!(labels(&keras).unwrap(), vec![3, 1, 4]);
        let one_hot = Tensor::from_slice(&[0f32, 1., 0., 1., 0., 0.]).reshape([2, 3]);
        assert_eq!(labels(&one_hot).unwrap(), vec![1, 0]);
        assert_eq!(label(&keras, 2).unwrap(), 4);
        assert!(label(&keras, 3).is_err());
        assert!(labels(&Tensor::from_slice(&[0.5f32])).is_err());
        assert!(labels(&Tensor::zeros([2, 2, 2], (Kind::Float, Device::Cpu))).is_err());
    }

    #[test]
    fn float_images_are_scaled_from_0_1_or_0_255() {
        let scaled = Tensor::from_slice(&[0.0f32, 0.5, 1.0, 1.0]).reshape([1, 2, 2]);
        assert_eq!(
            picture(&scaled, 0).unwrap().rgb[..9],
            [0, 0, 0, 128, 128, 128, 255, 255, 255]
        );
        let raw = Tensor::from_slice(&[0.0f32, 128.0, 255.0, 300.0]).reshape([1, 2, 2]);
        assert_eq!(picture(&raw, 0).unwrap().rgb[9..], [255, 255, 255]);
    }

    #[test]
    fn channels_first_matches_channels_last() {
        let hwc = Tensor::arange(2 * 2 * 3, (Kind::Uint8, Device::Cpu)).reshape([1, 2, 2, 3]);
        let chw = hwc.permute([0, 3, 1, 2]).contiguous();
        assert_eq!(picture(&hwc, 0).unwrap(), picture(&chw, 0).unwrap());
    }
}
