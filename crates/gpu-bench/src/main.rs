//! `gpu-bench`: the lesson's CPU-vs-GPU training benchmark as one command.
//!
//! The lesson (Keras, "small image classification with an ANN: GPU benchmarking") times
//! one and ten epochs of a 3072-3000-1000-10 network on CIFAR-10 on the CPU and on a GPU.
//! This command does the same with notebook-kit's `Sequential`, and adds what the lesson
//! leaves out: repeats, per-step cost, achieved FLOP rate against the device's own matmul
//! rate, and the command's overhead. See `gpu-bench --help`, and `benches/` for the
//! Keras and PyTorch reference runs.

mod bench;
mod cli;
mod flops;
mod json;
mod machine;
mod report;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use notebook_kit::data::{cifar10, fashion_mnist};
use notebook_kit::files;
use tch::Device;

use bench::{DeviceData, ModelSpec};
use cli::{device_label, Dataset, Options, EXIT_USAGE};
use machine::Machine;
use report::{DeviceResult, EpochRuns, Overhead, Report, Setup, Unavailable};

/// Exit statuses, documented in `--help`.
const EXIT_FAILED: u8 = 1;
const EXIT_DEVICE_UNAVAILABLE: u8 = 2;

fn main() -> ExitCode {
    // First thing: how long the process took to get here is the start-up overhead.
    let startup = machine::process_age();
    let options = match Options::parse_args(std::env::args_os().skip(1)) {
        Ok(options) => options,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(&options, startup) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gpu-bench: error: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// The benchmark; an error means exit status 1.
fn run(options: &Options, startup: Option<f64>) -> Result<ExitCode> {
    // Output paths are checked before minutes of training, not after.
    for (flag, path) in [("--json", &options.json), ("--chart", &options.chart)] {
        if let Some(path) = path {
            files::check_writable(path)
                .with_context(|| format!("cannot write the {flag} output"))?;
        }
    }

    let (devices, unavailable) = usable_devices(options);
    for u in &unavailable {
        eprintln!(
            "gpu-bench: {} is not available: {}",
            device_label(u.device),
            u.reason
        );
    }
    if !unavailable.is_empty() && !devices.is_empty() {
        eprintln!("gpu-bench: the other devices still run; the exit status will be {EXIT_DEVICE_UNAVAILABLE}");
    }
    if devices.is_empty() {
        eprintln!("gpu-bench: none of the requested devices is available; nothing to run");
        return Ok(ExitCode::from(EXIT_DEVICE_UNAVAILABLE));
    }

    let spec = ModelSpec::new(options.model(), options.dataset).context("building the model")?;
    let load_started = Instant::now();
    let ((x, y), (x_test, y_test)) = load_data(options)?;
    let data_load = load_started.elapsed().as_secs_f64();

    let preprocess_started = Instant::now();
    let (x, y) = spec.prepare(&x, &y).context("preparing the data")?;
    let preprocess = preprocess_started.elapsed().as_secs_f64();
    // Only for --inference, and not part of the overhead the header reports.
    let test = match options.inference {
        Some(_) => Some(
            spec.prepare(&x_test, &y_test)
                .context("preparing the test data")?,
        ),
        None => None,
    };

    let mut report = Report {
        machine: Machine::inspect(),
        setup: Setup {
            dataset: options.dataset.name(),
            model: spec.kind.name(),
            model_description: spec.description.clone(),
            architecture: spec.architecture.clone(),
            batch_size: options.batch_size,
            samples: x.size()[0] as usize,
            repeat: options.repeat,
            data_dir: options.data.clone(),
        },
        overhead: Overhead {
            startup,
            data_load,
            preprocess,
        },
        devices: Vec::new(),
        unavailable,
    };
    print!("{}", report.header());
    let _ = std::io::stdout().flush();

    for device in devices {
        let result = bench_device(options, &spec, (&x, &y), test.as_ref(), device)
            .with_context(|| device_label(device))?;
        report.devices.push(result);
    }

    println!();
    print!("{}", report.table());
    let _ = std::io::stdout().flush();

    if let Some(path) = &options.json {
        let mut text =
            serde_json::to_vec_pretty(&json::Json::of(&report)).context("encoding JSON")?;
        text.push(b'\n');
        files::write_atomically(path, &text).context("cannot write the --json output")?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &options.chart {
        let figure = report.chart().context("drawing the chart")?;
        figure.save(path).context("saving the chart")?;
        println!("wrote {}", path.display());
    }

    Ok(if report.unavailable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DEVICE_UNAVAILABLE)
    })
}

/// The requested devices split into those usable here and those not (with the reason).
/// Without `--devices`: the CPU, and the first GPU if there is one.
fn usable_devices(options: &Options) -> (Vec<Device>, Vec<Unavailable>) {
    let requested = options.devices().unwrap_or_else(|| {
        let mut all = vec![Device::Cpu];
        if notebook_kit::device::cuda_is_available() {
            all.push(Device::Cuda(0));
        }
        all
    });
    let mut usable = Vec::new();
    let mut unavailable = Vec::new();
    for device in requested {
        match notebook_kit::device::require(device) {
            Ok(device) => usable.push(device),
            Err(e) => unavailable.push(Unavailable {
                device,
                reason: e.to_string(),
            }),
        }
    }
    (usable, unavailable)
}

type Split = (tch::Tensor, tch::Tensor);

/// The training split as loaded (`u8` pixels, labels), cut to `--limit` samples, and the
/// test split whole.
fn load_data(options: &Options) -> Result<(Split, Split)> {
    let loaded = match (options.dataset, &options.data) {
        (Dataset::Cifar10, Some(dir)) => cifar10::load_data_from(dir),
        (Dataset::Cifar10, None) => cifar10::load_data(),
        (Dataset::FashionMnist, Some(dir)) => fashion_mnist::load_data_from(dir),
        (Dataset::FashionMnist, None) => fashion_mnist::load_data(),
    };
    let ((x, y), test) = loaded.with_context(|| format!("loading {}", options.dataset.name()))?;
    let available = x.size()[0] as usize;
    let samples = match options.limit {
        Some(limit) if limit > available => {
            eprintln!("gpu-bench: --limit {limit} is more than the {available} training samples; using all of them");
            available
        }
        Some(limit) => limit,
        None => available,
    };
    let cut = |t: &tch::Tensor| {
        t.f_narrow(0, 0, samples as i64)
            .context("selecting samples")
    };
    Ok(((cut(&x)?, cut(&y)?), test))
}

/// Warm-up, matmul rate and the timed runs on one device. Progress goes to stderr, so
/// stdout holds only the header and the results.
fn bench_device(
    options: &Options,
    spec: &ModelSpec,
    (x, y): (&tch::Tensor, &tch::Tensor),
    test: Option<&Split>,
    device: Device,
) -> notebook_kit::Result<DeviceResult> {
    let label = device_label(device);
    // The data move to the device once; every run below reuses them.
    let data = DeviceData::to_device(x, y, device)?;

    let gemm_size = options
        .gemm_size
        .map(i64::from)
        .unwrap_or(if device == Device::Cpu { 4096 } else { 8192 });
    let gemm = match gemm_size {
        0 => None,
        size => {
            let rate = bench::measure_gemm(device, size)?;
            eprintln!(
                "{label}: fp32 matmul {size}\u{b3}: {:.1} GFLOP/s",
                rate.gflops
            );
            Some(rate)
        }
    };

    let warm_up = bench::warm_up(spec, &data, options.batch_size)?;
    eprintln!(
        "{label}: warm-up step {:.3} s ({})",
        warm_up.seconds, warm_up.training_path
    );

    let mut results = Vec::new();
    for epochs in options.epochs() {
        let mut runs = Vec::new();
        for i in 1..=options.repeat {
            let run = bench::timed_fit(spec, &data, epochs, options.batch_size)?;
            eprintln!(
                "{label}: {epochs} epoch(s) of {} samples, run {i}/{}: {:.2} s (loss {:.4}, accuracy {:.4})",
                data.samples(),
                options.repeat,
                run.seconds,
                run.loss,
                run.accuracy
            );
            runs.push(run);
        }
        results.push(EpochRuns { epochs, runs });
    }
    let inference = match (options.inference, test) {
        (Some(repeat), Some((x_test, y_test))) => {
            let test_data = DeviceData::to_device(x_test, y_test, device)?;
            let runs = bench::time_inference(spec, &test_data, repeat, options.batch_size)?;
            for r in &runs {
                eprintln!(
                    "{label}: {} of {} test images: {:?} s",
                    r.task, r.samples, r.seconds
                );
            }
            runs
        }
        _ => Vec::new(),
    };
    Ok(DeviceResult {
        device,
        name: notebook_kit::device::describe(device),
        transfer_seconds: data.transfer_seconds,
        warmup_seconds: warm_up.seconds,
        training_path: warm_up.training_path,
        gemm,
        results,
        inference,
    })
}
