//! What a learner sees when libtorch fails: its message, without the "Exception raised
//! from ..." part and the C++ stack frames, both for kit errors (`Error::Torch`) and for
//! the panics of tch's non-`f_` methods. Real libtorch failures, no hand-made strings.
//!
//! The panic cases run in a child process (this test binary again, one test selected, with
//! `ERRORS_CHILD` naming the case) so that its stderr can be read.

use std::process::Command;

use notebook_kit::prelude::*;

const TRACE_MARKERS: [&str; 2] = ["Exception raised from", "frame #"];

/// A real libtorch error: viewing 6 numbers as 7x7.
fn view_error() -> tch::TchError {
    Tensor::zeros([2, 3], (Kind::Float, Device::Cpu))
        .f_view([7, 7])
        .unwrap_err()
}

#[test]
fn kit_errors_show_libtorchs_message_only() {
    let raw = view_error().to_string();
    assert!(
        raw.contains("Exception raised from"),
        "libtorch's own text has the trace: {raw}"
    );
    let kit: Error = view_error().into();
    let shown = kit.to_string();
    assert!(
        shown.contains("shape '[7, 7]' is invalid for input of size 6"),
        "{shown}"
    );
    for marker in TRACE_MARKERS {
        assert!(!shown.contains(marker), "{marker:?} in {shown}");
    }
    assert!(
        shown.contains("NOTEBOOK_KIT_FULL_ERRORS=1"),
        "says how to see more: {shown}"
    );
    // The whole text stays available for whoever needs it.
    assert!(format!("{kit:?}").contains("Exception raised from"));
}

/// The panicking cases, run in the child.
#[test]
fn panicking_child() {
    let Ok(case) = std::env::var("ERRORS_CHILD") else {
        return; // only meaningful when started by `panics_show_libtorchs_message_only`
    };
    notebook_kit::error::install_panic_hook();
    let x = Tensor::zeros([5, 3], (Kind::Float, Device::Cpu));
    match case.as_str() {
        "index" => drop(x.i(60000)),
        "matmul" => drop(x.matmul(&x)),
        _ => panic!("plain panic, not from libtorch"),
    }
}

fn child_stderr(case: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "panicking_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ERRORS_CHILD", case)
        .env_remove("NOTEBOOK_KIT_FULL_ERRORS")
        .output()
        .expect("the test binary runs");
    assert!(!out.status.success(), "case {case} should panic");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn panics_show_libtorchs_message_only() {
    for (case, message) in [
        (
            "index",
            "index 60000 out of range for tensor of size [5, 3]",
        ),
        ("matmul", "cannot be multiplied (5x3 and 5x3)"),
    ] {
        let stderr = child_stderr(case);
        assert!(stderr.contains("panicked at"), "{case}: {stderr}");
        assert!(stderr.contains("libtorch: "), "{case}: {stderr}");
        assert!(stderr.contains(message), "{case}: {stderr}");
        for marker in TRACE_MARKERS {
            assert!(!stderr.contains(marker), "{case}: {marker:?} in {stderr}");
        }
    }
    // Other panics keep Rust's own message.
    let other = child_stderr("other");
    assert!(other.contains("plain panic, not from libtorch"), "{other}");
}
