//! Runs the built `gpu-bench` binary on tiny data sets written to a temporary folder, and
//! checks what a user sees: the table, the JSON, the exit statuses and the messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gpu-bench");

/// CIFAR-10 records per file: 5 training files make 320 samples, 10 steps of 32.
const RECORDS: usize = 64;

/// A CIFAR-10 binary folder with `RECORDS` records per file: each record is one label
/// byte (0..=9) and 3072 pixel bytes. The pixels follow a fixed pattern, so runs repeat.
fn tiny_cifar10(root: &Path) -> PathBuf {
    let dir = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    for (f, name) in files.iter().enumerate() {
        let mut bytes = Vec::with_capacity(RECORDS * 3073);
        for r in 0..RECORDS {
            let label = ((r + f) % 10) as u8;
            bytes.push(label);
            bytes.extend(
                (0..3072).map(|p| ((p * 7 + r * 13 + usize::from(label) * 29) % 256) as u8),
            );
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    dir
}

/// A Fashion-MNIST folder with uncompressed IDX files of 64 training and 16 test images.
fn tiny_fashion_mnist(root: &Path) -> PathBuf {
    let dir = root.join("fashion-mnist");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, n: u32, images: bool| {
        let mut bytes = Vec::new();
        let magic: u32 = if images { 0x0803 } else { 0x0801 };
        bytes.extend(magic.to_be_bytes());
        bytes.extend(n.to_be_bytes());
        if images {
            bytes.extend(28u32.to_be_bytes());
            bytes.extend(28u32.to_be_bytes());
            bytes.extend((0..n as usize * 784).map(|i| (i * 31 % 256) as u8));
        } else {
            bytes.extend((0..n).map(|i| (i % 10) as u8));
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    write("train-images-idx3-ubyte", 64, true);
    write("train-labels-idx1-ubyte", 64, false);
    write("t10k-images-idx3-ubyte", 16, true);
    write("t10k-labels-idx1-ubyte", 16, false);
    dir
}

fn gpu_bench(args: &[&str]) -> Output {
    gpu_bench_with(args, &[])
}

fn gpu_bench_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NOTEBOOK_KIT_MKL_AVX512")
        .envs(env.iter().copied())
        // The tests must not find (or download) a real data set by accident.
        .env("NOTEBOOK_KIT_OFFLINE", "1")
        .env_remove("NOTEBOOK_KIT_DATA")
        .env_remove("CIFAR10_DIR")
        .env_remove("FASHION_MNIST_DIR")
        .env_remove("NOTEBOOK_KIT_FUSED")
        .output()
        .expect("gpu-bench runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit status, stdout, stderr; and no run may panic, whatever it was given.
fn outcome(out: &Output) -> (Option<i32>, String, String) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        !stderr.contains("panicked"),
        "gpu-bench panicked:\n{stderr}"
    );
    (out.status.code(), stdout, stderr)
}

fn path_arg(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Files in `dir` whose names contain `part` (e.g. leftover temporary files).
fn files_containing(dir: &Path, part: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(part))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn help_documents_usage_and_exit_codes() {
    let (code, stdout, _) = outcome(&gpu_bench(&["--help"]));
    assert_eq!(code, Some(0));
    for needle in [
        "--dataset",
        "--model",
        "--epochs",
        "--devices",
        "--batch-size",
        "--repeat",
        "--limit",
        "--data",
        "--json",
        "--chart",
        "EXIT STATUS",
        "  64 ",
    ] {
        assert!(stdout.contains(needle), "--help lacks {needle}:\n{stdout}");
    }
}

#[test]
fn cpu_run_prints_the_table_and_writes_json_and_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_cifar10(tmp.path());
    let json = tmp.path().join("results.json");
    let chart = tmp.path().join("chart.png");
    let out = gpu_bench(&[
        "--data",
        path_arg(&data),
        "--devices",
        "cpu",
        "--epochs",
        "1,2",
        "--repeat",
        "2",
        "--gemm-size",
        "128",
        "--json",
        path_arg(&json),
        "--chart",
        path_arg(&chart),
        "--inference",
        "2",
    ]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");

    // Header: what ran where, and the overhead.
    for needle in [
        "CPU:",
        "libtorch",
        "tch 0.24",
        "320 training samples",
        "10 steps/epoch",
        "overhead:",
        "start-up",
        "data load",
    ] {
        assert!(stdout.contains(needle), "header lacks {needle}:\n{stdout}");
    }
    // Table: its columns, and one row per epoch count.
    for needle in [
        "device",
        "epochs",
        "wall time",
        "ms/step",
        "samples/s",
        "GFLOP/s",
        "% peak",
        "loss",
        "accuracy",
        "warm-up step",
    ] {
        assert!(stdout.contains(needle), "table lacks {needle}:\n{stdout}");
    }
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("cpu ")).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(
        rows[0].contains('\u{2013}'),
        "two repeats show a min-max range: {}",
        rows[0]
    );

    let value: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(value["config"]["model"], "lesson");
    assert_eq!(value["devices"][0]["training_path"], "fused");
    assert_eq!(value["config"]["samples"], 320);
    assert_eq!(value["config"]["steps_per_epoch"], 10);
    assert_eq!(value["flops"]["per_sample"], 54_924_000.0);
    assert!(value["overhead"]["total_seconds"].as_f64().unwrap() >= 0.0);
    assert!(value["devices"][0]["gemm"]["gflops"].as_f64().unwrap() > 0.0);
    let runs = value["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, epochs) in runs.iter().zip([1, 2]) {
        assert_eq!(run["implementation"], "gpu-bench");
        assert_eq!(run["device"], "cpu");
        assert_eq!(run["epochs"], epochs);
        assert_eq!(run["batch"], 32);
        assert_eq!(run["seconds_all"].as_array().unwrap().len(), 2);
        for field in [
            "seconds",
            "ms_per_step",
            "samples_per_second",
            "gflops",
            "percent_of_peak",
            "loss",
            "accuracy",
            "warmup_seconds",
        ] {
            assert!(
                run[field].as_f64().is_some_and(f64::is_finite),
                "{field} in {run}"
            );
        }
        let accuracy = run["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&accuracy));
    }
    assert!(value["unavailable"].as_array().unwrap().is_empty());
    // --inference: predict and evaluate on the whole test split (64 records).
    let inference = value["inference"].as_array().unwrap();
    let tasks: Vec<&str> = inference
        .iter()
        .map(|r| r["task"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["predict", "evaluate"]);
    for r in inference {
        assert_eq!(r["samples"], 64);
        assert_eq!(r["seconds_all"].as_array().unwrap().len(), 2);
        assert!(
            r["seconds"].as_f64().unwrap() > 0.0 && r["warmup_seconds"].as_f64().unwrap() > 0.0
        );
        assert!(
            (0.0..=1.0).contains(&r["accuracy"].as_f64().unwrap()),
            "{r}"
        );
    }
    assert!(inference[0]["loss"].is_null() && inference[1]["loss"].as_f64().is_some());
    assert!(stdout.contains("predict on 64 test images"), "{stdout}");

    let png = std::fs::read(&chart).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        files_containing(tmp.path(), ".tmp").is_empty(),
        "temporary files left behind"
    );
}

#[test]
fn fashion_mnist_exercise_model_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_fashion_mnist(tmp.path());
    let json = tmp.path().join("fm.json");
    let out = gpu_bench(&[
        "--dataset",
        "fashion-mnist",
        "--model",
        "exercise-5",
        "--data",
        path_arg(&data),
        "--devices",
        "cpu",
        "--batch-size",
        "16",
        "--limit",
        "48",
        "--gemm-size",
        "0",
        "--json",
        path_arg(&json),
    ]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("784-500-500-500-500-500-10"), "{stdout}");
    let value: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(value["config"]["samples"], 48);
    assert_eq!(value["config"]["steps_per_epoch"], 3);
    assert_eq!(
        value["devices"][0]["training_path"], "fused",
        "Adam trains on the fused path too"
    );
    // No matmul measurement asked for: no percentage rather than a made-up one.
    assert!(value["runs"][0]["percent_of_peak"].is_null());
}

#[cfg(target_arch = "x86_64")]
fn is_intel_cpu() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|t| t.contains("GenuineIntel"))
}

/// The report names the MKL kernels libtorch's matmul runs. On a non-Intel CPU with AVX-512
/// (the AMD development and CI machines) they are the AVX-512 ones, because the binary
/// exports notebook-kit's answer to MKL's vendor check; `NOTEBOOK_KIT_MKL_AVX512=0` gives
/// MKL's own choice back.
#[cfg(target_arch = "x86_64")]
#[test]
fn matmul_kernels_are_reported_and_the_switch_keeps_mkls_choice() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_cifar10(tmp.path());
    let run = |env: &[(&str, &str)]| {
        let json = tmp.path().join("mkl.json");
        let args = [
            "--data",
            path_arg(&data),
            "--limit",
            "64",
            "--gemm-size",
            "0",
        ];
        let out = gpu_bench_with(&[&args[..], &["--json", path_arg(&json)]].concat(), env);
        let (code, stdout, stderr) = outcome(&out);
        assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
        let value: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let matmul = value["machine"]["cpu_matmul"].as_str().map(str::to_string);
        let matmul = matmul.unwrap_or_else(|| panic!("no cpu_matmul in the JSON:\n{value}"));
        assert!(stdout.contains(&format!("matmul:   {matmul}")), "{stdout}");
        matmul
    };
    let default = run(&[]);
    let kept = run(&[("NOTEBOOK_KIT_MKL_AVX512", "0")]);
    if std::arch::is_x86_feature_detected!("avx512f") {
        assert!(default.starts_with("MKL's AVX-512 kernels"), "{default}");
    }
    if std::arch::is_x86_feature_detected!("avx512f") && !is_intel_cpu() {
        assert!(
            default.contains("vendor check answered by notebook-kit"),
            "{default}"
        );
        assert!(kept.starts_with("MKL's non-Intel kernels"), "{kept}");
        assert!(kept.contains("NOTEBOOK_KIT_MKL_AVX512=0"), "{kept}");
    }
}

