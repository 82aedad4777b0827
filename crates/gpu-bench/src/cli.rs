//! The command line: what can be asked for, with clap deriving the parser and `--help`.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};
use tch::Device;

/// Exit status of a usage error (clap's own default, 2, is taken: "device unavailable").
pub const EXIT_USAGE: u8 = 64;

const AFTER_HELP: &str = "\
TIMING
  Each timed run trains a fresh model (same seed) for the given epochs; building
  it is not timed. Before a device's runs, one training step on a throwaway
  model warms it up (libraries, kernels, allocator); its time is reported, not
  counted. On a GPU the clock is read only after the device has finished its
  queued work, and the data are copied to it once, before any timing. Start-up
  and data loading are reported separately as overhead.

FLOP COUNT
  Per sample and Dense layer (in x out): forward 2*in*out, weight gradient
  2*in*out, input gradient 2*in*out (not for the first layer); per step the
  optimizer update (SGD 2, Adam 12 FLOPs per parameter). Biases and activations
  are left out (under 1 %).

EXIT STATUS
  0   every requested device ran
  1   the run failed: data missing or unreadable, an output file not writable,
      training failed; nothing is written to --json
  2   a requested device is not available here (e.g. --devices cuda on a machine
      without CUDA): the other devices' results are still printed and written,
      and the reason is on stderr
  64  bad command line: unknown option, dataset, model or device name, a bad
      number, a missing value, or an option given twice
";

/// gpu-bench: the lesson's CPU-vs-GPU training benchmark as one command.
///
/// Trains the lesson's model (Keras 'small image classification with an ANN: GPU
/// benchmarking') with notebook-kit, times it on each device, and prints a table: wall
/// time (median of repeats, min-max), ms per step, samples/s, achieved GFLOP/s, % of the
/// device's measured fp32 matmul rate, final loss/accuracy, and the GPU's speedup over
/// the CPU.
#[derive(Debug, Clone, Parser)]
#[command(name = "gpu-bench", version, after_help = AFTER_HELP)]
pub struct Options {
    /// Data set to train on
    #[arg(long, value_enum, ignore_case = true, default_value_t = Dataset::Cifar10)]
    pub dataset: Dataset,

    /// Model to train [default: lesson for cifar10, exercise-1 for fashion-mnist]
    #[arg(long, value_enum, ignore_case = true)]
    model: Option<ModelKind>,

    /// Epochs per timed run, comma-separated, e.g. 1,10
    #[arg(long, value_name = "LIST", action = ArgAction::Set, value_delimiter = ',', default_value = "1", value_parser = positive)]
    epochs: Vec<usize>,

    /// Devices: cpu, cuda (= cuda:0) or cuda:N, comma-separated [default: cpu, plus cuda
    /// when this machine has a GPU]
    #[arg(long, alias = "device", value_name = "LIST", action = ArgAction::Set, value_delimiter = ',', value_parser = parse_device)]
    devices: Option<Vec<Device>>,

    /// Samples per step, as Keras's batch_size
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = positive)]
    pub batch_size: usize,

    /// Timed runs per device and epoch count; the table shows the median and the range
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = positive)]
    pub repeat: usize,

    /// Train on the first N training samples only (smoke tests)
    #[arg(long, value_name = "N", value_parser = positive)]
    pub limit: Option<usize>,

    /// The data set's folder (CIFAR-10: data_batch_1.bin ... test_batch.bin;
    /// Fashion-MNIST: the four IDX files). Without it, notebook-kit's search applies:
    /// CIFAR10_DIR / FASHION_MNIST_DIR, NOTEBOOK_KIT_DATA, the cache, a download (unless
    /// NOTEBOOK_KIT_OFFLINE=1)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Also write the results as JSON (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Also write a bar chart of the times (PNG)
    #[arg(long, value_name = "FILE.png", value_parser = png_path)]
    pub chart: Option<PathBuf>,

    /// Matrix size of the fp32 matmul that measures each device's rate [default: 4096 on
    /// the CPU, 8192 on a GPU; 0 skips it]
    #[arg(long, value_name = "N")]
    pub gemm_size: Option<u32>,

    /// Also time predict and evaluate on the test split (all of it; --limit cuts only the
    /// training data): one untimed warm-up call each, then N timed calls
    #[arg(long, value_name = "N", value_parser = positive)]
    pub inference: Option<usize>,
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse_args<I, S>(args: I) -> Result<Options, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        Options::try_parse_from(
            std::iter::once("gpu-bench".into()).chain(args.into_iter().map(Into::into)),
        )
    }

    pub fn model(&self) -> ModelKind {
        self.model.unwrap_or_else(|| self.dataset.default_model())
    }

    /// Epoch counts in the order given, each once.
    pub fn epochs(&self) -> Vec<usize> {
        unique(&self.epochs)
    }

    /// `None`: the CPU, plus the first GPU when there is one.
    pub fn devices(&self) -> Option<Vec<Device>> {
        self.devices.as_deref().map(unique)
    }
}

fn unique<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for &item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Which data set to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    #[value(alias = "cifar-10")]
    Cifar10,
    #[value(alias = "fashion_mnist", alias = "fashionmnist")]
    FashionMnist,
}

