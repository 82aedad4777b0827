//! The lesson's results table: CPU and GPU times per task, and the GPU's speedup.

use notebook_kit::timing::{Comparison, Timing};
use tch::Device;

fn seconds(s: f64) -> Timing {
    Timing::new(1, vec![s]).unwrap()
}

fn full() -> Comparison {
    let mut results = Comparison::new();
    results
        .add_described("1 epoch", Device::Cpu, "Intel Xeon", &seconds(44.5))
        .add_described(
            "1 epoch",
            Device::Cuda(0),
            "NVIDIA H100 <80GB>",
            &seconds(2.5),
        )
        .add_described("10 epochs", Device::Cpu, "Intel Xeon", &seconds(452.0));
    results
}

#[test]
fn plain_text_table() {
    let expected = "\
Task            CPU            GPU  GPU speedup
1 epoch      44.5 s          2.5 s        17.8\u{d7}
10 epochs  7min 32s  not available
CPU: Intel Xeon
GPU: NVIDIA H100 <80GB>";
    assert_eq!(full().to_string(), expected);
    assert_eq!(full().table().to_string(), expected);
}

#[test]
fn cpu_only_has_no_speedup_column() {
    let mut results = Comparison::new();
    results.add_described("1 epoch", Device::Cpu, "Intel Xeon", &seconds(44.5));
    let text = results.to_string();
    assert_eq!(text, "Task        CPU            GPU\n1 epoch  44.5 s  not available\nCPU: Intel Xeon\nGPU: not available");
    assert!(!results.table().html().contains("speedup"));
    assert_eq!(results.speedup("1 epoch"), None);
}

#[test]
fn speedup_is_cpu_time_over_gpu_time() {
    assert_eq!(full().speedup("1 epoch"), Some(44.5 / 2.5));
    assert_eq!(full().speedup("10 epochs"), None);
    assert_eq!(full().speedup("no such task"), None);
}

#[test]
fn timing_again_replaces_the_entry() {
    let mut results = full();
    results.add_described("1 epoch", Device::Cuda(0), "NVIDIA H100", &seconds(5.0));
    assert_eq!(results.entries().len(), 3);
    assert_eq!(results.speedup("1 epoch"), Some(44.5 / 5.0));
}

#[test]
fn html_table_names_devices_and_escapes() {
    let html = full().table();
    let html = html.html();
    assert!(html.starts_with("<table>"));
    assert!(html.contains("<th>CPU<br><small>Intel Xeon</small></th>"));
    assert!(html.contains("NVIDIA H100 &lt;80GB&gt;"));
    assert!(html.contains(">not available</td>"));
    assert!(html.contains(">17.8\u{d7}</td>"));
    assert_eq!(html.matches("<tr>").count(), 3);
}

#[test]
fn chart_is_a_png_with_both_colours() {
    let chart = full().chart().unwrap();
    let png = chart.to_png().unwrap();
    let decoded = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (chart.width(), chart.height()));
    let has = |rgb: [u8; 3]| decoded.pixels().any(|p| p.0 == rgb);
    assert!(has([31, 119, 180]), "CPU bars are blue");
    assert!(has([255, 127, 14]), "GPU bars are orange");
}

#[test]
fn empty_comparison_has_no_chart() {
    assert!(Comparison::new().chart().is_err());
}
