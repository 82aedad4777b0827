//! `timeit!`: IPython's `%timeit` for notebook cells.

/// Times a block like IPython's `%timeit`, prints IPython's line and returns a
/// [`Timing`](crate::timing::Timing).
///
/// ```text
/// timeit!({ block })                         // %timeit: loops chosen automatically, 7 runs
/// timeit!(n = 1, r = 1, { block })           // %timeit -n1 -r1
/// timeit!(n = 100, r = 5, p = 4, { block })  // -n, -r, -p in any order, each optional
/// timeit!(quiet, n = 10, { block })          // %timeit -q: measure, print nothing
/// let (value, timing) = timeit!(value, n = 1, r = 1, { block })
///                                            // also returns the block's last value
/// ```
///
/// The block runs inline in the cell, not in a closure: `?` inside it returns from the
/// cell, and it borrows the cell's variables as any code does. The macro itself uses `?`
/// too: Jupyter's Stop ends it after the current run with an `Err` (see
/// [`crate::interrupt`]), so it needs a cell or function that returns a `Result`. With `n = 1, r = 1`
/// written literally the block runs exactly once and may also move variables; otherwise it
/// runs in a loop. Without `n`, the loop count is chosen as IPython does: 1, 10, 100, ...
/// until a run takes at least 0.2 s (those calibration runs are not kept).
///
/// Before each clock reading, at the start and at the end of every run, the macro waits
/// for queued CUDA work ([`crate::device::synchronize`]), so GPU runs time finished work.
/// The clock is read once per run, not per loop.
///
/// In a notebook, bind the result (`let cpu_1 = timeit!(...);`) to keep it for a
/// [`Comparison`](crate::timing::Comparison). A cell that ends in the bare macro also shows
/// the returned value, `<TimeitResult : ...>`, as IPython does after `%timeit -o`.
///
/// ```no_run
/// # use notebook_kit::timeit;
/// # fn cell() -> notebook_kit::Result<()> {
/// let squares = timeit!(n = 1000, r = 7, { (0..1000u64).map(|i| i * i).sum::<u64>() });
/// // prints e.g. "612 ns ± 3.1 ns per loop (mean ± std. dev. of 7 runs, 1,000 loops each)"
/// let (total, once) = timeit!(value, n = 1, r = 1, { (0..10u64).sum::<u64>() });
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! timeit {
    // ---- options, munched left to right: [mode loops-state runs-state] [setters] ----
    (@parse [$mode:ident $ns:ident $rs:ident] [$($set:tt)*] value, $($rest:tt)+) => {
        $crate::timeit!(@parse [value $ns $rs] [$($set)*] $($rest)+)
    };
    (@parse [$mode:ident $ns:ident $rs:ident] [$($set:tt)*] quiet, $($rest:tt)+) => {
        $crate::timeit!(@parse [$mode $ns $rs] [$($set)* .quiet(true)] $($rest)+)
    };
    (@parse [$mode:ident $ns:ident $rs:ident] [$($set:tt)*] n = 1, $($rest:tt)+) => {
        $crate::timeit!(@parse [$mode once $rs] [$($set)* .loops(1)] $($rest)+)
    };
    (@parse [$mode:ident $ns:ident $rs:ident] [$($set:tt)*] n = $n:expr, $($rest:tt)+) => {
        $crate::timeit!(@parse [$mode many $rs] [$($set)* .loops($n)] $($rest)+)
    };
    (@parse [$mode:ident $ns:ident $rs:ident] [$($set:tt)*] r = 1, $($rest:tt)+) => {
        $crate::timeit!(@parse [$mode $ns once] [$($set)* .runs(1)] $($rest)+)
    };
    (@parse [$mode:ident $ns:ident $rs:ident] [$($set:tt)*] r = $r:expr, $($rest:tt)+) => {
        $crate::timeit!(@parse [$mode $ns many] [$($set)* .runs($r)] $($rest)+)
    };
    (@parse [$mode:ident $ns:ident $rs:ident] [$($set:tt)*] p = $p:expr, $($rest:tt)+) => {
        $crate::timeit!(@parse [$mode $ns $rs] [$($set)* .precision($p)] $($rest)+)
    };

    // ---- one run of one loop: no loop around the block, so it may move values ----
    (@parse [plain once once] [$($set:tt)*] $body:expr $(,)?) => {{
        let __nk_watch = $crate::interrupt::Watch::start();
        let mut __nk_runner = $crate::timing::Runner::new() $($set)*;
        let _ = __nk_runner.next_run();
        ::core::hint::black_box($body);
        __nk_runner.end_run();
        $crate::interrupt::check(&__nk_watch, "timeit!")?;
        __nk_runner.finish()
    }};
    (@parse [value once once] [$($set:tt)*] $body:expr $(,)?) => {{
        let __nk_watch = $crate::interrupt::Watch::start();
        let mut __nk_runner = $crate::timing::Runner::new() $($set)*;
        let _ = __nk_runner.next_run();
        let __nk_value = $body;
        __nk_runner.end_run();
        $crate::interrupt::check(&__nk_watch, "timeit!")?;
        (__nk_value, __nk_runner.finish())
    }};

    // ---- the general case ----
    (@parse [plain $ns:ident $rs:ident] [$($set:tt)*] $body:expr $(,)?) => {{
        let __nk_watch = $crate::interrupt::Watch::start();
        let mut __nk_runner = $crate::timing::Runner::new() $($set)*;
        while let ::core::option::Option::Some(__nk_loops) = __nk_runner.next_run() {
            for _ in 0..__nk_loops {
                ::core::hint::black_box($body);
            }
            __nk_runner.end_run();
            $crate::interrupt::check(&__nk_watch, "timeit!")?;
        }
        __nk_runner.finish()
    }};
    (@parse [value $ns:ident $rs:ident] [$($set:tt)*] $body:expr $(,)?) => {{
        let __nk_watch = $crate::interrupt::Watch::start();
        let mut __nk_runner = $crate::timing::Runner::new() $($set)*;
        let mut __nk_last = ::core::option::Option::None;
        while let ::core::option::Option::Some(__nk_loops) = __nk_runner.next_run() {
            for _ in 0..__nk_loops {
                __nk_last = ::core::option::Option::Some($body);
            }
            __nk_runner.end_run();
            $crate::interrupt::check(&__nk_watch, "timeit!")?;
        }
        let __nk_timing = __nk_runner.finish();
        match __nk_last {
            ::core::option::Option::Some(__nk_value) => (__nk_value, __nk_timing),
            ::core::option::Option::None => ::core::unreachable!("timeit! runs its block at least once"),
        }
    }};

    (@parse $($other:tt)*) => {
        ::core::compile_error!(
            "timeit!: expected options `value`, `quiet`, `n = ...`, `r = ...`, `p = ...` \
             separated by commas, then the `{ block }` to time"
        )
    };

    ($($args:tt)+) => {
        $crate::timeit!(@parse [plain auto auto] [] $($args)+)
    };
}