#[test]
fn cuda_without_a_gpu_reports_it_and_exits_2_after_the_cpu_results() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_cifar10(tmp.path());
    let json = tmp.path().join("results.json");
    let out = gpu_bench(&[
        "--data",
        path_arg(&data),
        "--devices",
        "cpu,cuda",
        "--model",
        "exercise-1",
        "--gemm-size",
        "64",
        "--json",
        path_arg(&json),
    ]);
    let (code, stdout, stderr) = outcome(&out);
    let value: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    if code == Some(0) {
        // This machine has a GPU: both devices ran, and the speedup was computed.
        assert!(stdout.lines().any(|l| l.starts_with("cuda:0 ")), "{stdout}");
        assert_eq!(value["speedup"].as_array().unwrap().len(), 1);
        return;
    }
    assert_eq!(code, Some(2), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("cuda:0 is not available"), "{stderr}");
    assert!(stderr.contains("CUDA"), "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("cpu ")),
        "CPU results still printed:\n{stdout}"
    );
    assert_eq!(value["runs"].as_array().unwrap().len(), 1);
    assert_eq!(value["unavailable"][0]["device"], "cuda:0");

    // Only a GPU asked for, and none here: nothing runs, nothing is written.
    let only = tmp.path().join("only-cuda.json");
    let out = gpu_bench(&[
        "--data",
        path_arg(&data),
        "--devices",
        "cuda",
        "--json",
        path_arg(&only),
    ]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nothing to run"), "{stderr}");
    assert!(!only.exists());
}