impl Dataset {
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "cifar10",
            Dataset::FashionMnist => "fashion-mnist",
        }
    }

    /// The shape of one sample.
    pub fn input_shape(self) -> &'static [i64] {
        match self {
            Dataset::Cifar10 => &[32, 32, 3],
            Dataset::FashionMnist => &[28, 28],
        }
    }

    /// The model the lesson uses with this data set.
    fn default_model(self) -> ModelKind {
        match self {
            Dataset::Cifar10 => ModelKind::Lesson,
            Dataset::FashionMnist => ModelKind::Exercise1,
        }
    }
}

/// Which model to train (notebook-kit's `models`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// Dense(3000, relu), Dense(1000, relu), Dense(10, sigmoid); SGD, categorical
    /// cross-entropy
    Lesson,
    /// Dense(500, relu), Dense(10, sigmoid); Adam, sparse categorical cross-entropy
    #[value(name = "exercise-1", alias = "exercise1")]
    Exercise1,
    /// As exercise-1 with five Dense(500, relu)
    #[value(name = "exercise-5", alias = "exercise5")]
    Exercise5,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Lesson => "lesson",
            ModelKind::Exercise1 => "exercise-1",
            ModelKind::Exercise5 => "exercise-5",
        }
    }
}

fn positive(text: &str) -> Result<usize, String> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a whole number >= 1".to_string())
}

fn parse_device(text: &str) -> Result<Device, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "cpu" => Ok(Device::Cpu),
        "cuda" | "gpu" => Ok(Device::Cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|i| i.parse::<usize>().ok())
            .map(Device::Cuda)
            .ok_or_else(|| format!("unknown device '{text}'; choose from: cpu, cuda, cuda:N")),
    }
}

fn png_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        Ok(path)
    } else {
        Err("--chart writes a PNG image; give a file name ending in .png".to_string())
    }
}

/// The short name used in the table and the JSON: `cpu`, `cuda:0`.
pub fn device_label(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        Options::parse_args(args.iter().copied()).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn usage(args: &[&str]) -> String {
        match Options::parse_args(args.iter().copied()) {
            Err(e) => e.to_string(),
            Ok(o) => panic!("expected a usage error for {args:?}, got {o:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_lesson() {
        let o = run(&[]);
        assert_eq!(o.dataset, Dataset::Cifar10);
        assert_eq!(o.model(), ModelKind::Lesson);
        assert_eq!((o.epochs(), o.batch_size, o.repeat), (vec![1], 32, 1));
        assert!(o.devices().is_none());
        assert_eq!(
            run(&["--dataset", "fashion-mnist"]).model(),
            ModelKind::Exercise1
        );
        assert_eq!(
            run(&["--dataset", "FASHION_MNIST"]).dataset,
            Dataset::FashionMnist
        );
        assert_eq!(run(&["--model", "exercise5"]).model(), ModelKind::Exercise5);
    }

    #[test]
    fn lists_and_inline_values() {
        let o = run(&[
            "--epochs=1,10,1",
            "--devices",
            "cpu,cuda,cuda:1",
            "--limit",
            "64",
        ]);
        assert_eq!(o.epochs(), vec![1, 10]);
        assert_eq!(
            o.devices(),
            Some(vec![Device::Cpu, Device::Cuda(0), Device::Cuda(1)])
        );
        assert_eq!(o.limit, Some(64));
        assert_eq!(
            run(&["--device", "gpu"]).devices(),
            Some(vec![Device::Cuda(0)])
        );
    }

    #[test]
    fn mistakes_name_the_value_and_the_choices() {
        assert!(usage(&["--devices", "tpu"]).contains("unknown device 'tpu'"));
        assert!(usage(&["--model", "big"]).contains("lesson, exercise-1, exercise-5"));
        assert!(usage(&["--dataset", "mnist"]).contains("cifar10, fashion-mnist"));
        assert!(usage(&["--epochs", "0"]).contains(">= 1"));
        assert!(usage(&["--epochs", "1,,2"]).contains("invalid value '' for '--epochs"));
        assert!(usage(&["--chart", "out.svg"]).contains(".png"));
        assert!(usage(&["--frobnicate"]).contains("unexpected argument '--frobnicate'"));
        assert!(usage(&["cpu"]).contains("unexpected argument 'cpu'"));
    }

    #[test]
    fn missing_values_and_repeats_are_errors_not_guesses() {
        assert!(usage(&["--batch-size"]).contains("a value is required for '--batch-size"));
        // `--data --json x` must not take "--json" as the folder.
        assert!(usage(&["--data", "--json", "x.json"]).contains("a value is required for '--data"));
        let twice = usage(&["--repeat", "2", "--repeat", "3"]);
        assert!(
            twice.contains("'--repeat <N>' cannot be used multiple times"),
            "{twice}"
        );
        assert!(usage(&["--json", "a.json", "--json", "b.json"])
            .contains("cannot be used multiple times"));
        assert!(
            usage(&["--epochs", "1", "--epochs", "2"]).contains("cannot be used multiple times")
        );
    }

    #[test]
    fn help_documents_exit_codes() {
        let help = Options::parse_args(["--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let text = help.to_string();
        for code in [
            "  0 ",
            "  1 ",
            "  2 ",
            "  64 ",
            "exercise-5",
            "[default: 32]",
        ] {
            assert!(text.contains(code), "{code} missing from:\n{text}");
        }
    }
}
