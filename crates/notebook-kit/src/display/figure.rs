//! `Figure`: an RGB picture that shows inline in a notebook and saves as PNG.

use std::fmt;
use std::path::Path;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea};
use plotters_bitmap::bitmap_pixel::RGBPixel;

use super::evcxr;
use super::font;
use crate::error::{Error, Result};

/// The drawing surface handed to plotters while a figure is drawn.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;

/// What drawing code returns: plotters' errors are boxed and become [`Error::Draw`].
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// A picture: `width * height` RGB pixels, row by row from the top left.
///
/// A cell that ends in a `Figure` shows it inline; [`Figure::save`] writes a PNG file.
#[derive(Clone, PartialEq, Eq)]
pub struct Figure {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Figure {
    /// A figure from raw RGB bytes (3 per pixel, rows top to bottom).
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Figure> {
        crate::error::install_panic_hook();
        if width == 0 || height == 0 {
            return Err(Error::invalid(format!(
                "a figure cannot be {width}x{height} pixels"
            )));
        }
        let expected = width as usize * height as usize * 3;
        if rgb.len() != expected {
            return Err(Error::invalid(format!(
                "a {width}x{height} RGB figure needs {expected} bytes, got {}",
                rgb.len()
            )));
        }
        Ok(Figure { width, height, rgb })
    }

    /// A white figure to draw on.
    pub(crate) fn blank(width: u32, height: u32) -> Result<Figure> {
        crate::error::install_panic_hook();
        Figure::from_rgb(
            width,
            height,
            vec![255; width as usize * height as usize * 3],
        )
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGB bytes, 3 per pixel, rows top to bottom.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The colour at column `x`, row `y`, or `None` outside the figure.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
    }

    /// Fills a rectangle, clipped to the figure. Cheaper than plotters for image pixels.
    pub(crate) fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
        let x_end = x.saturating_add(w).min(self.width);
        let y_end = y.saturating_add(h).min(self.height);
        for row in y.min(y_end)..y_end {
            let start = (row as usize * self.width as usize + x as usize) * 3;
            let end = (row as usize * self.width as usize + x_end as usize) * 3;
            if start < end {
                for px in self.rgb[start..end].chunks_exact_mut(3) {
                    px.copy_from_slice(&color);
                }
            }
        }
    }

    /// Draws with plotters on this figure (text, lines, charts).
    pub(crate) fn draw(&mut self, paint: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<()> {
        font::register()?;
        let size = (self.width, self.height);
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut self.rgb, size)
            .map_err(|e| Error::Draw(e.to_string()))?;
        let area: Area<'_> = backend.into();
        paint(&area).map_err(|e| Error::Draw(e.to_string()))?;
        area.present().map_err(|e| Error::Draw(e.to_string()))
    }

    /// The figure encoded as a PNG file's bytes.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut png = Vec::new();
        // Fast compression: figures are flat-coloured, and a notebook re-encodes on each
        // display, so speed matters more than the last few percent of size.
        PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
            .write_image(&self.rgb, self.width, self.height, ExtendedColorType::Rgb8)
            .map_err(|e| Error::Draw(format!("PNG encoding failed: {e}")))?;
        Ok(png)
    }

    /// Writes the figure as a PNG file. The file appears complete or not at all: the
    /// bytes go to a temporary file beside it, which is then renamed.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if !is_png {
            return Err(Error::invalid(format!(
                "{}: figures are saved as PNG; use a file name ending in .png",
                path.display()
            )));
        }
        crate::files::write_atomically(path, &self.to_png()?)
    }

    /// Shows the figure inline in a Jupyter notebook (called by evcxr on a cell's value).
    pub fn evcxr_display(&self) {
        match self.to_png() {
            Ok(png) => evcxr::emit_png(&png),
            Err(e) => evcxr::emit("text/plain", &format!("(figure not shown: {e})")),
        }
    }
}

impl fmt::Debug for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Figure({}x{})", self.width, self.height)
    }
}
