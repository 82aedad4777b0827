//! The lesson's results table: each task's time on the CPU and on the GPU, and how many
//! times faster the GPU was.

use std::fmt;

use tch::Device;

use super::format::format_time;
use super::result::Timing;
use crate::display::{escape_html, grouped_bars, Figure, Html, Series, SERIES_BLUE, SERIES_ORANGE};
use crate::error::Result;

/// Which column a device's times go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Cpu,
    Gpu,
}

impl Column {
    fn of(device: Device) -> Column {
        match device {
            Device::Cpu => Column::Cpu,
            _ => Column::Gpu,
        }
    }
}

/// One measurement: a task (e.g. "1 epoch") timed on one device.
#[derive(Debug, Clone)]
pub struct Entry {
    pub task: String,
    pub device: Device,
    /// The CPU model or GPU product name.
    pub description: String,
    pub timing: Timing,
}

/// Timings of tasks on the CPU and the GPU, shown as the lesson's results table.
///
/// ```no_run
/// # use notebook_kit::timing::{Comparison, Timing};
/// # fn cell(cpu_1: Timing, gpu_1: Timing) {
/// let mut results = Comparison::new();
/// results.add("1 epoch", tch::Device::Cpu, &cpu_1);
/// results.add("1 epoch", tch::Device::Cuda(0), &gpu_1);
/// results   // a cell ending here shows the table; `results.chart()` draws it
/// # ; }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    entries: Vec<Entry>,
}

/// One table row: a task with its CPU and GPU entries.
struct Row<'a> {
    task: &'a str,
    cpu: Option<&'a Entry>,
    gpu: Option<&'a Entry>,
}

impl Row<'_> {
    /// How many times faster the GPU was, when both were timed.
    fn speedup(&self) -> Option<f64> {
        let (cpu, gpu) = (self.cpu?.timing.mean(), self.gpu?.timing.mean());
        (gpu > 0.0).then(|| cpu / gpu)
    }
}

const NOT_AVAILABLE: &str = "not available";
const NOT_MEASURED: &str = "not measured";

impl Comparison {
    pub fn new() -> Comparison {
        Comparison::default()
    }

    /// Records `timing` of `task` on `device`, described by its model name
    /// ([`crate::device::describe`]). Timing a task again on the same kind of device
    /// replaces the earlier entry.
    pub fn add(&mut self, task: impl Into<String>, device: Device, timing: &Timing) -> &mut Self {
        let description = crate::device::describe(device);
        self.add_described(task, device, description, timing)
    }

    /// Like [`Comparison::add`] with the device's description given, e.g. for results
    /// measured on another machine.
    pub fn add_described(
        &mut self,
        task: impl Into<String>,
        device: Device,
        description: impl Into<String>,
        timing: &Timing,
    ) -> &mut Self {
        let task = task.into();
        let column = Column::of(device);
        self.entries
            .retain(|e| !(e.task == task && Column::of(e.device) == column));
        self.entries.push(Entry {
            task,
            device,
            description: description.into(),
            timing: timing.clone(),
        });
        self
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many times faster the GPU ran `task` (CPU time / GPU time), when both were
    /// timed.
    pub fn speedup(&self, task: &str) -> Option<f64> {
        self.rows()
            .into_iter()
            .find(|r| r.task == task)
            .and_then(|r| r.speedup())
    }

    /// Tasks in the order first recorded.
    fn rows(&self) -> Vec<Row<'_>> {
        let mut rows: Vec<Row<'_>> = Vec::new();
        for entry in &self.entries {
            let index = match rows.iter().position(|r| r.task == entry.task) {
                Some(i) => i,
                None => {
                    rows.push(Row {
                        task: &entry.task,
                        cpu: None,
                        gpu: None,
                    });
                    rows.len() - 1
                }
            };
            match Column::of(entry.device) {
                Column::Cpu => rows[index].cpu = Some(entry),
                Column::Gpu => rows[index].gpu = Some(entry),
            }
        }
        rows
    }

