//! How fast figures render and how much `timeit!` itself costs.
//!
//! ```text
//! cargo run -p notebook-kit --release --example display_bench [-- --save DIR]
//! ```
//! Prints the median of many repetitions for each case. Targets: one sample <= 20 ms,
//! a 5x5 grid <= 100 ms, timeit overhead <= 1 µs per loop. With `--save DIR` it also
//! writes every kind of figure to DIR as PNG, to look at.

use std::time::Instant;

use notebook_kit::display::{
    confusion_matrix, plot_confusion_matrix, plot_history, plot_prediction, plot_sample,
    plot_sample_with, plot_samples, Figure,
};
use notebook_kit::model::History;
use notebook_kit::numbers::median;
use notebook_kit::timeit;
use notebook_kit::timing::{Comparison, Timing};
use notebook_kit::Result;
use tch::{Device, Kind, Tensor};

use notebook_kit::data::cifar10::CLASSES;

fn main() -> Result<()> {
    let save_dir = std::env::args().skip_while(|a| a != "--save").nth(1);
    let (x, y) = cifar_like(100);

    // The first figure registers the font; keep that out of the medians.
    plot_sample(&x, 0)?.to_png()?;

    report("plot_sample (render)", 50, || plot_sample(&x, 7).map(drop))?;
    report("plot_sample + to_png", 50, || {
        plot_sample(&x, 7)?.to_png().map(drop)
    })?;
    report("plot_sample_with caption", 50, || {
        plot_sample_with(&x, &y, &CLASSES, 7).map(drop)
    })?;
    report("5x5 grid (render)", 20, || {
        plot_samples(&x, &y, &CLASSES, 0..25).map(drop)
    })?;
    report("5x5 grid + to_png", 20, || {
        plot_samples(&x, &y, &CLASSES, 0..25)?.to_png().map(drop)
    })?;

    // timeit!'s own cost: an empty block, a million loops per run.
    let empty = timeit!(quiet, n = 1_000_000, r = 7, {});
    println!(
        "{:<28} median {:>9.3} ns per loop",
        "timeit! overhead",
        median(empty.per_loop()) * 1e9
    );
    // Per run it also waits for the device and reads the clock twice.
    let per_run = timeit!(quiet, n = 1, r = 1000, {});
    println!(
        "{:<28} median {:>9.3} µs per run",
        "timeit! per-run cost",
        median(per_run.per_loop()) * 1e6
    );

    if let Some(dir) = save_dir {
        save_all(std::path::Path::new(&dir), &x, &y)?;
    }
    Ok(())
}

/// Runs `f` `times` times and prints the median wall time.
fn report(name: &str, times: usize, mut f: impl FnMut() -> Result<()>) -> Result<()> {
    let mut seconds = Vec::with_capacity(times);
    for _ in 0..times {
        let start = Instant::now();
        f()?;
        seconds.push(start.elapsed().as_secs_f64());
    }
    println!("{name:<28} median {:>9.3} ms", median(&seconds) * 1e3);
    Ok(())
}

/// CIFAR-10-shaped data without a download: smooth colour patterns, labels 0..9.
fn cifar_like(n: i64) -> (Tensor, Tensor) {
    let opts = (Kind::Float, Device::Cpu);
    let ramp = Tensor::arange(32, opts) / 31.0;
    let rows = ramp.view([1, 32, 1, 1]).expand([n, 32, 32, 1], false);
    let cols = ramp.view([1, 1, 32, 1]).expand([n, 32, 32, 1], false);
    let phase = (Tensor::arange(n, opts) / n as f64).view([n, 1, 1, 1]);
    let r = (&rows * 6.0 + &phase * 6.0).sin() * 0.5 + 0.5;
    let g = (&cols * 6.0 - &phase * 3.0).cos() * 0.5 + 0.5;
    let b = (&rows + &cols + &phase).sin().abs();
    let x = (Tensor::cat(&[r, g, b], 3) * 255.0).to_kind(Kind::Uint8);
    let y = (Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(10))
        .view([n, 1])
        .to_kind(Kind::Uint8);
    (x, y)
}

fn save_all(dir: &std::path::Path, x: &Tensor, y: &Tensor) -> Result<()> {
    let grey = x
        .to_kind(Kind::Float)
        .mean_dim(Some(&[3i64][..]), false, Kind::Float)
        .narrow(1, 2, 28)
        .narrow(2, 2, 28)
        / 255.0;
    let probs = Tensor::from_slice(&[
        0.02f32, 0.01, 0.05, 0.55, 0.02, 0.25, 0.04, 0.03, 0.02, 0.01,
    ])
    .view([1, 10])
    .repeat([x.size()[0], 1]);
    let history = History {
        loss: vec![1.81, 1.62, 1.54, 1.48, 1.43],
        accuracy: vec![0.36, 0.43, 0.46, 0.48, 0.50],
        val_loss: vec![1.70, 1.60, 1.58, 1.52, 1.55],
        val_accuracy: vec![0.40, 0.44, 0.45, 0.47, 0.46],
        epoch_seconds: vec![3.1, 3.0, 3.0, 3.0, 3.1],
    };
    let y_pred = (y.to_kind(Kind::Int64) * 7 + 1).remainder(10);
    let matrix = confusion_matrix(y, &y_pred, 10)?;
    let mut results = Comparison::new();
    results.add_described(
        "1 epoch",
        Device::Cpu,
        "Intel Xeon (2 threads)",
        &Timing::new(1, vec![44.5])?,
    );
    results.add_described(
        "1 epoch",
        Device::Cuda(0),
        "NVIDIA H100 80GB HBM3",
        &Timing::new(1, vec![1.9])?,
    );
    results.add_described(
        "10 epochs",
        Device::Cpu,
        "Intel Xeon (2 threads)",
        &Timing::new(1, vec![452.0])?,
    );
    results.add_described(
        "10 epochs",
        Device::Cuda(0),
        "NVIDIA H100 80GB HBM3",
        &Timing::new(1, vec![17.3])?,
    );

    let figures: [(&str, Figure); 8] = [
        ("sample.png", plot_sample(x, 3)?),
        ("sample_with.png", plot_sample_with(x, y, &CLASSES, 1)?),
        ("samples_row.png", plot_samples(x, y, &CLASSES, 0..5)?),
        ("samples_grid.png", plot_samples(x, y, &CLASSES, 0..25)?),
        ("fashion_sample.png", plot_sample(&grey, 0)?),
        (
            "prediction.png",
            plot_prediction(x, y, &probs, &CLASSES, 3)?,
        ),
        ("history.png", plot_history(&history)?),
        ("confusion.png", plot_confusion_matrix(&matrix, &CLASSES)?),
    ];
    for (name, figure) in figures {
        figure.save(dir.join(name))?;
    }
    results.chart()?.save(dir.join("comparison.png"))?;
    println!("{results}");
    println!("figures saved in {}", dir.display());
    Ok(())
}
