//! Keras's Adam update of one CPU weight as a single loop over memory.
//!
//! Why: written with tensor operations, the update makes eight passes over weight-sized
//! buffers (lerp, square, lerp, sqrt, add, divide, addcdiv). For the exercise's
//! 784-500x5-10 model that took 0.81-0.86 ms of a ~3.1 ms training step on the 2-core AMD
//! EPYC (Zen 5) development machine; this loop, which reads g, m, v and w once and writes m,
//! v and w once, takes 0.31 ms there with AVX-512 (0.39 with AVX2, 0.64-0.69 with the
//! baseline x86-64 instructions), measured right after a matmul as in a real step. An epoch
//! of that model went from 5.73-5.98 s to 4.27-4.38 s (`gpu-bench --model exercise-5`,
//! four interleaved runs each).
//!
//! It runs on one thread: right after the backward pass's matmuls libtorch's OpenMP worker
//! still spins on the other core, and splitting the loop over two threads measured slower
//! (0.42 ms).
//!
//! Denormal values are flushed to zero during the loop (`FlushDenormals`): on the 2-core Intel
//! Xeon VM of 3 Dec 2026 that took an epoch of the exercise's 1-hidden-layer model from
//! 6.96-7.24 s to 2.43-2.92 s and of the 5-hidden-layer one from 28.8-29.8 s to 12.5-14.2 s
//! (`gpu-bench --model exercise-N`, three interleaved runs each), same loss and accuracy.
//!
//! The loop has no fused multiply-add, so every instruction set gives the same bits; it
//! follows Keras's own expressions (`m += (g - m) * (1 - beta_1)`, the same for `v` with
//! `g * g`, `w -= m * alpha / (sqrt(v) + epsilon)`), not libtorch's `lerp`, so it can differ
//! from the tensor-op version in the last bit (tested against it).

use tch::{Device, Kind, Tensor};

/// One Adam step's numbers, in the weights' precision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamStep {
    pub one_minus_beta_1: f32,
    pub one_minus_beta_2: f32,
    pub epsilon: f32,
    /// Keras's `alpha`: the learning rate with both bias corrections folded in.
    pub step_size: f32,
}

/// Updates `param`, `m` and `v` in place from `grad`, if all four are distinct, contiguous
/// float32 CPU tensors of one size; returns `false` (and changes nothing) otherwise, so that
/// the caller falls back to tensor operations (GPU weights, for example).
///
/// Writes through raw pointers: autograd's version counters do not see the change, which is
/// fine for the fused path, where no autograd graph holds these tensors.
pub(crate) fn update(param: &Tensor, grad: &Tensor, m: &Tensor, v: &Tensor, s: AdamStep) -> bool {
    let tensors = [param, grad, m, v];
    let n = param.numel();
    let plain = |t: &Tensor| {
        t.defined()
            && t.device() == Device::Cpu
            && t.kind() == Kind::Float
            && t.is_contiguous()
            && t.numel() == n
    };
    if n == 0 || !tensors.iter().all(|t| plain(t)) {
        return false;
    }
    let ranges: Vec<(usize, usize)> = tensors
        .iter()
        .map(|t| {
            let start = t.data_ptr() as usize;
            (start, start + n * std::mem::size_of::<f32>())
        })
        .collect();
    let overlap = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    for (i, &a) in ranges.iter().enumerate() {
        if ranges[i + 1..].iter().any(|&b| overlap(a, b)) {
            return false;
        }
    }
    // SAFETY: each tensor is a defined, contiguous float32 CPU tensor of `n` elements, so its
    // pointer addresses `n` initialised, aligned f32 values; the four ranges do not overlap
    // (checked above), so the one shared and three exclusive slices never alias. The slices
    // live only for this call, while the caller holds the tensors.
    let (w, g, m, v) = unsafe {
        (
            std::slice::from_raw_parts_mut(param.data_ptr() as *mut f32, n),
            std::slice::from_raw_parts(grad.data_ptr() as *const f32, n),
            std::slice::from_raw_parts_mut(m.data_ptr() as *mut f32, n),
            std::slice::from_raw_parts_mut(v.data_ptr() as *mut f32, n),
        )
    };
    let _flush = FlushDenormals::on_this_thread();
    run(w, g, m, v, s);
    true
}

/// Denormal floats (below 1.2e-38) read and written as zero on this thread while it lives;
/// the thread's previous setting comes back when it is dropped, so code after the update
/// computes as before.
///
/// Why: the first moment `m` of a weight whose gradient has stopped (a dead ReLU unit, a
/// pixel that is nearly always 0) shrinks by `beta_1` = 0.9 a step and passes through the
/// denormal range for about 150 steps before it reaches 0; many Intel CPUs handle each
/// denormal operand with a slow microcode assist. TensorFlow sets the same two flags on its
/// CPU threads, so Keras's Adam never meets a denormal either. A value that small changes
/// no weight: `m * alpha / (sqrt(v) + epsilon)` is then below 1e-34.
struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

impl FlushDenormals {
    /// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
    #[cfg(target_arch = "x86_64")]
    const FTZ_DAZ: u32 = 0x8040;

