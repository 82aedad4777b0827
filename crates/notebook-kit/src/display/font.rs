//! The one font every figure uses: DejaVu Sans, compiled into the library, so that text
//! renders the same everywhere and no system fonts are needed.

use std::sync::OnceLock;

use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, Color, FontDesc, FontStyle, RGBColor, TextStyle};

use crate::error::{Error, Result};

/// The family name figures ask plotters for.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers DejaVu Sans with plotters, once per process.
pub(crate) fn register() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular())
                .and_then(|()| register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()))
                .map_err(|_| "the embedded DejaVu Sans font could not be parsed".to_string())
        })
        .clone()
        .map_err(Error::Draw)
}

/// Text in DejaVu Sans at `size` pixels, anchored at `anchor` (e.g. centre-top).
pub(crate) fn text_style(size: f64, color: [u8; 3], anchor: Pos) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into(),
        color: RGBColor(color[0], color[1], color[2]).to_backend_color(),
        pos: anchor,
    }
}

/// Width in pixels of `text` at `size`, to size figures around their labels.
pub(crate) fn text_width(text: &str, size: f64) -> Result<u32> {
    register()?;
    let font: FontDesc<'_> = (FAMILY, size).into();
    font.box_size(text)
        .map(|(w, _)| w)
        .map_err(|e| Error::Draw(e.to_string()))
}

pub(crate) fn anchor(h: HPos, v: VPos) -> Pos {
    Pos::new(h, v)
}
