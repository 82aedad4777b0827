//! How long loading each data set from local files takes (median of 7 runs) and how much
//! memory it needs beyond the result.
//!
//! cargo run --release -p notebook-kit --example load_data_bench [-- DATA_ROOT]
//!
//! Memory is measured in a fresh child process per data set (a first load in a process that
//! has loaded before reuses freed heap, which would hide the loader's scratch space).
//!
//! DATA_ROOT holds cifar-10-batches-bin/ and fashion-mnist/; the default is
//! $NOTEBOOK_KIT_DATA, else <repo>/../shared/data.

use notebook_kit::data::{cifar10, fashion_mnist, Split};
use notebook_kit::Result;
use std::path::{Path, PathBuf};
use std::time::Instant;

const RUNS: usize = 7;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, set, root] = args.as_slice() {
        if flag == "--peak-memory" {
            return peak_memory(set, Path::new(root));
        }
    }
    let root = args
        .first()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("NOTEBOOK_KIT_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    println!("data root: {}", root.display());
    println!("torch threads: {}", tch::get_num_threads());

    bench(
        "CIFAR-10 (binary)",
        &root.join("cifar-10-batches-bin"),
        |d| cifar10::load_data_from(d),
    )?;
    bench("Fashion-MNIST (gzip)", &root.join("fashion-mnist"), |d| {
        fashion_mnist::load_data_from(d)
    })?;
    for set in ["cifar10", "fashion_mnist"] {
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(["--peak-memory", set])
            .arg(&root)
            .status()
            .expect("run child");
        assert!(status.success(), "memory measurement for {set} failed");
    }
    Ok(())
}

/// In a fresh process: the peak resident memory during one load, beyond what the process
/// held before and beyond the result itself.
fn peak_memory(set: &str, root: &Path) -> Result<()> {
    // Start libtorch first, so its own start-up memory is not counted.
    drop(tch::Tensor::zeros(
        [1],
        (tch::Kind::Uint8, tch::Device::Cpu),
    ));
    let before = rss_bytes();
    reset_peak_rss();
    let ((x_train, y_train), (x_test, y_test)) = match set {
        "cifar10" => cifar10::load_data_from(root.join("cifar-10-batches-bin"))?,
        _ => fashion_mnist::load_data_from(root.join("fashion-mnist"))?,
    };
    let data: usize = [&x_train, &y_train, &x_test, &y_test]
        .iter()
        .map(|t| t.numel())
        .sum();
    let extra = peak_rss_bytes().saturating_sub(before).saturating_sub(data);
    println!(
        "{set}: peak memory beyond the {:.1} MB result: {:.1} MB ({:.2}x the data)",
        data as f64 / 1e6,
        extra as f64 / 1e6,
        extra as f64 / data as f64
    );
    Ok(())
}

fn bench(name: &str, dir: &Path, load: impl Fn(&Path) -> Result<Split>) -> Result<()> {
    let mut seconds = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let split = load(dir)?;
        seconds.push(start.elapsed().as_secs_f64());
        drop(split);
    }
    seconds.sort_by(f64::total_cmp);
    let runs: Vec<String> = seconds.iter().map(|s| format!("{s:.3}")).collect();
    println!(
        "{name}: median {:.3} s over {RUNS} runs (sorted: {})",
        seconds[RUNS / 2],
        runs.join(", ")
    );
    Ok(())
}

/// Current resident memory (Linux; 0 elsewhere).
fn rss_bytes() -> usize {
    status_kib("VmRSS:") * 1024
}

/// Peak resident memory since the last reset (Linux; 0 elsewhere).
fn peak_rss_bytes() -> usize {
    status_kib("VmHWM:") * 1024
}

/// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_kib(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