#[test]
fn unknown_names_are_usage_errors() {
    for (args, needle) in [
        (&["--devices", "tpu"][..], "unknown device 'tpu'"),
        (
            &["--model", "resnet"][..],
            "invalid value 'resnet' for '--model",
        ),
        (
            &["--dataset", "mnist"][..],
            "invalid value 'mnist' for '--dataset",
        ),
        (
            &["--epochs", "zero"][..],
            "invalid value 'zero' for '--epochs",
        ),
        (&["--bogus"][..], "unexpected argument '--bogus'"),
        (
            &["--repeat", "2", "--repeat", "3"][..],
            "cannot be used multiple times",
        ),
        (&["--json"][..], "a value is required for '--json"),
    ] {
        let (code, stdout, stderr) = outcome(&gpu_bench(args));
        assert_eq!(code, Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}

#[test]
fn unwritable_json_path_fails_before_training_and_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_cifar10(tmp.path());
    // A folder that does not exist: not creatable even by root.
    let json = tmp.path().join("no-such-folder").join("results.json");
    let out = gpu_bench(&[
        "--data",
        path_arg(&data),
        "--devices",
        "cpu",
        "--json",
        path_arg(&json),
    ]);
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("results.json"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("wall time"),
        "it should stop before training:\n{stdout}"
    );
    assert!(!json.exists());

    // A path that is a folder.
    let out = gpu_bench(&[
        "--data",
        path_arg(&data),
        "--devices",
        "cpu",
        "--json",
        path_arg(tmp.path()),
    ]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
    assert!(files_containing(tmp.path(), ".tmp").is_empty());
}

#[test]
fn missing_or_broken_data_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("results.json");
    let missing = tmp.path().join("nowhere");
    let out = gpu_bench(&[
        "--data",
        path_arg(&missing),
        "--devices",
        "cpu",
        "--json",
        path_arg(&json),
    ]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("loading cifar10") && stderr.contains("nowhere"),
        "{stderr}"
    );
    assert!(!json.exists());

    // A truncated batch file.
    let data = tiny_cifar10(tmp.path());
    std::fs::write(data.join("data_batch_3.bin"), vec![0u8; 100]).unwrap();
    let out = gpu_bench(&[
        "--data",
        path_arg(&data),
        "--devices",
        "cpu",
        "--json",
        path_arg(&json),
    ]);
    let (code, _, stderr) = outcome(&out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("data_batch_3.bin"), "{stderr}");
    assert!(!json.exists());
}
