//! Showing data set images: one at a time (`plt.imshow(X_train[0])`), captioned with its
//! class (`plot_sample(X, y, index)` in the lesson), or a grid in one figure.

use std::ops::{Bound, RangeBounds};

use plotters::element::Text;
use plotters::style::text_anchor::{HPos, VPos};
use tch::Tensor;

use super::colors::TEXT;
use super::figure::Figure;
use super::font::{anchor, text_style, text_width};
use super::tensors::{check_index, image_count, label, label_count, picture, Picture};
use crate::error::{Error, Result};

/// Images are enlarged by a whole factor to at least this height: 32 px CIFAR-10 images
/// show at 128 px, 28 px Fashion-MNIST at 140 px.
const MIN_IMAGE_PX: usize = 128;
const CAPTION_PX: f64 = 15.0;
const CAPTION_BAND: u32 = 24;
const GAP: u32 = 10;
/// A grid holds at most this many images, so that a stray `..` cannot draw 50,000.
const MAX_GRID: usize = 100;

/// Image `index` of `x`, enlarged (nearest neighbour) to be readable.
///
/// `x` is a batch: `[n, 32, 32, 3]` colour (CIFAR-10) or `[n, 28, 28]` grey
/// (Fashion-MNIST), `u8` 0-255 or floating point scaled to 0-1.
pub fn plot_sample(x: &Tensor, index: usize) -> Result<Figure> {
    let picture = picture(x, index)?;
    let scale = scale_for(&picture);
    let mut figure = Figure::blank(
        (picture.width * scale) as u32,
        (picture.height * scale) as u32,
    )?;
    blit(&mut figure, &picture, 0, 0, scale);
    Ok(figure)
}

/// Image `index` of `x` with its class underneath, e.g. `6: frog`. `y` holds the labels
/// (`[n]`, `[n, 1]` or one-hot `[n, classes]`); `classes` names them.
pub fn plot_sample_with(x: &Tensor, y: &Tensor, classes: &[&str], index: usize) -> Result<Figure> {
    check_index(index, image_count(x)?, "images")?;
    plot_samples(x, y, classes, index..=index)
}

/// The images of `range` (e.g. `0..5`) in one figure, each captioned with its class:
/// one row for up to 5 images, otherwise a grid at least 5 wide (25 images: 5 x 5).
pub fn plot_samples(
    x: &Tensor,
    y: &Tensor,
    classes: &[&str],
    range: impl RangeBounds<usize>,
) -> Result<Figure> {
    let count = image_count(x)?;
    let range = resolve(range, count)?;
    check_same_count(x, y)?;

    let mut cells = Vec::with_capacity(range.len());
    for index in range {
        let caption = caption(label(y, index)?, classes)?;
        cells.push((picture(x, index)?, caption));
    }
    grid(&cells)
}

/// `6: frog`: the label and its class name, or an error when the label has no name.
pub(crate) fn caption(label: i64, classes: &[&str]) -> Result<String> {
    Ok(format!("{label}: {}", class_name(label, classes)?))
}

pub(crate) fn class_name<'a>(label: i64, classes: &[&'a str]) -> Result<&'a str> {
    usize::try_from(label)
        .ok()
        .and_then(|i| classes.get(i).copied())
        .ok_or_else(|| {
            Error::invalid(format!(
                "label {label} has no class name: {} class names were given",
                classes.len()
            ))
        })
}

/// Images and labels must pair up one to one; a mismatch usually means train images
/// with test labels.
pub(crate) fn check_same_count(x: &Tensor, y: &Tensor) -> Result<()> {
    let (images, labels) = (image_count(x)?, label_count(y)?);
    if images != labels {
        return Err(Error::shape(format!("{images} images but {labels} labels")));
    }
    Ok(())
}

fn resolve(range: impl RangeBounds<usize>, count: usize) -> Result<std::ops::Range<usize>> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => count,
    };
    if count == 0 {
        return Err(Error::invalid("the images tensor is empty"));
    }
    if start >= end {
        return Err(Error::invalid(format!(
            "the range {start}..{end} selects no images"
        )));
    }
    if end > count {
        return Err(Error::invalid(format!(
            "the range {start}..{end} is out of range: there are {count} images (indices 0 to {})",
            count - 1
        )));
    }
    if end - start > MAX_GRID {
        return Err(Error::invalid(format!(
            "{} images asked for; one figure shows at most {MAX_GRID}",
            end - start
        )));
    }
    Ok(start..end)
}

/// Whole-number enlargement that makes the picture at least `MIN_IMAGE_PX` tall.
pub(crate) fn scale_for(picture: &Picture) -> usize {
    MIN_IMAGE_PX.div_ceil(picture.height).max(1)
}

/// Copies `picture` into `figure` at (`x0`, `y0`), each pixel becoming a `scale` square.
pub(crate) fn blit(figure: &mut Figure, picture: &Picture, x0: u32, y0: u32, scale: usize) {
    for (row, line) in picture.rgb.chunks_exact(picture.width * 3).enumerate() {
        for (col, px) in line.chunks_exact(3).enumerate() {
            let (x, y) = (x0 + (col * scale) as u32, y0 + (row * scale) as u32);
            figure.fill_rect(x, y, scale as u32, scale as u32, [px[0], px[1], px[2]]);
        }
    }
}

/// Captioned pictures in rows, in one figure (evcxr shows only one image per cell).
fn grid(cells: &[(Picture, String)]) -> Result<Figure> {
    let columns = if cells.len() <= 5 {
        cells.len()
    } else {
        (cells.len() as f64).sqrt().ceil().max(5.0) as usize
    };
    let rows = cells.len().div_ceil(columns);

    let mut cell_w = 0;
    let mut image_h = 0;
    for (picture, caption) in cells {
        let scale = scale_for(picture);
        cell_w = cell_w
            .max((picture.width * scale) as u32)
            .max(text_width(caption, CAPTION_PX)? + 8);
        image_h = image_h.max((picture.height * scale) as u32);
    }
    let cell_h = image_h + CAPTION_BAND;
    let width = columns as u32 * cell_w + (columns as u32 - 1) * GAP;
    let height = rows as u32 * cell_h + (rows as u32 - 1) * GAP;

    let mut figure = Figure::blank(width, height)?;
    let mut captions = Vec::with_capacity(cells.len());
    for (i, (picture, caption)) in cells.iter().enumerate() {
        let left = (i % columns) as u32 * (cell_w + GAP);
        let top = (i / columns) as u32 * (cell_h + GAP);
        let scale = scale_for(picture);
        let image_w = (picture.width * scale) as u32;
        blit(
            &mut figure,
            picture,
            left + (cell_w - image_w) / 2,
            top,
            scale,
        );
        captions.push((
            caption.as_str(),
            left + cell_w / 2,
            top + image_h + CAPTION_BAND / 2,
        ));
    }
    figure.draw(|area| {
        let style = text_style(CAPTION_PX, TEXT, anchor(HPos::Center, VPos::Center));
        for (caption, x, y) in captions {
            area.draw(&Text::new(caption, (x as i32, y as i32), style.clone()))?;
        }
        Ok(())
    })?;
    Ok(figure)
}
