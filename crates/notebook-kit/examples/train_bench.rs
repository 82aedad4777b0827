//! Times one training epoch of the lesson's models on the CPU (or `--gpu`).
//!
//! ```text
//! source /tmp/nkenv.sh   # or: LIBTORCH_USE_PYTORCH=1 and torch/lib on LD_LIBRARY_PATH
//! cargo run --release -p notebook-kit --example train_bench -- [--runs N] [--gpu] [CASE...]
//! ```
//! Cases (all when none is named):
//! - `lesson`, `lesson-plain`: CIFAR-10, 3072-3000-1000-10, SGD, batch 32, on the fused
//!   path and on the autograd path;
//! - `lesson512`, `lesson512-plain`: the same at batch 512;
//! - `fashion`, `fashion-deep`: Fashion-MNIST, 784-500-10 and 784-500x5-10, Adam, sparse
//!   categorical cross-entropy, batch 32.
//!
//! `--thp` sets `THP_MEM_ALLOC_ENABLE=1` in-process before the first tensor (libtorch's CPU
//! allocator then asks for transparent huge pages); the report shows `AnonHugePages`.
//! `--samples N` trains on the first N samples only (quick comparisons; the epoch time
//! then scales by N / 50000 or N / 60000).
//!
//! Runs of different cases are interleaved (round-robin), so that a slow spell on a shared
//! machine hits them alike; the table reports each case's median epoch time (training only).
//! Data come from the kit's loaders (`$NOTEBOOK_KIT_DATA`, `$CIFAR10_DIR`, ..., the cache).

use std::time::Instant;

use notebook_kit::prelude::*;

/// CIFAR-10 training set, scaled, one-hot: `[50000, 32, 32, 3]`, `[50000, 10]`.
/// The loaders honour `NOTEBOOK_KIT_DATA` / `CIFAR10_DIR`.
fn cifar10() -> Result<(Tensor, Tensor)> {
    let ((x, y), _) = notebook_kit::data::cifar10::load_data()?;
    Ok((scale(&x)?, to_categorical(&y, 10)?))
}

