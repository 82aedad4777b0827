//! One test image beside the model's class probabilities: what it is, what the model
//! thinks, and how sure it is.
//!
//! The lesson's model ends in sigmoid units, whose ten outputs are independent scores that
//! need not add up to 1; printed as percentages they read as probabilities that make no
//! sense together ("frog (9.7%)" as the most likely class). So values are printed as
//! percentages only when the row is a distribution (softmax), and as scores otherwise.

use plotters::element::{Rectangle, Text};
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::Color;
use tch::Tensor;

use super::colors::{rgb, BLUE, GREEN, GREY, LIGHT_GREY, RED, TEXT};
use super::figure::Figure;
use super::font::{anchor, text_style, text_width};
use super::samples::{blit, check_same_count, class_name, scale_for};
use super::tensors::{label, picture, probability_row};
use crate::error::Result;

const FONT_PX: f64 = 14.0;
const ROW_PX: u32 = 22;
const BAR_PX: u32 = 220;
const MARGIN: u32 = 12;

/// Image `index` of `x` with its true class, the predicted class (green when right, red
/// when wrong) and a bar per class of `probs` (the model's `predict` output, `[n, classes]`
/// probabilities). As in the TensorFlow tutorials, the true class's bar is blue and a
/// wrong prediction's bar red.
pub fn plot_prediction(
    x: &Tensor,
    y_true: &Tensor,
    probs: &Tensor,
    classes: &[&str],
    index: usize,
) -> Result<Figure> {
    check_same_count(x, y_true)?;
    let picture = picture(x, index)?;
    let truth = label(y_true, index)?;
    let true_name = class_name(truth, classes)?;
    let row = probability_row(probs, index, classes.len())?;
    let predicted = row
        .iter()
        .enumerate()
        .fold(0, |best, (i, p)| if *p > row[best] { i } else { best });
    let right = predicted as i64 == truth;

    let true_line = format!("true: {true_name}");
    let distribution = is_distribution(&row);
    let predicted_line = format!(
        "predicted: {} ({})",
        classes[predicted],
        caption_value(row[predicted], distribution)
    );

    let scale = scale_for(&picture);
    let (image_w, image_h) = (
        (picture.width * scale) as u32,
        (picture.height * scale) as u32,
    );
    let left_w = image_w
        .max(text_width(&true_line, FONT_PX)?)
        .max(text_width(&predicted_line, FONT_PX)?);
    let mut names_w = 0;
    for name in classes {
        names_w = names_w.max(text_width(name, FONT_PX)?);
    }
    let percent_w = text_width("100.0%", FONT_PX)?;
    let bars_x = MARGIN + left_w + 2 * MARGIN + names_w + 8;
    let width = bars_x + BAR_PX + 8 + percent_w + MARGIN;
    let height =
        (MARGIN + image_h + 2 * ROW_PX).max(MARGIN + ROW_PX * classes.len() as u32) + MARGIN;

    let mut figure = Figure::blank(width, height)?;
    blit(
        &mut figure,
        &picture,
        MARGIN + (left_w - image_w) / 2,
        MARGIN,
        scale,
    );
    figure.draw(|area| {
        let centre_x = (MARGIN + left_w / 2) as i32;
        let caption = anchor(HPos::Center, VPos::Center);
        let first_line = (MARGIN + image_h + ROW_PX / 2) as i32;
        area.draw(&Text::new(
            true_line.as_str(),
            (centre_x, first_line),
            text_style(FONT_PX, TEXT, caption),
        ))?;
        let verdict = if right { GREEN } else { RED };
        let second_line = first_line + ROW_PX as i32;
        area.draw(&Text::new(
            predicted_line.as_str(),
            (centre_x, second_line),
            text_style(FONT_PX, verdict, caption),
        ))?;

        for (i, (name, p)) in classes.iter().zip(&row).enumerate() {
            let top = (MARGIN + i as u32 * ROW_PX) as i32;
            let middle = top + ROW_PX as i32 / 2;
            let name_style = text_style(FONT_PX, TEXT, anchor(HPos::Right, VPos::Center));
            area.draw(&Text::new(*name, (bars_x as i32 - 8, middle), name_style))?;
            let colour = match i {
                i if i as i64 == truth => BLUE,
                i if i == predicted => RED,
                _ => GREY,
            };
            let (x0, x1) = (bars_x as i32, bars_x as i32 + BAR_PX as i32);
            let (y0, y1) = (top + 3, top + ROW_PX as i32 - 3);
            area.draw(&Rectangle::new(
                [(x0, y0), (x1, y1)],
                rgb(LIGHT_GREY).filled(),
            ))?;
            let length = (p * BAR_PX as f32).round() as i32;
            if length > 0 {
                area.draw(&Rectangle::new(
                    [(x0, y0), (x0 + length, y1)],
                    rgb(colour).filled(),
                ))?;
            }
            let value = bar_value(*p, distribution);
            let value_style = text_style(FONT_PX, TEXT, anchor(HPos::Left, VPos::Center));
            area.draw(&Text::new(value, (x1 + 8, middle), value_style))?;
        }
        Ok(())
    })?;
    Ok(figure)
}

/// Does this row of outputs add up to 1, as softmax outputs do (within float rounding)?
fn is_distribution(row: &[f32]) -> bool {
    (row.iter().map(|&p| f64::from(p)).sum::<f64>() - 1.0).abs() < 1e-3
}

/// A bar's number: a percentage for a distribution, else the score itself.
fn bar_value(p: f32, distribution: bool) -> String {
    if distribution {
        format!("{:.1}%", p * 100.0)
    } else {
        format!("{p:.3}")
    }
}

/// The predicted class's number in the caption, saying which kind it is.
fn caption_value(p: f32, distribution: bool) -> String {
    if distribution {
        bar_value(p, true)
    } else {
        format!("score {}", bar_value(p, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_scores_are_not_printed_as_percentages() {
        let softmax = [0.7, 0.2, 0.1];
        let sigmoid = [0.097, 0.029, 0.058];
        assert!(is_distribution(&softmax));
        assert!(!is_distribution(&sigmoid));
        assert_eq!(caption_value(0.7, is_distribution(&softmax)), "70.0%");
        assert_eq!(bar_value(0.1, is_distribution(&softmax)), "10.0%");
        assert_eq!(
            caption_value(0.097, is_distribution(&sigmoid)),
            "score 0.097"
        );
        assert_eq!(bar_value(0.029, is_distribution(&sigmoid)), "0.029");
    }
}
