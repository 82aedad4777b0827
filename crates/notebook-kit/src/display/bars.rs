//! Grouped bar charts: one group per task, one bar per series (e.g. CPU and GPU), each bar
//! labelled with its value.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::colors::{rgb, Rgb, TEXT};
use super::figure::Figure;
use super::font::{anchor, text_style, FAMILY};
use crate::error::{Error, Result};

/// One series of bars: its legend name, colour, and a value per group (`None`: no bar).
pub(crate) struct Series {
    pub name: String,
    pub colour: Rgb,
    pub values: Vec<Option<f64>>,
}

/// A grouped bar chart. `label` writes each bar's value above it.
pub(crate) fn grouped_bars(
    title: &str,
    y_desc: &str,
    groups: &[String],
    series: &[Series],
    label: impl Fn(f64) -> String,
) -> Result<Figure> {
    // Bars carry their exact values; the axis only needs short round numbers.
    if groups.is_empty() || series.is_empty() {
        return Err(Error::invalid(
            "a bar chart needs at least one group and one series",
        ));
    }
    if series.iter().any(|s| s.values.len() != groups.len()) {
        return Err(Error::shape("every series needs one value per group"));
    }
    let values = series.iter().flat_map(|s| s.values.iter().flatten());
    if let Some(bad) = values.clone().find(|v| !v.is_finite() || **v < 0.0) {
        return Err(Error::invalid(format!(
            "bar values must be finite and >= 0, got {bad}"
        )));
    }
    let top = values.fold(0.0f64, |m, v| m.max(*v));
    let top = if top > 0.0 { top * 1.18 } else { 1.0 };

    let width = (140 + groups.len() as u32 * (60 + 70 * series.len() as u32)).max(420);
    let mut figure = Figure::blank(width, 380)?;
    figure.draw(|area| {
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FAMILY, 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..groups.len() as f64, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(y_desc)
            .y_label_formatter(&|y| axis_number(*y))
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 14))
            .light_line_style(rgb([240, 240, 240]))
            .draw()?;

        let bar_w = 0.8 / series.len() as f64;
        for s in series {
            let colour = s.colour;
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], rgb(colour).filled())
                });
        }
        for (g, group) in groups.iter().enumerate() {
            for (i, s) in series.iter().enumerate() {
                let Some(value) = s.values[g] else { continue };
                let x0 = g as f64 + 0.1 + i as f64 * bar_w;
                let x1 = x0 + bar_w * 0.92;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x1, value)],
                    rgb(s.colour).filled(),
                )))?;
                let (px, py) = chart.backend_coord(&((x0 + x1) / 2.0, value));
                let above = text_style(12.0, TEXT, anchor(HPos::Center, VPos::Bottom));
                area.draw(&Text::new(label(value), (px, py - 4), above))?;
            }
            let (px, py) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
            let below = text_style(14.0, TEXT, anchor(HPos::Center, VPos::Top));
            area.draw(&Text::new(group.as_str(), (px, py + 8), below))?;
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(rgb([200, 200, 200]))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    })?;
    Ok(figure)
}

/// `250`, `12.5`, `0.04`: as few digits as an axis tick needs.
fn axis_number(y: f64) -> String {
    let text = format!("{y:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
