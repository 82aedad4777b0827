//! Pictures and tables inline in a notebook, through evcxr's display protocol.
//!
//! A cell whose last expression is a [`Figure`] shows it as a PNG; an [`Html`] shows as
//! HTML. Every figure can also be saved with [`Figure::save`]. Text is drawn in DejaVu
//! Sans, compiled into the library, so no system fonts are needed.
//!
//! ```no_run
//! # use notebook_kit::display::*;
//! # fn cell(x_train: &tch::Tensor, y_train: &tch::Tensor) -> notebook_kit::Result<Figure> {
//! let classes = ["airplane", "automobile", "bird", "cat", "deer",
//!                "dog", "frog", "horse", "ship", "truck"];
//! plot_samples(x_train, y_train, &classes, 0..5)   // five captioned images, one figure
//! # }
//! ```

mod bars;
mod colors;
mod confusion;
mod evcxr;
mod figure;
mod font;
mod history;
mod html;
mod prediction;
mod samples;
mod tensors;

pub(crate) use bars::{grouped_bars, Series};
pub(crate) use colors::{BLUE as SERIES_BLUE, ORANGE as SERIES_ORANGE};
pub(crate) use html::escape as escape_html;

pub use confusion::{confusion_matrix, plot_confusion_matrix};
pub use figure::Figure;
pub use history::plot_history;
pub use html::Html;
pub use prediction::plot_prediction;
pub use samples::{plot_sample, plot_sample_with, plot_samples};
