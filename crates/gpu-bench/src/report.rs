//! What a run found, as a text table, as JSON, and as a chart; and writing files safely.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use notebook_kit::display::Figure;
use notebook_kit::timing::{Comparison, Timing};
use serde_json::{json, Value};
use tch::Device;

use crate::bench::{GemmRate, Run, GEMM_TRIES};
use crate::cli::device_label;
use crate::flops::{steps_per_epoch, Architecture};
use crate::machine::Machine;

/// The timed runs of one epoch count on one device.
#[derive(Debug, Clone)]
pub struct EpochRuns {
    pub epochs: usize,
    pub runs: Vec<Run>,
}

impl EpochRuns {
    fn seconds(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.seconds).collect()
    }

    pub fn median(&self) -> f64 {
        median(&self.seconds())
    }

    fn min(&self) -> f64 {
        self.seconds().into_iter().fold(f64::INFINITY, f64::min)
    }

    fn max(&self) -> f64 {
        self.seconds().into_iter().fold(0.0, f64::max)
    }

    /// The last run's loss and accuracy (every run starts from the same weights).
    fn last(&self) -> Option<&Run> {
        self.runs.last()
    }
}

/// Everything measured on one device.
#[derive(Debug, Clone)]
pub struct DeviceResult {
    pub device: Device,
    /// CPU model or GPU product name.
    pub name: String,
    pub transfer_seconds: f64,
    pub warmup_seconds: f64,
    /// notebook-kit's step implementation: "fused SGD" or "autograd".
    pub training_path: &'static str,
    pub gemm: Option<GemmRate>,
    pub results: Vec<EpochRuns>,
}

/// A requested device that could not be used, and why.
#[derive(Debug, Clone)]
pub struct Unavailable {
    pub device: Device,
    pub reason: String,
}

/// Seconds spent before any training: the command's own cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overhead {
    /// From the process's start to `main` (mostly loading libtorch's shared libraries).
    pub startup: Option<f64>,
    pub data_load: f64,
    pub preprocess: f64,
}

/// The command's own overhead should stay below this.
pub const OVERHEAD_TARGET_SECONDS: f64 = 1.0;

impl Overhead {
    pub fn total(&self) -> f64 {
        self.startup.unwrap_or(0.0) + self.data_load + self.preprocess
    }
}

/// What was run, and on which data.
#[derive(Debug, Clone)]
pub struct Setup {
    pub dataset: &'static str,
    pub model: &'static str,
    pub model_description: String,
    pub architecture: Architecture,
    pub batch_size: usize,
    pub samples: usize,
    pub repeat: usize,
    pub data_dir: Option<PathBuf>,
}

impl Setup {
    fn steps(&self) -> usize {
        steps_per_epoch(self.samples, self.batch_size)
    }

    fn flops_per_epoch(&self) -> f64 {
        self.architecture.per_epoch(self.samples, self.batch_size)
    }
}

/// A whole run's results.
pub struct Report {
    pub machine: Machine,
    pub setup: Setup,
    pub overhead: Overhead,
    pub devices: Vec<DeviceResult>,
    pub unavailable: Vec<Unavailable>,
}

/// Derived numbers of one table row.
struct Row<'a> {
    device: &'a DeviceResult,
    runs: &'a EpochRuns,
    ms_per_step: f64,
    samples_per_second: f64,
    gflops: f64,
    percent_of_peak: Option<f64>,
}

