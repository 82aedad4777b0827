//! Where one training step of the lesson's model goes on the CPU: each operation of the
//! fused SGD step (batch 32, 3072-3000-1000-10), timed alone over many repetitions on
//! tensors of the real shapes, next to the whole step as `fit` runs it.
//!
//! ```text
//! cargo run --release -p notebook-kit --example step_profile [-- --batch 32 --reps 200]
//! ```
//! Prints milliseconds per step for each part (median of the repetitions), their sum, the
//! measured whole step, and each matmul's GFLOP/s. The sum counts the first layer's forward
//! as one MKL `addmm`; where `fit` splits that product (two threads, a row count whose split
//! gives MKL's bits: see the "two halves" row), the whole step is faster than the sum by
//! the difference. A benchmark: run it on a quiet machine.

use std::time::Instant;

use notebook_kit::numbers::median;
use notebook_kit::prelude::*;

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm up: first-touch, oneDNN primitive caches
    let mut seconds = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        f();
        seconds.push(start.elapsed().as_secs_f64());
    }
    median(&seconds)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut batch, mut reps) = (32i64, 200usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--batch" => batch = args.next().and_then(|v| v.parse().ok()).unwrap_or(batch),
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).unwrap_or(reps),
            other => panic!("unknown argument {other}"),
        }
    }
    let _no_grad = tch::no_grad_guard();
    let opts = (Kind::Float, Device::Cpu);
    let n = 50_000i64;
    let data = Tensor::rand([n, 3072], opts);
    let sizes = [(3072i64, 3000i64), (3000, 1000), (1000, 10)];
    let w: Vec<Tensor> = sizes
        .iter()
        .map(|&(i, o)| Tensor::randn([i, o], opts) * 0.02)
        .collect();
    let b: Vec<Tensor> = sizes
        .iter()
        .map(|&(_, o)| Tensor::zeros([o], opts))
        .collect();
    let x = data.narrow(0, 0, batch);
    let a1 = Tensor::rand([batch, 3000], opts);
    let a2 = Tensor::rand([batch, 1000], opts);
    let dz3 = Tensor::randn([batch, 10], opts);
    let dz2 = Tensor::randn([batch, 1000], opts);
    let dz1 = Tensor::randn([batch, 3000], opts);
    let z1 = Tensor::randn([batch, 3000], opts);
    let flops = |m: i64, k: i64, o: i64| 2.0 * (m * k * o) as f64;

    // (what, seconds, FLOPs, part of the fused step?)
    let mut rows: Vec<(String, f64, Option<f64>, bool)> = Vec::new();
    let mut add = |name: &str, seconds: f64, work: Option<f64>, in_step: bool| {
        rows.push((name.to_string(), seconds, work, in_step))
    };

    let index = Tensor::randperm(n, (Kind::Int64, Device::Cpu)).narrow(0, 0, batch);
    add(
        "gather the batch (index_select)",
        time(reps, || drop(data.index_select(0, &index))),
        None,
        true,
    );
    for (l, &(i, o)) in sizes.iter().enumerate() {
        let input = [&x, &a1, &a2][l];
        add(
            &format!("forward {i}x{o} addmm (MKL)"),
            time(reps, || drop(b[l].addmm(input, &w[l]))),
            Some(flops(batch, i, o)),
            true,
        );
        // oneDNN's inner product wants PyTorch's [units, inputs] kernel.
        let w_t = w[l].tr().contiguous();
        add(
            &format!("(comparison) forward {i}x{o} mkldnn_linear (oneDNN, with conversions)"),
            time(reps, || {
                drop(
                    input
                        .f_to_mkldnn(None)
                        .unwrap()
                        .mkldnn_linear(&w_t, Some(&b[l]))
                        .to_dense(None, false),
                )
            }),
            Some(flops(batch, i, o)),
            false,
        );
    }
    // `fit` computes the first layer's product in halves of the inner dimension when that
    // gives MKL's own bits (`model/inner_split.rs`, not public); the same arithmetic here.
    let halves = |x: &Tensor| {
        let (rows, parts, units) = (x.size()[0], 2i64, 3000i64);
        let start = Tensor::cat(
            &[
                b[0].expand([1, rows, units], false),
                Tensor::zeros([parts - 1, rows, units], opts),
            ],
            0,
        );
        let x_parts = x.reshape([rows, parts, -1]).permute([1, 0, 2]);
        start
            .baddbmm(&x_parts, &w[0].reshape([parts, -1, units]), 1.0, 1.0)
            .sum_dim_intlist(0, false, None)
    };
    add(
        "(comparison) forward 3072x3000 in two halves (fit's split)",
        time(reps, || drop(halves(&x))),
        Some(flops(batch, 3072, 3000)),
        false,
    );
    add(
        "relu [batch, 3000]",
        time(reps, || drop(z1.relu())),
        None,
        true,
    );
    add(
        "relu backward [batch, 3000]",
        time(reps, || drop(z1.threshold_backward(&dz1, 0.0))),
        None,
        true,
    );
    for (l, &(i, o)) in sizes.iter().enumerate().skip(1) {
        let dz = [&dz1, &dz2, &dz3][l];
        add(
            &format!("input gradient dZ @ W^T, {o}x{i}"),
            time(reps, || drop(dz.mm(&w[l].tr()))),
            Some(flops(batch, o, i)),
            true,
        );
    }
    for (l, &(i, o)) in sizes.iter().enumerate() {
        let (dz, input) = ([&dz1, &dz2, &dz3][l], [&x, &a1, &a2][l]);
        let mut weight = w[l].copy();
        add(
            &format!("weight update W.addmm_(x^T, -lr dZ), {i}x{o}"),
            time(reps, || drop(weight.addmm_(&input.tr(), &(dz * -0.01)))),
            Some(flops(batch, o, i)),
            true,
        );
        let out = Tensor::empty([i, o], opts);
        add(
            &format!("(comparison) x^T @ dZ into a kept buffer, {i}x{o}"),
            time(reps, || drop(input.tr().mm_out(&out, dz))),
            Some(flops(batch, o, i)),
            false,
        );
    }

    // The whole step as fit runs it, on the real model.
    let mut model = notebook_kit::models::lesson(Device::Cpu)?;
    let y = Tensor::zeros([batch * 20, 10], opts).index_fill(1, &Tensor::from_slice(&[3i64]), 1.0);
    let xs = data
        .narrow(0, 0, batch * 20)
        .reshape([batch * 20, 32, 32, 3]);
    drop(_no_grad);
    let steps = 20.0;
    let whole = time(5, || {
        model
            .fit(
                &xs,
                &y,
                Fit::epochs(1)
                    .batch_size(batch as usize)
                    .shuffle(false)
                    .verbose(0),
            )
            .expect("fit runs");
    }) / steps;

    println!(
        "lesson model, batch {batch}, {} libtorch threads, median of {reps} repetitions",
        tch::get_num_threads()
    );
    let mut sum = 0.0;
    for (name, seconds, work, in_step) in &rows {
        let rate = work
            .map(|f| format!("{:7.1} GFLOP/s", f / seconds / 1e9))
            .unwrap_or_default();
        let mark = if *in_step { ' ' } else { '-' };
        println!("{mark} {name:<60} {:8.3} ms {rate}", seconds * 1e3);
        if *in_step {
            sum += seconds;
        }
    }
    println!(
        "  {:<60} {:8.3} ms",
        "sum of the fused step's parts (rows without '-')",
        sum * 1e3
    );
    println!(
        "  {:<60} {:8.3} ms",
        "whole step inside fit (20 steps, median of 5 epochs)",
        whole * 1e3
    );
    Ok(())
}
