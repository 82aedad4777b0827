//! The figures' colours: matplotlib's default cycle, which the lesson's plots use.

pub(crate) type Rgb = [u8; 3];

pub(crate) const WHITE: Rgb = [255, 255, 255];
pub(crate) const TEXT: Rgb = [30, 30, 30];
pub(crate) const GREY: Rgb = [150, 150, 150];
pub(crate) const LIGHT_GREY: Rgb = [225, 225, 225];
pub(crate) const BLUE: Rgb = [31, 119, 180];
pub(crate) const ORANGE: Rgb = [255, 127, 14];
pub(crate) const GREEN: Rgb = [44, 160, 44];
pub(crate) const RED: Rgb = [214, 39, 40];

pub(crate) fn rgb(color: Rgb) -> plotters::style::RGBColor {
    plotters::style::RGBColor(color[0], color[1], color[2])
}

/// `t` of the way from white to `to` (t in 0..=1), for heatmaps.
pub(crate) fn shade(to: Rgb, t: f64) -> Rgb {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |c: u8| (255.0 + (c as f64 - 255.0) * t).round() as u8;
    [mix(to[0]), mix(to[1]), mix(to[2])]
}
