//! `--json`: the report as machine-readable JSON, its schema spelled out as types.
//!
//! Each entry of `runs` carries the fields the Python baselines print too (implementation,
//! device, epochs, batch, seconds, loss, accuracy), so `benches/compare.sh` reads all three
//! the same way. JSON has no NaN: numbers that are not finite become `null`.

use notebook_kit::numbers::median;
use serde::Serialize;

use crate::bench::GemmRate;
use crate::cli::device_label;
use crate::report::{Report, Speedup, OVERHEAD_TARGET_SECONDS};

#[derive(Serialize)]
pub struct Json {
    tool: &'static str,
    version: &'static str,
    date: String,
    machine: MachineJson,
    config: ConfigJson,
    flops: FlopsJson,
    overhead: OverheadJson,
    devices: Vec<DeviceJson>,
    runs: Vec<RunJson>,
    speedup: Vec<Speedup>,
    inference: Vec<InferenceJson>,
    unavailable: Vec<UnavailableJson>,
}

/// The same fields as `benches/keras_lesson.py --tasks predict,evaluate` prints.
#[derive(Serialize)]
struct InferenceJson {
    implementation: &'static str,
    device: String,
    task: &'static str,
    batch: usize,
    samples: usize,
    seconds: f64,
    seconds_all: Vec<f64>,
    warmup_seconds: f64,
    loss: Option<f64>,
    accuracy: f64,
}

#[derive(Serialize)]
struct MachineJson {
    cpu_model: String,
    logical_cpus: usize,
    torch_threads: i32,
    cpu_matmul: Option<String>,
    load_average: String,
    gpus: Vec<GpuJson>,
    torch_version: Option<String>,
    tch_version: &'static str,
}

#[derive(Serialize)]
struct GpuJson {
    device: String,
    name: String,
    memory_bytes: Option<u64>,
}

#[derive(Serialize)]
struct ConfigJson {
    dataset: &'static str,
    model: &'static str,
    model_description: String,
    batch: usize,
    samples: usize,
    steps_per_epoch: usize,
    repeat: usize,
    data_dir: Option<String>,
}

#[derive(Serialize)]
struct FlopsJson {
    per_sample: f64,
    per_update: f64,
    per_epoch: f64,
}

#[derive(Serialize)]
struct OverheadJson {
    startup_seconds: Option<f64>,
    data_load_seconds: f64,
    preprocess_seconds: f64,
    total_seconds: f64,
    target_seconds: f64,
}

#[derive(Serialize)]
struct DeviceJson {
    device: String,
    name: String,
    warmup_seconds: f64,
    training_path: &'static str,
    transfer_seconds: f64,
    gemm: Option<GemmRate>,
}

#[derive(Serialize)]
struct RunJson {
    implementation: &'static str,
    device: String,
    device_name: String,
    epochs: usize,
    batch: usize,
    samples: usize,
    seconds: f64,
    seconds_min: f64,
    seconds_max: f64,
    seconds_all: Vec<f64>,
    ms_per_step: f64,
    samples_per_second: f64,
    gflops: f64,
    percent_of_peak: Option<f64>,
    loss: Option<f64>,
    accuracy: Option<f64>,
    warmup_seconds: f64,
}

#[derive(Serialize)]
struct UnavailableJson {
    device: String,
    reason: String,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl Json {
    pub fn of(report: &Report) -> Json {
        let (m, s, o) = (&report.machine, &report.setup, &report.overhead);
        let runs = report
            .rows()
            .iter()
            .map(|row| {
                let last = row.runs.last();
                RunJson {
                    implementation: "gpu-bench",
                    device: device_label(row.device.device),
                    device_name: row.device.name.clone(),
                    epochs: row.runs.epochs,
                    batch: s.batch_size,
                    samples: s.samples,
                    seconds: row.runs.median(),
                    seconds_min: row.runs.min(),
                    seconds_max: row.runs.max(),
                    seconds_all: row.runs.seconds(),
                    ms_per_step: row.ms_per_step,
                    samples_per_second: row.samples_per_second,
                    gflops: row.gflops,
                    percent_of_peak: row.percent_of_peak,
                    loss: last.and_then(|r| finite(r.loss)),
                    accuracy: last.and_then(|r| finite(r.accuracy)),
                    warmup_seconds: row.device.warmup_seconds,
                }
            })
            .collect();
        Json {
            tool: "gpu-bench",
            version: env!("CARGO_PKG_VERSION"),
            date: m.date.clone(),
            machine: MachineJson {
                cpu_model: m.cpu_model.clone(),
                logical_cpus: m.logical_cpus,
                torch_threads: m.torch_threads,
                load_average: m.load_average.clone(),
                gpus: m
                    .gpus
                    .iter()
                    .map(|g| GpuJson {
                        device: format!("cuda:{}", g.index),
                        name: g.name.clone(),
                        memory_bytes: g.memory_bytes,
                    })
                    .collect(),
                cpu_matmul: m.cpu_matmul.clone(),
                torch_version: m.torch_version.clone(),
                tch_version: m.tch_version,
            },
            config: ConfigJson {
                dataset: s.dataset,
                model: s.model,
                model_description: s.model_description.clone(),
                batch: s.batch_size,
                samples: s.samples,
                steps_per_epoch: s.steps(),
                repeat: s.repeat,
                data_dir: s.data_dir.as_ref().map(|p| p.display().to_string()),
            },
            flops: FlopsJson {
                per_sample: s.architecture.per_sample(),
                per_update: s.architecture.per_update(),
                per_epoch: s.flops_per_epoch(),
            },
            overhead: OverheadJson {
                startup_seconds: o.startup,
                data_load_seconds: o.data_load,
                preprocess_seconds: o.preprocess,
                total_seconds: o.total(),
                target_seconds: OVERHEAD_TARGET_SECONDS,
            },
            devices: report
                .devices
                .iter()
                .map(|d| DeviceJson {
                    device: device_label(d.device),
                    name: d.name.clone(),
                    warmup_seconds: d.warmup_seconds,
                    training_path: d.training_path.name(),
                    transfer_seconds: d.transfer_seconds,
                    gemm: d.gemm,
                })
                .collect(),
            runs,
            speedup: report.speedups(),
            inference: report
                .devices
                .iter()
                .flat_map(|d| {
                    d.inference.iter().map(|r| InferenceJson {
                        implementation: "gpu-bench",
                        device: device_label(d.device),
                        task: r.task,
                        batch: s.batch_size,
                        samples: r.samples,
                        seconds: median(&r.seconds),
                        seconds_all: r.seconds.clone(),
                        warmup_seconds: r.warmup_seconds,
                        loss: r.loss.and_then(finite),
                        accuracy: r.accuracy,
                    })
                })
                .collect(),
            unavailable: report
                .unavailable
                .iter()
                .map(|u| UnavailableJson {
                    device: device_label(u.device),
                    reason: u.reason.clone(),
                })
                .collect(),
        }
    }
}
