//! `timeit!`: IPython's `%timeit` for notebook cells, and the lesson's CPU-vs-GPU table.
//!
//! ```no_run
//! # use notebook_kit::prelude::*;
//! # fn train_one_epoch(_: Device) -> Result<()> { Ok(()) }
//! # fn cell() -> Result<()> {
//! // %timeit -n1 -r1 cpu_train()
//! let cpu_1 = timeit!(n = 1, r = 1, { train_one_epoch(Device::Cpu)?; });
//! // prints e.g. "44.5 s ± 0 ns per loop (mean ± std. dev. of 1 run, 1 loop each)"
//! let mut results = Comparison::new();
//! results.add("1 epoch", Device::Cpu, &cpu_1);
//! # Ok(()) }
//! ```
//!
//! The printed line is IPython's, digit for digit: same units, precision, `±` and plural
//! rules, computed with the same exact sum ([`format_time`] is IPython's `_format_time`).

mod comparison;
mod format;
mod macros;
mod result;
mod runner;

pub use comparison::{Comparison, Entry};
pub use format::format_time;
pub use result::Timing;
pub use runner::{set_sync_hook, Runner};
