//! Jupyter's Stop button during a long kit call: stop between two steps with an `Err`, and
//! keep the process (and so every variable of the notebook) alive.
//!
//! A patched kernel (this repository's evcxr patch, see `patches/`) sends SIGINT to the
//! cell's process on an interrupt request and kills it only if the cell has not finished a
//! few seconds later. While a kit call that checks for it runs (`fit`, `evaluate`,
//! `predict`, `timeit!`), SIGINT only raises a flag, which the call reads between steps.
//! At any other moment:
//! - under the patched kernel (it sets `EVCXR_SIGINT_GRACE_MS`), SIGINT is ignored: plain
//!   code still running is killed after the grace period, as the "as before" asks,
//!   and a Stop pressed while a cell compiles (nothing runs) no longer ends the process;
//! - anywhere else (a terminal, an unpatched kernel) SIGINT does what it always did, ending
//!   the process; so a terminal's Ctrl+C stops gpu-bench at once, or cleanly during a run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use signal_hook::consts::SIGINT;

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// How many kit calls that check the flag are running (they may nest: `fit` in `timeit!`).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let kernel_kills_later = std::env::var_os("EVCXR_SIGINT_GRACE_MS").is_some();
        // SAFETY: the handler only reads and writes atomics, and otherwise asks
        // signal-hook to run the default action, which is async-signal-safe.
        let registered = unsafe {
            signal_hook::low_level::register(SIGINT, move || {
                if ACTIVE.load(Ordering::SeqCst) > 0 {
                    REQUESTED.store(true, Ordering::SeqCst);
                } else if !kernel_kills_later {
                    let _ = signal_hook::low_level::emulate_default_handler(SIGINT);
                }
            })
        };
        // Without the handler, SIGINT keeps its default action: nothing is lost but the
        // graceful stop, so a failure here is not worth failing the call for.
        let _ = registered;
    });
}

/// Marks a running call that reads the flag between its steps (kit calls, `timeit!`);
/// dropping it ends the call.
#[must_use]
pub struct Watch(());

impl Watch {
    pub fn start() -> Watch {
        install();
        if ACTIVE.fetch_add(1, Ordering::SeqCst) == 0 {
            // A Stop pressed before this call does not stop it.
            REQUESTED.store(false, Ordering::SeqCst);
        }
        Watch(())
    }

    /// Whether Stop was pressed since the outermost call began.
    pub fn requested(&self) -> bool {
        REQUESTED.load(Ordering::SeqCst)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `Err(Error::Interrupted)` saying `what` was stopped, when Stop was pressed; used by
/// `timeit!` between runs.
pub fn check(watch: &Watch, what: &str) -> Result<()> {
    match watch.requested() {
        true => Err(Error::Interrupted(format!(
            "{what} stopped by an interrupt; the variables of the notebook are kept"
        ))),
        false => Ok(()),
    }
}