    /// The device names for the column headings: the first recorded of each kind.
    fn description(&self, column: Column) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| Column::of(e.device) == column)
            .map(|e| e.description.as_str())
    }

    /// Cells of the table, heading first, as plain strings.
    fn cells(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let rows = self.rows();
        let with_speedup = rows.iter().any(|r| r.speedup().is_some());
        let mut heading = vec!["Task".to_string(), "CPU".to_string(), "GPU".to_string()];
        if with_speedup {
            heading.push("GPU speedup".to_string());
        }
        let time = |entry: Option<&Entry>, missing: &str| {
            entry
                .map(|e| format_time(e.timing.mean(), e.timing.precision()))
                .unwrap_or_else(|| missing.to_string())
        };
        let body = rows
            .iter()
            .map(|row| {
                let mut cells = vec![
                    row.task.to_string(),
                    time(row.cpu, NOT_MEASURED),
                    time(row.gpu, NOT_AVAILABLE),
                ];
                if with_speedup {
                    cells.push(
                        row.speedup()
                            .map(|s| format!("{s:.1}\u{d7}"))
                            .unwrap_or_default(),
                    );
                }
                cells
            })
            .collect();
        (heading, body)
    }

    /// The results table as HTML, with a plain-text twin.
    pub fn table(&self) -> Html {
        let (heading, body) = self.cells();
        let mut html = String::from("<table>\n<thead><tr>");
        for (i, title) in heading.iter().enumerate() {
            let device = match i {
                1 => self.description(Column::Cpu),
                2 => self.description(Column::Gpu),
                _ => None,
            };
            html.push_str(&format!("<th>{}", escape_html(title)));
            if let Some(device) = device {
                html.push_str(&format!("<br><small>{}</small>", escape_html(device)));
            }
            html.push_str("</th>");
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        for row in &body {
            html.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let align = if i == 0 { "left" } else { "right" };
                html.push_str(&format!(
                    "<td style=\"text-align:{align}\">{}</td>",
                    escape_html(cell)
                ));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody>\n</table>");
        Html::new(html, self.to_string())
    }

    /// Mean time per task, CPU and GPU bars side by side.
    pub fn chart(&self) -> Result<Figure> {
        let rows = self.rows();
        let groups: Vec<String> = rows.iter().map(|r| r.task.to_string()).collect();
        let mean = |entry: Option<&Entry>| entry.map(|e| e.timing.mean());
        let cpu: Vec<Option<f64>> = rows.iter().map(|r| mean(r.cpu)).collect();
        let gpu: Vec<Option<f64>> = rows.iter().map(|r| mean(r.gpu)).collect();
        let mut series = Vec::new();
        for (name, colour, values) in [("CPU", SERIES_BLUE, cpu), ("GPU", SERIES_ORANGE, gpu)] {
            if values.iter().any(Option::is_some) {
                series.push(Series {
                    name: name.to_string(),
                    colour,
                    values,
                });
            }
        }
        grouped_bars(
            "Time per task (lower is better)",
            "seconds",
            &groups,
            &series,
            |s| format_time(s, 3),
        )
    }

    /// Shows the table inline in a Jupyter notebook (called by evcxr on a cell's value).
    pub fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

impl fmt::Display for Comparison {
    /// The table in aligned columns, then which CPU and GPU the columns mean.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (heading, body) = self.cells();
        let mut widths: Vec<usize> = heading.iter().map(|h| h.chars().count()).collect();
        for row in &body {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if i == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        writeln!(f, "{}", line(&heading))?;
        for row in &body {
            writeln!(f, "{}", line(row))?;
        }
        writeln!(
            f,
            "CPU: {}",
            self.description(Column::Cpu).unwrap_or(NOT_MEASURED)
        )?;
        write!(
            f,
            "GPU: {}",
            self.description(Column::Gpu).unwrap_or(NOT_AVAILABLE)
        )
    }
}
