//! libtorch's CPU matmul runs MKL's AVX-512 kernels wherever the CPU has AVX-512, AMD's
//! included (src/device/mkl.rs). This test binary exports the kit's answer to MKL's vendor
//! check as every program using the kit must (build.rs), so it fails if that answer stops
//! reaching MKL: a changed symbol name in a new libtorch, or a lost link argument.

#![cfg(target_arch = "x86_64")]

use notebook_kit::device::{self, MklKernels};
use notebook_kit::prelude::*;

#[test]
fn mkl_runs_its_avx512_kernels_where_the_cpu_has_them() {
    // A product first, as a notebook would: the answer must hold after MKL has dispatched.
    let a = Tensor::ones([64, 64], (Kind::Float, Device::Cpu));
    assert_eq!(a.mm(&a).double_value(&[0, 0]), 64.0);
    let kernels = device::mkl_kernels().expect("libtorch_cpu.so on x86-64 contains MKL");
    let summary = device::mkl_summary().unwrap();
    // NOTEBOOK_KIT_MKL_AVX512=0 keeps MKL's own choice, which is AVX-512 on Intel's CPUs only.
    let switched_off = std::env::var(device::mkl::MKL_AVX512_ENV).is_ok_and(|v| v.trim() == "0");
    let intel = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|t| t.contains("GenuineIntel"));
    if std::arch::is_x86_feature_detected!("avx512f") && (intel || !switched_off) {
        assert_eq!(kernels, MklKernels::Avx512, "{summary}");
    } else {
        assert_ne!(kernels, MklKernels::Avx512, "{summary}");
    }
    assert!(summary.starts_with(&kernels.to_string()), "{summary}");
}

#[test]
fn the_cpu_device_names_the_mkl_kernels() {
    let cpu = device::devices().remove(0);
    let kernels = device::mkl_kernels().expect("libtorch_cpu.so on x86-64 contains MKL");
    let expected = format!("MKL {})", kernels.instruction_set());
    assert!(cpu.description.ends_with(&expected), "{cpu:?}");
}
