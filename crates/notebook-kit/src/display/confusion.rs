//! Which classes the model confuses: counts of (true class, predicted class) pairs, and
//! their heatmap.

use plotters::element::{Rectangle, Text};
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::{Color, FontTransform};
use tch::Tensor;

use super::colors::{rgb, shade, BLUE, TEXT, WHITE};
use super::figure::Figure;
use super::font::{anchor, text_style, text_width};
use super::tensors::labels;
use crate::error::{Error, Result};

const NAME_PX: f64 = 13.0;
const COUNT_PX: f64 = 12.0;
const TITLE_PX: f64 = 16.0;
const MARGIN: u32 = 10;

/// `matrix[true][predicted]`: how many items of class `true` were predicted as
/// `predicted`, like `tf.math.confusion_matrix`. Labels may be `[n]`, `[n, 1]`, or rows of
/// probabilities or one-hot `[n, classes]` (their largest entry counts), so the output of
/// `predict` can be passed as it is.
pub fn confusion_matrix(
    y_true: &Tensor,
    y_pred: &Tensor,
    num_classes: usize,
) -> Result<Vec<Vec<i64>>> {
    if num_classes == 0 {
        return Err(Error::invalid(
            "a confusion matrix needs at least one class",
        ));
    }
    let (truth, predicted) = (labels(y_true)?, labels(y_pred)?);
    if truth.len() != predicted.len() {
        return Err(Error::shape(format!(
            "{} true labels but {} predicted labels",
            truth.len(),
            predicted.len()
        )));
    }
    let class_of = |label: i64, which: &str| {
        usize::try_from(label)
            .ok()
            .filter(|c| *c < num_classes)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{which} label {label} is outside the {num_classes} classes 0..{num_classes}"
                ))
            })
    };
    let mut matrix = vec![vec![0i64; num_classes]; num_classes];
    for (t, p) in truth.into_iter().zip(predicted) {
        matrix[class_of(t, "true")?][class_of(p, "predicted")?] += 1;
    }
    Ok(matrix)
}

/// The confusion matrix as a heatmap: true classes down, predicted classes across, each
/// cell showing its count; darker means more.
pub fn plot_confusion_matrix(matrix: &[Vec<i64>], classes: &[&str]) -> Result<Figure> {
    let k = matrix.len();
    if k == 0 {
        return Err(Error::invalid("the confusion matrix is empty"));
    }
    if let Some(row) = matrix.iter().position(|row| row.len() != k) {
        return Err(Error::shape(format!(
            "a confusion matrix is square: row {row} has {} entries, there are {k} rows",
            matrix[row].len()
        )));
    }
    if classes.len() != k {
        return Err(Error::shape(format!(
            "{k} classes in the matrix but {} class names",
            classes.len()
        )));
    }
    if matrix.iter().flatten().any(|c| *c < 0) {
        return Err(Error::invalid("confusion matrix counts cannot be negative"));
    }

    let largest = matrix.iter().flatten().copied().max().unwrap_or(0);
    let mut names_w = 0;
    for name in classes {
        names_w = names_w.max(text_width(name, NAME_PX)?);
    }
    let cell = text_width(&largest.to_string(), COUNT_PX)?.max(40) + 6;
    let axis_title = TITLE_PX as u32 + 8;
    let left = MARGIN + axis_title + names_w + 8;
    let top = MARGIN;
    let width = left + k as u32 * cell + MARGIN;
    let height = top + k as u32 * cell + 8 + names_w + axis_title + MARGIN;

    let mut figure = Figure::blank(width, height)?;
    for (row, counts) in matrix.iter().enumerate() {
        for (col, count) in counts.iter().enumerate() {
            let strength = if largest > 0 {
                *count as f64 / largest as f64
            } else {
                0.0
            };
            let (x, y) = (left + col as u32 * cell, top + row as u32 * cell);
            figure.fill_rect(x, y, cell, cell, shade(BLUE, strength));
        }
    }
    figure.draw(|area| {
        let grid_right = (left + k as u32 * cell) as i32;
        let grid_bottom = (top + k as u32 * cell) as i32;
        area.draw(&Rectangle::new(
            [(left as i32, top as i32), (grid_right, grid_bottom)],
            rgb(TEXT).stroke_width(1),
        ))?;
        let centre = anchor(HPos::Center, VPos::Center);
        let title_style = text_style(TITLE_PX, TEXT, anchor(HPos::Center, VPos::Bottom));
        let bottom = (height - MARGIN) as i32;
        area.draw(&Text::new(
            "predicted label",
            ((left as i32 + grid_right) / 2, bottom),
            title_style.clone(),
        ))?;
        let true_title = text_style(TITLE_PX, TEXT, anchor(HPos::Center, VPos::Top))
            .transform(FontTransform::Rotate270);
        area.draw(&Text::new(
            "true label",
            (MARGIN as i32, (top as i32 + grid_bottom) / 2),
            true_title,
        ))?;

        for (i, name) in classes.iter().enumerate() {
            let middle = (i as u32 * cell + cell / 2) as i32;
            let row_name = text_style(NAME_PX, TEXT, anchor(HPos::Right, VPos::Center));
            area.draw(&Text::new(
                *name,
                (left as i32 - 8, top as i32 + middle),
                row_name,
            ))?;
            // Read bottom to top, so long names fit under narrow columns.
            let column_name = text_style(NAME_PX, TEXT, anchor(HPos::Right, VPos::Center))
                .transform(FontTransform::Rotate270);
            area.draw(&Text::new(
                *name,
                (left as i32 + middle, grid_bottom + 8),
                column_name,
            ))?;
        }
        for (row, counts) in matrix.iter().enumerate() {
            for (col, count) in counts.iter().enumerate() {
                let dark = largest > 0 && *count as f64 / largest as f64 > 0.55;
                let style = text_style(COUNT_PX, if dark { WHITE } else { TEXT }, centre);
                let at = (
                    (left + col as u32 * cell + cell / 2) as i32,
                    (top + row as u32 * cell + cell / 2) as i32,
                );
                area.draw(&Text::new(count.to_string(), at, style))?;
            }
        }
        Ok(())
    })?;
    Ok(figure)
}
