//! The engine behind `timeit!`: when to read the clock, how many loops, how many runs.
//!
//! The macro pastes the timed block between [`Runner::next_run`] and [`Runner::end_run`],
//! so the block runs inline in the cell and the clock is read once per run, not per loop.

use std::cell::Cell;
use std::time::Instant;

use super::result::Timing;

/// IPython's autorange stops at the first loop count whose run takes this long.
const AUTORANGE_TARGET_SECONDS: f64 = 0.2;
/// IPython tries `10**index` loops for `index` in `0..10`.
const AUTORANGE_STEPS: u32 = 10;

thread_local! {
    static SYNC_HOOK: Cell<Option<fn()>> = const { Cell::new(None) };
}

/// Replaces, on this thread, the function that timers call to wait for the device before
/// each clock reading (by default [`crate::device::synchronize`]). `None` restores the
/// default. Returns the previous hook. Meant for tests, or for a backend of your own; in a
/// notebook it lasts for the cell that sets it (evcxr gives every cell its own copy of the crate).
pub fn set_sync_hook(hook: Option<fn()>) -> Option<fn()> {
    SYNC_HOOK.with(|h| h.replace(hook))
}

/// Waits for queued device work, so that the clock measures finished work: CUDA kernels
/// run asynchronously, and without this a GPU run would only time their launch.
fn sync() {
    match SYNC_HOOK.with(Cell::get) {
        Some(hook) => hook(),
        None => crate::device::synchronize(),
    }
}

/// Runs, loops and clock readings of one timing. Build it with the setters, then
/// `while let Some(loops) = runner.next_run() { for _ in 0..loops { ... } runner.end_run(); }`
/// and `runner.finish()`. Without [`Runner::loops`], the first runs calibrate the loop
/// count as IPython does; their times are not kept.
#[derive(Debug, Clone)]
pub struct Runner {
    /// `None` while calibrating.
    loops: Option<u64>,
    runs: usize,
    precision: usize,
    quiet: bool,
    calibration_step: u32,
    current_loops: u64,
    started: Option<Instant>,
    run_seconds: Vec<f64>,
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

impl Runner {
    /// IPython's defaults: loops chosen automatically, 7 runs, 3 significant digits.
    pub fn new() -> Runner {
        Runner {
            loops: None,
            runs: 7,
            precision: 3,
            quiet: false,
            calibration_step: 0,
            current_loops: 0,
            started: None,
            run_seconds: Vec::new(),
        }
    }

    /// Loops per run (IPython's `-n`); 0 means choose automatically, as in IPython.
    pub fn loops(mut self, loops: u64) -> Runner {
        self.loops = (loops > 0).then_some(loops);
        self
    }

    /// Number of runs (IPython's `-r`). A timing needs one run, so 0 counts as 1.
    pub fn runs(mut self, runs: usize) -> Runner {
        self.runs = runs.max(1);
        self
    }

    /// Significant digits when printed (IPython's `-p`).
    pub fn precision(mut self, precision: usize) -> Runner {
        self.precision = precision.max(1);
        self
    }

    /// Do not print the result line (IPython's `-q`).
    pub fn quiet(mut self, quiet: bool) -> Runner {
        self.quiet = quiet;
        self
    }

    /// Starts the next run: waits for the device, reads the clock, and returns how many
    /// loops to do. `None` once every run is done.
    pub fn next_run(&mut self) -> Option<u64> {
        let loops = match self.loops {
            Some(_) if self.run_seconds.len() >= self.runs => return None,
            Some(loops) => loops,
            None => 10u64.pow(self.calibration_step),
        };
        self.current_loops = loops;
        sync();
        self.started = Some(Instant::now());
        Some(loops)
    }

    /// Ends the run begun by [`Runner::next_run`]: waits for the device, reads the clock.
    pub fn end_run(&mut self) {
        sync();
        let Some(started) = self.started.take() else {
            return;
        };
        let seconds = started.elapsed().as_secs_f64();
        if self.loops.is_some() {
            self.run_seconds.push(seconds);
        } else if seconds >= AUTORANGE_TARGET_SECONDS
            || self.calibration_step + 1 >= AUTORANGE_STEPS
        {
            self.loops = Some(self.current_loops);
        } else {
            self.calibration_step += 1;
        }
    }

    /// The timing of the finished runs, printed like `%timeit` unless quiet.
    pub fn finish(self) -> Timing {
        let loops = self.loops.unwrap_or(1);
        // Empty only if `finish` came before any run: report zero rather than fail.
        let run_seconds = if self.run_seconds.is_empty() {
            vec![0.0]
        } else {
            self.run_seconds
        };
        let timing = Timing::from_checked(loops, run_seconds).with_precision(self.precision);
        if !self.quiet {
            timing.print();
        }
        timing
    }
}
