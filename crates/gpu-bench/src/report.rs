//! What a run found, as a text table, as JSON (see `json.rs`), and as a chart.

use std::fmt::Write as _;
use std::path::PathBuf;

use notebook_kit::display::Figure;
use notebook_kit::model::TrainingPath;
use notebook_kit::numbers::median;
use notebook_kit::timing::{Comparison, Timing};
use serde::Serialize;
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
    pub(crate) fn seconds(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.seconds).collect()
    }

    pub fn median(&self) -> f64 {
        median(&self.seconds())
    }

    pub(crate) fn min(&self) -> f64 {
        self.seconds().into_iter().fold(f64::INFINITY, f64::min)
    }

    pub(crate) fn max(&self) -> f64 {
        self.seconds().into_iter().fold(0.0, f64::max)
    }

    /// The last run's loss and accuracy (every run starts from the same weights).
    pub(crate) fn last(&self) -> Option<&Run> {
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
    /// notebook-kit's step implementation.
    pub training_path: TrainingPath,
    pub gemm: Option<GemmRate>,
    pub results: Vec<EpochRuns>,
    /// `--inference`: predict and evaluate on the test split.
    pub inference: Vec<InferenceRuns>,
}

/// Timed `predict` or `evaluate` calls on the test split.
#[derive(Debug, Clone)]
pub struct InferenceRuns {
    /// `predict` or `evaluate`.
    pub task: &'static str,
    pub samples: usize,
    pub warmup_seconds: f64,
    pub seconds: Vec<f64>,
    /// `evaluate`'s loss; `predict` has none.
    pub loss: Option<f64>,
    pub accuracy: f64,
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
    pub(crate) fn steps(&self) -> usize {
        steps_per_epoch(self.samples, self.batch_size)
    }

    pub(crate) fn flops_per_epoch(&self) -> f64 {
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
pub(crate) struct Row<'a> {
    pub device: &'a DeviceResult,
    pub runs: &'a EpochRuns,
    pub ms_per_step: f64,
    pub samples_per_second: f64,
    pub gflops: f64,
    pub percent_of_peak: Option<f64>,
}

impl Report {
    pub(crate) fn rows(&self) -> Vec<Row<'_>> {
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

    /// Median time per epoch count and device, as notebook-kit's CPU-vs-GPU table: the
    /// chart draws it, and the speedups come from it.
    fn comparison(&self) -> notebook_kit::Result<Comparison> {
        let mut comparison = Comparison::new();
        for d in &self.devices {
            for runs in &d.results {
                // The table reads a timing's mean; one run at the median keeps it
                // consistent with this report.
                let timing = Timing::new(1, vec![runs.median()])?;
                comparison.add_described(task_name(runs.epochs), d.device, d.name.clone(), &timing);
            }
        }
        Ok(comparison)
    }

    /// The GPU's speedup for every epoch count timed on the CPU and a GPU.
    pub(crate) fn speedups(&self) -> Vec<Speedup> {
        let (Ok(comparison), Some(cpu)) = (
            self.comparison(),
            self.devices.iter().find(|d| d.device == Device::Cpu),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for gpu in self.devices.iter().filter(|d| d.device != Device::Cpu) {
            for runs in &gpu.results {
                let cpu_runs = cpu.results.iter().find(|r| r.epochs == runs.epochs);
                if let (Some(cpu_runs), Some(speedup)) =
                    (cpu_runs, comparison.speedup(&task_name(runs.epochs)))
                {
                    out.push(Speedup {
                        epochs: runs.epochs,
                        cpu_seconds: cpu_runs.median(),
                        gpu: device_label(gpu.device),
                        gpu_seconds: runs.median(),
                        speedup,
                    });
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
        if let Some(matmul) = &m.cpu_matmul {
            let _ = writeln!(out, "matmul:   {matmul}");
        }
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
        for s in self.speedups() {
            let _ = writeln!(
                out,
                "speedup {} over cpu, {}: {:.1}\u{d7} ({:.2} s \u{2192} {:.2} s)",
                s.gpu,
                task_name(s.epochs),
                s.speedup,
                s.cpu_seconds,
                s.gpu_seconds
            );
        }
        for d in &self.devices {
            for r in &d.inference {
                let _ = writeln!(
                    out,
                    "{}: {} on {} test images: {:.3} s (median of {}; warm-up call {:.3} s, not counted), accuracy {:.4}",
                    device_label(d.device),
                    r.task,
                    r.samples,
                    median(&r.seconds),
                    r.seconds.len(),
                    r.warmup_seconds,
                    r.accuracy
                );
            }
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

    /// Median time per epoch count, CPU and GPU bars side by side (notebook-kit's chart).
    pub fn chart(&self) -> notebook_kit::Result<Figure> {
        self.comparison()?.chart()
    }
}

/// The GPU's speedup over the CPU for one epoch count.
#[derive(Debug, Clone, Serialize)]
pub struct Speedup {
    pub epochs: usize,
    pub cpu_seconds: f64,
    pub gpu: String,
    pub gpu_seconds: f64,
    pub speedup: f64,
}

/// `1 epoch`, `10 epochs`: the task names of the table and the chart.
fn task_name(epochs: usize) -> String {
    format!("{epochs} epoch{}", if epochs == 1 { "" } else { "s" })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let text = align(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(text, "a    bb\nxyz   1");
    }
}