/// Fashion-MNIST training set: `x [60000, 784]` f32 in [0, 1], `y [60000]` u8.
fn fashion_mnist() -> Result<(Tensor, Tensor)> {
    let ((x, y), _) = notebook_kit::data::fashion_mnist::load_data()?;
    Ok((scale(&x)?.f_reshape([-1, 784])?, y))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Case {
    Lesson { batch: usize, fused: bool },
    Fashion { hidden: usize },
}

impl Case {
    fn name(self) -> String {
        match self {
            Case::Lesson { batch, fused } => {
                format!(
                    "lesson 3072-3000-1000-10 SGD b{batch} {}",
                    if fused { "fused" } else { "autograd" }
                )
            }
            Case::Fashion { hidden } => format!("fashion 784-500x{hidden}-10 Adam b32"),
        }
    }

    fn model(self, device: Device) -> Result<Sequential> {
        match self {
            Case::Lesson { fused, .. } => {
                let mut model = Sequential::new()
                    .add(Flatten::new([32, 32, 3]))
                    .add(Dense::new(3000, Relu))
                    .add(Dense::new(1000, Relu))
                    .add(Dense::new(10, Sigmoid))
                    .build(device)?;
                model.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
                model.set_fast_path(fused);
                Ok(model)
            }
            Case::Fashion { hidden } => {
                let mut builder = Sequential::new().add(Dense::new(500, Relu).input_shape([784]));
                for _ in 1..hidden {
                    builder = builder.add(Dense::new(500, Relu));
                }
                let mut model = builder.add(Dense::new(10, Softmax)).build(device)?;
                model.compile(Adam::default(), SparseCategoricalCrossentropy, Accuracy)?;
                Ok(model)
            }
        }
    }

    fn batch(self) -> usize {
        match self {
            Case::Lesson { batch, .. } => batch,
            Case::Fashion { .. } => 32,
        }
    }
}

/// This process's memory in transparent huge pages, to check that `--thp` took effect.
fn huge_pages() -> String {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let line = rollup
        .lines()
        .find(|l| l.starts_with("AnonHugePages:"))
        .unwrap_or("AnonHugePages: unknown");
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> Result<()> {
    let mut runs = 3;
    let mut samples: i64 = 0; // 0: the whole training set
    let mut device = Device::Cpu;
    let mut cases = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| Error::InvalidArgument("--runs N".into()))?
            }
            "--samples" => {
                samples = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| Error::InvalidArgument("--samples N".into()))?
            }
            // Asks libtorch's CPU allocator for transparent huge pages. c10 reads the variable
            // once, at the process's first CPU allocation, so it must be set before any tensor
            // exists (here: before the data are read); in a notebook that means in the
            // kernel's environment (kernel.json), not from a cell.
            "--thp" => std::env::set_var("THP_MEM_ALLOC_ENABLE", "1"),
            "--gpu" => device = notebook_kit::device::gpu()?,
            "lesson" => cases.push(Case::Lesson {
                batch: 32,
                fused: true,
            }),
            "lesson-plain" => cases.push(Case::Lesson {
                batch: 32,
                fused: false,
            }),
            "lesson512" => cases.push(Case::Lesson {
                batch: 512,
                fused: true,
            }),
            "lesson512-plain" => cases.push(Case::Lesson {
                batch: 512,
                fused: false,
            }),
            "fashion" => cases.push(Case::Fashion { hidden: 1 }),
            "fashion-deep" => cases.push(Case::Fashion { hidden: 5 }),
            other => return Err(Error::InvalidArgument(format!("unknown argument {other}"))),
        }
    }
    if cases.is_empty() {
        cases = vec![
            Case::Lesson {
                batch: 32,
                fused: true,
            },
            Case::Lesson {
                batch: 32,
                fused: false,
            },
            Case::Lesson {
                batch: 512,
                fused: true,
            },
            Case::Lesson {
                batch: 512,
                fused: false,
            },
            Case::Fashion { hidden: 1 },
            Case::Fashion { hidden: 5 },
        ];
    }
    println!(
        "device {:?} ({}), {} libtorch threads, THP_MEM_ALLOC_ENABLE={:?}, NOTEBOOK_KIT_FAST_PATH={:?}",
        device,
        notebook_kit::device::describe(device),
        tch::get_num_threads(),
        std::env::var("THP_MEM_ALLOC_ENABLE").ok(),
        std::env::var("NOTEBOOK_KIT_FAST_PATH").ok(),
    );
    let t = Instant::now();
    let lesson = cases
        .iter()
        .any(|c| matches!(c, Case::Lesson { .. }))
        .then(cifar10)
        .transpose()?;
    let fashion = cases
        .iter()
        .any(|c| matches!(c, Case::Fashion { .. }))
        .then(fashion_mnist)
        .transpose()?;
    println!("data loaded in {:.1} s", t.elapsed().as_secs_f64());

    let mut seconds = vec![Vec::new(); cases.len()];
    for run in 1..=runs {
        for (i, &case) in cases.iter().enumerate() {
            let (x, y) = match case {
                Case::Lesson { .. } => lesson.as_ref(),
                Case::Fashion { .. } => fashion.as_ref(),
            }
            .ok_or_else(|| Error::InvalidArgument("data not loaded".into()))?;
            let n = if samples > 0 {
                samples.min(x.size()[0])
            } else {
                x.size()[0]
            };
            let (x, y) = (x.narrow(0, 0, n), y.narrow(0, 0, n));
            tch::manual_seed(run as i64);
            let mut model = case.model(device)?;
            let history = model.fit(
                &x,
                &y,
                Fit::epochs(1).batch_size(case.batch()).verbose(false),
            )?;
            let s = history.epoch_seconds[0];
            println!(
                "run {run} {:<45} {s:6.1} s  loss {:.4}  accuracy {:.4}  ({:?})",
                case.name(),
                history.loss[0],
                history.accuracy[0],
                model.training_path().expect("compiled")
            );
            seconds[i].push(s);
        }
    }
    println!("{}", huge_pages());
    println!("\nmedian epoch seconds over {runs} run(s):");
    for (case, s) in cases.iter().zip(&mut seconds) {
        let min = s.iter().copied().fold(f64::INFINITY, f64::min);
        let max = s.iter().copied().fold(0.0, f64::max);
        println!(
            "  {:<45} {:6.1} s  (min {min:.1}, max {max:.1})",
            case.name(),
            median(s)
        );
    }
    Ok(())
}
