//! Learning curves: loss and accuracy per epoch, as `pd.DataFrame(history.history).plot()`.

use plotters::prelude::*;

use super::colors::{rgb, Rgb, BLUE, ORANGE};
use super::figure::{Area, DrawResult, Figure};
use super::font::FAMILY;
use crate::error::{Error, Result};
use crate::model::History;

const PANEL_W: u32 = 460;
const PANEL_H: u32 = 340;

/// Loss and, when recorded, accuracy per epoch, training and validation, side by side.
/// Errors when the history is empty, has NaN or infinite values, or lengths disagree.
pub fn plot_history(history: &History) -> Result<Figure> {
    let epochs = history.loss.len();
    if epochs == 0 {
        return Err(Error::invalid("the history has no epochs to plot"));
    }
    let metrics = [
        ("loss", &history.loss),
        ("accuracy", &history.accuracy),
        ("val_loss", &history.val_loss),
        ("val_accuracy", &history.val_accuracy),
    ];
    for (name, values) in metrics {
        if !values.is_empty() && values.len() != epochs {
            return Err(Error::shape(format!(
                "history.{name} has {} values but history.loss has {epochs}",
                values.len()
            )));
        }
        if let Some(epoch) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite(format!(
                "history.{name} is {} at epoch {}: nothing sensible to plot",
                values[epoch],
                epoch + 1
            )));
        }
    }

    let mut panels = vec![("loss", &history.loss, &history.val_loss)];
    if !history.accuracy.is_empty() {
        panels.push(("accuracy", &history.accuracy, &history.val_accuracy));
    }
    let mut figure = Figure::blank(PANEL_W * panels.len() as u32, PANEL_H)?;
    figure.draw(|area| {
        for (panel, (name, train, validation)) in
            area.split_evenly((1, panels.len())).iter().zip(&panels)
        {
            draw_panel(panel, name, train, validation)?;
        }
        Ok(())
    })?;
    Ok(figure)
}

fn draw_panel(area: &Area<'_>, name: &str, train: &[f64], validation: &[f64]) -> DrawResult {
    let epochs = train.len();
    let (low, high) = padded_range(train.iter().chain(validation));
    let mut chart = ChartBuilder::on(area)
        .caption(name, (FAMILY, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.5..epochs as f64 + 0.5, low..high)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(epochs.min(10) + 2)
        .x_label_formatter(&|x| whole_number(*x))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(rgb([240, 240, 240]))
        .draw()?;

    let mut series = vec![("training", train, BLUE)];
    if !validation.is_empty() {
        series.push(("validation", validation, ORANGE));
    }
    for (label, values, colour) in series {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 + 1.0, *v))
            .collect();
        let style = rgb(colour).stroke_width(2);
        chart
            .draw_series(LineSeries::new(points.clone(), style))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], legend_style(colour))
            });
        // Dots keep a one-epoch history visible, where a line has no length.
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, rgb(colour).filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(rgb([200, 200, 200]))
        // Loss falls and accuracy rises: the legend goes where the curves are not.
        .position(if name == "loss" {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .draw()?;
    Ok(())
}

fn legend_style(colour: Rgb) -> ShapeStyle {
    rgb(colour).stroke_width(2)
}

/// Epoch ticks are whole numbers; ticks plotters places between them stay unlabelled.
fn whole_number(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 && x >= 1.0 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

/// The values' range with some room above and below, never empty.
fn padded_range<'a>(values: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    });
    let pad = if high > low {
        (high - low) * 0.08
    } else {
        low.abs().max(1.0) * 0.1
    };
    (low - pad, high + pad)
}