    fn on_this_thread() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            // `_mm_getcsr`/`_mm_setcsr` are deprecated in favour of inline assembly, which
            // says less to a reader; they only touch this thread's SSE control register.
            #[allow(deprecated)]
            // SAFETY: every x86-64 CPU has SSE and MXCSR; both bits are defined there.
            let saved = unsafe {
                let saved = std::arch::x86_64::_mm_getcsr();
                std::arch::x86_64::_mm_setcsr(saved | Self::FTZ_DAZ);
                saved
            };
            FlushDenormals { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        FlushDenormals {}
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the value read from this thread's MXCSR in `on_this_thread`.
        #[allow(deprecated)]
        unsafe {
            std::arch::x86_64::_mm_setcsr(self.saved)
        };
    }
}

/// The widest vector instructions this CPU has, for the same loop.
fn run(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { adam_avx512(w, g, m, v, s) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { adam_avx2(w, g, m, v, s) };
        }
    }
    adam_loop(w, g, m, v, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn adam_avx512(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
    adam_loop(w, g, m, v, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn adam_avx2(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
    adam_loop(w, g, m, v, s)
}

/// Inlined into each wrapper above, so that the compiler vectorises it for that wrapper's
/// instruction set.
#[inline(always)]
fn adam_loop(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
    let n = w.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let gi = g[i];
        let mi = m[i] + (gi - m[i]) * s.one_minus_beta_1;
        let vi = v[i] + (gi * gi - v[i]) * s.one_minus_beta_2;
        m[i] = mi;
        v[i] = vi;
        w[i] -= mi * s.step_size / (vi.sqrt() + s.epsilon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step() -> AdamStep {
        AdamStep {
            one_minus_beta_1: 0.1,
            one_minus_beta_2: 0.001,
            epsilon: 1e-7,
            step_size: 3e-4,
        }
    }

    fn data(n: usize, seed: u32) -> Vec<f32> {
        // A small deterministic spread of signs and magnitudes, zeros included.
        (0..n)
            .map(|i| {
                let x = ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32;
                let x = x / (1 << 24) as f32 - 0.5;
                if i % 17 == 0 {
                    0.0
                } else {
                    x * 10f32.powi((i % 7) as i32 - 4)
                }
            })
            .collect()
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let n = 1003; // not a multiple of any vector width
        let (g, m0, v0, w0) = (data(n, 1), data(n, 2), data(n, 3), data(n, 4));
        let v0: Vec<f32> = v0.iter().map(|x| x * x).collect();
        let reference = {
            let (mut w, mut m, mut v) = (w0.clone(), m0.clone(), v0.clone());
            adam_loop(&mut w, &g, &mut m, &mut v, step());
            (w, m, v)
        };
        let dispatched = {
            let (mut w, mut m, mut v) = (w0.clone(), m0.clone(), v0.clone());
            run(&mut w, &g, &mut m, &mut v, step());
            (w, m, v)
        };
        assert_eq!(reference, dispatched);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let (mut w, mut m, mut v) = (w0.clone(), m0.clone(), v0.clone());
            // SAFETY: AVX2 is present (checked).
            unsafe { adam_avx2(&mut w, &g, &mut m, &mut v, step()) };
            assert_eq!(reference, (w, m, v));
        }
        assert_ne!(reference.0, w0, "the update changed nothing");
    }

    /// Denormal moments become 0 inside the update, and only there: the thread's own
    /// arithmetic keeps its denormals afterwards.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn denormals_are_flushed_during_the_update_only() {
        let opts = (Kind::Float, Device::Cpu);
        let tiny = 1e-39f32; // below f32::MIN_POSITIVE: a denormal
        let w = Tensor::from_slice(&[1.0f32, 1.0]);
        let g = Tensor::zeros([2], opts);
        let m = Tensor::from_slice(&[tiny, 0.5]);
        let v = Tensor::from_slice(&[tiny, 0.25]);
        assert!(update(&w, &g, &m, &v, step()));
        let m_after = Vec::<f32>::try_from(&m).unwrap();
        assert_eq!(m_after[0], 0.0, "a denormal moment survived the update");
        assert_eq!(m_after[1], 0.45);
        let after = std::hint::black_box(tiny) * std::hint::black_box(0.5f32);
        assert!(after > 0.0, "flush-to-zero was left on for the thread");
    }

    #[test]
    fn refuses_what_it_cannot_update_in_place() {
        let opts = (Kind::Float, Device::Cpu);
        let w = Tensor::ones([4, 3], opts);
        let g = Tensor::ones([4, 3], opts);
        let (m, v) = (Tensor::zeros([4, 3], opts), Tensor::zeros([4, 3], opts));
        let before = w.copy();
        // transposed (not contiguous), double, another size, the same tensor twice
        assert!(!update(&w.tr(), &g.tr(), &m.tr(), &v.tr(), step()));
        let g64 = g.to_kind(Kind::Double);
        assert!(!update(&w, &g64, &m, &v, step()));
        assert!(!update(&w, &g.narrow(0, 0, 2), &m, &v, step()));
        assert!(!update(&w, &g, &m, &m, step()));
        assert!(w.equal(&before));
        assert!(update(&w, &g, &m, &v, step()));
        assert!(!w.equal(&before));
    }
}
