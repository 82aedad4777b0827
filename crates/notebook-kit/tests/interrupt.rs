//! Jupyter's Stop (SIGINT) during kit calls: `fit`, `evaluate`, `predict` and `timeit!`
//! stop between steps with an `Err`, the process and its variables survive, and the model
//! keeps what it learned; outside those calls SIGINT still ends the process.
//!
//! One test per process stage: a SIGINT that arrives while no kit call runs ends the test
//! process, so the signalled calls run one after another in a single test, and the
//! "outside" case in a child process.

use std::process::Command;
use std::time::Duration;

use notebook_kit::prelude::*;

/// Sends SIGINT to this process after `delay`, from another thread.
fn interrupt_after(delay: Duration) -> std::thread::JoinHandle<()> {
    let pid = std::process::id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
    })
}

fn data() -> (Tensor, Tensor) {
    tch::manual_seed(1);
    let x = Tensor::rand([2048, 8, 8, 3], (Kind::Float, Device::Cpu));
    let y = x.reshape([2048, 192]).narrow(1, 0, 10).argmax(-1, false);
    (x, y)
}

fn model() -> Result<Sequential> {
    let mut model = Sequential::new()
        .add(Flatten::new([8, 8, 3]))
        .add(Dense::new(256, Relu))
        .add(Dense::new(10, Softmax))
        .build(Device::Cpu)?;
    model.compile(Adam::default(), SparseCategoricalCrossentropy, Accuracy)?;
    Ok(model)
}

#[test]
fn stop_ends_kit_calls_with_an_error_and_keeps_everything() -> Result<()> {
    let (x, y) = data();
    let mut model = model()?;

    // fit: thousands of epochs, stopped after a quarter of a second.
    let signal = interrupt_after(Duration::from_millis(250));
    let err = model
        .fit(&x, &y, Fit::epochs(10_000).verbose(0))
        .expect_err("fit should be interrupted");
    signal.join().unwrap();
    let message = err.to_string();
    assert!(matches!(err, Error::Interrupted(_)), "{err:?}");
    assert!(
        message.contains("interrupted at epoch") && message.contains("/10000, step"),
        "{message}"
    );
    assert!(message.contains("keeps the weights"), "{message}");
    let finished = model.history().epochs();
    assert!(
        message.contains(&format!("the {finished} finished epoch(s)")),
        "{message}"
    );
    // The model is still there, trained, and usable.
    let (loss, accuracy) = model.evaluate_with(&x, &y, Eval::default().verbose(0))?;
    assert!(loss.is_finite() && (0.0..=1.0).contains(&accuracy));

    // A Stop that arrived during the last call does not stop the next one.
    model.fit(&x, &y, Fit::epochs(1).verbose(0))?;
    assert_eq!(model.history().epochs(), 1);

    // predict through 102,400 samples with a wide model (seconds), stopped part-way.
    let wide = Sequential::new()
        .add(Flatten::new([8, 8, 3]))
        .add(Dense::new(4096, Relu))
        .add(Dense::new(4096, Relu))
        .add(Dense::new(10, Softmax))
        .build(Device::Cpu)?;
    let many = x.repeat([50, 1, 1, 1]);
    let signal = interrupt_after(Duration::from_millis(100));
    let err = wide
        .predict_with(&many, Predict::default().verbose(0))
        .expect_err("predict should be interrupted");
    signal.join().unwrap();
    // Counted in Keras's batches of 32 (3200 of them), done eight at a time.
    let message = err.to_string();
    let (done, steps) = message
        .strip_prefix("predict interrupted after batch ")
        .and_then(|rest| rest.split_once(';'))
        .and_then(|(count, _)| count.split_once('/'))
        .unwrap_or_else(|| panic!("{message}"));
    assert_eq!(steps, "3200", "{message}");
    let done: usize = done.parse().expect("a batch count");
    assert!(done > 0 && done < 3200 && done % 8 == 0, "{message}");

    // timeit! with a plain Rust loop: the run finishes, then the macro stops with an Err.
    let timed = || -> Result<u64> {
        let signal = interrupt_after(Duration::from_millis(50));
        let (total, _) = timeit!(value, quiet, n = 1, r = 1000, {
            std::thread::sleep(Duration::from_millis(20));
            7u64
        });
        signal.join().unwrap();
        Ok(total)
    };
    let err = timed().expect_err("timeit! should stop");
    assert!(
        err.to_string()
            .starts_with("timeit! stopped by an interrupt"),
        "{err}"
    );
    Ok(())
}

/// Outside kit calls, SIGINT keeps its default action (a terminal's Ctrl+C), except under
/// the patched kernel (`EVCXR_SIGINT_GRACE_MS` set), which kills running code itself after
/// its grace period: there the process must survive a Stop that comes while nothing runs.
#[test]
fn outside_kit_calls_sigint_ends_the_process_unless_the_kernel_kills_later() {
    if std::env::var("INTERRUPT_CHILD").is_ok() {
        let _ = Sequential::new(); // the kit is in use, its handler installed
        let _ = notebook_kit::interrupt::Watch::start(); // and dropped at once
        let pid = std::process::id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        std::thread::sleep(Duration::from_secs(1));
        println!("still alive");
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    let child = |grace: Option<&str>| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "outside_kit_calls_sigint_ends_the_process_unless_the_kernel_kills_later",
            ])
            .arg("--nocapture")
            .env("INTERRUPT_CHILD", "1")
            .env_remove("EVCXR_SIGINT_GRACE_MS");
        if let Some(ms) = grace {
            command.env("EVCXR_SIGINT_GRACE_MS", ms);
        }
        command.output().unwrap()
    };
    let terminal = child(None);
    assert_eq!(terminal.status.signal(), Some(2), "{terminal:?}");
    assert!(!String::from_utf8_lossy(&terminal.stdout).contains("still alive"));
    let kernel = child(Some("3000"));
    assert!(kernel.status.success(), "{kernel:?}");
    assert!(String::from_utf8_lossy(&kernel.stdout).contains("still alive"));
}
