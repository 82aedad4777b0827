//! What `timeit!` measured: IPython's `TimeitResult`.

use std::fmt;

use super::format::{format_time, fsum};
use crate::error::{Error, Result};
use crate::numbers::thousands;

/// The runs of one `timeit!`, like IPython's `TimeitResult` (`%timeit -o`).
///
/// `Display` is the line `%timeit` prints, e.g.
/// `1.23 ms ± 37.4 μs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)`;
/// `Debug` is IPython's `<TimeitResult : ...>`. All times are in seconds.
#[derive(Clone, PartialEq)]
pub struct Timing {
    loops: u64,
    run_seconds: Vec<f64>,
    per_loop: Vec<f64>,
    precision: usize,
}

impl Timing {
    /// A timing from the total seconds of each run, each run being `loops` loops.
    /// Useful to compare measurements taken elsewhere, e.g. a `History`'s epoch times.
    pub fn new(loops: u64, run_seconds: Vec<f64>) -> Result<Timing> {
        if loops == 0 {
            return Err(Error::invalid("a timing needs at least one loop per run"));
        }
        if run_seconds.is_empty() {
            return Err(Error::invalid("a timing needs at least one run"));
        }
        if let Some(bad) = run_seconds.iter().find(|s| !s.is_finite() || **s < 0.0) {
            return Err(Error::invalid(format!(
                "run times must be finite and >= 0 seconds, got {bad}"
            )));
        }
        Ok(Timing::from_checked(loops, run_seconds))
    }

    /// For callers that guarantee what [`Timing::new`] checks.
    pub(super) fn from_checked(loops: u64, run_seconds: Vec<f64>) -> Timing {
        let per_loop = run_seconds.iter().map(|s| s / loops as f64).collect();
        Timing {
            loops,
            run_seconds,
            per_loop,
            precision: 3,
        }
    }

    /// Significant digits when printed (IPython's `-p`, default 3; at least 1).
    pub fn with_precision(mut self, precision: usize) -> Timing {
        self.precision = precision.max(1);
        self
    }

    /// Loops per run (IPython's `-n`, or what autoranging chose).
    pub fn loops(&self) -> u64 {
        self.loops
    }

    /// Number of runs (IPython's `-r`).
    pub fn runs(&self) -> usize {
        self.run_seconds.len()
    }

    /// Total seconds of each run (IPython's `all_runs`).
    pub fn run_seconds(&self) -> &[f64] {
        &self.run_seconds
    }

    /// Seconds per loop of each run (IPython's `timings`).
    pub fn per_loop(&self) -> &[f64] {
        &self.per_loop
    }

    /// Mean seconds per loop over the runs.
    pub fn mean(&self) -> f64 {
        fsum(self.per_loop.iter().copied()) / self.per_loop.len() as f64
    }

    /// Population standard deviation of the per-loop times, as IPython computes it.
    pub fn std(&self) -> f64 {
        let mean = self.mean();
        (fsum(self.per_loop.iter().map(|x| (x - mean) * (x - mean))) / self.per_loop.len() as f64)
            .powf(0.5)
    }

    /// Fastest run's seconds per loop.
    pub fn best(&self) -> f64 {
        self.per_loop.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// Slowest run's seconds per loop.
    pub fn worst(&self) -> f64 {
        self.per_loop.iter().copied().fold(0.0, f64::max)
    }

    pub fn precision(&self) -> usize {
        self.precision
    }

    /// IPython's warning line when the slowest run took over 4 times the fastest (often a
    /// sign of caching, or here of a first CUDA call that loads kernels).
    pub fn warning(&self) -> Option<String> {
        let (best, worst) = (self.best(), self.worst());
        (worst > 4.0 * best && best > 0.0 && worst > 1e-6).then(|| {
            format!(
                "The slowest run took {:.2} times longer than the fastest. \
                 This could mean that an intermediate result is being cached.",
                worst / best
            )
        })
    }

    /// Prints what `%timeit` prints: the warning if any, then the result line.
    pub fn print(&self) {
        if let Some(warning) = self.warning() {
            println!("{warning}");
        }
        println!("{self}");
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs = self.runs() as u64;
        write!(
            f,
            "{} \u{b1} {} per loop (mean \u{b1} std. dev. of {runs} run{}, {} loop{} each)",
            format_time(self.mean(), self.precision),
            format_time(self.std(), self.precision),
            plural(runs),
            thousands(self.loops as i64),
            plural(self.loops),
        )
    }
}

impl fmt::Debug for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<TimeitResult : {self}>")
    }
}
