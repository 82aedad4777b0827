//! The command line: what can be asked for, and `--help`.
//!
//! Parsing is hand-written rather than done with a CLI crate: the options are few, and every
//! mistake gets a message naming the bad value and the accepted ones.

use std::fmt;
use std::path::PathBuf;

use tch::Device;

pub const HELP: &str = "\
gpu-bench: the lesson's CPU-vs-GPU training benchmark as one command.

Trains the lesson's model (Keras 'small image classification with an ANN: GPU
benchmarking') with notebook-kit, times it on each device, and prints a table:
wall time (median of repeats, min-max), ms per step, samples/s, achieved
GFLOP/s, % of the device's measured fp32 matmul rate, final loss/accuracy, and
the GPU's speedup over the CPU.

USAGE
  gpu-bench [OPTIONS]

OPTIONS
  --dataset NAME     cifar10 (default) or fashion-mnist
  --model NAME       lesson:     Flatten, Dense(3000, relu), Dense(1000, relu),
                                 Dense(10, sigmoid); SGD lr 0.01, categorical
                                 cross-entropy (default for cifar10)
                     exercise-1: Flatten, Dense(500, relu), Dense(10, sigmoid);
                                 Adam, sparse categorical cross-entropy
                                 (default for fashion-mnist)
                     exercise-5: as exercise-1 with five Dense(500, relu)
  --epochs LIST      epochs per timed run, comma-separated (default 1), e.g. 1,10
  --devices LIST     cpu, cuda (= cuda:0) or cuda:N, comma-separated
                     (default: cpu, plus cuda when this machine has a GPU)
  --batch-size N     samples per step (default 32, as in Keras)
  --repeat N         timed runs per device and epoch count; the table shows the
                     median and the range (default 1)
  --limit N          train on the first N training samples only (smoke tests)
  --data DIR         the data set's folder (CIFAR-10: data_batch_1.bin ...
                     test_batch.bin; Fashion-MNIST: the four IDX files). Without
                     it, notebook-kit's search applies: CIFAR10_DIR /
                     FASHION_MNIST_DIR, NOTEBOOK_KIT_DATA, the cache, a download
                     (unless NOTEBOOK_KIT_OFFLINE=1)
  --json FILE        also write the results as JSON (written whole or not at all)
  --chart FILE.png   also write a bar chart of the times (PNG)
  --gemm-size N      matrix size of the fp32 matmul that measures each device's
                     rate (default 4096 on the CPU, 8192 on a GPU; 0 skips it)
  -h, --help         print this help
  -V, --version      print the version

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
  64  bad command line: unknown option, dataset, model or device name, or a bad
      number
";

/// Which data set to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Cifar10,
    FashionMnist,
}

impl Dataset {
    const NAMES: &'static str = "cifar10, fashion-mnist";

    fn parse(text: &str) -> Result<Dataset, UsageError> {
        match text.to_ascii_lowercase().as_str() {
            "cifar10" | "cifar-10" => Ok(Dataset::Cifar10),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" => Ok(Dataset::FashionMnist),
            _ => Err(UsageError(format!(
                "unknown dataset '{text}'; choose one of: {}",
                Self::NAMES
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "cifar10",
            Dataset::FashionMnist => "fashion-mnist",
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

/// Which model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// 3000-1000-10, sigmoid output, SGD, categorical cross-entropy.
    Lesson,
    /// One hidden Dense(500), Adam, sparse categorical cross-entropy.
    Exercise1,
    /// Five hidden Dense(500), otherwise as `Exercise1`.
    Exercise5,
}

impl ModelKind {
    const NAMES: &'static str = "lesson, exercise-1, exercise-5";

    fn parse(text: &str) -> Result<ModelKind, UsageError> {
        match text.to_ascii_lowercase().as_str() {
            "lesson" => Ok(ModelKind::Lesson),
            "exercise-1" | "exercise1" => Ok(ModelKind::Exercise1),
            "exercise-5" | "exercise5" => Ok(ModelKind::Exercise5),
            _ => Err(UsageError(format!(
                "unknown model '{text}'; choose one of: {}",
                Self::NAMES
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Lesson => "lesson",
            ModelKind::Exercise1 => "exercise-1",
            ModelKind::Exercise5 => "exercise-5",
        }
    }
}

/// Everything a run needs, after checking.
#[derive(Debug, Clone)]
pub struct Options {
    pub dataset: Dataset,
    pub model: ModelKind,
    pub epochs: Vec<usize>,
    /// `None`: the CPU, plus the first GPU when there is one.
    pub devices: Option<Vec<Device>>,
    pub batch_size: usize,
    pub repeat: usize,
    pub limit: Option<usize>,
    pub data: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub chart: Option<PathBuf>,
    /// `None`: the per-device default; `Some(0)`: skip the measurement.
    pub gemm_size: Option<i64>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Options>),
    Help,
    Version,
}

/// A mistake on the command line; the message says what was wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut dataset = None;
    let mut model = None;
    let mut epochs = vec![1];
    let mut devices = None;
    let mut batch_size = 32;
    let mut repeat = 1;
    let mut limit = None;
    let (mut data, mut json, mut chart) = (None, None, None);
    let mut gemm_size = None;

    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        // Both `--name value` and `--name=value` are accepted.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, UsageError> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => Err(UsageError(format!("{name} needs a value (see --help)"))),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--dataset" => dataset = Some(Dataset::parse(&value()?)?),
            "--model" => model = Some(ModelKind::parse(&value()?)?),
            "--epochs" => epochs = parse_list(&name, &value()?, |s| positive(&name, s))?,
            "--devices" | "--device" => devices = Some(parse_devices(&value()?)?),
            "--batch-size" => batch_size = positive(&name, &value()?)?,
            "--repeat" => repeat = positive(&name, &value()?)?,
            "--limit" => limit = Some(positive(&name, &value()?)?),
            "--data" => data = Some(PathBuf::from(non_empty(&name, value()?)?)),
            "--json" => json = Some(PathBuf::from(non_empty(&name, value()?)?)),
            "--chart" => {
                let path = PathBuf::from(non_empty(&name, value()?)?);
                if !path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("png"))
                {
                    return Err(UsageError(format!(
                        "--chart writes a PNG image; give a file name ending in .png, not '{}'",
                        path.display()
                    )));
                }
                chart = Some(path);
            }
            "--gemm-size" => {
                let text = value()?;
                gemm_size = Some(
                    text.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| {
                            UsageError(format!(
                                "--gemm-size expects a whole number >= 0, got '{text}'"
                            ))
                        })?,
                );
            }
            other if other.starts_with('-') => {
                return Err(UsageError(format!("unknown option '{other}' (see --help)")));
            }
            other => {
                return Err(UsageError(format!(
                    "unexpected argument '{other}' (options start with --; see --help)"
                )))
            }
        }
    }

    let dataset = dataset.unwrap_or(Dataset::Cifar10);
    Ok(Command::Run(Box::new(Options {
        dataset,
        model: model.unwrap_or_else(|| dataset.default_model()),
        epochs,
        devices,
        batch_size,
        repeat,
        limit,
        data,
        json,
        chart,
        gemm_size,
    })))
}

fn non_empty(name: &str, value: String) -> Result<String, UsageError> {
    if value.trim().is_empty() {
        return Err(UsageError(format!("{name} needs a non-empty value")));
    }
    Ok(value)
}

fn positive(name: &str, text: &str) -> Result<usize, UsageError> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| UsageError(format!("{name} expects a whole number >= 1, got '{text}'")))
}

