//! `timeit!` runs its block inline, as many times as asked, and waits for the device at
//! both ends of every run. No assertion here depends on how fast the machine is.

use std::cell::RefCell;

use notebook_kit::timeit;
use notebook_kit::timing::set_sync_hook;
use notebook_kit::Result;

thread_local! {
    /// What happened, in order: 'S' for a device sync, 'B' for one execution of the block.
    static EVENTS: RefCell<String> = const { RefCell::new(String::new()) };
}

fn record(event: char) {
    EVENTS.with(|e| e.borrow_mut().push(event));
}

fn record_sync() {
    record('S');
}

/// Runs `f` with the counting sync hook, returning the events it produced.
fn events_of(f: impl FnOnce() -> Result<()>) -> String {
    EVENTS.with(|e| e.borrow_mut().clear());
    let previous = set_sync_hook(Some(record_sync));
    f().expect("timeit! runs");
    set_sync_hook(previous);
    EVENTS.with(|e| e.borrow().clone())
}

#[test]
fn syncs_before_and_after_every_run() {
    let events = events_of(|| {
        let timing = timeit!(n = 3, r = 2, { record('B') });
        assert_eq!((timing.loops(), timing.runs()), (3, 2));
        Ok(())
    });
    assert_eq!(events, "SBBBSSBBBS");
}

#[test]
fn one_loop_one_run_syncs_both_ends() {
    let events = events_of(|| {
        timeit!(n = 1, r = 1, { record('B') });
        Ok(())
    });
    assert_eq!(events, "SBS");
}

#[test]
fn options_in_any_order() {
    let events = events_of(|| {
        let timing = timeit!(r = 4, quiet, p = 5, n = 2, { record('B') });
        assert_eq!(
            (timing.loops(), timing.runs(), timing.precision()),
            (2, 4, 5)
        );
        Ok(())
    });
    assert_eq!(events.matches('B').count(), 8);
    assert_eq!(events.matches('S').count(), 8);
}

#[test]
fn zero_runs_means_one() -> Result<()> {
    let timing = timeit!(quiet, n = 2, r = 0, {});
    assert_eq!((timing.loops(), timing.runs()), (2, 1));
    Ok(())
}

#[test]
fn a_plain_expression_can_be_timed() -> Result<()> {
    let data: Vec<u64> = (0..100).collect();
    let timing = timeit!(quiet, n = 10, r = 3, data.iter().sum::<u64>());
    assert_eq!(timing.per_loop().len(), 3);
    Ok(())
}

/// The block is not a closure: `?` leaves the enclosing function at once.
fn fails_on_third_loop(executed: &mut u32) -> Result<(), Box<dyn std::error::Error>> {
    timeit!(quiet, n = 5, r = 2, {
        *executed += 1;
        if *executed == 3 {
            Err("third loop failed".to_string())?;
        }
    });
    Ok(())
}

#[test]
fn question_mark_returns_from_the_cell() {
    let mut executed = 0;
    let failed = fails_on_third_loop(&mut executed).unwrap_err();
    assert_eq!(failed.to_string(), "third loop failed");
    assert_eq!(executed, 3);
}

#[test]
fn value_form_returns_the_last_loops_value() -> Result<()> {
    let mut counter = 0;
    let (last, timing) = timeit!(value, quiet, n = 4, r = 2, {
        counter += 1;
        counter
    });
    assert_eq!(last, 8);
    assert_eq!((timing.loops(), timing.runs()), (4, 2));
    Ok(())
}

#[test]
fn one_shot_may_move_values() -> Result<()> {
    // With `n = 1, r = 1` written out, the block is not in a loop, so it may consume `data`,
    // as `model = get_model(); model.fit(...)` would in the lesson.
    let data = vec![1, 2, 3];
    let (total, timing) = timeit!(value, n = 1, r = 1, {
        let owned: Vec<i32> = data;
        owned.into_iter().sum::<i32>()
    });
    assert_eq!(total, 6);
    assert_eq!((timing.loops(), timing.runs()), (1, 1));
    let consumed = String::from("moved");
    let timing = timeit!(quiet, n = 1, r = 1, { drop(consumed) });
    assert_eq!(timing.runs(), 1);
    Ok(())
}

#[test]
fn automatic_loops_follow_ipython() -> Result<()> {
    // IPython tries 1, 10, 100, ... loops until a run takes 0.2 s, then does 7 runs (here
    // 2) of that many. A 25 ms block reaches 0.2 s at 10 loops at the latest; a very slow
    // machine could reach it at 1. Either way every execution is accounted for.
    let mut executed = 0u64;
    let timing = timeit!(quiet, r = 2, {
        executed += 1;
        std::thread::sleep(std::time::Duration::from_millis(25));
    });
    let calibration = match timing.loops() {
        10 => 1 + 10,
        1 => 1,
        other => panic!("autorange chose {other} loops"),
    };
    assert_eq!(timing.runs(), 2);
    assert_eq!(executed, calibration + 2 * timing.loops());
    // Each kept run lasted at least its loops' sleeping time.
    for seconds in timing.run_seconds() {
        assert!(*seconds >= 0.025 * timing.loops() as f64);
    }
    Ok(())
}

#[test]
fn the_default_hook_is_restored() -> Result<()> {
    let previous = set_sync_hook(None);
    assert!(previous.is_none());
    // With no hook, timers call notebook_kit::device::synchronize(): a no-op without CUDA.
    let timing = timeit!(quiet, n = 1, r = 2, {});
    assert_eq!(timing.runs(), 2);
    Ok(())
}