impl Report {
    fn rows(&self) -> Vec<Row<'_>> {
        let mut rows = Vec::new();
        for device in &self.devices {
            for runs in &device.results {
                let seconds = runs.median();
                let steps = (self.setup.steps() * runs.epochs) as f64;
                let samples = (self.setup.samples * runs.epochs) as f64;
                let gflops = self.setup.flops_per_epoch() * runs.epochs as f64 / seconds / 1e9;
                rows.push(Row {
                    device,
                    runs,
                    ms_per_step: seconds * 1e3 / steps,
                    samples_per_second: samples / seconds,
                    gflops,
                    percent_of_peak: device.gemm.map(|g| 100.0 * gflops / g.gflops),
                });
            }
        }
        rows
    }

    /// (epochs, CPU median, GPU label, GPU median, CPU/GPU) for every epoch count timed on
    /// the CPU and a GPU.
    fn speedups(&self) -> Vec<(usize, f64, String, f64, f64)> {
        let Some(cpu) = self.devices.iter().find(|d| d.device == Device::Cpu) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for gpu in self.devices.iter().filter(|d| d.device != Device::Cpu) {
            for runs in &gpu.results {
                if let Some(cpu_runs) = cpu.results.iter().find(|r| r.epochs == runs.epochs) {
                    let (c, g) = (cpu_runs.median(), runs.median());
                    out.push((runs.epochs, c, device_label(gpu.device), g, c / g));
                }
            }
        }
        out
    }

    /// The lines printed before training starts.
    pub fn header(&self) -> String {
        let s = &self.setup;
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "gpu-bench {}: {}, model {}",
            env!("CARGO_PKG_VERSION"),
            s.dataset,
            s.model_description
        );
        let _ = writeln!(
            out,
            "data:     {} training samples, batch {}, {} steps/epoch; {:.1} MFLOP/sample, {:.3} TFLOP/epoch",
            s.samples,
            s.batch_size,
            s.steps(),
            s.architecture.per_sample() / 1e6,
            s.flops_per_epoch() / 1e12
        );
        let _ = writeln!(
            out,
            "CPU:      {} ({} logical CPUs, libtorch uses {} threads)",
            m.cpu_model, m.logical_cpus, m.torch_threads
        );
        if m.gpus.is_empty() {
            let _ = writeln!(
                out,
                "GPU:      none ({})",
                m.no_gpu_reason.as_deref().unwrap_or("no CUDA device")
            );
        }
        for gpu in &m.gpus {
            let _ = writeln!(out, "GPU:      cuda:{} {}", gpu.index, gpu.describe());
        }
        let _ = writeln!(
            out,
            "software: libtorch {}, tch {}",
            m.torch_version.as_deref().unwrap_or("(version unknown)"),
            m.tch_version
        );
        let _ = writeln!(
            out,
            "load:     {} (1, 5, 15 min; busy machines give noisy times)",
            m.load_average
        );
        let o = &self.overhead;
        let startup = o
            .startup
            .map(|s| format!("{s:.2} s"))
            .unwrap_or_else(|| "unknown".into());
        let verdict = if o.total() <= OVERHEAD_TARGET_SECONDS {
            "within"
        } else {
            "OVER"
        };
        let _ = writeln!(
            out,
            "overhead: start-up {startup}, data load {:.2} s, preprocessing {:.2} s; total {:.2} s \
             ({verdict} the {OVERHEAD_TARGET_SECONDS:.0} s target; not part of any timing)",
            o.data_load,
            o.preprocess,
            o.total()
        );
        out
    }

    /// The results table, per-device details and the GPU's speedup.
    pub fn table(&self) -> String {
        let heading = [
            "device",
            "epochs",
            "wall time",
            "ms/step",
            "samples/s",
            "GFLOP/s",
            "% peak",
            "loss",
            "accuracy",
        ];
        let mut body: Vec<Vec<String>> = Vec::new();
        for row in self.rows() {
            let median = row.runs.median();
            let mut wall = format!("{median:.2} s");
            if row.runs.runs.len() > 1 {
                wall += &format!(" ({:.2}\u{2013}{:.2})", row.runs.min(), row.runs.max());
            }
            let (loss, accuracy) = row
                .runs
                .last()
                .map_or((f64::NAN, f64::NAN), |r| (r.loss, r.accuracy));
            body.push(vec![
                device_label(row.device.device),
                row.runs.epochs.to_string(),
                wall,
                format!("{:.2}", row.ms_per_step),
                format!("{:.0}", row.samples_per_second),
                format!("{:.1}", row.gflops),
                row.percent_of_peak
                    .map(|p| format!("{p:.0} %"))
                    .unwrap_or_else(|| "-".into()),
                format!("{loss:.4}"),
                format!("{accuracy:.4}"),
            ]);
        }
        let mut out = align(&heading, &body);
        out.push('\n');
        let repeats = match self.setup.repeat {
            1 => "1 run".to_string(),
            n => format!("median of {n} runs (min\u{2013}max)"),
        };
        let _ = writeln!(
            out,
            "wall time: {repeats}; loss/accuracy: training, last epoch"
        );
        for d in &self.devices {
            let gemm = match d.gemm {
                Some(g) => format!(
                    "fp32 matmul {}\u{b3}: {:.1} GFLOP/s (best of {GEMM_TRIES})",
                    g.size, g.gflops
                ),
                None => "fp32 matmul: not measured".to_string(),
            };
            let _ = writeln!(
                out,
                "{}: {}; {gemm}; training path {}; warm-up step {:.3} s (not timed); data to device {:.3} s (once)",
                device_label(d.device),
                d.name,
                d.training_path,
                d.warmup_seconds,
                d.transfer_seconds
            );
        }
        for (epochs, cpu, gpu, gpu_seconds, speedup) in self.speedups() {
            let _ = writeln!(
                out,
                "speedup {gpu} over cpu, {epochs} epoch{}: {speedup:.1}\u{d7} ({cpu:.2} s \u{2192} {gpu_seconds:.2} s)",
                if epochs == 1 { "" } else { "s" }
            );
        }
        for u in &self.unavailable {
            let _ = writeln!(
                out,
                "{}: not available: {}",
                device_label(u.device),
                u.reason
            );
        }
        out
    }

    /// Machine-readable results. Each entry of `runs` carries the fields the Python
    /// baselines print too (implementation, device, epochs, batch, seconds, loss,
    /// accuracy), so `benches/compare.sh` reads all three the same way.
    pub fn json(&self) -> Value {
        let m = &self.machine;
        let s = &self.setup;
        let runs: Vec<Value> = self
            .rows()
            .iter()
            .map(|row| {
                let last = row.runs.last();
                json!({
                    "implementation": "gpu-bench",
                    "device": device_label(row.device.device),
                    "device_name": row.device.name,
                    "epochs": row.runs.epochs,
                    "batch": s.batch_size,
                    "samples": s.samples,
                    "seconds": row.runs.median(),
                    "seconds_min": row.runs.min(),
                    "seconds_max": row.runs.max(),
                    "seconds_all": row.runs.seconds(),
                    "ms_per_step": row.ms_per_step,
                    "samples_per_second": row.samples_per_second,
                    "gflops": row.gflops,
                    "percent_of_peak": row.percent_of_peak,
                    "loss": last.map(|r| finite(r.loss)),
                    "accuracy": last.map(|r| finite(r.accuracy)),
                    "warmup_seconds": row.device.warmup_seconds,
                })
            })
            .collect();
        let devices: Vec<Value> = self
            .devices
            .iter()
            .map(|d| {
                json!({
                    "device": device_label(d.device),
                    "name": d.name,
                    "warmup_seconds": d.warmup_seconds,
                    "training_path": d.training_path,
                    "transfer_seconds": d.transfer_seconds,
                    "gemm": d.gemm.map(|g| json!({"size": g.size, "gflops": g.gflops, "seconds": g.seconds})),
                })
            })
            .collect();
        let speedups: Vec<Value> = self
            .speedups()
            .into_iter()
            .map(|(epochs, cpu, gpu, gpu_seconds, speedup)| {
                json!({"epochs": epochs, "cpu_seconds": cpu, "gpu": gpu, "gpu_seconds": gpu_seconds, "speedup": speedup})
            })
            .collect();
        let unavailable: Vec<Value> = self
            .unavailable
            .iter()
            .map(|u| json!({"device": device_label(u.device), "reason": u.reason}))
            .collect();
        json!({
            "tool": "gpu-bench",
            "version": env!("CARGO_PKG_VERSION"),
            "date": m.date,
            "machine": {
                "cpu_model": m.cpu_model,
                "logical_cpus": m.logical_cpus,
                "torch_threads": m.torch_threads,
                "load_average": m.load_average,
                "gpus": m.gpus.iter().map(|g| json!({
                    "device": format!("cuda:{}", g.index), "name": g.name, "memory_bytes": g.memory_bytes,
                })).collect::<Vec<_>>(),
                "torch_version": m.torch_version,
                "tch_version": m.tch_version,
            },
            "config": {
                "dataset": s.dataset,
                "model": s.model,
                "model_description": s.model_description,
                "batch": s.batch_size,
                "samples": s.samples,
                "steps_per_epoch": s.steps(),
                "repeat": s.repeat,
                "data_dir": s.data_dir.as_ref().map(|p| p.display().to_string()),
            },
            "flops": {
                "per_sample": s.architecture.per_sample(),
                "per_update": s.architecture.per_update(),
                "per_epoch": s.flops_per_epoch(),
            },
            "overhead": {
                "startup_seconds": self.overhead.startup,
                "data_load_seconds": self.overhead.data_load,
                "preprocess_seconds": self.overhead.preprocess,
                "total_seconds": self.overhead.total(),
                "target_seconds": OVERHEAD_TARGET_SECONDS,
            },
            "devices": devices,
            "runs": runs,
            "speedup": speedups,
            "unavailable": unavailable,
        })
    }

    /// Median time per epoch count, CPU and GPU bars side by side (notebook-kit's chart).
    pub fn chart(&self) -> notebook_kit::Result<Figure> {
        let mut comparison = Comparison::new();
        for d in &self.devices {
            for runs in &d.results {
                let task = format!(
                    "{} epoch{}",
                    runs.epochs,
                    if runs.epochs == 1 { "" } else { "s" }
                );
                // The chart draws the mean of a timing; one run at the median keeps it
                // consistent with the table.
                let timing = Timing::new(1, vec![runs.median()])?;
                comparison.add_described(task, d.device, d.name.clone(), &timing);
            }
        }
        comparison.chart()
    }
}

