//! A training step's fixed cost: `fit` on models so small (4 inputs, layers of 8 units) that
//! the arithmetic is nothing and what is left is per-operation work (libtorch's dispatch,
//! tensor handles, autograd's bookkeeping). On a GPU each of those operations is a kernel
//! launch, and at batch 32 the lesson's step there is mostly this cost, so fewer and
//! cheaper operations per step is what a GPU epoch gains from.
//!
//! ```text
//! cargo run --release -p notebook-kit --example step_overhead [-- --steps 3000 --runs 5 --device cuda]
//! ```
//! Prints microseconds per step (median of the runs, one libtorch thread) on the CPU, or on
//! the first GPU with `--device cuda` (an error says why when there is none), for the lesson's
//! layer kinds (SGD, categorical cross-entropy, sigmoid output) and the exercise's (Adam,
//! sparse categorical cross-entropy, 1 and 5 hidden layers), on the fused and the autograd
//! path. A benchmark: run it on a quiet machine.

use std::time::Instant;

use notebook_kit::numbers::median;
use notebook_kit::prelude::*;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut steps, mut runs, mut device) = (3000i64, 5usize, Device::Cpu);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--steps" => steps = args.next().and_then(|v| v.parse().ok()).unwrap_or(steps),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--device" => {
                device = match args.next().as_deref() {
                    Some("cpu") => Device::Cpu,
                    Some("cuda") => notebook_kit::device::gpu()?,
                    other => panic!("--device takes cpu or cuda, got {other:?}"),
                }
            }
            other => panic!("unknown argument {other}"),
        }
    }
    tch::set_num_threads(1);
    tch::manual_seed(0);
    let opts = (Kind::Float, Device::Cpu);
    let n = 32 * steps;
    let x = Tensor::rand([n, 4], opts);
    let classes = Tensor::randint(10, [n], (Kind::Int64, Device::Cpu));
    let one_hot = to_categorical(&classes, 10)?;

    println!("device: {}", notebook_kit::device::describe(device));
    println!("model (batch 32)                         fused    autograd   (us per step)");
    for (name, exercise, hidden) in [
        ("lesson kinds: 2 x Dense(8), SGD, cce", false, 2),
        ("exercise kinds: 1 x Dense(8), Adam, scce", true, 1),
        ("exercise kinds: 5 x Dense(8), Adam, scce", true, 5),
    ] {
        let mut builder = Sequential::new().add(Flatten::new([4]));
        for _ in 0..hidden {
            builder = builder.add(Dense::new(8, Relu));
        }
        let mut model = builder.add(Dense::new(10, Sigmoid)).build(device)?;
        let y = match exercise {
            true => {
                model.compile(Adam::default(), SparseCategoricalCrossentropy, Accuracy)?;
                &classes
            }
            false => {
                model.compile(Sgd::default(), CategoricalCrossentropy, Accuracy)?;
                &one_hot
            }
        };
        let mut per_step = Vec::new();
        for fused in [true, false] {
            model.set_fused(fused);
            model.fit(&x, y, Fit::epochs(1).verbose(0))?; // warm-up
            let mut micros = Vec::with_capacity(runs);
            for _ in 0..runs {
                let start = Instant::now();
                model.fit(&x, y, Fit::epochs(1).verbose(0))?;
                micros.push(start.elapsed().as_secs_f64() * 1e6 / steps as f64);
            }
            per_step.push(median(&micros));
        }
        println!("{name:<40} {:>6.1}  {:>9.1}", per_step[0], per_step[1]);
    }
    Ok(())
}