/// A comma-separated list without duplicates, in the order given.
fn parse_list<T: PartialEq>(
    name: &str,
    text: &str,
    item: impl Fn(&str) -> Result<T, UsageError>,
) -> Result<Vec<T>, UsageError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(UsageError(format!("{name}: empty item in '{text}'")));
        }
        let value = item(part)?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

fn parse_devices(text: &str) -> Result<Vec<Device>, UsageError> {
    parse_list("--devices", text, |part| {
        match part.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|i| i.parse::<usize>().ok())
                .map(Device::Cuda)
                .ok_or_else(|| {
                    UsageError(format!(
                        "unknown device '{part}'; choose from: cpu, cuda, cuda:N"
                    ))
                }),
        }
    })
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
        match parse(args.iter().copied()) {
            Ok(Command::Run(o)) => *o,
            other => panic!("expected options, got {other:?}"),
        }
    }

    fn usage(args: &[&str]) -> String {
        match parse(args.iter().copied()) {
            Err(UsageError(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_lesson() {
        let o = run(&[]);
        assert_eq!(o.dataset, Dataset::Cifar10);
        assert_eq!(o.model, ModelKind::Lesson);
        assert_eq!((o.epochs.clone(), o.batch_size, o.repeat), (vec![1], 32, 1));
        assert!(o.devices.is_none());
        assert_eq!(
            run(&["--dataset", "fashion-mnist"]).model,
            ModelKind::Exercise1
        );
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
        assert_eq!(o.epochs, vec![1, 10]);
        assert_eq!(
            o.devices,
            Some(vec![Device::Cpu, Device::Cuda(0), Device::Cuda(1)])
        );
        assert_eq!(o.limit, Some(64));
    }

    #[test]
    fn mistakes_name_the_value_and_the_choices() {
        assert!(usage(&["--devices", "tpu"]).contains("'tpu'"));
        assert!(usage(&["--model", "big"]).contains("lesson, exercise-1, exercise-5"));
        assert!(usage(&["--dataset", "mnist"]).contains("cifar10, fashion-mnist"));
        assert!(usage(&["--epochs", "0"]).contains(">= 1"));
        assert!(usage(&["--epochs", "1,,2"]).contains("empty item"));
        assert!(usage(&["--batch-size"]).contains("needs a value"));
        assert!(usage(&["--chart", "out.svg"]).contains(".png"));
        assert!(usage(&["--frobnicate"]).contains("unknown option"));
        assert!(usage(&["cpu"]).contains("unexpected argument"));
    }

    #[test]
    fn help_documents_exit_codes() {
        assert!(matches!(parse(["--help"]), Ok(Command::Help)));
        for code in ["  0 ", "  1 ", "  2 ", "  64 "] {
            assert!(HELP.contains(code), "{code}");
        }
    }
}