/// JSON has no NaN: a value that is not finite becomes null.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Columns padded to their widest cell; the first left-aligned, the others right-aligned.
fn align(heading: &[&str], body: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = heading.iter().map(|h| h.chars().count()).collect();
    for row in body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| {
                let pad = " ".repeat(w - cell.chars().count());
                if i == 0 {
                    format!("{cell}{pad}")
                } else {
                    format!("{pad}{cell}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = line(heading.to_vec());
    for row in body {
        out.push('\n');
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The temporary file that `path` is first written to: in the same folder, so that the
/// final rename stays on one file system and is atomic.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Fails now, rather than after a long benchmark, if `path` could not be written later:
/// creates and removes the temporary file the final write will use.
pub fn check_writable(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "{} is a directory; give a file name",
            path.display()
        ));
    }
    let temp = temp_path(path);
    match std::fs::File::create(&temp) {
        Ok(_) => {
            let _ = std::fs::remove_file(&temp);
            Ok(())
        }
        Err(e) => Err(format!("cannot write {}: {e}", path.display())),
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, synced, then
/// renamed over it. On failure the temporary file is removed and `path` is untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let temp = temp_path(path);
    let written = std::fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn columns_line_up() {
        let text = align(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(text, "a    bb\nxyz   1");
    }

    #[test]
    fn atomic_write_leaves_no_file_on_failure() {
        let dir = std::env::temp_dir().join(format!("gpu-bench-report-{}", std::process::id()));
        let path = dir.join("missing-folder").join("out.json");
        assert!(write_atomically(&path, b"{}").is_err());
        assert!(check_writable(&path).is_err());
        assert!(!path.exists());
    }
}
